"""Alt text of figures: an image without one gets its figure's caption.

A chapter gives its figures an alt text (``mystnb: image: alt:`` in the cell's metadata);
an image inside a captioned figure that has none gets the caption's text, so no figure of
the book has an empty alt text or a file name in its place.  An image outside a figure and
without alt text is left alone (the browser tests of ``tests/rendered`` report it).
"""
from __future__ import annotations

from docutils import nodes
from sphinx.application import Sphinx

__all__ = ["caption_as_alt", "setup"]


def caption_as_alt(app: Sphinx, doctree: nodes.document, docname: str) -> None:
    """Give every image of a captioned figure without alt text the caption as alt text.

    Parameters
    ----------
    app : sphinx.application.Sphinx
        The application.
    doctree : docutils.nodes.document
        The resolved page.
    docname : str
        The page's name.
    """
    for figure in doctree.findall(nodes.figure):
        captions = [c for c in figure.children if isinstance(c, nodes.caption)]
        if not captions:
            continue
        text = " ".join(captions[0].astext().split())
        for image in figure.findall(nodes.image):
            if not image.get("alt", "").strip():
                image["alt"] = text


def setup(app: Sphinx) -> None:
    """Connect :func:`caption_as_alt` to ``doctree-resolved``.

    Parameters
    ----------
    app : sphinx.application.Sphinx
        The application being set up.
    """
    app.connect("doctree-resolved", caption_as_alt)
