"""The claims ledger: every claim of a paper that a chapter checks, with its status.

A chapter opens one :class:`Ledger` and states each claim through it::

    from bbdlib.book.claims import Ledger
    ledger = Ledger("chapters/duality/09-appendix-a")
    ledger.check(ref="eq. (6.11)", claim="sigmoid + MSE gives k = 1",
                 expected=1.0, measured=k_fit, tolerance=0.05)

Three outcomes are possible, and each is *asserted*: when the evidence stops supporting
the status a chapter records, the record is kept with its numbers and a ``failure``
message, the chapter runs on to its end, and its last cell, :meth:`Ledger.close`, raises
:class:`ClaimFailed` listing every claim that flipped (so nbval, ``make book`` and
``python -m bbdlib run`` fail the chapter, and the run's summary names every flip):

``reproduced``
    :meth:`Ledger.check` / :meth:`Ledger.check_symbolic`: the measured value agrees
    with the paper's within the tolerance.
``corrected``
    :meth:`Ledger.correction`: the printed value does *not* agree with the
    measurement, but a corrected value, derived in the chapter, does.  Both halves
    are asserted.
``not reproduced``
    :meth:`Ledger.not_reproduced`: the printed value does not agree and no
    correction is claimed.  The disagreement itself is asserted, so the record has
    to be revisited if the claim starts to hold.

Records are written, after every call, to ``<claims dir>/<chapter slug>.json``.
The directory is ``$BBD_CLAIMS_DIR`` when set, else ``_build/claims`` under the
repository root (the folder holding ``_config.yml``).  The Sphinx extension
:mod:`bbdlib.book.sphinx` merges those files into ``_build/claims.json`` and
renders the scorecard and errata pages from them.

Values may be numbers, numpy arrays (compared element-wise, the largest deviation
counts), booleans, strings, or sympy expressions (compared symbolically; the tolerance
must then be 0).  ``expected`` and ``measured`` must be of the same kind (a bool is never
compared with a number by truthiness); a NaN or infinite value is an error
(:class:`ValueError`), never a status: a broken computation is not an erratum of the paper.
The tolerance is a finite non-negative real number.  A second record of one claim (same
ref and claim text) with another status is an error.  Ledgers are written as UTF-8
whatever the locale, atomically, through a temporary file of their own.
"""
from __future__ import annotations

import json
import math
import numbers
import os
import tempfile
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["Claim", "ClaimFailed", "Ledger", "STATUSES", "KINDS", "PAPERS", "PART_PAPER", "PART_SCOPE",
           "SCOPES", "claims_dir",
           "load_records", "repo_root", "status_counts"]

#: The three statuses a record can have, in the order the scorecard lists them.
STATUSES = ("reproduced", "corrected", "not reproduced")
#: Kinds of evidence: a number from data or simulation (``measured``), an algebraic or
#: symbolic identity, true by computation (``exact``), or a choice the book made so that
#: a printed form matches, e.g. a coordinate convention (``convention``).  The scorecard
#: counts them apart: an exact identity is never a reproduced measurement.
KINDS = ("measured", "exact", "convention")
#: The two papers, by the letter a record names.
PAPERS = {
    "A": "Bulk–boundary decomposition of neural networks (Lee, Lee, Yi)",
    "B": "Dataset-learning duality and emergent criticality (Kukleva, Vanchurin)",
}
#: The paper each part of the book reproduces, by the chapter's folder.
PART_PAPER = {"bulk-boundary": "A", "duality": "B", "beyond-duality": "B"}
#: What a record is part of: the reproduction of its paper (``reproduction``), or a study
#: that takes a claim of the paper beyond the setting the paper tested (``beyond``:
#: mini-batches, real data, other data laws).  A ``beyond`` record's status says whether
#: the paper's claim survives there; it is never counted with the reproduction and never
#: an erratum of the paper.
SCOPES = ("reproduction", "beyond")
#: The scope of each part of the book, by the chapter's folder (default ``reproduction``).
PART_SCOPE = {"beyond-duality": "beyond"}


