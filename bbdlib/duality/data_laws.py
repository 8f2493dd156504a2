"""Other class laws for the toy model's data set (beyond eqs. (7.2)–(7.3) of [B]).

The data set of Sec. 7 of [B] has Gaussian classes of width 0.25 around ⟨x¹⟩₋ = 0 and
⟨x¹⟩₊ = 1.  A *class law* is the distribution of x¹ within a class, an object with a density
and a sampler:

- ``"gaussian"``: N(mean, std²) (the paper's law for std = 0.25);
- ``"student_t"``: mean + s t_ν with s = std √((ν − 2)/ν), so that its standard deviation
  is ``std`` (ν > 2): heavier tails and a sharper peak than the Gaussian of the same width;
- ``"mixture"``: ½ N(mean − d, s²) + ½ N(mean + d, s²) with d = ``split`` · std and
  s² = std² − d² (standard deviation ``std``); at the default ``split`` = 1/√2 (d = s) the
  density is flat to fourth order at its mean (the border between one and two modes).

:class:`LawTwoClassData` is a :class:`bbdlib.duality.toy_model.TwoClassData` whose classes
follow such laws, drawn from standard normal draws by the quantile transform
x = F⁻¹(Φ(z)), so that the book's SGD (:func:`bbdlib.duality.training.train_sgd`), jump map
and samplers run on it unchanged; :meth:`LawTwoClassData.y_density` is the p_y of (6.1) that
:func:`bbdlib.duality.density.exact_density` and
:func:`bbdlib.duality.analysis_plan.plan_window` take as ``y_density``.
"""
from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from scipy import stats
from scipy.special import ndtr, ndtri, stdtrit

from bbdlib.duality.density import exact_density
from bbdlib.duality.jumps import JumpMap
from bbdlib.duality.toy_model import TwoClassData, check_class
from bbdlib.powerlaw import fit_truncated_powerlaw
from bbdlib.validate import check_choice, check_generator, check_int, check_real

__all__ = ["LAWS", "ClassLaw", "make_law", "LawTwoClassData", "two_class_data", "density_exponent",
           "LawClassResult", "analyse_law_class"]

#: The class laws (``make_law``)
LAWS = ("gaussian", "student_t", "mixture")


