"""Real data in one dimension: two digit classes projected onto a line, as Sec. 7 of [B] suggests.

Section 7 of [B] remarks that "a similar dataset would have been obtained if we considered a
truncated MNIST dataset with only images of 'zeros' and 'ones' and input states projected down
to a single dimension".  This module builds that data set from scikit-learn's bundled
handwritten digits (8×8 images, :func:`sklearn.datasets.load_digits`, no download):

* :func:`load_digit_pair` — the images of two digit classes (the first is the '−' class,
  target X⁻ = 0; the second the '+' class, X⁺ = 1);
* :func:`fit_projection` — a stated linear projection to one dimension (``PROJECTIONS``),
  then the affine scaling that puts the class means at ⟨x¹⟩₋ = 0 and ⟨x¹⟩₊ = 1, where
  eq. (7.2) puts them (the class widths are then whatever the data give; (7.3) prints 0.25):

  ``"mean_difference"``
      onto d = μ₊ − μ₋, the difference of the class means (no free constant);
  ``"fisher"``
      Fisher's discriminant d = S⁻¹(μ₊ − μ₋) with the pooled within-class scatter shrunk
      towards a multiple of the identity, S = (1 − α) S_w + α (tr S_w / p) I with
      α = ``FISHER_SHRINKAGE`` (S_w itself is singular: border pixels are always blank);
* :class:`EmpiricalTwoClassData` — the projected images as a
  :class:`~bbdlib.duality.toy_model.TwoClassData`, so that the book's SGD
  (:func:`bbdlib.duality.training.train_sgd`) and jump maps run on it unchanged: a draw is an
  image picked uniformly at random from its class (resampling with replacement);
* :class:`KernelDensity` / :func:`kernel_density` — the smooth estimator of p(x¹) of each class
  (``ESTIMATORS``: a Gaussian kernel density estimate) with a bandwidth rule fixed in advance
  (``BANDWIDTH_RULES``: Silverman's rule of thumb by default, Scott's as the alternative), and
  :meth:`KernelDensity.y_density`, the induced p_y(y) of y = w x¹ + b, which replaces the
  Gaussian p_y in the push-forward (6.1) (:func:`bbdlib.duality.density.exact_density`) and in
  the analysis plan (:func:`bbdlib.duality.analysis_plan.plan_window`).

The kernel estimate's relative standard error at x, √(R(K) / (n h p(x))) with R(K) = 1/(2√π)
for the Gaussian kernel (:meth:`KernelDensity.relative_error`), says where a sample of n images
resolves the density at all.
"""
from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from scipy.special import ndtr

from bbdlib.duality.toy_model import TwoClassData, check_class
from bbdlib.validate import check_array, check_choice, check_generator, check_int, check_real

__all__ = ["PROJECTIONS", "ESTIMATORS", "BANDWIDTH_RULES", "FISHER_SHRINKAGE", "N_DIGIT_CLASSES",
           "check_digit_classes", "load_digit_pair", "Projection", "fit_projection",
           "KernelDensity", "kernel_density", "EmpiricalTwoClassData", "ProjectedDigits",
           "projected_digits", "resample_images", "N_BOOT_IMAGES", "DigitClassResult",
           "analyse_digit_class", "plot_projection", "plot_jump_density",
           "digit_claim_values", "image_fit_claim_values"]

#: The projections to one dimension (see the module docstring)
PROJECTIONS = ("mean_difference", "fisher")
#: The smooth estimators of p(x¹)
ESTIMATORS = ("gaussian_kde",)
#: The bandwidth rules of the Gaussian kernel estimate: h = c · min(s, IQR/1.34) · n^(-1/5) with
#: c = 0.9 (Silverman 1986, eq. (3.31)), and h = 1.06 s n^(-1/5) (Scott's normal-reference rule)
BANDWIDTH_RULES = ("silverman", "scott")
#: Shrinkage α of the within-class scatter in Fisher's discriminant (fixed before any fit:
#: one tenth towards the isotropic scatter of the same trace, the size of a mild ridge)
FISHER_SHRINKAGE = 0.1
#: Digit classes 0–9 of the data set
N_DIGIT_CLASSES = 10
_R_GAUSS = 1.0 / (2.0 * math.sqrt(math.pi))  # ∫K² of the standard normal kernel


def check_digit_classes(classes) -> tuple[int, int]:
    """Validate a pair of distinct digit classes in 0–9.

    Parameters
    ----------
    classes : (int, int)
        The '−' class and the '+' class.

    Returns
    -------
    (int, int)

    Raises
    ------
    ValueError, TypeError
        Naming ``classes``.
    """
    if not isinstance(classes, (tuple, list)) or len(classes) != 2:
        raise TypeError(f"classes must be a pair of digit classes (minus, plus), got {classes!r}")
    out = tuple(check_int(f"classes[{i}]", c, minimum=0, maximum=N_DIGIT_CLASSES - 1)
                for i, c in enumerate(classes))
    if out[0] == out[1]:
        raise ValueError(f"classes must be two different digit classes, got {classes!r}")
    return out


