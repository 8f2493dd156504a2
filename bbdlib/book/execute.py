"""Execute every chapter in parallel into the jupyter-cache that the book build then reads.

``make book`` calls ``python -m bbdlib execute``: it checks every chapter exists and the cache
folder is new, empty, or one an earlier ``execute`` made (marked by a ``.bbdlib-execute`` file;
any other folder is refused, never deleted), then wipes that cache (every build runs every
chapter from scratch, since jupyter-cache keys on cell source only and would not see a change
in ``bbdlib``), adds each chapter's MyST source to a fresh cache project (read with jupytext),
and executes them with jupyter-cache's ``local-parallel`` executor, one process per core.
``jupyter-book build`` (``execute_notebooks: cache``) then finds every chapter cached and
executes nothing.  A chapter that fails stops the build here, with its traceback.
"""
from __future__ import annotations

import os
import shutil
import sys
import time
from pathlib import Path

__all__ = ["execute_chapters"]

_MARKER = ".bbdlib-execute"


def _check_cache(cache_path: Path) -> Path:
    """``cache_path`` resolved, if it may be (re)made; else ValueError saying why not."""
    from bbdlib.book.claims import repo_root

    resolved = cache_path.resolve()
    for root in {r for r in (repo_root(), repo_root(Path(__file__).resolve().parent)) if r is not None}:
        if resolved == root or resolved in root.parents:
            raise ValueError(f"--cache {cache_path} is the repository root or above it")
        chapters = root / "chapters"
        if resolved == chapters or chapters in resolved.parents:
            raise ValueError(f"--cache {cache_path} is chapters/ or inside it")
        if resolved == root / "_build":
            raise ValueError(f"--cache {cache_path} is _build/ itself; use e.g. _build/.jupyter_cache")
    if resolved.exists():
        if not resolved.is_dir():
            raise ValueError(f"--cache {cache_path} exists and is not a folder")
        if any(resolved.iterdir()) and not (resolved / _MARKER).is_file():
            raise ValueError(f"--cache {cache_path} is a folder that 'bbdlib execute' did not make; "
                             "it is left as it is: give a new or empty folder")
    return resolved


def execute_chapters(chapters: list[str | Path], cache_path: str | Path, *,
                     timeout: int = 900) -> int:
    """Execute chapters into a fresh jupyter-cache, one process per core.

    Parameters
    ----------
    chapters : list of str or pathlib.Path
        The chapters' MyST sources.
    cache_path : str or pathlib.Path
        The cache folder: new, empty, or made by an earlier call (then wiped first).
    timeout : int
        Seconds a cell may run.

    Returns
    -------
    int
        How many chapters failed (each is reported on stderr with its traceback).

    Raises
    ------
    FileNotFoundError
        If a chapter does not exist (checked before anything is touched).
    ValueError
        If ``cache_path`` is a file, the repository root or above it, ``chapters/`` or
        inside it, or a non-empty folder this function did not make.
    """
    from jupyter_cache import get_cache
    from jupyter_cache.executors import load_executor

    if isinstance(chapters, (str, Path)) or not chapters:
        raise ValueError(f"chapters must be a non-empty list of paths, got {chapters!r}")
    paths = [Path(p) for p in chapters]
    for path in paths:
        if path.suffix != ".md" or not path.is_file():
            raise FileNotFoundError(f"chapter {str(path)!r} does not exist (a chapters/**/*.md file)")
    if isinstance(timeout, bool) or not isinstance(timeout, int) or timeout <= 0:
        raise ValueError(f"timeout must be a positive number of seconds, got {timeout!r}")
    cache_path = _check_cache(Path(cache_path))
    # A kernel draws figures inline only if MPLBACKEND does not force another backend.
    os.environ.pop("MPLBACKEND", None)
    if cache_path.exists():
        shutil.rmtree(cache_path)
    cache_path.mkdir(parents=True)
    (cache_path / _MARKER).write_text("made by python -m bbdlib execute; wiped by the next one\n",
                                      encoding="utf-8")
    cache = get_cache(str(cache_path))
    for path in paths:
        cache.add_nb_to_project(str(path.resolve()), read_data={"name": "jupytext", "type": "plugin"})
    start = time.perf_counter()
    result = load_executor("local-parallel", cache=cache).run_and_cache(timeout=timeout)
    elapsed = time.perf_counter() - start
    failed = list(result.errored) + list(result.excepted)
    for uri in failed:
        record = cache.get_project_record(uri)
        print(f"FAILED {uri}\n{record.traceback or ''}", file=sys.stderr)
    for record in cache.list_cache_records():
        source = Path(record.uri)
        shown = source.relative_to(Path.cwd()) if source.is_relative_to(Path.cwd()) else record.uri
        print(f"executed {shown} in {record.data.get('execution_seconds', float('nan')):.1f} s")
    print(f"{len(result.succeeded)} chapters executed, {len(failed)} failed, {elapsed:.1f} s wall")
    return len(failed)
