"""Tests for bbdlib.bulk_boundary.network: activations, losses, forward pass, analytic gradients, bad input."""
import numpy as np
import pytest

from bbdlib.bulk_boundary.network import ACTIVATIONS, LOSSES, Network, activation, loss_functions


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_activation_derivatives_match_finite_differences(name):
    s, ds, dds = activation(name)
    z = np.linspace(-3, 3, 41)
    eps = 1e-5
    assert np.allclose(ds(z), (s(z + eps) - s(z - eps)) / (2 * eps), atol=1e-8)
    assert np.allclose(dds(z), (ds(z + eps) - ds(z - eps)) / (2 * eps), atol=1e-8)


@pytest.mark.parametrize("name", sorted(LOSSES))
def test_loss_derivatives_match_finite_differences(name):
    l, dZ, dZZ, dY = loss_functions(name)
    rng = np.random.default_rng(1)
    Z, Y = rng.normal(size=20), rng.uniform(size=20)
    eps = 1e-6
    assert np.allclose(dZ(Z, Y), (l(Z + eps, Y) - l(Z - eps, Y)) / (2 * eps), atol=1e-7)
    assert np.allclose(dZZ(Z, Y), (dZ(Z + eps, Y) - dZ(Z - eps, Y)) / (2 * eps), atol=1e-7)
    assert np.allclose(dY(Z, Y), (l(Z, Y + eps) - l(Z, Y - eps)) / (2 * eps), atol=1e-7)


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


@pytest.mark.parametrize("act", sorted(ACTIVATIONS))
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
    with pytest.raises(ValueError, match="not C²"):
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
    with pytest.raises(ValueError, match="finite"):
        net.grad(np.full_like(th, np.nan), np.zeros(2), np.zeros(1))
    with pytest.raises(ValueError, match="N_0 = 2"):
        net.grad(th, np.zeros(3), np.zeros(1))
    with pytest.raises(ValueError, match="N_M = 1"):
        net.grad(th, np.zeros(2), np.zeros(2))
    with pytest.raises(ValueError, match="last axis of length"):
        net.grad(th[:-1], np.zeros(2), np.zeros(1))
