"""The claims ledger: each status is asserted, records land in JSON, bad input is refused."""
import json

import numpy as np
import pytest
import sympy as sp

from bbdlib.book.claims import ClaimFailed, Ledger

CHAPTER = "chapters/duality/09-appendix-a"


@pytest.fixture
def ledger(claims_dir):
    return Ledger(CHAPTER)


def _records(ledger):
    return json.loads(ledger.path.read_text())["claims"]


def test_check_records_reproduced(ledger):
    ledger.check(ref="eq. (1)", claim="k = 1", expected=1.0, measured=1.02, tolerance=0.05)
    (rec,) = _records(ledger)
    assert rec["status"] == "reproduced"
    assert rec["chapter"] == CHAPTER
    assert rec["deviation"] == pytest.approx(0.02)


def test_failing_claim_is_recorded_and_close_raises(ledger):
    rec = ledger.check(ref="eq. (1)", claim="k = 1", expected=1.0, measured=1.2, tolerance=0.05)
    assert "deviation" in rec.failure and "tolerance 0.05" in rec.failure
    # the chapter runs on: later claims are recorded too
    ledger.check(ref="eq. (2)", claim="k = 2", expected=2.0, measured=2.0)
    ledger.not_reproduced(ref="eq. (3)", claim="k = 3", expected=3.0, measured=3.0, tolerance=0.1,
                          evidence="e")
    recs = _records(ledger)
    assert [r["failure"] is None for r in recs] == [False, True, False]
    assert recs[0]["measured"] == 1.2 and recs[0]["status"] == "reproduced"
    with pytest.raises(ClaimFailed, match=r"2 of 3 claims") as info:
        ledger.close()
    assert "eq. (1)" in str(info.value) and "eq. (3)" in str(info.value)
    assert [r.ref for r in ledger.failures()] == ["eq. (1)", "eq. (3)"]


def test_close_returns_the_table_when_every_claim_held(ledger):
    ledger.check(ref="eq. (1)", claim="k = 1", expected=1.0, measured=1.0)
    assert "eq. (1)" in ledger.close().data


def test_relative_tolerance_and_arrays(ledger):
    ledger.check(ref="eq. (2)", claim="c", expected=np.array([100.0, 200.0]),
                 measured=np.array([101.0, 198.0]), tolerance=0.011, rel=True)
    assert ledger.check(ref="eq. (2)", claim="c", expected=np.array([100.0, 200.0]),
                        measured=np.array([101.0, 190.0]), tolerance=0.011, rel=True).failure


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), np.array([1.0, np.nan]), -np.inf])
def test_nan_or_inf_is_an_error_never_a_status(ledger, bad):
    for method in (ledger.check, ledger.not_reproduced):
        with pytest.raises(ValueError, match="NaN or infinite"):
            method(ref="eq. (2)", claim="c", expected=1.0, measured=bad, tolerance=1e9, evidence="e")
    with pytest.raises(ValueError, match="NaN or infinite"):
        ledger.check(ref="eq. (2)", claim="c", expected=bad, measured=1.0, tolerance=1.0)
    assert _records(ledger) == []


@pytest.mark.parametrize(("expected", "measured"), [
    (True, 0.5), (1.0, True), ("1", 1.0), (True, "True"), (1, [True]), (None, 1.0)])
def test_values_are_compared_by_kind_not_truthiness(ledger, expected, measured):
    with pytest.raises(TypeError):
        ledger.check(ref="eq. (2)", claim="c", expected=expected, measured=measured)
    assert ledger.check(ref="eq. (3)", claim="c", expected=True, measured=np.bool_(True)).failure is None
    assert ledger.check(ref="eq. (4)", claim="c", expected=False, measured=True).failure


@pytest.mark.parametrize("tol", [True, False, float("inf"), float("nan"), -1, "0.1", [0.1]])
def test_tolerance_is_a_finite_non_negative_real(ledger, tol):
    with pytest.raises((TypeError, ValueError), match="tolerance"):
        ledger.check(ref="eq. (2)", claim="c", expected=1.0, measured=1.0, tolerance=tol)


def test_second_record_with_another_status_is_an_error(ledger):
    ledger.check(ref="eq. (2)", claim="c", expected=1.0, measured=1.0)
    ledger.check(ref="eq. (2)", claim="c", expected=1.0, measured=1.0)  # same status: fine
    with pytest.raises(ValueError, match="already recorded as 'reproduced'"):
        ledger.not_reproduced(ref="eq. (2)", claim="c", expected=1.0, measured=2.0, evidence="e")


@pytest.mark.parametrize("evidence", ["", "   ", "\n\t"])
def test_evidence_must_be_text(ledger, evidence):
    with pytest.raises(ValueError, match="evidence"):
        ledger.not_reproduced(ref="r", claim="c", expected=1.0, measured=2.0, evidence=evidence)
    with pytest.raises(ValueError, match="evidence"):
        ledger.correction(ref="r", claim="c", printed=3.0, expected=1.0, measured=1.0,
                          evidence=evidence)
    with pytest.raises(TypeError, match="evidence"):
        ledger.not_reproduced(ref="r", claim="c", expected=1.0, measured=2.0, evidence=None)


