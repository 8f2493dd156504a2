"""Tests for bbdlib.bulk_boundary.integrator: the table of methods, orders by step halving against a
tight reference, exact e^{-γh} contraction, time-reversibility, the Sec. 2 limits, replicas, bad input."""
import numpy as np
import pytest

from bbdlib.bulk_boundary.drives import ConstantDrive, DriveBatch, OscillatingDrive, SampleStream
from bbdlib.bulk_boundary.integrator import (
    GRADIENTS,
    METHODS,
    ORDERS,
    SCHEMES,
    LossGradient,
    _splitting,
    integrate,
    local_error_estimate,
    step_map,
)
from bbdlib.bulk_boundary.limits import damped_flow, gradient_flow
from bbdlib.bulk_boundary.network import Network

# step counts of the halving test per declared order: errors well above the reference's (~1e-14)
# and inside the asymptotic range; a new order must be added here on purpose
HALVING_STEPS = {1: (32, 64, 128), 2: (32, 64, 128), 4: (16, 32, 64), 6: (6, 12, 24)}


def _problem(seed=0, widths=(3, 5, 4, 2), act="tanh"):
    net = Network(widths, act, "mse")
    rng = np.random.default_rng(seed)
    th = net.init_params(rng)
    v0 = 0.3 * rng.normal(size=net.n_params)
    drive = OscillatingDrive(rng.normal(size=widths[0]), 0.5, 2.0, rng.normal(size=widths[-1]))
    return net, th, v0, drive


def test_scheme_table_declares_order_next_to_step():
    assert METHODS == tuple(SCHEMES) == ("heavy_ball", "cs2", "cs4", "rkn4", "rkn6")
    assert ORDERS == {"heavy_ball": 1, "cs2": 2, "cs4": 4, "rkn4": 4, "rkn6": 6}
    assert GRADIENTS == {"heavy_ball": 1, "cs2": 1, "cs4": 3, "rkn4": 6, "rkn6": 11}
    for name, sc in SCHEMES.items():
        assert sc.name == name and callable(sc.step) and sc.order == ORDERS[name]
        if sc.kicks:  # a splitting: consistent weights (each flow for a total time h)
            assert len(sc.kicks) == len(sc.drifts) + 1 == sc.gradients + 1
            assert abs(sum(sc.kicks) - 1) < 1e-14 and abs(sum(sc.drifts) - 1) < 1e-14
            assert sc.symmetric and sc.kicks == sc.kicks[::-1] and sc.drifts == sc.drifts[::-1]


@pytest.mark.parametrize("method", [m for m in METHODS if SCHEMES[m].kicks])
def test_declared_weights_reproduce_the_step(method):
    """A splitting's declared weights (used for sub-stage quantities) give the same step to round-off."""
    net, th, v0, drive = _problem()
    force = LossGradient(net, drive)
    sc = SCHEMES[method]
    q1, v1, q2, v2 = th.copy(), v0.copy(), th.copy(), v0.copy()
    sc.step(q1, v1, force(q1, 0.2), 0.2, 0.1, 1.3, force)
    _splitting(sc.kicks, sc.drifts)(q2, v2, force(q2, 0.2), 0.2, 0.1, 1.3, force)
    assert np.max(np.abs(q1 - q2)) + np.max(np.abs(v1 - v2)) < 1e-13


@pytest.mark.parametrize("method", METHODS)
def test_order_by_step_halving(method):
    """Errors at t = 2 against DOP853 at rtol 1e-13 fall by 2^p per halving (p within ±0.3)."""
    net, th, v0, drive = _problem()
    T = 2.0
    ref = damped_flow(net, th, v0, gamma=1.0, data=drive, t_eval=[0.0, T], method="DOP853",
                      rtol=1e-13, atol=1e-15).theta[-1]
    errs = []
    for n in HALVING_STEPS[ORDERS[method]]:
        tr = integrate(net, th, v0, gamma=1.0, drive=drive, h=T / n, n_steps=n, method=method)
        errs.append(np.max(np.abs(tr.theta[-1] - ref)))
    assert min(errs) > 1e-12, errs  # far above the reference's own error
    orders = np.log2(np.array(errs[:-1]) / np.array(errs[1:]))
    assert np.all(np.abs(orders - ORDERS[method]) < 0.3), orders


@pytest.mark.parametrize("method", METHODS)
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


