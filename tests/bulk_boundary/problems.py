"""Shared demo problems of the paper-A tests: a random network integrated under a fixed or moving input."""
import numpy as np

from bbdlib.bulk_boundary.drives import ConstantDrive, OscillatingDrive
from bbdlib.bulk_boundary.integrator import integrate
from bbdlib.bulk_boundary.network import Network


def demo_trajectory(drive_kind="const", widths=(3, 5, 4, 4, 2), act="tanh", loss="mse", n=400, method="cs2", T=2.0):
    """A trajectory of eq. (4): ``drive_kind`` ``"const"`` (fixed X, Y) or ``"osc"`` (X(t) oscillating)."""
    net = Network(widths, act, loss)
    rng = np.random.default_rng(11)
    th = net.init_params(rng)
    v0 = 0.3 * rng.normal(size=net.n_params)
    Y = rng.uniform(size=widths[-1])
    if drive_kind == "const":
        drive = ConstantDrive(rng.normal(size=widths[0]), Y)
    else:
        drive = OscillatingDrive(rng.normal(size=widths[0]), 0.5, 2.0, Y)
    return integrate(net, th, v0, gamma=1.0, drive=drive, h=T / n, n_steps=n, method=method)
