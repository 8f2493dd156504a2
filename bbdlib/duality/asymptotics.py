"""The exponential integral I(x) = ∫^x e^z/z dz and its asymptotic forms (Appendix A of [B]).

[B] Kukleva, Vanchurin, "Dataset-learning duality and emergent criticality", Appendix A,
eqs. (A.1)–(A.4).  The indefinite integral (A.1) is fixed to the exponential integral
Ei(x) (Cauchy principal value at 0), the one primitive whose large-|x| expansion has no
constant term, so that the printed asymptotic forms can hold at all.

Large-|x| expansion (e.g. Bender & Orszag 1999, §6.3; NIST DLMF 6.12):

    Ei(x) ~ (e^x / x) Σ_{n≥0} n! / x^n ,      |x| → ∞ on either sign,

an asymptotic, divergent series: its terms grow for n > |x|, and the error of the
partial sum is smallest near n ≈ |x| ("optimal truncation").
"""
from __future__ import annotations

from collections.abc import Callable

import numpy as np
from scipy import special

from bbdlib.validate import check_array, check_int, check_real

__all__ = [
    "exponential_integral",
    "ei_partial_sum",
    "ei_series_terms",
    "optimal_truncation",
    "series_converges",
    "ei_tail_sum",
    "APPENDIX_A_FORMS",
    "relative_error",
]


def exponential_integral(x: np.ndarray | float) -> np.ndarray:
    """Ei(x), the value of I(x) of eq. (A.1) of [B].

    Parameters
    ----------
    x : array_like
        Finite, non-zero arguments.

    Returns
    -------
    ndarray
    """
    x = check_array("x", x)
    if np.any(x == 0):
        raise ValueError("x must be non-zero: Ei has a logarithmic singularity at 0")
    return special.expi(x)


def ei_series_terms(x: np.ndarray | float, n_max: int) -> np.ndarray:
    """Terms n!/x^n for n = 0..n_max, shape ``x.shape + (n_max+1,)`` (computed as a running product)."""
    x = check_array("x", x)
    n_max = check_int("n_max", n_max, minimum=0)
    if np.any(x == 0):
        raise ValueError("x must be non-zero")
    n = np.arange(1, n_max + 1)
    ratios = n / x[..., None]                        # (n)/x: term_n = term_{n-1} * n / x
    terms = np.concatenate([np.ones(x.shape + (1,)), np.cumprod(ratios, axis=-1)], axis=-1)
    return terms


def ei_partial_sum(x: np.ndarray | float, n_max: int) -> np.ndarray:
    """(e^x/x) Σ_{n=0}^{n_max} n!/x^n, the partial sums of the expansions in (A.2)/(A.3).

    Parameters
    ----------
    x : array_like
        Non-zero arguments.
    n_max : int
        Last order kept (>= 0).

    Returns
    -------
    ndarray
    """
    x = check_array("x", x)
    return np.exp(x) / x * ei_series_terms(x, n_max).sum(axis=-1)


def optimal_truncation(x: np.ndarray | float) -> np.ndarray:
    """Index N of the smallest term n!/|x|^n (N = floor(|x|)), where the partial sum is best.

    Parameters
    ----------
    x : array_like

    Returns
    -------
    ndarray of int
    """
    x = check_array("x", x)
    return np.floor(np.abs(x)).astype(int)


