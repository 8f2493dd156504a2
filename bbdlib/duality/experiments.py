"""The five experiments of Sec. 7 of [B] (Figures 1–5) and the k(n) sweep, end to end.

Each experiment: train the toy model to learning equilibrium by SGD (eq. (2.3)), draw
inputs of each class at the equilibrium (w, b), map them to jumps q̇′ (eq. (5.7)), choose
the fitting range by the rule of :func:`bbdlib.duality.density.fit_window` (stated before
any fit), fit the whole distribution of |q̇′| by truncated power-law maximum likelihood with
a bootstrap interval, and measure the exponent of the Jacobian contribution |dy/dq̇′|
(the paper's red dots) over the same range.  The chapters only call these functions and
show the results.

Training, the streamed tail and every exponent measurement go through
:func:`bbdlib.duality.memo.memo_call`: chapters II.7 and II.8 share them (same seeds,
same compositions) through an on-disk store, with results bitwise identical to computing
them again.
"""
from __future__ import annotations

import copy
import math
import multiprocessing
import os
import time
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field

import numpy as np

from bbdlib.duality import analysis_plan as plan
from bbdlib.duality.analysis_plan import ExponentMeasurement, PlanWindow, measure_exponent, plan_window
from bbdlib.duality.density import critical_window, exact_density, fit_window
from bbdlib.duality.jumps import ImportanceProposal, JumpMap, JumpSample, StreamedJumps
from bbdlib.duality.memo import memo_call
from bbdlib.duality.toy_model import TWO_CLASSES, Composition, rotation_angle
from bbdlib.duality.training import (
    READINGS_EQ716,
    EquilibriumJumps,
    TrainingResult,
    accuracy,
    equilibrium_jumps,
    train_sgd,
)
from bbdlib.powerlaw import PowerLawFit, fit_truncated_powerlaw, log_binned_density
from bbdlib.validate import check_choice, check_generator, check_int, check_real

__all__ = ["FIGURES", "PAPER_K", "WINDOW_RULES", "ClassResult", "FigureResult",
           "figure_composition", "linear_least_squares", "run_experiment", "analyse_class",
           "slope_allowance", "JumpComparison", "compare_actual_and_potential_jumps",
           "plot_experiment", "plot_figure", "run_experiments", "ExperimentBatch", "idle_cores", "MIN_DECADES",
           "WINDOW_TOL", "experiment_rng",
           "jacobian_exponent", "jacobian_is_exact", "branch_jacobian", "exponent_claim_values",
           "format_k", "importance_band", "importance_fit"]

#: Figure number -> (activation, loss, n) as described in the text of Sec. 7 of [B]
FIGURES = {
    1: ("sigmoid", "mse", 2.0),
    2: ("sigmoid", "cross_entropy", 2.0),
    3: ("relu", "mse", 2.0),
    4: ("relu", "power", 4.0),
    5: ("piecewise_linear", "cross_entropy", 2.0),
}
#: The exponent each figure is said to show (text of Sec. 7)
PAPER_K = {1: 1.0, 2: 1.0, 3: 0.0, 4: 2.0 / 3.0, 5: 2.0}
#: Relative accuracy ε of the analysis plan (:mod:`bbdlib.duality.analysis_plan`)
WINDOW_TOL = plan.EPSILON
#: A fitting range narrower than this is reported as "no power-law range"
MIN_DECADES = plan.MIN_DECADES
#: The rules for the fitting range: ``"plan"``, the one analysis plan of every exponent claim
#: (:func:`bbdlib.duality.analysis_plan.plan_window`); kept for comparison only, the rules
#: used before it: where the composition has its asymptotic form
#: (:func:`bbdlib.duality.density.fit_window`, the whole exponential regime of the sigmoid)
#: and at the critical point (:func:`bbdlib.duality.density.critical_window`)
WINDOW_RULES = ("plan", "asymptotic", "critical")


def experiment_rng(seed: int, comp: Composition) -> np.random.Generator:
    """The generator of one experiment: the same for the same composition in every chapter,
    so that chapters II.7 and II.8 measure the same samples for the same composition.

    Parameters
    ----------
    seed : int
        The chapter's seed (>= 0).
    comp : Composition

    Returns
    -------
    numpy.random.Generator
    """
    seed = check_int("seed", seed, minimum=0)
    act = {"sigmoid": 1, "relu": 2, "piecewise_linear": 3}[comp.activation]
    loss = {"mse": 1, "cross_entropy": 2, "power": 3}[comp.loss]
    return np.random.default_rng([seed, act, loss, int(round(100 * comp.n))])


def format_k(value: float, digits: int = 3, *, missing: str = "—") -> str:
    """An exponent as text with ``digits`` decimals, never "-0.000" (a rounded zero has no sign).

    Parameters
    ----------
    value : float
    digits : int
        Decimals (>= 0).
    missing : str
        The text for NaN.

    Returns
    -------
    str
    """
    digits = check_int("digits", digits, minimum=0)
    if not math.isfinite(float(value)):
        return missing
    text = f"{float(value):.{digits}f}"
    return text[1:] if text.startswith("-") and float(text) == 0.0 else text


