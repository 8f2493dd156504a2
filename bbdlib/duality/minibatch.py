"""Mini-batch jumps of the toy model: the mean of M per-sample jumps (beyond Sec. 7 of [B]).

The analysis of [B] (Secs. 4–7) is for one sample per step (M = 1); SGD, eq. (2.3), averages
the gradient over a mini-batch of M samples.  The change of the rotated variable q′± caused by
the inputs of class ± of one mini-batch is

    Δq′± = (1/M) Σ_{i ∈ batch, class ±} q̇′±(x_i),

the mean of M *slots*, each of which holds a class-± input with probability p± (1/2, eq.
(5.1)) and is zero otherwise (an input of the other class, or an input with f′(y) = 0).  For
M = 1 this is the per-sample jump of eq. (5.7) whose density is (6.1).

Prediction.  The slots are independent at fixed (w, b), so the law of Δq′± is the M-fold
convolution of the slot law, rescaled by 1/M.  The jumps of Figs. 1–5 span from a few to tens
of decades, which no uniform grid (and so no FFT) can hold; :class:`AtomLaw` keeps the law on
a *logarithmic* grid of atoms at ±g_k and 0, with exact bin probabilities from the map
(:func:`bbdlib.duality.pushforward.bin_probabilities`), and :func:`mean_law` convolves by
binary doubling, depositing each pair sum on its two neighbouring atoms in log|s| (linear
"cloud-in-cell" weights, which keep the mass and the mean of log|s| within each cell).  The
tests compare it with closed forms (mean of Gaussians, of Cauchy variables, of exponentials).

Measurement.  :func:`minibatch_sgd_jumps` runs SGD from the equilibrium for several M at once,
vectorised over replicas and M (the only Python loop is over time), and records Δq′± of every
step.  :func:`law_window` is the analysis plan's window transported to a law without a map:
the longest interval inside the data edges on which the predicted density divided by the
paper's law, p(s) s^k, is constant to a factor (1 + ε)/(1 − ε) (condition 3 of
:mod:`bbdlib.duality.analysis_plan` applied to the whole density).
"""
from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from bbdlib.duality import analysis_plan as plan
from bbdlib.duality.pushforward import bin_probabilities
from bbdlib.duality.toy_model import TWO_CLASSES, Composition, TwoClassData, check_class
from bbdlib.validate import check_array, check_generator, check_int, check_real

__all__ = ["check_batch_sizes", "AtomLaw", "jump_grid", "atom_law_from_map", "atom_law_from_cdf",
           "mean_law", "mean_laws", "thinned", "MinibatchJumps", "minibatch_sgd_jumps", "clipped_qdot",
           "LawWindow", "law_window", "ks_to_law", "population_exponent", "Prediction",
           "predict_exponent", "MAX_BATCH", "MAX_WORK", "BATCH_SIZES", "KS_TOL", "BatchResult",
           "minibatch_study", "exponent_claim", "plot_exponents_vs_m", "plot_densities"]

#: The largest mini-batch size accepted (the study uses M ≤ 64)
MAX_BATCH = 4096
#: The most replicas × Σ M samples one step of :func:`minibatch_sgd_jumps` may draw (chunks of
#: 64 steps of draws then take about 1 GB)
MAX_WORK = 2**21
#: Atoms whose probability is below this are dropped before a convolution step (their total
#: is at most the number of atoms times this: below 1e-10, far below the 1/(2·10^5) of one
#: sample in the chapters' comparisons)
_P_FLOOR = 1e-14


def check_batch_sizes(batch_sizes) -> tuple[int, ...]:
    """Validate mini-batch sizes M: integers 1 ≤ M ≤ ``MAX_BATCH``, no repeats.

    Parameters
    ----------
    batch_sizes : int or sequence of int

    Returns
    -------
    tuple of int

    Raises
    ------
    TypeError, ValueError
        Naming ``M`` (``batch_sizes``) when an entry is not an integer or is < 1.
    """
    if isinstance(batch_sizes, (int, np.integer)) and not isinstance(batch_sizes, bool):
        batch_sizes = (batch_sizes,)
    if not isinstance(batch_sizes, Sequence) or isinstance(batch_sizes, str) or len(batch_sizes) == 0:
        raise TypeError(f"batch_sizes (M) must be an integer or a non-empty sequence of integers, got {batch_sizes!r}")
    out = tuple(check_int("M (batch size)", m, minimum=1, maximum=MAX_BATCH,
                          why="a mini-batch holds at least one sample") for m in batch_sizes)
    if len(set(out)) != len(out):
        raise ValueError(f"batch_sizes (M) must not repeat a value, got {out}")
    return out


