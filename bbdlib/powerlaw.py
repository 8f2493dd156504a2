"""Maximum-likelihood exponent of a doubly truncated power law, with a bootstrap interval.

Convention (the one of eq. (7.1) of [B]): the density is

    p(x) = x^(-k) / Z(k),   x_min <= x <= x_max,
    Z(k) = (x_max^(1-k) - x_min^(1-k)) / (1-k)   (k != 1),   Z(1) = log(x_max / x_min),

so any real k is allowed (k = 0 is the uniform density, k = 1 the log-uniform one,
k < 0 a rising density).  With ``t = log(x / x_min)`` on ``[0, L]``, ``L =
log(x_max / x_min)``, the density of ``t`` is a truncated exponential ``∝ exp(c t)``
with ``c = 1 - k``; the log-likelihood is concave in ``c`` and its maximum solves

    mean(t) = L * h(c L),   h(s) = 1 / (1 - e^(-s)) - 1 / s,   h(0) = 1/2,

i.e. the sample mean of ``t`` is the sufficient statistic.  The root is found by
bisection-safe Brent iteration on the monotone function ``h`` (evaluated by a
series near ``s = 0``, so that k = 1 is handled without a 0/0).

Public API (stable; other chapters import it):

- ``fit_truncated_powerlaw(x, x_min, x_max, *, rng, n_boot=200, level=0.95, weights=None) -> PowerLawFit``
- ``ks_distance(x, k, x_min, x_max, *, weights=None) -> float``
- ``mle_exponent(x, x_min, x_max, *, weights=None) -> float`` (the exponent without the bootstrap)
- ``sample_truncated_powerlaw(k, x_min, x_max, size, *, rng) -> ndarray``
- ``truncated_powerlaw_pdf(x, k, x_min, x_max) -> ndarray``
- ``truncated_powerlaw_moment(m, k, x_min, x_max) -> float``
- ``log_binned_density(x, bins, *, total=None) -> (centres, density)`` (for pictures only)

The bootstrap resamples the raw samples inside the range with replacement and
refits.  Because the estimate depends on the data only through ``mean(t)`` and
is monotone in it, the percentile interval is the image of the percentile
interval of the bootstrap means.  Up to ``EXACT_BOOTSTRAP_MAX`` samples the
resampling is done index by index; above it the in-range samples are first
binned into ``2**14`` equal bins of ``t`` and the resampling draws multinomial
bin counts (the statistic of a sample quantised to ``L / 2**14``; the variance
lost by the quantisation is below ``(L/2**14)^2 / 12`` per sample, i.e.
negligible against ``var(t)``).

Weighted samples (importance sampling).  With samples ``x_i`` drawn from a proposal ``g``
and weights ``w_i ∝ p(x_i)/g(x_i)``, the weighted log-likelihood ``Σ w_i log p_k(x_i)`` is
maximised at the root of ``mean_w(t) = L h(c L)`` with the *weighted* mean of ``t``
(self-normalised importance sampling); the bootstrap resamples (sample, weight) pairs.
The binned bootstrap keeps per-bin weight sums, so the same quantisation bound applies.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.optimize import brentq

from bbdlib.validate import check_array, check_generator, check_int, check_real

__all__ = [
    "PowerLawFit",
    "fit_truncated_powerlaw",
    "sample_truncated_powerlaw",
    "truncated_powerlaw_pdf",
    "truncated_powerlaw_moment",
    "log_binned_density",
    "ks_distance",
    "mle_exponent",
    "EXACT_BOOTSTRAP_MAX",
]

EXACT_BOOTSTRAP_MAX = 50_000
#: The most samples one call draws (1.6 GB of float64).
MAX_SAMPLES = 200_000_000
_N_BINS = 2**14
_C_LIMIT = 1.0e4  # |c L| beyond which the truncated exponential is a point mass


@dataclass(frozen=True)
class PowerLawFit:
    """Result of :func:`fit_truncated_powerlaw`.

    Attributes
    ----------
    k : float
        Maximum-likelihood exponent (density ∝ x^-k).
    ci_low, ci_high : float
        Bootstrap percentile interval at ``level``.
    n_in_range : int
        Number of samples inside ``[x_min, x_max]`` used by the fit.
    x_min, x_max : float
        The fitting range.
    level : float
        Confidence level of the interval.
    n_boot : int
        Number of bootstrap resamples.
    """

    k: float
    ci_low: float
    ci_high: float
    n_in_range: int
    x_min: float
    x_max: float
    level: float = 0.95
    n_boot: int = 200

    @property
    def half_width(self) -> float:
        """Half the width of the confidence interval."""
        return 0.5 * (self.ci_high - self.ci_low)

    @property
    def decades(self) -> float:
        """Width of the fitting range in decades, log10(x_max / x_min)."""
        return math.log10(self.x_max / self.x_min)

    def contains(self, k: float) -> bool:
        """Whether ``k`` lies inside the confidence interval."""
        return self.ci_low <= k <= self.ci_high


def _h(s: float) -> float:
    """h(s) = 1/(1 - e^-s) - 1/s, the mean of a truncated exponential on [0, 1]."""
    if abs(s) < 1e-4:
        return 0.5 + s / 12.0 - s**3 / 720.0
    if s > 700:
        return 1.0 - 1.0 / s
    if s < -700:
        return -1.0 / s
    return 1.0 / (-math.expm1(-s)) - 1.0 / s


def _c_from_mean(u: float) -> float:
    """Solve h(s) = u for s (u in (0, 1)), monotone increasing h."""
    if u <= 1.0 / _C_LIMIT:
        return -_C_LIMIT
    if u >= 1.0 - 1.0 / _C_LIMIT:
        return _C_LIMIT
    return brentq(lambda s: _h(s) - u, -_C_LIMIT, _C_LIMIT, xtol=1e-12, rtol=1e-13, maxiter=500)


def _k_from_mean_t(mean_t: float, L: float) -> float:
    s = _c_from_mean(mean_t / L)
    return 1.0 - s / L


def _check_range(x_min, x_max) -> tuple[float, float]:
    x_min = check_real("x_min", x_min, low=0.0, low_inclusive=False)
    x_max = check_real("x_max", x_max, low=0.0, low_inclusive=False)
    if not x_max > x_min:
        raise ValueError(f"x_max must be > x_min, got x_min={x_min}, x_max={x_max}")
    return x_min, x_max


def fit_truncated_powerlaw(
    x,
    x_min: float,
    x_max: float,
    *,
    rng: np.random.Generator | int,
    n_boot: int = 200,
    level: float = 0.95,
    weights=None,
) -> PowerLawFit:
    """Fit p(x) ∝ x^-k on [x_min, x_max] by maximum likelihood; bootstrap the interval.

    Parameters
    ----------
    x : array_like
        Raw samples (any shape; values outside ``[x_min, x_max]`` are ignored,
        which is what truncation means).  Must be finite.
    x_min, x_max : float
        The fitting range, ``0 < x_min < x_max``, chosen before the fit.
    rng : numpy.random.Generator or int
        Randomness for the bootstrap.
    n_boot : int
        Number of bootstrap resamples (>= 20).
    level : float
        Confidence level of the percentile interval, in (0, 1).
    weights : array_like, optional
        Importance weights, one per sample of ``x`` (finite, >= 0, positive total inside
        the range): the weighted MLE of self-normalised importance sampling.

    Returns
    -------
    PowerLawFit
        ``n_in_range`` counts the samples (not the weights) inside the range.
    """
    x = check_array("x", x).ravel()
    x_min, x_max = _check_range(x_min, x_max)
    rng = check_generator("rng", rng)
    n_boot = check_int("n_boot", n_boot, minimum=20)
    level = check_real("level", level, low=0.0, high=1.0, low_inclusive=False, high_inclusive=False)
    n, L, t, wv, mean_t = _sufficient_statistic(x, x_min, x_max, weights)
    k = _k_from_mean_t(mean_t, L)
    if n <= EXACT_BOOTSTRAP_MAX and weights is None:
        # unit weights: wv[j] is wv itself and its sum is n exactly, so each resample needs only
        # the gather of t (the same dot product, the same floats as the weighted loop below)
        boot = np.empty(n_boot)
        fn = float(n)
        for i in range(n_boot):
            j = rng.integers(0, n, n)
            boot[i] = np.dot(wv, t[j]) / fn
    elif n <= EXACT_BOOTSTRAP_MAX:
        boot = np.empty(n_boot)
        for i in range(n_boot):  # n_boot resamples of <= 5e4 indices each
            j = rng.integers(0, n, n)
            sw = wv[j].sum()
            boot[i] = np.dot(wv[j], t[j]) / sw if sw > 0 else mean_t
    else:
        edges = np.linspace(0.0, L, _N_BINS + 1)
        idx = _bin_index(edges, t, L)
        counts = np.bincount(idx, minlength=_N_BINS)
        wsum = np.bincount(idx, weights=wv, minlength=_N_BINS)
        wtsum = np.bincount(idx, weights=wv * t, minlength=_N_BINS)
        per_w = np.divide(wsum, counts, out=np.zeros(_N_BINS), where=counts > 0)
        per_wt = np.divide(wtsum, counts, out=np.zeros(_N_BINS), where=counts > 0)
        # the counts as floats once (what each integer-by-float product would convert them to)
        draws = rng.multinomial(n, counts / n, size=n_boot).astype(np.float64)
        den = draws @ per_w
        boot = np.divide(draws @ per_wt, den, out=np.full(n_boot, mean_t), where=den > 0)
    alpha = 1.0 - level
    lo_t, hi_t = np.quantile(boot, [alpha / 2, 1 - alpha / 2])
    # k decreases with mean(t): the upper mean gives the lower k
    return PowerLawFit(
        k=float(k),
        ci_low=float(_k_from_mean_t(float(hi_t), L)),
        ci_high=float(_k_from_mean_t(float(lo_t), L)),
        n_in_range=int(n),
        x_min=x_min,
        x_max=x_max,
        level=level,
        n_boot=n_boot,
    )


def _bin_index(edges: np.ndarray, t: np.ndarray, L: float) -> np.ndarray:
    """``clip(searchsorted(edges, t, side="right") - 1, 0, nbins - 1)`` for equal bins on [0, L].

    The same integers as the search (the largest i with edges[i] <= t, clipped), found by
    arithmetic: the estimate floor(t nbins / L) is off by at most one bin where the rounding
    of ``edges`` differs from it, and is corrected against ``edges`` itself (a few passes
    over t instead of a binary search per sample).
    """
    nb = edges.size - 1
    est = np.floor(t * (nb / L))
    np.clip(est, 0, nb, out=est)
    idx = est.astype(np.intp)
    for _ in range(nb + 1):  # one or two passes in practice; the bound only guards the loop
        down = (idx > 0) & (edges[idx] > t)                       # edges[idx] must be <= t
        up = (idx < nb) & (edges[np.minimum(idx + 1, nb)] <= t)   # and edges[idx + 1] > t
        if not (down.any() or up.any()):
            break
        idx = idx - down + up
    return np.clip(idx, 0, nb - 1)


def _sufficient_statistic(x: np.ndarray, x_min: float, x_max: float, weights):
    """(n inside, L, t of the samples inside, their weights, the (weighted) mean of t)."""
    wts = _check_weights(weights, x)
    sel = (x >= x_min) & (x <= x_max)
    inside = x[sel]
    n = inside.size
    if n < 10:
        raise ValueError(f"x has only {n} samples inside [x_min, x_max] = [{x_min}, {x_max}]; need >= 10")
    if inside.min() == inside.max():
        raise ValueError(f"x is constant ({inside[0]}) inside [x_min, x_max] = [{x_min}, {x_max}]: "
                         "a power-law fit needs samples that spread over the range")
    L = math.log(x_max / x_min)
    t = np.log(inside / x_min)
    wv = np.ones(n) if wts is None else wts[sel]
    if not wv.sum() > 0:
        raise ValueError("weights must have a positive sum inside [x_min, x_max]")
    return n, L, t, wv, float(np.dot(wv, t) / wv.sum())


def mle_exponent(x, x_min: float, x_max: float, *, weights=None) -> float:
    """The maximum-likelihood exponent of :func:`fit_truncated_powerlaw` alone, without the
    bootstrap (the same float: the root of mean(t) = L h(cL), module docstring).

    Parameters
    ----------
    x : array_like
        Raw samples (values outside the range are ignored).
    x_min, x_max : float
        The range, 0 < x_min < x_max.
    weights : array_like, optional
        Importance weights, one per sample.

    Returns
    -------
    float
    """
    x = check_array("x", x).ravel()
    x_min, x_max = _check_range(x_min, x_max)
    _, L, _, _, mean_t = _sufficient_statistic(x, x_min, x_max, weights)
    return float(_k_from_mean_t(mean_t, L))


def _check_weights(weights, x: np.ndarray) -> np.ndarray | None:
    if weights is None:
        return None
    w = check_array("weights", weights).ravel()
    if w.size != x.size:
        raise ValueError(f"weights must have one value per sample: {w.size} weights, {x.size} samples")
    if np.any(w < 0):
        raise ValueError("weights must be >= 0")
    return w


def ks_distance(x, k: float, x_min: float, x_max: float, *, weights=None) -> float:
    """Kolmogorov–Smirnov distance between the samples in [x_min, x_max] and the truncated law.

    ``sup_x |F_n(x) − F_k(x)|`` with ``F_n`` the (weighted) empirical CDF of the samples
    inside the range and ``F_k`` the CDF of p(x) ∝ x^-k on the range (the goodness-of-fit
    figure of Clauset, Shalizi & Newman 2009 for a fitted power law).

    Parameters
    ----------
    x : array_like
        Samples (values outside the range are ignored).
    k : float
        The exponent (e.g. the fitted one).
    x_min, x_max : float
        The range, 0 < x_min < x_max.
    weights : array_like, optional
        Importance weights, one per sample.

    Returns
    -------
    float
        The distance, in [0, 1].
    """
    x = check_array("x", x).ravel()
    k = check_real("k", k)
    x_min, x_max = _check_range(x_min, x_max)
    wts = _check_weights(weights, x)
    sel = (x >= x_min) & (x <= x_max)
    if sel.sum() < 1:
        raise ValueError(f"x has no samples inside [x_min, x_max] = [{x_min}, {x_max}]")
    inside = x[sel]
    if wts is None:   # the sorted values alone (the same array as by the sorting permutation)
        xs = np.sort(inside)
        wv = np.ones(xs.size)
    else:
        order = np.argsort(inside)
        xs = inside[order]
        wv = wts[sel][order]
    if not wv.sum() > 0:
        raise ValueError("weights must have a positive sum inside [x_min, x_max]")
    cum = np.cumsum(wv) / wv.sum()
    L = math.log(x_max / x_min)
    c = 1.0 - k
    t = np.log(xs / x_min)
    model = t / L if abs(c * L) < 1e-12 else np.expm1(c * t) / math.expm1(c * L)
    before = np.concatenate([[0.0], cum[:-1]])
    return float(max(np.max(cum - model), np.max(model - before)))


def sample_truncated_powerlaw(
    k: float, x_min: float, x_max: float, size: int, *, rng: np.random.Generator | int
) -> np.ndarray:
    """Draw ``size`` samples of p(x) ∝ x^-k on [x_min, x_max] by inverse transform.

    Parameters
    ----------
    k : float
        Exponent (any real).
    x_min, x_max : float
        The range, 0 < x_min < x_max.
    size : int
        Number of samples.
    rng : numpy.random.Generator or int

    Returns
    -------
    ndarray
    """
    k = check_real("k", k)
    x_min, x_max = _check_range(x_min, x_max)
    size = check_int("size", size, minimum=1, maximum=MAX_SAMPLES,
                     why="2·10^8 float64 samples take 1.6 GB; larger draws do not fit this machine")
    rng = check_generator("rng", rng)
    u = rng.random(size)
    L = math.log(x_max / x_min)
    c = 1.0 - k
    if abs(c * L) < 1e-12:
        t = u * L
    else:
        # inverse CDF of the truncated exponential exp(c t) on [0, L], stable for either sign of c
        t = np.log1p(u * math.expm1(c * L)) / c
    return x_min * np.exp(t)


def truncated_powerlaw_pdf(x, k: float, x_min: float, x_max: float) -> np.ndarray:
    """The normalised density x^-k / Z(k) on [x_min, x_max] (zero outside).

    Parameters
    ----------
    x : array_like
    k : float
    x_min, x_max : float
        The range, 0 < x_min < x_max.

    Returns
    -------
    ndarray
    """
    x = check_array("x", x)
    k = check_real("k", k)
    x_min, x_max = _check_range(x_min, x_max)
    L = math.log(x_max / x_min)
    c = 1.0 - k
    # Z = x_min^c * (e^{cL} - 1)/c, computed stably
    log_z = c * math.log(x_min) + (math.log(L) if abs(c * L) < 1e-12 else
                                   math.log(abs(math.expm1(c * L) / c)))
    out = np.zeros_like(x)
    m = (x >= x_min) & (x <= x_max)
    out[m] = np.exp(-k * np.log(x[m]) - log_z)
    return out


def _power_integral(p: float, x_min: float, x_max: float) -> float:
    """∫_{x_min}^{x_max} x^p dx (log for p = -1)."""
    if p == -1.0:
        return math.log(x_max / x_min)
    return (x_max ** (p + 1) - x_min ** (p + 1)) / (p + 1)


def truncated_powerlaw_moment(m: float, k: float, x_min: float, x_max: float) -> float:
    """⟨x^m⟩ of the truncated power law p(x) = x^-k / Z(k) on [x_min, x_max] (exact).

    Parameters
    ----------
    m : float
        Order of the moment.
    k : float
        Exponent (any real).
    x_min, x_max : float
        The range, 0 < x_min < x_max.

    Returns
    -------
    float
        ∫ x^(m-k) dx / ∫ x^(-k) dx over the range.
    """
    m = check_real("m", m)
    k = check_real("k", k)
    x_min, x_max = _check_range(x_min, x_max)
    return _power_integral(m - k, x_min, x_max) / _power_integral(-k, x_min, x_max)


def log_binned_density(x, bins: int = 60, *, total: int | None = None,
                       x_range: tuple[float, float] | None = None):
    """Histogram density of positive samples on log-spaced bins (for plots only).

    Parameters
    ----------
    x : array_like
        Positive samples.
    bins : int
        Number of logarithmic bins.
    total : int, optional
        Normalise by this count instead of ``len(x)`` (e.g. all samples of a
        class, including those not shown).
    x_range : (float, float), optional
        Range of the bins (default: min and max of ``x``).

    Returns
    -------
    centres, density : ndarray
        Geometric bin centres and the density (count / total / bin width); empty
        bins are dropped.
    """
    x = check_array("x", x).ravel()
    bins = check_int("bins", bins, minimum=2)
    x = x[x > 0]
    if x.size == 0:
        raise ValueError("x must contain positive samples")
    if x_range is not None:
        if not isinstance(x_range, (tuple, list)) or len(x_range) != 2:
            raise TypeError(f"x_range must be a pair (low, high), got {x_range!r}")
        lo = check_real("x_range[0]", x_range[0], low=0.0, low_inclusive=False)
        hi = check_real("x_range[1]", x_range[1], low=0.0, low_inclusive=False)
        if not hi > lo:
            raise ValueError(f"x_range must have high > low, got {x_range!r}")
    else:
        lo, hi = x.min(), x.max()
    edges = np.geomspace(lo, hi * (1 + 1e-12), bins + 1)
    counts, _ = np.histogram(x, edges)
    n = x.size if total is None else check_int("total", total, minimum=1)
    dens = counts / n / np.diff(edges)
    centres = np.sqrt(edges[:-1] * edges[1:])
    keep = counts > 0
    return centres[keep], dens[keep]
