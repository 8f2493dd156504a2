"""Work-precision of the conformal symplectic integrators against scipy's solve_ivp (issue 17).

Problems: eq. (4) of [A] for a tanh/MSE network 8-24-24-8 (P = 1016 parameters).

1. **Single trajectory** (the problem of the integrator chapter's figure, ``demo_problem(..., rng=42)``): driven by
   a time-dependent input X(t), γ = 1, t ∈ [0, 20]; error = max over
   t = 1, 2, ..., 20 of the largest parameter deviation from a reference (DOP853 at rtol 1e-13,
   cross-checked against rkn6 at a step 4x finer than its finest).  Ratios DOP853-cost ÷ ours at
   trajectory errors 1e-4, 1e-6, 1e-8, in gradient evaluations and in wall time (log-log
   interpolation between measured points; ours = the cheaper of rkn4 and rkn6 at that error).
2. **32 replicas**: 32 random initial conditions, each with its own oscillating input, t ∈ [0, 5];
   error = worst replica's largest deviation at t = 1..5 from a reference (rkn6 at a step 8x finer
   than the finest tested, cross-checked against DOP853 on replica 0).  Ours: all replicas in one
   vectorised state (``integrate`` with a batch).  DOP853: (a) one solve_ivp call on the stacked
   system of all replicas (with the same vectorised gradient), (b) 32 separate calls.  Ratios at
   1e-6 (and 1e-8 where both reach it).
3. **Energy balance** over a long weakly damped run: fixed input, γ = 0.01, t ∈ [0, 400]; for exact
   dynamics ``E(t) - E(0) + γ ∫_0^t |v|² dt' = 0`` with ``E = ½|v|² + ℓ``.  Defect = max_t |...| / E(0),
   measured two ways: (a) the integral by a quintic spline on samples every 0.05 (floor ~4e-8 from
   the quadrature itself); (b) quadrature-free: the dissipation integral carried with the state —
   for the splittings, exactly over each damped drift (``|v|² (1 - e^{-2γτ}) / 2γ``, the kicks take
   no time), for DOP853 as an extra component ``Ḋ = |v|²`` of the ODE.

Targets (issue 17): single trajectory ≥ 1x DOP853 in wall time at 1e-4 and 1e-6; 32 replicas ≥ 3x
stacked DOP853 in wall time at 1e-6; stretch: ≥ 1x at 1e-8 and at energy-balance defects below 1e-4.
Each is printed as met or missed.  Run with ``OPENBLAS_NUM_THREADS=1`` (set below if unset).
"""
from __future__ import annotations

import math
import os
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402
from scipy.integrate import solve_ivp  # noqa: E402

from bbdlib.bulk_boundary.continuity import demo_problem  # noqa: E402
from bbdlib.bulk_boundary.drives import DriveBatch, OscillatingDrive  # noqa: E402
from bbdlib.bulk_boundary.integrator import GRADIENTS, SCHEMES, LossGradient, integrate  # noqa: E402
from bbdlib.bulk_boundary.limits import damped_flow  # noqa: E402
from bbdlib.bulk_boundary.network import Network  # noqa: E402
from bbdlib.numerics import cumulative_integral  # noqa: E402

OURS = ("rkn4", "rkn6")
RTOLS = (1e-4, 1e-5, 1e-6, 1e-7, 1e-8, 1e-9, 1e-10, 1e-11, 1e-12)


def _net():
    return Network((8, 24, 24, 8), "tanh", "mse")


def problem(kind: str):
    """The problems of the integrator chapter's work-precision figure (the same network, seed and drive)."""
    drive = "oscillating" if kind == "trajectory" else "fixed"
    net, th, v0, dr = demo_problem((8, 24, 24, 8), "tanh", "mse", drive=drive, rng=42, velocity_scale=0.2)
    if kind == "trajectory":
        return net, th, v0, dr, 1.0, 20.0
    return net, th, v0, dr, 0.01, 400.0


def timed(fn, repeat=1):
    """(best wall time of ``repeat`` runs, result of the last)."""
    best, out = np.inf, None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def cost_at(rows, method, target, col):
    """Cost (col 2: wall time, col 4: gradients) at a target error, log-log interpolated; nan outside."""
    pts = sorted((r[3], r[col]) for r in rows if r[0] == method and r[3] > 0)
    if len(pts) < 2:
        return np.nan
    es, cs = np.log([p[0] for p in pts]), np.log([p[1] for p in pts])
    if not (es.min() <= np.log(target) <= es.max()):
        return np.nan
    o = np.argsort(es)
    return float(np.exp(np.interp(np.log(target), es[o], cs[o])))


def best_of(rows, methods, target, col):
    costs = [cost_at(rows, m, target, col) for m in methods]
    costs = [c for c in costs if np.isfinite(c)]
    return min(costs) if costs else np.nan


