"""The one table of activation functions σ, with σ′ and σ″, shared by both papers.

Every network of the book (the numeric network of paper A, the neural septuple and the
toy model of paper B) takes its activation from here, so that there is one sigmoid.
The sigmoid is written as ½(1 + tanh(z/2)), which never overflows (the textbook
1/(1 + e^{−z}) gives NaN in σ′ for z < −709) and agrees with ``scipy.special.expit``
to absolute round-off (~1e-17; relative accuracy is lost for z ≲ −30, where σ < 1e-13).

ReLU is listed with ``smooth=False``: its σ″ is a Dirac delta, so quantities that
contain ∂²_t σ(z) (the link currents (13)/(22) of [A]) are undefined at the kink.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy.special import expit

from bbdlib.validate import check_choice

__all__ = ["ACTIVATIONS", "Activation", "activation", "sigmoid", "sigmoid_prime"]


def sigmoid(z, *, exact_tails: bool = False):
    """Logistic sigmoid σ(z) = 1/(1 + e^{−z}), evaluated as ½(1 + tanh(z/2)) (no overflow).

    Parameters
    ----------
    z : array_like
    exact_tails : bool
        The tanh form is exact to *absolute* round-off only: in the tail z → −∞, where
        σ(z) ≈ e^z, it loses relative precision (σ(−40) evaluates to 0). With
        ``exact_tails`` σ is evaluated by ``scipy.special.expit``, exact to relative
        round-off everywhere; paper B's toy model needs this, because its jumps follow the
        exponential tails of σ over many decades (Figs. 1–2 of [B]).
    """
    z = np.asarray(z, dtype=float)
    if exact_tails:
        return expit(z)
    return 0.5 * (1.0 + np.tanh(0.5 * z))


def sigmoid_prime(z, *, exact_tails: bool = False):
    """σ′(z) = σ(z)(1 − σ(z)) of the logistic sigmoid.

    With ``exact_tails`` it is evaluated as σ(z) σ(−z), exact to relative round-off in
    both tails (see :func:`sigmoid`).
    """
    z = np.asarray(z, dtype=float)
    if exact_tails:
        return expit(z) * expit(-z)
    s = sigmoid(z)
    return s * (1.0 - s)


def _sigmoid_dd(z):
    s = sigmoid(z)
    return s * (1.0 - s) * (1.0 - 2.0 * s)


def _tanh_d(z):
    t = np.tanh(z)
    return 1.0 - t * t


def _tanh_dd(z):
    t = np.tanh(z)
    return -2.0 * t * (1.0 - t * t)


def _softplus(z):
    return np.logaddexp(0.0, z)


def _silu(z):
    return z * sigmoid(z)


def _silu_d(z):
    s = sigmoid(z)
    return s * (1.0 + z * (1.0 - s))


def _silu_dd(z):
    s = sigmoid(z)
    ds = s * (1.0 - s)
    return 2.0 * ds + z * ds * (1.0 - 2.0 * s)


def _identity(z):
    return np.asarray(z, dtype=float) * 1.0


def _one(z):
    return np.ones_like(np.asarray(z, dtype=float))


def _zero(z):
    return np.zeros_like(np.asarray(z, dtype=float))


def _relu(z):
    return np.maximum(z, 0.0)


def _heaviside(z):
    return (np.asarray(z) > 0).astype(float)


@dataclass(frozen=True)
class Activation:
    """An activation σ with its first two derivatives.

    Attributes
    ----------
    name : str
        Key in :data:`ACTIVATIONS`.
    f, d1, d2 : callable
        σ, σ′ and σ″, elementwise on arrays.
    smooth : bool
        ``False`` when σ is not C² (ReLU): ``d2`` is then zero away from the kink and
        undefined at it.
    """

    name: str
    f: Callable
    d1: Callable
    d2: Callable
    smooth: bool = True


#: The activations by name: tanh, sigmoid, softplus, silu, sin, identity (all C²) and relu (not C²).
ACTIVATIONS: dict[str, Activation] = {
    a.name: a
    for a in (
        Activation("tanh", np.tanh, _tanh_d, _tanh_dd),
        Activation("sigmoid", sigmoid, sigmoid_prime, _sigmoid_dd),
        Activation("softplus", _softplus, sigmoid, sigmoid_prime),
        Activation("silu", _silu, _silu_d, _silu_dd),
        Activation("sin", np.sin, np.cos, lambda z: -np.sin(z)),
        Activation("identity", _identity, _one, _zero),
        Activation("relu", _relu, _heaviside, _zero, smooth=False),
    )
}


def activation(name: str, *, smooth: bool = False, argument: str = "name") -> Activation:
    """The :class:`Activation` called ``name``.

    Parameters
    ----------
    name : str
        One of :data:`ACTIVATIONS`.
    smooth : bool
        Require a C² activation (σ″ defined everywhere); ReLU is then refused with the
        reason.
    argument : str
        The name of the caller's parameter that holds ``name``, used in the error message
        (a function taking ``activation=...`` passes ``argument="activation"``).

    Returns
    -------
    Activation

    Raises
    ------
    ValueError
        For an unknown name, or a non-smooth activation when ``smooth`` is set.
    """
    check_choice(argument, name, ACTIVATIONS)
    act = ACTIVATIONS[name]
    if smooth and not act.smooth:
        raise ValueError(
            f"{argument} = {name!r} is not supported here: σ'' is a Dirac delta, so the currents "
            "(13)/(22) of [A] (which contain ∂²_t σ(z)) are undefined at the kink; use 'softplus' "
            "(a smooth ReLU)")
    return act
