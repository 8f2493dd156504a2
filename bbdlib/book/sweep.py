"""Parameter sweeps on Dask: ``python -m bbdlib sweep CHAPTER -p NAME VALUES ... --out DIR``.

The grid is the Cartesian product of the values of every ``-p`` (a comma list, items
read as :func:`bbdlib.book.cli.parse_value` reads a ``-p`` value, or ``a..b`` for the
integers a to b).  Every point is checked against the chapter's ``parameters`` cell and
its validation cell (:func:`bbdlib.book.cli.check_parameters`) before any task starts.
Each point is then one ``bbdlib run`` of the chapter, executed as a task on Dask's
``distributed`` scheduler: a ``LocalCluster`` (one thread per worker) or any existing
cluster (``--scheduler``).  A task carries the chapter's source and the parameters; the
worker writes them into a scratch folder, runs ``python -m bbdlib run`` there, and
returns the run's files (executed notebook, figures, ledger, ``summary.json``) as bytes,
so workers need bbdlib installed but no shared file system.  The client writes them to
``DIR/<id>/`` where ``<id>`` is a stable name of the parameters (:func:`point_id`).

Into ``DIR`` go ``sweep.json`` (written at the start with every run pending, and after
every run; each run's parameters, status, failure and every claim with its declared
status, whether it held and its measured value), ``summary.md`` and ``sweep.png``
(claims against the swept values, held or flipped).  A run whose result is complete
(status ``ok`` or ``failed`` of the chapter itself, same chapter source) is skipped, so
an interrupted sweep resumes where it stopped.  A failed run is recorded with its error
and the sweep goes on; a worker lost mid-run has its task retried by Dask (the
scheduler's ``allowed-failures``), and a task that still cannot finish is recorded as
``lost``.  The run's processes are held to the worker's memory limit (Dask's
``memory_limit``): a run that exceeds it is stopped and recorded as ``memory``.

``python -m bbdlib.book.sweep robustness --out FILE`` sweeps every chapter that has a
``seed`` parameter over seeds (other parameters at their defaults), lists the others as
deterministic, and writes every claim's outcome at every seed and its hold rate to FILE
(``make robustness``: ``_build/robustness.json``).  With ``--book _build`` the point at a
chapter's defaults is taken from the book build's run when that build provably ran the same
source (:func:`book_run`), and the runs start longest first by the build's execution times
(:func:`longest_first`); ``--sweep`` adds sweeps run on the same cluster (the k(n) map of
chapter II.8, read by :func:`kn_map`).  Every run records its wall, CPU and kernel seconds.
"""
from __future__ import annotations

import argparse
import ctypes
import hashlib
import itertools
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from bbdlib.book.claims import Claim, repo_root, status_counts
from bbdlib.book.cli import (
    _LOCK,
    RunSummary,
    UsageError,
    _commit,
    _lock,
    _now,
    _save_figures,
    _this_runs_claims,
    _write_json,
    check_out_folder,
    check_parameters,
    parameter_names,
    parse_value,
)

__all__ = ["COMPLETE", "SWEEP_STATUSES", "BookRun", "Job", "KnMap", "KnPoint", "axis_values", "book_estimates",
           "book_run", "execute_point", "grid", "kn_map", "longest_first", "main", "plot_kn_map", "point_id",
           "robustness", "run_sweep"]

#: Statuses of a run in ``sweep.json``.
SWEEP_STATUSES = ("pending", "ok", "failed", "timed out", "interrupted", "memory", "lost")
#: The statuses of a complete result (the chapter's own outcome): skipped on resume.
COMPLETE = ("ok", "failed")
_TOOL = "bbdlib sweep"
_INT_RANGE = re.compile(r"^\s*(-?\d+)\s*\.\.\s*(-?\d+)\s*$")
#: ``python -m bbdlib`` as a task runs it, less one import: jsonschema (which nbformat imports)
#: imports the optional ``rfc3987_syntax``, whose grammar takes about 2 CPU seconds to build, for
#: its "iri" format checks; nbformat's schemas use no string formats, so a run's reading and
#: writing of notebooks is the same without it, and every run is 2 CPU seconds cheaper.
_RUNNER = ("import sys; sys.modules.setdefault('rfc3987_syntax', None); "
           "from bbdlib.book.cli import main; sys.exit(main(sys.argv[1:]))")


def _split_top_level(text: str) -> list[str]:
    """``text`` split at the commas outside brackets and quotes."""
    items, depth, quote, start = [], 0, "", 0
    for i, ch in enumerate(text):
        if quote:
            if ch == quote and text[i - 1] != "\\":
                quote = ""
        elif ch in "'\"":
            quote = ch
        elif ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        elif ch == "," and depth == 0:
            items.append(text[start:i])
            start = i + 1
    items.append(text[start:])
    return [s.strip() for s in items]


def axis_values(name: str, text: str) -> list[Any]:
    """The values of one swept parameter.

    Parameters
    ----------
    name : str
        The parameter (for messages).
    text : str
        ``a..b`` (the integers a, a+1, ..., b) or a comma list; each item is read as a
        ``-p`` value (:func:`bbdlib.book.cli.parse_value`); commas inside brackets or
        quotes do not split, so ``(3,6,2),(3,8,2)`` is two tuples.

    Returns
    -------
    list
        The values, in the order given.

    Raises
    ------
    TypeError
        If ``text`` is not a string.
    UsageError
        For an empty item, an empty or reversed range, or a value given twice.
    """
    if not isinstance(text, str):
        raise TypeError(f"parameter {name!r}: the values must be given as text, got {type(text).__name__}")
    m = _INT_RANGE.match(text)
    if m:
        a, b = int(m.group(1)), int(m.group(2))
        if b < a:
            raise UsageError(f"parameter {name!r}: range {text!r} is empty (give a..b with a <= b)")
        if b - a >= 10_000:
            raise UsageError(f"parameter {name!r}: range {text!r} has more than 10000 values")
        return list(range(a, b + 1))
    items = _split_top_level(text)
    if any(not s for s in items):
        raise UsageError(f"parameter {name!r}: empty value in {text!r}")
    values = [parse_value(name, s) for s in items]
    keys = [json.dumps(v, sort_keys=True, default=repr) for v in values]
    if len(set(keys)) != len(keys):
        raise UsageError(f"parameter {name!r}: a value is given twice in {text!r}")
    return values


def grid(axes: dict[str, list[Any]]) -> list[dict[str, Any]]:
    """The Cartesian product of the axes, the last one varying fastest.

    Parameters
    ----------
    axes : dict
        ``{name: list of values}``.

    Returns
    -------
    list of dict
        One ``{name: value}`` per point.

    Raises
    ------
    TypeError
        If ``axes`` is not a dict of non-empty lists.
    """
    if not isinstance(axes, dict) or not all(isinstance(v, list) and v for v in axes.values()):
        raise TypeError(f"axes must be a dict of non-empty lists, got {axes!r}")
    names = list(axes)
    return [dict(zip(names, combo, strict=True)) for combo in itertools.product(*(axes[n] for n in names))]


