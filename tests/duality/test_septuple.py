"""Tests for bbdlib.duality.septuple (sections 2–3 of [B])."""
import numpy as np
import pytest

from bbdlib.duality import septuple as nw


@pytest.fixture
def setup():
    arch = nw.feed_forward([3, 4, 4, 2])
    rng = np.random.default_rng(0)
    q = nw.random_parameters(arch, rng, 0.8)
    x = rng.normal(size=(7, 3))
    t = rng.normal(size=(7, 2))
    return arch, rng, q, x, t


def test_feed_forward_tensors_one_variable_per_entry(setup):
    arch, *_ = setup
    assert arch.K == 3 * 4 + 4 * 4 + 4 * 2 + 4 + 4 + 2
    # each trainable variable touches exactly one weight or bias
    assert np.all(arch.W.reshape(arch.K, -1).sum(1) + arch.B.sum(1) == 1)


def test_activation_dynamics_reproduces_feed_forward(setup):
    arch, rng, q, x, _ = setup
    traj = nw.activation_dynamics(x, q, arch)
    ref = nw.feed_forward_reference(x, q, arch)
    for ell, layer in enumerate(arch.layers):
        np.testing.assert_allclose(traj[ell][:, list(layer)], ref[ell], atol=1e-14)
    # independent of the initial bulk state after L steps
    traj2 = nw.activation_dynamics(x, q, arch, bulk0=rng.normal(size=(7, arch.N - 3)))
    np.testing.assert_allclose(traj2[-1][:, arch.output], ref[-1], atol=1e-14)


def test_nilpotency_index_is_L_plus_1(setup):
    arch, _, q, *_ = setup
    w, _ = nw.weights_and_biases(q, arch)
    assert nw.nilpotency_index(w) == arch.n_steps + 1
    assert nw.nilpotency_index(np.eye(3)) is None


def test_gradient_against_finite_differences(setup):
    arch, _, q, x, t = setup
    for act in nw.ACTIVATIONS:
        lm = nw.learning_map(x, q, t, arch, activation=act, lam=0.3, gamma=1.0)
        fd = nw.finite_difference_gradient(x, q, t, arch, activation=act, lam=0.3)
        np.testing.assert_allclose(-lm["qdot"], fd, rtol=1e-6, atol=1e-7)


def test_eq_36_form_equals_backprop(setup):
    arch, _, q, x, t = setup
    lm = nw.learning_map(x, q, t, arch, lam=0.2, gamma=0.5)
    np.testing.assert_allclose(nw.learning_map_36(x, q, t, arch, lam=0.2, gamma=0.5), lm["qdot"], atol=1e-13)


def test_output_jacobian_against_finite_differences(setup):
    arch, _, q, x, _ = setup
    J = nw.output_jacobian(x, q, arch)
    h = 1e-6
    for l in (0, 5, arch.K - 1):
        e = np.zeros(arch.K)
        e[l] = h
        fp = nw.activation_dynamics(x, q + e, arch)[-1][:, arch.output]
        fm = nw.activation_dynamics(x, q - e, arch)[-1][:, arch.output]
        np.testing.assert_allclose(J[:, :, l], (fp - fm) / (2 * h), atol=1e-8)


def test_eq_33_is_the_output_layer_gradient(setup):
    arch, _, q, x, t = setup
    lm = nw.learning_map(x, q, t, arch, gamma=0.7)
    bd, wd = nw.last_layer_updates_33(x, q, t, arch, gamma=0.7)
    o = arch.output
    np.testing.assert_allclose(bd[:, o], lm["bdot"][:, o], atol=1e-14)
    np.testing.assert_allclose(wd[:, o], lm["wdot"][:, o], atol=1e-14)


def test_conv1d_weight_sharing():
    arch = nw.conv1d(6, 3)
    q = np.array([1.0, 2.0, 3.0, 0.5])
    w, b = nw.weights_and_biases(q, arch)
    x = np.arange(6.0)[None, :]
    out = nw.activation_dynamics(x, q, arch, activation="identity")[-1][:, arch.output]
    np.testing.assert_allclose(out[0], np.convolve(x[0], q[2::-1], mode="valid") + 0.5)
    np.testing.assert_allclose(b[arch.output], 0.5)
    # gradient of a shared weight is the sum over its uses
    t = np.zeros((1, 4))
    lm = nw.learning_map(x, q, t, arch, activation="identity")
    fd = nw.finite_difference_gradient(x, q, t, arch, activation="identity")
    np.testing.assert_allclose(-lm["qdot"], fd, rtol=1e-6)