def print_rows(rows):
    for m, setting, t, e, nf in rows:
        print(f"  {m:16s} {setting:12s} time {t:8.3f} s  gradients {nf:8d}  error {e:.2e}")


# --------------------------------------------------------------------------- 1. single trajectory
def run_trajectory():
    net, th, v0, drive, gamma, T = problem("trajectory")
    n_out = 20
    t_eval = np.linspace(0, T, n_out + 1)
    steps = {"cs2": (2000, 4000, 8000), "cs4": (1000, 2000, 4000),
             "rkn4": (100, 200, 400, 800, 1600), "rkn6": (60, 100, 160, 240, 400, 600, 900, 1200)}
    ref = damped_flow(net, th, v0, gamma=gamma, data=drive, t_eval=t_eval, method="DOP853",
                      rtol=1e-13, atol=1e-15).theta
    n_chk = 4 * max(steps["rkn6"])
    chk = integrate(net, th, v0, gamma=gamma, drive=drive, h=T / n_chk, n_steps=n_chk, method="rkn6",
                    save_every=n_chk // n_out)
    ref_dev = float(np.max(np.abs(chk.theta - ref)))
    rows = []
    for method, ns in steps.items():
        for n in ns:
            wall, tr = timed(lambda: integrate(net, th, v0, gamma=gamma, drive=drive, h=T / n, n_steps=n,
                                               method=method, save_every=n // n_out), repeat=2)
            rows.append((method, f"n={n}", wall, float(np.max(np.abs(tr.theta - ref))), n * GRADIENTS[method] + 1))
    for rtol in RTOLS:
        wall, sol = timed(lambda: damped_flow(net, th, v0, gamma=gamma, data=drive, t_eval=t_eval,
                                              method="DOP853", rtol=rtol, atol=rtol * 1e-2), repeat=2)
        rows.append(("DOP853", f"rtol={rtol:.0e}", wall, float(np.max(np.abs(sol.theta - ref))), sol.n_fev))
    return net, rows, ref_dev


# --------------------------------------------------------------------------- 2. replicas
def replica_problem(R=32):
    net = _net()
    rng = np.random.default_rng(7)
    ths = np.stack([net.init_params(rng) for _ in range(R)])
    vs = 0.2 * rng.normal(size=ths.shape)
    drives = DriveBatch([OscillatingDrive(rng.normal(size=8), 0.5, rng.uniform(1.0, 2.0), 0.5 * rng.normal(size=8))
                         for _ in range(R)])
    return net, ths, vs, drives, 1.0, 5.0


def stacked_dop853(net, ths, vs, drives, gamma, t_eval, rtol):
    """One solve_ivp call on the stacked system of all replicas (vectorised gradient)."""
    sol = damped_flow(net, ths, vs, gamma=gamma, data=drives, t_eval=t_eval, method="DOP853", rtol=rtol,
                      atol=rtol * 1e-2)
    return sol.theta, sol.n_fev * ths.shape[0]


def separate_dop853(net, ths, vs, drives, gamma, t_eval, rtol):
    out, nfev = [], 0
    for r in range(ths.shape[0]):
        s = damped_flow(net, ths[r], vs[r], gamma=gamma, data=drives.drives[r], t_eval=t_eval, method="DOP853",
                        rtol=rtol, atol=rtol * 1e-2)
        out.append(s.theta)
        nfev += s.n_fev
    return np.stack(out, axis=1), nfev


def run_replicas():
    net, ths, vs, drives, gamma, T = replica_problem()
    R = ths.shape[0]
    n_out = 5
    t_eval = np.linspace(0, T, n_out + 1)
    steps = {"rkn4": (25, 50, 100, 200, 400), "rkn6": (15, 25, 40, 60, 100, 150)}
    n_ref = 8 * max(steps["rkn6"])
    ref = integrate(net, ths, vs, gamma=gamma, drive=drives, h=T / n_ref, n_steps=n_ref, method="rkn6",
                    save_every=n_ref // n_out).theta
    chk = damped_flow(net, ths[0], vs[0], gamma=gamma, data=drives.drives[0], t_eval=t_eval, method="DOP853",
                      rtol=1e-13, atol=1e-15).theta
    ref_dev = float(np.max(np.abs(chk - ref[:, 0])))
    rows = []
    for method, ns in steps.items():
        for n in ns:
            wall, tr = timed(lambda: integrate(net, ths, vs, gamma=gamma, drive=drives, h=T / n, n_steps=n,
                                               method=method, save_every=n // n_out), repeat=2)
            rows.append((method, f"n={n}", wall, float(np.max(np.abs(tr.theta - ref))),
                         R * (n * GRADIENTS[method] + 1)))
    for rtol in (1e-5, 1e-6, 1e-7, 1e-8, 1e-9, 1e-10):
        wall, (y, nf) = timed(lambda: stacked_dop853(net, ths, vs, drives, gamma, t_eval, rtol))
        rows.append(("DOP853-stacked", f"rtol={rtol:.0e}", wall, float(np.max(np.abs(y - ref))), nf))
        wall, (y, nf) = timed(lambda: separate_dop853(net, ths, vs, drives, gamma, t_eval, rtol))
        rows.append(("DOP853-separate", f"rtol={rtol:.0e}", wall, float(np.max(np.abs(y - ref))), nf))
    return net, rows, ref_dev


# --------------------------------------------------------------------------- 3. energy balance
def energy(net, drive, theta, v):
    """E = ½|v|² + ℓ (fixed input)."""
    return 0.5 * np.sum(v**2, axis=-1) + net.loss_value(theta, drive.X, drive.Y)


def spline_defect(net, drive, gamma, t, theta, v):
    """max_t |E(t) - E(0) + γ∫|v|²| / E(0), the integral by a quintic spline on the samples."""
    E = energy(net, drive, theta, v)
    diss = cumulative_integral(t, np.sum(v**2, axis=-1)[:, None])[:, 0]
    return float(np.max(np.abs(E - E[0] + gamma * diss)) / E[0])


def splitting_with_dissipation(net, th, v0, drive, gamma, h, n, method, save_every):
    """A splitting of the table run with its exact drift dissipation ``∫|v|²`` carried along."""
    sc = SCHEMES[method]
    force = LossGradient(net, drive)
    q, v, t, D = th.copy(), v0.copy(), 0.0, 0.0
    g = force(q, t)
    out_q, out_v, out_D = [q.copy()], [v.copy()], [0.0]
    subs = [(bk * h, ak * h, -math.expm1(-gamma * ak * h) / gamma, math.exp(-gamma * ak * h),
             -math.expm1(-2 * gamma * ak * h) / (2 * gamma)) for bk, ak in zip(sc.kicks, sc.drifts)]
    b_last = sc.kicks[-1] * h
    for k in range(1, n + 1):
        for bh, ah, c, e, d in subs:
            v -= bh * g
            D += d * float(v @ v)
            q += c * v
            v *= e
            t += ah
            g = force(q, t)
        v -= b_last * g
        if k % save_every == 0:
            out_q.append(q.copy())
            out_v.append(v.copy())
            out_D.append(D)
    return np.array(out_q), np.array(out_v), np.array(out_D)


def dop853_with_dissipation(net, th, v0, drive, gamma, t_eval, rtol):
    P = net.n_params
    force = LossGradient(net, drive)

    def rhs(t, y):
        q, v = y[:P], y[P:2 * P]
        return np.concatenate([v, -gamma * v - force(q, t), [v @ v]])

    sol = solve_ivp(rhs, (t_eval[0], t_eval[-1]), np.concatenate([th, v0, [0.0]]), t_eval=t_eval,
                    method="DOP853", rtol=rtol, atol=rtol * 1e-2)
    return sol.y[:P].T, sol.y[P:2 * P].T, sol.y[2 * P], sol.nfev


def run_energy():
    net, th, v0, drive, gamma, T = problem("energy")
    dt_s = 0.05
    t_eval = np.linspace(0, T, int(round(T / dt_s)) + 1)
    rows_s, rows_q = [], []
    for method, hs in (("rkn4", (0.4, 0.2, 0.1, 0.05)), ("rkn6", (0.4, 0.2, 0.1, 0.05))):
        for h in hs:
            n = int(round(T / h))
            every = max(1, int(round(dt_s / h)))
            wall, (q, v, D) = timed(lambda: splitting_with_dissipation(net, th, v0, drive, gamma, h, n, method, every))
            t = np.arange(q.shape[0]) * every * h
            E = energy(net, drive, q, v)
            quad_free = float(np.max(np.abs(E - E[0] + gamma * D)) / E[0])
            nf = n * GRADIENTS[method] + 1
            rows_q.append((method, f"h={h:.4g}", wall, quad_free, nf))
            if every * h == dt_s:  # the spline measure needs the samples every 0.05
                rows_s.append((method, f"h={h:.4g}", wall, spline_defect(net, drive, gamma, t, q, v), nf))
    for rtol in (1e-4, 1e-5, 1e-6, 1e-7, 1e-8, 1e-9, 1e-10, 1e-11):
        wall, (q, v, D, nf) = timed(lambda: dop853_with_dissipation(net, th, v0, drive, gamma, t_eval, rtol))
        E = energy(net, drive, q, v)
        rows_q.append(("DOP853", f"rtol={rtol:.0e}", wall, float(np.max(np.abs(E - E[0] + gamma * D)) / E[0]), nf))
        rows_s.append(("DOP853", f"rtol={rtol:.0e}", wall, spline_defect(net, drive, gamma, t_eval, q, v), nf))
    floor = min(r[3] for r in rows_s if r[0] == "DOP853")
    return net, rows_s, rows_q, floor


# --------------------------------------------------------------------------- report
def ratio(rows, ref, ours, target, col):
    """DOP853-cost ÷ ours at the same error (> 1: ours cheaper)."""
    return best_of(rows, [ref], target, col) / best_of(rows, ours, target, col)


def verdict(value, threshold):
    if not np.isfinite(value):
        return "missed (outside the measured range)"
    return "met" if value >= threshold else "missed"


def main():
    results = {}
    net, rows, ref_dev = run_trajectory()
    print(f"== 1. single trajectory, X(t), γ = 1, t ≤ 20 (P = {net.n_params}); "
          f"reference DOP853(1e-13) vs rkn6 at a 4x finer step: {ref_dev:.1e}")
    print_rows(rows)
    single = {}
    for target in (1e-4, 1e-6, 1e-8):
        single[target] = (ratio(rows, "DOP853", OURS, target, 4), ratio(rows, "DOP853", OURS, target, 2))
        by = {m: ratio(rows, "DOP853", [m], target, 2) for m in ("cs2", "cs4", *OURS)}
        print(f"  at error {target:.0e}: DOP853 ÷ ours = {single[target][0]:.2f} in gradients, "
              f"{single[target][1]:.2f} in wall time  (wall, per method: "
              + ", ".join(f"{m} {v:.2f}" for m, v in by.items()) + ")")
    results["single"] = single

    net, rows, ref_dev = run_replicas()
    print(f"\n== 2. 32 replicas in one state, X_r(t), γ = 1, t ≤ 5; reference rkn6 (8x finer) vs DOP853(1e-13) "
          f"on replica 0: {ref_dev:.1e}")
    print_rows(rows)
    rep = {}
    for target in (1e-6, 1e-8):
        rep[target] = (ratio(rows, "DOP853-stacked", OURS, target, 2), ratio(rows, "DOP853-separate", OURS, target, 2),
                       ratio(rows, "DOP853-stacked", OURS, target, 4))
        print(f"  at worst-replica error {target:.0e}: stacked DOP853 ÷ ours = {rep[target][0]:.2f} (wall), "
              f"separate DOP853 ÷ ours = {rep[target][1]:.2f} (wall), stacked in gradients {rep[target][2]:.2f}")
    results["replicas"] = rep

    net, rows_s, rows_q, floor = run_energy()
    print(f"\n== 3. energy balance, fixed input, γ = 0.01, t ≤ 400; spline floor (smallest DOP853 defect) {floor:.1e}")
    print("  (a) spline measure")
    print_rows(rows_s)
    print("  (b) quadrature-free measure (dissipation integral carried with the state)")
    print_rows(rows_q)
    en = {}
    for target in (1e-4, 1e-6, 1e-8):
        en[target] = (ratio(rows_q, "DOP853", OURS, target, 2), ratio(rows_q, "DOP853", OURS, target, 4))
        print(f"  at defect {target:.0e} (quadrature-free): DOP853 ÷ ours = {en[target][0]:.2f} wall, "
              f"{en[target][1]:.2f} gradients")
    for m, setting, wall, e, nf in (r for r in rows_s if r[0] in OURS):
        print(f"  spline measure, {m} {setting} (defect {e:.1e}): DOP853 ÷ ours = "
              f"{cost_at(rows_s, 'DOP853', e, 2) / wall:.2f} wall, {cost_at(rows_s, 'DOP853', e, 4) / nf:.2f} gradients"
              + ("  [at the spline floor: not a measurement of either method]" if e < 2 * floor else ""))
    results["energy"] = en

    print("\n== targets")
    targets = [
        ("single trajectory ≥ 1x DOP853 (wall) at 1e-4", single[1e-4][1], 1.0),
        ("single trajectory ≥ 1x DOP853 (wall) at 1e-6", single[1e-6][1], 1.0),
        ("32 replicas ≥ 3x stacked DOP853 (wall) at 1e-6", rep[1e-6][0], 3.0),
        ("stretch: single trajectory ≥ 1x DOP853 (wall) at 1e-8", single[1e-8][1], 1.0),
        ("stretch: energy balance ≥ 1x DOP853 (wall) at defect 1e-4", en[1e-4][0], 1.0),
        ("stretch: energy balance ≥ 1x DOP853 (wall) at defect 1e-6", en[1e-6][0], 1.0),
    ]
    for name, value, thr in targets:
        print(f"  {name}: {value:.2f} -> {verdict(value, thr)}")
    results["targets"] = targets
    return results


if __name__ == "__main__":
    main()
