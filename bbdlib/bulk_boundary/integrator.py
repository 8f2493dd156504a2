"""Integrators for the damped training dynamics, eq. (4) of [A].

    Ẅ + γ Ẇ + ∂ℓ/∂W = 0,      b̈ + γ ḃ + ∂ℓ/∂b = 0,

for the fully connected :class:`~bbdlib.bulk_boundary.network.Network`, driven by a fixed input and
target, a smooth time-dependent input ``X(t)``, or a stream of training samples
(:class:`ConstantDrive`, :class:`OscillatingDrive`, :class:`SampleStream`).

Methods (all *conformal symplectic*: one step maps the symplectic form
``ω = Σ dθ ∧ dv`` to ``e^{-γh} ω`` exactly):

``"heavy_ball"``  order 1.  ``v ← e^{-γh} v - h ∇ℓ(θ, t)``, ``θ ← θ + h v``: Polyak's
                  heavy-ball momentum with ``μ = e^{-γh}``.
``"cs2"``         order 2.  Strang splitting ``K(h/2) ∘ F(h) ∘ K(h/2)`` of the kick
                  ``K`` (``v̇ = -∇ℓ``, symplectic) and the exact damped drift ``F``
                  (``θ̇ = v, v̇ = -γv, ṫ = 1``, contracts ω by ``e^{-γh}``).  Symmetric,
                  one gradient per step (first-same-as-last).
``"cs4"``         order 4.  Yoshida's triple-jump composition of ``cs2`` with weights
                  ``w1 = 1/(2 - 2^{1/3})``, ``w0 = 1 - 2 w1``; the contractions multiply
                  to ``e^{-γh}``.

Limits: gradient flow (3) is the overdamped limit (γ → ∞ with time rescaled,
``η = 1/γ``), see :func:`gradient_flow`; SGD (2) is heavy-ball with ``μ = 0`` and
``η = h²``, see :func:`sgd`.
"""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from bbdlib.bulk_boundary.network import Network
from bbdlib.validate import check_array, check_choice, check_generator, check_int, check_real

__all__ = [
    "ConstantDrive", "OscillatingDrive", "SampleStream", "Trajectory", "METHODS", "ORDERS",
    "integrate", "iter_integrate", "step_map", "gradient_flow", "sgd", "solve_ivp_reference",
    "local_error_estimate",
]

METHODS = ("heavy_ball", "cs2", "cs4")
ORDERS = {"heavy_ball": 1, "cs2": 2, "cs4": 4}
_W1 = 1.0 / (2.0 - 2.0 ** (1.0 / 3.0))
_W0 = 1.0 - 2.0 * _W1


# --------------------------------------------------------------------------- drives
class _Drive:
    """Input ``X(t)`` with ``Ẋ, Ẍ`` and target ``Y(t)`` with ``Ẏ`` (vectorised over ``t``)."""

    n_in: int
    n_out: int

    def inputs(self, t):  # pragma: no cover - interface
        raise NotImplementedError

    def targets(self, t):  # pragma: no cover - interface
        raise NotImplementedError

    def check_against(self, net: Network) -> None:
        if self.n_in != net.widths[0] or self.n_out != net.widths[-1]:
            raise ValueError(
                f"drive has input/target widths ({self.n_in}, {self.n_out}) but the network "
                f"expects ({net.widths[0]}, {net.widths[-1]})"
            )


def _tile(v: np.ndarray, t) -> np.ndarray:
    t = np.asarray(t, dtype=float)
    return np.broadcast_to(v, (*t.shape, v.shape[-1])).copy()


class ConstantDrive(_Drive):
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


class OscillatingDrive(_Drive):
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


class SampleStream(_Drive):
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
            raise ValueError(f"Xs and Ys must hold the same number of samples, got {self.Xs.shape[0]} and {self.Ys.shape[0]}")
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
        s = 0.5 * (1.0 + np.tanh(0.5 * phi))
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


