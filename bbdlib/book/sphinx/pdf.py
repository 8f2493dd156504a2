"""The whole book as one PDF, offline: ``python -m bbdlib.book.sphinx.pdf`` (``make pdf``).

After ``make book``, the pages of ``_build/html`` are read in the reading order of the book
(the title page, then every page's "next" link), the article of each is put into one HTML
page (each starting on a new sheet; the scorecard's chapter groups open; every relative
address made absolute so figures, style sheets and MathJax load from the build), and that
page is printed by headless Chromium with ``--print-to-pdf`` once MathJax has typeset it.
No page of the book is rebuilt and nothing remote is loaded (host names do not resolve).
"""
from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

__all__ = ["assemble", "main", "print_pdf", "reading_order"]

_NEXT = re.compile(r'<a class="right-next"\s+href="([^"#]+)', re.S)
_ARTICLE = re.compile(r'<article class="bd-article"[^>]*>(.*?)</article>', re.S)
_HEAD = re.compile(r"<head>(.*?)</head>", re.S)
_URL_ATTR = re.compile(r'\b(src|href)="(?![a-z][a-z0-9+.-]*:|#|/)([^"]*)"', re.I)


def reading_order(html_dir: str | Path, start: str = "chapters/index.html") -> list[Path]:
    """The book's pages in reading order, following each page's "next" link.

    Parameters
    ----------
    html_dir : str or pathlib.Path
        The built book, ``_build/html``.
    start : str
        The first page, relative to ``html_dir``.

    Returns
    -------
    list of pathlib.Path

    Raises
    ------
    FileNotFoundError
        If the first page does not exist (run ``make book`` first).
    """
    page = (Path(html_dir) / start).resolve()
    if not page.is_file():
        raise FileNotFoundError(f"{page} does not exist: run `make book` first")
    order: list[Path] = []
    while page.is_file() and page not in order:
        order.append(page)
        m = _NEXT.search(page.read_text(encoding="utf-8"))
        if not m:
            break
        page = (page.parent / m.group(1)).resolve()
    return order


def _absolute(html: str, folder: Path) -> str:
    """Every relative ``src``/``href`` of ``html`` as a ``file:`` URI (query and fragment kept)."""
    def repl(m: re.Match) -> str:
        url = m.group(2)
        cut = min([i for i in (url.find("?"), url.find("#")) if i >= 0], default=len(url))
        return f'{m.group(1)}="{(folder / url[:cut]).resolve().as_uri()}{url[cut:]}"'

    return _URL_ATTR.sub(repl, html)


def assemble(pages: list[Path]) -> str:
    """One HTML document holding the article of every page, for printing.

    Parameters
    ----------
    pages : list of pathlib.Path
        The pages, in order (:func:`reading_order`).

    Returns
    -------
    str
        The document: the head of the first page (style sheets, MathJax), then one
        ``<section class="bbd-pdf-page">`` per page.
    """
    if not pages:
        raise ValueError("pages must name at least one page")
    first = pages[0].read_text(encoding="utf-8")
    head = _absolute(_HEAD.search(first).group(1), pages[0].parent)
    sections = []
    for page in pages:
        m = _ARTICLE.search(page.read_text(encoding="utf-8"))
        if m is None:
            continue
        body = _absolute(m.group(1), page.parent)
        body = body.replace('<details class="bbd-group"', '<details open class="bbd-group"')
        sections.append(f'<section class="bbd-pdf-page">{body}</section>')
    style = ("<style>.bbd-pdf-page { break-before: page; } .bbd-pdf-page:first-child { break-before: auto; }"
             " body { background: white; } .headerlink, .copybtn, .toggle-details__summary { display: none; }"
             " @page { size: A4; margin: 16mm 14mm; }</style>")
    return (f"<!doctype html><html><head>{head}{style}</head><body><main class='bd-main'>"
            f"<div class='bd-content'><article class='bd-article'>{''.join(sections)}</article></div>"
            "</main></body></html>")


def print_pdf(document: Path, out: Path, *, budget_ms: int = 90_000) -> Path:
    """Print an HTML file to PDF with headless Chromium, after MathJax has typeset it.

    Parameters
    ----------
    document : pathlib.Path
        The HTML file (:func:`assemble`).
    out : pathlib.Path
        The PDF to write.
    budget_ms : int
        Chromium's virtual-time budget (loading and typesetting).

    Returns
    -------
    pathlib.Path
        ``out``.

    Raises
    ------
    RuntimeError
        If no Chromium is on PATH or it wrote no PDF.
    """
    browser = next((shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome") if shutil.which(n)),
                   None)
    if browser is None:
        raise RuntimeError("no chromium on PATH (Debian: apt-get install chromium)")
    out.parent.mkdir(parents=True, exist_ok=True)
    profile = out.parent / ".chromium-profile"
    cmd = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
           "--disable-component-update", "--disable-sync", "--no-first-run", f"--user-data-dir={profile}",
           "--host-resolver-rules=MAP * ~NOTFOUND", "--run-all-compositor-stages-before-draw",
           f"--virtual-time-budget={budget_ms}", "--no-pdf-header-footer",
           f"--print-to-pdf={out}", document.resolve().as_uri()]
    subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    shutil.rmtree(profile, ignore_errors=True)
    if not out.is_file() or out.stat().st_size == 0:
        raise RuntimeError(f"chromium wrote no PDF to {out}")
    return out


def main(argv: list[str] | None = None) -> int:
    """``python -m bbdlib.book.sphinx.pdf [--html _build/html] [--out _build/pdf/book.pdf]``.

    Parameters
    ----------
    argv : list of str, optional
        The command-line arguments (default: ``sys.argv[1:]``).

    Returns
    -------
    int
        0 on success.
    """
    parser = argparse.ArgumentParser(prog="python -m bbdlib.book.sphinx.pdf", description=__doc__.splitlines()[0])
    parser.add_argument("--html", default="_build/html", help="the built book (default: _build/html)")
    parser.add_argument("--out", default="_build/pdf/book.pdf", help="the PDF (default: _build/pdf/book.pdf)")
    args = parser.parse_args(argv)
    t0 = time.perf_counter()
    pages = reading_order(args.html)
    out = Path(args.out)
    document = out.with_suffix(".html")
    document.parent.mkdir(parents=True, exist_ok=True)
    document.write_text(assemble(pages), encoding="utf-8")
    print_pdf(document, out)
    print(f"pdf: {out} ({len(pages)} pages of the book, {out.stat().st_size / 1e6:.1f} MB, "
          f"{time.perf_counter() - t0:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
