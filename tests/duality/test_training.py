"""Tests of SGD to learning equilibrium in the toy model (eq. (2.3) of [B]): bbdlib.duality.training."""
import numpy as np
import pytest
from scipy.stats import ks_2samp

from bbdlib.duality.jumps import JumpMap
from bbdlib.duality.toy_model import Composition, TwoClassData, rotation_angle
from bbdlib.duality.training import EquilibriumJumps, accuracy, active_fraction, equilibrium_jumps, train_sgd


def test_training_reaches_the_population_minimum():
    """Sigmoid + cross-entropy is well specified for two equal-variance Gaussians: the
    population minimiser is the Bayes log-odds, w = 1/0.25² = 16, b = -8."""
    comp = Composition("sigmoid", "cross_entropy")
    r = train_sgd(comp, gamma=1.0, steps=40_000, replicas=16, batch=16, rng=4)
    assert r.w_mean == pytest.approx(16.0, abs=1.0)
    assert r.b_mean == pytest.approx(-8.0, abs=0.5)
    assert abs(r.drift_w) < 4 * r.drift_se_w + 0.1
    acc = accuracy(comp, r.w_mean, r.b_mean, n=200_000, rng=5)
    assert acc == pytest.approx(0.9772, abs=0.002)  # Bayes accuracy Φ(2)


def test_training_uses_the_data_set():
    """With the classes centred at ∓1/2 the Bayes log-odds is 16 x¹: SGD finds (w, b) = (16, 0)
    instead of (16, -8), and the accuracy is measured on the same data set."""
    data = TwoClassData(mean_minus=-0.5, mean_plus=0.5)
    comp = Composition("sigmoid", "cross_entropy")
    r = train_sgd(comp, gamma=1.0, steps=40_000, replicas=16, batch=16, rng=4, data=data)
    assert r.w_mean == pytest.approx(16.0, abs=1.0)
    assert r.b_mean == pytest.approx(0.0, abs=0.5)
    assert accuracy(comp, r.w_mean, r.b_mean, n=200_000, rng=5, data=data) == pytest.approx(0.9772, abs=0.002)


def test_active_fraction_dead_and_alive():
    comp = Composition("piecewise_linear", "cross_entropy")
    fr = active_fraction(comp, [0.8, 0.5], [0.1, -8.0], n=10_000, rng=0)
    assert 0.6 < fr[0] < 0.8 and fr[1] == 0.0


def test_equilibrium_jumps_match_potential_jumps_when_parameters_barely_move():
    """With a tiny γ the parameters stay at (w0, b0), and the recorded SGD changes of q′
    have the distribution of the potential jumps (two-sample KS)."""
    comp = Composition("relu", "power", 4)
    th = {c: rotation_angle("class_mean", c) for c in "-+"}
    run = equilibrium_jumps(comp, 0.82, 0.08, gamma=1e-6, steps=2000, thetas=th, replicas=50,
                            burn_in=0, rng=8)
    assert isinstance(run, EquilibriumJumps)
    assert run.w_avg == pytest.approx(0.82, abs=1e-6) and run.b_avg == pytest.approx(0.08, abs=1e-6)
    for cls in "-+":
        act = run.abs_nonzero(cls)
        pot = JumpMap(comp, 0.82, 0.08, cls, 1e-6, th[cls]).sample(100_000, rng=9).abs_qdot
        assert ks_2samp(act, pot).pvalue > 1e-3
    assert run.changes["-"].size + run.changes["+"].size == 2000 * 50
    with pytest.raises(ValueError, match="both classes"):
        equilibrium_jumps(comp, 0.8, 0.1, gamma=0.1, steps=10, thetas={"-": 1.0}, rng=0)


def test_bad_input():
    comp = Composition("sigmoid", "mse")
    with pytest.raises(ValueError, match="gamma must be > 0"):
        train_sgd(comp, gamma=-1.0, steps=100, rng=0)
    with pytest.raises(ValueError, match="steps must be >= 8"):
        train_sgd(comp, gamma=1.0, steps=0, rng=0)
    with pytest.raises(TypeError, match="comp must be a Composition"):
        train_sgd("sigmoid", gamma=1.0, steps=100, rng=0)
    with pytest.raises(TypeError, match="data must be a TwoClassData"):
        accuracy(comp, 1.0, 0.0, data=None)
    with pytest.raises(TypeError, match="comp must be a Composition"):
        active_fraction(None, 1.0, 0.0)


# -- Fig. 5: gradient-norm clipping and the two readings of (7.16) ---------------------------

