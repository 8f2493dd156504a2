"""The training Lagrangian of [A] in sympy: eq. (5), the change of variables (6), eq. (7).

[A] D. Lee, H.-S. Lee, J. Yi, "Bulk–boundary decomposition of neural networks".

Notation (Sec. 2 of [A]): depth ``M``, widths ``N_0, ..., N_M``; weights
``W^{(m)}_{ij}`` (``m = 0..M-1``, ``i = 1..N_{m+1}``, ``j = 1..N_m``), biases ``b^{(m)}_i``,
neurons (pre-activations) ``z^{(m)}_i`` for ``m = 1..M``; ``h^{(0)} = X``,
``h^{(m)} = sigma(z^{(m)})`` for ``1 <= m < M`` and the output ``Z = z^{(M)}`` (identity
post-activation, footnote 3 of [A]).  Every dynamical variable and the data ``X``, ``Y``
are sympy functions of the time ``t``; ``sigma`` is an undefined function, and the loss
``ell(Z, Y)`` an undefined function of all outputs and targets (``loss="generic"``) or a
sum of site-wise losses ``ell_i(Z_i, Y_i)`` (``loss="sitewise"``, the assumption stated
before eq. (29) of [A]).

Everything here is exact symbolic algebra; derivatives are left to sympy (no hand-written
derivative of the Lagrangian anywhere).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Sequence

import sympy as sp

from bbdlib.validate import check_choice, check_int

__all__ = [
    "Network",
    "network",
    "Decomposition",
    "lagrangian_wb",
    "change_of_variables",
    "decompose",
    "printed_eq7",
    "derived_eq7",
    "is_data_term",
    "display_form",
    "terms_eq7",
    "term_coefficients_eq7",
]


def _validate_widths(widths: Sequence[int]) -> tuple[int, ...]:
    if isinstance(widths, (str, bytes)) or not hasattr(widths, "__len__"):
        raise TypeError(f"widths must be a sequence of integers N_0, ..., N_M, got {widths!r}")
    widths = tuple(widths)
    if len(widths) < 3:
        raise ValueError(
            f"widths must list N_0, ..., N_M with depth M >= 2 (at least 3 entries), "
            f"got {len(widths)} entries: {widths!r}"
        )
    return tuple(check_int(f"widths[{k}]", n, minimum=1) for k, n in enumerate(widths))


@dataclass(frozen=True)
class Network:
    """The symbols of one architecture (create with :func:`network`).

    Attributes
    ----------
    widths
        ``(N_0, ..., N_M)``.
    t, gamma, eta
        Time, damping coefficient and learning rate (``gamma = 1/eta``, eq. (4) of [A]).
    sigma
        The activation, an undefined sympy function.
    W, b, z
        Dicts ``(m, i, j) -> W^{(m)}_{ij}(t)``, ``(m, i) -> b^{(m)}_i(t)``,
        ``(m, i) -> z^{(m)}_i(t)`` (indices 1-based as in [A]; ``z`` for ``m = 1..M``).
    X, Y
        Lists of the inputs ``X_j`` and targets ``Y_i``: functions of ``t`` when
        ``time_dependent_data`` (the SGD picture of [A], one sample per instant), else symbols.
    loss
        ``"generic"`` or ``"sitewise"``.
    """

    widths: tuple[int, ...]
    time_dependent_data: bool = True
    loss: str = "generic"
    t: sp.Symbol = field(default_factory=lambda: sp.Symbol("t", real=True))
    gamma: sp.Symbol = field(default_factory=lambda: sp.Symbol("gamma", positive=True))
    eta: sp.Symbol = field(default_factory=lambda: sp.Symbol("eta", positive=True))
    sigma: type = field(default_factory=lambda: sp.Function("sigma"))

    @property
    def M(self) -> int:
        """Depth ``M``."""
        return len(self.widths) - 1

    @cached_property
    def W(self) -> dict[tuple[int, int, int], sp.Expr]:
        N, t = self.widths, self.t
        return {
            (m, i, j): sp.Function(f"W^{{({m})}}_{{{i},{j}}}")(t)
            for m in range(self.M)
            for i in range(1, N[m + 1] + 1)
            for j in range(1, N[m] + 1)
        }

    @cached_property
    def b(self) -> dict[tuple[int, int], sp.Expr]:
        N, t = self.widths, self.t
        return {
            (m, i): sp.Function(f"b^{{({m})}}_{{{i}}}")(t)
            for m in range(self.M)
            for i in range(1, N[m + 1] + 1)
        }

    @cached_property
    def z(self) -> dict[tuple[int, int], sp.Expr]:
        N, t = self.widths, self.t
        return {
            (m, i): sp.Function(f"z^{{({m})}}_{{{i}}}")(t)
            for m in range(1, self.M + 1)
            for i in range(1, N[m] + 1)
        }

    def flat_parameters(self) -> list[sp.Expr]:
        """The parameters in the order of the numeric network's flat ``theta``.

        That order (:class:`bbdlib.bulk_boundary.network.Network`) is ``W^(0)`` row-major, ``b^(0)``,
        ``W^(1)``, ``b^(1)``, ...; with it a numeric ``theta`` substitutes entry by entry.

        Returns
        -------
        list of sympy.Expr
            Length ``P = Σ_m N_{m+1} (N_m + 1)``.
        """
        N, out = self.widths, []
        for m in range(self.M):
            out += [self.W[(m, i, j)] for i in range(1, N[m + 1] + 1) for j in range(1, N[m] + 1)]
            out += [self.b[(m, i)] for i in range(1, N[m + 1] + 1)]
        return out

    def _data(self, name: str, n: int) -> list[sp.Expr]:
        if self.time_dependent_data:
            return [sp.Function(f"{name}_{{{k}}}")(self.t) for k in range(1, n + 1)]
        return [sp.Symbol(f"{name}_{{{k}}}", real=True) for k in range(1, n + 1)]

    @cached_property
    def X(self) -> list[sp.Expr]:
        return self._data("X", self.widths[0])

    @cached_property
    def Y(self) -> list[sp.Expr]:
        return self._data("Y", self.widths[-1])

    @property
    def Z(self) -> list[sp.Expr]:
        """The output neurons ``Z_i = z^{(M)}_i`` (the dynamical variables, not eq. (1))."""
        return [self.z[(self.M, i)] for i in range(1, self.widths[-1] + 1)]

    def h(self, m: int, j: int) -> sp.Expr:
        """``h^{(m)}_j`` in the (W, z) variables: ``X_j`` at ``m = 0``, else ``sigma(z^{(m)}_j)``."""
        return self.X[j - 1] if m == 0 else self.sigma(self.z[(m, j)])

    def loss_of(self, Z: Sequence[sp.Expr]) -> sp.Expr:
        """``ell(Z, Y)`` for outputs ``Z`` (generic function, or a sum of site-wise losses)."""
        if self.loss == "generic":
            return sp.Function("ell")(*Z, *self.Y)
        return sp.Add(*[sp.Function(f"ell_{{{i + 1}}}")(Zi, Yi)
                        for i, (Zi, Yi) in enumerate(zip(Z, self.Y))])

    def forward(self) -> list[sp.Expr]:
        """The network output ``Z(W, b, X)`` by the recursion (1) of [A] (nested expressions)."""
        N, M = self.widths, self.M
        h = list(self.X)
        zs: list[sp.Expr] = []
        for m in range(M):
            zs = [sp.Add(*[self.W[(m, i, j)] * h[j - 1] for j in range(1, N[m] + 1)])
                  + self.b[(m, i)] for i in range(1, N[m + 1] + 1)]
            h = [self.sigma(v) for v in zs]
        return zs

    def variables(self, basis: str) -> list[sp.Expr]:
        """The dynamical variables: ``W`` then ``b`` (``basis="Wb"``) or ``z`` (``"Wz"``)."""
        check_choice("basis", basis, ["Wb", "Wz"])
        return list(self.W.values()) + list((self.b if basis == "Wb" else self.z).values())

    def layer_of(self, f: sp.Expr) -> float:
        """Depth position of a variable: ``W^{(m)}`` and ``b^{(m)}`` sit at ``m + 1/2``
        (between the layers they join), ``z^{(m)}`` at ``m``."""
        return self._layer[f]

    @cached_property
    def _layer(self) -> dict:
        d = {}
        for (m, _, _), f in self.W.items():
            d[f] = m + 0.5
        for (m, _), f in self.b.items():
            d[f] = m + 0.5
        for (m, _), f in self.z.items():
            d[f] = float(m)
        return d

    def bias_in_wz(self) -> dict[sp.Expr, sp.Expr]:
        """The change of variables (6) of [A]: ``b^{(m)}_i = z^{(m+1)}_i - sum_j W^{(m)}_{ij} h^{(m)}_j``."""
        N = self.widths
        return {
            self.b[(m, i)]: self.z[(m + 1, i)]
            - sp.Add(*[self.W[(m, i, j)] * self.h(m, j) for j in range(1, N[m] + 1)])
            for (m, i) in self.b
        }

    def d(self, e: sp.Expr, n: int = 1) -> sp.Expr:
        """Total time derivative ``d^n e / dt^n`` (chain rule through every argument)."""
        return sp.diff(e, self.t, n)


def network(widths: Sequence[int], *, time_dependent_data: bool = True,
            loss: str = "generic") -> Network:
    """Create the symbols of a fully connected network of widths ``N_0, ..., N_M``.

    Parameters
    ----------
    widths
        ``(N_0, ..., N_M)``: positive integers, depth ``M >= 2`` (a boundary on each side
        and at least one hidden layer, as in Sec. 3 of [A]).
    time_dependent_data
        Treat ``X`` and ``Y`` as functions of time (default; SGD draws a new sample at each
        instant) or as constants (a fixed input).
    loss
        ``"generic"`` (``ell(Z, Y)`` arbitrary) or ``"sitewise"`` (``sum_i ell_i(Z_i, Y_i)``).

    Raises
    ------
    TypeError, ValueError
        For a non-integer, zero or negative width or a depth below 2.
    """
    widths = _validate_widths(widths)
    check_choice("loss", loss, ["generic", "sitewise"])
    if not isinstance(time_dependent_data, bool):
        raise TypeError(f"time_dependent_data must be True or False, got {time_dependent_data!r}")
    return Network(widths=widths, time_dependent_data=time_dependent_data, loss=loss)


def lagrangian_wb(net: Network) -> sp.Expr:
    """The Lagrangian ``L(t)`` of eq. (5) of [A] in the (W, b) variables.

    ``L = 1/2 sum (dW/dt)^2 + 1/2 sum (db/dt)^2 - ell(Z(W, b, X), Y)`` with ``Z`` from the
    recursion (1) (so the loss is the nested function of every weight and bias).
    """
    T = sp.Rational(1, 2) * (sp.Add(*[net.d(w) ** 2 for w in net.W.values()])
                             + sp.Add(*[net.d(b) ** 2 for b in net.b.values()]))
    return T - net.loss_of(net.forward())


def change_of_variables(net: Network, L_wb: sp.Expr | None = None) -> sp.Expr:
    """Apply eq. (6) of [A] to the (W, b) Lagrangian: the Lagrangian in (W, z), expanded.

    The substitution is made on the functions ``b^{(m)}_i(t)`` themselves, so that sympy
    differentiates the substituted expressions (``db/dt`` becomes
    ``dz^{(m+1)}/dt - sum_j d/dt (W h)``), and the nested output ``Z(W, b, X)`` collapses to
    ``z^{(M)}`` by the telescoping of the recursion.
    """
    if L_wb is None:
        L_wb = lagrangian_wb(net)
    L = L_wb.subs(net.bias_in_wz()).doit()
    return sp.expand(L)


def is_data_term(net: Network, term: sp.Expr) -> bool:
    """True if ``term`` depends on the data ``X`` or ``Y`` (the boundary criterion of Sec. 3)."""
    data = set(net.X) | set(net.Y)
    atoms = term.atoms(sp.Function) if net.time_dependent_data else term.free_symbols
    return bool(atoms & data)


@dataclass(frozen=True)
class Decomposition:
    """The Lagrangian of [A] in both bases and its bulk–boundary split (Sec. 3)."""

    net: Network
    L_wb: sp.Expr
    L_wz: sp.Expr
    bulk: sp.Expr
    boundary: sp.Expr


def decompose(net: Network) -> Decomposition:
    """Eq. (5) -> eq. (6) -> the split of eq. (7) of [A] by which terms depend on X or Y."""
    L_wb = lagrangian_wb(net)
    L_wz = change_of_variables(net, L_wb)
    terms = sp.Add.make_args(L_wz)
    boundary = sp.Add(*[a for a in terms if is_data_term(net, a)])
    bulk = sp.Add(*[a for a in terms if not is_data_term(net, a)])
    return Decomposition(net=net, L_wb=L_wb, L_wz=L_wz, bulk=bulk, boundary=boundary)


def _pieces_eq7(net: Network, m_range: Sequence[int]):
    """The four bulk sums of eq. (7) with the cross and square sums over ``m_range``."""
    N, d = net.widths, net.d

    def flow(m, i, j):  # W^{(m)}_{ij} h^{(m)}_j
        return net.W[(m, i, j)] * net.h(m, j)

    kin_W = sp.Rational(1, 2) * sp.Add(*[d(w) ** 2 for w in net.W.values()])
    cross = -sp.Add(*[d(net.z[(m + 1, i)]) * d(flow(m, i, j))
                      for m in m_range for i in range(1, N[m + 1] + 1)
                      for j in range(1, N[m] + 1)])
    square = sp.Rational(1, 2) * sp.Add(*[
        sp.Add(*[d(flow(m, i, j)) for j in range(1, N[m] + 1)]) ** 2
        for m in m_range for i in range(1, N[m + 1] + 1)])
    return kin_W, cross, square


def printed_eq7(net: Network, *, boundary_coefficient: sp.Expr = sp.Integer(1),
                m_from: int = 1, z_kinetic_layers: Sequence[int] | None = None
                ) -> tuple[sp.Expr, sp.Expr]:
    """Eq. (7) of [A] as printed, as a pair ``(L_bulk, L_boundary)`` (expanded).

    The printed sums ``sum_{i,j,m}`` do not state their ranges.  ``m_from`` is the first
    layer of the bulk cross and square sums (which run to ``M - 1``): ``1`` is the only
    choice that does not repeat the boundary terms; ``0`` is the range ``m = 0..M-1``
    that Sec. 2 declares for the weights (with ``h^{(0)} = X``, so its ``m = 0`` terms
    are data terms).  ``z_kinetic_layers`` is the range of ``1/2 sum (dz^{(m)}/dt)^2``
    (default ``1..M``, all neurons).  ``boundary_coefficient`` multiplies
    ``[sum_j d/dt(W^{(0)} X)]^2``: printed ``1``.
    """
    check_int("m_from", m_from, minimum=0, maximum=1)
    M, N, d = net.M, net.widths, net.d
    if z_kinetic_layers is None:
        z_kinetic_layers = range(1, M + 1)
    kin_W, cross, square = _pieces_eq7(net, range(m_from, M))
    kin_z = sp.Rational(1, 2) * sp.Add(*[d(net.z[(m, i)]) ** 2 for m in z_kinetic_layers
                                         for i in range(1, N[m] + 1)])
    bulk = kin_W + kin_z + cross + square
    flow0 = [sp.Add(*[d(net.W[(0, i, j)] * net.X[j - 1]) for j in range(1, N[0] + 1)])
             for i in range(1, N[1] + 1)]
    boundary = (boundary_coefficient * sp.Add(*[f ** 2 for f in flow0])
                - sp.Add(*[d(net.z[(1, i)]) * d(net.W[(0, i, j)] * net.X[j - 1])
                           for i in range(1, N[1] + 1) for j in range(1, N[0] + 1)])
                - net.loss_of(net.Z))
    return sp.expand(bulk), sp.expand(boundary)


def derived_eq7(net: Network) -> tuple[sp.Expr, sp.Expr]:
    """Eq. (7) with the coefficient and ranges the derivation gives (the corrected form).

    Bulk sums: ``1/2 (dW^{(m)}/dt)^2`` for ``m = 0..M-1``, ``1/2 (dz^{(m)}/dt)^2`` for
    ``m = 1..M``, the cross and square sums for ``m = 1..M-1``; boundary square with
    coefficient ``1/2``.
    """
    return printed_eq7(net, boundary_coefficient=sp.Rational(1, 2), m_from=1)


def display_form(expr: sp.Expr, t: sp.Symbol) -> sp.Expr:
    """A copy of ``expr`` for display: ``f(t) -> f``, ``df/dt -> \\dot f``, ``d^2f/dt^2 -> \\ddot f``,
    ``d sigma(z)/dz -> sigma'(z)`` (symbols with LaTeX names; not for further algebra)."""
    from sympy.core.function import AppliedUndef

    def dotted(name: str, n: int) -> str:
        cut = min([k for k in (name.find("^"), name.find("_")) if k > 0], default=len(name))
        acc = {1: r"\dot", 2: r"\ddot"}.get(n, r"\dddot")
        return f"{acc}{{{name[:cut]}}}{name[cut:]}"

    rep = {}
    for d in expr.atoms(sp.Derivative):
        f = d.expr
        if isinstance(f, AppliedUndef) and f.args == (t,) and set(d.variables) == {t}:
            rep[d] = sp.Symbol(dotted(f.func.__name__, d.derivative_count))
        elif isinstance(f, AppliedUndef) and len(f.args) == 1 and d.variables == (f.args[0],):
            rep[d] = sp.Function(_tex_name(f.func.__name__) + "'")(f.args[0])
    e = expr.xreplace(rep)
    funcs = {f: sp.Symbol(f.func.__name__) for f in e.atoms(AppliedUndef) if f.args == (t,)}
    e = e.xreplace(funcs)
    others = {f: sp.Function(_tex_name(f.func.__name__))(*f.args) for f in e.atoms(AppliedUndef)
              if _tex_name(f.func.__name__) != f.func.__name__}
    return e.xreplace(others)


