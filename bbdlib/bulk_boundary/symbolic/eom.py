"""Damped Euler–Lagrange equations of [A]: eqs. (4), (14), (15), (23), (28), derived by sympy.

The action of eq. (5) of [A] is ``S = int dt e^{gamma t} L``.  Its Euler–Lagrange equations,
obtained with :func:`sympy.calculus.euler.euler_equations` applied to ``e^{gamma t} L`` and
divided by ``-e^{gamma t}``, are eq. (14)::

    E(q) = d/dt dL/dq' + gamma dL/dq' - dL/dq = 0.

This module returns ``E(q)`` for every variable of either basis, builds the printed
right-hand sides of eqs. (4), (15), (23), (28) for comparison, and proves the equivalence
of the (W, z) equations with eq. (4) in (W, b): for the point transformation
``q = f(Q, t)`` of eq. (6), ``E_Q = J^T (E_q o f)`` with ``J = dq/dQ`` triangular with unit
diagonal, hence invertible.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

import sympy as sp
from sympy.calculus.euler import euler_equations

from bbdlib.bulk_boundary.symbolic.lagrangian import Network

__all__ = [
    "damped_euler_lagrange",
    "eom_wb",
    "eom_wz",
    "printed_eq4",
    "printed_eq15_W",
    "printed_eq15_z",
    "printed_eq23_W",
    "printed_eq23_z",
    "printed_eq28",
    "jacobian",
    "Equivalence",
    "equivalence_to_eq4",
    "canonical",
]


def canonical(e: sp.Expr) -> sp.Expr:
    """Evaluate ``Subs``/unevaluated derivatives and expand (a canonical form for comparisons)."""
    return sp.expand(e.doit())


def damped_euler_lagrange(L: sp.Expr, variables: Iterable[sp.Expr], t: sp.Symbol,
                          gamma: sp.Symbol) -> dict[sp.Expr, sp.Expr]:
    """``E(q)`` of eq. (14) of [A] for each ``q`` in ``variables`` (expanded).

    Uses sympy's ``euler_equations`` on ``e^{gamma t} L`` (eq. (5)), whose left-hand sides
    are ``d(e^{gt}L)/dq - d/dt d(e^{gt}L)/dq'``; the result is multiplied by ``-e^{-gamma t}``.
    """
    variables = list(variables)
    # Only the terms of L that contain q contribute to its equation: hand sympy that
    # part (the same equation, much less work for large Lagrangians).
    terms = sp.Add.make_args(sp.expand(L))
    out = {}
    for q in variables:
        L_q = sp.Add(*[a for a in terms if a.has(q)])
        (eq,) = euler_equations(sp.exp(gamma * t) * L_q, [q], t)
        out[q] = canonical(-sp.exp(-gamma * t) * eq.lhs)
    return out


def eom_wb(net: Network, L_wb: sp.Expr) -> dict[sp.Expr, sp.Expr]:
    """Eq. (14) in the (W, b) variables (the Euler–Lagrange form of eq. (4))."""
    return damped_euler_lagrange(L_wb, net.variables("Wb"), net.t, net.gamma)


def eom_wz(net: Network, L_wz: sp.Expr, variables: Iterable[sp.Expr] | None = None
           ) -> dict[sp.Expr, sp.Expr]:
    """Eq. (14) in the (W, z) variables (all of them, or the ``variables`` given)."""
    if variables is None:
        variables = net.variables("Wz")
    return damped_euler_lagrange(L_wz, variables, net.t, net.gamma)


def printed_eq4(net: Network, q: sp.Expr) -> sp.Expr:
    """Eq. (4) of [A]: ``q'' + gamma q' + d ell(Z(W, b, X), Y)/dq`` for a weight or bias ``q``."""
    ell = net.loss_of(net.forward())
    return canonical(net.d(q, 2) + net.gamma * net.d(q) + sp.diff(ell, q))


def _flow(net: Network, m: int, i: int, j: int) -> sp.Expr:
    return net.W[(m, i, j)] * net.h(m, j)


def _dflow_sum(net: Network, m: int, i: int, n: int) -> sp.Expr:
    """``sum_j d^n/dt^n (W^{(m)}_{ij} h^{(m)}_j)``."""
    return sp.Add(*[net.d(_flow(net, m, i, j), n) for j in range(1, net.widths[m] + 1)])


def printed_eq15_W(net: Network, m: int, i: int, j: int) -> sp.Expr:
    """Eq. (15) of [A], first line: ``E(W^{(m)}_{ij})`` for ``0 < m < M`` (as printed).

    With ``m = 0`` (``h^{(0)} = X``) it is the first line of eq. (23).
    """
    z, g, d, h = net.z, net.gamma, net.d, net.h(m, j)
    W = net.W[(m, i, j)]
    return canonical(d(W, 2) - d(z[(m + 1, i)], 2) * h + h * _dflow_sum(net, m, i, 2)
                     + g * (d(W) - d(z[(m + 1, i)]) * h + h * _dflow_sum(net, m, i, 1)))


printed_eq23_W = printed_eq15_W


