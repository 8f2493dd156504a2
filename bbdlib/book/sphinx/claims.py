"""The scorecard and errata pages, built from the chapters' ledgers.

Every executed chapter writes its ledger (:mod:`bbdlib.book.claims`) as JSON.  After all
documents are read (and so all notebooks executed) the records are merged into
``_build/claims.json``, and the ``{claims-scorecard}`` and ``{claims-errata}`` directives
are filled with tables built from them.  A ledger naming a chapter that is not in the book
is a warning (an error under ``-W``).  The pages holding a directive are re-written on
every build, and the style sheet of the book's tables (``bbd-claims.css``) is written into
the output.

The scorecard gives, per paper, the counts by status and by kind of evidence, then one
collapsible group per chapter (flagged rows first) with the columns ref, status, claim,
printed, measured and a link.  The errata page has one entry per chapter, reference,
status and evidence; every entry has an id (``erratum-<chapter>-<ref>``), which the
scorecard's flagged rows link to, and links to the Errata section of its chapter.
Values are shown as numbers or formulas in Unicode (:func:`format_value`,
:func:`unicode_math`): an array a ledger stores as its shape is shown with its largest
deviation, never as a placeholder.
"""
from __future__ import annotations

import html
import json
import math
import re
import unicodedata
from dataclasses import asdict
from pathlib import Path
from typing import Any

from docutils import nodes
from docutils.parsers.rst import Directive
from sphinx.application import Sphinx
from sphinx.util import logging

from bbdlib.book.claims import KINDS, PAPERS, STATUSES, Claim, claims_dir, load_records, status_counts

__all__ = ["CSS", "ErrataDirective", "ScorecardDirective", "claims_placeholder", "erratum_groups",
           "format_value", "measured_text", "printed_text", "setup", "unicode_math"]

logger = logging.getLogger(__name__)

# The style of the claims tables (bbd-claims), the status labels (bbd-<status>), the
# chapter groups, and of every table in a chapter's output (within the content column).
CSS = """
table.bbd-claims { font-size: 0.82em; width: 100%; table-layout: fixed; }
table.bbd-claims td, table.bbd-claims th { padding: 0.25em 0.4em; overflow-wrap: anywhere;
  vertical-align: top; }
table.bbd-claims td p, table.bbd-claims th p { margin: 0; }
.bbd-status { white-space: nowrap; font-weight: 600; }
.bbd-kind { display: block; font-weight: 400; font-size: 0.85em; opacity: 0.8; }
.bbd-reproduced { color: #1a7f37; }
.bbd-corrected { color: #9a6700; }
.bbd-not-reproduced { color: #cf222e; }
details.bbd-group { margin: 0.3em 0; border-left: 3px solid #d0d7de; padding-left: 0.6em; }
details.bbd-group > summary { cursor: pointer; padding: 0.2em 0; }
details.bbd-group > summary .bbd-flags { font-weight: 600; color: #9a6700; }
table.bbd-counts { font-size: 0.85em; width: auto; }
li.bbd-erratum { margin-bottom: 0.8em; }
li.bbd-erratum:target { background: #fff8c5; }
.cell_output table { max-width: 100%; font-size: 0.85em; display: block; overflow-x: auto; }
.cell_output table td, .cell_output table th { padding: 0.2em 0.45em; }
.cell_output table td:nth-child(-n+2) { white-space: nowrap; }
/* a long formula printed by a code cell (sympy output) scrolls inside the output, it never
   overflows the column; displayed equations of the prose are broken to fit instead */
.cell_output div.math { overflow-x: auto; overflow-y: hidden; }
p.bbd-build-stamp { font-size: 0.85em; color: #57606a; border-top: 1px solid #d0d7de; padding-top: 0.5em; }
@media print { details.bbd-group { border: 0; } }
/* narrow screens: each record of the scorecard becomes a block, every value labelled */
@media (max-width: 700px) {
  table.bbd-claims:not(.bbd-counts) colgroup, table.bbd-claims:not(.bbd-counts) thead { display: none; }
  table.bbd-claims:not(.bbd-counts), table.bbd-claims:not(.bbd-counts) tbody,
  table.bbd-claims:not(.bbd-counts) tr, table.bbd-claims:not(.bbd-counts) td {
    display: block; width: 100% !important; }
  table.bbd-claims:not(.bbd-counts) tr { border-bottom: 1px solid #d0d7de; padding: 0.3em 0; }
  table.bbd-claims:not(.bbd-counts) td { border: 0; padding: 0.05em 0.3em; }
  table.bbd-claims td.bbd-col-ref { font-weight: 600; }
  table.bbd-claims td.bbd-col-printed::before { content: "printed: "; font-weight: 600; }
  table.bbd-claims td.bbd-col-measured::before { content: "measured: "; font-weight: 600; }
  .bbd-kind { display: inline; margin-left: 0.5em; }
}
"""

