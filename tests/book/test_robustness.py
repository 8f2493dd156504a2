"""make robustness (bbdlib.book.sweep.robustness): the point at a chapter's defaults is taken from the
book build's run only when that run provably executed the same source; the rest run longest first."""
from __future__ import annotations

import io
import json
import os
from pathlib import Path

import pytest

from bbdlib.book import sweep as sw

ROOT = Path(__file__).resolve().parents[2]
FAST = ROOT / "chapters" / "duality" / "09-appendix-a.md"   # n_plot = 400 by default


@pytest.fixture(scope="module")
def client():
    distributed = pytest.importorskip("distributed")
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                       dashboard_address=None, memory_limit="4GiB")
    c = distributed.Client(cluster)
    yield c
    c.close()
    cluster.close()


@pytest.fixture(scope="module")
def book(tmp_path_factory):
    """A book build of the fast chapter: its jupyter-cache and its ledger, as make book leaves them."""
    from bbdlib.book.execute import execute_chapters

    build = tmp_path_factory.mktemp("book") / "_build"
    saved = os.environ.get("BBD_CLAIMS_DIR")
    os.environ["BBD_CLAIMS_DIR"] = str(build / "claims")
    try:
        assert execute_chapters([FAST], build / ".jupyter_cache") == 0
    finally:
        if saved is None:
            os.environ.pop("BBD_CLAIMS_DIR")
        else:
            os.environ["BBD_CLAIMS_DIR"] = saved
    return build


def _rows(claims):
    return sorted((c["ref"], c["claim"], c["status"], json.dumps(c["measured"])) for c in claims)


@pytest.fixture
def library_unchanged(monkeypatch):
    """bbdlib as the build saw it (other work in a shared checkout may touch its files meanwhile)."""
    monkeypatch.setattr(sw, "_library_mtime", lambda: 0.0)


def test_book_run_is_taken_only_for_the_same_source(book, library_unchanged, monkeypatch):
    run, why = sw.book_run(FAST, book)
    assert run is not None, why
    assert run.ledger == book / "claims" / "duality__09-appendix-a.json" and run.notebook["cells"]
    assert run.seconds is not None and run.seconds > 0
    # another chapter has no run in this build
    other = ROOT / "chapters" / "duality" / "02-duality-map.md"
    assert sw.book_run(other, book)[0] is None
    # the chapter's code changed since the build: its hash is not in the cache
    import jupytext

    real = jupytext.read

    def edited(path, *a, **k):
        nb = real(path, *a, **k)
        nb.cells.append(jupytext.reads("```{code-cell} ipython3\nx = 1\n```", fmt="md:myst").cells[0])
        return nb

    monkeypatch.setattr(jupytext, "read", edited)
    run, why = sw.book_run(FAST, book)
    assert run is None and "current code" in why
    monkeypatch.setattr(jupytext, "read", real)
    # bbdlib changed after the build executed
    monkeypatch.setattr(sw, "_library_mtime", lambda: 4e9)
    run, why = sw.book_run(FAST, book)
    assert run is None and "bbdlib changed" in why
    monkeypatch.setattr(sw, "_library_mtime", lambda: 0.0)
    # a ledger older than the build's execution is not the build's
    ledger = book / "claims" / "duality__09-appendix-a.json"
    st = ledger.stat()
    os.utime(ledger, (st.st_atime, st.st_mtime - 10 ** 6))
    try:
        run, why = sw.book_run(FAST, book)
        assert run is None and "older" in why
    finally:
        os.utime(ledger, (st.st_atime, st.st_mtime))
    assert sw.book_run(FAST, book.parent / "nothing")[0] is None


def test_robustness_takes_the_default_point_from_the_book(book, library_unchanged, client, tmp_path):
    log = io.StringIO()
    out = tmp_path / "rb.json"
    payload = sw.robustness(out, chapters=[], book=book, client=client, stream=log,
                            sweeps=[(FAST, {"n_plot": [400, 150]}, tmp_path / "map")])
    assert "taken from the book build" in log.getvalue()
    runs = {r["parameters"]["n_plot"]: r for r in json.loads((tmp_path / "map" / "sweep.json").read_text())["runs"]}
    assert runs[400]["from_book"] == str(book / "claims" / "duality__09-appendix-a.json")
    ledger = json.loads((book / "claims" / "duality__09-appendix-a.json").read_text())["claims"]
    assert _rows(runs[400]["claims"]) == _rows(ledger)
    assert runs[150]["status"] == "ok" and not runs[150].get("from_book")
    assert runs[150]["cpu_seconds"] > 0 and 0 < runs[150]["kernel_seconds"] < runs[150]["seconds"]
    folder = Path(runs[400]["folder"])
    summary = json.loads((folder / "summary.json").read_text())
    assert summary["status"] == "ok" and summary["given"] == {"n_plot": 400}
    assert (folder / "09-appendix-a.ipynb").is_file() and (folder / "claims" / "duality__09-appendix-a.json").is_file()
    cost = payload["cost"]
    assert cost["runs"] == 2 and cost["executed"] == 1 and cost["from_book"] == 1
    assert cost["cpu_seconds"] == pytest.approx(runs[150]["cpu_seconds"], abs=0.1)
    assert cost["cpu_seconds_per_2_workers"] == pytest.approx(cost["cpu_seconds"] / 2, abs=0.1)
    assert payload["sweeps"][0]["counts"]["ok"] == 2
    assert json.loads(out.read_text())["cost"] == cost


def test_longest_first_orders_by_the_estimates():
    jobs = [(None, sw.Job(chapter=Path(f"/c/{n}.md"), parameters={"seed": s}, id=f"{n}{s}", folder=Path("/x")))
            for n in ("a", "b", "c") for s in (0, 1)]
    order = sw.longest_first(jobs, {Path("/c/a.md"): 5.0, Path("/c/b.md"): 50.0})
    assert [j.id for _, j in order] == ["b0", "b1", "a0", "a1", "c0", "c1"]
    assert sw.longest_first(jobs, None) == jobs


def test_robustness_command_checks_every_sweep_before_any_run(tmp_path, monkeypatch, capsys):
    def no_cluster(*a, **k):
        raise AssertionError("a cluster was started")

    monkeypatch.setattr(sw, "_client", no_cluster)
    out = tmp_path / "rb.json"
    argv = ["robustness", "--out", str(out), "--book", str(tmp_path / "no-build"), str(FAST)]
    assert sw.main([*argv, "--sweep", str(FAST), "nope", "1,2", str(tmp_path / "map")]) == 2
    assert "'nope'" in capsys.readouterr().err
    assert sw.main([*argv, "--sweep", str(FAST), "n_plot", "400,3", str(tmp_path / "map")]) == 2
    assert "n_plot" in capsys.readouterr().err
    assert not out.exists() and not (tmp_path / "map").exists()