def _stream(jump_map: JumpMap, n: int, *, rng: np.random.Generator, keep: tuple[float, float]) -> StreamedJumps:
    """``jump_map.stream(n, rng=rng, keep=keep)`` as a function of the map (for :func:`memo_call`)."""
    return jump_map.stream(n, rng=rng, keep=keep)


def jacobian_is_exact(jump_map: JumpMap) -> bool:
    """Whether the Jacobian exponent is exact algebra: '−' class at θ₋ = π/2 (x¹cos θ + sin θ
    = 1) with ReLU or the piece-wise linear f, where the composition is exactly the power or
    logarithm of (7.14)/(7.17) on the active piece, so |dy/dq̇′| ∝ |q̇′|^-k identically.

    Parameters
    ----------
    jump_map : JumpMap

    Returns
    -------
    bool
    """
    return (jump_map.composition.activation != "sigmoid"
            and abs(math.cos(jump_map.theta)) < 1e-12 and math.sin(jump_map.theta) > 0)


def branch_jacobian(jump_map: JumpMap, q) -> np.ndarray:
    """Σ_b |dy/dq̇′|_b at |q̇′| = ``q``: the Jacobian factor of (6.1) summed over the branches
    (what the density would be, per unit p_y, if p_y were flat).

    Parameters
    ----------
    jump_map : JumpMap
    q : array_like
        Positive |q̇′|.

    Returns
    -------
    ndarray
    """
    ed = exact_density(jump_map, q)
    if ed.branch_jacobian.shape[0] == 0:
        return np.zeros(ed.points.size)
    return np.nansum(ed.branch_jacobian, axis=0)


def jacobian_exponent(jump_map: JumpMap, window: tuple[float, float], n_points: int = 200) -> float:
    """Least-squares slope −d log Σ_b|dy/dq̇′|_b / d log|q̇′| over ``window``, from the map alone.

    Parameters
    ----------
    jump_map : JumpMap
    window : (float, float)
    n_points : int
        Logarithmic grid points.

    Returns
    -------
    float
    """
    q = np.geomspace(window[0], window[1], check_int("n_points", n_points, minimum=3))
    j = branch_jacobian(jump_map, q)
    ok = j > 0
    if ok.sum() < 3:
        return float("nan")
    return -float(np.polyfit(np.log(q[ok]), np.log(j[ok]), 1)[0])


def figure_composition(figure: int) -> Composition:
    """The composition of Figure ``figure`` (1–5) of [B].

    Parameters
    ----------
    figure : int
        One of 1–5 (``FIGURES``).

    Returns
    -------
    Composition
    """
    if isinstance(figure, bool):
        raise TypeError(f"figure must be an integer 1-5, got {figure!r}")
    figure = check_choice("figure", figure, FIGURES)
    act, loss, n = FIGURES[figure]
    return Composition(act, loss, n)


def linear_least_squares() -> tuple[float, float]:
    """(w, b) = (0.8, 0.1) of the least-squares line of x² on x¹ for the data set (7.2)–(7.3).

    The learning equilibrium of the linear network f = y with the loss (7.5)
    (:meth:`bbdlib.duality.toy_model.TwoClassData.least_squares_line`), used for Fig. 5.

    Returns
    -------
    (w, b) : (float, float)
    """
    return TWO_CLASSES.least_squares_line()


def slope_allowance(decades: float, rel: float = 0.1) -> float:
    """The largest tilt that factors varying by ±``rel`` can give a log-log slope over
    ``decades`` decades: log10((1 + rel)/(1 − rel)) / decades.

    Parameters
    ----------
    decades : float
        Width of the range (> 0).
    rel : float
        Relative variation, in (0, 1).

    Returns
    -------
    float
    """
    decades = check_real("decades", decades, low=0.0, low_inclusive=False)
    rel = check_real("rel", rel, low=0.0, high=1.0, low_inclusive=False, high_inclusive=False)
    return math.log10((1 + rel) / (1 - rel)) / decades