def point_id(parameters: dict[str, Any]) -> str:
    """A stable folder name for a set of parameters.

    Parameters
    ----------
    parameters : dict
        ``{name: value}`` (JSON-representable values).

    Returns
    -------
    str
        ``name=value_...`` (sorted by name, at most 60 characters of ``[A-Za-z0-9._=+-]``)
        followed by ``-`` and 10 hex digits of the SHA-256 of the canonical JSON, so
        equal parameters give the same id on every machine; ``defaults-<hash>`` if empty.
    """
    if not isinstance(parameters, dict):
        raise TypeError(f"parameters must be a dict, got {type(parameters).__name__}")
    canonical = json.dumps(parameters, sort_keys=True, separators=(",", ":"), default=repr)
    digest = hashlib.sha256(canonical.encode()).hexdigest()[:10]
    readable = "_".join(f"{k}={json.dumps(parameters[k], default=repr)}" for k in sorted(parameters))
    readable = re.sub(r"[^A-Za-z0-9._=+-]+", "", readable)[:60] or "defaults"
    return f"{readable}-{digest}"


# --------------------------------------------------------------------------- worker side

def _die_with_parent() -> None:  # pragma: no cover - runs in the child before exec
    """The run dies when the worker thread that started it does (Linux ``PR_SET_PDEATHSIG``)."""
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)
    except OSError:
        pass
    os.setsid()


def _tree_rss(proc) -> int:
    import psutil

    total = 0
    try:
        for p in [proc, *proc.children(recursive=True)]:
            try:
                total += p.memory_info().rss
            except psutil.Error:
                pass
    except psutil.Error:
        pass
    return total


def _kill_tree(proc) -> None:
    import psutil

    try:
        victims = [proc, *proc.children(recursive=True)]
    except psutil.Error:
        victims = [proc]
    for p in victims:
        try:
            p.kill()
        except psutil.Error:
            pass


def _worker_memory_limit() -> int | None:
    try:
        from distributed import get_worker

        limit = get_worker().memory_manager.memory_limit
    except (ImportError, ValueError, AttributeError):
        return None
    return int(limit) if limit else None


def execute_point(source: str, relpath: str, parameters: dict[str, Any], timeout: float | None = None,
                  memory_limit: int | None = None) -> dict[str, Any]:
    """Run one point of a sweep (a Dask task): ``bbdlib run`` in a scratch folder.

    Parameters
    ----------
    source : str
        The chapter's MyST source.
    relpath : str
        Its path under ``chapters/``, e.g. ``"duality/08-power-law-sweep.md"``.
    parameters : dict
        The run's parameters.
    timeout : float, optional
        The run's ``--timeout`` in seconds.
    memory_limit : int, optional
        Bytes the run's processes may hold; default the Dask worker's ``memory_limit``.

    Returns
    -------
    dict
        ``files`` (``{relative path: bytes}`` of everything the run wrote), ``summary``
        (its ``summary.json``, or None), ``returncode``, ``stderr`` (the last 4000
        characters), ``memory`` (``{"peak": bytes, "limit": bytes, "exceeded": bool}``),
        ``seconds`` (wall), ``cpu_seconds`` (user + system time of the run's process and
        every process it waited for, the kernel included; None if it could not be read)
        and ``host``.
    """
    import psutil

    if not isinstance(relpath, str) or not re.fullmatch(r"[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+\.md", relpath):
        raise ValueError(f"relpath must be '<part>/<name>.md', got {relpath!r}")
    limit = memory_limit if memory_limit is not None else _worker_memory_limit()
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="bbdlib-sweep-") as tmp:
        chapter = Path(tmp) / "chapters" / relpath
        chapter.parent.mkdir(parents=True)
        chapter.write_text(source, encoding="utf-8")
        out = Path(tmp) / "run"
        cmd = [sys.executable, "-c", _RUNNER, "run", str(chapter), "--out", str(out)]
        for name, value in parameters.items():
            cmd += ["-p", name, repr(value)]
        if timeout is not None:
            cmd += ["--timeout", repr(float(timeout))]
        env = dict(os.environ)
        for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
            env.setdefault(var, "1")
        env.pop("MPLBACKEND", None)
        log = Path(tmp) / "stderr.txt"
        peak, exceeded, cpu, returncode = 0, False, None, None
        with open(log, "wb") as err:
            proc = psutil.Popen(cmd, cwd=tmp, env=env, stdin=subprocess.DEVNULL, stdout=err, stderr=err,
                                preexec_fn=_die_with_parent)  # noqa: PLW1509 - prctl, then setsid
            hard = None if timeout is None else started + float(timeout) + 120
            while True:
                # wait4 reaps the run and gives its resource usage, which includes every
                # descendant it waited for (the kernel): the CPU seconds of the whole run.
                try:
                    pid, wstatus, usage = os.wait4(proc.pid, os.WNOHANG)
                except ChildProcessError:  # reaped elsewhere: no usage
                    returncode = proc.poll()
                    break
                if pid:
                    returncode = os.waitstatus_to_exitcode(wstatus)
                    cpu = usage.ru_utime + usage.ru_stime
                    break
                rss = _tree_rss(proc)
                peak = max(peak, rss)
                if limit and rss > limit:
                    exceeded = True
                    _kill_tree(proc)
                elif hard is not None and time.monotonic() > hard:
                    _kill_tree(proc)
                time.sleep(0.25)
        files = {str(p.relative_to(out)): p.read_bytes() for p in sorted(out.rglob("*"))
                 if p.is_file() and p.name != _LOCK and not p.name.endswith(".tmp")} if out.is_dir() else {}
        summary = json.loads(files["summary.json"]) if "summary.json" in files else None
        return {"files": files, "summary": summary, "returncode": returncode,
                "stderr": log.read_text(encoding="utf-8", errors="replace")[-4000:],
                "memory": {"peak": peak, "limit": limit, "exceeded": exceeded},
                "seconds": time.monotonic() - started, "cpu_seconds": cpu, "host": os.uname().nodename}


# --------------------------------------------------------------------------- client side

@dataclass(frozen=True)
class Job:
    """One run of a sweep: a chapter, its parameters and the folder of its result.

    Attributes
    ----------
    chapter : pathlib.Path
        The chapter's MyST source.
    parameters : dict
        The run's parameters (the swept ones).
    id : str
        :func:`point_id` of the parameters.
    folder : pathlib.Path
        ``<sweep out>/<id>``.
    """

    chapter: Path
    parameters: dict
    id: str
    folder: Path


@dataclass
class _Sweep:
    chapter: Path
    axes: dict
    out: Path
    source: str
    sha: str
    jobs: list
    records: dict = field(default_factory=dict)
    lock: int | None = None
    started: str = ""

    @property
    def relpath(self) -> str:
        return f"{self.chapter.parent.name}/{self.chapter.name}"

    def payload(self, status: str) -> dict:
        return {"tool": _TOOL, "status": status, "chapter": str(self.chapter), "axes": self.axes,
                "source_sha256": self.sha, "commit": _commit(repo_root(self.chapter.parent)),
                "started": self.started, "ended": None if status == "running" else _now(),
                "counts": {s: sum(r["status"] == s for r in self.records.values()) for s in SWEEP_STATUSES},
                "runs": [self.records[j.id] for j in self.jobs]}

    def write(self, status: str = "running") -> None:
        _write_json(self.out / "sweep.json", self.payload(status))


def _is_sweep_folder(out: Path) -> bool:
    try:
        return json.loads((out / "sweep.json").read_text(encoding="utf-8")).get("tool") == _TOOL
    except (OSError, ValueError, AttributeError):
        return False