@pytest.mark.parametrize("method", METHODS)
def test_time_reversibility(method):
    """A step forward then a step back returns to the start to round-off (symmetric methods only)."""
    net, th, v0, drive = _problem()
    force = LossGradient(net, drive)
    q, v, t, h, gamma = th.copy(), v0.copy(), 0.4, 0.15, 1.3
    step = SCHEMES[method].step
    g, t1 = step(q, v, force(q, t), t, h, gamma, force)
    assert abs(t1 - (t + h)) < 1e-15
    _, t2 = step(q, v, g, t1, -h, gamma, force)
    dev = max(np.max(np.abs(q - th)), np.max(np.abs(v - v0)))
    moved = np.max(np.abs(step_map(net, gamma, drive, method, h, th, v0, t=t)[0] - th))
    assert moved > 1e-3
    if SCHEMES[method].symmetric:
        assert dev < 1e-13 and abs(t2 - t) < 1e-15, dev
    else:
        assert dev > 1e-6  # heavy ball is not symmetric: its own declaration is tested


@pytest.mark.parametrize("method", [m for m in METHODS if ORDERS[m] >= 4])
def test_overdamped_limit_of_sec2(method):
    """(4) -> (3): from the slow manifold the gap to gradient flow (η = 1/γ) at t = 2γ falls as γ^{-2}."""
    net = Network((3, 5, 2), "tanh", "mse")
    rng = np.random.default_rng(3)
    th = net.init_params(rng)
    drive = ConstantDrive(rng.normal(size=3), rng.normal(size=2))
    gaps = []
    for gm in (10.0, 20.0):
        T = 2.0 * gm
        n = int(round(T / 0.02))
        v_init = -net.grad(th, drive.X, drive.Y) / gm
        tr = integrate(net, th, v_init, gamma=gm, drive=drive, h=T / n, n_steps=n, method=method)
        gf = gradient_flow(net, th, eta=1 / gm, data=drive, t_eval=[0.0, T], method="rk4", h=T / 2000).theta
        gaps.append(np.max(np.abs(tr.theta[-1] - gf[-1])))
    assert abs(np.log2(gaps[0] / gaps[1]) - 2.0) < 0.3, gaps


def test_heavy_ball_is_sgd():
    """Sec. 2, (2): heavy ball with μ = e^{-γh} -> 0 and h² = η is SGD."""
    from bbdlib.bulk_boundary.limits import sgd
    net, th, _, _ = _problem()
    rng = np.random.default_rng(5)
    drive = ConstantDrive(rng.normal(size=3), rng.normal(size=2))
    hb = integrate(net, th, np.zeros_like(th), gamma=400.0, drive=drive, h=0.1, n_steps=20, method="heavy_ball")
    q = sgd(net, th, drive.X[None], drive.Y[None], eta=0.01, n_steps=20)
    assert np.max(np.abs(hb.theta - q)) < 1e-12


@pytest.mark.parametrize("method", ["cs2", "rkn6"])
def test_replicas_in_one_state_equal_separate_runs(method):
    net, _, _, _ = _problem()
    rng = np.random.default_rng(7)
    R = 5
    ths = np.stack([net.init_params(rng) for _ in range(R)])
    vs = 0.3 * rng.normal(size=ths.shape)
    drives = [OscillatingDrive(rng.normal(size=3), 0.5, 1.0 + r, rng.normal(size=2)) for r in range(R)]
    tb = integrate(net, ths, vs, gamma=0.7, drive=drives, h=0.05, n_steps=40, method=method, save_every=4)
    assert tb.theta.shape == (11, R, net.n_params) and tb.n_replicas == R
    for r in range(R):
        single = integrate(net, ths[r], vs[r], gamma=0.7, drive=drives[r], h=0.05, n_steps=40,
                           method=method, save_every=4)
        one = tb.replica(r)
        assert one.drive is drives[r] and one.theta.shape == single.theta.shape
        assert np.max(np.abs(one.theta - single.theta)) < 1e-12
        assert np.max(np.abs(one.v - single.v)) < 1e-12
    # a shared drive and a shared v0 broadcast over the batch
    shared = integrate(net, ths, vs[0], gamma=0.7, drive=drives[0], h=0.05, n_steps=4, method=method)
    alone = integrate(net, ths[2], vs[0], gamma=0.7, drive=drives[0], h=0.05, n_steps=4, method=method)
    assert np.max(np.abs(shared.theta[:, 2] - alone.theta)) < 1e-12
    assert len(tb.replicas()) == R and integrate(net, ths[0], vs[0], gamma=0.7, drive=drives[0], h=0.05,
                                                 n_steps=2).n_replicas is None


