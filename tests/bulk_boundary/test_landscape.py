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
