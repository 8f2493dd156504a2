"""Tests of the toy model of [B] Sec. 5/7: compositions, derivatives, rotation, bad input."""
import math

import numpy as np
import pytest
import sympy as sp

from bbdlib.duality.toy_model import (
    TOY_ACTIVATIONS,
    TWO_CLASSES,
    Composition,
    TwoClassData,
    check_class,
    rotation_angle,
)

COMPOSITIONS = [
    Composition("sigmoid", "mse"),
    Composition("sigmoid", "cross_entropy"),
    Composition("sigmoid", "power", 3),
    Composition("sigmoid", "power", 4),
    Composition("relu", "mse"),
    Composition("relu", "power", 3),
    Composition("relu", "power", 4),
    Composition("relu", "power", 2.5),
    Composition("piecewise_linear", "cross_entropy"),
    Composition("piecewise_linear", "mse"),
    Composition("piecewise_linear", "power", 6),
]


def _grid(comp):
    if comp.activation == "sigmoid":
        return np.linspace(-12, 12, 97)
    if comp.activation == "relu":
        y = np.linspace(0.013, 3.0, 97)
    else:
        y = np.linspace(0.013, 0.987, 97)
    return y[np.abs(y - 1.0) > 1e-2]  # avoid the zero of |f - 1|^n where n - 2 < 1


@pytest.mark.parametrize("comp", COMPOSITIONS, ids=lambda c: c.label)
@pytest.mark.parametrize("t", [0.0, 1.0])
def test_first_and_second_derivative_finite_differences(comp, t):
    y = _grid(comp)
    h = 1e-5
    fd1 = (comp.H(y + h, t) - comp.H(y - h, t)) / (2 * h)
    fd2 = (comp.dH(y + h, t) - comp.dH(y - h, t)) / (2 * h)
    scale1 = np.maximum(np.abs(comp.dH(y, t)), 1e-12)
    scale2 = np.maximum(np.abs(comp.d2H(y, t)), 1e-12)
    assert np.all(np.abs(fd1 - comp.dH(y, t)) <= 1e-6 * scale1 + 1e-9)
    assert np.all(np.abs(fd2 - comp.d2H(y, t)) <= 1e-6 * scale2 + 1e-9)


@pytest.mark.parametrize("act", ["sigmoid", "relu", "piecewise_linear"])
def test_activation_derivatives(act):
    comp = Composition(act, "mse")
    y = np.linspace(0.02, 0.98, 50) if act != "sigmoid" else np.linspace(-8, 8, 50)
    h = 1e-6
    assert np.allclose((comp.f(y + h) - comp.f(y - h)) / (2 * h), comp.df(y), atol=1e-7)
    assert np.allclose((comp.df(y + h) - comp.df(y - h)) / (2 * h), comp.d2f(y), atol=1e-7)


def test_symbolic_sigmoid_compositions():
    """dH/dy of sigmoid+CE is f - t and of sigmoid+MSE is 2 (f - t) f (1 - f) (sympy)."""
    y = sp.symbols("y", real=True)
    f = 1 / (1 + sp.exp(-y))
    comp_ce, comp_mse = Composition("sigmoid", "cross_entropy"), Composition("sigmoid", "mse")
    for t in (0, 1):
        ce = -(1 - t) * sp.log(1 - f) - t * sp.log(f)
        assert sp.simplify(sp.diff(ce, y) - (f - t)) == 0
        mse = (f - t) ** 2
        assert sp.simplify(sp.diff(mse, y) - 2 * (f - t) * f * (1 - f)) == 0
        yv = np.array([-3.0, 0.4, 2.5])
        num = sp.lambdify(y, sp.diff(ce, y, 2))(yv)
        assert np.allclose(comp_ce.d2H(yv, float(t)), num)
        num = sp.lambdify(y, sp.diff(mse, y, 2))(yv)
        assert np.allclose(comp_mse.d2H(yv, float(t)), num)


