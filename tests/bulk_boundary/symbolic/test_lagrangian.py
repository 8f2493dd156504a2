"""Tests of bbdlib.bulk_boundary.symbolic.lagrangian: the recursion (1), eqs. (5), (6), (7) of [A]."""
import numpy as np
import pytest
import sympy as sp

from bbdlib.bulk_boundary.symbolic.jets import jets
from bbdlib.bulk_boundary.symbolic.lagrangian import (
    decompose,
    derived_eq7,
    evaluate_wb,
    is_data_term,
    output_in_wz,
    printed_eq7,
    term_coefficients_eq7,
)


def test_split_bulk_boundary_and_printed_coefficient():
    J = jets((2, 2, 2, 2), loss="generic")
    D = decompose(J)
    assert sp.expand(D.bulk + D.boundary - D.L_wz) == 0
    assert all(not is_data_term(J, a) for a in sp.Add.make_args(D.bulk))
    assert all(is_data_term(J, a) for a in sp.Add.make_args(D.boundary))
    bulk, boundary = derived_eq7(J)
    assert sp.expand(D.bulk - bulk) == 0 and sp.expand(D.boundary - boundary) == 0
    _, printed_boundary = printed_eq7(J)
    diff = sp.expand(D.boundary - printed_boundary)
    assert sp.expand(diff + sp.Rational(1, 2) * sum(J.S(0, i) ** 2 for i in (1, 2))) == 0
    # reading the bulk sums over m = 0..M-1 double counts the m = 0 terms
    b0, bd0 = printed_eq7(J, m_from=0, boundary_coefficient=sp.Rational(1, 2))
    assert sp.expand(b0 + bd0 - D.L_wz) != 0


def test_fixed_input_and_telescoping_output():
    J = jets((2, 3, 1), moving_input=False)
    D = decompose(J)
    _, boundary = derived_eq7(J)
    assert sp.expand(D.boundary - boundary) == 0
    assert J.X(1) in D.boundary.free_symbols and J.X(1, 1) == 0
    assert output_in_wz(J) == [J.z(2, 1)]


def test_display():
    J = jets((1, 1, 1))
    e = J.display(decompose(J).L_wz)
    names = {s.name for s in e.free_symbols}
    assert r"\dot{W}^{(0)}_{11}" in names and r"\dot{z}^{(2)}_{1}" in names and "X_{1}" in names
    assert "\\sigma'" in sp.latex(e) and "\\ell_{1}" in sp.latex(e)


def test_eq7_term_by_term():
    J = jets((2, 3, 2, 1), loss="generic")
    D = decompose(J)
    coeffs = term_coefficients_eq7(J, D.L_wz)
    assert len(coeffs) == 7
    mismatched = {k for k, (printed, derived) in coeffs.items() if printed != derived}
    assert mismatched == {"boundary: Σi[Σj ∂t(W⁽⁰⁾ij Xj)]²"}
    assert coeffs["boundary: Σi[Σj ∂t(W⁽⁰⁾ij Xj)]²"][1] == sp.Rational(1, 2)
    with pytest.raises(ValueError):
        term_coefficients_eq7(J, D.L_wz + J.W(0, 1, 1, 1) ** 4)


def test_evaluate_wb_matches_the_numeric_network():
    from bbdlib.bulk_boundary.network import Network as NumericNetwork

    widths = (2, 3, 2, 1)
    net = NumericNetwork(widths)
    rng = np.random.default_rng(0)
    th = rng.normal(size=net.n_params)
    x, y = rng.normal(size=2), rng.normal(size=1)
    pt = evaluate_wb(jets(widths, moving_input=False), th, x, y, activation="tanh")
    assert pt.output[0] == pytest.approx(net.predict(th, x[None])[0, 0], rel=1e-12)
    np.testing.assert_allclose(pt.gradient, net.grad(th, x[None], y[None]), rtol=1e-10, atol=1e-12)
    # the flat order: a finite difference of the loss in one coordinate
    eps, k = 1e-6, 7
    e = np.zeros_like(th)
    e[k] = eps
    fd = (net.loss_value(th + e, x[None], y[None]) - net.loss_value(th - e, x[None], y[None])) / (2 * eps)
    assert pt.gradient[k] == pytest.approx(float(np.ravel(fd)[0]), rel=1e-6)


def test_evaluate_wb_bad_input():
    J = jets((2, 2, 1), moving_input=False)
    th = np.zeros(9)
    with pytest.raises(ValueError, match="activation"):
        evaluate_wb(J, th, [0, 0], [0], activation="swish")
    with pytest.raises(ValueError, match="activation"):
        evaluate_wb(J, th, [0, 0], [0], activation="relu")          # not C²
    with pytest.raises(ValueError, match="loss"):
        evaluate_wb(J, th, [0, 0], [0], loss="hinge")
    with pytest.raises(ValueError, match="theta"):
        evaluate_wb(J, np.zeros(8), [0, 0], [0])
    with pytest.raises(ValueError, match="x"):
        evaluate_wb(J, th, [0, np.nan], [0])
    with pytest.raises(ValueError, match="y"):
        evaluate_wb(J, th, [0, 0], [np.inf])
    with pytest.raises(TypeError, match="J must be"):
        evaluate_wb((2, 2, 1), th, [0, 0], [0])
    with pytest.raises(TypeError, match="J must be"):
        decompose((2, 2, 1))
