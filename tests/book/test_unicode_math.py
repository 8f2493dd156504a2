"""Plain-text math of the scorecard and the errata: what a reader sees instead of sympy's str."""
import pytest

from bbdlib.book.sphinx.claims import unicode_math


@pytest.mark.parametrize("text, shown", [
    ("x**2", "x²"),
    ("e^{γt}", "eᵞᵗ"),
    ("z^{(3)}_{1}", "z⁽³⁾₁"),
    ("2*x", "2·x"),
    ("sqrt(2)", "√(2)"),
    (r"W^{(0)}_{1,1}*\dot{X}_{1}*\dot{b}^{(0)}_{1}", "W⁽⁰⁾_(1,1)·Ẋ₁·ḃ⁽⁰⁾₁"),
    (r"\ddot{z}_{1}", "z̈₁"),
    (r"\dot{Xy}", "d(Xy)/dt"),
    (r"\sigma(y) + \partial\ell", "σ(y) + ∂ℓ"),
    (r"\unknown", r"\unknown"),
])
def test_unicode_math(text, shown):
    assert unicode_math(text) == shown


def test_no_backslash_command_survives_for_the_symbols_sympy_writes():
    assert "\\" not in unicode_math(r"\dot{X}_{1}*\ddot{b}^{(0)}_{1}*\gamma*\eta")


def test_bad_input():
    with pytest.raises(TypeError, match="text"):
        unicode_math(3)
