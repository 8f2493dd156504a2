"""Tests of bbdlib.duality.boxed_compositions: the boxed compositions of Sec. 6 of [B] on samples."""
import dataclasses

import numpy as np
import pytest

from bbdlib.duality.boxed_compositions import BoxedComposition, ExponentCheck, check_k_on_samples
from bbdlib.powerlaw import PowerLawFit


def test_derivatives_against_finite_differences():
    comp = BoxedComposition("exp", D=0.3, C=1.0, A=2.0)
    y = np.linspace(-0.5, 0.5, 11)
    h = 1e-5
    np.testing.assert_allclose(comp.dqdot_dy(y), (comp.qdot(y + h) - comp.qdot(y - h)) / (2 * h), rtol=1e-6)

    def logj(t):
        return -np.log(np.abs(comp.dqdot_dy(t)))

    dlogj = (logj(y + h) - logj(y - h)) / (np.log(np.abs(comp.qdot(y + h))) - np.log(np.abs(comp.qdot(y - h))))
    np.testing.assert_allclose(comp.local_exponent(y), -dlogj, rtol=1e-5)


def test_power_composition_values():
    comp = BoxedComposition("power", D=1.0, C=0.5, n=3.0, Delta=0.2)
    y = np.array([0.1, 0.4])
    np.testing.assert_allclose(comp.qdot(y), -(y - 0.5) * 3 * (y + 0.2) ** 2, rtol=1e-13)


def test_k_check_recovers_exact_power_law():
    # H = -log(1 - y) with D = 0 gives q̇' = C/(1 - y): k = 2 exactly
    comp = BoxedComposition("log", D=0.0, C=1.0, Delta=1.0)
    r = check_k_on_samples(comp, mean_y=0.79, std_y=1.0, half_width=0.2, n_samples=200_000, rng=3)
    assert isinstance(r, ExponentCheck) and isinstance(r.fit, PowerLawFit)
    assert r.monotone
    assert abs(r.k_loc_min - 2) < 1e-12 and abs(r.k_loc_max - 2) < 1e-12
    assert abs(r.fit.k - 2) < 0.05
    assert r.fit.x_min == pytest.approx(1 / (1 - 0.59)) and r.fit.x_max == pytest.approx(1 / (1 - 0.99))
    assert (r.y_low, r.y_high) == pytest.approx((0.59, 0.99))
    with pytest.raises(dataclasses.FrozenInstanceError):
        r.monotone = False


def test_bad_input():
    with pytest.raises(ValueError, match="kind"):
        BoxedComposition("cubic", D=1.0, C=1.0)
    comp = BoxedComposition("exp", D=0.1, C=1.0)
    with pytest.raises(ValueError, match="std_y"):
        check_k_on_samples(comp, mean_y=0.0, std_y=0.0, half_width=0.2, n_samples=10, rng=0)
    with pytest.raises(TypeError, match="n_samples"):
        check_k_on_samples(comp, mean_y=0.0, std_y=1.0, half_width=0.2, n_samples=10.0, rng=0)
    with pytest.raises(TypeError, match="BoxedComposition"):
        check_k_on_samples("exp", mean_y=0.0, std_y=1.0, half_width=0.2, n_samples=10, rng=0)
    with pytest.raises(ValueError, match="half_width"):
        check_k_on_samples(comp, mean_y=0.0, std_y=1.0, half_width=0.0, n_samples=10, rng=0)
