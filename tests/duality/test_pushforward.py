"""Tests of the one push-forward of [B] (eqs. (3.11)–(3.13), (6.1)): bbdlib.duality.pushforward."""
import numpy as np
import pytest
from scipy import stats

from bbdlib.duality import pushforward as pf


def test_gaussian_pdf():
    x = np.linspace(-3, 3, 7)
    np.testing.assert_allclose(pf.gaussian_pdf(x, 0.5, 2.0), stats.norm.pdf(x, 0.5, 2.0), rtol=1e-14)


def test_sample_draws_then_maps():
    s = pf.sample(lambda x: 3 * x, mean=1.0, std=0.5, n_samples=1000, rng=0)
    np.testing.assert_array_equal(s.x, np.random.default_rng(0).normal(1.0, 0.5, size=1000))
    np.testing.assert_array_equal(s.q, 3 * s.x)
    with pytest.raises(ValueError, match="std"):
        pf.sample(lambda x: x, mean=0.0, std=0.0, n_samples=10, rng=0)
    with pytest.raises(TypeError, match="n_samples"):
        pf.sample(lambda x: x, mean=0.0, std=1.0, n_samples=10.0, rng=0)
    with pytest.raises(TypeError, match="q_of_x"):
        pf.sample(3, mean=0.0, std=1.0, n_samples=10, rng=0)


def test_bin_probabilities_match_gaussian_cdf():
    edges = np.linspace(-3, 5, 17)
    p = pf.bin_probabilities(lambda x: 2 * x + 1, edges, mean=0.0, std=1.0)
    np.testing.assert_allclose(p, np.diff(stats.norm.cdf((edges - 1) / 2)), atol=1e-6)
    # a weight multiplies the integrand
    pw = pf.bin_probabilities(lambda x: 2 * x + 1, edges, mean=0.0, std=1.0, weight=lambda x: 2 + 0 * x)
    np.testing.assert_allclose(pw, 2 * p, rtol=1e-12)
    # two branches: q = x² is chi-square(1)
    e2 = np.array([0.1, 0.5, 1.0, 3.0])
    p2 = pf.bin_probabilities(lambda x: x**2, e2, mean=0.0, std=1.0)
    # each edge is resolved to one grid cell per branch: error <= 2 p(x) dx, dx = 16/400000
    np.testing.assert_allclose(p2, np.diff(stats.chi2.cdf(e2, 1)), atol=2 * 0.4 * 4e-5)
    with pytest.raises(ValueError, match="edges"):
        pf.bin_probabilities(lambda x: x, [1.0, 0.0], mean=0.0, std=1.0)
    with pytest.raises(TypeError, match="weight"):
        pf.bin_probabilities(lambda x: x, [0.0, 1.0], mean=0.0, std=1.0, weight=1.0)


def test_density_of_linear_map_is_gaussian():
    qs = np.array([-2.0, -0.5, 0.5, 1.7, 4.0])
    d = pf.density(lambda x: 2 * x + 1, qs, mean=0.0, std=1.0)
    np.testing.assert_allclose(d, stats.norm.pdf(qs, 1.0, 2.0), rtol=1e-8)
    # decreasing map and an explicit derivative
    d = pf.density(lambda x: 1 - 3 * x, qs, mean=0.2, std=0.7, dq_dx=lambda x: -3 + 0 * x)
    np.testing.assert_allclose(d, stats.norm.pdf(qs, 1 - 0.6, 2.1), rtol=1e-8)


def test_density_sums_branches_and_signs():
    """q = x² has the chi-square(1) density (two branches); the signed density of q = x³ - x
    sums three branches and integrates to 1."""
    pts = np.array([0.5, 2.0])
    np.testing.assert_allclose(pf.density(lambda x: x**2, pts, mean=0.0, std=1.0),
                               stats.chi2.pdf(pts, 1), rtol=1e-6)
    pts = np.array([-0.9, -0.2, 0.1, 0.3, 1.5])        # 1, 3, 3, 3 and 1 preimages
    d = pf.density(lambda x: x**3 - x, pts, mean=0.1, std=0.5)
    expected = []
    for v in pts:
        r = np.roots([1.0, 0.0, -1.0, -v])
        r = r[np.abs(r.imag) < 1e-12].real
        expected.append(np.sum(stats.norm.pdf(r, 0.1, 0.5) / np.abs(3 * r**2 - 1)))
    np.testing.assert_allclose(d, expected, rtol=1e-7)
    assert np.all(pf.density(lambda x: x**2, np.array([-1.0]), mean=0.0, std=1.0) == 0.0)


def test_branch_density_of_abs_and_records():
    grid = np.linspace(-6, 6, 4001)
    bd = pf.branch_density(lambda x: 2 * x, lambda x: 2 + 0 * x, np.array([0.5, 1.0]),
                           mean=0.0, std=1.0, grid=grid)
    assert bd.branch_density.shape == (2, 2)          # the branches x < 0 and x > 0
    np.testing.assert_allclose(bd.density, 2 * stats.norm.pdf([0.5, 1.0], 0, 2), rtol=1e-10)
    np.testing.assert_allclose(np.sort(bd.preimages[:, 0]), [-0.25, 0.25], rtol=1e-10)
    with pytest.raises(ValueError, match="positive"):
        pf.branch_density(lambda x: x, lambda x: 1 + 0 * x, [0.0], mean=0.0, std=1.0, grid=grid)
    with pytest.raises(ValueError, match="non-zero"):
        pf.branch_density(lambda x: x, lambda x: 1 + 0 * x, [0.0], mean=0.0, std=1.0, grid=grid,
                          signed=True)
    empty = pf.branch_density(lambda x: x, lambda x: 1 + 0 * x, [1.0], mean=0.0, std=1.0,
                              grid=np.empty(0))
    assert empty.density[0] == 0 and empty.branch_density.shape == (0, 1)


def test_turning_points_and_preimages():
    x = np.linspace(-2, 2, 4001)
    q = x**3 - x
    t = pf.turning_points(x, q)
    np.testing.assert_allclose(np.sort(t), [-1 / np.sqrt(3), 1 / np.sqrt(3)], atol=2e-3)
    np.testing.assert_array_equal(pf.count_preimages(q, [0.1, 1.0]), [3, 1])
    with pytest.raises(ValueError, match="q_grid"):
        pf.turning_points(x, q[:-1])
