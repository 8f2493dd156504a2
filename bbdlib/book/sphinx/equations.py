"""Equation numbers that follow the papers.

A math block labelled ``bbd-eq-7`` is numbered (7), ``dld-eq-6-11`` (6.11), ``dld-eq-A-2``
(A.2); a suffix after ``--`` is ignored for the number (``bbd-eq-7--sampler`` -> (7)),
except ``--corrected``, which marks the corrected form of a printed equation and is numbered
with a prime (``bbd-eq-15--corrected`` -> (15′)), so that the printed and the corrected form
never carry the same number on a page.
Every other labelled equation is the companion's own and numbered (C1), (C2), ... within
its page.  Requires ``math_numfig = False`` in ``_config.yml``.
"""
from __future__ import annotations

import re
from typing import Any

from sphinx.application import Sphinx
from sphinx.domains.math import MathDomain
from sphinx.util import logging

__all__ = ["PAPER_LABEL", "PaperMathDomain", "paper_equation_number", "setup"]

logger = logging.getLogger(__name__)

#: A label of a paper's equation: ``bbd-eq-<number>`` (paper A) or ``dld-eq-<number>``
#: (paper B), the number's dots written as dashes, optionally followed by ``--<suffix>``.
PAPER_LABEL = re.compile(r"^(?:bbd|dld)-eq-([0-9A-Za-z]+(?:-[0-9A-Za-z]+)*?)(?:--(.+))?$")


def paper_equation_number(label: str) -> str | None:
    """The number a paper prints for the equation a label stands for.

    Parameters
    ----------
    label : str
        An equation label, e.g. ``"dld-eq-6-11"`` or ``"bbd-eq-7--corrected"``.

    Returns
    -------
    str or None
        The printed number (``"6.11"``, ``"7"``; ``"7′"`` for the corrected form,
        suffix ``--corrected``), or None for a label that is not a paper's (the
        companion's own equations).
    """
    m = PAPER_LABEL.match(label)
    if not m:
        return None
    number = m.group(1).replace("-", ".")
    return number + "′" if (m.group(2) or "").startswith("corrected") else number


class PaperMathDomain(MathDomain):
    """The math domain, with equation numbers taken from the papers' labels."""

    def note_equation(self, docname: str, labelid: str, location: Any = None) -> None:
        """Number the equation ``labelid`` of page ``docname``.

        Parameters
        ----------
        docname : str
            The page defining the equation.
        labelid : str
            Its label: a paper's label gets the paper's number, any other the next of
            the page's own numbers C1, C2, ...
        location : optional
            Where the label is defined, for the duplicate-label warning.
        """
        if labelid in self.equations:
            other = self.equations[labelid][0]
            logger.warning("duplicate label of equation %s, other instance in %s",
                           labelid, other, location=location)
        number = paper_equation_number(labelid)
        if number is None:
            own = sum(1 for d, n in self.equations.values()
                      if d == docname and str(n).startswith("C"))
            number = f"C{own + 1}"
        self.equations[labelid] = (docname, number)


def setup(app: Sphinx) -> None:
    """Replace Sphinx's math domain by :class:`PaperMathDomain`.

    Parameters
    ----------
    app : sphinx.application.Sphinx
        The application being set up.
    """
    app.add_domain(PaperMathDomain, override=True)
