"""Headless Chromium for the rendered-book tests: load a page at a given width, let MathJax
typeset it, run a probe in the page and read its JSON result back.

The page is copied into a temporary folder with a ``<base href>`` pointing at its original
folder (so its style sheets, scripts and images load as in the book), and a probe script is
appended to its body.  The probe waits for MathJax, evaluates a JavaScript expression and
writes its JSON value into ``<pre id="bbd-probe">``, which ``--dump-dom`` returns.
Every host name fails to resolve, so nothing remote can load.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

__all__ = ["chromium", "require_chromium", "probe", "PROBES"]


def chromium() -> str | None:
    """The Chromium executable on PATH (Debian's ``chromium``), or None."""
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    return None


def require_chromium() -> str:
    """Chromium, or skip (fail under ``BBD_REQUIRE_BROWSER=1``) when there is none."""
    browser = chromium()
    if browser is None:
        if os.environ.get("BBD_REQUIRE_BROWSER") == "1":
            pytest.fail("BBD_REQUIRE_BROWSER=1 but no chromium on PATH (apt-get install chromium)")
        pytest.skip("no chromium on PATH: install Debian's chromium to run the browser tests")
    return browser


_PROBE = """
<pre id="bbd-probe" style="display:none"></pre>
<script>
(function () {
  function run() {
    var out;
    try { out = (function () { return (%s); })(); }
    catch (e) { out = {"probe_error": String(e)}; }
    document.getElementById("bbd-probe").textContent = JSON.stringify(out);
  }
  function later() { setTimeout(run, 50); }
  window.addEventListener("load", function () {
    var mj = window.MathJax;
    if (mj && mj.startup && mj.startup.promise) { mj.startup.promise.then(later, later); }
    else { later(); }
  });
})();
</script>
"""

#: Probes shared by the tests (JavaScript expressions returning JSON values).
PROBES = {
    # display equations (MathJax containers of a display, or a .math-wrapper block) wider
    # than their container: [label or text, own width, container width]
    "wide_equations": """
      Array.from(document.querySelectorAll('div.math'))
        .filter(function (div) {
          // a formula printed by a code cell may scroll inside its output (bbd-claims.css)
          var ox = getComputedStyle(div).overflowX;
          return !(div.closest('.cell_output') && (ox === 'auto' || ox === 'scroll'));
        })
        .map(function (div) {
          var svg = div.querySelector('mjx-container svg');
          var no = div.querySelector('.eqno');
          var w = svg ? svg.getBoundingClientRect().width : 0;
          var n = no ? no.getBoundingClientRect().width : 0;
          return [div.id || div.textContent.trim().slice(0, 60), Math.round(w), Math.round(n),
                  Math.round(div.clientWidth)];
        })
        .filter(function (x) { return x[1] + x[2] > x[3] + 1; })
    """,
    # figures shown smaller than their natural size (their fonts shrink with them)
    "scaled_images": """
      Array.from(document.querySelectorAll('main img, article img'))
        .filter(function (img) { return img.complete && img.naturalWidth > 0 && img.style.width; })
        .map(function (img) {
          return [img.getAttribute('src'), parseFloat(img.style.width),
                  Math.round(img.getBoundingClientRect().width)];
        })
        .filter(function (x) { return x[2] < 0.97 * x[1]; })
    """,
    # paragraphs whose text is a Markdown pipe table (a table not rendered)
    "pipe_paragraphs": """
      Array.from(document.querySelectorAll('p'))
        .map(function (p) { return p.textContent.trim(); })
        .filter(function (t) { return /^\\|.*\\|/.test(t) && /\\|\\s*:?-{3,}/.test(t); })
        .map(function (t) { return t.slice(0, 80); })
    """,
    # images without a meaningful alt text (missing, empty, or a file hash)
    "images_without_alt": """
      Array.from(document.querySelectorAll('main img, article img, .bd-article img'))
        .filter(function (img) {
          var a = (img.getAttribute('alt') || '').trim();
          return !a || /^[0-9a-f]{16,}$/i.test(a) || /\\.(png|svg|jpg)$/i.test(a);
        })
        .map(function (img) { return img.getAttribute('src'); })
    """,
    # the page's height and, for every column header named "status" of a scorecard table,
    # whether its right edge is within the viewport and the table needs no scrolling
    "scorecard_layout": """
      (function () {
        var res = {height: document.documentElement.scrollHeight, vw: window.innerWidth,
                   status: []};
        document.querySelectorAll('details').forEach(function (d) { d.open = true; });
        document.querySelectorAll('table.bbd-claims').forEach(function (t) {
          var ths = Array.from(t.querySelectorAll('thead th'));
          ths.forEach(function (th) {
            if (th.textContent.trim() !== 'status') { return; }
            var r = th.getBoundingClientRect();
            var scroller = t.parentElement;
            res.status.push({right: Math.round(r.right), width: Math.round(r.width),
                             table_scroll: t.scrollWidth - t.clientWidth,
                             parent_scroll: scroller.scrollWidth - scroller.clientWidth});
          });
        });
        document.querySelectorAll('details').forEach(function (d) { d.open = false; });
        res.collapsed_height = document.documentElement.scrollHeight;
        return res;
      })()
    """,
}

#: Every per-page probe of the reader tests at once (one page load).
PROBES["reader"] = ("{wide_equations: " + PROBES["wide_equations"] + ", pipe_paragraphs: " + PROBES["pipe_paragraphs"]
                    + ", images_without_alt: " + PROBES["images_without_alt"]
                    + ", scaled_images: " + PROBES["scaled_images"] + "}")


def probe(page: Path, expression: str, tmp_path: Path, *, width: int = 1400, height: int = 900,
          budget_ms: int = 20000) -> object:
    """Load ``page`` in headless Chromium at ``width`` px and return the probe's value.

    Parameters
    ----------
    page : pathlib.Path
        An HTML file (of the built book, or a synthetic fixture).
    expression : str
        A JavaScript expression (e.g. one of :data:`PROBES`) evaluated after MathJax.
    tmp_path : pathlib.Path
        A scratch folder (pytest's ``tmp_path``).
    width, height : int
        The window size in CSS pixels.
    budget_ms : int
        Chromium's virtual-time budget for loading and typesetting.

    Returns
    -------
    object
        The JSON value of the expression.
    """
    browser = require_chromium()
    page = Path(page).resolve()
    html = page.read_text(encoding="utf-8")
    base = f'<base href="{page.parent.as_uri()}/">'
    html = re.sub(r"(<head[^>]*>)", lambda m: m.group(1) + base, html, count=1, flags=re.I)
    script = _PROBE % expression
    if re.search(r"</body>", html, re.I):
        html = re.sub(r"</body>", lambda m: script + m.group(0), html, count=1, flags=re.I)
    else:
        html += script
    work = Path(tmp_path) / f"probe-{page.stem}-{width}"
    work.mkdir(parents=True, exist_ok=True)
    copy = work / "page.html"
    copy.write_text(html, encoding="utf-8")
    cmd = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
           "--disable-component-update", "--disable-sync", "--no-first-run", "--hide-scrollbars",
           f"--user-data-dir={work / 'profile'}", f"--window-size={width},{height}",
           "--host-resolver-rules=MAP * ~NOTFOUND",
           f"--virtual-time-budget={budget_ms}", "--dump-dom", copy.as_uri()]
    dom = subprocess.run(cmd, capture_output=True, text=True, timeout=180).stdout
    m = re.search(r'<pre id="bbd-probe"[^>]*>(.*?)</pre>', dom, re.S)
    assert m and m.group(1).strip(), f"the probe did not run on {page} (chromium returned {len(dom)} bytes)"
    import html as html_lib

    value = json.loads(html_lib.unescape(m.group(1)))
    assert not (isinstance(value, dict) and "probe_error" in value), value
    return value
