"""Jet calculus of the network of [A]: the one construction of L, its Euler–Lagrange equations and H.

[A] D. Lee, H.-S. Lee, J. Yi, "Bulk–boundary decomposition of neural networks".

Every symbolic statement of Secs. 2–4 and App. A of [A] involves, at one instant, only finitely
many time derivatives of the variables.  So it is a polynomial identity in *jet variables*:

- ``W^(m)_ij``, ``z^(m)_i``, ``b^(m)_i``, ``X_j``, ``Y_i`` and their time derivatives up to
  :attr:`Jets.ORDER` are independent symbols (``W_d2`` stands for ``d²W/dt²``);
- the activation enters through ``σ_k(z^(m)_j) = σ^(k)(z^(m)_j)``, independent symbols for an
  arbitrary smooth ``σ`` (``dσ_k/dt = σ_{k+1} ż``);
- the loss through its value and partial derivatives: ``ℓ_i(Z_i, Y_i)`` per output site
  (``loss="sitewise"``, the assumption stated before eq. (29)) or one function ``ℓ(Z, Y)`` of
  every output and target (``loss="generic"``);
- ``e^{γt}`` through a symbol ``E`` with ``dE/dt = γE``;
- ``∫dt`` terms through symbols whose time derivative is their integrand.

Two bases share the symbols of the weights, the activations, the data and the loss:

- ``"Wz"``: the neurons ``z^(m)`` are variables; the biases are the expressions (6),
  ``b^(m)_i = z^(m+1)_i - Σ_j W^(m)_ij h^(m)_j`` (:meth:`Jets.to_wz`);
- ``"Wb"``: the biases are variables; the neurons are the recursion (1),
  ``z^(m+1)_i = Σ_j W^(m)_ij h^(m)_j + b^(m)_i`` (:meth:`Jets.to_wb`).

In each basis the total time derivative (:meth:`Jets.dt`) and the partial derivative at fixed
velocities (:meth:`Jets.partial`) follow from the chain rule through σ and ℓ.  The Lagrangian
(5) is ``½ Σ Ẇ² + ½ Σ ḃ² - ℓ`` in both bases (:meth:`Jets.lagrangian`; in ``"Wz"`` it is eqs.
(6)-(7)); the momenta and the damped Euler–Lagrange expressions (14),
``E(q) = d/dt ∂L/∂q̇ + γ ∂L/∂q̇ - ∂L/∂q`` (:meth:`Jets.eom`), and the Legendre transforms (8),
(16) (:meth:`Jets.legendre`) are computed from it, never typed.  Polynomials are kept in a
sparse ring over ℚ (fast ``d/dt``); public methods return expanded sympy expressions.
"""
from __future__ import annotations

from functools import cached_property
from typing import Iterable, Sequence

import sympy as sp
from sympy.polys.domains import QQ
from sympy.polys.rings import ring

from bbdlib.validate import check_choice, check_int

__all__ = ["Jets", "jets", "validate_widths", "BASES", "LOSSES"]

BASES = ("Wz", "Wb")
LOSSES = ("sitewise", "generic")
_HALF = sp.Rational(1, 2)


def validate_widths(widths, *, min_depth: int = 2, name: str = "widths") -> tuple[int, ...]:
    """Check ``widths = (N_0, ..., N_M)``: positive integers, depth ``M >= min_depth``.

    Parameters
    ----------
    widths : sequence of int
        The architecture.
    min_depth : int
        Smallest admissible ``M`` (2: a boundary on each side and a hidden layer; 3 for an
        identity of a bulk site ``1 < m < M``).
    name : str
        The parameter's name in error messages.

    Returns
    -------
    tuple of int

    Raises
    ------
    TypeError
        If ``widths`` is not a sequence of integers.
    ValueError
        For a zero or negative width or a depth below ``min_depth``.
    """
    if isinstance(widths, (str, bytes)) or not hasattr(widths, "__len__"):
        raise TypeError(f"{name} must be a sequence of integers N_0, ..., N_M, got {widths!r}")
    out = tuple(check_int(f"{name}[{k}]", n, minimum=1) for k, n in enumerate(widths))
    if len(out) < min_depth + 1:
        raise ValueError(f"{name} must list N_0, ..., N_M with depth M >= {min_depth} "
                         f"(at least {min_depth + 1} entries), got {len(out)} entries: {out!r}")
    return out


