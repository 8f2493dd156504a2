"""Tests of bbdlib.duality.analysis_plan: the one fitting-window rule and the measurement."""
import math

import numpy as np
import pytest

from bbdlib.duality.analysis_plan import (
    EPSILON,
    MIN_DECADES,
    check_epsilon,
    check_min_decades,
    claim_values,
    measure_exponent,
    plan_window,
    slope_allowance,
)
from bbdlib.duality.density import exact_density
from bbdlib.duality.jumps import JumpMap
from bbdlib.duality.toy_model import Composition
from bbdlib.powerlaw import sample_truncated_powerlaw


def _relu_mse_minus(w=0.9, b=0.02):
    return JumpMap(Composition("relu", "mse"), w, b, "-", 0.1, math.pi / 2)


def test_relu_mse_window_is_set_by_the_flatness_of_p_y():
    """θ₋ = π/2: |q̇′| = 2γy exactly, so only p_y limits the window: its edge is where
    p_y has fallen by (1 − ε)/(1 + ε) from its largest value on the window (the class mean
    y = b lies inside it)."""
    jm = _relu_mse_minus()
    aq = jm.sample(400_000, rng=1).abs_qdot
    pw = plan_window(jm, aq)
    lim = (1 + EPSILON) / (1 - EPSILON)
    assert pw.rule_edge == "high"
    assert pw.py_ratio <= lim * (1 + 1e-9)
    assert pw.py_ratio > lim * 0.97            # the window is the largest: it uses the bound
    assert pw.factor_ratio == pytest.approx(1.0, abs=1e-12)
    # the analytic edge: y_max with p_y(b)/p_y(y_max) = lim, i.e. (y_max − b)² = 2σ² log lim
    sd = jm.y_std
    y_max = jm.b + sd * math.sqrt(2 * math.log(lim))
    assert pw.x_max == pytest.approx(2 * jm.gamma * y_max, rel=0.01)
    # the lower edge is the data edge
    assert pw.x_min == pytest.approx(np.partition(aq, 99)[99], rel=1e-2)


def test_window_conditions_hold_inside_and_window_within_data():
    jm = JumpMap(Composition("relu", "power", 4.0), 0.82, 0.08, "+", 0.1, math.pi / 4)
    aq = jm.sample(300_000, rng=2).abs_qdot
    pw = plan_window(jm, aq)
    assert pw.data_low <= pw.x_min < pw.x_max <= pw.data_high
    assert pw.n_branches == 2            # both sides of y* = 1
    q = np.geomspace(pw.x_min, pw.x_max, 200)
    ed = exact_density(jm, q)
    ys = ed.preimages[np.isfinite(ed.preimages)]
    py = jm.y_density(ys)
    assert py.max() / py.min() <= (1 + EPSILON) / (1 - EPSILON) * 1.01


def test_data_edges_given_directly_equal_the_sampled_ones():
    jm = _relu_mse_minus()
    aq = jm.sample(100_000, rng=3).abs_qdot
    a = plan_window(jm, aq)
    b = plan_window(jm, data_edges=(a.data_low, a.data_high))
    assert (a.x_min, a.x_max) == (b.x_min, b.x_max)


@pytest.mark.parametrize("k", [0.0, 2.0 / 3.0, 1.0, 2.0])
def test_measurement_of_a_true_power_law_agrees_and_is_stable(k):
    rng = np.random.default_rng(11)
    x = sample_truncated_powerlaw(k, 1e-3, 1e1, 200_000, rng=rng)
    m = measure_exponent(x, (1e-3, 1e1), rng=rng, n_boot=50)
    assert m.has_range and m.stable and m.agrees(k)
    assert m.ks < 0.01
    assert len(m.edge_scan) >= 5


def test_a_broken_power_law_is_unstable():
    """k = 0 below 1, k = 2 above: neither half agrees with the other."""
    rng = np.random.default_rng(4)
    lo = sample_truncated_powerlaw(0.0, 1e-2, 1.0, 100_000, rng=rng)
    hi = sample_truncated_powerlaw(2.0, 1.0, 1e2, 100_000, rng=rng)
    m = measure_exponent(np.concatenate([lo, hi]), (1e-2, 1e2), rng=rng, n_boot=50)
    assert not m.stable
    assert not m.agrees(m.k)


def test_a_short_window_is_no_range():
    rng = np.random.default_rng(6)
    x = sample_truncated_powerlaw(1.0, 1.0, 5.0, 50_000, rng=rng)
    m = measure_exponent(x, (1.0, 5.0), rng=rng, n_boot=50)
    assert m.decades < MIN_DECADES and not m.has_range and not m.agrees(1.0)


def test_slope_allowance():
    assert slope_allowance(2.0, 0.1) == pytest.approx(math.log10(1.1 / 0.9) / 2)


@pytest.mark.parametrize("eps", [0.0, 1.0, -0.1, 1.5, float("nan")])
def test_bad_epsilon(eps):
    with pytest.raises(ValueError, match="eps"):
        check_epsilon(eps)
    jm = _relu_mse_minus()
    with pytest.raises(ValueError, match="eps"):
        plan_window(jm, data_edges=(1e-3, 1.0), eps=eps)
    with pytest.raises(ValueError, match="eps"):
        measure_exponent(np.geomspace(1, 10, 100), (1.0, 10.0), rng=0, eps=eps)


@pytest.mark.parametrize("d", [0.0, -1.0])
def test_bad_min_decades(d):
    with pytest.raises(ValueError, match="min_decades"):
        check_min_decades(d)
    with pytest.raises(ValueError, match="min_decades"):
        measure_exponent(np.geomspace(1, 10, 100), (1.0, 10.0), rng=0, min_decades=d)


