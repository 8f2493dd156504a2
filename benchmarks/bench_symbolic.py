"""Timing of the symbolic derivation of [A] (bbdlib.bulk_boundary.symbolic) against depth M and width N.

"Derivation" = eq. (5) in (W, b) -> change of variables (6) -> bulk/boundary split (7) ->
damped Euler–Lagrange equations (14) for every (W, z) variable, by the jet calculus of
bbdlib.bulk_boundary.symbolic.jets (the one construction; generic σ and ℓ(Z, Y), moving data).
The plain reference, timed in the same run, is building the (W, b) Lagrangian of eq. (5) alone
(no substitution, no derivatives).  Budgets (issue 5): M = 3, N = 2 under 10 s; M = 4, N = 3
under 60 s.

Run:  OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_symbolic.py [--quick]
"""
from __future__ import annotations

import sys
import time

import sympy as sp

from bbdlib.bulk_boundary.symbolic.jets import jets
from bbdlib.bulk_boundary.symbolic.lagrangian import decompose

BUDGETS = {(3, 2): 10.0, (4, 3): 60.0}


def time_one(M: int, N: int) -> dict:
    widths = (N,) * (M + 1)
    sp.core.cache.clear_cache()
    t0 = time.perf_counter()
    jets(widths, loss="generic").lagrangian("Wb")
    t_ref = time.perf_counter() - t0
    sp.core.cache.clear_cache()
    t0 = time.perf_counter()
    J = jets(widths, loss="generic")
    D = decompose(J)
    t_dec = time.perf_counter() - t0
    for key in J.variables("Wz"):
        J.eom(key)
    t_all = time.perf_counter() - t0
    return {"M": M, "N": N, "n_vars": len(J.variables("Wz")),
            "n_terms": len(sp.Add.make_args(D.L_wz)), "ref": t_ref, "decompose": t_dec,
            "total": t_all}


def main(quick: bool = False) -> list[dict]:
    grid = [(2, 2), (3, 2), (4, 2), (2, 3), (3, 3)] + ([] if quick else [(4, 3), (5, 2)])
    rows = [time_one(M, N) for M, N in grid]
    print("| M | N | variables | terms of L(W,z) | reference L(W,b) [s] | (6)-(7) [s] "
          "| (6)-(7)+(14) [s] | ratio to reference | budget |")
    print("|---|---|---|---|---|---|---|---|---|")
    ok = True
    for r in rows:
        budget = BUDGETS.get((r["M"], r["N"]))
        status = "" if budget is None else ("ok" if r["total"] < budget else "OVER") + f" (< {budget:.0f} s)"
        ok &= budget is None or r["total"] < budget
        print(f"| {r['M']} | {r['N']} | {r['n_vars']} | {r['n_terms']} | {r['ref']:.3f} | "
              f"{r['decompose']:.2f} | {r['total']:.2f} | {r['total'] / r['ref']:.0f} | {status} |")
    if not ok:
        raise SystemExit("a budget was exceeded")
    return rows


if __name__ == "__main__":
    main(quick="--quick" in sys.argv)