def test_clipping_keeps_the_piecewise_linear_network_alive():
    """Plain SGD with the piece-wise linear f and cross-entropy kills replicas (unbounded
    per-sample gradient 1/y near y = 0); per-sample clipping at 10 keeps every replica alive."""
    comp = Composition("piecewise_linear", "cross_entropy")
    kw = dict(gamma=0.1, steps=4000, replicas=16, batch=16, rng=np.random.default_rng([0, 5]))
    clipped = train_sgd(comp, clip_norm=10.0, **kw)
    assert clipped.clip_norm == 10.0 and 0 < clipped.clipped_fraction < 0.05
    assert np.all(active_fraction(comp, clipped.w, clipped.b) > 0.02)   # every replica alive
    plain = train_sgd(comp, **{**kw, "rng": np.random.default_rng([0, 5])})
    assert np.sum(active_fraction(comp, plain.w_last, plain.b_last) == 0) > 0   # some die


def test_clip_norm_bad_input():
    comp = Composition("piecewise_linear", "cross_entropy")
    for bad in (0.0, -1.0, float("nan")):
        with pytest.raises(ValueError, match="clip_norm"):
            train_sgd(comp, gamma=0.1, steps=8, replicas=2, rng=0, clip_norm=bad)


def test_readings_of_eq716_differ_only_above_one():
    from bbdlib.duality.training import predict_plus
    comp = Composition("piecewise_linear", "cross_entropy")
    y = np.array([-1.0, 0.2, 0.7, 1.5])
    np.testing.assert_array_equal(predict_plus(comp, y, reading="literal"), [False, False, True, False])
    np.testing.assert_array_equal(predict_plus(comp, y, reading="hard_sigmoid"), [False, False, True, True])
    # other activations ignore the reading
    relu = Composition("relu", "mse")
    np.testing.assert_array_equal(predict_plus(relu, y, reading="hard_sigmoid"), predict_plus(relu, y))
    with pytest.raises(ValueError, match="reading"):
        predict_plus(comp, y, reading="sigmoid")
    with pytest.raises(ValueError, match="reading"):
        accuracy(comp, 1.0, 0.0, n=10, reading="clip")


# -- round 3: bounded memory and ValueErrors in equilibrium_jumps, stationarity, curvature ------

