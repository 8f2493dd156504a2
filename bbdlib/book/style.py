"""The book's figure style, shared by every chapter.

``use_style()`` sets matplotlib's rc parameters once; ``PAPER_COLORS`` fixes the
colours the papers' figures use (blue for sample densities, red for the Jacobian
contribution in paper B), so that panels look alike across chapters.
"""
from __future__ import annotations

import matplotlib as mpl

__all__ = ["use_style", "PAPER_COLORS", "STYLE"]

#: Colours shared by every chapter's figures, by role.
PAPER_COLORS = {
    "samples": "#1f4e9c",   # blue dots of paper B's Figures 1-5
    "jacobian": "#c0392b",  # red dots of paper B's Figures 1-5
    "exact": "#222222",
    "theory": "#7f7f7f",
    "fit_range": "#f2e394",
}

#: matplotlib rc parameters of the book's figures.
STYLE = {
    "figure.figsize": (7.0, 3.6),
    "figure.dpi": 110,
    "savefig.dpi": 150,
    "savefig.bbox": "tight",
    "axes.grid": True,
    "grid.alpha": 0.3,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.titlesize": 11,
    "axes.labelsize": 10,
    "legend.fontsize": 8.5,
    "legend.frameon": False,
    "xtick.labelsize": 9,
    "ytick.labelsize": 9,
    "lines.linewidth": 1.6,
    "mathtext.fontset": "cm",
    "font.family": "DejaVu Sans",
}


def use_style() -> None:
    """Apply the book's matplotlib style, :data:`STYLE` (idempotent).

    Returns
    -------
    None
        matplotlib's ``rcParams`` are updated in place.
    """
    mpl.rcParams.update(STYLE)
