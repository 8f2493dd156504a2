"""python -m bbdlib run/params/execute: validation first, one run per folder, honest endings.

Real runs use chapter II.9 (the quickest, ~9 s) or tiny stand-in chapters written into a
temporary ``chapters/duality/`` folder (a kernel start, ~2 s each).
"""
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHAPTER = "chapters/duality/09-appendix-a.md"


def run(*args, cwd=ROOT, env=None):
    return subprocess.run([sys.executable, "-m", "bbdlib", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=600)


def popen(*args):
    return subprocess.Popen([sys.executable, "-m", "bbdlib", *args], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def summary(out):
    return json.loads((Path(out) / "summary.json").read_text(encoding="utf-8"))


STUB_HEAD = '''---
jupytext:
  text_representation:
    extension: .md
    format_name: myst
    format_version: 0.13
kernelspec:
  display_name: Python 3
  language: python
  name: python3
---

# stub

```{code-cell} ipython3
:tags: [parameters]
n = 3
a_pl, b_pl = 1.0, 1000.0
sleep = 0.0
```

```{code-cell} ipython3
from bbdlib.validate import check_parameters
check_parameters(globals(), {"n": {"type": "int", "minimum": 1, "maximum": 10},
                             "a_pl": {"type": "real", "low": 0.5},
                             "sleep": {"type": "real", "low": 0.0}})
```

```{code-cell} ipython3
import time
from bbdlib.book.claims import Ledger
ledger = Ledger("chapters/duality/09-appendix-a")
ledger.check(ref="eq. (1)", claim="one", expected=1.0, measured=1.0)
time.sleep(sleep)
```
'''

STUB_FLIPS = STUB_HEAD + '''
```{code-cell} ipython3
ledger.check(ref="eq. (2)", claim="two", expected=2.0, measured=2.5, tolerance=0.1)
ledger.not_reproduced(ref="eq. (3)", claim="three", expected=3.0, measured=3.0, evidence="e")
ledger.check(ref="eq. (4)", claim="four", expected=float(n), measured=float(n))
```

```{code-cell} ipython3
ledger.close()
```
'''


def stub(tmp_path, body=STUB_HEAD + "\n```{code-cell} ipython3\nledger.close()\n```\n"):
    path = tmp_path / "src" / "chapters" / "duality" / "09-appendix-a.md"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(body, encoding="utf-8")
    return str(path)


# -- usage errors: exit 2, nothing written ------------------------------------------------
def test_unknown_chapter_exits_2(tmp_path):
    r = run("run", "chapters/duality/nope.md", "--out", str(tmp_path / "o"))
    assert r.returncode == 2
    assert "unknown chapter" in r.stderr and len(r.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "o").exists()


def test_unknown_parameter_exits_2(tmp_path):
    r = run("run", CHAPTER, "-p", "n_sample", "5", "--out", str(tmp_path / "o"))
    assert r.returncode == 2
    assert "unknown parameter 'n_sample'" in r.stderr
    assert not (tmp_path / "o").exists()


def test_repeated_parameter_is_an_error(tmp_path):
    r = run("run", CHAPTER, "-p", "n_plot", "50", "-p", "n_plot", "60", "--out", str(tmp_path / "o"))
    assert r.returncode == 2 and "'n_plot' is given twice" in r.stderr
    assert not (tmp_path / "o").exists()


def test_invalid_value_is_a_usage_error_before_anything_is_written(tmp_path):
    r = run("run", CHAPTER, "-p", "n_plot", "-3", "--out", str(tmp_path / "o"))
    assert r.returncode == 2
    assert "n_plot must be >= 10" in r.stderr
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize("out", ["chapters/duality/out", "chapters", ".", "_build", "_build/x", ".."])
def test_book_folders_are_refused_as_out(out):
    existed = (ROOT / out).exists()
    r = run("run", CHAPTER, "--out", out)
    assert r.returncode == 2, r.stderr
    assert "--out" in r.stderr and len(r.stderr.strip().splitlines()) == 1
    assert (ROOT / out).exists() == existed


def test_bad_out_is_a_usage_error(tmp_path):
    a_file = tmp_path / "file"
    a_file.write_text("x")
    r = run("run", CHAPTER, "--out", str(a_file))
    assert r.returncode == 2 and "not a folder" in r.stderr and a_file.read_text() == "x"
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "mine.txt").write_text("keep")
    r = run("run", CHAPTER, "--out", str(foreign))
    assert r.returncode == 2 and "no 'bbdlib run' wrote" in r.stderr
    assert [p.name for p in foreign.iterdir()] == ["mine.txt"]
    if os.geteuid() != 0:  # root ignores permissions
        ro = tmp_path / "ro"
        ro.mkdir()
        ro.chmod(0o500)
        r = run("run", CHAPTER, "--out", str(ro / "x"))
        assert r.returncode == 2 and "permission" in r.stderr


def test_bad_timeout_is_a_usage_error(tmp_path):
    for bad in ("0", "-5", "nan", "soon"):
        r = run("run", CHAPTER, "--timeout", bad, "--out", str(tmp_path / "o"))
        assert r.returncode == 2 and "--timeout" in r.stderr
    assert not (tmp_path / "o").exists()


# -- parameters ---------------------------------------------------------------------------
def test_params_lists_the_parameters_cell():
    r = run("params", CHAPTER)
    assert r.returncode == 0
    assert "n_plot = 400" in r.stdout


def test_tuple_assignments_are_parameters(tmp_path):
    import jupytext

    from bbdlib.book.cli import parameter_names

    names = parameter_names(jupytext.read(stub(tmp_path)))
    assert names == {"n": "3", "a_pl": "1.0", "b_pl": "1000.0", "sleep": "0.0"}
    r = run("params", stub(tmp_path))
    assert "a_pl = 1.0" in r.stdout and "b_pl = 1000.0" in r.stdout


def test_values_are_literals_else_strings():
    from bbdlib.book.cli import parse_value

    assert parse_value("n", "5") == 5 and parse_value("x", "[1, 2]") == [1, 2]
    assert parse_value("s", "'mse'") == "mse" and parse_value("s", "mse") == "mse"
    assert parse_value("cls", "-") == "-" and parse_value("c", "a b!") == "a b!"
    assert parse_value("b", "True") is True and parse_value("x", "[1, 2") == "[1, 2"


# -- real runs ----------------------------------------------------------------------------
@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_run_writes_notebook_figures_and_claims(tmp_path):
    r = run("run", CHAPTER, "-p", "abs_x_checks", "[20, 40]", "-p", "n_plot", "50",
            "--out", str(tmp_path))
    assert r.returncode == 0, r.stderr
    s = summary(tmp_path)
    assert s["given"] == {"abs_x_checks": [20, 40], "n_plot": 50}
    # the full parameter set, defaults included
    assert s["parameters"] == {"abs_x_checks": [20, 40], "x_plot_min": 1.0, "x_plot_max": 100.0,
                               "n_plot": 50, "n_ibp": 6}
    assert s["status"] == "ok" and s["commit"] and s["started"] and s["ended"]
    assert (tmp_path / "09-appendix-a.ipynb").is_file()
    assert s["figures"] and all(Path(f).suffix == ".png" for f in s["figures"])
    ledger = json.loads((tmp_path / "claims" / "duality__09-appendix-a.json").read_text())
    assert ledger["run_id"] == s["run_id"]
    assert any("x = 40" in c["claim"] for c in ledger["claims"])
    assert s["claims"] == len(ledger["claims"]) > 0


def test_summary_counts_only_this_runs_ledger(tmp_path):
    out = tmp_path / "o"
    assert run("run", stub(tmp_path), "--out", str(out)).returncode == 0
    assert summary(out)["claims"] == 1
    # another chapter's ledger in the same folder is not counted
    other = out / "claims" / "duality__01-neural-networks.json"
    other.write_text(json.dumps({"chapter": "chapters/duality/01-neural-networks", "claims": []}))
    # a run that stops before its ledger opens reports no claims, not the previous run's
    r = run("run", stub(tmp_path, STUB_HEAD.replace("import time", "raise RuntimeError('early')")),
            "--out", str(out))
    assert r.returncode == 1
    s = summary(out)
    assert s["status"] == "failed" and s["claims"] == 0 and "early" in s["failure"]
    assert other.is_file()  # never deleted


def test_flipped_claims_are_all_listed_and_the_run_fails(tmp_path):
    out = tmp_path / "o"
    r = run("run", stub(tmp_path, STUB_FLIPS), "--out", str(out))
    assert r.returncode == 1
    s = summary(out)
    assert s["status"] == "failed" and s["claims"] == 4
    assert len(s["flipped"]) == 2
    assert "eq. (2)" in s["flipped"][0] and "2.5" in s["flipped"][0] and "tolerance 0.1" in s["flipped"][0]
    assert "eq. (3)" in s["flipped"][1]
    assert r.stderr.count("flipped:") == 2


def test_sigint_leaves_status_interrupted(tmp_path):
    out = tmp_path / "o"
    p = popen("run", stub(tmp_path), "-p", "sleep", "60", "--out", str(out))
    ledger = out / "claims" / "duality__09-appendix-a.json"
    deadline = time.time() + 120
    while time.time() < deadline:  # until the stub's first claim is recorded (it then sleeps)
        try:
            if len(json.loads(ledger.read_text(encoding="utf-8"))["claims"]) == 1:
                break
        except (OSError, ValueError):
            pass
        time.sleep(0.2)
    time.sleep(1.0)
    assert summary(out)["status"] == "running"
    p.send_signal(signal.SIGINT)
    p.communicate(timeout=60)
    assert p.returncode == 3
    s = summary(out)
    assert s["status"] == "interrupted" and s["ended"] and s["claims"] == 1


def test_timeout_stops_the_run(tmp_path):
    out = tmp_path / "o"
    t0 = time.time()
    r = run("run", stub(tmp_path), "-p", "sleep", "60", "--timeout", "6", "--out", str(out))
    assert r.returncode == 3 and time.time() - t0 < 40
    s = summary(out)
    assert s["status"] == "timed out" and s["timeout"] == 6.0


def test_dead_kernel_is_a_failed_run(tmp_path):
    out = tmp_path / "o"
    r = run("run", stub(tmp_path, STUB_HEAD.replace("time.sleep(sleep)", "import os; os._exit(9)")),
            "--out", str(out))
    assert r.returncode == 1
    assert summary(out)["status"] == "failed"


def test_concurrent_runs_into_one_folder_never_mix(tmp_path):
    out = tmp_path / "o"
    first = popen("run", stub(tmp_path), "-p", "sleep", "20", "--out", str(out))
    deadline = time.time() + 60
    while not (out / "summary.json").is_file() and time.time() < deadline:
        time.sleep(0.1)
    second = run("run", stub(tmp_path), "-p", "n", "5", "--out", str(out))
    assert second.returncode == 2 and "in use by another run" in second.stderr
    first.communicate(timeout=120)
    assert first.returncode == 0
    s = summary(out)
    assert s["given"] == {"sleep": 20} and s["claims"] == 1
    # the lock dies with its run: the folder is usable again
    assert run("run", stub(tmp_path), "-p", "n", "5", "--out", str(out)).returncode == 0
    assert summary(out)["given"] == {"n": 5}


# -- execute ------------------------------------------------------------------------------
def test_execute_with_a_missing_chapter_leaves_the_cache_folder_untouched(tmp_path):
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / "precious.txt").write_text("keep")
    r = run("execute", "chapters/duality/nope.md", "--cache", str(cache))
    assert r.returncode == 2 and "does not exist" in r.stderr
    assert (cache / "precious.txt").read_text() == "keep"
    # a real chapter, but a folder execute did not make: refused, kept
    r = run("execute", CHAPTER, "--cache", str(cache))
    assert r.returncode == 2 and "did not make" in r.stderr
    assert (cache / "precious.txt").read_text() == "keep"
    for bad in (".", "chapters", "_build"):
        r = run("execute", CHAPTER, "--cache", bad)
        assert r.returncode == 2, (bad, r.stderr)
    assert (ROOT / "chapters" / "duality" / "09-appendix-a.md").is_file()


