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
    for act in ("tanh", "sigmoid", "identity", "softplus"):
        lm = nw.learning_map(x, q, t, arch, activation=act, lam=0.3, gamma=1.0)
        fd = nw.finite_difference_gradient(x, q, t, arch, activation=act, lam=0.3)
        np.testing.assert_allclose(-lm.qdot, fd, rtol=1e-6, atol=1e-7)


def test_eq_36_form_equals_backprop(setup):
    arch, _, q, x, t = setup
    lm = nw.learning_map(x, q, t, arch, lam=0.2, gamma=0.5)
    np.testing.assert_allclose(nw.learning_map_eq36(x, q, t, arch, lam=0.2, gamma=0.5), lm.qdot, atol=1e-13)


def test_output_jacobian_against_finite_differences(setup):
    arch, _, q, x, _ = setup
    J = nw.output_jacobian(x, q, arch)
    h = 1e-6
    for var in (0, 5, arch.K - 1):
        e = np.zeros(arch.K)
        e[var] = h
        fp = nw.activation_dynamics(x, q + e, arch)[-1][:, arch.output]
        fm = nw.activation_dynamics(x, q - e, arch)[-1][:, arch.output]
        np.testing.assert_allclose(J[:, :, var], (fp - fm) / (2 * h), atol=1e-8)


def test_eq_33_is_the_output_layer_gradient(setup):
    arch, _, q, x, t = setup
    lm = nw.learning_map(x, q, t, arch, gamma=0.7)
    bd, wd = nw.last_layer_updates_eq33(x, q, t, arch, gamma=0.7)
    o = arch.output
    np.testing.assert_allclose(bd[:, o], lm.bdot[:, o], atol=1e-14)
    np.testing.assert_allclose(wd[:, o], lm.wdot[:, o], atol=1e-14)


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
    np.testing.assert_allclose(-lm.qdot, fd, rtol=1e-6)


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
    np.testing.assert_allclose(r.eq41, r.qdot_p, atol=1e-7 * np.abs(r.qdot_p).max())
    assert np.abs(r.naive - r.qdot_p).max() > 1e-3
    with pytest.raises(ValueError, match="Lam"):
        nw.rotated_learning_map(x, q, t, arch, np.zeros((K, K)), R)


def test_duality_jacobian_terms_sum_to_exact():
    arch = nw.feed_forward([2, 3, 1])
    rng = np.random.default_rng(5)
    q = nw.random_parameters(arch, rng)
    x = rng.normal(size=(20, 2))
    K = arch.K
    d = nw.duality_jacobian_terms(x, q, np.ones(1), arch, np.eye(K), np.eye(K)[:2], gamma=0.2)
    sc = np.abs(d.exact).max()
    np.testing.assert_allclose((d.term1 + d.term2_total) / sc, d.exact / sc, atol=1e-7)
    np.testing.assert_allclose(-0.2 * d.M, d.term1 + d.term2_total, atol=1e-14)


def test_block_diagonal_steps_depend_on_own_input():
    blk = nw.block_diagonal(2)
    q = np.array([1.0, 0.5, -0.7, 0.2])
    x = np.array([[0.3, -1.0], [0.3, 2.0]])
    s = nw.learning_map(x, q, np.zeros(2), blk, activation="sigmoid").qdot
    np.testing.assert_allclose(s[0, :2], s[1, :2])          # block 1 ignores input 2


def test_activations_come_from_the_book_table(setup):
    """The septuple's σ is bbdlib.activations' (one sigmoid): (2.2) with it, by hand."""
    from bbdlib.activations import sigmoid
    arch, _, q, x, _ = setup
    w, b = nw.weights_and_biases(q, arch)
    traj = nw.activation_dynamics(x, q, arch, activation="sigmoid", n_steps=1)
    bulk = ~arch.boundary
    x0 = np.zeros((x.shape[0], arch.N))
    x0[:, arch.boundary] = x
    np.testing.assert_array_equal(traj[1][:, bulk], sigmoid(x0 @ w.T + b)[:, bulk])


def test_step_jacobian_against_learning_map(setup):
    arch, _, q, x, t = setup
    J = nw.step_jacobian(x[:4], q, t[:4], arch, gamma=0.5, lam=0.1)
    assert J.shape == (4, arch.K, x.shape[1])
    e = np.zeros(x.shape[1])
    e[1] = 1e-6
    fd = (nw.learning_map(x[:4] + e, q, t[:4], arch, gamma=0.5, lam=0.1).qdot
          - nw.learning_map(x[:4] - e, q, t[:4], arch, gamma=0.5, lam=0.1).qdot) / 2e-6
    np.testing.assert_allclose(J[:, :, 1], fd, rtol=1e-5, atol=1e-8)
    with pytest.raises(ValueError, match="h"):
        nw.step_jacobian(x, q, t, arch, h=0.0)


def test_projected_learning_map():
    arch = nw.feed_forward([1, 3, 1])
    q = nw.random_parameters(arch, 2)
    u = np.eye(arch.K)[0]
    f = nw.projected_learning_map(q, np.ones(1), arch, u, gamma=0.3)
    x = np.array([-0.5, 0.0, 1.2])
    np.testing.assert_array_equal(f(x), nw.learning_map(x[:, None], q, np.ones(1), arch, gamma=0.3).qdot[:, 0])
    with pytest.raises(ValueError, match="one boundary neuron"):
        nw.projected_learning_map(q, np.ones(1), nw.feed_forward([2, 1]), u)
    with pytest.raises(ValueError, match="direction"):
        nw.projected_learning_map(q, np.ones(1), arch, u[:-1])


def test_result_records_are_frozen(setup):
    import dataclasses
    arch, _, q, x, t = setup
    lm = nw.learning_map(x, q, t, arch)
    assert isinstance(lm, nw.LearningStep)
    with pytest.raises(dataclasses.FrozenInstanceError):
        lm.qdot = None
