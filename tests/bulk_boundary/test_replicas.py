"""Sec. 4 on a batch of replicas: per-replica residuals and probe budgets equal those of separate runs."""
import numpy as np
import pytest

from bbdlib.bulk_boundary.continuity import demo_problem, probe_budget, probe_budgets, residuals
from bbdlib.bulk_boundary.drives import SampleStream
from bbdlib.bulk_boundary.integrator import integrate


def test_residuals_of_a_replica_equal_a_separate_run():
    net, th, v0, dr = demo_problem((3, 4, 4, 2), "tanh", "mse", drive="oscillating", rng=3)
    rng = np.random.default_rng(1)
    ths = np.stack([th, th + 0.1 * rng.normal(size=th.size)])
    vs = np.stack([v0, -v0])
    tb = integrate(net, ths, vs, gamma=1.0, drive=dr, h=0.01, n_steps=100, method="cs2")
    for r in range(2):
        a = residuals(tb.replica(r))
        b = residuals(integrate(net, ths[r], vs[r], gamma=1.0, drive=dr, h=0.01, n_steps=100, method="cs2"))
        for key in ("input", "bulk", "output", "sum_rule", "local_error"):
            assert getattr(a, key) == pytest.approx(getattr(b, key), rel=1e-9, abs=1e-15)


def test_probe_budgets_equal_probe_budget():
    net, th, v0, _ = demo_problem((4, 5, 3), "tanh", "mse", drive="fixed", rng=2)
    rng = np.random.default_rng(0)
    streams = [SampleStream(rng.normal(size=(3, 4)), rng.normal(size=(3, 3)), dwell=0.2, ramp=0.2) for _ in range(3)]
    ths = np.stack([th + 0.1 * k for k in range(3)])
    vs = np.stack([v0 * (k + 1) for k in range(3)])
    batch = probe_budgets(net, ths, vs, gamma=1.0, streams=streams, h=0.01, method="cs4")
    for r, p in enumerate(batch):
        q = probe_budget(net, ths[r], vs[r], gamma=1.0, stream=streams[r], h=0.01, method="cs4")
        assert p.closure == pytest.approx(q.closure, rel=1e-8, abs=1e-15)
        assert p.inject_in == pytest.approx(q.inject_in, rel=1e-10)
        assert np.allclose(p.dissipation, q.dissipation, rtol=1e-10, atol=1e-15)
        assert np.allclose(p.theta_end, q.theta_end, rtol=0, atol=1e-13)


def test_probe_budgets_bad_input():
    net, th, v0, _ = demo_problem((4, 5, 3), "tanh", "mse", drive="fixed", rng=2)
    rng = np.random.default_rng(0)
    a = SampleStream(rng.normal(size=(3, 4)), rng.normal(size=(3, 3)), dwell=0.2, ramp=0.2)
    b = SampleStream(rng.normal(size=(2, 4)), rng.normal(size=(2, 3)), dwell=0.2, ramp=0.2)
    with pytest.raises(ValueError, match="streams disagree in duration"):
        probe_budgets(net, np.stack([th, th]), np.stack([v0, v0]), gamma=1.0, streams=[a, b], h=0.01)
    with pytest.raises(ValueError, match="batch sizes"):
        probe_budgets(net, np.stack([th, th, th]), np.stack([v0, v0, v0]), gamma=1.0, streams=[a, a], h=0.01)
