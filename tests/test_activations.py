"""The one activation table: derivatives against finite differences, no overflow, bad input."""
import numpy as np
import pytest
from scipy.special import expit

from bbdlib.activations import ACTIVATIONS, activation, sigmoid, sigmoid_prime

Z = np.linspace(-4.0, 4.0, 41) + 0.0123  # avoid ReLU's kink at 0


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_derivatives_match_finite_differences(name):
    a = activation(name)
    eps = 1e-5
    np.testing.assert_allclose(a.d1(Z), (a.f(Z + eps) - a.f(Z - eps)) / (2 * eps), atol=1e-8)
    np.testing.assert_allclose(a.d2(Z), (a.d1(Z + eps) - a.d1(Z - eps)) / (2 * eps), atol=1e-7)


def test_sigmoid_is_expit_and_never_overflows():
    z = np.array([-1000.0, -710.0, -30.0, 0.0, 30.0, 710.0, 1000.0])
    with np.errstate(all="raise"):
        s, ds = sigmoid(z), sigmoid_prime(z)
    # ½(1 + tanh(z/2)) agrees with expit to absolute round-off (not relative, deep in the tail)
    np.testing.assert_allclose(s, expit(z), rtol=1e-15, atol=1e-16)
    assert np.all(np.isfinite(ds)) and np.all(ds >= 0)


def test_relu_is_refused_where_smoothness_is_needed():
    assert activation("relu").smooth is False
    with pytest.raises(ValueError, match="Dirac delta"):
        activation("relu", smooth=True)
    assert activation("tanh", smooth=True).name == "tanh"


def test_unknown_activation_names_the_parameter():
    with pytest.raises(ValueError, match="^name must be one of"):
        activation("gelu")
    with pytest.raises(ValueError, match="^name must be one of"):
        activation(name="gelu")
    with pytest.raises(ValueError, match="^activation must be one of"):
        activation("gelu", argument="activation")


def test_sigmoid_takes_array_likes():
    np.testing.assert_allclose(sigmoid([0.0, 1.0]), expit(np.array([0.0, 1.0])), rtol=1e-15)
    np.testing.assert_allclose(sigmoid_prime([0.0]), [0.25])
    assert isinstance(float(sigmoid(0.0)), float)
