"""Input validation shared by every public function and every chapter's parameters.

Each checker takes the *name* of the parameter it checks, so that the error
message says which argument was wrong and what was expected.  They return the
validated (and possibly converted) value, so that a call site reads::

    n_samples = check_int("n_samples", n_samples, minimum=1)
"""
from __future__ import annotations

import numbers
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

__all__ = [
    "check_int",
    "check_real",
    "check_choice",
    "check_array",
    "check_generator",
    "check_parameters",
    "bins_with_evidence",
]


def check_int(
    name: str, value: Any, *, minimum: int | None = None, maximum: int | None = None,
    why: str | None = None,
) -> int:
    """Return ``value`` as an ``int``; raise if it is not an integer in range.

    Booleans and floats (even integral ones such as ``3.0``) are rejected, so a
    width or a sample count is always a true integer.

    Parameters
    ----------
    name : str
        The parameter's name, used in the error message.
    value
        The value to check.
    minimum, maximum : int, optional
        Inclusive bounds.
    why : str, optional
        Why the bounds are what they are (e.g. that a run at the maximum fits the
        machine), appended to an out-of-range message.

    Returns
    -------
    int
        ``value`` as a Python ``int``.

    Raises
    ------
    TypeError
        If ``value`` is not an integer.
    ValueError
        If it is out of range.
    """
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer, got {value!r} ({type(value).__name__})")
    value = int(value)
    note = f" ({why})" if why else ""
    if minimum is not None and value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}{note}")
    if maximum is not None and value > maximum:
        raise ValueError(f"{name} must be <= {maximum}, got {value}{note}")
    return value


def check_real(
    name: str,
    value: Any,
    *,
    low: float | None = None,
    high: float | None = None,
    low_inclusive: bool = True,
    high_inclusive: bool = True,
    why: str | None = None,
) -> float:
    """Return ``value`` as a finite ``float`` inside the stated interval.

    Parameters
    ----------
    name : str
        The parameter's name, used in the error message.
    value
        The value to check (a real number; booleans are rejected).
    low, high : float, optional
        Bounds of the interval.
    low_inclusive, high_inclusive : bool
        Whether each bound belongs to the interval (default: both do).
    why : str, optional
        Why the bounds are what they are, appended to an out-of-range message.

    Returns
    -------
    float
        ``value`` as a Python ``float``.

    Raises
    ------
    TypeError
        If ``value`` is not a real number.
    ValueError
        If it is not finite or lies outside the interval.
    """
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {value!r} ({type(value).__name__})")
    value = float(value)
    if not np.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value}")
    note = f" ({why})" if why else ""
    if low is not None and (value < low or (value == low and not low_inclusive)):
        op = ">=" if low_inclusive else ">"
        raise ValueError(f"{name} must be {op} {low}, got {value}{note}")
    if high is not None and (value > high or (value == high and not high_inclusive)):
        op = "<=" if high_inclusive else "<"
        raise ValueError(f"{name} must be {op} {high}, got {value}{note}")
    return value


def check_choice(name: str, value: Any, choices: Iterable[Any]) -> Any:
    """Return ``value`` if it is one of ``choices``; otherwise list the allowed values.

    Parameters
    ----------
    name : str
        The parameter's name, used in the error message.
    value
        The value to check.
    choices : iterable
        The allowed values.

    Returns
    -------
    object
        ``value`` unchanged.

    Raises
    ------
    ValueError
        If ``value`` is not among ``choices`` (the message lists them).
    """
    choices = list(choices)
    if value not in choices:
        allowed = ", ".join(repr(c) for c in choices)
        raise ValueError(f"{name} must be one of {allowed}; got {value!r}")
    return value


def check_array(
    name: str,
    value: Any,
    *,
    ndim: int | None = None,
    shape: tuple[int | None, ...] | None = None,
    finite: bool = True,
    dtype: Any = float,
    min_size: int = 0,
) -> np.ndarray:
    """Return ``value`` as a numpy array with the expected shape and finite entries.

    Parameters
    ----------
    name : str
        The parameter's name, used in the error message.
    value
        Anything ``numpy.asarray`` accepts.
    ndim : int, optional
        The number of dimensions required.
    shape : tuple, optional
        The shape required; ``None`` for an axis of any length.
    finite : bool
        Refuse NaN and infinite entries (default).
    dtype
        The dtype to convert to (default ``float``).  Strings are never converted to
        numbers, and a complex or boolean array is refused for a real dtype (its
        imaginary part would be dropped, its truth values read as 0 and 1).
    min_size : int
        The fewest entries allowed (e.g. 1 to refuse an empty array).

    Returns
    -------
    numpy.ndarray
        The converted array.

    Raises
    ------
    TypeError
        If ``value`` cannot be converted (strings, complex or boolean values for a
        real dtype, ragged nesting, ``None``).
    ValueError
        If its dimensions or shape are wrong, it has fewer than ``min_size`` entries,
        or it has non-finite entries.
    """
    target = np.dtype(dtype)
    try:
        raw = np.asarray(value)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{name} must be an array of numbers: {exc}") from None
    if raw.dtype.kind in "USVMm" or (raw.dtype.kind == "O" and target.kind != "O" and any(
            v is None or isinstance(v, (str, bytes, bool, complex, np.bool_)) for v in raw.ravel())):
        raise TypeError(f"{name} must be an array of numbers, got {type(value).__name__} "
                        f"of dtype {raw.dtype}")
    if raw.dtype.kind == "c" and target.kind in "biuf":
        raise TypeError(f"{name} must be real, got complex values (the imaginary part would be dropped)")
    if raw.dtype.kind == "b" and target.kind in "iuf":
        raise TypeError(f"{name} must be an array of numbers, got booleans")
    try:
        arr = np.asarray(raw, dtype=dtype)
    except (TypeError, ValueError, OverflowError) as exc:
        raise TypeError(f"{name} must be an array of numbers: {exc}") from None
    if arr.size < min_size:
        raise ValueError(f"{name} must have at least {min_size} entries, got {arr.size}")
    if ndim is not None and arr.ndim != ndim:
        raise ValueError(f"{name} must have {ndim} dimension(s), got shape {arr.shape}")
    if shape is not None:
        if arr.ndim != len(shape) or any(
            s is not None and s != a for s, a in zip(shape, arr.shape)
        ):
            want = "(" + ", ".join("any" if s is None else str(s) for s in shape) + ")"
            raise ValueError(f"{name} must have shape {want}, got {arr.shape}")
    if finite and arr.dtype.kind in "fc" and not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must contain only finite values (found NaN or inf)")
    return arr


