"""A 4-run sweep on 2 Dask workers against the same 4 runs in sequence (bbdlib.book.sweep).

Chapter II.3 (multidimensional duality, ~10 s a run) at seeds 0..3. Three timings in one run:

* ``sequence``: the four runs one after another, each ``python -m bbdlib run`` (bare runs);
* ``sweep``: ``run_sweep`` over the same seeds on a LocalCluster of 2 workers, cluster start
  and stop included;
* the per-run overhead: the same sweep on 1 worker (no competition for the cores) against the
  sequence, per run: ``(sweep_1 - sequence) / 4`` over the mean bare run, cluster start and stop
  included, and the mean of the sweep tasks' own wall time (scratch folder, chapter written,
  ``bbdlib run``, files read back) against the mean bare run.

Targets (issue 14): speed-up >= 1.6 on 2 cores; per-run overhead <= 10 %. Both are printed as
met or missed; the machine must be otherwise idle for the numbers to mean anything.

Run:  OPENBLAS_NUM_THREADS=1 .venv/bin/python benchmarks/bench_sweep.py
"""
from __future__ import annotations

import io
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bbdlib.book.sweep import run_sweep

ROOT = Path(__file__).resolve().parent.parent
CHAPTER = ROOT / "chapters" / "duality" / "03-multidimensional.md"
SEEDS = [0, 1, 2, 3]


def main() -> dict:
    with tempfile.TemporaryDirectory(prefix="bench-sweep-") as tmp:
        bare = []
        t0 = time.perf_counter()
        for seed in SEEDS:
            t = time.perf_counter()
            subprocess.run([sys.executable, "-m", "bbdlib", "run", str(CHAPTER), "-p", "seed", str(seed),
                            "--out", f"{tmp}/bare-{seed}"], check=True, capture_output=True)
            bare.append(time.perf_counter() - t)
        sequence = time.perf_counter() - t0
        t0 = time.perf_counter()
        result = run_sweep(CHAPTER, {"seed": SEEDS}, f"{tmp}/sweep", workers=2, stream=io.StringIO())
        sweep = time.perf_counter() - t0
        t0 = time.perf_counter()
        single = run_sweep(CHAPTER, {"seed": SEEDS}, f"{tmp}/sweep-1", workers=1, stream=io.StringIO())
        sweep_1 = time.perf_counter() - t0
    assert all(r["status"] == "ok" for r in single["runs"]), [r["failure"] for r in single["runs"]]
    assert all(r["status"] == "ok" for r in result["runs"]), [r["failure"] for r in result["runs"]]
    task = [r["seconds"] for r in single["runs"]]
    mean_bare = sum(bare) / len(bare)
    speedup = sequence / sweep
    overhead = (sweep_1 - sequence) / len(SEEDS) / mean_bare
    task_overhead = (sum(task) / len(task)) / mean_bare - 1
    print(f"4 runs of {CHAPTER.name}: in sequence {sequence:.1f} s (runs {', '.join(f'{b:.1f}' for b in bare)}); "
          f"sweep on 2 workers {sweep:.1f} s; speed-up {speedup:.2f}x "
          f"({'met' if speedup >= 1.6 else 'missed'}: >= 1.6)")
    print(f"sweep on 1 worker {sweep_1:.1f} s: per-run overhead against a bare run {overhead:+.1%} "
          f"({'met' if overhead <= 0.10 else 'missed'}: <= 10 %), of which the task itself "
          f"{task_overhead:+.1%} (the rest is the cluster's start and stop)")
    return {"sequence": sequence, "sweep": sweep, "sweep_1": sweep_1, "speedup": speedup,
            "overhead": overhead, "task_overhead": task_overhead}


if __name__ == "__main__":
    main()
