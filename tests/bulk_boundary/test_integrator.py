"""Tests for bbdlib.bulk_boundary.integrator: orders by step halving, conformal symplecticity, limits, bad input."""
import numpy as np
import pytest

from bbdlib.bulk_boundary.integrator import (ORDERS, ConstantDrive, OscillatingDrive, SampleStream, gradient_flow,
                               integrate, local_error_estimate, sgd, solve_ivp_reference, step_map)
from bbdlib.bulk_boundary.network import Network


def _problem(seed=0, widths=(3, 5, 4, 2), act="tanh"):
    net = Network(widths, act, "mse")
    rng = np.random.default_rng(seed)
    th = net.init_params(rng)
    v0 = 0.3 * rng.normal(size=net.n_params)
    drive = OscillatingDrive(rng.normal(size=widths[0]), 0.5, 2.0, rng.normal(size=widths[-1]))
    return net, th, v0, drive


@pytest.mark.parametrize("method", sorted(ORDERS))
def test_order_by_step_halving(method):
    """Errors at t = 2 against a fine cs4 reference fall by 2^p per halving (p within ±0.3)."""
    net, th, v0, drive = _problem()
    T = 2.0
    ref = integrate(net, th, v0, gamma=1.0, drive=drive, h=T / 4096, n_steps=4096, method="cs4")
    errs = []
    for n in (32, 64, 128):
        tr = integrate(net, th, v0, gamma=1.0, drive=drive, h=T / n, n_steps=n, method=method)
        errs.append(np.max(np.abs(tr.theta[-1] - ref.theta[-1])))
    orders = np.log2(np.array(errs[:-1]) / np.array(errs[1:]))
    assert np.all(np.abs(orders - ORDERS[method]) < 0.3), orders


@pytest.mark.parametrize("method", sorted(ORDERS))
def test_symplectic_form_contracts_by_exp_minus_gamma_h(method):
    """The Jacobian J of one step satisfies J^T Ω J = e^{-γh} Ω (finite-difference Jacobian)."""
    net, th, v0, drive = _problem(widths=(2, 3, 1))
    gamma, h, P = 1.7, 0.1, net.n_params
    y0 = np.concatenate([th, v0])
    eps = 1e-6
    J = np.empty((2 * P, 2 * P))
    for c in range(2 * P):
        dy = np.zeros(2 * P)
        dy[c] = eps
        qp, vp = step_map(net, gamma, drive, method, h, (y0 + dy)[:P], (y0 + dy)[P:], t=0.3)
        qm, vm = step_map(net, gamma, drive, method, h, (y0 - dy)[:P], (y0 - dy)[P:], t=0.3)
        J[:, c] = (np.concatenate([qp, vp]) - np.concatenate([qm, vm])) / (2 * eps)
    Om = np.block([[np.zeros((P, P)), np.eye(P)], [-np.eye(P), np.zeros((P, P))]])
    assert np.max(np.abs(J.T @ Om @ J - np.exp(-gamma * h) * Om)) < 1e-7
    # and it is not symplectic (the contraction is real, not a float artefact)
    assert np.max(np.abs(J.T @ Om @ J - Om)) > 0.1


def test_agrees_with_solve_ivp():
    net, th, v0, drive = _problem()
    tr = integrate(net, th, v0, gamma=0.5, drive=drive, h=1 / 256, n_steps=512, method="cs4", save_every=128)
    sol, _ = solve_ivp_reference(net, th, v0, gamma=0.5, drive=drive, t_eval=tr.t, rtol=1e-11, atol=1e-12)
    assert np.max(np.abs(sol.y[: net.n_params].T - tr.theta)) < 1e-8