@dataclass(frozen=True)
class ClassLaw:
    """The law of x¹ within one class: a location, a standard deviation and a shape.

    Parameters
    ----------
    kind : {"gaussian", "student_t"}
        One of ``LAWS``.
    mean : float
        Location (the class mean).
    std : float
        Standard deviation (> 0).
    nu : float
        Degrees of freedom of ``"student_t"`` (> 2, so that the standard deviation exists).
    split : float
        d/std of ``"mixture"``, in [0, 1).
    """

    kind: str
    mean: float
    std: float
    nu: float = 3.0
    split: float = 1.0 / math.sqrt(2.0)

    def __post_init__(self) -> None:
        check_choice("law", self.kind, LAWS)
        object.__setattr__(self, "mean", check_real("mean", self.mean))
        object.__setattr__(self, "std", check_real("sigma (class width)", self.std, low=0.0, low_inclusive=False))
        if self.kind == "student_t":
            object.__setattr__(self, "nu", check_real("nu", self.nu, low=2.0, low_inclusive=False))
        if self.kind == "mixture":
            object.__setattr__(self, "split", check_real("split", self.split, low=0.0, high=1.0,
                                                         high_inclusive=False))

    @property
    def _mix(self) -> tuple[float, float]:
        d = self.split * self.std
        return d, math.sqrt(self.std**2 - d * d)

    @property
    def _dist(self):
        if self.kind == "gaussian":
            return stats.norm(self.mean, self.std)
        return stats.t(self.nu, loc=self.mean, scale=self.std * math.sqrt((self.nu - 2.0) / self.nu))

    def pdf(self, x) -> np.ndarray:
        """The density of x¹ at ``x``."""
        x = np.asarray(x, dtype=float)
        if self.kind == "mixture":
            d, s = self._mix
            return 0.5 * (stats.norm.pdf(x, self.mean - d, s) + stats.norm.pdf(x, self.mean + d, s))
        return self._dist.pdf(x)

    def from_normal(self, z) -> np.ndarray:
        """Draws of the law from standard normal ``z`` (no validation): x¹ = F⁻¹(Φ(z)), and for
        the mixture u = Φ(z) picks the component (u < ½) and, rescaled to (0, 1), its value."""
        z = np.asarray(z, dtype=float)
        if self.kind == "gaussian":
            return self.mean + self.std * z
        u = ndtr(z)
        if self.kind == "mixture":
            d, s = self._mix
            low = u < 0.5
            v = np.clip(np.where(low, 2.0 * u, 2.0 * u - 1.0), 1e-300, 1.0 - 1e-16)
            return self.mean + np.where(low, -d, d) + s * ndtri(v)
        return stdtrit(self.nu, u) * (self.std * math.sqrt((self.nu - 2.0) / self.nu)) + self.mean

    def sample(self, n: int, *, rng: np.random.Generator | int) -> np.ndarray:
        """``n`` draws of x¹.

        Parameters
        ----------
        n : int
        rng : numpy.random.Generator or int

        Returns
        -------
        ndarray
        """
        n = check_int("n", n, minimum=1)
        rng = check_generator("rng", rng)
        return self.from_normal(rng.standard_normal(n))

    @property
    def label(self) -> str:
        """A readable name, e.g. ``"Student-t (ν = 3), σ = 0.25"``."""
        if self.kind == "gaussian":
            return f"Gaussian, σ = {self.std:g}"
        if self.kind == "mixture":
            return f"two-Gaussian mixture (d/σ = {self.split:.3g}), σ = {self.std:g}"
        return f"Student-t (ν = {self.nu:g}), σ = {self.std:g}"


def make_law(kind: str, mean: float, std: float, **shape) -> ClassLaw:
    """A class law by name.

    Parameters
    ----------
    kind : {"gaussian", "student_t"}
    mean, std : float
    **shape
        ``nu`` for the Student-t, ``split`` for the mixture.

    Returns
    -------
    ClassLaw

    Raises
    ------
    ValueError
        For an unknown law (naming ``law``) or a width ≤ 0 (naming ``sigma``).
    """
    return ClassLaw(kind, mean, std, **shape)