def check_generator(name: str, value: Any) -> np.random.Generator:
    """Accept a ``numpy.random.Generator`` or an integer seed.

    Parameters
    ----------
    name : str
        The parameter's name, used in the error message.
    value
        A generator (returned as it is) or a non-negative integer seed.

    Returns
    -------
    numpy.random.Generator
        The generator, or ``numpy.random.default_rng(value)`` for a seed.

    Raises
    ------
    TypeError
        For anything else.
    """
    if isinstance(value, np.random.Generator):
        return value
    if isinstance(value, numbers.Integral) and not isinstance(value, bool) and value >= 0:
        return np.random.default_rng(int(value))
    raise TypeError(
        f"{name} must be a numpy.random.Generator or a non-negative integer seed, got {value!r}"
    )


def check_parameters(namespace: Mapping[str, Any], spec: Mapping[str, dict]) -> None:
    """Validate a chapter's ``parameters`` cell in one call.

    Parameters
    ----------
    namespace : mapping
        Usually ``globals()`` of the notebook.
    spec : mapping
        ``{name: rule}`` where ``rule`` has a ``"type"`` key (``"int"``,
        ``"real"``, ``"choice"`` or ``"bool"``) and the keyword arguments of
        :func:`check_int`, :func:`check_real` or :func:`check_choice`
        (``choices=[...]``); ``"why"`` says why the bounds are what they are (for a
        work-size maximum: that a run at it fits the machine), and is given in the
        error message.

    Returns
    -------
    None
        Returns only if every parameter is valid.

    Raises
    ------
    ValueError, TypeError
        Naming the first parameter that is missing or invalid.
    """
    for name, rule in spec.items():
        if name not in namespace:
            raise ValueError(f"parameter {name!r} is not defined in the parameters cell")
        rule = dict(rule)
        kind = rule.pop("type")
        value = namespace[name]
        if kind == "int":
            check_int(name, value, **rule)
        elif kind == "real":
            check_real(name, value, **rule)
        elif kind == "choice":
            check_choice(name, value, rule["choices"])
        elif kind == "bool":
            if not isinstance(value, (bool, np.bool_)):
                raise TypeError(f"{name} must be True or False, got {value!r}")
        else:  # pragma: no cover - a bug in the chapter, not in the reader's input
            raise ValueError(f"unknown rule type {kind!r} for parameter {name!r}")


def bins_with_evidence(name: str, counts: Any, *, min_count: int, min_bins: int) -> np.ndarray:
    """The bins of a histogram that hold enough samples, or an error if too few do.

    A sample-based check compares only bins with at least ``min_count`` samples, and is
    evidence only if at least ``min_bins`` bins qualify; below that it fails with a message
    saying what is missing, instead of passing on one bin or crashing on none.

    Parameters
    ----------
    name : str
        What is checked (for the message), e.g. ``"eq. (6.1) histogram"``.
    counts : array_like of int, shape (n_bins,)
        Samples per bin.
    min_count : int
        The fewest samples a bin needs to enter the comparison (>= 1).
    min_bins : int
        The fewest such bins the check needs (>= 1).

    Returns
    -------
    numpy.ndarray of bool, shape (n_bins,)
        ``counts >= min_count``.

    Raises
    ------
    ValueError
        If fewer than ``min_bins`` bins hold ``min_count`` samples (or for bad arguments).
    TypeError
        If ``counts`` is not an array of integers.
    """
    counts = check_array("counts", counts, ndim=1, dtype=float, min_size=1)
    if np.any(counts < 0) or np.any(counts != np.round(counts)):
        raise ValueError("counts must be non-negative integers")
    min_count = check_int("min_count", min_count, minimum=1)
    min_bins = check_int("min_bins", min_bins, minimum=1)
    use = counts >= min_count
    if int(use.sum()) < min_bins:
        raise ValueError(
            f"{name}: only {int(use.sum())} of {counts.size} bins hold >= {min_count} samples, but the check "
            f"needs at least {min_bins} such bins to be evidence; raise the number of samples or lower min_count")
    return use