def load_digit_pair(classes=(0, 1)) -> tuple[np.ndarray, np.ndarray]:
    """The images of two digit classes of scikit-learn's bundled digits (no download).

    Parameters
    ----------
    classes : (int, int)
        The '−' class (target 0) and the '+' class (target 1), distinct, in 0–9.

    Returns
    -------
    images : ndarray, shape (n, 64)
        Pixel intensities 0–16.
    plus : ndarray of bool, shape (n,)
        True for the '+' class.
    """
    from sklearn.datasets import load_digits

    c_minus, c_plus = check_digit_classes(classes)
    d = load_digits()
    sel = (d.target == c_minus) | (d.target == c_plus)
    return np.asarray(d.data[sel], dtype=float), d.target[sel] == c_plus


def _check_images(images, plus) -> tuple[np.ndarray, np.ndarray]:
    X = check_array("images", images, ndim=2)
    p = np.asarray(plus)
    if p.dtype != bool or p.shape != (X.shape[0],):
        raise ValueError(f"plus must be a boolean array of shape ({X.shape[0]},), got {p.dtype} {p.shape}")
    if p.sum() < 2 or (~p).sum() < 2:
        raise ValueError("images must hold at least two images of each class")
    return X, p


@dataclass(frozen=True, eq=False)
class Projection:
    """A projection of images to the one input neuron x¹ of the toy model.

    x¹ = (X·d − c₋) / (c₊ − c₋), with c± the class means of X·d on the images it was fitted
    to, so that those images have ⟨x¹⟩₋ = 0 and ⟨x¹⟩₊ = 1 (eq. (7.2) of [B]).

    Attributes
    ----------
    kind : str
        One of ``PROJECTIONS``.
    direction : ndarray, shape (p,)
        d (unit length).
    c_minus, c_plus : float
        Class means of X·d.
    """

    kind: str
    direction: np.ndarray
    c_minus: float
    c_plus: float

    def __call__(self, images) -> np.ndarray:
        """x¹ of each image (rows of ``images``)."""
        X = check_array("images", images, ndim=2)
        if X.shape[1] != self.direction.size:
            raise ValueError(f"images must have {self.direction.size} pixels per row, got {X.shape[1]}")
        return (X @ self.direction - self.c_minus) / (self.c_plus - self.c_minus)


def fit_projection(images, plus, kind: str = "mean_difference", *,
                   shrinkage: float = FISHER_SHRINKAGE) -> Projection:
    """Fit the projection ``kind`` and the scaling of eq. (7.2) to labelled images.

    Parameters
    ----------
    images : array_like, shape (n, p)
    plus : array_like of bool, shape (n,)
        True for the '+' class.
    kind : {"mean_difference", "fisher"}
        One of ``PROJECTIONS``.
    shrinkage : float
        α in [0, 1] of the shrunk scatter (``"fisher"`` only).

    Returns
    -------
    Projection

    Raises
    ------
    ValueError
        For an unknown ``kind``, or if the class means coincide along d.
    """
    kind = check_choice("projection", kind, PROJECTIONS)
    X, p = _check_images(images, plus)
    shrinkage = check_real("shrinkage", shrinkage, low=0.0, high=1.0)
    mu_m, mu_p = X[~p].mean(axis=0), X[p].mean(axis=0)
    diff = mu_p - mu_m
    if kind == "mean_difference":
        d = diff
    else:
        Xc = np.where(p[:, None], X - mu_p, X - mu_m)
        sw = Xc.T @ Xc / (X.shape[0] - 2)
        s = (1.0 - shrinkage) * sw + shrinkage * (np.trace(sw) / sw.shape[0]) * np.eye(sw.shape[0])
        d = np.linalg.solve(s, diff)
    norm = float(np.linalg.norm(d))
    if not norm > 0:
        raise ValueError("images: the two classes have equal means; no projection separates them")
    d = d / norm
    cm, cp = float(mu_m @ d), float(mu_p @ d)
    if not abs(cp - cm) > 1e-12 * max(1.0, abs(cm), abs(cp)):
        raise ValueError("images: the class means coincide along the projection")
    return Projection(kind=kind, direction=d, c_minus=cm, c_plus=cp)


