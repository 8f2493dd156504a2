"""Exponential integral and the asymptotic forms of Appendix A of [B]."""
import math

import numpy as np
import pytest
from scipy import integrate

from bbdlib.duality.asymptotics import (
    APPENDIX_A_FORMS,
    ei_partial_sum,
    ei_series_terms,
    ei_tail_sum,
    exponential_integral,
    optimal_truncation,
    relative_error,
)


def test_ei_is_a_primitive_of_exp_over_x():
    # Ei(b) - Ei(a) = ∫_a^b e^z/z dz on intervals that avoid 0, both signs
    for a, b in ((1.0, 5.0), (-7.0, -0.5), (10.0, 12.0)):
        quad, _ = integrate.quad(lambda z: np.exp(z) / z, a, b, epsabs=0, epsrel=1e-12)
        diff = exponential_integral(b) - exponential_integral(a)
        assert diff == pytest.approx(quad, rel=1e-10)


def test_series_terms_are_factorial_over_power():
    terms = ei_series_terms(7.0, 6)
    expected = [math.factorial(n) / 7.0**n for n in range(7)]
    np.testing.assert_allclose(terms, expected, rtol=1e-14)


def test_optimal_partial_sum_is_close_for_large_x():
    for x in (25.0, -25.0):
        n = int(optimal_truncation(x))
        assert relative_error(ei_partial_sum(x, n), exponential_integral(x)) < 1e-9


def test_tail_sum_matches_series_at_large_x():
    x = 40.0
    n = int(optimal_truncation(x))
    series = ei_series_terms(x, n)[1:].sum()
    assert ei_tail_sum(x) == pytest.approx(series, rel=1e-12)
    assert ei_tail_sum(-x) == pytest.approx(ei_series_terms(-x, n)[1:].sum(), rel=1e-12)


def test_corrected_two_term_forms_beat_leading_term():
    for name, (f, sign, m) in APPENDIX_A_FORMS.items():
        if "corrected" not in name:
            continue
        x = np.array([20.0, 50.0]) * sign
        err = relative_error(f(x), exponential_integral(x))
        lead = relative_error(np.exp(x) / x, exponential_integral(x))
        assert np.all(err < lead / 5)


def test_bad_input():
    with pytest.raises(ValueError, match="non-zero"):
        exponential_integral([1.0, 0.0])
    with pytest.raises(ValueError, match="finite"):
        exponential_integral([np.nan])
    with pytest.raises(ValueError, match="700"):
        ei_tail_sum(800.0)
    with pytest.raises(TypeError, match="n_max"):
        ei_series_terms(1.0, 2.5)


def test_series_converges_is_false_for_the_divergent_series():
    from bbdlib.duality.asymptotics import series_converges
    assert not series_converges(10.0) and not series_converges(-30.0)
    # a sum that has settled passes: with N = 0 and 0 terms beyond it the two partial sums agree
    assert series_converges(0.01, n_low=0.0, n_high=0.0)
    with pytest.raises(ValueError, match="x"):
        series_converges(0.0)
