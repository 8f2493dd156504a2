"""Bibliography labels that match the author–year citations of the text.

The chapters cite with ``bibtex_reference_style: author_year`` ("Lee et al. [2025]"); with
pybtex's ``plain`` style the bibliography would label the same entries [1], [2], ....  This
module registers a pybtex label style ``bbd-author-year`` (``Lee et al. 2025``, ``Bender and
Orszag 1999``) and a formatting style ``bbd-author-year`` (pybtex's ``plain`` with those
labels, entries sorted by author and year), selected by ``bibtex_default_style`` in
``_config.yml``.
"""
from __future__ import annotations

from pybtex.plugin import register_plugin
from pybtex.style.formatting.plain import Style as PlainStyle
from pybtex.style.labels import BaseLabelStyle
from sphinx.application import Sphinx

__all__ = ["AuthorYearLabels", "AuthorYearStyle", "author_year_label", "setup"]


def _last(person) -> str:
    from pybtex.richtext import Text

    return Text(*person.rich_last_names).render_as("text")


def author_year_label(entry) -> str:
    """The label of an entry: ``Lee et al. 2025``, ``Bender and Orszag 1999``, ``Olver et al. 2010``.

    Parameters
    ----------
    entry : pybtex.database.Entry
        A bibliography entry (its authors, else its editors, and its year).

    Returns
    -------
    str
        The label.
    """
    people = entry.persons.get("author") or entry.persons.get("editor") or []
    year = entry.fields.get("year", "n.d.")
    if not people:
        return f"{entry.key} {year}"
    if len(people) == 1:
        names = _last(people[0])
    elif len(people) == 2:
        names = f"{_last(people[0])} and {_last(people[1])}"
    else:
        names = f"{_last(people[0])} et al."
    return f"{names} {year}"


class AuthorYearLabels(BaseLabelStyle):
    """pybtex label style ``bbd-author-year``: :func:`author_year_label`, made unique with a, b, ..."""

    def format_labels(self, sorted_entries):
        """Yield one label per entry, in order.

        Parameters
        ----------
        sorted_entries : iterable of pybtex.database.Entry
            The entries as the bibliography lists them.

        Yields
        ------
        str
            The entry's label.
        """
        entries = list(sorted_entries)
        labels = [author_year_label(e) for e in entries]
        for i, label in enumerate(labels):
            if labels.count(label) > 1:
                label += "abcdefghijklmnopqrstuvwxyz"[labels[:i].count(label)]
            yield label


class AuthorYearStyle(PlainStyle):
    """pybtex formatting style ``bbd-author-year``: ``plain`` with author–year labels."""

    default_label_style = "bbd-author-year"
    default_sorting_style = "author_year_title"


register_plugin("pybtex.style.labels", "bbd-author-year", AuthorYearLabels)
register_plugin("pybtex.style.formatting", "bbd-author-year", AuthorYearStyle)


def setup(app: Sphinx) -> None:
    """Nothing to register with Sphinx: the pybtex plugins are registered on import.

    Parameters
    ----------
    app : sphinx.application.Sphinx
        The application being set up.
    """
