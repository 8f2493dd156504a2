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
``"rkn4"``        order 4.  Blanes & Moan's symmetric splitting SRKN₆ᵇ of Runge–Kutta–Nyström
                  type: ``K(b1 h) F(a1 h) K(b2 h) ... F(a1 h) K(b1 h)``, 6 gradients per step.
``"rkn6"``        order 6.  Blanes & Moan's SRKN₁₁ᵇ, the same pattern with 11 drifts,
                  11 gradients per step.

The two RKN splittings use the same exact kick and damped-drift flows as ``cs2``, so they stay
conformal symplectic with contraction exactly ``e^{-γh}`` (the drift weights sum to 1).  Their
free weights satisfy fewer order conditions than a general composition needs because the kick
commutes with ``[K, [K, F]]`` (a force field ``f(θ, t)·∂_v``): the damped drift keeps the
Nyström structure of ``½|v|² + ℓ``.  Coefficients: S. Blanes and P. C. Moan, *J. Comput. Appl.
Math.* 142 (2002) 313–330 (their methods SRKN₆ᵇ and SRKN₁₁ᵇ; the orders 4 and 6 are measured by
step halving in the tests and in the integrator chapter).

Every method accepts a batch of replicas: ``theta0`` and ``v0`` of shape ``(R, P)`` are
integrated together, one vectorised gradient per stage for all of them, optionally each with its
own drive (:class:`~bbdlib.bulk_boundary.drives.DriveBatch`).

