"""Timing of the exact continuity proofs of [A] (bbdlib.bulk_boundary.symbolic.continuity).

The proofs of the identities (17), (19), (20), (25), (30) off shell, in jet variables, on the
two networks of chapter I.4 (2-3-2-1 and 1-2-2-2-1) together, plus the homogeneity check of
e, D, J on 1-2-2-2-2-1.  Budget (issue 10): 60 s together.  The plain reference, timed in the
same run, is building the jet Lagrangian (6)-(7) of the same networks (no derivative, no
proof), so the ratio says how much the proofs cost beyond writing the Lagrangian down.

Run:  OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_continuity_proofs.py
"""
from __future__ import annotations

import time

import sympy as sp

from bbdlib.bulk_boundary.symbolic import continuity as SC

NETWORKS = [(2, 3, 2, 1), (1, 2, 2, 2, 1)]
REFS = ("eq. (17)", "eq. (19)", "eq. (20)", "eq. (25)", "eq. (30)")
BUDGET = 60.0


def main() -> dict:
    sp.core.cache.clear_cache()
    t0 = time.perf_counter()
    for w in NETWORKS:
        SC.jets(w).lagrangian()
    t_ref = time.perf_counter() - t0
    sp.core.cache.clear_cache()
    print("| network | identity | sites | holds | time [s] |")
    print("|---|---|---|---|---|")
    t_all = time.perf_counter()
    for w in NETWORKS:
        J = SC.jets(w)
        for ref in REFS:
            t0 = time.perf_counter()
            p = SC.prove(ref, J)
            print(f"| {'-'.join(map(str, w))} | {ref} | {p.sites} | {p.holds} | {time.perf_counter() - t0:.2f} |")
            if not p.holds:
                raise SystemExit(f"{ref} failed on {w}")
    t0 = time.perf_counter()
    J = SC.jets((1, 2, 2, 2, 2, 1))
    assert all(SC.shift_check(J, 2, 1, q) == 0 for q in ("e", "D", "J"))
    print(f"| 1-2-2-2-2-1 | homogeneity e, D, J | 1 | True | {time.perf_counter() - t0:.2f} |")
    total = time.perf_counter() - t_all
    status = "ok" if total < BUDGET else "OVER"
    print(f"\ntotal {total:.1f} s (budget {BUDGET:.0f} s: {status}); reference (jet Lagrangians) {t_ref:.2f} s, "
          f"ratio {total / t_ref:.0f}")
    if total >= BUDGET:
        raise SystemExit("the budget was exceeded")
    return {"total": total, "reference": t_ref}


if __name__ == "__main__":
    main()
