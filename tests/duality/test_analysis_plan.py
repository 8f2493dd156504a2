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


# -- plan_window is the generic search: recorded windows, a generic map, analytic cases ---------------------

#: PlanWindow fields (as float.hex) of plan_window before it was split into the conditions and
#: one search (shared with plan_window_of_map): every figure composition, both classes, at
#: (w, b) = (3.5, -1.25), θ by the class-mean rule, data edges (1e-9, 1e3), with the class's
#: Gaussian p_y ("gauss") and with a wider density ("ydens").  The refactoring must reproduce them
#: bit for bit (a change of density.py or pushforward.py that moves a float changes them too).
_RECORDED = {
    (1, '-', 'gauss'): (
        '0x1.373a298d067dfp-13', '0x1.62174c5776338p-13', '0x1.12e0be826d695p-30', '0x1.f400000000000p+9', 'both',
        '0x1.38d4c29aee256p+0', '0x1.0000000000000p+0', '0x1.5fd5779d4fb48p-4', '0x1.0000000000000p+0', 1,
        '0x1.999999999999ap-4',
    ),
    (1, '-', 'ydens'): (
        '0x1.3d0469b219021p-13', '0x1.8b8019cf39371p-13', '0x1.12e0be826d695p-30', '0x1.f400000000000p+9', 'both',
        '0x1.38e22789e57b4p+0', '0x1.0000000000000p+0', '0x1.73865069520a0p-4', '0x1.ffffffff81213p-1', 1,
        '0x1.999999999999ap-4',
    ),
    (1, '+', 'gauss'): (
        '0x1.09959158db2e6p-12', '0x1.4b5592ba1e001p-12', '0x1.12e0be826d695p-30', '0x1.f400000000000p+9', 'both',
        '0x1.38bcd552b1599p+0', '0x1.03de55c5b9ab6p+0', '0x1.76163fb5942c8p-4', '0x1.fffffffffa9adp-1', 1,
        '0x1.999999999999ap-4',
    ),
    (1, '+', 'ydens'): (
        '0x1.09959158db2e6p-12', '0x1.871fb9f7b23a9p-12', '0x1.12e0be826d695p-30', '0x1.f400000000000p+9', 'both',
        '0x1.38b1ab818a4c9p+0', '0x1.06dde98efddcdp+0', '0x1.982df760ad360p-4', '0x1.fffffaf5ee463p-1', 1,
        '0x1.999999999999ap-4',
    ),
    (2, '-', 'gauss'): (
        '0x1.137706e768e8cp-7', '0x1.3967453eb7168p-7', '0x1.12e0be826d695p-30', '0x1.f400000000000p+9', 'both',
        '0x1.37f105ca89d39p+0', '0x1.0000000000000p+0', '0x1.87c1168e64dc8p-4', '0x1.0000000000000p+0', 1,
        '0x1.999999999999ap-4',
    ),
    (2, '-', 'ydens'): (
        '0x1.e43cf60e00528p-8', '0x1.288b02cafc109p-7', '0x1.12e0be826d695p-30', '0x1.f400000000000p+9', 'both',
        '0x1.387b53d602a12p+0', '0x1.0000000000000p+0', '0x1.72adc37dbb148p-4', '0x1.0000000000000p+0', 1,
        '0x1.999999999999ap-4',
    ),
    (2, '+', 'gauss'): (
        '0x1.1dcf4ae5b4e3cp-7', '0x1.c51df991b621dp-7', '0x1.12e0be826d695p-30', '0x1.f400000000000p+9', 'both',
        '0x1.3895d1dee1150p+0', '0x1.1589debbbae05p+0', '0x1.9267e5d149b60p-4', '0x1.fffffffff9af8p-1', 1,
        '0x1.999999999999ap-4',
    ),
    (2, '+', 'ydens'): (
        '0x1.f66c54b34a088p-8', '0x1.c51df991b621dp-7', '0x1.12e0be826d695p-30', '0x1.f400000000000p+9', 'both',
        '0x1.3740bbea4d9e9p+0', '0x1.1b598b97210f2p+0', '0x1.9267e5d149b60p-4', '0x1.fffffc26b4909p-1', 1,
        '0x1.999999999999ap-4',
    ),
    (3, '-', 'gauss'): (
        '0x1.12e0be826d695p-30', '0x1.7b9a6c2486843p-6', '0x1.12e0be826d695p-30', '0x1.f400000000000p+9', 'high',
        '0x1.3805efd6c4b58p+0', '0x1.0000000000000p+0', '0x0.0p+0', '0x1.0000000000000p+0', 1,
        '0x1.999999999999ap-4',
    ),
    (3, '-', 'ydens'): (
        '0x1.12e0be826d695p-30', '0x1.38353d3f6de2cp-5', '0x1.12e0be826d695p-30', '0x1.f400000000000p+9', 'high',
        '0x1.3817b0a5058e9p+0', '0x1.0000000000000p+0', '0x0.0p+0', '0x1.0000000000000p+0', 1,
        '0x1.999999999999ap-4',
    ),
    (3, '+', 'gauss'): (
        '0x1.12e0be826d695p-30', '0x1.cd8bfd7e8e90dp-7', '0x1.12e0be826d695p-30', '0x1.f400000000000p+9', 'high',
        '0x1.38163ec32826fp+0', '0x1.057526452cd86p+0', '0x0.0p+0', '0x1.fffffffffffffp-1', 2,
        '0x1.999999999999ap-4',
    ),
    (3, '+', 'ydens'): (
        '0x1.12e0be826d695p-30', '0x1.89dbda4c0f80ap-6', '0x1.12e0be826d695p-30', '0x1.f400000000000p+9', 'high',
        '0x1.38c93d93b1ad0p+0', '0x1.09642a5fa1cf0p+0', '0x0.0p+0', '0x1.ffffffffffffep-1', 2,
        '0x1.999999999999ap-4',
    ),
    (4, '-', 'gauss'): (
        '0x1.12e0be826d695p-30', '0x1.5a4c421c1f631p-11', '0x1.12e0be826d695p-30', '0x1.f400000000000p+9', 'high',
        '0x1.38a45a9190a6ep+0', '0x1.0000000000000p+0', '0x0.0p+0', '0x1.0000000000000p+0', 1,
        '0x1.999999999999ap-4',
    ),
    (4, '-', 'ydens'): (
        '0x1.12e0be826d695p-30', '0x1.7a487124e5983p-9', '0x1.12e0be826d695p-30', '0x1.f400000000000p+9', 'high',
        '0x1.389d5124162edp+0', '0x1.0000000000000p+0', '0x0.0p+0', '0x1.0000000000000p+0', 1,
        '0x1.999999999999ap-4',
    ),
    (4, '+', 'gauss'): (
        '0x1.12e0be826d695p-30', '0x1.beb205340ed5ap-14', '0x1.12e0be826d695p-30', '0x1.f400000000000p+9', 'high',
        '0x1.38a39537cf510p+0', '0x1.0582202fd6ef2p+0', '0x0.0p+0', '0x1.ffffffffffffep-1', 2,
        '0x1.999999999999ap-4',
    ),
    (4, '+', 'ydens'): (
        '0x1.12e0be826d695p-30', '0x1.0b88185153cd6p-11', '0x1.12e0be826d695p-30', '0x1.f400000000000p+9', 'high',
        '0x1.38827cd37ea7cp+0', '0x1.095b43f309746p+0', '0x0.0p+0', '0x1.ffffffffffffep-1', 2,
        '0x1.999999999999ap-4',
    ),
    (5, '-', 'gauss'): (
        '0x1.7746a31e081cdp+0', '0x1.f400000000000p+9', '0x1.12e0be826d695p-30', '0x1.f400000000000p+9', 'low',
        '0x1.37c93f96960f1p+0', '0x1.0000000000000p+0', '0x0.0p+0', '0x1.0000000000000p+0', 1,
        '0x1.999999999999ap-4',
    ),
    (5, '-', 'ydens'): (
        '0x1.afbd026030c17p-1', '0x1.f400000000000p+9', '0x1.12e0be826d695p-30', '0x1.f400000000000p+9', 'low',
        '0x1.38dec074f3e0fp+0', '0x1.0000000000000p+0', '0x0.0p+0', '0x1.0000000000000p+0', 1,
        '0x1.999999999999ap-4',
    ),
    (5, '+', 'gauss'): (
        '0x1.69b1648867ac3p+0', '0x1.f400000000000p+9', '0x1.12e0be826d695p-30', '0x1.f400000000000p+9', 'low',
        '0x1.3867773118e55p+0', '0x1.03b55ffacd148p+0', '0x0.0p+0', '0x1.0000000000000p+0', 1,
        '0x1.999999999999ap-4',
    ),
    (5, '+', 'ydens'): (
        '0x1.afbd026030c17p-1', '0x1.f400000000000p+9', '0x1.12e0be826d695p-30', '0x1.f400000000000p+9', 'low',
        '0x1.37d8c7770efacp+0', '0x1.06475ad7eda6dp+0', '0x0.0p+0', '0x1.0000000000000p+0', 1,
        '0x1.999999999999ap-4',
    ),
}


