"""Tests of the end-to-end experiments of Sec. 7 of [B]: bbdlib.duality.experiments."""
import math

import numpy as np
import pytest

from bbdlib.duality.experiments import (
    FIGURES,
    ClassResult,
    JumpComparison,
    analyse_class,
    compare_actual_and_potential_jumps,
    figure_composition,
    linear_least_squares,
    plot_figure,
    run_experiment,
    slope_allowance,
)
from bbdlib.duality.toy_model import Composition, rotation_angle


def test_figure_compositions_and_least_squares_line():
    assert figure_composition(4) == Composition("relu", "power", 4.0)
    assert set(FIGURES) == {1, 2, 3, 4, 5}
    with pytest.raises(ValueError, match="figure"):
        figure_composition(6)
    w, b = linear_least_squares()
    assert w == pytest.approx(0.8, rel=1e-15) and b == pytest.approx(0.1, rel=1e-14)


def test_slope_allowance():
    assert slope_allowance(2.0) == pytest.approx(math.log10(1.1 / 0.9) / 2)
    assert slope_allowance(1.0, 0.05) == pytest.approx(math.log10(1.05 / 0.95))
    with pytest.raises(ValueError, match="decades"):
        slope_allowance(0.0)
    with pytest.raises(ValueError, match="rel"):
        slope_allowance(1.0, 1.0)


def test_analyse_class_both_window_rules():
    comp = Composition("relu", "power", 3)
    r = analyse_class(comp, 0.864, 0.045, "-", n_samples=200_000, gamma=0.1, rng=0, n_boot=20,
                      window_rule="critical")
    assert isinstance(r, ClassResult) and r.cls == "-" and r.theta == pytest.approx(math.pi / 2)
    assert r.fit is not None and abs(r.fit.k - 0.5) <= max(r.fit.half_width, slope_allowance(r.decades))
    assert r.fit_text(2) == f"{r.fit.k:.2f}"
    assert r.fit_text(3, interval=True).endswith(f"[{r.fit.ci_low:.3f}, {r.fit.ci_high:.3f}]")
    # the asymptotic rule on the sigmoid: k = 1 over many decades
    r1 = analyse_class(Composition("sigmoid", "cross_entropy"), 16.0, -8.0, "-", n_samples=100_000,
                       gamma=1.0, rng=1, n_boot=20)
    assert r1.has_range and abs(r1.k_jacobian - 1.0) < 0.05
    with pytest.raises(ValueError, match="window_rule"):
        analyse_class(comp, 0.8, 0.1, "-", n_samples=1000, gamma=0.1, rng=0, window_rule="any")


def test_analyse_class_without_range():
    # piece-wise linear + cross-entropy with θ = atan2(b, w): every '+' jump is equal
    r = analyse_class(Composition("piecewise_linear", "cross_entropy"), 0.8, 0.1, "+", n_samples=10_000,
                      gamma=0.1, theta_rule="equilibrium", rng=0)
    assert r.fit is None and r.window is None and "degenerate" in r.note
    assert r.fit_text() == "—" and r.decades == 0.0 and not r.has_range


def test_run_experiment_with_fixed_parameters_and_plot():
    import matplotlib
    matplotlib.use("Agg")
    res = run_experiment(figure_composition(5), gamma=0.1, n_samples=50_000, steps=100, replicas=2,
                         batch=1, rng=0, n_boot=20, fixed_wb=linear_least_squares(), n_accuracy=10_000)
    assert res.training is None and set(res.classes) == {"-", "+"}
    assert res.classes["-"].jump_map.w == res.w
    fig = plot_figure(res, 5, k_theory=2.0)
    assert len(fig.axes) == 4 and "Figure 5" in fig._suptitle.get_text()   # two panels, two edge scans


def test_compare_actual_and_potential_jumps_at_tiny_gamma():
    comp = Composition("relu", "power", 4)
    th = {c: rotation_angle("class_mean", c) for c in "-+"}
    out = compare_actual_and_potential_jumps(comp, 0.82, 0.08, gamma=1e-6, steps=1000, thetas=th,
                                             replicas=20, burn_in=0, rng=0, potential_seed=[1, 2],
                                             fit_seed=0, n_potential=50_000, n_boot=20)
    for cls in "-+":
        c = out[cls]
        assert isinstance(c, JumpComparison) and c.cls == cls
        assert c.ks < 0.05 and c.n_potential <= 50_000
        assert c.w == pytest.approx(0.82, abs=1e-6)


