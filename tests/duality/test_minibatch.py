"""Tests of bbdlib.duality.minibatch: the logarithmic convolution against closed forms, the
mini-batch SGD runner, the window rule and bad input."""
import math

import numpy as np
import pytest
from scipy import stats

from bbdlib.duality import minibatch as mb
from bbdlib.duality.jumps import JumpMap
from bbdlib.duality.toy_model import Composition

GRID = np.geomspace(1e-8, 1e4, 12 * 60 + 1)


def _abs_cdf_error(law, dist, xs):
    exact = dist.cdf(xs) - dist.cdf(-xs)
    return np.max(np.abs(law.abs_cdf(xs) * law.nonzero_mass - exact))


@pytest.mark.parametrize("M", [1, 2, 4, 16, 64, 5])
def test_mean_of_gaussians(M):
    law = mb.atom_law_from_cdf(stats.norm(0, 1).cdf, GRID)
    out = mb.mean_law(law, M)
    assert _abs_cdf_error(out, stats.norm(0, 1 / math.sqrt(M)), np.geomspace(1e-3, 10, 60)) < 5e-3
    assert math.isclose(out.nonzero_mass + out.p_zero, 1.0, rel_tol=1e-9)  # atoms below 1e-14 dropped


@pytest.mark.parametrize("M", [2, 16, 64])
def test_mean_of_cauchy_is_cauchy(M):
    """The mean of M standard Cauchy variables is standard Cauchy (a k = 2 tail survives)."""
    law = mb.atom_law_from_cdf(stats.cauchy(0, 1).cdf, GRID)
    out = mb.mean_law(law, M)
    assert _abs_cdf_error(out, stats.cauchy(0, 1), np.geomspace(1e-3, 1e3, 60)) < 5e-3


@pytest.mark.parametrize("M", [2, 16, 64])
def test_mean_of_exponentials_is_gamma(M):
    law = mb.atom_law_from_cdf(stats.expon().cdf, GRID)
    out = mb.mean_law(law, M)
    assert out.p_neg.sum() < 1e-12
    # Gamma(64, 1/64) has a relative width of 1/8, three cells of the grid: the cell smearing shows
    assert _abs_cdf_error(out, stats.gamma(M, scale=1 / M), np.geomspace(1e-3, 10, 60)) < 1e-2


def test_mean_laws_equals_mean_law():
    law = mb.atom_law_from_cdf(stats.norm(0.3, 1).cdf, GRID[::4])
    many = mb.mean_laws(law, (1, 3, 8))
    for M in (1, 3, 8):
        one = mb.mean_law(law, M)
        np.testing.assert_allclose(many[M].p_pos, one.p_pos, atol=1e-14)
        np.testing.assert_allclose(many[M].p_neg, one.p_neg, atol=1e-14)


def test_thinned_slot_law():
    law = mb.atom_law_from_cdf(stats.expon().cdf, GRID[::4])
    slot = mb.thinned(law, 0.25)
    assert math.isclose(slot.nonzero_mass, 0.25 * law.nonzero_mass, rel_tol=1e-12)
    # the mean of 2 slots: P(both zero) = (1 - p)^2
    two = mb.mean_law(slot, 2)
    assert math.isclose(two.p_zero, 0.75**2, rel_tol=1e-9)


def test_quantile_inverts_cdf():
    law = mb.atom_law_from_cdf(stats.lognorm(1.0).cdf, GRID)
    p = np.array([0.01, 0.3, 0.9])
    np.testing.assert_allclose(law.abs_cdf(law.abs_quantile(p)), p, atol=1e-9)


def test_atom_law_from_map_matches_gaussian():
    """q(x) = x with x ~ N(0, 1): the per-sample law is the Gaussian itself."""
    law = mb.atom_law_from_map(lambda x: x, GRID, mean=0.0, std=1.0, n_grid=400_001)
    assert _abs_cdf_error(law, stats.norm(0, 1), np.geomspace(1e-3, 5, 40)) < 2e-4


def test_law_window_finds_a_pure_power_law():
    """Density ∝ s^-0.5 on [1e-4, 1]: the window spans the four decades (up to one atom)."""
    g = np.geomspace(1e-6, 1e2, 8 * 40 + 1)

    def cdf(s):
        s = np.asarray(s, dtype=float)
        return np.where(s <= 0, 0.0, np.clip((np.clip(s, 1e-4, 1.0) ** 0.5 - 1e-2) / (1 - 1e-2), 0, 1))

    law = mb.atom_law_from_cdf(cdf, g)
    win = mb.law_window(law, 0.5, (1e-4, 1.0))
    assert win.decades > 3.8
    assert win.has_range
    k = mb.population_exponent(law, (win.x_min, win.x_max))
    assert abs(k - 0.5) < 0.02
    assert mb.law_window(law, 1.5, (1e-4, 1.0)).decades < 0.5   # the wrong law has no window