# --------------------------------------------------------------------------- trajectory
@dataclass(frozen=True)
class Trajectory:
    """Saved states of an integration: ``theta[n], v[n]`` at times ``t[n]``."""

    net: Network
    gamma: float
    drive: _Drive
    t: np.ndarray
    theta: np.ndarray
    v: np.ndarray
    method: str
    h: float

    def __len__(self) -> int:
        return self.t.size


def _validate(net, theta0, v0, gamma, drive, h, n_steps, method):
    if not isinstance(net, Network):
        raise TypeError(f"net must be a bbdlib.bulk_boundary.network.Network, got {type(net).__name__}")
    theta0 = net.check_theta("theta0", theta0)
    v0 = net.check_theta("v0", v0)
    if theta0.ndim != 1 or v0.ndim != 1:
        raise ValueError("theta0 and v0 must be flat parameter vectors")
    gamma = check_real("gamma", gamma, low=0.0, low_inclusive=False)
    if not isinstance(drive, _Drive):
        raise TypeError("drive must be a ConstantDrive, OscillatingDrive or SampleStream")
    drive.check_against(net)
    h = check_real("h", h, low=0.0, low_inclusive=False)
    n_steps = check_int("n_steps", n_steps, minimum=1)
    method = check_choice("method", method, METHODS)
    return theta0.copy(), v0.copy(), gamma, h, n_steps, method


class _Force:
    """``∇ℓ(θ, t)`` for a drive (no validation)."""

    def __init__(self, net: Network, drive: _Drive) -> None:
        self.net, self.drive = net, drive

    def __call__(self, theta, t):
        X = self.drive.inputs(t)[0]
        Y = self.drive.targets(t)[0]
        return self.net._grad(theta, X, Y)


def _cs2_sub(q, v, g, t, h, gamma, force):
    """One Strang step K(h/2) F(h) K(h/2) with the gradient ``g`` at (q, t) given; returns g at the end."""
    v -= 0.5 * h * g
    e = np.exp(-gamma * h)
    q += (-np.expm1(-gamma * h) / gamma) * v
    v *= e
    t = t + h
    g = force(q, t)
    v -= 0.5 * h * g
    return g, t


def _advance(q, v, g, t, h, gamma, force, method):
    if method == "cs2":
        return _cs2_sub(q, v, g, t, h, gamma, force)
    if method == "cs4":
        g, t1 = _cs2_sub(q, v, g, t, _W1 * h, gamma, force)
        g, t1 = _cs2_sub(q, v, g, t1, _W0 * h, gamma, force)
        g, _ = _cs2_sub(q, v, g, t1, _W1 * h, gamma, force)
        return g, t + h
    # heavy ball
    v *= np.exp(-gamma * h)
    v -= h * g
    q += h * v
    t = t + h
    return force(q, t), t


def iter_integrate(net, theta0, v0, *, gamma, drive, h, n_steps, method="cs2", save_every=1,
                   chunk=512, t0=0.0) -> Iterator[Trajectory]:
    """Like :func:`integrate`, but yield the saved states in chunks of at most ``chunk`` rows.

    The first chunk starts with the initial state; memory stays bounded for long runs
    of wide networks (the energy budget of issue 6 streams through this).
    """
    q, v, gamma, h, n_steps, method = _validate(net, theta0, v0, gamma, drive, h, n_steps, method)
    save_every = check_int("save_every", save_every, minimum=1)
    chunk = check_int("chunk", chunk, minimum=1)
    t0 = check_real("t0", t0)
    force = _Force(net, drive)
    t = t0
    g = force(q, t)
    n_save = n_steps // save_every + 1
    size = min(chunk, n_save)
    P = q.size
    ts, qs, vs = np.empty(size), np.empty((size, P)), np.empty((size, P))
    ts[0], qs[0], vs[0] = t, q, v
    row, done = 1, 1
    for n in range(1, n_steps + 1):
        with np.errstate(over="ignore", invalid="ignore"):
            g, _ = _advance(q, v, g, t, h, gamma, force, method)
        t = t0 + n * h
        if n % save_every == 0:
            if not (np.all(np.isfinite(q)) and np.all(np.isfinite(v))):
                raise FloatingPointError(f"the integration diverged at t = {t:g} (step {n}); reduce h")
            if row == size:
                yield Trajectory(net, gamma, drive, ts, qs, vs, method, h)
                size = min(chunk, n_save - done)
                ts, qs, vs = np.empty(size), np.empty((size, P)), np.empty((size, P))
                row = 0
            ts[row], qs[row], vs[row] = t, q, v
            row += 1
            done += 1
    if not (np.all(np.isfinite(q)) and np.all(np.isfinite(v))):
        raise FloatingPointError(f"the integration diverged at t = {t:g} (step {n_steps}); reduce h")
    if row:
        yield Trajectory(net, gamma, drive, ts[:row], qs[:row], vs[:row], method, h)