Each method is a :class:`Scheme` in :data:`SCHEMES` that declares its ``order`` next to its
``step`` (as diffrax's solvers do).  The limits of Sec. 2 (SGD (2), gradient flow (3)) and the
general-purpose reference solver are in :mod:`bbdlib.bulk_boundary.limits`.
"""
from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np

from bbdlib.bulk_boundary.drives import Drive, DriveBatch
from bbdlib.bulk_boundary.network import Network
from bbdlib.validate import check_array, check_choice, check_int, check_real

__all__ = [
    "Scheme", "SCHEMES", "METHODS", "ORDERS", "GRADIENTS", "Trajectory", "LossGradient",
    "integrate", "iter_integrate", "step_map", "local_error_estimate",
    "ORDER_ALLOWANCE", "RICHARDSON_MULTIPLE", "Refinement", "refinement_check",
]


# --------------------------------------------------------------------------- trajectory
@dataclass(frozen=True)
class Trajectory:
    """Saved states of an integration: ``theta[n], v[n]`` at times ``t[n]``.

    For a batch of ``R`` replicas, ``theta`` and ``v`` have shape ``(T, R, P)`` and
    :meth:`replica` returns the trajectory of one of them (the form the energies, currents and
    continuity residuals of Sec. 4 take).
    """

    net: Network
    gamma: float
    drive: Drive
    t: np.ndarray
    theta: np.ndarray
    v: np.ndarray
    method: str
    h: float

    def __len__(self) -> int:
        return self.t.size

    @property
    def n_replicas(self) -> int | None:
        """Number of replicas integrated together, ``None`` for a single trajectory."""
        return None if self.theta.ndim == 2 else self.theta.shape[1]

    def replica(self, r: int) -> Trajectory:
        """The trajectory of replica ``r`` of a batch (with its own drive).

        Parameters
        ----------
        r : int
            Index ``0 <= r < n_replicas``.

        Returns
        -------
        Trajectory
            ``theta``, ``v`` of shape ``(T, P)``.
        """
        if self.n_replicas is None:
            raise ValueError("replica() needs a batch of replicas; this trajectory is a single one")
        r = check_int("r", r, minimum=0, maximum=self.n_replicas - 1)
        drive = self.drive.drives[r] if isinstance(self.drive, DriveBatch) else self.drive
        return Trajectory(self.net, self.gamma, drive, self.t, self.theta[:, r], self.v[:, r], self.method, self.h)

    def replicas(self) -> list[Trajectory]:
        """All replicas of a batch, as single trajectories (see :meth:`replica`)."""
        return [self.replica(r) for r in range(self.n_replicas or 0)]


def _check_state(net, name, x):
    """A flat state ``(P,)`` or a batch ``(R, P)``; a ragged batch is refused naming ``name``."""
    if isinstance(x, (list, tuple)) and len(x) and all(np.ndim(m) >= 1 for m in x):
        shapes = {np.shape(m) for m in x}
        if len(shapes) > 1:
            raise ValueError(f"the members of the batch {name} disagree in shape: {sorted(shapes)}")
    try:
        arr = net.check_theta(name, x)
    except ValueError as err:
        if "finite" in str(err) or name in str(err):
            raise
        raise ValueError(f"{name}: {err}") from err
    if arr.ndim not in (1, 2):
        raise ValueError(f"{name} must be a flat parameter vector (P,) or a batch (R, P), got shape {arr.shape}")
    return arr


def _validate(net, theta0, v0, gamma, drive, h, n_steps, method):
    if not isinstance(net, Network):
        raise TypeError(f"net must be a bbdlib.bulk_boundary.network.Network, got {type(net).__name__}")
    method = check_choice("method", method, METHODS)
    h = check_real("h", h, low=0.0, low_inclusive=False)
    n_steps = check_int("n_steps", n_steps, minimum=1)
    gamma = check_real("gamma", gamma, low=0.0, low_inclusive=False)
    theta0 = _check_state(net, "theta0", theta0)
    v0 = _check_state(net, "v0", v0)
    if isinstance(drive, (list, tuple)):
        drive = DriveBatch(drive)
    if not isinstance(drive, Drive):
        raise TypeError("drive must be a ConstantDrive, OscillatingDrive, SampleStream or DriveBatch")
    drive.check_against(net)
    R = {a.shape[0] for a in (theta0, v0) if a.ndim == 2}
    if isinstance(drive, DriveBatch):
        R.add(drive.n_replicas)
    if len(R) > 1:
        raise ValueError(f"the batch sizes of theta0 {theta0.shape}, v0 {v0.shape} and drive "
                         f"({getattr(drive, 'n_replicas', None)} replicas) disagree")
    if R:
        shape = (R.pop(), net.n_params)
        theta0, v0 = np.broadcast_to(theta0, shape), np.broadcast_to(v0, shape)
    return theta0.copy(), v0.copy(), gamma, drive, h, n_steps, method


class LossGradient:
    """The force of eq. (4): ``∇_θ ℓ(θ, t)`` of a network under a drive (kernel: no validation)."""

    def __init__(self, net: Network, drive: Drive) -> None:
        self.net, self.drive = net, drive

    def __call__(self, theta, t):
        """``∂ℓ/∂θ`` at parameters ``theta`` and time ``t``, flat like ``theta``."""
        X, Y = self.drive.pair(t)
        return self.net._grad(theta, X, Y)


# --------------------------------------------------------------------------- schemes
# A step advances (q, v) in place from time t by h, given the gradient g at (q, t), and returns
# the gradient at the new state and the new time (first-same-as-last: one gradient per kick).
_W1 = 1.0 / (2.0 - 2.0 ** (1.0 / 3.0))
_W0 = 1.0 - 2.0 * _W1


def _heavy_ball_step(q, v, g, t, h, gamma, force):
    """Polyak's heavy ball, ``μ = e^{-γh}``: ``v ← μv - h∇ℓ``, ``θ ← θ + hv``."""
    v *= np.exp(-gamma * h)
    v -= h * g
    q += h * v
    t = t + h
    return force(q, t), t


def _cs2_step(q, v, g, t, h, gamma, force):
    """Strang splitting K(h/2) F(h) K(h/2) of the kick and the exact damped drift."""
    v -= 0.5 * h * g
    e = np.exp(-gamma * h)
    q += (-np.expm1(-gamma * h) / gamma) * v
    v *= e
    t = t + h
    g = force(q, t)
    v -= 0.5 * h * g
    return g, t


def _cs4_step(q, v, g, t, h, gamma, force):
    """Yoshida's triple jump of :func:`_cs2_step` with weights ``w1, w0, w1``."""
    g, t1 = _cs2_step(q, v, g, t, _W1 * h, gamma, force)
    g, t1 = _cs2_step(q, v, g, t1, _W0 * h, gamma, force)
    g, _ = _cs2_step(q, v, g, t1, _W1 * h, gamma, force)
    return g, t + h


def _drift(q, v, tau, gamma):
    """The exact damped drift over ``tau`` (any sign): ``θ += (1 - e^{-γτ})/γ v``, ``v *= e^{-γτ}``."""
    q += (-math.expm1(-gamma * tau) / gamma) * v
    v *= math.exp(-gamma * tau)


def _splitting(b: tuple[float, ...], a: tuple[float, ...]) -> Callable:
    """A symmetric kick–damped-drift–kick step ``K(b0 h) F(a0 h) K(b1 h) ... F(a_{m-1} h) K(b_m h)``.

    ``b`` has one more weight than ``a``; the last kick's gradient is the next step's first
    (first-same-as-last), so a step costs ``len(a)`` gradients.
    """
    bs, as_ = tuple(float(x) for x in b), tuple(float(x) for x in a)

    def step(q, v, g, t, h, gamma, force):
        for bk, ak in zip(bs, as_):
            v -= (bk * h) * g
            _drift(q, v, ak * h, gamma)
            t = t + ak * h
            g = force(q, t)
        v -= (bs[-1] * h) * g
        return g, t

    return step


def _symmetric(first: tuple[float, ...], middle: float) -> tuple[float, ...]:
    """``(c1, ..., ck, middle, ck, ..., c1)``."""
    return (*first, middle, *first[::-1])


def _symmetric_pair(first: tuple[float, ...]) -> tuple[float, ...]:
    """``(c1, ..., ck, ck, ..., c1)`` (no middle weight)."""
    return (*first, *first[::-1])


# Blanes & Moan (2002): SRKN_6^b (order 4) and SRKN_11^b (order 6), kicks b, drifts a (free weights;
# the rest follow from symmetry and consistency, sum b = sum a = 1).
_BM4_B = (0.0829844064174052, 0.396309801498368, -0.0390563049223486)
_BM4_A = (0.245298957184271, 0.604872665711080)
_RKN4_B = _symmetric(_BM4_B, 1.0 - 2.0 * sum(_BM4_B))
_RKN4_A = _symmetric_pair((*_BM4_A, 0.5 - sum(_BM4_A)))
_BM6_B = (0.0414649985182624, 0.198128671918067, -0.0400061921041533, 0.0752539843015807,
          -0.0115113874206879)
_BM6_A = (0.123229775946271, 0.290553797799558, -0.127049212625417, -0.246331761062075,
          0.357208872795928)
_RKN6_B = _symmetric_pair((*_BM6_B, 0.5 - sum(_BM6_B)))
_RKN6_A = _symmetric(_BM6_A, 1.0 - 2.0 * sum(_BM6_A))
_rkn4_step = _splitting(_RKN4_B, _RKN4_A)
_rkn6_step = _splitting(_RKN6_B, _RKN6_A)


@dataclass(frozen=True)
class Scheme:
    """A conformal symplectic method for eq. (4): its order next to its step.

    Attributes
    ----------
    name : str
        Key in :data:`SCHEMES`.
    order : int
        Global order of accuracy.
    gradients : int
        Gradient evaluations per step (first-same-as-last counted once).
    step : callable
        ``step(q, v, g, t, h, gamma, force) -> (g_new, t_new)``: advances ``(q, v)`` in place
        by one step ``h`` from time ``t``, given the gradient ``g`` at ``(q, t)``.  The
        kernels accept ``h < 0`` (a step back in time).
    description : str
        One line for tables.
    symmetric : bool
        Whether the step is time-reversible, ``Φ_{-h} ∘ Φ_h = id``.
    kicks, drifts : tuple of float
        For a kick–damped-drift splitting ``K(b_0 h) F(a_0 h) ... F(a_{m-1} h) K(b_m h)``, its
        weights ``b`` and ``a`` (empty for ``heavy_ball``).  Sub-stage quantities such as the
        exact dissipation ``∫|v|² dt`` of the drifts are computed from them.
    """

    name: str
    order: int
    gradients: int
    step: Callable
    description: str
    symmetric: bool = True
    kicks: tuple[float, ...] = ()
    drifts: tuple[float, ...] = ()


#: The integration schemes by name, each declaring its order next to its step (see :class:`Scheme`).
SCHEMES: dict[str, Scheme] = {
    sc.name: sc
    for sc in (
        Scheme("heavy_ball", 1, 1, _heavy_ball_step, "Polyak heavy ball, μ = e^{-γh}", symmetric=False),
        Scheme("cs2", 2, 1, _cs2_step, "Strang splitting kick(h/2) drift(h) kick(h/2)",
               kicks=(0.5, 0.5), drifts=(1.0,)),
        Scheme("cs4", 4, 3, _cs4_step, "Yoshida triple jump of cs2",
               kicks=(_W1 / 2, (_W1 + _W0) / 2, (_W1 + _W0) / 2, _W1 / 2), drifts=(_W1, _W0, _W1)),
        Scheme("rkn4", 4, len(_RKN4_A), _rkn4_step, "Blanes–Moan SRKN₆ᵇ kick–damped-drift splitting",
               kicks=_RKN4_B, drifts=_RKN4_A),
        Scheme("rkn6", 6, len(_RKN6_A), _rkn6_step, "Blanes–Moan SRKN₁₁ᵇ kick–damped-drift splitting",
               kicks=_RKN6_B, drifts=_RKN6_A),
    )
}
METHODS: tuple[str, ...] = tuple(SCHEMES)
ORDERS: dict[str, int] = {name: sc.order for name, sc in SCHEMES.items()}
GRADIENTS: dict[str, int] = {name: sc.gradients for name, sc in SCHEMES.items()}


def iter_integrate(net, theta0, v0, *, gamma, drive, h, n_steps, method="cs2", save_every=1,
                   chunk=512, t0=0.0) -> Iterator[Trajectory]:
    """Like :func:`integrate`, but yield the saved states in chunks of at most ``chunk`` rows.

    The first chunk starts with the initial state; memory stays bounded for long runs
    of wide networks (:func:`bbdlib.bulk_boundary.streaming.stream_site_fields` streams
    through this).

    Parameters
    ----------
    net, theta0, v0, gamma, drive, h, n_steps, method, save_every, t0
        As in :func:`integrate`.
    chunk : int
        Largest number of saved states per yielded :class:`Trajectory`.

    Yields
    ------
    Trajectory
        Consecutive pieces of the run.
    """
    q, v, gamma, drive, h, n_steps, method = _validate(net, theta0, v0, gamma, drive, h, n_steps, method)
    save_every = check_int("save_every", save_every, minimum=1)
    chunk = check_int("chunk", chunk, minimum=1)
    t0 = check_real("t0", t0)
    force = LossGradient(net, drive)
    step = SCHEMES[method].step
    t = t0
    g = force(q, t)
    n_save = n_steps // save_every + 1
    size = min(chunk, n_save)
    P = q.shape
    ts, qs, vs = np.empty(size), np.empty((size, *P)), np.empty((size, *P))
    ts[0], qs[0], vs[0] = t, q, v
    row, done = 1, 1
    for n in range(1, n_steps + 1):
        with np.errstate(over="ignore", invalid="ignore"):
            g, _ = step(q, v, g, t, h, gamma, force)
        t = t0 + n * h
        if n % save_every == 0:
            if not (np.all(np.isfinite(q)) and np.all(np.isfinite(v))):
                raise FloatingPointError(f"the integration diverged at t = {t:g} (step {n}); reduce h")
            if row == size:
                yield Trajectory(net, gamma, drive, ts, qs, vs, method, h)
                size = min(chunk, n_save - done)
                ts, qs, vs = np.empty(size), np.empty((size, *P)), np.empty((size, *P))
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
        Initial parameters ``(W, b)`` and velocities, flat (see :meth:`Network.pack`), shape
        ``(P,)``; or a batch of ``R`` replicas, shape ``(R, P)`` (a flat one is shared by all
        replicas), integrated together with one vectorised gradient per stage.
    gamma
        Damping ``γ > 0`` (``γ = 1/η`` in [A]).
    drive
        :class:`ConstantDrive`, :class:`OscillatingDrive` or :class:`SampleStream` (shared by
        all replicas), or one drive per replica (a :class:`DriveBatch` or a list of drives).
    h, n_steps
        Step size and number of steps.
    method
        A key of :data:`SCHEMES` (each declares its order, :data:`ORDERS`).
    save_every
        Keep every ``save_every``-th state (the initial state is always kept).
    t0
        Initial time.

    Returns
    -------
    Trajectory
        ``theta``, ``v`` of shape ``(T, P)``, or ``(T, R, P)`` for a batch.

    Raises
    ------
    ValueError
        For an unknown ``method``, a step ``h`` that is not finite and positive, a
        non-finite initial condition, or batch members (``theta0``, ``v0``, ``drive``) that
        disagree in shape.
    """
    parts = list(iter_integrate(net, theta0, v0, gamma=gamma, drive=drive, h=h, n_steps=n_steps,
                                method=method, save_every=save_every, chunk=1 << 62, t0=t0))
    return parts[0]


def step_map(net, gamma, drive, method, h, theta, v, t=0.0) -> tuple[np.ndarray, np.ndarray]:
    """One step of ``method`` from ``(theta, v)`` at time ``t`` (for tests of the structure).

    Parameters
    ----------
    net : Network
        The network.
    gamma : float
        Damping.
    drive : Drive
        Input and target.
    method : str
        A key of :data:`SCHEMES`.
    h : float
        Step.
    theta, v : array_like, shape (P,)
        The state.
    t : float
        Time.

    Returns
    -------
    tuple of numpy.ndarray
        ``(theta, v)`` after the step (new arrays).
    """
    q, v, gamma, drive, h, _, method = _validate(net, theta, v, gamma, drive, h, 1, method)
    force = LossGradient(net, drive)
    SCHEMES[method].step(q, v, force(q, t), t, h, gamma, force)
    return q, v


def local_error_estimate(traj: Trajectory, *, n_probe: int = 8, refine: int = 16) -> float:
    """Relative local error of one step of ``traj.method`` at step ``traj.h``.

    At ``n_probe`` saved states (equally spaced), one step of size ``h`` is compared with
    ``refine`` steps of ``cs4`` of size ``h/refine`` (a reference many orders more accurate)
    and the difference is divided by the size of the step itself ``|y_{n+1} - y_n|``.
    This is the integrator's truncation error per unit of change, the yardstick for the
    continuity-equation residuals (see the chapter on the energy continuity equation).

    Parameters
    ----------
    traj : Trajectory
        A run.
    n_probe : int
        Number of probed states.
    refine : int
        Sub-steps of the reference.

    Returns
    -------
    float
        The largest relative local error over the probed states.
    """
    net, drive = traj.net, traj.drive
    idx = np.unique(np.linspace(0, len(traj) - 1, n_probe).astype(int))
    force = LossGradient(net, drive)
    worst = 0.0
    for k in idx:
        q1, v1 = traj.theta[k].copy(), traj.v[k].copy()
        t = float(traj.t[k])
        SCHEMES[traj.method].step(q1, v1, force(q1, t), t, traj.h, traj.gamma, force)
        q2, v2 = traj.theta[k].copy(), traj.v[k].copy()
        g, tt = force(q2, t), t
        hh = traj.h / refine
        for _ in range(refine):
            g, tt = _cs4_step(q2, v2, g, tt, hh, traj.gamma, force)
        err = np.sqrt(np.sum((q1 - q2) ** 2) + np.sum((v1 - v2) ** 2))
        size = np.sqrt(np.sum((q2 - traj.theta[k]) ** 2) + np.sum((v2 - traj.v[k]) ** 2))
        worst = max(worst, err / size)
    return float(worst)


# --------------------------------------------------------------------------- step refinement
#: How far below the scheme's order an observed convergence order may lie (and above its order + 2
#: for a symmetric scheme, + 1 otherwise) for a residual to count as the integrator's error
#: (:func:`refinement_check`).
ORDER_ALLOWANCE: float = 0.5
#: The largest residual at step ``h``, in units of its Richardson error estimate, that
#: :func:`refinement_check` accepts (a holding identity leaves about 1).
RICHARDSON_MULTIPLE: float = 10.0


@dataclass(frozen=True)
class Refinement:
    """Verdict of :func:`refinement_check` on residuals measured at successively refined steps.

    Attributes
    ----------
    methods : tuple of str
        The scheme of each case (a key of :data:`SCHEMES`).
    order : numpy.ndarray, shape (C,)
        The documented order ``p`` of each case's scheme.
    steps : numpy.ndarray, shape (L, C)
        Step sizes, coarsest first.
    residuals : numpy.ndarray, shape (L, C)
        The residuals at those steps.
    observed_order : numpy.ndarray, shape (C,)
        Least-squares slope of ``log r`` against ``log h`` over all ``L`` steps.
    order_window : numpy.ndarray, shape (C, 2)
        The accepted range of ``observed_order``: ``[p - a, p + 2 + a]`` for a symmetric
        scheme, ``[p - a, p + 1 + a]`` otherwise (``a`` = ``order_allowance``).
    richardson : numpy.ndarray, shape (C,)
        Richardson estimate of the discretisation error of the residual at the coarsest step,
        ``|r(h) - r(h/q)| / (1 - q^{-p})`` from the two coarsest steps (``q = h / h_2``).
    ratio : numpy.ndarray, shape (C,)
        ``r(h) / richardson``: about 1 when the residual is the integrator's error.
    order_allowance, multiple : float
        The rule's constants (:data:`ORDER_ALLOWANCE`, :data:`RICHARDSON_MULTIPLE`).
    holds : numpy.ndarray of bool, shape (C,)
        Both conditions, case by case.
    """

    methods: tuple
    order: np.ndarray
    steps: np.ndarray
    residuals: np.ndarray
    observed_order: np.ndarray
    order_window: np.ndarray
    richardson: np.ndarray
    ratio: np.ndarray
    order_allowance: float
    multiple: float
    holds: np.ndarray

    @property
    def all_hold(self) -> bool:
        """Whether every case passes the rule."""
        return bool(np.all(self.holds))

    @property
    def worst_ratio(self) -> float:
        """The largest ``r(h) / richardson`` over the cases."""
        return float(np.max(self.ratio))

    @property
    def tolerance(self) -> np.ndarray:
        """Per case, the residual the rule accepts at the coarsest step, ``multiple × richardson``;
        zero for a case whose observed order lies outside its window (no tolerance is granted to a
        residual that does not converge like the integrator's error)."""
        in_window = (self.observed_order >= self.order_window[:, 0]) & (self.observed_order <= self.order_window[:, 1])
        return np.where(in_window, self.multiple * self.richardson, 0.0)

    def summary(self) -> str:
        """One line: observed orders, Richardson ratios and how many cases pass."""
        parts = []
        for m in dict.fromkeys(self.methods):
            sel = np.array([x == m for x in self.methods])
            o, r = self.observed_order[sel], self.ratio[sel]
            parts.append(f"{m} (order {SCHEMES[m].order}): observed orders {o.min():.2f}–{o.max():.2f}, "
                         f"r(h)/Richardson {r.min():.2f}–{r.max():.2f}")
        return (f"{'; '.join(parts)}; {int(np.sum(self.holds))} of {self.holds.size} cases pass "
                f"(window p − {self.order_allowance:g} … p + 2 + {self.order_allowance:g}, "
                f"ratio ≤ {self.multiple:g})")


def refinement_check(steps, residuals, method, *, order_allowance: float = ORDER_ALLOWANCE,
                     multiple: float = RICHARDSON_MULTIPLE) -> Refinement:
    """The book's one rule for the residual of an identity that holds exactly in the continuum.

    Along a trajectory integrated with step ``h`` by a scheme of order ``p``, such a residual is a
    discretisation error: ``r(h) ≈ C h^p``.  Measured at successively refined steps
    ``h > h_2 > ...`` (at least two), it passes when

    (a) its observed order (least-squares slope of ``log r`` against ``log h``) lies in
        ``[p - a, p + 2 + a]`` for a symmetric scheme (whose error expansion has only the powers
        ``h^p, h^{p+2}, ...``, so a small leading coefficient can raise the observed order up to
        ``p + 2``), ``[p - a, p + 1 + a]`` otherwise, ``a = order_allowance``; and
    (b) the residual at the coarsest step is at most ``multiple`` times its Richardson error
        estimate ``E(h) = |r(h) - r(h_2)| / (1 - (h_2/h)^p)``.

    An identity that holds leaves ``r(h) / E(h) ≈ 1`` and the observed order ``p``; one that
    fails leaves a residual that tends to a non-zero limit, so that ``r(h) - r(h_2) → 0`` and the
    observed order → 0.  The rule is scale-free: it needs no estimate of the size of the
    integrator's error, only how the residual responds to refining the step.  ``p`` and the
    symmetry are the ones each scheme declares in :data:`SCHEMES`.

    Parameters
    ----------
    steps : array_like, shape (L,) or (L, C)
        Step sizes, strictly decreasing along axis 0 (``L >= 2``); one column per case, or one
        sequence shared by all cases.
    residuals : array_like, shape (L,) or (L, C)
        Positive finite residuals at those steps.
    method : str or sequence of str
        The scheme (a key of :data:`SCHEMES`), one for all cases or one per case.
    order_allowance : float
        ``a`` above (default :data:`ORDER_ALLOWANCE`).
    multiple : float
        The largest accepted ``r(h) / E(h)`` (default :data:`RICHARDSON_MULTIPLE`).

    Returns
    -------
    Refinement

    Raises
    ------
    ValueError
        For fewer than two steps, steps that do not decrease, non-positive or non-finite
        residuals, shapes that disagree, or an unknown method.

    Notes
    -----
    The upper end of the window assumes the residual is the integrator's error.  A measurement
    error that converges faster (the book's sixth-order differences of sampled energies) can
    dominate at the coarsest step and raise the observed order above ``p + 2`` for ``p = 2``;
    steps that are too coarse can then fail a holding identity.  ``ratio`` is ``inf`` when the
    two coarsest residuals are exactly equal (no Richardson estimate; the case fails).
    """
    r = check_array("residuals", residuals)
    if r.ndim == 1:
        r = r[:, None]
    if r.ndim != 2 or r.shape[0] < 2 or r.shape[1] < 1:
        raise ValueError(f"residuals must have shape (L, C) with L >= 2 steps, got {np.shape(residuals)}")
    if not np.all(np.isfinite(r)) or np.any(r <= 0):
        raise ValueError("residuals must be positive and finite (a zero residual has no order)")
    h = check_array("steps", steps)
    if h.ndim == 1:
        h = np.broadcast_to(h[:, None], r.shape)
    if h.shape != r.shape:
        raise ValueError(f"steps must have shape {r.shape[:1]} or {r.shape}, got {np.shape(steps)}")
    if not np.all(np.isfinite(h)) or np.any(h <= 0) or np.any(np.diff(h, axis=0) >= 0):
        raise ValueError("steps must be positive, finite and strictly decreasing (coarsest first)")
    C = r.shape[1]
    methods = (method,) * C if isinstance(method, str) else tuple(method)
    if len(methods) != C:
        raise ValueError(f"method must name one scheme or one per case ({C}), got {len(methods)}")
    for m in methods:
        check_choice("method", m, METHODS)
    a = check_real("order_allowance", order_allowance, low=0.0, low_inclusive=False)
    K = check_real("multiple", multiple, low=1.0)
    p = np.array([SCHEMES[m].order for m in methods], dtype=float)
    up = np.array([2.0 if SCHEMES[m].symmetric else 1.0 for m in methods])
    logh, logr = np.log(h), np.log(r)
    dh = logh - logh.mean(axis=0)
    observed = np.sum(dh * (logr - logr.mean(axis=0)), axis=0) / np.sum(dh**2, axis=0)
    window = np.stack([p - a, p + up + a], axis=-1)
    q = h[0] / h[1]
    richardson = np.abs(r[0] - r[1]) / (1.0 - q ** (-p))
    with np.errstate(divide="ignore"):
        ratio = np.where(richardson > 0, r[0] / np.where(richardson > 0, richardson, 1.0), np.inf)
    holds = (observed >= window[:, 0]) & (observed <= window[:, 1]) & (ratio <= K)
    return Refinement(methods=methods, order=p, steps=np.array(h), residuals=r, observed_order=observed,
                      order_window=window, richardson=richardson, ratio=ratio, order_allowance=a, multiple=K,
                      holds=holds)
