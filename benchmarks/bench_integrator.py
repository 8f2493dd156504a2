"""Work-precision of the conformal symplectic integrators against scipy's solve_ivp.

Problem (issue 6): eq. (4) of [A] for a tanh/MSE network with about 10³ parameters.

1. Trajectory error against wall time: driven by a time-dependent input X(t), γ = 1,
   t ∈ [0, 20]; error = max over t = 1, 2, ..., 20 of the largest parameter deviation from
   a reference (cs4 with a step 8x finer than the finest tested, cross-checked against
   DOP853 at rtol = 1e-13).
2. Energy error over a long run: fixed input, weak damping γ = 0.01, t ∈ [0, 400].  Over
   such a run the trajectory of this 10³-dimensional nonlinear system decorrelates from any
   reference (small differences grow), so the energy is judged by its own balance law:
   for exact dynamics ``E(t) - E(0) + γ ∫_0^t (|Ẇ|² + |ḃ|²) dt' = 0`` with
   ``E = ½|Ẇ|² + ½|ḃ|² + ℓ`` (e^{-γt} times the Hamiltonian (16), corrected).  Error =
   max_t of the defect / E(0), with the integral by a quintic spline on samples every 0.05
   (its own error is bounded by the defect of DOP853 at the tightest tolerance).

All methods run in the same process on one core; the script prints each point and the
wall-time ratios RK45/cs4 and DOP853/cs4 (and /cs2) at matched accuracy (interpolated in
log-log at a target error inside every method's range).
"""
from __future__ import annotations

import os
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402

from bbdlib.bulk_boundary.drives import ConstantDrive, OscillatingDrive  # noqa: E402
from bbdlib.bulk_boundary.integrator import integrate  # noqa: E402
from bbdlib.bulk_boundary.limits import damped_flow  # noqa: E402
from bbdlib.bulk_boundary.network import Network  # noqa: E402
from bbdlib.numerics import cumulative_integral  # noqa: E402


def problem(kind: str):
    net = Network((8, 24, 24, 8), "tanh", "mse")
    rng = np.random.default_rng(42)
    th = net.init_params(rng)
    v0 = 0.2 * rng.normal(size=net.n_params)
    X0, Y = rng.normal(size=8), 0.5 * rng.normal(size=8)
    if kind == "trajectory":
        return net, th, v0, OscillatingDrive(X0, 0.5, 1.5, Y), 1.0, 20.0
    return net, th, v0, ConstantDrive(X0, Y), 0.01, 400.0


def energy(net, drive, theta, v):
    """E = ½|Ẇ|² + ½|ḃ|² + ℓ (fixed input)."""
    X = drive.inputs(np.zeros(len(theta)))[0]
    Y = drive.targets(np.zeros(len(theta)))[0]
    return 0.5 * np.sum(v**2, axis=-1) + net.loss_value(theta, X, Y)


