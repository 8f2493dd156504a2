"""Tests of bbdlib.bulk_boundary.limits (Sec. 2 of [A], eqs. (1)-(4)) on the one Network."""
import numpy as np
import pytest

from bbdlib.bulk_boundary.drives import ConstantDrive, OscillatingDrive
from bbdlib.bulk_boundary.integrator import integrate
from bbdlib.bulk_boundary.limits import (
    FlowSolution,
    FullBatch,
    damped_flow,
    demo_data_set,
    gradient_flow,
    loss_gradient,
    sgd,
)
from bbdlib.bulk_boundary.network import Network


def test_full_batch_gradient_is_the_mean_gradient():
    net, th, data = demo_data_set((2, 3, 3, 1), 5, np.random.default_rng(0))
    g = loss_gradient(net, data)(th, 0.0)
    eps = 1e-6
    fd = np.array([(net.mean_loss(th + eps * e, data.X, data.Y) - net.mean_loss(th - eps * e, data.X, data.Y))
                   / (2 * eps) for e in np.eye(len(th))])
    np.testing.assert_allclose(g, fd, atol=1e-8)
    assert len(data) == 5


def test_forward_matches_symbolic_recursion():
    from bbdlib.bulk_boundary.symbolic.jets import jets
    from bbdlib.bulk_boundary.symbolic.lagrangian import evaluate_wb
    net, th, data = demo_data_set((2, 2, 1), 1, np.random.default_rng(3))
    point = evaluate_wb(jets((2, 2, 1), moving_input=False), th, data.X[0], data.Y[0], activation="tanh")
    assert float(point.output[0]) == pytest.approx(net.predict(th, data.X)[0, 0], rel=1e-12)


def test_sgd_is_euler_of_gradient_flow():
    net, th, data = demo_data_set((2, 3, 1), 4, np.random.default_rng(1))
    errs = []
    for eta in (0.1, 0.05):
        n = int(round(2.0 / eta))
        q = sgd(net, th, data.X, data.Y, eta=eta, n_steps=n)
        assert q.shape == (n + 1, net.n_params) and np.array_equal(q[0], th)
        flow = gradient_flow(net, th, eta=eta, data=data, t_eval=[0.0, n])
        assert isinstance(flow, FlowSolution) and flow.v is None
        errs.append(np.max(np.abs(q[-1] - flow.theta[-1])))
    assert 1.7 < errs[0] / errs[1] < 2.4


def test_minibatch_sgd_is_reproducible_and_full_batch_is_default():
    net, th, data = demo_data_set((2, 3, 1), 6, 4)
    a = sgd(net, th, data.X, data.Y, eta=0.05, n_steps=5, batch_size=2, rng=7)
    b = sgd(net, th, data.X, data.Y, eta=0.05, n_steps=5, batch_size=2, rng=7)
    assert np.array_equal(a, b)
    full = sgd(net, th, data.X, data.Y, eta=0.05, n_steps=5)
    assert np.allclose(full, sgd(net, th, data.X, data.Y, eta=0.05, n_steps=5, batch_size=6, rng=0), atol=1e-14)


def test_damped_approaches_gradient_flow():
    net, th, data = demo_data_set((2, 3, 1), 4, np.random.default_rng(2))
    errs = []
    for gam in (10.0, 20.0):
        t = gam * np.linspace(0, 1.0, 11)
        d = damped_flow(net, th, gamma=gam, data=data, t_eval=t)
        errs.append(np.max(np.abs(d.theta - gradient_flow(net, th, eta=1 / gam, data=data, t_eval=t).theta)))
        assert d.v.shape == d.theta.shape and d.n_fev > 0
    assert 3.0 < errs[0] / errs[1] < 5.0


def test_rk4_gradient_flow_agrees_with_dop853_and_hits_grid_points():
    net = Network((3, 4, 2))
    rng = np.random.default_rng(6)
    th = net.init_params(rng)
    drive = OscillatingDrive(rng.normal(size=3), 0.3, 1.0, rng.normal(size=2))
    t_eval = np.array([0.0, 0.5, 1.0, 2.0])
    rk = gradient_flow(net, th, eta=0.5, data=drive, t_eval=t_eval, method="rk4", h=0.01)
    ref = gradient_flow(net, th, eta=0.5, data=drive, t_eval=t_eval)
    assert rk.n_fev == 800
    assert np.max(np.abs(rk.theta - ref.theta)) < 1e-8
    with pytest.raises(ValueError, match="grid"):
        gradient_flow(net, th, eta=0.5, data=drive, t_eval=[0.0, 0.015], method="rk4", h=0.01)
    with pytest.raises(ValueError, match="needs a step"):
        gradient_flow(net, th, eta=0.5, data=drive, t_eval=[0.0, 1.0], method="rk4")


