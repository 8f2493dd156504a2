"""Rerun a chapter with new parameters: ``python -m bbdlib run CHAPTER -p NAME VALUE ... --out DIR``.

The chapter's MyST source is read with jupytext and executed with papermill (which
injects the parameters after the cell tagged ``parameters``).  Before anything is
written, the chapter, the parameter names and values (the chapter's own validation cell,
the one after ``parameters``, is run on them) and the output folder are checked.  Into
``DIR`` go

* ``summary.json`` – written first with ``"status": "running"``, the commit, every
  parameter (defaults included) and the start time, and rewritten at the end with the
  final status (``ok``, ``failed``, ``interrupted``, ``timed out``);
* ``<chapter>.ipynb`` – the executed notebook (up to the failure or interruption),
* ``figures/<chapter>-cell<N>-<k>.png`` – every PNG the chapter displayed,
* ``claims/<chapter>.json`` – the claims ledger of this run (the summary counts only the
  records this run wrote, identified by its ``run_id``).

``DIR`` must be new, empty, or the folder of an earlier run; ``chapters/``, ``_build/``
and the repository root are refused, and two runs into one folder at the same time are
refused (a lock, released by the operating system if a run dies).  Nothing is ever
deleted.  Exit codes: 0 the chapter ran and every claim held; 1 a cell failed (including
a claim that no longer holds, or a dead kernel); 2 bad usage (an unknown chapter or
parameter, a repeated or invalid parameter, a bad ``--out``); 3 interrupted (Ctrl-C,
SIGINT, SIGTERM) or timed out (``--timeout``).

A value given with ``-p`` is read as a Python literal (``5``, ``0.1``, ``"x"``, ``[1, 2]``,
``True``, ``None``); text that is not a literal is taken as a string as it is (so
``-p loss mse`` and ``-p cls -`` give the strings ``"mse"`` and ``"-"``), and the chapter's
validation then says if a string is not allowed there.
"""
from __future__ import annotations

import argparse
import ast
import base64
import datetime
import errno
import fcntl
import json
import math
import os
import secrets
import signal
import subprocess
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from bbdlib.book.claims import Claim, repo_root, status_counts

__all__ = ["EXIT_CODES", "RUN_STATUSES", "RunSummary", "UsageError", "check_out_folder", "check_parameters",
           "main", "parameter_names", "parse_value", "run_chapter"]

#: The statuses ``summary.json`` can hold; ``running`` until the run ends.
RUN_STATUSES = ("running", "ok", "failed", "interrupted", "timed out")
#: The exit code of each final status.
EXIT_CODES = {"ok": 0, "failed": 1, "interrupted": 3, "timed out": 3}
#: Marks a folder as written by ``bbdlib run`` (a key of every ``summary.json``).
_TOOL = "bbdlib run"
_LOCK = ".bbdlib-run.lock"


class UsageError(Exception):
    """Bad command line: reported in one line, exit code 2."""


