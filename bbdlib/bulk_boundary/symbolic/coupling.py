"""Structure of the Lagrangian of [A]: the coupling graph (Fig. 1), locality, and the
discrete translation symmetry ``m -> m + 1`` of the bulk (Sec. 3).

Two variables are *coupled* when they occur in a common term of the expanded Lagrangian.
In the (W, b) basis the loss ``ell(Z(W, b, X), Y)`` is one term containing every weight and
bias, so every pair is coupled; in the (W, z) basis the terms of eq. (7) only join
variables of adjacent layers.  The graphs are computed from the sympy Lagrangians of
:mod:`bbdlib.bulk_boundary.symbolic.lagrangian`, never drawn by hand.
"""
from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations

import sympy as sp

from bbdlib.bulk_boundary.symbolic.lagrangian import Network

__all__ = ["CouplingGraph", "coupling_graph", "link_blocks", "shift", "translation_check",
           "permute_layer", "draw_coupling_graph"]


@dataclass(frozen=True)
class CouplingGraph:
    """Nodes (dynamical variables and data), edges (pairs sharing a term) and positions."""

    basis: str
    nodes: tuple            # sympy functions/symbols
    edges: frozenset        # frozenset({u, v})
    depth: dict             # node -> depth coordinate (z^(m): m; W^(m), b^(m): m + 1/2; X: 0; Y: M)
    kind: dict              # node -> "W", "b", "z", "X", "Y"

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


def coupling_graph(net: Network, L: sp.Expr, basis: str) -> CouplingGraph:
    """The coupling graph of the Lagrangian ``L`` written in ``basis`` (``"Wb"`` or ``"Wz"``).

    Data nodes ``X_j``, ``Y_i`` are included, so that the graph also shows where the data
    enter.
    """
    variables = net.variables(basis)
    kind = {}
    depth = {}
    for v in variables:
        k = sp.srepr(v.func).split("'")[1][0]  # 'W', 'b' or 'z'
        kind[v] = k
        depth[v] = net.layer_of(v)
    for x in net.X:
        kind[x], depth[x] = "X", 0.0
    for y in net.Y:
        kind[y], depth[y] = "Y", float(net.M)
    nodes = tuple(kind)
    edges = set()
    for term in sp.Add.make_args(sp.expand(L)):
        present = [n for n in nodes if term.has(n)]
        edges.update(frozenset(p) for p in combinations(present, 2))
    return CouplingGraph(basis=basis, nodes=nodes, edges=frozenset(edges), depth=depth, kind=kind)


def _link_of(net: Network, f) -> int:
    """``W^{(m)} -> m``, ``z^{(m)} -> m - 1`` (the link whose bias ``z^{(m)}`` replaced)."""
    d = net.layer_of(f)
    return int(d - 0.5) if d % 1 else int(d) - 1


def link_blocks(net: Network, L: sp.Expr) -> dict[int, sp.Expr]:
    """Split a (W, z) Lagrangian into blocks ``L = sum_m L_m`` by link.

    Each term goes to the deepest link among its variables (``W^{(m)}`` belongs to link
    ``m``, ``z^{(m)}`` to link ``m - 1``).  For eq. (7) this gives
    ``L_m = 1/2 W'^{(m)2} + 1/2 z'^{(m+1)2} - z'^{(m+1)} d/dt(W^{(m)} sigma(z^{(m)})) + ...``.
    """
    variables = net.variables("Wz")
    blocks: dict[int, list] = {}
    for term in sp.Add.make_args(sp.expand(L)):
        links = [_link_of(net, v) for v in variables if term.has(v)]
        key = max(links) if links else -1
        blocks.setdefault(key, []).append(term)
    return {k: sp.Add(*v) for k, v in sorted(blocks.items())}


def shift(net: Network, expr: sp.Expr, k: int = 1) -> sp.Expr:
    """Relabel layers ``m -> m + k`` (``W^{(m)} -> W^{(m+k)}``, ``z^{(m)} -> z^{(m+k)}``).

    Raises ``ValueError`` if a shifted variable does not exist (a layer beyond the network
    or a neuron index beyond the width of the target layer).
    """
    rep = {}
    for (m, i, j), w in net.W.items():
        if expr.has(w):
            if (m + k, i, j) not in net.W:
                raise ValueError(f"W^({m})_{{{i},{j}}} has no image under m -> m + {k}")
            rep[w] = net.W[(m + k, i, j)]
    for (m, i), z in net.z.items():
        if expr.has(z):
            if (m + k, i) not in net.z:
                raise ValueError(f"z^({m})_{i} has no image under m -> m + {k}")
            rep[z] = net.z[(m + k, i)]
    return sp.expand(expr.subs(rep, simultaneous=True).doit())