class ClaimFailed(AssertionError):
    """A claim's evidence does not support the status the chapter records."""


@dataclass(frozen=True)
class Claim:
    """One record of the ledger (all fields JSON-serialisable).

    Attributes
    ----------
    paper : str
        ``"A"`` or ``"B"`` (a key of :data:`PAPERS`).
    ref : str
        The equation, figure or table as the paper prints it, e.g. ``"eq. (6.11)"``.
    claim : str
        What is claimed, in a few words.
    expected, measured, tolerance
        The value the claim states (the corrected value for a ``corrected`` record),
        the chapter's computation, and the allowed deviation, as JSON values.
    status : str
        One of :data:`STATUSES`.
    kind : str
        One of :data:`KINDS`: what sort of evidence the record is.
    chapter : str
        The chapter's path without ``.md``, e.g. ``"chapters/duality/09-appendix-a"``.
    deviation
        The largest (absolute or relative) deviation of ``measured`` from ``expected``,
        or the symbolic difference as a string.
    printed
        The value as printed in the paper, for ``corrected`` and ``not reproduced``.
    evidence : str
        Plain text: what shows the status.
    rel : bool
        Whether ``tolerance`` is relative.
    extra : dict
        Further keyword arguments of the ledger call, as JSON values.
    scope : str
        One of :data:`SCOPES`, from the chapter's folder (:data:`PART_SCOPE`).
    failure : str or None
        None if the evidence supports ``status``; else why it does not (the claim
        flipped: the chapter's :meth:`Ledger.close` then raises).
    """

    paper: str
    ref: str
    claim: str
    expected: Any
    measured: Any
    tolerance: Any
    status: str
    kind: str
    chapter: str
    deviation: Any = None
    printed: Any = None
    evidence: str = ""
    rel: bool = False
    extra: dict = field(default_factory=dict)
    failure: str | None = None
    scope: str = "reproduction"


def repo_root(start: Path | None = None) -> Path | None:
    """The book's repository root.

    Parameters
    ----------
    start : pathlib.Path, optional
        Where to look from (default: the working directory).

    Returns
    -------
    pathlib.Path or None
        The nearest folder at or above ``start`` holding ``_config.yml`` and ``bbdlib/``;
        else the folder above the installed package if it holds ``_config.yml``; else None.
    """
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / "_config.yml").is_file() and (folder / "bbdlib").is_dir():
            return folder
    pkg_root = Path(__file__).resolve().parents[2]
    if (pkg_root / "_config.yml").is_file():
        return pkg_root
    return None


def claims_dir() -> Path:
    """Where ledgers are written.

    Returns
    -------
    pathlib.Path
        ``$BBD_CLAIMS_DIR`` when set, else ``<repo>/_build/claims``.

    Raises
    ------
    RuntimeError
        If the variable is unset and no repository root is found (:func:`repo_root`).
    """
    env = os.environ.get("BBD_CLAIMS_DIR")
    if env:
        return Path(env)
    root = repo_root()
    if root is None:
        raise RuntimeError(
            "cannot find the repository root (no _config.yml above the working directory); "
            "set BBD_CLAIMS_DIR to say where claims are written"
        )
    return root / "_build" / "claims"


def load_records(folder: str | Path) -> list[Claim]:
    """Every record of the ledgers written into a folder.

    Parameters
    ----------
    folder : str or pathlib.Path
        A claims folder (:func:`claims_dir`, or ``<out>/claims`` of a rerun).

    Returns
    -------
    list of Claim
        The records of every ``*.json`` ledger in the folder, files in name order and
        records in the order the chapter made them; empty if the folder does not exist.
    """
    folder = Path(folder)
    if not folder.is_dir():
        return []
    records = []
    for path in sorted(folder.glob("*.json")):
        for r in json.loads(path.read_text(encoding="utf-8"))["claims"]:
            if r.get("kind") not in KINDS:
                raise ValueError(f"{path}: record {r.get('ref')!r} ({r.get('claim')!r}) has no valid kind "
                                 f"(one of {KINDS}); rebuild the ledger")
            if r.setdefault("scope", "reproduction") not in SCOPES:
                raise ValueError(f"{path}: record {r.get('ref')!r} ({r.get('claim')!r}) has scope "
                                 f"{r['scope']!r}, not one of {SCOPES}")
            records.append(Claim(**r))
    return records


