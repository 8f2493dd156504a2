"""Structure of the Lagrangian of [A]: the coupling graph (Fig. 1), locality, and the
discrete translation symmetry ``m -> m + 1`` of the bulk (Sec. 3).

Two variables are *coupled* when they occur in a common monomial of the expanded Lagrangian
of :mod:`bbdlib.bulk_boundary.symbolic.jets`.  A jet symbol belongs to its variable; ``σ_k(z^(m)_j)``
to ``z^(m)_j`` in the (W, z) basis and, in the (W, b) basis, to every variable the recursion (1)
feeds into ``z^(m)_j``; the loss to the outputs (and targets) it is a function of, hence in
(W, b) to everything upstream of them.  The graphs are computed, never drawn by hand.
Nodes are keys: ``("W", m, i, j)``, ``("z", m, i)``, ``("b", m, i)``, ``("X", j)``, ``("Y", i)``.
"""
from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations

import sympy as sp

from bbdlib.bulk_boundary.symbolic.jets import BASES, Jets
from bbdlib.validate import check_choice, check_int

__all__ = ["CouplingGraph", "coupling_graph", "dependencies", "link_blocks", "shift", "translation_check",
           "permute_layer", "draw_coupling_graph"]


@dataclass(frozen=True)
class CouplingGraph:
    """Nodes (dynamical variables and data), edges (pairs sharing a term) and positions.

    Attributes
    ----------
    basis : str
    nodes : tuple
        Keys of the variables and the data.
    edges : frozenset
        ``frozenset({u, v})`` per coupled pair.
    depth : dict
        ``z^(m)``: m; ``W^(m)``, ``b^(m)``: m + 1/2; ``X``: 0; ``Y``: M.
    kind : dict
        ``"W"``, ``"b"``, ``"z"``, ``"X"``, ``"Y"``.
    """

    basis: str
    nodes: tuple
    edges: frozenset
    depth: dict
    kind: dict

    @property
    def max_depth_span(self) -> float:
        """Largest depth distance between two coupled dynamical variables."""
        spans = [abs(self.depth[u] - self.depth[v]) for u, v in map(tuple, self.edges)
                 if self.kind[u] not in "XY" and self.kind[v] not in "XY"]
        return max(spans, default=0.0)

    def data_neighbours(self) -> set:
        """Dynamical variables that share a term with the data X or Y."""
        out = set()
        for e in self.edges:
            u, v = tuple(e)
            if self.kind[u] in "XY" and self.kind[v] not in "XY":
                out.add(v)
            if self.kind[v] in "XY" and self.kind[u] not in "XY":
                out.add(u)
        return out

    @property
    def n_pairs(self) -> int:
        """Number of coupled pairs of dynamical variables."""
        return sum(1 for e in self.edges if all(self.kind[x] not in "XY" for x in e))


def _depth(key: tuple) -> float:
    kind = key[0]
    return float(key[1]) + 0.5 if kind in "Wb" else float(key[1])


def dependencies(J: Jets, x: sp.Symbol, basis: str) -> frozenset:
    """The variables and data (keys) a jet symbol depends on in ``basis``.

    Parameters
    ----------
    J : Jets
    x : sympy.Symbol
        A jet symbol of ``J``.
    basis : {"Wz", "Wb"}

    Returns
    -------
    frozenset of tuple
    """
    basis = check_choice("basis", basis, BASES)
    memo = J.__dict__.setdefault("_deps", {})
    if (x, basis) in memo:
        return memo[(x, basis)]

    def neuron(m, i):     # z^(m)_i as a function of the variables of the basis
        if basis == "Wz":
            return frozenset({("z", m, i)})
        out = {("b", m - 1, i)}
        for j in J.N(m - 1):
            if (m - 1, i, j) in J._W:
                out.add(("W", m - 1, i, j))
                out |= {("X", j)} if m - 1 == 0 else set(neuron(m - 1, j))
        return frozenset(out)

    if x in (J.gamma, J.egt):
        out = frozenset()
    elif x in set(J._lsym.values()):
        f = next(f for (f, _), s in J._lsym.items() if s == x)
        out = set()
        for kind, i in dict(J._lfn)[f]:
            out |= {("Y", i)} if kind == "Y" else set(neuron(J.M, i))
        out = frozenset(out)
    else:
        key = J.variable_of(x)
        if key is None:
            raise ValueError(f"x: {x} is not a jet symbol of this network")
        out = neuron(*key[1:]) if key[0] == "z" else frozenset({key})
    memo[(x, basis)] = out
    return out


