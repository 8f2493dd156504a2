"""Tests of the duality sampler, the exact density (6.1), the fit window and SGD training."""
import math

import numpy as np
import pytest

from bbdlib.duality.density import exact_density, fit_window, local_jacobian_exponent
from bbdlib.duality.jumps import jump_derivative, map_jumps, sample_jumps
from bbdlib.duality.toy_model import Composition, rotation_angle
from bbdlib.duality.training import accuracy, draw_dataset, train_sgd
from bbdlib.powerlaw import fit_truncated_powerlaw, log_binned_density

CASES = [
    (Composition("sigmoid", "mse"), 16.0, -8.0, 1.0),
    (Composition("sigmoid", "cross_entropy"), 16.0, -8.0, 1.0),
    (Composition("relu", "mse"), 0.93, -0.015, 0.1),
    (Composition("relu", "power", 4), 0.82, 0.08, 0.1),
    (Composition("piecewise_linear", "cross_entropy"), 0.8, 0.1, 0.1),
]


@pytest.mark.parametrize("comp,w,b,gamma", CASES, ids=lambda v: getattr(v, "label", str(v)))
@pytest.mark.parametrize("cls", ["-", "+"])
def test_jump_is_sgd_step_projected(comp, w, b, gamma, cls):
    """q̇′ = cosθ ẇ + sinθ ḃ with (ẇ, ḃ) = -γ H′(y)(x, 1) (eqs. (2.3), (5.2), (5.7))."""
    rng = np.random.default_rng(0)
    th = rotation_angle("class_mean", cls)
    s = sample_jumps(comp, w, b, cls, 1000, gamma=gamma, theta=th, rng=rng)
    t = 1.0 if cls == "+" else 0.0
    g = comp.dH(s.y, t)
    wdot, bdot = -gamma * g * s.x, -gamma * g
    assert np.allclose(s.qdot, math.cos(th) * wdot + math.sin(th) * bdot)


@pytest.mark.parametrize("comp,w,b,gamma", CASES, ids=lambda v: getattr(v, "label", str(v)))
@pytest.mark.parametrize("cls", ["-", "+"])
def test_jacobian_matches_finite_difference(comp, w, b, gamma, cls):
    th = rotation_angle("class_mean", cls)
    s = sample_jumps(comp, w, b, cls, 400, gamma=gamma, theta=th, rng=1)
    y = s.y[s.active]
    y = y[(np.abs(y) > 1e-3) & (np.abs(y - 1) > 1e-3)]
    h = 1e-7 * np.maximum(1, np.abs(y))
    qp = map_jumps(comp, (y + h - b) / w, w, b, cls, gamma, th)
    qm = map_jumps(comp, (y - h - b) / w, w, b, cls, gamma, th)
    fd = (qp - qm) / (2 * h)
    an = jump_derivative(comp, y, w, b, cls, gamma, th)
    assert np.allclose(fd, an, rtol=1e-5, atol=1e-12 * np.max(np.abs(an)))


@pytest.mark.parametrize("comp,w,b,gamma", CASES, ids=lambda v: getattr(v, "label", str(v)))
@pytest.mark.parametrize("cls", ["-", "+"])
def test_exact_density_matches_samples(comp, w, b, gamma, cls):
    """Eq. (6.1) computed without samples agrees with the sample histogram and integrates
    to the active fraction."""
    th = rotation_angle("class_mean", cls)
    n = 400_000
    s = sample_jumps(comp, w, b, cls, n, gamma=gamma, theta=th, rng=2)
    aq = s.abs_qdot
    lo, hi = np.quantile(aq, [0.02, 0.98])
    c, d = log_binned_density(aq, 30, total=n, x_range=(lo, hi))
    ed = exact_density(comp, w, b, cls, c, gamma=gamma, theta=th)
    counts = d * n * np.diff(np.geomspace(lo, hi * (1 + 1e-12), 31))[: d.size]
    big = counts > 400  # 5% relative Poisson noise at most; bin averaging is below that
    assert np.all(np.abs(d[big] / ed.density[big] - 1) < 0.12)
    # integrate up to the 99.9% quantile (|q̇′| may have a maximum, where the density has
    # an integrable 1/sqrt singularity that the trapezoid rule resolves poorly)
    top = np.quantile(aq, 0.999)
    grid = np.geomspace(aq.min(), top, 20001)
    integral = np.trapezoid(exact_density(comp, w, b, cls, grid, gamma=gamma, theta=th).density, grid)
    inside = np.mean(aq <= top) * s.active_fraction
    assert integral == pytest.approx(inside, abs=0.005)


