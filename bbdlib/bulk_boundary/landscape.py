"""The measured version of Fig. 2 of [A]: energy densities and currents of a network as a picture.

Depth runs across (input ``X`` at the left, layers ``m = 1..M``), neurons down; each site is
coloured by its energy density ``e_i^(m)``, each link carries an arrow in the direction of its
current ``J`` (eq. (22)) or ``K^in`` (eq. (27)) with a width proportional to ``|J|``, and a ring
around each site shows its dissipation ``γ D_{i,m}`` (eq. (12)/(27)).  Quantities are averaged
over a time window, so that a picture shows where energy flows during that part of training.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from bbdlib.bulk_boundary import energy as E

__all__ = ["WindowAverage", "window_average", "LayerTransport", "SourcesAndSinks", "sources_and_sinks",
           "describe_window", "current_scale", "draw_landscape"]


@dataclass(frozen=True)
class WindowAverage:
    """Time averages over ``[t0, t1]`` of site and link fields (lists indexed by layer)."""

    t0: float
    t1: float
    e: list            # e[m], m = 1..M
    e_local: list      # e[m] without its ½∫dt term (the part of the density local in time)
    drift: list        # window mean of the ½∫dt term of e[m] (zero at m = M): the non-local part
    dissipation: list  # γ D[m]
    transport: list    # Σ J_in - Σ J_out (net inflow through links), m = 1..M
    links: list        # links[m] = mean J_{(j,m)→(i,m+1)}, shape (N_{m+1}, N_m); links[0] = mean K^in
    k_out: np.ndarray  # mean corrected K^out_i at the output


def window_average(k: E.Kinematics, f: E.SiteFields, t0: float, t1: float, *,
                   max_links_samples: int = 64) -> WindowAverage:
    """Average site fields over ``t0 <= t <= t1``; link currents from up to ``max_links_samples`` samples.

    Parameters
    ----------
    k : Kinematics
        Kinematics of the trajectory.
    f : SiteFields
        Its site fields.
    t0, t1 : float
        The window.
    max_links_samples : int
        Number of samples (equally spaced in the window) at which the link currents are formed.

    Returns
    -------
    WindowAverage
    """
    sel = np.flatnonzero((k.t >= t0) & (k.t <= t1))
    if sel.size == 0:
        raise ValueError(f"no samples in the window [{t0}, {t1}]")
    M = f.M
    e = [None] + [f.e[m][sel].mean(0) for m in range(1, M + 1)]
    e_loc = [None] + [f.e_local(m)[sel].mean(0) for m in range(1, M + 1)]
    drift = [None] + [e[m] - e_loc[m] for m in range(1, M + 1)]
    diss = [None] + [k.gamma * f.D[m][sel].mean(0) for m in range(1, M + 1)]
    kout = f.k_out[sel].mean(0)
    trans = [None] + [(f.j_in[m][sel] - f.j_out[m][sel]).mean(0) for m in range(1, M + 1)]
    pick = sel[np.linspace(0, sel.size - 1, min(max_links_samples, sel.size)).astype(int)]
    links = [np.mean([E.link_k_in(k, n) for n in pick], axis=0)]
    for m in range(1, M):
        links.append(np.mean([E.link_current(k, m, n) for n in pick], axis=0))
    return WindowAverage(t0=float(k.t[sel[0]]), t1=float(k.t[sel[-1]]), e=e, e_local=e_loc, drift=drift,
                         dissipation=diss, transport=trans, links=links, k_out=kout)


@dataclass(frozen=True)
class LayerTransport:
    """Net link transport of one site layer over a window (see :func:`sources_and_sinks`).

    Attributes
    ----------
    m : int
        Site layer.
    sources, sinks : int
        Number of sites that send energy to / receive energy from their neighbours.
    net_transport : float
        ``Σ_i (Σ J_in - Σ J_out)`` of the layer.
    dissipation : float
        ``γ Σ_i D_{i,m}`` of the layer.
    """

    m: int
    sources: int
    sinks: int
    net_transport: float
    dissipation: float


@dataclass(frozen=True)
class SourcesAndSinks:
    """Classification of the sites of a window by their net link transport.

    Attributes
    ----------
    layers : tuple of LayerTransport
        One per site layer ``m = 1..M``.
    input_power : float
        ``Σ K^in`` (mean over the window).
    output_power : float
        ``-Σ K^out`` (mean over the window, corrected (32)).
    """

    layers: tuple
    input_power: float
    output_power: float


def sources_and_sinks(w: WindowAverage, *, rel: float = 0.05) -> SourcesAndSinks:
    """Classify sites by their net link transport ``Σ J_in - Σ J_out`` over the window.

    A site is a *source* if it sends energy to its neighbours (net transport below
    ``-rel × max|transport|``), a *sink* if it receives (above ``+rel × max``), else neutral.

    Parameters
    ----------
    w : WindowAverage
        A window (:func:`window_average`).
    rel : float
        Threshold relative to the largest ``|transport|`` of the window.

    Returns
    -------
    SourcesAndSinks
        Per layer the counts and the layer's net transport, plus the boundary powers.
    """
    M = len(w.e) - 1
    scale = max(np.max(np.abs(w.transport[m])) for m in range(1, M + 1))
    layers = []
    for m in range(1, M + 1):
        tr = w.transport[m]
        layers.append(LayerTransport(
            m=m,
            sources=int(np.sum(tr < -rel * scale)),
            sinks=int(np.sum(tr > rel * scale)),
            net_transport=float(tr.sum()),
            dissipation=float(w.dissipation[m].sum()),
        ))
    return SourcesAndSinks(layers=tuple(layers), input_power=float(w.links[0].sum()),
                           output_power=float(-w.k_out.sum()))


def describe_window(s: SourcesAndSinks, w: WindowAverage) -> str:
    """One sentence on a window: strongest source and sink layer, boundary powers, dissipation.

    Parameters
    ----------
    s : SourcesAndSinks
        The classification of the window (:func:`sources_and_sinks`).
    w : WindowAverage
        The window.

    Returns
    -------
    str
    """
    lay = s.layers
    src = max(lay, key=lambda r: -r.net_transport)
    snk = max(lay, key=lambda r: r.net_transport)
    diss = max(lay, key=lambda r: r.dissipation)
    return (f"t ∈ [{w.t0:.0f}, {w.t1:.0f}]: the strongest source of link transport is layer {src.m} "
            f"(net {src.net_transport:+.3f}; {src.sources} of its sites are sources), the strongest sink "
            f"layer {snk.m} ({snk.net_transport:+.3f}); the input boundary feeds in {s.input_power:+.3f} and "
            f"the output boundary {s.output_power:+.3f}; most energy is dissipated in layer {diss.m} "
            f"({diss.dissipation:.3f} of {sum(r.dissipation for r in lay):.3f})")


def current_scale(windows) -> float:
    """The largest ``|J|``, ``|K^in|`` or ``|K^out|`` over several windows: one arrow scale for all.

    Parameters
    ----------
    windows : sequence of WindowAverage
        The windows drawn side by side.

    Returns
    -------
    float
        The scale (1 if every current vanishes).
    """
    vals = [np.max(np.abs(L)) for w in windows for L in w.links if L.size] + [np.max(np.abs(w.k_out)) for w in windows]
    top = max(vals) if vals else 0.0
    return float(top) if top > 0 else 1.0


def draw_landscape(ax, w: WindowAverage, *, vmin=None, vmax=None, cmap="viridis", max_width=4.0, title=None,
                   field: str = "e", jmax: float | None = None):
    """Draw one window: sites coloured by ``e``, arrows for currents, rings for dissipation.

    The input ``X`` (grey squares) sits at ``m = 0``, the targets ``Y`` (grey squares) beyond
    the output layer; the output source ``-K^out_i`` (corrected (32)) is drawn as an arrow
    between ``Y_i`` and ``Z_i`` in the direction energy flows, like the input currents
    ``K^in`` (both red) and the link currents ``J`` (grey).

    Parameters
    ----------
    ax : matplotlib.axes.Axes
        Where to draw.
    w : WindowAverage
        The window.
    vmin, vmax : float, optional
        Colour range of ``e`` (default: the window's range).
    cmap : str
        Colour map.
    max_width : float
        Line width of the largest current.
    title : str, optional
        Axes title.
    field : {"e", "e_local"}
        Colour by the density ``e`` or by its part local in time (without the ``½∫dt`` term).
    jmax : float, optional
        Current that gets the full arrow width (default: this window's largest; pass
        :func:`current_scale` of all windows for one scale across them).

    Returns
    -------
    matplotlib.collections.PathCollection
        The site scatter (for a colour bar).
    """
    from matplotlib.patches import FancyArrowPatch

    if field not in ("e", "e_local"):
        raise ValueError(f"field must be 'e' or 'e_local', got {field!r}")
    M = len(w.e) - 1
    widths = [w.links[0].shape[1]] + [w.e[m].size for m in range(1, M + 1)]
    ys = [np.linspace(0.5, -0.5, n) * (n - 1) / max(max(widths) - 1, 1) for n in widths]
    if jmax is None:
        jmax = current_scale([w])
    dmax = max(np.max(np.abs(w.dissipation[m])) for m in range(1, M + 1)) or 1.0
    dens = w.e if field == "e" else w.e_local
    evals = np.concatenate([dens[m] for m in range(1, M + 1)])
    vmin = evals.min() if vmin is None else vmin
    vmax = evals.max() if vmax is None else vmax
    import matplotlib as mpl

    norm = mpl.colors.Normalize(vmin=vmin, vmax=vmax)
    for m, L in enumerate(w.links):  # link layer m: from layer m to m+1
        for i in range(L.shape[0]):
            for j in range(L.shape[1]):
                J = L[i, j]
                if abs(J) < 0.02 * jmax:
                    continue
                a, b = (m, ys[m][j]), (m + 1, ys[m + 1][i])
                if J < 0:
                    a, b = b, a
                ax.add_patch(FancyArrowPatch(a, b, arrowstyle="-|>", mutation_scale=6 + 6 * abs(J) / jmax,
                                             lw=max_width * abs(J) / jmax, color="C3" if m == 0 else "0.25",
                                             alpha=0.35 + 0.65 * abs(J) / jmax, shrinkA=7, shrinkB=7, zorder=1))
    for i, P in enumerate(-w.k_out):  # output source: power fed in at Z_i by the moving target Y_i
        if abs(P) < 0.02 * jmax:
            continue
        a, b = (M + 1, ys[M][i]), (M, ys[M][i])
        if P < 0:
            a, b = b, a
        ax.add_patch(FancyArrowPatch(a, b, arrowstyle="-|>", mutation_scale=6 + 6 * abs(P) / jmax,
                                     lw=max_width * abs(P) / jmax, color="C3", alpha=0.35 + 0.65 * abs(P) / jmax,
                                     shrinkA=7, shrinkB=7, zorder=1))
    ax.scatter(np.zeros(widths[0]), ys[0], marker="s", s=40, color="0.6", zorder=2)
    ax.scatter(np.full(widths[M], M + 1), ys[M], marker="s", s=40, color="0.6", zorder=2)
    xs = np.concatenate([np.full(widths[m], m) for m in range(1, M + 1)])
    yy = np.concatenate([ys[m] for m in range(1, M + 1)])
    dd = np.concatenate([w.dissipation[m] for m in range(1, M + 1)])
    ax.scatter(xs, yy, s=60 + 500 * np.abs(dd) / dmax, c=np.where(dd >= 0, "C1", "C0"), alpha=0.45,
               linewidths=0, zorder=2)
    sc = ax.scatter(xs, yy, s=55, c=evals, cmap=cmap, norm=norm, edgecolors="k", linewidths=0.5, zorder=3)
    ax.set_xlim(-0.4, M + 1.4)
    ax.set_ylim(-0.62, 0.62)
    ax.set_aspect("auto")
    ax.set_xticks(range(M + 2), ["X"] + [f"{m}" for m in range(1, M + 1)] + ["Y"])
    ax.set_yticks([])
    ax.grid(False)
    if title:
        ax.set_title(title)
    return sc
