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

from bbdlib.duality.density import exact_density, fit_window
from bbdlib.duality.jumps import JumpSample, sample_jumps
from bbdlib.duality.toy_model import CLASS_MEAN, CLASS_STD, Composition, rotation_angle
from bbdlib.duality.training import TrainingResult, accuracy, train_sgd
from bbdlib.powerlaw import PowerLawFit, fit_truncated_powerlaw, log_binned_density
from bbdlib.validate import check_choice, check_generator, check_int, check_real

__all__ = ["FIGURES", "PAPER_K", "ClassResult", "FigureResult", "figure_composition",
           "linear_least_squares", "run_experiment", "analyse_class", "plot_experiment",
           "MIN_DECADES", "WINDOW_TOL"]

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


def figure_composition(figure: int) -> Composition:
    """The composition of Figure ``figure`` (1–5) of [B]."""
    figure = check_choice("figure", figure, FIGURES)
    act, loss, n = FIGURES[figure]
    return Composition(act, loss, n)


def linear_least_squares() -> tuple[float, float]:
    """(w, b) of the least-squares line of x² on x¹ for the dataset (7.2)–(7.3).

    w = cov(x¹, x²)/var(x¹) = (1/4) / (1/4 + 0.25²) = 0.8, b = ⟨x²⟩ − w⟨x¹⟩ = 0.1: the
    learning equilibrium of the linear network f = y with the loss (7.5).
    """
    mu_m, mu_p, s = CLASS_MEAN["-"], CLASS_MEAN["+"], CLASS_STD["-"]
    mean_x = 0.5 * (mu_m + mu_p)
    var_x = s * s + 0.25 * (mu_p - mu_m) ** 2
    cov = 0.25 * (mu_p - mu_m) * 1.0
    w = cov / var_x
    return w, 0.5 - w * mean_x


@dataclass(frozen=True)
class ClassResult:
    """The analysis of one class of one experiment (panel (a) '−' or (b) '+')."""

    cls: str
    theta: float
    sample: JumpSample
    window: tuple[float, float] | None
    fit: PowerLawFit | None
    k_jacobian: float
    note: str = ""

    @property
    def decades(self) -> float:
        return math.log10(self.window[1] / self.window[0]) if self.window else 0.0

    @property
    def has_range(self) -> bool:
        return self.window is not None and self.decades >= MIN_DECADES


@dataclass(frozen=True)
class FigureResult:
    """One experiment: the composition, its equilibrium and both classes."""

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
                  rng: np.random.Generator | int, n_boot: int = 200) -> ClassResult:
    """Sample, choose the range by the stated rule, fit; see the module docstring."""
    rng = check_generator("rng", rng)
    theta = rotation_angle(theta_rule, cls, w, b)
    s = sample_jumps(comp, w, b, cls, n_samples, gamma=gamma, theta=theta, rng=rng)
    aq = s.abs_qdot
    if aq.size < 100 or aq.max() <= aq.min() * (1 + 1e-9):
        return ClassResult(cls, theta, s, None, None, float("nan"),
                           note="degenerate: fewer than 100 non-zero jumps, or all jumps equal")
    try:
        lo, hi = fit_window(comp, w, b, cls, aq, gamma=gamma, theta=theta, tol=WINDOW_TOL)
        fit = fit_truncated_powerlaw(aq, lo, hi, rng=rng, n_boot=n_boot)
    except ValueError as exc:  # e.g. all jumps equal: no range to fit
        return ClassResult(cls, theta, s, None, None, float("nan"), note=str(exc))
    sel = (aq >= lo) & (aq <= hi)
    jac = s.jacobian[s.active][sel]
    # the red dots are a deterministic curve: least squares of log J on log|q̇′|
    k_j = -float(np.polyfit(np.log(aq[sel]), np.log(jac), 1)[0])
    return ClassResult(cls, theta, s, (lo, hi), fit, k_j)


def run_experiment(comp: Composition, *, gamma: float, n_samples: int, steps: int,
                   replicas: int, batch: int, rng: np.random.Generator | int,
                   theta_rule: str = "class_mean", n_boot: int = 200,
                   fixed_wb: tuple[float, float] | None = None, label: str = "") -> FigureResult:
    """Train to equilibrium (unless ``fixed_wb`` is given) and analyse both classes."""
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
    acc = accuracy(comp, w, b, n=400_000, rng=rng)
    classes = {c: analyse_class(comp, w, b, c, n_samples=n_samples, gamma=gamma,
                                theta_rule=theta_rule, rng=rng, n_boot=n_boot) for c in "-+"}
    return FigureResult(label or comp.label, comp, gamma, w, b, acc, tr, classes, note)


def plot_experiment(res: FigureResult, axes, *, k_theory: float, bins: int = 70) -> None:
    """Panels (a) '−' and (b) '+': sample density (blue), Jacobian contribution (red),
    exact density (6.1) (black), theory slope (grey dashed), fitting range (shaded)."""
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
        ed = exact_density(res.comp, res.w, res.b, cls, grid, gamma=res.gamma, theta=r.theta)
        pos = ed.density > 0
        ax.loglog(grid[pos], ed.density[pos], "-", color=C["exact"], lw=1.2, label="exact (6.1)")
        # red dots: |dy/dq̇′| at a thinned subsample, scaled by the peak of p_y
        py_max = 1.0 / (abs(res.w) * 0.25 * math.sqrt(2 * math.pi))
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
