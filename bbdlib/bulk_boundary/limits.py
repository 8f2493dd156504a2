"""Section 2 of [A]: SGD (2), gradient flow (3), the damped dynamics (4) and a reference solver.

All four act on the one numeric network of paper A, :class:`~bbdlib.bulk_boundary.network.Network`,
with a data source that is either a drive (:mod:`bbdlib.bulk_boundary.drives`: one training pair,
possibly moving in time) or a :class:`FullBatch` (a fixed data set used whole at every step, the
loss being the sample mean).  They are used to show that

* the SGD iteration (2) is the forward-Euler discretisation of the gradient flow (3) (global
  error ``O(η)`` at a fixed ``ηt``), and
* the damped dynamics (4) with ``γ = 1/η`` approach the gradient flow (3) as ``γ → ∞`` (error
  ``O(γ^{-2})`` on the time scale ``t/γ``).

The conformal symplectic integrators of (4) are in :mod:`bbdlib.bulk_boundary.integrator`;
:func:`damped_flow` solves the same equation with :func:`scipy.integrate.solve_ivp` (stiff
Radau for large ``γ``, or DOP853 as the reference of the work–precision benchmark).

[A] D. Lee, H.-S. Lee, J. Yi, "Bulk–boundary decomposition of neural networks".
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from scipy.integrate import solve_ivp

from bbdlib.bulk_boundary.drives import Drive
from bbdlib.bulk_boundary.integrator import LossGradient
from bbdlib.bulk_boundary.network import Network
from bbdlib.validate import check_array, check_choice, check_generator, check_int, check_real

__all__ = ["FullBatch", "FlowSolution", "demo_data_set", "loss_gradient", "sgd", "gradient_flow",
           "damped_flow"]

_SCIPY_METHODS = ("RK45", "RK23", "DOP853", "Radau", "BDF", "LSODA")


@dataclass(frozen=True)
class FullBatch:
    """A fixed data set used whole at every step: ``ℓ̄(θ) = (1/B) Σ_s ℓ(Z(θ, X_s), Y_s)``.

    Attributes
    ----------
    X : numpy.ndarray, shape (B, N_0)
        Inputs.
    Y : numpy.ndarray, shape (B, N_M)
        Targets.
    """

    X: np.ndarray
    Y: np.ndarray

    def __post_init__(self) -> None:
        X = check_array("X", self.X, ndim=2)
        Y = check_array("Y", self.Y, ndim=2)
        if X.shape[0] != Y.shape[0]:
            raise ValueError(f"X and Y must hold the same number of samples, got {X.shape[0]} and {Y.shape[0]}")
        object.__setattr__(self, "X", X)
        object.__setattr__(self, "Y", Y)

    def __len__(self) -> int:
        return self.X.shape[0]


@dataclass(frozen=True)
class FlowSolution:
    """A solution of (3) or (4) at the requested times.

    Attributes
    ----------
    t : numpy.ndarray, shape (T,)
        Times.
    theta : numpy.ndarray, shape (T, P)
        Parameters ``θ(t)``.
    v : numpy.ndarray or None, shape (T, P)
        Velocities ``θ̇(t)`` (for the second-order dynamics (4); ``None`` for (3)).
    n_fev : int
        Number of right-hand-side (gradient) evaluations.
    """

    t: np.ndarray
    theta: np.ndarray
    v: np.ndarray | None
    n_fev: int


def _check_net(net) -> Network:
    if not isinstance(net, Network):
        raise TypeError(f"net must be a bbdlib.bulk_boundary.network.Network, got {type(net).__name__}")
    return net


def loss_gradient(net: Network, data: Drive | FullBatch) -> Callable:
    """The force ``∇_θ ℓ(θ, t)`` of a network on a data source.

    Parameters
    ----------
    net : Network
        The network (architecture, activation, loss).
    data : Drive or FullBatch
        A drive (one training pair, possibly time-dependent) or a fixed data set (gradient of
        the sample-mean loss).

    Returns
    -------
    callable
        ``grad(theta, t) -> ∂ℓ/∂θ`` (flat, like ``theta``; no validation inside).
    """
    _check_net(net)
    if isinstance(data, FullBatch):
        net.check_x("data.X", data.X)
        net.check_y("data.Y", data.Y)
        X, Y = data.X, data.Y
        return lambda theta, t: net._grad(theta, X, Y, mean_over_batch=True)
    if isinstance(data, Drive):
        data.check_against(net)
        return LossGradient(net, data)
    raise TypeError(f"data must be a Drive or a FullBatch, got {type(data).__name__}")


def demo_data_set(widths: Sequence[int], n_samples: int, rng, activation: str = "tanh"
                  ) -> tuple[Network, np.ndarray, FullBatch]:
    """A network with random data and a random initial ``θ`` (the test problem of the Sec. 2 chapter).

    Parameters
    ----------
    widths : sequence of int
        ``(N_0, ..., N_M)``, ``M >= 2``.
    n_samples : int
        Size ``B`` of the data set.
    rng : numpy.random.Generator or int
        Source of the data and of ``θ``.
    activation : str
        A C² activation of :mod:`bbdlib.activations`.

    Returns
    -------
    net : Network
        Squared loss ``ℓ = ½|Z - Y|²``.
    theta0 : numpy.ndarray, shape (P,)
        ``W^(m) ~ N(0, 1/N_m)``, ``b^(m) = 0``.
    data : FullBatch
        ``X ~ N(0, 1)`` and the smooth targets ``Y = sin(X A)`` for a random ``A`` (so that
        the loss landscape is not trivial).
    """
    if not isinstance(widths, (tuple, list)):
        raise TypeError(f"widths must be a sequence of layer widths, got {widths!r}")
    net = Network(tuple(widths), activation, "mse")
    n_samples = check_int("n_samples", n_samples, minimum=1)
    rng = check_generator("rng", rng)
    N = net.widths
    X = rng.normal(size=(n_samples, N[0]))
    A = rng.normal(size=(N[0], N[-1]))
    Y = np.sin(X @ A)
    Ws = [rng.normal(size=N[m + 1] * N[m]).reshape(N[m + 1], N[m]) / np.sqrt(N[m]) for m in range(net.depth)]
    bs = [np.zeros(N[m + 1]) for m in range(net.depth)]
    return net, net.pack(Ws, bs), FullBatch(X, Y)


def sgd(net: Network, theta0, X, Y, *, eta: float, n_steps: int, batch_size: int | None = None,
        rng=None) -> np.ndarray:
    """Plain SGD, eq. (2) of [A]: ``Δθ = -η ∇ℓ`` on a minibatch per step.

    Parameters
    ----------
    net : Network
        The network.
    theta0 : array_like, shape (P,)
        Initial parameters.
    X, Y : array_like, shapes (B, N_0) and (B, N_M)
        The data set (a single pair may be given as 1-D arrays).
    eta : float
        Learning rate ``η > 0``.
    n_steps : int
        Number of steps.
    batch_size : int or None
        Samples per step, drawn without replacement by ``rng``; ``None`` uses the whole set at
        every step (full batch, deterministic).
    rng : numpy.random.Generator or int or None
        Source of the minibatches (needed only with ``batch_size``).

    Returns
    -------
    numpy.ndarray, shape (n_steps + 1, P)
        The parameters after every step (row 0 is ``theta0``).  With one sample this equals
        ``heavy_ball`` with ``μ = e^{-γh} = 0`` and ``h² = η``.
    """
    _check_net(net)
    q = net.check_theta("theta0", theta0).copy()
    X = net.check_x("X", np.atleast_2d(X))
    Y = net.check_y("Y", np.atleast_2d(Y))
    if X.shape[0] != Y.shape[0]:
        raise ValueError(f"X and Y must hold the same number of samples, got {X.shape[0]} and {Y.shape[0]}")
    eta = check_real("eta", eta, low=0.0, low_inclusive=False)
    n_steps = check_int("n_steps", n_steps, minimum=1)
    if batch_size is not None:
        batch_size = check_int("batch_size", batch_size, minimum=1, maximum=X.shape[0])
        rng = check_generator("rng", 0 if rng is None else rng)
    out = np.empty((n_steps + 1, q.size))
    out[0] = q
    for n in range(1, n_steps + 1):
        if batch_size is None:
            Xb, Yb = X, Y
        else:
            idx = rng.choice(X.shape[0], size=batch_size, replace=False)
            Xb, Yb = X[idx], Y[idx]
        with np.errstate(over="ignore", invalid="ignore"):
            q = q - eta * net._grad(q, Xb, Yb, mean_over_batch=True)
        if not np.all(np.isfinite(q)):
            raise ValueError(f"SGD diverged at step {n} of {n_steps} (non-finite parameters): "
                             f"eta = {eta} is too large for this network and data")
        out[n] = q
    return out


def _check_t_eval(t_eval) -> np.ndarray:
    t_eval = check_array("t_eval", t_eval, ndim=1)
    if t_eval.size < 2 or np.any(np.diff(t_eval) <= 0):
        raise ValueError("t_eval must hold at least two increasing times")
    return t_eval


def gradient_flow(net: Network, theta0, *, eta: float, data: Drive | FullBatch, t_eval,
                  method: str = "DOP853", h: float | None = None, rtol: float = 1e-10,
                  atol: float = 1e-12) -> FlowSolution:
    """Gradient flow, eq. (3) of [A]: ``θ̇ = -η ∇ℓ(θ, t)``, from ``t_eval[0]``.

    Parameters
    ----------
    net : Network
        The network.
    theta0 : array_like, shape (P,)
        ``θ(t_eval[0])``.
    eta : float
        ``η > 0``.
    data : Drive or FullBatch
        The data source (see :func:`loss_gradient`).
    t_eval : array_like, shape (T,)
        Increasing output times.
    method : str
        ``"rk4"``: classical Runge–Kutta with fixed step ``h`` (every ``t_eval`` must lie on the
        grid ``t_eval[0] + n h``); otherwise a :func:`scipy.integrate.solve_ivp` method
        (adaptive, tolerances ``rtol``, ``atol``).
    h : float, optional
        The step of ``"rk4"``.
    rtol, atol : float
        Tolerances of ``solve_ivp``.

    Returns
    -------
    FlowSolution
        ``theta`` at ``t_eval`` (``v`` is ``None``).
    """
    _check_net(net)
    q = net.check_theta("theta0", theta0)
    if q.ndim != 1:
        raise ValueError("theta0 must be a flat parameter vector")
    eta = check_real("eta", eta, low=0.0, low_inclusive=False)
    t_eval = _check_t_eval(t_eval)
    method = check_choice("method", method, ("rk4", *_SCIPY_METHODS))
    grad = loss_gradient(net, data)
    if method != "rk4":
        sol = solve_ivp(lambda t, y: -eta * grad(y, t), (float(t_eval[0]), float(t_eval[-1])), q,
                        t_eval=t_eval, method=method, rtol=rtol, atol=atol)
        if not sol.success:  # pragma: no cover
            raise RuntimeError(f"solve_ivp failed: {sol.message}")
        return FlowSolution(t=sol.t, theta=sol.y.T, v=None, n_fev=int(sol.nfev))
    if h is None:
        raise ValueError("method 'rk4' needs a step h")
    h = check_real("h", h, low=0.0, low_inclusive=False)
    t0 = float(t_eval[0])
    steps = (t_eval - t0) / h
    idx = np.rint(steps).astype(np.int64)
    if not np.allclose(steps, idx, rtol=0.0, atol=1e-9 * max(1.0, float(idx[-1]))):
        raise ValueError("with method 'rk4' every t_eval must lie on the grid t_eval[0] + n h")

    def f(q, t):
        return -eta * grad(q, t)

    out = np.empty((t_eval.size, q.size))
    q = q.copy()
    out[0] = q
    k_out, t = 1, t0
    for n in range(1, int(idx[-1]) + 1):
        k1 = f(q, t)
        k2 = f(q + 0.5 * h * k1, t + 0.5 * h)
        k3 = f(q + 0.5 * h * k2, t + 0.5 * h)
        k4 = f(q + h * k3, t + h)
        q = q + h / 6.0 * (k1 + 2 * k2 + 2 * k3 + k4)
        t = t0 + n * h
        while k_out < idx.size and idx[k_out] == n:
            out[k_out] = q
            k_out += 1
    return FlowSolution(t=t_eval, theta=out, v=None, n_fev=4 * int(idx[-1]))


def damped_flow(net: Network, theta0, v0=None, *, gamma: float, data: Drive | FullBatch, t_eval,
                method: str = "Radau", rtol: float = 1e-10, atol: float = 1e-12) -> FlowSolution:
    """The damped dynamics, eq. (4) of [A], ``θ̈ + γθ̇ + ∇ℓ = 0``, by :func:`scipy.integrate.solve_ivp`.

    The general-purpose reference for the conformal symplectic integrators
    (:mod:`bbdlib.bulk_boundary.integrator`) and the stiff solver for large ``γ``.  A batch of
    replicas (``theta0`` of shape ``(R, P)``) is solved as one stacked system of ``2RP``
    equations (one ``solve_ivp`` call, one vectorised gradient per evaluation, a common step).

    Parameters
    ----------
    net : Network
        The network.
    theta0 : array_like, shape (P,) or (R, P)
        ``θ(t_eval[0])``, or one per replica.
    v0 : array_like, shape (P,) or (R, P), optional
        ``θ̇(t_eval[0])`` (default zero).
    gamma : float
        Damping ``γ > 0``.
    data : Drive or FullBatch
        The data source (see :func:`loss_gradient`); for a batch, a drive (shared) or a
        :class:`~bbdlib.bulk_boundary.drives.DriveBatch` (one per replica).
    t_eval : array_like, shape (T,)
        Increasing output times.
    method : str
        A ``solve_ivp`` method: ``"Radau"`` (implicit; the system is stiff for large ``γ``),
        ``"DOP853"``, ``"RK45"``, ...
    rtol, atol : float
        Tolerances.

    Returns
    -------
    FlowSolution
        ``theta`` and ``v`` at ``t_eval`` (shape ``(T, P)``, or ``(T, R, P)`` for a batch) and
        the number of right-hand-side evaluations (for a batch: of the stacked system, each
        costing ``R`` gradients).
    """
    _check_net(net)
    q0 = net.check_theta("theta0", theta0)
    v0 = np.zeros(q0.shape) if v0 is None else net.check_theta("v0", v0)
    if q0.ndim not in (1, 2) or v0.shape != q0.shape:
        raise ValueError(f"theta0 and v0 must both be flat parameter vectors (P,) or batches (R, P) of the "
                         f"same shape, got {q0.shape} and {v0.shape}")
    gamma = check_real("gamma", gamma, low=0.0, low_inclusive=False)
    t_eval = _check_t_eval(t_eval)
    method = check_choice("method", method, _SCIPY_METHODS)
    if q0.ndim == 2 and isinstance(data, FullBatch):
        raise ValueError("a batch of replicas needs a drive (or a DriveBatch) as data, not a FullBatch")
    if q0.ndim == 2 and getattr(data, "n_replicas", q0.shape[0]) != q0.shape[0]:
        raise ValueError(f"data has {data.n_replicas} replicas but theta0 {q0.shape[0]}")
    grad = loss_gradient(net, data)
    shape = q0.shape
    n = q0.size

    def rhs(t, y):
        q, v = y[:n].reshape(shape), y[n:].reshape(shape)
        return np.concatenate([v.ravel(), (-gamma * v - grad(q, t)).ravel()])

    sol = solve_ivp(rhs, (float(t_eval[0]), float(t_eval[-1])), np.concatenate([q0.ravel(), v0.ravel()]),
                    t_eval=t_eval, method=method, rtol=rtol, atol=atol)
    if not sol.success:  # pragma: no cover
        raise RuntimeError(f"solve_ivp failed: {sol.message}")
    T = sol.t.size
    return FlowSolution(t=sol.t, theta=sol.y[:n].T.reshape(T, *shape), v=sol.y[n:].T.reshape(T, *shape),
                        n_fev=int(sol.nfev))
