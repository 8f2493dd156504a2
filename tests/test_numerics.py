"""Tests of bbdlib.numerics: running integral, measured derivative, order fit."""
import numpy as np
import pytest

from bbdlib.numerics import cumulative_integral, fit_order, time_derivative


def test_time_derivative_is_sixth_order():
    errs = []
    for n in (50, 100):
        t = np.linspace(0, 2, n)
        d = time_derivative(t, np.sin(3 * t)[:, None])
        errs.append(np.nanmax(np.abs(d[:, 0] - 3 * np.cos(3 * t))))
    assert np.log2(errs[0] / errs[1]) > 5.5
    assert np.all(np.isnan(d[:3])) and np.all(np.isnan(d[-3:]))


def test_time_derivative_rejects_bad_grids():
    with pytest.raises(ValueError, match="uniformly"):
        time_derivative(np.array([0, 1, 3, 4, 5, 6, 7.0]), np.zeros(7))
    with pytest.raises(ValueError, match="7 samples"):
        time_derivative(np.arange(5.0), np.zeros(5))
    with pytest.raises(ValueError, match="rows"):
        time_derivative(np.arange(8.0), np.zeros(7))


@pytest.mark.parametrize("method, tol", [("spline", 1e-9), ("trapezoid", 1e-3)])
def test_cumulative_integral(method, tol):
    t = np.linspace(0, 3, 200)
    integral = cumulative_integral(t, np.cos(t)[:, None], method=method)
    assert integral[0, 0] == 0.0
    assert np.max(np.abs(integral[:, 0] - np.sin(t))) < tol


def test_cumulative_integral_short_series_falls_back_to_trapezoid():
    t = np.linspace(0, 1, 4)
    assert np.allclose(cumulative_integral(t, t), cumulative_integral(t, t, method="trapezoid"))
    with pytest.raises(ValueError, match="rows"):
        cumulative_integral(t, np.zeros(3))


def test_fit_order_recovers_known_slopes():
    h = np.array([0.1, 0.05, 0.025])
    assert abs(fit_order(h, 3 * h**2) - 2) < 1e-12
    assert abs(fit_order(h, 0.5 * h**4) - 4) < 1e-12
    assert abs(fit_order(h, h**-2.0) + 2) < 1e-12
    with pytest.raises(ValueError):
        fit_order([0.1], [1.0])
    with pytest.raises(ValueError):
        fit_order([0.1, 0.2], [1.0, 0.0])