_SUP = dict(zip("0123456789+-−=()nijklmtxyabcdefghoprsuvwzTNγβδφ·.,",
                "⁰¹²³⁴⁵⁶⁷⁸⁹⁺⁻⁻⁼⁽⁾ⁿⁱʲᵏˡᵐᵗˣʸᵃᵇᶜᵈᵉᶠᵍʰᵒᵖʳˢᵘᵛʷᶻᵀᴺᵞᵝᵟᵠ˙·'"))
_SUB = dict(zip("0123456789+-−=()aehijklmnoprstuvxβγρφχ",
                "₀₁₂₃₄₅₆₇₈₉₊₋₋₌₍₎ₐₑₕᵢⱼₖₗₘₙₒₚᵣₛₜᵤᵥₓᵦᵧᵨᵩᵪ"))
_SUP.pop("."), _SUP.pop(",")
_LATEX_NAMES = {"sigma": "σ", "gamma": "γ", "eta": "η", "theta": "θ", "partial": "∂", "ell": "ℓ",
                "alpha": "α", "beta": "β", "delta": "δ", "lambda": "λ", "mu": "μ", "nu": "ν",
                "phi": "φ", "epsilon": "ε", "tau": "τ", "omega": "ω", "Delta": "Δ"}


def _script(text: str, table: dict[str, str], mark: str) -> str:
    text = text.strip()
    if text and all(c in table for c in text):
        return "".join(table[c] for c in text)
    return f"{mark}({text})" if len(text) > 1 else f"{mark}{text}"