def test_plan_window_bad_input():
    jm = _relu_mse_minus()
    with pytest.raises(ValueError, match="exactly one"):
        plan_window(jm)
    with pytest.raises(ValueError, match="exactly one"):
        plan_window(jm, np.ones(1000), data_edges=(1e-3, 1.0))
    with pytest.raises(TypeError, match="jump_map"):
        plan_window("relu", data_edges=(1e-3, 1.0))
    with pytest.raises(ValueError, match="abs_q"):
        plan_window(jm, np.ones(50))
    with pytest.raises(ValueError, match="scanned_edge"):
        measure_exponent(np.geomspace(1, 10, 100), (1.0, 10.0), rng=0, scanned_edge="middle")


def test_measure_exponent_equals_fits_on_the_whole_sample():
    """measure_exponent keeps only the samples inside its ranges before fitting: every fit,
    the KS distance and the generator's state afterwards equal those of fits on all samples."""
    import bbdlib.powerlaw as pl
    from bbdlib.duality.analysis_plan import N_EDGE_SCAN
    x = np.concatenate([sample_truncated_powerlaw(2.0, 1e-3, 1e3, 300_000, rng=1),
                        sample_truncated_powerlaw(0.5, 1e-6, 1e6, 20_000, rng=2)])
    lo, hi = 1e-2, 10.0
    r1 = np.random.default_rng(5)
    m = measure_exponent(x, (lo, hi), rng=r1, scanned_edge="low", limits=(1e-4, 1e2), n_boot=40)
    r2 = np.random.default_rng(5)
    fit = pl.fit_truncated_powerlaw(x, lo, hi, rng=r2, n_boot=40)
    mid = math.sqrt(lo * hi)
    h1 = pl.fit_truncated_powerlaw(x, lo, mid, rng=r2, n_boot=40)
    h2 = pl.fit_truncated_powerlaw(x, mid, hi, rng=r2, n_boot=40)
    edges = np.geomspace(max(1e-4, lo / 10), mid, N_EDGE_SCAN)
    scan = tuple((float(e), pl.fit_truncated_powerlaw(x, e, hi, rng=r2, n_boot=20).k) for e in edges)
    assert (m.fit, m.half_low, m.half_high, m.edge_scan) == (fit, h1, h2, scan)
    assert m.ks == pl.ks_distance(x, fit.k, lo, hi)
    assert r1.random() == r2.random()


def test_claim_values_from_a_measurement():
    rng = np.random.default_rng(21)
    x = sample_truncated_powerlaw(1.0, 1e-3, 1e1, 100_000, rng=rng)
    m = measure_exponent(x, (1e-3, 1e1), rng=rng, n_boot=50)
    v = claim_values(1.0, measurement=m)
    assert v["measured"] == m.k and v["tolerance"] == m.tolerance and v["expected"] == 1.0
    assert v["ci"] == [m.fit.ci_low, m.fit.ci_high]
    short = measure_exponent(x, (1.0, 5.0), rng=rng, n_boot=20)
    assert claim_values(1.0, measurement=short)["measured"].startswith("no power-law range (0.70 decades)")
    lo = sample_truncated_powerlaw(0.0, 1e-2, 1.0, 100_000, rng=rng)
    hi = sample_truncated_powerlaw(2.0, 1.0, 1e2, 100_000, rng=rng)
    broken = measure_exponent(np.concatenate([lo, hi]), (1e-2, 1e2), rng=rng, n_boot=20)
    assert claim_values(1.0, measurement=broken)["measured"].startswith("halves ")


def test_claim_values_without_a_measurement():
    assert claim_values(2.0) == {"expected": "k = 2 over at least 1 decade", "measured": "no window"}
    assert claim_values(2.0, window_decades=0.4)["measured"] == "no power-law range (0.40 decades)"
    assert claim_values(2.0, window_decades=0.4, min_decades=0.3)["measured"] == "no fit in the window"
    v = claim_values(2.0, window_decades=1.5, measured=1.9, tolerance=0.2, ci=(1.8, 2.0))
    assert v == {"expected": 2.0, "measured": 1.9, "tolerance": 0.2, "ci": [1.8, 2.0]}
    rng = np.random.default_rng(2)
    x = sample_truncated_powerlaw(2.0, 1.0, 100.0, 50_000, rng=rng)
    from bbdlib.powerlaw import fit_truncated_powerlaw
    fit = fit_truncated_powerlaw(x, 1.0, 100.0, rng=rng, n_boot=20)
    v = claim_values(2.0, window_decades=2.0, fit=fit, eps=0.05)
    assert v["tolerance"] == pytest.approx(slope_allowance(2.0, 0.05) + fit.half_width)


@pytest.mark.parametrize("kw, match", [
    (dict(k_theory="1"), "k_theory"),
    (dict(k_theory=1.0, min_decades=0.0), "min_decades"),
    (dict(k_theory=1.0, measurement="m"), "measurement"),
    (dict(k_theory=1.0, window_decades=-1.0), "window_decades"),
    (dict(k_theory=1.0, window_decades=2.0, measured=1.0), "tolerance"),
    (dict(k_theory=1.0, window_decades=2.0, measured=1.0, tolerance=0.0), "tolerance"),
    (dict(k_theory=1.0, window_decades=2.0, fit="f"), "fit"),
])
def test_claim_values_bad_input(kw, match):
    with pytest.raises((TypeError, ValueError), match=match):
        claim_values(**kw)
