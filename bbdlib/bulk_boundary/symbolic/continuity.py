"""Exact (off-shell) proofs of the energy identities of Sec. 4 and App. A of [A].

The identities (17), (19), (20), (25), (30) of [A] are statements about *any* motion of the
network, not only about solutions of the equations of motion: (19) is the chain rule of
(18), and (20), (25), (30) hold with the equation-of-motion expressions ``E`` kept.  Such an
identity involves, at one instant, only finitely many time derivatives of the variables.
So it is proved, for all paths at once, as a polynomial identity in *jet variables*:

- ``W^(m)_ij``, ``z^(m)_i``, ``X_j``, ``Y_i`` and their time derivatives up to a fixed order
  are independent symbols (``W_k`` stands for ``d^k W/dt^k``);
- the activation enters through ``σ_k(z^(m)_j) = σ^(k)(z^(m)_j)``, independent symbols for an
  arbitrary smooth ``σ`` (``dσ_k/dt = σ_{k+1} ż``);
- the site-wise loss ``ℓ_i(Z_i, Y_i)`` through ``ℓ_i`` and its partial derivatives;
- the ``∫dt`` terms of (18), (24) through a symbol ``I^(m)_i`` whose time derivative is its
  integrand (that is what ``∫dt`` means; its constant drops out of every identity here).

The jet calculus, the Lagrangian, the momenta and the Euler–Lagrange expressions (14) are
those of :mod:`bbdlib.bulk_boundary.symbolic.jets` (the one construction), in the (W, z) basis
with a site-wise loss.  The energy
densities (18), (24), (29), decays (12), (27), currents (22), (27), (32) and the right-hand
sides (19), (20), (25), (30) are typed from [A] (:func:`energy_density`, ...), and each
identity is the statement that an expanded polynomial vanishes (:func:`prove`).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import sympy as sp

from bbdlib.bulk_boundary.symbolic.jets import Jets, jets
from bbdlib.validate import check_choice, check_int

__all__ = ["energy_density", "decay", "link_current", "input_current", "output_current",
           "rhs_eq19", "rhs_eq20", "rhs_eq25", "rhs_eq30", "Proof", "prove", "prove_all", "layer_decay",
           "decay_sum_residual", "shift_check", "integral", "printed_eq15"]

_HALF, _QUARTER = sp.Rational(1, 2), sp.Rational(1, 4)


def _check_jets(J) -> None:
    if not isinstance(J, Jets):
        raise TypeError(f"J must be a Jets (bbdlib.bulk_boundary.symbolic.jets.jets), got {type(J).__name__}")
    if len(J.links) != sum(J.widths[m] * J.widths[m + 1] for m in range(J.M)):
        raise ValueError("J: the identities of Sec. 4 / App. A are for a fully connected network (no links=...)")
    if J.loss_kind != "sitewise":
        raise ValueError("the identities of Sec. 4 / App. A assume a site-wise loss: jets(widths, loss='sitewise')")


def _key(key) -> tuple:
    return ("W", *key) if len(key) == 3 else ("z", *key)


def _p(J: Jets, key) -> sp.Expr:
    return J.momentum(_key(key))


def _E(J: Jets):
    return lambda key: J.eom(_key(key))


def integral(J: Jets, m: int, i: int) -> sp.Symbol:
    """``I^(m)_i = ∫dt Σ_a A^(m)_ai Σ_j Ȧ^(m)_aj`` of eq. (18) (a symbol whose derivative is its integrand)."""
    name = f"{m}_{i}"
    if name not in J._I:
        J.add_integral(name, sp.Add(*[J.A(m, a, i) * J.dS(m, a) for a in J.N(m + 1)]))
    return J._I[name]


# --------------------------------------------------------------------------- the paper's quantities
def _sector(J: Jets, m: int) -> str:
    m = check_int("m", m, minimum=1, maximum=J.M)
    return "input" if m == 1 else ("output" if m == J.M else "bulk")


def energy_density(J: Jets, m: int, i: int) -> sp.Expr:
    """``e^(m)_i``: eq. (18) in the bulk, (24) at ``m = 1``, (29) at ``m = M`` (as printed).

    Parameters
    ----------
    J : Jets
        The network's jet variables.
    m, i : int
        Site layer ``1..M`` and neuron ``1..N_m``.

    Returns
    -------
    sympy.Expr
        A polynomial in the jet variables (the ``∫dt`` term as ``½ I^(m)_i``).
    """
    sector = _sector(J, m)
    zd = J.z(m, i, 1)
    S_low = J.S(m - 1, i)
    if sector == "input":
        e = (_HALF * zd**2 + _HALF * sum(J.W(0, i, j, 1) ** 2 for j in J.N(0)) - zd * S_low
             + _HALF * S_low**2)
    else:
        e = (_HALF * zd**2 + _QUARTER * sum(J.W(m - 1, i, j, 1) ** 2 for j in J.N(m - 1)) - _HALF * zd * S_low
             + _QUARTER * S_low**2)
    if sector == "output":
        return sp.expand(e + J.loss(i))
    e += _QUARTER * sum(J.W(m, a, i, 1) ** 2 for a in J.N(m + 1))
    e -= _HALF * sum(J.z(m + 1, a, 1) * J.A(m, a, i) for a in J.N(m + 1))
    return sp.expand(e + _HALF * integral(J, m, i))


def decay(J: Jets, m: int, i: int) -> sp.Expr:
    """``D_{i,m}``: eq. (12) (bulk and output) and ``D^in_{i,1}`` of eq. (27), with ``p = ∂L/∂q̇``.

    Parameters
    ----------
    J : Jets
        The network's jet variables.
    m, i : int
        Site layer and neuron.

    Returns
    -------
    sympy.Expr
    """
    sector = _sector(J, m)
    low = 1 if sector == "input" else _HALF
    d = low * sum(_p(J, (m - 1, i, j)) * J.W(m - 1, i, j, 1) for j in J.N(m - 1))
    if sector != "output":
        d += _HALF * sum(_p(J, (m, a, i)) * J.W(m, a, i, 1) for a in J.N(m + 1))
    return sp.expand(d + _p(J, (m, i)) * J.z(m, i, 1))


def link_current(J: Jets, m: int, j: int, i: int) -> sp.Expr:
    """``J_{(j,m)→(i,m+1)}`` of eq. (22) (``1 <= m <= M - 1``).

    Parameters
    ----------
    J : Jets
        The network's jet variables.
    m, j, i : int
        Link layer, source neuron (layer ``m``) and target neuron (layer ``m + 1``).

    Returns
    -------
    sympy.Expr
    """
    m = check_int("m", m, minimum=1, maximum=J.M - 1)
    Whd = J.W(m, i, j) * J.dsigma(m, j) * J.z(m, j, 1)
    return sp.expand(_HALF * J.z(m + 1, i, 1) * J.dA(m, i, j) - _HALF * J.z(m + 1, i, 2) * Whd
                     + _HALF * Whd * J.dS(m, i))


def input_current(J: Jets, j: int, i: int) -> sp.Expr:
    """``K^in_{(j,0)→(i,1)}`` of eq. (27).

    Parameters
    ----------
    J : Jets
        The network's jet variables.
    j, i : int
        Input ``X_j`` and first-layer neuron ``z^(1)_i``.

    Returns
    -------
    sympy.Expr
    """
    WXd = J.W(0, i, j) * J.X(j, 1)
    return sp.expand(-J.z(1, i, 2) * WXd + WXd * J.dS(0, i))


def output_current(J: Jets, i: int, form: str = "corrected") -> sp.Expr:
    """``K^out_i``: eq. (32) as printed (``-Ż ∂ℓ/∂Z - ℓ̇``) or corrected (``+Ż ∂ℓ/∂Z - ℓ̇``).

    Parameters
    ----------
    J : Jets
        The network's jet variables.
    i : int
        Output neuron.
    form : {"printed", "corrected"}
        Which sign of the first term.

    Returns
    -------
    sympy.Expr
    """
    form = check_choice("form", form, ("printed", "corrected"))
    Zd = J.z(J.M, i, 1)
    sign = -1 if form == "printed" else 1
    return sp.expand(sign * Zd * J.loss(i, "lZ") - J.dt(J.loss(i)))


def rhs_eq19(J: Jets, m: int, i: int) -> sp.Expr:
    """The right-hand side of eq. (19) of [A] for a bulk site, term by term as printed.

    Parameters
    ----------
    J : Jets
        The network's jet variables.
    m, i : int
        A bulk site, ``1 < m < M``.

    Returns
    -------
    sympy.Expr
    """
    if _sector(J, m) != "bulk":
        raise ValueError(f"eq. (19) is for bulk sites 1 < m < M = {J.M}, got m = {m}")
    zd, zdd = J.z(m, i, 1), J.z(m, i, 2)
    S_low = J.S(m - 1, i)
    r = zd * zdd + _HALF * sum(J.W(m - 1, i, j, 1) * J.W(m - 1, i, j, 2) for j in J.N(m - 1))
    r += _HALF * sum(J.W(m, a, i, 1) * J.W(m, a, i, 2) for a in J.N(m + 1))
    r += -_HALF * zdd * S_low - _HALF * zd * J.dS(m - 1, i)
    r += -_HALF * sum(J.z(m + 1, a, 2) * J.A(m, a, i) + J.z(m + 1, a, 1) * J.dA(m, a, i) for a in J.N(m + 1))
    r += _HALF * S_low * J.dS(m - 1, i)
    r += _HALF * sum(J.A(m, a, i) * J.dS(m, a) for a in J.N(m + 1))
    return sp.expand(r)


def _eom_terms(J: Jets, m: int, i: int, *, w_low: sp.Expr, eom) -> sp.Expr:
    r = w_low * sum(J.W(m - 1, i, j, 1) * eom((m - 1, i, j)) for j in J.N(m - 1))
    if m < J.M:
        r += _HALF * sum(J.W(m, a, i, 1) * eom((m, a, i)) for a in J.N(m + 1))
    return r + J.z(m, i, 1) * eom((m, i))


def rhs_eq20(J: Jets, m: int, i: int, *, eom=None) -> sp.Expr:
    """The right-hand side of eq. (20) of [A] (bulk site), ``E`` from ``eom`` (default: eq. (14) from L).

    Parameters
    ----------
    J : Jets
        The network's jet variables.
    m, i : int
        A bulk site, ``1 < m < M``.
    eom : callable, optional
        ``key -> E(q)``; default :meth:`Jets.eom`.

    Returns
    -------
    sympy.Expr
    """
    if _sector(J, m) != "bulk":
        raise ValueError(f"eq. (20) is for bulk sites 1 < m < M = {J.M}, got m = {m}")
    eom = _E(J) if eom is None else eom
    r = -J.gamma * decay(J, m, i) + sum(link_current(J, m - 1, j, i) for j in J.N(m - 1))
    r -= sum(link_current(J, m, i, a) for a in J.N(m + 1))
    return sp.expand(r + _eom_terms(J, m, i, w_low=_HALF, eom=eom))


def rhs_eq25(J: Jets, i: int, *, eom=None) -> sp.Expr:
    """The right-hand side of eq. (25) of [A] (input site ``m = 1``).

    Parameters
    ----------
    J : Jets
        The network's jet variables.
    i : int
        Neuron of the first layer.
    eom : callable, optional
        ``key -> E(q)``; default :meth:`Jets.eom`.

    Returns
    -------
    sympy.Expr
    """
    eom = _E(J) if eom is None else eom
    r = -J.gamma * decay(J, 1, i) + sum(input_current(J, j, i) for j in J.N(0))
    r -= sum(link_current(J, 1, i, a) for a in J.N(2))
    return sp.expand(r + _eom_terms(J, 1, i, w_low=sp.Integer(1), eom=eom))


def rhs_eq30(J: Jets, i: int, *, form: str = "corrected", eom=None) -> sp.Expr:
    """The right-hand side of eq. (30) of [A] (output site ``m = M``).

    ``form="printed"``: ``-Σ_i K^out_i`` with the printed (32), summed over all output sites
    as printed; ``"corrected"``: the site's own corrected ``-K^out_i``.
    """
    form = check_choice("form", form, ("printed", "corrected"))
    eom = _E(J) if eom is None else eom
    M = J.M
    r = -J.gamma * decay(J, M, i) + sum(link_current(J, M - 1, j, i) for j in J.N(M - 1))
    if form == "printed":
        r -= sum(output_current(J, a, "printed") for a in J.N(M))
    else:
        r -= output_current(J, i, "corrected")
    return sp.expand(r + _eom_terms(J, M, i, w_low=_HALF, eom=eom))


# --------------------------------------------------------------------------- proofs
@dataclass(frozen=True)
class Proof:
    """The outcome of one identity on one network.

    Attributes
    ----------
    ref : str
        The equation, e.g. ``"eq. (20)"``.
    widths : tuple of int
        The network.
    sites : int
        Number of sites (or sums) the identity was proved for.
    residual : sympy.Expr
        The expanded residual ``lhs - rhs`` of the first site at which the identity fails,
        else ``0``.
    n_terms : int
        Number of monomials of the largest right-hand side (the size of what cancelled).
    """

    ref: str
    widths: tuple
    sites: int
    residual: sp.Expr
    n_terms: int

    @property
    def holds(self) -> bool:
        """Whether every residual expanded to zero."""
        return self.residual == 0


def _prove(ref: str, J: Jets, pairs) -> Proof:
    residual, n_terms, sites = sp.Integer(0), 0, 0
    for lhs, rhs in pairs:
        sites += 1
        rhs = sp.expand(rhs)
        n_terms = max(n_terms, len(sp.Add.make_args(rhs)))
        r = sp.expand(lhs - rhs)
        if r != 0 and residual == 0:
            residual = r
    return Proof(ref=ref, widths=J.widths, sites=sites, residual=residual, n_terms=n_terms)


def _sum_rule_pairs(J: Jets):
    """``d/dt Σ e = d/dt (½|Ẇ|² + ½|ḃ|² + Σℓ)``: eq. (17) up to its integration constants."""
    total = sum(energy_density(J, m, i) for m in range(1, J.M + 1) for i in J.N(m))
    mech = _HALF * sum(J.W(*key, 1) ** 2 for key in J._W) \
        + _HALF * sum(J.bdot(m, i) ** 2 for m in range(J.M) for i in J.N(m + 1)) \
        + sum(J.loss(i) for i in J.N(J.M))
    return [(J.dt(sp.expand(total - mech)), sp.Integer(0))]


def prove(ref: str, J: Jets, *, variant: str = "derived") -> Proof:
    """Prove one identity of [A] on the network of ``J``, off shell, at every site it applies to.

    Parameters
    ----------
    ref : {"eq. (17)", "eq. (19)", "eq. (20)", "eq. (25)", "eq. (30)"}
        The identity: (17) in its derivative form ``d/dt Σ_{i,m} e = d/dt(½|Ẇ|² + ½|ḃ|² + ℓ)``
        (the constants of the ``∫dt`` terms drop out); (19) ``ė = (19)`` in every bulk site;
        (20), (25), (30) ``ė = `` right-hand side with the ``E`` terms, in every bulk, input,
        output site.
    J : Jets
        The network.
    variant : {"derived", "printed"}
        For (30): the corrected site-wise ``K^out`` (``"derived"``) or the printed (32) summed
        over the output sites.  For (20): ``E(z)`` from the Lagrangian (``"derived"``) or the
        printed (15) (``"printed"``).  Ignored otherwise.

    Returns
    -------
    Proof
    """
    ref = check_choice("ref", ref, ("eq. (17)", "eq. (19)", "eq. (20)", "eq. (25)", "eq. (30)"))
    variant = check_choice("variant", variant, ("derived", "printed"))
    _check_jets(J)
    M = J.M
    if ref in ("eq. (19)", "eq. (20)") and M < 3:
        raise ValueError(f"J: {ref} is an identity of bulk sites 1 < m < M, which need depth M >= 3; "
                         f"got widths {J.widths}")
    if ref == "eq. (17)":
        return _prove(ref, J, _sum_rule_pairs(J))
    if ref == "eq. (19)":
        return _prove(ref, J, [(J.dt(energy_density(J, m, i)), rhs_eq19(J, m, i))
                               for m in range(2, M) for i in J.N(m)])
    if ref == "eq. (20)":
        eom = _E(J) if variant == "derived" else (lambda key: printed_eq15(J, key))
        return _prove(ref, J, [(J.dt(energy_density(J, m, i)), rhs_eq20(J, m, i, eom=eom))
                               for m in range(2, M) for i in J.N(m)])
    if ref == "eq. (25)":
        return _prove(ref, J, [(J.dt(energy_density(J, 1, i)), rhs_eq25(J, i)) for i in J.N(1)])
    form = "corrected" if variant == "derived" else "printed"
    return _prove(ref, J, [(J.dt(energy_density(J, M, i)), rhs_eq30(J, i, form=form)) for i in J.N(M)])


def printed_eq15(J: Jets, key) -> sp.Expr:
    """``E`` as printed in eq. (15) of [A] for a bulk neuron ``z^(m)_i`` (key ``(m, i)``); else eq. (14) from L.

    The printed friction term of (15) is ``-Σ_j ∂_t(W^(m)_ij σ(z^(m)_j))`` where the
    Lagrangian gives ``-Σ_j ∂_t(W^(m-1)_ij σ(z^(m-1)_j))`` (the erratum of (15), equations-of-motion chapter).
    """
    if len(key) == 3 or not 1 < key[0] < J.M:
        return J.eom(_key(key))
    m, i = key
    zd, zdd, sp1 = J.z(m, i, 1), J.z(m, i, 2), J.dsigma(m, i)
    up = J.N(m + 1)
    r = zdd - J.dS(m - 1, i) - sum(J.z(m + 1, a, 2) * J.W(m, a, i) * sp1 for a in up)
    r += sum(J.W(m, a, i) * sp1 * J.dS(m, a) for a in up)
    if i not in J.N(m + 1):
        raise ValueError(f"the printed (15) needs W^({m})_{i}j, i.e. N_{m + 1} >= {i}; got widths {J.widths}")
    fr = zd - J.S(m, i)  # the printed friction term Σ_j ∂_t(W^(m)_ij σ(z^(m)_j))
    fr += -sum(J.z(m + 1, a, 1) * J.W(m, a, i) * sp1 for a in up) + sum(J.W(m, a, i) * sp1 * J.S(m, a) for a in up)
    return sp.expand(r + J.gamma * fr)


def prove_all(widths_list: Sequence[Sequence[int]]) -> dict:
    """All five identities (derived variants) on each network.

    Parameters
    ----------
    widths_list : sequence of sequence of int
        The networks.

    Returns
    -------
    dict
        ``{(ref, widths): Proof}``.
    """
    out = {}
    for w in widths_list:
        J = jets(w)
        for ref in ("eq. (17)", "eq. (19)", "eq. (20)", "eq. (25)", "eq. (30)"):
            out[(ref, J.widths)] = prove(ref, J)
    return out


# --------------------------------------------------------------------------- the decay as a sink
def layer_decay(J: Jets, m: int) -> sp.Expr:
    """``Σ_i D_{i,m}`` of site layer ``m`` (a quadratic form in the velocities).

    Parameters
    ----------
    J : Jets
        The network's jet variables.
    m : int
        Site layer.

    Returns
    -------
    sympy.Expr
    """
    return sp.expand(sum(decay(J, m, i) for i in J.N(m)))


def decay_sum_residual(J: Jets) -> sp.Expr:
    """``Σ_{i,m} D_{i,m} - (|Ẇ|² + |ḃ|² + Σ_i ḃ^(0)_i Σ_j W^(0)_ij Ẋ_j)``, expanded (zero: an identity).

    The total decay is ``Σ_φ p_φ φ̇`` of the (W, z) Lagrangian; for a fixed input it is
    ``|Ẇ|² + |ḃ|² = 2T ≥ 0``.  The loss and the targets carry no velocity and do not enter.

    Parameters
    ----------
    J : Jets
        The network's jet variables.

    Returns
    -------
    sympy.Expr
    """
    total = sum(layer_decay(J, m) for m in range(1, J.M + 1))
    friction = sum(J.W(*key, 1) ** 2 for key in J._W) + sum(J.bdot(m, i) ** 2 for m in range(J.M) for i in J.N(m + 1))
    drive = sum(J.bdot(0, i) * J.W(0, i, j) * J.X(j, 1) for i in J.N(1) for j in J.N(0))
    return sp.expand(total - friction - drive)


def shift_check(J: Jets, m: int, i: int, quantity: str) -> sp.Expr:
    """Homogeneity: ``q^(m+1)_i - shift(q^(m)_i)`` for ``q`` = ``"e"``, ``"D"`` or ``"J"``.

    ``shift`` maps every variable of layer ``n`` to the same variable of layer ``n + 1``
    (``W^(n) → W^(n+1)``, ``z^(n) → z^(n+1)``, ``σ_k(z^(n)) → σ_k(z^(n+1))``,
    ``I^(n) → I^(n+1)``); for ``"J"`` the link current ``J_{(i,m-1)→(i,m)}``.  Zero when the
    quantity is translation invariant like the bulk Lagrangian; requires layers ``m - 1``,
    ``m``, ``m + 1`` (and ``m + 2``) of equal width, all in the bulk.

    Parameters
    ----------
    J : Jets
        The network's jet variables.
    m, i : int
        The site ``(m, i)``, ``2 <= m <= M - 2``.
    quantity : {"e", "D", "J"}
        What to shift.

    Returns
    -------
    sympy.Expr
        Zero when the quantity is homogeneous.

    Raises
    ------
    ValueError
        If the layers involved do not have equal widths.
    """
    quantity = check_choice("quantity", quantity, ("e", "D", "J"))
    m = check_int("m", m, minimum=2, maximum=J.M - 2)
    if len({J.widths[n] for n in range(m - 1, m + 3)}) != 1:
        raise ValueError(f"layers {m - 1}..{m + 2} must have equal widths for a shift, got {J.widths}")
    if quantity == "e":
        q0, q1 = energy_density(J, m, i), energy_density(J, m + 1, i)
    elif quantity == "D":
        q0, q1 = decay(J, m, i), decay(J, m + 1, i)
    else:
        q0, q1 = link_current(J, m - 1, i, i), link_current(J, m, i, i)
    sub = {}
    for (n, a, b), lst in J._W.items():
        if (n + 1, a, b) in J._W:
            sub.update({x: y for x, y in zip(lst, J._W[(n + 1, a, b)])})
    for (n, a), lst in J._z.items():
        if (n + 1, a) in J._z:
            sub.update({x: y for x, y in zip(lst, J._z[(n + 1, a)])})
    for (n, a), lst in J._s.items():
        if (n + 1, a) in J._s:
            sub.update({x: y for x, y in zip(lst, J._s[(n + 1, a)])})
    for name, x in J._I.items():
        n, a = map(int, name.split("_"))
        if f"{n + 1}_{a}" in J._I:
            sub[x] = J._I[f"{n + 1}_{a}"]
    return sp.expand(q1 - q0.xreplace(sub))