def _check_sweep_out(out: str | Path, chapter: Path, *, allow_build: bool = False) -> Path:
    """The sweep's folder: new, empty, or an earlier sweep's; where it may be as for ``bbdlib run``.

    ``allow_build`` admits a folder inside the repository's ``_build/`` (``make robustness``).
    """
    if not isinstance(out, (str, Path)) or not str(out).strip():
        raise UsageError(f"--out must be a folder path, got {out!r}")
    path = Path(out).resolve()
    if path.exists() and not path.is_dir():
        raise UsageError(f"--out {path} exists and is not a folder")
    if path.is_dir() and any(p.name != _LOCK for p in path.iterdir()) and not _is_sweep_folder(path):
        raise UsageError(f"--out {path} holds files that no 'bbdlib sweep' wrote; give a new or empty folder")
    root = repo_root(chapter.parent)
    if allow_build and root is not None and (root / "_build") in path.parents:
        return path
    check_out_folder(path / ".bbdlib-sweep-probe", chapter)  # the rules of bbdlib run for the location
    if root is not None and (path == root or path in root.parents):
        raise UsageError(f"--out {path} is the repository root or above it; give a new folder")
    return path


def _claim_rows(claims) -> list[dict]:
    return [{"ref": c.ref, "claim": c.claim, "kind": c.kind, "status": c.status, "held": c.failure is None,
             "measured": c.measured, "expected": c.expected, "tolerance": c.tolerance, "failure": c.failure,
             "extra": c.extra}
            for c in claims]


