"""Tests of bbdlib.bulk_boundary.symbolic.hamiltonian: eqs. (8) and (16) of [A]."""
import sympy as sp

from bbdlib.bulk_boundary.symbolic.eom import canonical
from bbdlib.bulk_boundary.symbolic.hamiltonian import (
    derived_eq16,
    hamiltonian_wb,
    hamiltonian_wz,
    legendre,
    printed_eq16,
    time_dependent_input_term,
)
from bbdlib.bulk_boundary.symbolic.lagrangian import decompose, network


def test_legendre_known_case():
    t = sp.Symbol("t")
    q = sp.Function("q")(t)
    L = sp.diff(q, t) ** 2 / 2 - q ** 4
    assert sp.expand(legendre(L, [q], t) - (sp.diff(q, t) ** 2 / 2 + q ** 4)) == 0


def test_eq16_coefficient():
    net = network((2, 1, 1))
    D = decompose(net)
    H = hamiltonian_wb(net, D.L_wb, sp.exp(net.gamma * net.t))
    assert canonical(H - derived_eq16(net)) == 0
    assert canonical(H - printed_eq16(net)) != 0


def test_eq8_basis_independence():
    for td in (False, True):
        net = network((2, 2, 1), time_dependent_data=td)
        D = decompose(net)
        f = net.bias_in_wz()
        diff = canonical(hamiltonian_wz(net, D.L_wz) - hamiltonian_wb(net, D.L_wb).subs(f))
        extra = canonical(time_dependent_input_term(net).subs(f))
        assert canonical(diff - extra) == 0
        assert (extra == 0) is (not td)
