"""A sweep of bad inputs over bbdlib's public API (issue 15).

Each row is a public function, arguments that work, and for some of its arguments a list of
values that must be refused: NaN or infinite numbers, wrong types (strings, None, booleans,
complex numbers), wrong shapes and empty input.  Every bad value must raise ValueError or
TypeError *naming the argument* (CONTRIBUTING: public functions validate at their
boundary), never fail deep inside numpy/scipy, and never return a value.
"""
from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

NAN, INF = float("nan"), math.inf
#: bad values for a real scalar
REAL = [NAN, INF, -INF, "1.0", None, True, [1.0], 1 + 2j]
#: bad values for an integer
INT = [1.5, NAN, "3", None, True, [3]]
#: bad values for a 1-D array of reals
ARR = [[NAN, 1.0], [1.0, INF], "abc", None, [1 + 2j, 2.0], [[1.0, "a"]]]
#: bad values for a seed / generator
RNG = ["x", -1, 1.5, None, NAN]
#: bad values for a choice among names
NAME = ["nope", 3, None]


def _fixtures():
    from bbdlib.bulk_boundary.network import Network
    from bbdlib.duality import experiments, septuple
    from bbdlib.powerlaw import sample_truncated_powerlaw

    rng = np.random.default_rng(0)
    net = Network((2, 3, 1))
    arch = septuple.feed_forward([2, 3, 1])
    return {
        "xs": sample_truncated_powerlaw(1.5, 1.0, 100.0, 2000, rng=0),
        "net": net,
        "theta": rng.normal(size=net.n_params) * 0.3,
        "X": rng.normal(size=(5, 2)),
        "Y": rng.normal(size=(5, 1)),
        "arch": arch,
        "q": septuple.random_parameters(arch, 0),
        "xin": rng.normal(size=(4, 2)),
        "target": np.zeros((4, 1)),
        "comp": experiments.figure_composition(1),
        "t": np.linspace(0.0, 1.0, 50),
    }


F = _fixtures()