def unicode_math(text: str) -> str:
    """Plain-text math in Unicode: super- and subscripts, products and roots.

    ``x**2`` and ``e^{γt}`` become ``x²`` and ``eᵞᵗ``, ``z^{(3)}_{1}`` becomes ``z⁽³⁾₁``,
    ``2*x`` becomes ``2·x`` and ``sqrt(`` becomes ``√(``; sympy's LaTeX-named symbols
    ``\\dot{X}``, ``\\ddot{z}`` and ``\\sigma`` become ``Ẋ``, ``z̈`` and ``σ``; a script with a
    character that has no Unicode form is kept as ``^(...)`` / ``_(...)``.

    Parameters
    ----------
    text : str
        A claim, value or evidence as a ledger stores it (sympy's ``str`` or plain text).

    Returns
    -------
    str
        The same text for a reader.
    """
    if not isinstance(text, str):
        raise TypeError(f"text must be a str, got {type(text).__name__}")
    s = text.replace("sqrt(", "√(")
    # sympy's LaTeX-named symbols: \dot{X} → Ẋ, \ddot{z} → z̈ (combining marks), \sigma → σ.
    s = re.sub(r"\\(d?dot)\{([^{}]*)\}",
               lambda m: (m.group(2) + ("\u0307" if m.group(1) == "dot" else "\u0308")) if len(m.group(2)) == 1
               else f"{'d' if m.group(1) == 'dot' else 'd²'}({m.group(2)})/dt" + ("" if m.group(1) == "dot" else "²"),
               s)
    s = re.sub(r"\\([A-Za-z]+)(?![A-Za-z])", lambda m: _LATEX_NAMES.get(m.group(1), m.group(0)), s)
    s = re.sub(r"\*\*\(([^()]*)\)", lambda m: _script(m.group(1), _SUP, "^"), s)
    s = re.sub(r"\*\*(-?[0-9A-Za-z]+)", lambda m: _script(m.group(1), _SUP, "^"), s)
    s = re.sub(r"\^\{([^{}]*)\}", lambda m: _script(m.group(1), _SUP, "^"), s)
    s = re.sub(r"\^\(([^()]*)\)", lambda m: _script(m.group(1), _SUP, "^"), s)
    s = re.sub(r"_\{([^{}]*)\}", lambda m: _script(m.group(1), _SUB, "_"), s)
    s = re.sub(r"\^(-?[0-9]+|[A-Za-zγβδφ]+(?![A-Za-z]))", lambda m: _script(m.group(1), _SUP, "^"), s)
    s = re.sub(r"(?<=[^\W_])_([0-9]+|[A-Za-zβγρφχ])(?![A-Za-z0-9])",
               lambda m: _script(m.group(1), _SUB, "_"), s)
    s = re.sub(r"(?<=[\w)\]])\s?\*\s?(?=[\w(√])", "·", s)
    return unicodedata.normalize("NFC", s)


_AGGREGATE = re.compile(r"^(array|Matrix)\(([0-9, ]*)\)$")


def _shape(value: Any) -> str | None:
    """The shape of an aggregate value (``"801"``, ``"795×2"``), None for a scalar."""
    if isinstance(value, str):
        m = _AGGREGATE.match(value)
        if m:
            dims = [d for d in m.group(2).replace(" ", "").split(",") if d]
            return "×".join(dims)
        return None
    if isinstance(value, list) and len(value) > 4:
        return str(len(value))
    return None


def _number(v: float) -> str:
    if math.isnan(v):
        return "not finite"
    if math.isinf(v):
        return "∞" if v > 0 else "−∞"
    if v == int(v) and abs(v) < 1e6:
        return str(int(v))
    if abs(v) < 1e-3 or abs(v) >= 1e5:
        return f"{v:.3g}".replace("e-0", "e-").replace("e+0", "e+")
    return f"{v:.4g}"


