"""Damped Euler–Lagrange equations of [A]: the printed eqs. (4), (15), (23), (28) and the equivalence (W, z) ⇔ (W, b).

The equations themselves, ``E(q) = d/dt ∂L/∂q̇ + γ ∂L/∂q̇ - ∂L/∂q`` (eq. (14)), are
:meth:`bbdlib.bulk_boundary.symbolic.jets.Jets.eom` in either basis.  This module types the
printed right-hand sides in the same jet variables, for comparison, and proves the
equivalence of the (W, z) equations with eq. (4) in (W, b): for the point transformation
``q = f(Q, t)`` of eq. (6), ``E_Q = Jᵀ (E_q ∘ f)`` with ``J = ∂q/∂Q`` triangular with unit
diagonal, hence invertible.
"""
from __future__ import annotations

from dataclasses import dataclass

import sympy as sp

from bbdlib.bulk_boundary.symbolic.jets import Jets
from bbdlib.validate import check_int

__all__ = ["printed_eq4", "printed_eq15_W", "printed_eq15_z", "printed_eq23_W", "printed_eq23_z",
           "printed_eq28", "jacobian", "Equivalence", "equivalence_to_eq4"]


def _check(J) -> Jets:
    if not isinstance(J, Jets):
        raise TypeError(f"J must be a Jets (bbdlib.bulk_boundary.symbolic.jets.jets), got {type(J).__name__}")
    return J


def printed_eq4(J: Jets, key: tuple) -> sp.Expr:
    """Eq. (4) of [A]: ``q̈ + γ q̇ + ∂ℓ(Z(W, b, X), Y)/∂q`` for a weight or bias ``q`` (``"Wb"`` basis)."""
    _check(J)
    return sp.expand(J.var(key, 2) + J.gamma * J.var(key, 1) + J.partial(J.total_loss, key, "Wb"))


def printed_eq15_W(J: Jets, m: int, i: int, j: int) -> sp.Expr:
    """Eq. (15) of [A], first line: ``E(W^(m)_ij)`` for ``0 < m < M`` (as printed).

    At ``m = 0`` (``h^(0) = X``) it is the first line of eq. (23).
    """
    _check(J)
    m = check_int("m", m, minimum=0, maximum=J.M - 1)
    h = J.h(m, j)
    return sp.expand(J.W(m, i, j, 2) - J.z(m + 1, i, 2) * h + h * J.dS(m, i)
                     + J.gamma * (J.W(m, i, j, 1) - J.z(m + 1, i, 1) * h + h * J.S(m, i)))


printed_eq23_W = printed_eq15_W


def printed_eq15_z(J: Jets, m: int, i: int, *, friction_layer: int | None = None) -> sp.Expr:
    """Eq. (15) of [A], second line: ``E(z^(m)_i)`` for ``1 < m < M``.

    As printed, the second term of the friction bracket is ``Σ_j ∂_t(W^(m)_ij σ(z^(m)_j))``
    (layer ``m``) while the acceleration part has ``Σ_j ∂_t²[W^(m-1)_ij σ(z^(m-1)_j)]``.
    ``friction_layer`` is the layer used in that friction term: ``m`` as printed (default),
    ``m - 1`` for the form the Lagrangian gives.  The printed index pattern needs
    ``i <= N_{m+1}`` (``W^(m)_ij`` exists), else ``ValueError``.  With ``m = 1`` and
    ``friction_layer = 0`` it is the second line of eq. (23).

    Parameters
    ----------
    J : Jets
    m, i : int
        The neuron ``z^(m)_i``, ``1 <= m < M``.
    friction_layer : int, optional
        ``m`` or ``m - 1``.

    Returns
    -------
    sympy.Expr
    """
    _check(J)
    m = check_int("m", m, minimum=1, maximum=J.M - 1)
    k = m if friction_layer is None else check_int("friction_layer", friction_layer, minimum=m - 1, maximum=m)
    if i not in J.N(k + 1):
        raise ValueError(f"the printed friction term W^({k})_{{{i}j}} needs i <= N_{k + 1} = {J.widths[k + 1]}")
    sp1, up = J.dsigma(m, i), J.N(m + 1)
    acc = (J.z(m, i, 2) - J.dS(m - 1, i) - sp.Add(*[J.z(m + 1, a, 2) * J.W(m, a, i) * sp1 for a in up])
           + sp.Add(*[J.W(m, a, i) * sp1 * J.dS(m, a) for a in up]))
    fric = (J.z(m, i, 1) - J.S(k, i) - sp.Add(*[J.z(m + 1, a, 1) * J.W(m, a, i) * sp1 for a in up])
            + sp.Add(*[J.W(m, a, i) * sp1 * J.S(m, a) for a in up]))
    return sp.expand(acc + J.gamma * fric)


