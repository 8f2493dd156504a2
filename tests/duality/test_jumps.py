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
