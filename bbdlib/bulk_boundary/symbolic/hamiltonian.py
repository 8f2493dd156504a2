"""Legendre transforms of [A]: eq. (8) in (W, z) and eq. (16) in (W, b).

For the damped action ``S = int dt e^{gamma t} L`` (eq. (5) of [A]) the canonical momenta
are ``p = d(e^{gamma t} L)/dq'`` and the Hamiltonian is
``H = sum p q' - e^{gamma t} L = e^{gamma t} (sum q' dL/dq' - L)``.  Eq. (8) writes the same
transform with ``p = dL/dq'`` and ``L``; the two differ by the overall factor ``e^{gamma t}``.
"""
from __future__ import annotations

from typing import Iterable

import sympy as sp

from bbdlib.bulk_boundary.symbolic.lagrangian import Network

__all__ = ["legendre", "hamiltonian_wb", "hamiltonian_wz", "printed_eq16",
           "derived_eq16", "time_dependent_input_term"]


def legendre(L: sp.Expr, variables: Iterable[sp.Expr], t: sp.Symbol,
             weight: sp.Expr = sp.Integer(1)) -> sp.Expr:
    """``sum_q (d(weight L)/dq') q' - weight L``, expanded (eq. (8) of [A] for ``weight = 1``).

    ``weight = exp(gamma t)`` gives the Hamiltonian of the damped action (5).
    """
    WL = weight * L
    H = sp.Add(*[sp.diff(WL, sp.diff(q, t)) * sp.diff(q, t) for q in variables]) - WL
    return sp.expand(H)


def hamiltonian_wb(net: Network, L_wb: sp.Expr, weight: sp.Expr = sp.Integer(1)) -> sp.Expr:
    """Legendre transform in the (W, b) variables."""
    return legendre(L_wb, net.variables("Wb"), net.t, weight)


def hamiltonian_wz(net: Network, L_wz: sp.Expr, weight: sp.Expr = sp.Integer(1)) -> sp.Expr:
    """Legendre transform in the (W, z) variables: eq. (8) of [A]."""
    return legendre(L_wz, net.variables("Wz"), net.t, weight)


def printed_eq16(net: Network) -> sp.Expr:
    """Eq. (16) of [A] as printed: ``1/2 e^{gt} [sum W'^2 + sum b'^2 + ell(W, b, X, Y)]``."""
    d = net.d
    return sp.expand(sp.Rational(1, 2) * sp.exp(net.gamma * net.t) * (
        sp.Add(*[d(w) ** 2 for w in net.W.values()]) + sp.Add(*[d(b) ** 2 for b in net.b.values()])
        + net.loss_of(net.forward())))


def derived_eq16(net: Network) -> sp.Expr:
    """Eq. (16) as the Legendre transform of ``e^{gt} L`` gives it:
    ``e^{gt} [1/2 sum W'^2 + 1/2 sum b'^2 + ell]`` (the loss with coefficient 1)."""
    d = net.d
    return sp.expand(sp.exp(net.gamma * net.t) * (
        sp.Rational(1, 2) * (sp.Add(*[d(w) ** 2 for w in net.W.values()])
                             + sp.Add(*[d(b) ** 2 for b in net.b.values()]))
        + net.loss_of(net.forward())))


def time_dependent_input_term(net: Network) -> sp.Expr:
    """``H_(W,z) - H_(W,b)`` for a time-dependent input, in the (W, b) variables.

    Eq. (6) at ``m = 0`` depends on time explicitly through ``X(t)``:
    ``b^{(0)} = z^{(1)} - W^{(0)} X(t)``.  For a time-dependent point transformation
    ``q = f(Q, t)`` the Legendre transforms differ by ``-sum p_q df/dt|_explicit``, here
    ``sum_i b'^{(0)}_i sum_j W^{(0)}_{ij} X'_j``.  Zero for a fixed input.
    """
    if not net.time_dependent_data:
        return sp.Integer(0)
    N = net.widths
    return sp.expand(sp.Add(*[
        net.d(net.b[(0, i)]) * sp.Add(*[net.W[(0, i, j)] * net.d(net.X[j - 1])
                                        for j in range(1, N[0] + 1)])
        for i in range(1, N[1] + 1)]))