def status_counts(records: Iterable[Claim], paper: str | None = None,
                  scope: str | None = None) -> dict[str, int]:
    """How many records have each status.

    Parameters
    ----------
    records : iterable of Claim
        The records to count.
    paper : str, optional
        Count only the records of this paper (``"A"`` or ``"B"``).
    scope : str, optional
        Count only the records of this scope (one of :data:`SCOPES`); default all.

    Returns
    -------
    dict
        ``{status: count}`` for every status of :data:`STATUSES`, in that order (a
        status without records counts 0).
    """
    if scope is not None and scope not in SCOPES:
        raise ValueError(f"scope must be one of {SCOPES} or None, got {scope!r}")
    mine = [r for r in records if (paper is None or r.paper == paper) and (scope is None or r.scope == scope)]
    return {s: sum(r.status == s for r in mine) for s in STATUSES}


def _jsonable(value: Any) -> Any:
    """Turn numbers, arrays and sympy objects into JSON values (sympy -> string)."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        v = float(value)
        return v if math.isfinite(v) else str(v)
    if isinstance(value, np.ndarray):
        return [_jsonable(v) for v in value.tolist()] if value.size <= 64 else f"array{value.shape}"
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if _is_symbolic(value):
        import sympy

        if isinstance(value, sympy.MatrixBase):
            return [str(v) for v in value] if len(value) <= 64 else f"Matrix{value.shape}"
    return str(value)


def _is_symbolic(value: Any) -> bool:
    try:
        import sympy
    except ImportError:  # pragma: no cover
        return False
    return isinstance(value, sympy.Basic) or isinstance(value, sympy.MatrixBase)


def _deviation(expected: Any, measured: Any, rel: bool) -> float:
    """Largest absolute (or relative) deviation between two numeric values."""
    e = np.asarray(expected, dtype=float)
    m = np.asarray(measured, dtype=float)
    if e.shape != m.shape and e.size != 1 and m.size != 1:
        raise ValueError(f"expected has shape {e.shape} but measured has shape {m.shape}")
    if not np.all(np.isfinite(m)):
        return math.inf
    diff = np.abs(m - e)
    if rel:
        scale = np.abs(e)
        if np.any(scale == 0):
            raise ValueError("a relative tolerance needs a non-zero expected value")
        diff = diff / scale
    return float(np.max(diff))


def _symbolic_difference(expected: Any, measured: Any) -> Any:
    import sympy

    diff = sympy.simplify(sympy.sympify(measured) - sympy.sympify(expected))
    if isinstance(diff, sympy.MatrixBase):
        diff = diff.applyfunc(sympy.simplify)
    return diff


def _check_evidence(evidence: Any, what: str) -> None:
    if not isinstance(evidence, str):
        raise TypeError(f"evidence must be a string, got {type(evidence).__name__}")
    if not evidence.strip():
        raise ValueError(f"evidence must {what} (non-empty text)")


def _kind_of_value(value: Any) -> str:
    """``"symbolic"``, ``"bool"``, ``"str"`` or ``"number"`` (raises for anything else)."""
    if _is_symbolic(value):
        return "symbolic"
    if isinstance(value, (bool, np.bool_)):
        return "bool"
    if isinstance(value, str):
        return "str"
    if isinstance(value, numbers.Number):
        return "number"
    arr = np.asarray(value) if isinstance(value, (list, tuple, np.ndarray)) else None
    if arr is not None and arr.dtype.kind in "iuf" and arr.size > 0:
        return "number"
    if arr is not None and arr.dtype.kind == "b" and arr.size > 0:
        return "bool"
    raise TypeError(f"cannot compare a value of type {type(value).__name__} ({value!r:.60}); "
                    "give a number, a numeric array, a bool, a string or a sympy expression")


def _check_tolerance(tolerance: Any) -> float:
    if isinstance(tolerance, (bool, np.bool_)) or not isinstance(tolerance, numbers.Real):
        raise TypeError(f"tolerance must be a real number, got {tolerance!r}")
    if not math.isfinite(float(tolerance)) or tolerance < 0:
        raise ValueError(f"tolerance must be a finite non-negative number, got {tolerance!r}")
    return float(tolerance)


def _agree(expected: Any, measured: Any, tolerance: Any, rel: bool) -> tuple[bool, Any]:
    """Return (agrees, deviation).

    Raises
    ------
    TypeError
        If ``expected`` and ``measured`` are of different kinds, or the tolerance is not a
        real number.
    ValueError
        If either value is NaN or infinite, or the tolerance is negative or not finite.
    """
    if tolerance is None:
        tolerance = 0
    tol = _check_tolerance(tolerance)
    k_exp, k_meas = _kind_of_value(expected), _kind_of_value(measured)
    if "symbolic" in (k_exp, k_meas):
        if tol != 0:
            raise ValueError("symbolic claims are exact: pass tolerance=0")
        import sympy

        diff = _symbolic_difference(expected, measured)
        if isinstance(diff, sympy.MatrixBase):
            return bool(diff.is_zero_matrix), diff
        if diff.has(sympy.nan, sympy.zoo, sympy.oo, -sympy.oo):
            raise ValueError(f"the symbolic difference is not finite ({diff}): an error, not a status")
        return bool(diff == 0), diff
    if k_exp != k_meas:
        raise TypeError(f"expected is a {k_exp} ({expected!r:.60}) but measured is a {k_meas} "
                        f"({measured!r:.60}): compare values of the same kind")
    if k_exp == "bool":
        return bool(np.all(np.asarray(expected) == np.asarray(measured))), None
    if k_exp == "str":
        return expected == measured, None
    for name, value in (("expected", expected), ("measured", measured)):
        if not np.all(np.isfinite(np.asarray(value, dtype=complex))):
            raise ValueError(f"{name} is NaN or infinite ({value!r:.60}): a broken computation is "
                             "an error, never a status")
    dev = _deviation(expected, measured, rel)
    return dev <= tol, dev


class Ledger:
    """The claims one chapter checks.  See the module docstring for the statuses.

    Parameters
    ----------
    chapter : str
        The chapter's path from the repository root without the ``.md`` suffix,
        e.g. ``"chapters/duality/09-appendix-a"``; the scorecard links to it.  The
        chapter's folder names the paper: ``chapters/bulk-boundary`` is paper A,
        ``chapters/duality`` paper B (:data:`PART_PAPER`); ``chapters/beyond-duality``
        is paper B too, with scope ``beyond`` (:data:`PART_SCOPE`).
    reset : bool
        Start a fresh ledger file for the chapter (default), discarding records of
        an earlier run.

    Attributes
    ----------
    chapter : str
        As given, without ``.md``.
    paper : str or None
        The paper of the chapter's part; None outside a paper's folder (then every
        record names its paper).
    records : list of Claim
        The records so far, in order.
    path : pathlib.Path
        The ledger file, ``<claims dir>/<part>__<name>.json``.

    Raises
    ------
    ValueError
        If ``chapter`` is not a path under ``chapters/`` naming an existing file.
    """

    def __init__(self, chapter: str, *, reset: bool = True) -> None:
        if not isinstance(chapter, str) or not chapter.startswith("chapters/"):
            raise ValueError(f"chapter must be a path like 'chapters/<part>/<name>', got {chapter!r}")
        chapter = chapter.removesuffix(".md")
        root = repo_root()
        if root is not None and not (root / f"{chapter}.md").is_file():
            raise ValueError(f"chapter {chapter!r} does not name a file {chapter}.md in {root}")
        self.chapter = chapter
        part = chapter.split("/")[1] if chapter.count("/") >= 2 else ""
        #: The paper of the chapter's part (``None`` outside a paper's folder: then
        #: every record names its paper).
        self.paper: str | None = PART_PAPER.get(part)
        #: ``"beyond"`` for a part that takes the paper beyond its own setting
        #: (:data:`PART_SCOPE`), else ``"reproduction"``.
        self.scope: str = PART_SCOPE.get(part, "reproduction")
        self.records: list[Claim] = []
        self.path = claims_dir() / (chapter.removeprefix("chapters/").replace("/", "__") + ".json")
        if not reset and self.path.is_file():
            self.records = [Claim(**r) for r in json.loads(self.path.read_text(encoding="utf-8"))["claims"]]
        self._write()

    # -- the three statuses -------------------------------------------------
    def check(
        self,
        *,
        paper: str | None = None,
        ref: str,
        claim: str,
        expected: Any,
        measured: Any,
        tolerance: Any = 0,
        rel: bool = False,
        evidence: str = "",
        kind: str | None = None,
        **extra: Any,
    ) -> Claim:
        """Record a reproduced claim; raise :class:`ClaimFailed` if it does not hold.

        Parameters
        ----------
        paper : str, optional
            ``"A"`` or ``"B"``; default the paper of the chapter's part (it must agree).
        ref : str
            The equation, figure or table as printed, e.g. ``"eq. (7)"``, ``"Fig. 3b"``.
        claim : str
            What is claimed, in a few words.
        expected
            The paper's value: a number, array, bool, string or sympy expression.
        measured
            The chapter's computation, of the same kind.
        tolerance : float
            The largest deviation allowed (0 for exact and symbolic claims).
        rel : bool
            Whether ``tolerance`` is relative to ``expected``.
        evidence : str
            Plain text: how the chapter shows it (optional for reproduced claims).
        kind : str, optional
            One of :data:`KINDS`; default ``"exact"`` when the values are symbolic
            (sympy), else ``"measured"``.  Say ``"exact"`` for an algebraic identity
            checked numerically, ``"convention"`` for a match that holds by a choice of
            the book.
        **extra
            Further JSON-serialisable values stored with the record.

        Returns
        -------
        Claim
            The record, with status ``"reproduced"``.

        Raises
        ------
        ValueError, TypeError
            For an invalid paper, ref, claim, kind or tolerance, values of different kinds,
            a NaN or infinite value, or a second record of the claim with another status.

        Notes
        -----
        If ``measured`` deviates from ``expected`` by more than ``tolerance`` the record is
        kept with its ``failure`` set (the claim flipped) and :meth:`close` raises.
        """
        ok, dev = _agree(expected, measured, tolerance, rel)
        rec = self._record(paper, ref, claim, expected, measured, tolerance, "reproduced",
                           dev, None, evidence, rel, extra, kind)
        failure = None if ok else (
            f"expected {rec.expected}, measured {rec.measured}, "
            f"deviation {rec.deviation} > tolerance {rec.tolerance}")
        return self._add(rec, failure)

    def check_symbolic(
        self, *, paper: str | None = None, ref: str, claim: str, expected: Any, measured: Any,
        evidence: str = "", kind: str = "exact", **extra: Any,
    ) -> Claim:
        """Record an exact symbolic identity: :meth:`check` with tolerance 0.

        Parameters
        ----------
        paper : str, optional
            ``"A"`` or ``"B"``; default the paper of the chapter's part (it must agree).
        ref : str
            The equation, figure or table as printed, e.g. ``"eq. (7)"``, ``"Fig. 3b"``.
        claim : str
            What is claimed, in a few words.
        expected, measured
            sympy expressions (or matrices); the claim holds if
            ``simplify(measured - expected)`` is zero.
        evidence : str
            Plain text: how the chapter shows it.
        **extra
            Further JSON-serialisable values stored with the record.

        Returns
        -------
        Claim
            The record, with status ``"reproduced"``.

        Notes
        -----
        If the difference does not simplify to zero the record is kept with its
        ``failure`` set and :meth:`close` raises.
        """
        return self.check(paper=paper, ref=ref, claim=claim, expected=expected,
                          measured=measured, tolerance=0, evidence=evidence, kind=kind, **extra)

    def correction(
        self,
        *,
        paper: str | None = None,
        ref: str,
        claim: str,
        printed: Any,
        expected: Any,
        measured: Any,
        tolerance: Any = 0,
        rel: bool = False,
        evidence: str,
        kind: str | None = None,
        **extra: Any,
    ) -> Claim:
        """Record a claim that holds only after a correction.

        Asserts that ``measured`` disagrees with ``printed`` and agrees with ``expected``.

        Parameters
        ----------
        paper : str, optional
            ``"A"`` or ``"B"``; default the paper of the chapter's part (it must agree).
        ref : str
            The equation, figure or table as printed, e.g. ``"eq. (7)"``, ``"Fig. 3b"``.
        claim : str
            What is claimed, in a few words.
        printed
            The paper's value, as printed.
        expected
            The corrected value the chapter derives.
        measured
            The chapter's computation.
        tolerance : float
            The largest deviation allowed (0 for exact and symbolic claims).
        rel : bool
            Whether ``tolerance`` is relative to ``expected``.
        evidence : str
            Plain text, required: what was wrong and how the chapter shows it.
        kind : str, optional
            One of :data:`KINDS`; default ``"exact"`` when the values are symbolic
            (sympy), else ``"measured"``.
        **extra
            Further JSON-serialisable values stored with the record (the deviation
            from the printed value is added as ``deviation_from_printed``).

        Returns
        -------
        Claim
            The record, with status ``"corrected"``.

        Raises
        ------
        ValueError, TypeError
            If ``evidence`` is empty, or as for :meth:`check`.

        Notes
        -----
        If the printed value agrees with the measurement, or the corrected one does not,
        the record is kept with its ``failure`` set and :meth:`close` raises.
        """
        _check_evidence(evidence, "say what the correction is and how it is shown")
        ok_printed, dev_printed = _agree(printed, measured, tolerance, rel)
        ok, dev = _agree(expected, measured, tolerance, rel)
        rec = self._record(paper, ref, claim, expected, measured, tolerance, "corrected",
                           dev, printed, evidence, rel,
                           {**extra, "deviation_from_printed": _jsonable(dev_printed)}, kind)
        failure = None
        if ok_printed:
            failure = (f"declared a correction, but the printed value {rec.printed} agrees with the "
                       f"measurement {rec.measured} (deviation {_jsonable(dev_printed)} <= tolerance "
                       f"{rec.tolerance}); record it with check()")
        elif not ok:
            failure = (f"the corrected value {rec.expected} does not agree with the measurement "
                       f"{rec.measured} (deviation {rec.deviation} > tolerance {rec.tolerance})")
        return self._add(rec, failure)

    def not_reproduced(
        self,
        *,
        paper: str | None = None,
        ref: str,
        claim: str,
        expected: Any,
        measured: Any,
        tolerance: Any = 0,
        rel: bool = False,
        evidence: str,
        kind: str | None = None,
        **extra: Any,
    ) -> Claim:
        """Record a claim that does not hold; asserts that it indeed does not.

        Parameters
        ----------
        paper : str, optional
            ``"A"`` or ``"B"``; default the paper of the chapter's part (it must agree).
        ref : str
            The equation, figure or table as printed, e.g. ``"eq. (7)"``, ``"Fig. 3b"``.
        claim : str
            What is claimed, in a few words.
        expected
            The paper's value (stored as ``printed`` too).
        measured
            The chapter's computation.
        tolerance : float
            The largest deviation allowed (0 for exact and symbolic claims).
        rel : bool
            Whether ``tolerance`` is relative to ``expected``.
        evidence : str
            Plain text, required: why the claim does not hold.
        kind : str, optional
            One of :data:`KINDS`; default ``"exact"`` when the values are symbolic
            (sympy), else ``"measured"``.
        **extra
            Further JSON-serialisable values stored with the record.

        Returns
        -------
        Claim
            The record, with status ``"not reproduced"``.

        Raises
        ------
        ValueError, TypeError
            If ``evidence`` is empty, or as for :meth:`check`.

        Notes
        -----
        If ``measured`` agrees with ``expected`` within ``tolerance`` the record is kept
        with its ``failure`` set and :meth:`close` raises.
        """
        _check_evidence(evidence, "say why the claim does not hold")
        ok, dev = _agree(expected, measured, tolerance, rel)
        rec = self._record(paper, ref, claim, expected, measured, tolerance, "not reproduced",
                           dev, expected, evidence, rel, extra, kind)
        failure = None if not ok else (
            f"recorded as not reproduced, but the measurement {rec.measured} agrees with "
            f"{rec.expected} (deviation {rec.deviation} <= tolerance {rec.tolerance})")
        return self._add(rec, failure)

    def assess(self, *, declared: str, **kwargs: Any) -> Claim:
        """Record a claim with the status the chapter *declares* for it, and assert it.

        For chapters that check many similar claims in a loop (one per figure panel,
        per exponent, ...): the chapter states, in its source, the status each claim has
        at its default parameters (``declared`` is ``"reproduced"`` or ``"not
        reproduced"``), and this calls :meth:`check` or :meth:`not_reproduced`, both of
        which mark the record failed when the evidence disagrees (:meth:`close` raises).  Choosing the status
        from the outcome instead (``check if ok else not_reproduced``) would make a test
        that cannot fail.

        Parameters
        ----------
        declared : str
            ``"reproduced"`` or ``"not reproduced"``.
        **kwargs
            The keyword arguments of :meth:`check` or :meth:`not_reproduced`.

        Returns
        -------
        Claim
            The record.

        Raises
        ------
        ValueError
            If ``declared`` is neither status (or as for :meth:`check`).

        Notes
        -----
        If the evidence does not support the declared status the record is kept with its
        ``failure`` set and :meth:`close` raises.
        """
        if declared == "reproduced":
            return self.check(**kwargs)
        if declared == "not reproduced":
            return self.not_reproduced(**kwargs)
        raise ValueError(f"declared must be 'reproduced' or 'not reproduced', got {declared!r}")

    # -- bookkeeping ------------------------------------------------------------
    def _record(self, paper, ref, claim, expected, measured, tolerance, status, dev,
                printed, evidence, rel, extra, kind=None) -> Claim:
        if paper is None:
            paper = self.paper
        elif self.paper is not None and paper != self.paper:
            raise ValueError(f"paper {paper!r} disagrees with the chapter's part ({self.chapter}: "
                             f"paper {self.paper!r}); leave paper out")
        if paper not in PAPERS:
            raise ValueError(f"paper must be 'A' or 'B', got {paper!r}")
        for name, val in (("ref", ref), ("claim", claim)):
            if not isinstance(val, str) or not val.strip():
                raise ValueError(f"{name} must be a non-empty string")
        if not isinstance(evidence, str):
            raise TypeError("evidence must be a string")
        if evidence and not evidence.strip():
            raise ValueError("evidence must be text, not only whitespace")
        if kind is None:
            kind = "exact" if (_is_symbolic(expected) or _is_symbolic(measured)) else "measured"
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
        return Claim(
            paper=paper, ref=ref, claim=claim, expected=_jsonable(expected),
            measured=_jsonable(measured), tolerance=_jsonable(tolerance), status=status, kind=kind,
            chapter=self.chapter, deviation=_jsonable(dev), printed=_jsonable(printed),
            evidence=evidence, rel=bool(rel), extra=_jsonable(extra), scope=self.scope,
        )

    def _add(self, rec: Claim, failure: str | None = None) -> Claim:
        for old in self.records:
            if (old.ref, old.claim) == (rec.ref, rec.claim) and old.status != rec.status:
                raise ValueError(f"[{rec.paper} {rec.ref}] {rec.claim!r} is already recorded as "
                                 f"{old.status!r}; a second record as {rec.status!r} contradicts it")
        if failure is not None:
            rec = replace(rec, failure=f"[{rec.paper} {rec.ref}] {rec.claim}: {failure}")
        self.records.append(rec)
        self._write()
        return rec

    def _write(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        payload = {"chapter": self.chapter, "claims": [asdict(r) for r in self.records]}
        run_id = os.environ.get("BBD_RUN_ID")
        if run_id:
            payload["run_id"] = run_id
        # A temporary file of this process's own, so that two writers never share one.
        fd, tmp = tempfile.mkstemp(prefix=self.path.name + ".", suffix=".tmp", dir=self.path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(json.dumps(payload, indent=1, ensure_ascii=False))
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def failures(self) -> list[Claim]:
        """The records whose evidence no longer supports their status (claims that flipped).

        Returns
        -------
        list of Claim
            In the order they were recorded; empty if every claim held.
        """
        return [r for r in self.records if r.failure is not None]

    def close(self):
        """The chapter's last ledger cell: the table of records, or :class:`ClaimFailed`.

        Returns
        -------
        IPython.display.Markdown
            :meth:`table`, if every claim held.

        Raises
        ------
        ClaimFailed
            If any claim flipped: the table is displayed first, and the message lists every
            failed record with its numbers, so the chapter fails (nbval, ``make book``,
            ``python -m bbdlib run``) after running to its end.
        """
        failed = self.failures()
        if not failed:
            return self.table()
        try:
            from IPython.display import display

            display(self.table())
        except ImportError:  # pragma: no cover - IPython is a dependency of the book
            pass
        lines = "\n".join(f"  - {r.failure} (declared {r.status!r})" for r in failed)
        raise ClaimFailed(f"{len(failed)} of {len(self.records)} claims of {self.chapter} no longer hold "
                          f"their declared status:\n{lines}")

    def summary(self) -> dict[str, int]:
        """Counts by status, e.g. for a closing sentence of a chapter.

        Returns
        -------
        dict
            ``{status: count}`` over :data:`STATUSES` (see :func:`status_counts`).
        """
        return status_counts(self.records)

    def table(self):
        """The chapter's records as a Markdown table, for the chapter's last cell.

        Values are shown as on the scorecard (:func:`bbdlib.book.sphinx.claims.format_value`):
        numbers, formulas in Unicode, an array as its size and largest deviation; Markdown
        characters in them are escaped, so the table renders as written (the book renders
        ``text/markdown`` outputs as MyST, ``nb_render_markdown_format`` in ``_config.yml``).

        Returns
        -------
        IPython.display.Markdown
            One row per record: ref, status (and kind), claim, printed, measured, tolerance.
        """
        import re

        from IPython.display import Markdown

        from bbdlib.book.sphinx.claims import format_value, measured_text, printed_text, unicode_math

        def esc(text: str) -> str:
            return re.sub(r"([\\`*_{}\[\]<>|$#~^])", r"\\\1", text)

        rows = ["| ref | status | claim | printed | measured | tolerance |",
                "|---|---|---|---|---|---|"]
        for r in self.records:
            tol = format_value(r.tolerance) + (" (rel.)" if r.rel and r.tolerance else "")
            rows.append(f"| {esc(unicode_math(r.ref))} | {esc(r.status)} ({r.kind}) | {esc(unicode_math(r.claim))} | "
                        f"{esc(printed_text(r))} | {esc(measured_text(r))} | {esc(tol)} |")
        return Markdown("\n".join(rows))