@dataclass(frozen=True)
class LawTwoClassData(TwoClassData):
    """The toy model's data set with classes of any :class:`ClassLaw`.

    ``mean_*``/``std_*`` are the laws' means and standard deviations (so the rotation rules and
    the y grids of :mod:`bbdlib.duality.density` see the right scales); inputs are drawn by the
    quantile transform of standard normal draws.

    Attributes
    ----------
    law_minus, law_plus : ClassLaw
    """

    law_minus: ClassLaw = field(default=None)
    law_plus: ClassLaw = field(default=None)

    def __post_init__(self) -> None:
        for name in ("law_minus", "law_plus"):
            if not isinstance(getattr(self, name), ClassLaw):
                raise TypeError(f"{name} must be a ClassLaw, got {type(getattr(self, name)).__name__}")
        object.__setattr__(self, "mean_minus", self.law_minus.mean)
        object.__setattr__(self, "mean_plus", self.law_plus.mean)
        object.__setattr__(self, "std_minus", self.law_minus.std)
        object.__setattr__(self, "std_plus", self.law_plus.std)
        super().__post_init__()

    def law(self, cls: str) -> ClassLaw:
        """The law of class ``cls``."""
        return self.law_plus if check_class(cls) == "+" else self.law_minus

    def inputs(self, plus: np.ndarray, z: np.ndarray) -> np.ndarray:
        """x¹ of the classes ``plus`` from standard normal draws ``z`` (quantile transform)."""
        plus = np.asarray(plus, dtype=bool)
        if self.law_minus.kind == "gaussian" and self.law_plus.kind == "gaussian":
            return np.where(plus, self.law_plus.from_normal(z), self.law_minus.from_normal(z))
        # a quantile transform is costly: each law maps only its own draws (from_normal is
        # element-wise, so the values are those of the np.where over both maps above)
        z = np.asarray(z, dtype=float)
        plus, z = np.broadcast_arrays(plus, z)
        out = np.empty(z.shape)
        out[plus] = self.law_plus.from_normal(z[plus])
        out[~plus] = self.law_minus.from_normal(z[~plus])
        return out

    def draw(self, n: int, *, rng: np.random.Generator | int,
             cls: str | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Draw ``n`` pairs (x¹, x²) (as :meth:`TwoClassData.draw`).

        Parameters
        ----------
        n : int
        rng : numpy.random.Generator or int
        cls : {'-', '+'}, optional

        Returns
        -------
        x1, x2 : ndarray
        """
        n = check_int("n", n, minimum=1)
        rng = check_generator("rng", rng)
        if cls is not None:
            return self.law(cls).sample(n, rng=rng), np.full(n, self.target(cls))
        plus = rng.random(n) < self.p_plus
        return self.inputs(plus, rng.standard_normal(n)), np.where(plus, self.target_plus, self.target_minus)

    def y_density(self, cls: str, w: float, b: float) -> Callable:
        """p_y(y) of y = w x¹ + b over class ``cls``: p_x((y − b)/w)/|w|, the density of (6.1).

        Parameters
        ----------
        cls : {'-', '+'}
        w, b : float
            The parameters (w ≠ 0).

        Returns
        -------
        callable
        """
        law = self.law(cls)
        w = check_real("w", w)
        b = check_real("b", b)
        if w == 0.0:
            raise ValueError("w must be non-zero")

        def py(y):
            return law.pdf((np.asarray(y, dtype=float) - b) / w) / abs(w)

        return py


def two_class_data(law: str, sigma: float, *, nu: float = 3.0,
                   split: float = 1.0 / math.sqrt(2.0)) -> LawTwoClassData:
    """The data set of (7.2) (class means 0 and 1, targets 0 and 1) with classes of law ``law``
    and width ``sigma``.

    Parameters
    ----------
    law : {"gaussian", "student_t"}
    sigma : float
        Standard deviation of each class (> 0); the paper's is 0.25 (7.3).
    nu : float
        Degrees of freedom of the Student-t.
    split : float
        d/σ of the mixture.

    Returns
    -------
    LawTwoClassData
    """
    check_choice("law", law, LAWS)
    sigma = check_real("sigma (class width)", sigma, low=0.0, low_inclusive=False)
    shape = {"student_t": {"nu": nu}, "mixture": {"split": split}}.get(law, {})
    return LawTwoClassData(law_minus=make_law(law, 0.0, sigma, **shape),
                           law_plus=make_law(law, 1.0, sigma, **shape))


def density_exponent(jump_map: JumpMap, window: tuple[float, float], *, y_density: Callable | None = None,
                     n_points: int = 4000) -> float:
    """The exponent the plan's maximum-likelihood fit converges to over ``window`` for jumps
    distributed by the exact density (6.1) with p_y = ``y_density``: the truncated power-law
    MLE (:func:`bbdlib.powerlaw.fit_truncated_powerlaw`) with the density on a logarithmic grid
    as weights.

    Parameters
    ----------
    jump_map : JumpMap
    window : (float, float)
    y_density : callable, optional
        p_y (default: the class's Gaussian).
    n_points : int
        Grid points.

    Returns
    -------
    float
    """
    lo = check_real("window[0]", window[0], low=0.0, low_inclusive=False)
    hi = check_real("window[1]", window[1], low=0.0, low_inclusive=False)
    n_points = check_int("n_points", n_points, minimum=20)
    u = np.linspace(math.log(lo), math.log(hi), n_points + 1)
    q = np.exp(0.5 * (u[1:] + u[:-1]))              # mid-points of equal cells in ln q
    d = exact_density(jump_map, q, y_density=y_density).density
    if not np.any(d > 0):
        raise ValueError("the exact density vanishes on the window")
    return fit_truncated_powerlaw(q, lo, hi, rng=0, n_boot=20, weights=d * q).k


@dataclass(frozen=True)
class LawClassResult:
    """One class of one composition on one data set (see :func:`analyse_law_class`).

    Attributes
    ----------
    data : LawTwoClassData
    jump_map : JumpMap
    abs_q : ndarray
        The sampled non-zero |q̇′|.
    n_inputs : int
        Inputs drawn (zeros included).
    window : PlanWindow or None
        The plan's window with the law's p_y (None: no window; ``note`` says why).
    measurement : ExponentMeasurement or None
    k_predicted : float
        :func:`density_exponent` over the window (NaN without one).
    note : str
    """

    data: LawTwoClassData
    jump_map: JumpMap
    abs_q: np.ndarray
    n_inputs: int
    window: object
    measurement: object
    k_predicted: float
    note: str = ""


def analyse_law_class(comp, w: float, b: float, cls: str, data: LawTwoClassData, *, gamma: float,
                      n_samples: int, rng: np.random.Generator | int,
                      n_boot: int | None = None) -> LawClassResult:
    """Sample the jumps of one class of ``data`` at (w, b) and measure them by the analysis plan
    with the law's p_y: :func:`bbdlib.duality.analysis_plan.plan_window` (``y_density``),
    :func:`bbdlib.duality.analysis_plan.measure_exponent`, and the prediction
    :func:`density_exponent` of (6.1) over the same window.

    Parameters
    ----------
    comp : Composition
    w, b : float
        The equilibrium parameters.
    cls : {'-', '+'}
    data : LawTwoClassData
    gamma : float
    n_samples : int
        Inputs drawn from the class.
    rng : numpy.random.Generator or int
    n_boot : int, optional
        Bootstrap resamples (default: the plan's ``N_BOOT``).

    Returns
    -------
    LawClassResult
    """
    from bbdlib.duality import analysis_plan as plan
    from bbdlib.duality.toy_model import rotation_angle

    if not isinstance(data, LawTwoClassData):
        raise TypeError(f"data must be a LawTwoClassData, got {type(data).__name__}")
    rng = check_generator("rng", rng)
    n_samples = check_int("n_samples", n_samples, minimum=1000, maximum=50_000_000,
                          why="5·10^7 inputs take about 2 GB in the jump sample")
    n_boot = plan.N_BOOT if n_boot is None else check_int("n_boot", n_boot, minimum=20)
    cls = check_class(cls)
    theta = rotation_angle("class_mean", cls, w, b, data=data)
    jm = JumpMap(comp, w, b, cls, gamma, theta, data)
    x, _ = data.draw(n_samples, rng=rng, cls=cls)
    aq = jm.sample(n_samples, rng=rng, x=x, jacobian=False).abs_qdot   # the plan reads no sample Jacobian
    py = data.y_density(cls, w, b)
    try:
        pw = plan.plan_window(jm, aq, y_density=py)
        m = plan.measure_exponent(aq, (pw.x_min, pw.x_max), rng=rng,
                                  scanned_edge="low" if pw.rule_edge == "low" else "high",
                                  limits=(pw.data_low, pw.data_high), n_boot=n_boot)
        kp = density_exponent(jm, (pw.x_min, pw.x_max), y_density=py)
    except ValueError as exc:
        return LawClassResult(data, jm, aq, n_samples, None, None, float("nan"), note=str(exc))
    return LawClassResult(data, jm, aq, n_samples, pw, m, kp)