def _tex_name(name: str) -> str:
    for word in ("sigma", "ell"):
        if name.startswith(word):
            return "\\" + name
    return name


def terms_eq7(net: Network) -> dict[str, tuple[sp.Expr, sp.Expr]]:
    """The seven terms of eq. (7) of [A]: ``name -> (printed coefficient, term without it)``.

    Sums over ``m`` use the ranges the derivation fixes (see :func:`printed_eq7`): ``W`` over
    ``0..M-1``, ``z`` over ``1..M``, bulk cross and square over ``1..M-1``.
    """
    N, d, M = net.widths, net.d, net.M
    half = sp.Rational(1, 2)
    kin_W, cross, square = _pieces_eq7(net, range(1, M))
    flow0 = [sp.Add(*[d(net.W[(0, i, j)] * net.X[j - 1]) for j in range(1, N[0] + 1)])
             for i in range(1, N[1] + 1)]
    return {
        "bulk: Σ(Ẇ⁽ᵐ⁾ij)²": (half, 2 * kin_W),
        "bulk: Σ(ż⁽ᵐ⁾i)²": (half, sp.Add(*[d(z) ** 2 for z in net.z.values()])),
        "bulk: Σ ż⁽ᵐ⁺¹⁾i ∂t(W⁽ᵐ⁾ij σ(z⁽ᵐ⁾j))": (sp.Integer(-1), -cross),
        "bulk: Σ[Σj ∂t(W⁽ᵐ⁾ij σ(z⁽ᵐ⁾j))]²": (half, 2 * square),
        "boundary: Σi[Σj ∂t(W⁽⁰⁾ij Xj)]²": (sp.Integer(1), sp.Add(*[f ** 2 for f in flow0])),
        "boundary: Σ ż⁽¹⁾i ∂t(W⁽⁰⁾ij Xj)": (sp.Integer(-1), sp.Add(*[
            d(net.z[(1, i)]) * d(net.W[(0, i, j)] * net.X[j - 1])
            for i in range(1, N[1] + 1) for j in range(1, N[0] + 1)])),
        "boundary: ℓ(Z, Y)": (sp.Integer(-1), net.loss_of(net.Z)),
    }


