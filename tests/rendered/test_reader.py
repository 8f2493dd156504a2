"""The built book as a reader meets it, in headless Chromium at 1400 px (issue 11).

- no paragraph of any page is a Markdown pipe table (a table that did not render);
- no display equation of the prose is wider than its column (with its number);
- every figure has an alt text, and no figure is shown smaller than its natural size
  (its 9 pt fonts would shrink with it);
- the scorecard's status column is visible without horizontal scrolling, and the page is
  under 15,000 px tall with its chapter groups collapsed;
- the scorecard and the errata show numbers, never ``array(...)``/``Matrix(...)`` or ``nan``.

Each check is also run on a small synthetic page built to break it, and must fail there.
Run after ``make book`` (``make booktest``); without Chromium the tests skip (fail under
``BBD_REQUIRE_BROWSER=1``).
"""
import html as html_lib
import os
import re
from pathlib import Path

import pytest

from tests.rendered.browser import PROBES, probe, require_chromium

ROOT = Path(__file__).resolve().parents[2]
# another build to test (e.g. a scratch build of a few chapters): BBD_BOOK_HTML=<its _build/html>
HTML = Path(os.environ.get("BBD_BOOK_HTML", ROOT / "_build" / "html"))
SCORECARD_BUDGET_PX = 15_000
WIDTH = 1400


def _built():
    if not (HTML / "chapters" / "scorecard.html").is_file():
        pytest.fail(f"{HTML} has no built book: run `make book` first")


def _pages():
    return sorted((HTML / "chapters").rglob("*.html"))


@pytest.fixture(scope="module")
def reader_probes(tmp_path_factory):
    """The reader probe of every page of the book (one Chromium load per page)."""
    _built()
    require_chromium()
    tmp = tmp_path_factory.mktemp("reader")
    return {p.relative_to(HTML).as_posix(): probe(p, PROBES["reader"], tmp, width=WIDTH) for p in _pages()}


def _offenders(probes, key):
    return {page: r[key] for page, r in probes.items() if r[key]}


# -- synthetic pages that break each check ------------------------------------------------

def _page(tmp_path: Path, name: str, body: str, head: str = "") -> Path:
    path = tmp_path / name
    path.write_text(f"<!doctype html><html><head><meta charset='utf-8'>{head}</head>"
                    f"<body><main><article style='width:784px'>{body}</article></main></body></html>",
                    encoding="utf-8")
    return path


def _png(path: Path) -> None:
    from PIL import Image

    Image.new("RGB", (20, 10), "white").save(path)


def _mathjax_head() -> str:
    src = HTML / "_static" / "mathjax" / "tex-svg.js"
    if not src.is_file():
        pytest.fail(f"{src} is missing: run `make book` first")
    return f"<script src='{src.as_uri()}'></script>"


def test_pipe_table_check_fails_on_an_unrendered_table(tmp_path):
    require_chromium()
    bad = _page(tmp_path, "pipe.html", "<p>| a | b |\n|---|---|\n| 1 | 2 |</p><table><tr><td>ok</td></tr></table>")
    assert probe(bad, PROBES["pipe_paragraphs"], tmp_path), "the check misses a pipe-table paragraph"


def test_wide_equation_check_fails_on_a_long_display(tmp_path):
    require_chromium()
    long = "+".join(f"\\frac{{x_{{{i}}}}}{{y_{{{i}}}}}" for i in range(60))
    bad = _page(tmp_path, "wide.html",
                f"<div class='math' id='equation-wide'><span class='eqno'>(1)</span>\\[{long}\\]</div>"
                "<div class='math' id='equation-short'>\\[a+b\\]</div>", _mathjax_head())
    found = probe(bad, PROBES["wide_equations"], tmp_path)
    assert [x[0] for x in found] == ["equation-wide"], found


def test_alt_text_check_fails_on_a_hash_or_missing_alt(tmp_path):
    require_chromium()
    _png(tmp_path / "f.png")
    bad = _page(tmp_path, "alt.html", "<img src='f.png'><img src='f.png' alt='0123456789abcdef0123456789abcdef'>"
                                      "<img src='f.png' alt='A plot of the loss against time.'>")
    assert len(probe(bad, PROBES["images_without_alt"], tmp_path)) == 2


def test_scaled_image_check_fails_on_a_shrunk_figure(tmp_path):
    require_chromium()
    _png(tmp_path / "f.png")
    bad = _page(tmp_path, "scaled.html", "<img src='f.png' alt='x' style='width: 1300px; max-width: 100%'>")
    assert probe(bad, PROBES["scaled_images"], tmp_path)