@dataclass(frozen=True, eq=False)
class KernelDensity:
    """A Gaussian kernel density estimate p̂(x) = (1/n h) Σ φ((x − x_i)/h).

    Attributes
    ----------
    points : ndarray, shape (n,)
        The samples x_i.
    bandwidth : float
        h > 0.
    rule : str
        How h was set (a ``BANDWIDTH_RULES`` name, or ``"given"``).
    """

    points: np.ndarray
    bandwidth: float
    rule: str = "given"

    @property
    def n(self) -> int:
        """Number of samples."""
        return int(self.points.size)

    def pdf(self, x) -> np.ndarray:
        """p̂ at ``x`` (any shape; NaN stays NaN)."""
        x = np.asarray(x, dtype=float)
        z = (x.reshape(-1, 1) - self.points[None, :]) / self.bandwidth
        out = np.exp(-0.5 * z * z).sum(axis=1) / (self.n * self.bandwidth * math.sqrt(2 * math.pi))
        return out.reshape(x.shape)

    def relative_error(self, x) -> np.ndarray:
        """The relative standard error √(R(K)/(n h p̂(x))) of the estimate at ``x``
        (R(K) = 1/(2√π) for the Gaussian kernel; infinite where p̂ = 0)."""
        p = self.pdf(x)
        with np.errstate(divide="ignore"):
            return np.sqrt(_R_GAUSS / (self.n * self.bandwidth * p))

    def y_density(self, w: float, b: float) -> Callable:
        """The induced density p_y(y) = p̂((y − b)/w) / |w| of y = w x¹ + b, eq. (6.1) of [B].

        Parameters
        ----------
        w, b : float
            The toy model's parameters (w ≠ 0).

        Returns
        -------
        callable
            Vectorised p_y.
        """
        w = check_real("w", w)
        b = check_real("b", b)
        if w == 0.0:
            raise ValueError("w must be non-zero")

        def p_y(y):
            return self.pdf((np.asarray(y, dtype=float) - b) / w) / abs(w)

        return p_y


def kernel_density(points, *, estimator: str = "gaussian_kde", rule: str = "silverman",
                   bandwidth: float | None = None) -> KernelDensity:
    """The smooth estimate of the density of ``points`` with the stated bandwidth rule.

    Parameters
    ----------
    points : array_like, shape (n,)
        At least 2 finite samples, not all equal.
    estimator : {"gaussian_kde"}
        One of ``ESTIMATORS``.
    rule : {"silverman", "scott"}
        One of ``BANDWIDTH_RULES`` (ignored when ``bandwidth`` is given).
    bandwidth : float, optional
        A bandwidth h > 0 to use instead of the rule.

    Returns
    -------
    KernelDensity
    """
    check_choice("estimator", estimator, ESTIMATORS)
    x = check_array("points", points, ndim=1, min_size=2)
    if bandwidth is not None:
        h = check_real("bandwidth", bandwidth, low=0.0, low_inclusive=False)
        return KernelDensity(points=x.copy(), bandwidth=h, rule="given")
    rule = check_choice("rule", rule, BANDWIDTH_RULES)
    s = float(np.std(x, ddof=1))
    if not s > 0:
        raise ValueError("points are all equal: no bandwidth rule applies")
    n = x.size
    if rule == "silverman":
        q75, q25 = np.percentile(x, [75, 25])
        spread = min(s, (q75 - q25) / 1.34) if q75 > q25 else s
        h = 0.9 * spread * n ** (-0.2)
    else:
        h = 1.06 * s * n ** (-0.2)
    return KernelDensity(points=x.copy(), bandwidth=float(h), rule=rule)


