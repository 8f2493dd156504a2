"""The jump map of the toy model: inputs of one class mapped to potential jumps q̇′ (Secs. 5–7 of [B]).

At fixed (equilibrium) parameters (w, b), an input x¹ of class ± gives y = w x¹ + b and
the jump of the rotated trainable variable, eqs. (5.5)–(5.7),

    q̇′ = cos θ ẇ + sin θ ḃ = −γ (x¹ cos θ + sin θ) dH(f(y) | x²)/dy,

with (ẇ, ḃ) = −γ dH/dy (x¹, 1) the SGD jump of eq. (2.3) for one sample (M = 1).
Section 7 of [B] explains why these potential jumps stand for the actual changes of q′
at learning equilibrium.  The Jacobian contribution of eq. (6.1) is

    |dy/dq̇′| = 1 / |γ (cos θ / w) H′(y) + γ (x¹ cos θ + sin θ) H″(y)|.

:class:`JumpMap` holds the composition, the parameters, the class, γ and θ (validated
once) and evaluates the map, its derivatives and its samples; the exact density of the
jumps is in :mod:`bbdlib.duality.density`.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from bbdlib.duality.pushforward import gaussian_pdf
from bbdlib.duality.pushforward import sample as _pushforward_sample
from bbdlib.duality.toy_model import TWO_CLASSES, Composition, TwoClassData, check_class
from bbdlib.validate import check_array, check_generator, check_int, check_real

__all__ = ["JumpMap", "JumpSample", "StreamedJumps", "STREAM_CHUNK", "ImportanceProposal", "ImportanceSample"]

#: Inputs per chunk of :meth:`JumpMap.stream` (512 KiB per float64 buffer: the three buffers
#: and three masks of a chunk stay in the processor's cache)
STREAM_CHUNK = 2**16


@dataclass(frozen=True)
class JumpMap:
    """The map x¹ ↦ q̇′ of one class at fixed parameters, eq. (5.7) of [B].

    Parameters
    ----------
    composition : Composition
        Activation and loss.
    w, b : float
        The (equilibrium) parameters, held fixed (w ≠ 0).
    cls : {'-', '+'}
        The class (a Unicode minus is accepted).
    gamma : float
        Learning rate γ > 0 of eq. (2.3).
    theta : float
        Rotation angle θ± of eq. (5.2) (see :func:`bbdlib.duality.toy_model.rotation_angle`).
    data : TwoClassData
        The data set (default: the paper's, eqs. (7.2)–(7.3)).
    """

    composition: Composition
    w: float
    b: float
    cls: str
    gamma: float
    theta: float
    data: TwoClassData = TWO_CLASSES

    def __post_init__(self) -> None:
        if not isinstance(self.composition, Composition):
            raise TypeError(f"composition must be a Composition, got {type(self.composition).__name__}")
        if not isinstance(self.data, TwoClassData):
            raise TypeError(f"data must be a TwoClassData, got {type(self.data).__name__}")
        w = check_real("w", self.w)
        if w == 0.0:
            raise ValueError("w must be non-zero (y = w x¹ + b must depend on the input)")
        object.__setattr__(self, "w", w)
        object.__setattr__(self, "b", check_real("b", self.b))
        object.__setattr__(self, "cls", check_class(self.cls))
        object.__setattr__(self, "gamma", check_real("gamma", self.gamma, low=0.0, low_inclusive=False))
        object.__setattr__(self, "theta", check_real("theta", self.theta))

    # -- the class ----------------------------------------------------------
    @property
    def target(self) -> float:
        """The target x² of the class."""
        return self.data.target(self.cls)

    @property
    def y_mean(self) -> float:
        """Mean of y = w x¹ + b over the class."""
        return self.data.y_mean(self.cls, self.w, self.b)

    @property
    def y_std(self) -> float:
        """Standard deviation of y = w x¹ + b over the class."""
        return self.data.y_std(self.cls, self.w)

    def y_density(self, y) -> np.ndarray:
        """The Gaussian density p_y of y over the class."""
        return gaussian_pdf(np.asarray(y, dtype=float), self.y_mean, self.y_std)

    def rotation_factor(self, x) -> np.ndarray:
        """∂y/∂q′ = x¹ cos θ + sin θ of eqs. (5.6)–(5.7), i.e. (Dy − C)/γ of (6.4)."""
        return x * math.cos(self.theta) + math.sin(self.theta)

    # -- the map ------------------------------------------------------------
    def qdot(self, x) -> np.ndarray:
        """The jumps q̇′ of inputs ``x`` (eq. (5.7)); no validation (inner kernel)."""
        return (-self.gamma) * (x * math.cos(self.theta) + math.sin(self.theta)) * \
            self.composition.dH(self.w * x + self.b, self.target)

    def qdot_of_y(self, y) -> np.ndarray:
        """q̇′ as a function of the pre-activation, at x¹ = (y − b)/w."""
        return self.qdot((y - self.b) / self.w)

    def dqdot_dy(self, y) -> np.ndarray:
        """dq̇′/dy along the class (x¹ = (y − b)/w): the inverse of the Jacobian of (6.1)."""
        t = self.target
        x = (y - self.b) / self.w
        c, s = math.cos(self.theta), math.sin(self.theta)
        comp = self.composition
        return -self.gamma * ((c / self.w) * comp.dH(y, t) + (x * c + s) * comp.d2H(y, t))

    def dqdot_dx(self, x) -> np.ndarray:
        """dq̇′/dx¹ = w dq̇′/dy: the Jacobian (5.8) of [B] as corrected (with the H″ term)."""
        return self.w * self.dqdot_dy(self.w * x + self.b)

    def jacobian_eq58(self, x) -> np.ndarray:
        """dq̇′/dx¹ as printed in eq. (5.8) of [B]: −γ cos θ H′(y) (the H″ term dropped)."""
        return -self.gamma * math.cos(self.theta) * self.composition.dH(self.w * x + self.b, self.target)

    def sgd_jumps(self, x) -> np.ndarray:
        """The SGD jumps (ẇ, ḃ) = −γ H′(y) (x¹, 1) of eq. (2.3) (M = 1), shape (2, len(x))."""
        x = np.asarray(x, dtype=float)
        g = -self.gamma * self.composition.dH(self.w * x + self.b, self.target)
        return np.stack([g * x, g])

    def local_jacobian_exponent(self, y, *, h: float = 1e-5) -> np.ndarray:
        """k_J(y) = −d log|dy/dq̇′| / d log|q̇′| along the class (central differences in y).

        Parameters
        ----------
        y : array_like
            Pre-activations on the active piece.
        h : float
            Relative step of the differences (step h·max(1, |y|)).

        Returns
        -------
        ndarray
            The local exponent of the Jacobian contribution of eq. (6.1) at ``y``.
        """
        y = np.asarray(y, dtype=float)
        h = check_real("h", h, low=0.0, low_inclusive=False)

        def lj(v):
            return -np.log(np.abs(self.dqdot_dy(v)))

        def lq(v):
            return np.log(np.abs(self.qdot_of_y(v)))

        step = h * np.maximum(1.0, np.abs(y))
        return -(lj(y + step) - lj(y - step)) / (lq(y + step) - lq(y - step))

    def critical_point(self) -> float:
        """The y* at which |q̇′| → 0 or ∞ by a power law, for ReLU and the piece-wise linear f.

        ReLU/piece-wise linear with |f − t|^n: y* = t (H′ ∝ |y − t|^(n−1); for t = 0 the
        kink y = 0).  Piece-wise linear with cross-entropy: y* = 1 for '−' (H′ = 1/(1 − y)),
        y* = 0 for '+' (H′ = −1/y).  The sigmoid has no finite critical point.

        Returns
        -------
        float

        Raises
        ------
        ValueError
            For the sigmoid.
        """
        if self.composition.activation == "sigmoid":
            raise ValueError("activation 'sigmoid' has no finite critical point; allowed: 'relu', 'piecewise_linear'")
        t = self.target
        if self.composition.loss == "cross_entropy":
            return 1.0 - t
        return t

    # -- samples ------------------------------------------------------------
    def sample(self, n: int, *, rng: np.random.Generator | int, x=None, jacobian: bool = True) -> JumpSample:
        """Draw ``n`` inputs of the class (eqs. (7.2)–(7.3)) and map them to jumps q̇′.

        Parameters
        ----------
        n : int
            Number of samples (> 0).
        rng : numpy.random.Generator or int
        x : array_like, optional
            Use these inputs instead of drawing them (then ``n`` must equal their number).
        jacobian : bool
            Evaluate |dy/dq̇′| at every sample (``JumpSample.jacobian``); False leaves it None
            (the analysis plan never reads it: it takes the Jacobian from the map).

        Returns
        -------
        JumpSample
        """
        n = check_int("n", n, minimum=1)
        if not isinstance(jacobian, bool):
            raise TypeError(f"jacobian must be a bool, got {type(jacobian).__name__}")
        rng = check_generator("rng", rng)
        if x is None:
            s = _pushforward_sample(self.qdot, mean=self.data.mean(self.cls),
                                    std=self.data.std(self.cls), n_samples=n, rng=rng)
            x, q = s.x, s.q
        else:
            x = check_array("x", x, ndim=1)
            if x.size != n:
                raise ValueError(f"x has {x.size} values but n = {n}")
            q = self.qdot(x)
        y = self.w * x + self.b
        active = self.composition.active(y) & (q != 0.0)
        jac = None
        if jacobian:
            with np.errstate(divide="ignore", invalid="ignore"):
                jac = np.where(active, 1.0 / np.abs(self.dqdot_dy(y)), np.nan)
        return JumpSample(jump_map=self, x=x, y=y, qdot=q, jacobian=jac, active=active)


    def stream(self, n: int, *, rng: np.random.Generator | int, keep: tuple[float, float],
               edge_count: int = 100, chunk: int = STREAM_CHUNK) -> StreamedJumps:
        """Draw ``n`` inputs in chunks and keep only the |q̇′| inside ``keep`` (constant memory).

        Memory is O(``chunk`` + kept samples + ``edge_count``) whatever ``n``: each chunk of
        inputs is drawn, mapped to |q̇′| and discarded except for the samples inside
        ``keep`` and the ``edge_count`` smallest and largest non-zero values seen so far
        (the data edges of :mod:`bbdlib.duality.analysis_plan`).

        Parameters
        ----------
        n : int
            Number of inputs of the class (up to 10¹¹).
        rng : numpy.random.Generator or int
        keep : (float, float)
            The band 0 < low < high of |q̇′| whose samples are kept.
        edge_count : int
            How many of the smallest and largest non-zero |q̇′| to track.
        chunk : int
            Inputs per chunk.

        Returns
        -------
        StreamedJumps
        """
        n = check_int("n", n, minimum=1, maximum=10**11,
                      why="10^11 inputs take about an hour at 3·10^7 per second")
        rng = check_generator("rng", rng)
        lo = check_real("keep[0]", keep[0], low=0.0, low_inclusive=False)
        hi = check_real("keep[1]", keep[1], low=0.0, low_inclusive=False)
        if not hi > lo:
            raise ValueError(f"keep must satisfy keep[0] < keep[1], got {keep}")
        edge_count = check_int("edge_count", edge_count, minimum=1)
        chunk = check_int("chunk", chunk, minimum=1024, maximum=2**26)
        mean, std = self.data.mean(self.cls), self.data.std(self.cls)
        kept, small, large = [], np.empty(0), np.empty(0)
        n_active = 0
        done = 0
        # preallocated buffers reused by every chunk (no page faults of fresh arrays); every
        # value is the same float operation, in the same order, as qdot() on rng.normal(...)
        buf = np.empty((3, chunk))
        mask = np.empty((3, chunk), dtype=bool)
        fast = self.composition.activation == "piecewise_linear" and self.composition.loss == "cross_entropy"
        c, s_, g, t = math.cos(self.theta), math.sin(self.theta), -self.gamma, self.target
        while done < n:
            m = min(chunk, n - done)
            x, y, u = buf[0, :m], buf[1, :m], buf[2, :m]
            nz, band, tmp = mask[0, :m], mask[1, :m], mask[2, :m]
            rng.standard_normal(out=x)               # rng.normal(mean, std, m), bitwise
            x *= std
            x += mean
            if fast:
                # |q̇′| = |(−γ)(x cos θ + sin θ) (y − t)/(y(1 − y))| on 0 < y < 1 (Composition.dH's
                # fast path without its np.where: the inactive entries are masked out by nz)
                np.multiply(x, self.w, out=y)
                y += self.b
                np.greater(y, 0.0, out=nz)
                np.less(y, 1.0, out=tmp)
                nz &= tmp
                np.subtract(1.0, y, out=u)
                u *= y
                y -= t
                with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
                    np.divide(y, u, out=y)
                    x *= c
                    x += s_
                    x *= g
                    x *= y
                q = np.abs(x, out=x)
                np.greater(q, 0.0, out=tmp)
                nz &= tmp
            else:
                q = np.abs(self.qdot(x))
                np.greater(q, 0.0, out=nz)
            n_active += int(np.count_nonzero(nz))
            np.greater_equal(q, lo, out=band)
            np.less_equal(q, hi, out=tmp)
            band &= tmp
            band &= nz
            kept.append(q[band])
            # edge candidates only: below the current edge_count-th smallest / above the largest
            if small.size == edge_count:
                np.less(q, small[-1], out=tmp)
                tmp &= nz
                cand_s = q[tmp]
            else:
                cand_s = q[nz]
            if large.size == edge_count:
                np.greater(q, large[0], out=tmp)
                tmp &= nz
                cand_l = q[tmp]
            else:
                cand_l = q[nz]
            if cand_s.size:
                small = np.sort(np.concatenate([small, cand_s]))[:edge_count]
            if cand_l.size:
                large = np.sort(np.concatenate([large, cand_l]))[-edge_count:]
            done += m
        return StreamedJumps(jump_map=self, n=n, n_active=n_active, keep=(lo, hi),
                             kept=np.concatenate(kept), smallest=small, largest=large)


@dataclass(frozen=True)
class StreamedJumps:
    """|q̇′| of a streamed sample (see :meth:`JumpMap.stream`).

    Attributes
    ----------
    jump_map : JumpMap
    n : int
        Inputs drawn.
    n_active : int
        Inputs with a non-zero jump.
    keep : (float, float)
        The band of |q̇′| whose samples were kept.
    kept : ndarray
        The kept |q̇′|.
    smallest, largest : ndarray
        The ``edge_count`` smallest and largest non-zero |q̇′| (sorted).
    """

    jump_map: JumpMap
    n: int
    n_active: int
    keep: tuple
    kept: np.ndarray
    smallest: np.ndarray
    largest: np.ndarray

    def data_edges(self) -> tuple[float, float]:
        """The ``edge_count``-th smallest and largest non-zero |q̇′| (the plan's data edges)."""
        return float(self.smallest[-1]), float(self.largest[0])


@dataclass(frozen=True)
class JumpSample:
    """Jumps of one class at fixed parameters (see :meth:`JumpMap.sample`).

    Attributes
    ----------
    jump_map : JumpMap
        The map that produced them.
    x, y : ndarray
        Inputs x¹ and pre-activations y = w x¹ + b.
    qdot : ndarray
        The signed jumps q̇′.
    jacobian : ndarray or None
        |dy/dq̇′| (NaN where the jump is zero); None if not evaluated
        (``JumpMap.sample(..., jacobian=False)``).
    active : ndarray of bool
        f′(y) ≠ 0, so that the jump is non-zero.
    """

    jump_map: JumpMap
    x: np.ndarray
    y: np.ndarray
    qdot: np.ndarray
    jacobian: np.ndarray | None
    active: np.ndarray

    @property
    def abs_qdot(self) -> np.ndarray:
        """|q̇′| of the samples with a non-zero jump."""
        return np.abs(self.qdot[self.active])

    @property
    def active_fraction(self) -> float:
        """Fraction of the samples with a non-zero jump."""
        return float(self.active.mean())


@dataclass(frozen=True)
class ImportanceSample:
    """Jumps drawn from an :class:`ImportanceProposal`, with their exact weights.

    Attributes
    ----------
    proposal : ImportanceProposal
    y : ndarray
        The drawn pre-activations.
    abs_qdot : ndarray
        |q̇′| of every draw (0 where the jump is zero).
    weights : ndarray
        p_y(y)/g(y): the class density over the proposal's, exact (at most 1/(1 − mix)).
    """

    proposal: ImportanceProposal
    y: np.ndarray
    abs_qdot: np.ndarray
    weights: np.ndarray

    @property
    def active(self) -> np.ndarray:
        """Draws with a non-zero jump."""
        return self.abs_qdot > 0


@dataclass(frozen=True)
class ImportanceProposal:
    """An exact importance-sampling proposal for the jumps near the singular point y* (Sec. 6 of [B]).

    The power law of Fig. 5 lives where |q̇′| → ∞, at y → y* (:meth:`JumpMap.critical_point`),
    which plain draws of the class reach rarely.  The proposal mixes the class's Gaussian
    density p_y of y = w x¹ + b with a uniform density on a ``band`` of y around y*,

        g(y) = (1 − mix) p_y(y) + mix · 1[y ∈ band] / |band|,

    and every draw carries the exact weight p_y(y)/g(y) ≤ 1/(1 − mix), so that weighted
    averages are unbiased estimates under p_y and the weighted MLE of
    :func:`bbdlib.powerlaw.fit_truncated_powerlaw` estimates the exponent of the class's own
    density.  A band that does not contain y* puts no extra mass at the singular point
    and is refused.

    Parameters
    ----------
    jump_map : JumpMap
        The map (ReLU or piece-wise linear f: a finite singular point).
    band : (float, float)
        The interval of y with the extra mass; y* must lie strictly inside.
    mix : float
        The proposal's share of the band component, in (0, 1).
    """

    jump_map: JumpMap
    band: tuple
    mix: float = 0.5

    def __post_init__(self) -> None:
        if not isinstance(self.jump_map, JumpMap):
            raise TypeError(f"jump_map must be a JumpMap, got {type(self.jump_map).__name__}")
        if not isinstance(self.band, (tuple, list)) or len(self.band) != 2:
            raise TypeError(f"band must be a pair (y_low, y_high), got {self.band!r}")
        lo = check_real("band[0]", self.band[0])
        hi = check_real("band[1]", self.band[1])
        if not hi > lo:
            raise ValueError(f"band must satisfy band[0] < band[1], got {self.band!r}")
        ys = self.jump_map.critical_point()
        if not lo < ys < hi:
            raise ValueError(f"band = ({lo:g}, {hi:g}) has zero mass at the singular point y* = {ys:g} of "
                             f"{self.jump_map.composition.label}, class '{self.jump_map.cls}': it must contain "
                             "y* strictly inside")
        object.__setattr__(self, "band", (lo, hi))
        object.__setattr__(self, "mix", check_real("mix", self.mix, low=0.0, high=1.0,
                                                   low_inclusive=False, high_inclusive=False))

    def density(self, y) -> np.ndarray:
        """The proposal density g(y).

        Parameters
        ----------
        y : array_like

        Returns
        -------
        ndarray
        """
        y = check_array("y", y)
        lo, hi = self.band
        return (1.0 - self.mix) * self.jump_map.y_density(y) + self.mix * ((y >= lo) & (y <= hi)) / (hi - lo)

    def weights(self, y) -> np.ndarray:
        """The exact importance weights p_y(y)/g(y).

        Parameters
        ----------
        y : array_like

        Returns
        -------
        ndarray
        """
        y = check_array("y", y)
        return self.jump_map.y_density(y) / self.density(y)

    def sample(self, n: int, *, rng: np.random.Generator | int) -> ImportanceSample:
        """Draw ``n`` pre-activations from g and map them to weighted jumps |q̇′|.

        Parameters
        ----------
        n : int
            Number of draws (> 0).
        rng : numpy.random.Generator or int

        Returns
        -------
        ImportanceSample
        """
        n = check_int("n", n, minimum=1, maximum=10**8, why="10^8 draws take 4 GB in this sample's arrays")
        rng = check_generator("rng", rng)
        jm = self.jump_map
        lo, hi = self.band
        from_band = rng.random(n) < self.mix
        y = rng.normal(jm.y_mean, jm.y_std, size=n)
        k = int(np.count_nonzero(from_band))
        y[from_band] = rng.uniform(lo, hi, size=k)
        q = np.abs(jm.qdot_of_y(y))
        return ImportanceSample(proposal=self, y=y, abs_qdot=q, weights=self.weights(y))