class _RunTimeout(BaseException):
    """Raised in the main thread when ``--timeout`` expires."""


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
        Every parameter of the chapter's ``parameters`` cell, defaults included, by name.
    given : dict
        The parameters given on the command line.
    figures : list of str
        Every PNG the chapter displayed, saved under ``figures/``.
    claims : int
        How many claims this run recorded.
    statuses : dict
        ``{status: count}`` of those claims.
    failure : str or None
        ``"<exception>: <message>"`` of the cell that failed, or why the run stopped;
        None if every cell ran.
    status : str
        One of :data:`RUN_STATUSES`.
    flipped : list of str
        Every claim of this run whose evidence no longer supports the status the chapter
        declares for it (with its numbers).
    run_id : str
        This run's identifier (also in the ledger it wrote).
    commit : str or None
        ``git rev-parse HEAD`` of the checkout, with ``+dirty`` if it has changes.
    started, ended : str
        ISO 8601 times (``ended`` is None while running).
    timeout : float or None
        The ``--timeout`` in seconds.
    tool : str
        ``"bbdlib run"``: marks the folder as a run folder.
    """

    chapter: str
    notebook: str
    parameters: dict
    given: dict
    figures: list
    claims: int
    statuses: dict
    failure: str | None
    status: str
    flipped: list = field(default_factory=list)
    run_id: str = ""
    commit: str | None = None
    started: str = ""
    ended: str | None = None
    timeout: float | None = None
    tool: str = _TOOL


def parse_value(name: str, text: str) -> Any:
    """A ``-p`` value: a Python literal, else the text itself as a string.

    Parameters
    ----------
    name : str
        The parameter's name (for messages).
    text : str
        The value as typed.

    Returns
    -------
    object
        ``ast.literal_eval(text)`` if that succeeds, else ``text``.

    Raises
    ------
    TypeError
        If ``text`` is not a string.
    """
    if not isinstance(text, str):
        raise TypeError(f"parameter {name!r}: the value must be given as text, got {type(text).__name__}")
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return text


def _target_names(target: ast.expr, value: ast.expr | None, source: str) -> dict[str, str]:
    """``{name: source of its value}`` for an assignment target (tuples unpacked)."""
    if isinstance(target, ast.Name):
        return {target.id: ast.get_source_segment(source, value) if value is not None else ""}
    if isinstance(target, (ast.Tuple, ast.List)):
        names: dict[str, str] = {}
        paired = isinstance(value, (ast.Tuple, ast.List)) and len(value.elts) == len(target.elts)
        for i, elt in enumerate(target.elts):
            if isinstance(elt, ast.Starred):
                elt = elt.value
            sub = value.elts[i] if paired else None
            got = _target_names(elt, sub, source)
            if not paired and value is not None:
                got = {k: f"({ast.get_source_segment(source, value)})[{i}]" for k in got}
            names.update(got)
        return names
    return {}


def parameter_names(nb) -> dict[str, str]:
    """The variables a chapter's ``parameters`` cell assigns.

    Parameters
    ----------
    nb : nbformat.NotebookNode
        The chapter, e.g. as read by ``jupytext.read``.

    Returns
    -------
    dict
        ``{name: source of the default value}`` in the cell's order, tuple targets
        (``a, b = 1.0, 2.0``) included; empty if no code cell is tagged ``parameters``.
    """
    cell = _parameters_cell(nb)
    if cell is None:
        return {}
    source = nb.cells[cell].source
    names: dict[str, str] = {}
    for stmt in ast.parse(source).body:
        if isinstance(stmt, ast.Assign):
            for t in stmt.targets:
                names.update(_target_names(t, stmt.value, source))
        elif isinstance(stmt, ast.AnnAssign):
            names.update(_target_names(stmt.target, stmt.value, source))
    return names


def _parameters_cell(nb) -> int | None:
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "code" and "parameters" in cell.get("metadata", {}).get("tags", []):
            return i
    return None


def _validate_values(nb, chapter: Path, parameters: dict[str, Any]) -> dict[str, Any]:
    """Run the parameters cell, the given values and the validation cell; every parameter's value."""
    index = _parameters_cell(nb)
    namespace: dict[str, Any] = {"__name__": "__bbdlib_parameters__"}

    def python(source: str) -> str:  # IPython magics (%matplotlib ...) are not Python
        return "\n".join("" if line.lstrip().startswith(("%", "!")) else line for line in source.splitlines())

    try:
        exec(compile(python(nb.cells[index].source), f"{chapter.name}:parameters", "exec"), namespace)  # noqa: S102
    except Exception:  # noqa: BLE001 - the notebook run reports it, in its cell
        return dict(parameters)
    namespace.update(parameters)
    following = [c for c in nb.cells[index + 1:] if c.cell_type == "code"]
    if following:
        try:
            exec(compile(python(following[0].source), f"{chapter.name}:validation", "exec"), namespace)  # noqa: S102
        except (ValueError, TypeError) as exc:
            raise UsageError(f"invalid parameter for {chapter.name}: {exc}") from None
        except Exception:  # noqa: BLE001 - not a verdict on the values: the run will show it
            pass
    return {name: namespace[name] for name in parameter_names(nb) if name in namespace}


