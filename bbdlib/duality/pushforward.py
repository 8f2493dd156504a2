"""The push-forward of a Gaussian data distribution through a scalar map: eqs. (3.11)–(3.13), (6.1) of [B].

[B] Kukleva, Vanchurin, "Dataset-learning duality and emergent criticality".

A scalar step q̇′ = q(x) of an input x ~ N(mean, std²) (one boundary neuron, or the
pre-activation y of the toy model) is distributed as the push-forward of the Gaussian,

    p(q̇′) dq̇′ = Σ_branches p(x_b) dx_b,          (3.13) / (6.1)

summed over the monotone branches x_b of the map (eq. (3.12) on each branch).  This is the
one implementation of that push-forward in the book; three forms are offered:

* :func:`sample` — Monte Carlo: draw x, map it (what a histogram is compared with);
* :func:`bin_probabilities` — ∫ p(x) 1[q(x) ∈ bin] dx by the midpoint rule: the integrated
  form of (3.13), accurate also at the folds of the map, where the point density has
  integrable singularities, and needing no inversion;
* :func:`branch_density` — the point density Σ_b p(x_b) |dx/dq|_b, by inverting
  x ↦ log|q(x)| on every monotone branch of a grid and polishing each root with Newton
  steps; :func:`density` is the same on a uniform grid with the derivative by central
  differences when none is given.
"""
from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from bbdlib.validate import check_array, check_generator, check_int, check_real

__all__ = ["gaussian_pdf", "PushforwardSample", "sample", "bin_probabilities", "BranchDensity",
           "branch_density", "density", "turning_points", "count_preimages"]


def gaussian_pdf(x, mean: float, std: float) -> np.ndarray:
    """The normal density N(mean, std²) at ``x`` (no validation: inner kernel)."""
    return np.exp(-0.5 * ((x - mean) / std) ** 2) / (std * math.sqrt(2 * math.pi))


def _check_map(name: str, fn) -> Callable:
    if not callable(fn):
        raise TypeError(f"{name} must be callable, got {type(fn).__name__}")
    return fn


def _check_gaussian(mean, std) -> tuple[float, float]:
    return check_real("mean", mean), check_real("std", std, low=0.0, low_inclusive=False)


@dataclass(frozen=True)
class PushforwardSample:
    """Samples of :func:`sample`: inputs ``x`` and their images ``q`` = q(x)."""

    x: np.ndarray
    q: np.ndarray


def sample(q_of_x: Callable, *, mean: float, std: float, n_samples: int,
           rng: np.random.Generator | int) -> PushforwardSample:
    """Draw x ~ N(mean, std²) and map it: samples of the push-forward (3.8)/(6.1) of [B].

    Parameters
    ----------
    q_of_x : callable
        The vectorised map x ↦ q̇′.
    mean, std : float
        Mean and standard deviation (> 0) of the Gaussian input.
    n_samples : int
        Number of samples (> 0).
    rng : numpy.random.Generator or int

    Returns
    -------
    PushforwardSample
    """
    q_of_x = _check_map("q_of_x", q_of_x)
    mean, std = _check_gaussian(mean, std)
    n_samples = check_int("n_samples", n_samples, minimum=1, maximum=200_000_000,
                          why="2·10^8 float64 samples take 1.6 GB per array; more do not fit this machine")
    rng = check_generator("rng", rng)
    x = rng.normal(mean, std, size=n_samples)
    return PushforwardSample(x=x, q=np.asarray(q_of_x(x), dtype=float))


def bin_probabilities(q_of_x: Callable, edges, *, mean: float, std: float, x_span: float = 8.0,
                      n_grid: int = 400_001, weight: Callable | None = None) -> np.ndarray:
    """Probabilities of the bins ``edges`` for q(x), x ~ N(mean, std²): eq. (3.13) of [B].

    ∫ p(x) w(x) 1[q(x) ∈ bin] dx by the midpoint rule on ``n_grid`` points spanning
    mean ± ``x_span`` std: the sum over preimages of (3.13) in integrated form.

    Parameters
    ----------
    q_of_x : callable
        The vectorised map x ↦ q̇′.
    edges : array_like
        Strictly increasing bin edges (at least 2).
    mean, std : float
        Mean and standard deviation (> 0) of the Gaussian input.
    x_span : float
        Half-width of the grid in standard deviations (>= 1).
    n_grid : int
        Grid points (>= 100).
    weight : callable, optional
        An extra factor w(x) of the integrand (default 1).  With
        w = |dq/dx|_exact / |dq/dx|_approx it gives the bin probabilities implied by a
        density written with an approximate Jacobian (eq. (5.9) of [B]).

    Returns
    -------
    ndarray
        One probability per bin.
    """
    q_of_x = _check_map("q_of_x", q_of_x)
    if weight is not None:
        weight = _check_map("weight", weight)
    edges = check_array("edges", edges, ndim=1)
    if edges.size < 2 or np.any(np.diff(edges) <= 0):
        raise ValueError("edges must be strictly increasing with at least 2 values")
    mean, std = _check_gaussian(mean, std)
    x_span = check_real("x_span", x_span, low=1.0)
    n_grid = check_int("n_grid", n_grid, minimum=100)
    xs = np.linspace(mean - x_span * std, mean + x_span * std, n_grid)
    xm = 0.5 * (xs[1:] + xs[:-1])
    dx = xs[1] - xs[0]
    g = np.asarray(q_of_x(xm), dtype=float)
    mass = gaussian_pdf(xm, mean, std) * dx
    if weight is not None:
        mass = mass * np.asarray(weight(xm), dtype=float)
    idx = np.searchsorted(edges, g, side="right") - 1
    ok = (idx >= 0) & (idx < edges.size - 1)
    return np.bincount(idx[ok], weights=mass[ok], minlength=edges.size - 1)