def test_plan_rule_is_the_default_and_gives_the_evidence():
    from bbdlib.duality.experiments import exponent_claim_values
    comp = Composition("relu", "power", 4)
    r = analyse_class(comp, 0.818, 0.081, "-", n_samples=200_000, gamma=0.1, rng=0, n_boot=50)
    assert r.plan is not None and r.measurement is not None and r.jacobian_exact
    assert r.window == (r.plan.x_min, r.plan.x_max)
    v = exponent_claim_values(r, 2 / 3)
    assert v["expected"] == 2 / 3 and abs(v["measured"] - 2 / 3) <= v["tolerance"]
    assert r.k_jacobian == pytest.approx(2 / 3, abs=1e-6)
    # a wrong exponent is not within the tolerance
    assert abs(exponent_claim_values(r, 0.5)["measured"] - 0.5) > v["tolerance"]
    with pytest.raises(TypeError, match="r must be"):
        exponent_claim_values("r", 1.0)


def test_streamed_fit_extends_the_tail_window():
    """Fig. 5's composition at its trained parameters: streaming 10x more inputs than are kept in
    memory extends the window (set below by the flatness of p_y, above by the data)."""
    comp = figure_composition(5)
    kw = dict(n_samples=100_000, gamma=0.1, rng=np.random.default_rng(3), n_boot=20)
    plain = analyse_class(comp, 3.559, -1.275, "-", **kw)
    kw["rng"] = np.random.default_rng(3)
    streamed = analyse_class(comp, 3.559, -1.275, "-", n_stream=1_000_000, **kw)
    assert streamed.streamed is not None and streamed.n_inputs == 1_000_000
    assert streamed.plan.rule_edge == "low"
    assert streamed.decades > plain.decades + 0.5


def test_experiment_rng_and_exact_jacobian():
    from bbdlib.duality.experiments import experiment_rng, jacobian_is_exact
    from bbdlib.duality.jumps import JumpMap
    a = experiment_rng(0, Composition("relu", "power", 4)).random(3)
    b = experiment_rng(0, Composition("relu", "power", 4)).random(3)
    c = experiment_rng(0, Composition("relu", "power", 2)).random(3)
    assert np.array_equal(a, b) and not np.array_equal(a, c)
    with pytest.raises(ValueError, match="seed"):
        experiment_rng(-1, Composition("relu", "mse"))
    assert jacobian_is_exact(JumpMap(Composition("relu", "mse"), 1.0, 0.0, "-", 0.1, math.pi / 2))
    assert not jacobian_is_exact(JumpMap(Composition("relu", "mse"), 1.0, 0.0, "+", 0.1, math.pi / 4))
    assert not jacobian_is_exact(JumpMap(Composition("sigmoid", "mse"), 1.0, 0.0, "-", 0.1, math.pi / 2))


# -- bad input of issue 9 (refused before any training or sampling) -------------------------

@pytest.mark.parametrize("eps", [0.0, 1.0, -0.2, 1.5, float("nan")])
def test_epsilon_outside_zero_one_is_refused(eps):
    comp = figure_composition(4)
    with pytest.raises(ValueError, match="window_tol"):
        analyse_class(comp, 0.9, 0.0, "-", n_samples=10_000, gamma=0.1, rng=0, window_tol=eps)
    with pytest.raises(ValueError, match="window_tol"):
        run_experiment(comp, gamma=0.1, n_samples=10_000, steps=100, replicas=2, batch=1, rng=0,
                       window_tol=eps)


@pytest.mark.parametrize("clip", [0.0, -1.0, float("nan"), float("inf")])
def test_clipping_level_not_positive_is_refused(clip):
    with pytest.raises(ValueError, match="clip_norm"):
        run_experiment(figure_composition(5), gamma=0.1, n_samples=10_000, steps=100, replicas=2,
                       batch=1, rng=0, clip_norm=clip)


def test_unknown_reading_of_eq_7_16_is_refused():
    with pytest.raises(ValueError, match="reading"):
        run_experiment(figure_composition(5), gamma=0.1, n_samples=10_000, steps=100, replicas=2,
                       batch=1, rng=0, reading="sigmoid")


