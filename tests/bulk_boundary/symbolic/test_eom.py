"""Tests of bbdlib.bulk_boundary.symbolic.eom: eqs. (4), (14), (15), (23), (28) of [A]."""
import sympy as sp

from bbdlib.bulk_boundary.symbolic.eom import (
    canonical,
    damped_euler_lagrange,
    eom_wb,
    eom_wz,
    equivalence_to_eq4,
    jacobian,
    printed_eq4,
    printed_eq15_W,
    printed_eq15_z,
    printed_eq23_W,
    printed_eq23_z,
    printed_eq28,
)
from bbdlib.bulk_boundary.symbolic.lagrangian import decompose, network


def test_damped_oscillator():
    """L = q'^2/2 - k q^2/2 gives q'' + gamma q' + k q (eq. (14) on a known case)."""
    t, g, k = sp.symbols("t gamma k")
    q = sp.Function("q")(t)
    L = sp.diff(q, t) ** 2 / 2 - k * q ** 2 / 2
    E = damped_euler_lagrange(L, [q], t, g)[q]
    assert sp.expand(E - (sp.diff(q, t, 2) + g * sp.diff(q, t) + k * q)) == 0


def test_eq4_from_eq5():
    net = network((2, 1, 1))
    D = decompose(net)
    E = eom_wb(net, D.L_wb)
    for q in net.variables("Wb"):
        assert canonical(E[q] - printed_eq4(net, q)) == 0


def test_bulk_equations_and_printed_index():
    net = network((2, 2, 2, 2), loss="sitewise")
    D = decompose(net)
    E = eom_wz(net, D.L_wz)
    for (m, i, j), W in net.W.items():
        assert canonical(E[W] - printed_eq15_W(net, m, i, j)) == 0   # m = 0 is eq. (23)
    for i in (1, 2):
        # as printed, the friction term of E(z^(2)) has the wrong layer
        assert canonical(E[net.z[(2, i)]] - printed_eq15_z(net, 2, i)) != 0
        assert canonical(E[net.z[(2, i)]] - printed_eq15_z(net, 2, i, friction_layer=1)) == 0
        assert canonical(E[net.z[(1, i)]] - printed_eq23_z(net, i)) == 0
        assert canonical(E[net.z[(3, i)]] - printed_eq28(net, i)) == 0
    assert printed_eq23_W is printed_eq15_W


def test_printed_boundary_coefficient_would_break_eq23():
    """With the printed coefficient 1 of eq. (7), E(W^(0)) is not eq. (23)."""
    from bbdlib.bulk_boundary.symbolic.lagrangian import printed_eq7
    net = network((2, 2, 2))
    bulk, boundary = printed_eq7(net)
    W = net.W[(0, 1, 2)]
    E = damped_euler_lagrange(bulk + boundary, [W], net.t, net.gamma)[W]
    assert canonical(E - printed_eq23_W(net, 0, 1, 2)) != 0


def test_equivalence_to_eq4_fixed_and_moving_input():
    for td in (False, True):
        net = network((1, 2, 1), time_dependent_data=td)
        D = decompose(net)
        eq = equivalence_to_eq4(net, D.L_wb, D.L_wz)
        assert eq.holds
        J = jacobian(net)
        assert sp.simplify(J.det()) == 1


def test_equivalence_detects_a_wrong_lagrangian():
    net = network((1, 2, 1))
    D = decompose(net)
    wrong = D.L_wz + sp.diff(net.z[(1, 1)], net.t) ** 2   # extra kinetic term
    assert not equivalence_to_eq4(net, D.L_wb, wrong).holds
