"""Tests of bbdlib.powerlaw: the truncated power-law MLE recovers known exponents."""
import math

import numpy as np
import pytest
from scipy import integrate

from bbdlib.powerlaw import (
    EXACT_BOOTSTRAP_MAX,
    fit_truncated_powerlaw,
    ks_distance,
    log_binned_density,
    sample_truncated_powerlaw,
    truncated_powerlaw_moment,
    truncated_powerlaw_pdf,
)


@pytest.mark.parametrize("k", [0.0, 0.5, 1.0, 2.0, 2.0 / 3.0, -0.5, 3.0])
def test_pdf_normalised(k):
    val, _ = integrate.quad(lambda x: truncated_powerlaw_pdf(np.array([x]), k, 0.01, 10.0)[0],
                            0.01, 10.0, limit=200, points=[0.1, 1.0])
    assert val == pytest.approx(1.0, rel=1e-7)


@pytest.mark.parametrize("k", [0.0, 0.5, 1.0, 2.0])
def test_sampler_matches_pdf(k):
    rng = np.random.default_rng(1)
    x = sample_truncated_powerlaw(k, 1e-3, 1e2, 200_000, rng=rng)
    assert x.min() >= 1e-3 and x.max() <= 1e2
    # empirical CDF against the analytic one at a few points
    for q in (1e-2, 1e-1, 1.0, 10.0):
        cdf, _ = integrate.quad(lambda s: truncated_powerlaw_pdf(np.array([s]), k, 1e-3, 1e2)[0],
                                1e-3, q, limit=200)
        assert np.mean(x <= q) == pytest.approx(cdf, abs=4e-3)


@pytest.mark.parametrize("k", [0.0, 0.5, 1.0, 2.0])
@pytest.mark.parametrize("n", [5_000, 300_000])  # exact and binned bootstrap branches
def test_recovers_known_exponent(k, n):
    rng = np.random.default_rng(12345)
    x = sample_truncated_powerlaw(k, 1e-2, 1e2, n, rng=rng)
    fit = fit_truncated_powerlaw(x, 1e-2, 1e2, rng=rng, n_boot=300)
    assert fit.n_in_range == n
    assert fit.ci_low < fit.k < fit.ci_high
    assert fit.contains(k), (k, fit)
    # the interval is informative: it excludes a neighbouring exponent
    assert not fit.contains(k + 0.1) and not fit.contains(k - 0.1)
    # and its width scales like 1/sqrt(n) (sd of the MLE ~ 1/(sqrt(n) sd(log x)))
    assert fit.half_width < 5.0 / math.sqrt(n)


def test_exponent_one_is_exact_log_form():
    """At k = 1 the MLE solves mean(log x/x_min) = L/2 exactly (no 0/0)."""
    x = np.repeat([1.0, 10.0, 100.0], 5)  # mean log = L/2 with L = log 100
    fit = fit_truncated_powerlaw(x, 1.0, 100.0, rng=0, n_boot=20)
    assert fit.k == pytest.approx(1.0, abs=1e-10)


def test_truncation_ignores_outside_and_fits_only_range():
    rng = np.random.default_rng(3)
    inside = sample_truncated_powerlaw(1.5, 1.0, 100.0, 20_000, rng=rng)
    outside = np.concatenate([rng.uniform(0.0, 0.99, 5000), rng.uniform(101, 1e4, 5000)])
    fit = fit_truncated_powerlaw(np.concatenate([inside, outside]), 1.0, 100.0, rng=rng)
    assert fit.n_in_range == inside.size
    assert fit.contains(1.5)


def test_coverage_of_bootstrap_interval():
    """Over 60 independent small samples the 90% interval covers k about 90% of the time."""
    rng = np.random.default_rng(7)
    hits = 0
    for _ in range(60):
        x = sample_truncated_powerlaw(0.5, 1.0, 1e3, 400, rng=rng)
        hits += fit_truncated_powerlaw(x, 1.0, 1e3, rng=rng, n_boot=200, level=0.9).contains(0.5)
    assert 45 <= hits <= 60  # binomial(60, 0.9): P(hits < 45) ~ 1e-3


def test_wrong_model_is_detected():
    """A log-normal sample is not mistaken for its tangent power law over a wide range."""
    rng = np.random.default_rng(5)
    x = np.exp(rng.normal(0.0, 1.0, 200_000))
    fit = fit_truncated_powerlaw(x, 1.0, math.e**2, rng=rng)
    # the local slope of the log-normal density runs from -1 (at x = 1) to -3 (at e^2)
    assert fit.k > 1.3 and not fit.contains(1.0)


