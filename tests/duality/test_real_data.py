"""Tests of bbdlib.duality.real_data: projection, scaling, kernel estimate, empirical data set."""
from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.stats import gaussian_kde

from bbdlib.duality import analysis_plan as plan
from bbdlib.duality.density import exact_density
from bbdlib.duality.experiments import figure_composition
from bbdlib.duality.jumps import JumpMap
from bbdlib.duality.pushforward import branch_density, gaussian_pdf
from bbdlib.duality.real_data import (
    EmpiricalTwoClassData,
    analyse_digit_class,
    check_digit_classes,
    digit_claim_values,
    fit_projection,
    image_fit_claim_values,
    kernel_density,
    load_digit_pair,
    projected_digits,
    resample_images,
)
from bbdlib.duality.training import train_sgd


@pytest.fixture(scope="module")
def digits01():
    return load_digit_pair((0, 1))


def _synthetic(n=400, seed=0):
    rng = np.random.default_rng(seed)
    cov = np.array([[1.0, 0.6], [0.6, 0.5]])
    L = np.linalg.cholesky(cov)
    xm = rng.standard_normal((n, 2)) @ L.T
    xp = rng.standard_normal((n, 2)) @ L.T + np.array([1.0, 0.2])
    return np.vstack([xm, xp]), np.r_[np.zeros(n, bool), np.ones(n, bool)], cov


# -- bad input -----------------------------------------------------------------
@pytest.mark.parametrize("classes, name", [((0, 10), "classes[1]"), ((-1, 1), "classes[0]")])
def test_digit_class_outside_range(classes, name):
    with pytest.raises(ValueError, match=re_name(name)):
        check_digit_classes(classes)


def re_name(name):
    import re
    return re.escape(name)


def test_equal_classes_rejected():
    with pytest.raises(ValueError, match="classes must be two different"):
        load_digit_pair((3, 3))


def test_classes_not_a_pair():
    with pytest.raises(TypeError, match="classes"):
        check_digit_classes(1)


def test_unknown_projection(digits01):
    X, p = digits01
    with pytest.raises(ValueError, match="projection"):
        fit_projection(X, p, "pca")


@pytest.mark.parametrize("h", [0.0, -0.1])
def test_bandwidth_not_positive(h):
    with pytest.raises(ValueError, match="bandwidth"):
        kernel_density([0.0, 1.0, 2.0], bandwidth=h)


def test_unknown_estimator_and_rule():
    with pytest.raises(ValueError, match="estimator"):
        kernel_density([0.0, 1.0, 2.0], estimator="histogram")
    with pytest.raises(ValueError, match="rule"):
        kernel_density([0.0, 1.0, 2.0], rule="sheather_jones")
    X, p, _ = _synthetic(50)
    with pytest.raises(ValueError, match="rule"):
        projected_digits(X, p, rule="isj")
    with pytest.raises(ValueError, match="estimator"):
        projected_digits(X, p, estimator="knn")


def test_bad_labels():
    X, p, _ = _synthetic(20)
    with pytest.raises(ValueError, match="plus"):
        fit_projection(X, p.astype(int))
    with pytest.raises(ValueError, match="images"):
        fit_projection(X, np.r_[np.ones(X.shape[0] - 1, bool), False])


def test_identical_class_means_rejected():
    X = np.array([[0.0, 1.0], [1.0, 0.0], [0.0, 1.0], [1.0, 0.0]])
    with pytest.raises(ValueError, match="equal means"):
        fit_projection(X, np.array([False, False, True, True]))


# -- projection and scaling ----------------------------------------------------
@pytest.mark.parametrize("kind", ["mean_difference", "fisher"])
def test_scaling_puts_class_means_at_0_and_1(digits01, kind):
    X, p = digits01
    proj = fit_projection(X, p, kind)
    x = proj(X)
    assert x[~p].mean() == pytest.approx(0.0, abs=1e-12)
    assert x[p].mean() == pytest.approx(1.0, abs=1e-12)
    assert np.linalg.norm(proj.direction) == pytest.approx(1.0)