@dataclass(frozen=True)
class AtomLaw:
    """A law of a signed jump on a logarithmic grid: atoms at −g_k, 0 and +g_k.

    Attributes
    ----------
    grid : ndarray
        The magnitudes g_0 < g_1 < … (geometric, ratio r = g_1/g_0).
    p_neg, p_pos : ndarray
        Probabilities of the atoms −g_k and +g_k.
    p_zero : float
        Probability of an exact zero (no jump).
    """

    grid: np.ndarray
    p_neg: np.ndarray
    p_pos: np.ndarray
    p_zero: float

    @property
    def log_step(self) -> float:
        """ln r, the spacing of the grid in ln|s|."""
        return float(math.log(self.grid[1] / self.grid[0]))

    @property
    def p_abs(self) -> np.ndarray:
        """Probabilities of |s| = g_k."""
        return self.p_neg + self.p_pos

    @property
    def nonzero_mass(self) -> float:
        """P(s ≠ 0)."""
        return float(self.p_abs.sum())

    def abs_density(self) -> np.ndarray:
        """Density of |s| at the atoms, per unit |s|, conditional on s ≠ 0 (atom k spread over
        the cell [g_k r^-1/2, g_k r^1/2])."""
        r = math.exp(self.log_step)
        width = self.grid * (math.sqrt(r) - 1.0 / math.sqrt(r))
        return self.p_abs / self.nonzero_mass / width

    def abs_cdf(self, x) -> np.ndarray:
        """P(|s| ≤ x | s ≠ 0), linear in ln|s| between the cell edges g_k r^±1/2.

        Parameters
        ----------
        x : array_like
            Positive values.

        Returns
        -------
        ndarray
        """
        x = np.asarray(x, dtype=float)
        c = np.concatenate([[0.0], np.cumsum(self.p_abs) / self.nonzero_mass])
        with np.errstate(divide="ignore"):
            lx = np.log(x)
        lg = np.log(self.grid)
        edges = np.concatenate([lg - 0.5 * self.log_step, [lg[-1] + 0.5 * self.log_step]])
        return np.interp(lx, edges, c, left=0.0, right=1.0)


    def abs_quantile(self, p) -> np.ndarray:
        """The quantiles of |s| given s ≠ 0 (inverse of :meth:`abs_cdf`).

        Parameters
        ----------
        p : array_like
            Probabilities in [0, 1].

        Returns
        -------
        ndarray
        """
        p = np.asarray(p, dtype=float)
        if np.any((p < 0) | (p > 1)):
            raise ValueError("p must lie in [0, 1]")
        c = np.concatenate([[0.0], np.cumsum(self.p_abs) / self.nonzero_mass])
        lg = np.log(self.grid)
        edges = np.concatenate([lg - 0.5 * self.log_step, [lg[-1] + 0.5 * self.log_step]])
        keep = np.concatenate([[True], np.diff(c) > 0])   # strictly increasing for the inverse
        return np.exp(np.interp(p, c[keep], edges[keep]))


def _check_grid(grid) -> np.ndarray:
    g = check_array("grid", grid, ndim=1)
    if g.size < 3 or np.any(g <= 0):
        raise ValueError("grid must hold at least 3 positive magnitudes")
    lr = np.diff(np.log(g))
    if np.any(lr <= 0) or np.ptp(lr) > 1e-9 * lr.mean() + 1e-12:
        raise ValueError("grid must be geometric and increasing (np.geomspace)")
    return g


def _edges(g: np.ndarray) -> np.ndarray:
    """Signed edges: the geometric mid-points of the grid, outer cells open to ±1e300, and a
    cell (−1e-300, 1e-300) for the exact zeros; below g_0 falls into the first cell."""
    mid = np.sqrt(g[1:] * g[:-1])
    pos = np.concatenate([[1e-300], mid, [1e300]])
    return np.concatenate([-pos[::-1], pos])


def jump_grid(q_of_x: Callable, *, mean: float, std: float, per_decade: int = 25,
              span_sd: float = 9.0, widen: float = 10.0, widen_low: float | None = None,
              n_grid: int = 200_001) -> np.ndarray:
    """A geometric grid of magnitudes covering the non-zero |q(x)| for x within mean ± ``span_sd``
    std, widened by the factor ``widen`` above and ``widen_low`` (default ``widen``) below.

    Parameters
    ----------
    q_of_x : callable
        The vectorised map x ↦ q̇′.
    mean, std : float
        Of the input.
    per_decade : int
        Atoms per decade (≥ 5).
    span_sd, widen, widen_low : float
        Reach of the grid in x (std) and widening in |q| (≥ 1) above and below (a mean of M
        slots with one non-zero term is that term over M: ``widen_low`` ≥ 10 M).
    n_grid : int
        Points of x at which the map is evaluated.

    Returns
    -------
    ndarray
    """
    per_decade = check_int("per_decade", per_decade, minimum=5, maximum=1000)
    mean = check_real("mean", mean)
    std = check_real("std", std, low=0.0, low_inclusive=False)
    span_sd = check_real("span_sd", span_sd, low=0.0, low_inclusive=False)
    widen = check_real("widen", widen, low=1.0)
    widen_low = widen if widen_low is None else check_real("widen_low", widen_low, low=1.0)
    x = np.linspace(mean - span_sd * std, mean + span_sd * std, check_int("n_grid", n_grid, minimum=100))
    q = np.abs(np.asarray(q_of_x(x), dtype=float))
    q = q[np.isfinite(q) & (q > 0)]
    if q.size == 0:
        raise ValueError("q_of_x is zero (or not finite) everywhere on the input range: no jumps")
    lo, hi = q.min() / widen_low, q.max() * widen
    n = max(3, int(math.ceil(per_decade * math.log10(hi / lo))) + 1)
    return np.geomspace(lo, hi, n)