def integrate(net, theta0, v0, *, gamma, drive, h, n_steps, method="cs2", save_every=1,
              t0=0.0) -> Trajectory:
    """Integrate eq. (4) of [A] from ``(theta0, v0)`` with a conformal symplectic method.

    Parameters
    ----------
    net
        The network (architecture, activation, loss).
    theta0, v0
        Initial parameters ``(W, b)`` and velocities, flat (see :meth:`Network.pack`).
    gamma
        Damping ``γ > 0`` (``γ = 1/η`` in [A]).
    drive
        :class:`ConstantDrive`, :class:`OscillatingDrive` or :class:`SampleStream`.
    h, n_steps
        Step size and number of steps.
    method
        ``"heavy_ball"`` (order 1), ``"cs2"`` (order 2) or ``"cs4"`` (order 4).
    save_every
        Keep every ``save_every``-th state (the initial state is always kept).

    Returns
    -------
    Trajectory
    """
    parts = list(iter_integrate(net, theta0, v0, gamma=gamma, drive=drive, h=h, n_steps=n_steps,
                                method=method, save_every=save_every, chunk=1 << 62, t0=t0))
    return parts[0]


def step_map(net, gamma, drive, method, h, theta, v, t=0.0) -> tuple[np.ndarray, np.ndarray]:
    """One step of ``method`` from ``(theta, v)`` at time ``t`` (for tests of the structure)."""
    q, v, gamma, h, _, method = _validate(net, theta, v, gamma, drive, h, 1, method)
    force = _Force(net, drive)
    _advance(q, v, force(q, t), t, h, gamma, force, method)
    return q, v


def local_error_estimate(traj: Trajectory, *, n_probe: int = 8, refine: int = 16) -> float:
    """Relative local error of one step of ``traj.method`` at step ``traj.h``.

    At ``n_probe`` saved states (equally spaced), one step of size ``h`` is compared with
    ``refine`` steps of ``cs4`` of size ``h/refine`` (a reference many orders more accurate)
    and the difference is divided by the size of the step itself ``|y_{n+1} - y_n|``.
    This is the integrator's truncation error per unit of change, the yardstick for the
    continuity-equation residuals (see the chapter on the energy continuity equation).
    """
    net, drive = traj.net, traj.drive
    idx = np.unique(np.linspace(0, len(traj) - 1, n_probe).astype(int))
    force = _Force(net, drive)
    worst = 0.0
    for k in idx:
        q1, v1 = traj.theta[k].copy(), traj.v[k].copy()
        t = float(traj.t[k])
        _advance(q1, v1, force(q1, t), t, traj.h, traj.gamma, force, traj.method)
        q2, v2 = traj.theta[k].copy(), traj.v[k].copy()
        g, tt = force(q2, t), t
        hh = traj.h / refine
        for _ in range(refine):
            g, tt = _advance(q2, v2, g, tt, hh, traj.gamma, force, "cs4")
        err = np.sqrt(np.sum((q1 - q2) ** 2) + np.sum((v1 - v2) ** 2))
        size = np.sqrt(np.sum((q2 - traj.theta[k]) ** 2) + np.sum((v2 - traj.v[k]) ** 2))
        worst = max(worst, err / size)
    return float(worst)