def _rows():
    from bbdlib import numerics, powerlaw
    from bbdlib.bulk_boundary import limits
    from bbdlib.duality import asymptotics, experiments, pushforward, septuple, toy_model, training

    t = F["t"]
    return [
        ("powerlaw.fit_truncated_powerlaw", powerlaw.fit_truncated_powerlaw,
         dict(x=F["xs"], x_min=1.0, x_max=100.0, rng=0, n_boot=20),
         {"x": ARR + [[], np.full(100, 5.0), F["xs"] + 0j], "x_min": REAL, "x_max": REAL,
          "rng": RNG, "n_boot": INT + [0], "level": REAL + [1.5, 0.0]}),
        ("powerlaw.sample_truncated_powerlaw", powerlaw.sample_truncated_powerlaw,
         dict(k=1.5, x_min=1.0, x_max=100.0, size=10, rng=0),
         {"k": REAL, "x_min": REAL, "x_max": REAL, "size": INT + [-1, 10**12], "rng": RNG}),
        ("powerlaw.truncated_powerlaw_pdf", powerlaw.truncated_powerlaw_pdf,
         dict(x=[2.0, 3.0], k=1.5, x_min=1.0, x_max=100.0),
         {"x": ARR + [NAN], "k": REAL, "x_min": REAL, "x_max": REAL}),
        ("powerlaw.truncated_powerlaw_moment", powerlaw.truncated_powerlaw_moment,
         dict(m=1.0, k=1.5, x_min=1.0, x_max=100.0),
         {"m": REAL, "k": REAL, "x_min": REAL, "x_max": REAL}),
        ("powerlaw.log_binned_density", powerlaw.log_binned_density, dict(x=F["xs"], bins=20),
         {"x": ARR + [[]], "bins": INT + [0], "total": [1.5, NAN, "3", True, 0],
          "x_range": [(NAN, 1.0), (1.0,), "ab", (2.0, 1.0)]}),
        ("numerics.cumulative_integral", numerics.cumulative_integral, dict(t=t, g=np.sin(t)),
         {"t": ARR + [[]], "g": ARR + [[]], "method": NAME}),
        ("numerics.time_derivative", numerics.time_derivative, dict(t=t, y=np.sin(t)),
         {"t": ARR + [[]], "y": ARR + [[]]}),
        ("numerics.fit_order", numerics.fit_order, dict(h=[0.1, 0.05, 0.025], err=[1e-2, 2.5e-3, 6.25e-4]),
         {"h": ARR + [[], [0.1, -0.05, 0.02]], "err": ARR + [[], [0.0, 0.0, 0.0]]}),
        ("asymptotics.exponential_integral", asymptotics.exponential_integral, dict(x=10.0),
         {"x": ARR + [NAN, INF, "1", None, 0.0]}),
        ("asymptotics.ei_partial_sum", asymptotics.ei_partial_sum, dict(x=10.0, n_max=5),
         {"x": ARR + [NAN, None], "n_max": INT + [-1]}),
        ("asymptotics.optimal_truncation", asymptotics.optimal_truncation, dict(x=10.0),
         {"x": ARR + [NAN, None]}),
        ("asymptotics.series_converges", asymptotics.series_converges, dict(x=10.0),
         {"x": REAL, "n_low": REAL, "n_high": REAL, "rtol": REAL + [-1.0]}),
        ("asymptotics.ei_tail_sum", asymptotics.ei_tail_sum, dict(x=10.0), {"x": ARR + [NAN, None]}),
        ("asymptotics.relative_error", asymptotics.relative_error, dict(approx=[1.0, 2.0], exact=[1.0, 2.1]),
         {"approx": ARR + [[], [1.0, 2.0, 3.0]], "exact": ARR + [[], [1.0, 2.0, 3.0]]}),
        ("septuple.feed_forward", septuple.feed_forward, dict(layer_sizes=[2, 3, 1]),
         {"layer_sizes": [[], [2], [2, 0], [2.5, 3], "ab", None, [2, NAN]]}),
        ("septuple.conv1d", septuple.conv1d, dict(n_in=8, kernel_size=3),
         {"n_in": INT + [0], "kernel_size": INT + [0, 20]}),
        ("septuple.random_parameters", septuple.random_parameters, dict(arch=F["arch"], rng=0),
         {"arch": ["x", None], "rng": RNG, "scale": REAL + [-1.0]}),
        ("septuple.nilpotency_index", septuple.nilpotency_index, dict(w=np.zeros((2, 2))),
         {"w": ARR + [[], np.ones((2, 3))], "tol": REAL + [-1.0]}),
        ("septuple.activation_dynamics", septuple.activation_dynamics,
         dict(x_in=F["xin"], q=F["q"], arch=F["arch"]),
         {"x_in": ARR + [np.ones((4, 3))], "q": ARR + [np.ones(3)], "arch": ["x"],
          "activation": NAME, "n_steps": [1.5, NAN, "3", True, -1]}),
        ("septuple.loss", septuple.loss, dict(x_in=F["xin"], q=F["q"], target=F["target"], arch=F["arch"]),
         {"q": ARR, "target": ARR + [np.zeros((3, 1))], "lam": REAL + [-1.0]}),
        ("septuple.learning_map", septuple.learning_map,
         dict(x_in=F["xin"], q=F["q"], target=F["target"], arch=F["arch"]),
         {"q": ARR, "target": ARR, "gamma": REAL + [0.0, -1.0], "lam": REAL}),
        ("toy_model.check_class", toy_model.check_class, dict(cls="+"), {"cls": NAME}),
        ("toy_model.rotation_angle", toy_model.rotation_angle, dict(rule="class_mean", cls="+"),
         {"rule": NAME, "cls": NAME, "w": REAL, "b": REAL}),
        ("training.train_sgd", training.train_sgd,
         dict(comp=F["comp"], gamma=0.1, steps=200, replicas=4, batch=2, rng=0),
         {"comp": ["x", None], "gamma": REAL + [0.0, 1e308], "steps": INT + [0],
          "replicas": INT + [0, 10**12], "batch": INT + [0], "w0": REAL, "b0": REAL, "rng": RNG,
          "record_every": INT + [0]}),
        ("training.accuracy", training.accuracy, dict(comp=F["comp"], w=1.0, b=0.0, n=1000),
         {"w": REAL, "b": REAL, "n": INT + [0], "rng": RNG}),
        ("experiments.figure_composition", experiments.figure_composition, dict(figure=1),
         {"figure": INT + [0, 6]}),
        ("experiments.slope_allowance", experiments.slope_allowance, dict(decades=1.0),
         {"decades": REAL + [-1.0], "rel": REAL}),
        ("pushforward.sample", pushforward.sample,
         dict(q_of_x=np.sin, mean=0.0, std=1.0, n_samples=10, rng=0),
         {"q_of_x": ["x", None], "mean": REAL, "std": REAL + [0.0], "n_samples": INT + [0, 10**12],
          "rng": RNG}),
        ("pushforward.turning_points", pushforward.turning_points, dict(x_grid=t, q_grid=np.sin(t)),
         {"x_grid": ARR + [[]], "q_grid": ARR + [[]]}),
        ("pushforward.count_preimages", pushforward.count_preimages, dict(q_grid=np.sin(t), values=[0.5]),
         {"q_grid": ARR + [[]], "values": ARR}),
        ("limits.sgd", limits.sgd, dict(net=F["net"], theta0=F["theta"], X=F["X"], Y=F["Y"], eta=0.1, n_steps=5),
         {"net": ["x"], "theta0": ARR + [np.ones(3)], "X": ARR + [np.ones((5, 3))],
          "Y": ARR + [np.ones((4, 1))], "eta": REAL + [0.0, 1e200], "n_steps": INT + [0],
          "batch_size": [1.5, NAN, "3", True, 0, 99]}),
        ("limits.demo_data_set", limits.demo_data_set, dict(widths=(2, 3, 1), n_samples=5, rng=0),
         {"widths": [(), (2,), (2, 0, 1), "ab", None, (2, NAN, 1)], "n_samples": INT + [0], "rng": RNG,
          "activation": NAME}),
    ]


ROWS = _rows()
CASES = [(label, fn, base, arg, value)
         for label, fn, base, bad in ROWS for arg, values in bad.items() for value in values]

#: Cases that still fail (a function not yet validating at its boundary); strict, so a fix
#: shows up as XPASS and must be moved out of this set.
KNOWN = set()


def _id(case):
    label, _, _, arg, value = case
    return f"{label}-{arg}={value!r:.30}"


@pytest.mark.parametrize("label,fn,base", [(r[0], r[1], r[2]) for r in ROWS], ids=[r[0] for r in ROWS])
def test_the_valid_arguments_work(label, fn, base):
    fn(**base)


@pytest.mark.parametrize("case", CASES, ids=[_id(c) for c in CASES])
def test_bad_input_is_refused_naming_the_argument(case):
    label, fn, base, arg, value = case
    if _id(case) in KNOWN:
        pytest.xfail("not yet validated (listed in KNOWN)")
    kwargs = {**base, arg: value}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with np.errstate(all="ignore"):
            try:
                out = fn(**kwargs)
            except (ValueError, TypeError) as exc:
                assert arg in str(exc), f"{label}({arg}={value!r}): message does not name {arg!r}: {exc}"
                return
    pytest.fail(f"{label}({arg}={value!r}) returned {out!r:.200} instead of raising")
