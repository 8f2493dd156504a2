"""Tests of the exact density (6.1) of the jumps and the fitting-range rules: bbdlib.duality.density."""
import math

import numpy as np
import pytest

from bbdlib.duality.density import critical_window, exact_density, fit_window, jump_bin_probabilities
from bbdlib.duality.jumps import JumpMap
from bbdlib.duality.toy_model import Composition, rotation_angle
from bbdlib.powerlaw import fit_truncated_powerlaw, log_binned_density

CASES = [
    (Composition("sigmoid", "mse"), 16.0, -8.0, 1.0),
    (Composition("sigmoid", "cross_entropy"), 16.0, -8.0, 1.0),
    (Composition("relu", "mse"), 0.93, -0.015, 0.1),
    (Composition("relu", "power", 4), 0.82, 0.08, 0.1),
    (Composition("piecewise_linear", "cross_entropy"), 0.8, 0.1, 0.1),
]


def _map(comp, w, b, cls, gamma):
    return JumpMap(comp, w, b, cls, gamma, rotation_angle("class_mean", cls))


@pytest.mark.parametrize("comp,w,b,gamma", CASES, ids=lambda v: getattr(v, "label", str(v)))
@pytest.mark.parametrize("cls", ["-", "+"])
def test_exact_density_matches_samples(comp, w, b, gamma, cls):
    """Eq. (6.1) computed without samples agrees with the sample histogram and integrates
    to the active fraction."""
    jm = _map(comp, w, b, cls, gamma)
    n = 400_000
    s = jm.sample(n, rng=2)
    aq = s.abs_qdot
    lo, hi = np.quantile(aq, [0.02, 0.98])
    c, d = log_binned_density(aq, 30, total=n, x_range=(lo, hi))
    ed = exact_density(jm, c)
    counts = d * n * np.diff(np.geomspace(lo, hi * (1 + 1e-12), 31))[: d.size]
    big = counts > 400  # 5% relative Poisson noise at most; bin averaging is below that
    assert np.all(np.abs(d[big] / ed.density[big] - 1) < 0.12)
    # integrate up to the 99.9% quantile (|q̇′| may have a maximum, where the density has
    # an integrable 1/sqrt singularity that the trapezoid rule resolves poorly)
    top = np.quantile(aq, 0.999)
    grid = np.geomspace(aq.min(), top, 20001)
    integral = np.trapezoid(exact_density(jm, grid).density, grid)
    inside = np.mean(aq <= top) * s.active_fraction
    assert integral == pytest.approx(inside, abs=0.005)


def test_exact_density_two_branches():
    """ReLU + MSE, class '+': |q̇′| near 0 comes from y slightly above and below 1."""
    ed = exact_density(_map(Composition("relu", "mse"), 0.93, -0.015, "+", 0.1), np.array([1e-4]))
    assert np.sum(ed.branch_density[:, 0] > 0) == 2
    assert np.all(np.abs(ed.preimages[np.isfinite(ed.preimages)] - 1.0) < 1e-2)


def test_jump_bin_probabilities_sum_to_one_and_eq59():
    jm = JumpMap(Composition("sigmoid", "mse"), 5.0, -2.5, "-", 0.1, 0.7)
    edges = np.linspace(-1, 1, 101)
    d = jump_bin_probabilities(jm, edges, n_grid=20001)
    assert abs(d.exact.sum() - 1) < 1e-6
    np.testing.assert_allclose(d.centres, 0.5 * (edges[1:] + edges[:-1]))
    # (5.9) weighs each input by |dq̇′/dx¹ / (5.8)|
    x = np.linspace(-2.0, 2.0, 5)
    assert np.all(np.abs(jm.dqdot_dx(x) / jm.jacobian_eq58(x)) != 1.0)
    assert not np.allclose(d.printed_eq59, d.exact)
    with pytest.raises(ValueError, match="edges"):
        jump_bin_probabilities(jm, np.array([1.0, 0.0]))