def test_mean_difference_direction():
    X, p, _ = _synthetic()
    d = X[p].mean(0) - X[~p].mean(0)
    proj = fit_projection(X, p, "mean_difference")
    assert np.allclose(proj.direction, d / np.linalg.norm(d))


def test_fisher_without_shrinkage_is_the_discriminant():
    X, p, _ = _synthetic()
    mu_m, mu_p = X[~p].mean(0), X[p].mean(0)
    Xc = np.where(p[:, None], X - mu_p, X - mu_m)
    sw = Xc.T @ Xc
    d = np.linalg.solve(sw, mu_p - mu_m)
    proj = fit_projection(X, p, "fisher", shrinkage=0.0)
    assert np.allclose(proj.direction, d / np.linalg.norm(d))
    # and Fisher's direction separates better than the mean difference (the covariance is tilted)
    def separation(kind):
        x = fit_projection(X, p, kind, shrinkage=0.0)(X)
        return 1.0 / math.sqrt(0.5 * (x[~p].var() + x[p].var()))
    assert separation("fisher") > separation("mean_difference")


def test_fisher_shrinkage_one_is_mean_difference():
    X, p, _ = _synthetic()
    a = fit_projection(X, p, "fisher", shrinkage=1.0).direction
    b = fit_projection(X, p, "mean_difference").direction
    assert np.allclose(a, b)


# -- kernel estimate ------------------------------------------------------------
def test_silverman_and_scott_bandwidths():
    x = np.random.default_rng(1).normal(size=500)
    s = x.std(ddof=1)
    iqr = np.subtract(*np.percentile(x, [75, 25]))
    assert kernel_density(x).bandwidth == pytest.approx(0.9 * min(s, iqr / 1.34) * 500 ** -0.2)
    assert kernel_density(x, rule="scott").bandwidth == pytest.approx(1.06 * s * 500 ** -0.2)


def test_kde_matches_scipy_and_normalises():
    x = np.random.default_rng(2).normal(size=300)
    kd = kernel_density(x)
    ref = gaussian_kde(x, bw_method=kd.bandwidth / x.std(ddof=1))
    g = np.linspace(-5, 5, 2001)
    assert np.allclose(kd.pdf(g), ref(g), rtol=1e-10, atol=1e-14)
    assert np.trapezoid(kd.pdf(g), g) == pytest.approx(1.0, abs=1e-6)
    assert np.isnan(kd.pdf(np.array([np.nan, 0.0]))[0])


def test_y_density_is_the_change_of_variables():
    x = np.random.default_rng(3).normal(size=200)
    kd = kernel_density(x)
    w, b = -3.0, 0.5
    py = kd.y_density(w, b)
    y = np.linspace(-20, 20, 4001)
    assert np.trapezoid(py(y), y) == pytest.approx(1.0, abs=1e-6)
    assert py(w * 0.3 + b) == pytest.approx(kd.pdf(0.3) / 3.0)
    with pytest.raises(ValueError, match="w"):
        kd.y_density(0.0, 1.0)


def test_relative_error_formula():
    x = np.random.default_rng(4).normal(size=100)
    kd = kernel_density(x)
    p0 = kd.pdf(np.array([0.0]))[0]
    assert kd.relative_error(np.array([0.0]))[0] == pytest.approx(
        math.sqrt(1 / (2 * math.sqrt(math.pi)) / (100 * kd.bandwidth * p0)))