def test_correction_failures_give_the_tolerance(ledger):
    a = ledger.correction(ref="r", claim="c", printed=1.0, expected=1.0, measured=1.0,
                          tolerance=0.05, evidence="e")
    b = ledger.correction(ref="s", claim="c", printed=3.0, expected=2.0, measured=1.0,
                          tolerance=0.05, evidence="e")
    assert "tolerance 0.05" in a.failure and "tolerance 0.05" in b.failure


def test_ledger_is_utf8_whatever_the_locale(claims_dir, tmp_path):
    import subprocess
    import sys

    code = ("from bbdlib.book.claims import Ledger; l = Ledger('chapters/duality/09-appendix-a'); "
            "l.check(ref='eq. (1)', claim='|q\\u0307\\u2032| \\u221d \\u03b3\\u00b2', "
            "expected=1.0, measured=1.0)")
    env = {"PATH": "/usr/bin:/bin", "LC_ALL": "C", "LANG": "C", "PYTHONUTF8": "0",
           "PYTHONCOERCECLOCALE": "0", "BBD_CLAIMS_DIR": str(tmp_path / "c")}
    from pathlib import Path
    root = Path(__file__).resolve().parents[2]
    r = subprocess.run([sys.executable, "-c", code], env=env, cwd=root, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    text = (tmp_path / "c" / "duality__09-appendix-a.json").read_bytes().decode("utf-8")
    assert "|q̇′| ∝ γ²" in text


def test_symbolic_identity(ledger):
    x = sp.symbols("x")
    ledger.check_symbolic(ref="eq. (3)", claim="identity",
                          expected=sp.sin(x) ** 2, measured=1 - sp.cos(x) ** 2)
    assert ledger.check_symbolic(ref="eq. (3)", claim="not identity",
                                 expected=sp.sin(x), measured=sp.cos(x)).failure
    with pytest.raises(ValueError, match="exact"):
        ledger.check(ref="eq. (3)", claim="c", expected=x, measured=x, tolerance=0.1)


def test_correction_asserts_both_halves(ledger):
    ledger.correction(ref="eq. (A.2)", claim="c", printed=2.718, expected=1.0,
                      measured=1.01, tolerance=0.05, evidence="factor e is spurious")
    assert _records(ledger)[-1]["status"] == "corrected"
    # the printed value agrees: not a correction
    assert "printed value" in ledger.correction(ref="r", claim="c", printed=1.0, expected=1.0,
                                                measured=1.0, tolerance=0.05, evidence="e").failure
    # the corrected value does not agree either
    assert "corrected value" in ledger.correction(ref="r", claim="c", printed=3.0, expected=2.0,
                                                  measured=1.0, tolerance=0.05, evidence="e").failure
    with pytest.raises(ValueError, match="evidence"):
        ledger.correction(ref="r", claim="c", printed=3.0, expected=1.0,
                          measured=1.0, tolerance=0.05, evidence="")


def test_not_reproduced_asserts_disagreement(ledger):
    ledger.not_reproduced(ref="r", claim="converges", expected=True, measured=False,
                          evidence="ratio test")
    assert _records(ledger)[-1]["status"] == "not reproduced"
    assert "agrees" in ledger.not_reproduced(ref="r2", claim="c", expected=1.0, measured=1.0,
                                             tolerance=0.1, evidence="e").failure


def test_bad_input(ledger):
    with pytest.raises(ValueError, match="paper"):
        ledger.check(paper="C", ref="r", claim="c", expected=1, measured=1, tolerance=0)
    with pytest.raises(ValueError, match="ref"):
        ledger.check(ref=" ", claim="c", expected=1, measured=1, tolerance=0)
    with pytest.raises(ValueError, match="tolerance"):
        ledger.check(ref="r", claim="c", expected=1, measured=1, tolerance=-1)
    with pytest.raises(ValueError, match="chapter"):
        Ledger("notes/x")
    with pytest.raises(ValueError, match="does not name a file"):
        Ledger("chapters/duality/no-such-chapter")


def test_new_ledger_resets_file(ledger):
    ledger.check(ref="r", claim="c", expected=1, measured=1, tolerance=0)
    again = Ledger(CHAPTER)
    assert _records(again) == []
    assert again.summary() == {"reproduced": 0, "corrected": 0, "not reproduced": 0}


def test_assess_asserts_the_declared_status(ledger):
    ledger.assess(declared="reproduced", ref="r", claim="c", expected=1.0,
                  measured=1.01, tolerance=0.05)
    ledger.assess(declared="not reproduced", ref="r0", claim="c", expected=1.0,
                  measured=1.5, tolerance=0.05, evidence="off")
    assert [r["status"] for r in _records(ledger)] == ["reproduced", "not reproduced"]
    # the evidence changed: both declarations now fail instead of flipping silently
    assert ledger.assess(declared="reproduced", ref="r1", claim="c", expected=1.0,
                         measured=1.5, tolerance=0.05).failure
    assert ledger.assess(declared="not reproduced", ref="r2", claim="c", expected=1.0,
                         measured=1.01, tolerance=0.05, evidence="off").failure
    with pytest.raises(ClaimFailed):
        ledger.close()
    with pytest.raises(ValueError, match="declared"):
        ledger.assess(declared="maybe", ref="r", claim="c", expected=1, measured=1)


def test_paper_is_the_chapters_part(ledger):
    rec = ledger.check(ref="eq. (1)", claim="k = 1", expected=1.0, measured=1.0)
    assert rec.paper == "B"
    with pytest.raises(ValueError, match="disagrees with the chapter's part"):
        ledger.check(paper="A", ref="eq. (1)", claim="k = 1", expected=1.0, measured=1.0)
    a = Ledger("chapters/bulk-boundary/01-fundamentals")
    assert a.check(ref="eq. (1)", claim="c", expected=1.0, measured=1.0).paper == "A"


def test_load_records_and_status_counts(ledger, claims_dir, tmp_path):
    from bbdlib.book.claims import Claim, load_records, status_counts

    ledger.check(ref="r", claim="c", expected=1, measured=1, tolerance=0)
    ledger.not_reproduced(ref="r", claim="d", expected=1.0, measured=2.0, tolerance=0.1, evidence="e")
    records = load_records(claims_dir)
    assert all(isinstance(r, Claim) for r in records)
    assert records == ledger.records
    assert status_counts(records) == {"reproduced": 1, "corrected": 0, "not reproduced": 1}
    assert status_counts(records, "A") == {"reproduced": 0, "corrected": 0, "not reproduced": 0}
    assert ledger.summary() == status_counts(records)
    assert load_records(tmp_path / "missing") == []


def test_kind_of_evidence(ledger):
    x = sp.Symbol("x")
    assert ledger.check(ref="eq. (1)", claim="a", expected=1.0, measured=1.0).kind == "measured"
    assert ledger.check_symbolic(ref="eq. (2)", claim="b", expected=x, measured=x).kind == "exact"
    assert ledger.check(ref="eq. (3)", claim="c", expected=2.0, measured=2.0,
                        kind="convention").kind == "convention"
    with pytest.raises(ValueError, match="kind must be one of"):
        ledger.check(ref="eq. (4)", claim="d", expected=1.0, measured=1.0, kind="measurement")
    assert all(r["kind"] in ("measured", "exact", "convention") for r in _records(ledger))


def test_a_record_without_kind_is_refused(tmp_path):
    from bbdlib.book.claims import load_records
    (tmp_path / "x.json").write_text(json.dumps({"chapter": "chapters/duality/x", "claims": [
        {"paper": "B", "ref": "eq. (1)", "claim": "c", "expected": 1, "measured": 1, "tolerance": 0,
         "status": "reproduced", "chapter": "chapters/duality/x"}]}))
    with pytest.raises(ValueError, match="has no valid kind"):
        load_records(tmp_path)


def test_beyond_scope_from_the_folder_is_counted_apart(claims_dir, monkeypatch):
    import bbdlib.book.claims as claims
    from bbdlib.book.claims import load_records, status_counts

    monkeypatch.setattr(claims, "repo_root", lambda start=None: None)
    repro = Ledger(CHAPTER)
    beyond = Ledger("chapters/beyond-duality/01-mini-batches")
    assert (repro.scope, beyond.scope, beyond.paper) == ("reproduction", "beyond", "B")
    repro.check(ref="eq. (6.11)", claim="k = 1", expected=1.0, measured=1.0)
    rec = beyond.not_reproduced(ref="Sec. 6", claim="k = 1 at M = 16", expected=1.0, measured=0.2,
                                tolerance=0.1, evidence="smoothed away")
    assert rec.scope == "beyond"
    records = load_records(claims_dir)
    assert status_counts(records, "B", "reproduction") == {"reproduced": 1, "corrected": 0, "not reproduced": 0}
    assert status_counts(records, scope="beyond") == {"reproduced": 0, "corrected": 0, "not reproduced": 1}
    with pytest.raises(ValueError, match="scope"):
        status_counts(records, scope="elsewhere")


def test_beyond_records_are_not_errata():
    from bbdlib.book.claims import Claim
    from bbdlib.book.sphinx.claims import erratum_groups

    def rec(scope):
        return Claim(paper="B", ref="Sec. 6", claim="c", expected=1.0, measured=2.0, tolerance=0.1,
                     status="not reproduced", kind="measured", chapter="chapters/x/y", scope=scope)

    assert len(erratum_groups([rec("reproduction")])) == 1
    assert erratum_groups([rec("beyond")]) == []