def coupling_graph(J: Jets, L: sp.Expr, basis: str) -> CouplingGraph:
    """The coupling graph of the Lagrangian ``L`` written in ``basis`` (``"Wb"`` or ``"Wz"``).

    Data nodes ``X_j``, ``Y_i`` are included, so that the graph also shows where the data
    enter.

    Parameters
    ----------
    J : Jets
    L : sympy.Expr
        A polynomial in the jet symbols of ``basis``.
    basis : {"Wz", "Wb"}

    Returns
    -------
    CouplingGraph
    """
    if not isinstance(J, Jets):
        raise TypeError(f"J must be a Jets, got {type(J).__name__}")
    basis = check_choice("basis", basis, BASES)
    variables = J.variables(basis)
    kind = {v: v[0] for v in variables}
    depth = {v: _depth(v) for v in variables}
    for j in J.N(0):
        kind[("X", j)], depth[("X", j)] = "X", 0.0
    for i in J.N(J.M):
        kind[("Y", i)], depth[("Y", i)] = "Y", float(J.M)
    edges = set()
    for term in sp.Add.make_args(sp.expand(L)):
        present = set()
        for x in term.free_symbols:
            present |= dependencies(J, x, basis)
        edges.update(frozenset(p) for p in combinations(sorted(present), 2))
    return CouplingGraph(basis=basis, nodes=tuple(kind), edges=frozenset(edges), depth=depth, kind=kind)


def _link_of(key: tuple) -> int:
    """``W^(m) -> m``, ``z^(m) -> m - 1`` (the link whose bias ``z^(m)`` replaced)."""
    return key[1] if key[0] == "W" else key[1] - 1


def link_blocks(J: Jets, L: sp.Expr) -> dict[int, sp.Expr]:
    """Split a (W, z) Lagrangian into blocks ``L = Σ_m L_m`` by link.

    Each term goes to the deepest link among its variables (``W^(m)`` belongs to link
    ``m``, ``z^(m)`` to link ``m - 1``).
    """
    blocks: dict[int, list] = {}
    for term in sp.Add.make_args(sp.expand(L)):
        keys = {J.variable_of(x) for x in term.free_symbols} - {None}
        links = [_link_of(k) for k in keys if k[0] in "Wz"]
        blocks.setdefault(max(links) if links else -1, []).append(term)
    return {k: sp.Add(*v) for k, v in sorted(blocks.items())}


def shift(J: Jets, expr: sp.Expr, k: int = 1) -> sp.Expr:
    """Relabel layers ``m -> m + k`` (``W^(m) -> W^(m+k)``, ``z^(m) -> z^(m+k)``, ``σ(z^(m)) -> σ(z^(m+k))``).

    Raises
    ------
    ValueError
        If a shifted variable does not exist (a layer beyond the network or a neuron index
        beyond the width of the target layer).
    """
    rep = {}
    free = sp.sympify(expr).free_symbols
    for dct, name in ((J._W, "W"), (J._z, "z"), (J._s, "σ(z)")):
        for key, lst in dct.items():
            if not free & set(lst):
                continue
            new = (key[0] + k, *key[1:])
            if new not in dct:
                raise ValueError(f"{name}^({key[0]})_{key[1:]} has no image under m -> m + {k}")
            rep.update(dict(zip(lst, dct[new])))
    return sp.expand(sp.sympify(expr).xreplace(rep))


def translation_check(J: Jets, bulk: sp.Expr) -> dict[int, sp.Expr]:
    """``shift(L_m) - L_{m+1}`` for each pair of adjacent bulk links ``1 <= m < M - 1``.

    All zero means the bulk Lagrangian is a sum of one function of
    ``(W^(m), z^(m), z^(m+1))`` over the bulk links: invariant under ``m -> m + 1`` up to the
    ends (Sec. 3 of [A]).

    Raises
    ------
    ValueError
        When the widths differ so that the shift is not defined.
    """
    blocks = link_blocks(J, bulk)
    return {m: sp.expand(shift(J, blocks[m]) - blocks[m + 1]) for m in range(1, J.M - 1)}