def atom_law_from_map(q_of_x: Callable, grid, *, mean: float, std: float, x_span: float = 9.0,
                      n_grid: int = 400_001) -> AtomLaw:
    """The per-sample law of q̇′ = q(x), x ~ N(mean, std²), on the atoms of ``grid``: the bin
    probabilities of (6.1)/(3.13) by :func:`bbdlib.duality.pushforward.bin_probabilities`.

    Jumps below g_0 in magnitude go to the first atom, above the last to the last; exact
    zeros (inactive inputs) and the mass beyond ±``x_span`` std to the zero atom.

    Parameters
    ----------
    q_of_x : callable
        The vectorised map x ↦ q̇′ (e.g. :meth:`bbdlib.duality.jumps.JumpMap.qdot`).
    grid : array_like
        Geometric magnitudes (``np.geomspace``).
    mean, std : float
        Of the Gaussian input.
    x_span, n_grid : float, int
        Quadrature of :func:`~bbdlib.duality.pushforward.bin_probabilities`.

    Returns
    -------
    AtomLaw
    """
    g = _check_grid(grid)
    p = bin_probabilities(q_of_x, _edges(g), mean=mean, std=std, x_span=x_span, n_grid=n_grid)
    n = g.size
    p_neg, p_pos = p[:n][::-1].copy(), p[n + 1:].copy()
    p_zero = max(0.0, 1.0 - float(p_neg.sum() + p_pos.sum()))
    return AtomLaw(grid=g, p_neg=p_neg, p_pos=p_pos, p_zero=p_zero)


def atom_law_from_cdf(cdf: Callable, grid) -> AtomLaw:
    """The law of a continuous variable with distribution function ``cdf`` on the atoms of
    ``grid`` (the cells of :func:`atom_law_from_map`); for tests against closed forms.

    Parameters
    ----------
    cdf : callable
        Vectorised distribution function F(s).
    grid : array_like
        Geometric magnitudes.

    Returns
    -------
    AtomLaw
    """
    g = _check_grid(grid)
    e = _edges(g)
    F = np.asarray(cdf(e), dtype=float)
    F[0], F[-1] = 0.0, 1.0
    p = np.diff(F)
    n = g.size
    p_neg, p_pos = p[:n][::-1].copy(), p[n + 1:].copy()
    return AtomLaw(grid=g, p_neg=p_neg, p_pos=p_pos, p_zero=float(p[n]))


def _deposit(law: AtomLaw, s: np.ndarray, w: np.ndarray) -> AtomLaw:
    """Cloud-in-cell deposit of the weighted values ``s`` on the atoms of ``law``'s grid.

    The exact zeros go to the zero atom; they stay in the arrays with weight 0 (at the first
    atom), which adds an exact 0.0 to that atom's sum instead of masking the arrays.  Each atom
    accumulates its weights in the order of the samples (one bincount for both signs: bins
    [0, n) for s > 0, [n, 2n) for s < 0), the sums of a bincount per sign of the masked values.
    """
    g = law.grid
    n = g.size
    zero = s == 0
    p_zero = float(w[zero].sum())
    wz = np.where(zero, 0.0, w)
    with np.errstate(divide="ignore"):
        f = (np.log(np.abs(s)) - math.log(g[0])) / law.log_step
    f = np.clip(f, 0.0, n - 1.0)
    lo = np.minimum(np.floor(f).astype(np.intp), n - 2)
    frac = f - lo
    idx = np.where(s < 0, lo + n, lo)
    out = (np.bincount(idx, weights=wz * (1.0 - frac), minlength=2 * n)
           + np.bincount(idx + 1, weights=wz * frac, minlength=2 * n))
    return AtomLaw(grid=g, p_neg=out[n:], p_pos=out[:n], p_zero=p_zero)


