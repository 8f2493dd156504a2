"""A 4-run sweep on 2 Dask workers against the same 4 runs in sequence (bbdlib.book.sweep).

Chapter II.3 (multidimensional duality, ~15 s a run) at seeds 0..3 (a run whose claim flips at
its seed still runs every cell and counts). Three timings in one run:

* ``sequence``: the four runs one after another, each ``python -m bbdlib run`` (bare runs),
  with the CPU seconds of each (the run and its kernel: ``RUSAGE_CHILDREN``);
* ``sweep``: ``run_sweep`` over the same seeds on a LocalCluster of 2 workers, cluster start
  and stop included;
* ``sweep_1``: the same sweep on 1 worker (no competition for the cores).

Two ratios, the targets of issue 14:

* speed-up = sequence / sweep (wall), target >= 1.6 on 2 cores;
* per-run overhead = (sweep_1 - sequence) / 4 over the mean bare run (wall, cluster start and
  stop included), target <= 10 %; and the same in CPU seconds: the 1-worker sweep tasks' CPU
  seconds (each run's process tree, :func:`bbdlib.book.sweep.execute_point`) over the bare
  runs' — the one of the two that a loaded machine distorts least. The CPU seconds of the
  2-worker sweep's runs are printed too (two runs on two cores slow each other down).
  A sweep task runs ``bbdlib run`` without the optional ``rfc3987_syntax`` import (see
  ``bbdlib.book.sweep._RUNNER``), about 2 CPU s less than a bare run: the CPU overhead can be
  negative.

The load average is printed before and after; wall-time ratios mean something only on an
otherwise idle machine.

Run:  OPENBLAS_NUM_THREADS=1 .venv/bin/python benchmarks/bench_sweep.py
"""
from __future__ import annotations

import io
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bbdlib.book.sweep import COMPLETE, run_sweep

ROOT = Path(__file__).resolve().parent.parent
CHAPTER = ROOT / "chapters" / "duality" / "03-multidimensional.md"
SEEDS = [0, 1, 2, 3]
SPEEDUP_TARGET = 1.6
OVERHEAD_TARGET = 0.10


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def main() -> dict:
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="bench-sweep-") as tmp:
        bare, bare_cpu = [], []
        t0 = time.perf_counter()
        for seed in SEEDS:
            t, c = time.perf_counter(), _children_cpu()
            r = subprocess.run([sys.executable, "-m", "bbdlib", "run", str(CHAPTER), "-p", "seed", str(seed),
                                "--out", f"{tmp}/bare-{seed}"], capture_output=True, text=True)
            # exit 1 is a claim that flips at this seed: the chapter still ran to its end
            assert r.returncode in (0, 1), r.stderr[-2000:]
            bare.append(time.perf_counter() - t)
            bare_cpu.append(_children_cpu() - c)
        sequence = time.perf_counter() - t0
        t0 = time.perf_counter()
        result = run_sweep(CHAPTER, {"seed": SEEDS}, f"{tmp}/sweep", workers=2, stream=io.StringIO())
        sweep = time.perf_counter() - t0
        t0 = time.perf_counter()
        single = run_sweep(CHAPTER, {"seed": SEEDS}, f"{tmp}/sweep-1", workers=1, stream=io.StringIO())
        sweep_1 = time.perf_counter() - t0
    for res in (result, single):  # a complete run: every cell ran (a flipped claim is "failed", and complete)
        assert all(r["status"] in COMPLETE for r in res["runs"]), [r["failure"] for r in res["runs"]]
    task_cpu = [r["cpu_seconds"] for r in single["runs"]]      # one run at a time, as the bare runs
    task_cpu_2 = [r["cpu_seconds"] for r in result["runs"]]    # two at a time on two cores
    mean_bare, mean_bare_cpu = sum(bare) / len(bare), sum(bare_cpu) / len(bare_cpu)
    ratios = {
        "speedup": sequence / sweep,
        "overhead_wall": (sweep_1 - sequence) / len(SEEDS) / mean_bare,
        "overhead_cpu": (sum(task_cpu) / len(task_cpu)) / mean_bare_cpu - 1,
        "cpu_2_workers": (sum(task_cpu_2) / len(task_cpu_2)) / mean_bare_cpu - 1,
    }
    load_after = os.getloadavg()
    print(f"load average before {load_before[0]:.2f} / {load_before[1]:.2f} / {load_before[2]:.2f}, "
          f"after {load_after[0]:.2f} / {load_after[1]:.2f} / {load_after[2]:.2f} (1/5/15 min; 2 cores)")
    print(f"4 runs of {CHAPTER.name}: in sequence {sequence:.1f} s (runs {', '.join(f'{b:.1f}' for b in bare)} s, "
          f"{', '.join(f'{c:.1f}' for c in bare_cpu)} CPU s); sweep on 2 workers {sweep:.1f} s; "
          f"sweep on 1 worker {sweep_1:.1f} s")
    print(f"speed-up on 2 workers: {ratios['speedup']:.2f}x "
          f"({'met' if ratios['speedup'] >= SPEEDUP_TARGET else 'missed'}: >= {SPEEDUP_TARGET})")
    print(f"per-run overhead against a bare run: wall {ratios['overhead_wall']:+.1%} (cluster start and stop "
          f"included), CPU {ratios['overhead_cpu']:+.1%} "
          f"({'met' if max(ratios['overhead_wall'], ratios['overhead_cpu']) <= OVERHEAD_TARGET else 'missed'}: "
          f"<= {OVERHEAD_TARGET:.0%}); CPU of a run on 2 busy workers {ratios['cpu_2_workers']:+.1%} "
          "(the cores' contention, not the sweep's)")
    out = {"sequence": sequence, "sweep": sweep, "sweep_1": sweep_1, "bare": bare, "bare_cpu": bare_cpu,
           "task_cpu": task_cpu, "task_cpu_2": task_cpu_2, "load_before": load_before, "load_after": load_after,
           **ratios}
    print(json.dumps({k: round(v, 3) for k, v in ratios.items()}))
    return out


if __name__ == "__main__":
    main()
