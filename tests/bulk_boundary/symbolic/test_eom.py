"""Tests of bbdlib.bulk_boundary.symbolic.eom: eqs. (4), (14), (15), (23), (28) of [A]."""
import pytest
import sympy as sp

from bbdlib.bulk_boundary.symbolic.eom import (
    equivalence_to_eq4,
    jacobian,
    printed_eq4,
    printed_eq15_W,
    printed_eq15_z,
    printed_eq23_W,
    printed_eq23_z,
    printed_eq28,
)
from bbdlib.bulk_boundary.symbolic.jets import jets


def test_eq4_from_eq5():
    J = jets((2, 1, 2))
    for k in J.variables("Wb"):
        assert sp.expand(J.eom(k, "Wb") - printed_eq4(J, k)) == 0


@pytest.mark.parametrize("widths", [(2, 2, 2, 2), (1, 2, 3, 1)])
def test_bulk_equations_and_printed_index(widths):
    J = jets(widths)
    for k in J.variables("Wz"):
        if k[0] == "W":
            assert sp.expand(J.eom(k) - printed_eq15_W(J, *k[1:])) == 0   # m = 0 is eq. (23)
    for i in J.N(2):
        assert sp.expand(J.eom(("z", 2, i)) - printed_eq15_z(J, 2, i, friction_layer=1)) == 0
        if i in J.N(3):     # as printed, the friction term of E(z^(2)) has the wrong layer
            assert sp.expand(J.eom(("z", 2, i)) - printed_eq15_z(J, 2, i)) != 0
        else:
            with pytest.raises(ValueError, match="needs i"):
                printed_eq15_z(J, 2, i)
    for i in J.N(1):
        assert sp.expand(J.eom(("z", 1, i)) - printed_eq23_z(J, i)) == 0
    for i in J.N(J.M):
        assert sp.expand(J.eom(("z", J.M, i)) - printed_eq28(J, i)) == 0
    assert printed_eq23_W is printed_eq15_W


def test_printed_boundary_coefficient_would_break_eq23():
    """With the printed coefficient 1 of eq. (7), E(W^(0)) is not eq. (23)."""
    J = jets((2, 2, 2))
    extra = sp.Rational(1, 2) * sum(J.S(0, i) ** 2 for i in J.N(1))
    p = sp.diff(extra, J.W(0, 1, 2, 1))
    E = J.eom(("W", 0, 1, 2)) + J.dt(p) + J.gamma * p - J.partial(extra, ("W", 0, 1, 2))
    assert sp.expand(E - printed_eq23_W(J, 0, 1, 2)) != 0


@pytest.mark.parametrize("moving", [False, True])
def test_equivalence_to_eq4(moving):
    J = jets((1, 2, 2, 1), moving_input=moving, moving_target=moving)
    eq = equivalence_to_eq4(J)
    assert eq.holds
    assert sp.expand(jacobian(J).det()) == 1


def test_equivalence_detects_a_wrong_equation(monkeypatch):
    J = jets((1, 2, 1))
    eom = J.eom

    def wrong(key, basis="Wz"):       # an extra term in one (W, z) equation
        e = eom(key, basis)
        return e + J.z(1, 1, 1) if (key == ("z", 1, 1) and basis == "Wz") else e
    monkeypatch.setattr(J, "eom", wrong)
    assert not equivalence_to_eq4(J).holds


def test_bad_input():
    J = jets((1, 2, 2, 1))
    with pytest.raises(ValueError, match="m"):
        printed_eq15_z(J, 3, 1)
    with pytest.raises(ValueError, match="friction_layer"):
        printed_eq15_z(J, 2, 1, friction_layer=0)
    with pytest.raises(TypeError, match="J must be"):
        equivalence_to_eq4((1, 2, 1))
