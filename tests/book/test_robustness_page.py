"""The Sweeps page's results (bbdlib.book.sphinx.sweeps): the k(n) map from a synthetic sweep.json of
II.8 and the robustness paragraphs from a synthetic robustness.json, in a small Sphinx build."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from bbdlib.book import sweep as sw
from bbdlib.book.sphinx import sweeps as page

LAW = {n: (n - 2) / (n - 1) for n in (2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 12.0)}


def _claim(n, cls, measured, held=True):
    numeric = not isinstance(measured, str)
    extra = {"n": n, "ci": [measured - 0.01, measured + 0.01]} if numeric else {"n": n}
    return {"ref": "eq. (7.15)", "claim": f"ReLU + |f − x²|^{n:g}, class '{cls}': p(|q̇′|) ∝ |q̇′|^-k, "
                                          f"k = (n-2)/(n-1) = {LAW[n]:.4f}",
            "kind": "measured", "status": "reproduced", "held": held, "measured": measured,
            "expected": LAW[n] if numeric else "k over at least 1 decade", "tolerance": 0.02 if numeric else 0,
            "failure": None if held else "flipped", "extra": extra}


def _sweep(second_run_k2=None):
    """Three runs as II.8 records them: the fixed n in every run, plus n_power."""
    fixed = (2.0, 3.0, 4.0, 6.0, 8.0)
    runs = []
    for n_power, status in ((5.0, "ok"), (7.0, "ok"), (12.0, "failed")):
        claims = []
        for n in sorted(set(fixed) | {n_power}):
            for cls in "-+":
                if n == 12.0:
                    claims.append(_claim(n, cls, "no power-law range (0.41 decades)", held=False))
                elif n == 2.0 and cls == "-" and n_power == 7.0 and second_run_k2 is not None:
                    claims.append(_claim(n, cls, second_run_k2))
                else:
                    claims.append(_claim(n, cls, LAW[n] + (0.03 if (n, cls) == (3.0, "-") else 0.001),
                                         held=True))
        claims.append({"ref": "Table (Sec. 8)", "claim": "k = 1 for H = exp(Ay)", "kind": "measured",
                       "status": "reproduced", "held": True, "measured": True, "expected": True,
                       "tolerance": 0, "failure": None, "extra": {}})
        runs.append({"id": sw.point_id({"n_power": n_power}), "parameters": {"n_power": n_power},
                     "status": status, "claims": claims})
    return {"tool": "bbdlib sweep", "runs": runs}


def test_kn_map_reads_every_n_once_and_marks_no_range():
    kmap = sw.kn_map(_sweep())
    assert sorted({p.n for p in kmap.points}) == [2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 12.0]
    assert len(kmap.points) == 16 and kmap.runs == 3 and kmap.consistent
    assert kmap.no_range == (12.0,) and kmap.failed == (sw.point_id({"n_power": 12.0}),)
    p5 = [p for p in kmap.points if p.n == 5.0 and p.cls == "+"][0]
    assert p5.k == pytest.approx(0.751) and p5.ci == pytest.approx((0.741, 0.761)) and p5.run.startswith("n_power=5.0")
    p12 = [p for p in kmap.points if p.n == 12.0][0]
    assert p12.k is None and p12.why.startswith("no power-law range") and p12.law == pytest.approx(10 / 11)
    # a fixed n measured differently by two runs is reported
    assert not sw.kn_map(_sweep(second_run_k2=0.5)).consistent


def test_kn_map_refuses_what_is_not_a_map():
    with pytest.raises(TypeError, match="sweep"):
        sw.kn_map([])
    with pytest.raises(ValueError, match="no runs"):
        sw.kn_map({"runs": []})
    with pytest.raises(ValueError, match=r"eq\. \(7\.15\)"):
        sw.kn_map({"runs": [{"id": "x", "parameters": {}, "status": "ok", "claims": []}]})
    with pytest.raises(TypeError, match="kmap"):
        sw.plot_kn_map({}, "x.png")
    with pytest.raises(TypeError, match="kmap"):
        page.kn_caption({})
    with pytest.raises(TypeError, match="rb"):
        page.robustness_text([1])


def test_kn_caption_and_figure(tmp_path):
    kmap = sw.kn_map(_sweep())
    caption = page.kn_caption(kmap)
    assert "n = 2, 3, 4, 5, 6, 7, 8, 12" in caption and "for n = 12 (marked ×)" in caption
    assert "14 of the 14 measurements" in caption and "1 runs ended" in caption
    assert "measured in each of the 3 runs, have the same k in every run" in caption
    assert "Warning" in page.kn_caption(sw.kn_map(_sweep(second_run_k2=0.5)))
    png = sw.plot_kn_map(kmap, tmp_path / "kn.png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


ROBUSTNESS = {"seeds": [0, 1, 2, 3, 4], "seconds": 600.0,
              "seeded": ["chapters/duality/02-duality-map.md", "chapters/bulk-boundary/04-energy-continuity.md"],
              "deterministic": ["chapters/duality/09-appendix-a.md"],
              "seed_dependent": [{"chapter": "chapters/bulk-boundary/04-energy-continuity", "ref": "eq. (9)",
                                  "claim": "x", "hold_rate": 0.4, "outcomes": {}}],
              "cost": {"runs": 16, "executed": 13, "from_book": 3, "cpu_seconds": 1234.0, "cpu_runs": 13,
                       "cpu_seconds_per_2_workers": 617.0, "wall_seconds_of_runs": 1300.0,
                       "mean_overhead_seconds": 4.2, "mean_overhead_fraction": 0.08}}


def test_robustness_text_is_computed_from_the_file():
    text = " ".join(page.robustness_text(ROBUSTNESS))
    assert "the 2 chapters with a seed parameter (II.2, I.4) at seeds 0–4" in text
    assert "the 1 chapters without one (II.9)" in text and "1 claims in 1 chapters" in text
    assert "Of its 16 runs, 3" in text and "13 were executed: 1234 CPU seconds" in text
    assert "10.3 minutes on 2 workers" in text and "took 10.0 minutes" in text and "4.2 s (8%" in text
    assert "has not run" in page.robustness_text(None)[0]


def _build(src: Path) -> str:
    """``sphinx-build -W`` of ``src`` into ``src/_build/html`` (a process of its own per build)."""
    out = src / "_build" / "html"
    r = subprocess.run([sys.executable, "-m", "sphinx", "-W", "-E", "-q", "-b", "html", "-d",
                        str(src / "_build" / ".doctrees"), str(src), str(out)], capture_output=True, text=True,
                       timeout=300)
    assert r.returncode == 0, r.stderr
    return (out / "index.html").read_text(encoding="utf-8")


def test_sweeps_page_in_a_small_build(tmp_path):
    pytest.importorskip("myst_parser")
    src = tmp_path / "src"
    src.mkdir()
    (src / "conf.py").write_text("extensions = ['myst_parser', 'bbdlib.book.sphinx.sweeps']\nnumfig = True\n"
                                 "exclude_patterns = ['_build']\n")
    (src / "index.md").write_text("# Sweeps\n\n```{sweeps-robustness}\n```\n\n```{sweeps-kn-map}\n```\n")
    html = _build(src)
    assert "make robustness has not run for this build" in html and "The k(n) map has not been produced" in html
    (src / "_build" / "kn").mkdir(parents=True)
    (src / "_build" / "kn" / "sweep.json").write_text(json.dumps(_sweep()))
    (src / "_build" / "robustness.json").write_text(json.dumps(ROBUSTNESS))
    html = _build(src)
    assert "Of its 16 runs, 3" in html and "has not run" not in html
    assert 'id="fig-kn-map"' in html and "Fig. 1" in html and "for n = 12 (marked ×)" in html
    assert '<img alt="Measured exponent k against the power n' in html
    img = next(p for p in (src / "_build" / "html" / "_images").iterdir() if p.name.startswith("kn-map"))
    assert img.read_bytes()[:4] == b"\x89PNG"
