"""Tests for bbdlib.bulk_boundary.integrator: orders by step halving, conformal symplecticity, limits, bad input."""
import numpy as np
import pytest

from bbdlib.bulk_boundary.drives import ConstantDrive, OscillatingDrive
from bbdlib.bulk_boundary.integrator import (
    METHODS,
    ORDERS,
    SCHEMES,
    integrate,
    local_error_estimate,
    step_map,
)
from bbdlib.bulk_boundary.network import Network


def _problem(seed=0, widths=(3, 5, 4, 2), act="tanh"):
    net = Network(widths, act, "mse")
    rng = np.random.default_rng(seed)
    th = net.init_params(rng)
    v0 = 0.3 * rng.normal(size=net.n_params)
    drive = OscillatingDrive(rng.normal(size=widths[0]), 0.5, 2.0, rng.normal(size=widths[-1]))
    return net, th, v0, drive


def test_scheme_table_declares_order_next_to_step():
    assert METHODS == tuple(SCHEMES) == ("heavy_ball", "cs2", "cs4")
    assert ORDERS == {"heavy_ball": 1, "cs2": 2, "cs4": 4}
    for name, sc in SCHEMES.items():
        assert sc.name == name and callable(sc.step) and sc.order == ORDERS[name]


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