def test_conformal_symplectic_integrator_agrees_with_solve_ivp():
    net = Network((3, 5, 4, 2))
    rng = np.random.default_rng(0)
    th = net.init_params(rng)
    v0 = 0.3 * rng.normal(size=net.n_params)
    drive = OscillatingDrive(rng.normal(size=3), 0.5, 2.0, rng.normal(size=2))
    tr = integrate(net, th, v0, gamma=0.5, drive=drive, h=1 / 256, n_steps=512, method="cs4", save_every=128)
    sol = damped_flow(net, th, v0, gamma=0.5, data=drive, t_eval=tr.t, method="DOP853", rtol=1e-11, atol=1e-12)
    assert np.max(np.abs(sol.theta - tr.theta)) < 1e-8
    assert np.max(np.abs(sol.v - tr.v)) < 1e-8


def test_heavy_ball_with_zero_momentum_is_sgd():
    """μ = e^{-γh} -> 0 and η = h² turn heavy-ball into SGD (2) on a single sample."""
    net = Network((3, 5, 4, 2))
    rng = np.random.default_rng(5)
    th = net.init_params(rng)
    X, Y = rng.normal(size=3), rng.normal(size=2)
    h = 0.1
    tr = integrate(net, th, np.zeros_like(th), gamma=400.0, drive=ConstantDrive(X, Y), h=h, n_steps=20,
                   method="heavy_ball")
    q = sgd(net, th, X[None], Y[None], eta=h * h, n_steps=20)
    # heavy-ball's first step uses v0 = 0; after that μ = e^{-40} ~ 4e-18
    assert np.max(np.abs(tr.theta - q)) < 1e-12


def test_overdamped_limit_is_gradient_flow():
    """Eq. (4) with large γ approaches gradient flow (3) with η = 1/γ; the gap shrinks with γ."""
    net = Network((3, 5, 4, 2))
    rng = np.random.default_rng(6)
    th = net.init_params(rng)
    drive = ConstantDrive(rng.normal(size=3), rng.normal(size=2))
    gaps = []
    for gamma in (20.0, 40.0):
        T = 2.0 * gamma  # the same gradient-flow time η T = 2
        n = int(T / 0.01)
        v0 = -net.grad(th, drive.X, drive.Y) / gamma  # start on the slow manifold
        tr = integrate(net, th, v0, gamma=gamma, drive=drive, h=T / n, n_steps=n, method="cs2")
        gf = gradient_flow(net, th, eta=1 / gamma, data=drive, t_eval=[0.0, T], method="rk4", h=T / 2000)
        gaps.append(np.max(np.abs(tr.theta[-1] - gf.theta[-1])))
    assert gaps[1] < 0.6 * gaps[0]
    assert gaps[1] < 1e-2


def test_bad_input():
    with pytest.raises(ValueError):
        demo_data_set((2, 0, 1), 3, 0)
    with pytest.raises(TypeError):
        demo_data_set((2, 2.0, 1), 3, 0)
    net, th, data = demo_data_set((2, 2, 1), 3, 0)
    with pytest.raises(ValueError):
        sgd(net, th, data.X, data.Y, eta=-0.1, n_steps=3)
    with pytest.raises(ValueError, match="last axis"):
        damped_flow(net, th[:-1], gamma=1.0, data=data, t_eval=[0.0, 1.0])
    with pytest.raises(ValueError, match="increasing"):
        gradient_flow(net, th, eta=0.1, data=data, t_eval=[1.0, 0.0])
    with pytest.raises(TypeError, match="Drive or a FullBatch"):
        gradient_flow(net, th, eta=0.1, data=(data.X, data.Y), t_eval=[0.0, 1.0])
    with pytest.raises(TypeError, match="Network"):
        sgd("net", th, data.X, data.Y, eta=0.1, n_steps=1)
    with pytest.raises(ValueError, match="same number of samples"):
        FullBatch(np.zeros((3, 2)), np.zeros((2, 1)))
    with pytest.raises(ValueError, match="Dirac delta"):
        demo_data_set((2, 2, 1), 3, 0, activation="relu")