def test_equilibrium_jumps_bounds_its_record_and_names_the_parameter():
    from bbdlib.duality.training import MAX_RECORDED
    comp = Composition("relu", "mse")
    th = {c: rotation_angle("class_mean", c) for c in "-+"}
    with pytest.raises(ValueError, match="steps must be <="):
        equilibrium_jumps(comp, 0.8, 0.1, gamma=0.1, steps=MAX_RECORDED // 32 + 1, thetas=th, replicas=32, rng=0)
    with pytest.raises(ValueError, match="replicas must be <="):
        equilibrium_jumps(comp, 0.8, 0.1, gamma=0.1, steps=2, thetas=th, replicas=MAX_RECORDED, rng=0)
    with pytest.raises(ValueError, match="burn_in"):
        equilibrium_jumps(comp, 0.8, 0.1, gamma=0.1, steps=2, thetas=th, burn_in=-1, rng=0)
    with pytest.raises(TypeError, match="thetas"):
        equilibrium_jumps(comp, 0.8, 0.1, gamma=0.1, steps=2, thetas=[0.0, 1.0], rng=0)


def test_equilibrium_jumps_divergence_is_a_value_error_naming_gamma():
    """A learning rate at the edge of the floating-point range overflows the parameters (two
    steps of ~1e308 in one direction): a ValueError naming gamma (not a FloatingPointError,
    not a silent inf)."""
    comp = Composition("sigmoid", "cross_entropy")
    th = {c: rotation_angle("class_mean", c) for c in "-+"}
    with np.errstate(over="ignore", invalid="ignore"):
        with pytest.raises(ValueError, match="gamma = 1e.308 is too large"):
            equilibrium_jumps(comp, 0.8, 0.1, gamma=1e308, steps=600, thetas=th, replicas=4, burn_in=0, rng=0)


def test_equilibrium_jumps_chunks_are_seamless_and_drift_is_measured():
    """Over several 256-step chunks: the record has every step, classes split it, the time
    average equals the mean of the recorded parameters, and a run at tiny γ is stationary
    (drift per 10⁴ steps ≪ fluctuation) while a run started far from equilibrium is not."""
    comp = Composition("sigmoid", "cross_entropy")
    th = {c: rotation_angle("class_mean", c) for c in "-+"}
    run = equilibrium_jumps(comp, 16.0, -8.0, gamma=1.0, steps=1000, thetas=th, replicas=8, burn_in=300, rng=3)
    assert run.changes["-"].size + run.changes["+"].size == 1000 * 8 and run.steps == 1000
    assert np.isfinite([run.drift_w, run.drift_b, run.fluct_w, run.fluct_b]).all()
    far = equilibrium_jumps(comp, 1.0, 0.0, gamma=1.0, steps=1000, thetas=th, replicas=8, burn_in=0, rng=3)
    assert not far.stationary() and far.drift_w > 0      # w grows towards ~16
    # the same seed gives the same run (the chapter reuses the comparison's run)
    again = equilibrium_jumps(comp, 16.0, -8.0, gamma=1.0, steps=1000, thetas=th, replicas=8, burn_in=300, rng=3)
    np.testing.assert_array_equal(run.changes["+"], again.changes["+"])
    assert run.drift_w == again.drift_w


def test_equilibrium_jumps_drift_of_a_known_trend():
    """γ → 0 with a constant-gradient composition is impossible here, so check the arithmetic of
    the drift on a run whose parameters barely move: drift per 10⁴ steps ≈ 0 against a
    fluctuation ≈ 0, both finite, and w_avg = the starting value."""
    comp = Composition("relu", "power", 4)
    th = {c: rotation_angle("class_mean", c) for c in "-+"}
    run = equilibrium_jumps(comp, 0.82, 0.08, gamma=1e-6, steps=600, thetas=th, replicas=4, burn_in=0, rng=1)
    assert abs(run.drift_w) < 1e-3 and abs(run.drift_b) < 1e-3
    assert run.w_avg == pytest.approx(0.82, abs=1e-6)


def test_population_hessian_matches_finite_differences_of_the_population_loss():
    """Hessian of ⟨H⟩ in (w, b) against central differences of the sample mean of H on the same
    inputs (common random numbers), for the sigmoid + MSE composition."""
    from bbdlib.duality.training import population_hessian
    comp = Composition("sigmoid", "mse")
    data = TwoClassData()
    w, b, n = 6.0, -3.0, 200_000
    H = population_hessian(comp, w, b, n=n, rng=7)
    x, t = data.draw(n, rng=7)
    plus = t == data.target_plus

    def loss(ww, bb):
        y = ww * x + bb
        return float(np.mean(np.where(plus, comp.H(y, 1.0), comp.H(y, 0.0))))

    h = 1e-3
    fd = np.empty((2, 2))
    e = [np.array([h, 0.0]), np.array([0.0, h])]
    for i in range(2):
        for j in range(2):
            a, c = e[i], e[j]
            fd[i, j] = (loss(w + a[0] + c[0], b + a[1] + c[1]) - loss(w + a[0] - c[0], b + a[1] - c[1])
                        - loss(w - a[0] + c[0], b - a[1] + c[1]) + loss(w - a[0] - c[0], b - a[1] - c[1])) / (4 * h * h)
    np.testing.assert_allclose(H, fd, rtol=1e-4, atol=1e-7)
    assert np.allclose(H, H.T)
    with pytest.raises(ValueError, match="n must be"):
        population_hessian(comp, w, b, n=10)
    with pytest.raises(ValueError, match="w"):
        population_hessian(comp, float("nan"), b)


def test_train_sgd_trajectory_is_bitwise_that_of_the_plain_loop():
    """The chunked statistics and the one-pass dH_classes leave the SGD trajectory bitwise
    unchanged: compare with a plain reference loop of eq. (2.3)."""
    comp = Composition("relu", "power", 4)
    data = TwoClassData()
    steps, replicas, batch, gamma = 600, 3, 4, 0.1
    r = train_sgd(comp, gamma=gamma, steps=steps, replicas=replicas, batch=batch, rng=np.random.default_rng(11),
                  record_every=1)
    rng = np.random.default_rng(11)
    w, b = np.full(replicas, 0.0), np.full(replicas, 0.5)
    traj = []
    for c0 in range(0, steps, 256):
        m = min(256, steps - c0)
        tt = rng.random((m, replicas, batch)) < data.p_plus
        xx = data.inputs(tt, rng.standard_normal((m, replicas, batch)))
        for j in range(m):
            y = w[:, None] * xx[j] + b[:, None]
            g = np.where(tt[j], comp.dH(y, 1.0), comp.dH(y, 0.0))
            w = w - gamma * (g * xx[j]).mean(axis=1)
            b = b - gamma * g.mean(axis=1)
            traj.append((w.mean(), b.mean()))
    np.testing.assert_array_equal(r.w_last, w)
    np.testing.assert_array_equal(r.b_last, b)
    np.testing.assert_array_equal(r.trajectory, np.array(traj))


def test_the_comparison_returns_its_own_equilibrium_run():
    """compare_actual_and_potential_jumps hands back the M = 1 run it compared (chapter II.6
    tests that run's stationarity): the same run as equilibrium_jumps with the same seed."""
    from bbdlib.duality.experiments import compare_actual_and_potential_jumps
    comp = Composition("relu", "power", 4)
    th = {c: rotation_angle("class_mean", c) for c in "-+"}
    out = compare_actual_and_potential_jumps(comp, 0.82, 0.08, gamma=0.1, steps=600, thetas=th, replicas=8,
                                             burn_in=50, rng=np.random.default_rng(3), potential_seed=[1],
                                             fit_seed=0, n_potential=20_000, n_boot=10)
    ref = equilibrium_jumps(comp, 0.82, 0.08, gamma=0.1, steps=600, thetas=th, replicas=8, burn_in=50,
                            rng=np.random.default_rng(3))
    run = out["-"].run
    assert run is out["+"].run
    np.testing.assert_array_equal(run.changes["-"], ref.changes["-"])
    assert (run.drift_w, run.fluct_b) == (ref.drift_w, ref.fluct_b)


def _plain_sgd(comp, *, gamma, steps, replicas, batch, rng, clip_norm=None, data=None):
    """The plain step of eq. (2.3), one replica array at a time (the reference of train_sgd's
    fused step): the last parameters and the second-half time averages."""
    from bbdlib.duality.toy_model import TWO_CLASSES
    data = TWO_CLASSES if data is None else data
    w, b = np.zeros(replicas), np.full(replicas, 0.5)
    s_w, s_b = np.zeros(replicas), np.zeros(replicas)
    half, shape = steps // 2, (replicas, batch)
    for c0 in range(0, steps, 256):
        m = min(256, steps - c0)
        tt = rng.random((m, *shape)) < data.p_plus
        xx = data.inputs(tt, rng.standard_normal((m, *shape)))
        ws, bs = [], []
        for j in range(m):
            x = xx[j]
            g = comp.dH_classes(w[:, None] * x + b[:, None], tt[j], data.target_minus, data.target_plus)
            if clip_norm is not None:
                norm = np.abs(g) * np.sqrt(x * x + 1.0)
                g = np.where(norm > clip_norm, g * (clip_norm / np.where(norm > clip_norm, norm, 1.0)), g)
            w = w - gamma * (np.mean(g * x, axis=1))
            b = b - gamma * (np.mean(g, axis=1))
            ws.append(w)
            bs.append(b)
        st = np.arange(c0, c0 + m)
        s_w += np.array(ws)[st >= half].sum(axis=0)
        s_b += np.array(bs)[st >= half].sum(axis=0)
    return w, b, s_w / (steps - half), s_b / (steps - half)


@pytest.mark.parametrize("case", range(6))
def test_train_sgd_fused_step_equals_the_plain_step(case):
    """train_sgd updates (w, b) of all replicas in one array per numpy call; on random
    compositions, sizes and seeds it gives the plain step's numbers bit for bit, and leaves the
    generator in the same state."""
    rng = np.random.default_rng(100 + case)
    comps = [Composition("sigmoid", "mse"), Composition("sigmoid", "cross_entropy"),
             Composition("relu", "mse"), Composition("relu", "power", 4.0),
             Composition("piecewise_linear", "cross_entropy"), Composition("sigmoid", "power", 3.0)]
    comp = comps[case]
    kw = dict(gamma=float(rng.choice([0.05, 0.1, 1.0, 4.0])) if comp.activation == "sigmoid" else 0.1,
              steps=int(rng.integers(300, 900)), replicas=int(rng.integers(2, 40)),
              batch=int(rng.integers(1, 20)), clip_norm=None if case % 2 else float(rng.uniform(0.5, 10)))
    seed = int(rng.integers(1000))
    r1, r2 = np.random.default_rng(seed), np.random.default_rng(seed)
    res = train_sgd(comp, rng=r1, **kw)
    w, b, wa, ba = _plain_sgd(comp, rng=r2, **kw)
    for got, ref in ((res.w_last, w), (res.b_last, b), (res.w, wa), (res.b, ba)):
        assert got.tobytes() == ref.tobytes()
    assert r1.bit_generator.state == r2.bit_generator.state