def _figure_map(fig, cls, w=3.5, b=-1.25):
    from bbdlib.duality.experiments import figure_composition
    from bbdlib.duality.toy_model import rotation_angle
    return JumpMap(figure_composition(fig), w, b, cls, 0.1, rotation_angle("class_mean", cls, w, b))


def _hex_fields(pw):
    import dataclasses
    return tuple(float(getattr(pw, f.name)).hex() if isinstance(getattr(pw, f.name), float) else getattr(pw, f.name)
                 for f in dataclasses.fields(pw))


@pytest.mark.parametrize("fig", [1, 2, 3, 4, 5])
@pytest.mark.parametrize("cls", ["-", "+"])
def test_plan_window_reproduces_the_recorded_windows_bit_for_bit(fig, cls):
    jm = _figure_map(fig, cls)

    def wider(y):
        return np.exp(-0.5 * ((y - jm.y_mean) / (1.3 * jm.y_std)) ** 2)

    assert _hex_fields(plan_window(jm, data_edges=(1e-9, 1e3))) == _RECORDED[(fig, cls, "gauss")]
    assert _hex_fields(plan_window(jm, data_edges=(1e-9, 1e3), y_density=wider)) == _RECORDED[(fig, cls, "ydens")]


def test_no_window_message_is_unchanged():
    jm = _figure_map(1, "-", 0.9, 0.02)
    with pytest.raises(ValueError, match=r"no window for sigmoid \+ \(f − x²\)², class '-': the approximations of "
                                         r"Sec\. 6 do not hold to ε = 0\.1 anywhere inside the sampled range"):
        plan_window(jm, data_edges=(1e-9, 1e3))