def test_fit_window_sigmoid_is_where_asymptotics_hold():
    jm = _map(Composition("sigmoid", "cross_entropy"), 16.0, -8.0, "-", 1.0)
    s = jm.sample(200_000, rng=3)
    lo, hi = fit_window(jm, s.abs_qdot)
    # class '−', θ = π/2: |q̇′| = γ σ(y), asymptotic form e^y within 10% iff σ(y) <= 0.1
    assert hi == pytest.approx(0.1, rel=0.02)
    assert lo == pytest.approx(np.quantile(s.abs_qdot, 0.01), rel=1e-9)
    fit = fit_truncated_powerlaw(s.abs_qdot, lo, hi, rng=0)
    assert fit.decades > 3


def test_critical_window_recovers_relu_law():
    """At the critical point y = 0 of ReLU + y^n (class '−', θ = π/2) every approximation holds
    to 10 %, and the MLE recovers k = (n-2)/(n-1) within its interval plus the stated allowance."""
    jm = _map(Composition("relu", "power", 3), 0.864, 0.045, "-", 0.1)
    s = jm.sample(400_000, rng=6)
    lo, hi = critical_window(jm, s.abs_qdot)
    # at the upper edge y = (|q̇′| / (3 γ))^(1/2), p_y has fallen by at most 10 % from y = 0
    y_edge = math.sqrt(hi / 0.3)
    ratio = jm.y_density(y_edge) / jm.y_density(0.0)
    assert abs(ratio - 1) == pytest.approx(0.1, abs=0.005)
    fit = fit_truncated_powerlaw(s.abs_qdot, lo, hi, rng=0)
    allowance = math.log10(1.1 / 0.9) / math.log10(hi / lo)
    assert abs(fit.k - 0.5) <= max(fit.half_width, allowance)


def test_bad_input():
    jm = JumpMap(Composition("sigmoid", "mse"), 1.0, 0.0, "+", 1.0, 0.5)
    with pytest.raises(ValueError, match="q must be positive"):
        exact_density(jm, np.array([0.0]))
    with pytest.raises(TypeError, match="jump_map must be a JumpMap"):
        exact_density("map", np.array([1.0]))
    with pytest.raises(ValueError, match="at least 100"):
        fit_window(jm, np.ones(10))
    with pytest.raises(ValueError, match="no finite critical point"):
        critical_window(jm, np.linspace(0.1, 1, 200))


def test_exact_density_reuses_the_branches_of_a_map_bit_for_bit():
    """exact_density keeps the branches of a map's y grid for the next call on the same map:
    every call, first or repeated, on any points, equals the plain push-forward
    (pushforward.branch_density on the freshly built grid), bit for bit."""
    from bbdlib.duality import density as dens
    from bbdlib.duality.pushforward import branch_density
    rng = np.random.default_rng(12)
    comps = [Composition("sigmoid", "mse"), Composition("sigmoid", "cross_entropy"),
             Composition("relu", "mse"), Composition("relu", "power", 4.0),
             Composition("piecewise_linear", "cross_entropy")]
    for comp in comps:
        for cls in "-+":
            jm = JumpMap(comp, float(rng.uniform(0.5, 8.0)), float(rng.uniform(-0.5, 0.8)), cls, 0.1,
                         float(rng.choice([math.pi / 2, rng.uniform(0, 2 * math.pi)])))
            for _ in range(3):
                q = np.exp(rng.uniform(-14.0, 6.0, int(rng.integers(3, 200))))
                ed = exact_density(jm, q)
                ref = branch_density(jm.qdot_of_y, jm.dqdot_dy, q, mean=jm.y_mean, std=jm.y_std,
                                     grid=dens._y_grid(jm, 100_001, 12.0))
                for f in ("density", "branch_density", "preimages", "branch_jacobian"):
                    a, b = getattr(ed, f), getattr(ref, f)
                    assert a.shape == b.shape and a.tobytes() == b.tobytes(), (comp, cls, f)
    assert len(dens._BRANCH_CACHE) <= dens._BRANCH_CACHE_SIZE
    with pytest.raises(TypeError, match="y_density"):
        exact_density(jm, [1.0], y_density=3.0)