def run_trajectory():
    net, th, v0, drive, gamma, T = problem("trajectory")
    n_out = 20
    t_eval = np.linspace(0, T, n_out + 1)
    hs = {"cs2": [T / n for n in (2000, 4000, 8000, 16000)], "cs4": [T / n for n in (1000, 2000, 4000, 8000)]}
    # reference: DOP853 at rtol 1e-13, cross-checked against cs4 with a step 4x finer than its finest
    ref = damped_flow(net, th, v0, gamma=gamma, data=drive, t_eval=t_eval, method="DOP853",
                      rtol=1e-13, atol=1e-14).theta
    n_chk = int(round(4 * T / min(hs["cs4"])))
    chk = integrate(net, th, v0, gamma=gamma, drive=drive, h=T / n_chk, n_steps=n_chk, method="cs4",
                    save_every=n_chk // n_out)
    ref_dev = float(np.max(np.abs(chk.theta - ref)))
    rows = []
    for method, steps in hs.items():
        for h in steps:
            n = int(round(T / h))
            t0 = time.perf_counter()
            tr = integrate(net, th, v0, gamma=gamma, drive=drive, h=h, n_steps=n, method=method,
                           save_every=n // n_out)
            rows.append((method, f"h={h:.4g}", time.perf_counter() - t0, float(np.max(np.abs(tr.theta - ref))),
                         n * (3 if method == "cs4" else 1) + 1))
    rtols_all = (1e-3, 1e-4, 1e-5, 1e-7, 1e-9, 1e-11)
    for method, rtols in (("RK45", rtols_all), ("DOP853", rtols_all)):
        for rtol in rtols:
            t0 = time.perf_counter()
            sol = damped_flow(net, th, v0, gamma=gamma, data=drive, t_eval=t_eval, method=method,
                              rtol=rtol, atol=rtol * 1e-2)
            rows.append((method, f"rtol={rtol:.0e}", time.perf_counter() - t0, float(np.max(np.abs(sol.theta - ref))),
                         sol.n_fev))
    return net, rows, ref_dev


def balance_defect(net, drive, gamma, t, theta, v):
    """max_t |E(t) - E(0) + γ∫|v|²| / E(0) on uniformly spaced samples."""
    E = energy(net, drive, theta, v)
    diss = cumulative_integral(t, np.sum(v**2, axis=-1)[:, None])[:, 0]
    return float(np.max(np.abs(E - E[0] + gamma * diss)) / E[0])


def run_energy():
    net, th, v0, drive, gamma, T = problem("energy")
    dt_s = 0.05
    t_eval = np.linspace(0, T, int(round(T / dt_s)) + 1)
    rows = []
    for method, steps in (("cs2", (0.05, 0.025, 0.0125, 0.00625)), ("cs4", (0.05, 0.025, 0.0125, 0.00625))):
        for h in steps:
            n = int(round(T / h))
            t0 = time.perf_counter()
            tr = integrate(net, th, v0, gamma=gamma, drive=drive, h=h, n_steps=n, method=method,
                           save_every=int(round(dt_s / h)))
            el = time.perf_counter() - t0
            rows.append((method, f"h={h:.4g}", el, balance_defect(net, drive, gamma, tr.t, tr.theta, tr.v),
                         n * (3 if method == "cs4" else 1) + 1))
    for method, rtols in (("RK45", (1e-3, 1e-4, 1e-5, 1e-7, 1e-9)), ("DOP853", (1e-3, 1e-4, 1e-5, 1e-7, 1e-9, 1e-11))):
        for rtol in rtols:
            t0 = time.perf_counter()
            sol = damped_flow(net, th, v0, gamma=gamma, data=drive, t_eval=t_eval, method=method,
                              rtol=rtol, atol=rtol * 1e-2)
            el = time.perf_counter() - t0
            rows.append((method, f"rtol={rtol:.0e}", el,
                         balance_defect(net, drive, gamma, sol.t, sol.theta, sol.v), sol.n_fev))
    floor = min(r[3] for r in rows if r[0] == "DOP853")
    return net, rows, floor


def time_at(rows, method, target, col=2):
    """Wall time (col 2) or gradient evaluations (col 4) at a target error, log-log interpolated."""
    pts = sorted((r[3], r[col]) for r in rows if r[0] == method and r[3] > 0)
    es, ts = np.log([p[0] for p in pts]), np.log([p[1] for p in pts])
    if not (es.min() <= np.log(target) <= es.max()):
        return np.nan
    order = np.argsort(es)
    return float(np.exp(np.interp(np.log(target), es[order], ts[order])))


def main():
    results = {}
    for kind, targets in (("trajectory", {"cs2": 1e-3, "cs4": 1e-4}), ("energy", {"cs2": 1e-4, "cs4": 1e-5})):
        if kind == "trajectory":
            net, rows, ref_dev = run_trajectory()
            note = f"reference DOP853(rtol 1e-13) vs cs4 at a 4x finer step: {ref_dev:.1e}"
        else:
            net, rows, floor = run_energy()
            note = f"quadrature floor (smallest DOP853 defect): {floor:.1e}"
        print(f"== {kind} error vs wall time (P = {net.n_params} parameters); {note}")
        for m, setting, t, e, nf in rows:
            print(f"  {m:7s} {setting:12s} time {t:7.3f} s  gradients {nf:7d}  error {e:.2e}")
        ratios, wratios = {}, {}
        for base, target in targets.items():
            for m in ("RK45", "DOP853"):
                ratios[f"{m}/{base} at {target:.0e}"] = time_at(rows, m, target) / time_at(rows, base, target)
                wratios[f"{m}/{base} at {target:.0e}"] = time_at(rows, m, target, 4) / time_at(rows, base, target, 4)
        print("  wall-time ratios (solve_ivp / ours at the same error; >1: ours faster; nan: outside a tested range): "
              + ", ".join(f"{k} = {v:.2f}" for k, v in ratios.items()))
        print("  gradient-evaluation ratios (load-independent work): "
              + ", ".join(f"{k} = {v:.2f}" for k, v in wratios.items()))
        results[kind] = (rows, ratios, wratios)
    return results


if __name__ == "__main__":
    main()
