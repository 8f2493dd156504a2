"""Tests of bbdlib.bulk_boundary.limits (Sec. 2 of [A], eqs. (1)-(4))."""
import numpy as np
import pytest
import sympy as sp

from bbdlib.bulk_boundary.limits import damped_flow, gradient_flow, mlp, sgd


def test_gradient_matches_finite_differences():
    net, th = mlp((2, 3, 3, 1), 5, np.random.default_rng(0))
    g = net.grad(th)
    eps = 1e-6
    fd = np.array([(net.loss(th + eps * e) - net.loss(th - eps * e)) / (2 * eps)
                   for e in np.eye(len(th))])
    np.testing.assert_allclose(g, fd, atol=1e-8)


def test_forward_matches_symbolic_recursion():
    from bbdlib.bulk_boundary.symbolic.lagrangian import network
    net, th = mlp((2, 2, 1), 1, np.random.default_rng(3))
    sym = network((2, 2, 1), time_dependent_data=False)
    Ws, bs = net.unpack(th)
    rep = {sym.X[j]: net.X[0, j] for j in range(2)}
    for (m, i, j), w in sym.W.items():
        rep[w] = Ws[m][i - 1, j - 1]
    for (m, i), b in sym.b.items():
        rep[b] = bs[m][i - 1]
    Z = sym.forward()[0].replace(sym.sigma, sp.tanh).subs(rep)
    assert float(Z) == pytest.approx(net.forward(th)[0, 0], rel=1e-12)


def test_sgd_is_euler_of_gradient_flow():
    net, th = mlp((2, 3, 1), 4, np.random.default_rng(1))
    errs = []
    for eta in (0.1, 0.05):
        n = int(round(2.0 / eta))
        errs.append(np.max(np.abs(sgd(net, th, eta, n) - gradient_flow(net, th, eta, np.array([0.0, n]))[-1])))
    assert 1.7 < errs[0] / errs[1] < 2.4


def test_damped_approaches_gradient_flow():
    net, th = mlp((2, 3, 1), 4, np.random.default_rng(2))
    errs = []
    for gam in (10.0, 20.0):
        t = gam * np.linspace(0, 1.0, 11)
        errs.append(np.max(np.abs(damped_flow(net, th, gam, t) - gradient_flow(net, th, 1 / gam, t))))
    assert 3.0 < errs[0] / errs[1] < 5.0


def test_bad_input():
    with pytest.raises(ValueError):
        mlp((2, 0, 1), 3, 0)
    with pytest.raises(TypeError):
        mlp((2, 2.0, 1), 3, 0)
    net, th = mlp((2, 2, 1), 3, 0)
    with pytest.raises(ValueError):
        sgd(net, th, -0.1, 3)
    with pytest.raises(ValueError):
        damped_flow(net, th[:-1], 1.0, np.array([0.0, 1.0]))
