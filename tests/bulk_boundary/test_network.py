"""Tests for bbdlib.bulk_boundary.network: losses, forward pass, analytic gradients, bad input."""
import numpy as np
import pytest

from bbdlib.activations import ACTIVATIONS, activation
from bbdlib.bulk_boundary.network import LOSSES, Network, loss_functions

SMOOTH = sorted(name for name, a in ACTIVATIONS.items() if a.smooth)


@pytest.mark.parametrize("name", SMOOTH)
def test_network_takes_sigma_from_the_shared_table(name):
    net = Network((2, 3, 1), name)
    assert net.sigma is activation(name)
    z = np.linspace(-3, 3, 41)
    eps = 1e-5
    s, ds, dds = net.sigma.f, net.sigma.d1, net.sigma.d2
    assert np.allclose(ds(z), (s(z + eps) - s(z - eps)) / (2 * eps), atol=1e-8)
    assert np.allclose(dds(z), (ds(z + eps) - ds(z - eps)) / (2 * eps), atol=1e-8)


def test_sigmoid_network_is_finite_for_large_negative_preactivations():
    net = Network((1, 2, 1), "sigmoid")
    th = net.pack([np.full((2, 1), 1000.0), np.ones((1, 2))], [np.zeros(2), np.zeros(1)])
    assert np.all(np.isfinite(net.grad(th, np.array([-1.0]), np.array([0.0]))))


@pytest.mark.parametrize("name", sorted(LOSSES))
def test_loss_derivatives_match_finite_differences(name):
    ell, dZ, dZZ, dY = loss_functions(name)
    assert loss_functions(name).name == name
    rng = np.random.default_rng(1)
    Z, Y = rng.normal(size=20), rng.uniform(size=20)
    eps = 1e-6
    assert np.allclose(dZ(Z, Y), (ell(Z + eps, Y) - ell(Z - eps, Y)) / (2 * eps), atol=1e-7)
    assert np.allclose(dZZ(Z, Y), (dZ(Z + eps, Y) - dZ(Z - eps, Y)) / (2 * eps), atol=1e-7)
    assert np.allclose(dY(Z, Y), (ell(Z, Y + eps) - ell(Z, Y - eps)) / (2 * eps), atol=1e-7)


def test_forward_matches_recursion_eq1():
    net = Network((3, 4, 2), "tanh", "mse")
    rng = np.random.default_rng(0)
    th = net.init_params(rng)
    (W0, W1), (b0, b1) = net.unpack(th)
    X = rng.normal(size=3)
    z, h = net.forward(th, X)
    assert np.allclose(z[1], W0 @ X + b0)
    assert np.allclose(z[2], W1 @ np.tanh(z[1]) + b1)
    assert np.allclose(h[2], z[2])  # identity output (footnote 3)
    assert np.allclose(net.pack(*net.unpack(th)), th)


@pytest.mark.parametrize("act", SMOOTH)
@pytest.mark.parametrize("loss", sorted(LOSSES))
def test_gradient_matches_finite_differences(act, loss):
    net = Network((3, 5, 4, 2), act, loss)
    rng = np.random.default_rng(2)
    th = net.init_params(rng)
    X, Y = rng.normal(size=3), rng.uniform(size=2)
    g = net.grad(th, X, Y)
    eps = 1e-6
    E = np.eye(net.n_params)
    fd = np.array([(net.loss_value(th + eps * e, X, Y) - net.loss_value(th - eps * e, X, Y)) / (2 * eps) for e in E])
    assert np.max(np.abs(g - fd)) < 1e-7 * max(1.0, np.max(np.abs(fd)))


def test_batched_gradients():
    net = Network((3, 5, 2), "sigmoid", "mse")
    rng = np.random.default_rng(3)
    th = net.init_params(rng)
    X, Y = rng.normal(size=(6, 3)), rng.normal(size=(6, 2))
    per = np.array([net.grad(th, X[k], Y[k]) for k in range(6)])
    assert np.allclose(net.grad(th, X, Y), per.mean(axis=0))
    # one parameter vector per time step
    ths = th + 0.1 * rng.normal(size=(6, net.n_params))
    per_t = np.array([net.grad(ths[k], X[k], Y[k]) for k in range(6)])
    assert np.allclose(net.grad(ths, X, Y), per_t)


def test_bad_input_raises_clear_errors():
    with pytest.raises(ValueError, match="Dirac delta"):
        Network((2, 3, 1), "relu")
    with pytest.raises(ValueError, match="activation must be one of"):
        Network((2, 3, 1), "gauss")
    with pytest.raises(ValueError, match="loss must be one of"):
        Network((2, 3, 1), "tanh", "hinge")
    with pytest.raises(ValueError, match="at least 3 layers"):
        Network((2, 1))
    with pytest.raises(ValueError, match=">= 1"):
        Network((2, 0, 1))
    net = Network((2, 3, 1))
    th = net.init_params(0)
    single = net.loss_value(th, np.zeros(2), np.zeros(1))
    assert abs(net.mean_loss(th, np.zeros((4, 2)), np.zeros((4, 1))) - single) < 1e-15
    with pytest.raises(ValueError, match="finite"):
        net.grad(np.full_like(th, np.nan), np.zeros(2), np.zeros(1))
    with pytest.raises(ValueError, match="N_0 = 2"):
        net.grad(th, np.zeros(3), np.zeros(1))
    with pytest.raises(ValueError, match="N_M = 1"):
        net.grad(th, np.zeros(2), np.zeros(2))
    with pytest.raises(ValueError, match="last axis of length"):
        net.grad(th[:-1], np.zeros(2), np.zeros(1))
