"""Input checks name the parameter and what was expected."""
import numpy as np
import pytest

from bbdlib.validate import (
    check_array,
    check_choice,
    check_generator,
    check_int,
    check_parameters,
    check_real,
)


def test_check_int():
    assert check_int("n", np.int64(3), minimum=1) == 3
    for bad in (3.0, True, "3", None):
        with pytest.raises(TypeError, match="n must be an integer"):
            check_int("n", bad)
    with pytest.raises(ValueError, match="n must be >= 1, got 0"):
        check_int("n", 0, minimum=1)
    with pytest.raises(ValueError, match="<= 5"):
        check_int("n", 6, maximum=5)


def test_check_real():
    assert check_real("gamma", 2, low=0, low_inclusive=False) == 2.0
    with pytest.raises(ValueError, match="gamma must be > 0"):
        check_real("gamma", 0.0, low=0, low_inclusive=False)
    with pytest.raises(ValueError, match="finite"):
        check_real("gamma", float("inf"))
    with pytest.raises(TypeError, match="real number"):
        check_real("gamma", "1")


def test_check_choice_lists_allowed():
    with pytest.raises(ValueError, match="activation must be one of 'sigmoid', 'relu'; got 'tanh'"):
        check_choice("activation", "tanh", ["sigmoid", "relu"])


def test_check_array():
    a = check_array("W", [[1, 2], [3, 4]], shape=(2, None))
    assert a.dtype == float
    with pytest.raises(ValueError, match=r"W must have shape \(3, any\)"):
        check_array("W", np.zeros((2, 2)), shape=(3, None))
    with pytest.raises(ValueError, match="finite"):
        check_array("W", [1.0, np.nan])
    with pytest.raises(ValueError, match="dimension"):
        check_array("W", [1.0], ndim=2)


def test_check_generator():
    assert isinstance(check_generator("rng", 3), np.random.Generator)
    with pytest.raises(TypeError, match="rng"):
        check_generator("rng", -1)


def test_check_parameters():
    spec = {"n": {"type": "int", "minimum": 1}, "act": {"type": "choice", "choices": ["a", "b"]},
            "g": {"type": "real", "low": 0.0}, "flag": {"type": "bool"}}
    check_parameters({"n": 2, "act": "a", "g": 1.0, "flag": True}, spec)
    with pytest.raises(ValueError, match="parameter 'flag' is not defined"):
        check_parameters({"n": 2, "act": "a", "g": 1.0}, spec)
    with pytest.raises(ValueError, match="act must be one of"):
        check_parameters({"n": 2, "act": "c", "g": 1.0, "flag": True}, spec)
    with pytest.raises(TypeError, match="flag must be True or False"):
        check_parameters({"n": 2, "act": "a", "g": 1.0, "flag": 1}, spec)


def test_bounds_say_why():
    with pytest.raises(ValueError, match=r"<= 10, got 11 \(fits 2 cores\)"):
        check_int("n", 11, maximum=10, why="fits 2 cores")
    with pytest.raises(ValueError, match=r"\(fits\)"):
        check_real("x", 2.0, high=1.0, why="fits")
    with pytest.raises(ValueError, match=r"train_steps must be <= 5, got 6 \(a run at the maximum"):
        check_parameters({"train_steps": 6}, {"train_steps": {
            "type": "int", "maximum": 5, "why": "a run at the maximum fits"}})


@pytest.mark.parametrize("bad", [["1.5", "2"], "3", [1 + 2j], [True, False], [None, 1.0], [[1, 2], [3]]])
def test_check_array_never_converts_strings_complex_bools_or_none(bad):
    with pytest.raises(TypeError, match="x must be"):
        check_array("x", bad)


def test_check_array_min_size():
    with pytest.raises(ValueError, match="x must have at least 1 entries, got 0"):
        check_array("x", [], min_size=1)
    assert check_array("x", [1, 2], min_size=1).dtype == float
    assert check_array("z", [1 + 2j], dtype=complex)[0] == 1 + 2j


def test_bins_with_evidence_states_the_minimum():
    from bbdlib.validate import bins_with_evidence

    use = bins_with_evidence("h", [5000, 2500, 10, 3000], min_count=2000, min_bins=3)
    assert use.tolist() == [True, True, False, True]
    # one bin of 60 is not evidence (II.4 at the smallest n_samples); none is not a crash
    with pytest.raises(ValueError, match=r"only 1 of 60 bins hold >= 2000 samples.*at least 15"):
        bins_with_evidence("eq. (6.1) histogram", [2500] + [10] * 59, min_count=2000, min_bins=15)
    with pytest.raises(ValueError, match="only 0 of 3"):
        bins_with_evidence("h", [1, 2, 3], min_count=10**9, min_bins=1)
    with pytest.raises(ValueError, match="min_count"):
        bins_with_evidence("h", [1, 2, 3], min_count=0, min_bins=1)
    with pytest.raises(ValueError, match="counts"):
        bins_with_evidence("h", [1.5, 2], min_count=1, min_bins=1)
