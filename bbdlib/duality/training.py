"""Stochastic gradient descent of the toy model to learning equilibrium, eq. (2.3) of [B].

``q̇ = -γ d⟨H⟩_M / dq`` with q = (w, b), a mini-batch of M samples drawn from the
data set of eqs. (7.2)–(7.3) (classes '−' and '+' with probability 1/2 each, eq. (5.1);
:class:`bbdlib.duality.toy_model.TwoClassData`),
vectorised over independent replicas: every step updates all replicas at once, so the
only Python loop is over time.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from bbdlib.duality.toy_model import TWO_CLASSES, Composition, TwoClassData, check_class
from bbdlib.validate import check_generator, check_int, check_real

#: The most replicas x batch samples one SGD step of :func:`train_sgd` may draw: its random
#: draws for 256 steps at once then take about 5 GB (this machine: 24 GiB).
MAX_WORK = 2**20

__all__ = ["TrainingResult", "train_sgd", "accuracy", "active_fraction", "EquilibriumJumps",
           "equilibrium_jumps", "READINGS_EQ716", "predict_plus", "MAX_WORK", "MAX_RECORDED",
           "population_hessian"]

#: The two readings of the piece-wise linear activation (7.16) of [B] for y ≥ 1:
#: ``"literal"`` f = 0 (as printed: f = y on (0, 1), 0 elsewhere) and ``"hard_sigmoid"``
#: f = 1 (f = clip(y, 0, 1)).  Both have f′ = 1 on (0, 1) and 0 elsewhere, so SGD and the
#: jumps are identical; they differ only in the prediction f(y) > 1/2 for y ≥ 1.
READINGS_EQ716 = ("literal", "hard_sigmoid")


def _check_composition(comp) -> Composition:
    if not isinstance(comp, Composition):
        raise TypeError(f"comp must be a Composition, got {type(comp).__name__}")
    return comp


def _check_data(data) -> TwoClassData:
    if not isinstance(data, TwoClassData):
        raise TypeError(f"data must be a TwoClassData, got {type(data).__name__}")
    return data


@dataclass(frozen=True)
class TrainingResult:
    """Outcome of :func:`train_sgd`.

    Attributes
    ----------
    w, b : ndarray, shape (replicas,)
        Time averages of each replica over the second half of training (the
        equilibrium estimate of each replica).
    w_last, b_last : ndarray
        The parameters after the last step.
    w_mean, b_mean : float
        Equilibrium (w, b): mean over replicas of ``w``, ``b``.
    w_spread, b_spread : float
        Standard deviation of the replicas' time averages.
    w_fluct, b_fluct : float
        Standard deviation in time (second half), averaged over replicas: the
        size of the equilibrium fluctuations.
    drift_w, drift_b : float
        Replica-mean of (average over the last quarter − average over the third
        quarter): zero at equilibrium up to noise.
    drift_se_w, drift_se_b : float
        Standard errors of the drifts over replicas.
    trajectory : ndarray, shape (n_record, 2)
        Replica-mean (w, b) at ``record_every`` steps (for plots).
    steps, gamma, batch : int, float, int
        The run's settings.
    clip_norm : float or None
        The per-sample gradient-norm clipping level (None: plain SGD).
    clipped_fraction : float
        Fraction of per-sample gradients that were clipped over the whole run.
    """

    w: np.ndarray
    b: np.ndarray
    w_last: np.ndarray
    b_last: np.ndarray
    w_mean: float
    b_mean: float
    w_spread: float
    b_spread: float
    w_fluct: float
    b_fluct: float
    drift_w: float
    drift_b: float
    drift_se_w: float
    drift_se_b: float
    trajectory: np.ndarray
    steps: int
    gamma: float
    batch: int
    clip_norm: float | None = None
    clipped_fraction: float = 0.0


def predict_plus(comp: Composition, y, *, reading: str = "literal") -> np.ndarray:
    """The prediction '+' iff f(y) > 1/2, with the reading of (7.16) for the piece-wise linear f.

    Parameters
    ----------
    comp : Composition
    y : array_like
        Pre-activations.
    reading : {"literal", "hard_sigmoid"}
        ``READINGS_EQ716``; ignored unless the activation is ``"piecewise_linear"``.

    Returns
    -------
    ndarray of bool
    """
    comp = _check_composition(comp)
    if reading not in READINGS_EQ716:
        raise ValueError(f"reading must be one of {READINGS_EQ716}, got {reading!r}")
    y = np.asarray(y, dtype=float)
    if comp.activation == "piecewise_linear" and reading == "hard_sigmoid":
        return np.clip(y, 0.0, 1.0) > 0.5
    return comp.f(y) > 0.5


def accuracy(comp: Composition, w: float, b: float, *, n: int = 200_000,
             rng: np.random.Generator | int = 0, data: TwoClassData = TWO_CLASSES,
             reading: str = "literal") -> float:
    """Fraction of a fresh sample of the data set classified right.

    Parameters
    ----------
    comp : Composition
    w, b : float
        The parameters.
    n : int
        Number of fresh samples.
    rng : numpy.random.Generator or int
    data : TwoClassData
        The data set; '+' is predicted iff f(y) > 1/2.

    Returns
    -------
    float
    """
    w = check_real("w", w)
    b = check_real("b", b)
    n = check_int("n", n, minimum=1, maximum=200_000_000)
    rng = check_generator("rng", rng)
    data = _check_data(data)
    predict_plus(comp, np.zeros(1), reading=reading)  # validates comp and reading
    x, t = data.draw(n, rng=rng)
    pred = predict_plus(comp, w * x + b, reading=reading)
    return float(np.mean(pred == (t == data.target_plus)))


def train_sgd(
    comp: Composition,
    *,
    gamma: float,
    steps: int,
    replicas: int = 64,
    batch: int = 1,
    w0: float = 0.0,
    b0: float = 0.5,
    rng: np.random.Generator | int,
    record_every: int = 100,
    data: TwoClassData = TWO_CLASSES,
    clip_norm: float | None = None,
) -> TrainingResult:
    """Train (w, b) by SGD (eq. (2.3) of [B]) in ``replicas`` independent copies.

    Parameters
    ----------
    comp : Composition
        Activation and loss.
    gamma : float
        Learning rate γ > 0.
    steps : int
        Number of SGD steps (>= 8).
    replicas : int
        Independent replicas, updated together.
    batch : int
        Mini-batch size M (the paper's analysis sets M = 1).
    w0, b0 : float
        Initial parameters (b0 = 0.5 puts y inside the active piece of every activation;
        at y = 0 ReLU and the piece-wise linear f pass no gradient at all).
    rng : numpy.random.Generator or int
    record_every : int
        Stride of the recorded replica-mean trajectory.
    data : TwoClassData
        The data set (each sample is '+' with probability ``data.p_plus``).
    clip_norm : float, optional
        Per-sample gradient-norm clipping (the standard remedy for unbounded per-sample
        gradients, e.g. Pascanu, Mikolov & Bengio 2013): each sample's gradient
        H′(y) (x¹, 1) is scaled by min(1, clip_norm / |H′(y)| √(x¹² + 1)) before the
        mini-batch mean.  None (default) is plain SGD, eq. (2.3).

    Returns
    -------
    TrainingResult
    """
    comp = _check_composition(comp)
    data = _check_data(data)
    gamma = check_real("gamma", gamma, low=0.0, low_inclusive=False)
    steps = check_int("steps", steps, minimum=8)
    replicas = check_int("replicas", replicas, minimum=2, maximum=MAX_WORK,
                         why="replicas x batch floats per step must fit this machine's memory")
    batch = check_int("batch", batch, minimum=1, maximum=MAX_WORK // replicas,
                      why=f"replicas x batch <= {MAX_WORK} floats per step must fit this machine's memory")
    w0 = check_real("w0", w0)
    b0 = check_real("b0", b0)
    rng = check_generator("rng", rng)
    record_every = check_int("record_every", record_every, minimum=1)
    if clip_norm is not None:
        clip_norm = check_real("clip_norm", clip_norm, low=0.0, low_inclusive=False)
    n_clipped = 0

    w = np.full(replicas, w0)
    b = np.full(replicas, b0)
    half, q3 = steps // 2, (3 * steps) // 4
    s_w, s_b, s_ww, s_bb = (np.zeros(replicas) for _ in range(4))     # second-half sums
    s3_w, s3_b, s4_w, s4_b = (np.zeros(replicas) for _ in range(4))   # third and last quarter
    traj = []
    shape = (replicas, batch)
    t_minus, t_plus = float(data.target_minus), float(data.target_plus)
    chunk = 256  # draw the randomness for `chunk` steps at once
    # The step, y = w x + b, g = H′(y), w ← w − γ (Σ_M g x)/M, b ← b − γ (Σ_M g)/M, with (w, b) of
    # all replicas as one array q (row 0: w, row 1: b) and (g x, g) as one array gg, so that the
    # two sums, the division by M, the factor γ and the update are one numpy call each instead
    # of two: the same operations on the same numbers (the same pairwise sums over the batch,
    # as tests/duality/test_training.py checks against the plain step), and at
    # replicas x batch = 32 x 16 a step costs what its numpy calls cost
    q = np.empty((2, replicas))
    q[0], q[1] = w, b
    q_buf = np.empty((chunk, 2, replicas))
    gg = np.empty((2, *shape))
    dH = comp._dH_classes
    for c0 in range(0, steps, chunk):
        m = min(chunk, steps - c0)
        tt = (rng.random((m, *shape)) < data.p_plus)
        xx = data.inputs(tt, rng.standard_normal((m, *shape)))
        if clip_norm is not None:
            x_norm = np.sqrt(xx * xx + 1.0)   # |(x¹, 1)| of every sample of the chunk
        for j in range(m):
            x = xx[j]
            y = q[0][:, None] * x + q[1][:, None]
            g = dH(y, tt[j], t_minus, t_plus)
            if clip_norm is not None:
                norm = np.abs(g) * x_norm[j]
                over = norm > clip_norm
                n_clipped += int(over.sum())
                g = np.where(over, g * (clip_norm / np.where(over, norm, 1.0)), g)
            np.multiply(g, x, out=gg[0])
            gg[1] = g
            # sum/M is bitwise np.mean (which divides the sum by the count)
            q = q - gamma * (gg.sum(axis=2) / batch)
            q_buf[j] = q
        w_buf, b_buf = q_buf[:, 0], q_buf[:, 1]
        w, b = q[0].copy(), q[1].copy()
        # the statistics of this chunk, step by step as before but vectorised over the chunk
        st = np.arange(c0, c0 + m)
        wc, bc = w_buf[:m], b_buf[:m]
        for lo_s, hi_s, acc in ((half, steps, (s_w, s_b)), (half, q3, (s3_w, s3_b)), (q3, steps, (s4_w, s4_b))):
            sel = (st >= lo_s) & (st < hi_s)
            if sel.any():
                np.add(acc[0], wc[sel].sum(axis=0), out=acc[0])
                np.add(acc[1], bc[sel].sum(axis=0), out=acc[1])
        sel = st >= half
        if sel.any():
            s_ww += (wc[sel] ** 2).sum(axis=0)
            s_bb += (bc[sel] ** 2).sum(axis=0)
        rec = st % record_every == 0
        traj.extend(zip(wc[rec].mean(axis=1).tolist(), bc[rec].mean(axis=1).tolist()))
        if not all(np.all(np.isfinite(a)) for a in (w, b, s_w, s_b, s_ww, s_bb)):
            raise ValueError(f"SGD diverged by step {c0 + m} of {steps} (non-finite parameters): "
                             f"gamma = {gamma} is too large")
    nh = steps - half
    wa, ba = s_w / nh, s_b / nh
    fw = np.sqrt(np.maximum(s_ww / nh - wa**2, 0.0))
    fb = np.sqrt(np.maximum(s_bb / nh - ba**2, 0.0))
    dw = s4_w / (steps - q3) - s3_w / (q3 - half)
    db = s4_b / (steps - q3) - s3_b / (q3 - half)
    return TrainingResult(
        w=wa, b=ba, w_last=w, b_last=b,
        w_mean=float(wa.mean()), b_mean=float(ba.mean()),
        w_spread=float(wa.std(ddof=1)), b_spread=float(ba.std(ddof=1)),
        w_fluct=float(fw.mean()), b_fluct=float(fb.mean()),
        drift_w=float(dw.mean()), drift_b=float(db.mean()),
        drift_se_w=float(dw.std(ddof=1) / np.sqrt(replicas)),
        drift_se_b=float(db.std(ddof=1) / np.sqrt(replicas)),
        trajectory=np.array(traj), steps=steps, gamma=gamma, batch=batch,
        clip_norm=clip_norm, clipped_fraction=n_clipped / (steps * replicas * batch),
    )


def active_fraction(comp: Composition, w, b, *, n: int = 20_000,
                    rng: np.random.Generator | int = 0,
                    data: TwoClassData = TWO_CLASSES) -> np.ndarray:
    """Fraction of a fresh sample of the data set with f′(y) ≠ 0, for each (w, b) pair.

    Zero means a *dead* network: no input produces a gradient, so SGD is frozen.

    Parameters
    ----------
    comp : Composition
    w, b : array_like
        Parameters (one pair per replica).
    n : int
        Number of fresh samples.
    rng : numpy.random.Generator or int
    data : TwoClassData

    Returns
    -------
    ndarray
        One fraction per (w, b) pair.
    """
    comp = _check_composition(comp)
    data = _check_data(data)
    rng = check_generator("rng", rng)
    n = check_int("n", n, minimum=1)
    w = np.atleast_1d(np.asarray(w, dtype=float))
    b = np.atleast_1d(np.asarray(b, dtype=float))
    x, _ = data.draw(n, rng=rng)
    return comp.active(w[:, None] * x[None, :] + b[:, None]).mean(axis=1)


#: The most recorded changes (steps x replicas) :func:`equilibrium_jumps` may return: the
#: record and its split by class take 2 x 8 bytes each, about 1 GiB at this size (this
#: machine: 24 GiB, shared by several runs).
MAX_RECORDED = 2**26


@dataclass(frozen=True)
class EquilibriumJumps:
    """Result of :func:`equilibrium_jumps`.

    Attributes
    ----------
    changes : dict
        ``{'-': array, '+': array}``: the recorded changes of q′ caused by the inputs of
        each class (zeros included).
    w_avg, b_avg : float
        Time and replica average of the parameters over the recorded steps.
    steps : int
        Recorded steps.
    drift_w, drift_b : float
        Replica mean of (time average over the second half of the recorded steps − over
        the first half), per 10⁴ steps (the halves' centres are ``steps / 2`` apart).
    drift_se_w, drift_se_b : float
        Standard errors of those drifts over the replicas (NaN for one replica).
    fluct_w, fluct_b : float
        Standard deviation in time of each parameter over the recorded steps, averaged
        over replicas: the width of the distribution the run samples.
    """

    changes: dict
    w_avg: float
    b_avg: float
    steps: int = 0
    drift_w: float = float("nan")
    drift_b: float = float("nan")
    drift_se_w: float = float("nan")
    drift_se_b: float = float("nan")
    fluct_w: float = float("nan")
    fluct_b: float = float("nan")

    def abs_nonzero(self, cls: str) -> np.ndarray:
        """|Δq′| of the inputs of class ``cls`` that changed q′."""
        a = np.abs(self.changes[check_class(cls)])
        return a[a > 0]

    def stationary(self) -> bool:
        """Whether the run is stationary on the scale of its own fluctuations: the drift per
        10⁴ steps of w and of b is at most that parameter's fluctuation in time
        (|``drift_w``| ≤ ``fluct_w`` and |``drift_b``| ≤ ``fluct_b``)."""
        return bool(abs(self.drift_w) <= self.fluct_w and abs(self.drift_b) <= self.fluct_b)


def equilibrium_jumps(comp: Composition, w0: float, b0: float, *, gamma: float, steps: int,
                      thetas: dict, replicas: int = 32, burn_in: int = 1000,
                      rng: np.random.Generator | int,
                      data: TwoClassData = TWO_CLASSES) -> EquilibriumJumps:
    """The *actual* SGD changes of q′ at learning equilibrium (mini-batch M = 1).

    Starting every replica at (w0, b0), run ``burn_in + steps`` SGD steps of eq. (2.3) with
    one input per step, and record after the burn-in the change of the rotated variable
    q′ = w cos θ± + b sin θ± caused by each input, with θ± = ``thetas[cls]`` for the class
    of that input.  Sec. 7 of [B] claims that at equilibrium these are distributed like the
    potential jumps at fixed (average) parameters.  The randomness is drawn in chunks of
    256 steps (memory bounded by the record itself, at most ``MAX_RECORDED`` values); the
    drift and fluctuation of (w, b) over the recorded steps say whether the run is
    stationary (:meth:`EquilibriumJumps.stationary`).

    Parameters
    ----------
    comp : Composition
    w0, b0 : float
        Starting parameters (the equilibrium of a previous training).
    gamma : float
        Learning rate γ > 0.
    steps : int
        Recorded SGD steps (>= 2; steps x replicas <= ``MAX_RECORDED``).
    thetas : dict
        The angle θ± of each class, ``{'-': θ₋, '+': θ₊}``.
    replicas : int
        Independent replicas.
    burn_in : int
        Unrecorded steps first.
    rng : numpy.random.Generator or int
    data : TwoClassData

    Returns
    -------
    EquilibriumJumps

    Raises
    ------
    ValueError
        For bad input, a record beyond ``MAX_RECORDED``, or when SGD diverges (naming
        ``gamma``).
    """
    comp = _check_composition(comp)
    data = _check_data(data)
    gamma = check_real("gamma", gamma, low=0.0, low_inclusive=False)
    replicas = check_int("replicas", replicas, minimum=1, maximum=MAX_RECORDED // 2,
                         why="steps x replicas recorded changes must fit this machine's memory")
    steps = check_int("steps", steps, minimum=2, maximum=MAX_RECORDED // replicas,
                      why=f"steps x replicas <= {MAX_RECORDED} recorded changes (about 1 GiB) "
                          "must fit this machine's memory")
    burn_in = check_int("burn_in", burn_in, minimum=0, maximum=10**9)
    rng = check_generator("rng", rng)
    if not isinstance(thetas, dict):
        raise TypeError(f"thetas must be a dict {{'-': θ₋, '+': θ₊}}, got {type(thetas).__name__}")
    th = {check_class(c): check_real(f"thetas[{c!r}]", v) for c, v in thetas.items()}
    if set(th) != {"-", "+"}:
        raise ValueError("thetas must give an angle for both classes '-' and '+'")
    cm, sm_ = np.cos(th["-"]), np.sin(th["-"])
    cp, sp_ = np.cos(th["+"]), np.sin(th["+"])
    w = np.full(replicas, check_real("w0", w0))
    b = np.full(replicas, check_real("b0", b0))
    t_minus, t_plus = float(data.target_minus), float(data.target_plus)
    total = burn_in + steps
    mid = burn_in + steps // 2
    rec_q = np.empty((steps, replicas))
    lab = np.empty((steps, replicas), dtype=bool)
    s1 = np.zeros((4, replicas))  # first half of the record: Σw, Σb, Σw², Σb²
    s2 = np.zeros((4, replicas))  # second half
    chunk = 256
    wb = np.empty((2, chunk, replicas))
    for c0 in range(0, total, chunk):
        m = min(chunk, total - c0)
        tt = rng.random((m, replicas)) < data.p_plus
        xx = data.inputs(tt, rng.standard_normal((m, replicas)))
        for j in range(m):
            i = c0 + j
            x, t = xx[j], tt[j]
            g = comp._dH_classes(w * x + b, t, t_minus, t_plus)
            dw, db = -gamma * g * x, -gamma * g
            if i >= burn_in:
                rec_q[i - burn_in] = np.where(t, cp * dw + sp_ * db, cm * dw + sm_ * db)
            wb[0, j] = w
            wb[1, j] = b
            w = w + dw
            b = b + db
        if not (np.all(np.isfinite(w)) and np.all(np.isfinite(b))):
            raise ValueError(f"SGD diverged by step {c0 + m} of {total} (non-finite parameters): "
                             f"gamma = {gamma} is too large")
        st = np.arange(c0, c0 + m)
        rec = st >= burn_in
        if rec.any():
            lab[st[rec] - burn_in] = tt[rec]
        for sums, sel in ((s1, rec & (st < mid)), (s2, st >= mid)):
            if sel.any():
                v = wb[:, :m][:, sel]
                sums[:2] += v.sum(axis=1)
                sums[2:] += (v * v).sum(axis=1)
    n1, n2 = steps // 2, steps - steps // 2
    mean1, mean2 = s1[:2] / n1, s2[:2] / n2
    mean = (s1[:2] + s2[:2]) / steps
    var = np.maximum((s1[2:] + s2[2:]) / steps - mean**2, 0.0)
    drift = (mean2 - mean1) * (1e4 / (steps / 2))
    se = drift.std(axis=1, ddof=1) / np.sqrt(replicas) if replicas > 1 else np.full(2, np.nan)
    fl = np.sqrt(var).mean(axis=1)
    return EquilibriumJumps(changes={"-": rec_q[~lab], "+": rec_q[lab]},
                            w_avg=float(mean[0].mean()), b_avg=float(mean[1].mean()),
                            steps=steps, drift_w=float(drift[0].mean()), drift_b=float(drift[1].mean()),
                            drift_se_w=float(se[0]), drift_se_b=float(se[1]),
                            fluct_w=float(fl[0]), fluct_b=float(fl[1]))


def population_hessian(comp: Composition, w: float, b: float, *, n: int = 1_000_000,
                       rng: np.random.Generator | int = 0,
                       data: TwoClassData = TWO_CLASSES) -> np.ndarray:
    """The Hessian of the population loss ⟨H⟩ in (w, b), by Monte Carlo over the data set.

    ∂²⟨H⟩/∂q_i∂q_j = ⟨H″(y) u_i u_j⟩ with u = ∂y/∂(w, b) = (x¹, 1) and H″ = d²H(f(y))/dy²
    (:meth:`bbdlib.duality.toy_model.Composition.d2H`): the curvature that SGD, eq. (2.3)
    of [B], feels near its equilibrium.  Its smallest eigenvalue λ sets the slowest
    relaxation time of gradient descent, about 1/(γλ) steps.

    Parameters
    ----------
    comp : Composition
    w, b : float
        The parameters.
    n : int
        Fresh samples of the data set (at most 10⁸: 3 arrays of 8 bytes each, 2.4 GB).
    rng : numpy.random.Generator or int
    data : TwoClassData

    Returns
    -------
    ndarray, shape (2, 2)
        Symmetric; rows and columns (w, b).
    """
    comp = _check_composition(comp)
    data = _check_data(data)
    w = check_real("w", w)
    b = check_real("b", b)
    n = check_int("n", n, minimum=100, maximum=100_000_000,
                  why="three float arrays of n samples must fit this machine's memory")
    rng = check_generator("rng", rng)
    x, t = data.draw(n, rng=rng)
    y = w * x + b
    plus = t == data.target_plus
    h2 = np.where(plus, comp.d2H(y, data.target_plus), comp.d2H(y, data.target_minus))
    if not np.all(np.isfinite(h2)):
        raise ValueError(f"the curvature of {comp.label} is not finite at (w, b) = ({w}, {b})")
    hww, hwb, hbb = float(np.mean(h2 * x * x)), float(np.mean(h2 * x)), float(np.mean(h2))
    return np.array([[hww, hwb], [hwb, hbb]])
