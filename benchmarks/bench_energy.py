"""Budget of issue 6: energies and currents of a width-64, depth-6 network over 10⁴ steps.

Integrates eq. (4) of [A] with cs2 and evaluates every site's e, D, J_in, J_out at every
step (streamed in chunks), on one core.  Budget: under 10 s.  For comparison, in the same
run, a plain reference evaluates the same fields with Python loops over neurons for a few
steps, and the per-step cost ratio is printed.
"""
from __future__ import annotations

import os
import sys
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402

from bbdlib.bulk_boundary import energy as E  # noqa: E402
from bbdlib.bulk_boundary.drives import OscillatingDrive  # noqa: E402
from bbdlib.bulk_boundary.integrator import integrate  # noqa: E402
from bbdlib.bulk_boundary.network import Network  # noqa: E402
from bbdlib.bulk_boundary.streaming import stream_site_fields  # noqa: E402

BUDGET_S = 10.0


def plain_site_energies(k: E.Kinematics, n: int) -> list:
    """Reference: e of every site at time index n with explicit loops over neurons (eq. (18)/(24)/(29), no ∫ term)."""
    M = k.M
    out = [None]
    for m in range(1, M + 1):
        N = k.zdot[m].shape[-1]
        em = np.zeros(N)
        for i in range(N):
            zd = k.zdot[m][n, i]
            Wd = k.Wdot[m - 1][n]
            S = sum(Wd[i, j] * k.h[m - 1][n, j] + k.W[m - 1][n, i, j] * k.hdot[m - 1][n, j] for j in range(Wd.shape[1]))
            c = 1.0 if m == 1 else 0.5
            val = 0.5 * zd**2 + 0.5 * c * sum(Wd[i, j] ** 2 for j in range(Wd.shape[1])) - c * zd * S + 0.5 * c * S**2
            if m < M:
                Wu, Wdu = k.W[m][n], k.Wdot[m][n]
                for a in range(Wu.shape[0]):
                    A = Wdu[a, i] * k.h[m][n, i] + Wu[a, i] * k.hdot[m][n, i]
                    val += 0.25 * Wdu[a, i] ** 2 - 0.5 * k.zdot[m + 1][n, a] * A
            else:
                val += k.loss_i[n, i]
            em[i] = val
        out.append(em)
    return out


def main(n_steps: int = 10_000, width: int = 64, depth: int = 6) -> float:
    net = Network((width,) * (depth + 1), "tanh", "mse")
    rng = np.random.default_rng(0)
    th = net.init_params(rng)
    v0 = 0.05 * rng.normal(size=net.n_params)
    drive = OscillatingDrive(rng.normal(size=width), 0.3, 1.0, 0.5 * rng.normal(size=width))
    t0 = time.perf_counter()
    res = stream_site_fields(net, th, v0, gamma=1.0, drive=drive, h=1e-3, n_steps=n_steps, method="cs2",
                               chunk=256, keep_every=100)
    elapsed = time.perf_counter() - t0
    per_step = elapsed / (n_steps + 1)
    # plain reference on a few steps of the same trajectory, same run
    tr = integrate(net, th, v0, gamma=1.0, drive=drive, h=1e-3, n_steps=3, method="cs2")
    k = E.kinematics(tr)
    f = E.site_fields(k, quadrature="trapezoid")
    t1 = time.perf_counter()
    ref = plain_site_energies(k, 0)
    plain_per_step = time.perf_counter() - t1
    dev = max(np.max(np.abs(ref[m] - f.e_local(m)[0])) for m in range(1, net.depth + 1))
    print(f"network widths {net.widths}, P = {net.n_params} parameters, {n_steps} steps of cs2")
    print(f"energies + decays + currents of all {sum(net.widths[1:])} sites at every step: {elapsed:.2f} s "
          f"(budget {BUDGET_S:.0f} s) -> {'OK' if elapsed < BUDGET_S else 'OVER BUDGET'}")
    print(f"per step: vectorised {per_step * 1e3:.3f} ms, plain loops over neurons (energies only) "
          f"{plain_per_step * 1e3:.1f} ms, ratio {plain_per_step / per_step:.0f}x")
    print(f"vectorised vs plain energies (without the ∫ term): max deviation {dev:.2e}")
    print(f"final layer energies Σ_i e_i^(m): {np.array2string(res.budget.energy[-1], precision=4)}")
    return elapsed


if __name__ == "__main__":
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
    main(n)
