"""The build stamp of the title page: ``{build-stamp}``.

The stamp says what built the book: the commit (with ``+ uncommitted changes`` when the
working tree differs from it), the date and time of the build (UTC), and the versions of
Python, numpy, scipy, sympy, matplotlib and jupyter-book.
"""
from __future__ import annotations

import datetime as dt
import platform
import subprocess
from importlib import metadata
from pathlib import Path

from docutils import nodes
from docutils.parsers.rst import Directive
from sphinx.application import Sphinx

__all__ = ["BuildStampDirective", "build_stamp", "setup"]

_PACKAGES = ("numpy", "scipy", "sympy", "matplotlib", "jupyter-book")


def _git(root: Path, *args: str) -> str:
    try:
        out = subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return ""
    return out.stdout.strip() if out.returncode == 0 else ""


def build_stamp(root: str | Path) -> str:
    """One line naming the commit, the date and the versions the book was built with.

    Parameters
    ----------
    root : str or pathlib.Path
        The book's repository (for the commit).

    Returns
    -------
    str
        e.g. ``"Built from commit 04f9e0d on 2026-12-01 21:40 UTC with Python 3.11.2,
        numpy 1.26.4, ..."``; ``"commit unknown"`` outside a git checkout.
    """
    root = Path(root)
    commit = _git(root, "rev-parse", "--short", "HEAD") or "unknown"
    if commit != "unknown" and _git(root, "status", "--porcelain", "--untracked-files=no"):
        commit += " + uncommitted changes"
    when = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    versions = [f"Python {platform.python_version()}"]
    for name in _PACKAGES:
        try:
            versions.append(f"{name} {metadata.version(name)}")
        except metadata.PackageNotFoundError:
            versions.append(f"{name} (not installed)")
    return f"Built from commit {commit} on {when} with " + ", ".join(versions) + "."


class BuildStampDirective(Directive):
    """``{build-stamp}``: a paragraph with :func:`build_stamp` of the book's source folder."""

    has_content = False

    def run(self):
        """The stamp as a paragraph of class ``bbd-build-stamp``.

        Returns
        -------
        list of docutils.nodes.paragraph
        """
        env = self.state.document.settings.env
        return [nodes.paragraph(text=build_stamp(env.srcdir), classes=["bbd-build-stamp"])]


def _always_outdated(app: Sphinx, env, added, changed, removed) -> list[str]:
    return [d for d in env.found_docs
            if Path(env.doc2path(d)).suffix == ".md"
            and "{build-stamp}" in Path(env.doc2path(d)).read_text(encoding="utf-8")]


def setup(app: Sphinx) -> None:
    """Register ``{build-stamp}``; the page holding it is re-read on every build.

    Parameters
    ----------
    app : sphinx.application.Sphinx
        The application being set up.
    """
    app.add_directive("build-stamp", BuildStampDirective)
    app.connect("env-get-outdated", _always_outdated)
