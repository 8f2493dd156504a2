"""damped_flow on a batch of replicas (one stacked solve_ivp system) against separate calls; bad batches."""
import numpy as np
import pytest

from bbdlib.bulk_boundary.drives import ConstantDrive, DriveBatch, OscillatingDrive
from bbdlib.bulk_boundary.limits import FullBatch, damped_flow
from bbdlib.bulk_boundary.network import Network


def _replicas(R=3):
    net = Network((3, 4, 2), "tanh", "mse")
    rng = np.random.default_rng(4)
    ths = np.stack([net.init_params(rng) for _ in range(R)])
    vs = 0.3 * rng.normal(size=ths.shape)
    drives = DriveBatch([OscillatingDrive(rng.normal(size=3), 0.5, 1.0 + r, rng.normal(size=2)) for r in range(R)])
    return net, ths, vs, drives


def test_stacked_equals_separate():
    net, ths, vs, drives = _replicas()
    t = np.linspace(0.0, 1.0, 5)
    sol = damped_flow(net, ths, vs, gamma=1.0, data=drives, t_eval=t, method="DOP853", rtol=1e-11, atol=1e-13)
    assert sol.theta.shape == sol.v.shape == (5, 3, net.n_params)
    for r in range(3):
        one = damped_flow(net, ths[r], vs[r], gamma=1.0, data=drives.drives[r], t_eval=t, method="DOP853",
                          rtol=1e-11, atol=1e-13)
        assert np.max(np.abs(sol.theta[:, r] - one.theta)) < 1e-8
        assert np.max(np.abs(sol.v[:, r] - one.v)) < 1e-8


def test_bad_batches():
    net, ths, vs, drives = _replicas()
    t = [0.0, 0.5]
    with pytest.raises(ValueError, match="same shape"):
        damped_flow(net, ths, vs[:2], gamma=1.0, data=drives, t_eval=t)
    with pytest.raises(ValueError, match="3 replicas but theta0 2"):
        damped_flow(net, ths[:2], vs[:2], gamma=1.0, data=drives, t_eval=t)
    with pytest.raises(ValueError, match="FullBatch"):
        damped_flow(net, ths, vs, gamma=1.0, data=FullBatch(np.zeros((4, 3)), np.zeros((4, 2))), t_eval=t)
    with pytest.raises(ValueError, match="theta0"):
        damped_flow(net, np.full_like(ths, np.nan), vs, gamma=1.0, data=ConstantDrive(np.zeros(3), np.zeros(2)),
                    t_eval=t)
