"""Tests for bbdlib.bulk_boundary.landscape: window averages, sources and sinks, the Fig. 2 drawing."""
import numpy as np
import pytest

from bbdlib.bulk_boundary import energy as E
from bbdlib.bulk_boundary import landscape as Lsc
from tests.bulk_boundary.problems import demo_trajectory as _traj


def test_window_average_and_drawing():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    tr = _traj("osc", widths=(3, 4, 4, 2), n=100)
    k = E.kinematics(tr)
    f = E.site_fields(k)
    w = Lsc.window_average(k, f, 0.5, 1.0)
    # the mean link currents sum to the mean site transport
    inside = (k.t >= 0.5) & (k.t <= 1.0)
    assert np.allclose(w.links[1].sum(axis=0), np.mean(f.j_out[1][inside], axis=0), rtol=0.2, atol=1e-3)
    s = Lsc.sources_and_sinks(w)
    assert len(s.layers) == tr.net.depth and [r.m for r in s.layers] == list(range(1, tr.net.depth + 1))
    assert sum(r.sources for r in s.layers) + sum(r.sinks for r in s.layers) <= sum(tr.net.widths[1:])
    text = Lsc.describe_window(s, w)
    assert text.startswith("t ∈ [") and "strongest source" in text
    fig, ax = plt.subplots()
    Lsc.draw_landscape(ax, w)
    plt.close(fig)
    with pytest.raises(ValueError, match="no samples"):
        Lsc.window_average(k, f, 10.0, 11.0)


def test_local_part_drift_and_one_arrow_scale():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    tr = _traj("osc", widths=(3, 4, 4, 2), n=100)
    k = E.kinematics(tr)
    f = E.site_fields(k)
    ws = [Lsc.window_average(k, f, a, a + 0.4) for a in (0.1, 0.5)]
    for w in ws:
        for m in range(1, tr.net.depth + 1):
            np.testing.assert_allclose(w.e_local[m] + w.drift[m], w.e[m], rtol=1e-12, atol=1e-12)
        np.testing.assert_array_equal(w.drift[tr.net.depth], 0.0)   # no ∫dt term at the output
    scale = Lsc.current_scale(ws)
    assert scale >= max(Lsc.current_scale([w]) for w in ws) > 0
    fig, ax = plt.subplots()
    Lsc.draw_landscape(ax, ws[0], field="e_local", jmax=scale)
    assert [t.get_text() for t in ax.get_xticklabels()][0] == "X"
    assert [t.get_text() for t in ax.get_xticklabels()][-1] == "Y"
    with pytest.raises(ValueError, match="field"):
        Lsc.draw_landscape(ax, ws[0], field="energy")
    plt.close(fig)
