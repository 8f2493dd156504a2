"""Tests of bbdlib.bulk_boundary.symbolic.hamiltonian: eqs. (8) and (16) of [A]."""
import pytest
import sympy as sp

from bbdlib.bulk_boundary.symbolic.hamiltonian import (
    derived_eq16,
    legendre_shift_residual,
    loss_coefficient,
    printed_eq16,
)
from bbdlib.bulk_boundary.symbolic.jets import jets


def test_eq16_coefficient():
    J = jets((2, 1, 1))
    H = J.legendre("Wb", weighted=True)
    assert sp.expand(H - derived_eq16(J)) == 0
    assert sp.expand(H - printed_eq16(J) - J.egt * J.total_loss / 2) == 0
    assert loss_coefficient(J, H) == 1
    with pytest.raises(ValueError):
        loss_coefficient(J, H + J.W(0, 1, 1))


def test_eq8_printed_lacks_the_damping_factor():
    J = jets((1, 2, 1))
    assert sp.cancel(J.legendre("Wz", weighted=True) / J.legendre("Wz")) == J.egt


@pytest.mark.parametrize("widths", [(2, 2, 1), (2, 3, 2, 1), (1, 2, 2, 2, 1)])
def test_eq8_basis_independence_and_the_input_shift(widths):
    for moving in (False, True):
        J = jets(widths, moving_input=moving)
        assert legendre_shift_residual(J) == 0
        diff = sp.expand(J.legendre("Wz") - J.to_wz(J.legendre("Wb")))
        assert (diff == 0) is (not moving)
        assert (J.input_drive() == 0) is (not moving)


def test_bad_input():
    with pytest.raises(TypeError, match="J must be"):
        legendre_shift_residual((1, 2, 2, 1))