def _earlier(sweep: _Sweep, job: Job) -> dict | None:
    """The record of a complete earlier result of ``job`` (same source), else None."""
    try:
        old = {r["id"]: r for r in json.loads((sweep.out / "sweep.json").read_text(encoding="utf-8"))["runs"]}
    except (OSError, ValueError, KeyError, TypeError):
        return None
    rec = old.get(job.id)
    if not rec or rec.get("status") not in COMPLETE or rec.get("source_sha256") != sweep.sha:
        return None
    try:
        summary = json.loads((job.folder / "summary.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if summary.get("given") != job.parameters or summary.get("status") not in COMPLETE:
        return None
    if not Path(job.folder / Path(summary.get("notebook", "")).name).is_file():
        return None
    return dict(rec, resumed=True)


def _prepare(chapter: str | Path, axes: dict[str, list[Any]], out: str | Path, *,
             allow_build: bool = False) -> _Sweep:
    """Validate every point and the folder; nothing written."""
    if not isinstance(axes, dict) or not axes:
        raise UsageError("give at least one parameter to sweep (-p NAME VALUES)")
    points = grid(axes)
    path = None
    for point in points:
        try:
            path, _, _ = check_parameters(chapter, point)
        except UsageError as exc:
            raise UsageError(f"{exc} (point {point})") from None
    path = Path(path)
    out = _check_sweep_out(out, path, allow_build=allow_build)
    source = path.read_text(encoding="utf-8")
    jobs = [Job(chapter=path, parameters=p, id=point_id(p), folder=out / point_id(p)) for p in points]
    return _Sweep(chapter=path, axes=axes, out=out, source=source,
                  sha=hashlib.sha256(source.encode()).hexdigest(), jobs=jobs)


def _pending_record(sweep: _Sweep, job: Job) -> dict:
    return {"id": job.id, "parameters": job.parameters, "folder": str(job.folder), "status": "pending",
            "failure": None, "flipped": [], "claims": [], "seconds": None, "cpu_seconds": None,
            "kernel_seconds": None, "host": None, "memory": None, "source_sha256": sweep.sha}


def _start(sweep: _Sweep) -> list[Job]:
    """Lock the folder, write the pending ``sweep.json``; the jobs still to run."""
    sweep.out.mkdir(parents=True, exist_ok=True)
    sweep.lock = _lock(sweep.out)
    sweep.started = _now()
    todo = []
    for job in sweep.jobs:
        rec = _earlier(sweep, job)
        if rec is None:
            todo.append(job)
            rec = _pending_record(sweep, job)
        sweep.records[job.id] = rec
    sweep.write()
    return todo


def _store(sweep: _Sweep, job: Job, result: dict | None, error: str | None) -> dict:
    """Write a task's files into the job's folder and record the run."""
    rec = _pending_record(sweep, job)
    if result is None:
        rec.update(status="lost", failure=error)
        sweep.records[job.id] = rec
        return rec
    job.folder.mkdir(parents=True, exist_ok=True)
    for rel, data in result["files"].items():
        target = (job.folder / rel).resolve()
        if job.folder.resolve() not in target.parents:
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    summary = result["summary"] or {}
    mem = result["memory"]
    status = summary.get("status", "failed")
    failure = summary.get("failure")
    if mem["exceeded"]:
        status = "memory"
        failure = (f"the run's processes held {mem['peak'] / 2**30:.2f} GiB, over the worker's memory "
                   f"limit of {mem['limit'] / 2**30:.2f} GiB: stopped")
    elif not summary or status == "running":
        status, failure = "failed", (f"the run ended without a final summary (exit code {result['returncode']}): "
                                     + result["stderr"][-500:].strip())
    stem = job.chapter.stem
    fixed = dict(summary, chapter=str(job.chapter), notebook=str(job.folder / f"{stem}.ipynb"),
                 figures=[str(job.folder / "figures" / Path(f).name) for f in summary.get("figures", [])])
    if status in ("memory", "failed") and summary.get("status") in (None, "running"):
        fixed.update(status="interrupted" if status == "memory" else "failed", failure=failure, ended=_now())
    known = {f.name for f in RunSummary.__dataclass_fields__.values()}
    if summary:
        _write_json(job.folder / "summary.json", {k: v for k, v in fixed.items() if k in known})
    ledger = job.folder / "claims" / f"{job.chapter.parent.name}__{stem}.json"
    claims = _this_runs_claims(ledger, summary.get("run_id", "")) if summary else []
    cpu = result.get("cpu_seconds")
    rec.update(status=status, failure=failure, flipped=summary.get("flipped", []), claims=_claim_rows(claims),
               seconds=round(result["seconds"], 2), cpu_seconds=None if cpu is None else round(cpu, 2),
               kernel_seconds=_kernel_seconds(job.folder / f"{stem}.ipynb"), host=result["host"], memory=mem)
    sweep.records[job.id] = rec
    return rec


def _kernel_seconds(notebook: Path) -> float | None:
    """Seconds papermill spent executing the cells (``metadata.papermill.duration``), or None.

    The rest of a run's wall time is its overhead: starting Python, papermill and the kernel,
    the chapter's validation, writing the notebook and figures, moving the files.
    """
    try:
        meta = json.loads(notebook.read_text(encoding="utf-8"))["metadata"]["papermill"]
        return round(float(meta["duration"]), 2) if meta.get("duration") is not None else None
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _client(workers: int | None, scheduler: str | None, memory_limit: str | int | None):
    import logging

    from distributed import Client, LocalCluster

    if scheduler:
        return Client(scheduler, timeout="30s"), None
    cluster = LocalCluster(n_workers=workers or os.cpu_count() or 1, threads_per_worker=1, processes=True,
                           memory_limit=memory_limit if memory_limit is not None else "auto",
                           dashboard_address=None, silence_logs=logging.ERROR)
    return Client(cluster), cluster


def _slots(client) -> int:
    """Tasks the cluster runs at once (the threads of its workers; at least 1)."""
    try:
        workers = client.scheduler_info()["workers"].values()
        return max(1, sum(int(w.get("nthreads", 1)) for w in workers))
    except Exception:  # noqa: BLE001 - a client without scheduler_info (tests): one at a time
        return 1


def longest_first(todo: list[tuple[Any, Job]], estimates: dict | None) -> list[tuple[Any, Job]]:
    """The jobs in the order they are started: the longest expected first.

    With every task started as soon as a worker is free, starting the longest first
    (Graham's LPT rule) leaves only short tasks for the end, so the workers finish together
    instead of one waiting on a long task started last.

    Parameters
    ----------
    todo : list of (sweep, Job)
        The jobs to run.
    estimates : dict, optional
        Expected seconds of a run by chapter path (e.g. the book build's execution times);
        a chapter without an estimate keeps its place after the estimated ones.

    Returns
    -------
    list of (sweep, Job)
        The same jobs, estimated ones by decreasing estimate (ties in the given order).
    """
    est = estimates or {}
    return sorted(todo, key=lambda sj: -float(est.get(sj[1].chapter, -1.0)))


def _execute(sweeps: list[_Sweep], todo: list[tuple[_Sweep, Job]], *, workers: int | None = None,
             scheduler: str | None = None, timeout: float | None = None,
             memory_limit: str | int | None = None, client=None, stream=None,
             estimates: dict | None = None) -> None:
    """Run the jobs as Dask tasks, store each result as it arrives, count on ``stream``.

    The tasks are handed to the cluster one per free worker thread, longest expected first
    (:func:`longest_first`), so Dask's own placement cannot queue a long run behind others.
    """
    from distributed import as_completed

    stream = stream if stream is not None else sys.stderr
    total = sum(len(s.jobs) for s in sweeps)
    done = total - len(todo)
    if done:
        print(f"sweep: {done} of {total} runs already complete (skipped)", file=stream, flush=True)
    if not todo:
        return
    own = client is None
    cluster = None
    if own:
        client, cluster = _client(workers, scheduler, memory_limit)
    try:
        queue = longest_first(todo, estimates)
        futures = {}
        running = as_completed()

        def submit_next() -> None:
            sweep, job = queue.pop(0)
            fut = client.submit(execute_point, sweep.source, sweep.relpath, job.parameters, timeout,
                                key=f"bbdlib-run-{sweep.chapter.stem}-{job.id}-{os.getpid()}", pure=False,
                                retries=1)
            futures[fut] = (sweep, job)
            running.add(fut)

        for _ in range(min(_slots(client), len(queue))):
            submit_next()
        for fut in running:
            if queue:
                submit_next()
            sweep, job = futures.pop(fut)
            try:
                result, error = fut.result(), None
            except Exception as exc:  # noqa: BLE001 - KilledWorker after retries, a task error
                result, error = None, f"{type(exc).__name__}: {exc}"
            rec = _store(sweep, job, result, error)
            sweep.write()
            done += 1
            took = f" {rec['seconds']:.0f} s" if rec["seconds"] is not None else ""
            print(f"[{done}/{total}] {rec['status']:<8} {sweep.chapter.stem} {job.parameters}{took}",
                  file=stream, flush=True)
    finally:
        if own:
            client.close()
            if cluster is not None:
                cluster.close()


def _finish(sweep: _Sweep, status: str) -> None:
    sweep.write(status)
    try:
        _write_report(sweep)
    finally:
        if sweep.lock is not None:
            os.close(sweep.lock)
            sweep.lock = None


def _label(params: dict) -> str:
    return ", ".join(f"{k}={v}" for k, v in params.items())


def _write_report(sweep: _Sweep) -> None:
    """``summary.md`` and ``sweep.png``: every claim against the swept values, held or flipped."""
    runs = [sweep.records[j.id] for j in sweep.jobs]
    keys: list[tuple[str, str]] = []
    for r in runs:
        for c in r["claims"]:
            if (c["ref"], c["claim"]) not in keys:
                keys.append((c["ref"], c["claim"]))
    cell = {}
    for i, r in enumerate(runs):
        for c in r["claims"]:
            cell[(keys.index((c["ref"], c["claim"])), i)] = c
    figure = None
    if keys and runs:
        import matplotlib

        matplotlib.use("Agg", force=False)
        import matplotlib.pyplot as plt
        from matplotlib.colors import ListedColormap

        # 0 not evaluated, 1 held, 2 flipped (Okabe-Ito grey, bluish green, vermillion)
        grid_ = [[0 if (k, i) not in cell else (1 if cell[(k, i)]["held"] else 2) for i in range(len(runs))]
                 for k in range(len(keys))]
        fig, ax = plt.subplots(figsize=(min(7.6, 5.0 + 0.35 * len(runs)), 1.2 + 0.22 * len(keys)), dpi=100)
        ax.imshow(grid_, cmap=ListedColormap(["#bbbbbb", "#009E73", "#D55E00"]), vmin=0, vmax=2, aspect="auto")
        ax.set_yticks(range(len(keys)), [f"{ref}: {claim[:40]}" for ref, claim in keys], fontsize=7)
        ax.set_xticks(range(len(runs)), [_label(r["parameters"]) for r in runs], fontsize=7, rotation=60,
                      ha="right")
        ax.set_title("claims per run: green held, red flipped, grey not evaluated", fontsize=9)
        fig.tight_layout()
        figure = sweep.out / "sweep.png"
        fig.savefig(figure)
        plt.close(fig)
    lines = [f"# Sweep of {sweep.relpath}", "",
             f"Axes: {', '.join(f'`{k}` = {v}' for k, v in sweep.axes.items())}; {len(runs)} runs "
             f"({', '.join(f'{s} {n}' for s, n in sweep.payload('x')['counts'].items() if n)}).", ""]
    lines += ["| run | status | claims held | failure |", "| --- | --- | --- | --- |"]
    for r in runs:
        held = sum(c["held"] for c in r["claims"])
        fail = (r["failure"] or "").replace("|", "\\|").replace("\n", " ")[:160]
        lines.append(f"| {_label(r['parameters'])} | {r['status']} | {held}/{len(r['claims'])} | {fail} |")
    if figure is not None:
        lines += ["", "![claims against the swept values](sweep.png)"]
    varying = [(keys[k], sorted({cell[(k, i)]["held"] for i in range(len(runs)) if (k, i) in cell}))
               for k in range(len(keys))]
    flips = [key for key, held in varying if held != [True]]
    lines += ["", "## Claims that do not hold at every run", ""]
    lines += [f"- {ref}: {claim}" for ref, claim in flips] or ["None."]
    (sweep.out / "summary.md").write_text("\n".join(lines) + "\n", encoding="utf-8")


def run_sweep(chapter: str | Path, axes: dict[str, list[Any]], out: str | Path, *,
              workers: int | None = None, scheduler: str | None = None, timeout: float | None = None,
              memory_limit: str | int | None = None, client=None, stream=None) -> dict:
    """Run a chapter over a grid of parameters on Dask.

    Parameters
    ----------
    chapter : str or pathlib.Path
        The chapter's MyST source.
    axes : dict
        ``{name: list of values}``; the grid is their Cartesian product (:func:`grid`).
    out : str or pathlib.Path
        The sweep's folder: new, empty, or an earlier sweep's (which it resumes).
    workers : int, optional
        Workers of the ``LocalCluster`` (one thread each); default the number of cores.
    scheduler : str, optional
        Address of an existing Dask scheduler (then ``workers`` is unused).
    timeout : float, optional
        Seconds each run may take.
    memory_limit : str or int, optional
        Dask's ``memory_limit`` per worker of the local cluster (default ``"auto"``).
    client : distributed.Client, optional
        An existing client (for tests); then neither cluster option is used.
    stream : file, optional
        Where progress goes (default stderr).

    Returns
    -------
    dict
        The final ``sweep.json``.

    Raises
    ------
    UsageError
        For an unknown chapter or parameter, an invalid value at any point, or a bad
        ``out``; nothing has been written or started then.
    """
    if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int) or workers < 1):
        raise UsageError(f"--workers must be a positive integer, got {workers!r}")
    sweep = _prepare(chapter, axes, out)
    todo = _start(sweep)
    status = "interrupted"
    try:
        _execute([sweep], [(sweep, j) for j in todo], workers=workers, scheduler=scheduler, timeout=timeout,
                 memory_limit=memory_limit, client=client, stream=stream)
        status = "done"
    finally:
        _finish(sweep, status)
    return sweep.payload(status)


