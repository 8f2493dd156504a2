"""Legendre transforms of [A]: eq. (8) in (W, z), eq. (16) in (W, b), and their difference for a moving input.

The transform itself is :meth:`bbdlib.bulk_boundary.symbolic.jets.Jets.legendre`:
``Σ_q ∂(wL)/∂q̇ q̇ - wL`` with ``w = e^{γt}`` for the damped action (5) (canonical momenta
``p = ∂(e^{γt}L)/∂q̇``) or ``w = 1`` (eq. (8) as printed, ``p = ∂L/∂q̇``).  This module types
the printed (16) and computes the shift between the two bases: eq. (6) at ``m = 0`` depends on
time through ``X(t)``, and for a time-dependent point transformation the transforms differ by
``Σ_i ḃ^(0)_i Σ_j W^(0)_ij Ẋ_j``.
"""
from __future__ import annotations

import sympy as sp

from bbdlib.bulk_boundary.symbolic.jets import Jets

__all__ = ["printed_eq16", "derived_eq16", "loss_coefficient", "legendre_shift_residual"]

_HALF = sp.Rational(1, 2)


def _check(J) -> Jets:
    if not isinstance(J, Jets):
        raise TypeError(f"J must be a Jets (bbdlib.bulk_boundary.symbolic.jets.jets), got {type(J).__name__}")
    return J


def printed_eq16(J: Jets) -> sp.Expr:
    """Eq. (16) of [A] as printed: ``½ e^{γt} [Σ Ẇ² + Σ ḃ² + ℓ]`` (``"Wb"`` jet variables, ``E = e^{γt}``)."""
    _check(J)
    return sp.expand(_HALF * J.egt * (2 * J.kinetic("Wb") + J.total_loss))


def derived_eq16(J: Jets) -> sp.Expr:
    """Eq. (16) corrected: ``e^{γt} [½ Σ Ẇ² + ½ Σ ḃ² + ℓ]`` (the loss with coefficient 1)."""
    _check(J)
    return sp.expand(J.egt * (J.kinetic("Wb") + J.total_loss))


def loss_coefficient(J: Jets, H: sp.Expr) -> sp.Expr:
    """The coefficient ``c`` in ``H = e^{γt}(T + c ℓ)``; raises ``ValueError`` if ``H`` is not of that form."""
    _check(J)
    ell = J.total_loss
    first = sp.Add.make_args(ell)[0]
    c = sp.expand(H).coeff(J.egt * first)
    if sp.expand(H - J.egt * (J.kinetic("Wb") + c * ell)) != 0:
        raise ValueError("H is not e^{γt}(T + c ℓ)")
    return c


def legendre_shift_residual(J: Jets) -> sp.Expr:
    """``H_(8) - H_(W,b) - Σ_i ḃ^(0)_i Σ_j W^(0)_ij Ẋ_j`` in the (W, z) variables (zero: an identity).

    ``H_(8)`` is the Legendre transform in the (W, z) basis, ``H_(W,b)`` the one in (W, b)
    rewritten by (6); with ``moving_input=False`` the input term vanishes.

    Parameters
    ----------
    J : Jets

    Returns
    -------
    sympy.Expr
    """
    _check(J)
    return sp.expand(J.legendre("Wz") - J.to_wz(J.legendre("Wb") + J.input_drive()))
