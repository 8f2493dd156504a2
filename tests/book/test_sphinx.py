"""Equation labels map to the papers' printed numbers."""
import pytest

from bbdlib.book.sphinx import mathjax_source, paper_equation_number


@pytest.mark.parametrize("label, number", [
    ("bbd-eq-7", "7"), ("bbd-eq-34", "34"), ("dld-eq-6-11", "6.11"), ("dld-eq-A-2", "A.2"),
    ("bbd-eq-7--corrected", "7"), ("dld-eq-6-1--sampler", "6.1"),
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


def test_every_module_is_on_the_api_page():
    import pkgutil
    from pathlib import Path

    import bbdlib

    api = (Path(bbdlib.__file__).parents[1] / "chapters" / "api.md").read_text()
    modules = {m.name for m in pkgutil.walk_packages(bbdlib.__path__, "bbdlib.")} - {"bbdlib.__main__"}
    missing = sorted(m for m in modules if f".. automodule:: {m}\n" not in api)
    assert not missing, f"chapters/api.md does not document {missing}"