def series_converges(x: float, *, n_low: float = 20.0, n_high: float = 40.0,
                     rtol: float = 1e-12) -> bool:
    """Whether the partial sums Σ_{n≤N} n!/x^n of (A.2)/(A.3) have settled by N = 20|x|.

    The test of convergence used for Appendix A: the partial sums at N = ``n_low``·|x| and
    ``n_high``·|x| must be finite and agree to ``rtol``.  The series diverges for every x
    (ratio test: (n+1)/|x| > 1 for n ≥ |x|), so this returns False; it is the measured side
    of that statement.

    Parameters
    ----------
    x : float
        Non-zero argument.
    n_low, n_high : float
        The two truncation orders, in units of |x|.
    rtol : float
        Relative agreement required.

    Returns
    -------
    bool
    """
    xv = check_real("x", x)
    if xv == 0:
        raise ValueError("x must be non-zero")
    n_low = check_real("n_low", n_low, low=0.0, high=1000.0)
    n_high = check_real("n_high", n_high, low=n_low, high=1000.0)
    rtol = check_real("rtol", rtol, low=0.0)
    n1, n2 = int(n_low * abs(xv)), int(n_high * abs(xv))
    with np.errstate(over="ignore", invalid="ignore"):
        s1, s2 = ei_series_terms(xv, n1).sum(), ei_series_terms(xv, n2).sum()
    return bool(np.isfinite(s1) and np.isfinite(s2) and abs(s2 - s1) <= rtol * abs(s1))


def ei_tail_sum(x: np.ndarray | float) -> np.ndarray:
    """The value the divergent tail Σ_{n≥1} n!/x^n of (A.2)/(A.3) stands for.

    Defined by Ei(x) = (e^x/x)(1 + S(x)), i.e. S(x) = x e^{-x} Ei(x) − 1, which is the
    Borel sum of the tail.  For x < 0 this is minus the sum Σ (−1)^{n+1} n!/y^n of (A.3)
    with y = −x.

    Parameters
    ----------
    x : array_like
        0 < |x| <= 700.

    Returns
    -------
    ndarray
    """
    x = check_array("x", x)
    if np.any(x == 0) or np.any(np.abs(x) > 700):
        raise ValueError("x must satisfy 0 < |x| <= 700 (e^x would overflow beyond)")
    scaled = x * special.expi(x) * np.exp(-x)
    return scaled - 1.0


def relative_error(approx: np.ndarray, exact: np.ndarray) -> np.ndarray:
    """|approx − exact| / |exact|, element-wise.

    Parameters
    ----------
    approx, exact : array_like
        ``exact`` non-zero.

    Returns
    -------
    ndarray
    """
    approx = check_array("approx", approx, min_size=1)
    exact = check_array("exact", exact, min_size=1)
    if approx.shape != exact.shape and approx.size != 1 and exact.size != 1:
        raise ValueError(f"approx and exact must have the same shape, got {approx.shape} and {exact.shape}")
    if np.any(exact == 0):
        raise ValueError("exact must be non-zero for a relative error")
    return np.abs(approx - exact) / np.abs(exact)


def _leading(x):
    return np.exp(x) / x


def _a2_printed(x):
    return np.exp(x) / x + np.exp(x + 1) / x**2


def _a2_corrected(x):
    return np.exp(x) / x + np.exp(x) / x**2


def _a3_printed(x):
    y = -x
    return -np.exp(-y) / y + np.exp(-y - 1) / y**2


def _a3_corrected(x):
    y = -x
    return -np.exp(-y) / y + np.exp(-y) / y**2


#: The approximations printed in Appendix A of [B] and their corrected forms, as
#: functions of x: name -> (function, sign of x it is stated for, order of the first
#: neglected relative term m, so that the first neglected term is m!/|x|^m).
APPENDIX_A_FORMS: dict[str, tuple[Callable[[np.ndarray], np.ndarray], int, int]] = {
    "A.4 (x>0): e^x/x": (_leading, +1, 1),
    "A.4 (x<0): e^x/x": (_leading, -1, 1),
    "A.2 printed: e^x/x + e^(x+1)/x²": (_a2_printed, +1, 2),
    "A.2 corrected: e^x/x + e^x/x²": (_a2_corrected, +1, 2),
    "A.3 printed: −e^(−y)/y + e^(−y−1)/y²": (_a3_printed, -1, 2),
    "A.3 corrected: −e^(−y)/y + e^(−y)/y²": (_a3_corrected, -1, 2),
}