def test_scorecard_check_fails_on_a_table_wider_than_the_column(tmp_path):
    require_chromium()
    cells = "".join(f"<td style='white-space:nowrap'>{'long value ' * 6}</td>" for _ in range(6))
    bad = _page(tmp_path, "score.html",
                "<div style='overflow-x:auto'><table class='bbd-claims'><thead><tr>"
                + "".join(f"<th>{h}</th>" for h in ["ref", "claim", "expected", "measured", "tolerance",
                                                    "chapter", "status"])
                + f"</tr></thead><tbody><tr>{cells}<td>reproduced</td></tr></tbody></table></div>")
    layout = probe(bad, PROBES["scorecard_layout"], tmp_path, width=WIDTH)
    assert _scorecard_problems(layout), layout


def test_placeholder_check_fails_on_array_and_nan():
    assert _placeholders("<td>array(801,)</td><td>nan</td><td>Matrix(3, 3)</td>") == ["array(", "Matrix(", "nan"]
    assert _placeholders("<td>801 values, max deviation 1e-5</td><td>nano</td>") == []


# -- the built book ----------------------------------------------------------------------

def test_no_paragraph_is_a_pipe_table(reader_probes):
    bad = _offenders(reader_probes, "pipe_paragraphs")
    assert not bad, f"Markdown tables rendered as text: {bad}"


def test_no_display_equation_is_wider_than_its_column(reader_probes):
    bad = _offenders(reader_probes, "wide_equations")
    assert not bad, f"[label, width, number width, column width] at {WIDTH} px: {bad}"


def test_every_figure_has_alt_text(reader_probes):
    bad = _offenders(reader_probes, "images_without_alt")
    assert not bad, f"images without a meaningful alt text: {bad}"


def test_no_figure_is_scaled_down(reader_probes):
    bad = _offenders(reader_probes, "scaled_images")
    assert not bad, f"[src, natural width, shown width] at {WIDTH} px: {bad}"


def _scorecard_problems(layout) -> list[str]:
    problems = []
    if not layout["status"]:
        problems.append("no status column found")
    for col in layout["status"]:
        if col["right"] > layout["vw"] or col["table_scroll"] > 0 or col["parent_scroll"] > 0:
            problems.append(f"status column not visible without scrolling: {col}")
    return problems


def test_scorecard_status_is_visible_and_page_within_budget(tmp_path):
    _built()
    layout = probe(HTML / "chapters" / "scorecard.html", PROBES["scorecard_layout"], tmp_path, width=WIDTH)
    assert not _scorecard_problems(layout), _scorecard_problems(layout)[:5]
    assert layout["collapsed_height"] < SCORECARD_BUDGET_PX, layout["collapsed_height"]


def _placeholders(page_html: str) -> list[str]:
    text = re.sub(r"<(script|style)\b.*?</\1>", "", page_html, flags=re.S)
    text = html_lib.unescape(re.sub(r"<[^>]+>", " ", text))
    found = [p for p in ("array(", "Matrix(") if p in text]
    if re.search(r"\bnan\b", text, re.I):
        found.append("nan")
    return found


@pytest.mark.parametrize("page", ["scorecard", "errata"])
def test_scorecard_and_errata_have_no_placeholders(page):
    _built()
    found = _placeholders((HTML / "chapters" / f"{page}.html").read_text(encoding="utf-8"))
    assert not found, f"{page}: placeholders {found}"


def _broken_anchors(links: list[tuple[str, str]], base: Path) -> list[str]:
    """(page, anchor) pairs whose anchor is not an id of the page."""
    broken = []
    for href, anchor in links:
        target = (base / href).resolve()
        ids = set(re.findall(r'\bid="([^"]+)"', target.read_text(encoding="utf-8"))) if target.is_file() else set()
        if anchor not in ids:
            broken.append(f"{href}#{anchor}")
    return broken


def test_anchor_check_fails_on_a_missing_id(tmp_path):
    (tmp_path / "a.html").write_text('<p id="here">x</p>')
    assert _broken_anchors([("a.html", "here"), ("a.html", "gone"), ("b.html", "x")], tmp_path) == \
        ["a.html#gone", "b.html#x"]


def test_errata_entries_are_linkable_and_link_to_the_chapters_errata():
    _built()
    chapters = HTML / "chapters"
    scorecard = (chapters / "scorecard.html").read_text(encoding="utf-8")
    errata = (chapters / "errata.html").read_text(encoding="utf-8")
    to_errata = re.findall(r'href="(errata\.html)#(erratum-[^"]+)"', scorecard)
    assert to_errata, "no scorecard row links to an erratum"
    assert not _broken_anchors(to_errata, chapters)
    entries = re.findall(r'<li class="bbd-erratum" id="(erratum-[^"]+)"', errata)
    assert entries and len(entries) == len(set(entries)), "errata entries need unique ids"
    to_chapters = re.findall(r'href="((?:bulk-boundary|duality)/[^"#]+\.html)#([^"]+)"', errata)
    assert to_chapters and not _broken_anchors(to_chapters, chapters)
