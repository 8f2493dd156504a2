"""The boxed compositions of section 6 of [B] on samples: does H(f(y)) give p(|q̇'|) ∝ |q̇'|^-k?

[B] Kukleva, Vanchurin, "Dataset-learning duality and emergent criticality".

:class:`BoxedComposition` is the map y ↦ q̇'(y) = −(Dy − C) dH/dy (eq. (6.4), corrected)
of one boxed composition — exp(Ay) (6.11), (y + Δ)^n (6.15)/(6.18), −log|Δ − y| (6.21) —
for numbers D, C of eq. (6.5), derived by :func:`bbdlib.duality.criticality.boxed_qdot`
and evaluated with numpy.  :func:`check_k_on_samples` draws y from a Gaussian p_y (the toy
data set of Sec. 7: x¹ Gaussian, so y = w x¹ + b is Gaussian), maps it, and measures the
exponent by the book's one analysis plan (:mod:`bbdlib.duality.analysis_plan`): the window
of :func:`bbdlib.duality.analysis_plan.plan_window_of_map`, the fit of
:func:`bbdlib.duality.analysis_plan.measure_exponent`.

The factor the law neglects.  H is exactly its boxed form here, so the deviation from the
asymptotic form (condition 2 of the plan) is zero; what the paper neglects in passing from
(6.4) to a power law is the rotation factor R(y) = −(Dy − C) = C − Dy, which it replaces by
its form in the limit it states (:meth:`BoxedComposition.asymptotic_rotation`):

* (6.11): "in the limit |Dy| ≪ |C|", R_a = C;
* (6.18): (6.16) takes |Ay + B| ≪ |B + AC/D|, where by the second line of (6.12)
  Dy − C = (D/A)[(Ay + B) − (B + AC/D)] ≈ −(C + DΔ) (Δ = B/A): R_a = C + DΔ;
* (6.15): (6.13) takes the opposite limit |Ay + B| ≫ |B + AC/D|: Dy − C ≈ D(y + Δ),
  R_a = −D(y + Δ) (regime "|Du| ≫ |E|", u = y + Δ, E = C + DΔ);
* (6.21): (6.20) drops the quadratic term of (6.19), |ADy| ≪ |AC − BD|, i.e. keeps
  C − Dy at its value C for D → 0: R_a = C.

The factor is R/R_a; the plan asks that it vary by at most (1 + ε)/(1 − ε) across the window
(as the rotation factor in condition 3).  For a constant R_a this is a condition on R alone
and the value of R_a does not matter; for (6.15) it is 1 − E/(Du) ≈ 1.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import sympy as sp

from bbdlib.duality import analysis_plan as plan
from bbdlib.duality.criticality import BOXED_KINDS, boxed_qdot
from bbdlib.duality.pushforward import sample
from bbdlib.validate import check_choice, check_generator, check_int, check_real

__all__ = ["BOXED_KINDS", "REGIMES", "BoxedComposition", "boxed_y_grid", "boxed_plan_window",
           "BoxedCheck", "check_k_on_samples"]

#: The limits of section 6 in which a boxed form gives its k: ``"small_Du"`` |D(y + Δ)| ≪ |C + DΔ|
#: ((6.11), (6.18), (6.21)), ``"large_Du"`` |D(y + Δ)| ≫ |C + DΔ| ((6.15), power only).
REGIMES = ("small_Du", "large_Du")


@dataclass(frozen=True)
class BoxedComposition:
    """q̇'(y) = −(Dy − C) dH/dy for a boxed composition of section 6 of [B].

    Parameters
    ----------
    kind : {"exp", "power", "log"}
        ``"exp"``: H = exp(A y) (eq. (6.11)); ``"power"``: H = (y + Δ)^n (eq. (6.15) with
        n = α, eq. (6.18) with n = α + 1); ``"log"``: H = −log|Δ − y| (eq. (6.21)).
    D, C : float
        The coefficients of eq. (6.5).
    A, n, Delta : float
        Parameters of the composition (``n`` > 0).
    regime : {"small_Du", "large_Du"}
        The paper's limit for this form (``REGIMES``): ``"large_Du"`` is (6.15) and only for
        ``kind="power"``; it fixes the asymptotic rotation factor (module docstring).
    """

    kind: str
    D: float
    C: float
    A: float = 1.0
    n: float = 2.0
    Delta: float = 0.0
    regime: str = "small_Du"
    _maps: tuple = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        check_choice("regime", self.regime, REGIMES)
        if self.regime == "large_Du" and self.kind != "power":
            raise ValueError(f"regime 'large_Du' is the limit of (6.15), only for kind 'power', got kind {self.kind!r}")
        y, q, q1, k = boxed_qdot(self.kind, D=self.D, C=self.C, A=self.A, n=self.n,
                                 Delta=self.Delta)
        mods = ["numpy"]
        object.__setattr__(self, "_maps", (sp.lambdify(y, q, mods), sp.lambdify(y, q1, mods),
                                           sp.lambdify(y, k, mods)))

    def qdot(self, y) -> np.ndarray:
        """q̇'(y)."""
        return self._maps[0](y)

    def dqdot_dy(self, y) -> np.ndarray:
        """dq̇'/dy."""
        return self._maps[1](y)

    def local_exponent(self, y) -> np.ndarray:
        """The local exponent q̇' q̇''/q̇'_y² of the Jacobian of eq. (6.1) at ``y``."""
        return self._maps[2](y)

    def rotation(self, y) -> np.ndarray:
        """The rotation factor R(y) = −(Dy − C) of eq. (6.4)."""
        return self.C - self.D * np.asarray(y, dtype=float)

    def asymptotic_rotation(self, y) -> np.ndarray:
        """R_a(y), the paper's form of R in its limit (module docstring): C for (6.11) and
        (6.21), C + DΔ for (6.18), −D(y + Δ) for (6.15)."""
        y = np.asarray(y, dtype=float)
        if self.regime == "large_Du":
            return -self.D * (y + self.Delta)
        r_a = self.C + self.D * self.Delta if self.kind == "power" else self.C
        return np.full_like(y, r_a)

    def neglected_factor(self, y) -> np.ndarray:
        """R(y)/R_a(y): the factor the power law neglects (condition 3 of the plan)."""
        return self.rotation(y) / self.asymptotic_rotation(y)

    def special_points(self) -> tuple[float, ...]:
        """Zeros, poles and turning points of |q̇'|: R = 0 at y = C/D, u = 0 at y = −Δ
        (power), the pole y = Δ (log)."""
        pts = []
        if self.D != 0:
            pts.append(self.C / self.D)
        if self.kind == "power":
            pts.append(-self.Delta)
        if self.kind == "log":
            pts.append(self.Delta)
        return tuple(pts)


