"""python -m bbdlib run: papermill over a chapter's MyST source, with parameters."""
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHAPTER = "chapters/duality/09-appendix-a.md"


def run(*args, cwd=ROOT):
    return subprocess.run([sys.executable, "-m", "bbdlib", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=600)


def test_unknown_chapter_exits_2(tmp_path):
    r = run("run", "chapters/duality/nope.md", "--out", str(tmp_path))
    assert r.returncode == 2
    assert "unknown chapter" in r.stderr and len(r.stderr.strip().splitlines()) == 1


def test_unknown_parameter_exits_2(tmp_path):
    r = run("run", CHAPTER, "-p", "n_sample", "5", "--out", str(tmp_path))
    assert r.returncode == 2
    assert "unknown parameter 'n_sample'" in r.stderr
    assert not (tmp_path / "09-appendix-a.ipynb").exists()


def test_out_inside_chapters_is_refused():
    r = run("run", CHAPTER, "--out", "chapters/duality/out")
    assert r.returncode == 2 and "chapters/" in r.stderr
    assert not (ROOT / "chapters/duality/out").exists()


def test_invalid_value_fails_in_validation_cell(tmp_path):
    r = run("run", CHAPTER, "-p", "n_plot", "-3", "--out", str(tmp_path))
    assert r.returncode == 1
    assert "n_plot must be >= 10" in r.stderr


def test_params_lists_the_parameters_cell():
    r = run("params", CHAPTER)
    assert r.returncode == 0
    assert "n_plot = 400" in r.stdout


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_run_writes_notebook_figures_and_claims(tmp_path):
    r = run("run", CHAPTER, "-p", "abs_x_checks", "[20, 40]", "-p", "n_plot", "50",
            "--out", str(tmp_path))
    assert r.returncode == 0, r.stderr
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["parameters"] == {"abs_x_checks": [20, 40], "n_plot": 50}
    assert (tmp_path / "09-appendix-a.ipynb").is_file()
    assert summary["figures"] and all(Path(f).suffix == ".png" for f in summary["figures"])
    claims = json.loads((tmp_path / "claims" / "duality__09-appendix-a.json").read_text())["claims"]
    # the claims of this run are at the new |x| values
    assert any("x = 40" in c["claim"] for c in claims)
    assert summary["claims"] == len(claims) > 0


def test_execute_fills_cache_and_reports_failures(tmp_path, claims_dir):
    from bbdlib.book.execute import execute_chapters

    bad = tmp_path / "chapters" / "bad.md"
    bad.parent.mkdir()
    bad.write_text((ROOT / CHAPTER).read_text().replace("n_ibp = 6 ", "n_ibp = -1"))
    failed = execute_chapters([ROOT / CHAPTER, bad], tmp_path / "cache")
    assert failed == 1
    assert (claims_dir / "duality__09-appendix-a.json").is_file()
