"""The training Lagrangian of [A]: the recursion (1), eq. (5), the change of variables (6), the split (7).

[A] D. Lee, H.-S. Lee, J. Yi, "Bulk–boundary decomposition of neural networks".

Everything is built on the jet calculus of :mod:`bbdlib.bulk_boundary.symbolic.jets` (the one
construction of L): the (W, b) Lagrangian (5) is ``J.lagrangian("Wb")``, the (W, z) one
``J.lagrangian("Wz")``; eq. (6) is the change of basis :meth:`~bbdlib.bulk_boundary.symbolic.jets.Jets.to_wz`.
This module adds what Sec. 3 says about them: which monomials hold data (the bulk/boundary
split), the printed eq. (7) typed term by term, the term-by-term coefficients, and a numeric
evaluation of the recursion (1) and of ``∂ℓ/∂(W, b)`` (eq. (2)) for a concrete activation.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
import sympy as sp

from bbdlib.activations import ACTIVATIONS
from bbdlib.bulk_boundary.symbolic.jets import Jets
from bbdlib.validate import check_choice, check_int

__all__ = ["Decomposition", "decompose", "is_data_term", "printed_eq7", "derived_eq7", "terms_eq7",
           "term_coefficients_eq7", "output_in_wz", "NumericPoint", "evaluate_wb"]

_HALF = sp.Rational(1, 2)


def _check(J) -> Jets:
    if not isinstance(J, Jets):
        raise TypeError(f"J must be a Jets (bbdlib.bulk_boundary.symbolic.jets.jets), got {type(J).__name__}")
    return J


def _data_symbols(J: Jets) -> set:
    out = {x for lst in J._X.values() for x in lst} | {x for lst in J._Y.values() for x in lst}
    return out | set(J._lsym.values())


def is_data_term(J: Jets, term: sp.Expr) -> bool:
    """True if ``term`` depends on the data ``X`` or ``Y`` (the boundary criterion of Sec. 3; ``ℓ`` holds ``Y``)."""
    return bool(sp.sympify(term).free_symbols & _data_symbols(_check(J)))


@dataclass(frozen=True)
class Decomposition:
    """The Lagrangian (5) in both bases and its bulk–boundary split (Sec. 3 of [A]).

    Attributes
    ----------
    J : Jets
        The network.
    L_wb, L_wz : sympy.Expr
        Eq. (5) in (W, b) and, after (6), in (W, z).
    bulk, boundary : sympy.Expr
        The monomials of ``L_wz`` without and with data.
    """

    J: Jets
    L_wb: sp.Expr
    L_wz: sp.Expr
    bulk: sp.Expr
    boundary: sp.Expr


def decompose(J: Jets) -> Decomposition:
    """Eq. (5) -> eq. (6) -> the split of eq. (7) of [A] by which monomials depend on X or Y.

    ``L_wz`` is ``J.to_wz(L_wb)``: eq. (6) substituted into the (W, b) Lagrangian.

    Parameters
    ----------
    J : Jets

    Returns
    -------
    Decomposition
    """
    _check(J)
    L_wb = J.lagrangian("Wb")
    L_wz = J.to_wz(L_wb)
    terms = sp.Add.make_args(L_wz)
    data = _data_symbols(J)
    boundary = sp.Add(*[a for a in terms if a.free_symbols & data])
    bulk = sp.Add(*[a for a in terms if not a.free_symbols & data])
    return Decomposition(J=J, L_wb=L_wb, L_wz=L_wz, bulk=bulk, boundary=boundary)


def output_in_wz(J: Jets) -> list[sp.Expr]:
    """The outputs ``Z_i`` of the recursion (1) with ``b`` from (6): ``[to_wz(Z_i(W, b, X))]`` (eq. (6) telescopes)."""
    _check(J)
    return [J.to_wz(J.to_wb(J.z(J.M, i))) for i in J.N(J.M)]


def _flows(J: Jets, m: int, i: int) -> sp.Expr:
    return J.S(m, i)


def printed_eq7(J: Jets, *, boundary_coefficient: sp.Expr = sp.Integer(1), m_from: int = 1,
                z_kinetic_layers: Sequence[int] | None = None) -> tuple[sp.Expr, sp.Expr]:
    """Eq. (7) of [A] as printed, as a pair ``(L_bulk, L_boundary)`` (expanded, jet variables).

    The printed sums do not state their ranges.  ``m_from`` is the first layer of the bulk
    cross and square sums (which run to ``M - 1``): ``1`` is the only choice that does not
    repeat the boundary terms; ``0`` is the range ``m = 0..M-1`` that Sec. 2 declares for the
    weights (with ``h^(0) = X``).  ``z_kinetic_layers`` is the range of ``½ Σ (ż^(m))²``
    (default ``1..M``).  ``boundary_coefficient`` multiplies ``[Σ_j ∂_t(W^(0) X)]²``: printed 1.

    Parameters
    ----------
    J : Jets
    boundary_coefficient : sympy.Expr
    m_from : {0, 1}
    z_kinetic_layers : sequence of int, optional

    Returns
    -------
    tuple of sympy.Expr
    """
    _check(J)
    m_from = check_int("m_from", m_from, minimum=0, maximum=1)
    M = J.M
    layers = range(1, M + 1) if z_kinetic_layers is None else z_kinetic_layers
    bulk = _HALF * sp.Add(*[w[1] ** 2 for w in J._W.values()])
    bulk += _HALF * sp.Add(*[J.z(m, i, 1) ** 2 for m in layers for i in J.N(m)])
    for m in range(m_from, M):
        for i in J.N(m + 1):
            bulk += -J.z(m + 1, i, 1) * J.S(m, i) + _HALF * J.S(m, i) ** 2
    boundary = sp.Add(*[boundary_coefficient * J.S(0, i) ** 2 - J.z(1, i, 1) * J.S(0, i) for i in J.N(1)])
    return sp.expand(bulk), sp.expand(boundary - J.total_loss)


def derived_eq7(J: Jets) -> tuple[sp.Expr, sp.Expr]:
    """Eq. (7) with the coefficient and ranges the derivation gives (corrected).

    Boundary square with coefficient ``½``, bulk cross and square sums from ``m = 1``.
    """
    return printed_eq7(J, boundary_coefficient=_HALF, m_from=1)


def terms_eq7(J: Jets) -> dict[str, tuple[sp.Expr, sp.Expr]]:
    """The seven terms of eq. (7) of [A]: ``name -> (printed coefficient, term without it)``.

    Sums over ``m`` use the ranges the derivation fixes: ``W`` over ``0..M-1``, ``z`` over
    ``1..M``, bulk cross and square over ``1..M-1``.
    """
    _check(J)
    M = J.M
    return {
        "bulk: Σ(Ẇ⁽ᵐ⁾ij)²": (_HALF, sp.Add(*[w[1] ** 2 for w in J._W.values()])),
        "bulk: Σ(ż⁽ᵐ⁾i)²": (_HALF, sp.Add(*[z[1] ** 2 for z in J._z.values()])),
        "bulk: Σ ż⁽ᵐ⁺¹⁾i ∂t(W⁽ᵐ⁾ij σ(z⁽ᵐ⁾j))": (sp.Integer(-1), sp.Add(*[
            J.z(m + 1, i, 1) * J.S(m, i) for m in range(1, M) for i in J.N(m + 1)])),
        "bulk: Σ[Σj ∂t(W⁽ᵐ⁾ij σ(z⁽ᵐ⁾j))]²": (_HALF, sp.Add(*[J.S(m, i) ** 2 for m in range(1, M) for i in J.N(m + 1)])),
        "boundary: Σi[Σj ∂t(W⁽⁰⁾ij Xj)]²": (sp.Integer(1), sp.Add(*[J.S(0, i) ** 2 for i in J.N(1)])),
        "boundary: Σ ż⁽¹⁾i ∂t(W⁽⁰⁾ij Xj)": (sp.Integer(-1), sp.Add(*[J.z(1, i, 1) * J.S(0, i) for i in J.N(1)])),
        "boundary: ℓ(Z, Y)": (sp.Integer(-1), J.total_loss),
    }


def term_coefficients_eq7(J: Jets, L_wz: sp.Expr) -> dict[str, tuple[sp.Expr, sp.Expr]]:
    """Term-by-term comparison with eq. (7): ``name -> (printed coefficient, derived coefficient)``.

    The derived coefficients ``c_k`` solve ``L_wz = Σ_k c_k T_k`` exactly, by matching the
    coefficient of every monomial (a linear system, solved by ``sympy.linsolve``).

    Raises
    ------
    ValueError
        If ``L_wz`` is not a combination of the seven terms or the combination is not unique.
    """
    terms = terms_eq7(J)
    cs = sp.symbols(f"c0:{len(terms)}")
    parts = [dict(J._to_ring(L_wz))] + [dict(J._to_ring(T)) for _, T in terms.values()]
    monos = set().union(*parts)
    eqs = [sp.Rational(str(parts[0].get(mo, 0))) - sp.Add(*[c * sp.Rational(str(p.get(mo, 0)))
                                                           for c, p in zip(cs, parts[1:])])
           for mo in monos]
    sol = sp.linsolve(eqs, cs)
    if not sol:
        raise ValueError("L_wz is not a linear combination of the terms of eq. (7)")
    (vals,) = sol
    if any(v.free_symbols for v in vals):
        raise ValueError("the coefficients of eq. (7) are not unique for this architecture")
    return {name: (pc, v) for (name, (pc, _)), v in zip(terms.items(), vals)}


# --------------------------------------------------------------------------- numeric evaluation
@dataclass(frozen=True)
class NumericPoint:
    """The recursion (1) and the gradient of eq. (2) at one parameter point (float values).

    Attributes
    ----------
    output : numpy.ndarray
        ``Z`` (shape ``(N_M,)``).
    gradient : numpy.ndarray
        ``∂ℓ/∂θ`` in the flat order of :class:`bbdlib.bulk_boundary.network.Network`
        (``W^(0)`` row-major, ``b^(0)``, ``W^(1)``, ...).
    """

    output: np.ndarray
    gradient: np.ndarray


def evaluate_wb(J: Jets, theta, x, y, *, activation: str = "tanh", loss: str = "mse") -> NumericPoint:
    """Evaluate ``Z`` by the recursion (1) and ``∂ℓ/∂(W, b)`` by the symbolic chain rule of the jets.

    The gradient is ``J.partial(ℓ, q, "Wb")`` for every weight and bias (σ and its derivatives
    through the activation table, ``∂ℓ/∂Z = Z - Y`` for ``loss="mse"``, ``ℓ = ½|Z - Y|²``).

    Parameters
    ----------
    J : Jets
        A fully connected network, site-wise loss.
    theta : array_like
        Flat parameters, length ``Σ_m N_{m+1}(N_m + 1)``.
    x, y : array_like
        One input ``X`` (length ``N_0``) and target ``Y`` (length ``N_M``).
    activation : str
        A key of :data:`bbdlib.activations.ACTIVATIONS` (smooth).
    loss : {"mse"}

    Returns
    -------
    NumericPoint

    Raises
    ------
    ValueError
        For an unknown activation or loss, wrong lengths or non-finite values.
    """
    _check(J)
    act = ACTIVATIONS[check_choice("activation", activation, [k for k, a in ACTIVATIONS.items() if a.smooth])]
    check_choice("loss", loss, ("mse",))
    if J.loss_kind != "sitewise" or len(J.links) != sum(J.widths[m] * J.widths[m + 1] for m in range(J.M)):
        raise ValueError("J must be fully connected with a site-wise loss")
    keys = []
    for m in range(J.M):
        keys += [("W", m, i, j) for i in J.N(m + 1) for j in J.N(m)] + [("b", m, i) for i in J.N(m + 1)]
    arrays = {}
    for name, v, n in (("theta", theta, len(keys)), ("x", x, J.widths[0]), ("y", y, J.widths[-1])):
        a = np.asarray(v, dtype=float).reshape(-1)
        if a.size != n:
            raise ValueError(f"{name} must have {n} entries, got {a.size}")
        if not np.all(np.isfinite(a)):
            raise ValueError(f"{name} must be finite")
        arrays[name] = a
    val = {J.var(k): float(t) for k, t in zip(keys, arrays["theta"])}
    val.update({J.X(j): float(arrays["x"][j - 1]) for j in J.N(0)})
    for m in range(1, J.M + 1):
        for i in J.N(m):
            zv = float(J.to_wb(J.z(m, i)).xreplace(val))
            if m < J.M:
                val[J.sigma(m, i, 0)] = float(act.f(zv))
                val[J.sigma(m, i, 1)] = float(act.d1(zv))
            else:
                val[J.z(m, i)] = zv
    Z = np.array([val[J.z(J.M, i)] for i in J.N(J.M)])
    for i in J.N(J.M):
        val[J.loss(i, "lZ")] = float(Z[i - 1] - arrays["y"][i - 1])
    grad = np.array([float(J.partial(J.total_loss, k, "Wb").xreplace(val)) for k in keys])
    return NumericPoint(output=Z, gradient=grad)
