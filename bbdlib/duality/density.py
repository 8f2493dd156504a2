"""The exact density of the jumps, eq. (6.1) of [B], and the book's fitting-range rule.

    p(|q̇′|) = Σ_branches p_y(y_b) |dy/dq̇′|_b,

summed over the monotone branches y_b of y ↦ |q̇′(y)| (and over both signs of q̇′), with
p_y the Gaussian density of y = w x¹ + b for the class (eqs. (7.2)–(7.3)).  It is computed
from the composition alone, by inverting y ↦ log|q̇′| on a fine grid and polishing each
root with Newton steps — never from the samples.  It is normalised per input of the class,
so that it integrates to the fraction of inputs with a non-zero jump.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from bbdlib.duality.jumps import check_sampler_args, jump_derivative, map_jumps
from bbdlib.duality.toy_model import CLASS_MEAN, CLASS_STD, CLASS_TARGET, Composition
from bbdlib.validate import check_array, check_int, check_real

__all__ = ["ExactDensity", "exact_density", "fit_window", "local_jacobian_exponent",
           "critical_point", "critical_window"]


@dataclass(frozen=True)
class ExactDensity:
    """Result of :func:`exact_density`.

    ``q`` the evaluation points (|q̇′|), ``density`` the total, ``branch_density`` shape
    (n_branches, len(q)) the terms of the sum, ``branch_y`` their preimages (NaN where a
    branch does not reach q), ``branch_jacobian`` the |dy/dq̇′| of each term.
    """

    q: np.ndarray
    density: np.ndarray
    branch_density: np.ndarray
    branch_y: np.ndarray
    branch_jacobian: np.ndarray


def _y_grid(comp: Composition, w: float, b: float, cls: str, n_grid: int, n_sd: float) -> np.ndarray:
    mu_y = w * CLASS_MEAN[cls] + b
    sd_y = abs(w) * CLASS_STD[cls]
    lo, hi = mu_y - n_sd * sd_y, mu_y + n_sd * sd_y
    kinks = []
    if comp.activation in ("relu", "piecewise_linear"):
        lo = max(lo, 0.0)
        kinks.append(0.0)
    if comp.activation == "piecewise_linear":
        hi = min(hi, 1.0)
        kinks.append(1.0)
    if comp.activation == "relu" and comp.loss != "cross_entropy":
        kinks.append(CLASS_TARGET[cls])  # zero of H′ at f = t
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


def exact_density(comp: Composition, w: float, b: float, cls: str, q, *, gamma: float,
                  theta: float, n_grid: int = 100_001, n_sd: float = 12.0) -> ExactDensity:
    """Eq. (6.1): the density of |q̇′| at the points ``q`` (> 0), per input of class ``cls``.

    Parameters
    ----------
    comp, w, b, cls, gamma, theta
        As in :func:`bbdlib.duality.jumps.sample_jumps`.
    q : array_like
        Positive values of |q̇′|.
    n_grid : int
        Points of the y grid used to locate the branches.
    n_sd : float
        The y grid covers the class mean ± n_sd standard deviations of y.
    """
    comp, w, b, cls, gamma, theta = check_sampler_args(comp, w, b, cls, gamma, theta)
    q = check_array("q", q, ndim=1)
    if np.any(q <= 0):
        raise ValueError("q must be positive (|q̇′| values)")
    n_grid = check_int("n_grid", n_grid, minimum=101)
    n_sd = check_real("n_sd", n_sd, low=1.0)
    mu_y = w * CLASS_MEAN[cls] + b
    sd_y = abs(w) * CLASS_STD[cls]
    y = _y_grid(comp, w, b, cls, n_grid, n_sd)
    u = np.log(q)
    dens, ys, jacs = [], [], []
    if y.size >= 2:
        qq = map_jumps(comp, (y - b) / w, w, b, cls, gamma, theta)
        dq = jump_derivative(comp, y, w, b, cls, gamma, theta)
        with np.errstate(divide="ignore"):
            lq = np.log(np.abs(qq))
        # d|q|/dy sign; a branch is a run of constant (sign q, sign d|q|/dy), finite log|q|
        key = np.sign(qq) * 2 + np.sign(qq * dq)
        ok = np.isfinite(lq) & (qq != 0) & (dq != 0)
        brk = np.flatnonzero((np.diff(key) != 0) | ~ok[1:] | ~ok[:-1]) + 1
        for seg in np.split(np.arange(y.size), brk):
            seg = seg[ok[seg]]
            if seg.size < 2:
                continue
            L, Y = lq[seg], y[seg]
            order = np.argsort(L)
            L, Y = L[order], Y[order]
            inside = (u >= L[0]) & (u <= L[-1])
            if not inside.any():
                continue
            yb = np.full(u.shape, np.nan)
            yi = np.interp(u[inside], L, Y)
            for _ in range(3):  # Newton polish of log|q(y)| = u
                qv = map_jumps(comp, (yi - b) / w, w, b, cls, gamma, theta)
                dv = jump_derivative(comp, yi, w, b, cls, gamma, theta)
                with np.errstate(divide="ignore", invalid="ignore"):
                    step = (np.log(np.abs(qv)) - u[inside]) * qv / dv
                step = np.where(np.isfinite(step), step, 0.0)
                yi = np.clip(yi - step, Y.min(), Y.max())
            yb[inside] = yi
            jac = np.full(u.shape, np.nan)
            with np.errstate(divide="ignore"):
                jac[inside] = 1.0 / np.abs(jump_derivative(comp, yi, w, b, cls, gamma, theta))
            py = np.exp(-0.5 * ((yb - mu_y) / sd_y) ** 2) / (sd_y * math.sqrt(2 * math.pi))
            dens.append(np.where(inside, py * jac, 0.0))
            ys.append(yb)
            jacs.append(jac)
    if not dens:
        z = np.zeros((0, q.size))
        return ExactDensity(q=q, density=np.zeros(q.size), branch_density=z, branch_y=z, branch_jacobian=z)
    bd = np.array(dens)
    return ExactDensity(q=q, density=bd.sum(axis=0), branch_density=bd,
                        branch_y=np.array(ys), branch_jacobian=np.array(jacs))


def local_jacobian_exponent(comp: Composition, y, w: float, b: float, cls: str, *,
                            gamma: float, theta: float, h: float = 1e-5) -> np.ndarray:
    """k_J(y) = −d log|dy/dq̇′| / d log|q̇′| along the class (central differences in y)."""
    y = np.asarray(y, dtype=float)
    def lj(v):
        return -np.log(np.abs(jump_derivative(comp, v, w, b, cls, gamma, theta)))
    def lq(v):
        return np.log(np.abs(map_jumps(comp, (v - b) / w, w, b, cls, gamma, theta)))
    step = h * np.maximum(1.0, np.abs(y))
    return -(lj(y + step) - lj(y - step)) / (lq(y + step) - lq(y - step))


def fit_window(comp: Composition, w: float, b: float, cls: str, abs_q, *, gamma: float,
               theta: float, tol: float = 0.1, quantiles: tuple[float, float] = (0.01, 0.99),
               branch_share: float = 0.01, n_points: int = 2000) -> tuple[float, float]:
    """The book's fitting-range rule, stated before any fit and used for every figure.

    The range of |q̇′| is the longest (in decades) interval inside the
    ``quantiles`` of the non-zero sampled |q̇′| on which every branch carrying at least
    ``branch_share`` of the exact density (6.1) sits where the composition's dH/dy
    agrees with the paper's asymptotic form (:meth:`Composition.dH_asymptotic`) to
    within a relative ``tol``.

    Returns ``(x_min, x_max)``; raises ``ValueError`` if no such interval exists.
    """
    abs_q = check_array("abs_q", abs_q, ndim=1)
    abs_q = abs_q[abs_q > 0]
    if abs_q.size < 100:
        raise ValueError("abs_q must hold at least 100 non-zero jumps")
    lo, hi = np.quantile(abs_q, quantiles)
    grid = np.geomspace(lo, hi, n_points)
    ed = exact_density(comp, w, b, cls, grid, gamma=gamma, theta=theta)
    t = CLASS_TARGET[cls]
    good = np.ones(grid.size, dtype=bool)
    total = ed.density
    for yb, db in zip(ed.branch_y, ed.branch_density):
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
                         f"'{cls}' holds nowhere inside the sampled range")
    return float(grid[best[0]]), float(grid[best[1]])


def critical_point(comp: Composition, cls: str) -> float:
    """The y* at which |q̇′| → 0 or ∞ by a power law, for ReLU and the piece-wise linear f.

    ReLU/piece-wise linear with |f − t|^n: y* = t (H′ ∝ |y − t|^(n−1); for t = 0 the
    kink y = 0).  Piece-wise linear with cross-entropy: y* = 1 for '−' (H′ = 1/(1 − y)),
    y* = 0 for '+' (H′ = −1/y).  The sigmoid has no finite critical point.
    """
    from bbdlib.duality.toy_model import check_class

    cls = check_class(cls)
    if comp.activation == "sigmoid":
        raise ValueError("activation 'sigmoid' has no finite critical point; allowed: 'relu', 'piecewise_linear'")
    t = CLASS_TARGET[cls]
    if comp.loss == "cross_entropy":
        return 1.0 - t
    return t


def critical_window(comp: Composition, w: float, b: float, cls: str, abs_q, *, gamma: float,
                    theta: float, tol: float = 0.1, q_low_quantile: float = 1e-3,
                    n_grid: int = 20_001) -> tuple[float, float]:
    """Fitting range at the critical point y* (ReLU, piece-wise linear): where every
    approximation of Sec. 6 of [B] holds to a relative ``tol``.

    On each side of y* that the class populates, the largest δ such that for all
    |y − y*| ≤ δ on the active piece (i) p_y(y)/p_y(y*), (ii) the rotation factor
    (x¹cos θ + sin θ)/(x¹*cos θ + sin θ) (the (Dy − C) of (6.4)) and (iii) dH/dy over its
    asymptotic form all lie within 1 ± tol.  The range is from the ``q_low_quantile``
    quantile of the sampled non-zero |q̇′| (a floor set by the data) to the smallest
    |q̇′| reached at the edge y* ± δ of the sides; for a critical point where |q̇′| → ∞
    (cross-entropy) it runs from the largest such |q̇′| to the ``1 − q_low_quantile``
    quantile.  Raises ``ValueError`` if the range is empty.
    """
    comp, w, b, cls, gamma, theta = check_sampler_args(comp, w, b, cls, gamma, theta)
    abs_q = check_array("abs_q", abs_q, ndim=1)
    abs_q = abs_q[abs_q > 0]
    if abs_q.size < 100:
        raise ValueError("abs_q must hold at least 100 non-zero jumps")
    ys = critical_point(comp, cls)
    t = CLASS_TARGET[cls]
    mu_y = w * CLASS_MEAN[cls] + b
    sd_y = abs(w) * CLASS_STD[cls]
    c, s = math.cos(theta), math.sin(theta)

    def py(v):
        return np.exp(-0.5 * ((v - mu_y) / sd_y) ** 2)

    def factor(v):
        return ((v - b) / w) * c + s

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
        edges_q.append(abs(map_jumps(comp, (v[last] - b) / w, w, b, cls, gamma, theta)))
    if not edges_q:
        raise ValueError(f"no critical range for {comp.label}, class '{cls}'")
    if comp.loss == "cross_entropy":  # |q̇′| → ∞ at y*
        lo, hi = max(edges_q), float(np.quantile(abs_q, 1 - q_low_quantile))
    else:
        lo, hi = float(np.quantile(abs_q, q_low_quantile)), min(edges_q)
    if not hi > lo:
        raise ValueError(f"no critical range for {comp.label}, class '{cls}': the approximations "
                         "hold only where there are no samples")
    return float(lo), float(hi)