@dataclass(frozen=True)
class BranchDensity:
    """Result of :func:`branch_density`.

    Attributes
    ----------
    points : ndarray
        The evaluation points (values of q̇′, or of |q̇′|).
    density : ndarray
        The push-forward density at ``points``: the sum of ``branch_density``.
    branch_density : ndarray, shape (n_branches, len(points))
        The terms p(x_b) |dx/dq|_b of the sum, one row per monotone branch.
    preimages : ndarray, shape (n_branches, len(points))
        The preimages x_b (NaN where a branch does not reach a point).
    branch_jacobian : ndarray, shape (n_branches, len(points))
        |dx/dq| of each term.
    """

    points: np.ndarray
    density: np.ndarray
    branch_density: np.ndarray
    preimages: np.ndarray
    branch_jacobian: np.ndarray


def branch_density(q_of_x: Callable, dq_dx: Callable, points, *, mean: float, std: float,
                   grid, signed: bool = False, n_newton: int = 3,
                   pdf: Callable | None = None) -> BranchDensity:
    """Point density of q(x), x ~ N(mean, std²), summed over branches: eqs. (3.12)–(3.13), (6.1).

    The monotone branches are the runs of ``grid`` on which sign q and sign d|q|/dx are
    constant and log|q| is finite; on each, log|q| is inverted by linear interpolation and
    polished by ``n_newton`` Newton steps, and the branch contributes p(x_b)/|dq/dx(x_b)|.

    Parameters
    ----------
    q_of_x, dq_dx : callable
        The vectorised map and its derivative.
    points : array_like
        Where to evaluate: values of q (``signed``) or of |q| (> 0, the default).
    mean, std : float
        Mean and standard deviation (> 0) of the Gaussian input.
    grid : array_like
        Increasing x values on which the branches are located (the caller refines it
        near kinks and critical points).
    signed : bool
        ``False``: the density of |q| (both signs of q summed); ``True``: the density of q.
    n_newton : int
        Newton steps per root.
    pdf : callable, optional
        The input density p(x) to use instead of N(mean, std²) (e.g. a kernel density
        estimate of real data); vectorised, NaN in → NaN out.  ``mean`` and ``std`` are
        then only validated.

    Returns
    -------
    BranchDensity
    """
    q_of_x = _check_map("q_of_x", q_of_x)
    dq_dx = _check_map("dq_dx", dq_dx)
    points = check_array("points", points, ndim=1)
    if signed:
        if np.any(points == 0):
            raise ValueError("points must be non-zero")
    elif np.any(points <= 0):
        raise ValueError("points must be positive (values of |q|)")
    mean, std = _check_gaussian(mean, std)
    x = check_array("grid", grid, ndim=1)
    n_newton = check_int("n_newton", n_newton, minimum=0)
    if pdf is not None:
        pdf = _check_map("pdf", pdf)
    return _branch_density(_branches(q_of_x, dq_dx, x), q_of_x, dq_dx, points, mean=mean, std=std,
                           signed=signed, n_newton=n_newton, pdf=pdf)


def _branches(q_of_x: Callable, dq_dx: Callable, x: np.ndarray) -> list:
    """The monotone branches of q(x) on the grid ``x`` (the part of :func:`branch_density` that
    depends on the map and the grid alone, not on the points): per branch, log|q| ascending, the
    x in the same order, and sign q.  A branch is a run of constant (sign q, sign d|q|/dx) with
    finite log|q|."""
    out = []
    if x.size < 2:
        return out
    qq = q_of_x(x)
    dq = dq_dx(x)
    with np.errstate(divide="ignore"):
        lq = np.log(np.abs(qq))
    key = np.sign(qq) * 2 + np.sign(qq * dq)
    ok = np.isfinite(lq) & (qq != 0) & (dq != 0)
    brk = np.flatnonzero((np.diff(key) != 0) | ~ok[1:] | ~ok[:-1]) + 1
    for seg in np.split(np.arange(x.size), brk):
        seg = seg[ok[seg]]
        if seg.size < 2:
            continue
        L, X = lq[seg], x[seg]
        order = np.argsort(L)
        out.append((L[order], X[order], np.sign(qq[seg[0]])))
    return out