def term_coefficients_eq7(net: Network, L_wz: sp.Expr) -> dict[str, tuple[sp.Expr, sp.Expr]]:
    """Term-by-term comparison with eq. (7): ``name -> (printed coefficient, derived coefficient)``.

    The derived coefficients ``c_k`` solve ``L_wz = sum_k c_k T_k`` exactly, by matching the
    coefficient of every monomial (a linear system, solved by ``sympy.linsolve``).  Raises
    ``ValueError`` if ``L_wz`` is not a combination of the seven terms or the combination is
    not unique.
    """
    terms = terms_eq7(net)
    cs = sp.symbols(f"c0:{len(terms)}")
    combo = sp.expand(L_wz - sp.Add(*[c * sp.expand(T) for c, (_, T) in zip(cs, terms.values())]))
    eqs: dict = {}
    for a in sp.Add.make_args(combo):
        coeff, mono = a.as_independent(*a.free_symbols - set(cs), *a.atoms(sp.Function),
                                       *a.atoms(sp.Derivative), as_Add=False)
        num, rest = mono.as_coeff_Mul()
        eqs[rest] = eqs.get(rest, 0) + coeff * num
    sol = sp.linsolve([e for e in eqs.values()], cs)
    if not sol:
        raise ValueError("L_wz is not a linear combination of the terms of eq. (7)")
    (vals,) = sol
    if any(v.free_symbols for v in vals):
        raise ValueError("the coefficients of eq. (7) are not unique for this architecture")
    return {name: (pc, v) for (name, (pc, _)), v in zip(terms.items(), vals)}
