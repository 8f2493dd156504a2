"""Tests of bbdlib.bulk_boundary.drives: inputs/targets with their time derivatives."""
import numpy as np
import pytest

from bbdlib.bulk_boundary.drives import ConstantDrive, OscillatingDrive, SampleStream
from bbdlib.bulk_boundary.network import Network


def test_sample_stream_is_smooth_and_wraps():
    rng = np.random.default_rng(7)
    Xs, Ys = rng.normal(size=(3, 2)), rng.normal(size=(3, 1))
    s = SampleStream(Xs, Ys, dwell=1.0, ramp=0.4)
    t = np.linspace(0, 3.5, 35001)
    X, Xd, Xdd = s.inputs(t)
    assert np.allclose(X[1000], Xs[0]) and np.allclose(X[11000], Xs[1]) and np.allclose(X[31000], Xs[0])
    dt = t[1] - t[0]
    assert np.max(np.abs(np.gradient(X, dt, axis=0) - Xd)[5:-5]) < 1e-3
    assert np.max(np.abs(np.gradient(Xd, dt, axis=0) - Xdd)[5:-5]) < 5e-2


def test_oscillating_drive_derivatives():
    d = OscillatingDrive(np.zeros(2), 0.5, 2.0, np.zeros(1), phase=[0.0, 1.0], target_amplitude=0.3)
    t = np.linspace(0, 1, 2001)
    X, Xd, Xdd = d.inputs(t)
    Y, Yd = d.targets(t)
    dt = t[1] - t[0]
    assert np.max(np.abs(np.gradient(X, dt, axis=0) - Xd)[2:-2]) < 1e-5
    assert np.max(np.abs(np.gradient(Xd, dt, axis=0) - Xdd)[2:-2]) < 1e-5
    assert np.max(np.abs(np.gradient(Y, dt, axis=0) - Yd)[2:-2]) < 1e-5


def test_constant_drive_and_width_check():
    d = ConstantDrive(np.ones(3), np.zeros(2))
    X, Xd, Xdd = d.inputs(np.arange(4.0))
    assert X.shape == (4, 3) and not Xd.any() and not Xdd.any()
    d.check_against(Network((3, 4, 2)))
    with pytest.raises(ValueError, match="widths"):
        d.check_against(Network((2, 4, 2)))
    with pytest.raises(ValueError, match="same number of samples"):
        SampleStream(np.zeros((3, 2)), np.zeros((2, 1)), dwell=1.0)