def printed_eq15_z(net: Network, m: int, i: int, *, friction_layer: int | None = None
                   ) -> sp.Expr:
    """Eq. (15) of [A], second line: ``E(z^{(m)}_i)`` for ``1 < m < M``.

    As printed, the second term of the friction bracket is
    ``sum_j d/dt(W^{(m)}_{ij} sigma(z^{(m)}_j))`` (layer ``m``) while the acceleration part
    has ``sum_j d^2/dt^2 [W^{(m-1)}_{ij} sigma(z^{(m-1)}_j)]`` (layer ``m - 1``).
    ``friction_layer`` is the layer used in that friction term: ``m`` as printed (the
    default), ``m - 1`` for the form the Lagrangian gives.  ``friction_layer = m`` needs
    ``N_m = N_{m+1}`` for the printed index pattern to make sense; with unequal widths
    only ``i <= N_{m+1}`` is representable, else ``ValueError``.
    With ``m = 1`` and ``friction_layer = 0`` it is the second line of eq. (23).
    """
    if friction_layer is None:
        friction_layer = m
    z, g, d = net.z, net.gamma, net.d
    sp_ = net.sigma(z[(m, i)]).diff(z[(m, i)])  # sigma'(z^{(m)}_i)
    Np = net.widths[m + 1]
    if friction_layer == m and i > Np:
        raise ValueError(f"the printed friction term W^({m})_{{{i}j}} needs i <= N_{m + 1} = {Np}")
    acc = (d(z[(m, i)], 2) - _dflow_sum(net, m - 1, i, 2)
           - sp.Add(*[d(z[(m + 1, a)], 2) * net.W[(m, a, i)] * sp_ for a in range(1, Np + 1)])
           + sp.Add(*[net.W[(m, a, i)] * sp_ * _dflow_sum(net, m, a, 2) for a in range(1, Np + 1)]))
    fric = (d(z[(m, i)]) - _dflow_sum(net, friction_layer, i, 1)
            - sp.Add(*[d(z[(m + 1, a)]) * net.W[(m, a, i)] * sp_ for a in range(1, Np + 1)])
            + sp.Add(*[net.W[(m, a, i)] * sp_ * _dflow_sum(net, m, a, 1) for a in range(1, Np + 1)]))
    return canonical(acc + g * fric)


def printed_eq23_z(net: Network, i: int) -> sp.Expr:
    """Eq. (23) of [A], second line: ``E(z^{(1)}_i)`` (the input sector, ``h^{(0)} = X``)."""
    return printed_eq15_z(net, 1, i, friction_layer=0)


def printed_eq28(net: Network, i: int) -> sp.Expr:
    """Eq. (28) of [A]: ``E(Z_i)`` for the output neurons ``Z_i = z^{(M)}_i``.

    The last term is ``d ell_i / d Z_i`` (site-wise loss, as printed) or ``d ell / d Z_i``
    for a generic loss.
    """
    M, d, g = net.M, net.d, net.gamma
    Z = net.z[(M, i)]
    ell = net.loss_of(net.Z)
    return canonical(d(Z, 2) - _dflow_sum(net, M - 1, i, 2)
                     + g * (d(Z) - _dflow_sum(net, M - 1, i, 1)) + sp.diff(ell, Z))


def jacobian(net: Network) -> sp.Matrix:
    """``J[a, b] = d q_b / d Q_a`` for ``Q = (W, z)``, ``q = (W, b)`` through eq. (6)."""
    Q = net.variables("Wz")
    f = net.bias_in_wz()
    q_of_Q = list(net.W.values()) + [f[b] for b in net.b.values()]
    return sp.Matrix([[sp.diff(qb, Qa) for qb in q_of_Q] for Qa in Q])


@dataclass(frozen=True)
class Equivalence:
    """Result of :func:`equivalence_to_eq4`."""

    residuals: dict            # Q -> E_Q - (J^T E_q)_Q, expanded (all zero when it holds)
    jacobian: sp.Matrix
    unit_triangular: bool      # J triangular with ones on the diagonal, so det J = 1

    @property
    def holds(self) -> bool:
        return self.unit_triangular and all(r == 0 for r in self.residuals.values())


def equivalence_to_eq4(net: Network, L_wb: sp.Expr, L_wz: sp.Expr, *,
                       E_q: dict | None = None, E_Q: dict | None = None) -> Equivalence:
    """Prove that the (W, z) equations of motion are equivalent to eq. (4) in (W, b).

    Computes both sets of damped Euler–Lagrange equations independently with sympy,
    substitutes eq. (6) into the (W, b) ones, and checks ``E_Q = J^T (E_q o f)`` term by
    term, together with the unit-triangular form of ``J`` (``det J = 1``): the two systems
    have the same solutions.  ``E_q`` / ``E_Q`` may pass equations already computed by
    :func:`eom_wb` / :func:`eom_wz` for the same ``net`` and Lagrangians.
    """
    if E_q is None:
        E_q = eom_wb(net, L_wb)
    if E_Q is None:
        E_Q = eom_wz(net, L_wz)
    f = net.bias_in_wz()
    qs = net.variables("Wb")
    Qs = net.variables("Wz")
    E_q_sub = [canonical(E_q[q].subs(f)) for q in qs]
    J = jacobian(net)
    residuals = {}
    for a, Qa in enumerate(Qs):
        rhs = sp.Add(*[J[a, b] * E_q_sub[b] for b in range(len(qs)) if J[a, b] != 0])
        residuals[Qa] = canonical(E_Q[Qa] - rhs)
    n = J.shape[0]
    triangular = J.is_upper or J.is_lower
    unit = all(sp.simplify(J[k, k] - 1) == 0 for k in range(n))
    return Equivalence(residuals=residuals, jacobian=J, unit_triangular=bool(triangular and unit))