def permute_layer(J: Jets, expr: sp.Expr, layer: int, perm, basis: str = "Wz") -> sp.Expr:
    """Relabel the neurons of hidden layer ``layer`` by the permutation ``perm`` (footnote 5 of [A]).

    ``perm`` holds ``1..N_layer`` in a new order: neuron ``i`` becomes ``perm[i-1]``.  Maps
    ``z^(layer)_i`` and ``σ(z^(layer)_i)`` (or, in the (W, b) basis, ``b^(layer-1)_i`` and
    ``σ(z^(layer)_i)``), the rows ``W^(layer-1)_ij`` and the columns ``W^(layer)_ai``.
    """
    check_choice("basis", basis, BASES)
    layer = check_int("layer", layer, minimum=1, maximum=J.M - 1)
    n = J.widths[layer]
    perm = tuple(perm)
    if sorted(perm) != list(range(1, n + 1)):
        raise ValueError(f"perm must be a permutation of 1..{n}, got {perm!r}")
    p = {i: perm[i - 1] for i in range(1, n + 1)}
    rep = {}
    for (m, i, j), lst in J._W.items():
        if m == layer - 1:
            rep.update(zip(lst, J._W[(m, p[i], j)]))
        elif m == layer:
            rep.update(zip(lst, J._W[(m, i, p[j])]))
    for i in range(1, n + 1):
        rep.update(zip(J._s[(layer, i)], J._s[(layer, p[i])]))
        if basis == "Wz":
            rep.update(zip(J._z[(layer, i)], J._z[(layer, p[i])]))
        else:
            rep.update(zip(J._b[(layer - 1, i)], J._b[(layer - 1, p[i])]))
    return sp.expand(sp.sympify(expr).xreplace(rep))


def draw_coupling_graph(g: CouplingGraph, J: Jets, ax, *, title: str = "") -> None:
    """Draw a coupling graph with matplotlib: depth to the right, neurons stacked vertically.

    ``z`` and ``b`` nodes are circles, ``W`` nodes small squares between the layers, data
    nodes diamonds (``X`` at ``m = 0``, ``Y`` beyond the output); an edge per coupled pair
    (grey; data edges orange); neurons and data are labelled (``z₂₁`` is ``z^(2)_1``).
    """
    import numpy as np

    N = J.widths
    pos = {}
    for n in g.nodes:
        k = g.kind[n]
        if k in "zb":
            layer = n[1] if k == "z" else n[1] + 1
            pos[n] = (g.depth[n], n[2] - (N[layer] + 1) / 2)
        elif k == "W":
            m, i, j = n[1:]
            nW = N[m] * N[m + 1]
            r = (i - 1) * N[m] + (j - 1)
            pos[n] = (g.depth[n] + 0.12, (r - (nW - 1) / 2) * 0.55)
        elif k == "X":
            pos[n] = (0.0, n[1] - (N[0] + 1) / 2)     # the input layer m = 0
        else:
            pos[n] = (J.M + 0.55, n[1] - (N[-1] + 1) / 2)
    for e in g.edges:
        u, v = tuple(e)
        data = g.kind[u] in "XY" or g.kind[v] in "XY"
        (x0, y0), (x1, y1) = pos[u], pos[v]
        ax.plot([x0, x1], [y0, y1], color="#e67e22" if data else "#555555",
                lw=0.5 if not data else 0.6, alpha=0.35 if not data else 0.5, zorder=1)
    style = {"z": ("o", "#1f4e9c", 60), "b": ("o", "#7f7f7f", 60), "W": ("s", "#c0392b", 22),
             "X": ("D", "#e67e22", 50), "Y": ("D", "#e67e22", 50)}
    for k, (marker, color, size) in style.items():
        pts = np.array([pos[n] for n in g.nodes if g.kind[n] == k])
        if len(pts):
            ax.scatter(pts[:, 0], pts[:, 1], marker=marker, s=size, color=color, zorder=3,
                       label={"z": "neuron z", "b": "bias b", "W": "weight W",
                              "X": "data X, Y", "Y": None}[k])
    sub = str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉")
    for n in g.nodes:   # labels: z^(m)_i as "z", layer and index; data X_j, Y_i
        k = g.kind[n]
        if k == "z":
            m, i = n[1:]
            ax.annotate(f"z{m}{i}".translate(sub) if m < 10 and i < 10 else f"z{m},{i}", pos[n], xytext=(0, 6),
                        textcoords="offset points", ha="center", fontsize=9)
        elif k in "XY":
            ax.annotate(f"{k}{n[1]}".translate(sub), pos[n], xytext=(0, 6), textcoords="offset points",
                        ha="center", fontsize=9)
    ax.set_xticks(range(J.M + 1))
    ax.set_xlabel("depth (layer m)")
    ax.set_yticks([])
    ax.grid(False)
    ax.set_title(title)
