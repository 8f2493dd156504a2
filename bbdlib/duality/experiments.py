"""The five experiments of Sec. 7 of [B] (Figures 1–5) and the k(n) sweep, end to end.

Each experiment: train the toy model to learning equilibrium by SGD (eq. (2.3)), draw
inputs of each class at the equilibrium (w, b), map them to jumps q̇′ (eq. (5.7)), choose
the fitting range by the rule of :func:`bbdlib.duality.density.fit_window` (stated before
any fit), fit the whole distribution of |q̇′| by truncated power-law maximum likelihood with
a bootstrap interval, and measure the exponent of the Jacobian contribution |dy/dq̇′|
(the paper's red dots) over the same range.  The chapters only call these functions and
show the results.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from scipy.stats import ks_2samp

from bbdlib.duality.density import critical_window, exact_density, fit_window
from bbdlib.duality.jumps import JumpMap, JumpSample
from bbdlib.duality.toy_model import TWO_CLASSES, Composition, rotation_angle
from bbdlib.duality.training import TrainingResult, accuracy, equilibrium_jumps, train_sgd
from bbdlib.powerlaw import PowerLawFit, fit_truncated_powerlaw, log_binned_density
from bbdlib.validate import check_choice, check_generator, check_int, check_real

__all__ = ["FIGURES", "PAPER_K", "WINDOW_RULES", "ClassResult", "FigureResult",
           "figure_composition", "linear_least_squares", "run_experiment", "analyse_class",
           "slope_allowance", "JumpComparison", "compare_actual_and_potential_jumps",
           "plot_experiment", "plot_figure", "MIN_DECADES", "WINDOW_TOL"]

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
#: Relative accuracy of the asymptotic composition defining the fitting range
WINDOW_TOL = 0.1
#: A fitting range narrower than this is reported as "no power-law range"
MIN_DECADES = 1.0
#: The two rules for the fitting range: where the composition has its asymptotic form
#: (:func:`bbdlib.duality.density.fit_window`, the Figures chapter) and at the critical
#: point (:func:`bbdlib.duality.density.critical_window`, the k(n) sweep)
WINDOW_RULES = ("asymptotic", "critical")


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
    """

    sample: JumpSample
    window: tuple[float, float] | None
    fit: PowerLawFit | None
    k_jacobian: float
    note: str = ""

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
        text = f"{self.fit.k:.{digits}f}"
        if interval:
            text += f" [{self.fit.ci_low:.{digits}f}, {self.fit.ci_high:.{digits}f}]"
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
                  window_rule: str = "asymptotic", window_tol: float = WINDOW_TOL) -> ClassResult:
    """Sample the jumps of one class, choose the range by the stated rule, fit.

    Parameters
    ----------
    comp : Composition
    w, b : float
        The (equilibrium) parameters.
    cls : {'-', '+'}
    n_samples : int
        Inputs drawn from the class.
    gamma : float
        Learning rate γ.
    theta_rule : str
        Rule for θ± (:func:`bbdlib.duality.toy_model.rotation_angle`).
    rng : numpy.random.Generator or int
        Randomness of the samples and of the bootstrap.
    n_boot : int
        Bootstrap resamples of the fit.
    window_rule : {"asymptotic", "critical"}
        The fitting-range rule (``WINDOW_RULES``).
    window_tol : float
        Relative tolerance of the approximations behind the rule.

    Returns
    -------
    ClassResult
    """
    rng = check_generator("rng", rng)
    check_choice("window_rule", window_rule, WINDOW_RULES)
    theta = rotation_angle(theta_rule, cls, w, b)
    jm = JumpMap(comp, w, b, cls, gamma, theta)
    s = jm.sample(n_samples, rng=rng)
    aq = s.abs_qdot
    if aq.size < 100 or aq.max() <= aq.min() * (1 + 1e-9):
        return ClassResult(s, None, None, float("nan"),
                           note="degenerate: fewer than 100 non-zero jumps, or all jumps equal")
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


