"""Execute every chapter in parallel into the jupyter-cache that the book build then reads.

``make book`` calls ``python -m bbdlib execute``: it wipes the cache (every build runs every
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


def execute_chapters(chapters: list[str | Path], cache_path: str | Path, *,
                     timeout: int = 900) -> int:
    """Execute chapters into a fresh jupyter-cache, one process per core.

    Parameters
    ----------
    chapters : list of str or pathlib.Path
        The chapters' MyST sources.
    cache_path : str or pathlib.Path
        The cache folder; wiped first if it exists.
    timeout : int
        Seconds a cell may run.

    Returns
    -------
    int
        How many chapters failed (each is reported on stderr with its traceback).

    Raises
    ------
    FileNotFoundError
        If a chapter does not exist.
    """
    from jupyter_cache import get_cache
    from jupyter_cache.executors import load_executor

    cache_path = Path(cache_path)
    # A kernel draws figures inline only if MPLBACKEND does not force another backend.
    os.environ.pop("MPLBACKEND", None)
    if cache_path.exists():
        shutil.rmtree(cache_path)
    cache = get_cache(str(cache_path))
    for path in chapters:
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"chapter {str(path)!r} does not exist")
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