# --------------------------------------------------------------------------- the book build's runs

_EXECUTE_MARKER = ".bbdlib-execute"  # written by bbdlib.book.execute when a build starts executing


def _library_mtime() -> float:
    """The latest modification time of bbdlib's Python sources."""
    package = Path(__file__).resolve().parents[1]
    return max(p.stat().st_mtime for p in package.rglob("*.py"))


@dataclass(frozen=True)
class BookRun:
    """The book build's execution of a chapter at its default parameters.

    Attributes
    ----------
    ledger : pathlib.Path
        Its claims ledger, ``<build>/claims/<part>__<name>.json``.
    notebook : dict
        The executed notebook (from the build's jupyter-cache), as JSON.
    seconds : float or None
        The execution time the cache recorded.
    """

    ledger: Path
    notebook: dict
    seconds: float | None


def book_run(chapter: str | Path, build: str | Path) -> tuple[BookRun | None, str]:
    """The book build's run of ``chapter`` at its defaults, if it provably ran this source.

    ``make book`` executes every chapter at its default parameters into
    ``<build>/.jupyter_cache`` with the ledgers in ``<build>/claims``; a sweep point at the
    chapter's defaults is that run.  It is taken only if every one of these holds (else the
    point is run):

    * the build's jupyter-cache holds a notebook whose hash of code cells (jupyter-cache's
      own key) is that of the chapter's current source, executed from this file (a chapter
      that failed is not cached);
    * the ledger exists, is the chapter's, was written after the build started executing
      (the cache's ``.bbdlib-execute`` marker) and no claim in it flipped;
    * no Python source of bbdlib changed after the build started executing.

    Parameters
    ----------
    chapter : str or pathlib.Path
        The chapter's MyST source.
    build : str or pathlib.Path
        The build folder (``_build``).

    Returns
    -------
    tuple
        ``(BookRun, "")`` or ``(None, why not)``.
    """
    import jupytext

    chapter, build = Path(chapter).resolve(), Path(build)
    cache_dir, marker = build / ".jupyter_cache", build / ".jupyter_cache" / _EXECUTE_MARKER
    ledger = build / "claims" / f"{chapter.parent.name}__{chapter.stem}.json"
    if not marker.is_file() or not ledger.is_file():
        return None, f"no book build in {build} (its cache marker or the ledger {ledger.name} is missing)"
    started = marker.stat().st_mtime
    if ledger.stat().st_mtime < started:
        return None, f"{ledger} is older than the build's execution"
    if _library_mtime() > started:
        return None, "bbdlib changed after the book build executed the chapters"
    try:
        payload = json.loads(ledger.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None, f"{ledger} is unreadable"
    if payload.get("chapter") != f"chapters/{chapter.parent.name}/{chapter.stem}" or payload.get("run_id"):
        return None, f"{ledger} is not the book build's ledger of {chapter.name}"
    if any(c.get("failure") for c in payload.get("claims", [])):
        return None, f"a claim of {ledger} flipped"
    from jupyter_cache import get_cache

    try:
        cache = get_cache(str(cache_dir))
        record = cache.match_cache_notebook(jupytext.read(chapter))
    except KeyError:
        return None, "the build's cache holds no execution of the chapter's current code"
    except Exception as exc:  # noqa: BLE001 - an unreadable cache is no evidence
        return None, f"the build's cache is unreadable ({type(exc).__name__}: {exc})"
    if Path(record.uri).resolve() != chapter:
        return None, f"the cached execution is of {record.uri}, not {chapter}"
    import nbformat

    nb = cache.get_cache_bundle(record.pk).nb
    seconds = (record.data or {}).get("execution_seconds")
    return BookRun(ledger=ledger, notebook=json.loads(nbformat.writes(nb)),
                   seconds=None if seconds is None else float(seconds)), ""


def book_estimates(build: str | Path) -> dict[Path, float]:
    """Execution seconds of every chapter in the book build's cache (empty if none).

    Parameters
    ----------
    build : str or pathlib.Path
        The build folder (``_build``).

    Returns
    -------
    dict
        ``{chapter path: seconds}``.
    """
    cache_dir = Path(build) / ".jupyter_cache"
    if not (cache_dir / _EXECUTE_MARKER).is_file():
        return {}
    try:
        from jupyter_cache import get_cache

        return {Path(r.uri).resolve(): float(r.data["execution_seconds"])
                for r in get_cache(str(cache_dir)).list_cache_records()
                if (r.data or {}).get("execution_seconds") is not None}
    except Exception:  # noqa: BLE001 - estimates only order the runs
        return {}


def _defaults(sweep: _Sweep) -> dict[str, Any]:
    _, _, every = check_parameters(sweep.chapter, {})
    return every


def _at_defaults(job: Job, defaults: dict[str, Any]) -> bool:
    return all(k in defaults and type(v) is type(defaults[k]) and v == defaults[k]
               for k, v in job.parameters.items())


def _store_book_run(sweep: _Sweep, job: Job, run: BookRun, defaults: dict[str, Any]) -> dict:
    """Write the book build's run into the job's folder as a run folder; its record."""
    import nbformat

    stem = job.chapter.stem
    job.folder.mkdir(parents=True, exist_ok=True)
    (job.folder / "claims").mkdir(exist_ok=True)
    ledger = job.folder / "claims" / run.ledger.name
    ledger.write_bytes(run.ledger.read_bytes())
    notebook = job.folder / f"{stem}.ipynb"
    notebook.write_text(json.dumps(run.notebook, ensure_ascii=False), encoding="utf-8")
    figures = _save_figures(nbformat.reads(json.dumps(run.notebook), as_version=4), job.folder / "figures", stem)
    claims = [Claim(**r) for r in json.loads(run.ledger.read_text(encoding="utf-8"))["claims"]]
    when = _now()
    summary = RunSummary(chapter=str(job.chapter), notebook=str(notebook), parameters=defaults,
                         given=dict(job.parameters), figures=[str(f) for f in figures], claims=len(claims),
                         statuses=status_counts(claims), failure=None, status="ok", flipped=[],
                         run_id="book-build", commit=_commit(repo_root(job.chapter.parent)), started=when,
                         ended=when)
    _write_json(job.folder / "summary.json", asdict(summary))
    rec = _pending_record(sweep, job)
    rec.update(status="ok", claims=_claim_rows(claims), seconds=run.seconds, host=os.uname().nodename,
               from_book=str(run.ledger))
    sweep.records[job.id] = rec
    return rec


def _take_book_runs(sweep: _Sweep, todo: list[Job], build: Path | None, stream) -> list[Job]:
    """The jobs still to run once the book build's run has taken the point at the defaults."""
    if build is None:
        return todo
    defaults = None
    left = []
    for job in todo:
        if defaults is None:
            defaults = _defaults(sweep)
        if not _at_defaults(job, defaults):
            left.append(job)
            continue
        run, why = book_run(job.chapter, build)
        if run is None:
            print(f"sweep: {job.chapter.stem} {job.parameters} is run (not taken from the book build: {why})",
                  file=stream, flush=True)
            left.append(job)
            continue
        _store_book_run(sweep, job, run, defaults)
        print(f"sweep: {job.chapter.stem} {job.parameters} taken from the book build ({run.ledger})",
              file=stream, flush=True)
    if len(left) != len(todo):
        sweep.write()
    return left


# --------------------------------------------------------------------------- robustness

def _chapters(root: Path) -> list[Path]:
    return sorted(p for p in (root / "chapters").glob("*/*.md"))


def robustness(out: str | Path, *, seeds: Iterable[int] = range(5), runs: str | Path | None = None,
               chapters: list[str | Path] | None = None, workers: int | None = None,
               timeout: float | None = None, stream=None, book: str | Path | None = None,
               sweeps: list[tuple[str | Path, dict[str, list[Any]], str | Path]] | None = None,
               client=None) -> dict:
    """Every chapter with a ``seed`` parameter over ``seeds``; every claim's hold rate.

    Parameters
    ----------
    out : str or pathlib.Path
        The JSON file to write (``_build/robustness.json``).
    seeds : iterable of int
        The seeds (default 0..4).
    runs : str or pathlib.Path, optional
        Folder of the runs, one sweep per chapter (default ``<out without .json>/``).
    chapters : list, optional
        The chapters (default every ``chapters/<part>/<name>.md`` of the repository).
    workers : int, optional
        Workers of the local cluster.
    timeout : float, optional
        Seconds each run may take.
    stream : file, optional
        Where progress goes.
    book : str or pathlib.Path, optional
        A book build folder (``_build``): a point at a chapter's default parameters is
        taken from that build's run when it provably ran the same source
        (:func:`book_run`), and the build's execution times order the runs, longest
        first (:func:`longest_first`).
    sweeps : list of (chapter, axes, folder), optional
        Further sweeps run on the same cluster (``make robustness``: the k(n) map of
        II.8 over ``n_power``), each written to its folder as by ``bbdlib sweep``.
    client : distributed.Client, optional
        An existing client (for tests); then ``workers`` is unused.

    Returns
    -------
    dict
        What was written: ``seeds``, ``seeded`` and ``deterministic`` chapters, per
        chapter the status, wall, CPU and kernel seconds of each run (and whether it
        came from the book build), ``claims``: every claim with its outcome at each seed
        (``held``, ``flipped`` or ``missing``) and ``hold_rate``; ``sweeps``: the further
        sweeps' folders and counts; ``cost``: the runs executed, their summed CPU seconds,
        that sum over 2 workers, and the mean per-run overhead (wall time outside the
        kernel's cells).
    """
    seeds = list(seeds)
    if not seeds or not all(isinstance(s, int) and not isinstance(s, bool) for s in seeds):
        raise UsageError(f"seeds must be integers, got {seeds!r}")
    out = Path(out).resolve()
    root = repo_root(out.parent) or repo_root()
    if chapters is None:
        if root is None:
            raise UsageError("cannot find the repository's chapters; give them")
        chapters = _chapters(root)
    import jupytext

    runs = Path(runs) if runs is not None else out.with_suffix("")
    build = Path(book).resolve() if book is not None else None
    stream = stream if stream is not None else sys.stderr
    sweeps_, deterministic = [], []
    for ch in chapters:
        path = Path(ch).resolve()
        if "seed" in parameter_names(jupytext.read(path)):
            sweeps_.append(_prepare(path, {"seed": seeds}, runs / f"{path.parent.name}__{path.stem}",
                                    allow_build=True))
        else:
            deterministic.append(str(path.relative_to(root)) if root else str(path))
    others = [_prepare(ch, axes, folder, allow_build=True) for ch, axes, folder in (sweeps or [])]
    every = sweeps_ + others
    started = time.monotonic()
    todo = []
    for s in every:
        todo += [(s, j) for j in _take_book_runs(s, _start(s), build, stream)]
    estimates = book_estimates(build) if build is not None else {}
    status = "interrupted"
    try:
        _execute(every, todo, workers=workers, timeout=timeout, stream=stream, estimates=estimates,
                 client=client)
        status = "done"
    finally:
        for s in every:
            _finish(s, status)
    executed = [r for s in every for r in s.records.values() if not r.get("from_book") and not r.get("resumed")
                and r["status"] != "pending"]
    cpu = [r["cpu_seconds"] for r in executed if r.get("cpu_seconds") is not None]
    over = [r["seconds"] - r["kernel_seconds"] for r in executed
            if r.get("seconds") is not None and r.get("kernel_seconds") is not None]
    cost = {"runs": sum(len(s.jobs) for s in every), "executed": len(executed),
            "from_book": sum(bool(r.get("from_book")) for s in every for r in s.records.values()),
            "cpu_seconds": round(sum(cpu), 1), "cpu_runs": len(cpu),
            "cpu_seconds_per_2_workers": round(sum(cpu) / 2, 1),
            "wall_seconds_of_runs": round(sum(r["seconds"] or 0 for r in executed), 1),
            "mean_overhead_seconds": round(sum(over) / len(over), 2) if over else None,
            "mean_overhead_fraction": (round(sum(over) / sum(r["seconds"] for r in executed
                                                              if r.get("kernel_seconds") is not None), 3)
                                       if over else None)}
    claims, per_chapter = [], {}
    for s in sweeps_:
        name = str(s.chapter.relative_to(root)) if root else str(s.chapter)
        recs = [s.records[j.id] for j in s.jobs]
        per_chapter[name] = {"runs": {str(r["parameters"]["seed"]): {
            "status": r["status"], "failure": r["failure"], "seconds": r["seconds"],
            "cpu_seconds": r.get("cpu_seconds"), "kernel_seconds": r.get("kernel_seconds"),
            "from_book": r.get("from_book")} for r in recs}}
        keys: dict[tuple, dict] = {}
        for r in recs:
            seed = str(r["parameters"]["seed"])
            seen: dict[tuple, int] = {}
            for c in r["claims"]:
                base = (c["ref"], c["claim"])
                seen[base] = seen.get(base, 0) + 1
                key = (*base, seen[base])
                entry = keys.setdefault(key, {"chapter": name.removesuffix(".md"), "ref": c["ref"],
                                              "claim": c["claim"], "kind": c["kind"], "status": c["status"],
                                              "outcomes": {}, "measured": {}})
                entry["outcomes"][seed] = "held" if c["held"] else "flipped"
                entry["measured"][seed] = c["measured"]
        for entry in keys.values():
            for seed in map(str, seeds):
                entry["outcomes"].setdefault(seed, "missing")
            evaluated = [o for o in entry["outcomes"].values() if o != "missing"]
            entry["evaluated"] = len(evaluated)
            entry["hold_rate"] = (sum(o == "held" for o in evaluated) / len(evaluated)) if evaluated else None
            entry["seed_dependent"] = len(set(entry["outcomes"].values())) > 1
            claims.append(entry)
    payload = {"tool": "bbdlib robustness", "status": status, "seeds": seeds,
               "commit": _commit(root), "seconds": round(time.monotonic() - started, 1),
               "seeded": list(per_chapter), "deterministic": deterministic, "chapters": per_chapter,
               "cost": cost,
               "sweeps": [{"chapter": str(s.chapter.relative_to(root)) if root else str(s.chapter),
                           "axes": s.axes, "folder": str(s.out),
                           "counts": s.payload(status)["counts"]} for s in others],
               "claims": claims,
               "seed_dependent": [{k: c[k] for k in ("chapter", "ref", "claim", "hold_rate", "outcomes")}
                                  for c in claims if c["seed_dependent"]]}
    out.parent.mkdir(parents=True, exist_ok=True)
    _write_json(out, payload)
    return payload


# --------------------------------------------------------------------------- the k(n) map

_KN_REF = "eq. (7.15)"
_KN_CLASS = re.compile(r"class '([-+])'")


@dataclass(frozen=True)
class KnPoint:
    """One measured exponent of the k(n) map: eq. (7.15) of [B] at one n and class.

    Attributes
    ----------
    n : float
        The power of the loss |f − x²|^n.
    cls : str
        The class, ``"-"`` or ``"+"``.
    k : float or None
        The measured exponent; None where the plan found no comparable fit.
    ci : tuple of float or None
        Its 95 % bootstrap interval.
    tolerance : float or None
        The tolerance of the comparison with the law.
    law : float
        (n − 2)/(n − 1).
    held : bool
        Whether the record kept the status the chapter declares for it.
    status : str
        That declared status.
    why : str or None
        Where ``k`` is None: the plan's reason (e.g. ``"no power-law range (0.4 decades)"``).
    run : str
        The id of the run it comes from.
    """

    n: float
    cls: str
    k: float | None
    ci: tuple | None
    tolerance: float | None
    law: float
    held: bool
    status: str
    why: str | None
    run: str


@dataclass(frozen=True)
class KnMap:
    """The k(n) map of a sweep of chapter II.8 over ``n_power`` (:func:`kn_map`).

    Attributes
    ----------
    points : tuple of KnPoint
        By n, then class ('−' before '+').
    no_range : tuple of float
        The n at which no class has a power-law range (k is None for both).
    runs : int
        Runs of the sweep that recorded claims.
    failed : tuple of str
        Runs that did not end ``ok`` (their records are still read).
    consistent : bool
        Whether every (n, class) measured in more than one run has the same k in each
        (the chapter measures its fixed n in every run, with the same samples).
    """

    points: tuple
    no_range: tuple
    runs: int
    failed: tuple
    consistent: bool


def kn_map(sweep: dict) -> KnMap:
    """The k(n) map from a ``sweep.json`` of chapter II.8 (eq. (7.15) of [B]).

    Every run records k for the chapter's fixed n and for its ``n_power``; a record is one
    ``eq. (7.15)`` claim with ``n`` in its extra data and ``class '±'`` in its text. An
    (n, class) measured in several runs is taken from the run whose ``n_power`` is n, else
    from the first run that has it.

    Parameters
    ----------
    sweep : dict
        The parsed ``sweep.json`` (``runs``, each with ``parameters``, ``status``, ``claims``).

    Returns
    -------
    KnMap

    Raises
    ------
    TypeError
        If ``sweep`` is not a dict.
    ValueError
        If it has no runs, or no run recorded an eq. (7.15) exponent.
    """
    if not isinstance(sweep, dict):
        raise TypeError(f"sweep must be a dict (a parsed sweep.json), got {type(sweep).__name__}")
    runs = sweep.get("runs")
    if not isinstance(runs, list) or not runs:
        raise ValueError("sweep has no runs")
    chosen: dict[tuple[float, str], KnPoint] = {}
    seen: dict[tuple[float, str], set] = {}
    used = 0
    for r in runs:
        rows = [c for c in r.get("claims", []) if c.get("ref") == _KN_REF and isinstance(c.get("extra"), dict)
                and "n" in c["extra"] and _KN_CLASS.search(c.get("claim", ""))]
        used += bool(rows)
        for c in rows:
            n, cls = float(c["extra"]["n"]), _KN_CLASS.search(c["claim"]).group(1)
            numeric = isinstance(c["measured"], (int, float)) and not isinstance(c["measured"], bool)
            ci = c["extra"].get("ci")
            point = KnPoint(n=n, cls=cls, k=float(c["measured"]) if numeric else None,
                            ci=tuple(float(v) for v in ci) if numeric and ci else None,
                            tolerance=float(c["tolerance"]) if numeric and c.get("tolerance") is not None else None,
                            law=(n - 2) / (n - 1), held=bool(c["held"]), status=c["status"],
                            why=None if numeric else str(c["measured"]), run=r.get("id", ""))
            seen.setdefault((n, cls), set()).add(json.dumps(c["measured"]))
            own = float(r.get("parameters", {}).get("n_power", float("nan"))) == n
            if (n, cls) not in chosen or own:
                chosen[(n, cls)] = point
    if not chosen:
        raise ValueError(f"no run of the sweep recorded an {_KN_REF} exponent with its n")
    points = tuple(chosen[key] for key in sorted(chosen, key=lambda k: (k[0], k[1] != "-")))
    ns = sorted({p.n for p in points})
    no_range = tuple(n for n in ns if all(p.k is None for p in points if p.n == n))
    return KnMap(points=points, no_range=no_range, runs=used,
                 failed=tuple(r.get("id", "") for r in runs if r.get("status") != "ok"),
                 consistent=all(len(v) == 1 for v in seen.values()))


def plot_kn_map(kmap: KnMap, path: str | Path) -> Path:
    """The figure of the k(n) map: measured k with its interval against n, and the law (7.15).

    Parameters
    ----------
    kmap : KnMap
        From :func:`kn_map`.
    path : str or pathlib.Path
        The PNG to write.

    Returns
    -------
    pathlib.Path
        ``path``.
    """
    if not isinstance(kmap, KnMap):
        raise TypeError(f"kmap must be a KnMap, got {type(kmap).__name__}")
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt
    import numpy as np

    from bbdlib.book.style import PAPER_COLORS, SERIES_COLORS, use_style

    use_style()
    ns = np.array(sorted({p.n for p in kmap.points}))
    fig, ax = plt.subplots(figsize=(6.4, 3.6))
    grid_ = np.linspace(min(2.0, ns.min()), ns.max(), 400)
    ax.plot(grid_, (grid_ - 2) / (grid_ - 1), color=PAPER_COLORS["theory"], lw=1.2, label="law (7.15): (n−2)/(n−1)")
    for cls, color, shift, marker in (("-", SERIES_COLORS[0], -0.08, "o"), ("+", SERIES_COLORS[1], 0.08, "s")):
        pts = [p for p in kmap.points if p.cls == cls and p.k is not None]
        if not pts:
            continue
        x = np.array([p.n for p in pts]) + shift
        k = np.array([p.k for p in pts])
        lo = np.array([p.k - p.ci[0] if p.ci else 0.0 for p in pts])
        hi = np.array([p.ci[1] - p.k if p.ci else 0.0 for p in pts])
        ax.errorbar(x, k, yerr=[lo, hi], fmt=marker, ms=4, color=color, capsize=2, lw=1,
                    label=f"class '{'−' if cls == '-' else '+'}': measured k (95 % interval)")
        bad = [p for p in pts if not p.held]
        if bad:
            ax.plot([p.n + shift for p in bad], [p.k for p in bad], marker, ms=9, mfc="none", color=color)
    missing = sorted({p.n for p in kmap.points if p.k is None})
    for n in missing:
        ax.axvline(n, color="0.6", lw=0.8, ls=":")
        ax.plot([n], [(n - 2) / (n - 1)], "x", color="0.3", ms=7)
    if missing:
        ax.plot([], [], "x", color="0.3", label="no power-law range at the default sample size")
    ax.set_xlabel("n (power of the loss |f − x²|^n)")
    ax.set_ylabel("exponent k")
    ax.set_xticks(ns)
    ax.legend(fontsize=9, loc="lower right")
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


# --------------------------------------------------------------------------- command lines

def sweep_axes(pairs: list[list[str]]) -> dict[str, list[Any]]:
    """``-p NAME VALUES`` pairs of the command line as axes (each name once).

    Parameters
    ----------
    pairs : list of [str, str]
        As argparse collects them.

    Returns
    -------
    dict
        ``{name: values}`` (:func:`axis_values`).

    Raises
    ------
    UsageError
        If a name is given twice or a value list is malformed.
    """
    axes: dict[str, list[Any]] = {}
    for name, text in pairs:
        if name in axes:
            raise UsageError(f"parameter {name!r} is given twice; give each -p once (VALUES is a comma list)")
        axes[name] = axis_values(name, text)
    return axes


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``bbdlib sweep``.

    Parameters
    ----------
    parser : argparse.ArgumentParser
        The ``sweep`` subparser.
    """
    from bbdlib.book.cli import _timeout

    parser.add_argument("chapter", help="path of a chapter's MyST source")
    parser.add_argument("-p", "--parameter", nargs=2, action="append", default=[], metavar=("NAME", "VALUES"),
                        help="a swept parameter: a comma list of values (Python literals, else strings) "
                             "or a..b for integers; the grid is the product of every -p")
    parser.add_argument("--out", required=True, help="the sweep's folder: new, empty or an earlier sweep's "
                                                     "(which it resumes)")
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--workers", type=int, default=None,
                       help="workers of a local Dask cluster, one thread each (default: the number of cores)")
    where.add_argument("--scheduler", default=None, metavar="ADDRESS",
                       help="address of an existing Dask scheduler, e.g. tcp://host:8786")
    parser.add_argument("--timeout", type=_timeout, default=None, metavar="SECONDS",
                        help="stop a run after this many seconds")
    parser.add_argument("--memory-limit", default="auto", metavar="BYTES",
                        help="Dask memory_limit per local worker, e.g. 4GiB (default: auto, RAM / workers)")


def command(args: argparse.Namespace) -> int:
    """Run ``bbdlib sweep`` from parsed arguments.

    Parameters
    ----------
    args : argparse.Namespace
        As :func:`add_arguments` defines them.

    Returns
    -------
    int
        0 every run ok, 1 a run failed (or was lost, or exceeded memory), 3 interrupted;
        :class:`UsageError` (exit 2) is raised before anything starts.
    """
    axes = sweep_axes(args.parameter)
    try:
        result = run_sweep(args.chapter, axes, args.out, workers=args.workers, scheduler=args.scheduler,
                           timeout=args.timeout, memory_limit=args.memory_limit)
    except KeyboardInterrupt:
        print(f"interrupted; rerun the same command to resume ({Path(args.out) / 'sweep.json'})", file=sys.stderr)
        return 3
    counts = result["counts"]
    print(f"sweep: {', '.join(f'{s} {n}' for s, n in counts.items() if n)}; "
          f"{Path(args.out) / 'sweep.json'}, {Path(args.out) / 'summary.md'}")
    return 0 if counts["ok"] == len(result["runs"]) else 1


def main(argv: list[str] | None = None) -> int:
    """``python -m bbdlib.book.sweep robustness --out FILE [--workers N] [--seeds a..b]``.

    Parameters
    ----------
    argv : list of str, optional
        The arguments.

    Returns
    -------
    int
        0 written (whatever the verdicts), 2 bad usage, 3 interrupted.
    """
    parser = argparse.ArgumentParser(prog="python -m bbdlib.book.sweep")
    sub = parser.add_subparsers(dest="command", required=True)
    rb = sub.add_parser("robustness", help="every seeded chapter over seeds; hold rates of every claim")
    rb.add_argument("--out", required=True, help="the JSON file, e.g. _build/robustness.json")
    rb.add_argument("--seeds", default="0..4", help="seeds (a..b or a comma list)")
    rb.add_argument("--workers", type=int, default=None)
    rb.add_argument("--timeout", type=float, default=900.0)
    rb.add_argument("--book", default=None, metavar="BUILD",
                    help="a book build folder (e.g. _build): the run at a chapter's defaults is taken from it "
                         "when it ran the same source, and its execution times order the runs")
    rb.add_argument("--sweep", nargs=4, action="append", default=[], metavar=("CHAPTER", "NAME", "VALUES", "DIR"),
                    help="a further sweep on the same cluster, e.g. "
                         "chapters/duality/08-power-law-sweep.md n_power 5.0,7.0 _build/kn")
    rb.add_argument("chapters", nargs="*", help="chapters (default: every chapter)")
    args = parser.parse_args(argv)
    try:
        seeds = axis_values("seeds", args.seeds)
        extra = [(ch, {name: axis_values(name, values)}, folder) for ch, name, values, folder in args.sweep]
        payload = robustness(args.out, seeds=seeds, chapters=args.chapters or None, workers=args.workers,
                             timeout=args.timeout, book=args.book, sweeps=extra)
    except UsageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 3
    dep = payload["seed_dependent"]
    cost = payload["cost"]
    print(f"robustness: {len(payload['seeded'])} seeded chapters over seeds {payload['seeds']} in "
          f"{payload['seconds']:.0f} s; {len(payload['deterministic'])} deterministic; "
          f"{len(dep)} seed-dependent claims; {args.out}")
    print(f"  {cost['runs']} runs: {cost['executed']} executed ({cost['cpu_seconds']:.0f} CPU s, "
          f"{cost['cpu_seconds_per_2_workers']:.0f} s over 2 workers), {cost['from_book']} from the book build; "
          f"mean overhead per run {cost['mean_overhead_seconds']} s ({cost['mean_overhead_fraction']})")
    for sw in payload["sweeps"]:
        print(f"  sweep of {sw['chapter']} over {sw['axes']}: {sw['folder']}")
    for c in dep:
        rate = "no seed" if c["hold_rate"] is None else f"{c['hold_rate']:.0%} of the seeds that evaluated it"
        print(f"  {c['chapter']} {c['ref']}: {c['claim']} - holds at {rate}: {c['outcomes']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
