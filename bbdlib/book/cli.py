"""Rerun a chapter with new parameters: ``python -m bbdlib run CHAPTER -p NAME VALUE ... --out DIR``.

The chapter's MyST source is read with jupytext and executed with papermill (which
injects the parameters after the cell tagged ``parameters``).  Into ``DIR`` go

* ``<chapter>.ipynb`` – the executed notebook,
* ``figures/<chapter>-cell<N>-<k>.png`` – every PNG the chapter displayed,
* ``claims/<chapter>.json`` – the claims ledger of this run.

Nothing is written into ``chapters/``.  Exit codes: 0 the chapter ran and every claim
held; 1 a cell failed (including a claim that no longer holds); 2 bad usage (an
unknown chapter or parameter, a value that is not a Python literal).
"""
from __future__ import annotations

import argparse
import ast
import base64
import json
import os
import sys
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from bbdlib.book.claims import load_records, status_counts

__all__ = ["RunSummary", "UsageError", "main", "parameter_names", "run_chapter"]


class UsageError(Exception):
    """Bad command line: reported in one line, exit code 2."""


@dataclass(frozen=True)
class RunSummary:
    """What one run of a chapter produced (written as ``summary.json``).

    Attributes
    ----------
    chapter : str
        The chapter's MyST source (absolute path).
    notebook : str
        The executed notebook.
    parameters : dict
        The parameters given, by name.
    figures : list of str
        Every PNG the chapter displayed, saved under ``figures/``.
    claims : int
        How many claims the run recorded.
    statuses : dict
        ``{status: count}`` of those claims.
    failure : str or None
        ``"<exception>: <message>"`` of the cell that failed, or None if every cell ran.
    """

    chapter: str
    notebook: str
    parameters: dict
    figures: list
    claims: int
    statuses: dict
    failure: str | None


def _parse_value(name: str, text: str) -> Any:
    """A Python literal (number, string, bool, list); a bare word is taken as a string."""
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        if text.replace("_", "").replace("-", "").isalnum():
            return text
        raise UsageError(f"parameter {name!r}: cannot read value {text!r} as a Python literal") from None


def parameter_names(nb) -> dict[str, str]:
    """The variables a chapter's ``parameters`` cell assigns.

    Parameters
    ----------
    nb : nbformat.NotebookNode
        The chapter, e.g. as read by ``jupytext.read``.

    Returns
    -------
    dict
        ``{name: source of the default value}`` in the cell's order; empty if no code
        cell is tagged ``parameters``.
    """
    for cell in nb.cells:
        if cell.cell_type == "code" and "parameters" in cell.get("metadata", {}).get("tags", []):
            tree = ast.parse(cell.source)
            names = {}
            for stmt in tree.body:
                targets = stmt.targets if isinstance(stmt, ast.Assign) else (
                    [stmt.target] if isinstance(stmt, ast.AnnAssign) else [])
                for t in targets:
                    if isinstance(t, ast.Name):
                        names[t.id] = ast.get_source_segment(cell.source, stmt.value) if stmt.value else ""
            return names
    return {}


def _save_figures(nb, folder: Path, stem: str) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    saved = []
    code_index = 0
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        code_index += 1
        k = 0
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            if "image/png" in data:
                k += 1
                path = folder / f"{stem}-cell{code_index:02d}-{k}.png"
                path.write_bytes(base64.b64decode(data["image/png"]))
                saved.append(path)
    return saved