def translation_check(net: Network, bulk: sp.Expr) -> dict[int, sp.Expr]:
    """``shift(L_m) - L_{m+1}`` for each pair of adjacent bulk links ``1 <= m < M - 1``.

    All zero means the bulk Lagrangian is a sum of one function of
    ``(W^{(m)}, z^{(m)}, z^{(m+1)})`` over the bulk links: invariant under ``m -> m + 1``
    up to the ends (Sec. 3 of [A]).  Raises ``ValueError`` when the widths differ so that
    the shift is not defined.
    """
    blocks = link_blocks(net, bulk)
    return {m: sp.expand(shift(net, blocks[m]) - blocks[m + 1]) for m in range(1, net.M - 1)}


def permute_layer(net: Network, expr: sp.Expr, layer: int, perm, basis: str = "Wz") -> sp.Expr:
    """Relabel the neurons of hidden layer ``layer`` by the permutation ``perm`` (footnote 5 of [A]).

    ``perm`` is a sequence holding ``1..N_layer`` in a new order: neuron ``i`` becomes
    ``perm[i-1]``.  Maps ``z^{(layer)}_i`` (or, in the (W, b) basis, ``b^{(layer-1)}_i``),
    the rows ``W^{(layer-1)}_{i j}`` and the columns ``W^{(layer)}_{a i}`` accordingly.
    """
    from bbdlib.validate import check_choice, check_int

    check_choice("basis", basis, ["Wb", "Wz"])
    layer = check_int("layer", layer, minimum=1, maximum=net.M - 1)
    n = net.widths[layer]
    perm = tuple(perm)
    if sorted(perm) != list(range(1, n + 1)):
        raise ValueError(f"perm must be a permutation of 1..{n}, got {perm!r}")
    p = {i: perm[i - 1] for i in range(1, n + 1)}
    rep = {}
    for (m, i, j), w in net.W.items():
        if m == layer - 1:
            rep[w] = net.W[(m, p[i], j)]
        elif m == layer:
            rep[w] = net.W[(m, i, p[j])]
    if basis == "Wz":
        for i in range(1, n + 1):
            rep[net.z[(layer, i)]] = net.z[(layer, p[i])]
    else:
        for i in range(1, n + 1):
            rep[net.b[(layer - 1, i)]] = net.b[(layer - 1, p[i])]
    return sp.expand(expr.subs(rep, simultaneous=True).doit())


def draw_coupling_graph(g: CouplingGraph, net: Network, ax, *, title: str = "") -> None:
    """Draw a coupling graph with matplotlib: depth to the right, neurons stacked vertically.

    ``z`` and ``b`` nodes are circles, ``W`` nodes small squares between the layers, data
    nodes diamonds (``X`` at ``m = 0``, ``Y`` beyond the output); an edge per coupled pair
    (grey; data edges orange); neurons and data are labelled (``z₂₁`` is ``z^(2)_1``).
    """
    import numpy as np

    N = net.widths
    pos = {}
    for n in g.nodes:
        name = sp.srepr(n.func).split("'")[1] if g.kind[n] not in "XY" else str(n)
        k = g.kind[n]
        if k == "z" or k == "b":
            (m, i) = next(key for key, f in (net.z if k == "z" else net.b).items() if f == n)
            layer = m if k == "z" else m + 1
            pos[n] = (g.depth[n], i - (N[layer] + 1) / 2)
        elif k == "W":
            (m, i, j) = next(key for key, f in net.W.items() if f == n)
            nW = N[m] * N[m + 1]
            r = (i - 1) * N[m] + (j - 1)
            pos[n] = (g.depth[n] + 0.12 * (1 if k == "W" else 0), (r - (nW - 1) / 2) * 0.55)
        elif k == "X":
            j = net.X.index(n) + 1
            pos[n] = (0.0, j - (N[0] + 1) / 2)     # the input layer m = 0
        else:
            i = net.Y.index(n) + 1
            pos[n] = (net.M + 0.55, i - (N[-1] + 1) / 2)
        del name
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
            (m, i) = next(key for key, f in net.z.items() if f == n)
            ax.annotate(f"z{m}{i}".translate(sub) if m < 10 and i < 10 else f"z{m},{i}", pos[n], xytext=(0, 6),
                        textcoords="offset points", ha="center", fontsize=9)
        elif k in "XY":
            idx = (net.X if k == "X" else net.Y).index(n) + 1
            ax.annotate(f"{k}{idx}".translate(sub), pos[n], xytext=(0, 6), textcoords="offset points",
                        ha="center", fontsize=9)
    ax.set_xticks(range(net.M + 1))
    ax.set_xlabel("depth (layer m)")
    ax.set_yticks([])
    ax.grid(False)
    ax.set_title(title)