@pytest.mark.parametrize("fig, cls", [(3, "+"), (4, "-"), (5, "+")])
def test_generic_map_with_the_jump_maps_ingredients_is_plan_window(fig, cls):
    """plan_window_of_map fed the jump map's q̇′(y), its y grid, the rotation factor and the
    deviation from the asymptotic form gives the very same PlanWindow as plan_window."""
    from bbdlib.duality.analysis_plan import plan_window_of_map
    from bbdlib.duality.density import _y_grid
    jm = _figure_map(fig, cls)
    comp, t = jm.composition, jm.target
    pw = plan_window_of_map(
        jm.qdot_of_y, jm.dqdot_dy, _y_grid(jm, 100_001, 12.0), y_mean=jm.y_mean, y_std=jm.y_std,
        factor=lambda y: jm.rotation_factor((y - jm.b) / jm.w),
        deviation=lambda y: comp.dH(y, t) / comp.dH_asymptotic(y, t) - 1.0, data_edges=(1e-9, 1e3))
    assert pw == plan_window(jm, data_edges=(1e-9, 1e3))


def _power(n):
    return (lambda y: y ** n), (lambda y: n * y ** (n - 1))


@pytest.mark.parametrize("n", [1.0, 3.0])
def test_generic_window_gaussian_p_y_edges_where_p_y_has_fallen(n):
    """q = y^n on y > 0 with p_y = N(1, 0.1²), nothing else neglected, data edges 0.5^n, 2^n:
    the window is the y range where p_y stays within (1 − ε)/(1 + ε) of its peak, y = 1 ± σ√(2 log lim),
    mapped by y^n, and both edges are set by p_y."""
    from bbdlib.duality.analysis_plan import plan_window_of_map
    q, dq = _power(n)
    y = np.linspace(1e-3, 3.0, 30_001)
    pw = plan_window_of_map(q, dq, y, y_mean=1.0, y_std=0.1, factor=lambda v: np.ones_like(v),
                            data_edges=(0.5 ** n, 2.0 ** n))
    lim = (1 + EPSILON) / (1 - EPSILON)
    d = 0.1 * math.sqrt(2 * math.log(lim))
    assert pw.rule_edge == "both" and pw.n_branches == 1
    assert pw.x_min == pytest.approx((1 - d) ** n, rel=2e-3 * n)
    assert pw.x_max == pytest.approx((1 + d) ** n, rel=2e-3 * n)
    assert pw.py_ratio <= lim * (1 + 1e-9) and pw.factor_ratio == 1.0 and pw.asymptotic_dev == 0.0