@dataclass(frozen=True)
class ClassResult:
    """The analysis of one class of one experiment (panel (a) '−' or (b) '+').

    Attributes
    ----------
    sample : JumpSample
        The jumps (with their :class:`~bbdlib.duality.jumps.JumpMap`).
    window : (float, float) or None
        The fitting range of |q̇′|, None if there is none.
    fit : PowerLawFit or None
        Maximum-likelihood exponent of the whole distribution over the range.
    k_jacobian : float
        Least-squares exponent of the Jacobian contribution |dy/dq̇′| over the range.
    note : str
        Why there is no range, if there is none.
    plan : PlanWindow or None
        The analysis plan's window and the quality of its approximations (rule ``"plan"``).
    measurement : ExponentMeasurement or None
        KS, half-window fits and edge scan of the fit (rule ``"plan"``).
    streamed : StreamedJumps or None
        The streamed sample the fit used, when more inputs were streamed than kept.
    """

    sample: JumpSample
    window: tuple[float, float] | None
    fit: PowerLawFit | None
    k_jacobian: float
    note: str = ""
    plan: PlanWindow | None = None
    measurement: ExponentMeasurement | None = None
    streamed: StreamedJumps | None = None

    @property
    def jacobian_exact(self) -> bool:
        """Whether the Jacobian exponent is exact algebra (:func:`jacobian_is_exact`)."""
        return jacobian_is_exact(self.jump_map)

    @property
    def n_inputs(self) -> int:
        """Inputs behind the fit (streamed ones included)."""
        return self.streamed.n if self.streamed is not None else int(self.sample.qdot.size)

    @property
    def jump_map(self) -> JumpMap:
        """The jump map of the class."""
        return self.sample.jump_map

    @property
    def cls(self) -> str:
        """The class, '-' or '+'."""
        return self.jump_map.cls

    @property
    def theta(self) -> float:
        """The rotation angle θ± used."""
        return self.jump_map.theta

    @property
    def decades(self) -> float:
        """Width of the fitting range in decades (0 without a range)."""
        return math.log10(self.window[1] / self.window[0]) if self.window else 0.0

    @property
    def has_range(self) -> bool:
        """Whether the range spans at least ``MIN_DECADES``."""
        return self.window is not None and self.decades >= MIN_DECADES

    def fit_text(self, digits: int = 3, *, interval: bool = False, missing: str = "—") -> str:
        """The fitted exponent as text, e.g. ``0.998`` or ``0.998 [0.990, 1.006]``.

        Parameters
        ----------
        digits : int
            Decimals.
        interval : bool
            Append the bootstrap interval.
        missing : str
            The text when there is no fit.

        Returns
        -------
        str
        """
        if self.fit is None:
            return missing
        text = format_k(self.fit.k, digits)
        if interval:
            text += f" [{format_k(self.fit.ci_low, digits)}, {format_k(self.fit.ci_high, digits)}]"
        return text


@dataclass(frozen=True)
class FigureResult:
    """One experiment: the composition, its equilibrium and both classes.

    Attributes
    ----------
    label : str
    comp : Composition
    gamma : float
        Learning rate γ.
    w, b : float
        The equilibrium (or fixed) parameters.
    accuracy : float
        Accuracy at (w, b) on fresh inputs.
    training : TrainingResult or None
        None when the parameters were fixed.
    classes : dict
        ``{'-': ClassResult, '+': ClassResult}``.
    equilibrium_note : str
    """

    label: str
    comp: Composition
    gamma: float
    w: float
    b: float
    accuracy: float
    training: TrainingResult | None
    classes: dict = field(default_factory=dict)
    equilibrium_note: str = ""


