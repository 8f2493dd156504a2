"""The figure style: fonts legible at display size, one colour per series, figures that fit
the content column (so they are never scaled down)."""
import re

import matplotlib
import pytest

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from bbdlib.book import style  # noqa: E402


def test_fonts_are_at_least_the_minimum():
    style.use_style()
    for key in ("xtick.labelsize", "ytick.labelsize", "legend.fontsize", "axes.labelsize", "font.size"):
        assert float(matplotlib.rcParams[key]) >= style.MIN_FONT_PT, key


def test_default_figure_fits_the_column_and_is_high_resolution():
    style.use_style()
    w, _ = matplotlib.rcParams["figure.figsize"]
    assert w <= style.MAX_WIDTH_IN
    assert matplotlib.rcParams["figure.dpi"] * style.MAX_WIDTH_IN <= 784  # the content column, px
    assert matplotlib.rcParams["savefig.dpi"] >= 2 * matplotlib.rcParams["figure.dpi"]


def test_eight_series_get_eight_colours():
    style.use_style()
    fig, ax = plt.subplots()
    lines = [ax.plot([0, 1], [i, i])[0] for i in range(8)]
    assert len({ln.get_color() for ln in lines}) == 8
    plt.close(fig)


def test_legend_outside_is_beside_the_axes():
    style.use_style()
    fig, ax = plt.subplots()
    ax.plot([0, 1], [0, 1], label="a")
    leg = style.legend_outside(ax)
    fig.canvas.draw()
    assert leg.get_window_extent().x0 >= ax.get_window_extent().x1
    plt.close(fig)
    with pytest.raises(TypeError, match="ax"):
        style.legend_outside("not an axes")


def test_no_chapter_draws_a_figure_wider_than_the_column(repo_root):
    wide = []
    for path in sorted((repo_root / "chapters").rglob("*.md")):
        for m in re.finditer(r"figsize\s*=\s*\(\s*([0-9.]+)\s*,", path.read_text(encoding="utf-8")):
            if float(m.group(1)) > style.MAX_WIDTH_IN:
                wide.append(f"{path.relative_to(repo_root)}: figsize width {m.group(1)} in")
    assert not wide, "figures wider than MAX_WIDTH_IN are scaled down, and their fonts with them:\n" + "\n".join(wide)