def test_ks_to_law_small_for_own_samples():
    rng = np.random.default_rng(0)
    law = mb.atom_law_from_cdf(stats.norm(0, 1).cdf, GRID)
    ks = mb.ks_to_law(np.abs(rng.normal(size=20_000)), law)
    assert ks < 0.02
    assert mb.ks_to_law(np.abs(rng.normal(size=20_000)) * 2, law) > 0.2


def test_minibatch_sgd_jumps_m1_matches_potential_jumps():
    """M = 1 actual jumps are the per-sample jumps; the slot definition makes half of them zero."""
    comp = Composition("relu", "power", 4.0)
    th = {"-": math.pi / 2, "+": math.pi / 4}
    run = mb.minibatch_sgd_jumps(comp, 0.82, 0.08, gamma=0.1, batch_sizes=(1, 4), steps=200,
                                 replicas=100, burn_in=50, thetas=th, rng=1)
    for c in "-+":
        ch = run.changes[1][c]
        assert ch.size == 200 * 100
        frac_zero = np.mean(ch == 0)
        assert 0.45 < frac_zero < 0.85      # other class (1/2) plus the inactive inputs
        jm = JumpMap(comp, run.w_avg[1], run.b_avg[1], c, 0.1, th[c])
        g = mb.jump_grid(jm.qdot, mean=0.0 if c == "-" else 1.0, std=0.25, per_decade=20, widen_low=640)
        law = mb.thinned(mb.atom_law_from_map(jm.qdot, g, mean=0.0 if c == "-" else 1.0, std=0.25), 0.5)
        assert mb.ks_to_law(run.abs_nonzero(1, c), law) < 0.05
        L4 = mb.mean_law(law, 4)
        assert mb.ks_to_law(run.abs_nonzero(4, c), L4) < 0.05


def test_minibatch_is_deterministic():
    comp = Composition("sigmoid", "mse")
    th = {"-": math.pi / 2, "+": math.pi / 4}
    a = mb.minibatch_sgd_jumps(comp, 16.0, -8.0, gamma=4.0, batch_sizes=(1, 2), steps=20, replicas=10,
                               burn_in=5, thetas=th, rng=3)
    b = mb.minibatch_sgd_jumps(comp, 16.0, -8.0, gamma=4.0, batch_sizes=(1, 2), steps=20, replicas=10,
                               burn_in=5, thetas=th, rng=3)
    np.testing.assert_array_equal(a.changes[2]["+"], b.changes[2]["+"])


def test_clipped_qdot_bounds_the_jumps():
    comp = Composition("piecewise_linear", "cross_entropy")
    jm = JumpMap(comp, 3.5, -1.3, "-", 0.1, math.pi / 2)
    x = np.linspace(0.36, 0.65, 10_001)
    assert np.max(np.abs(mb.clipped_qdot(jm, 10.0)(x))) <= 0.1 * 10.0 * (1 + 1e-12)
    assert np.max(np.abs(jm.qdot(x))) > 1.0
    assert mb.clipped_qdot(jm, None) == jm.qdot


# -- bad input --------------------------------------------------------------------------
@pytest.mark.parametrize("bad", [0, -1, (1, 0), (2, -3)])
def test_batch_size_below_one_names_M(bad):
    with pytest.raises(ValueError, match="M"):
        mb.check_batch_sizes(bad)


def test_batch_size_not_integer_names_M():
    with pytest.raises(TypeError, match="M"):
        mb.check_batch_sizes((1, 2.0))
    with pytest.raises(TypeError, match="batch_sizes"):
        mb.check_batch_sizes("16")
    with pytest.raises(ValueError, match="repeat"):
        mb.check_batch_sizes((2, 2))


def test_mean_law_rejects_M_below_one():
    law = mb.atom_law_from_cdf(stats.norm().cdf, GRID[::10])
    with pytest.raises(ValueError, match="M"):
        mb.mean_law(law, 0)


def test_sgd_rejects_M_below_one():
    comp = Composition("relu", "mse")
    with pytest.raises(ValueError, match="M"):
        mb.minibatch_sgd_jumps(comp, 1.0, 0.0, gamma=0.1, batch_sizes=(1, 0), steps=5, replicas=2, burn_in=0,
                               thetas={"-": 1.0, "+": 1.0}, rng=0)


def test_bad_grid_and_law():
    with pytest.raises(ValueError, match="grid"):
        mb.atom_law_from_cdf(stats.norm().cdf, [1.0, 2.0, 5.0])
    with pytest.raises(TypeError, match="law"):
        mb.mean_law("not a law", 2)
    with pytest.raises(ValueError, match="clip_norm"):
        mb.clipped_qdot(JumpMap(Composition("relu", "mse"), 1.0, 0.0, "-", 0.1, 1.0), 0.0)
