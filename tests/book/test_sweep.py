"""bbdlib.book.sweep on a LocalCluster of 2 workers, with the fastest chapter (Appendix A)."""
from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from bbdlib.book import sweep as sw
from bbdlib.book.claims import Claim
from bbdlib.book.cli import UsageError, main

ROOT = Path(__file__).resolve().parents[2]
FAST = ROOT / "chapters" / "duality" / "09-appendix-a.md"
AXES = {"n_plot": [100, 200], "n_ibp": [5, 6]}


@pytest.fixture(scope="module")
def client():
    distributed = pytest.importorskip("distributed")
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                       dashboard_address=None, memory_limit="4GiB")
    c = distributed.Client(cluster)
    yield c
    c.close()
    cluster.close()


def _claims(records):
    return sorted((c["ref"], c["claim"], c["status"], c["held"], json.dumps(c["measured"])) for c in records)


def test_axis_values_and_grid():
    assert sw.axis_values("seed", "0..4") == [0, 1, 2, 3, 4]
    assert sw.axis_values("w", "(3,6,2),(3,8,2)") == [(3, 6, 2), (3, 8, 2)]
    assert sw.axis_values("loss", "mse,'x,y'") == ["mse", "x,y"]
    for bad in ("4..0", "1,,2", "1,1"):
        with pytest.raises(UsageError, match="'seed'"):
            sw.axis_values("seed", bad)
    with pytest.raises(TypeError, match="'seed'"):
        sw.axis_values("seed", 3)
    assert sw.grid({"a": [1, 2], "b": ["x", "y"]}) == [
        {"a": 1, "b": "x"}, {"a": 1, "b": "y"}, {"a": 2, "b": "x"}, {"a": 2, "b": "y"}]
    with pytest.raises(TypeError):
        sw.grid({"a": []})


def test_point_id_is_stable_and_distinct():
    a = sw.point_id({"n": 2, "seed": 0})
    assert a == sw.point_id({"seed": 0, "n": 2}) and a.startswith("n=2_seed=0-")
    assert a != sw.point_id({"n": 2, "seed": 1}) != sw.point_id({"n": 2.0, "seed": 0})
    assert sw.point_id({"s": "a/b"}).count("/") == 0


def test_unknown_parameter_exits_2_before_any_task(tmp_path, capsys, monkeypatch):
    def no_cluster(*a, **k):
        raise AssertionError("a cluster was started")

    monkeypatch.setattr(sw, "_client", no_cluster)
    out = tmp_path / "sweep"
    assert main(["sweep", str(FAST), "-p", "n_plot", "100,200", "-p", "nope", "1,2", "--out", str(out)]) == 2
    assert "'nope'" in capsys.readouterr().err
    assert main(["sweep", str(FAST), "-p", "n_plot", "100,3", "--out", str(out)]) == 2
    assert "n_plot" in capsys.readouterr().err
    assert not out.exists()
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "notes.txt").write_text("mine")
    assert main(["sweep", str(FAST), "-p", "n_plot", "100", "--out", str(tmp_path / "other")]) == 2
    assert "no 'bbdlib sweep' wrote" in capsys.readouterr().err


def test_memory_limit_stops_the_run_and_says_so():
    source = FAST.read_text(encoding="utf-8")
    result = sw.execute_point(source, "duality/09-appendix-a.md", {}, timeout=120, memory_limit=60 * 2**20)
    assert result["memory"]["exceeded"] and result["memory"]["peak"] > 60 * 2**20


def test_sweep_equals_bare_runs_and_resumes(client, tmp_path):
    out = tmp_path / "sweep"
    bare = {}
    procs = []
    for point in sw.grid(AXES):
        folder = tmp_path / "bare" / sw.point_id(point)
        cmd = [sys.executable, "-m", "bbdlib", "run", str(FAST), "--out", str(folder)]
        for k, v in point.items():
            cmd += ["-p", k, repr(v)]
        procs.append(subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        bare[sw.point_id(point)] = folder
        if len(procs) == 2:  # two at a time: two cores
            for p in procs:
                assert p.wait(timeout=600) == 0
            procs = []
    result = sw.run_sweep(FAST, AXES, out, client=client, stream=io.StringIO())
    assert [r["status"] for r in result["runs"]] == ["ok"] * 4
    for rec in result["runs"]:
        ledger = json.loads((bare[rec["id"]] / "claims" / "duality__09-appendix-a.json").read_text())
        rows = sw._claim_rows([Claim(**c) for c in ledger["claims"]])
        assert rec["claims"] and _claims(rec["claims"]) == _claims(rows)
        folder = Path(rec["folder"])
        summary = json.loads((folder / "summary.json").read_text())
        assert summary["status"] == "ok" and summary["given"] == rec["parameters"]
        assert (folder / "09-appendix-a.ipynb").is_file() and summary["figures"]
        assert all(Path(f).is_file() and folder in Path(f).parents for f in summary["figures"])
    on_disk = json.loads((out / "sweep.json").read_text())
    assert on_disk["counts"]["ok"] == 4 and (out / "summary.md").is_file() and (out / "sweep.png").is_file()

    class NoTasks:
        def submit(self, *a, **k):
            raise AssertionError("a resumed sweep submitted a task")

    log = io.StringIO()
    again = sw.run_sweep(FAST, AXES, out, client=NoTasks(), stream=log)
    assert all(r.get("resumed") for r in again["runs"]) and "4 of 4 runs already complete" in log.getvalue()


def test_killed_worker_leaves_the_run_completed_or_failed(client, tmp_path):
    out = tmp_path / "killed"
    box = {}

    def go():
        box["result"] = sw.run_sweep(FAST, {"n_plot": [150]}, out, client=client, stream=io.StringIO())

    t = threading.Thread(target=go)
    t.start()
    deadline = time.monotonic() + 60
    victim = None
    while victim is None and time.monotonic() < deadline:
        busy = [w for w, keys in client.processing().items() if keys]
        if busy:
            victim = busy[0]
        time.sleep(0.2)
    assert victim is not None, "the task never started"
    time.sleep(3)  # the run is under way in the worker's subprocess
    pid = client.run(os.getpid, workers=[victim])[victim]
    os.kill(pid, signal.SIGKILL)
    t.join(timeout=600)
    assert not t.is_alive()
    (rec,) = box["result"]["runs"]
    assert rec["status"] in ("ok", "failed", "lost"), rec
    if rec["status"] != "ok":
        assert rec["failure"]
    recorded = json.loads((out / "sweep.json").read_text())["runs"]
    assert [r["status"] for r in recorded] == [rec["status"]]
    client.wait_for_workers(2, timeout=60)


def test_scorecard_hold_rates_from_robustness_json():
    from bbdlib.book.sphinx import claims as sc

    entry = {"chapter": "chapters/duality/05-criticality", "ref": "Fig. 4", "claim": "k = 2",
             "outcomes": {"0": "held", "1": "flipped", "2": "missing"}, "evaluated": 2}
    rates = sc._hold_rates({"claims": [entry]})
    assert rates[("chapters/duality/05-criticality", "Fig. 4", "k = 2")] is entry
    assert sc._hold_text(entry) == "seeds: 1/2 held, 1 not run"
    assert sc._hold_rates(None) == {}
