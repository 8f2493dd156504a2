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


def test_check_raises_when_claim_fails(ledger):
    with pytest.raises(ClaimFailed, match="deviation"):
        ledger.check(ref="eq. (1)", claim="k = 1", expected=1.0, measured=1.2, tolerance=0.05)
    assert _records(ledger) == []


def test_relative_tolerance_and_arrays(ledger):
    ledger.check(ref="eq. (2)", claim="c", expected=np.array([100.0, 200.0]),
                 measured=np.array([101.0, 198.0]), tolerance=0.011, rel=True)
    with pytest.raises(ClaimFailed):
        ledger.check(ref="eq. (2)", claim="c", expected=np.array([100.0, 200.0]),
                     measured=np.array([101.0, 190.0]), tolerance=0.011, rel=True)


def test_nan_measurement_never_passes(ledger):
    with pytest.raises(ClaimFailed):
        ledger.check(ref="eq. (2)", claim="c", expected=1.0, measured=float("nan"), tolerance=1e9)


def test_symbolic_identity(ledger):
    x = sp.symbols("x")
    ledger.check_symbolic(ref="eq. (3)", claim="identity",
                          expected=sp.sin(x) ** 2, measured=1 - sp.cos(x) ** 2)
    with pytest.raises(ClaimFailed):
        ledger.check_symbolic(ref="eq. (3)", claim="not identity",
                              expected=sp.sin(x), measured=sp.cos(x))
    with pytest.raises(ValueError, match="exact"):
        ledger.check(ref="eq. (3)", claim="c", expected=x, measured=x, tolerance=0.1)


def test_correction_asserts_both_halves(ledger):
    ledger.correction(ref="eq. (A.2)", claim="c", printed=2.718, expected=1.0,
                      measured=1.01, tolerance=0.05, evidence="factor e is spurious")
    assert _records(ledger)[-1]["status"] == "corrected"
    # the printed value agrees: not a correction
    with pytest.raises(ClaimFailed, match="printed value"):
        ledger.correction(ref="r", claim="c", printed=1.0, expected=1.0,
                          measured=1.0, tolerance=0.05, evidence="e")
    # the corrected value does not agree either
    with pytest.raises(ClaimFailed, match="corrected value"):
        ledger.correction(ref="r", claim="c", printed=3.0, expected=2.0,
                          measured=1.0, tolerance=0.05, evidence="e")
    with pytest.raises(ValueError, match="evidence"):
        ledger.correction(ref="r", claim="c", printed=3.0, expected=1.0,
                          measured=1.0, tolerance=0.05, evidence="")


def test_not_reproduced_asserts_disagreement(ledger):
    ledger.not_reproduced(ref="r", claim="converges", expected=True, measured=False,
                          evidence="ratio test")
    assert _records(ledger)[-1]["status"] == "not reproduced"
    with pytest.raises(ClaimFailed, match="agrees"):
        ledger.not_reproduced(ref="r", claim="c", expected=1.0, measured=1.0,
                              tolerance=0.1, evidence="e")


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
    ledger.assess(declared="not reproduced", ref="r", claim="c", expected=1.0,
                  measured=1.5, tolerance=0.05, evidence="off")
    assert [r["status"] for r in _records(ledger)] == ["reproduced", "not reproduced"]
    # the evidence changed: both declarations now fail instead of flipping silently
    with pytest.raises(ClaimFailed):
        ledger.assess(declared="reproduced", ref="r", claim="c", expected=1.0,
                      measured=1.5, tolerance=0.05)
    with pytest.raises(ClaimFailed):
        ledger.assess(declared="not reproduced", ref="r", claim="c", expected=1.0,
                      measured=1.01, tolerance=0.05, evidence="off")
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
