"""What drives the training dynamics (4) of [A]: the input ``X(t)`` and the target ``Y(t)``.

A drive gives the input with its first two time derivatives and the target with its first,
vectorised over times.  The energy currents of Sec. 4 need ``Ẋ, Ẍ`` (the input current
``K^in``, eq. (27)) and ``Ẏ`` (the output current ``K^out``, eq. (32)).

* :class:`ConstantDrive`: a fixed training pair (``Ẋ = Ẍ = Ẏ = 0``);
* :class:`OscillatingDrive`: ``X(t) = X0 + A sin(ωt + φ)`` and optionally a moving target;
* :class:`SampleStream`: a stream of training samples, each shown for a dwell time, switched
  abruptly (SGD) or blended smoothly;
* :class:`DriveBatch`: one drive per replica of a batch integrated together (inputs and targets
  gain a replica axis before the width axis).
"""
from __future__ import annotations

import numpy as np

from bbdlib.activations import sigmoid
from bbdlib.bulk_boundary.network import Network
from bbdlib.validate import check_array, check_real

__all__ = ["Drive", "ConstantDrive", "OscillatingDrive", "SampleStream", "DriveBatch"]


class Drive:
    """Input ``X(t)`` with ``Ẋ, Ẍ`` and target ``Y(t)`` with ``Ẏ`` (vectorised over ``t``)."""

    n_in: int
    n_out: int

    def inputs(self, t):  # pragma: no cover - interface
        """``(X, Ẋ, Ẍ)`` at times ``t`` (each of shape ``(*t.shape, N_0)``)."""
        raise NotImplementedError

    def targets(self, t):  # pragma: no cover - interface
        """``(Y, Ẏ)`` at times ``t`` (each of shape ``(*t.shape, N_M)``)."""
        raise NotImplementedError

    def pair(self, t: float):
        """``(X, Y)`` at one time ``t`` without the derivatives (the force of eq. (4) needs only these)."""
        return self.inputs(t)[0], self.targets(t)[0]

    def check_against(self, net: Network) -> None:
        """Raise ``ValueError`` unless the drive's widths are the network's ``N_0`` and ``N_M``."""
        if self.n_in != net.widths[0] or self.n_out != net.widths[-1]:
            raise ValueError(
                f"drive has input/target widths ({self.n_in}, {self.n_out}) but the network "
                f"expects ({net.widths[0]}, {net.widths[-1]})"
            )


def _tile(v: np.ndarray, t) -> np.ndarray:
    t = np.asarray(t, dtype=float)
    return np.broadcast_to(v, (*t.shape, v.shape[-1])).copy()


class ConstantDrive(Drive):
    """A fixed training pair ``(X, Y)``: ``Ẋ = Ẍ = Ẏ = 0``."""

    def __init__(self, X, Y) -> None:
        self.X = check_array("X", X, ndim=1)
        self.Y = check_array("Y", Y, ndim=1)
        self.n_in, self.n_out = self.X.size, self.Y.size

    def inputs(self, t):
        X = _tile(self.X, t)
        return X, np.zeros_like(X), np.zeros_like(X)

    def targets(self, t):
        Y = _tile(self.Y, t)
        return Y, np.zeros_like(Y)

    def pair(self, t: float):
        return self.X, self.Y