def _combine(a: AtomLaw, na: int, b: AtomLaw, nb: int) -> AtomLaw:
    """Law of (na A + nb B)/(na + nb) for independent A, B on the same grid."""
    def atoms(law):
        v = np.concatenate([-law.grid[::-1], [0.0], law.grid])
        p = np.concatenate([law.p_neg[::-1], [law.p_zero], law.p_pos])
        keep = p > _P_FLOOR
        return v[keep], p[keep]

    va, pa = atoms(a)
    vb, pb = atoms(b)
    s = ((na * va[:, None] + nb * vb[None, :]) / (na + nb)).ravel()
    w = (pa[:, None] * pb[None, :]).ravel()
    # two atoms of one cell and opposite signs cancel exactly on the grid, while the values they
    # stand for (spread over the cell) do not: such a pair is given the typical magnitude
    # |a| ln r / 3 of the difference of two points of the cell, half of it each sign
    cancel = np.flatnonzero(s == 0)
    va_c = va[cancel // vb.size]                   # the A atom of each pair (row of the outer sum)
    keep = va_c != 0
    cancel, va_c = cancel[keep], va_c[keep]
    if cancel.size:
        mag = np.abs(na * va_c) / (na + nb) * (a.log_step / 3.0)
        half = 0.5 * w[cancel]
        s = np.concatenate([s, -mag])
        s[cancel] = mag
        w = np.concatenate([w, half])
        w[cancel] = half
    return _deposit(a, s, w)


def mean_law(law: AtomLaw, M: int) -> AtomLaw:
    """The law of the mean of ``M`` independent copies of ``law`` (binary doubling).

    Parameters
    ----------
    law : AtomLaw
    M : int
        Mini-batch size (≥ 1).

    Returns
    -------
    AtomLaw
    """
    if not isinstance(law, AtomLaw):
        raise TypeError(f"law must be an AtomLaw, got {type(law).__name__}")
    M = check_int("M (batch size)", M, minimum=1, maximum=MAX_BATCH, why="a mini-batch holds at least one sample")
    result, nres = None, 0
    power, npow = law, 1
    m = M
    while m:
        if m & 1:
            if result is None:
                result, nres = power, npow
            else:
                result, nres = _combine(result, nres, power, npow), nres + npow
        m >>= 1
        if m:
            power, npow = _combine(power, npow, power, npow), 2 * npow
    return result


def mean_laws(law: AtomLaw, batch_sizes) -> dict:
    """:func:`mean_law` for several M, sharing the doubling chain 1, 2, 4, …

    Parameters
    ----------
    law : AtomLaw
    batch_sizes : sequence of int

    Returns
    -------
    dict
        ``{M: AtomLaw}``.
    """
    if not isinstance(law, AtomLaw):
        raise TypeError(f"law must be an AtomLaw, got {type(law).__name__}")
    Ms = check_batch_sizes(batch_sizes)
    powers = {1: law}
    top = 1
    while 2 * top <= max(Ms):
        powers[2 * top] = _combine(powers[top], top, powers[top], top)
        top *= 2
    out = {}
    for M in Ms:
        result, nres, m, p = None, 0, M, 1
        while m:
            if m & 1:
                result, nres = (powers[p], p) if result is None else (_combine(result, nres, powers[p], p), nres + p)
            m >>= 1
            p *= 2
        out[M] = result
    return out


def thinned(law: AtomLaw, p: float) -> AtomLaw:
    """The slot law: ``law`` with probability ``p``, an exact zero otherwise."""
    p = check_real("p", p, low=0.0, high=1.0)
    return AtomLaw(grid=law.grid, p_neg=p * law.p_neg, p_pos=p * law.p_pos,
                   p_zero=p * law.p_zero + (1.0 - p))




def clipped_qdot(jump_map, clip_norm: float | None) -> Callable:
    """The per-sample jump of q′ that SGD with per-sample gradient-norm clipping makes
    (:func:`bbdlib.duality.training.train_sgd`): q̇′(x) min(1, c / (|H′(y)| √(x² + 1))).

    Parameters
    ----------
    jump_map : JumpMap
    clip_norm : float or None
        None: no clipping (q̇′ of eq. (5.7)).

    Returns
    -------
    callable
    """
    if clip_norm is None:
        return jump_map.qdot
    c = check_real("clip_norm", clip_norm, low=0.0, low_inclusive=False)

    def q(x):
        x = np.asarray(x, dtype=float)
        h = np.abs(jump_map.composition.dH(jump_map.w * x + jump_map.b, jump_map.target))
        norm = h * np.sqrt(x * x + 1.0)
        scale = np.where(norm > c, c / np.where(norm > c, norm, 1.0), 1.0)
        return jump_map.qdot(x) * scale

    return q


@dataclass(frozen=True)
class MinibatchJumps:
    """Result of :func:`minibatch_sgd_jumps`.

    Attributes
    ----------
    batch_sizes : tuple of int
    changes : dict
        ``changes[M][cls]``: Δq′± of every recorded step and replica (zeros included: steps
        whose batch held no active input of the class).
    w_avg, b_avg : dict
        ``[M]``: time and replica average of (w, b) over the recorded steps.
    thetas : dict
        θ± used for each class.
    """

    batch_sizes: tuple
    changes: dict
    w_avg: dict
    b_avg: dict
    thetas: dict

    def abs_nonzero(self, M: int, cls: str) -> np.ndarray:
        """|Δq′| ≠ 0 of class ``cls`` at batch size ``M``."""
        a = np.abs(self.changes[M][check_class(cls)])
        return a[a > 0]


def minibatch_sgd_jumps(comp: Composition, w0: float, b0: float, *, gamma: float, batch_sizes,
                        steps: int, replicas: int, burn_in: int, thetas: dict,
                        rng: np.random.Generator | int, data: TwoClassData = TWO_CLASSES,
                        clip_norm: float | None = None) -> MinibatchJumps:
    """The actual SGD changes of q′± at learning equilibrium for several mini-batch sizes at once.

    Every M gets ``replicas`` independent replicas started at (w0, b0); each step of eq. (2.3)
    draws a fresh batch for every replica and every M (one array of shape
    (replicas, Σ M)), and after ``burn_in`` steps records for each class the change of
    q′± = w cos θ± + b sin θ± caused by that class's inputs of the batch, (1/M) Σ q̇′±.

    Parameters
    ----------
    comp : Composition
    w0, b0 : float
        Starting parameters (the equilibrium of a training).
    gamma : float
        Learning rate γ > 0.
    batch_sizes : sequence of int
        The mini-batch sizes M (≥ 1).
    steps, replicas, burn_in : int
        Recorded steps, replicas per M, unrecorded steps first.
    thetas : dict
        ``{'-': θ₋, '+': θ₊}``.
    rng : numpy.random.Generator or int
    data : TwoClassData
    clip_norm : float, optional
        Per-sample gradient-norm clipping, as :func:`bbdlib.duality.training.train_sgd`.

    Returns
    -------
    MinibatchJumps
    """
    if not isinstance(comp, Composition):
        raise TypeError(f"comp must be a Composition, got {type(comp).__name__}")
    if not isinstance(data, TwoClassData):
        raise TypeError(f"data must be a TwoClassData, got {type(data).__name__}")
    Ms = check_batch_sizes(batch_sizes)
    gamma = check_real("gamma", gamma, low=0.0, low_inclusive=False)
    steps = check_int("steps", steps, minimum=1)
    replicas = check_int("replicas", replicas, minimum=1)
    burn_in = check_int("burn_in", burn_in, minimum=0)
    if replicas * sum(Ms) > MAX_WORK:
        raise ValueError(f"replicas x sum(batch_sizes) = {replicas * sum(Ms)} exceeds {MAX_WORK} "
                         "samples per step (memory of this machine)")
    rng = check_generator("rng", rng)
    th = {check_class(c): check_real(f"thetas[{c!r}]", v) for c, v in thetas.items()}
    if set(th) != {"-", "+"}:
        raise ValueError("thetas must give an angle for both classes '-' and '+'")
    if clip_norm is not None:
        clip_norm = check_real("clip_norm", clip_norm, low=0.0, low_inclusive=False)
    nM = len(Ms)
    width = sum(Ms)
    group = np.repeat(np.arange(nM), Ms)            # column -> index of its M
    starts = np.concatenate([[0], np.cumsum(Ms)[:-1]])
    inv_m = 1.0 / np.array(Ms, dtype=float)
    # the parameters are held as (replicas, M) so that the gather to the batch columns and
    # every reduction below runs along contiguous rows; sums over replicas are taken on a
    # contiguous (M, replicas) copy, exactly as on the (M, replicas) layout
    w = np.full((replicas, nM), check_real("w0", w0))
    b = np.full((replicas, nM), check_real("b0", b0))
    cm, sm = math.cos(th["-"]), math.sin(th["-"])
    cp, sp = math.cos(th["+"]), math.sin(th["+"])
    rec = {c: np.empty((nM, steps, replicas)) for c in "-+"}
    sw = np.zeros(nM)
    sb = np.zeros(nM)
    total = burn_in + steps
    chunk = max(1, min(64, MAX_WORK * 4 // (replicas * width)))
    t_minus, t_plus = float(data.target_minus), float(data.target_plus)
    neg_gamma = -gamma
    red = np.empty((4, replicas, nM))               # per-M sums of dw, db, Δq′−, Δq′+
    for c0 in range(0, total, chunk):
        m = min(chunk, total - c0)
        tt = rng.random((m, replicas, width)) < data.p_plus
        xx = data.inputs(tt, rng.standard_normal((m, replicas, width)))
        for j in range(m):
            i = c0 + j
            x, t = xx[j], tt[j]
            y = w[:, group] * x + b[:, group]         # (replicas, width)
            # bitwise np.where(t, dH(y, t+), dH(y, t−)) in one pass
            g = comp._dH_classes(y, t, t_minus, t_plus)
            if clip_norm is not None:
                norm = np.abs(g) * np.sqrt(x * x + 1.0)
                over = norm > clip_norm
                g = np.where(over, g * (clip_norm / np.where(over, norm, 1.0)), g)
            db_s = neg_gamma * g                      # per-sample jumps: −γ g x = (−γ g) x
            dw_s = db_s * x
            np.add.reduceat(dw_s, starts, axis=1, out=red[0])
            np.add.reduceat(db_s, starts, axis=1, out=red[1])
            dw = red[0] * inv_m
            db = red[1] * inv_m
            if i >= burn_in:
                qm = np.where(t, 0.0, cm * dw_s + sm * db_s)
                qp = np.where(t, cp * dw_s + sp * db_s, 0.0)
                np.add.reduceat(qm, starts, axis=1, out=red[2])
                np.add.reduceat(qp, starts, axis=1, out=red[3])
                rec["-"][:, i - burn_in] = (red[2] * inv_m).T
                rec["+"][:, i - burn_in] = (red[3] * inv_m).T
                sw += np.ascontiguousarray(w.T).sum(axis=1)
                sb += np.ascontiguousarray(b.T).sum(axis=1)
            w = w + dw
            b = b + db
        if not (np.all(np.isfinite(w)) and np.all(np.isfinite(b))):
            raise FloatingPointError(f"SGD diverged by step {c0 + m} (non-finite parameters); lower gamma")
    n = steps * replicas
    changes = {M: {c: rec[c][k].ravel() for c in "-+"} for k, M in enumerate(Ms)}
    return MinibatchJumps(batch_sizes=Ms, changes=changes,
                          w_avg={M: float(sw[k] / n) for k, M in enumerate(Ms)},
                          b_avg={M: float(sb[k] / n) for k, M in enumerate(Ms)}, thetas=th)


@dataclass(frozen=True)
class LawWindow:
    """The window of :func:`law_window`.

    Attributes
    ----------
    x_min, x_max : float
        The window in |s| (0, 0 when there is none).
    ratio : float
        max/min of p(s) s^k over the window.
    k : float
        The law tested.
    eps : float
    """

    x_min: float
    x_max: float
    ratio: float
    k: float
    eps: float = plan.EPSILON

    @property
    def decades(self) -> float:
        """Extent in decades (0 without a window)."""
        return math.log10(self.x_max / self.x_min) if self.x_max > self.x_min > 0 else 0.0

    @property
    def has_range(self) -> bool:
        """Whether the window spans at least the plan's ``MIN_DECADES``."""
        return self.decades >= plan.MIN_DECADES


def law_window(law: AtomLaw, k: float, data_edges: tuple[float, float], *,
               eps: float = plan.EPSILON) -> LawWindow:
    """Longest interval of |s| inside ``data_edges`` on which p(s) s^k, from ``law``, varies by at
    most a factor (1 + ε)/(1 − ε): where the law p ∝ |s|^-k holds to the plan's ε.

    Parameters
    ----------
    law : AtomLaw
        The predicted law (e.g. of a mini-batch mean, :func:`mean_law`).
    k : float
        The exponent of the law tested.
    data_edges : (float, float)
        The sample's data edges (``EDGE_COUNT``-th smallest and largest |s|).
    eps : float
        The plan's accuracy ε.

    Returns
    -------
    LawWindow
        With ``x_min = x_max = 0`` when no two adjacent atoms qualify.
    """
    if not isinstance(law, AtomLaw):
        raise TypeError(f"law must be an AtomLaw, got {type(law).__name__}")
    k = check_real("k", k)
    eps = plan.check_epsilon(eps)
    lo = check_real("data_edges[0]", data_edges[0], low=0.0, low_inclusive=False)
    hi = check_real("data_edges[1]", data_edges[1], low=0.0, low_inclusive=False)
    g = law.grid
    d = law.abs_density()
    sel = (g >= lo) & (g <= hi) & (d > 0)
    lim = math.log((1 + eps) / (1 - eps))
    best, best_len = None, 0
    idx = np.flatnonzero(sel)
    if idx.size >= 2:
        runs = np.split(idx, np.flatnonzero(np.diff(idx) != 1) + 1)
        for run in runs:
            if run.size <= best_len:
                continue
            v = np.log(d[run]) + k * np.log(g[run])
            n = v.size
            for s in range(n):
                if n - s <= best_len:
                    break
                u = v[s:]
                spread = np.maximum.accumulate(u) - np.minimum.accumulate(u)
                bad = np.flatnonzero(spread > lim)
                e = (bad[0] - 1) if bad.size else u.size - 1
                if e >= 1 and e + 1 > best_len:
                    best_len, best = e + 1, (run[s], run[s + e])
    if best is None:
        return LawWindow(0.0, 0.0, float("nan"), k, eps)
    p, q = best
    v = np.log(d[p:q + 1]) + k * np.log(g[p:q + 1])
    return LawWindow(float(g[p]), float(g[q]), float(math.exp(v.max() - v.min())), k, eps)


def population_exponent(law: AtomLaw, window: tuple[float, float]) -> float:
    """The exponent the plan's maximum-likelihood fit converges to for samples of ``law``: the
    truncated power-law MLE (:func:`bbdlib.powerlaw.fit_truncated_powerlaw`) with the atoms
    inside ``window`` as weighted samples (the two edge atoms, whose cells lie half outside,
    at half weight).

    Parameters
    ----------
    law : AtomLaw
    window : (float, float)

    Returns
    -------
    float
    """
    from bbdlib.powerlaw import fit_truncated_powerlaw

    if not isinstance(law, AtomLaw):
        raise TypeError(f"law must be an AtomLaw, got {type(law).__name__}")
    lo = check_real("window[0]", window[0], low=0.0, low_inclusive=False)
    hi = check_real("window[1]", window[1], low=0.0, low_inclusive=False)
    g = law.grid
    sel = np.flatnonzero((g >= lo * (1 - 1e-12)) & (g <= hi * (1 + 1e-12)))
    if sel.size < 2:
        raise ValueError("window holds fewer than two atoms of the law")
    w = law.p_abs[sel].copy()
    w[0] *= 0.5
    w[-1] *= 0.5
    x = np.repeat(g[sel], 10)            # >= 10 samples inside the range, as the fit requires
    wt = np.repeat(w, 10)
    return fit_truncated_powerlaw(x, g[sel[0]], g[sel[-1]], rng=0, n_boot=20, weights=wt).k


@dataclass(frozen=True)
class Prediction:
    """The convolution's prediction for one law and exponent (see :func:`predict_exponent`).

    Attributes
    ----------
    window : LawWindow
        The window at the predicted data edges.
    k : float
        The population MLE over it (NaN without a window).
    status : str
        ``"reproduced"`` when the window spans at least ``MIN_DECADES`` and
        |k − k_paper| ≤ the slope allowance, else ``"not reproduced"``.
    """

    window: LawWindow
    k: float
    status: str


def predict_exponent(law: AtomLaw, k_paper: float, n_nonzero: int, *,
                     edge_count: int = plan.EDGE_COUNT, eps: float = plan.EPSILON) -> Prediction:
    """What the plan should find in ``n_nonzero`` samples of ``law``, from the law alone: the
    window of :func:`law_window` at the predicted data edges (the ``edge_count``/n and
    1 − ``edge_count``/n quantiles) and the population exponent over it.

    Parameters
    ----------
    law : AtomLaw
    k_paper : float
        The paper's exponent.
    n_nonzero : int
        Expected number of non-zero samples (> 2 ``edge_count``).
    edge_count : int
    eps : float

    Returns
    -------
    Prediction
    """
    k_paper = check_real("k_paper", k_paper)
    edge_count = check_int("edge_count", edge_count, minimum=1)
    n_nonzero = check_int("n_nonzero", n_nonzero, minimum=2 * edge_count + 1)
    lo, hi = law.abs_quantile([edge_count / n_nonzero, 1 - edge_count / n_nonzero])
    win = law_window(law, k_paper, (float(lo), float(hi)), eps=eps)
    if win.x_max <= 0:
        return Prediction(win, float("nan"), "not reproduced")
    k = population_exponent(law, (win.x_min, win.x_max))
    ok = win.has_range and abs(k - k_paper) <= plan.slope_allowance(win.decades, eps)
    return Prediction(win, k, "reproduced" if ok else "not reproduced")


def ks_to_law(abs_s, law: AtomLaw) -> float:
    """Kolmogorov–Smirnov distance of the non-zero samples |s| to the predicted law of |s| ≠ 0.

    Parameters
    ----------
    abs_s : array_like
        Samples |s| (zeros are dropped).
    law : AtomLaw

    Returns
    -------
    float
    """
    if not isinstance(law, AtomLaw):
        raise TypeError(f"law must be an AtomLaw, got {type(law).__name__}")
    x = check_array("abs_s", abs_s).ravel()
    x = np.sort(x[x > 0])
    if x.size < 10:
        raise ValueError(f"abs_s must hold at least 10 non-zero values, got {x.size}")
    F = law.abs_cdf(x)
    n = x.size
    i = np.arange(1, n + 1)
    return float(max(np.max(i / n - F), np.max(F - (i - 1) / n)))


#: The mini-batch sizes of the study (issue 13: M ∈ {1, 2, 4, 16, 64})
BATCH_SIZES = (1, 2, 4, 16, 64)
#: The largest KS distance between the actual jumps and the convolution's prediction counted as
#: agreement: the tolerance chapter II.6 uses for actual against potential jumps at M = 1
KS_TOL = 0.05


@dataclass(frozen=True)
class BatchResult:
    """One class at one mini-batch size (see :func:`minibatch_study`).

    Attributes
    ----------
    M : int
    cls : str
    law : AtomLaw
        The predicted law of Δq′± (convolution at the run's averaged (w, b)).
    prediction : Prediction
        What the plan should find, from the law alone.
    abs_jumps : ndarray
        The measured non-zero |Δq′±|.
    n_steps : int
        Recorded steps × replicas (the number of slots-means, zeros included).
    ks : float
        KS distance of ``abs_jumps`` to ``law``.
    window : LawWindow
        :func:`law_window` at the sample's data edges.
    measurement : ExponentMeasurement or None
        The plan's fit over ``window`` (None when the window spans less than ``MIN_DECADES``:
        no power-law range, nothing fitted).
    """

    M: int
    cls: str
    law: AtomLaw
    prediction: Prediction
    abs_jumps: np.ndarray
    n_steps: int
    ks: float
    window: LawWindow
    measurement: object

    @property
    def has_range(self) -> bool:
        """Whether the measured window spans at least ``MIN_DECADES``."""
        return self.window.has_range and self.measurement is not None


def _data_edges(a: np.ndarray, edge_count: int) -> tuple[float, float]:
    part = np.partition(a, [edge_count - 1, a.size - edge_count])
    return float(part[edge_count - 1]), float(part[a.size - edge_count])


def minibatch_study(comp: Composition, run: MinibatchJumps, *, gamma: float, k_paper: float,
                    rng: np.random.Generator | int, clip_norm: float | None = None,
                    data: TwoClassData = TWO_CLASSES, per_decade: int = 20,
                    n_boot: int = plan.N_BOOT, n_quad: int = 200_001) -> dict:
    """Predict (convolution) and measure (the plan's fit) the jumps of every M and class of a run.

    For each M and class: the per-sample law of the (clipped, if ``clip_norm``) jump map at the
    run's averaged (w, b) for that M (:func:`atom_law_from_map`), thinned to the slot law by
    the class probability, its mean of M (:func:`mean_laws`); the prediction
    (:func:`predict_exponent`) for as many non-zero samples as the law expects; the KS
    distance of the measured |Δq′±| to it; the window (:func:`law_window`) at the measured data
    edges and the plan's fit there (:func:`bbdlib.duality.analysis_plan.measure_exponent`).

    Parameters
    ----------
    comp : Composition
    run : MinibatchJumps
    gamma : float
    k_paper : float
        The paper's exponent for the composition.
    rng : numpy.random.Generator or int
        Bootstrap randomness.
    clip_norm : float, optional
        The clipping of the run.
    data : TwoClassData
    per_decade : int
        Atoms per decade of the grid.
    n_boot : int
        Bootstrap resamples per fit.
    n_quad : int
        Quadrature points of the per-sample bin probabilities.

    Returns
    -------
    dict
        ``{(M, cls): BatchResult}``.
    """
    from bbdlib.duality.jumps import JumpMap

    if not isinstance(run, MinibatchJumps):
        raise TypeError(f"run must be a MinibatchJumps, got {type(run).__name__}")
    rng = check_generator("rng", rng)
    k_paper = check_real("k_paper", k_paper)
    Ms = run.batch_sizes
    out = {}
    for cls in "-+":
        p_cls = data.p_plus if cls == "+" else 1.0 - data.p_plus
        mean, std = data.mean(cls), data.std(cls)
        for M in Ms:
            jm = JumpMap(comp, run.w_avg[M], run.b_avg[M], cls, gamma, run.thetas[cls], data)
            q = clipped_qdot(jm, clip_norm)
            grid = jump_grid(q, mean=mean, std=std, per_decade=per_decade, widen_low=10.0 * max(Ms))
            law = mean_laws(thinned(atom_law_from_map(q, grid, mean=mean, std=std, n_grid=n_quad), p_cls), (M,))[M]
            a = run.abs_nonzero(M, cls)
            n_steps = run.changes[M][cls].size
            n_exp = int(round(n_steps * law.nonzero_mass))
            pred = predict_exponent(law, k_paper, max(n_exp, 2 * plan.EDGE_COUNT + 1))
            ks = ks_to_law(a, law)
            meas = None
            if a.size >= 2 * plan.EDGE_COUNT + 10:
                win = law_window(law, k_paper, _data_edges(a, plan.EDGE_COUNT))
                if win.has_range:   # below the plan's minimum extent: no power-law range, no fit
                    try:
                        meas = plan.measure_exponent(a, (win.x_min, win.x_max), rng=rng, n_boot=n_boot,
                                                     limits=_data_edges(a, plan.EDGE_COUNT))
                    except ValueError:
                        meas = None
            else:
                win = LawWindow(0.0, 0.0, float("nan"), k_paper)
            out[M, cls] = BatchResult(M, cls, law, pred, a, n_steps, ks, win, meas)
    return out


def exponent_claim(r: BatchResult, k_paper: float) -> dict:
    """``expected``/``measured``/``tolerance`` of the claim "p(Δq′) ∝ |Δq′|^-k at batch size M"
    by the analysis plan (:func:`bbdlib.duality.analysis_plan.claim_values`): numbers
    with a window of at least ``MIN_DECADES`` and stable halves, text otherwise.

    Parameters
    ----------
    r : BatchResult
    k_paper : float

    Returns
    -------
    dict
        Keyword arguments for :meth:`bbdlib.book.claims.Ledger.assess`.
    """
    if not isinstance(r, BatchResult):
        raise TypeError(f"r must be a BatchResult, got {type(r).__name__}")
    if r.measurement is not None:
        return plan.claim_values(k_paper, measurement=r.measurement)
    return plan.claim_values(k_paper, window_decades=r.window.decades if r.window.x_max > 0 else None)


def plot_exponents_vs_m(studies: dict, k_paper: dict, axes) -> None:
    """The measured exponent against M, one panel per composition, both classes; hollow markers
    at k = 0 below the panel's floor line mark "no power-law range" (window < ``MIN_DECADES``).

    Parameters
    ----------
    studies : dict
        ``{figure: {(M, cls): BatchResult}}``.
    k_paper : dict
        ``{figure: k}``.
    axes : sequence of matplotlib Axes
        One per figure.
    """
    from bbdlib.book.style import SERIES_COLORS

    for ax, (fig, st) in zip(axes, studies.items()):
        Ms = sorted({M for M, _ in st})
        for j, (cls, mk) in enumerate((("-", "o"), ("+", "s"))):
            col = SERIES_COLORS[j]
            lab = "'−'" if cls == "-" else "'+'"
            xs = np.array(Ms, dtype=float) * (0.93 if cls == "-" else 1.07)
            for x, M in zip(xs, Ms):
                r = st[M, cls]
                m = r.measurement
                if m is not None and m.has_range:
                    ax.errorbar([x], [m.k], yerr=[[m.k - m.fit.ci_low], [m.fit.ci_high - m.k]], fmt=mk,
                                color=col, ms=5, capsize=2, mfc=col if m.stable else "white")
                else:
                    ax.plot([x], [-0.35], mk, color=col, mfc="white", ms=5)
            ax.plot([], [], mk, color=col, label=f"{lab} class")
        ax.axhline(k_paper[fig], color="0.4", ls="--", lw=1)
        ax.axhline(-0.2, color="0.7", lw=0.6)
        ax.set_xscale("log")
        ax.set_xticks(Ms)
        ax.set_xticklabels([str(M) for M in Ms])
        ax.set_title(f"Fig. {fig}: k = {k_paper[fig]:.3g}", fontsize=9)
        ax.set_xlabel("M")
        ax.set_ylim(-0.5, max(2.4, k_paper[fig] + 0.6))
    axes[0].set_ylabel("measured k")
    axes[0].legend(fontsize=9, frameon=False, loc="upper left")


def plot_densities(study: dict, axes, *, title: str = "") -> None:
    """Measured (dots, log-binned) and predicted (lines, convolution) densities of |Δq′±| ≠ 0 for
    every M, one panel per class.

    Parameters
    ----------
    study : dict
        ``{(M, cls): BatchResult}``.
    axes : sequence of two matplotlib Axes
    title : str
    """
    from bbdlib.book.style import SERIES_COLORS
    from bbdlib.powerlaw import log_binned_density

    Ms = sorted({M for M, _ in study})
    for ax, cls in zip(axes, "-+"):
        for j, M in enumerate(Ms):
            r = study[M, cls]
            col = SERIES_COLORS[j % len(SERIES_COLORS)]
            a = r.abs_jumps
            if a.size > 10:
                c, d = log_binned_density(a, 40)
                ax.loglog(c, d, "o", ms=2.5, color=col, label=f"M = {M}")
            law = r.law
            dens = law.abs_density()
            # the prediction where the sample has its bulk (its 10^-3 quantile and up): below, the
            # quadrature of the per-sample law resolves the steepest maps (|y − y*|^3) only in atoms
            lo = float(np.quantile(a, 1e-3)) if a.size else 0.0
            ok = (dens > 0) & (law.grid >= lo) & (law.grid <= (a.max() if a.size else np.inf))
            ax.loglog(law.grid[ok], dens[ok], "-", color=col, lw=1)
            if r.window.x_max > 0 and r.window.has_range:
                ax.axvspan(r.window.x_min, r.window.x_max, color=col, alpha=0.08, lw=0)
        ax.set_xlabel("|Δq′|")
        ax.set_title(f"{title} '{'−' if cls == '-' else '+'}' class", fontsize=10)
    axes[0].set_ylabel("density (given Δq′ ≠ 0)")
