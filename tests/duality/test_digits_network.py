"""Tests of bbdlib.duality.digits_network: the many-dimensional jump study on the digits."""
from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.special import expit

from bbdlib.duality import digits_network as dn
from bbdlib.duality.real_data import kernel_density
from bbdlib.powerlaw import sample_truncated_powerlaw


@pytest.fixture(scope="module")
def small():
    rng = np.random.default_rng(0)
    X = rng.uniform(0, 1, (40, 6))
    labels = rng.integers(0, 10, 40)
    params = dn.init_parameters(6, 5, 10, rng=1)
    params = dn.Parameters(params.W1, rng.normal(0, 0.3, 5), params.W2, rng.normal(0, 0.3, 10))
    return X, labels, params


@pytest.mark.parametrize("activation", ["relu", "tanh", "sigmoid"])
def test_per_sample_jumps_are_minus_gamma_gradients(small, activation):
    X, labels, p = small
    gamma = 0.3
    J = dn.per_sample_jumps(p, X, labels, gamma=gamma, activation=activation)
    i = 7
    h = 1e-6
    for g in dn.GROUPS:
        arr = p.group(g)
        for flat_idx in (0, arr.size // 2, arr.size - 1):
            idx = np.unravel_index(flat_idx, arr.shape)
            vals = []
            for sgn in (1, -1):
                mod = {k: p.group(k).copy() for k in dn.GROUPS}
                mod[g][idx] += sgn * h
                vals.append(dn.loss(dn.Parameters(**mod), X[i:i + 1], labels[i:i + 1], activation=activation))
            fd = (vals[0] - vals[1]) / (2 * h)
            assert J[g][(i, *idx)] == pytest.approx(-gamma * fd, rel=1e-5, abs=1e-9)


def test_mean_jump_is_the_batch_gradient(small):
    X, labels, p = small
    J = dn.per_sample_jumps(p, X, labels, gamma=1.0)
    h = 1e-6
    mod = {k: p.group(k).copy() for k in dn.GROUPS}
    mod["b2"][3] += h
    up = dn.loss(dn.Parameters(**mod), X, labels)
    mod["b2"][3] -= 2 * h
    down = dn.loss(dn.Parameters(**mod), X, labels)
    assert J["b2"][:, 3].mean() == pytest.approx(-(up - down) / (2 * h), rel=1e-6)


def test_margins_give_the_softmax(small):
    X, labels, p = small
    U = dn.output_margins(p, X)
    _, _, _, S = dn.forward(p, X)
    assert np.allclose(expit(U), S, rtol=1e-12, atol=1e-15)


def test_output_bias_map_is_the_toy_model(small):
    X, labels, p = small
    gamma = 0.2
    U = dn.output_margins(p, X)
    _, _, _, S = dn.forward(p, X)
    for k in (0, labels[0]):
        is_k = labels == k
        if is_k.sum() < 2 or (~is_k).sum() < 2:
            continue
        maps = dn.output_bias_map(U[:, k], is_k, gamma=gamma)
        J = dn.per_sample_jumps(p, X, labels, gamma=gamma)["b2"][:, k]
        assert np.allclose(maps["-"].qdot(U[~is_k, k]), J[~is_k])
        assert np.allclose(maps["+"].qdot(U[is_k, k]), J[is_k])


@pytest.mark.parametrize("cls", ["-", "+"])
def test_pushforward_cdf_matches_a_large_sample(cls):
    rng = np.random.default_rng(3)
    u = rng.normal(-4.0 if cls == "-" else 4.0, 1.5, 3000)
    kde = kernel_density(u)
    gamma = 0.5
    q = gamma * (expit(u) if cls == "-" else expit(-u))
    ks = dn.ks_to_prediction(q, lambda v: dn.pushforward_cdf(kde, v, gamma=gamma, cls=cls))
    assert ks < 1.36 / math.sqrt(u.size)
    f = dn.pushforward_cdf(kde, np.geomspace(1e-6, 0.49, 50), gamma=gamma, cls=cls)
    assert np.all(np.diff(f) >= 0) and f[0] >= 0 and f[-1] <= 1


def test_ks_to_prediction_known_cases():
    x = np.linspace(0.0005, 0.9995, 1000)
    assert dn.ks_to_prediction(x, lambda v: v) == pytest.approx(0.0005, abs=1e-9)
    assert dn.ks_to_prediction(x, lambda v: np.clip(v - 0.2, 0, 1)) == pytest.approx(0.2, abs=1e-3)


def test_small_jump_window():
    x = np.r_[np.zeros(100), np.arange(1, 1001, dtype=float)]
    lo, hi = dn.small_jump_window(x)
    assert lo == 100.0 and hi == pytest.approx(np.quantile(np.arange(1, 1001), 0.2))
    assert dn.small_jump_window(np.arange(1, 400, dtype=float)) is None
    with pytest.raises(ValueError, match="quantile"):
        dn.small_jump_window(x, quantile=1.0)


def test_small_jump_fits_recover_a_known_exponent():
    rng = np.random.default_rng(4)
    # two "variables": a k = 1 law over 3 decades near zero (below the 20 % quantile), then a bulk
    cols = []
    for _ in range(2):
        tail = sample_truncated_powerlaw(1.0, 1e-4, 1e-1, 1000, rng=rng)
        bulk = rng.uniform(0.1, 1.0, 4000)
        cols.append(np.r_[tail, bulk])
    J = np.array(cols).T
    fits = dn.small_jump_fits(J, "b1", rng=5)
    for f in fits:
        assert f.power_law
        assert f.measurement.k == pytest.approx(1.0, abs=0.15)


def test_dead_units_and_zero_jumps():
    X = np.random.default_rng(6).uniform(0, 1, (30, 4))
    p = dn.init_parameters(4, 3, 10, rng=0)
    b1 = np.array([-100.0, 0.0, 0.0])
    p = dn.Parameters(p.W1, b1, p.W2, p.b2)
    dead = dn.dead_units(p, X)
    assert dead[0] and not dead.all()
    J = dn.per_sample_jumps(p, X, np.zeros(30, int), gamma=0.1)
    assert np.all(J["b1"][:, 0] == 0) and np.all(J["W2"][:, :, 0] == 0)


def test_training_reduces_the_loss_and_is_deterministic():
    X, labels = dn.load_digits_scaled()
    X, labels = X[:300], labels[:300]
    a = dn.train_network(X, labels, hidden=8, steps=400, rng=0, gamma=0.1)
    b = dn.train_network(X, labels, hidden=8, steps=400, rng=0, gamma=0.1)
    assert a.loss_curve[-1] < a.loss_curve[0]
    assert np.array_equal(a.params.flat(), b.params.flat())
    assert a.params.size == 64 * 8 + 8 + 8 * 10 + 10


def test_bad_input():
    X, labels = np.zeros((5, 3)), np.array([0, 1, 2, 3, 10])
    with pytest.raises(ValueError, match="labels"):
        dn.train_network(X, labels, rng=0)
    with pytest.raises(ValueError, match="gamma"):
        dn.train_network(X, labels[:4].tolist() and np.array([0, 1, 2, 3, 4]), gamma=0.0, rng=0)
    with pytest.raises(ValueError, match="activation"):
        dn.train_network(X, np.arange(5), activation="softsign", rng=0)
    with pytest.raises(ValueError, match="group"):
        dn.small_jump_fits(np.zeros((3, 2)), "W3", rng=0)
    with pytest.raises(ValueError, match="lam"):
        dn.train_network(X, np.arange(5), lam=-1.0, rng=0)
