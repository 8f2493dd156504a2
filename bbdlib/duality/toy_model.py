"""The toy model of Sec. 5 of [B]: one input neuron, one output neuron, y = w x¹ + b.

Compositions H(f(y) | x²) of an activation f and a loss H, with first and second
derivatives in y; the two-class data set of eqs. (5.1), (7.2)–(7.3)
(:class:`TwoClassData`, the paper's one is :data:`TWO_CLASSES`); the rotation of the
trainable pair q = (w, b) to the primed variable q′ of eqs. (5.2)–(5.7).

Activations of the compositions (``TOY_ACTIVATIONS``; σ itself comes from the book's one
activation table, :mod:`bbdlib.activations`):

- ``"sigmoid"``: f = 1/(1 + e^-y), eq. (7.4)
- ``"relu"``: f = max(0, y), eq. (7.11)
- ``"piecewise_linear"``: f = y on 0 < y < 1, else 0, eq. (7.16)

Losses (``LOSSES``), with target t = x² ∈ {0, 1}:

- ``"mse"``: H = (f - t)², eq. (7.5)
- ``"cross_entropy"``: H = -(1 - t) log(1 - f) - t log f, eq. (7.6)
- ``"power"``: H = |f - t|^n, n >= 2 real.  Eq. (7.12) prints (f - t)^n, which for odd n
  is not a loss (it is unbounded below and its gradient pushes f *away* from t = 1 when
  f < 1); we use the absolute value, identical to (7.12) for even n.

Conventions.  Where f′(y) = 0 (ReLU for y < 0, the piece-wise linear f outside
(0, 1)) no gradient flows and dH/dy = d²H/dy² = 0, even where H itself is infinite
(cross-entropy with t = 1 and f = 0): an autograd implementation would return
0·∞ = NaN there; we count such samples as producing no jump.  The kink points
(y = 0, y = 1) have measure zero and are treated as inactive.
Cross-entropy needs 0 < f < 1, so ReLU + cross-entropy is rejected.
The sigmoid is evaluated with ``exact_tails`` (:func:`bbdlib.activations.sigmoid`): the
jumps of Figs. 1–2 follow σ(y) ≈ e^y over many decades, which needs relative precision.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from bbdlib.activations import activation as _table_activation
from bbdlib.activations import sigmoid, sigmoid_prime
from bbdlib.validate import check_choice, check_generator, check_int, check_real

__all__ = [
    "TOY_ACTIVATIONS", "LOSSES", "CLASSES", "TwoClassData", "TWO_CLASSES",
    "Composition", "check_class", "rotation_angle", "THETA_RULES",
]

#: The activations f of the compositions of Sec. 7 of [B] (eqs. (7.4), (7.11), (7.16))
TOY_ACTIVATIONS = ("sigmoid", "relu", "piecewise_linear")
LOSSES = ("mse", "cross_entropy", "power")
CLASSES = ("-", "+")
THETA_RULES = ("class_mean", "equilibrium", "principal")
_RELU = _table_activation("relu").f


def check_class(cls: str) -> str:
    """Return '-' or '+' (a Unicode minus '−' is accepted for '-')."""
    if cls == "\u2212":
        cls = "-"
    return check_choice("cls", cls, CLASSES)


@dataclass(frozen=True)
class TwoClassData:
    """The two-class data set of the toy model: eqs. (5.1), (7.2), (7.3) of [B].

    Inputs x¹ of class ± are Gaussian with mean ``mean_minus``/``mean_plus`` and standard
    deviation ``std_minus``/``std_plus``; the output neuron (the target) is x² = X^∓; a
    sample is of class '+' with probability ``p_plus`` (eq. (5.1): 1/2).

    Attributes
    ----------
    mean_minus, mean_plus : float
        ⟨x¹⟩₋ = 0, ⟨x¹⟩₊ = 1 (eq. (7.2)).
    std_minus, std_plus : float
        The standard deviations of x¹ in each class, both 0.25 (eq. (7.3)).
    target_minus, target_plus : float
        X⁻ = 0 and X⁺ = 1 (Sec. 7).
    p_plus : float
        Probability of class '+' (eq. (5.1)).
    """

    mean_minus: float = 0.0
    mean_plus: float = 1.0
    std_minus: float = 0.25
    std_plus: float = 0.25
    target_minus: float = 0.0
    target_plus: float = 1.0
    p_plus: float = 0.5

    def __post_init__(self) -> None:
        for name in ("mean_minus", "mean_plus", "target_minus", "target_plus"):
            object.__setattr__(self, name, check_real(name, getattr(self, name)))
        for name in ("std_minus", "std_plus"):
            object.__setattr__(self, name, check_real(name, getattr(self, name), low=0.0,
                                                      low_inclusive=False))
        object.__setattr__(self, "p_plus", check_real("p_plus", self.p_plus, low=0.0, high=1.0))

    def mean(self, cls: str) -> float:
        """⟨x¹⟩ of class ``cls`` (eq. (7.2))."""
        return self.mean_plus if check_class(cls) == "+" else self.mean_minus

    def std(self, cls: str) -> float:
        """Standard deviation of x¹ in class ``cls`` (eq. (7.3))."""
        return self.std_plus if check_class(cls) == "+" else self.std_minus

    def target(self, cls: str) -> float:
        """The target x² of class ``cls``."""
        return self.target_plus if check_class(cls) == "+" else self.target_minus

    def y_mean(self, cls: str, w: float, b: float) -> float:
        """Mean of the pre-activation y = w x¹ + b over class ``cls``."""
        return w * self.mean(cls) + b

    def y_std(self, cls: str, w: float) -> float:
        """Standard deviation |w| std(x¹) of y = w x¹ + b over class ``cls``."""
        return abs(w) * self.std(cls)

    def draw(self, n: int, *, rng: np.random.Generator | int,
             cls: str | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Draw ``n`` pairs (x¹, x²).

        Parameters
        ----------
        n : int
            Number of samples (> 0).
        rng : numpy.random.Generator or int
        cls : {'-', '+'}, optional
            Draw only this class; by default each sample is '+' with probability ``p_plus``.

        Returns
        -------
        x1, x2 : ndarray
            Inputs and targets, each of length ``n``.
        """
        n = check_int("n", n, minimum=1)
        rng = check_generator("rng", rng)
        if cls is not None:
            cls = check_class(cls)
            return rng.normal(self.mean(cls), self.std(cls), n), np.full(n, self.target(cls))
        plus = rng.random(n) < self.p_plus
        z = rng.standard_normal(n)
        return self.inputs(plus, z), self._pick(plus, self.target_minus, self.target_plus)

    def inputs(self, plus: np.ndarray, z: np.ndarray) -> np.ndarray:
        """x¹ = ⟨x¹⟩_c + std_c z for the classes ``plus`` (bool, '+' where True) and standard
        normal draws ``z`` of the same shape (no validation: inner kernel of the samplers)."""
        return (self._pick(plus, self.mean_minus, self.mean_plus)
                + self._pick(plus, self.std_minus, self.std_plus) * z)

    @staticmethod
    def _pick(plus: np.ndarray, minus_value: float, plus_value: float) -> np.ndarray:
        return np.array([minus_value, plus_value])[np.asarray(plus).astype(np.intp)]

    def least_squares_line(self) -> tuple[float, float]:
        """(w, b) of the least-squares line of x² on x¹ over the whole data set.

        w = cov(x¹, x²)/var(x¹) and b = ⟨x²⟩ − w⟨x¹⟩: the learning equilibrium of the
        linear network f = y with the loss (7.5).  For the paper's data set
        w = (1/4) / (1/4 + 0.25²) = 0.8 and b = 0.1.
        """
        p, q = self.p_plus, 1.0 - self.p_plus
        d_mean = self.mean_plus - self.mean_minus
        mean_x = q * self.mean_minus + p * self.mean_plus
        mean_t = q * self.target_minus + p * self.target_plus
        var_x = (q * self.std_minus**2 + p * self.std_plus**2) + p * q * d_mean**2
        cov = p * q * d_mean * (self.target_plus - self.target_minus)
        w = cov / var_x
        return w, mean_t - w * mean_x