def _flag(name: str, v) -> bool:
    if not isinstance(v, bool):
        raise TypeError(f"{name} must be True or False, got {v!r}")
    return v


class Jets:
    """The jet variables of one network at one instant, in both bases (see the module docstring).

    Parameters
    ----------
    widths : sequence of int
        ``(N_0, ..., N_M)``, positive, ``M >= 2``.
    moving_input, moving_target : bool
        Whether ``X(t)``, ``Y(t)`` move (else their derivatives are zero).
    loss : {"sitewise", "generic"}
        ``Σ_i ℓ_i(Z_i, Y_i)`` or one ``ℓ(Z, Y)``.
    links : iterable of (m, i, j), optional
        The weights ``W^(m)_ij`` present (default: all, fully connected); every other weight
        is zero (the local architecture of Fig. 3).

    Attributes
    ----------
    widths, M, gamma, egt
        The architecture, the depth, the damping ``γ`` and the symbol of ``e^{γt}``.
    """

    ORDER = 3  # highest time derivative kept for W, z, b, X, Y (σ_k up to k = ORDER + 1)

    def __init__(self, widths: Sequence[int], *, moving_input: bool = True, moving_target: bool = True,
                 loss: str = "sitewise", links: Iterable | None = None) -> None:
        self.widths = validate_widths(widths)
        self.moving_input = _flag("moving_input", moving_input)
        self.moving_target = _flag("moving_target", moving_target)
        self.loss_kind = check_choice("loss", loss, LOSSES)
        self.M = M = len(self.widths) - 1
        N, K = self.widths, self.ORDER
        full = [(m, i, j) for m in range(M) for i in range(1, N[m + 1] + 1) for j in range(1, N[m] + 1)]
        if links is None:
            keys = full
        else:
            wanted = {tuple(k) for k in links}
            bad = sorted(wanted - set(full))
            if bad:
                raise ValueError(f"links: {bad[0]} is not a weight (m, i, j) of widths {self.widths}")
            keys = [k for k in full if k in wanted]
        self.links = tuple(keys)
        self.gamma = sp.Symbol("gamma", positive=True)
        self.egt = sp.Symbol("E_gt", positive=True)

        def sym(name, n=K + 1):
            return [sp.Symbol(f"{name}_d{k}", real=True) for k in range(n)]

        self._W = {(m, i, j): sym(f"W{m}_{i}_{j}") for (m, i, j) in keys}
        self._z = {(m, i): sym(f"z{m}_{i}") for m in range(1, M + 1) for i in range(1, N[m] + 1)}
        self._b = {(m, i): sym(f"b{m}_{i}") for m in range(M) for i in range(1, N[m + 1] + 1)}
        self._s = {(m, i): [sp.Symbol(f"s{m}_{i}_d{k}", real=True) for k in range(K + 2)]
                   for m in range(1, M) for i in range(1, N[m] + 1)}
        self._X = {j: sym(f"X_{j}") for j in range(1, N[0] + 1)}
        self._Y = {i: sym(f"Y_{i}") for i in range(1, N[M] + 1)}
        outs = range(1, N[M] + 1)
        if self.loss_kind == "sitewise":
            self._lfn = [(f"l{i}", (("Y", i), ("Z", i))) for i in outs]
        else:
            self._lfn = [("l", tuple(("Y", i) for i in outs) + tuple(("Z", i) for i in outs))]
        self._lsym = {}      # (fn, sorted tuple of args) -> symbol, partials up to order 2

        def lname(f, args):   # site-wise: l_i, lZ_i, lY_i, lZZ_i, lZY_i, lYY_i; generic: l, l_Z1, l_Z1Y2, ...
            if self.loss_kind == "sitewise":
                return "l" + "".join(sorted((a[0] for a in args), reverse=True)) + f"_{f[1:]}"
            return "l" + ("_" if args else "") + "".join(f"{a[0]}{a[1]}" for a in args)

        for f, args in self._lfn:
            self._lsym[(f, ())] = sp.Symbol(lname(f, ()), real=True)
            for a in args:
                self._lsym[(f, (a,))] = sp.Symbol(lname(f, (a,)), real=True)
                for b in args:
                    if b >= a:
                        self._lsym[(f, (a, b))] = sp.Symbol(lname(f, (a, b)), real=True)
        self._I: dict = {}
        self._table_extra: dict = {}

    # -- variables ------------------------------------------------------------
    def W(self, m: int, i: int, j: int, k: int = 0) -> sp.Expr:
        """``d^k W^(m)_ij / dt^k`` (zero for a weight absent from :attr:`links`)."""
        lst = self._W.get((m, i, j))
        return sp.Integer(0) if lst is None else lst[k]

    def z(self, m: int, i: int, k: int = 0) -> sp.Symbol:
        """``d^k z^(m)_i / dt^k`` (``m = 1..M``; ``z^(M) = Z``), a variable of the ``"Wz"`` basis."""
        return self._z[(m, i)][k]

    def b(self, m: int, i: int, k: int = 0) -> sp.Symbol:
        """``d^k b^(m)_i / dt^k`` (``m = 0..M-1``), a variable of the ``"Wb"`` basis."""
        return self._b[(m, i)][k]

    def h(self, m: int, j: int) -> sp.Symbol:
        """``h^(m)_j``: ``X_j`` at ``m = 0``, else ``σ(z^(m)_j)`` (``m < M``)."""
        return self._X[j][0] if m == 0 else self._s[(m, j)][0]

    def sigma(self, m: int, j: int, k: int = 0) -> sp.Symbol:
        """``σ^(k)(z^(m)_j)`` (``1 <= m < M``)."""
        return self._s[(m, j)][k]

    def dsigma(self, m: int, j: int) -> sp.Symbol:
        """``σ'(z^(m)_j)``."""
        return self._s[(m, j)][1]

    def X(self, j: int, k: int = 0) -> sp.Expr:
        """``d^k X_j / dt^k`` (zero for ``k >= 1`` with a fixed input)."""
        return self._X[j][k] if (k == 0 or self.moving_input) else sp.Integer(0)

    def Y(self, i: int, k: int = 0) -> sp.Expr:
        """``d^k Y_i / dt^k`` (zero for ``k >= 1`` with a fixed target)."""
        return self._Y[i][k] if (k == 0 or self.moving_target) else sp.Integer(0)

    def loss(self, i: int, name: str = "l") -> sp.Symbol:
        """Site-wise loss ``ℓ_i(Z_i, Y_i)`` (``name="l"``) or a partial ``"lZ"``, ``"lY"``, ``"lZZ"``, ...."""
        if self.loss_kind != "sitewise":
            raise ValueError("loss(i, name) is for loss='sitewise'; use loss_partial for a generic loss")
        name = check_choice("name", name, ("l", "lZ", "lY", "lZZ", "lZY", "lYY"))
        args = tuple(sorted((c, i) for c in name[1:]))
        return self._lsym[(f"l{i}", args)]

    def loss_partial(self, *args: tuple) -> sp.Symbol:
        """Generic loss: ``ℓ`` (no argument) or ``∂ℓ/∂a ...`` for arguments ``("Z", i)``, ``("Y", i)`` (order <= 2)."""
        if self.loss_kind != "generic":
            raise ValueError("loss_partial is for loss='generic'; use loss(i, name) for a site-wise loss")
        return self._lsym[("l", tuple(sorted(args)))]

    @property
    def total_loss(self) -> sp.Expr:
        """``ℓ``: ``Σ_i ℓ_i`` (site-wise) or the generic ``ℓ``."""
        return sp.Add(*[self._lsym[(f, ())] for f, _ in self._lfn])

    def N(self, m: int) -> range:
        """The neuron indices ``1..N_m`` of layer ``m``."""
        return range(1, self.widths[m] + 1)

    def variables(self, basis: str = "Wz") -> list[tuple]:
        """The dynamical variables as keys: ``("W", m, i, j)`` then ``("z", m, i)`` or ``("b", m, i)``."""
        basis = check_choice("basis", basis, BASES)
        second = [("z", *k) for k in self._z] if basis == "Wz" else [("b", *k) for k in self._b]
        return [("W", *k) for k in self._W] + second

    def var(self, key: tuple, k: int = 0) -> sp.Symbol:
        """The jet symbol ``d^k q/dt^k`` of the variable ``key`` (see :meth:`variables`)."""
        kind, *idx = key
        table = {"W": self._W, "z": self._z, "b": self._b}.get(kind)
        if table is None or tuple(idx) not in table:
            raise ValueError(f"key: no variable {key!r} in widths {self.widths}")
        return table[tuple(idx)][k]

    def add_integral(self, name: str, integrand: sp.Expr) -> sp.Symbol:
        """A symbol ``I`` with ``dI/dt = integrand`` in the ``"Wz"`` basis (a ``∫dt`` term)."""
        if name in self._I:
            return self._I[name]
        s = sp.Symbol(f"I_{name}", real=True)
        self._I[name] = s
        self._table_extra[s] = sp.expand(integrand)
        self.__dict__.pop("_ring_tables", None)
        return s

    # -- the ring ---------------------------------------------------------------
    @cached_property
    def _gens(self) -> list:
        out = [self.gamma, self.egt]
        for d in (self._W, self._z, self._b, self._s, self._X, self._Y):
            out += [x for lst in d.values() for x in lst]
        return out + list(self._lsym.values())

    @cached_property
    def _ring(self):
        R, *gens = ring(self._gens + [sp.Symbol(f"I_slot{k}") for k in range(64)], QQ)
        return R, dict(zip(self._gens, gens)), gens[len(self._gens):]

    def _gen(self, x):
        R, gens, slots = self._ring
        if x in gens:
            return gens[x]
        if x in self._I.values():
            k = list(self._I.values()).index(x)
            if k >= len(slots):
                raise ValueError("too many integral symbols")
            return slots[k]
        raise ValueError(f"not a jet variable: {x}")

    def _to_ring(self, expr):
        R, gens, slots = self._ring
        if isinstance(expr, type(R.zero)):
            return expr
        expr = sp.sympify(expr)
        rep = {x: sp.Symbol(f"I_slot{k}") for k, x in enumerate(self._I.values())}
        if rep:
            expr = expr.xreplace(rep)
        known = set(gens) | set(rep.values())
        unknown = expr.free_symbols - known
        if unknown:
            raise ValueError(f"not a polynomial in the jet variables: {sorted(map(str, unknown))}")
        return R(expr)

    def _to_expr(self, p) -> sp.Expr:
        e = p.as_expr()
        back = {sp.Symbol(f"I_slot{k}"): x for k, x in enumerate(self._I.values())}
        return e.xreplace(back) if back else e

    @cached_property
    def _ring_tables(self) -> dict:
        """``{basis: {generator: d/dt generator}}`` as ring elements."""
        R, gens, _ = self._ring
        K, M = self.ORDER, self.M
        tables = {}
        for basis in BASES:
            d: dict = {gens[self.egt]: gens[self.gamma] * gens[self.egt]}
            for key, lst in [*self._W.items(), *(self._z.items() if basis == "Wz" else self._b.items())]:
                for k in range(K):
                    d[gens[lst[k]]] = gens[lst[k + 1]]
            for lst, moving in ((list(self._X.values()), self.moving_input),
                                (list(self._Y.values()), self.moving_target)):
                for v in lst:
                    for k in range(K):
                        d[gens[v[k]]] = gens[v[k + 1]] if moving else R.zero
            tables[basis] = d
        # "Wz": σ and ℓ through the z velocities
        d = tables["Wz"]
        for (m, i), s in self._s.items():
            zd = gens[self._z[(m, i)][1]]
            for k in range(K + 1):
                d[gens[s[k]]] = gens[s[k + 1]] * zd
        self._loss_table(d, lambda a: self._z[(M, a[1])][1] if a[0] == "Z" else self.Y(a[1], 1))
        for s, integrand in self._table_extra.items():
            d[self._gen(s)] = self._to_ring(integrand)
        # "Wb": z^(m) is the recursion (1); its velocity by the table built so far, layer by layer
        d = tables["Wb"]
        for m in range(1, M + 1):
            for i in self.N(m):
                zdot = self._dt_ring(self._zpos_wb_ring(m, i), d)
                self._zdot_wb[(m, i)] = zdot
                if m < M:
                    s = self._s[(m, i)]
                    for k in range(K + 1):
                        d[gens[s[k]]] = gens[s[k + 1]] * zdot
        self._loss_table(d, lambda a: self._zdot_wb[(M, a[1])] if a[0] == "Z" else self.Y(a[1], 1))
        return tables

    @cached_property
    def _zdot_wb(self) -> dict:
        return {}

    def _loss_table(self, d, velocity) -> None:
        R, gens, _ = self._ring
        def vel(a):
            v = velocity(a)
            return self._to_ring(v) if isinstance(v, sp.Basic) else v

        for (f, args), sym in self._lsym.items():
            fargs = dict(self._lfn)[f]
            out, ok = R.zero, True
            for a in fargs:
                key = (f, tuple(sorted(args + (a,))))
                if key not in self._lsym:
                    ok = False
                    break
                out += gens[self._lsym[key]] * vel(a)
            if ok:
                d[gens[sym]] = out

    def _zpos_wb_ring(self, m: int, i: int):
        """``z^(m)_i = Σ_j W^(m-1)_ij h^(m-1)_j + b^(m-1)_i`` (eq. (1)) as a ring element."""
        R, gens, _ = self._ring
        out = gens[self._b[(m - 1, i)][0]]
        for j in self.N(m - 1):
            if (m - 1, i, j) in self._W:
                out += gens[self._W[(m - 1, i, j)][0]] * gens[self.h(m - 1, j)]
        return out

    @staticmethod
    def _dt_ring(p, table):
        out = p.ring.zero
        if not p:
            return out
        gens = p.ring.gens
        for k, deg in enumerate(p.degrees()):
            if deg <= 0:
                continue
            g = gens[k]
            if g not in table:
                raise ValueError(f"no time derivative of {g} at this jet order")
            out += p.diff(g) * table[g]
        return out

    # -- calculus ---------------------------------------------------------------
    def dt(self, expr, n: int = 1, basis: str = "Wz") -> sp.Expr:
        """Total time derivative ``d^n/dt^n`` of a polynomial in the jet variables (chain rule).

        Parameters
        ----------
        expr : sympy.Expr
            A polynomial in the jet variables of ``basis``.
        n : int
            Order.
        basis : {"Wz", "Wb"}
            Whose variables move independently.

        Returns
        -------
        sympy.Expr
        """
        basis = check_choice("basis", basis, BASES)
        n = check_int("n", n, minimum=0)
        p = self._to_ring(expr)
        table = self._ring_tables[basis]
        for _ in range(n):
            p = self._dt_ring(p, table)
        return self._to_expr(p)

    def _partial_ring(self, p, key: tuple, basis: str):
        R, gens, _ = self._ring
        K, M = self.ORDER, self.M
        kind = key[0]
        if (kind == "z" and basis == "Wb") or (kind == "b" and basis == "Wz"):
            raise ValueError(f"key: {key!r} is not a variable of the {basis!r} basis")
        q0 = gens[self.var(key)]
        out = p.diff(q0)

        def through_sigma(pp, m, j):
            s = self._s[(m, j)]
            return sum((pp.diff(gens[s[k]]) * gens[s[k + 1]] for k in range(K + 1)), R.zero)

        def through_loss(pp, a):
            acc = R.zero
            for (f, args), sym in self._lsym.items():
                c = pp.diff(gens[sym])
                if c == 0:
                    continue
                k2 = (f, tuple(sorted(args + (("Z", a),))))
                if ("Z", a) not in dict(self._lfn)[f]:
                    continue
                if k2 not in self._lsym:
                    raise ValueError("a loss partial of order 3 is needed; not at this jet order")
                acc += c * gens[self._lsym[k2]]
            return acc

        if basis == "Wz":
            if kind == "z":
                m, i = key[1:]
                out += through_sigma(p, m, i) if m < M else through_loss(p, i)
            return out
        for m in range(1, M + 1):
            for i in self.N(m):
                c = through_sigma(p, m, i) if m < M else through_loss(p, i)
                if c:
                    out += c * self._dzpos_wb(m, i, key)
        return out

    def _dzpos_wb(self, m: int, i: int, key: tuple):
        """``∂z^(m)_i/∂q`` in the ``"Wb"`` basis (the recursion (1) differentiated)."""
        memo = self.__dict__.setdefault("_dz_memo", {})
        if (m, i, key) not in memo:
            memo[(m, i, key)] = self._partial_ring(self._zpos_wb_ring(m, i), key, "Wb")
        return memo[(m, i, key)]

    def partial(self, expr, key: tuple, basis: str = "Wz") -> sp.Expr:
        """``∂expr/∂q`` at fixed velocities, through σ (and ℓ, and in ``"Wb"`` the recursion (1)).

        Parameters
        ----------
        expr : sympy.Expr
            A polynomial in the jet variables of ``basis``.
        key : tuple
            The variable, ``("W", m, i, j)``, ``("z", m, i)`` (``"Wz"``) or ``("b", m, i)`` (``"Wb"``).
        basis : {"Wz", "Wb"}

        Returns
        -------
        sympy.Expr
        """
        basis = check_choice("basis", basis, BASES)
        return self._to_expr(self._partial_ring(self._to_ring(expr), tuple(key), basis))

    def _memo(self, key, make):
        cache = self.__dict__.setdefault("_memo_d", {})
        if key not in cache:
            cache[key] = make()
        return cache[key]

    # -- the flows of eq. (6) ------------------------------------------------------
    def A(self, m: int, i: int, j: int) -> sp.Expr:
        """``A^(m)_ij = ∂_t(W^(m)_ij h^(m)_j)`` (``"Wz"`` basis)."""
        return self._memo(("A", m, i, j), lambda: self.dt(self.W(m, i, j) * self.h(m, j)))

    def S(self, m: int, i: int) -> sp.Expr:
        """``S^(m)_i = Σ_j ∂_t(W^(m)_ij h^(m)_j)``."""
        return self._memo(("S", m, i), lambda: sp.Add(*[self.A(m, i, j) for j in self.N(m)]))

    def dA(self, m: int, i: int, j: int) -> sp.Expr:
        """``Ȧ^(m)_ij = ∂_t²(W^(m)_ij h^(m)_j)``."""
        return self._memo(("dA", m, i, j), lambda: self.dt(self.A(m, i, j)))

    def dS(self, m: int, i: int) -> sp.Expr:
        """``Ṡ^(m)_i``."""
        return self._memo(("dS", m, i), lambda: sp.Add(*[self.dA(m, i, j) for j in self.N(m)]))

    def bdot(self, m: int, i: int) -> sp.Expr:
        """``ḃ^(m)_i = ż^(m+1)_i - Σ_j ∂_t(W^(m)_ij h^(m)_j)``, eq. (6) differentiated (``"Wz"``)."""
        return self.z(m + 1, i, 1) - self.S(m, i)

    # -- change of basis ----------------------------------------------------------
    @cached_property
    def _wb_to_wz(self) -> list:
        """``b^(m)_{i,k} -> z^(m+1)_{i,k} - d^k/dt^k Σ_j W^(m)_ij h^(m)_j`` (eq. (6) and its derivatives)."""
        R, gens, _ = self._ring
        table = self._ring_tables["Wz"]
        out = []
        for (m, i), lst in self._b.items():
            p = gens[self._z[(m + 1, i)][0]]
            for j in self.N(m):
                if (m, i, j) in self._W:
                    p -= gens[self._W[(m, i, j)][0]] * gens[self.h(m, j)]
            for k in range(self.ORDER + 1):
                out.append((gens[lst[k]], p))
                if k < self.ORDER:
                    p = self._dt_ring(p, table)
        return out

    @cached_property
    def _wz_to_wb(self) -> list:
        """``z^(m)_{i,k} -> d^k/dt^k (Σ_j W^(m-1)_ij h^(m-1)_j + b^(m-1)_i)`` (eq. (1) and its derivatives)."""
        R, gens, _ = self._ring
        table = self._ring_tables["Wb"]
        out = []
        for (m, i), lst in self._z.items():
            p = self._zpos_wb_ring(m, i)
            for k in range(self.ORDER + 1):
                out.append((gens[lst[k]], p))
                if k < self.ORDER:
                    p = self._dt_ring(p, table)
        return out

    def to_wz(self, expr) -> sp.Expr:
        """Rewrite a ``"Wb"`` polynomial in the ``"Wz"`` variables by eq. (6)."""
        return self._to_expr(self._to_ring(expr).compose(self._wb_to_wz))

    def to_wb(self, expr) -> sp.Expr:
        """Rewrite a ``"Wz"`` polynomial in the ``"Wb"`` variables by eq. (1)."""
        return self._to_expr(self._to_ring(expr).compose(self._wz_to_wb))

    # -- mechanics ----------------------------------------------------------------
    def kinetic(self, basis: str = "Wz") -> sp.Expr:
        """``T = ½ Σ Ẇ² + ½ Σ ḃ²`` (``ḃ`` from (6) in ``"Wz"``)."""
        basis = check_choice("basis", basis, BASES)

        def make():
            T = _HALF * sp.Add(*[w[1] ** 2 for w in self._W.values()])
            if basis == "Wb":
                return sp.expand(T + _HALF * sp.Add(*[b[1] ** 2 for b in self._b.values()]))
            return sp.expand(T + _HALF * sp.Add(*[self.bdot(m, i) ** 2 for (m, i) in self._b]))
        return self._memo(("T", basis), make)

    def _L_ring(self, basis: str):
        return self._memo(("Lr", basis), lambda: self._to_ring(self.lagrangian(basis)))

    def lagrangian(self, basis: str = "Wz") -> sp.Expr:
        """The Lagrangian (5) ``L = T - ℓ`` of [A]; in ``"Wz"`` it is eqs. (6)-(7), expanded."""
        return self._memo(("L", basis), lambda: sp.expand(self.kinetic(basis) - self.total_loss))

    def _p_ring(self, key: tuple, basis: str):
        return self._memo(("pr", key, basis), lambda: self._L_ring(basis).diff(self._gen(self.var(key, 1))))

    def momentum(self, key: tuple, basis: str = "Wz") -> sp.Expr:
        """``p = ∂L/∂q̇``."""
        basis = check_choice("basis", basis, BASES)
        return self._to_expr(self._p_ring(tuple(key), basis))

    def _eom_ring(self, key: tuple, basis: str):
        def make():
            p = self._p_ring(key, basis)
            R, gens, _ = self._ring
            return (self._dt_ring(p, self._ring_tables[basis]) + gens[self.gamma] * p
                    - self._partial_ring(self._L_ring(basis), key, basis))
        return self._memo(("Er", key, basis), make)

    def eom(self, key: tuple, basis: str = "Wz") -> sp.Expr:
        """``E(q) = d/dt ∂L/∂q̇ + γ ∂L/∂q̇ - ∂L/∂q``, eq. (14) of [A] (expanded).

        Parameters
        ----------
        key : tuple
            ``("W", m, i, j)``, ``("z", m, i)`` (``"Wz"``) or ``("b", m, i)`` (``"Wb"``).
        basis : {"Wz", "Wb"}

        Returns
        -------
        sympy.Expr
        """
        basis = check_choice("basis", basis, BASES)
        key = tuple(key)
        self.var(key)
        return self._memo(("E", key, basis), lambda: self._to_expr(self._eom_ring(key, basis)))

    def euler_lagrange_weighted(self, key: tuple, basis: str = "Wz") -> sp.Expr:
        """``d/dt ∂(e^{γt}L)/∂q̇ - ∂(e^{γt}L)/∂q``: the Euler–Lagrange expression of the action (5)."""
        basis = check_choice("basis", basis, BASES)
        EL = self.egt * self.lagrangian(basis)
        return sp.expand(self.dt(sp.diff(EL, self.var(tuple(key), 1)), basis=basis)
                         - self.partial(EL, tuple(key), basis))

    def legendre(self, basis: str = "Wz", *, weighted: bool = False) -> sp.Expr:
        """``Σ_q ∂(wL)/∂q̇ q̇ - wL`` with ``w = e^{γt}`` (``weighted``) or 1 (eq. (8) as printed).

        Parameters
        ----------
        basis : {"Wz", "Wb"}
        weighted : bool

        Returns
        -------
        sympy.Expr
        """
        basis = check_choice("basis", basis, BASES)
        w = self.egt if _flag("weighted", weighted) else sp.Integer(1)
        L = w * self.lagrangian(basis)
        vel = [self.var(k, 1) for k in self.variables(basis)]
        return sp.expand(sp.Add(*[sp.diff(L, v) * v for v in vel]) - L)

    def input_drive(self) -> sp.Expr:
        """``Σ_i ḃ^(0)_i Σ_j W^(0)_ij Ẋ_j`` in the ``"Wb"`` variables (zero for a fixed input)."""
        return sp.expand(sp.Add(*[self.b(0, i, 1) * self.W(0, i, j) * self.X(j, 1)
                                  for i in self.N(1) for j in self.N(0)]))

    # -- display ------------------------------------------------------------------
    @cached_property
    def _pretty(self) -> dict:
        acc = {1: r"\dot", 2: r"\ddot", 3: r"\dddot"}

        def name(base, up, low, k):
            core = f"{acc[k]}{{{base}}}" if k else base
            return sp.Symbol(f"{core}" + (f"^{{({up})}}" if up is not None else "") + f"_{{{low}}}")
        d = {self.gamma: sp.Symbol(r"\gamma"), self.egt: sp.exp(sp.Symbol(r"\gamma") * sp.Symbol("t"))}
        for (m, i, j), lst in self._W.items():
            d.update({x: name("W", m, f"{i}{j}", k) for k, x in enumerate(lst)})
        for (m, i), lst in self._z.items():
            d.update({x: name("z", m, i, k) for k, x in enumerate(lst)})
        for (m, i), lst in self._b.items():
            d.update({x: name("b", m, i, k) for k, x in enumerate(lst)})
        for j, lst in self._X.items():
            d.update({x: name("X", None, j, k) for k, x in enumerate(lst)})
        for i, lst in self._Y.items():
            d.update({x: name("Y", None, i, k) for k, x in enumerate(lst)})
        primes = {0: "", 1: "'", 2: "''"}
        for (m, i), lst in self._s.items():
            d.update({x: sp.Symbol(rf"\sigma{primes.get(k, f'^{{({k})}}')}(z^{{({m})}}_{{{i}}})")
                      for k, x in enumerate(lst)})
        for (f, args), x in self._lsym.items():
            base = r"\ell" + (f"_{{{f[1:]}}}" if f != "l" else "")
            if args:
                base = r"\partial_{" + "".join(f"{a[0]}_{{{a[1]}}}" for a in args) + "}" + base
            d[x] = sp.Symbol(base)
        return d

    def display(self, expr) -> sp.Expr:
        """A copy of ``expr`` with readable LaTeX symbols (dots, ``σ'(z)``); not for algebra."""
        return sp.sympify(expr).xreplace(self._pretty)

    def variable_of(self, x: sp.Symbol):
        """The key of the variable (or ``("X", j)``, ``("Y", i)``) whose jet symbol ``x`` is; ``None`` for σ, ℓ, γ."""
        memo = self.__dict__.get("_var_of")
        if memo is None:
            memo = {}
            for kind, dct in (("W", self._W), ("z", self._z), ("b", self._b)):
                for key, lst in dct.items():
                    memo.update({s: (kind, *key) for s in lst})
            for j, lst in self._X.items():
                memo.update({s: ("X", j) for s in lst})
            for i, lst in self._Y.items():
                memo.update({s: ("Y", i) for s in lst})
            for (m, i), lst in self._s.items():
                memo.update({s: ("z", m, i) for s in lst})
            self.__dict__["_var_of"] = memo
        return memo.get(x)


def jets(widths: Sequence[int], *, moving_input: bool = True, moving_target: bool = True,
         loss: str = "sitewise", links: Iterable | None = None) -> Jets:
    """Create the jet variables of a network (see :class:`Jets`).

    Parameters
    ----------
    widths : sequence of int
        ``(N_0, ..., N_M)``, positive, ``M >= 2``.
    moving_input, moving_target : bool
        Whether ``X(t)``, ``Y(t)`` move.
    loss : {"sitewise", "generic"}
        The loss.
    links : iterable of (m, i, j), optional
        The weights present (default all).

    Returns
    -------
    Jets

    Raises
    ------
    TypeError, ValueError
        For widths that are not positive integers, a depth below 2, an unknown loss or a
        link that is not a weight of the network.
    """
    return Jets(widths, moving_input=moving_input, moving_target=moving_target, loss=loss, links=links)
