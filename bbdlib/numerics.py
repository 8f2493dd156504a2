"""Shared numerics: quadrature along a sampled trajectory, measured time derivatives, order fits.

These are the tools the book uses to *measure* things on sampled time series (as opposed to
the analytic formulas of the papers): the running integral of the ``∫dt`` terms of the energy
densities of [A], the time derivative ``ė`` that is compared with the continuity equations,
and the convergence order of an error against a step size.
"""
from __future__ import annotations

import numpy as np

from bbdlib.validate import check_array, check_choice

__all__ = ["cumulative_integral", "time_derivative", "fit_order"]


def cumulative_integral(t, g, *, method: str = "spline") -> np.ndarray:
    """Running integral ``∫_{t_0}^{t} g dt'`` at every sample (axis 0 is time).

    Parameters
    ----------
    t : array_like, shape (T,)
        Sample times (increasing).
    g : array_like, shape (T, ...)
        Integrand at the sample times.
    method : {"spline", "trapezoid"}
        ``"spline"``: antiderivative of the interpolating quintic spline (error O(h⁶); with
        fewer than 7 samples the trapezoid rule is used); ``"trapezoid"``: cumulative
        trapezoid rule (O(h²); used when streaming long runs in chunks).

    Returns
    -------
    numpy.ndarray, shape (T, ...)
        The integral from ``t[0]`` to each ``t[n]`` (zero in the first row).
    """
    t = check_array("t", t, ndim=1)
    g = check_array("g", g)
    method = check_choice("method", method, ("spline", "trapezoid"))
    if g.shape[0] != t.size:
        raise ValueError(f"g must have {t.size} rows (one per time), got shape {g.shape}")
    if method == "spline" and t.size > 6:
        from scipy.interpolate import make_interp_spline

        F = make_interp_spline(t, g, k=5, axis=0).antiderivative()
        out = F(t)
        return out - out[0]
    from scipy.integrate import cumulative_trapezoid

    return cumulative_trapezoid(g, t, axis=0, initial=0.0)


_FD6 = np.array([-1.0, 9.0, -45.0, 0.0, 45.0, -9.0, 1.0]) / 60.0


def time_derivative(t, y) -> np.ndarray:
    """*Measured* ``dy/dt`` of samples on a uniform grid: sixth-order central differences.

    This is how the book measures ``ė`` independently of eq. (19) of [A].

    Parameters
    ----------
    t : array_like, shape (T,)
        Uniformly spaced sample times, ``T >= 7``.
    y : array_like, shape (T, ...)
        Samples.

    Returns
    -------
    numpy.ndarray, shape (T, ...)
        ``dy/dt``; the three first and last rows are ``NaN`` (no one-sided stencils).
    """
    t = check_array("t", t, ndim=1)
    y = check_array("y", y)
    if t.size < 7:
        raise ValueError("need at least 7 samples for the sixth-order stencil")
    if y.shape[0] != t.size:
        raise ValueError(f"y must have {t.size} rows (one per time), got shape {y.shape}")
    dt = np.diff(t)
    if not np.allclose(dt, dt[0], rtol=1e-9, atol=0.0):
        raise ValueError("time_derivative needs uniformly spaced samples")
    out = np.full(y.shape, np.nan)
    n = t.size
    acc = np.zeros((n - 6, *y.shape[1:]))
    for k, c in enumerate(_FD6):
        if c != 0.0:
            acc += c * y[k:n - 6 + k]
    out[3:n - 3] = acc / dt[0]
    return out


def fit_order(h, err) -> float:
    """Convergence order: the least-squares slope of ``log err`` against ``log h``.

    Parameters
    ----------
    h : array_like
        Step sizes (or any positive control parameter: η, γ, ...).
    err : array_like
        Positive errors, one per step size.

    Returns
    -------
    float
        The fitted exponent ``p`` of ``err ∝ h^p``.
    """
    h, err = check_array("h", h, ndim=1), check_array("err", err, ndim=1)
    if h.shape != err.shape:
        raise ValueError(f"h and err must have the same shape, got {h.shape} and {err.shape}")
    if h.size < 2 or np.any(h <= 0):
        raise ValueError("h must hold at least two positive step sizes to fit an order")
    if np.any(err <= 0):
        raise ValueError("err must be positive to fit an order (a zero error has no logarithm)")
    return float(np.polyfit(np.log(h), np.log(err), 1)[0])