def test_sigmoid_extreme_arguments_are_stable():
    comp = Composition("sigmoid", "mse")
    y = np.array([-700.0, -40.0, 40.0, 700.0])
    assert np.all(np.isfinite(comp.dH(y, 0.0))) and np.all(np.isfinite(comp.dH(y, 1.0)))
    # 1 - σ(40) is resolved (no cancellation): H' for t = 1 is -2 σ (1 - σ)^2 ≈ -2 e^{-80}
    assert comp.dH(np.array([40.0]), 1.0)[0] == pytest.approx(-2 * math.exp(-80), rel=1e-10)


def test_inactive_pieces_give_no_gradient():
    comp = Composition("piecewise_linear", "cross_entropy")
    y = np.array([-0.5, 1.5])
    assert np.all(comp.dH(y, 1.0) == 0) and np.all(comp.d2H(y, 1.0) == 0)
    assert np.all(np.isinf(comp.H(y, 1.0)))  # the loss itself is infinite there
    relu = Composition("relu", "power", 4)
    assert relu.dH(np.array([-1.0]), 0.0)[0] == 0.0


def test_odd_power_loss_uses_absolute_value():
    comp = Composition("relu", "power", 3)
    y = np.array([0.5])
    assert comp.H(y, 1.0)[0] == pytest.approx(0.125)  # |0.5 - 1|^3, not (0.5 - 1)^3 < 0
    assert comp.dH(y, 1.0)[0] < 0  # gradient descent raises f towards the target 1


def test_asymptotic_forms():
    comp = Composition("sigmoid", "mse")
    y = np.array([-15.0])
    assert comp.dH(y, 0.0)[0] == pytest.approx(comp.dH_asymptotic(y, 0.0)[0], rel=1e-6)
    assert comp.dH(-y, 1.0)[0] == pytest.approx(comp.dH_asymptotic(-y, 1.0)[0], rel=1e-6)
    ce = Composition("sigmoid", "cross_entropy")
    assert ce.dH(y, 0.0)[0] == pytest.approx(math.exp(-15.0), rel=1e-6)
    # eq. (7.10) with the sign of cross-entropy: H = -log f ≈ e^{-y}, so dH/dy ≈ -e^{-y}
    assert ce.dH(-y, 1.0)[0] == pytest.approx(-math.exp(-15.0), rel=1e-6)


def test_theory_exponents():
    assert Composition("sigmoid", "mse").theory_k() == 1.0
    assert Composition("relu", "mse").theory_k() == 0.0
    assert Composition("relu", "power", 4).theory_k() == pytest.approx(2 / 3)
    assert Composition("piecewise_linear", "cross_entropy").theory_k() == 2.0


def test_rotation_angles():
    assert rotation_angle("class_mean", "-") == pytest.approx(math.pi / 2)
    assert rotation_angle("class_mean", "+") == pytest.approx(math.pi / 4)
    assert rotation_angle("equilibrium", "+", 2.0, 2.0) == pytest.approx(math.pi / 4)
    th = rotation_angle("principal", "+")
    assert math.pi / 4 < th < math.pi / 2 + 1e-12 or th < math.pi / 4  # a valid angle
    assert rotation_angle("principal", "-") == pytest.approx(math.pi / 2)


def test_bad_input():
    with pytest.raises(ValueError, match="activation must be one of"):
        Composition("tanh", "mse")
    with pytest.raises(ValueError, match="loss must be one of"):
        Composition("relu", "hinge")
    with pytest.raises(ValueError, match="n must be >= 2"):
        Composition("relu", "power", 1.5)
    with pytest.raises(ValueError, match="cross_entropy"):
        Composition("relu", "cross_entropy")
    with pytest.raises(ValueError, match="cls must be one of"):
        check_class("0")
    assert check_class("\u2212") == "-"
    with pytest.raises(ValueError, match="theta rule"):
        rotation_angle("random", "+")