# -- the empirical data set --------------------------------------------------------
def test_empirical_draws_are_images_of_their_class_uniformly():
    xm, xp = np.arange(5.0), 10 + np.arange(8.0)
    data = EmpiricalTwoClassData.from_values(xm, xp)
    rng = np.random.default_rng(5)
    plus = rng.random(200_000) < 0.5
    x = data.inputs(plus, rng.standard_normal(plus.size))
    assert np.all(np.isin(x[plus], xp)) and np.all(np.isin(x[~plus], xm))
    counts = np.unique(x[~plus], return_counts=True)[1]
    assert counts.size == 5
    assert np.abs(counts / counts.sum() - 0.2).max() < 0.01
    assert data.p_plus == pytest.approx(8 / 13)
    assert data.mean("-") == pytest.approx(2.0) and data.std("+") == pytest.approx(np.std(xp))
    x1, x2 = data.draw(1000, rng=rng, cls="+")
    assert np.all(np.isin(x1, xp)) and np.all(x2 == 1.0)


def test_resample_images_is_stratified():
    p = np.r_[np.zeros(7, bool), np.ones(11, bool)]
    idx = resample_images(p, rng=0)
    assert idx.size == 18
    assert (~p[idx]).sum() == 7 and p[idx].sum() == 11


def test_sgd_runs_on_projected_digits(digits01):
    X, p = digits01
    pd = projected_digits(X, p)
    tr = train_sgd(figure_composition(3), gamma=0.1, steps=2000, replicas=4, batch=8, rng=0, data=pd.data)
    assert np.isfinite(tr.w_mean) and 0.5 < tr.w_mean < 1.5


# -- the hooks for a non-Gaussian p_y -------------------------------------------------
def test_branch_density_pdf_hook_reproduces_the_gaussian():
    x = np.linspace(-3, 3, 20001)
    pts = np.geomspace(0.1, 5, 40)

    def q(v):
        return v**3

    def dq(v):
        return 3 * v**2

    a = branch_density(q, dq, pts, mean=0.2, std=0.7, grid=x)
    b = branch_density(q, dq, pts, mean=0.2, std=0.7, grid=x, pdf=lambda v: gaussian_pdf(v, 0.2, 0.7))
    assert np.allclose(a.density, b.density)
    c = branch_density(q, dq, pts, mean=0.2, std=0.7, grid=x, pdf=lambda v: 2 * gaussian_pdf(v, 0.2, 0.7))
    assert np.allclose(c.density, 2 * a.density)


def test_plan_window_with_the_gaussian_as_y_density_is_the_plan():
    comp = figure_composition(4)
    jm = JumpMap(comp, 1.0, 0.0, "+", 0.1, math.pi / 4)
    edges = (1e-9, 1e-2)
    a = plan.plan_window(jm, data_edges=edges)
    b = plan.plan_window(jm, data_edges=edges, y_density=jm.y_density)
    assert (a.x_min, a.x_max) == pytest.approx((b.x_min, b.x_max))
    ed = exact_density(jm, np.geomspace(1e-6, 1e-3, 10), y_density=jm.y_density)
    assert np.allclose(ed.density, exact_density(jm, np.geomspace(1e-6, 1e-3, 10)).density)


# -- the analysis on a well-sampled synthetic class ------------------------------------------
def test_analysis_recovers_two_thirds_on_a_large_gaussian_sample():
    rng = np.random.default_rng(6)
    n = 4000
    x = np.r_[rng.normal(0, 0.25, n), rng.normal(1, 0.25, n)]
    X = np.c_[x, np.zeros(2 * n)]
    p = np.r_[np.zeros(n, bool), np.ones(n, bool)]
    r = analyse_digit_class(X, p, "+", composition=figure_composition(4), w=1.0, b=0.0, gamma=0.1,
                            theta=math.pi / 4, n_boot=5, rng=1)
    assert r.has_range
    assert r.k_density == pytest.approx(2 / 3, abs=0.05)
    assert r.k_jacobian == pytest.approx(2 / 3, abs=0.05)
    assert r.mass_ratio > 0.5 and r.images_near > 100
    v = digit_claim_values(r, 2 / 3)
    assert v["expected"] == pytest.approx(2 / 3) and v["tolerance"] > 0
    f = image_fit_claim_values(r, 2 / 3)
    assert abs(f["measured"] - 2 / 3) <= f["tolerance"]


