"""Sphinx extension of the book: claims scorecard and errata, paper equation numbers, offline MathJax.

Registered in ``_config.yml`` (``sphinx.extra_extensions``).  It does three things.

1. **Claims.**  Every executed chapter writes its ledger (:mod:`bbdlib.book.claims`) as JSON.
   After all documents are read (and so all notebooks executed) the extension merges
   the ledgers into ``_build/claims.json`` and fills the ``{claims-scorecard}`` and
   ``{claims-errata}`` directives with tables built from them.  A ledger naming a
   chapter that is not in the book is a warning (an error under ``-W``).
2. **Equation numbers that follow the papers.**  A math block labelled
   ``bbd-eq-7`` is numbered (7), ``dld-eq-6-11`` (6.11), ``dld-eq-A-2`` (A.2); a
   suffix after ``--`` is ignored for the number (``bbd-eq-7--corrected`` -> (7)).
   Every other labelled equation is the companion's own and numbered (C1), (C2), ...
   within its page.  Requires ``math_numfig = False``.
3. **Offline MathJax.**  Copies MathJax 3 (from the PyPI package
   ``django-static-mathjax``, importable as ``mathjax``) into ``_static/mathjax`` of
   the HTML output; ``mathjax_path`` in ``_config.yml`` points there, so the book
   loads no remote script.
"""
from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

from docutils import nodes
from docutils.parsers.rst import Directive
from sphinx.application import Sphinx
from sphinx.domains.math import MathDomain
from sphinx.util import logging

from bbdlib.book.claims import PAPERS, STATUSES, claims_dir

logger = logging.getLogger(__name__)

PAPER_LABEL = re.compile(r"^(?:bbd|dld)-eq-([0-9A-Za-z]+(?:-[0-9A-Za-z]+)*?)(?:--.+)?$")


def paper_equation_number(label: str) -> str | None:
    """The printed number a label stands for, e.g. ``dld-eq-6-11`` -> ``6.11``; else None."""
    m = PAPER_LABEL.match(label)
    return m.group(1).replace("-", ".") if m else None


class PaperMathDomain(MathDomain):
    """The math domain, with equation numbers taken from the papers' labels."""

    def note_equation(self, docname: str, labelid: str, location: Any = None) -> None:
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


# --------------------------------------------------------------------------- claims
class claims_placeholder(nodes.General, nodes.Element):
    """Replaced by a table once every chapter has been executed."""


class ScorecardDirective(Directive):
    has_content = False

    def run(self):
        return [claims_placeholder(kind="scorecard")]


class ErrataDirective(Directive):
    has_content = False

    def run(self):
        return [claims_placeholder(kind="errata")]


def _load_claims(app: Sphinx) -> list[dict]:
    folder = claims_dir()
    records: list[dict] = []
    if not folder.is_dir():
        return records
    for path in sorted(folder.glob("*.json")):
        payload = json.loads(path.read_text())
        records.extend(payload["claims"])
    return records


def _collect(app: Sphinx, env) -> None:
    records = _load_claims(app)
    known = set(env.found_docs)
    for chapter in sorted({r["chapter"] for r in records} - known):
        logger.warning("claims ledger names chapter %r, which is not in the book", chapter)
    app.env.bbd_claims = records
    out = Path(app.outdir).parent / "claims.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    summary = {
        paper: {s: sum(1 for r in records if r["paper"] == paper and r["status"] == s)
                for s in STATUSES}
        for paper in PAPERS
    }
    out.write_text(json.dumps({"summary": summary, "claims": records}, indent=1,
                              ensure_ascii=False))
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


def _scorecard(app: Sphinx, fromdoc: str, records: list[dict]) -> list[nodes.Node]:
    out: list[nodes.Node] = []
    summary_rows = []
    for paper, title in PAPERS.items():
        mine = [r for r in records if r["paper"] == paper]
        summary_rows.append([f"{paper}: {title}", str(len(mine))]
                            + [str(sum(r["status"] == s for r in mine)) for s in STATUSES])
    out.append(_table(["paper", "claims", *STATUSES], summary_rows, [40, 8, 10, 10, 10]))
    for paper, title in PAPERS.items():
        mine = [r for r in records if r["paper"] == paper]
        section = nodes.rubric(text=f"Paper {paper}: {title}")
        out.append(section)
        if not mine:
            out.append(nodes.paragraph(text="No claims recorded yet."))
            continue
        rows = [[r["ref"], r["claim"], _fmt(r["expected"]), _fmt(r["measured"]),
                 _fmt(r["tolerance"]), _status(r["status"]), _link(app, fromdoc, r["chapter"])]
                for r in mine]
        out.append(_table(["ref", "claim", "expected", "measured", "tolerance", "status",
                           "chapter"], rows, [10, 40, 10, 10, 8, 10, 16]))
    return out