def check_out_folder(out: str | Path, chapter: str | Path | None = None) -> Path:
    """The resolved output folder of a run, or :class:`UsageError` saying why it cannot be one.

    Parameters
    ----------
    out : str or pathlib.Path
        The ``--out`` folder.
    chapter : str or pathlib.Path, optional
        The chapter (its repository is checked too).

    Returns
    -------
    pathlib.Path
        ``out`` resolved; nothing is created.

    Raises
    ------
    UsageError
        If ``out`` is in ``chapters/``, is ``_build/`` or inside it, is the repository
        root or above it, is an existing file, is not writable, or is a non-empty folder
        that no earlier run wrote.
    """
    if not isinstance(out, (str, Path)) or not str(out).strip():
        raise UsageError(f"--out must be a folder path, got {out!r}")
    out = Path(out).resolve()
    roots = {r for r in (repo_root(Path(chapter).resolve().parent) if chapter else None, repo_root())
             if r is not None}
    for root in roots:
        if out == root or out in root.parents:
            raise UsageError(f"--out {out} is the repository root or above it; give a new folder")
        for special in ("chapters", "_build"):
            d = root / special
            if out == d or d in out.parents:
                raise UsageError(f"--out must not be {special}/ or inside it ({out}): "
                                 f"{special}/ holds the book's own files")
    if chapter is not None:
        for p in Path(chapter).resolve().parents:
            if p.name == "chapters" and (out == p or p in out.parents):
                raise UsageError("--out must not be inside chapters/ (the MyST sources are the only files there)")
    if out.exists() and not out.is_dir():
        raise UsageError(f"--out {out} exists and is not a folder")
    existing = out
    while not existing.exists():
        existing = existing.parent
    if not existing.is_dir() or not os.access(existing, os.W_OK | os.X_OK):
        raise UsageError(f"--out {out}: cannot write into {existing} (permission denied)")
    if out.is_dir():
        entries = {p.name for p in out.iterdir()}
        if entries - {_LOCK} and not _is_run_folder(out):
            raise UsageError(f"--out {out} holds files that no 'bbdlib run' wrote; give a new or empty folder")
    return out


def _is_run_folder(out: Path) -> bool:
    try:
        return json.loads((out / "summary.json").read_text(encoding="utf-8")).get("tool") == _TOOL
    except (OSError, ValueError, AttributeError):
        return False


def _commit(root: Path | None) -> str | None:
    if root is None:
        return None
    try:
        head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True,
                              timeout=30, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=root,
                               capture_output=True, text=True, timeout=30).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return head + ("+dirty" if dirty else "")


def _write_json(path: Path, payload: dict) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(payload, indent=1, default=str, ensure_ascii=False), encoding="utf-8")
    os.replace(tmp, path)