def test_exact_density_two_branches():
    """ReLU + MSE, class '+': |q̇′| near 0 comes from y slightly above and below 1."""
    comp = Composition("relu", "mse")
    th = rotation_angle("class_mean", "+")
    ed = exact_density(comp, 0.93, -0.015, "+", np.array([1e-4]), gamma=0.1, theta=th)
    assert np.sum(ed.branch_density[:, 0] > 0) == 2


@pytest.mark.parametrize("n,k", [(2, 0.0), (3, 0.5), (4, 2 / 3), (8, 6 / 7)])
def test_relu_jacobian_exponent_near_critical_point(n, k):
    """Close to y = 0 the class '−' Jacobian of ReLU + y^n has k = (n-2)/(n-1) exactly for θ₋ = π/2."""
    comp = Composition("relu", "power", n)
    th = rotation_angle("class_mean", "-")
    kj = local_jacobian_exponent(comp, np.array([1e-3, 1e-2]), 0.8, 0.1, "-", gamma=0.1, theta=th)
    assert np.allclose(kj, k, atol=1e-4)


def test_equilibrium_theta_changes_relu_exponent():
    """With θ = atan2(b, w) (eq. (5.6) read literally) C = 0 and k becomes (n-1)/n near y = 0."""
    comp = Composition("relu", "power", 4)
    th = rotation_angle("equilibrium", "-", 0.8, 0.1)
    kj = local_jacobian_exponent(comp, np.array([1e-4]), 0.8, 0.1, "-", gamma=0.1, theta=th)
    assert kj[0] == pytest.approx(3 / 4, abs=1e-3)


def test_fit_window_sigmoid_is_where_asymptotics_hold():
    comp = Composition("sigmoid", "cross_entropy")
    th = rotation_angle("class_mean", "-")
    s = sample_jumps(comp, 16.0, -8.0, "-", 200_000, gamma=1.0, theta=th, rng=3)
    lo, hi = fit_window(comp, 16.0, -8.0, "-", s.abs_qdot, gamma=1.0, theta=th)
    # class '−', θ = π/2: |q̇′| = γ σ(y), asymptotic form e^y within 10% iff σ(y) <= 0.1
    assert hi == pytest.approx(0.1, rel=0.02)
    assert lo == pytest.approx(np.quantile(s.abs_qdot, 0.01), rel=1e-9)
    fit = fit_truncated_powerlaw(s.abs_qdot, lo, hi, rng=0)
    assert fit.decades > 3


def test_training_reaches_the_population_minimum():
    """Sigmoid + cross-entropy is well specified for two equal-variance Gaussians: the
    population minimiser is the Bayes log-odds, w = 1/0.25² = 16, b = -8."""
    comp = Composition("sigmoid", "cross_entropy")
    r = train_sgd(comp, gamma=1.0, steps=40_000, replicas=16, batch=16, rng=4)
    assert r.w_mean == pytest.approx(16.0, abs=1.0)
    assert r.b_mean == pytest.approx(-8.0, abs=0.5)
    assert abs(r.drift_w) < 4 * r.drift_se_w + 0.1
    acc = accuracy(comp, r.w_mean, r.b_mean, n=200_000, rng=5)
    assert acc == pytest.approx(0.9772, abs=0.002)  # Bayes accuracy Φ(2)


def test_draw_dataset_moments():
    x, t = draw_dataset(200_000, rng=0)
    assert np.mean(t) == pytest.approx(0.5, abs=0.005)
    assert np.mean(x[t == 1]) == pytest.approx(1.0, abs=0.005)
    assert np.std(x[t == 0]) == pytest.approx(0.25, abs=0.005)
    xm, _ = draw_dataset(1000, rng=0, cls="\u2212")
    assert abs(xm.mean()) < 0.05