def test_generic_window_flat_p_y_neglected_factor_sets_the_extent():
    """q = y² with p_y flat on (0.1, 10) and a neglected factor ∝ y: the window is any y range
    with y_max/y_min = (1 + ε)/(1 − ε), i.e. 2 log10 of that in decades of q."""
    from bbdlib.duality.analysis_plan import plan_window_of_map
    q, dq = _power(2.0)
    y = np.geomspace(0.1, 10.0, 20_001)

    def flat(v):
        return np.where((v > 0.1) & (v < 10.0), 1.0 / 9.9, 0.0)

    pw = plan_window_of_map(q, dq, y, y_density=flat, factor=lambda v: v, data_edges=(0.02, 80.0))
    lim = (1 + EPSILON) / (1 - EPSILON)
    assert pw.decades == pytest.approx(2 * math.log10(lim), abs=0.01)
    assert pw.factor_ratio <= lim * (1 + 1e-9) and pw.py_ratio == pytest.approx(1.0)
    # without the factor the whole flat range is the window (both edges where p_y ends)
    pw1 = plan_window_of_map(q, dq, y, y_density=flat, factor=lambda v: 1.0, data_edges=(0.02, 80.0))
    assert pw1.x_min == pytest.approx(0.01, rel=0.01) or pw1.x_min >= 0.02
    assert pw1.decades == pytest.approx(math.log10(80.0 / 0.02), abs=0.01)


def test_generic_window_deviation_restricts_the_window():
    """Condition 2: a deviation |y − 1| from the asymptotic form keeps the window inside |y − 1| ≤ ε."""
    from bbdlib.duality.analysis_plan import plan_window_of_map
    q, dq = _power(1.0)
    y = np.linspace(1e-3, 3.0, 30_001)
    pw = plan_window_of_map(q, dq, y, y_mean=1.0, y_std=10.0, factor=lambda v: 1.0,
                            deviation=lambda v: v - 1.0, data_edges=(0.5, 2.0))
    assert pw.x_min == pytest.approx(0.9, rel=1e-3) and pw.x_max == pytest.approx(1.1, rel=1e-3)
    assert pw.asymptotic_dev <= EPSILON


def test_generic_window_two_branches():
    """q = y² on a y grid across 0 with p_y symmetric about 0: two branches share the density."""
    from bbdlib.duality.analysis_plan import plan_window_of_map
    q, dq = _power(2.0)
    y = np.concatenate([-np.geomspace(5.0, 1e-9, 5000), np.geomspace(1e-9, 5.0, 5000)])
    pw = plan_window_of_map(q, dq, y, y_mean=0.0, y_std=1.0, factor=lambda v: 1.0, data_edges=(1e-8, 10.0))
    assert pw.n_branches == 2 and pw.branch_share == pytest.approx(1.0)
    lim = (1 + EPSILON) / (1 - EPSILON)
    step = (10.0 / 1e-8) ** (1 / 1499)                                # the |q̇′| grid's spacing
    assert 2 * math.log(lim) / step <= pw.x_max <= 2 * math.log(lim)  # y² where p_y(y)/p_y(0) = 1/lim
    assert pw.rule_edge == "high"


@pytest.mark.parametrize("kw, exc, match", [
    (dict(qdot="q"), TypeError, "qdot"),
    (dict(dqdot_dy=None), TypeError, "dqdot_dy"),
    (dict(factor=None), TypeError, "factor"),
    (dict(deviation=1.0), TypeError, "deviation"),
    (dict(y_grid=np.array([1.0, 0.5, 2.0])), ValueError, "y_grid"),
    (dict(y_grid=np.array([1.0])), ValueError, "y_grid"),
    (dict(y_mean=None), ValueError, "y_mean"),
    (dict(y_std=0.0), ValueError, "y_std"),
    (dict(y_density="p"), TypeError, "y_density"),
    (dict(eps=1.0), ValueError, "eps"),
    (dict(n_points=10), ValueError, "n_points"),
    (dict(data_edges=None), ValueError, "exactly one"),
    (dict(abs_q=np.ones(1000)), ValueError, "exactly one"),
    (dict(data_edges=(1.0,)), TypeError, "data_edges"),
    (dict(data_edges=(0.0, 1.0)), ValueError, r"data_edges\[0\]"),
    (dict(data_edges=(2.0, 1.0)), ValueError, "coincide"),
    (dict(label=3), TypeError, "label"),
])
def test_plan_window_of_map_bad_input(kw, exc, match):
    from bbdlib.duality.analysis_plan import plan_window_of_map
    q, dq = _power(2.0)
    args = dict(qdot=q, dqdot_dy=dq, y_grid=np.linspace(0.1, 3.0, 100), y_mean=1.0, y_std=0.5,
                factor=lambda v: 1.0, data_edges=(0.1, 5.0))
    args.update(kw)
    with pytest.raises(exc, match=match):
        plan_window_of_map(args.pop("qdot"), args.pop("dqdot_dy"), args.pop("y_grid"), **args)


def test_plan_window_of_map_no_window():
    from bbdlib.duality.analysis_plan import plan_window_of_map
    q, dq = _power(2.0)
    with pytest.raises(ValueError, match="no window for the map"):
        plan_window_of_map(q, dq, np.linspace(0.1, 3.0, 1000), y_mean=1.0, y_std=0.5, factor=lambda v: 1.0,
                           data_edges=(100.0, 200.0))
