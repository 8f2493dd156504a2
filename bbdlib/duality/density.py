"""The exact density of the jumps, eq. (6.1) of [B], and the book's fitting-range rules.

    p(|q̇′|) = Σ_branches p_y(y_b) |dy/dq̇′|_b,

summed over the monotone branches y_b of y ↦ |q̇′(y)| (and over both signs of q̇′), with
p_y the Gaussian density of y = w x¹ + b for the class (eqs. (7.2)–(7.3)).  It is computed
from the jump map alone (:class:`bbdlib.duality.jumps.JumpMap`) by the push-forward of
:mod:`bbdlib.duality.pushforward`, on a y grid refined towards the kinks of the
activation — never from the samples.  It is normalised per input of the class, so that it
integrates to the fraction of inputs with a non-zero jump.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from bbdlib.duality.jumps import JumpMap
from bbdlib.duality.pushforward import (
    BranchDensity,
    _branch_density,
    _branches,
    _check_gaussian,
    _check_map,
    bin_probabilities,
)
from bbdlib.validate import check_array, check_int, check_real

__all__ = ["exact_density", "JumpBinProbabilities", "jump_bin_probabilities", "fit_window",
           "critical_window"]


def _check_jump_map(jump_map) -> JumpMap:
    if not isinstance(jump_map, JumpMap):
        raise TypeError(f"jump_map must be a JumpMap, got {type(jump_map).__name__}")
    return jump_map


def _y_grid(jm: JumpMap, n_grid: int, n_sd: float) -> np.ndarray:
    comp = jm.composition
    mu_y, sd_y = jm.y_mean, jm.y_std
    lo, hi = mu_y - n_sd * sd_y, mu_y + n_sd * sd_y
    kinks = []
    if comp.activation in ("relu", "piecewise_linear"):
        lo = max(lo, 0.0)
        kinks.append(0.0)
    if comp.activation == "piecewise_linear":
        hi = min(hi, 1.0)
        kinks.append(1.0)
    if comp.activation == "relu" and comp.loss != "cross_entropy":
        kinks.append(jm.target)  # zero of H′ at f = t
    if not hi > lo:
        return np.empty(0)
    parts = [np.linspace(lo, hi, n_grid)]
    span = hi - lo
    for k in kinks:  # geometric refinement towards critical points
        d = span * np.geomspace(1e-13, 1.0, n_grid // 4)
        parts += [k + d, k - d]
    y = np.unique(np.concatenate(parts))
    y = y[(y > lo) & (y < hi)]
    return y[comp.active(y)]


#: The branches of the most recent maps (:func:`_map_branches`): a plan window, the Jacobian
#: exponent, the claims and the figures of one class evaluate the same map on the same y grid
#: several times; each entry holds a few MB (the grid and its branches)
_BRANCH_CACHE: dict = {}
_BRANCH_CACHE_SIZE = 8


def _map_branches(jm: JumpMap, n_grid: int, n_sd: float) -> list:
    """The branches of |q̇′(y)| on the y grid of ``jm`` (``pushforward._branches``), computed once
    per (map, grid) and reused: the same arrays as computing them again (the map is a frozen
    value, the grid a function of it)."""
    try:
        key = (jm, n_grid, n_sd)
        hit = _BRANCH_CACHE.get(key)
    except TypeError:   # an unhashable data set: no reuse
        return _branches(jm.qdot_of_y, jm.dqdot_dy, _y_grid(jm, n_grid, n_sd))
    if hit is None:
        hit = _branches(jm.qdot_of_y, jm.dqdot_dy, _y_grid(jm, n_grid, n_sd))
        while len(_BRANCH_CACHE) >= _BRANCH_CACHE_SIZE:
            _BRANCH_CACHE.pop(next(iter(_BRANCH_CACHE)))
        _BRANCH_CACHE[key] = hit
    return hit


def exact_density(jump_map: JumpMap, q, *, n_grid: int = 100_001, n_sd: float = 12.0,
                  y_density=None) -> BranchDensity:
    """Eq. (6.1): the density of |q̇′| at the points ``q`` (> 0), per input of the class.

    Parameters
    ----------
    jump_map : JumpMap
        The composition, parameters, class, γ and θ.
    q : array_like
        Positive values of |q̇′|.
    n_grid : int
        Points of the y grid used to locate the branches.
    n_sd : float
        The y grid covers the class mean ± n_sd standard deviations of y.
    y_density : callable, optional
        The density p_y(y) to use instead of the class's Gaussian (e.g. a kernel density
        estimate of real data, :mod:`bbdlib.duality.real_data`).

    Returns
    -------
    BranchDensity
        ``density`` the total; ``preimages`` the y of every branch.
    """
    jm = _check_jump_map(jump_map)
    q = check_array("q", q, ndim=1)
    if np.any(q <= 0):
        raise ValueError("q must be positive (|q̇′| values)")
    n_grid = check_int("n_grid", n_grid, minimum=101)
    n_sd = check_real("n_sd", n_sd, low=1.0)
    if y_density is not None:
        y_density = _check_map("y_density", y_density)
    mean, std = _check_gaussian(jm.y_mean, jm.y_std)
    # the push-forward of bbdlib.duality.pushforward.branch_density on the grid's branches,
    # which depend on the map alone and are kept for the next call on the same map
    return _branch_density(_map_branches(jm, n_grid, n_sd), jm.qdot_of_y, jm.dqdot_dy, q,
                           mean=mean, std=std, signed=False, n_newton=3, pdf=y_density)


@dataclass(frozen=True)
class JumpBinProbabilities:
    """Result of :func:`jump_bin_probabilities`.

    Attributes
    ----------
    edges : ndarray
        The bin edges of q̇′.
    exact : ndarray
        The probability of each bin under the exact change of variables (6.1), summed over
        branches (3.13).
    printed_eq59 : ndarray
        The bin probabilities implied by the printed eq. (5.9), which uses the Jacobian (5.8).
    """

    edges: np.ndarray
    exact: np.ndarray
    printed_eq59: np.ndarray

    @property
    def centres(self) -> np.ndarray:
        """Bin centres."""
        return 0.5 * (self.edges[1:] + self.edges[:-1])

    @property
    def widths(self) -> np.ndarray:
        """Bin widths."""
        return np.diff(self.edges)


def jump_bin_probabilities(jump_map: JumpMap, edges, *, n_grid: int = 400_001,
                           x_span: float = 9.0) -> JumpBinProbabilities:
    """Bin probabilities of the signed jumps q̇′ of one class (eqs. (3.13)/(6.1) and (5.9) of [B]).

    The exact probability of each bin of ``edges`` is ∫ p(x¹) 1[q̇′(x¹) ∈ bin] dx¹ by
    :func:`bbdlib.duality.pushforward.bin_probabilities` over the class's Gaussian x¹ (the
    change of variables (6.1) summed over all branches (3.13), needing no inversion).  The
    printed (5.9) writes the density as p(x¹)/|∂q̇′/∂x¹| with the Jacobian (5.8), so its bin
    probabilities are ∫ p(x¹) |dq̇′/dx¹ / (5.8)| 1[q̇′ ∈ bin] dx¹.

    Parameters
    ----------
    jump_map : JumpMap
    edges : array_like
        Strictly increasing bin edges of q̇′.
    n_grid : int
        Quadrature points.
    x_span : float
        The grid covers the class mean of x¹ ± x_span standard deviations.

    Returns
    -------
    JumpBinProbabilities
    """
    jm = _check_jump_map(jump_map)
    mean, std = jm.data.mean(jm.cls), jm.data.std(jm.cls)
    n_grid = check_int("n_grid", n_grid, minimum=1000)
    kw = dict(mean=mean, std=std, x_span=x_span, n_grid=n_grid)
    exact = bin_probabilities(jm.qdot, edges, **kw)

    def ratio(x):
        return np.abs(jm.dqdot_dx(x) / jm.jacobian_eq58(x))

    printed = bin_probabilities(jm.qdot, edges, weight=ratio, **kw)
    return JumpBinProbabilities(edges=check_array("edges", edges, ndim=1), exact=exact,
                                printed_eq59=printed)


def fit_window(jump_map: JumpMap, abs_q, *, tol: float = 0.1,
               quantiles: tuple[float, float] = (0.01, 0.99), branch_share: float = 0.01,
               n_points: int = 2000) -> tuple[float, float]:
    """The book's fitting-range rule, stated before any fit and used for every figure.

    The range of |q̇′| is the longest (in decades) interval inside the
    ``quantiles`` of the non-zero sampled |q̇′| on which every branch carrying at least
    ``branch_share`` of the exact density (6.1) sits where the composition's dH/dy
    agrees with the paper's asymptotic form
    (:meth:`bbdlib.duality.toy_model.Composition.dH_asymptotic`) to within a relative ``tol``.

    Parameters
    ----------
    jump_map : JumpMap
    abs_q : array_like
        Sampled |q̇′| (zeros are dropped; at least 100 non-zero).
    tol : float
        Relative accuracy of the asymptotic form.
    quantiles : (float, float)
        The range lies between these quantiles of ``abs_q``.
    branch_share : float
        Branches carrying less of the density are ignored.
    n_points : int
        Points of the logarithmic |q̇′| grid on which the rule is evaluated.

    Returns
    -------
    (x_min, x_max) : (float, float)

    Raises
    ------
    ValueError
        If no such interval exists.
    """
    jm = _check_jump_map(jump_map)
    comp = jm.composition
    abs_q = check_array("abs_q", abs_q, ndim=1)
    abs_q = abs_q[abs_q > 0]
    if abs_q.size < 100:
        raise ValueError("abs_q must hold at least 100 non-zero jumps")
    lo, hi = np.quantile(abs_q, quantiles)
    grid = np.geomspace(lo, hi, n_points)
    ed = exact_density(jm, grid)
    t = jm.target
    good = np.ones(grid.size, dtype=bool)
    total = ed.density
    for yb, db in zip(ed.preimages, ed.branch_density):
        matters = np.isfinite(yb) & (db >= branch_share * total)
        yv = np.where(np.isfinite(yb), yb, 0.0)
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            ratio = comp.dH(yv, t) / comp.dH_asymptotic(yv, t)
        good &= ~matters | (np.abs(ratio - 1.0) <= tol)
    good &= total > 0
    best, start, best_run = None, None, 0
    for i, g in enumerate(np.append(good, False)):
        if g and start is None:
            start = i
        elif not g and start is not None:
            if i - start > best_run:
                best_run, best = i - start, (start, i - 1)
            start = None
    if best is None or best_run < 2:
        raise ValueError(f"no fitting range: the asymptotic form of {comp.label} for class "
                         f"'{jm.cls}' holds nowhere inside the sampled range")
    return float(grid[best[0]]), float(grid[best[1]])


def critical_window(jump_map: JumpMap, abs_q, *, tol: float = 0.1, q_low_quantile: float = 1e-3,
                    n_grid: int = 20_001) -> tuple[float, float]:
    """Fitting range at the critical point y* (ReLU, piece-wise linear): where every
    approximation of Sec. 6 of [B] holds to a relative ``tol``.

    On each side of y* (:meth:`bbdlib.duality.jumps.JumpMap.critical_point`) that the class
    populates, the largest δ such that for all |y − y*| ≤ δ on the active piece
    (i) p_y(y)/p_y(y*), (ii) the rotation factor (x¹cos θ + sin θ)/(x¹*cos θ + sin θ)
    (the (Dy − C) of (6.4)) and (iii) dH/dy over its asymptotic form all lie within 1 ± tol.
    The range is from the ``q_low_quantile`` quantile of the sampled non-zero |q̇′| (a floor
    set by the data) to the smallest |q̇′| reached at the edge y* ± δ of the sides; for a
    critical point where |q̇′| → ∞ (cross-entropy) it runs from the largest such |q̇′| to
    the ``1 − q_low_quantile`` quantile.

    Parameters
    ----------
    jump_map : JumpMap
    abs_q : array_like
        Sampled |q̇′| (zeros are dropped; at least 100 non-zero).
    tol : float
        Relative accuracy of every approximation.
    q_low_quantile : float
        Quantile of ``abs_q`` at the data end of the range.
    n_grid : int
        Points of the logarithmic δ grid on each side.

    Returns
    -------
    (x_min, x_max) : (float, float)

    Raises
    ------
    ValueError
        If the range is empty.
    """
    jm = _check_jump_map(jump_map)
    comp = jm.composition
    abs_q = check_array("abs_q", abs_q, ndim=1)
    abs_q = abs_q[abs_q > 0]
    if abs_q.size < 100:
        raise ValueError("abs_q must hold at least 100 non-zero jumps")
    ys = jm.critical_point()
    t = jm.target
    mu_y, sd_y = jm.y_mean, jm.y_std

    def py(v):
        return np.exp(-0.5 * ((v - mu_y) / sd_y) ** 2)

    def factor(v):
        return jm.rotation_factor((v - jm.b) / jm.w)

    edges_q = []
    for side in (-1.0, 1.0):
        d = np.geomspace(1e-9, 1.0, n_grid)
        v = ys + side * d
        act = comp.active(v)
        if not act[0]:
            continue
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            ok = (np.abs(py(v) / py(ys) - 1) <= tol) & (np.abs(factor(v) / factor(ys) - 1) <= tol) & act
            ok &= np.abs(comp.dH(v, t) / comp.dH_asymptotic(v, t) - 1) <= tol
        bad = np.flatnonzero(~ok)
        last = (bad[0] - 1) if bad.size else d.size - 1
        if last < 1:
            continue
        edges_q.append(abs(jm.qdot_of_y(v[last])))
    if not edges_q:
        raise ValueError(f"no critical range for {comp.label}, class '{jm.cls}'")
    if comp.loss == "cross_entropy":  # |q̇′| → ∞ at y*
        lo, hi = max(edges_q), float(np.quantile(abs_q, 1 - q_low_quantile))
    else:
        lo, hi = float(np.quantile(abs_q, q_low_quantile)), min(edges_q)
    if not hi > lo:
        raise ValueError(f"no critical range for {comp.label}, class '{jm.cls}': the approximations "
                         "hold only where there are no samples")
    return float(lo), float(hi)