def test_binned_bootstrap_threshold_is_used():
    assert EXACT_BOOTSTRAP_MAX < 300_000


def test_bad_input():
    rng = np.random.default_rng(0)
    x = sample_truncated_powerlaw(1.0, 1.0, 10.0, 100, rng=rng)
    with pytest.raises(ValueError, match="x_max"):
        fit_truncated_powerlaw(x, 10.0, 1.0, rng=rng)
    with pytest.raises(ValueError, match="x_min"):
        fit_truncated_powerlaw(x, 0.0, 1.0, rng=rng)
    with pytest.raises(ValueError, match="inside"):
        fit_truncated_powerlaw(x, 100.0, 1000.0, rng=rng)
    with pytest.raises(ValueError, match="n_boot"):
        fit_truncated_powerlaw(x, 1.0, 10.0, rng=rng, n_boot=1)
    with pytest.raises(ValueError, match="x must contain only finite"):
        fit_truncated_powerlaw(np.array([1.0, np.nan]), 1.0, 10.0, rng=rng)
    with pytest.raises(TypeError, match="rng"):
        fit_truncated_powerlaw(x, 1.0, 10.0, rng="seed")
    with pytest.raises(ValueError, match="size"):
        sample_truncated_powerlaw(1.0, 1.0, 10.0, 0, rng=rng)


def test_log_binned_density_integrates_to_fraction():
    rng = np.random.default_rng(2)
    x = sample_truncated_powerlaw(1.0, 1.0, 100.0, 50_000, rng=rng)
    c, d = log_binned_density(x, 40, total=100_000, x_range=(1.0, 100.0))
    edges = np.geomspace(1.0, 100.0 * (1 + 1e-12), 41)
    assert np.sum(d * np.diff(edges)[: d.size]) == pytest.approx(0.5, rel=1e-9)
    assert np.all(np.diff(c) > 0)


def test_truncated_powerlaw_moment_exact_and_against_samples():
    # k = 0 is uniform on [a, b]: <x> = (a + b)/2; k = 1: <x> = (b - a)/log(b/a)
    assert truncated_powerlaw_moment(1, 0.0, 1.0, 3.0) == pytest.approx(2.0, rel=1e-15)
    assert truncated_powerlaw_moment(1, 1.0, 1.0, 3.0) == pytest.approx(2.0 / np.log(3.0), rel=1e-15)
    # m - k = -1 (logarithmic numerator)
    assert truncated_powerlaw_moment(1, 2.0, 1.0, np.e) == pytest.approx(1.0 / (1 - np.exp(-1)), rel=1e-14)
    x = sample_truncated_powerlaw(1.2, 1.0, 1000.0, 400_000, rng=0)
    m2 = truncated_powerlaw_moment(2, 1.2, 1.0, 1000.0)
    assert np.mean(x**2) == pytest.approx(m2, abs=5 * np.std(x**2) / np.sqrt(x.size))
    with pytest.raises(ValueError, match="x_max"):
        truncated_powerlaw_moment(1, 1.0, 2.0, 1.0)


# -- weighted MLE (importance sampling) and the KS distance --------------------------------

@pytest.mark.parametrize("k", [0.0, 2.0 / 3.0, 2.0])
@pytest.mark.parametrize("n", [20_000, 200_000])  # exact and binned bootstrap branches
def test_weighted_mle_recovers_exponent_from_importance_samples(k, n):
    """Samples from a k = 1 proposal, weighted by p_k/p_1, recover k (self-normalised IS)."""
    rng = np.random.default_rng(7)
    lo, hi = 1e-2, 1e2
    x = sample_truncated_powerlaw(1.0, lo, hi, n, rng=rng)
    w = truncated_powerlaw_pdf(x, k, lo, hi) / truncated_powerlaw_pdf(x, 1.0, lo, hi)
    fit = fit_truncated_powerlaw(x, lo, hi, rng=rng, weights=w, n_boot=100)
    assert fit.ci_low - 0.02 <= k <= fit.ci_high + 0.02
    assert abs(fit.k - k) < 0.05
    # and the unweighted fit of the same samples gives the proposal's exponent instead
    assert abs(fit_truncated_powerlaw(x, lo, hi, rng=rng, n_boot=20).k - 1.0) < 0.03