#: The data set of the paper, eqs. (5.1), (7.2), (7.3)
TWO_CLASSES = TwoClassData()


@dataclass(frozen=True)
class Composition:
    """A composition H(f(y) | t) of an activation and a loss (Sec. 6–7 of [B]).

    Parameters
    ----------
    activation : {"sigmoid", "relu", "piecewise_linear"}
        One of ``TOY_ACTIVATIONS``.
    loss : {"mse", "cross_entropy", "power"}
    n : float
        Power of the ``"power"`` loss, n >= 2 (ignored otherwise; ``"mse"`` is n = 2).
    """

    activation: str
    loss: str
    n: float = 2.0

    def __post_init__(self) -> None:
        check_choice("activation", self.activation, TOY_ACTIVATIONS)
        check_choice("loss", self.loss, LOSSES)
        n = check_real("n", self.n, low=2.0)
        object.__setattr__(self, "n", 2.0 if self.loss == "mse" else n)
        if self.activation == "relu" and self.loss == "cross_entropy":
            raise ValueError("loss 'cross_entropy' needs 0 < f < 1 but activation 'relu' is "
                             "unbounded; allowed with relu: 'mse', 'power'")

    @property
    def label(self) -> str:
        """A readable name, e.g. ``"ReLU + |f − x²|^4"``."""
        act = {"sigmoid": "sigmoid", "relu": "ReLU", "piecewise_linear": "piece-wise linear"}
        loss = {"mse": "(f − x²)²", "cross_entropy": "cross-entropy",
                "power": f"|f − x²|^{self.n:g}"}
        return f"{act[self.activation]} + {loss[self.loss]}"

    # -- activation ---------------------------------------------------------
    def active(self, y: np.ndarray) -> np.ndarray:
        """Where f′(y) ≠ 0."""
        y = np.asarray(y, dtype=float)
        if self.activation == "sigmoid":
            return np.ones(y.shape, dtype=bool)
        if self.activation == "relu":
            return y > 0
        return (y > 0) & (y < 1)

    def f(self, y):
        """Activation f(y): eqs. (7.4), (7.11), (7.16)."""
        y = np.asarray(y, dtype=float)
        if self.activation == "sigmoid":
            return sigmoid(y, exact_tails=True)
        if self.activation == "relu":
            return _RELU(y)
        return np.where((y > 0) & (y < 1), y, 0.0)

    def df(self, y):
        """f′(y)."""
        y = np.asarray(y, dtype=float)
        if self.activation == "sigmoid":
            return sigmoid_prime(y, exact_tails=True)
        return self.active(y).astype(float)

    def d2f(self, y):
        """f″(y) (zero for the piece-wise linear activations, away from the kinks)."""
        y = np.asarray(y, dtype=float)
        if self.activation == "sigmoid":
            s, sm = sigmoid(y, exact_tails=True), sigmoid(-y, exact_tails=True)
            return s * sm * (sm - s)
        return np.zeros(y.shape)

    def residual(self, y, t: float):
        """f(y) − t, computed without cancellation for the sigmoid (1 − σ(y) = σ(−y))."""
        y = np.asarray(y, dtype=float)
        if self.activation == "sigmoid" and t == 1.0:
            return -sigmoid(-y, exact_tails=True)
        return self.f(y) - t

    # -- loss and composition ---------------------------------------------
    def H(self, y, t: float):
        """The composition H(f(y) | t).

        Parameters
        ----------
        y : array_like
            Pre-activations.
        t : float
            The target x² (0 or 1).

        Returns
        -------
        ndarray
        """
        y = np.asarray(y, dtype=float)
        r = self.residual(y, t)
        if self.loss in ("mse", "power"):
            return np.abs(r) ** self.n
        with np.errstate(divide="ignore"):
            if self.activation == "sigmoid":  # -log σ(y) = log(1 + e^-y), stably
                return np.logaddexp(0.0, y) if t == 0.0 else np.logaddexp(0.0, -y)
            f = self.f(y)
            return -np.log1p(-f) if t == 0.0 else -np.log(f)

    def dH(self, y, t: float):
        """dH(f(y))/dy = H_f f′ (zero where f′ = 0).

        Parameters
        ----------
        y : array_like
            Pre-activations.
        t : float
            The target x² (0 or 1).

        Returns
        -------
        ndarray
        """
        y = np.asarray(y, dtype=float)
        if self.activation == "sigmoid":  # fast path: every y is active, two expit calls
            sm = sigmoid(-y, exact_tails=True)
            if self.loss == "cross_entropy":
                return -sm if t == 1.0 else sigmoid(y, exact_tails=True)  # f - t, no cancellation
            s = sigmoid(y, exact_tails=True)
            r = -sm if t == 1.0 else s
            if self.n == 2.0:
                return 2.0 * r * s * sm
            return self.n * np.abs(r) ** (self.n - 1.0) * np.sign(r) * s * sm
        if self.activation == "piecewise_linear" and self.loss == "cross_entropy":
            # fast path (the streamed tail of Fig. 5): (f - t)/(f(1 - f)) with f = y on (0, 1)
            act = (y > 0.0) & (y < 1.0)
            with np.errstate(divide="ignore", invalid="ignore"):
                out = (y - t) / (y * (1.0 - y))
            return np.where(act, out, 0.0)
        act = self.active(y)
        r = self.residual(y, t)
        if self.loss == "cross_entropy":
            if self.activation == "sigmoid":
                return r  # (f - t)/(f(1-f)) · f(1-f)
            f = np.where(act, self.f(y), 0.5)
            out = (f - t) / (f * (1.0 - f))  # f′ = 1 on the active piece
        else:
            n = self.n
            out = n * np.abs(r) ** (n - 1.0) * np.sign(r) * self.df(y)
        return np.where(act, out, 0.0)

    def dH_classes(self, y, plus, t_minus: float = 0.0, t_plus: float = 1.0) -> np.ndarray:
        """dH(f(y) | t)/dy with a per-sample target: ``t_plus`` where ``plus``, else ``t_minus``.

        Bitwise equal to ``np.where(plus, self.dH(y, t_plus), self.dH(y, t_minus))`` (the same
        element-wise operations), in one pass instead of two: the inner step of SGD on the
        two-class data set, eq. (2.3) of [B] (:func:`bbdlib.duality.training.train_sgd`).

        Parameters
        ----------
        y : array_like
            Pre-activations.
        plus : array_like of bool
            Which samples belong to the '+' class (broadcast against ``y``).
        t_minus, t_plus : float
            The targets x² of the two classes (0 and 1 in [B]).

        Returns
        -------
        ndarray
        """
        y = np.asarray(y, dtype=float)
        plus = np.asarray(plus)
        if plus.dtype != bool:
            raise TypeError(f"plus must be an array of bool, got dtype {plus.dtype}")
        return self._dH_classes(y, plus, check_real("t_minus", t_minus), check_real("t_plus", t_plus))

    def _dH_classes(self, y: np.ndarray, plus: np.ndarray, t_minus: float, t_plus: float) -> np.ndarray:
        """:meth:`dH_classes` on validated float ``y`` and bool ``plus`` (the SGD inner loop)."""
        if self.activation == "sigmoid" and (t_minus, t_plus) == (0.0, 1.0):
            sm = sigmoid(-y, exact_tails=True)
            s = sigmoid(y, exact_tails=True)
            r = np.where(plus, -sm, s)  # f - t without cancellation, as in dH
            if self.loss == "cross_entropy":
                return r
            if self.n == 2.0:
                return 2.0 * r * s * sm
            return self.n * np.abs(r) ** (self.n - 1.0) * np.sign(r) * s * sm
        if self.activation == "sigmoid":
            return np.where(plus, self.dH(y, t_plus), self.dH(y, t_minus))
        t = np.where(plus, t_plus, t_minus)
        if self.loss == "cross_entropy":  # piece-wise linear: (f - t)/(f(1 - f)), f = y on (0, 1)
            act = (y > 0.0) & (y < 1.0)
            with np.errstate(divide="ignore", invalid="ignore"):
                out = (y - t) / (y * (1.0 - y))
            return np.where(act, out, 0.0)
        # ReLU and the piece-wise linear f: f = y and f′ = 1 wherever f′ ≠ 0, so on the active set
        # r = y − t and the factor f′ = 1.0 of dH is a bitwise no-op; elsewhere the result is 0
        act = self.active(y)
        r = y - t
        n = self.n
        if n == 2.0:   # 2 |r|^1 sign(r) = 2 r exactly (multiplications by ±1 and 2 are exact)
            out = 2.0 * r
        else:
            out = n * np.abs(r) ** (n - 1.0) * np.sign(r)
        return np.where(act, out, 0.0)

    def d2H(self, y, t: float):
        """d²H(f(y))/dy² = H_ff f′² + H_f f″ (zero where f′ = 0).

        Parameters
        ----------
        y : array_like
            Pre-activations.
        t : float
            The target x² (0 or 1).

        Returns
        -------
        ndarray
        """
        y = np.asarray(y, dtype=float)
        act = self.active(y)
        r = self.residual(y, t)
        if self.loss == "cross_entropy":
            if self.activation == "sigmoid":
                return sigmoid_prime(y, exact_tails=True)
            f = np.where(act, self.f(y), 0.5)
            out = (1.0 - t) / (1.0 - f) ** 2 + t / f**2
        else:
            n = self.n
            a = np.abs(r)
            h_ff = n * (n - 1.0) * a ** (n - 2.0)
            h_f = n * a ** (n - 1.0) * np.sign(r)
            out = h_ff * self.df(y) ** 2 + h_f * self.d2f(y)
        return np.where(act, out, 0.0)

    # -- the paper's asymptotic forms ----------------------------------------
    def dH_asymptotic(self, y, t: float):
        """dH/dy of the asymptotic composition the paper uses for this case.

        Sigmoid: f ≈ e^y ('−', y → −∞) and 1 − f ≈ e^-y ('+', y → ∞), giving
        H ≈ e^{2y}, e^{-2y} (MSE, eqs. (7.7)–(7.8)), e^{y}, e^{-y} (cross-entropy,
        eqs. (7.9)–(7.10) with the sign of (7.10) corrected) and e^{±ny} for |f − t|^n.
        ReLU and the piece-wise linear f: the composition on the active piece is
        already the power/logarithm of eqs. (7.14), (7.17), so the form is exact there.
        """
        y = np.asarray(y, dtype=float)
        if self.activation != "sigmoid":
            return self.dH(y, t)
        m = 1.0 if self.loss == "cross_entropy" else self.n
        with np.errstate(over="ignore"):
            return m * np.exp(m * y) if t == 0.0 else -m * np.exp(-m * y)

    def theory_k(self) -> float:
        """Exponent k of p(q̇′) ∝ |q̇′|^-k predicted by Sec. 6–7 (both classes).

        Sigmoid (exponential composition (6.11)): k = 1.  ReLU + |f − t|^n
        (power composition (6.18), eq. (7.15)): k = (n − 2)/(n − 1).  Piece-wise
        linear + cross-entropy (logarithmic composition (6.21)): k = 2.
        Piece-wise linear + |f − t|^n behaves as ReLU near the critical points.
        """
        if self.activation == "sigmoid":
            return 1.0
        if self.loss == "cross_entropy":
            return 2.0
        return (self.n - 2.0) / (self.n - 1.0)