@dataclass(frozen=True, eq=False)
class EmpiricalTwoClassData(TwoClassData):
    """The projected images as the toy model's data set (a :class:`TwoClassData`).

    ``mean_*`` and ``std_*`` are the sample moments of x¹ in each class, ``p_plus`` the share
    of '+' images; a draw picks an image of its class uniformly at random (with replacement),
    so the book's SGD and samplers run on the images unchanged.

    Attributes
    ----------
    x_minus, x_plus : ndarray
        x¹ of the '−' and '+' images, sorted.
    """

    x_minus: np.ndarray = field(default=None)
    x_plus: np.ndarray = field(default=None)

    def __post_init__(self) -> None:
        for name in ("x_minus", "x_plus"):
            v = check_array(name, getattr(self, name), ndim=1, min_size=2)
            object.__setattr__(self, name, np.sort(v))
        # x¹ of the '−' images, then of the '+' images: the one array :meth:`inputs` gathers from
        object.__setattr__(self, "_both", np.concatenate([self.x_minus, self.x_plus]))
        super().__post_init__()

    @classmethod
    def from_values(cls, x_minus, x_plus) -> EmpiricalTwoClassData:
        """Build it from x¹ of the '−' and '+' images.

        Parameters
        ----------
        x_minus, x_plus : array_like
            At least two values each, each class not constant.

        Returns
        -------
        EmpiricalTwoClassData
        """
        xm = check_array("x_minus", x_minus, ndim=1, min_size=2)
        xp = check_array("x_plus", x_plus, ndim=1, min_size=2)
        sm, sp = float(np.std(xm)), float(np.std(xp))
        if not (sm > 0 and sp > 0):
            raise ValueError("x_minus and x_plus must each take more than one value")
        return cls(mean_minus=float(xm.mean()), mean_plus=float(xp.mean()), std_minus=sm,
                   std_plus=sp, p_plus=xp.size / (xm.size + xp.size), x_minus=xm, x_plus=xp)

    def values(self, cls: str) -> np.ndarray:
        """x¹ of the images of class ``cls`` (sorted)."""
        return self.x_plus if check_class(cls) == "+" else self.x_minus

    def inputs(self, plus: np.ndarray, z: np.ndarray) -> np.ndarray:
        """Images picked by standard normal draws ``z``: the image of rank ⌊Φ(z) n⌋ of the class
        (Φ(z) is uniform on (0, 1), so every image of the class is equally likely)."""
        u = ndtr(z)
        plus = np.asarray(plus, dtype=bool)
        nm, npl = self.x_minus.size, self.x_plus.size
        # one rank per draw, in its own class (the ranks of a per-class computation for both
        # classes, picked by np.where: the same floats), then one gather from both classes
        rank = (u * np.where(plus, float(npl), float(nm))).astype(np.intp)
        np.minimum(rank, np.where(plus, npl - 1, nm - 1), out=rank)
        rank += np.where(plus, nm, 0)
        return self._both[rank]

    def draw(self, n: int, *, rng: np.random.Generator | int,
             cls: str | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Draw ``n`` (x¹, x²) pairs by picking images (with replacement).

        Parameters
        ----------
        n : int
        rng : numpy.random.Generator or int
        cls : {'-', '+'}, optional
            Only this class.

        Returns
        -------
        x1, x2 : ndarray
        """
        n = check_int("n", n, minimum=1)
        rng = check_generator("rng", rng)
        if cls is not None:
            v = self.values(cls)
            return v[rng.integers(0, v.size, n)], np.full(n, self.target(cls))
        plus = rng.random(n) < self.p_plus
        return self.inputs(plus, rng.standard_normal(n)), np.where(plus, self.target_plus, self.target_minus)


@dataclass(frozen=True, eq=False)
class ProjectedDigits:
    """Two digit classes projected to one dimension (:func:`projected_digits`).

    Attributes
    ----------
    classes : (int, int)
        The '−' and '+' digit classes.
    projection : Projection
    data : EmpiricalTwoClassData
        x¹ of the images, as the toy model's data set.
    densities : dict
        ``{'-': KernelDensity, '+': KernelDensity}`` of x¹ in each class.
    """

    classes: tuple
    projection: Projection
    data: EmpiricalTwoClassData
    densities: dict

    def n(self, cls: str) -> int:
        """Number of images of class ``cls``."""
        return int(self.data.values(cls).size)


def projected_digits(images, plus, *, classes=(0, 1), projection: str = "mean_difference",
                     estimator: str = "gaussian_kde", rule: str = "silverman") -> ProjectedDigits:
    """Project labelled images to x¹, scale them by (7.2) and estimate p(x¹) of each class.

    Parameters
    ----------
    images : array_like, shape (n, p)
    plus : array_like of bool
        True for the '+' class.
    classes : (int, int)
        The digit classes (for labels; validated).
    projection : {"mean_difference", "fisher"}
    estimator : {"gaussian_kde"}
    rule : {"silverman", "scott"}
        The bandwidth rule.

    Returns
    -------
    ProjectedDigits
    """
    classes = check_digit_classes(classes)
    check_choice("estimator", estimator, ESTIMATORS)
    check_choice("rule", rule, BANDWIDTH_RULES)
    X, p = _check_images(images, plus)
    proj = fit_projection(X, p, projection)
    x = proj(X)
    data = EmpiricalTwoClassData.from_values(x[~p], x[p])
    dens = {c: kernel_density(data.values(c), estimator=estimator, rule=rule) for c in ("-", "+")}
    return ProjectedDigits(classes=classes, projection=proj, data=data, densities=dens)


def resample_images(plus, *, rng: np.random.Generator | int) -> np.ndarray:
    """Indices of a bootstrap resample of the images, stratified by class (each class keeps
    its number of images; drawn with replacement).

    Parameters
    ----------
    plus : array_like of bool
        The class of each image.
    rng : numpy.random.Generator or int

    Returns
    -------
    ndarray of int
    """
    p = np.asarray(plus)
    if p.dtype != bool or p.ndim != 1:
        raise ValueError("plus must be a one-dimensional boolean array")
    rng = check_generator("rng", rng)
    im, ip = np.flatnonzero(~p), np.flatnonzero(p)
    return np.concatenate([im[rng.integers(0, im.size, im.size)], ip[rng.integers(0, ip.size, ip.size)]])


#: Resamples of the images for the bootstrap intervals of :func:`analyse_digit_class` (each
#: resample reprojects, rescales and re-estimates p_y; the trained (w, b) is kept)
N_BOOT_IMAGES = 40


@dataclass(frozen=True, eq=False)
class DigitClassResult:
    """The push-forward (6.1) of [B] with the estimated p_y, for one class of projected digits.

    Attributes
    ----------
    cls : str
        '-' or '+'.
    jump_map : JumpMap
        The composition, trained (w, b), class, γ and θ on the projected data.
    density : KernelDensity
        The estimate of p(x¹) of the class.
    abs_q : ndarray
        |q̇′| of the images of the class with a non-zero jump.
    n_images : int
        Images of the class.
    window : PlanWindow or None
        The analysis plan's window with the estimated p_y (None: none; see ``note``).
    note : str
        Why there is no window.
    k_density : float
        Least-squares exponent of the density (6.1) with the estimated p_y over the window
        (NaN without a window).
    k_jacobian : float
        Exponent of the Jacobian contribution Σ_b |dy/dq̇′|_b over the window, summed over the
        branches carrying at least ε of (6.1) (NaN without a window).
    fit : PowerLawFit or None
        Maximum-likelihood exponent of the image jumps inside the window, with the bootstrap
        over those jumps (None if fewer than 10 fall inside).
    n_in_window : int
        Image jumps inside the window.
    y_star : float or None
        The singular point y* (:meth:`~bbdlib.duality.jumps.JumpMap.critical_point`; None for
        the sigmoid, whose law has no finite singular point).
    mass_ratio : float
        p̂_y(y*) / max p̂_y (NaN for the sigmoid).
    images_near : int
        Images with |y − y*| ≤ |w| h (within one bandwidth of y*; 0 for the sigmoid).
    rel_error_star : float
        The estimate's relative standard error at y* (:meth:`KernelDensity.relative_error`).
    boot_k : ndarray
        k_density of every image resample that has a window of at least ``min_decades``.
    boot_decades : ndarray
        The window's decades of every image resample (0 where there is none).
    boot_mass : ndarray
        mass_ratio of every image resample.
    min_decades : float
        The plan's minimum extent.
    window_y_span : float
        The extent in y of the window's significant branches, in units of the bandwidth
        |w| h of p_y: below 1 the estimate cannot vary across the window (it is smooth on the
        scale h), so there the exponent of (6.1) is the Jacobian's by construction.
    """

    cls: str
    jump_map: object
    density: KernelDensity
    abs_q: np.ndarray
    n_images: int
    window: object
    note: str
    k_density: float
    k_jacobian: float
    fit: object
    n_in_window: int
    y_star: float | None
    mass_ratio: float
    images_near: int
    rel_error_star: float
    boot_k: np.ndarray
    boot_decades: np.ndarray
    boot_mass: np.ndarray
    min_decades: float
    window_y_span: float = float("nan")

    @property
    def decades(self) -> float:
        """The window's extent in decades (0 without a window)."""
        return 0.0 if self.window is None else self.window.decades

    @property
    def has_range(self) -> bool:
        """Whether the window spans at least ``min_decades``."""
        return self.decades >= self.min_decades

    def k_interval(self, level: float = 0.95) -> tuple[float, float]:
        """Percentile interval of ``boot_k`` (NaN, NaN with fewer than 5 resamples)."""
        if self.boot_k.size < 5:
            return float("nan"), float("nan")
        a = (1 - level) / 2
        lo, hi = np.quantile(self.boot_k, [a, 1 - a])
        return float(lo), float(hi)

    def mass_interval(self, level: float = 0.95) -> tuple[float, float]:
        """Percentile interval of ``boot_mass`` (NaN, NaN for the sigmoid)."""
        m = self.boot_mass[np.isfinite(self.boot_mass)]
        if m.size < 5:
            return float("nan"), float("nan")
        a = (1 - level) / 2
        lo, hi = np.quantile(m, [a, 1 - a])
        return float(lo), float(hi)

    @property
    def range_share(self) -> float:
        """Share of the image resamples whose window spans at least ``min_decades``."""
        return float(np.mean(self.boot_decades >= self.min_decades)) if self.boot_decades.size else float("nan")


def _significant_jacobian(ed, eps: float) -> np.ndarray:
    """Σ_b |dy/dq̇′|_b over the branches carrying at least ε of the density (6.1) at each point
    (all branches where the density is zero)."""
    if ed.branch_density.shape[0] == 0:
        return np.zeros(ed.points.size)
    with np.errstate(invalid="ignore", divide="ignore"):
        share = ed.branch_density / ed.density
    sig = np.where(ed.density > 0, share >= eps, True) & np.isfinite(ed.branch_jacobian)
    return np.where(sig, ed.branch_jacobian, 0.0).sum(axis=0)


def _slope(q: np.ndarray, f: np.ndarray) -> float:
    ok = f > 0
    return -float(np.polyfit(np.log(q[ok]), np.log(f[ok]), 1)[0]) if ok.sum() >= 3 else float("nan")


@dataclass(frozen=True, eq=False)
class _Window:
    abs_q: np.ndarray
    window: object
    note: str
    k_density: float = float("nan")
    k_jacobian: float = float("nan")
    y_span: float = float("nan")


def _class_window(jm, kde: KernelDensity, x: np.ndarray, eps: float) -> _Window:
    """The plan's window with the estimated p_y (data edges: the smallest and largest image
    jump), the exponents of (6.1) and of the Jacobian over it, and its extent in y."""
    from bbdlib.duality.analysis_plan import plan_window
    from bbdlib.duality.density import exact_density

    q = np.abs(jm.qdot(x))
    q = q[q > 0]
    p_y = kde.y_density(jm.w, jm.b)
    if q.size < 2 or not q.max() > q.min():
        return _Window(q, None, f"{q.size} image(s) with a non-zero jump: no range of jumps at all")
    try:
        pw = plan_window(jm, data_edges=(float(q.min()), float(q.max())), eps=eps, y_density=p_y)
    except ValueError as exc:
        return _Window(q, None, str(exc))
    grid = np.geomspace(pw.x_min, pw.x_max, 200)
    ed = exact_density(jm, grid, y_density=p_y)
    with np.errstate(invalid="ignore", divide="ignore"):
        sig = (ed.branch_density / ed.density) >= eps
    ys = np.where(sig, ed.preimages, np.nan)
    span = float(np.nanmax(ys) - np.nanmin(ys)) if np.isfinite(ys).any() else float("nan")
    return _Window(q, pw, "", _slope(grid, ed.density), _slope(grid, _significant_jacobian(ed, eps)), span)


def _mass(jm, kde: KernelDensity, x: np.ndarray) -> tuple[float | None, float, int, float]:
    if jm.composition.activation == "sigmoid":
        return None, float("nan"), 0, float("nan")
    y_star = jm.critical_point()
    x_star = (y_star - jm.b) / jm.w
    h = kde.bandwidth
    grid = np.linspace(x.min() - 3 * h, x.max() + 3 * h, 2001)
    ratio = float(kde.pdf(np.array([x_star]))[0] / kde.pdf(grid).max())
    near = int(np.sum(np.abs(x - x_star) <= h))
    rel = float(kde.relative_error(np.array([x_star]))[0])
    return y_star, ratio, near, rel


def analyse_digit_class(images, plus, cls: str, *, composition, w: float, b: float, gamma: float,
                        theta: float, projection: str = "mean_difference", rule: str = "silverman",
                        n_boot: int = N_BOOT_IMAGES, rng: np.random.Generator | int,
                        eps: float | None = None, min_decades: float | None = None) -> DigitClassResult:
    """The density (6.1) of [B] with the estimated p_y for one class of two projected digit classes.

    The images are projected and scaled (:func:`projected_digits`), p(x¹) of the class is
    estimated by the Gaussian kernel rule ``rule``, and at the trained (w, b) the jumps q̇′ of
    eq. (5.7) are analysed by the book's plan (:func:`bbdlib.duality.analysis_plan.plan_window`)
    with the estimated p_y in place of the Gaussian; the data edges are the smallest and
    largest jump of an image (the plan's ``EDGE_COUNT`` of 100 is out of reach for a class
    of fewer than 210 images).  The exponent is the least-squares slope of log (6.1) over the
    window; the images are then resampled ``n_boot`` times (stratified, with replacement), each
    resample reprojected, rescaled and re-estimated with (w, b) and θ kept, for intervals of
    the exponent, of the window's extent and of the mass of p_y at the singular point.

    Parameters
    ----------
    images : array_like, shape (n, p)
    plus : array_like of bool
    cls : {'-', '+'}
    composition : Composition
    w, b : float
        The trained parameters.
    gamma : float
        Learning rate γ of eq. (5.7).
    theta : float
        Rotation angle θ± of eq. (5.2).
    projection : {"mean_difference", "fisher"}
    rule : {"silverman", "scott"}
        The bandwidth rule.
    n_boot : int
        Image resamples (0 for none; otherwise at least 5).
    rng : numpy.random.Generator or int
        Randomness of the image resamples and of the fit's bootstrap.
    eps, min_decades : float, optional
        The plan's ε and minimum extent (default: the plan's constants).

    Returns
    -------
    DigitClassResult
    """
    from bbdlib.duality import analysis_plan as plan
    from bbdlib.duality.jumps import JumpMap
    from bbdlib.powerlaw import fit_truncated_powerlaw

    cls = check_class(cls)
    X, p = _check_images(images, plus)
    rng = check_generator("rng", rng)
    n_boot = check_int("n_boot", n_boot, minimum=0, maximum=2000,
                       why="each resample costs about 0.1 s (the plan's window); 2000 take minutes")
    if 0 < n_boot < 5:
        raise ValueError(f"n_boot must be 0 or at least 5, got {n_boot}")
    eps = plan.EPSILON if eps is None else plan.check_epsilon(eps)
    min_decades = plan.MIN_DECADES if min_decades is None else plan.check_min_decades(min_decades)
    pd = projected_digits(X, p, projection=projection, rule=rule)
    jm = JumpMap(composition, w, b, cls, gamma, theta, data=pd.data)
    kde = pd.densities[cls]
    x = pd.data.values(cls)
    cw = _class_window(jm, kde, x, eps)
    q, pw = cw.abs_q, cw.window
    fit, n_in = None, 0
    if pw is not None:
        n_in = int(np.sum((q >= pw.x_min) & (q <= pw.x_max)))
        if n_in >= 10:
            try:
                fit = fit_truncated_powerlaw(q, pw.x_min, pw.x_max, rng=rng, n_boot=plan.N_BOOT)
            except ValueError:
                fit = None
    y_star, ratio, near, rel = _mass(jm, kde, x)
    bk, bd, bm = [], [], []
    for _ in range(n_boot):
        idx = resample_images(p, rng=rng)
        pdb = projected_digits(X[idx], p[idx], projection=projection, rule=rule)
        jmb = JumpMap(composition, w, b, cls, gamma, theta, data=pdb.data)
        kb, xb = pdb.densities[cls], pdb.data.values(cls)
        cwb = _class_window(jmb, kb, xb, eps)
        pwb, kdb = cwb.window, cwb.k_density
        dec = 0.0 if pwb is None else pwb.decades
        bd.append(dec)
        if dec >= min_decades and np.isfinite(kdb):
            bk.append(kdb)
        bm.append(_mass(jmb, kb, xb)[1])
    return DigitClassResult(
        cls=cls, jump_map=jm, density=kde, abs_q=q, n_images=int(x.size), window=pw, note=cw.note,
        k_density=cw.k_density, k_jacobian=cw.k_jacobian, fit=fit, n_in_window=n_in, y_star=y_star,
        mass_ratio=ratio, images_near=near, rel_error_star=rel, boot_k=np.array(bk),
        boot_decades=np.array(bd), boot_mass=np.array(bm), min_decades=min_decades,
        window_y_span=cw.y_span / (abs(w) * kde.bandwidth))


def plot_projection(digits: dict, axes) -> None:
    """Histograms of x¹ of the two classes with their kernel estimates, one axes per projection.

    Parameters
    ----------
    digits : dict
        ``{projection name: ProjectedDigits}``.
    axes : sequence of matplotlib axes
        One per entry of ``digits``.
    """
    from bbdlib.book.style import SERIES_COLORS

    for ax, (name, pd) in zip(axes, digits.items()):
        lo = min(pd.data.x_minus.min(), pd.data.x_plus.min()) - 0.2
        hi = max(pd.data.x_minus.max(), pd.data.x_plus.max()) + 0.2
        grid = np.linspace(lo, hi, 600)
        for c, col, dig in (("-", SERIES_COLORS[0], pd.classes[0]), ("+", SERIES_COLORS[1], pd.classes[1])):
            v = pd.data.values(c)
            kde = pd.densities[c]
            ax.hist(v, bins=40, range=(lo, hi), density=True, alpha=0.35, color=col)
            ax.plot(grid, kde.pdf(grid), color=col,
                    label=f"digit {dig} ('{'−' if c == '-' else '+'}'), h = {kde.bandwidth:.3f}")
            mu = 1.0 if c == "+" else 0.0  # the Gaussian of (7.2)-(7.3), for comparison
            ax.plot(grid, np.exp(-0.5 * ((grid - mu) / 0.25) ** 2) / (0.25 * math.sqrt(2 * math.pi)),
                    color=col, ls=":", lw=1.0)
        ax.set_xlabel("$x^1$ (class means scaled to 0 and 1)")
        ax.set_title(name.replace("_", " "), fontsize=10)
        ax.legend(fontsize=8, loc="upper center")
    axes[0].set_ylabel("density")


def plot_jump_density(r: DigitClassResult, ax, *, k_theory: float) -> None:
    """The jumps of one class of projected digits on log-log axes: the image jumps (blue, a
    log-binned histogram, for the picture only), the density (6.1) with the estimated p_y
    (black), the Jacobian contribution times the peak of p_y (red), the plan's window (shaded)
    and the slope −k of [B] (grey dashed) over it.

    Parameters
    ----------
    r : DigitClassResult
    ax : matplotlib axes
    k_theory : float
        The paper's exponent.
    """
    from bbdlib.book.style import PAPER_COLORS
    from bbdlib.duality import analysis_plan as plan
    from bbdlib.duality.density import exact_density
    from bbdlib.duality.pushforward import BranchDensity
    from bbdlib.powerlaw import log_binned_density

    q = r.abs_q
    jm = r.jump_map
    if q.size >= 2 and q.max() > q.min():
        c, d = log_binned_density(q, bins=12, total=r.n_images)
        ax.loglog(c[d > 0], d[d > 0], "o", color=PAPER_COLORS["samples"], ms=4, label="images")
        lo, hi = q.min() / 3, q.max() * 3
    elif q.size:
        lo, hi = q.min() / 10, q.max() * 10
    else:
        ax.text(0.5, 0.5, "no image gives a jump", transform=ax.transAxes, ha="center")
        return
    grid = np.geomspace(lo, hi, 300)
    p_y = r.density.y_density(jm.w, jm.b)
    # the density at the window's geometric middle (the anchor of the slope line) is evaluated
    # with the curve, as one more point: every point's value is computed on its own
    mid = [math.sqrt(r.window.x_min * r.window.x_max)] if r.window is not None else []
    ed_all = exact_density(jm, np.concatenate([grid, mid]), y_density=p_y)
    ref = float(ed_all.density[-1]) if mid else float("nan")
    n = grid.size
    ed = BranchDensity(points=ed_all.points[:n], density=ed_all.density[:n],
                       branch_density=ed_all.branch_density[:, :n], preimages=ed_all.preimages[:, :n],
                       branch_jacobian=ed_all.branch_jacobian[:, :n])
    dens = ed.density
    ok = dens > 1e-8 * dens.max() if dens.max() > 0 else dens > 0  # the kernel's far tails are not data
    ax.loglog(grid[ok], dens[ok], "-", color=PAPER_COLORS["exact"], lw=1.2, label="(6.1), estimated $p_y$")
    x = r.density.points
    ys = jm.w * np.linspace(x.min() - 3 * r.density.bandwidth, x.max() + 3 * r.density.bandwidth, 2001) + jm.b
    jac = _significant_jacobian(ed, plan.EPSILON) * p_y(ys).max()
    ok = jac > 0
    ax.loglog(grid[ok], jac[ok], "--", color=PAPER_COLORS["jacobian"], lw=1.0, label="Jacobian × max $p_y$")
    if r.window is not None:
        w0, w1 = r.window.x_min, r.window.x_max
        ax.axvspan(w0, w1, color=PAPER_COLORS["fit_range"], alpha=0.5, lw=0)
        g = np.geomspace(w0, w1, 50)
        if ref > 0:
            ax.loglog(g, 3 * ref * (g / math.sqrt(w0 * w1)) ** (-k_theory), ":", color=PAPER_COLORS["theory"],
                      lw=1.5, label=f"slope −{k_theory:.3g}")
    from matplotlib.ticker import NullFormatter

    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.set_xlabel(r"$|\dot q'|$")


def digit_claim_values(r: DigitClassResult, k_theory: float, eps: float | None = None) -> dict:
    """``expected``/``measured``/``tolerance`` of an exponent claim on projected digits.

    Numbers when the window spans at least ``min_decades``: the paper's k, the exponent of
    (6.1) with the estimated p_y, and the tolerance: the plan's slope allowance over the
    window plus the half-width of the 95 % interval over image resamples (the allowance alone
    when fewer than 5 resamples have a window).  Otherwise text ("no window", "no power-law
    range (… decades)"), which records the claim as not reproduced.

    Parameters
    ----------
    r : DigitClassResult
    k_theory : float
    eps : float, optional
        The plan's ε (default :data:`bbdlib.duality.analysis_plan.EPSILON`).

    Returns
    -------
    dict
        Keyword arguments for :meth:`bbdlib.book.claims.Ledger.assess`.
    """
    from bbdlib.duality import analysis_plan as plan

    if not isinstance(r, DigitClassResult):
        raise TypeError(f"r must be a DigitClassResult, got {type(r).__name__}")
    eps = plan.EPSILON if eps is None else plan.check_epsilon(eps)
    decades = None if r.window is None else r.decades
    if decades is None or not r.has_range:
        return plan.claim_values(k_theory, window_decades=decades, min_decades=r.min_decades)
    lo, hi = r.k_interval()
    has_ci = bool(np.isfinite(lo))   # the allowance over the window + the half-width over image resamples
    return plan.claim_values(k_theory, window_decades=decades, min_decades=r.min_decades, measured=r.k_density,
                             tolerance=plan.slope_allowance(decades, eps) + (0.5 * (hi - lo) if has_ci else 0.0),
                             ci=(lo, hi) if has_ci else None)


def image_fit_claim_values(r: DigitClassResult, k_theory: float, eps: float | None = None) -> dict:
    """``expected``/``measured``/``tolerance`` of the data-only exponent claim: the maximum-likelihood
    exponent of the image jumps inside the plan's window (no estimate of p_y involved).

    Numbers when the window spans at least ``min_decades`` and at least 10 image jumps fall
    inside: the paper's k, the MLE, and the plan's tolerance (slope allowance over the window
    plus the half-width of the bootstrap interval over those jumps).  Otherwise text.

    Parameters
    ----------
    r : DigitClassResult
    k_theory : float
    eps : float, optional
        The plan's ε.

    Returns
    -------
    dict
        Keyword arguments for :meth:`bbdlib.book.claims.Ledger.assess`.
    """
    from bbdlib.duality import analysis_plan as plan

    if not isinstance(r, DigitClassResult):
        raise TypeError(f"r must be a DigitClassResult, got {type(r).__name__}")
    eps = plan.EPSILON if eps is None else plan.check_epsilon(eps)
    if r.has_range and r.fit is None:
        check_real("k_theory", k_theory)
        return dict(expected=f"k = {k_theory:.3g} over at least {r.min_decades:g} decade",
                    measured=f"{r.n_in_window} image jumps in the window (fewer than 10)")
    return plan.claim_values(k_theory, window_decades=r.decades, min_decades=r.min_decades, fit=r.fit, eps=eps)