def test_unit_weights_equal_unweighted_fit():
    rng = np.random.default_rng(3)
    x = sample_truncated_powerlaw(1.5, 1.0, 100.0, 5000, rng=rng)
    a = fit_truncated_powerlaw(x, 1.0, 100.0, rng=1, n_boot=50)
    b = fit_truncated_powerlaw(x, 1.0, 100.0, rng=1, n_boot=50, weights=np.ones(x.size))
    assert a.k == pytest.approx(b.k, rel=1e-12)


def test_ks_distance_small_for_the_true_law_large_for_a_wrong_one():
    rng = np.random.default_rng(5)
    x = sample_truncated_powerlaw(2.0, 1.0, 1e3, 100_000, rng=rng)
    d_true = ks_distance(x, 2.0, 1.0, 1e3)
    assert d_true < 1.36 / math.sqrt(x.size) * 1.5   # the KS 95 % critical value, with margin
    assert ks_distance(x, 1.5, 1.0, 1e3) > 10 * d_true
    w = np.ones(x.size)
    assert ks_distance(x, 2.0, 1.0, 1e3, weights=w) == pytest.approx(d_true, rel=1e-12)


def test_bad_weights_are_refused():
    x = np.linspace(1.0, 10.0, 100)
    with pytest.raises(ValueError, match="weights"):
        fit_truncated_powerlaw(x, 1.0, 10.0, rng=0, weights=np.ones(5))
    with pytest.raises(ValueError, match="weights"):
        fit_truncated_powerlaw(x, 1.0, 10.0, rng=0, weights=-np.ones(100))
    with pytest.raises(ValueError, match="weights"):
        fit_truncated_powerlaw(x, 1.0, 10.0, rng=0, weights=np.zeros(100))
    with pytest.raises(ValueError, match="weights"):
        ks_distance(x, 1.0, 1.0, 10.0, weights=np.ones(3))


def test_bin_index_equals_the_binary_search():
    """The arithmetic bin index of the binned bootstrap is the searchsorted index, bit for bit,
    including values on and next to every edge and beyond the last one."""
    from bbdlib.powerlaw import _N_BINS, _bin_index
    rng = np.random.default_rng(0)
    for L in (1e-3, 0.7, math.log(10.0), 13.8, 40.0):
        edges = np.linspace(0.0, L, _N_BINS + 1)
        t = np.concatenate([rng.uniform(0, L, 50_000), edges, np.nextafter(edges, -1.0)[1:],
                            np.nextafter(edges, np.inf), [0.0, L, L * (1 + 1e-15), 2 * L]])
        ref = np.clip(np.searchsorted(edges, t, side="right") - 1, 0, _N_BINS - 1)
        np.testing.assert_array_equal(_bin_index(edges, t, L), ref)


def test_binned_bootstrap_interval_is_unchanged_by_the_bin_index():
    """The binned-bootstrap fit (above EXACT_BOOTSTRAP_MAX samples) with the arithmetic bin
    index gives the same interval, bit for bit, as with the binary search."""
    import bbdlib.powerlaw as pl
    x = sample_truncated_powerlaw(1.3, 1.0, 1e3, 200_000, rng=4)
    a = fit_truncated_powerlaw(x, 1.0, 1e3, rng=9, n_boot=50)
    orig = pl._bin_index
    try:
        pl._bin_index = lambda edges, t, L: np.clip(np.searchsorted(edges, t, side="right") - 1,
                                                    0, edges.size - 2)
        b = fit_truncated_powerlaw(x, 1.0, 1e3, rng=9, n_boot=50)
    finally:
        pl._bin_index = orig
    assert a == b


@pytest.mark.parametrize("n", [5_000, 200_000])
def test_mle_exponent_is_the_fits_exponent(n):
    """mle_exponent is fit_truncated_powerlaw's k without the bootstrap: the same float."""
    from bbdlib.powerlaw import mle_exponent
    x = sample_truncated_powerlaw(0.7, 1.0, 1e4, n, rng=6)
    w = np.linspace(0.5, 1.5, n)
    assert mle_exponent(x, 2.0, 5e3) == fit_truncated_powerlaw(x, 2.0, 5e3, rng=0, n_boot=20).k
    assert mle_exponent(x, 2.0, 5e3, weights=w) == fit_truncated_powerlaw(x, 2.0, 5e3, rng=0, n_boot=20,
                                                                          weights=w).k
    with pytest.raises(ValueError, match="x_max"):
        mle_exponent(x, 5.0, 2.0)
    with pytest.raises(ValueError, match="weights"):
        mle_exponent(x, 2.0, 5e3, weights=np.ones(3))


