"""The Sweeps page's results: ``{sweeps-robustness}`` and ``{sweeps-kn-map}``.

Both read what ``make robustness`` left in the build folder (the parent of the HTML output,
``_build/``) when the page is read, and say which command produces it when it is absent:

- ``{sweeps-robustness}``: what ``_build/robustness.json`` holds — the seeded and the
  deterministic chapters, the runs (executed, taken from the book build), their CPU time,
  the per-run overhead and the count of seed-dependent claims (listed on the scorecard);
- ``{sweeps-kn-map}``: the k(n) map from ``_build/kn/sweep.json`` (chapter II.8 over
  ``n_power``, :func:`bbdlib.book.sweep.kn_map`), a numbered figure drawn into
  ``_build/kn/kn-map.png`` with a caption computed from the map.

Every page that uses one of them is read again on every build, so a build after
``make robustness`` shows its results.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

from docutils import nodes
from docutils.parsers.rst import Directive
from sphinx.application import Sphinx
from sphinx.util import logging

__all__ = ["KnMapDirective", "RobustnessDirective", "kn_caption", "robustness_text", "setup"]

logger = logging.getLogger(__name__)

#: Where the k(n) sweep is, under the build folder (the Makefile's robustness target writes it).
KN_FOLDER = "kn"
_PART = {"bulk-boundary": "I", "duality": "II", "beyond-duality": "III"}


def _build_dir(app: Sphinx) -> Path:
    return Path(app.outdir).parent


def _short(chapter: str) -> str:
    """``chapters/duality/08-power-law-sweep.md`` as ``II.8``."""
    parts = chapter.removesuffix(".md").split("/")
    if len(parts) >= 3 and parts[-2] in _PART and parts[-1][:2].isdigit():
        return f"{_PART[parts[-2]]}.{int(parts[-1][:2])}"
    return chapter


def robustness_text(rb: dict | None) -> list[str]:
    """The Sweeps page's paragraphs about ``make robustness``, computed from robustness.json.

    Parameters
    ----------
    rb : dict or None
        The parsed ``_build/robustness.json``, or None if it is absent.

    Returns
    -------
    list of str
        Plain-text paragraphs (no number typed by hand: every one comes from ``rb``).
    """
    if rb is None:
        return ["make robustness has not run for this build: run it after make book, and this "
                "paragraph gives its chapters, runs, CPU time and seed-dependent claims."]
    if not isinstance(rb, dict):
        raise TypeError(f"rb must be a parsed robustness.json (a dict), got {type(rb).__name__}")
    seeds = rb.get("seeds", [])
    seeded = [_short(c) for c in rb.get("seeded", [])]
    det = [_short(c) for c in rb.get("deterministic", [])]
    dep = rb.get("seed_dependent", [])
    chapters = {c.get("chapter") for c in dep}
    seed_text = f"{seeds[0]}–{seeds[-1]}" if seeds == list(range(seeds[0], seeds[-1] + 1)) and seeds else \
        ", ".join(map(str, seeds))
    out = [f"The last make robustness ran the {len(seeded)} chapters with a seed parameter "
           f"({', '.join(seeded)}) at seeds {seed_text}; the {len(det)} chapters without one "
           f"({', '.join(det)}) are deterministic. {len(dep)} claims in {len(chapters)} chapters change "
           f"their outcome with the seed; the scorecard lists them with their outcomes."]
    cost = rb.get("cost")
    if cost:
        frac = cost.get("mean_overhead_fraction")
        over = cost.get("mean_overhead_seconds")
        out.append(
            f"Of its {cost['runs']} runs, {cost['from_book']} (each chapter at its default parameters) were "
            f"taken from the book build, which had executed the same source, and {cost['executed']} were "
            f"executed: {cost['cpu_seconds']:.0f} CPU seconds, i.e. {cost['cpu_seconds_per_2_workers'] / 60:.1f} "
            f"minutes on 2 workers if they were kept busy; the whole sweep took {rb.get('seconds', 0) / 60:.1f} "
            f"minutes of wall time. A run spends on average "
            + (f"{over:.1f} s ({frac:.0%} of its wall time)" if over is not None and frac is not None else "an "
               "unmeasured time")
            + " outside the chapter's cells (starting Python, papermill and the kernel, writing the results).")
    return out


class RobustnessDirective(Directive):
    """``{sweeps-robustness}``: paragraphs computed from ``_build/robustness.json``."""

    has_content = False

    def run(self):
        """The paragraphs of :func:`robustness_text`.

        Returns
        -------
        list of docutils.nodes.paragraph
        """
        app = self.state.document.settings.env.app
        try:
            rb = json.loads((_build_dir(app) / "robustness.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            rb = None
        return [nodes.paragraph(text=t) for t in robustness_text(rb)]


def kn_caption(kmap) -> str:
    """The caption of the k(n) figure, computed from the map.

    Parameters
    ----------
    kmap : bbdlib.book.sweep.KnMap

    Returns
    -------
    str
    """
    from bbdlib.book.sweep import KnMap

    if not isinstance(kmap, KnMap):
        raise TypeError(f"kmap must be a KnMap, got {type(kmap).__name__}")
    ns = sorted({p.n for p in kmap.points})
    held = sum(p.held and p.k is not None for p in kmap.points)
    measured = sum(p.k is not None for p in kmap.points)
    misses = [f"{p.n:g} ('{'−' if p.cls == '-' else '+'}')" for p in kmap.points if p.k is not None and not p.held]
    text = (f"The measured exponent k of p(|q̇′|) at the critical point against n = {', '.join(f'{n:g}' for n in ns)} "
            f"(chapter II.8 swept over n_power, other parameters at their defaults; error bars: 95 % bootstrap "
            f"intervals), for both classes, with the law (7.15) k = (n−2)/(n−1). {held} of the {measured} "
            f"measurements keep the status the chapter declares for them")
    text += f"; circled: the others ({', '.join(misses)})." if misses else "."
    if kmap.no_range:
        text += (f" No power-law range exists at the default sample size for n = "
                 f"{', '.join(f'{n:g}' for n in kmap.no_range)} (marked ×).")
    else:
        text += " Every n has a power-law range at the default sample size."
    if kmap.runs > 1:
        text += (f" The fixed n of the chapter, measured in each of the {kmap.runs} runs, have the same k in every run."
                 if kmap.consistent else
                 " Warning: an (n, class) measured in several runs has a different k in some of them.")
    if kmap.failed:
        text += f" {len(kmap.failed)} runs ended with a flipped claim or an error; their records are shown."
    return text


class KnMapDirective(Directive):
    """``{sweeps-kn-map}``: the k(n) figure from ``_build/kn/sweep.json``, or what produces it."""

    has_content = False

    def run(self):
        """A numbered figure (image and caption), or a paragraph naming the command.

        Returns
        -------
        list of docutils.nodes.Node
        """
        from bbdlib.book.sweep import kn_map, plot_kn_map

        env = self.state.document.settings.env
        folder = _build_dir(env.app) / KN_FOLDER
        try:
            sweep = json.loads((folder / "sweep.json").read_text(encoding="utf-8"))
            kmap = kn_map(sweep)
        except (OSError, ValueError) as exc:
            if (folder / "sweep.json").is_file():
                logger.warning("k(n) map: %s/sweep.json has no map (%s)", folder, exc)
            return [nodes.paragraph(text=(
                "The k(n) map has not been produced for this build: make robustness (after make book) "
                f"runs the sweep of chapter II.8 over n_power into _build/{KN_FOLDER}/ and the next build draws "
                "it here."))]
        png = plot_kn_map(kmap, folder / "kn-map.png")
        rel = os.path.relpath(png, env.srcdir)
        if rel.startswith(".."):
            logger.warning("k(n) map: %s is outside the source folder; not shown", png)
            return [nodes.paragraph(text=f"The k(n) map is in {png}.")]
        caption = kn_caption(kmap)
        figure = nodes.figure(ids=["fig-kn-map"], names=["fig-kn-map"])
        figure += nodes.image(uri="/" + rel.replace(os.sep, "/"), alt=(
            "Measured exponent k against the power n of the loss for both classes, with 95 % intervals "
            "and the curve (n−2)/(n−1); n without a power-law range marked with a cross."))
        figure += nodes.caption(text=caption)
        self.state.document.note_explicit_target(figure)
        return [figure]


def _always_outdated(app: Sphinx, env, added, changed, removed) -> list[str]:
    """Pages holding a sweeps directive are read again on every build."""
    return [d for d in env.found_docs
            if Path(env.doc2path(d)).suffix == ".md"
            and "{sweeps-" in Path(env.doc2path(d)).read_text(encoding="utf-8")]


def setup(app: Sphinx) -> None:
    """Register the two directives and re-read their pages on every build.

    Parameters
    ----------
    app : sphinx.application.Sphinx
        The application being set up.
    """
    app.add_directive("sweeps-robustness", RobustnessDirective)
    app.add_directive("sweeps-kn-map", KnMapDirective)
    app.connect("env-get-outdated", _always_outdated)