# --------------------------------------------------------------------------- limits
def gradient_flow(net, theta0, *, eta, drive, h, n_steps, save_every=1) -> tuple[np.ndarray, np.ndarray]:
    """Gradient flow, eq. (3) of [A]: ``θ̇ = -η ∇ℓ(θ, t)``, classical RK4.  Returns ``(t, theta)``."""
    if not isinstance(net, Network):
        raise TypeError("net must be a bbdlib.bulk_boundary.network.Network")
    q = net.check_theta("theta0", theta0).copy()
    eta = check_real("eta", eta, low=0.0, low_inclusive=False)
    h = check_real("h", h, low=0.0, low_inclusive=False)
    n_steps = check_int("n_steps", n_steps, minimum=1)
    save_every = check_int("save_every", save_every, minimum=1)
    drive.check_against(net)
    force = _Force(net, drive)
    f = lambda q, t: -eta * force(q, t)  # noqa: E731
    ts, qs, t = [0.0], [q.copy()], 0.0
    for n in range(1, n_steps + 1):
        k1 = f(q, t)
        k2 = f(q + 0.5 * h * k1, t + 0.5 * h)
        k3 = f(q + 0.5 * h * k2, t + 0.5 * h)
        k4 = f(q + h * k3, t + h)
        q = q + h / 6.0 * (k1 + 2 * k2 + 2 * k3 + k4)
        t = n * h
        if n % save_every == 0:
            ts.append(t)
            qs.append(q.copy())
    return np.array(ts), np.array(qs)


def sgd(net, theta0, X, Y, *, eta, n_steps, batch_size=1, rng=0) -> np.ndarray:
    """Plain SGD, eq. (2) of [A]: ``Δθ = -η ∇ℓ`` on a random minibatch per step.

    Returns the parameters after every step, shape ``(n_steps + 1, P)``.  It equals
    ``heavy_ball`` with ``μ = e^{-γh} = 0`` and ``h² = η`` on the same sample sequence.
    """
    if not isinstance(net, Network):
        raise TypeError("net must be a bbdlib.bulk_boundary.network.Network")
    q = net.check_theta("theta0", theta0).copy()
    X = net.check_x("X", np.atleast_2d(X))
    Y = net.check_y("Y", np.atleast_2d(Y))
    if X.shape[0] != Y.shape[0]:
        raise ValueError(f"X and Y must hold the same number of samples, got {X.shape[0]} and {Y.shape[0]}")
    eta = check_real("eta", eta, low=0.0, low_inclusive=False)
    n_steps = check_int("n_steps", n_steps, minimum=1)
    batch_size = check_int("batch_size", batch_size, minimum=1, maximum=X.shape[0])
    rng = check_generator("rng", rng)
    out = [q.copy()]
    for _ in range(n_steps):
        idx = rng.choice(X.shape[0], size=batch_size, replace=False)
        q = q - eta * net._grad(q, X[idx], Y[idx], mean_over_batch=True)
        out.append(q.copy())
    return np.array(out)


# --------------------------------------------------------------------------- reference
def solve_ivp_reference(net, theta0, v0, *, gamma, drive, t_eval, method="DOP853", rtol=1e-8, atol=1e-10):
    """The same problem with :func:`scipy.integrate.solve_ivp` (for the work-precision benchmark).

    Returns ``(sol, n_fev)`` where ``sol.y`` stacks ``(theta, v)``.
    """
    from scipy.integrate import solve_ivp

    q0, v0, gamma, _, _, _ = _validate(net, theta0, v0, gamma, drive, 1.0, 1, "cs2")
    t_eval = check_array("t_eval", t_eval, ndim=1)
    force = _Force(net, drive)
    P = net.n_params

    def rhs(t, y):
        q, v = y[:P], y[P:]
        return np.concatenate([v, -gamma * v - force(q, t)])

    sol = solve_ivp(rhs, (float(t_eval[0]), float(t_eval[-1])), np.concatenate([q0, v0]),
                    method=method, t_eval=t_eval, rtol=rtol, atol=atol)
    if not sol.success:
        raise RuntimeError(f"solve_ivp failed: {sol.message}")
    return sol, sol.nfev
