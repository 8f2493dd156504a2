"""Tests of bbdlib.duality.data_laws: class laws (density, sampler, width), the data set hook
into the book's SGD, jump map and plan, the prediction of (6.1), and bad input."""
import math

import numpy as np
import pytest
from scipy import integrate

from bbdlib.duality import analysis_plan as plan
from bbdlib.duality import data_laws as dl
from bbdlib.duality.density import exact_density
from bbdlib.duality.jumps import JumpMap
from bbdlib.duality.toy_model import TWO_CLASSES, Composition, TwoClassData
from bbdlib.duality.training import train_sgd


@pytest.mark.parametrize("kind,shape", [("gaussian", {}), ("student_t", {"nu": 5.0}), ("mixture", {}),
                                        ("mixture", {"split": 0.9})])
def test_law_is_normalised_with_the_stated_width(kind, shape):
    law = dl.make_law(kind, 1.0, 0.25, **shape)
    total = integrate.quad(law.pdf, -20, 22, points=[1.0], limit=400)[0]
    var = integrate.quad(lambda x: (x - 1.0) ** 2 * law.pdf(x), -40, 42, points=[1.0], limit=400)[0]
    assert math.isclose(total, 1.0, rel_tol=1e-7)
    assert math.isclose(math.sqrt(var), 0.25, rel_tol=1e-5)


@pytest.mark.parametrize("kind", dl.LAWS)
def test_sampler_follows_the_density(kind):
    law = dl.make_law(kind, 0.0, 0.25, **({"nu": 5.0} if kind == "student_t" else {}))
    x = law.sample(200_000, rng=0)
    edges = np.linspace(-0.75, 0.75, 13)
    frac = np.histogram(x, edges)[0] / x.size
    prob = np.array([integrate.quad(law.pdf, a, b)[0] for a, b in zip(edges[:-1], edges[1:])])
    assert np.all(np.abs(frac - prob) <= 4 * np.sqrt(prob / x.size) + 1e-4)


def test_mixture_is_flat_to_fourth_order_at_split_1_over_sqrt2():
    law = dl.make_law("mixture", 0.0, 0.25)
    h = 1e-3
    d2 = (law.pdf(h) - 2 * law.pdf(0.0) + law.pdf(-h)) / h**2
    g = dl.make_law("gaussian", 0.0, 0.25)
    d2g = (g.pdf(h) - 2 * g.pdf(0.0) + g.pdf(-h)) / h**2
    assert abs(d2) < 1e-4 * abs(d2g)


def test_gaussian_data_set_matches_the_paper_one():
    data = dl.two_class_data("gaussian", 0.25)
    assert isinstance(data, TwoClassData)
    for c in "-+":
        assert data.mean(c) == TWO_CLASSES.mean(c) and data.std(c) == TWO_CLASSES.std(c)
    z = np.random.default_rng(0).standard_normal(100)
    plus = z > 0
    np.testing.assert_allclose(data.inputs(plus, z), TWO_CLASSES.inputs(plus, z))


def test_y_density_is_the_pushforward():
    data = dl.two_class_data("mixture", 0.25)
    py = data.y_density("+", 0.8, 0.1)
    total = integrate.quad(py, -5, 7, points=[0.9], limit=200)[0]
    assert math.isclose(total, 1.0, rel_tol=1e-7)
    assert math.isclose(py(0.9), data.law("+").pdf(1.0) / 0.8, rel_tol=1e-12)


def test_sgd_runs_on_a_law_data_set():
    data = dl.two_class_data("mixture", 0.25)
    tr = train_sgd(Composition("relu", "mse"), gamma=0.1, steps=2000, replicas=8, batch=16, rng=0, data=data)
    assert 0.8 < tr.w_mean < 1.1 and abs(tr.b_mean) < 0.15


