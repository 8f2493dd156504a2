"""Tests of bbdlib.duality.boxed_compositions: the boxed compositions of Sec. 6 of [B] on samples."""
import dataclasses
import math

import numpy as np
import pytest

from bbdlib.duality.analysis_plan import EPSILON, PlanWindow
from bbdlib.duality.boxed_compositions import (
    BoxedCheck,
    BoxedComposition,
    boxed_plan_window,
    boxed_y_grid,
    check_k_on_samples,
)


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


def test_neglected_factor_is_the_rotation_factor_against_the_papers_limit():
    y = np.array([0.1, 0.5, 2.0])
    exp = BoxedComposition("exp", D=0.1, C=1.0, A=20.0)
    np.testing.assert_allclose(exp.rotation(y), 1.0 - 0.1 * y)
    np.testing.assert_allclose(exp.neglected_factor(y), 1.0 - 0.1 * y)            # R_a = C
    p18 = BoxedComposition("power", D=0.01, C=1.0, n=4.0, Delta=0.5)
    np.testing.assert_allclose(p18.neglected_factor(y), (1.0 - 0.01 * y) / (1.0 + 0.01 * 0.5))  # R_a = C + DΔ
    p15 = BoxedComposition("power", D=1.0, C=1e-5, n=2.0, Delta=0.0, regime="large_Du")
    np.testing.assert_allclose(p15.neglected_factor(y), 1.0 - 1e-5 / y)           # R/(−Du) = 1 − E/(Du)
    log = BoxedComposition("log", D=0.01, C=1.0, Delta=1.0)
    np.testing.assert_allclose(log.neglected_factor(y), 1.0 - 0.01 * y)            # R_a = C
    # q̇′ = R · (−dH/dy): the rotation factor is the one of eq. (6.4)
    np.testing.assert_allclose(p18.qdot(y), p18.rotation(y) * 4 * (y + 0.5) ** 3, rtol=1e-13)


def test_y_grid_is_refined_towards_the_special_points_and_skips_them():
    comp = BoxedComposition("log", D=0.01, C=1.0, Delta=1.0)
    g = boxed_y_grid(comp, mean_y=0.79, std_y=1.0)
    assert np.all(np.diff(g) > 0) and not np.any(g == 1.0)
    assert np.min(np.abs(g - 1.0)) < 1e-10
    assert g.min() > 0.79 - 12 and g.max() < 0.79 + 12


def test_exact_k2_map_has_the_p_y_window_and_reproduces_k():
    """H = −log(1 − y) with D = 0: q̇′ = C/(1 − y) exactly, nothing is neglected (factor 1), so
    only p_y sets the window: two branches (y < 1 and y > 1), and k = 2 is measured."""
    comp = BoxedComposition("log", D=0.0, C=1.0, Delta=1.0)
    r = check_k_on_samples(comp, mean_y=0.79, std_y=1.0, n_samples=400_000, rng=3, n_boot=50)
    assert isinstance(r, BoxedCheck) and isinstance(r.window, PlanWindow)
    w, m = r.window, r.measurement
    assert w.factor_ratio == 1.0 and w.asymptotic_dev == 0.0 and w.n_branches == 2
    lim = (1 + EPSILON) / (1 - EPSILON)
    assert w.rule_edge == "low" and w.py_ratio <= lim * (1 + 1e-9)
    # the lower edge: δ = |y − 1| with (δ + 0.21)² / 2 = log lim on the branch y = 1 + δ (p_y peaks at 0.79 < 1)
    delta = math.sqrt(2 * math.log(lim)) - 0.21
    assert w.x_min == pytest.approx(1 / delta, rel=0.01)
    assert m.has_range and m.stable and m.agrees(2.0)
    assert "window [" in r.evidence() and "k = " in r.evidence()
    with pytest.raises(dataclasses.FrozenInstanceError):
        r.note = "x"


@pytest.mark.parametrize("kind, params, mu, k", [
    ("exp", dict(D=0.1, C=1.0, A=20.0), 0.0, 1.0),
    ("power", dict(D=0.01, C=1.0, n=4.0), 0.21, 2 / 3),
    ("power", dict(D=1.0, C=1e-5, n=2.0, regime="large_Du"), 0.21, 0.5),
])
def test_boxed_checks_reproduce_k_where_the_limit_holds(kind, params, mu, k):
    r = check_k_on_samples(BoxedComposition(kind, **params), mean_y=mu, std_y=1.0, n_samples=300_000,
                           rng=7, n_boot=50)
    assert r.measurement.agrees(k), r.evidence()
    assert r.window.factor_ratio <= (1 + EPSILON) / (1 - EPSILON) * (1 + 1e-9)


def test_out_of_its_limit_there_is_no_range():
    """(6.15) needs |Du| ≫ |E|: with E = C = 1 ≫ |Du| the neglected factor 1 − E/(Du) is far from
    constant everywhere, and the plan finds no window (or none of a decade)."""
    comp = BoxedComposition("power", D=0.01, C=1.0, n=2.0, regime="large_Du")
    r = check_k_on_samples(comp, mean_y=0.21, std_y=1.0, n_samples=50_000, rng=1, n_boot=20)
    assert r.window is None or r.window.decades < 1.0
    if r.window is None:
        assert r.measurement is None and r.evidence().startswith("no window")


def test_bad_input():
    with pytest.raises(ValueError, match="kind"):
        BoxedComposition("cubic", D=1.0, C=1.0)
    with pytest.raises(ValueError, match="regime"):
        BoxedComposition("exp", D=1.0, C=1.0, regime="huge")
    with pytest.raises(ValueError, match="large_Du"):
        BoxedComposition("exp", D=1.0, C=1.0, regime="large_Du")
    comp = BoxedComposition("exp", D=0.1, C=1.0)
    with pytest.raises(ValueError, match="std_y"):
        check_k_on_samples(comp, mean_y=0.0, std_y=0.0, n_samples=10, rng=0)
    with pytest.raises(TypeError, match="n_samples"):
        check_k_on_samples(comp, mean_y=0.0, std_y=1.0, n_samples=10.0, rng=0)
    with pytest.raises(TypeError, match="BoxedComposition"):
        check_k_on_samples("exp", mean_y=0.0, std_y=1.0, n_samples=10, rng=0)
    with pytest.raises(ValueError, match="eps"):
        check_k_on_samples(comp, mean_y=0.0, std_y=1.0, n_samples=1000, rng=0, eps=1.0)
    with pytest.raises(ValueError, match="n_grid"):
        boxed_y_grid(comp, mean_y=0.0, std_y=1.0, n_grid=10)
    with pytest.raises(ValueError, match="exactly one"):
        boxed_plan_window(comp, mean_y=0.0, std_y=1.0)