def test_pushforward_density_of_linear_map_is_gaussian():
    qs = np.linspace(-2, 4, 7)
    d = nw.pushforward_density(lambda x: 2 * x + 1, qs, mean=0.0, std=1.0)
    exact = np.exp(-0.5 * ((qs - 1) / 2) ** 2) / (2 * np.sqrt(2 * np.pi))
    np.testing.assert_allclose(d, exact, rtol=1e-6)
    # two branches: q = x² has density of chi-square(1)
    d2 = nw.pushforward_density(lambda x: x**2, np.array([0.5, 2.0]), mean=0.0, std=1.0)
    chi = np.exp(-np.array([0.5, 2.0]) / 2) / np.sqrt(2 * np.pi * np.array([0.5, 2.0]))
    np.testing.assert_allclose(d2, chi, rtol=1e-4)


def test_bad_input_raises(setup):
    arch, _, q, x, t = setup
    with pytest.raises(ValueError, match="layer_sizes"):
        nw.feed_forward([3])
    with pytest.raises(ValueError, match="layer_sizes"):
        nw.feed_forward([3, 0])
    with pytest.raises(ValueError, match="q"):
        nw.weights_and_biases(q[:-1], arch)
    with pytest.raises(ValueError, match="x_in"):
        nw.activation_dynamics(x[:, :2], q, arch)
    with pytest.raises(ValueError, match="activation"):
        nw.activation_dynamics(x, q, arch, activation="relu6")
    with pytest.raises(ValueError, match="target"):
        nw.learning_map(x, q, t[:, :1].repeat(3, 1), arch)
    with pytest.raises(ValueError, match="gamma"):
        nw.learning_map(x, q, t, arch, gamma=0.0)
    with pytest.raises(TypeError, match="arch"):
        nw.learning_map(x, q, t, "net")
    with pytest.raises(ValueError, match="kernel_size"):
        nw.conv1d(3, 4)
    with pytest.raises(ValueError, match="q"):
        nw.activation_dynamics(x, np.full(arch.K, np.nan), arch)
    with pytest.raises(ValueError, match="w must be square"):
        nw.nilpotency_index(np.zeros((2, 3)))


def test_rotated_learning_map_metric(setup):
    arch, rng, q, x, t = setup
    K = arch.K
    Lam = np.eye(K) + 0.3 * rng.normal(size=(K, K))
    R = np.eye(K)[:2]
    r = nw.rotated_learning_map(x, q, t, arch, Lam, R, gamma=0.1)
    np.testing.assert_allclose(r["form_41"], r["qdot_p"], atol=1e-7 * np.abs(r["qdot_p"]).max())
    assert np.abs(r["naive"] - r["qdot_p"]).max() > 1e-3
    with pytest.raises(ValueError, match="Lam"):
        nw.rotated_learning_map(x, q, t, arch, np.zeros((K, K)), R)


def test_duality_jacobian_terms_sum_to_exact():
    arch = nw.feed_forward([2, 3, 1])
    rng = np.random.default_rng(5)
    q = nw.random_parameters(arch, rng)
    x = rng.normal(size=(20, 2))
    K = arch.K
    d = nw.duality_jacobian_terms(x, q, np.ones(1), arch, np.eye(K), np.eye(K)[:2], gamma=0.2)
    sc = np.abs(d["exact"]).max()
    np.testing.assert_allclose((d["term1"] + d["term2_total"]) / sc, d["exact"] / sc, atol=1e-7)
    np.testing.assert_allclose(-0.2 * d["M"], d["term1"] + d["term2_total"], atol=1e-14)


def test_block_diagonal_steps_depend_on_own_input():
    blk = nw.block_diagonal(2)
    q = np.array([1.0, 0.5, -0.7, 0.2])
    x = np.array([[0.3, -1.0], [0.3, 2.0]])
    s = nw.learning_map(x, q, np.zeros(2), blk, activation="sigmoid")["qdot"]
    np.testing.assert_allclose(s[0, :2], s[1, :2])          # block 1 ignores input 2


def test_pushforward_bin_probabilities_matches_gaussian_cdf():
    from scipy import stats
    edges = np.linspace(-3, 5, 17)
    p = nw.pushforward_bin_probabilities(lambda x: 2 * x + 1, edges, mean=0.0, std=1.0)
    exact = np.diff(stats.norm.cdf((edges - 1) / 2))
    np.testing.assert_allclose(p, exact, atol=1e-6)
    with pytest.raises(ValueError, match="edges"):
        nw.pushforward_bin_probabilities(lambda x: x, [1.0, 0.0], mean=0.0, std=1.0)
