"""Tests for bbdlib.bulk_boundary.streaming: chunked evaluation equals the one-shot evaluation."""
import numpy as np

from bbdlib.bulk_boundary import energy as E
from bbdlib.bulk_boundary.streaming import stream_site_fields
from tests.bulk_boundary.problems import demo_trajectory as _traj


def test_streamed_fields_match_one_shot():
    tr = _traj("osc", n=300)
    k = E.kinematics(tr)
    f = E.site_fields(k, quadrature="trapezoid")
    s = stream_site_fields(tr.net, tr.theta[0], tr.v[0], gamma=tr.gamma, drive=tr.drive, h=tr.h,
                           n_steps=300, method="cs2", chunk=64)
    for m in range(1, tr.net.depth + 1):
        assert np.allclose(s.e[m], f.e[m], rtol=1e-10, atol=1e-12)
        assert np.allclose(s.j_out[m], f.j_out[m], rtol=1e-10, atol=1e-12)
    b = E.layer_budget(k, f)
    for name in ("energy", "dissipation", "flux", "inject_in", "inject_out"):
        assert np.allclose(getattr(s.budget, name), getattr(b, name), rtol=1e-10, atol=1e-12), name
    assert np.allclose(s.loss, k.loss_i.sum(-1)) and s.checkpoints[0][-1] == tr.t[-1]
