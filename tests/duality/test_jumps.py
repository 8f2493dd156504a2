"""Tests of the jump map of the toy model (eqs. (2.3), (5.2), (5.7), (5.8), (6.1) of [B])."""
import dataclasses
import math

import numpy as np
import pytest

from bbdlib.duality.jumps import JumpMap, JumpSample
from bbdlib.duality.toy_model import TWO_CLASSES, Composition, TwoClassData, rotation_angle

CASES = [
    (Composition("sigmoid", "mse"), 16.0, -8.0, 1.0),
    (Composition("sigmoid", "cross_entropy"), 16.0, -8.0, 1.0),
    (Composition("relu", "mse"), 0.93, -0.015, 0.1),
    (Composition("relu", "power", 4), 0.82, 0.08, 0.1),
    (Composition("piecewise_linear", "cross_entropy"), 0.8, 0.1, 0.1),
]


def _map(comp, w, b, cls, gamma, rule="class_mean"):
    return JumpMap(comp, w, b, cls, gamma, rotation_angle(rule, cls, w, b))


@pytest.mark.parametrize("comp,w,b,gamma", CASES, ids=lambda v: getattr(v, "label", str(v)))
@pytest.mark.parametrize("cls", ["-", "+"])
def test_jump_is_sgd_step_projected(comp, w, b, gamma, cls):
    """q̇′ = cosθ ẇ + sinθ ḃ with (ẇ, ḃ) = -γ H′(y)(x, 1) (eqs. (2.3), (5.2), (5.7))."""
    jm = _map(comp, w, b, cls, gamma)
    s = jm.sample(1000, rng=0)
    wdot, bdot = jm.sgd_jumps(s.x)
    t = 1.0 if cls == "+" else 0.0
    np.testing.assert_allclose(bdot, -gamma * comp.dH(s.y, t))
    assert np.allclose(s.qdot, math.cos(jm.theta) * wdot + math.sin(jm.theta) * bdot)


@pytest.mark.parametrize("comp,w,b,gamma", CASES, ids=lambda v: getattr(v, "label", str(v)))
@pytest.mark.parametrize("cls", ["-", "+"])
def test_jacobian_matches_finite_difference(comp, w, b, gamma, cls):
    jm = _map(comp, w, b, cls, gamma)
    s = jm.sample(400, rng=1)
    y = s.y[s.active]
    y = y[(np.abs(y) > 1e-3) & (np.abs(y - 1) > 1e-3)]
    h = 1e-7 * np.maximum(1, np.abs(y))
    fd = (jm.qdot_of_y(y + h) - jm.qdot_of_y(y - h)) / (2 * h)
    an = jm.dqdot_dy(y)
    assert np.allclose(fd, an, rtol=1e-5, atol=1e-12 * np.max(np.abs(an)))
    x = (y - b) / w
    np.testing.assert_allclose(jm.dqdot_dx(x), w * an, rtol=1e-9, atol=1e-300)


def test_printed_eq58_drops_the_second_derivative_term():
    """(5.8) is dq̇′/dx¹ without -γ(x¹cosθ + sinθ) w H″(y)."""
    comp = Composition("sigmoid", "mse")
    jm = JumpMap(comp, 5.0, -2.5, "+", 0.1, 0.7)
    x = np.linspace(0.2, 1.5, 7)
    y = 5.0 * x - 2.5
    missing = -0.1 * jm.rotation_factor(x) * 5.0 * comp.d2H(y, 1.0)
    np.testing.assert_allclose(jm.dqdot_dx(x) - jm.jacobian_eq58(x), missing, rtol=1e-9, atol=1e-15)


@pytest.mark.parametrize("n,k", [(2, 0.0), (3, 0.5), (4, 2 / 3), (8, 6 / 7)])
def test_relu_jacobian_exponent_near_critical_point(n, k):
    """Close to y = 0 the class '−' Jacobian of ReLU + y^n has k = (n-2)/(n-1) exactly for θ₋ = π/2."""
    jm = _map(Composition("relu", "power", n), 0.8, 0.1, "-", 0.1)
    assert np.allclose(jm.local_jacobian_exponent(np.array([1e-3, 1e-2])), k, atol=1e-4)


