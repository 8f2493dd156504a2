"""The toy model of Sec. 5 of [B]: one input neuron, one output neuron, y = w x¹ + b.

Compositions H(f(y) | x²) of an activation f and a loss H, with first and second
derivatives in y; the two-class dataset of eqs. (7.2)–(7.3); the rotation of the
trainable pair q = (w, b) to the primed variable q′ of eqs. (5.2)–(5.7).

Activations (``ACTIVATIONS``):

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
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.special import expit

from bbdlib.validate import check_choice, check_real

__all__ = [
    "ACTIVATIONS", "LOSSES", "CLASSES", "CLASS_MEAN", "CLASS_STD", "CLASS_TARGET",
    "Composition", "check_class", "rotation_angle", "THETA_RULES",
]

ACTIVATIONS = ("sigmoid", "relu", "piecewise_linear")
LOSSES = ("mse", "cross_entropy", "power")
CLASSES = ("-", "+")
#: eq. (7.2): <x¹>_- = 0, <x¹>_+ = 1
CLASS_MEAN = {"-": 0.0, "+": 1.0}
#: eq. (7.3): both standard deviations 0.25
CLASS_STD = {"-": 0.25, "+": 0.25}
#: Sec. 7: x² = X⁻ = 0 for class '−', X⁺ = 1 for class '+'
CLASS_TARGET = {"-": 0.0, "+": 1.0}
THETA_RULES = ("class_mean", "equilibrium", "principal")


def check_class(cls: str) -> str:
    """Return '-' or '+' (a Unicode minus '−' is accepted for '-')."""
    if cls == "\u2212":
        cls = "-"
    return check_choice("cls", cls, CLASSES)


@dataclass(frozen=True)
class Composition:
    """A composition H(f(y) | t) of an activation and a loss (Sec. 6–7 of [B]).

    Parameters
    ----------
    activation : {"sigmoid", "relu", "piecewise_linear"}
    loss : {"mse", "cross_entropy", "power"}
    n : float
        Power of the ``"power"`` loss, n >= 2 (ignored otherwise; ``"mse"`` is n = 2).
    """

    activation: str
    loss: str
    n: float = 2.0

    def __post_init__(self) -> None:
        check_choice("activation", self.activation, ACTIVATIONS)
        check_choice("loss", self.loss, LOSSES)
        n = check_real("n", self.n, low=2.0)
        object.__setattr__(self, "n", 2.0 if self.loss == "mse" else n)
        if self.activation == "relu" and self.loss == "cross_entropy":
            raise ValueError("loss 'cross_entropy' needs 0 < f < 1 but activation 'relu' is "
                             "unbounded; allowed with relu: 'mse', 'power'")

    @property
    def label(self) -> str:
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
            return expit(y)
        if self.activation == "relu":
            return np.where(y > 0, y, 0.0)
        return np.where((y > 0) & (y < 1), y, 0.0)

    def df(self, y):
        """f′(y)."""
        y = np.asarray(y, dtype=float)
        if self.activation == "sigmoid":
            return expit(y) * expit(-y)
        return self.active(y).astype(float)

    def d2f(self, y):
        """f″(y) (zero for the piece-wise linear activations, away from the kinks)."""
        y = np.asarray(y, dtype=float)
        if self.activation == "sigmoid":
            s, sm = expit(y), expit(-y)
            return s * sm * (sm - s)
        return np.zeros(y.shape)

    def residual(self, y, t: float):
        """f(y) − t, computed without cancellation for the sigmoid (1 − σ(y) = σ(−y))."""
        y = np.asarray(y, dtype=float)
        if self.activation == "sigmoid" and t == 1.0:
            return -expit(-y)
        return self.f(y) - t

    # -- loss and composition ---------------------------------------------
    def H(self, y, t: float):
        """The composition H(f(y) | t)."""
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
        """dH(f(y))/dy = H_f f′ (zero where f′ = 0)."""
        y = np.asarray(y, dtype=float)
        if self.activation == "sigmoid":  # fast path: every y is active, two expit calls
            sm = expit(-y)
            if self.loss == "cross_entropy":
                return -sm if t == 1.0 else expit(y)  # f - t without cancellation
            s = expit(y)
            r = -sm if t == 1.0 else s
            if self.n == 2.0:
                return 2.0 * r * s * sm
            return self.n * np.abs(r) ** (self.n - 1.0) * np.sign(r) * s * sm
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

    def d2H(self, y, t: float):
        """d²H(f(y))/dy² = H_ff f′² + H_f f″ (zero where f′ = 0)."""
        y = np.asarray(y, dtype=float)
        act = self.active(y)
        r = self.residual(y, t)
        if self.loss == "cross_entropy":
            if self.activation == "sigmoid":
                return expit(y) * expit(-y)
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


def rotation_angle(rule: str, cls: str, w: float = 1.0, b: float = 0.0) -> float:
    """The angle θ± of the rotation (5.2) for class ``cls``.

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
    mu, s = CLASS_MEAN[cls], CLASS_STD[cls]
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
