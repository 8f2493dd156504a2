"""make pdf: the pages are taken in reading order and their addresses made absolute."""
import pytest

from bbdlib.book.sphinx import pdf

PAGE = """<html><head><link rel="stylesheet" href="../_static/s.css?v=1"><script src="../_static/m.js"></script></head>
<body><article class="bd-article"><h1>{title}</h1><img src="../_images/f.png" alt="a figure">
<a href="https://example.org">out</a><a href="#here">here</a>
<details class="bbd-group"><summary>group</summary>rows</details></article>
{next}</body></html>"""


def _book(tmp_path):
    html = tmp_path / "html"
    (html / "chapters" / "part").mkdir(parents=True)
    nxt = '<a class="right-next"\n   href="{0}" title="next page">'
    (html / "chapters" / "index.html").write_text(PAGE.format(title="Title", next=nxt.format("part/one.html")))
    (html / "chapters" / "part" / "one.html").write_text(
        PAGE.format(title="One", next=nxt.format("../scorecard.html")).replace("../_", "../../_"))
    (html / "chapters" / "scorecard.html").write_text(PAGE.format(title="Scorecard", next=""))
    return html


def test_reading_order_follows_next_links(tmp_path):
    html = _book(tmp_path)
    names = [p.name for p in pdf.reading_order(html)]
    assert names == ["index.html", "one.html", "scorecard.html"]


def test_assemble_makes_addresses_absolute_and_opens_groups(tmp_path):
    html = _book(tmp_path)
    doc = pdf.assemble(pdf.reading_order(html))
    assert doc.count('class="bbd-pdf-page"') == 3
    image = (html / "_images" / "f.png").resolve().as_uri()
    assert doc.count(f'src="{image}"') == 3  # from both folder depths
    assert f'href="{(html / "_static" / "s.css").resolve().as_uri()}?v=1"' in doc
    assert 'href="https://example.org"' in doc and 'href="#here"' in doc
    assert doc.count('<details open class="bbd-group"') == 3


def test_missing_build_and_empty_input_are_refused(tmp_path):
    with pytest.raises(FileNotFoundError, match="make book"):
        pdf.reading_order(tmp_path)
    with pytest.raises(ValueError, match="pages"):
        pdf.assemble([])