def rotation_angle(rule: str, cls: str, w: float = 1.0, b: float = 0.0, *,
                   data: TwoClassData = TWO_CLASSES) -> float:
    """The angle θ± of the rotation (5.2) for class ``cls``.

    Parameters
    ----------
    rule : {"class_mean", "equilibrium", "principal"}
        One of ``THETA_RULES`` (below).
    cls : {'-', '+'}
    w, b : float
        The parameters (used by the rule ``"equilibrium"`` only).
    data : TwoClassData
        The data set whose class mean and spread the rules use.

    Returns
    -------
    float
        θ± in radians.

    Rules (``THETA_RULES``):

    ``"class_mean"`` (the book's default)
        θ± = atan2(1, ⟨x¹⟩±): the direction of the jump q̇ = −γ H′(y) (x¹, 1) at the
        class-mean input, so θ₋ = π/2 (q′ = b) and θ₊ = π/4.  It keeps
        x¹ cos θ + sin θ > 0 on the data, as (6.6) requires, and away from zero, so
        that the factor (Dy − C) of (6.4) is nearly constant (|Dy| ≪ |C|).
    ``"equilibrium"``
        θ = atan2(b, w), the same for both classes: eq. (5.6) read literally
        (y = (x¹ cos θ + sin θ) q′ with q′ the only variable), for which C = 0 in (6.5).
    ``"principal"``
        The principal axis of the jump directions (x¹, 1) over the class: the
        leading eigenvector of ⟨(x¹, 1)(x¹, 1)ᵀ⟩±, i.e. of [[μ² + s², μ], [μ, 1]].
    """
    cls = check_class(cls)
    check_choice("theta rule", rule, THETA_RULES)
    w = check_real("w", w)
    b = check_real("b", b)
    mu, s = data.mean(cls), data.std(cls)
    if rule == "class_mean":
        return math.atan2(1.0, mu)
    if rule == "equilibrium":
        w = check_real("w", w)
        b = check_real("b", b)
        return math.atan2(b, w)
    m = np.array([[mu * mu + s * s, mu], [mu, 1.0]])
    vals, vecs = np.linalg.eigh(m)
    v = vecs[:, np.argmax(vals)]
    if v[1] < 0:
        v = -v
    return math.atan2(v[1], v[0])
