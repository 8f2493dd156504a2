"""The scorecard and errata pages, built from the chapters' ledgers.

Every executed chapter writes its ledger (:mod:`bbdlib.book.claims`) as JSON.  After all
documents are read (and so all notebooks executed) the records are merged into
``_build/claims.json``, and the ``{claims-scorecard}`` and ``{claims-errata}`` directives
are filled with tables built from them.  A ledger naming a chapter that is not in the book
is a warning (an error under ``-W``).  The pages holding a directive are re-written on
every build, and the tables' style sheet (``bbd-claims.css``) is written into the output.
"""
from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

from docutils import nodes
from docutils.parsers.rst import Directive
from sphinx.application import Sphinx
from sphinx.util import logging

from bbdlib.book.claims import PAPERS, STATUSES, Claim, claims_dir, load_records, status_counts

__all__ = ["CSS", "ErrataDirective", "ScorecardDirective", "claims_placeholder", "setup"]

logger = logging.getLogger(__name__)

# The style of the tables (bbd-claims) and of the status labels (bbd-<status>).
CSS = """
table.bbd-claims { font-size: 0.82em; }
table.bbd-claims td, table.bbd-claims th { padding: 0.25em 0.4em; }
.bbd-status { white-space: nowrap; font-weight: 600; }
.bbd-reproduced { color: #1a7f37; }
.bbd-corrected { color: #9a6700; }
.bbd-not-reproduced { color: #cf222e; }
"""


class claims_placeholder(nodes.General, nodes.Element):
    """Replaced by a table once every chapter has been executed."""


class ScorecardDirective(Directive):
    """``{claims-scorecard}``: every record, per paper, with the counts by status."""

    has_content = False

    def run(self):
        """A placeholder, filled when the page is resolved.

        Returns
        -------
        list of claims_placeholder
        """
        return [claims_placeholder(kind="scorecard")]


class ErrataDirective(Directive):
    """``{claims-errata}``: every corrected or not reproduced record, grouped by evidence."""

    has_content = False

    def run(self):
        """A placeholder, filled when the page is resolved.

        Returns
        -------
        list of claims_placeholder
        """
        return [claims_placeholder(kind="errata")]


def _collect(app: Sphinx, env) -> None:
    records = load_records(claims_dir())
    known = set(env.found_docs)
    for chapter in sorted({r.chapter for r in records} - known):
        logger.warning("claims ledger names chapter %r, which is not in the book", chapter)
    app.env.bbd_claims = records
    out = Path(app.outdir).parent / "claims.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    summary = {paper: status_counts(records, paper) for paper in PAPERS}
    out.write_text(json.dumps({"summary": summary, "claims": [asdict(r) for r in records]},
                              indent=1, ensure_ascii=False))
    logger.info("bbdlib: %d claims merged into %s", len(records), out)


def _fmt(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, list):
        inner = ", ".join(_fmt(v) for v in value[:6])
        return f"[{inner}{', …' if len(value) > 6 else ''}]"
    return str(value)


def _table(header: list[str], rows: list[list[nodes.Node | str]], widths: list[int]) -> nodes.table:
    table = nodes.table(classes=["bbd-claims"])
    tgroup = nodes.tgroup(cols=len(header))
    table += tgroup
    for w in widths:
        tgroup += nodes.colspec(colwidth=w)
    thead = nodes.thead()
    tgroup += thead
    row = nodes.row()
    for h in header:
        row += nodes.entry("", nodes.paragraph(text=h))
    thead += row
    tbody = nodes.tbody()
    tgroup += tbody
    for cells in rows:
        row = nodes.row()
        for c in cells:
            entry = nodes.entry()
            entry += c if isinstance(c, nodes.Node) else nodes.paragraph(text=c)
            row += entry
        tbody += row
    return table


def _link(app: Sphinx, fromdoc: str, chapter: str) -> nodes.paragraph:
    title = app.env.titles.get(chapter)
    text = title.astext() if title is not None else chapter
    uri = app.builder.get_relative_uri(fromdoc, chapter)
    para = nodes.paragraph()
    para += nodes.reference("", text, internal=True, refuri=uri)
    return para


def _status(status: str) -> nodes.paragraph:
    para = nodes.paragraph()
    para += nodes.inline(text=status, classes=["bbd-status", "bbd-" + status.replace(" ", "-")])
    return para


