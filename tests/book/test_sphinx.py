"""The Sphinx extension: equation labels map to the papers' printed numbers, MathJax is local,
the API page documents every module."""
import pytest

from bbdlib.book.sphinx.equations import paper_equation_number
from bbdlib.book.sphinx.mathjax import mathjax_source


@pytest.mark.parametrize("label, number", [
    ("bbd-eq-7", "7"), ("bbd-eq-34", "34"), ("dld-eq-6-11", "6.11"), ("dld-eq-A-2", "A.2"),
    ("bbd-eq-7--corrected", "7′"), ("dld-eq-6-4--corrected", "6.4′"), ("dld-eq-6-1--sampler", "6.1"),
])
def test_paper_labels(label, number):
    assert paper_equation_number(label) == number


@pytest.mark.parametrize("label", ["eq-7", "my-label", "bbd-7", "dld-appendix-a-ibp"])
def test_other_labels_are_the_companions(label):
    assert paper_equation_number(label) is None


def test_mathjax_is_shipped_by_a_registry_package():
    src = mathjax_source()
    assert (src / "tex-svg.js").is_file()
    assert (src / "input" / "tex" / "extensions" / "boldsymbol.js").is_file()


def test_every_module_is_on_the_api_page(repo_root):
    import pkgutil

    import bbdlib

    api = (repo_root / "chapters" / "api.md").read_text()
    modules = {m.name for m in pkgutil.walk_packages(bbdlib.__path__, "bbdlib.")} - {"bbdlib.__main__"}
    missing = sorted(m for m in modules if f".. automodule:: {m}\n" not in api)
    assert not missing, f"chapters/api.md does not document {missing}"


def test_extension_builds_scorecard_errata_and_numbers(tmp_path, claims_dir):
    """A small book: the ledger's records become tables, labels become the papers' numbers."""
    import json

    from sphinx.application import Sphinx

    from bbdlib.book.claims import Ledger

    ledger = Ledger("chapters/duality/09-appendix-a")
    ledger.check(ref="eq. (6.11)", claim="k = 1", expected=1.0, measured=1.0)
    ledger.correction(ref="eq. (A.2)", claim="factor", printed=2.0, expected=1.0, measured=1.0,
                      evidence="spurious factor")
    src = tmp_path / "src"
    (src / "chapters" / "duality").mkdir(parents=True)
    (src / "conf.py").write_text(
        "extensions = ['myst_parser', 'bbdlib.book.sphinx']\n"
        "myst_enable_extensions = ['dollarmath', 'amsmath']\n"
        "math_numfig = False\nnumfig = True\nmath_eqref_format = '({number})'\n"
        "mathjax_path = 'mathjax/tex-svg.js'\n")
    (src / "index.md").write_text("# Book\n\n```{toctree}\nchapters/duality/09-appendix-a\n"
                                  "scorecard\nerrata\n```\n")
    (src / "chapters" / "duality" / "09-appendix-a.md").write_text(
        "# Appendix A\n\n```{math}\n:label: dld-eq-6-11\nk = 1\n```\n\n"
        "```{math}\n:label: dld-eq-6-11--again\nk = 1\n```\n\n"
        "```{math}\n:label: companion-own\nx = 1\n```\n\nSee {eq}`companion-own`.\n")
    (src / "scorecard.md").write_text("# Scorecard\n\n```{claims-scorecard}\n```\n")
    (src / "errata.md").write_text("# Errata\n\n```{claims-errata}\n```\n")
    out = tmp_path / "_build" / "html"
    app = Sphinx(str(src), str(src), str(out), str(tmp_path / "doctrees"), "html",
                 status=None, warning=None, freshenv=True, warningiserror=True)
    app.build()

    merged = json.loads((tmp_path / "_build" / "claims.json").read_text())
    assert merged["summary"]["B"] == {"reproduced": 1, "corrected": 1, "not reproduced": 0}
    assert [c["ref"] for c in merged["claims"]] == ["eq. (6.11)", "eq. (A.2)"]
    scorecard = (out / "scorecard.html").read_text()
    assert "bbd-claims" in scorecard and "Appendix A" in scorecard and "bbd-corrected" in scorecard
    errata = (out / "errata.html").read_text()
    assert errata.count("Printed: ") == 1 and "Evidence: spurious factor" in errata
    chapter = (out / "chapters" / "duality" / "09-appendix-a.html").read_text()
    assert chapter.count("(6.11)") == 2 and "(C1)" in chapter
    assert (out / "_static" / "bbd-claims.css").is_file()
    assert (out / "_static" / "mathjax" / "tex-svg.js").is_file()
