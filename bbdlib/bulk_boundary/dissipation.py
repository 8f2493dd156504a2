"""Is the decay of Sec. 4 of [A] a sink?  The seed study behind the dissipation claim.

Sec. 4 of [A] says that "energy is continuously dissipated within the bulk due to the
dissipation terms in the training dynamics, so that bulk dissipation also serves as an
effective sink".  What the mathematics allows (proved symbolically in
:mod:`bbdlib.bulk_boundary.symbolic.continuity`):

- summed over *all* sites, the decay (12)/(27) is ``Σ_φ p_φ φ̇`` of the (W, z) Lagrangian,
  which equals ``|Ẇ|² + |ḃ|² + Σ_i ḃ^(0)_i Σ_j W^(0)_ij Ẋ_j``: twice the kinetic energy,
  ``≥ 0``, for a fixed input; the loss and the targets do not enter (they carry no velocity);
- summed over the sites of one layer it is an indefinite quadratic form of the velocities,
  so whether a layer (or the bulk) acts as a sink over a run is a property of the run.

This module measures the second statement: it trains a batch of networks (seeds, widths)
with the damped dynamics on a smooth stream of samples, as the energy-landscape chapter
(Fig. 2, measured) does for one run, integrating all the seeds of one width as one stacked system
(:func:`bbdlib.bulk_boundary.integrator.integrate` with replicas), and reports per layer the
time-integrated decay ``∫ γ Σ_i D_{i,m} dt`` of every run and the fraction of runs in which
the layer is a net sink.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from bbdlib.bulk_boundary import energy as E
from bbdlib.bulk_boundary.drives import DriveBatch, SampleStream
from bbdlib.bulk_boundary.integrator import integrate
from bbdlib.bulk_boundary.network import Network
from bbdlib.numerics import cumulative_integral
from bbdlib.validate import check_int, check_real

__all__ = ["DecayRun", "DecayStudy", "teacher_stream", "decay_study"]


@dataclass(frozen=True)
class DecayRun:
    """One training run of the seed study.

    Attributes
    ----------
    widths : tuple of int
        ``(N_0, ..., N_M)``.
    seed : int
        The seed of its initial weights, teacher and samples.
    layer_decay : numpy.ndarray, shape (M,)
        ``∫_0^T γ Σ_i D_{i,m} dt`` per site layer ``m = 1..M``: positive where the layer is a
        net sink of energy through its decay term.
    friction : float
        ``∫_0^T γ (|Ẇ|² + |ḃ|²) dt``: the friction of the dynamics (never negative).
    loss_start, loss_end : float
        Mean training loss over the stream at ``t = 0`` and ``t = T``.
    """

    widths: tuple
    seed: int
    layer_decay: np.ndarray
    friction: float
    loss_start: float
    loss_end: float

    @property
    def bulk_decay(self) -> float:
        """``∫ γ Σ_{1<m<M} Σ_i D_{i,m} dt``: the decay of the bulk layers together."""
        return float(self.layer_decay[1:-1].sum())

    @property
    def total_decay(self) -> float:
        """``∫ γ Σ_m Σ_i D_{i,m} dt``: the decay of the whole network."""
        return float(self.layer_decay.sum())


@dataclass(frozen=True)
class DecayStudy:
    """All runs of a seed study (see :func:`decay_study`).

    Attributes
    ----------
    runs : tuple of DecayRun
        In the order widths x seeds.
    T : float
        Training time of each run.
    """

    runs: tuple
    T: float

    @property
    def widths(self) -> list:
        """The architectures studied, in order."""
        out = []
        for r in self.runs:
            if r.widths not in out:
                out.append(r.widths)
        return out

    def of(self, widths) -> list:
        """The runs of one architecture."""
        return [r for r in self.runs if r.widths == tuple(widths)]

    def sink_fraction(self, widths) -> np.ndarray:
        """Per site layer ``m = 1..M``: the fraction of runs of ``widths`` in which it is a net sink."""
        runs = self.of(widths)
        if not runs:
            raise ValueError(f"widths {widths!r} not in the study ({self.widths})")
        return np.mean([r.layer_decay > 0 for r in runs], axis=0)

    def fraction(self, which: str) -> float:
        """Fraction of all runs in which ``which`` (``"bulk"`` or ``"total"``) decay is positive."""
        if which == "bulk":
            return float(np.mean([r.bulk_decay > 0 for r in self.runs]))
        if which == "total":
            return float(np.mean([r.total_decay > 0 for r in self.runs]))
        raise ValueError(f"which must be 'bulk' or 'total', got {which!r}")


def teacher_stream(net: Network, rng: np.random.Generator, *, n_samples: int, dwell: float,
                   ramp: float) -> tuple[np.ndarray, SampleStream, np.ndarray, np.ndarray]:
    """The training set-up of the energy-landscape chapter: initial weights and a stream of teacher samples.

    Draws, in this order from ``rng``: the initial parameters
    (:meth:`~bbdlib.bulk_boundary.network.Network.init_params`), a one-layer tanh teacher
    ``(N_0, N_M)``, and ``n_samples`` standard normal inputs; the targets are
    ``tanh(X @ teacher)``.

    Parameters
    ----------
    net : Network
        The network.
    rng : numpy.random.Generator
        The source of randomness.
    n_samples : int
        Number of training pairs in the stream.
    dwell, ramp : float
        Time each sample is shown, and the smooth hand-over within it
        (:class:`~bbdlib.bulk_boundary.drives.SampleStream`).

    Returns
    -------
    theta0 : numpy.ndarray
        Initial parameters.
    stream : SampleStream
        The drive.
    Xs, Ys : numpy.ndarray
        The samples.
    """
    theta0 = net.init_params(rng)
    teacher = rng.normal(size=(net.widths[0], net.widths[-1]))
    Xs = rng.normal(size=(n_samples, net.widths[0]))
    Ys = np.tanh(Xs @ teacher)
    return theta0, SampleStream(Xs, Ys, dwell=dwell, ramp=ramp), Xs, Ys


class _StreamBatch(DriveBatch):
    """Sample streams sharing ``dwell``, ``ramp`` and the number of samples, blended in one call.

    The same drive as ``DriveBatch(streams)`` (each replica keeps its own stream), with the
    C^∞ hand-over evaluated once for all replicas instead of once per replica.
    """

    def __init__(self, streams) -> None:
        super().__init__(streams)
        s0 = self.drives[0]
        for r, s in enumerate(self.drives):
            if not isinstance(s, SampleStream) or (s.dwell, s.ramp, len(s.Xs)) != (s0.dwell, s0.ramp, len(s0.Xs)):
                raise ValueError(f"streams[{r}] differs from streams[0] in dwell, ramp or number of samples")
        self._Xs = np.stack([s.Xs for s in self.drives], axis=1)   # (n, R, N_0)
        self._Ys = np.stack([s.Ys for s in self.drives], axis=1)   # (n, R, N_M)
        self._dwell, self._ramp = s0.dwell, s0.ramp

    def _blend(self, V, t):
        t = np.asarray(t, dtype=float)
        n = V.shape[0]
        k = np.floor(t / self._dwell).astype(np.int64)
        cur, nxt = V[k % n], V[(k + 1) % n]                          # (*t, R, N)
        if self._ramp == 0.0:
            return cur, np.zeros_like(cur), np.zeros_like(cur)
        u = ((t - k * self._dwell - (self._dwell - self._ramp)) / self._ramp)[..., None, None]
        s, ds, dds = SampleStream._step(u)
        d = nxt - cur
        return cur + s * d, ds / self._ramp * d, dds / self._ramp**2 * d

    def inputs(self, t):
        return self._blend(self._Xs, t)

    def targets(self, t):
        Y, Yd, _ = self._blend(self._Ys, t)
        return Y, Yd

    def pair(self, t: float):
        return self.inputs(t)[0], self.targets(t)[0]


def _mean_loss(net: Network, theta: np.ndarray, Xs: np.ndarray, Ys: np.ndarray) -> float:
    return float(np.mean(net.loss_value(np.broadcast_to(theta, (len(Xs), net.n_params)), Xs, Ys)))


def decay_study(widths_list: Sequence[Sequence[int]], seeds: Sequence[int], *, activation: str = "tanh",
                gamma: float = 1.0, h: float = 0.005, T: float = 100.0, n_samples: int = 4,
                dwell: float = 2.0, ramp: float = 1.0, save_every: int = 4) -> DecayStudy:
    """Train every ``(widths, seed)`` with the damped dynamics (4) and integrate its decay per layer.

    Each run is the set-up of the energy-landscape chapter (:func:`teacher_stream` with
    ``numpy.random.default_rng(seed)``); the seeds of one architecture are integrated
    together as a batch of replicas with cs2 at step ``h``.  The decay ``γ Σ_i D_{i,m}`` is
    evaluated every ``save_every`` steps and integrated in time with
    :func:`bbdlib.numerics.cumulative_integral`.

    Parameters
    ----------
    widths_list : sequence of sequence of int
        Architectures ``(N_0, ..., N_M)``, each with depth ``M >= 3`` (at least one bulk layer).
    seeds : sequence of int
        Seeds (non-negative, distinct).
    activation : str
        A C² activation of :mod:`bbdlib.activations`.
    gamma, h, T : float
        Damping, step and training time.
    n_samples : int
        Samples in each stream.
    dwell, ramp : float
        See :class:`~bbdlib.bulk_boundary.drives.SampleStream`.
    save_every : int
        Evaluate the decay every this many steps.

    Returns
    -------
    DecayStudy

    Raises
    ------
    ValueError, TypeError
        For an architecture without a bulk layer or with a non-positive width, repeated or
        negative seeds, or invalid numbers.
    """
    if isinstance(widths_list, (str, bytes)) or not hasattr(widths_list, "__len__") or len(widths_list) == 0:
        raise TypeError(f"widths_list must be a non-empty sequence of architectures, got {widths_list!r}")
    archs = []
    for k, w in enumerate(widths_list):
        if isinstance(w, (str, bytes)) or not hasattr(w, "__len__"):
            raise TypeError(f"widths_list[{k}] must be a sequence of layer widths, got {w!r}")
        w = tuple(check_int(f"widths_list[{k}][{n}]", x, minimum=1) for n, x in enumerate(w))
        if len(w) < 4:
            raise ValueError(f"widths_list[{k}] = {w!r} has depth M = {len(w) - 1}; a bulk layer needs M >= 3")
        archs.append(w)
    if isinstance(seeds, (str, bytes)) or not hasattr(seeds, "__len__") or len(seeds) == 0:
        raise TypeError(f"seeds must be a non-empty sequence of integers, got {seeds!r}")
    seeds = [check_int(f"seeds[{k}]", s, minimum=0) for k, s in enumerate(seeds)]
    if len(set(seeds)) != len(seeds):
        raise ValueError(f"seeds must be distinct, got {seeds!r}")
    gamma = check_real("gamma", gamma, low=0.0, low_inclusive=False)
    h = check_real("h", h, low=0.0, low_inclusive=False)
    T = check_real("T", T, low=0.0, low_inclusive=False)
    n_samples = check_int("n_samples", n_samples, minimum=1)
    save_every = check_int("save_every", save_every, minimum=1)
    n_steps = int(round(T / h))
    if n_steps < 2 * save_every:
        raise ValueError(f"T / h = {n_steps} steps is too few for save_every = {save_every}")
    runs = []
    for w in archs:
        net = Network(w, activation, "mse")
        setups = [teacher_stream(net, np.random.default_rng(s), n_samples=n_samples, dwell=dwell, ramp=ramp)
                  for s in seeds]
        theta0 = np.stack([s[0] for s in setups])
        traj = integrate(net, theta0, np.zeros_like(theta0), gamma=gamma, drive=_StreamBatch([s[1] for s in setups]),
                         h=h, n_steps=n_steps, method="cs2", save_every=save_every)
        for r, (seed, (_, _, Xs, Ys)) in enumerate(zip(seeds, setups)):
            tr = traj.replica(r)
            k = E.kinematics(tr)
            budget = E.layer_budget(k, E.site_fields(k, quadrature="trapezoid"))
            decay = cumulative_integral(budget.t, budget.dissipation)[-1]
            friction = cumulative_integral(budget.t, gamma * np.sum(tr.v**2, axis=-1))[-1]
            runs.append(DecayRun(widths=w, seed=seed, layer_decay=np.asarray(decay, dtype=float),
                                 friction=float(friction), loss_start=_mean_loss(net, tr.theta[0], Xs, Ys),
                                 loss_end=_mean_loss(net, tr.theta[-1], Xs, Ys)))
    return DecayStudy(runs=tuple(runs), T=T)
