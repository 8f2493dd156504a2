"""Wall time of the Figures chapter (II.7) at its default parameters, with the machine's load.

Budget (issue 9): the chapter runs in at most 40 s of wall time on 2 cores at the defaults.
The machine may be shared: the 1-minute load average before and after the run is printed, and
the CPU time of the chapter's kernel is reported beside the wall time (wall time under load is
not the chapter's cost).  Runs ``python -m bbdlib run chapters/duality/07-figures.md`` into a
scratch folder this script creates (and removes), with an empty store of
:mod:`bbdlib.duality.memo` (a cold run: nothing computed before is reused); the chapter runs its
five experiments in ``workers = 2`` processes, fewer when the cores are busy
(:func:`bbdlib.duality.experiments.idle_cores`): the number of processes used and the wall time
of the experiments are printed from the chapter's glued values, since a run in one process
takes about its CPU time.  Exits non-zero if the budget is missed.
"""
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BUDGET_S = 40.0
ROOT = Path(__file__).resolve().parents[1]


def _glued(notebook: Path) -> dict:
    """The chapter's glued timing values (``fig_workers``, ``fig_time_exp``, ``fig_time_each``)."""
    try:
        nb = json.loads(notebook.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    out = {}
    for cell in nb.get("cells", []):
        for o in cell.get("outputs", []):
            name = o.get("metadata", {}).get("scrapbook", {}).get("name", "")
            if name in ("fig_workers", "fig_time_exp", "fig_time_each"):
                out[name] = o.get("data", {}).get("application/papermill.record/text/plain", "?").strip("'")
    return out


def main() -> int:
    load0 = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="bench_figures_") as tmp:
        out = Path(tmp) / "run"
        t0 = time.perf_counter()
        proc = subprocess.run([sys.executable, "-m", "bbdlib", "run", "chapters/duality/07-figures.md",
                               "--out", str(out)], cwd=ROOT, capture_output=True, text=True,
                              env={**os.environ, "OPENBLAS_NUM_THREADS": "1",
                                   # a cold run: an empty store (bbdlib.duality.memo), nothing reused
                                   "BBDLIB_CACHE_DIR": str(Path(tmp) / "cache")})
        wall = time.perf_counter() - t0
        glued = _glued(out / "07-figures.ipynb")
    cpu = resource.getrusage(resource.RUSAGE_CHILDREN)
    load1 = os.getloadavg()[0]
    print(proc.stdout.strip().splitlines()[-1] if proc.stdout.strip() else proc.stderr[-2000:])
    print(f"wall time {wall:.1f} s; CPU time of the run {cpu.ru_utime + cpu.ru_stime:.1f} s; "
          f"load average {load0:.2f} before, {load1:.2f} after (2 cores)")
    print(f"experiments: {glued.get('fig_workers', '?')} process(es), {glued.get('fig_time_exp', '?')} of wall time; "
          f"CPU per experiment: {glued.get('fig_time_each', '?')}")
    ok = proc.returncode == 0 and wall <= BUDGET_S
    print(f"budget <= {BUDGET_S:.0f} s: {'met' if ok else 'MISSED'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
