"""Offline MathJax: the book loads no remote script.

Copies MathJax 3 (from the PyPI package ``django-static-mathjax``, importable as
``mathjax``) into ``_static/mathjax`` of the HTML output; ``mathjax_path`` in
``_config.yml`` points there.
"""
from __future__ import annotations

import shutil
from pathlib import Path

from sphinx.application import Sphinx

__all__ = ["copy_mathjax", "mathjax_source", "setup"]


def mathjax_source() -> Path:
    """The MathJax 3 ``es5`` folder shipped by the ``django-static-mathjax`` wheel.

    Returns
    -------
    pathlib.Path
        The folder holding ``tex-svg.js`` and the TeX input extensions.
    """
    import mathjax  # the PyPI package django-static-mathjax

    return Path(mathjax.__file__).resolve().parent / "static" / "mathjax" / "es5"


def copy_mathjax(app: Sphinx, exception: Exception | None) -> None:
    """Copy MathJax into ``_static/mathjax`` of a successful HTML build (``build-finished``).

    Only the SVG output is copied: ``tex-svg.js`` needs no font files, and the TeX
    extensions it loads on demand come from ``input/tex/extensions``.

    Parameters
    ----------
    app : sphinx.application.Sphinx
        The application; nothing is copied unless its builder writes HTML.
    exception : Exception or None
        The exception the build stopped with; nothing is copied after a failure.
    """
    if exception is not None or app.builder.format != "html":
        return
    src = mathjax_source()
    dst = Path(app.outdir) / "_static" / "mathjax"
    if dst.exists():
        shutil.rmtree(dst)
    shutil.copytree(src, dst, ignore=shutil.ignore_patterns("*chtml*", "mml-*", "*.map"))


def setup(app: Sphinx) -> None:
    """Copy MathJax into every HTML build.

    Parameters
    ----------
    app : sphinx.application.Sphinx
        The application being set up.
    """
    app.connect("build-finished", copy_mathjax)