def analyse_class(comp: Composition, w: float, b: float, cls: str, *, n_samples: int,
                  gamma: float, theta_rule: str = "class_mean",
                  rng: np.random.Generator | int, n_boot: int = 200,
                  window_rule: str = "plan", window_tol: float = WINDOW_TOL,
                  n_stream: int = 0) -> ClassResult:
    """Sample the jumps of one class, choose the range by the stated rule, fit.

    Parameters
    ----------
    comp : Composition
    w, b : float
        The (equilibrium) parameters.
    cls : {'-', '+'}
    n_samples : int
        Inputs drawn from the class (kept in memory, for the figures).
    gamma : float
        Learning rate γ.
    theta_rule : str
        Rule for θ± (:func:`bbdlib.duality.toy_model.rotation_angle`).
    rng : numpy.random.Generator or int
        Randomness of the samples and of the bootstrap.
    n_boot : int
        Bootstrap resamples of the fit.
    window_rule : {"plan", "asymptotic", "critical"}
        The fitting-range rule (``WINDOW_RULES``).
    window_tol : float
        Relative tolerance ε of the approximations behind the rule.
    n_stream : int
        With the rule ``"plan"``: if larger than ``n_samples``, stream this many inputs
        (:meth:`bbdlib.duality.jumps.JumpMap.stream`, constant memory) and fit those;
        the band kept is the plan's window of the map alone (conditions 1–3, the data edges
        widened by 10³ below and 10⁶ above those of ``n_samples``) widened by 10 %, and the
        window is then the plan's window at the streamed data edges (condition 4), which
        must lie inside the band (else no window).

    Returns
    -------
    ClassResult
    """
    rng = check_generator("rng", rng)
    check_choice("window_rule", window_rule, WINDOW_RULES)
    n_stream = check_int("n_stream", n_stream, minimum=0)
    # the accuracy ε of the plan, in (0, 1): refused here, not reported as "no window" below
    window_tol = check_real("window_tol", window_tol, low=0.0, high=1.0, low_inclusive=False,
                            high_inclusive=False)
    theta = rotation_angle(theta_rule, cls, w, b)
    jm = JumpMap(comp, w, b, cls, gamma, theta)
    # the plan takes the Jacobian from the map, the older rules from the samples
    s = jm.sample(n_samples, rng=rng, jacobian=window_rule != "plan")
    aq = s.abs_qdot
    if aq.size < 250 or aq.max() <= aq.min() * (1 + 1e-9):
        return ClassResult(s, None, None, float("nan"),
                           note="degenerate: fewer than 250 non-zero jumps, or all jumps equal")
    if window_rule == "plan":
        try:
            streamed = None
            pw = plan_window(jm, aq, eps=window_tol)
            data = aq
            if n_stream > n_samples:
                band = plan_window(jm, data_edges=(pw.data_low * 1e-3, pw.data_high * 1e6), eps=window_tol)
                # kept: the band widened by 10 % each way (the two windows sit on different grids)
                keep = (band.x_min / 1.1, band.x_max * 1.1)
                streamed = memo_call(_stream, jm, n_stream, rng=rng, keep=keep)
                pw = plan_window(jm, data_edges=streamed.data_edges(), eps=window_tol)
                if pw.x_min < keep[0] or pw.x_max > keep[1]:
                    raise ValueError("the streamed window lies outside the kept band")
                data = streamed.kept
            edge = "low" if pw.rule_edge == "low" else "high"
            meas = memo_call(measure_exponent, data, (pw.x_min, pw.x_max), rng=rng, scanned_edge=edge,
                             limits=(pw.data_low, pw.data_high), n_boot=n_boot, eps=window_tol)
        except ValueError as exc:
            return ClassResult(s, None, None, float("nan"), note=str(exc))
        k_j = jacobian_exponent(jm, (pw.x_min, pw.x_max))
        return ClassResult(s, (pw.x_min, pw.x_max), meas.fit, k_j, plan=pw, measurement=meas,
                           streamed=streamed)
    window = fit_window if window_rule == "asymptotic" else critical_window
    try:
        lo, hi = window(jm, aq, tol=window_tol)
        fit = fit_truncated_powerlaw(aq, lo, hi, rng=rng, n_boot=n_boot)
    except ValueError as exc:  # e.g. all jumps equal: no range to fit
        return ClassResult(s, None, None, float("nan"), note=str(exc))
    sel = (aq >= lo) & (aq <= hi)
    jac = s.jacobian[s.active][sel]
    # the red dots are a deterministic curve: least squares of log J on log|q̇′|
    k_j = -float(np.polyfit(np.log(aq[sel]), np.log(jac), 1)[0])
    return ClassResult(s, (lo, hi), fit, k_j)


def importance_band(jump_map: JumpMap, q_low: float) -> tuple[float, float]:
    """The band of y around the singular point y* where |q̇′| ≥ ``q_low``: (y* − δ, y* + δ) with
    δ the largest distance from y* (on either side, walking out from y*) at which |q̇′| still
    reaches ``q_low`` (the proposal band of :class:`bbdlib.duality.jumps.ImportanceProposal`).

    Parameters
    ----------
    jump_map : JumpMap
        ReLU or piece-wise linear f (a finite y*).
    q_low : float
        The smallest |q̇′| of interest (> 0), e.g. a window's lower edge.

    Returns
    -------
    (float, float)
    """
    if not isinstance(jump_map, JumpMap):
        raise TypeError(f"jump_map must be a JumpMap, got {type(jump_map).__name__}")
    q_low = check_real("q_low", q_low, low=0.0, low_inclusive=False)
    ys = jump_map.critical_point()
    d = np.geomspace(1e-12, 1.0, 4000)
    delta = 0.0
    for side in (-1.0, 1.0):
        with np.errstate(divide="ignore", invalid="ignore"):
            q = np.abs(jump_map.qdot_of_y(ys + side * d))
        reach = np.isfinite(q) & (q >= q_low)
        if not reach[0]:
            continue
        stop = np.flatnonzero(~reach)
        delta = max(delta, float(d[stop[0]] if stop.size else d[-1]))
    if delta == 0.0:
        raise ValueError(f"q_low = {q_low:g}: |q̇′| does not reach it next to y* = {ys:g}")
    return ys - delta, ys + delta


