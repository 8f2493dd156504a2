"""The seed study of the decay term (bbdlib.bulk_boundary.dissipation)."""
import numpy as np
import pytest

from bbdlib.bulk_boundary.dissipation import _StreamBatch, decay_study, teacher_stream
from bbdlib.bulk_boundary.drives import DriveBatch
from bbdlib.bulk_boundary.network import Network


def _streams(n=3):
    net = Network((2, 3, 3, 1), "tanh", "mse")
    return [teacher_stream(net, np.random.default_rng(s), n_samples=3, dwell=1.0, ramp=0.5)[1] for s in range(n)]


def test_stream_batch_equals_drive_batch():
    st = _streams()
    a, b = _StreamBatch(st), DriveBatch(st)
    t = np.array([0.0, 0.3, 0.7, 0.95, 1.6, 2.9, 3.2])
    for x, y in zip(a.inputs(t), b.inputs(t)):
        np.testing.assert_allclose(x, y, rtol=0, atol=1e-15)
    for x, y in zip(a.targets(t), b.targets(t)):
        np.testing.assert_allclose(x, y, rtol=0, atol=1e-15)
    for x, y in zip(a.pair(0.8), b.pair(0.8)):
        np.testing.assert_allclose(x, y, rtol=0, atol=1e-15)


def test_stream_batch_refuses_mixed_streams():
    st = _streams(2)
    net = Network((2, 3, 3, 1), "tanh", "mse")
    other = teacher_stream(net, np.random.default_rng(9), n_samples=3, dwell=2.0, ramp=0.5)[1]
    with pytest.raises(ValueError, match="streams"):
        _StreamBatch([st[0], other])


def test_fixed_input_total_decay_is_the_friction():
    # one sample: X and Y never move, so Σ_all D = |Ẇ|² + |ḃ|² at every instant
    s = decay_study([(2, 3, 3, 1)], [0, 1], T=6.0, h=0.01, n_samples=1, save_every=1)
    for r in s.runs:
        assert r.friction > 0
        assert abs(r.total_decay - r.friction) < 1e-6 * r.friction
        assert r.loss_end < r.loss_start


def test_study_bookkeeping():
    s = decay_study([(2, 3, 3, 1), (2, 2, 2, 1)], [3, 1, 2], T=4.0, h=0.02)
    assert s.widths == [(2, 3, 3, 1), (2, 2, 2, 1)]
    assert [r.seed for r in s.of((2, 2, 2, 1))] == [3, 1, 2]
    f = s.sink_fraction((2, 3, 3, 1))
    assert f.shape == (3,) and np.all((0 <= f) & (f <= 1))
    runs = s.of((2, 3, 3, 1))
    np.testing.assert_allclose(f, np.mean([r.layer_decay > 0 for r in runs], axis=0))
    assert 0 <= s.fraction("bulk") <= 1
    with pytest.raises(ValueError, match="which"):
        s.fraction("layer")
    with pytest.raises(ValueError, match="not in the study"):
        s.sink_fraction((1, 1, 1, 1))


def test_batched_run_is_the_single_run():
    a = decay_study([(2, 3, 3, 1)], [0, 5], T=3.0, h=0.02)
    b = decay_study([(2, 3, 3, 1)], [5], T=3.0, h=0.02)
    np.testing.assert_allclose(a.runs[1].layer_decay, b.runs[0].layer_decay, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("kwargs, exc, match", [
    (dict(widths_list=[(2, 3, 1)]), ValueError, "bulk layer"),
    (dict(widths_list=[(2, 0, 3, 1)]), ValueError, "widths_list"),
    (dict(widths_list=[(2, -1, 3, 1)]), ValueError, "widths_list"),
    (dict(widths_list=[]), TypeError, "widths_list"),
    (dict(widths_list=["2331"]), TypeError, "widths_list"),
    (dict(seeds=[0, 0]), ValueError, "distinct"),
    (dict(seeds=[-1]), ValueError, "seeds"),
    (dict(activation="relu2"), ValueError, "activation"),
    (dict(gamma=float("nan")), ValueError, "gamma"),
    (dict(h=0.0), ValueError, "h"),
    (dict(T=float("inf")), ValueError, "T"),
])
def test_bad_input(kwargs, exc, match):
    args = dict(widths_list=[(2, 3, 3, 1)], seeds=[0], T=1.0, h=0.05)
    args.update(kwargs)
    with pytest.raises(exc, match=match):
        decay_study(args.pop("widths_list"), args.pop("seeds"), **args)