def test_no_mass_far_from_the_singular_point():
    rng = np.random.default_rng(7)
    n = 300
    x = np.r_[rng.normal(0, 0.1, n), rng.normal(1, 0.1, n)]
    X = np.c_[x, np.zeros(2 * n)]
    p = np.r_[np.zeros(n, bool), np.ones(n, bool)]
    # piece-wise linear + cross-entropy with y = 4x - 1.5: the '−' class sits at y ≈ -1.5, far from y* = 1
    r = analyse_digit_class(X, p, "-", composition=figure_composition(5), w=4.0, b=-1.5, gamma=0.1,
                            theta=math.pi / 2, n_boot=0, rng=2)
    assert r.y_star == 1.0
    assert r.mass_ratio < 1e-6 and r.images_near == 0
    assert not r.has_range
    assert digit_claim_values(r, 2.0)["measured"].startswith(("no power-law range", "no window"))
    with pytest.raises(ValueError, match="n_boot"):
        analyse_digit_class(X, p, "-", composition=figure_composition(5), w=4.0, b=-1.5, gamma=0.1,
                            theta=math.pi / 2, n_boot=3, rng=2)


def test_empirical_inputs_is_bitwise_the_per_class_pick():
    """inputs picks the rank of Φ(z) in each draw's own class: the same images as computing the
    rank for both classes and choosing by np.where (the reference)."""
    from scipy.special import ndtr

    rng = np.random.default_rng(4)
    data = EmpiricalTwoClassData.from_values(rng.normal(size=37), 1.0 + rng.normal(size=51))
    plus = rng.random((9, 40, 3)) < data.p_plus
    z = rng.standard_normal(plus.shape) * 2.0
    z[0, 0, 0], z[0, 0, 1] = 40.0, -40.0          # Φ(z) = 1 and 0: the top and bottom ranks
    u = ndtr(z)
    im = np.minimum((u * data.x_minus.size).astype(np.intp), data.x_minus.size - 1)
    ip = np.minimum((u * data.x_plus.size).astype(np.intp), data.x_plus.size - 1)
    np.testing.assert_array_equal(data.inputs(plus, z), np.where(plus, data.x_plus[ip], data.x_minus[im]))


@pytest.mark.parametrize("fig, w, b", [(1, 14.0, -7.0), (4, 0.8, 0.1), (5, 1.2, 0.3)])
def test_density_at_one_more_point_is_the_separate_evaluation(digits01, fig, w, b):
    """plot_jump_density evaluates the slope line's anchor as one more point of the curve's call
    of (6.1): the curve's values are bitwise those of the call without it, and the anchor is the
    value of a call of its own (to the order of summing the branches)."""
    images, plus = digits01
    pd = projected_digits(images, plus)
    jm = JumpMap(figure_composition(fig), w, b, "-", 4.0 if fig < 3 else 0.1, math.pi / 2, data=pd.data)
    q = np.abs(jm.qdot(pd.data.values("-")))
    q = q[q > 0]
    grid = np.geomspace(q.min() / 3, q.max() * 3, 300)
    mid = math.sqrt(q.min() * q.max())
    p_y = pd.densities["-"].y_density(w, b)
    both = exact_density(jm, np.r_[grid, mid], y_density=p_y)
    alone = exact_density(jm, grid, y_density=p_y)
    np.testing.assert_array_equal(both.density[:300], alone.density)
    np.testing.assert_array_equal(both.branch_jacobian[:, :300], alone.branch_jacobian)
    one = exact_density(jm, np.array([mid]), y_density=p_y).density[0]
    assert both.density[-1] == pytest.approx(one, rel=1e-14, abs=0.0)
