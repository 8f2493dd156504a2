"""The book's figure style, shared by every chapter.

``use_style()`` sets matplotlib's rc parameters once and, in a notebook, switches the inline
backend to retina PNG (twice the pixels, shown at the figure's size).  The sizes are chosen
for the book's content column (784 CSS px at a 1400 px window): at ``figure.dpi`` 100 a
figure at most :data:`MAX_WIDTH_IN` inches wide is shown at its natural size, so its fonts
appear at their point size (tick labels 9.5 pt, never below 9 pt).  ``PAPER_COLORS`` fixes
the colours the papers' figures use (blue for sample densities, red for the Jacobian
contribution in paper B); the colour cycle is the Okabe–Ito palette (eight colours
distinguishable with colour-vision deficiencies), so up to eight series on one axes never
share a colour.  :func:`legend_outside` puts a legend beside the axes, off the data.
"""
from __future__ import annotations

import matplotlib as mpl
from cycler import cycler

__all__ = ["use_style", "legend_outside", "PAPER_COLORS", "SERIES_COLORS", "STYLE", "MAX_WIDTH_IN",
           "MIN_FONT_PT"]

#: Colours shared by every chapter's figures, by role.
PAPER_COLORS = {
    "samples": "#1f4e9c",   # blue dots of paper B's Figures 1-5
    "jacobian": "#c0392b",  # red dots of paper B's Figures 1-5
    "exact": "#222222",
    "theory": "#7f7f7f",
    "fit_range": "#f2e394",
}

#: The colour cycle (Okabe–Ito): one colour per series, eight before any repeats.
SERIES_COLORS = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000", "#F0E442")

#: The widest figure (inches at ``figure.dpi`` 100) shown at its natural size in the
#: content column; wider figures would be scaled down, and their fonts with them.
MAX_WIDTH_IN = 7.6

#: The smallest font size (points, at display size) of any text in the style.
MIN_FONT_PT = 9.0

#: matplotlib rc parameters of the book's figures.
STYLE = {
    "figure.figsize": (7.2, 3.6),
    "figure.dpi": 100,
    "savefig.dpi": 200,
    "savefig.bbox": "tight",
    "axes.grid": True,
    "grid.alpha": 0.3,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.prop_cycle": cycler(color=list(SERIES_COLORS)),
    "axes.titlesize": 11,
    "axes.labelsize": 10.5,
    "legend.fontsize": 9,
    "legend.frameon": False,
    "legend.loc": "best",
    "xtick.labelsize": 9.5,
    "ytick.labelsize": 9.5,
    "font.size": 10,
    "lines.linewidth": 1.6,
    "mathtext.fontset": "cm",
    "font.family": "DejaVu Sans",
}


def use_style() -> None:
    """Apply the book's matplotlib style, :data:`STYLE`, and retina output in a notebook.

    Idempotent.  Outside IPython only the rc parameters change.

    Returns
    -------
    None
        matplotlib's ``rcParams`` (and the inline backend's format) are updated in place.
    """
    mpl.rcParams.update(STYLE)
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython is a dependency of the book
        return
    shell = get_ipython()
    if shell is not None and "matplotlib_inline" in mpl.get_backend():
        from matplotlib_inline.backend_inline import set_matplotlib_formats

        set_matplotlib_formats("retina")


def legend_outside(ax, **kwargs) -> object:
    """A legend to the right of ``ax``, outside the data area.

    Parameters
    ----------
    ax : matplotlib.axes.Axes
        The axes whose handles are listed.
    **kwargs
        Passed to :meth:`matplotlib.axes.Axes.legend` (override ``loc``/``bbox_to_anchor``).

    Returns
    -------
    matplotlib.legend.Legend

    Raises
    ------
    TypeError
        If ``ax`` is not a matplotlib Axes.
    """
    from matplotlib.axes import Axes

    if not isinstance(ax, Axes):
        raise TypeError(f"ax must be a matplotlib Axes, got {type(ax).__name__}")
    options = {"loc": "upper left", "bbox_to_anchor": (1.01, 1.0), "borderaxespad": 0.0}
    options.update(kwargs)
    return ax.legend(**options)
