"""Bitwise-exact sharing of the expensive steps of the Figures and k(n) chapters (II.7, II.8).

Chapters II.7 and II.8 train and fit the same compositions with the same seeds
(:func:`bbdlib.duality.experiments.experiment_rng`), in separate kernels.  :func:`memo_call`
runs a function that draws from a ``numpy.random.Generator`` once and stores, on disk, its
result *and the generator's state after the call*; a second call with the same function,
arguments and generator state (in any process) loads both, so the caller's generator
continues exactly as if the function had run.  Results are therefore bitwise identical with
and without the store: it only removes repeated work.

The key hashes the function's module and name, every argument (arrays by dtype, shape and
bytes; anything else by its pickle), the generator's state, the source of the function's
module and of every bbdlib module it imports, transitively (all the code it can run), and the
numpy and Python versions, so that any change of code or input is a new key.  Entries are
written atomically and guarded by a lock file, so that two processes that need the same entry
compute it once.

The store lives in ``$BBDLIB_CACHE_DIR`` if set, else ``_build/cache/duality`` next to the
``bbdlib`` package; ``BBDLIB_CACHE_DIR=off`` disables it (as does an unwritable folder).
"""
from __future__ import annotations

import ast
import fcntl
import hashlib
import os
import pickle
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["memo_call", "cache_dir", "source_hash", "CACHE_ENV"]

#: Environment variable naming the store's folder ("off" disables the store)
CACHE_ENV = "BBDLIB_CACHE_DIR"
_PACKAGE = Path(__file__).resolve().parents[1]
_SOURCE_HASH: dict[str, str] = {}


def _module_file(name: str) -> Path | None:
    parts = name.split(".")
    if parts[0] != "bbdlib":
        return None
    base = _PACKAGE.joinpath(*parts[1:])
    for cand in (base.with_suffix(".py"), base / "__init__.py"):
        if cand.is_file():
            return cand
    return None


def _dependencies(module: str) -> list[Path]:
    """The source files of ``module`` and of every bbdlib module it imports, transitively
    (every import statement of the files, in functions too, read with :mod:`ast`)."""
    seen: dict[str, Path] = {}
    todo = [module]
    while todo:
        name = todo.pop()
        path = _module_file(name)
        if path is None or name in seen:
            continue
        seen[name] = path
        parts = name.split(".")
        todo += [".".join(parts[:i]) for i in range(1, len(parts))]      # the packages' __init__
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                todo += [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                todo.append(node.module)
                todo += [f"{node.module}.{a.name}" for a in node.names]   # "from pkg import module"
    return sorted(seen.values())


def source_hash(module: str = __name__) -> str:
    """Hash of the source of ``module`` and of every bbdlib module it imports, transitively
    (all the code a stored function can run), with the numpy and Python versions.

    Parameters
    ----------
    module : str
        A module name (default: this one).

    Returns
    -------
    str
        Hex digest (computed once per process and module).
    """
    if module not in _SOURCE_HASH:
        h = hashlib.blake2b(digest_size=16)
        h.update(f"numpy {np.__version__}; python {sys.version}".encode())
        for p in _dependencies(module):
            h.update(str(p.relative_to(_PACKAGE)).encode())
            h.update(p.read_bytes())
        _SOURCE_HASH[module] = h.hexdigest()
    return _SOURCE_HASH[module]


def cache_dir() -> Path | None:
    """The store's folder, or None when it is disabled (``BBDLIB_CACHE_DIR=off``).

    Returns
    -------
    pathlib.Path or None
    """
    env = os.environ.get(CACHE_ENV, "")
    if env.strip().lower() in ("off", "0", "none", "false"):
        return None
    return Path(env) if env else _PACKAGE.parent / "_build" / "cache" / "duality"


def _feed(h, obj: Any) -> None:
    if isinstance(obj, np.ndarray):
        a = np.ascontiguousarray(obj)
        h.update(f"ndarray {a.dtype.str} {a.shape}".encode())
        h.update(memoryview(a).cast("B"))
    elif isinstance(obj, (tuple, list)):
        h.update(f"{type(obj).__name__} {len(obj)}".encode())
        for v in obj:
            _feed(h, v)
    elif isinstance(obj, dict):
        h.update(f"dict {len(obj)}".encode())
        for k in sorted(obj, key=repr):
            _feed(h, k)
            _feed(h, obj[k])
    else:
        h.update(pickle.dumps(obj, protocol=4))


def _key(fn: Callable, args: tuple, kwargs: dict, rng: np.random.Generator) -> str:
    h = hashlib.blake2b(digest_size=20)
    h.update(f"{fn.__module__}.{fn.__qualname__} {source_hash(fn.__module__)}".encode())
    _feed(h, args)
    _feed(h, kwargs)
    _feed(h, rng.bit_generator.state)
    return h.hexdigest()


def memo_call(fn: Callable, *args, rng: np.random.Generator, **kwargs):
    """``fn(*args, rng=rng, **kwargs)``, loaded from the store when it was computed before.

    On a hit the generator ``rng`` is set to the state it had after the original call, so
    everything drawn from it afterwards is the same as without the store.

    Parameters
    ----------
    fn : callable
        A deterministic function of its arguments and of ``rng``.
    *args, **kwargs
        Its arguments.
    rng : numpy.random.Generator
        The generator it draws from (keyword ``rng`` of ``fn``).

    Returns
    -------
    object
        What ``fn`` returns.
    """
    if not callable(fn):
        raise TypeError(f"fn must be callable, got {type(fn).__name__}")
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"rng must be a numpy.random.Generator, got {type(rng).__name__}")
    folder = cache_dir()
    if folder is None:
        return fn(*args, rng=rng, **kwargs)
    key = _key(fn, args, kwargs, rng)
    path = folder / key[:2] / f"{key}.pkl"
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        lock = open(path.with_suffix(".lock"), "a")
    except OSError:
        return fn(*args, rng=rng, **kwargs)
    with lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # one process computes an entry; the others wait for it
        try:
            if path.exists():
                try:
                    with open(path, "rb") as fh:
                        result, state = pickle.load(fh)
                    rng.bit_generator.state = state
                    return result
                except (OSError, pickle.UnpicklingError, EOFError, ValueError, TypeError):
                    pass  # an unreadable entry is recomputed
            result = fn(*args, rng=rng, **kwargs)
            try:
                fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
                with os.fdopen(fd, "wb") as fh:
                    pickle.dump((result, rng.bit_generator.state), fh, protocol=4)
                os.replace(tmp, path)
            except OSError:
                pass
            return result
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