def importance_fit(r: ClassResult, n: int, *, rng: np.random.Generator | int, mix: float = 0.5,
                   n_boot: int = plan.N_BOOT) -> tuple[ImportanceProposal, PowerLawFit]:
    """The exponent of a class over its window, again, from importance samples near y*.

    ``n`` draws of :class:`bbdlib.duality.jumps.ImportanceProposal` (the class's p_y mixed
    with a uniform band around y*, :func:`importance_band` of the window's lower edge), fitted
    over the same window by the weighted MLE (exact weights, 95 % bootstrap interval): an
    estimate of the same exponent independent of the streamed one.

    Parameters
    ----------
    r : ClassResult
        With a window (e.g. Fig. 5's classes).
    n : int
        Draws of the proposal.
    rng : numpy.random.Generator or int
    mix : float
        The band's share of the proposal, in (0, 1).
    n_boot : int
        Bootstrap resamples.

    Returns
    -------
    (ImportanceProposal, PowerLawFit)
    """
    if not isinstance(r, ClassResult):
        raise TypeError(f"r must be a ClassResult, got {type(r).__name__}")
    if r.window is None:
        raise ValueError(f"r has no window ({r.note})")
    rng = check_generator("rng", rng)
    prop = ImportanceProposal(r.jump_map, importance_band(r.jump_map, r.window[0] / 1.1), mix=mix)
    s = prop.sample(n, rng=rng)
    return prop, fit_truncated_powerlaw(s.abs_qdot, *r.window, rng=rng, n_boot=n_boot, weights=s.weights)


def exponent_claim_values(r: ClassResult, k_theory: float) -> dict:
    """The ``expected``/``measured``/``tolerance`` of a whole-distribution exponent claim under
    the analysis plan (:mod:`bbdlib.duality.analysis_plan`), the same in every chapter.

    Numbers when the plan can compare them (a window of at least ``MIN_DECADES`` on which the
    half-window fits agree): expected k, measured k, tolerance (slope allowance + bootstrap
    half-width) and the interval; otherwise text saying why not ("no power-law range",
    "no window", "halves … differ"), which records the claim as not reproduced.

    Parameters
    ----------
    r : ClassResult
        Analysed with the rule ``"plan"``.
    k_theory : float
        The paper's exponent.

    Returns
    -------
    dict
        Keyword arguments for :meth:`bbdlib.book.claims.Ledger.assess`.
    """
    if not isinstance(r, ClassResult):
        raise TypeError(f"r must be a ClassResult, got {type(r).__name__}")
    return plan.claim_values(k_theory, measurement=r.measurement)   # no measurement: "no window"


def run_experiment(comp: Composition, *, gamma: float, n_samples: int, steps: int,
                   replicas: int, batch: int, rng: np.random.Generator | int,
                   theta_rule: str = "class_mean", n_boot: int = 200,
                   fixed_wb: tuple[float, float] | None = None, label: str = "",
                   window_rule: str = "plan", window_tol: float = WINDOW_TOL,
                   n_accuracy: int = 400_000, clip_norm: float | None = None,
                   n_stream: int = 0, reading: str = "literal") -> FigureResult:
    """Train to equilibrium (unless ``fixed_wb`` is given) and analyse both classes.

    Parameters
    ----------
    comp : Composition
    gamma : float
        Learning rate γ.
    n_samples : int
        Inputs drawn per class.
    steps, replicas, batch : int
        SGD steps, replicas and mini-batch size (:func:`bbdlib.duality.training.train_sgd`).
    rng : numpy.random.Generator or int
        One stream for training, accuracy, samples and bootstrap, in that order.
    theta_rule : str
        Rule for θ±.
    n_boot : int
        Bootstrap resamples per fit.
    fixed_wb : (float, float), optional
        Use these parameters instead of training.
    label : str
        Label of the result (default: the composition's).
    window_rule : {"plan", "asymptotic", "critical"}
        The fitting-range rule (see :func:`analyse_class`).
    window_tol : float
        Relative tolerance of the rule.
    n_accuracy : int
        Fresh inputs for the accuracy.
    clip_norm : float, optional
        Per-sample gradient-norm clipping of the training (:func:`bbdlib.duality.training.train_sgd`).
    n_stream : int
        Inputs streamed per class for the fit (:func:`analyse_class`).
    reading : {"literal", "hard_sigmoid"}
        The reading of (7.16) for the accuracy (:func:`bbdlib.duality.training.accuracy`).

    Returns
    -------
    FigureResult
    """
    rng = check_generator("rng", rng)
    gamma = check_real("gamma", gamma, low=0.0, low_inclusive=False)
    n_samples = check_int("n_samples", n_samples, minimum=1)
    # validated before any training (a bad value would otherwise fail only after it)
    if clip_norm is not None:
        clip_norm = check_real("clip_norm", clip_norm, low=0.0, low_inclusive=False)
    reading = check_choice("reading", reading, READINGS_EQ716)
    window_tol = check_real("window_tol", window_tol, low=0.0, high=1.0, low_inclusive=False,
                            high_inclusive=False)
    if fixed_wb is None:
        tr = memo_call(train_sgd, comp, gamma=gamma, steps=steps, replicas=replicas, batch=batch, rng=rng,
                       clip_norm=clip_norm)
        w, b = tr.w_mean, tr.b_mean
        note = ""
    else:
        tr = None
        w, b = (check_real("w", fixed_wb[0]), check_real("b", fixed_wb[1]))
        note = "fixed parameters (no SGD equilibrium exists)"
    acc = accuracy(comp, w, b, n=n_accuracy, rng=rng, reading=reading)
    classes = {c: analyse_class(comp, w, b, c, n_samples=n_samples, gamma=gamma,
                                theta_rule=theta_rule, rng=rng, n_boot=n_boot,
                                window_rule=window_rule, window_tol=window_tol,
                                n_stream=n_stream) for c in "-+"}
    return FigureResult(label or comp.label, comp, gamma, w, b, acc, tr, classes, note)