def _branch_density(branches: list, q_of_x: Callable, dq_dx: Callable, points: np.ndarray, *,
                    mean: float, std: float, signed: bool, n_newton: int,
                    pdf: Callable | None) -> BranchDensity:
    """:func:`branch_density` from the branches of :func:`_branches` (validated input): each
    point is inverted on each branch independently of the other points."""
    u = np.log(np.abs(points))
    dens, xs_b, jacs = [], [], []
    for L, X, sign_q in branches:
        inside = (u >= L[0]) & (u <= L[-1])
        if signed:
            inside &= np.sign(points) == sign_q
        if not inside.any():
            continue
        xb = np.full(u.shape, np.nan)
        xi = np.interp(u[inside], L, X)
        for _ in range(n_newton):  # Newton polish of log|q(x)| = u
            qv = q_of_x(xi)
            dv = dq_dx(xi)
            with np.errstate(divide="ignore", invalid="ignore"):
                step = (np.log(np.abs(qv)) - u[inside]) * qv / dv
            step = np.where(np.isfinite(step), step, 0.0)
            xi = np.clip(xi - step, X.min(), X.max())
        xb[inside] = xi
        jac = np.full(u.shape, np.nan)
        with np.errstate(divide="ignore"):
            jac[inside] = 1.0 / np.abs(dq_dx(xi))
        px = gaussian_pdf(xb, mean, std) if pdf is None else np.asarray(pdf(xb), dtype=float)
        dens.append(np.where(inside, px * jac, 0.0))
        xs_b.append(xb)
        jacs.append(jac)
    if not dens:
        z = np.zeros((0, points.size))
        return BranchDensity(points=points, density=np.zeros(points.size), branch_density=z,
                             preimages=z, branch_jacobian=z)
    bd = np.array(dens)
    return BranchDensity(points=points, density=bd.sum(axis=0), branch_density=bd,
                         preimages=np.array(xs_b), branch_jacobian=np.array(jacs))


def density(q_of_x: Callable, points, *, mean: float, std: float, x_span: float = 8.0,
            n_grid: int = 200_001, dq_dx: Callable | None = None) -> np.ndarray:
    """Density of q(x), x ~ N(mean, std²), at the (signed, non-zero) ``points``: eq. (3.13).

    :func:`branch_density` on a uniform grid of ``n_grid`` points over mean ± ``x_span``
    std; the derivative is ``dq_dx`` or, if none is given, central differences with step
    10⁻⁶ std.

    Parameters
    ----------
    q_of_x : callable
        The vectorised map x ↦ q̇′.
    points : array_like
        Non-zero values of q̇′.
    mean, std : float
        Mean and standard deviation (> 0) of the Gaussian input.
    x_span : float
        Half-width of the grid in standard deviations (>= 1).
    n_grid : int
        Grid points (>= 100).
    dq_dx : callable, optional
        dq/dx (default: central differences).

    Returns
    -------
    ndarray
        The density at ``points``.
    """
    q_of_x = _check_map("q_of_x", q_of_x)
    mean, std = _check_gaussian(mean, std)
    x_span = check_real("x_span", x_span, low=1.0)
    n_grid = check_int("n_grid", n_grid, minimum=100)
    if dq_dx is None:
        h = 1e-6 * std

        def dq_dx(x):
            return (np.asarray(q_of_x(x + h)) - np.asarray(q_of_x(x - h))) / (2.0 * h)
    grid = np.linspace(mean - x_span * std, mean + x_span * std, n_grid)
    return branch_density(q_of_x, dq_dx, points, mean=mean, std=std, grid=grid,
                          signed=True).density


def turning_points(x_grid, q_grid) -> np.ndarray:
    """The x at which a map tabulated on a grid turns (dq/dx changes sign).

    The map has ``len(turning_points) + 1`` monotone branches on the grid.

    Parameters
    ----------
    x_grid : array_like
        Increasing x.
    q_grid : array_like
        q(x) on ``x_grid``.

    Returns
    -------
    ndarray
    """
    x = check_array("x_grid", x_grid, ndim=1, min_size=2)
    q = check_array("q_grid", q_grid, shape=x.shape)
    return x[1:-1][np.diff(np.sign(np.diff(q))) != 0]


def count_preimages(q_grid, values) -> np.ndarray:
    """Number of grid segments of a tabulated map that reach each of ``values``.

    A value v counts once per segment [q_i, q_i+1) (in either order) that contains it:
    the number of terms of the sum over preimages (3.13) of [B] on the grid.

    Parameters
    ----------
    q_grid : array_like
        q(x) on an increasing grid.
    values : array_like

    Returns
    -------
    ndarray of int
    """
    q = check_array("q_grid", q_grid, ndim=1, min_size=2)
    v = check_array("values", values, ndim=1)
    lo, hi = np.minimum(q[:-1], q[1:]), np.maximum(q[:-1], q[1:])
    return np.array([int(np.sum((lo <= c) & (c < hi))) for c in v], dtype=int)
