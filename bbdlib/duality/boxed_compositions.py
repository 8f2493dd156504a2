"""The boxed compositions of section 6 of [B] on samples: does H(f(y)) give p(|q̇'|) ∝ |q̇'|^-k?

[B] Kukleva, Vanchurin, "Dataset-learning duality and emergent criticality".

:class:`BoxedComposition` is the map y ↦ q̇'(y) = −(Dy − C) dH/dy (eq. (6.4), corrected)
of one boxed composition — exp(Ay) (6.11), (y + Δ)^n (6.15)/(6.18), −log|Δ − y| (6.21) —
for numbers D, C of eq. (6.5), derived by :func:`bbdlib.duality.criticality.boxed_qdot`
and evaluated with numpy.  :func:`check_k_on_samples` draws y from a Gaussian p_y (the toy
data set of Sec. 7: x¹ Gaussian, so y = w x¹ + b is Gaussian), maps it, and fits the
exponent over a window fixed by a stated rule (:mod:`bbdlib.powerlaw`).
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import sympy as sp

from bbdlib.duality.criticality import BOXED_KINDS, boxed_qdot
from bbdlib.duality.pushforward import sample
from bbdlib.powerlaw import PowerLawFit, fit_truncated_powerlaw
from bbdlib.validate import check_generator, check_real

__all__ = ["BOXED_KINDS", "BoxedComposition", "ExponentCheck", "check_k_on_samples"]


@dataclass(frozen=True)
class BoxedComposition:
    """q̇'(y) = −(Dy − C) dH/dy for a boxed composition of section 6 of [B].

    Parameters
    ----------
    kind : {"exp", "power", "log"}
        ``"exp"``: H = exp(A y) (eq. (6.11)); ``"power"``: H = (y + Δ)^n (eq. (6.15) with
        n = α, eq. (6.18) with n = α + 1; y + Δ must be > 0); ``"log"``: H = −log|Δ − y|
        (eq. (6.21)).
    D, C : float
        The coefficients of eq. (6.5).
    A, n, Delta : float
        Parameters of the composition (``n`` > 0).
    """

    kind: str
    D: float
    C: float
    A: float = 1.0
    n: float = 2.0
    Delta: float = 0.0
    _maps: tuple = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
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


@dataclass(frozen=True)
class ExponentCheck:
    """Result of :func:`check_k_on_samples`.

    Attributes
    ----------
    fit : PowerLawFit
        The fit of p(|q̇'|) over the image of the window: ``fit.k``, its bootstrap
        interval, ``fit.n_in_range`` and the range ``fit.x_min``, ``fit.x_max``.
    y_low, y_high : float
        The window of y.
    k_loc_min, k_loc_max : float
        Range of the local exponent of the Jacobian over the window.
    monotone : bool
        Whether the map is monotone on the window.
    """

    fit: PowerLawFit
    y_low: float
    y_high: float
    k_loc_min: float
    k_loc_max: float
    monotone: bool


def check_k_on_samples(composition: BoxedComposition, *, mean_y: float, std_y: float,
                       half_width: float, n_samples: int, rng: np.random.Generator | int,
                       n_boot: int = 200) -> ExponentCheck:
    """Fit the exponent k of p(|q̇'|) on samples over a range fixed by a stated rule.

    Rule (the same for every composition): the y-window is
    ``mean_y ± half_width * std_y`` (with ``half_width = 0.2`` the Gaussian p_y varies by
    less than 2 % across it, so the density of q̇' is the Jacobian factor of eq. (6.1) up to
    that factor); the fitting range in |q̇'| is the image of the window under the exact map.
    The map must be monotone on the window (reported in ``monotone``); the local exponent
    of the Jacobian on the window is reported as ``k_loc_min``/``k_loc_max`` so the caller
    can assert that the paper's limit holds there.  The fit is the doubly truncated MLE of
    :func:`bbdlib.powerlaw.fit_truncated_powerlaw` on |q̇'|.

    Parameters
    ----------
    composition : BoxedComposition
    mean_y, std_y : float
        The Gaussian p_y.
    half_width : float
        Half-width of the window in units of ``std_y`` (> 0).
    n_samples : int
        Samples of y.
    rng : numpy.random.Generator or int
        Randomness of the samples and of the bootstrap.
    n_boot : int
        Bootstrap resamples.

    Returns
    -------
    ExponentCheck
    """
    if not isinstance(composition, BoxedComposition):
        raise TypeError(f"composition must be a BoxedComposition, got {type(composition).__name__}")
    mean_y = check_real("mean_y", mean_y)
    std_y = check_real("std_y", std_y, low=0, low_inclusive=False)
    half_width = check_real("half_width", half_width, low=0, low_inclusive=False)
    rng = check_generator("rng", rng)
    qdot: Callable = composition.qdot
    s = sample(qdot, mean=mean_y, std=std_y, n_samples=n_samples, rng=rng)
    lo, hi = mean_y - half_width * std_y, mean_y + half_width * std_y
    grid = np.linspace(lo, hi, 2001)
    dq = np.asarray(composition.dqdot_dy(grid), dtype=float)
    monotone = bool(np.all(dq > 0) or np.all(dq < 0))
    kl = np.asarray(composition.local_exponent(grid), dtype=float) * np.ones_like(grid)
    ends = np.abs(np.asarray(qdot(np.array([lo, hi])), dtype=float))
    x_min, x_max = float(ends.min()), float(ends.max())
    fit = fit_truncated_powerlaw(np.abs(s.q), x_min, x_max, rng=rng, n_boot=n_boot)
    return ExponentCheck(fit=fit, y_low=lo, y_high=hi, k_loc_min=float(kl.min()),
                         k_loc_max=float(kl.max()), monotone=monotone)