def _errata(app: Sphinx, fromdoc: str, records: list[dict]) -> list[nodes.Node]:
    bad = [r for r in records if r["status"] != "reproduced"]
    if not bad:
        return [nodes.paragraph(text="No claim has been recorded as corrected or not reproduced.")]
    out: list[nodes.Node] = []
    for paper, title in PAPERS.items():
        mine = [r for r in bad if r["paper"] == paper]
        if not mine:
            continue
        out.append(nodes.rubric(text=f"Paper {paper}: {title}"))
        # one entry per (chapter, ref, status, evidence); its claims are listed inside
        groups: dict[tuple, list[dict]] = {}
        for r in mine:
            groups.setdefault((r["chapter"], r["ref"], r["status"], r["evidence"]), []).append(r)
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
                    text = (f"{r['claim']}. Printed: {_fmt(r['printed'])}; corrected: "
                            f"{_fmt(r['expected'])}; measured: {_fmt(r['measured'])}.")
                else:
                    text = (f"{r['claim']}. Printed: {_fmt(r['expected'])}; measured: "
                            f"{_fmt(r['measured'])} (tolerance {_fmt(r['tolerance'])}).")
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
            records = _load_claims(app)
        if node["kind"] == "scorecard":
            node.replace_self(_scorecard(app, fromdoc, records))
        else:
            node.replace_self(_errata(app, fromdoc, records))


def _always_outdated(app: Sphinx, env, added, changed, removed) -> list[str]:
    """Pages holding a claims directive are re-written on every build."""
    return [d for d in env.found_docs
            if Path(env.doc2path(d)).suffix == ".md"
            and "{claims-" in Path(env.doc2path(d)).read_text(encoding="utf-8")]


# --------------------------------------------------------------------------- MathJax
def mathjax_source() -> Path:
    """The MathJax 3 ``es5`` folder shipped by the ``django-static-mathjax`` wheel."""
    import mathjax  # the PyPI package django-static-mathjax

    return Path(mathjax.__file__).resolve().parent / "static" / "mathjax" / "es5"


def _copy_mathjax(app: Sphinx, exception: Exception | None) -> None:
    if exception is not None or app.builder.format != "html":
        return
    src = mathjax_source()
    dst = Path(app.outdir) / "_static" / "mathjax"
    if dst.exists():
        shutil.rmtree(dst)
    # tex-svg.js needs no font files; extensions are auto-loaded from input/tex/extensions.
    shutil.copytree(src, dst, ignore=shutil.ignore_patterns("*chtml*", "mml-*", "*.map"))


CSS = """
table.bbd-claims { font-size: 0.82em; }
table.bbd-claims td, table.bbd-claims th { padding: 0.25em 0.4em; }
.bbd-status { white-space: nowrap; font-weight: 600; }
.bbd-reproduced { color: #1a7f37; }
.bbd-corrected { color: #9a6700; }
.bbd-not-reproduced { color: #cf222e; }
"""


def _write_css(app: Sphinx, exception: Exception | None) -> None:
    if exception is None and app.builder.format == "html":
        (Path(app.outdir) / "_static" / "bbd-claims.css").write_text(CSS)


_GRID_LINE = re.compile(r"^\s*(\+[-=]|\|.*\|\s*$)")


def _escape_bars(app: Sphinx, what: str, name: str, obj: Any, options: Any, lines: list[str]) -> None:
    """Docstrings write |x| for absolute values; in reST that would be a substitution."""
    for i, line in enumerate(lines):
        if "|" in line and not _GRID_LINE.match(line):
            lines[i] = re.sub(r"(?<!\\)\|", r"\\|", line)


def setup(app: Sphinx) -> dict[str, Any]:
    app.setup_extension("sphinx.ext.autodoc")
    app.connect("autodoc-process-docstring", _escape_bars)
    app.add_css_file("bbd-claims.css")
    app.connect("build-finished", _write_css)
    app.add_domain(PaperMathDomain, override=True)
    app.add_node(claims_placeholder)
    app.add_directive("claims-scorecard", ScorecardDirective)
    app.add_directive("claims-errata", ErrataDirective)
    app.connect("env-updated", _collect)
    app.connect("env-get-outdated", _always_outdated)
    app.connect("doctree-resolved", _fill)
    app.connect("build-finished", _copy_mathjax)
    return {"version": "0.1", "parallel_read_safe": False, "parallel_write_safe": True}