def printed_eq23_z(J: Jets, i: int) -> sp.Expr:
    """Eq. (23) of [A], second line: ``E(z^(1)_i)`` (the input sector, ``h^(0) = X``)."""
    return printed_eq15_z(J, 1, i, friction_layer=0)


def printed_eq28(J: Jets, i: int) -> sp.Expr:
    """Eq. (28) of [A]: ``E(Z_i)`` for the output neurons, the force ``∂ℓ_i/∂Z_i`` (site-wise loss)."""
    _check(J)
    M = J.M
    return sp.expand(J.z(M, i, 2) - J.dS(M - 1, i) + J.gamma * (J.z(M, i, 1) - J.S(M - 1, i)) + J.loss(i, "lZ"))


def jacobian(J: Jets) -> sp.Matrix:
    """``Jac[a, b] = ∂q_b/∂Q_a`` for ``Q = (W, z)``, ``q = (W, b)`` through eq. (6) (jet symbols)."""
    _check(J)
    Q = J.variables("Wz")
    q = J.variables("Wb")
    rows = []
    for Qa in Q:
        row = []
        for qb in q:
            expr = J.to_wz(J.var(qb))           # q_b(Q): W itself, or b from (6)
            row.append(J.partial(expr, Qa, "Wz"))
        rows.append(row)
    return sp.Matrix(rows)


@dataclass(frozen=True)
class Equivalence:
    """Result of :func:`equivalence_to_eq4`.

    Attributes
    ----------
    residuals : dict
        ``Q -> E_Q - (Jᵀ E_q∘f)_Q``, expanded (all zero when it holds).
    jacobian : sympy.Matrix
    unit_triangular : bool
        ``J`` triangular with ones on the diagonal (``det J = 1``).
    """

    residuals: dict
    jacobian: sp.Matrix
    unit_triangular: bool

    @property
    def holds(self) -> bool:
        """Whether every residual is zero and ``J`` is unit triangular."""
        return self.unit_triangular and all(r == 0 for r in self.residuals.values())


def equivalence_to_eq4(J: Jets) -> Equivalence:
    """Prove that the (W, z) equations of motion are equivalent to eq. (4) in (W, b).

    Both sets of damped Euler–Lagrange expressions are computed from the Lagrangian in their
    own basis; eq. (6) is substituted into the (W, b) ones and ``E_Q = Jᵀ (E_q ∘ f)`` checked
    term by term, together with the unit-triangular form of ``J``.

    Parameters
    ----------
    J : Jets

    Returns
    -------
    Equivalence
    """
    _check(J)
    Q, q = J.variables("Wz"), J.variables("Wb")
    Eq_sub = [J.to_wz(J.eom(k, "Wb")) for k in q]
    Jac = jacobian(J)
    residuals = {}
    for a, Qa in enumerate(Q):
        rhs = sp.Add(*[Jac[a, b] * Eq_sub[b] for b in range(len(q)) if Jac[a, b] != 0])
        residuals[Qa] = sp.expand(J.eom(Qa, "Wz") - rhs)
    n = Jac.shape[0]
    unit = all(sp.expand(Jac[k, k] - 1) == 0 for k in range(n))
    return Equivalence(residuals=residuals, jacobian=Jac, unit_triangular=bool((Jac.is_upper or Jac.is_lower) and unit))