def run_chapter(chapter: str | Path, parameters: dict[str, Any], out: str | Path,
                *, kernel: str = "python3") -> RunSummary:
    """Execute a chapter with new parameters into a folder outside ``chapters/``.

    Parameters
    ----------
    chapter : str or pathlib.Path
        The chapter's MyST source, ``chapters/<part>/<name>.md``.
    parameters : dict
        Values for variables of the chapter's ``parameters`` cell, by name.
    out : str or pathlib.Path
        The output folder (created); the notebook, ``figures/``, ``claims/`` and
        ``summary.json`` go there.
    kernel : str
        The Jupyter kernel to execute with.

    Returns
    -------
    RunSummary
        What the run produced; ``failure`` is set if a cell (or a claim) failed.

    Raises
    ------
    UsageError
        For an unknown chapter or parameter, or ``out`` inside ``chapters/``.
    """
    import jupytext
    import nbformat
    import papermill

    chapter = Path(chapter)
    if chapter.suffix != ".md" or not chapter.is_file():
        raise UsageError(f"unknown chapter {str(chapter)!r}: give the path of a chapters/**/*.md file")
    chapter = chapter.resolve()
    if "chapters" not in chapter.parts:
        raise UsageError(f"unknown chapter {str(chapter)!r}: not under chapters/")
    nb = jupytext.read(chapter)
    known = parameter_names(nb)
    if not known:
        raise UsageError(f"chapter {chapter.name!r} has no cell tagged 'parameters'")
    unknown = sorted(set(parameters) - set(known))
    if unknown:
        raise UsageError(
            f"unknown parameter {unknown[0]!r} for {chapter.name}; known: {', '.join(sorted(known))}"
        )
    out = Path(out).resolve()
    chapters_dir = next(p for p in chapter.parents if p.name == "chapters")
    if out == chapters_dir or chapters_dir in out.parents:
        raise UsageError("--out must not be inside chapters/ (the MyST sources are the only files there)")
    out.mkdir(parents=True, exist_ok=True)
    stem = chapter.stem
    os.environ["BBD_CLAIMS_DIR"] = str(out / "claims")
    # A kernel draws figures inline only if MPLBACKEND does not force another backend.
    os.environ.pop("MPLBACKEND", None)
    nb_path = out / f"{stem}.ipynb"
    failure = None
    try:
        papermill.execute_notebook(
            nb, str(nb_path), parameters=parameters, kernel_name=kernel,
            cwd=str(chapter.parent), progress_bar=False, log_output=False,
        )
    except papermill.PapermillExecutionError as exc:
        failure = f"{exc.ename}: {exc.evalue}"
    executed = nbformat.read(nb_path, as_version=4) if nb_path.exists() else None
    figures = _save_figures(executed, out / "figures", stem) if executed is not None else []
    claims = load_records(out / "claims")
    summary = RunSummary(chapter=str(chapter), notebook=str(nb_path), parameters=parameters,
                         figures=[str(f) for f in figures], claims=len(claims),
                         statuses=status_counts(claims), failure=failure)
    (out / "summary.json").write_text(json.dumps(asdict(summary), indent=1, default=str))
    return summary


def main(argv: list[str] | None = None) -> int:
    """The command line ``python -m bbdlib {run,params,execute}``.

    Parameters
    ----------
    argv : list of str, optional
        The arguments (default: ``sys.argv[1:]``).

    Returns
    -------
    int
        The exit code: 0 success, 1 a failed cell or chapter, 2 bad usage.
    """
    parser = argparse.ArgumentParser(prog="python -m bbdlib", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="execute a chapter with parameters")
    run.add_argument("chapter", help="path of a chapter's MyST source, e.g. chapters/duality/09-appendix-a.md")
    run.add_argument("-p", "--parameter", nargs=2, action="append", default=[],
                     metavar=("NAME", "VALUE"), help="set a parameter (repeatable)")
    run.add_argument("--out", required=True, help="output folder (not under chapters/)")
    sub.add_parser("params", help="list a chapter's parameters").add_argument("chapter")
    ex = sub.add_parser("execute", help="execute chapters in parallel into a jupyter-cache (make book)")
    ex.add_argument("chapters", nargs="+")
    ex.add_argument("--cache", required=True, help="jupyter-cache folder (wiped first)")
    ex.add_argument("--timeout", type=int, default=900)
    args = parser.parse_args(argv)
    try:
        if args.command == "execute":
            from bbdlib.book.execute import execute_chapters

            return 1 if execute_chapters(args.chapters, args.cache, timeout=args.timeout) else 0
        if args.command == "params":
            import jupytext

            path = Path(args.chapter)
            if not path.is_file():
                raise UsageError(f"unknown chapter {args.chapter!r}")
            for name, default in parameter_names(jupytext.read(path)).items():
                print(f"{name} = {default}")
            return 0
        params = {name: _parse_value(name, value) for name, value in args.parameter}
        summary = run_chapter(args.chapter, params, args.out)
    except UsageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if summary.failure:
        print(f"FAILED {summary.chapter}: {summary.failure}", file=sys.stderr)
        print(f"executed notebook (up to the failure): {summary.notebook}", file=sys.stderr)
        return 1
    print(f"ok: {summary.claims} claims {summary.statuses}; "
          f"notebook {summary.notebook}; {len(summary.figures)} figures in {Path(args.out) / 'figures'}")
    return 0