class OscillatingDrive(Drive):
    """``X(t) = X0 + A sin(ω t + φ)`` (elementwise ``A``, ``φ``) and a target
    ``Y(t) = Y0 + B sin(ω t + ψ)`` (``B = 0`` by default: a fixed target)."""

    def __init__(self, X0, amplitude, omega: float, Y, phase=0.0, target_amplitude=0.0, target_phase=0.0) -> None:
        self.X0 = check_array("X0", X0, ndim=1)
        self.A = check_array("amplitude", np.broadcast_to(amplitude, self.X0.shape))
        self.phase = check_array("phase", np.broadcast_to(phase, self.X0.shape))
        self.omega = check_real("omega", omega)
        self.Y = check_array("Y", Y, ndim=1)
        self.B = check_array("target_amplitude", np.broadcast_to(target_amplitude, self.Y.shape))
        self.psi = check_array("target_phase", np.broadcast_to(target_phase, self.Y.shape))
        self.n_in, self.n_out = self.X0.size, self.Y.size

    def inputs(self, t):
        arg = self.omega * np.asarray(t, dtype=float)[..., None] + self.phase
        s, c = np.sin(arg), np.cos(arg)
        return self.X0 + self.A * s, self.omega * self.A * c, -self.omega**2 * self.A * s

    def targets(self, t):
        arg = self.omega * np.asarray(t, dtype=float)[..., None] + self.psi
        return self.Y + self.B * np.sin(arg), self.omega * self.B * np.cos(arg)

    def pair(self, t: float):
        tt = np.asarray(t, dtype=float)[..., None]
        return (self.X0 + self.A * np.sin(self.omega * tt + self.phase),
                self.Y + self.B * np.sin(self.omega * tt + self.psi))


class SampleStream(Drive):
    """A stream of training samples ``(X_k, Y_k)``, each shown for ``dwell`` time units.

    Sample ``k`` is held on ``[k·dwell, (k+1)·dwell - ramp)`` and blended into sample
    ``k+1`` over the last ``ramp`` time units with the C^∞ step
    ``s(u) = 1 / (1 + exp((1 - 2u) / (u (1 - u))))`` (all derivatives vanish at ``u = 0, 1``,
    so ``X(t)`` is infinitely smooth and the integrators keep their orders).  ``ramp = 0``
    gives the piecewise-constant stream of SGD (abrupt switches; then the energy densities
    jump at the switching times).  After the last sample the stream wraps around.
    """

    def __init__(self, Xs, Ys, dwell: float, ramp: float = 0.0) -> None:
        self.Xs = check_array("Xs", Xs, ndim=2)
        self.Ys = check_array("Ys", Ys, ndim=2)
        if self.Xs.shape[0] != self.Ys.shape[0]:
            raise ValueError(f"Xs and Ys must hold the same number of samples, "
                             f"got {self.Xs.shape[0]} and {self.Ys.shape[0]}")
        self.dwell = check_real("dwell", dwell, low=0.0, low_inclusive=False)
        self.ramp = check_real("ramp", ramp, low=0.0, high=self.dwell)
        self.n_in, self.n_out = self.Xs.shape[1], self.Ys.shape[1]

    @staticmethod
    def _step(u):
        """``s(u), s'(u), s''(u)`` of the C^∞ step on ``[0, 1]`` (0 and 1 outside)."""
        inside = (u > 0.0) & (u < 1.0)
        uu = np.where(inside, u, 0.5)
        w = uu * (1.0 - uu)
        phi = (2.0 * uu - 1.0) / w
        dphi = (2.0 * uu * uu - 2.0 * uu + 1.0) / w**2
        ddphi = (4.0 * uu - 2.0) * (uu * uu - uu + 1.0) / w**3
        s = sigmoid(phi)  # the smooth step is σ∘φ
        ss = s * (1.0 - s)
        s = np.where(inside, s, (u >= 1.0).astype(float))
        ds = np.where(inside, ss * dphi, 0.0)
        dds = np.where(inside, ss * ((1.0 - 2.0 * np.where(inside, s, 0.5)) * dphi**2 + ddphi), 0.0)
        return s, ds, dds

    def _blend(self, V, t):
        t = np.asarray(t, dtype=float)
        n = V.shape[0]
        k = np.floor(t / self.dwell).astype(np.int64)
        tau = t - k * self.dwell
        cur, nxt = V[k % n], V[(k + 1) % n]
        if self.ramp == 0.0:
            return cur, np.zeros_like(cur), np.zeros_like(cur)
        u = ((tau - (self.dwell - self.ramp)) / self.ramp)[..., None]
        s, ds, dds = self._step(u)
        d = nxt - cur
        return cur + s * d, ds / self.ramp * d, dds / self.ramp**2 * d

    def inputs(self, t):
        return self._blend(self.Xs, t)

    def targets(self, t):
        Y, Yd, _ = self._blend(self.Ys, t)
        return Y, Yd


