"""requirements.txt is the one place for pins; pyproject.toml names, environment.yml mirrors."""
import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


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


def declared():
    """Every distribution pyproject.toml names: the dependencies and every extra."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    specs = list(project["dependencies"])
    for extra in project.get("optional-dependencies", {}).values():
        specs.extend(extra)
    return {_norm(re.match(r"[A-Za-z0-9_.\-]+", s).group(0)): s for s in specs}


def test_every_requirement_is_pinned_exactly():
    for line in (ROOT / "requirements.txt").read_text().splitlines():
        line = line.split("#")[0].strip()
        if line:
            assert "==" in line, f"requirements.txt: {line!r} is not an exact pin"


def test_pyproject_names_without_versions():
    for name, spec in declared().items():
        assert _norm(spec) == name, f"pyproject.toml: {spec!r} sets a version; pins live in requirements.txt"


def test_declared_dependencies_are_pinned_in_both():
    req, env = requirements(), environment()
    names = declared()
    assert {"numpy", "scipy", "sympy", "matplotlib", "papermill", "jupytext", "jupyter-cache",
            "sphinx", "ruff"} <= set(names)
    for name in names:
        assert name in req, f"{name} (pyproject.toml) is not pinned in requirements.txt"
        assert name in env, f"{name} (pyproject.toml) is missing from environment.yml"
    assert req["jupyter-book"].startswith("1."), "the book is built with Jupyter Book 1.x"


def test_environment_agrees_with_requirements():
    req, env = requirements(), environment()
    diffs = {n: (env[n], req.get(n)) for n in env if env[n] != req.get(n)}
    assert not diffs, f"environment.yml disagrees with requirements.txt (env, req): {diffs}"


def test_environment_python_is_311():
    assert re.search(r"^\s*-\s*python\s*=\s*3\.11\s*$", (ROOT / "environment.yml").read_text(), re.M)
