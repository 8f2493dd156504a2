"""The one analysis plan for every exponent claim of Secs. 6–8 of [B], fixed before any fit.

Why this window.  Section 6 of [B] derives the exponent k from the change of variables
(6.1), p(q̇′) = p_y(y(q̇′)) |dy/dq̇′|, under three approximations: the composition H(f(y))
follows its asymptotic form ((6.10)–(6.11), (6.18), (6.21); (7.7)–(7.10), (7.14), (7.17)),
the rotation factor Dy − C of (6.4) is nearly constant (|Dy| ≪ |C|), and — implicitly, since
the power law is read off the Jacobian alone — the data density p_y(y) is approximately
constant where the law is claimed.  A window in |q̇′| is therefore admissible when, on it,

1. the monotone branches y_b(q̇′) that carry at least ε of the exact density (6.1) at a
   point together carry at least 1 − ε of it, and the set of such branches is the same
   across the window ((6.1) assumes one branch; a sum (3.13) of branches that each follow
   the law follows it too — the '+' class has one branch on each side of y* = x²);
2. dH/dy is within a relative ε of the paper's asymptotic form at every point;
3. p_y and the rotation factor x¹ cos θ + sin θ (for a generic map: the factor its law
   neglects), evaluated on all these branches, each
   vary by at most a factor (1 + ε)/(1 − ε) across the window (each within ±ε of a common
   middle value);
4. it lies inside the sampled range: between the ``EDGE_COUNT``-th smallest and largest
   sampled |q̇′| (beyond those the data resolve no density).

The plan window is the admissible window of most decades.  The conditions are evaluated on a
logarithmic |q̇′| grid between the data edges and the window is found by one search
(both in this module): :func:`plan_window` applies them to a toy-model jump map (the factor
the law neglects is the rotation factor of condition 3, the asymptotic form that of the
composition), and :func:`plan_window_of_map` to any map y ↦ q̇′ with monotone branches, given
its derivative, p_y, the factor its law neglects (it takes the place of the rotation factor
in condition 3) and, optionally, its deviation from the asymptotic form (condition 2; zero
when the map is exactly its asymptotic form) — e.g. the boxed compositions of Sec. 6
(:mod:`bbdlib.duality.boxed_compositions`).  Conditions 2–3 bound every factor
that the law neglects by 1 ± ε, so they tilt the log-log slope over D decades by at most
log10((1 + ε)/(1 − ε))/D (:func:`slope_allowance`): that is the systematic part of the
tolerance, and a window below ``MIN_DECADES`` is "no power-law range at these parameters".

Choices, made once from the paper's assumptions and before any fit:

``EPSILON = 0.1``
    "≈" in Sec. 6 means the neglected factors are small; 10 % is the largest deviation at
    which a factor still reads as a constant on a log-log plot (it tilts a slope by
    0.087 over one decade, less than the printed exponents' smallest spacing 1/3 between
    k = 0, 2/3 and 1 of (7.15)).
``MIN_DECADES = 1.0``
    one decade: less is not a power law in any usage (Clauset, Shalizi & Newman 2009), and
    the same minimum applies to the Jacobian and to the whole distribution.
``N_BOOT = 200``, ``LEVEL = 0.95``
    a 95 % percentile bootstrap interval (200 resamples resolve its 2.5 % ends to ±1 %).
``KS``
    the Kolmogorov–Smirnov distance of the in-window samples to the fitted truncated law
    (:func:`bbdlib.powerlaw.ks_distance`), reported with every exponent.
half-window rule
    the window is split at its geometric middle and each half is fitted; the exponent is
    a power law over the window only if |k_low − k_high| is within the slope allowances of
    the two halves (a factor within 1 ± ε peaked inside the window tilts them in opposite
    directions) plus the 95 % interval of a difference.  A verdict "reproduced" needs a
    range, a stable fit and |k − k_paper| ≤ slope allowance + bootstrap half-width
    (systematic and statistical parts added).
``EDGE_COUNT = 100``
    the data edges: 100 samples beyond an edge resolve the density there to 10 % (1/√100),
    the same ε.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from bbdlib.duality.density import exact_density
from bbdlib.duality.jumps import JumpMap
from bbdlib.duality.pushforward import branch_density
from bbdlib.powerlaw import PowerLawFit, _check_weights, fit_truncated_powerlaw, ks_distance
from bbdlib.validate import check_array, check_generator, check_int, check_real

__all__ = ["EPSILON", "MIN_DECADES", "N_BOOT", "LEVEL", "EDGE_COUNT", "N_EDGE_SCAN",
           "check_epsilon", "check_min_decades", "slope_allowance", "PlanWindow", "plan_window",
           "plan_window_of_map",
           "ExponentMeasurement", "measure_exponent", "claim_values"]

#: Accuracy ε of every approximation of Sec. 6 (module docstring: why 10 %).
EPSILON = 0.1
#: Fewest decades of |q̇′| that the book calls a power-law range.
MIN_DECADES = 1.0
#: Bootstrap resamples of every exponent fit.
N_BOOT = 200
#: Level of the bootstrap intervals.
LEVEL = 0.95
#: Samples beyond each data edge (they resolve the density there to 1/√100 = ε).
EDGE_COUNT = 100
#: Outer edges scanned for the plot of k against the window's outer edge.
N_EDGE_SCAN = 9
_N_POINTS = 1500


def check_epsilon(eps) -> float:
    """Validate the accuracy ε of the plan: a real in (0, 1).

    Parameters
    ----------
    eps : float

    Returns
    -------
    float
    """
    return check_real("eps", eps, low=0.0, high=1.0, low_inclusive=False, high_inclusive=False)


def check_min_decades(min_decades) -> float:
    """Validate a minimum extent in decades: a real > 0.

    Parameters
    ----------
    min_decades : float

    Returns
    -------
    float
    """
    return check_real("min_decades", min_decades, low=0.0, low_inclusive=False)


def slope_allowance(decades: float, eps: float = EPSILON) -> float:
    """The largest tilt of a log-log slope over ``decades`` from factors within 1 ± ``eps``:
    log10((1 + eps)/(1 − eps)) / decades.

    Parameters
    ----------
    decades : float
        Extent of the window (> 0).
    eps : float
        Accuracy of the neglected factors, in (0, 1).

    Returns
    -------
    float
    """
    decades = check_real("decades", decades, low=0.0, low_inclusive=False)
    eps = check_epsilon(eps)
    return math.log10((1 + eps) / (1 - eps)) / decades


@dataclass(frozen=True)
class PlanWindow:
    """The plan's fitting window of one class (see the module docstring).

    Attributes
    ----------
    x_min, x_max : float
        The window in |q̇′|.
    data_low, data_high : float
        The data edges (``EDGE_COUNT``-th smallest and largest sampled |q̇′|).
    rule_edge : str
        Which edge the approximations set (``"low"``, ``"high"``, ``"both"``) or ``"none"``
        when both are data edges.
    py_ratio, factor_ratio : float
        max/min of p_y and of the factor the law neglects (the rotation factor for the toy
        model, :func:`plan_window`) over the window.
    asymptotic_dev : float
        Largest relative deviation of dH/dy from its asymptotic form over the window.
    branch_share : float
        Smallest share of the exact density carried by the branches that satisfy the
        conditions (at least 1 − ε).
    n_branches : int
        Number of branches carrying at least ε of the density in the window.
    eps : float
        The accuracy used.
    """

    x_min: float
    x_max: float
    data_low: float
    data_high: float
    rule_edge: str
    py_ratio: float
    factor_ratio: float
    asymptotic_dev: float
    branch_share: float
    n_branches: int = 1
    eps: float = EPSILON

    @property
    def decades(self) -> float:
        """Extent of the window in decades."""
        return math.log10(self.x_max / self.x_min)

    def text(self) -> str:
        """A one-line description for evidence strings."""
        return (f"window [{self.x_min:.3g}, {self.x_max:.3g}] ({self.decades:.2f} decades; edge set by "
                f"the approximations: {self.rule_edge}; p_y max/min {self.py_ratio:.3f}, factor max/min "
                f"{self.factor_ratio:.3f}, asymptotic form within {100 * self.asymptotic_dev:.1f} %, "
                f"{self.n_branches} branch(es) carrying ≥ {self.branch_share:.3f}; ε = {self.eps:g})")


def _data_edges(abs_q: np.ndarray, edge_count: int) -> tuple[float, float]:
    if abs_q.size < 2 * edge_count + 10:
        raise ValueError(f"abs_q must hold at least {2 * edge_count + 10} non-zero jumps, got {abs_q.size}")
    part = np.partition(abs_q, [edge_count - 1, abs_q.size - edge_count])
    return float(part[edge_count - 1]), float(part[abs_q.size - edge_count])


def _check_edges(abs_q, data_edges, edge_count: int) -> tuple[float, float]:
    """Condition 4: the data edges, from ``abs_q`` or given directly (exactly one of them)."""
    if (abs_q is None) == (data_edges is None):
        raise ValueError("give exactly one of abs_q and data_edges")
    if data_edges is not None:
        if isinstance(data_edges, (str, bytes)) or not hasattr(data_edges, "__len__") or len(data_edges) != 2:
            raise TypeError(f"data_edges must be a pair (low, high), got {data_edges!r}")
        lo_d = check_real("data_edges[0]", data_edges[0], low=0.0, low_inclusive=False)
        hi_d = check_real("data_edges[1]", data_edges[1], low=0.0, low_inclusive=False)
    else:
        abs_q = check_array("abs_q", abs_q, ndim=1)
        abs_q = abs_q[abs_q > 0]
        lo_d, hi_d = _data_edges(abs_q, edge_count)
    if not hi_d > lo_d:
        raise ValueError("abs_q: the data edges coincide (all jumps equal); no window")
    return lo_d, hi_d


@dataclass(frozen=True)
class _Conditions:
    """Conditions 1–3 evaluated at every point of a |q̇′| grid (inner result, no validation)."""

    ok: np.ndarray          # conditions 1–2 and finiteness hold at the point
    dom: np.ndarray         # a key of the set of significant branches at the point
    py_hi: np.ndarray       # max / min of log p_y over the significant branches
    py_lo: np.ndarray
    r_hi: np.ndarray        # max / min of log |neglected factor| over them
    r_lo: np.ndarray
    dev: np.ndarray         # largest deviation from the asymptotic form
    covered: np.ndarray     # share of the density carried by the significant branches
    n_sig: np.ndarray       # number of significant branches


def _conditions(bd, eps: float, y_fill: float, log_py, log_factor, deviation) -> _Conditions:
    """Evaluate conditions 1–3 of the plan on the grid ``bd.points`` from the branches of the
    exact density (6.1) (``bd``, a :class:`bbdlib.duality.pushforward.BranchDensity`).

    ``log_py(y)``, ``log_factor(y)`` (log of the factor the law neglects) and ``deviation(y)``
    (relative deviation from the asymptotic form, or ``None``) are evaluated at the preimages
    of the significant branches (``y_fill`` elsewhere; those values are masked).
    """
    total = bd.density
    with np.errstate(invalid="ignore", divide="ignore"):
        share = bd.branch_density / total  # (n_branches, n_points)
    sig = np.isfinite(bd.preimages) & (share >= eps)  # the branches that matter at each point
    yv = np.where(sig, bd.preimages, y_fill)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        dev_b = np.zeros_like(yv) if deviation is None else deviation(yv)
        lpy_b = log_py(yv)
        lr_b = log_factor(yv)
    dev = np.where(sig, dev_b, 0.0).max(axis=0)
    finite = np.all(np.where(sig, np.isfinite(lr_b) & np.isfinite(dev_b), True), axis=0)
    big = np.inf
    covered = np.where(sig, share, 0.0).sum(axis=0)
    ok = (total > 0) & sig.any(axis=0) & finite & (dev <= eps) & (covered >= 1 - eps)
    # the set of significant branches must not change inside a window
    dom = np.array([hash(col.tobytes()) for col in sig.T])
    return _Conditions(ok=ok, dom=dom,
                       py_hi=np.where(sig, lpy_b, -big).max(axis=0), py_lo=np.where(sig, lpy_b, big).min(axis=0),
                       r_hi=np.where(sig, lr_b, -big).max(axis=0), r_lo=np.where(sig, lr_b, big).min(axis=0),
                       dev=dev, covered=covered, n_sig=sig.sum(axis=0))


def _widest_window(c: _Conditions, eps: float) -> tuple[int, int] | None:
    """The one search of the plan: the admissible window (grid indices) of most decades.

    Inside a run of admissible points with one set of significant branches, the longest
    sub-window on which the spreads of log p_y and of the log factor both stay within
    log((1 + ε)/(1 − ε)) (condition 3).  ``None`` if no two points qualify.
    """
    ok, dom, py_hi, py_lo, r_hi, r_lo = c.ok, c.dom, c.py_hi, c.py_lo, c.r_hi, c.r_lo
    lim = math.log((1 + eps) / (1 - eps))
    best = None
    i = 0
    n = ok.size
    while i < n:
        if not ok[i]:
            i += 1
            continue
        j = i
        while j + 1 < n and ok[j + 1] and dom[j + 1] == dom[i]:
            j += 1
        # within the admissible run [i, j] of one branch: longest sub-window with both spreads <= lim
        m = j + 1 - i
        for s in range(m):
            if best is not None and (m - s) <= best[1] - best[0] + 1:
                break
            u = slice(i + s, j + 1)
            spread_a = np.maximum.accumulate(py_hi[u]) - np.minimum.accumulate(py_lo[u])
            spread_b = np.maximum.accumulate(r_hi[u]) - np.minimum.accumulate(r_lo[u])
            bad = np.flatnonzero((spread_a > lim) | (spread_b > lim))
            e = (bad[0] - 1) if bad.size else m - s - 1
            if e >= 1 and (best is None or e + 1 > best[1] - best[0] + 1):
                best = (i + s, i + s + e)
        i = j + 1
    return best


def _plan_window(bd, lo_d: float, hi_d: float, eps: float, what: str, y_fill: float, log_py, log_factor,
                 deviation) -> PlanWindow:
    """Conditions 1–3 on the grid of ``bd``, the one search, and the :class:`PlanWindow`."""
    if bd.branch_density.shape[0] == 0:
        raise ValueError(f"no window for {what}: no branch")
    c = _conditions(bd, eps, y_fill, log_py, log_factor, deviation)
    best = _widest_window(c, eps)
    if best is None:
        raise ValueError(f"no window for {what}: the approximations of Sec. 6 "
                         f"do not hold to ε = {eps:g} anywhere inside the sampled range")
    grid = bd.points
    n = grid.size
    p, q = best
    at_lo, at_hi = p == 0, q == n - 1
    rule_edge = {(True, True): "none", (True, False): "high", (False, True): "low"}.get((at_lo, at_hi), "both")
    sl = slice(p, q + 1)
    return PlanWindow(
        x_min=float(grid[p]), x_max=float(grid[q]), data_low=lo_d, data_high=hi_d,
        rule_edge=rule_edge,
        py_ratio=float(math.exp(c.py_hi[sl].max() - c.py_lo[sl].min())),
        factor_ratio=float(math.exp(c.r_hi[sl].max() - c.r_lo[sl].min())),
        asymptotic_dev=float(c.dev[sl].max()), branch_share=float(c.covered[sl].min()),
        n_branches=int(c.n_sig[p]), eps=eps)


def plan_window(jump_map: JumpMap, abs_q=None, *, eps: float = EPSILON, edge_count: int = EDGE_COUNT,
                n_points: int = _N_POINTS, data_edges: tuple[float, float] | None = None,
                y_density=None) -> PlanWindow:
    """The plan's fitting window of one class of the toy model: the admissible window of most
    decades (module docstring), with the factor the law neglects the rotation factor
    x¹ cos θ + sin θ and the asymptotic form of dH/dy that of the composition.

    The same search as :func:`plan_window_of_map`, with the jump map's own branches
    (:func:`bbdlib.duality.density.exact_density`).

    Parameters
    ----------
    jump_map : JumpMap
        The composition, parameters, class, γ and θ.
    abs_q : array_like, optional
        Sampled |q̇′| (zeros dropped); only their ``edge_count``-th smallest and largest
        values are used (the data edges).  Give either ``abs_q`` or ``data_edges``.
    eps : float
        Accuracy ε of every approximation, in (0, 1).
    edge_count : int
        Samples beyond each data edge.
    n_points : int
        Points of the logarithmic |q̇′| grid on which the conditions are evaluated.
    data_edges : (float, float), optional
        The data edges directly (e.g. of a streamed sample,
        :meth:`bbdlib.duality.jumps.StreamedJumps.data_edges`).
    y_density : callable, optional
        The density p_y(y) to use in (6.1) and in condition 3 instead of the class's
        Gaussian (e.g. a kernel density estimate of real data).

    Returns
    -------
    PlanWindow

    Raises
    ------
    ValueError
        If no two grid points are admissible (no window at all), or for bad input.
    """
    if not isinstance(jump_map, JumpMap):
        raise TypeError(f"jump_map must be a JumpMap, got {type(jump_map).__name__}")
    jm = jump_map
    eps = check_epsilon(eps)
    edge_count = check_int("edge_count", edge_count, minimum=1)
    n_points = check_int("n_points", n_points, minimum=50)
    lo_d, hi_d = _check_edges(abs_q, data_edges, edge_count)
    grid = np.geomspace(lo_d, hi_d, n_points)
    ed = exact_density(jm, grid, y_density=y_density)
    t = jm.target
    comp = jm.composition

    def deviation(yv):
        return np.abs(comp.dH(yv, t) / comp.dH_asymptotic(yv, t) - 1.0)

    if y_density is None:
        def log_py(yv):
            return -0.5 * ((yv - jm.y_mean) / jm.y_std) ** 2
    else:
        def log_py(yv):
            return np.log(np.asarray(y_density(yv), dtype=float))

    def log_factor(yv):
        return np.log(np.abs(jm.rotation_factor((yv - jm.b) / jm.w)))

    return _plan_window(ed, lo_d, hi_d, eps, f"{comp.label}, class '{jm.cls}'", jm.y_mean, log_py,
                        log_factor, deviation)


def _check_callable(name: str, fn):
    if not callable(fn):
        raise TypeError(f"{name} must be callable, got {type(fn).__name__}")
    return fn


def plan_window_of_map(qdot, dqdot_dy, y_grid, *, factor, y_mean: float | None = None,
                       y_std: float | None = None, y_density=None, deviation=None, abs_q=None,
                       data_edges: tuple[float, float] | None = None, eps: float = EPSILON,
                       edge_count: int = EDGE_COUNT, n_points: int = _N_POINTS,
                       label: str = "the map") -> PlanWindow:
    """The plan's fitting window for a generic map y ↦ q̇′ of one variable (module docstring).

    The exact density (6.1) of |q̇′| and its monotone branches come from
    :func:`bbdlib.duality.pushforward.branch_density` on the caller's ``y_grid``
    (condition 1); the deviation from the asymptotic form (condition 2), p_y and the factor
    the law neglects (condition 3) are evaluated on every significant branch; the window
    lies inside the data edges (condition 4).  The search is the one of :func:`plan_window`.

    Parameters
    ----------
    qdot, dqdot_dy : callable
        The vectorised map y ↦ q̇′ and its derivative dq̇′/dy.
    y_grid : array_like
        Increasing y values on which the branches are located (at least 2; refine it near
        the zeros, poles and turning points of the map).
    factor : callable
        The vectorised factor the power law neglects (e.g. the ratio of the rotation
        factor to its asymptotic form); its modulus must vary by at most (1 + ε)/(1 − ε)
        across the window, and it must not vanish there.
    y_mean, y_std : float, optional
        The Gaussian p_y = N(y_mean, y_std²).  Give both, or ``y_density``.
    y_density : callable, optional
        The density p_y(y) instead of a Gaussian (vectorised, > 0 where the data are).
    deviation : callable, optional
        The relative deviation of the map from its asymptotic form at y (condition 2);
        ``None`` when the map is exactly its asymptotic form (deviation zero).
    abs_q : array_like, optional
        Sampled |q̇′| (only the data edges are used).  Give either ``abs_q`` or ``data_edges``.
    data_edges : (float, float), optional
        The data edges directly.
    eps : float
        Accuracy ε of every approximation, in (0, 1).
    edge_count : int
        Samples beyond each data edge.
    n_points : int
        Points of the logarithmic |q̇′| grid on which the conditions are evaluated (>= 50).
    label : str
        The name of the map in error messages.

    Returns
    -------
    PlanWindow
        ``factor_ratio`` is max/min of |``factor``| over the window.

    Raises
    ------
    ValueError
        If no two grid points are admissible (no window at all), or for bad input.
    TypeError
        If a callable argument is not callable.
    """
    qdot = _check_callable("qdot", qdot)
    dqdot_dy = _check_callable("dqdot_dy", dqdot_dy)
    factor = _check_callable("factor", factor)
    if deviation is not None:
        deviation = _check_callable("deviation", deviation)
    if not isinstance(label, str):
        raise TypeError(f"label must be a string, got {type(label).__name__}")
    y = check_array("y_grid", y_grid, ndim=1, min_size=2)
    if np.any(np.diff(y) <= 0):
        raise ValueError("y_grid must be strictly increasing")
    if y_density is None:
        if y_mean is None or y_std is None:
            raise ValueError("give y_mean and y_std (a Gaussian p_y) or y_density")
        mean = check_real("y_mean", y_mean)
        std = check_real("y_std", y_std, low=0.0, low_inclusive=False)
    else:
        y_density = _check_callable("y_density", y_density)
        mean = 0.0 if y_mean is None else check_real("y_mean", y_mean)
        std = 1.0 if y_std is None else check_real("y_std", y_std, low=0.0, low_inclusive=False)
    eps = check_epsilon(eps)
    edge_count = check_int("edge_count", edge_count, minimum=1)
    n_points = check_int("n_points", n_points, minimum=50)
    lo_d, hi_d = _check_edges(abs_q, data_edges, edge_count)
    grid = np.geomspace(lo_d, hi_d, n_points)
    bd = branch_density(qdot, dqdot_dy, grid, mean=mean, std=std, grid=y, pdf=y_density)
    y_fill = mean if y_mean is not None else float(y[y.size // 2])

    if y_density is None:
        def log_py(yv):
            return -0.5 * ((yv - mean) / std) ** 2
    else:
        def log_py(yv):
            return np.log(np.asarray(y_density(yv), dtype=float))

    def log_factor(yv):
        return np.log(np.abs(np.asarray(factor(yv), dtype=float) * np.ones_like(yv)))

    dev_fn = None if deviation is None else (
        lambda yv: np.abs(np.asarray(deviation(yv), dtype=float) * np.ones_like(yv)))
    return _plan_window(bd, lo_d, hi_d, eps, label, y_fill, log_py, log_factor, dev_fn)


@dataclass(frozen=True)
class ExponentMeasurement:
    """One exponent measured by the plan: fit, interval, KS, half-window fits, edge scan.

    Attributes
    ----------
    fit : PowerLawFit
        The MLE over the window (95 % bootstrap interval).
    ks : float
        KS distance of the in-window samples to the fitted truncated law.
    half_low, half_high : PowerLawFit
        Fits over the lower and upper half (in decades) of the window.
    edge_scan : tuple of (float, float)
        (position of the scanned edge, fitted k) pairs: the outer edge moved from the
        window's middle to one decade beyond it (within the data edges).
    scanned_edge : str
        ``"high"`` or ``"low"``: which edge was scanned.
    eps, min_decades : float
        The plan's accuracy and minimum extent.
    """

    fit: PowerLawFit
    ks: float
    half_low: PowerLawFit | None
    half_high: PowerLawFit | None
    edge_scan: tuple
    scanned_edge: str
    eps: float = EPSILON
    min_decades: float = MIN_DECADES

    @property
    def k(self) -> float:
        """The fitted exponent."""
        return self.fit.k

    @property
    def decades(self) -> float:
        """Extent of the window in decades."""
        return self.fit.decades

    @property
    def has_range(self) -> bool:
        """Whether the window spans at least ``min_decades``."""
        return self.decades >= self.min_decades

    @property
    def tolerance(self) -> float:
        """Slope allowance over the window (systematic) + bootstrap half-width (statistical)."""
        return slope_allowance(self.decades, self.eps) + self.fit.half_width

    @property
    def half_window_tolerance(self) -> float:
        """Allowed |k_low − k_high|: each half may be tilted by the slope allowance over its
        own decades, in opposite directions (a factor peaked inside the window), plus the
        95 % interval of a difference, √(h_low² + h_high²)."""
        if self.half_low is None or self.half_high is None:
            return float("nan")
        sys = slope_allowance(self.half_low.decades, self.eps) + slope_allowance(self.half_high.decades, self.eps)
        return sys + math.hypot(self.half_low.half_width, self.half_high.half_width)

    @property
    def stable(self) -> bool:
        """Half-window rule: |k_low − k_high| ≤ :attr:`half_window_tolerance`."""
        if self.half_low is None or self.half_high is None:
            return False
        return abs(self.half_low.k - self.half_high.k) <= self.half_window_tolerance

    def agrees(self, k_theory: float) -> bool:
        """Range, stability and |k − k_theory| ≤ tolerance: the plan's "reproduced".

        Parameters
        ----------
        k_theory : float

        Returns
        -------
        bool
        """
        k_theory = check_real("k_theory", k_theory)
        return self.has_range and self.stable and abs(self.k - k_theory) <= self.tolerance

    def text(self, digits: int = 3) -> str:
        """Evidence text: k, interval, tolerance, KS, half-window fits, edge scan."""
        f = self.fit

        def h(x):
            return "—" if x is None else f"{x.k:.{digits}f} [{x.ci_low:.{digits}f}, {x.ci_high:.{digits}f}]"

        scan = ", ".join(f"{e:.3g}: {k:.{digits}f}" for e, k in self.edge_scan)
        return (f"k = {f.k:.{digits}f}, 95% CI [{f.ci_low:.{digits}f}, {f.ci_high:.{digits}f}] on "
                f"{f.n_in_range} samples in [{f.x_min:.3g}, {f.x_max:.3g}] ({self.decades:.2f} decades), "
                f"tolerance {self.tolerance:.{digits}f}, "
                f"KS {self.ks:.4f}; halves {h(self.half_low)} and {h(self.half_high)} "
                f"({'stable' if self.stable else 'unstable'}); k against the {self.scanned_edge} edge: {scan}")


def measure_exponent(abs_q, window: tuple[float, float], *, rng: np.random.Generator | int,
                     scanned_edge: str = "high", limits: tuple[float, float] | None = None,
                     weights=None, n_boot: int = N_BOOT, eps: float = EPSILON,
                     min_decades: float = MIN_DECADES) -> ExponentMeasurement:
    """Measure the exponent of the samples over ``window`` by the plan.

    Parameters
    ----------
    abs_q : array_like
        Positive samples (|q̇′|).
    window : (float, float)
        The window (e.g. of :func:`plan_window`).
    rng : numpy.random.Generator or int
        Bootstrap randomness.
    scanned_edge : {"high", "low"}
        The edge moved in the edge scan (the one the approximations set).
    limits : (float, float), optional
        The scan stays inside these (default: the window widened by a decade each way).
    weights : array_like, optional
        Importance weights (weighted MLE, :func:`bbdlib.powerlaw.fit_truncated_powerlaw`).
    n_boot : int
        Bootstrap resamples of the main fit (the halves use the same, the scan 20).
    eps : float
        The plan's accuracy ε, in (0, 1).
    min_decades : float
        The minimum extent (> 0).

    Returns
    -------
    ExponentMeasurement
    """
    x = check_array("abs_q", abs_q).ravel()
    rng = check_generator("rng", rng)
    eps = check_epsilon(eps)
    min_decades = check_min_decades(min_decades)
    if scanned_edge not in ("high", "low"):
        raise ValueError(f"scanned_edge must be 'high' or 'low', got {scanned_edge!r}")
    lo = check_real("window[0]", window[0], low=0.0, low_inclusive=False)
    hi = check_real("window[1]", window[1], low=0.0, low_inclusive=False)
    mid = math.sqrt(lo * hi)
    lim_lo, lim_hi = limits if limits is not None else (lo / 10, hi * 10)
    if scanned_edge == "high":
        edges = np.geomspace(mid, max(mid * 1.0001, min(hi * 10, lim_hi)), N_EDGE_SCAN)
        pairs = [(lo, e) for e in edges]
    else:
        edges = np.geomspace(max(lim_lo, lo / 10), mid, N_EDGE_SCAN)
        pairs = [(e, hi) for e in edges]
    # every fit below sees only the samples inside its range: keep those inside the union of the
    # ranges once (in their order, so each fit gets the same samples in the same order as from x)
    if weights is not None:
        weights = _check_weights(weights, x)
    a_min = min([lo] + [a for a, _ in pairs])
    b_max = max([hi] + [b for _, b in pairs])
    inside = (x >= a_min) & (x <= b_max)
    x = x[inside]
    if weights is not None:
        weights = weights[inside]
    fit = fit_truncated_powerlaw(x, lo, hi, rng=rng, n_boot=n_boot, weights=weights)
    ks = ks_distance(x, fit.k, lo, hi, weights=weights)
    halves = []
    for a, b in ((lo, mid), (mid, hi)):
        try:
            halves.append(fit_truncated_powerlaw(x, a, b, rng=rng, n_boot=n_boot, weights=weights))
        except ValueError:
            halves.append(None)
    scan = []
    for (a, b), e in zip(pairs, edges):
        try:
            scan.append((float(e), fit_truncated_powerlaw(x, a, b, rng=rng, n_boot=20, weights=weights).k))
        except ValueError:
            continue
    return ExponentMeasurement(fit=fit, ks=ks, half_low=halves[0], half_high=halves[1],
                               edge_scan=tuple(scan), scanned_edge=scanned_edge, eps=eps,
                               min_decades=min_decades)


def claim_values(k_theory: float, *, measurement: ExponentMeasurement | None = None,
                 window_decades: float | None = None, min_decades: float = MIN_DECADES,
                 fit: PowerLawFit | None = None, tolerance: float | None = None,
                 ci: tuple[float, float] | None = None, measured: float | None = None,
                 eps: float = EPSILON) -> dict:
    """``expected``/``measured``/``tolerance`` of an exponent claim under the plan, the one rule
    of every chapter that records "p ∝ |q̇′|^-k" (Parts II and III).

    Numbers when the plan can compare them: a window of at least ``min_decades`` and, for a
    :class:`ExponentMeasurement`, half-window fits that agree; then the paper's k, the measured
    k, the tolerance (slope allowance + half-width of the interval,
    :attr:`ExponentMeasurement.tolerance`) and the interval.  Otherwise text saying why not ("no window", "no power-law
    range (… decades)", "halves … differ"), which records the claim as not reproduced.

    Parameters
    ----------
    k_theory : float
        The paper's exponent.
    measurement : ExponentMeasurement, optional
        The plan's measurement (:func:`measure_exponent`).  Without one, the claim is
        compared from ``measured``/``tolerance``/``ci`` (an estimate that is not a single
        MLE, e.g. over image resamples), or reported as having no range.
    window_decades : float, optional
        Extent of the plan window when there is no measurement; ``None`` means no window.
    min_decades : float
        The plan's minimum extent.
    fit : PowerLawFit, optional
        Without a measurement: an MLE whose exponent and interval are compared
        (``tolerance`` is then its slope allowance plus half-width unless given).
    tolerance : float, optional
        Without a measurement: the tolerance of ``measured`` (> 0).
    ci : (float, float), optional
        Without a measurement: the interval of ``measured``.
    measured : float, optional
        Without a measurement: the estimate of k.
    eps : float
        The plan's ε (for the slope allowance of ``fit``).

    Returns
    -------
    dict
        Keyword arguments for :meth:`bbdlib.book.claims.Ledger.assess`.
    """
    k_theory = check_real("k_theory", k_theory)
    min_decades = check_min_decades(min_decades)
    need = f"k = {k_theory:.3g} over at least {min_decades:g} decade"
    if measurement is not None:
        if not isinstance(measurement, ExponentMeasurement):
            raise TypeError(f"measurement must be an ExponentMeasurement, got {type(measurement).__name__}")
        m = measurement
        if not m.has_range:
            return dict(expected=need, measured=f"no power-law range ({m.decades:.2f} decades)")
        if not m.stable:
            return dict(expected=f"k = {k_theory:.3g}, stable over the window (half-window rule)",
                        measured=f"halves {m.half_low.k:.3f} and {m.half_high.k:.3f} differ by more than "
                                 f"{m.half_window_tolerance:.3f}")
        return dict(expected=k_theory, measured=m.k, tolerance=m.tolerance, ci=[m.fit.ci_low, m.fit.ci_high])
    if window_decades is None:
        return dict(expected=need, measured="no window")
    window_decades = check_real("window_decades", window_decades, low=0.0)
    if window_decades < min_decades:
        return dict(expected=need, measured=f"no power-law range ({window_decades:.2f} decades)")
    if fit is not None:
        if not isinstance(fit, PowerLawFit):
            raise TypeError(f"fit must be a PowerLawFit, got {type(fit).__name__}")
        tol = slope_allowance(window_decades, eps) + fit.half_width if tolerance is None else tolerance
        return dict(expected=k_theory, measured=fit.k, tolerance=check_real("tolerance", tol, low=0.0),
                    ci=[fit.ci_low, fit.ci_high])
    if measured is None:
        return dict(expected=need, measured="no fit in the window")
    if tolerance is None:
        raise ValueError("tolerance must be given with measured")
    out = dict(expected=k_theory, measured=check_real("measured", measured),
               tolerance=check_real("tolerance", tolerance, low=0.0, low_inclusive=False))
    if ci is not None:
        out["ci"] = [float(ci[0]), float(ci[1])]
    return out