def _timed_experiment(kwargs: dict) -> tuple:
    t0, c0 = time.perf_counter(), time.process_time()
    res = run_experiment(**kwargs)
    return res, time.perf_counter() - t0, time.process_time() - c0


@dataclass(frozen=True)
class ExperimentBatch:
    """Results of :func:`run_experiments`.

    Attributes
    ----------
    results : dict
        ``{key: FigureResult}`` in the order of the jobs.
    wall, cpu : dict
        ``{key: seconds}``: wall-clock and CPU time of each experiment in its process.
    workers : int
        The number of processes used.
    """

    results: dict
    wall: dict
    cpu: dict
    workers: int


def idle_cores() -> int:
    """Cores not busy with other work: the cores this process may use minus the 1-minute load
    average that is not this process's own (it counts as one), rounded, at least 1.  Extra
    processes on busy cores only compete (e.g. when a sweep already runs one chapter per core),
    and each costs its start-up and the transfer of its results.

    Returns
    -------
    int
    """
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    try:
        load = os.getloadavg()[0]
    except OSError:
        load = 0.0
    return max(1, min(cores, int(round(cores - max(0.0, load - 1.0)))))


def run_experiments(jobs: dict, *, workers: int = 1) -> ExperimentBatch:
    """:func:`run_experiment` for every job, in up to ``workers`` processes.

    Each experiment draws only from its own generator (e.g.
    :func:`experiment_rng`), so the results are bitwise the same for any number of
    workers; they only finish sooner on several cores.  Inside a daemonic process (a Dask or
    multiprocessing worker, which may not have children) the jobs run one after another.
    Every job runs on a copy of its arguments, so the generators in ``jobs`` are not advanced
    (unlike a direct call of :func:`run_experiment`) and the same ``jobs`` can be run again.

    Parameters
    ----------
    jobs : dict
        ``{key: keyword arguments of run_experiment}`` (including ``comp`` and ``rng``).
    workers : int
        Processes (>= 1): at most this many, the number of jobs and :func:`idle_cores`
        are started.

    Returns
    -------
    ExperimentBatch
    """
    if not isinstance(jobs, dict) or not jobs:
        raise TypeError(f"jobs must be a non-empty dict of run_experiment keyword arguments, got {jobs!r:.80}")
    for key, kw in jobs.items():
        if not isinstance(kw, dict) or "comp" not in kw or "rng" not in kw:
            raise TypeError(f"jobs[{key!r}] must be a dict of run_experiment keyword arguments with 'comp' and 'rng'")
    workers = check_int("workers", workers, minimum=1, maximum=max(64, os.cpu_count() or 1))
    n = min(workers, len(jobs), idle_cores())
    if n == 1 or multiprocessing.current_process().daemon:
        # copies, as the processes get: the generators in ``jobs`` are never advanced
        out = {k: _timed_experiment(copy.deepcopy(kw)) for k, kw in jobs.items()}
        n = 1
    else:
        # spawn, not fork: a Jupyter kernel has threads, which fork does not copy safely
        ctx = multiprocessing.get_context("spawn")
        try:
            with ProcessPoolExecutor(max_workers=n, mp_context=ctx) as pool:
                futures = {k: pool.submit(_timed_experiment, kw) for k, kw in jobs.items()}
                out = {k: f.result() for k, f in futures.items()}
        except BrokenProcessPool:
            # a worker could not start or died (e.g. a script without the ``if __name__ ==
            # "__main__"`` guard that spawn needs): the same jobs in this process, where a real
            # error is raised where it happens
            out = {k: _timed_experiment(copy.deepcopy(kw)) for k, kw in jobs.items()}
            n = 1
    return ExperimentBatch(results={k: v[0] for k, v in out.items()}, wall={k: v[1] for k, v in out.items()},
                           cpu={k: v[2] for k, v in out.items()}, workers=n)


@dataclass(frozen=True)
class JumpComparison:
    """Actual SGD changes of q′ against potential jumps, one class (Sec. 7 of [B]).

    Attributes
    ----------
    cls : str
    w, b : float
        Parameters averaged over the M = 1 run (where the potential jumps are drawn).
    n_actual, n_potential : int
        Numbers of non-zero actual changes and potential jumps.
    ks : float
        Two-sample Kolmogorov–Smirnov distance of log|q̇′|.
    k_actual, k_potential : float
        Exponents over the analysis plan's window of the potential jumps
        (:func:`bbdlib.duality.analysis_plan.plan_window`; NaN without a window).
    run : EquilibriumJumps or None
        The M = 1 run itself (drift and fluctuation of (w, b) included).
    """

    cls: str
    w: float
    b: float
    n_actual: int
    n_potential: int
    ks: float
    k_actual: float
    k_potential: float
    run: EquilibriumJumps | None = None