def test_heavy_ball_with_zero_momentum_is_sgd():
    """μ = e^{-γh} -> 0 and η = h² turn heavy-ball into SGD (2) on a single sample."""
    net, th, _, _ = _problem()
    rng = np.random.default_rng(5)
    X, Y = rng.normal(size=3), rng.normal(size=2)
    h = 0.1
    tr = integrate(net, th, np.zeros_like(th), gamma=400.0, drive=ConstantDrive(X, Y), h=h, n_steps=20,
                   method="heavy_ball")
    q = sgd(net, th, X[None], Y[None], eta=h * h, n_steps=20)
    # heavy-ball's first step uses v0 = 0; after that μ = e^{-40} ~ 4e-18
    assert np.max(np.abs(tr.theta - q)) < 1e-12


def test_overdamped_limit_is_gradient_flow():
    """Eq. (4) with large γ approaches gradient flow (3) with η = 1/γ; the gap shrinks like 1/γ."""
    net, th, _, _ = _problem()
    rng = np.random.default_rng(6)
    drive = ConstantDrive(rng.normal(size=3), rng.normal(size=2))
    gaps = []
    for gamma in (20.0, 40.0):
        T = 2.0 * gamma  # the same gradient-flow time η T = 2
        n = int(T / 0.01)
        # start on the slow manifold, v0 = -∇ℓ/γ
        v0 = -net.grad(th, drive.X, drive.Y) / gamma
        tr = integrate(net, th, v0, gamma=gamma, drive=drive, h=T / n, n_steps=n, method="cs2")
        _, gf = gradient_flow(net, th, eta=1 / gamma, drive=drive, h=T / 2000, n_steps=2000)
        gaps.append(np.max(np.abs(tr.theta[-1] - gf[-1])))
    assert gaps[1] < 0.6 * gaps[0]
    assert gaps[1] < 1e-2


def test_sample_stream_is_smooth_and_wraps():
    rng = np.random.default_rng(7)
    Xs, Ys = rng.normal(size=(3, 2)), rng.normal(size=(3, 1))
    s = SampleStream(Xs, Ys, dwell=1.0, ramp=0.4)
    t = np.linspace(0, 3.5, 35001)
    X, Xd, Xdd = s.inputs(t)
    assert np.allclose(X[1000], Xs[0]) and np.allclose(X[11000], Xs[1]) and np.allclose(X[31000], Xs[0])
    dt = t[1] - t[0]
    assert np.max(np.abs(np.gradient(X, dt, axis=0) - Xd)[5:-5]) < 1e-3
    assert np.max(np.abs(np.gradient(Xd, dt, axis=0) - Xdd)[5:-5]) < 5e-2


def test_local_error_estimate_scales_with_order():
    net, th, v0, drive = _problem()
    e = []
    for h in (0.1, 0.05):
        tr = integrate(net, th, v0, gamma=1.0, drive=drive, h=h, n_steps=10, method="cs2")
        e.append(local_error_estimate(tr, n_probe=3))
    # local error per unit change ~ h^p (p = 2)
    assert abs(np.log2(e[0] / e[1]) - 2) < 0.3


def test_bad_input():
    net, th, v0, drive = _problem()
    kw = dict(drive=drive, h=0.1, n_steps=2)
    with pytest.raises(ValueError, match="gamma must be >"):
        integrate(net, th, v0, gamma=0.0, **kw)
    with pytest.raises(ValueError, match="gamma must be >"):
        integrate(net, th, v0, gamma=-1.0, **kw)
    with pytest.raises(ValueError, match="finite"):
        integrate(net, np.full_like(th, np.inf), v0, gamma=1.0, **kw)
    with pytest.raises(ValueError, match="last axis"):
        integrate(net, th[:-1], v0, gamma=1.0, **kw)
    with pytest.raises(ValueError, match="method must be one of"):
        integrate(net, th, v0, gamma=1.0, method="rk4", **kw)
    with pytest.raises(ValueError, match="widths"):
        integrate(net, th, v0, gamma=1.0, drive=ConstantDrive(np.zeros(4), np.zeros(2)), h=0.1, n_steps=2)
    with pytest.raises(FloatingPointError, match="diverged"):
        integrate(net, th, v0, gamma=1.0, drive=drive, h=1e150, n_steps=5)
