"""Docstrings on the API page: a vertical bar is an absolute value, not a reST substitution.

bbdlib's docstrings write the absolute value of x between two vertical bars, as in plain
text; reST would read that as a substitution reference and fail the build.  Before autodoc
parses a docstring, every bar outside a grid table is escaped with a backslash.
"""
from __future__ import annotations

import re
from typing import Any

from sphinx.application import Sphinx

__all__ = ["escape_bars", "setup"]

_GRID_LINE = re.compile(r"^\s*(\+[-=]|\|.*\|\s*$)")


def escape_bars(app: Sphinx, what: str, name: str, obj: Any, options: Any, lines: list[str]) -> None:
    """Escape the vertical bars of a docstring, in place (``autodoc-process-docstring``).

    Lines of a grid table (its rules and its rows framed by bars) are left alone.

    Parameters
    ----------
    app : sphinx.application.Sphinx
        The application (unused).
    what, name, obj, options
        The object documented, as autodoc passes them (unused).
    lines : list of str
        The docstring's lines; changed in place.
    """
    for i, line in enumerate(lines):
        if "|" in line and not _GRID_LINE.match(line):
            lines[i] = re.sub(r"(?<!\\)\|", r"\\|", line)


def setup(app: Sphinx) -> None:
    """Load autodoc and escape the bars of every docstring it reads.

    Parameters
    ----------
    app : sphinx.application.Sphinx
        The application being set up.
    """
    app.setup_extension("sphinx.ext.autodoc")
    app.connect("autodoc-process-docstring", escape_bars)
