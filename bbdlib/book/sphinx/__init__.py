"""Sphinx extension of the book (``bbdlib.book.sphinx`` in ``_config.yml``).

Its parts, one module each:

- :mod:`bbdlib.book.sphinx.claims`: the scorecard and errata pages, from the chapters'
  claims ledgers (merged into ``_build/claims.json``);
- :mod:`bbdlib.book.sphinx.sweeps`: the Sweeps page's results of ``make robustness``
  (``_build/robustness.json``, the k(n) map);
- :mod:`bbdlib.book.sphinx.equations`: equation numbers that follow the papers
  (``bbd-eq-7`` is (7), ``dld-eq-6-11`` is (6.11), the companion's own are (C1), (C2), ...);
- :mod:`bbdlib.book.sphinx.mathjax`: MathJax 3 served from the build, so the book loads
  no remote script;
- :mod:`bbdlib.book.sphinx.docstrings`: vertical bars in docstrings are absolute values,
  not reST substitutions;
- :mod:`bbdlib.book.sphinx.bibliography`: author–year labels in the bibliography, as in
  the citations;
- :mod:`bbdlib.book.sphinx.stamp`: the build stamp of the title page (commit, date, versions);
- :mod:`bbdlib.book.sphinx.figures`: a figure's caption is the alt text of an image without one.
"""
from __future__ import annotations

from typing import Any

from sphinx.application import Sphinx

from bbdlib.book.sphinx import bibliography, claims, docstrings, equations, figures, mathjax, stamp, sweeps

__all__ = ["setup"]


def setup(app: Sphinx) -> dict[str, Any]:
    """Register every part of the extension.

    Parameters
    ----------
    app : sphinx.application.Sphinx
        The application being set up.

    Returns
    -------
    dict
        The extension's metadata: version, and parallel reading unsafe (the ledgers
        are merged once all documents are read).
    """
    docstrings.setup(app)
    claims.setup(app)
    sweeps.setup(app)
    equations.setup(app)
    mathjax.setup(app)
    bibliography.setup(app)
    stamp.setup(app)
    figures.setup(app)
    return {"version": "0.1", "parallel_read_safe": False, "parallel_write_safe": True}