def test_equilibrium_theta_changes_relu_exponent():
    """With θ = atan2(b, w) (eq. (5.6) read literally) C = 0 and k becomes (n-1)/n near y = 0."""
    jm = _map(Composition("relu", "power", 4), 0.8, 0.1, "-", 0.1, rule="equilibrium")
    assert jm.local_jacobian_exponent(np.array([1e-4]))[0] == pytest.approx(3 / 4, abs=1e-3)


def test_critical_points():
    comp = Composition("relu", "power", 3)
    assert _map(comp, 0.8, 0.1, "-", 0.1).critical_point() == 0.0
    assert _map(comp, 0.8, 0.1, "+", 0.1).critical_point() == 1.0
    ce = Composition("piecewise_linear", "cross_entropy")
    assert _map(ce, 0.8, 0.1, "-", 0.1).critical_point() == 1.0
    assert _map(ce, 0.8, 0.1, "+", 0.1).critical_point() == 0.0
    with pytest.raises(ValueError, match="no finite critical point"):
        _map(Composition("sigmoid", "mse"), 1.0, 0.0, "-", 0.1).critical_point()


def test_class_of_the_data_set():
    data = TwoClassData(mean_plus=2.0, std_plus=0.5)
    jm = JumpMap(Composition("sigmoid", "mse"), 3.0, -1.0, "+", 0.1, 0.3, data=data)
    assert jm.y_mean == 5.0 and jm.y_std == 1.5 and jm.target == 1.0
    s = jm.sample(100_000, rng=0)
    assert s.x.mean() == pytest.approx(2.0, abs=0.01) and s.x.std() == pytest.approx(0.5, abs=0.01)
    assert jm.y_density(5.0) == pytest.approx(1 / (1.5 * math.sqrt(2 * math.pi)))


def test_sample_records_and_given_inputs():
    jm = _map(Composition("relu", "mse"), 0.93, -0.015, "-", 0.1)
    x = np.array([-0.5, 0.1, 0.2])
    s = jm.sample(3, rng=0, x=x)
    assert isinstance(s, JumpSample) and s.jump_map is jm
    np.testing.assert_array_equal(s.active, [False, True, True])
    assert np.isnan(s.jacobian[0]) and s.active_fraction == pytest.approx(2 / 3)
    np.testing.assert_array_equal(s.abs_qdot, np.abs(jm.qdot(x[1:])))
    with pytest.raises(ValueError, match="x has 3 values"):
        jm.sample(4, rng=0, x=x)
    with pytest.raises(dataclasses.FrozenInstanceError):
        jm.w = 2.0


def test_bad_input():
    comp = Composition("sigmoid", "mse")
    with pytest.raises(ValueError, match="gamma must be > 0"):
        JumpMap(comp, 1.0, 0.0, "+", 0.0, 0.5)
    with pytest.raises(ValueError, match="cls must be one of"):
        JumpMap(comp, 1.0, 0.0, "1", 1.0, 0.5)
    with pytest.raises(ValueError, match="w must be non-zero"):
        JumpMap(comp, 0.0, 0.0, "+", 1.0, 0.5)
    with pytest.raises(TypeError, match="composition must be a Composition"):
        JumpMap("sigmoid", 1.0, 0.0, "+", 1.0, 0.5)
    with pytest.raises(TypeError, match="data must be a TwoClassData"):
        JumpMap(comp, 1.0, 0.0, "+", 1.0, 0.5, data={"-": 0})
    with pytest.raises(ValueError, match="n must be >= 1"):
        JumpMap(comp, 1.0, 0.0, "+", 1.0, 0.5).sample(0, rng=0)
    assert JumpMap(comp, 1, 0, "\u2212", 1, 0).cls == "-" and JumpMap(comp, 1, 0, "-", 1, 0).data is TWO_CLASSES


# -- the streamed sampler -------------------------------------------------------------------

def _stream_map():
    from bbdlib.duality.toy_model import Composition
    return JumpMap(Composition("piecewise_linear", "cross_entropy"), 3.5, -1.25, "-", 0.1, math.pi / 2)


def test_stream_keeps_the_band_and_the_edges_of_the_same_draws():
    """Chunked draws are the same stream as one draw: the kept band and the data edges equal
    those of the in-memory sample with the same seed."""
    jm = _stream_map()
    n = 20_000
    st = jm.stream(n, rng=np.random.default_rng(9), keep=(1.0, 1e3), edge_count=50, chunk=1024)
    aq = jm.sample(n, rng=np.random.default_rng(9)).abs_qdot
    band = np.sort(aq[(aq >= 1.0) & (aq <= 1e3)])
    np.testing.assert_array_equal(np.sort(st.kept), band)
    assert st.n == n and st.n_active == aq.size
    assert st.data_edges() == (np.partition(aq, 49)[49], np.partition(aq, aq.size - 50)[aq.size - 50])