def test_sigmoid_is_the_book_sigmoid_with_exact_tails():
    """σ of the compositions is bbdlib.activations.sigmoid (exact tails: relative precision at y → -∞)."""
    from scipy.special import expit

    from bbdlib.activations import sigmoid
    y = np.array([-700.0, -40.0, -1.0, 0.0, 3.0, 40.0])
    comp = Composition("sigmoid", "mse")
    np.testing.assert_array_equal(comp.f(y), sigmoid(y, exact_tails=True))
    np.testing.assert_array_equal(comp.f(y), expit(y))
    assert comp.f(np.array([-40.0]))[0] == pytest.approx(math.exp(-40.0), rel=1e-12)
    assert TOY_ACTIVATIONS == ("sigmoid", "relu", "piecewise_linear")


def test_two_class_data_set():
    d = TWO_CLASSES
    assert (d.mean("-"), d.mean("+"), d.std("-"), d.std("+")) == (0.0, 1.0, 0.25, 0.25)
    assert (d.target("\u2212"), d.target("+"), d.p_plus) == (0.0, 1.0, 0.5)
    assert d.y_mean("+", 2.0, -1.0) == 1.0 and d.y_std("-", -4.0) == 1.0
    x, t = d.draw(200_000, rng=0)
    assert np.mean(t) == pytest.approx(0.5, abs=0.005)
    assert np.mean(x[t == 1]) == pytest.approx(1.0, abs=0.005)
    assert np.std(x[t == 0]) == pytest.approx(0.25, abs=0.005)
    xm, tm = d.draw(1000, rng=0, cls="\u2212")
    assert abs(xm.mean()) < 0.05 and np.all(tm == 0.0)
    np.testing.assert_array_equal(d.inputs(np.array([True, False]), np.array([1.0, 1.0])), [1.25, 0.25])
    assert d.least_squares_line() == pytest.approx((0.8, 0.1), rel=1e-14)


def test_two_class_data_least_squares_against_samples():
    d = TwoClassData(mean_minus=-1.0, mean_plus=2.0, std_minus=0.5, std_plus=0.3, p_plus=0.3)
    x, t = d.draw(400_000, rng=1)
    w, b = np.polyfit(x, t, 1)
    assert d.least_squares_line() == pytest.approx((w, b), abs=3e-3)


def test_two_class_data_bad_input():
    with pytest.raises(ValueError, match="std_plus"):
        TwoClassData(std_plus=0.0)
    with pytest.raises(ValueError, match="p_plus"):
        TwoClassData(p_plus=1.5)
    with pytest.raises(ValueError, match="cls must be one of"):
        TWO_CLASSES.mean("0")


def test_dH_classes_is_bitwise_the_two_class_where():
    """Composition.dH_classes (one pass, the SGD inner step) equals np.where over dH of both
    targets bit for bit, for every composition of Secs. 7-8 and the power losses."""
    import numpy as np
    rng = np.random.default_rng(0)
    y = np.concatenate([rng.normal(0, 3, 500), [0.0, 1.0, -1e-9, 1 + 1e-9, 40.0, -40.0]])
    plus = rng.random(y.size) < 0.5
    for act, loss, n in [("sigmoid", "mse", 2), ("sigmoid", "cross_entropy", 2), ("sigmoid", "power", 3),
                         ("relu", "mse", 2), ("relu", "power", 4), ("relu", "power", 3),
                         ("piecewise_linear", "cross_entropy", 2), ("piecewise_linear", "mse", 2)]:
        comp = Composition(act, loss, n)
        with np.errstate(divide="ignore", invalid="ignore"):
            ref = np.where(plus, comp.dH(y, 1.0), comp.dH(y, 0.0))
            got = comp.dH_classes(y, plus)
        np.testing.assert_array_equal(got, ref, err_msg=comp.label)
    with pytest.raises(TypeError, match="plus"):
        comp.dH_classes(y, plus.astype(int))
    with pytest.raises(ValueError, match="t_plus"):
        comp.dH_classes(y, plus, t_plus=float("nan"))