def test_execute_fills_cache_and_reports_failures(tmp_path, claims_dir):
    from bbdlib.book.execute import execute_chapters

    bad = tmp_path / "chapters" / "bad.md"
    bad.parent.mkdir()
    bad.write_text((ROOT / CHAPTER).read_text().replace("n_ibp = 6 ", "n_ibp = -1"))
    failed = execute_chapters([ROOT / CHAPTER, bad], tmp_path / "cache")
    assert failed == 1
    assert (claims_dir / "duality__09-appendix-a.json").is_file()
    # the cache it made may be remade
    assert (tmp_path / "cache" / ".bbdlib-execute").is_file()
    with pytest.raises(ValueError, match="timeout"):
        execute_chapters([ROOT / CHAPTER], tmp_path / "cache", timeout=0)


@pytest.mark.parametrize(("chapter", "name"), [
    ("chapters/duality/06-toy-model-numerics.md", "train_steps"),
    ("chapters/duality/06-toy-model-numerics.md", "replicas"),
    ("chapters/duality/07-figures.md", "batch"),
    ("chapters/duality/08-power-law-sweep.md", "n_tail_samples"),
    ("chapters/duality/05-criticality.md", "n_boot"),
    ("chapters/duality/06-toy-model-numerics.md", "jump_steps"),
])
def test_work_sizes_have_a_maximum_that_says_why(tmp_path, chapter, name):
    r = run("run", chapter, "-p", name, str(10**12), "--out", str(tmp_path / "o"))
    assert r.returncode == 2
    assert f"{name} must be <= " in r.stderr and "2 cores, 24 GiB" in r.stderr
    assert not (tmp_path / "o").exists()


def test_too_few_bins_is_a_clear_failure_not_a_pass_or_a_crash(tmp_path):
    # II.4 at its smallest n_samples: (5.1) would be "reproduced" on 1 bin of 60
    r = run("run", "chapters/duality/04-toy-model.md", "-p", "n_samples", "10000", "--out", str(tmp_path))
    assert r.returncode == 1
    assert "only 1 of 60 bins hold >= 2000 samples" in r.stderr and "at least 15" in r.stderr
    # a min_count beyond any sample size is refused before running
    r = run("run", "chapters/duality/04-toy-model.md", "-p", "min_count", "10000000", "--out", str(tmp_path / "x"))
    assert r.returncode == 2 and "min_count must be <= 1000000" in r.stderr
