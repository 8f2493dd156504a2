"""Tests of bbdlib.bulk_boundary.symbolic.lagrangian: eq. (5), the change of variables (6), eq. (7) of [A]."""
import numpy as np
import pytest
import sympy as sp

from bbdlib.bulk_boundary.symbolic.lagrangian import (
    change_of_variables,
    decompose,
    derived_eq7,
    is_data_term,
    lagrangian_wb,
    network,
    printed_eq7,
)


def test_change_of_variables_numerically_preserves_L():
    """L(W, b) with b from eq. (6) equals L(W, z) on concrete trajectories."""
    net = network((2, 2, 1), loss="sitewise")
    L_wb = lagrangian_wb(net)
    L_wz = change_of_variables(net, L_wb)
    # concrete z, W, X, Y; b follows from eq. (6)
    rng = np.random.default_rng(1)
    t = net.t
    rep = {f: sum(sp.Float(rng.normal()) * t ** k for k in range(3))
           for f in list(net.W.values()) + list(net.z.values()) + net.X + net.Y}
    b_rep = {b: e.subs(rep) for b, e in net.bias_in_wz().items()}
    def ev(expr, r):
        a, c = sp.symbols("a c")
        e = expr.subs(r).replace(net.sigma, sp.tanh)
        e = e.replace(sp.Function("ell_{1}"), sp.Lambda((a, c), (a - c) ** 2 / 2)).doit()
        return float(e.subs(t, 0.41).evalf())
    lhs = ev(L_wb, {**{k: v for k, v in rep.items() if k not in net.z.values()}, **b_rep})
    rhs = ev(L_wz, rep)
    assert lhs == pytest.approx(rhs, rel=1e-12)
    # and not trivially: a different b gives a different value
    other = {b: v + 1 for b, v in b_rep.items()}
    assert ev(L_wb, {**{k: v for k, v in rep.items() if k not in net.z.values()}, **other}) != pytest.approx(rhs)


def test_smallest_network_by_hand():
    """M = 2, widths (1, 1, 1): the (W, z) Lagrangian written out by hand."""
    net = network((1, 1, 1), loss="sitewise")
    D = decompose(net)
    t, s = net.t, net.sigma
    W0, W1 = net.W[(0, 1, 1)], net.W[(1, 1, 1)]
    z1, z2 = net.z[(1, 1)], net.z[(2, 1)]
    X, Y = net.X[0], net.Y[0]
    b0dot = sp.diff(z1 - W0 * X, t)
    b1dot = sp.diff(z2 - W1 * s(z1), t)
    L = (sp.diff(W0, t) ** 2 + sp.diff(W1, t) ** 2 + b0dot ** 2 + b1dot ** 2) / 2 \
        - sp.Function("ell_{1}")(z2, Y)
    assert sp.expand(D.L_wz - L) == 0


def test_split_bulk_boundary_and_printed_coefficient():
    net = network((2, 2, 2, 2))
    D = decompose(net)
    assert sp.expand(D.bulk + D.boundary - D.L_wz) == 0
    assert all(not is_data_term(net, a) for a in sp.Add.make_args(D.bulk))
    assert all(is_data_term(net, a) for a in sp.Add.make_args(D.boundary))
    bulk, boundary = derived_eq7(net)
    assert sp.expand(D.bulk - bulk) == 0 and sp.expand(D.boundary - boundary) == 0
    _, printed_boundary = printed_eq7(net)
    diff = sp.expand(D.boundary - printed_boundary)
    flow = [sp.Add(*[sp.diff(net.W[(0, i, j)] * net.X[j - 1], net.t) for j in (1, 2)]) for i in (1, 2)]
    assert sp.expand(diff + sp.Rational(1, 2) * sum(f ** 2 for f in flow)) == 0
    # reading the bulk sums over m = 0..M-1 double counts the m = 0 terms
    b0, bd0 = printed_eq7(net, m_from=0, boundary_coefficient=sp.Rational(1, 2))
    assert sp.expand(b0 + bd0 - D.L_wz) != 0


def test_fixed_input():
    net = network((2, 2, 1), time_dependent_data=False)
    D = decompose(net)
    bulk, boundary = derived_eq7(net)
    assert sp.expand(D.boundary - boundary) == 0
    assert D.boundary.has(net.X[0])


@pytest.mark.parametrize("widths, exc", [
    ((2, 2), ValueError),            # M = 1
    ((2,), ValueError),
    ((2, 0, 2), ValueError),         # zero width
    ((2, -1, 2), ValueError),
    ((2, 2.0, 2), TypeError),        # non-integer
    ((2, 2.5, 2), TypeError),
    ((True, 2, 2), TypeError),
    ("222", TypeError),
    (3, TypeError),
])
def test_bad_input(widths, exc):
    with pytest.raises(exc):
        network(widths)


def test_bad_options():
    with pytest.raises(ValueError):
        network((2, 2, 2), loss="mse")
    with pytest.raises(TypeError):
        network((2, 2, 2), time_dependent_data=1)


def test_display_form():
    from bbdlib.bulk_boundary.symbolic.lagrangian import display_form
    net = network((1, 1, 1), loss="sitewise")
    D = decompose(net)
    e = display_form(D.L_wz, net.t)
    assert not e.atoms(sp.Derivative)
    names = {s.name for s in e.free_symbols}
    assert r"\dot{W}^{(0)}_{1,1}" in names and r"\dot{z}^{(2)}_{1}" in names and "X_{1}" in names
    assert "\\sigma'" in sp.latex(e) and "\\ell_{1}" in sp.latex(e)


def test_eq7_term_by_term():
    from bbdlib.bulk_boundary.symbolic.lagrangian import term_coefficients_eq7
    net = network((2, 3, 2, 1))
    D = decompose(net)
    coeffs = term_coefficients_eq7(net, D.L_wz)
    assert len(coeffs) == 7
    mismatched = {k for k, (printed, derived) in coeffs.items() if printed != derived}
    assert mismatched == {"boundary: Σi[Σj ∂t(W⁽⁰⁾ij Xj)]²"}
    assert coeffs["boundary: Σi[Σj ∂t(W⁽⁰⁾ij Xj)]²"][1] == sp.Rational(1, 2)
    with pytest.raises(ValueError):
        term_coefficients_eq7(net, D.L_wz + sp.diff(net.W[(0, 1, 1)], net.t) ** 4)


def test_flat_parameters_follow_the_numeric_theta():
    import numpy as np

    from bbdlib.bulk_boundary.network import Network as NumericNetwork

    widths = (2, 3, 1)
    sym = network(widths, time_dependent_data=False)
    net = NumericNetwork(widths)
    params = sym.flat_parameters()
    assert len(params) == net.n_params == len(set(params))
    Ws, bs = net.unpack(np.arange(float(net.n_params)))
    assert params.index(sym.W[(1, 1, 2)]) == int(Ws[1][0, 1])
    assert params.index(sym.b[(0, 3)]) == int(bs[0][2])