def _scorecard(app: Sphinx, fromdoc: str, records: list[Claim]) -> list[nodes.Node]:
    out: list[nodes.Node] = []
    summary_rows = []
    for paper, title in PAPERS.items():
        mine = [r for r in records if r.paper == paper]
        summary_rows.append([f"{paper}: {title}", str(len(mine))]
                            + [str(n) for n in status_counts(mine).values()])
    out.append(_table(["paper", "claims", *STATUSES], summary_rows, [40, 8, 10, 10, 10]))
    for paper, title in PAPERS.items():
        mine = [r for r in records if r.paper == paper]
        section = nodes.rubric(text=f"Paper {paper}: {title}")
        out.append(section)
        if not mine:
            out.append(nodes.paragraph(text="No claims recorded yet."))
            continue
        rows = [[r.ref, r.claim, _fmt(r.expected), _fmt(r.measured),
                 _fmt(r.tolerance), _status(r.status), _link(app, fromdoc, r.chapter)]
                for r in mine]
        out.append(_table(["ref", "claim", "expected", "measured", "tolerance", "status",
                           "chapter"], rows, [10, 40, 10, 10, 8, 10, 16]))
    return out


def _errata(app: Sphinx, fromdoc: str, records: list[Claim]) -> list[nodes.Node]:
    bad = [r for r in records if r.status != "reproduced"]
    if not bad:
        return [nodes.paragraph(text="No claim has been recorded as corrected or not reproduced.")]
    out: list[nodes.Node] = []
    for paper, title in PAPERS.items():
        mine = [r for r in bad if r.paper == paper]
        if not mine:
            continue
        out.append(nodes.rubric(text=f"Paper {paper}: {title}"))
        # one entry per (chapter, ref, status, evidence); its claims are listed inside
        groups: dict[tuple, list[Claim]] = {}
        for r in mine:
            groups.setdefault((r.chapter, r.ref, r.status, r.evidence), []).append(r)
        items = nodes.bullet_list()
        for (chapter, ref, status, evidence), rs in groups.items():
            item = nodes.list_item()
            head = nodes.paragraph()
            head += nodes.strong(text=f"{ref} ({status}). ")
            title_node = app.env.titles.get(chapter)
            head += nodes.Text("In ")
            head += nodes.reference("", title_node.astext() if title_node else chapter,
                                    internal=True,
                                    refuri=app.builder.get_relative_uri(fromdoc, chapter))
            head += nodes.Text(".")
            item += head
            claims = nodes.bullet_list()
            for r in rs:
                li = nodes.list_item()
                if status == "corrected":
                    text = (f"{r.claim}. Printed: {_fmt(r.printed)}; corrected: "
                            f"{_fmt(r.expected)}; measured: {_fmt(r.measured)}.")
                else:
                    text = (f"{r.claim}. Printed: {_fmt(r.expected)}; measured: "
                            f"{_fmt(r.measured)} (tolerance {_fmt(r.tolerance)}).")
                li += nodes.paragraph(text=text)
                claims += li
            item += claims
            item += nodes.paragraph(text="Evidence: " + evidence)
            items += item
        out.append(items)
    return out


def _fill(app: Sphinx, doctree: nodes.document, fromdoc: str) -> None:
    records = getattr(app.env, "bbd_claims", None)
    for node in list(doctree.findall(claims_placeholder)):
        if records is None:
            records = load_records(claims_dir())
        if node["kind"] == "scorecard":
            node.replace_self(_scorecard(app, fromdoc, records))
        else:
            node.replace_self(_errata(app, fromdoc, records))


def _always_outdated(app: Sphinx, env, added, changed, removed) -> list[str]:
    """Pages holding a claims directive are re-written on every build."""
    return [d for d in env.found_docs
            if Path(env.doc2path(d)).suffix == ".md"
            and "{claims-" in Path(env.doc2path(d)).read_text(encoding="utf-8")]


def _write_css(app: Sphinx, exception: Exception | None) -> None:
    if exception is None and app.builder.format == "html":
        (Path(app.outdir) / "_static" / "bbd-claims.css").write_text(CSS)


def setup(app: Sphinx) -> None:
    """Register the directives, the style sheet and the events that merge the ledgers.

    Parameters
    ----------
    app : sphinx.application.Sphinx
        The application being set up.
    """
    app.add_css_file("bbd-claims.css")
    app.connect("build-finished", _write_css)
    app.add_node(claims_placeholder)
    app.add_directive("claims-scorecard", ScorecardDirective)
    app.add_directive("claims-errata", ErrataDirective)
    app.connect("env-updated", _collect)
    app.connect("env-get-outdated", _always_outdated)
    app.connect("doctree-resolved", _fill)