def test_stream_memory_does_not_grow_with_n():
    """Only the band is kept: 10x more inputs keep ~10x more band samples and nothing else."""
    jm = _stream_map()
    a = jm.stream(200_000, rng=1, keep=(50.0, 1e9), chunk=2**14)
    b = jm.stream(2_000_000, rng=1, keep=(50.0, 1e9), chunk=2**14)
    assert b.kept.size < 0.001 * b.n
    assert 5 * a.kept.size < b.kept.size < 20 * a.kept.size
    assert a.smallest.size == b.smallest.size == 100


def test_stream_bad_input():
    jm = _stream_map()
    with pytest.raises(ValueError, match="keep"):
        jm.stream(1000, rng=0, keep=(2.0, 1.0))
    with pytest.raises(ValueError, match="keep"):
        jm.stream(1000, rng=0, keep=(0.0, 1.0))
    with pytest.raises(ValueError, match="chunk"):
        jm.stream(1000, rng=0, keep=(1.0, 2.0), chunk=10)


def _stream_reference(jm, n, seed, keep, edge_count=100):
    """The streamed result computed the plain way: one in-memory draw, |qdot|, sort."""
    x = np.random.default_rng(seed).normal(jm.data.mean(jm.cls), jm.data.std(jm.cls), n)
    q = np.abs(jm.qdot(x))
    nz = np.sort(q[q > 0])
    return q[(q > 0) & (q >= keep[0]) & (q <= keep[1])], nz[:edge_count], nz[-edge_count:], nz.size


@pytest.mark.parametrize("comp, cls, theta, keep", [
    (("piecewise_linear", "cross_entropy", 2.0), "-", math.pi / 2, (1.4, 1e12)),   # the fast path
    (("piecewise_linear", "cross_entropy", 2.0), "+", math.pi / 4, (0.5, 1e12)),
    (("relu", "power", 4.0), "-", math.pi / 2, (1e-6, 1e-2)),                      # the general path
])
@pytest.mark.parametrize("chunk", [1024, 4099, 2**16])
def test_stream_is_bitwise_the_plain_computation(comp, cls, theta, keep, chunk):
    """Buffers, chunk size and the fast path change no bit: kept band (in draw order), data
    edges and active count equal those of one draw of rng.normal mapped by qdot."""
    from bbdlib.duality.toy_model import Composition
    jm = JumpMap(Composition(*comp), 3.559, -1.275, cls, 0.1, theta)
    n = 300_007
    st = jm.stream(n, rng=np.random.default_rng(3), keep=keep, chunk=chunk)
    kept, small, large, n_active = _stream_reference(jm, n, 3, keep)
    np.testing.assert_array_equal(st.kept, kept)
    np.testing.assert_array_equal(st.smallest, small)
    np.testing.assert_array_equal(st.largest, large)
    assert st.n_active == n_active


def test_stream_peak_memory_is_independent_of_n():
    """tracemalloc peak of a stream that keeps (almost) nothing: the same for 10x the inputs."""
    import tracemalloc
    jm = _stream_map()

    def peak(n):
        tracemalloc.start()
        jm.stream(n, rng=2, keep=(1e9, 1e12))
        p = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        return p

    p1, p2 = peak(500_000), peak(5_000_000)
    assert p2 < 1.2 * p1 + 2**16


# -- the importance-sampling proposal near the singular point --------------------------------

def _is_map(cls="-"):
    from bbdlib.duality.toy_model import Composition
    return JumpMap(Composition("piecewise_linear", "cross_entropy"), 3.5, -1.25, cls, 0.1,
                   math.pi / 2 if cls == "-" else math.pi / 4)


