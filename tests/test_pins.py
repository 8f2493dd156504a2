"""requirements.txt is the one place for pins; environment.yml must agree with it."""
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DIRECT = ["jupyter-book", "jupytext", "numpy", "scipy", "matplotlib", "sympy", "papermill",
          "nbval", "ipykernel", "pytest", "scikit-learn", "django-static-mathjax"]


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _pins(lines):
    pins = {}
    for line in lines:
        line = line.split("#")[0].strip()
        m = re.fullmatch(r"([A-Za-z0-9_.\-]+)==([^\s;]+)", line)
        if m:
            pins[_norm(m.group(1))] = m.group(2)
    return pins


def requirements():
    return _pins((ROOT / "requirements.txt").read_text().splitlines())


def environment():
    text = (ROOT / "environment.yml").read_text().splitlines()
    return _pins(line.strip().lstrip("- ").strip() for line in text)


def test_every_requirement_is_pinned_exactly():
    for line in (ROOT / "requirements.txt").read_text().splitlines():
        line = line.split("#")[0].strip()
        if line:
            assert "==" in line, f"requirements.txt: {line!r} is not an exact pin"


def test_direct_dependencies_are_pinned_in_both():
    req, env = requirements(), environment()
    for name in DIRECT:
        assert name in req, f"{name} missing from requirements.txt"
        assert name in env, f"{name} missing from environment.yml"
    assert req["jupyter-book"].startswith("1."), "the book is built with Jupyter Book 1.x"


def test_environment_agrees_with_requirements():
    req, env = requirements(), environment()
    diffs = {n: (env[n], req.get(n)) for n in env if env[n] != req.get(n)}
    assert not diffs, f"environment.yml disagrees with requirements.txt (env, req): {diffs}"


def test_environment_python_is_311():
    assert re.search(r"^\s*-\s*python\s*=\s*3\.11\s*$", (ROOT / "environment.yml").read_text(), re.M)