def _binned_bootstrap_reference(x, x_min, x_max, rng, n_boot, weights=None):
    """The binned bootstrap means as first written: integer multinomial counts times the
    per-bin sums (the plain reference of the float-count fast path)."""
    import bbdlib.powerlaw as pl
    n, L, t, wv, mean_t = pl._sufficient_statistic(np.asarray(x, float), x_min, x_max, weights)
    edges = np.linspace(0.0, L, pl._N_BINS + 1)
    idx = np.clip(np.searchsorted(edges, t, side="right") - 1, 0, pl._N_BINS - 1)
    counts = np.bincount(idx, minlength=pl._N_BINS)
    per_w = np.divide(np.bincount(idx, weights=wv, minlength=pl._N_BINS), counts,
                      out=np.zeros(pl._N_BINS), where=counts > 0)
    per_wt = np.divide(np.bincount(idx, weights=wv * t, minlength=pl._N_BINS), counts,
                       out=np.zeros(pl._N_BINS), where=counts > 0)
    draws = rng.multinomial(n, counts / n, size=n_boot)
    den = draws @ per_w
    boot = np.divide(draws @ per_wt, den, out=np.full(n_boot, mean_t), where=den > 0)
    alpha = 1.0 - 0.95
    lo_t, hi_t = np.quantile(boot, [alpha / 2, 1 - alpha / 2])
    return pl._k_from_mean_t(float(hi_t), L), pl._k_from_mean_t(float(lo_t), L)


@pytest.mark.parametrize("k, n, weighted", [(0.4, 200_000, False), (1.0, 300_000, False), (2.2, 400_000, True)])
def test_binned_bootstrap_with_float_counts_equals_the_integer_reference(k, n, weighted):
    """The binned bootstrap converts the multinomial counts to floats once; its interval is
    the integer reference's, bit for bit, and it draws the same random numbers."""
    x = sample_truncated_powerlaw(k, 1.0, 1e4, n, rng=11)
    w = np.random.default_rng(3).uniform(0.2, 2.0, n) if weighted else None
    r1, r2 = np.random.default_rng(21), np.random.default_rng(21)
    assert np.sum((x >= 2.0) & (x <= 5e3)) > EXACT_BOOTSTRAP_MAX   # the binned bootstrap
    f = fit_truncated_powerlaw(x, 2.0, 5e3, rng=r1, n_boot=60, weights=w)
    assert (f.ci_low, f.ci_high) == _binned_bootstrap_reference(x, 2.0, 5e3, r2, 60, weights=w)
    assert r1.bit_generator.state == r2.bit_generator.state


def test_ks_distance_by_sorted_values_equals_the_permutation_reference():
    """Unweighted, the KS distance sorts the values instead of applying an argsort permutation:
    the same float as the plain reference, ties included."""
    from bbdlib.powerlaw import ks_distance
    rng = np.random.default_rng(8)
    x = np.round(sample_truncated_powerlaw(1.4, 1.0, 1e3, 40_000, rng=rng), 2)   # many ties
    x_min, x_max, k = 1.5, 800.0, 1.37
    sel = (x >= x_min) & (x <= x_max)
    xs = x[sel][np.argsort(x[sel])]
    cum = np.cumsum(np.ones(xs.size)) / xs.size
    L = math.log(x_max / x_min)
    model = np.expm1((1 - k) * np.log(xs / x_min)) / math.expm1((1 - k) * L)
    ref = float(max(np.max(cum - model), np.max(model - np.concatenate([[0.0], cum[:-1]]))))
    assert ks_distance(x, k, x_min, x_max) == ref
    # with weights the permutation is still applied to the weights
    assert ks_distance(x, k, x_min, x_max, weights=np.ones(x.size)) == ref


def test_unweighted_exact_bootstrap_is_bitwise_the_weighted_loop():
    """Unit weights take the gather-free bootstrap; its interval is the one of the same fit with
    explicit weights of one (the loop as first written: wv[j] gathered, summed)."""
    rng = np.random.default_rng(0)
    for n in (15, 300, 23_000, 50_000):
        x = np.exp(rng.random(n) * 5)
        for nb in (20, 200):
            a = fit_truncated_powerlaw(x, 1.5, 100.0, rng=np.random.default_rng(n), n_boot=nb)
            b = fit_truncated_powerlaw(x, 1.5, 100.0, rng=np.random.default_rng(n), n_boot=nb, weights=np.ones(n))
            assert (a.k, a.ci_low, a.ci_high) == (b.k, b.ci_low, b.ci_high)