def test_importance_weights_are_exact_and_unbiased():
    """mean(w) = 1 and the weighted tail fraction P(|q̇′| > Q) equals the exact Gaussian
    probability P(1 − γ/Q < y < 1) of the '−' class at θ₋ = π/2 (|q̇′| = γ/(1 − y)),
    with a standard error far below that of plain draws of the same number."""
    from scipy.stats import norm

    from bbdlib.duality.jumps import ImportanceProposal
    jm = _is_map()
    prop = ImportanceProposal(jm, (0.9, 1.1), mix=0.5)
    n = 400_000
    s = prop.sample(n, rng=11)
    assert abs(s.weights.mean() - 1.0) < 5 * s.weights.std() / math.sqrt(n)
    assert s.weights.max() <= 1.0 / (1.0 - prop.mix) + 1e-12
    Q = 100.0
    f = s.weights * (s.abs_qdot > Q)
    exact = norm.cdf((1 - jm.y_mean) / jm.y_std) - norm.cdf((1 - jm.gamma / Q - jm.y_mean) / jm.y_std)
    se = f.std() / math.sqrt(n)
    assert abs(f.mean() - exact) < 4 * se
    assert se < 0.2 * math.sqrt(exact / n)            # plain Monte Carlo: sqrt(p/n)
    # g integrates to 1 over y
    y = np.linspace(jm.y_mean - 12 * jm.y_std, 1.5, 400_001)
    assert np.trapezoid(prop.density(y), y) == pytest.approx(1.0, abs=1e-3)


@pytest.mark.parametrize("cls", ["-", "+"])
def test_weighted_mle_of_importance_samples_finds_the_tail_exponent(cls):
    """Weighted MLE over a tail window of the importance samples against the slope of the
    exact density (6.1) over the same window (k = 2 as |q̇′| → ∞)."""
    import math as m

    from bbdlib.duality.density import exact_density
    from bbdlib.duality.jumps import ImportanceProposal
    from bbdlib.powerlaw import fit_truncated_powerlaw
    jm = _is_map(cls)
    ys = jm.critical_point()
    prop = ImportanceProposal(jm, (ys - 0.1, ys + 0.1), mix=0.5)
    s = prop.sample(1_000_000, rng=5)
    lo, hi = 10.0, 1e4
    fit = fit_truncated_powerlaw(s.abs_qdot, lo, hi, rng=0, weights=s.weights, n_boot=100)
    ed = exact_density(jm, np.array([lo, hi])).density
    k_exact = -m.log(ed[1] / ed[0]) / m.log(hi / lo)
    assert fit.n_in_range > 10_000
    assert fit.ci_low - 0.02 <= k_exact <= fit.ci_high + 0.02
    # plain draws of the same number put ~100x fewer samples in the window
    plain = jm.sample(1_000_000, rng=5).abs_qdot
    assert np.count_nonzero((plain >= lo) & (plain <= hi)) < 0.05 * fit.n_in_range


def test_importance_proposal_bad_input():
    from bbdlib.duality.jumps import ImportanceProposal
    from bbdlib.duality.toy_model import Composition
    jm = _is_map()
    with pytest.raises(ValueError, match="band.*zero mass at the singular point"):
        ImportanceProposal(jm, (0.5, 0.9))          # y* = 1 outside
    with pytest.raises(ValueError, match="band.*zero mass"):
        ImportanceProposal(jm, (1.0, 1.2))          # y* on the edge, on the inactive side
    with pytest.raises(ValueError, match="band"):
        ImportanceProposal(jm, (1.1, 0.9))
    with pytest.raises(TypeError, match="band"):
        ImportanceProposal(jm, 0.9)
    for mix in (0.0, 1.0, -0.5, float("nan")):
        with pytest.raises(ValueError, match="mix"):
            ImportanceProposal(jm, (0.9, 1.1), mix=mix)
    with pytest.raises(TypeError, match="jump_map"):
        ImportanceProposal("map", (0.9, 1.1))
    sig = JumpMap(Composition("sigmoid", "mse"), 1.0, 0.0, "-", 0.1, 1.0)
    with pytest.raises(ValueError, match="activation"):
        ImportanceProposal(sig, (-1.0, 1.0))        # no finite singular point
    with pytest.raises(ValueError, match="n"):
        ImportanceProposal(jm, (0.9, 1.1)).sample(0, rng=0)


def test_sample_without_the_jacobian_draws_the_same_jumps():
    jm = _stream_map()
    a = jm.sample(5000, rng=4)
    b = jm.sample(5000, rng=4, jacobian=False)
    np.testing.assert_array_equal(a.qdot, b.qdot)
    np.testing.assert_array_equal(a.active, b.active)
    assert b.jacobian is None and a.jacobian.shape == (5000,)
    with pytest.raises(TypeError, match="jacobian"):
        jm.sample(10, rng=0, jacobian=1)
