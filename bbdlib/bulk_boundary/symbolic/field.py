"""Appendix B of [A]: the local architecture of Fig. 3 and the lattice expansion (33)-(35).

Architecture (Fig. 3 of [A], our reading).  Width ``N >= 3``, periodic in the width
direction; neuron ``z^{(m+1)}_i`` receives from the two diagonal neighbours
``z^{(m)}_{i-1}`` and ``z^{(m)}_{i+1}`` of the previous layer (indices mod ``N``), and the
input neuron ``z^{(1)}_i`` from ``X_{i-1}`` and ``X_{i+1}``.  Two incoming links per neuron
is what the coefficients ``1`` of ``w'^2`` in (34) and ``2`` of ``X^2 w'^2`` in (35) require
(three links, ``i`` and ``i +- 1``, would give ``3/2`` and ``9/2``); the diagonal (rather
than ``{i, i+1}``) choice is the one whose expansion has no ``O(a_y)`` term, as (34)-(35).

Coordinates (the paper leaves them open).  Depth ``x = m a_x``, width ``y = i a_y``;
``z^{(m)}_i = phi(x, y)``, ``X_j = X(y_j)``.  A weight is placed either

* ``"source"``: at its source neuron, ``W^{(m)}_{i,i+-1} = w(x - a_x, y +- a_y)`` for the
  receiving neuron at ``(x, y)`` (convention C), or
* ``"midpoint"``: at the midpoint of its link, ``w(x - a_x/2, y +- a_y/2)`` (convention D).

Sums over lattice sites become ``sum_{m,i} -> (a_x a_y)^{-1} int dx dy``; the overall factor
``(a_x a_y)^{-1}`` is dropped, as in (34).  Each term of the Lagrangian is expanded about
the receiving neuron.  Densities that differ by a total derivative give the same action;
:func:`is_null_lagrangian` tests that (vanishing Euler–Lagrange expressions).
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import sympy as sp
from sympy.calculus.euler import euler_equations

from bbdlib.validate import check_choice, check_int

__all__ = ["local_links", "sublattices", "local_network_lagrangian", "Field", "field", "expand_density",
           "is_null_lagrangian",
           "coefficient_of", "draw_local_architecture", "sector_invariant", "printed_eq34",
           "printed_eq35_input", "riemann_sum_eq33"]


def local_links(width: int, depth: int) -> list[tuple[int, int, int]]:
    """The weights ``(m, i, j)`` of Fig. 3: ``j = i -+ 1 (mod N)``, ``m = 0..M-1`` (1-based i, j)."""
    N = check_int("width", width, minimum=3)
    M = check_int("depth", depth, minimum=2)
    return [(m, i, (i - 1 + s) % N + 1) for m in range(M) for i in range(1, N + 1) for s in (-1, 1)]


def sublattices(width: int, depth: int) -> int:
    """Number of connected components of the Fig. 3 network (neurons, inputs and links of :func:`local_links`).

    With links ``i -> i ± 1 (mod N)`` only, the parity of ``i + m`` is conserved along every
    link when ``N`` is even, so the network splits into two decoupled sublattices; for odd
    ``N`` the wrap-around joins them into one.

    Parameters
    ----------
    width : int
        ``N >= 3``.
    depth : int
        ``M >= 2``.

    Returns
    -------
    int
        1 or 2.
    """
    links = local_links(width, depth)
    parent: dict = {}

    def find(a):
        parent.setdefault(a, a)
        while parent[a] != a:
            parent[a] = parent[parent[a]]
            a = parent[a]
        return a

    for m, i, j in links:  # W^(m)_ij joins node (m, j) to node (m + 1, i); layer 0 are the inputs X
        parent[find((m, j))] = find((m + 1, i))
    return len({find(n) for n in list(parent)})


def local_network_lagrangian(width: int, depth: int):
    """The (W, z) Lagrangian with only the weights of :func:`local_links`: the discrete Lagrangian of Fig. 3.

    Built by :mod:`bbdlib.bulk_boundary.symbolic.jets` with every other weight absent (zero),
    a site-wise loss, and split by :func:`bbdlib.bulk_boundary.symbolic.lagrangian.decompose`.

    Parameters
    ----------
    width : int
        ``N >= 3``.
    depth : int
        ``M >= 2``.

    Returns
    -------
    tuple
        ``(J, bulk, boundary)``: the jets and the two parts of the Lagrangian.
    """
    from bbdlib.bulk_boundary.symbolic.jets import jets
    from bbdlib.bulk_boundary.symbolic.lagrangian import decompose

    links = local_links(width, depth)
    J = jets((width,) * (depth + 1), links=links)
    D = decompose(J)
    return J, D.bulk, D.boundary


@dataclass(frozen=True)
class Field:
    """Continuum fields ``w(t, x, y)``, ``phi(t, x, y)``, ``X(t, y)`` and lattice spacings."""

    t: sp.Symbol
    x: sp.Symbol
    y: sp.Symbol
    ax: sp.Symbol
    ay: sp.Symbol
    eps: sp.Symbol
    sigma: type

    @cached_property
    def w(self):
        return sp.Function("w")(self.t, self.x, self.y)

    @cached_property
    def phi(self):
        return sp.Function("phi")(self.t, self.x, self.y)

    @cached_property
    def X(self):
        return sp.Function("X")(self.t, self.y)



def field() -> Field:
    t, x, y = sp.symbols("t x y", real=True)
    ax, ay, eps = sp.symbols("a_x a_y epsilon", positive=True)
    return Field(t=t, x=x, y=y, ax=ax, ay=ay, eps=eps, sigma=sp.Function("sigma"))


class _Series:
    """A truncated power series in the bookkeeping parameter ``eps`` (coefficient list)."""

    def __init__(self, coeffs):
        self.c = list(coeffs)

    def __add__(self, o):
        return _Series([a + b for a, b in zip(self.c, o.c)])

    def __sub__(self, o):
        return _Series([a - b for a, b in zip(self.c, o.c)])

    def __mul__(self, o):
        if not isinstance(o, _Series):
            return _Series([o * a for a in self.c])
        n = len(self.c)
        return _Series([sp.expand(sp.Add(*[self.c[i] * o.c[k - i] for i in range(k + 1)]))
                        for k in range(n)])

    __rmul__ = __mul__

    def dt(self, t):
        return _Series([sp.diff(a, t) for a in self.c])


def _shift(F: Field, f: sp.Expr, dx: sp.Expr, dy: sp.Expr, order: int) -> _Series:
    out, term = [], f
    for k in range(order + 1):
        out.append(sp.expand(term / sp.factorial(k)))
        term = dx * sp.diff(term, F.x) + dy * sp.diff(term, F.y)
    return _Series(out)


def _sum(items):
    items = list(items)
    out = items[0]
    for it in items[1:]:
        out = out + it
    return out


def expand_density(F: Field, placement: str, sector: str = "bulk", order: int = 2
                   ) -> dict[int, sp.Expr]:
    """The lattice Lagrangian per receiving neuron, every variable Taylor-expanded about it,
    by order in the lattice spacings: ``{k: L_k}`` for ``k = 0..order``.

    ``sector="bulk"``: ``1/2 sum_links W'^2 + 1/2 z'^2 - z' sum_links d/dt(W sigma(z_src))
    + 1/2 [sum_links d/dt(W sigma(z_src))]^2`` (the bulk of eq. (7), one receiving neuron).
    ``sector="input"``: ``1/2 [sum_links d/dt(W^{(0)} X_src)]^2 - z' sum_links d/dt(W^{(0)} X_src)``
    (the boundary of eq. (7) with the derived coefficient 1/2), one-dimensional in ``y``.
    """
    check_choice("placement", placement, ["source", "midpoint"])
    check_choice("sector", sector, ["bulk", "input"])
    order = check_int("order", order, minimum=0)
    t, ax, ay = F.t, F.ax, F.ay
    fw = sp.Rational(1, 2) if placement == "midpoint" else sp.Integer(1)
    links = (-1, 1)
    half = sp.Rational(1, 2)
    if sector == "bulk":
        W = [_shift(F, F.w, -fw * ax, fw * s * ay, order) for s in links]
        h = [_shift(F, F.sigma(F.phi), -ax, s * ay, order) for s in links]
        phid = _Series([sp.diff(F.phi, t)] + [sp.Integer(0)] * order)
        flow = _sum([(Wl * hl).dt(t) for Wl, hl in zip(W, h)])
        dens = (half * _sum([Wl.dt(t) * Wl.dt(t) for Wl in W]) + half * (phid * phid)
                - phid * flow + half * (flow * flow))
    else:
        w0 = sp.Function("w")(t, F.y)
        z1 = sp.Function("phi")(t, F.y)
        W = [_shift(F, w0, 0, fw * s * ay, order) for s in links]
        h = [_shift(F, F.X, 0, s * ay, order) for s in links]
        flow = _sum([(Wl * hl).dt(t) for Wl, hl in zip(W, h)])
        z1d = _Series([sp.diff(z1, t)] + [sp.Integer(0)] * order)
        dens = half * (flow * flow) - z1d * flow
    return {k: sp.expand(c) for k, c in enumerate(dens.c)}


def is_null_lagrangian(F: Field, density: sp.Expr, sector: str = "bulk") -> bool:
    """True if ``density`` is a total derivative (its Euler–Lagrange expressions vanish)."""
    if sp.expand(density) == 0:
        return True
    if sector == "bulk":
        funcs, coords = [F.w, F.phi], [F.t, F.x, F.y]
    else:
        funcs = [sp.Function("w")(F.t, F.y), sp.Function("phi")(F.t, F.y)]
        coords = [F.t, F.y]
    eqs = euler_equations(density, funcs, coords)
    return all(sp.expand(eq.lhs - eq.rhs) == 0 for eq in eqs)


def coefficient_of(expr: sp.Expr, monomial: sp.Expr) -> sp.Expr:
    """Sum of the coefficients (free of fields) of ``monomial`` among the terms of ``expr``."""
    out = sp.Integer(0)
    for term in sp.Add.make_args(sp.expand(expr)):
        q = term / monomial          # products of powers cancel automatically
        if not q.atoms(sp.Derivative) and not q.atoms(sp.core.function.AppliedUndef):
            out += q
    return sp.expand(out)


def sector_invariant(expr: sp.Expr, prefactor: sp.Expr, u: sp.Expr, coord: sp.Symbol) -> sp.Expr:
    """``c[prefactor (d_coord u)^2] - c[prefactor u d_coord^2 u]``: the coefficient of
    ``prefactor (d u)^2`` modulo the total derivative ``d(prefactor u du)`` (which shifts
    both coefficients by the same amount, plus terms outside this sector), for
    ``prefactor`` free of ``coord`` derivatives of ``u``.
    """
    c1 = coefficient_of(expr, prefactor * sp.diff(u, coord) ** 2)
    c2 = coefficient_of(expr, prefactor * u * sp.diff(u, coord, 2))
    return sp.expand(c1 - c2)


def printed_eq34(F: Field) -> dict[str, sp.Expr]:
    """The representative terms of eq. (34) of [A], as printed (the integrand)."""
    t, x, y = F.t, F.x, F.y
    s, w, phi = F.sigma(F.phi), F.w, F.phi
    return {
        "w'^2": sp.diff(w, t) ** 2,
        "phi'^2/2": sp.Rational(1, 2) * sp.diff(phi, t) ** 2,
        "2 a_x": 2 * F.ax * sp.diff(s * w, x, t) * sp.diff(phi, t),
        "2/3 a_x^2": sp.Rational(2, 3) * F.ax ** 2 * sp.diff(s * sp.diff(w, x), t) ** 2,
        "16/3 a_y^2": sp.Rational(16, 3) * F.ay ** 2 * sp.diff(s * sp.diff(w, y), t) ** 2,
    }


def printed_eq35_input(F: Field) -> dict[str, sp.Expr]:
    """The representative terms of ``L_input`` in eq. (35) of [A], as printed (the integrand)."""
    t, y = F.t, F.y
    w, X = sp.Function("w")(t, y), F.X
    wd, Xd = sp.diff(w, t), sp.diff(X, t)
    return {
        "O(1)": 2 * X ** 2 * wd ** 2 + 2 * Xd ** 2 * w ** 2 + 4 * wd * Xd * w * X,
        "2 a_y^2": 2 * F.ay ** 2 * Xd ** 2 * w * sp.diff(w, y, 2),
    }


def riemann_sum_eq33(kernel, z, n: int, length: float = 1.0):
    """Discrete eq. (6) with ``W_ij = dx * kernel(x_i, x_j)`` against its continuum eq. (33).

    Width coordinates ``x_j = (j - 1/2) dx`` on ``[0, length)`` (periodic, ``dx = length/n``);
    returns ``max_i |sum_j W_ij sigma(z_j) - int dx' kernel(x_i, x') sigma(z(x'))|`` with
    ``sigma = tanh`` and the integral by adaptive quadrature.
    """
    import numpy as np
    from scipy.integrate import quad

    n = check_int("n", n, minimum=1)
    if not (isinstance(length, (int, float)) and np.isfinite(length) and length > 0):
        raise ValueError(f"length must be a finite positive number, got {length!r}")
    dx = length / n
    xs = (np.arange(n) + 0.5) * dx
    with np.errstate(all="ignore"):
        W = dx * np.asarray(kernel(xs[:, None], xs[None, :]), dtype=float)
        zs = np.asarray(z(xs), dtype=float)
    for name, v in (("kernel", W), ("z", zs)):
        if not np.all(np.isfinite(v)):
            raise ValueError(f"{name} must return finite values on the lattice")
    disc = W @ np.tanh(zs)
    cont = np.array([quad(lambda s: kernel(xi, s) * np.tanh(z(s)), 0.0, length,
                          epsabs=1e-13, epsrel=1e-13, limit=200)[0] for xi in xs])
    return float(np.max(np.abs(disc - cont)))


def draw_local_architecture(ax, width: int, depth: int) -> None:
    """Draw the architecture of Fig. 3 from :func:`local_links` (matplotlib only).

    Depth runs upwards: inputs ``X`` at the bottom (layer 0), neurons ``z^{(1..M)}``, targets
    ``Y`` beside the output layer (joined to ``Z`` by the loss, dashed).  Links that wrap
    around the periodic width direction are drawn as short stubs leaving the frame.
    """
    links = local_links(width, depth)
    N, M = width, depth
    for (m, i, j) in links:
        x0, y0, x1, y1 = j, m, i, m + 1
        if abs(i - j) > 1:                       # periodic wrap-around
            d = 0.5 if j > i else -0.5
            ax.plot([x0, x0 + d], [y0, y0 + 0.5], color="#c0392b", lw=1, ls=":")
            ax.plot([x1 - d, x1], [y1 - 0.5, y1], color="#c0392b", lw=1, ls=":")
        else:
            ax.plot([x0, x1], [y0, y1], color="#c0392b", lw=1)
    for i in range(1, N + 1):
        ax.plot([i, i], [M, M + 0.6], color="#e67e22", lw=1, ls="--")
    xs = list(range(1, N + 1))
    ax.scatter(xs, [0] * N, marker="D", s=60, color="#e67e22", zorder=3, label="input X")
    for m in range(1, M + 1):
        ax.scatter(xs, [m] * N, marker="o", s=70, color="#1f4e9c", zorder=3,
                   label="neuron z" if m == 1 else None)
    ax.scatter(xs, [M + 0.6] * N, marker="D", s=60, color="#7f7f7f", zorder=3, label="target Y")
    ax.set_xlim(0.2, N + 0.8)
    ax.set_xticks(xs)
    ax.set_xlabel("width index i (periodic)")
    ax.set_yticks(range(M + 1))
    ax.set_ylabel("depth m")
    ax.grid(False)