def compare_actual_and_potential_jumps(comp: Composition, w0: float, b0: float, *, gamma: float,
                                       steps: int, thetas: dict, replicas: int, burn_in: int,
                                       rng: np.random.Generator | int, potential_seed,
                                       fit_seed: int, n_potential: int = 400_000,
                                       n_boot: int = 50) -> dict[str, JumpComparison]:
    """Compare the actual changes of q′ at equilibrium with the potential jumps (Sec. 7 of [B]).

    The actual changes are those of :func:`bbdlib.duality.training.equilibrium_jumps`
    (M = 1 SGD from (w0, b0)); the potential jumps of each class are ``n_potential`` samples
    of the jump map at the averaged parameters of that run, drawn with a fresh generator
    ``numpy.random.default_rng(potential_seed)`` per class.  Both are compared by the KS
    distance of log|q̇′| and by the exponents over the analysis plan's window of the potential
    jumps (:func:`bbdlib.duality.analysis_plan.plan_window`; bootstrap seeded by ``fit_seed``).

    Parameters
    ----------
    comp : Composition
    w0, b0 : float
        Equilibrium parameters to start from.
    gamma : float
    steps, replicas, burn_in : int
        Of the M = 1 run.
    thetas : dict
        θ± per class.
    rng : numpy.random.Generator or int
        Randomness of the M = 1 run.
    potential_seed
        Seed of the potential jumps (anything ``numpy.random.default_rng`` accepts).
    fit_seed : int
        Seed of each fit's bootstrap.
    n_potential : int
        Potential jumps per class.
    n_boot : int
        Bootstrap resamples per fit.

    Returns
    -------
    dict
        ``{'-': JumpComparison, '+': JumpComparison}``.
    """
    # imported here: scipy.stats takes about a second to import in every worker process
    from scipy.stats import ks_2samp

    run = equilibrium_jumps(comp, w0, b0, gamma=gamma, steps=steps, thetas=thetas,
                            replicas=replicas, burn_in=burn_in, rng=rng)
    out = {}
    for cls in "-+":
        act = run.abs_nonzero(cls)
        jm = JumpMap(comp, run.w_avg, run.b_avg, cls, gamma, thetas[cls])
        pot = jm.sample(n_potential, rng=np.random.default_rng(potential_seed)).abs_qdot
        ks = float(ks_2samp(np.log(act), np.log(pot)).statistic)
        try:
            pw = plan_window(jm, pot)
            lo, hi = pw.x_min, pw.x_max
            ka = fit_truncated_powerlaw(act, lo, hi, rng=fit_seed, n_boot=n_boot).k
            kp = fit_truncated_powerlaw(pot, lo, hi, rng=fit_seed, n_boot=n_boot).k
        except ValueError:
            ka = kp = math.nan
        out[cls] = JumpComparison(cls=cls, w=run.w_avg, b=run.b_avg, n_actual=int(act.size),
                                  n_potential=int(pot.size), ks=ks, k_actual=ka, k_potential=kp, run=run)
    return out