def run_experiment(comp: Composition, *, gamma: float, n_samples: int, steps: int,
                   replicas: int, batch: int, rng: np.random.Generator | int,
                   theta_rule: str = "class_mean", n_boot: int = 200,
                   fixed_wb: tuple[float, float] | None = None, label: str = "",
                   window_rule: str = "asymptotic", window_tol: float = WINDOW_TOL,
                   n_accuracy: int = 400_000) -> FigureResult:
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
    window_rule : {"asymptotic", "critical"}
        The fitting-range rule (see :func:`analyse_class`).
    window_tol : float
        Relative tolerance of the rule.
    n_accuracy : int
        Fresh inputs for the accuracy.

    Returns
    -------
    FigureResult
    """
    rng = check_generator("rng", rng)
    gamma = check_real("gamma", gamma, low=0.0, low_inclusive=False)
    n_samples = check_int("n_samples", n_samples, minimum=1)
    if fixed_wb is None:
        tr = train_sgd(comp, gamma=gamma, steps=steps, replicas=replicas, batch=batch, rng=rng)
        w, b = tr.w_mean, tr.b_mean
        note = ""
    else:
        tr = None
        w, b = (check_real("w", fixed_wb[0]), check_real("b", fixed_wb[1]))
        note = "fixed parameters (no SGD equilibrium exists)"
    acc = accuracy(comp, w, b, n=n_accuracy, rng=rng)
    classes = {c: analyse_class(comp, w, b, c, n_samples=n_samples, gamma=gamma,
                                theta_rule=theta_rule, rng=rng, n_boot=n_boot,
                                window_rule=window_rule, window_tol=window_tol) for c in "-+"}
    return FigureResult(label or comp.label, comp, gamma, w, b, acc, tr, classes, note)


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
        Exponents over the Figures chapter's range (NaN without a range).
    """

    cls: str
    w: float
    b: float
    n_actual: int
    n_potential: int
    ks: float
    k_actual: float
    k_potential: float


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
    distance of log|q̇′| and by the exponents over the range of
    :func:`bbdlib.duality.density.fit_window` (bootstrap seeded by ``fit_seed``).

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
    run = equilibrium_jumps(comp, w0, b0, gamma=gamma, steps=steps, thetas=thetas,
                            replicas=replicas, burn_in=burn_in, rng=rng)
    out = {}
    for cls in "-+":
        act = run.abs_nonzero(cls)
        jm = JumpMap(comp, run.w_avg, run.b_avg, cls, gamma, thetas[cls])
        pot = jm.sample(n_potential, rng=np.random.default_rng(potential_seed)).abs_qdot
        ks = float(ks_2samp(np.log(act), np.log(pot)).statistic)
        try:
            lo, hi = fit_window(jm, pot)
            ka = fit_truncated_powerlaw(act, lo, hi, rng=fit_seed, n_boot=n_boot).k
            kp = fit_truncated_powerlaw(pot, lo, hi, rng=fit_seed, n_boot=n_boot).k
        except ValueError:
            ka = kp = math.nan
        out[cls] = JumpComparison(cls=cls, w=run.w_avg, b=run.b_avg, n_actual=int(act.size),
                                  n_potential=int(pot.size), ks=ks, k_actual=ka, k_potential=kp)
    return out


def plot_experiment(res: FigureResult, axes, *, k_theory: float, bins: int = 70) -> None:
    """Panels (a) '−' and (b) '+': sample density (blue), Jacobian contribution (red),
    exact density (6.1) (black), theory slope (grey dashed), fitting range (shaded).

    Parameters
    ----------
    res : FigureResult
    axes : sequence of two matplotlib Axes
    k_theory : float
        Slope of the theory line.
    bins : int
        Logarithmic bins of the sample density.
    """
    from bbdlib.book.style import PAPER_COLORS as C

    for ax, cls, tag in zip(axes, "-+", "ab"):
        r = res.classes[cls]
        s = r.sample
        aq = s.abs_qdot
        n = s.qdot.size
        lo_q, hi_q = np.quantile(aq, [1e-5, 1 - 1e-5]) if aq.size > 1000 else (aq.min(), aq.max())
        c, d = log_binned_density(aq, bins, total=n, x_range=(lo_q, hi_q))
        ax.loglog(c, d, "o", ms=3, color=C["samples"], label="samples (density of |q̇′|)")
        grid = np.geomspace(lo_q, hi_q, 600)
        ed = exact_density(r.jump_map, grid)
        pos = ed.density > 0
        ax.loglog(grid[pos], ed.density[pos], "-", color=C["exact"], lw=1.2, label="exact (6.1)")
        # red dots: |dy/dq̇′| at a thinned subsample, scaled by the peak of p_y
        py_max = 1.0 / (r.jump_map.y_std * math.sqrt(2 * math.pi))
        idx = np.linspace(0, aq.size - 1, min(aq.size, 400)).astype(int)
        order = np.argsort(aq)[idx]
        jac = s.jacobian[s.active][order]
        ax.loglog(aq[order], py_max * jac, ".", ms=3, color=C["jacobian"],
                  label="Jacobian |dy/dq̇′| × max p_y")
        if r.window is not None:
            lo, hi = r.window
            ax.axvspan(lo, hi, color=C["fit_range"], alpha=0.45, lw=0, label="fitting range")
            xm = math.sqrt(lo * hi)
            ym = np.interp(math.log(xm), np.log(grid[pos]), ed.density[pos]) if pos.any() else 1.0
            xs = np.array([lo, hi])
            ax.loglog(xs, ym * (xs / xm) ** (-k_theory), "--", color=C["theory"], lw=1.5,
                      label=f"theory slope, k = {k_theory:.3g}")
        ax.set_xlabel("|q̇′|")
        ax.set_ylabel("density")
        ax.set_title(f"({tag}) '{'−' if cls == '-' else '+'}' class")
        finite = d[d > 0]
        ax.set_ylim(finite.min() / 10, finite.max() * 10)
    axes[0].legend(loc="best")


def plot_figure(res: FigureResult, figure: int, *, k_theory: float):
    """One of Figures 1–5 of [B] redrawn: both panels of :func:`plot_experiment` with a title.

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

    fig, axes = plt.subplots(1, 2, figsize=(10, 3.9))
    plot_experiment(res, axes, k_theory=k_theory)
    fig.suptitle(f"Figure {figure}: {res.comp.label}  (w = {res.w:.3f}, b = {res.b:.3f})", fontsize=11)
    fig.tight_layout()
    return fig
