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
from pathlib import Path
from typing import Any

__all__ = ["main", "parameter_names", "run_chapter", "UsageError"]


class UsageError(Exception):
    """Bad command line: reported in one line, exit code 2."""


def _parse_value(name: str, text: str) -> Any:
    """A Python literal (number, string, bool, list); a bare word is taken as a string."""
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        if text.replace("_", "").replace("-", "").isalnum():
            return text
        raise UsageError(f"parameter {name!r}: cannot read value {text!r} as a Python literal") from None


def parameter_names(nb) -> dict[str, str]:
    """Names (and default source) of the variables assigned in the ``parameters`` cell."""
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
                *, kernel: str = "python3") -> dict[str, Any]:
    """Execute ``chapter`` with ``parameters``; return a summary (raises on failure)."""
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
    claims = []
    for p in sorted((out / "claims").glob("*.json")):
        claims.extend(json.loads(p.read_text())["claims"])
    summary = {"chapter": str(chapter), "notebook": str(nb_path), "parameters": parameters,
               "figures": [str(f) for f in figures], "claims": len(claims),
               "statuses": {s: sum(c["status"] == s for c in claims)
                            for s in ("reproduced", "corrected", "not reproduced")},
               "failure": failure}
    (out / "summary.json").write_text(json.dumps(summary, indent=1, default=str))
    return summary


def main(argv: list[str] | None = None) -> int:
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
    if summary["failure"]:
        print(f"FAILED {summary['chapter']}: {summary['failure']}", file=sys.stderr)
        print(f"executed notebook (up to the failure): {summary['notebook']}", file=sys.stderr)
        return 1
    print(f"ok: {summary['claims']} claims {summary['statuses']}; "
          f"notebook {summary['notebook']}; {len(summary['figures'])} figures in {Path(args.out) / 'figures'}")
    return 0