def _lock(out: Path):
    """Hold an exclusive lock on ``out`` (released when the file closes or the process dies)."""
    fd = os.open(out / _LOCK, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as exc:
        holder = os.read(fd, 200).decode("utf-8", "replace").strip() or "another process"
        os.close(fd)
        if exc.errno in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
            raise UsageError(f"--out {out} is in use by another run ({holder}); wait for it or "
                             "give another folder") from None
        raise
    os.ftruncate(fd, 0)
    os.write(fd, f"pid {os.getpid()} since {_now()}\n".encode())
    return fd


def _now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")


def _save_figures(nb, folder: Path, stem: str) -> list[Path]:
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
                folder.mkdir(parents=True, exist_ok=True)
                path = folder / f"{stem}-cell{code_index:02d}-{k}.png"
                path.write_bytes(base64.b64decode(data["image/png"]))
                saved.append(path)
    return saved


def _this_runs_claims(path: Path, run_id: str) -> list[Claim]:
    """The records of ``path`` if this run wrote it, else none."""
    try:
        payload = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    if payload.get("run_id") != run_id:
        return []
    return [Claim(**r) for r in payload["claims"]]


def _check_chapter(chapter: str | Path) -> Path:
    if not isinstance(chapter, (str, Path)):
        raise UsageError(f"chapter must be a path, got {chapter!r}")
    path = Path(chapter)
    if path.suffix != ".md" or not path.is_file():
        raise UsageError(f"unknown chapter {str(chapter)!r}: give the path of a chapters/**/*.md file")
    path = path.resolve()
    if "chapters" not in path.parent.parts:
        raise UsageError(f"unknown chapter {str(chapter)!r}: not under chapters/")
    return path


def check_parameters(chapter: str | Path, parameters: dict[str, Any]) -> tuple[Path, Any, dict[str, Any]]:
    """Check a chapter and parameter values for it, as :func:`run_chapter` does before a run.

    Parameters
    ----------
    chapter : str or pathlib.Path
        The chapter's MyST source, ``chapters/<part>/<name>.md``.
    parameters : dict
        Values for variables of the chapter's ``parameters`` cell, by name.

    Returns
    -------
    tuple
        ``(path, notebook, every)``: the resolved chapter, the notebook jupytext read, and
        every parameter's value (defaults included) after the chapter's validation cell.

    Raises
    ------
    UsageError
        For an unknown or unreadable chapter, a chapter without a ``parameters`` cell, an
        unknown parameter or a value the chapter's validation cell refuses.
    """
    import jupytext

    chapter = _check_chapter(chapter)
    if not isinstance(parameters, dict) or not all(isinstance(k, str) for k in parameters):
        raise UsageError(f"parameters must be a dict by name, got {parameters!r}")
    try:
        nb = jupytext.read(chapter)
    except Exception as exc:  # noqa: BLE001 - any unreadable source is a usage error
        raise UsageError(f"cannot read chapter {chapter.name!r}: {exc}") from None
    known = parameter_names(nb)
    if not known:
        raise UsageError(f"chapter {chapter.name!r} has no cell tagged 'parameters'")
    unknown = sorted(set(parameters) - set(known))
    if unknown:
        raise UsageError(
            f"unknown parameter {unknown[0]!r} for {chapter.name}; known: {', '.join(sorted(known))}"
        )
    return chapter, nb, _validate_values(nb, chapter, parameters)


def run_chapter(chapter: str | Path, parameters: dict[str, Any], out: str | Path,
                *, kernel: str = "python3", timeout: float | None = None) -> RunSummary:
    """Execute a chapter with new parameters into a folder outside ``chapters/``.

    Parameters
    ----------
    chapter : str or pathlib.Path
        The chapter's MyST source, ``chapters/<part>/<name>.md``.
    parameters : dict
        Values for variables of the chapter's ``parameters`` cell, by name.
    out : str or pathlib.Path
        The output folder (created if needed; see :func:`check_out_folder`); the
        notebook, ``figures/``, ``claims/`` and ``summary.json`` go there.
    kernel : str
        The Jupyter kernel to execute with.
    timeout : float, optional
        Seconds the whole run may take; then it stops with status ``"timed out"``.

    Returns
    -------
    RunSummary
        What the run produced; ``status`` says how it ended, ``failure`` why, ``flipped``
        which claims no longer hold.

    Raises
    ------
    UsageError
        For an unknown chapter or parameter, an invalid value (the chapter's validation
        cell), a bad ``out`` or a timeout that is not a positive number.  Nothing has
        been written then.
    """
    import nbformat
    import papermill

    if timeout is not None and (isinstance(timeout, bool) or not isinstance(timeout, (int, float))
                                or not math.isfinite(timeout) or timeout <= 0):
        raise UsageError(f"--timeout must be a positive number of seconds, got {timeout!r}")
    chapter, nb, every = check_parameters(chapter, parameters)
    out = check_out_folder(out, chapter)

    out.mkdir(parents=True, exist_ok=True)
    lock = _lock(out)
    stem = chapter.stem
    run_id = f"{datetime.datetime.now():%Y%m%dT%H%M%S}-{os.getpid()}-{secrets.token_hex(3)}"
    ledger_path = out / "claims" / (chapter.parent.name + "__" + stem + ".json")
    nb_path = out / f"{stem}.ipynb"
    base = dict(chapter=str(chapter), notebook=str(nb_path), parameters=every, given=dict(parameters),
                run_id=run_id, commit=_commit(repo_root(chapter.parent)), started=_now(),
                timeout=timeout)
    _write_json(out / "summary.json", asdict(RunSummary(figures=[], claims=0, statuses=status_counts([]),
                                                          failure=None, status="running", **base)))
    saved_env = {k: os.environ.get(k) for k in ("BBD_CLAIMS_DIR", "BBD_RUN_ID", "MPLBACKEND")}
    os.environ["BBD_CLAIMS_DIR"] = str(out / "claims")
    os.environ["BBD_RUN_ID"] = run_id
    # A kernel draws figures inline only if MPLBACKEND does not force another backend.
    os.environ.pop("MPLBACKEND", None)

    def _stop(signum, frame):
        raise KeyboardInterrupt(f"signal {signal.Signals(signum).name}")

    def _expire(signum, frame):
        raise _RunTimeout()

    old_term = signal.signal(signal.SIGTERM, _stop)
    # Explicitly: a run started in the background inherits SIGINT ignored.
    old_int = signal.signal(signal.SIGINT, _stop)
    old_alarm = signal.signal(signal.SIGALRM, _expire)
    if timeout is not None:
        signal.setitimer(signal.ITIMER_REAL, float(timeout))
    status, failure = "ok", None
    try:
        try:
            papermill.execute_notebook(
                nb, str(nb_path), parameters=parameters, kernel_name=kernel,
                cwd=str(chapter.parent), progress_bar=False, log_output=False,
            )
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
    except papermill.PapermillExecutionError as exc:
        status, failure = "failed", f"{exc.ename}: {exc.evalue}"
    except _RunTimeout:
        status, failure = "timed out", f"the run took longer than --timeout {timeout} s"
    except KeyboardInterrupt as exc:
        status, failure = "interrupted", f"interrupted ({exc or 'SIGINT'})"
    except Exception as exc:  # noqa: BLE001 - a dead kernel, a papermill error: the run failed
        status, failure = "failed", f"{type(exc).__name__}: {exc}"
    finally:
        signal.signal(signal.SIGTERM, old_term)
        signal.signal(signal.SIGINT, old_int)
        signal.signal(signal.SIGALRM, old_alarm)
        for k, v in saved_env.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        try:
            executed = nbformat.read(nb_path, as_version=4) if nb_path.exists() else None
            figures = _save_figures(executed, out / "figures", stem) if executed is not None else []
        except Exception:  # noqa: BLE001 - a half-written notebook of an interrupted run
            figures = []
        claims = _this_runs_claims(ledger_path, run_id)
        flipped = [f"{c.failure} (declared {c.status!r})" for c in claims if c.failure]
        if status == "ok" and flipped:
            status, failure = "failed", f"{len(flipped)} claims no longer hold"
        summary = RunSummary(figures=[str(f) for f in figures], claims=len(claims),
                             statuses=status_counts(claims), failure=failure, status=status,
                             flipped=flipped, ended=_now(), **base)
        _write_json(out / "summary.json", asdict(summary))
        os.close(lock)
    return summary


def _cli_parameters(pairs: list[list[str]]) -> dict[str, Any]:
    params: dict[str, Any] = {}
    for name, value in pairs:
        if name in params:
            raise UsageError(f"parameter {name!r} is given twice; give each -p once")
        params[name] = parse_value(name, value)
    return params


def _timeout(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive number of seconds, got {text!r}")
    return value


def main(argv: list[str] | None = None) -> int:
    """The command line ``python -m bbdlib {run,params,sweep,execute}``.

    Parameters
    ----------
    argv : list of str, optional
        The arguments (default: ``sys.argv[1:]``).

    Returns
    -------
    int
        The exit code: 0 success, 1 a failed cell or claim, 2 bad usage, 3 interrupted or
        timed out.
    """
    parser = argparse.ArgumentParser(prog="python -m bbdlib", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="execute a chapter with parameters")
    run.add_argument("chapter", help="path of a chapter's MyST source, e.g. chapters/duality/09-appendix-a.md")
    run.add_argument("-p", "--parameter", nargs=2, action="append", default=[],
                     metavar=("NAME", "VALUE"),
                     help="set a parameter (once each); VALUE is a Python literal, else a string")
    run.add_argument("--out", required=True, help="output folder: new, empty or an earlier run's "
                                                  "(not chapters/, _build/ or the repository root)")
    run.add_argument("--timeout", type=_timeout, default=None, metavar="SECONDS",
                     help="stop the run after this many seconds (exit code 3)")
    sub.add_parser("params", help="list a chapter's parameters").add_argument("chapter")
    from bbdlib.book import sweep as _sweep

    _sweep.add_arguments(sub.add_parser("sweep", help="run a chapter over a grid of parameters on Dask "
                                                      "(bbdlib.book.sweep)"))
    ex = sub.add_parser("execute", help="execute chapters in parallel into a jupyter-cache (make book)")
    ex.add_argument("chapters", nargs="+")
    ex.add_argument("--cache", required=True,
                    help="jupyter-cache folder: new, empty, or one an earlier execute made (then wiped)")
    ex.add_argument("--timeout", type=_timeout, default=900, metavar="SECONDS",
                    help="seconds a cell may run")
    args = parser.parse_args(argv)
    try:
        if args.command == "execute":
            from bbdlib.book.execute import execute_chapters

            try:
                return 1 if execute_chapters(args.chapters, args.cache, timeout=int(math.ceil(args.timeout))) else 0
            except (FileNotFoundError, ValueError) as exc:
                raise UsageError(str(exc)) from None
        if args.command == "sweep":
            return _sweep.command(args)
        if args.command == "params":
            import jupytext

            path = _check_chapter(args.chapter)
            for name, default in parameter_names(jupytext.read(path)).items():
                print(f"{name} = {default}")
            return 0
        params = _cli_parameters(args.parameter)
        summary = run_chapter(args.chapter, params, args.out, timeout=args.timeout)
    except UsageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 3
    if summary.status != "ok":
        print(f"{summary.status.upper()} {summary.chapter}: {summary.failure}", file=sys.stderr)
        for line in summary.flipped:
            print(f"  flipped: {line}", file=sys.stderr)
        print(f"executed notebook (up to the end of the run): {summary.notebook}; "
              f"summary {Path(args.out) / 'summary.json'}", file=sys.stderr)
        return EXIT_CODES[summary.status]
    print(f"ok: {summary.claims} claims {summary.statuses}; "
          f"notebook {summary.notebook}; {len(summary.figures)} figures in {Path(args.out) / 'figures'}")
    return 0