def test_exact_density_with_the_law_matches_samples_and_plan_window_uses_it():
    data = dl.two_class_data("mixture", 0.25)
    comp = Composition("relu", "power", 4.0)
    jm = JumpMap(comp, 0.86, 0.056, "-", 0.1, math.pi / 2, data)
    x, _ = data.draw(400_000, rng=1, cls="-")
    aq = jm.sample(x.size, rng=1, x=x).abs_qdot
    py = data.y_density("-", 0.86, 0.056)
    edges = np.geomspace(1e-6, 1e-2, 9)
    counts = np.histogram(aq, edges)[0] / x.size
    q = np.geomspace(edges[0], edges[-1], 4001)
    d = exact_density(jm, q, y_density=py).density
    cells = [(q >= a) & (q <= b) for a, b in zip(edges[:-1], edges[1:])]
    pred = np.array([np.trapezoid(d[c], q[c]) for c in cells])
    np.testing.assert_allclose(counts, pred, rtol=0.05)
    pw = plan.plan_window(jm, aq, y_density=py)
    pw_gauss = plan.plan_window(jm, aq)          # the Gaussian of the same width: a different window
    assert pw.decades > 1.0 and pw.x_max != pw_gauss.x_max
    k = dl.density_exponent(jm, (pw.x_min, pw.x_max), y_density=py)
    assert abs(k - 2 / 3) < 0.05


def test_density_exponent_recovers_the_jacobian_on_a_flat_window():
    """Narrow window at the critical point: p_y is flat, the exponent is the Jacobian's."""
    comp = Composition("relu", "power", 4.0)
    jm = JumpMap(comp, 0.82, 0.0, "-", 0.1, math.pi / 2)
    k = dl.density_exponent(jm, (1e-12, 1e-8))
    assert abs(k - 2 / 3) < 1e-3


def test_analyse_law_class_runs():
    data = dl.two_class_data("gaussian", 0.25)
    r = dl.analyse_law_class(Composition("relu", "power", 4.0), 0.82, 0.08, "+", data, gamma=0.1,
                             n_samples=100_000, rng=0, n_boot=20)
    assert r.window is not None and r.measurement is not None
    assert abs(r.measurement.k - r.k_predicted) < 5 * r.measurement.fit.half_width + 0.01


# -- bad input --------------------------------------------------------------------------
@pytest.mark.parametrize("sigma", [0.0, -0.25])
def test_class_width_not_positive_names_sigma(sigma):
    with pytest.raises(ValueError, match="sigma"):
        dl.two_class_data("gaussian", sigma)
    with pytest.raises(ValueError, match="sigma"):
        dl.make_law("mixture", 0.0, sigma)


@pytest.mark.parametrize("law", ["cauchy", "Gaussian", ""])
def test_unknown_law_names_law(law):
    with pytest.raises(ValueError, match="law"):
        dl.two_class_data(law, 0.25)
    with pytest.raises(ValueError, match="law"):
        dl.make_law(law, 0.0, 0.25)


def test_bad_shapes():
    with pytest.raises(ValueError, match="nu"):
        dl.make_law("student_t", 0.0, 0.25, nu=2.0)
    with pytest.raises(ValueError, match="split"):
        dl.make_law("mixture", 0.0, 0.25, split=1.0)
    with pytest.raises(TypeError, match="law_minus"):
        dl.LawTwoClassData(law_minus="gaussian", law_plus=dl.make_law("gaussian", 1.0, 0.25))
    with pytest.raises(TypeError, match="data"):
        dl.analyse_law_class(Composition("relu", "mse"), 1.0, 0.0, "-", TWO_CLASSES, gamma=0.1,
                             n_samples=10_000, rng=0)


@pytest.mark.parametrize("kind", ["mixture", "student_t", "gaussian"])
def test_inputs_is_bitwise_the_where_over_both_laws(kind):
    """inputs maps each class's draws by its own law only; the floats are those of the plain
    np.where over both quantile transforms (the reference), for any shape."""
    data = dl.two_class_data(kind, 0.25)
    rng = np.random.default_rng(5)
    for shape in ((1000,), (7, 33, 5)):
        plus = rng.random(shape) < 0.4
        z = rng.standard_normal(shape) * 3.0
        ref = np.where(plus, data.law_plus.from_normal(z), data.law_minus.from_normal(z))
        got = data.inputs(plus, z)
        assert got.shape == shape
        np.testing.assert_array_equal(got, ref)