@pytest.mark.parametrize("d", [0.0, -1.0])
def test_minimum_extent_not_positive_is_refused(d):
    from bbdlib.duality.analysis_plan import check_min_decades, measure_exponent
    with pytest.raises(ValueError, match="min_decades"):
        check_min_decades(d)
    with pytest.raises(ValueError, match="min_decades"):
        measure_exponent(np.geomspace(1, 10, 200), (1.0, 10.0), rng=0, min_decades=d)


def test_run_experiments_in_two_processes_equals_one_after_another(tmp_path, monkeypatch):
    """Each experiment draws from its own generator: the same bits in 1 or 2 processes."""
    import bbdlib.duality.experiments as ex
    from bbdlib.duality.experiments import experiment_rng, run_experiments
    monkeypatch.setenv("BBDLIB_CACHE_DIR", "off")
    monkeypatch.setattr(ex, "idle_cores", lambda: 2)   # two processes even on a busy machine
    jobs = {}
    for fig in (3, 5):
        comp = figure_composition(fig)
        jobs[fig] = dict(comp=comp, gamma=0.1, n_samples=20_000, steps=400, replicas=2, batch=4,
                         rng=experiment_rng(1, comp), n_boot=20, n_accuracy=10_000,
                         clip_norm=10.0 if fig == 5 else None)
    one = run_experiments(jobs, workers=1)
    two = run_experiments(jobs, workers=2)
    assert one.workers == 1 and two.workers == 2 and list(two.results) == [3, 5]
    for fig in jobs:
        a, b = one.results[fig], two.results[fig]
        assert (a.w, a.b, a.accuracy) == (b.w, b.b, b.accuracy)
        for c in "-+":
            np.testing.assert_array_equal(a.classes[c].sample.qdot, b.classes[c].sample.qdot)
            assert a.classes[c].fit == b.classes[c].fit and a.classes[c].window == b.classes[c].window
    assert all(v > 0 for v in two.cpu.values())


def test_run_experiments_bad_input():
    from bbdlib.duality.experiments import run_experiments
    with pytest.raises(TypeError, match="jobs"):
        run_experiments({})
    with pytest.raises(TypeError, match="jobs"):
        run_experiments({1: dict(gamma=0.1)})
    with pytest.raises(ValueError, match="workers"):
        run_experiments({1: dict(comp=figure_composition(3), rng=0)}, workers=0)


def test_format_k_never_prints_a_signed_zero():
    from bbdlib.duality.experiments import format_k
    assert format_k(-1e-17) == "0.000" and format_k(-0.0004, 3) == "0.000"
    assert format_k(-0.0006, 3) == "-0.001" and format_k(2.0) == "2.000"
    assert format_k(float("nan")) == "—"


def test_importance_band_reaches_the_lower_edge():
    """'−' class of Fig. 5 at θ₋ = π/2: |q̇′| = γ/(1 − y), so |q̇′| ≥ q iff 1 − y ≤ γ/q."""
    from bbdlib.duality.experiments import importance_band
    from bbdlib.duality.jumps import JumpMap
    jm = JumpMap(figure_composition(5), 3.5, -1.25, "-", 0.1, math.pi / 2)
    lo, hi = importance_band(jm, 2.0)
    assert (lo + hi) / 2 == pytest.approx(1.0, abs=1e-12)
    assert 1.0 - lo == pytest.approx(0.1 / 2.0, rel=0.01)
    with pytest.raises(ValueError, match="q_low"):
        importance_band(jm, -1.0)


def test_importance_fit_agrees_with_the_streamed_fit():
    """The weighted MLE of importance samples near y* and the streamed MLE estimate the same
    exponent over the same window (independent samples: within the interval of a difference)."""
    from bbdlib.duality.experiments import importance_fit
    r = analyse_class(figure_composition(5), 3.5, -1.25, "-", n_samples=200_000, gamma=0.1,
                      rng=np.random.default_rng(2), n_boot=50, n_stream=2_000_000)
    assert r.window is not None and r.streamed is not None
    prop, f = importance_fit(r, 400_000, rng=3, n_boot=50)
    assert prop.band[0] < 1.0 < prop.band[1]
    assert f.n_in_range > r.fit.n_in_range / 10
    assert abs(f.k - r.fit.k) <= 1.5 * math.hypot(f.half_width, r.fit.half_width)
    with pytest.raises(TypeError, match="r"):
        importance_fit("r", 10, rng=0)


def test_idle_cores_is_at_least_one_and_at_most_the_cores():
    import os

    from bbdlib.duality.experiments import idle_cores
    assert 1 <= idle_cores() <= (os.cpu_count() or 1)