class DriveBatch(Drive):
    """One drive per replica: ``inputs(t)`` and ``targets(t)`` have shape ``(*t.shape, R, N)``.

    Replicas driven by fixed pairs, or by oscillating inputs, are evaluated in one vectorised
    call; other mixtures stack the members' outputs.

    Parameters
    ----------
    drives : sequence of Drive
        The members, all with the same input and target widths (at least one).
    """

    def __init__(self, drives) -> None:
        if isinstance(drives, Drive) or not hasattr(drives, "__len__"):
            raise TypeError("drives must be a sequence of drives")
        drives = tuple(drives)
        if not drives:
            raise ValueError("drives must hold at least one drive")
        for r, d in enumerate(drives):
            if not isinstance(d, Drive) or isinstance(d, DriveBatch):
                raise TypeError(f"drives[{r}] must be a ConstantDrive, OscillatingDrive or SampleStream, "
                                f"got {type(d).__name__}")
            if (d.n_in, d.n_out) != (drives[0].n_in, drives[0].n_out):
                raise ValueError(f"the members of drives disagree in shape: drives[{r}] has widths "
                                 f"({d.n_in}, {d.n_out}), drives[0] ({drives[0].n_in}, {drives[0].n_out})")
        self.drives = drives
        self.n_in, self.n_out = drives[0].n_in, drives[0].n_out
        self._kind = None
        if all(type(d) is ConstantDrive for d in drives):
            self._kind = "constant"
            self._X = np.stack([d.X for d in drives])
            self._Y = np.stack([d.Y for d in drives])
        elif all(type(d) is OscillatingDrive for d in drives):
            self._kind = "oscillating"
            self._osc = OscillatingDrive.__new__(OscillatingDrive)
            o = self._osc
            o.X0 = np.stack([d.X0 for d in drives])
            o.A = np.stack([d.A for d in drives])
            o.phase = np.stack([d.phase for d in drives])
            o.omega = np.array([[d.omega] for d in drives])
            o.Y = np.stack([d.Y for d in drives])
            o.B = np.stack([d.B for d in drives])
            o.psi = np.stack([d.psi for d in drives])

    @property
    def n_replicas(self) -> int:
        """``R``, the number of members."""
        return len(self.drives)

    def __len__(self) -> int:
        return len(self.drives)

    def _stack(self, which, t):
        parts = [getattr(d, which)(t) for d in self.drives]
        return tuple(np.stack([p[k] for p in parts], axis=-2) for k in range(len(parts[0])))

    def inputs(self, t):
        if self._kind == "constant":
            X = np.broadcast_to(self._X, (*np.shape(t), *self._X.shape)).copy()
            return X, np.zeros_like(X), np.zeros_like(X)
        if self._kind == "oscillating":
            o = self._osc
            arg = o.omega * np.asarray(t, dtype=float)[..., None, None] + o.phase
            s, c = np.sin(arg), np.cos(arg)
            return o.X0 + o.A * s, o.omega * o.A * c, -o.omega**2 * o.A * s
        return self._stack("inputs", t)

    def pair(self, t: float):
        if self._kind == "constant":
            return self._X, self._Y
        if self._kind == "oscillating":
            o = self._osc
            tt = np.asarray(t, dtype=float)[..., None, None]
            return o.X0 + o.A * np.sin(o.omega * tt + o.phase), o.Y + o.B * np.sin(o.omega * tt + o.psi)
        return self.inputs(t)[0], self.targets(t)[0]

    def targets(self, t):
        if self._kind == "constant":
            Y = np.broadcast_to(self._Y, (*np.shape(t), *self._Y.shape)).copy()
            return Y, np.zeros_like(Y)
        if self._kind == "oscillating":
            o = self._osc
            arg = o.omega * np.asarray(t, dtype=float)[..., None, None] + o.psi
            return o.Y + o.B * np.sin(arg), o.omega * o.B * np.cos(arg)
        return self._stack("targets", t)