def test_drive_batch_vectorised_paths_match_members():
    rng = np.random.default_rng(2)
    osc = [OscillatingDrive(rng.normal(size=3), rng.uniform(size=3), 1.0 + r, rng.normal(size=2),
                            phase=rng.uniform(size=3), target_amplitude=0.3) for r in range(3)]
    con = [ConstantDrive(rng.normal(size=3), rng.normal(size=2)) for _ in range(3)]
    mixed = [osc[0], con[1]]
    t = np.array([0.0, 0.3, 1.7])
    stream = SampleStream(rng.normal(size=(4, 3)), rng.normal(size=(4, 2)), dwell=0.5, ramp=0.2)
    for d in (*osc, *con, stream):  # the force's fast path (X, Y) equals inputs/targets bitwise
        for tt in (0.0, 0.3, 1.85):
            X, Y = d.pair(tt)
            assert np.array_equal(X, d.inputs(tt)[0]) and np.array_equal(Y, d.targets(tt)[0])
    for members in (osc, con, mixed, [stream, osc[1]]):
        b = DriveBatch(members)
        X, Y = b.pair(0.3)
        assert np.array_equal(X, b.inputs(0.3)[0]) and np.array_equal(Y, b.targets(0.3)[0])
        for which in ("inputs", "targets"):
            for tt in (t, 0.3):
                got = getattr(b, which)(tt)
                for r, d in enumerate(members):
                    for k, arr in enumerate(getattr(d, which)(tt)):
                        assert np.allclose(got[k][..., r, :], arr, atol=1e-15)


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
    with pytest.raises(ValueError, match="theta0.*finite|finite.*theta0|theta0"):
        integrate(net, np.full_like(th, np.inf), v0, gamma=1.0, **kw)
    with pytest.raises(ValueError, match="v0"):
        integrate(net, th, np.where(np.arange(th.size) == 3, np.nan, v0), gamma=1.0, **kw)
    with pytest.raises(ValueError, match="last axis"):
        integrate(net, th[:-1], v0, gamma=1.0, **kw)
    with pytest.raises(ValueError, match="method must be one of"):
        integrate(net, th, v0, gamma=1.0, method="rk4", **kw)
    for h in (0.0, -0.1, np.inf, np.nan):
        with pytest.raises(ValueError, match="^h must"):
            integrate(net, th, v0, gamma=1.0, drive=drive, h=h, n_steps=2)
    with pytest.raises(ValueError, match="widths"):
        integrate(net, th, v0, gamma=1.0, drive=ConstantDrive(np.zeros(4), np.zeros(2)), h=0.1, n_steps=2)
    with pytest.raises(FloatingPointError, match="diverged"):
        integrate(net, th, v0, gamma=1.0, drive=drive, h=1e150, n_steps=5)


def test_bad_batches():
    net, th, v0, drive = _problem()
    kw = dict(gamma=1.0, h=0.1, n_steps=2)
    with pytest.raises(ValueError, match="theta0 disagree in shape"):
        integrate(net, [th, th[:-1]], v0, drive=drive, **kw)
    with pytest.raises(ValueError, match="batch sizes of theta0"):
        integrate(net, np.stack([th, th]), np.stack([v0, v0, v0]), drive=drive, **kw)
    with pytest.raises(ValueError, match="batch sizes of theta0"):
        integrate(net, np.stack([th, th]), v0, drive=[drive, drive, drive], **kw)
    with pytest.raises(ValueError, match="drives disagree in shape"):
        integrate(net, np.stack([th, th]), v0, drive=[drive, ConstantDrive(np.zeros(4), np.zeros(2))], **kw)
    with pytest.raises(ValueError, match="theta0 must be a flat"):
        integrate(net, th[None, None], v0, drive=drive, **kw)
    with pytest.raises(TypeError, match=r"drives\[1\]"):
        DriveBatch([drive, "x"])
    with pytest.raises(ValueError, match="at least one"):
        DriveBatch([])
    single = integrate(net, th, v0, drive=drive, **kw)
    with pytest.raises(ValueError, match="batch of replicas"):
        single.replica(0)


def test_damped_drift_keeps_the_nystrom_structure():
    """[K, [K, F]] is a force field f(q, t)·∂_v, so it commutes with the kick K: the RKN order conditions apply."""
    import sympy as sp
    q, v, t, gm = sp.symbols("q v t gamma")
    g = sp.Function("g")(q, t)
    x = (q, v, t)
    K = sp.Matrix([0, -g, 0])            # kick: v' = -∇ℓ(q, t)
    F = sp.Matrix([v, -gm * v, 1])       # damped drift: q' = v, v' = -γ v, t' = 1

    def bracket(X, Y):
        return sp.simplify(Y.jacobian(x) * X - X.jacobian(x) * Y)

    KKF = bracket(K, bracket(K, F))
    assert KKF[0] == 0 and KKF[2] == 0 and sp.diff(KKF[1], v) == 0 and KKF[1] != 0
    assert bracket(K, KKF) == sp.zeros(3, 1)