def _check_composition(composition) -> BoxedComposition:
    if not isinstance(composition, BoxedComposition):
        raise TypeError(f"composition must be a BoxedComposition, got {type(composition).__name__}")
    return composition


def boxed_y_grid(composition: BoxedComposition, *, mean_y: float, std_y: float, n_sd: float = 12.0,
                 n_grid: int = 20_001) -> np.ndarray:
    """The y grid on which the branches of a boxed map are located: mean_y ± n_sd std_y,
    refined geometrically (down to 10⁻¹³ of the span) towards every special point
    (:meth:`BoxedComposition.special_points`), the points themselves left out.

    Parameters
    ----------
    composition : BoxedComposition
    mean_y, std_y : float
        The Gaussian p_y.
    n_sd : float
        Half-width of the grid in standard deviations (>= 1).
    n_grid : int
        Points of the uniform part (>= 101).

    Returns
    -------
    ndarray
    """
    comp = _check_composition(composition)
    mean_y = check_real("mean_y", mean_y)
    std_y = check_real("std_y", std_y, low=0, low_inclusive=False)
    n_sd = check_real("n_sd", n_sd, low=1.0)
    n_grid = check_int("n_grid", n_grid, minimum=101)
    lo, hi = mean_y - n_sd * std_y, mean_y + n_sd * std_y
    span = hi - lo
    parts = [np.linspace(lo, hi, n_grid)]
    special = [p for p in comp.special_points() if lo < p < hi]
    d = span * np.geomspace(1e-13, 1.0, n_grid // 4)
    for p in special:
        parts += [p + d, p - d]
    y = np.unique(np.concatenate(parts))
    y = y[(y > lo) & (y < hi)]
    for p in special:
        y = y[np.abs(y - p) > 1e-14 * span]
    return y


def boxed_plan_window(composition: BoxedComposition, *, mean_y: float, std_y: float, abs_q=None,
                      data_edges: tuple[float, float] | None = None,
                      eps: float = plan.EPSILON) -> plan.PlanWindow:
    """The analysis plan's window for a boxed composition (module docstring): conditions 1, 3, 4
    of :mod:`bbdlib.duality.analysis_plan` with the neglected factor R/R_a; condition 2 holds
    identically (H is exactly the boxed form).

    Parameters
    ----------
    composition : BoxedComposition
    mean_y, std_y : float
        The Gaussian p_y.
    abs_q : array_like, optional
        Sampled |q̇'| (for the data edges).  Give either this or ``data_edges``.
    data_edges : (float, float), optional
    eps : float
        The plan's ε.

    Returns
    -------
    PlanWindow

    Raises
    ------
    ValueError
        If there is no window, or for bad input.
    """
    comp = _check_composition(composition)
    grid = boxed_y_grid(comp, mean_y=mean_y, std_y=std_y)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        return plan.plan_window_of_map(comp.qdot, comp.dqdot_dy, grid, factor=comp.neglected_factor,
                                       y_mean=mean_y, y_std=std_y, abs_q=abs_q, data_edges=data_edges,
                                       eps=eps, label=f"H = {comp.kind} (D = {comp.D:g}, C = {comp.C:g})")


@dataclass(frozen=True)
class BoxedCheck:
    """Result of :func:`check_k_on_samples`.

    Attributes
    ----------
    window : PlanWindow or None
        The plan's window (``None``: no window; ``note`` says why).
    measurement : ExponentMeasurement or None
        The plan's measurement over the window.
    abs_q : ndarray
        The sampled |q̇'| (non-zero).
    note : str
        Why there is no window, or empty.
    """

    window: plan.PlanWindow | None
    measurement: plan.ExponentMeasurement | None
    abs_q: np.ndarray
    note: str = ""

    def evidence(self) -> str:
        """The window text and the measurement text (for the ledger)."""
        if self.window is None:
            return f"no window: {self.note}"
        return f"{self.window.text()}; {self.measurement.text()}"


def check_k_on_samples(composition: BoxedComposition, *, mean_y: float, std_y: float,
                       n_samples: int, rng: np.random.Generator | int,
                       n_boot: int = plan.N_BOOT, eps: float = plan.EPSILON) -> BoxedCheck:
    """Measure the exponent k of p(|q̇'|) on samples by the analysis plan.

    Draws y ~ N(mean_y, std_y²), maps it by the exact q̇'(y), takes the plan's window
    (:func:`boxed_plan_window`, data edges from the samples) and measures k over it with
    :func:`bbdlib.duality.analysis_plan.measure_exponent` (MLE, bootstrap interval, KS,
    half windows, the scan of the edge the approximations set).

    Parameters
    ----------
    composition : BoxedComposition
    mean_y, std_y : float
        The Gaussian p_y.
    n_samples : int
        Samples of y.
    rng : numpy.random.Generator or int
        Randomness of the samples and of the bootstrap.
    n_boot : int
        Bootstrap resamples.
    eps : float
        The plan's ε.

    Returns
    -------
    BoxedCheck
    """
    comp = _check_composition(composition)
    mean_y = check_real("mean_y", mean_y)
    std_y = check_real("std_y", std_y, low=0, low_inclusive=False)
    rng = check_generator("rng", rng)
    n_boot = check_int("n_boot", n_boot, minimum=1)
    eps = plan.check_epsilon(eps)
    s = sample(comp.qdot, mean=mean_y, std=std_y, n_samples=n_samples, rng=rng)
    aq = np.abs(s.q)
    aq = aq[np.isfinite(aq) & (aq > 0)]
    try:
        pw = boxed_plan_window(comp, mean_y=mean_y, std_y=std_y, abs_q=aq, eps=eps)
    except ValueError as exc:
        return BoxedCheck(window=None, measurement=None, abs_q=aq, note=str(exc))
    edge = "low" if pw.rule_edge == "low" else "high"
    m = plan.measure_exponent(aq, (pw.x_min, pw.x_max), rng=rng, scanned_edge=edge,
                              limits=(pw.data_low, pw.data_high), n_boot=n_boot, eps=eps)
    return BoxedCheck(window=pw, measurement=m, abs_q=aq)
