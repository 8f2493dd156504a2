"""The duality sampler: inputs of one class mapped to potential jumps q̇′ (Sec. 5–7 of [B]).

At fixed (equilibrium) parameters (w, b), an input x¹ of class ± gives y = w x¹ + b and
the jump of the rotated trainable variable, eqs. (5.5)–(5.7),

    q̇′ = cos θ ẇ + sin θ ḃ = −γ (x¹ cos θ + sin θ) dH(f(y) | x²)/dy,

with (ẇ, ḃ) = −γ dH/dy (x¹, 1) the SGD jump of eq. (2.3) for one sample (M = 1).
Section 7 of [B] explains why these potential jumps stand for the actual changes of q′
at learning equilibrium.  The Jacobian contribution of eq. (6.1) is

    |dy/dq̇′| = 1 / |γ (cos θ / w) H′(y) + γ (x¹ cos θ + sin θ) H″(y)|.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from bbdlib.duality.toy_model import CLASS_MEAN, CLASS_STD, CLASS_TARGET, Composition, check_class
from bbdlib.validate import check_array, check_generator, check_int, check_real

__all__ = ["JumpSample", "map_jumps", "jump_derivative", "sample_jumps", "check_sampler_args"]


@dataclass(frozen=True)
class JumpSample:
    """Jumps of one class at fixed parameters (see :func:`sample_jumps`).

    ``x``, ``y``, ``qdot`` (signed q̇′), ``jacobian`` (|dy/dq̇′|, NaN where the jump is
    zero), ``active`` (f′(y) ≠ 0 so the jump is non-zero) are arrays of length ``n``.
    """

    cls: str
    w: float
    b: float
    gamma: float
    theta: float
    x: np.ndarray
    y: np.ndarray
    qdot: np.ndarray
    jacobian: np.ndarray
    active: np.ndarray

    @property
    def abs_qdot(self) -> np.ndarray:
        """|q̇′| of the samples with a non-zero jump."""
        return np.abs(self.qdot[self.active])

    @property
    def active_fraction(self) -> float:
        return float(self.active.mean())


def check_sampler_args(comp, w, b, cls, gamma, theta):
    """Validate the common arguments of the sampler and the exact density."""
    if not isinstance(comp, Composition):
        raise TypeError(f"comp must be a Composition, got {type(comp).__name__}")
    w = check_real("w", w)
    if w == 0.0:
        raise ValueError("w must be non-zero (y = w x¹ + b must depend on the input)")
    b = check_real("b", b)
    cls = check_class(cls)
    gamma = check_real("gamma", gamma, low=0.0, low_inclusive=False)
    theta = check_real("theta", theta)
    return comp, w, b, cls, gamma, theta


def map_jumps(comp: Composition, x: np.ndarray, w: float, b: float, cls: str,
              gamma: float, theta: float) -> np.ndarray:
    """The kernel: inputs x¹ → jumps q̇′ (eq. (5.7)).  No validation (inner kernel)."""
    t = CLASS_TARGET[cls]
    return (-gamma) * (x * math.cos(theta) + math.sin(theta)) * comp.dH(w * x + b, t)


def jump_derivative(comp: Composition, y: np.ndarray, w: float, b: float, cls: str,
                    gamma: float, theta: float) -> np.ndarray:
    """dq̇′/dy along the class (x¹ = (y − b)/w), the inverse of the Jacobian of (6.1)."""
    t = CLASS_TARGET[cls]
    x = (y - b) / w
    c, s = math.cos(theta), math.sin(theta)
    return -gamma * ((c / w) * comp.dH(y, t) + (x * c + s) * comp.d2H(y, t))


def sample_jumps(comp: Composition, w: float, b: float, cls: str, n: int, *,
                 gamma: float, theta: float, rng: np.random.Generator | int,
                 x=None) -> JumpSample:
    """Draw ``n`` inputs of class ``cls`` (eqs. (7.2)–(7.3)) and map them to jumps q̇′.

    Parameters
    ----------
    comp : Composition
    w, b : float
        The (equilibrium) parameters, held fixed.
    cls : {'-', '+'}
    n : int
        Number of samples (> 0).
    gamma : float
        Learning rate γ > 0 of eq. (2.3).
    theta : float
        Rotation angle θ± of eq. (5.2) (see :func:`bbdlib.duality.toy_model.rotation_angle`).
    rng : numpy.random.Generator or int
    x : array_like, optional
        Use these inputs instead of drawing them (then ``n`` must equal their number).
    """
    comp, w, b, cls, gamma, theta = check_sampler_args(comp, w, b, cls, gamma, theta)
    n = check_int("n", n, minimum=1)
    rng = check_generator("rng", rng)
    if x is None:
        x = rng.normal(CLASS_MEAN[cls], CLASS_STD[cls], n)
    else:
        x = check_array("x", x, ndim=1)
        if x.size != n:
            raise ValueError(f"x has {x.size} values but n = {n}")
    y = w * x + b
    q = map_jumps(comp, x, w, b, cls, gamma, theta)
    active = comp.active(y) & (q != 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        jac = np.where(active, 1.0 / np.abs(jump_derivative(comp, y, w, b, cls, gamma, theta)), np.nan)
    return JumpSample(cls=cls, w=w, b=b, gamma=gamma, theta=theta, x=x, y=y, qdot=q,
                      jacobian=jac, active=active)