def plot_experiment(res: FigureResult, axes, *, k_theory: float, bins: int = 70,
                    scan_axes=None, theory_offset: float = 3.0) -> None:
    """Panels (a) '−' and (b) '+': sample density (blue), Jacobian contribution summed over
    branches (red), exact density (6.1) (black), theory slope offset above the data over the
    whole window (grey dashed), fitting window (shaded); the legend gives the fitted k, the
    Jacobian k and θ±.  With ``scan_axes``, the fitted k against the window's outer edge.

    Parameters
    ----------
    res : FigureResult
    axes : sequence of two matplotlib Axes
    k_theory : float
        Slope of the theory line.
    bins : int
        Logarithmic bins of the sample density.
    scan_axes : sequence of two matplotlib Axes, optional
        Where to draw k against the scanned edge of the window.
    theory_offset : float
        The theory line passes ``theory_offset`` times above the higher of the exact density
        and the red dots at the window's geometric middle (so it is never hidden under them).
    """
    from bbdlib.book.style import PAPER_COLORS as C

    for i, (ax, cls, tag) in enumerate(zip(axes, "-+", "ab")):
        r = res.classes[cls]
        s = r.sample
        aq = s.abs_qdot
        n = s.qdot.size
        lo_q, hi_q = np.quantile(aq, [1e-5, 1 - 1e-5]) if aq.size > 1000 else (aq.min(), aq.max())
        if r.streamed is not None and r.window is not None:
            hi_q = max(hi_q, r.window[1])
        c, d = log_binned_density(aq, bins, total=n, x_range=(lo_q, hi_q))
        ax.loglog(c, d, "o", ms=3, color=C["samples"], label=f"samples ({n:,} inputs)")
        if r.streamed is not None and r.streamed.kept.size > 10:
            st = r.streamed
            inw = st.kept[(st.kept >= r.window[0]) & (st.kept <= r.window[1])]
            c2, d2 = log_binned_density(inw, 25, total=st.n, x_range=r.window)
            ax.loglog(c2, d2, "s", ms=3.5, mfc="none", color=C["samples"],
                      label=f"streamed, in the window ({st.n:,} inputs)")
        grid = np.geomspace(lo_q, hi_q, 600)
        ed = exact_density(r.jump_map, grid)
        pos = ed.density > 0
        ax.loglog(grid[pos], ed.density[pos], "-", color=C["exact"], lw=1.2, label="exact density (6.1)")
        # red dots: Σ_b |dy/dq̇′|_b × max p_y — the density if p_y were flat at its peak
        py_max = 1.0 / (r.jump_map.y_std * math.sqrt(2 * math.pi))
        gj = np.geomspace(lo_q, hi_q, 90)
        jac = branch_jacobian(r.jump_map, gj)
        okj = jac > 0
        kj = format_k(r.k_jacobian, 3)
        ax.loglog(gj[okj], py_max * jac[okj], ".", ms=4, color=C["jacobian"],
                  label=f"Σ branches |dy/dq̇′| × max p_y: k = {kj}")
        th = f"θ{'₋' if cls == '-' else '₊'} = {r.theta:.4f}"
        if r.window is not None:
            lo, hi = r.window
            fit_lab = f"fit k = {r.fit_text(3, interval=True)}, {r.decades:.2f} dec."
            ax.axvspan(lo, hi, color=C["fit_range"], alpha=0.45, lw=0, label=f"window: {fit_lab}")
            xm = math.sqrt(lo * hi)
            g2 = np.geomspace(lo, hi, 50)
            e2 = exact_density(r.jump_map, g2).density
            ok2 = e2 > 0
            if ok2.any():
                ym = math.exp(np.interp(math.log(xm), np.log(g2[ok2]), np.log(e2[ok2])))
                # above the red dots too (they sit above the density where p_y is below its peak)
                jm_ = py_max * branch_jacobian(r.jump_map, g2)
                okj2 = jm_ > 0
                if okj2.any():
                    ym = max(ym, math.exp(np.interp(math.log(xm), np.log(g2[okj2]), np.log(jm_[okj2]))))
                xs = np.geomspace(lo, hi, 20)
                ax.loglog(xs, theory_offset * ym * (xs / xm) ** (-k_theory), "--", color=C["theory"], lw=1.8,
                          zorder=5, label=f"paper's k = {k_theory:.3g} (offset ×{theory_offset:g}); {th}")
        else:
            ax.plot([], [], " ", label=f"no window ({th})")
        ax.set_xlabel("|q̇′|")
        ax.set_ylabel("density")
        ax.set_title(f"({tag}) '{'−' if cls == '-' else '+'}' class")
        finite = d[d > 0]
        ax.set_ylim(finite.min() / 10, finite.max() * 30)
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.2), fontsize=9, frameon=False)
        if scan_axes is not None:
            sa = scan_axes[i]
            m = r.measurement
            if m is not None and m.edge_scan:
                e, k = np.array(m.edge_scan).T
                sa.semilogx(e, k, "o-", ms=3, color=C["samples"])
                sa.axhline(k_theory, color=C["theory"], ls="--", lw=1)
                edge = r.window[1] if m.scanned_edge == "high" else r.window[0]
                sa.axvline(edge, color=C["exact"], lw=0.8, ls=":")
                sa.set_xlabel(f"window's {'upper' if m.scanned_edge == 'high' else 'lower'} edge")
                sa.set_ylabel("fitted k")
            else:
                sa.set_axis_off()


def plot_figure(res: FigureResult, figure: int, *, k_theory: float):
    """One of Figures 1–5 of [B] redrawn: both panels of :func:`plot_experiment` with a title,
    and below each the fitted k against the window's outer edge.

    Parameters
    ----------
    res : FigureResult
    figure : int
        The figure number (for the title).
    k_theory : float
        Slope of the theory line.

    Returns
    -------
    matplotlib.figure.Figure
    """
    import matplotlib.pyplot as plt

    from bbdlib.book.style import MAX_WIDTH_IN

    fig = plt.figure(figsize=(MAX_WIDTH_IN, 7.4))
    gs = fig.add_gridspec(3, 2, height_ratios=[3.0, 1.9, 1.2], hspace=0.15, wspace=0.38)
    axes = [fig.add_subplot(gs[0, j]) for j in range(2)]
    scan = [fig.add_subplot(gs[2, j]) for j in range(2)]
    plot_experiment(res, axes, k_theory=k_theory, scan_axes=scan)
    fig.suptitle(f"Figure {figure}: {res.comp.label}  (w = {res.w:.3f}, b = {res.b:.3f})", fontsize=11)
    return fig