def format_value(value: Any) -> str:
    """A ledger value for a reader: a number, a formula, a short list, or a shape.

    Parameters
    ----------
    value
        A JSON value of a record (:class:`bbdlib.book.claims.Claim`): number, string
        (sympy's ``str``, ``"nan"``, or ``"array(801,)"`` for a large array), list or None.

    Returns
    -------
    str
        ``"—"`` for None; a number with 4 significant digits; a formula in Unicode
        (:func:`unicode_math`); up to four list items; ``"801 values"`` for a large array
        (the caller adds its largest deviation); ``"not finite"`` for NaN.
    """
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return _number(float(value)) if isinstance(value, float) else str(value)
    if isinstance(value, str):
        if value.strip().lower() in {"nan", "inf", "-inf"}:
            return _number(float(value))
        shape = _shape(value)
        if shape is not None:
            return f"{shape} values"
        return unicode_math(value)
    if isinstance(value, list):
        shape = _shape(value)
        if shape is not None:
            flat = _flat(value)
            nums = [v for v in flat if isinstance(v, (int, float)) and not isinstance(v, bool)]
            if nums and len(nums) == len(flat) and all(math.isfinite(v) for v in nums):
                return f"{len(flat)} values in [{_number(min(nums))}, {_number(max(nums))}]"
            return f"{len(flat)} entries"
        return "[" + ", ".join(format_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return ", ".join(f"{k}: {format_value(v)}" for k, v in value.items())
    return unicode_math(str(value))


def _flat(value: Any) -> list:
    if isinstance(value, list):
        return [x for v in value for x in _flat(v)]
    return [value]


def _is_aggregate(value: Any) -> bool:
    return _shape(value) is not None


def _finite(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def _parts(r: Claim) -> tuple[str, str, str]:
    """(printed, corrected, measured) of a record as text; corrected is '' unless corrected.

    An array stored as its shape is described by its size and its largest deviation from
    the measured values (of the printed form, from ``deviation_from_printed``, and of the
    expected or corrected form, from ``deviation``).
    """
    aggregate = _is_aggregate(r.measured) or _is_aggregate(r.expected)
    printed = r.printed if r.printed is not None else (None if r.status == "corrected" else r.expected)
    dev = f"max deviation {_number(float(r.deviation))}" if _finite(r.deviation) else ""
    dp = (r.extra or {}).get("deviation_from_printed")
    dev_printed = f"max deviation {_number(float(dp))}" if _finite(dp) else ""
    if not aggregate:
        corrected = format_value(r.expected) if r.status == "corrected" else ""
        return format_value(printed), corrected, format_value(r.measured)
    measured = format_value(r.measured)
    if r.status == "corrected":
        p = format_value(printed) + (f", {dev_printed}" if dev_printed else "")
        c = format_value(r.expected) + (f", {dev}" if dev else "")
        return p, c, measured
    p = format_value(printed)
    return p, "", measured + (f", {dev}" if dev else "")


def measured_text(r: Claim) -> str:
    """What a record measured: its value, or for an array its size (and largest deviation).

    Parameters
    ----------
    r : Claim
        A record.

    Returns
    -------
    str
        e.g. ``"0.9987"``, or ``"801 values, max deviation 1.04e-5"`` for an array of a
        reproduced record (for a corrected one the deviations are given with the printed
        and corrected forms, :func:`printed_text`).
    """
    return _parts(r)[2]


def printed_text(r: Claim) -> str:
    """The paper's value of a record, and for a corrected record the corrected value.

    Parameters
    ----------
    r : Claim
        A record.

    Returns
    -------
    str
        For ``reproduced`` and ``not reproduced``: the printed value; for ``corrected``:
        ``"<printed> → corrected: <corrected>"``, for arrays with the largest deviation
        of each from the measured values.
    """
    printed, corrected, _ = _parts(r)
    return f"{printed} → corrected: {corrected}" if r.status == "corrected" else printed


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def erratum_groups(records: list[Claim]) -> list[tuple[str, list[Claim]]]:
    """The entries of the errata page, with their ids.

    One entry per (chapter, ref, status, evidence) among the records of the reproduction
    (scope ``reproduction``: a study beyond the paper is not an erratum of it) that are not
    ``reproduced``, in the records' order; its id is ``erratum-<chapter>-<ref>``, with
    ``-2``, ``-3``, ... for a second entry of the same chapter and ref.

    Parameters
    ----------
    records : list of Claim
        Every record.

    Returns
    -------
    list of (str, list of Claim)
        The id of each entry and its records.
    """
    groups: dict[tuple, list[Claim]] = {}
    for r in records:
        if r.status != "reproduced" and r.scope == "reproduction":
            groups.setdefault((r.chapter, r.ref, r.status, r.evidence), []).append(r)
    out, seen = [], {}
    for (chapter, ref, _status, _evidence), rs in groups.items():
        base = "erratum-" + _slug(chapter.removeprefix("chapters/")) + "-" + _slug(ref)
        seen[base] = seen.get(base, 0) + 1
        out.append((base if seen[base] == 1 else f"{base}-{seen[base]}", rs))
    return out


class claims_placeholder(nodes.General, nodes.Element):
    """Replaced by a table once every chapter has been executed."""


class ScorecardDirective(Directive):
    """``{claims-scorecard}``: the counts per paper, then one group of records per chapter."""

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
    summary = {paper: status_counts(records, paper, "reproduction") for paper in PAPERS}
    summary["beyond"] = status_counts(records, scope="beyond")
    out.write_text(json.dumps({"summary": summary, "claims": [asdict(r) for r in records]},
                              indent=1, ensure_ascii=False))
    logger.info("bbdlib: %d claims merged into %s", len(records), out)


def _table(header: list[str], rows: list[list[nodes.Node | str]], widths: list[int],
           classes: tuple[str, ...] = ("bbd-claims",)) -> nodes.table:
    table = nodes.table(classes=[*classes, "colwidths-given"])
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
        for h, c in zip(header, cells):
            entry = nodes.entry(classes=["bbd-col-" + h.replace(" ", "-")])
            entry += c if isinstance(c, nodes.Node) else nodes.paragraph(text=c)
            row += entry
        tbody += row
    return table


def _title(app: Sphinx, chapter: str) -> str:
    title = app.env.titles.get(chapter)
    return title.astext() if title is not None else chapter


def _errata_anchor(app: Sphinx, chapter: str) -> str:
    """``#<id>`` of the chapter's section titled Errata, or '' when it has none."""
    toc = app.env.tocs.get(chapter)
    if toc is None:
        return ""
    for ref in toc.findall(nodes.reference):
        if ref.astext().strip().lower().startswith("errata") and ref.get("anchorname"):
            return ref["anchorname"]
    return ""


def _ref(text: str, uri: str) -> nodes.paragraph:
    para = nodes.paragraph()
    para += nodes.reference("", text, internal=True, refuri=uri)
    return para


def _status(r: Claim) -> nodes.paragraph:
    para = nodes.paragraph()
    para += nodes.inline(text=r.status, classes=["bbd-status", "bbd-" + r.status.replace(" ", "-")])
    para += nodes.inline(text=r.kind, classes=["bbd-kind"])
    return para


_ORDER = {"not reproduced": 0, "corrected": 1, "reproduced": 2}


def _robustness(app: Sphinx) -> dict | None:
    """``_build/robustness.json`` of ``make robustness`` (bbdlib.book.sweep), or None."""
    try:
        return json.loads((Path(app.outdir).parent / "robustness.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _hold_rates(rb: dict | None) -> dict[tuple[str, str, str], dict]:
    rates: dict[tuple[str, str, str], dict] = {}
    for c in (rb or {}).get("claims", []):
        rates.setdefault((c["chapter"], c["ref"], c["claim"]), c)
    return rates


def _hold_text(entry: dict) -> str:
    held = sum(o == "held" for o in entry["outcomes"].values())
    return f"seeds: {held}/{entry['evaluated']} held" + (
        f", {len(entry['outcomes']) - entry['evaluated']} not run" if entry["evaluated"] < len(entry["outcomes"])
        else "")


def _counts_table(mine: list[Claim]) -> nodes.table:
    rows = []
    for status in (*STATUSES, "all"):
        rs = [r for r in mine if status == "all" or r.status == status]
        rows.append([status] + [str(sum(r.kind == k for r in rs)) for k in KINDS] + [str(len(rs))])
    return _table(["status", *KINDS, "all"], rows, [16, 10, 10, 10, 8], ("bbd-counts",))


def _scorecard(app: Sphinx, fromdoc: str, records: list[Claim]) -> list[nodes.Node]:
    out: list[nodes.Node] = []
    ids = {id(r): eid for eid, rs in erratum_groups(records) for r in rs}
    errata_uri = app.builder.get_relative_uri(fromdoc, "chapters/errata") \
        if "chapters/errata" in app.env.found_docs else ""
    seeded = [r for r in records if (r.extra or {}).get("seed_dependent")]
    rb = _robustness(app)
    rates = _hold_rates(rb)
    def groups(mine: list[Claim]) -> None:
        for chapter in dict.fromkeys(r.chapter for r in mine):
            rs = sorted((r for r in mine if r.chapter == chapter), key=lambda r: _ORDER[r.status])
            c = status_counts(rs)
            flags = c["corrected"] + c["not reproduced"]
            uri = app.builder.get_relative_uri(fromdoc, chapter)
            counts = ", ".join(f"{v} {k}" for k, v in c.items() if v)
            summary = (f'<details class="bbd-group" id="scorecard-{_slug(chapter.removeprefix("chapters/"))}">'
                       f'<summary><a href="{html.escape(uri)}">{html.escape(_title(app, chapter))}</a>'
                       f' — {len(rs)} claims: {html.escape(counts)}'
                       + (f' <span class="bbd-flags">({flags} flagged)</span>' if flags else "")
                       + "</summary>")
            out.append(nodes.raw("", summary, format="html"))
            rows = []
            for r in rs:
                if r.status != "reproduced" and errata_uri and id(r) in ids:
                    link = _ref("erratum", f"{errata_uri}#{ids[id(r)]}")
                else:
                    link = _ref("chapter", uri)
                status = _status(r)
                entry = rates.get((r.chapter, r.ref, r.claim)) if r.kind == "measured" else None
                if entry is not None:
                    status += nodes.inline(text=_hold_text(entry), classes=["bbd-kind", "bbd-seeds"])
                rows.append([unicode_math(r.ref), status, unicode_math(r.claim), printed_text(r),
                             measured_text(r), link])
            out.append(_table(["ref", "status", "claim", "printed", "measured", "link"], rows,
                              [11, 13, 36, 17, 16, 7]))
            out.append(nodes.raw("", "</details>", format="html"))

    for paper, title in PAPERS.items():
        mine = [r for r in records if r.paper == paper and r.scope == "reproduction"]
        out.append(nodes.rubric(text=f"Paper {paper}: {title}"))
        if not mine:
            out.append(nodes.paragraph(text="No claims recorded yet."))
            continue
        n = status_counts(mine)
        out.append(nodes.paragraph(text=(
            f"{len(mine)} claims in {len({r.chapter for r in mine})} chapters: "
            + ", ".join(f"{v} {k}" for k, v in n.items())
            + ". By kind of evidence: a measured value (from data or a simulation), an exact "
              "identity (symbolic or algebraic), or a convention the book chose.")))
        out.append(_counts_table(mine))
        groups(mine)
    beyond = [r for r in records if r.scope == "beyond"]
    out.append(nodes.rubric(text="Beyond the paper"))
    if not beyond:
        out.append(nodes.paragraph(text="No claim has been tested beyond the papers' own settings yet."))
    else:
        n = status_counts(beyond)
        out.append(nodes.paragraph(text=(
            f"{len(beyond)} records in {len({r.chapter for r in beyond})} chapters test a claim of a paper "
            "outside the setting the paper tested it in (mini-batches, real data, other data laws). They "
            "are not counted with the reproduction above and are never errata: reproduced here means "
            "that the paper's claim survives in the new setting, not reproduced that it does not. "
            + ", ".join(f"{v} {k}" for k, v in n.items()) + ".")))
        out.append(_counts_table(beyond))
        groups(beyond)
    out.append(nodes.rubric(text="Seed-dependent claims"))
    if rb is None:
        out.append(nodes.paragraph(text=(
            "Seed hold rates are shown after make robustness (every chapter with a seed parameter "
            "over seeds 0–4); it has not run for this build.")))
    else:
        dep = [c for c in rb.get("claims", []) if c.get("seed_dependent")]
        out.append(nodes.paragraph(text=(
            f"make robustness ran {len(rb.get('seeded', []))} chapters with a seed parameter over seeds "
            f"{', '.join(map(str, rb.get('seeds', [])))} (other parameters at their defaults; "
            f"{len(rb.get('deterministic', []))} chapters are deterministic); each measured claim above "
            f"shows at how many seeds it held. {len(dep)} claims change their outcome with the seed"
            + (":" if dep else "."))))
        if dep:
            items = nodes.bullet_list()
            for c in dep:
                li = nodes.list_item()
                outcomes = ", ".join(f"seed {s}: {o}" for s, o in c["outcomes"].items())
                rate = "—" if c.get("hold_rate") is None else f"{c['hold_rate']:.0%}"
                li += nodes.paragraph(text=f"{unicode_math(c['ref'])} ({_title(app, c['chapter'])}): "
                                           f"{unicode_math(c['claim'])}: holds at {rate} ({outcomes})")
                items += li
            out.append(items)
    out.append(nodes.rubric(text="Verdicts that depend on the seed"))
    if seeded:
        items = nodes.bullet_list()
        for r in seeded:
            li = nodes.list_item()
            li += nodes.paragraph(text=f"{unicode_math(r.ref)} ({_title(app, r.chapter)}): "
                                       f"{unicode_math(r.claim)}: {format_value(r.extra['seed_dependent'])}")
            items += li
        out.append(items)
    else:
        out.append(nodes.paragraph(text=(
            "No record says that its verdict depends on the seed: the ledgers record one seed per "
            "claim (a chapter marks a seed-dependent verdict with seed_dependent in the record).")))
    return out


def _errata(app: Sphinx, fromdoc: str, records: list[Claim]) -> list[nodes.Node]:
    groups = erratum_groups(records)
    if not groups:
        return [nodes.paragraph(text="No claim has been recorded as corrected or not reproduced.")]
    flagged = [r for _, rs in groups for r in rs]
    c = status_counts(flagged)
    out: list[nodes.Node] = [nodes.paragraph(text=(
        f"{len(groups)} entries stand for {len(flagged)} flagged claims ({c['corrected']} corrected, "
        f"{c['not reproduced']} not reproduced). An entry gathers the claims of one chapter that share "
        "a reference (equation, figure or table), a status and the same evidence, so one erratum "
        "of an equation checked on several claims is one entry. Each entry has a link of its own "
        "(its reference) and links to the Errata section of its chapter."))]
    for paper, title in PAPERS.items():
        mine = [(eid, rs) for eid, rs in groups if rs[0].paper == paper]
        if not mine:
            continue
        n = sum(len(rs) for _, rs in mine)
        out.append(nodes.rubric(text=f"Paper {paper}: {title} ({len(mine)} entries, {n} claims)"))
        items = nodes.bullet_list()
        for eid, rs in mine:
            r0 = rs[0]
            item = nodes.list_item(ids=[eid], classes=["bbd-erratum"])
            head = nodes.paragraph()
            head += nodes.reference("", "", nodes.strong(text=unicode_math(r0.ref)), internal=True,
                                    refuri="#" + eid)
            head += nodes.Text(" · ")
            head += nodes.inline(text=r0.status, classes=["bbd-status", "bbd-" + r0.status.replace(" ", "-")])
            head += nodes.Text(f" · {r0.kind} · ")
            uri = app.builder.get_relative_uri(fromdoc, r0.chapter)
            anchor = _errata_anchor(app, r0.chapter)
            head += nodes.reference("", _title(app, r0.chapter) + (" › Errata" if anchor else ""),
                                    internal=True, refuri=uri + anchor)
            item += head
            claims = nodes.bullet_list()
            for r in rs:
                li = nodes.list_item()
                printed, corrected, measured = _parts(r)
                if r.status == "corrected":
                    text = (f"{unicode_math(r.claim)}. Printed: {printed}; corrected: {corrected}; "
                            f"measured: {measured}.")
                else:
                    text = (f"{unicode_math(r.claim)}. Printed: {printed}; measured: {measured} "
                            f"(tolerance {format_value(r.tolerance)}).")
                li += nodes.paragraph(text=text)
                claims += li
            item += claims
            item += nodes.paragraph(text="Evidence: " + unicode_math(r0.evidence))
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