def test_bad_input():
    comp = Composition("sigmoid", "mse")
    with pytest.raises(ValueError, match="gamma must be > 0"):
        sample_jumps(comp, 1.0, 0.0, "+", 10, gamma=0.0, theta=0.5, rng=0)
    with pytest.raises(ValueError, match="n must be >= 1"):
        sample_jumps(comp, 1.0, 0.0, "+", 0, gamma=1.0, theta=0.5, rng=0)
    with pytest.raises(ValueError, match="cls must be one of"):
        sample_jumps(comp, 1.0, 0.0, "1", 10, gamma=1.0, theta=0.5, rng=0)
    with pytest.raises(ValueError, match="w must be non-zero"):
        sample_jumps(comp, 0.0, 0.0, "+", 10, gamma=1.0, theta=0.5, rng=0)
    with pytest.raises(TypeError, match="comp must be a Composition"):
        sample_jumps("sigmoid", 1.0, 0.0, "+", 10, gamma=1.0, theta=0.5, rng=0)
    with pytest.raises(ValueError, match="gamma must be > 0"):
        train_sgd(comp, gamma=-1.0, steps=100, rng=0)
    with pytest.raises(ValueError, match="steps must be >= 8"):
        train_sgd(comp, gamma=1.0, steps=0, rng=0)
    with pytest.raises(ValueError, match="q must be positive"):
        exact_density(comp, 1.0, 0.0, "+", np.array([0.0]), gamma=1.0, theta=0.5)


def test_active_fraction_dead_and_alive():
    from bbdlib.duality.training import active_fraction
    comp = Composition("piecewise_linear", "cross_entropy")
    fr = active_fraction(comp, [0.8, 0.5], [0.1, -8.0], n=10_000, rng=0)
    assert 0.6 < fr[0] < 0.8 and fr[1] == 0.0


def test_critical_window_recovers_relu_law():
    """At the critical point y = 0 of ReLU + y^n (class '−', θ = π/2) every approximation holds
    to 10 %, and the MLE recovers k = (n-2)/(n-1) within its interval plus the stated allowance."""
    from bbdlib.duality.density import critical_point, critical_window
    comp = Composition("relu", "power", 3)
    th = rotation_angle("class_mean", "-")
    s = sample_jumps(comp, 0.864, 0.045, "-", 400_000, gamma=0.1, theta=th, rng=6)
    lo, hi = critical_window(comp, 0.864, 0.045, "-", s.abs_qdot, gamma=0.1, theta=th)
    assert critical_point(comp, "-") == 0.0 and critical_point(comp, "+") == 1.0
    # at the upper edge y = (|q̇′| / (3 γ))^(1/2), p_y has fallen by at most 10 % from y = 0
    y_edge = math.sqrt(hi / 0.3)
    mu, sd = 0.045, 0.864 * 0.25
    ratio = math.exp(-0.5 * ((y_edge - mu) / sd) ** 2) / math.exp(-0.5 * (mu / sd) ** 2)
    assert abs(ratio - 1) == pytest.approx(0.1, abs=0.005)
    fit = fit_truncated_powerlaw(s.abs_qdot, lo, hi, rng=0)
    allowance = math.log10(1.1 / 0.9) / math.log10(hi / lo)
    assert abs(fit.k - 0.5) <= max(fit.half_width, allowance)
    with pytest.raises(ValueError, match="no finite critical point"):
        critical_point(Composition("sigmoid", "mse"), "-")


def test_equilibrium_jumps_match_potential_jumps_when_parameters_barely_move():
    """With a tiny γ the parameters stay at (w0, b0), and the recorded SGD changes of q′
    have the distribution of the potential jumps (two-sample KS)."""
    from scipy.stats import ks_2samp

    from bbdlib.duality.training import equilibrium_jumps
    comp = Composition("relu", "power", 4)
    th = {c: rotation_angle("class_mean", c) for c in "-+"}
    jumps, wa, ba = equilibrium_jumps(comp, 0.82, 0.08, gamma=1e-6, steps=2000, thetas=th,
                                      replicas=50, burn_in=0, rng=8)
    assert wa == pytest.approx(0.82, abs=1e-6) and ba == pytest.approx(0.08, abs=1e-6)
    for cls in "-+":
        act = np.abs(jumps[cls]); act = act[act > 0]
        pot = sample_jumps(comp, 0.82, 0.08, cls, 100_000, gamma=1e-6, theta=th[cls], rng=9).abs_qdot
        assert ks_2samp(act, pot).pvalue > 1e-3
    assert jumps["-"].size + jumps["+"].size == 2000 * 50
    with pytest.raises(ValueError, match="both classes"):
        equilibrium_jumps(comp, 0.8, 0.1, gamma=0.1, steps=10, thetas={"-": 1.0}, rng=0)
