"""The toy model and the criticality conditions of [B], sections 5 and 6, derived with sympy.

[B] Kukleva, Vanchurin, "Dataset-learning duality and emergent criticality".

Every function below *derives* one step of the paper from the previous ones (it does not
restate the printed result) and returns the derived expression next to the printed one,
so that a chapter can compare the two with :meth:`bbdlib.book.claims.Ledger.check_symbolic`.
The module is sympy only; the numerical checks of the same steps live in
:mod:`bbdlib.duality.boxed_compositions` (the boxed compositions on samples) and in the
toy model's jump map :mod:`bbdlib.duality.jumps`.

Notation (as in [B]): the toy network has one input ``x1`` (= x¹), one output, a weight
``w`` and a bias ``b``; the pre-activation is ``y = w x1 + b``; the trainable vector is
``q = (w, b)`` and the rotated variables are ``q' = Λ q`` with ``Λ`` of eq. (5.2); the
fluctuating direction is ``q'_1`` (projection ``R = (1 0)``, eq. (5.3)).  A loss composed
with the activation is one function ``H(y)`` of the pre-activation (``H(f(y))`` of [B]).
``sigma`` stands for ``sign(q̇')``.

The derivations return dicts of sympy expressions keyed by what they are, with the
equation number as an ``_eqNNN`` suffix (``"dH_eq67"`` is dH/dy of eq. (6.7)): they are
collections of formulas of different kinds that a chapter picks from, not records.

* :func:`local_exponent` — the exponent of the Jacobian factor of eq. (6.1) at a point,
  ``k_loc(y) = q̇'(y) q̇''(y) / q̇'(y)^2`` (with ' = d/dy), which is exactly ``k`` for
  ``|dy/dq̇'| ∝ |q̇'|^(-k)`` (eq. (6.2)); derived in :func:`local_exponent_identity`;
* :func:`boxed_qdot` — q̇'(y) = −(Dy − C) dH/dy (eq. (6.4), corrected) for the
  three boxed compositions (6.11), (6.15)/(6.18), (6.21), with its derivative and local
  exponent, for numbers D, C, A, n, Δ.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field

import sympy as sp

from bbdlib.validate import check_choice, check_real

__all__ = [
    "SYM",
    "rotation",
    "toy_model",
    "gd_coefficients",
    "power_law_jacobian",
    "local_exponent",
    "local_exponent_identity",
    "case_k1",
    "case_power",
    "case_k2",
    "Section6",
    "derive_section6",
    "BOXED_KINDS",
    "boxed_composition",
    "boxed_qdot",
]


@dataclass(frozen=True)
class _Symbols:
    x1: sp.Symbol
    w: sp.Symbol
    b: sp.Symbol
    theta: sp.Symbol
    gamma: sp.Symbol
    y: sp.Symbol
    q1p: sp.Symbol
    q2p: sp.Symbol
    A: sp.Symbol
    B: sp.Symbol
    C: sp.Symbol
    D: sp.Symbol
    k: sp.Symbol
    alpha: sp.Symbol
    z: sp.Symbol
    sigma: sp.Symbol
    H: sp.Function


SYM = _Symbols(
    x1=sp.Symbol("x1", real=True),
    w=sp.Symbol("w", real=True, nonzero=True),
    b=sp.Symbol("b", real=True),
    theta=sp.Symbol("theta", real=True),
    gamma=sp.Symbol("gamma", positive=True),
    y=sp.Symbol("y", real=True),
    q1p=sp.Symbol("q1p", real=True),
    q2p=sp.Symbol("q2p", real=True),
    A=sp.Symbol("A", real=True, nonzero=True),
    B=sp.Symbol("B", real=True),
    C=sp.Symbol("C", real=True),
    D=sp.Symbol("D", real=True, nonzero=True),
    k=sp.Symbol("k", nonnegative=True),
    alpha=sp.Symbol("alpha", real=True),
    z=sp.Symbol("z", real=True),
    sigma=sp.Symbol("sigma", real=True, nonzero=True),
    H=sp.Function("H"),
)
"""The sympy symbols shared by the derivations (``sigma`` is sign(q̇'), ``H`` is H(f(y)))."""


def rotation(theta: sp.Expr) -> sp.Matrix:
    """Rotation Λ± of eq. (5.2) of [B]: ``[[cos θ, sin θ], [-sin θ, cos θ]]``."""
    return sp.Matrix([[sp.cos(theta), sp.sin(theta)], [-sp.sin(theta), sp.cos(theta)]])


def toy_model() -> dict[str, sp.Expr]:
    """Section 5 of [B] derived from the network, not from the printed formulas.

    Starting point: ``q = (w, b)``, ``y = w x¹ + b``, loss ``H(y)`` (eqs. (5.4), H depends
    on q only through f(y)), gradient descent ``q̇ = -γ ∇_q H`` (eq. (2.3), M = 1),
    ``q' = Λ q`` (eq. (3.9) with (5.2)), ``q̇' = R Λ q̇`` (eq. (3.10) with (5.3)).

    Returns
    -------
    dict with keys

    ``Lambda``, ``R``
        eqs. (5.2), (5.3).
    ``orthogonality``
        ``Λ Λᵀ - I`` (zero: the metric g of eq. (4.1) stays δ).
    ``axis``
        the unit vector in the (w, b) plane along which q'_1 is measured, ``Λᵀ (1, 0)``.
    ``y_exact``, ``y_printed``
        the pre-activation in terms of (q'_1, q'_2) (from ``q = Λᵀ q'``) and eq. (5.6).
    ``qdot_gd``
        ``R Λ (-γ ∇_q H)`` evaluated with the chain rule by sympy.
    ``qdot_eq55``
        eq. (5.5), ``-γ ∂f/∂q'_1 ∂H/∂f`` with f∘… lumped into H(y): ``-γ ∂y/∂q'_1 H'(y)``.
    ``qdot_eq57``
        eq. (5.7) as printed, ``-γ (x¹ cos θ + sin θ) H'(y)``.
    ``jac_exact``, ``jac_printed``
        ``d q̇'/d x¹`` of the map (5.7) (y depends on x¹) and eq. (5.8) as printed.
    """
    s = SYM
    L = rotation(s.theta)
    R = sp.Matrix([[1, 0]])
    qp = sp.Matrix([s.q1p, s.q2p])
    w_of, b_of = list(L.T * qp)            # q = Λ^{-1} q' = Λᵀ q'
    y_exact = sp.expand(w_of * s.x1 + b_of)
    y_printed = (s.x1 * sp.cos(s.theta) + sp.sin(s.theta)) * s.q1p
    # gradient descent in the original coordinates, then rotated and projected
    Hq = s.H(s.w * s.x1 + s.b)
    grad = sp.Matrix([sp.diff(Hq, s.w), sp.diff(Hq, s.b)])
    qdot = -s.gamma * grad
    qdot_gd = (R * L * qdot)[0]
    # chain rule through the rotated variable (eq. (5.5))
    Hqp = s.H(y_exact)
    qdot_55 = -s.gamma * sp.diff(Hqp, s.q1p)
    # evaluate both at the same point (w, b) <-> (q'_1, q'_2)
    to_q = {s.q1p: (L * sp.Matrix([s.w, s.b]))[0], s.q2p: (L * sp.Matrix([s.w, s.b]))[1]}
    Hp = sp.Derivative(s.H(s.y), s.y)
    Hpp = sp.Derivative(s.H(s.y), (s.y, 2))
    yy = s.w * s.x1 + s.b
    qdot_57 = -s.gamma * (s.x1 * sp.cos(s.theta) + sp.sin(s.theta)) * Hp.subs(s.y, yy)
    jac_exact = sp.diff(qdot_57, s.x1)
    jac_printed = -s.gamma * sp.cos(s.theta) * Hp.subs(s.y, yy)
    return {
        "Lambda": L,
        "R": R,
        "orthogonality": sp.simplify(L * L.T - sp.eye(2)),
        "axis": sp.simplify(L.T * sp.Matrix([1, 0])),
        "w_of_qprime": w_of,
        "b_of_qprime": b_of,
        "y_exact": y_exact,
        "y_printed": y_printed,
        "qdot_gd": sp.simplify(qdot_gd.doit()),
        "qdot_eq55": sp.simplify(qdot_55.subs(to_q).doit()),
        "qdot_eq57": qdot_57.doit(),
        "jac_exact": jac_exact.doit(),
        "jac_printed": jac_printed.doit(),
        "Hp": Hp,
        "Hpp": Hpp,
    }


def gd_coefficients() -> dict[str, sp.Expr]:
    """Eqs. (6.4)–(6.6) of [B] derived from eq. (5.7) with ``x¹ = (y - b)/w``.

    Returns ``factor`` = γ(x¹ cos θ + sin θ) written as a polynomial in y, its derived
    coefficients ``D``, ``C`` (factor = D y - C), the printed ``D_printed``, ``C_printed`` of
    eq. (6.5), and ``factor_in_x1`` (the same factor in terms of x¹, whose sign decides
    eq. (6.6)).
    """
    s = SYM
    x1_of_y = (s.y - s.b) / s.w
    factor = sp.expand(s.gamma * (x1_of_y * sp.cos(s.theta) + sp.sin(s.theta)))
    poly = sp.Poly(factor, s.y)
    D = sp.simplify(poly.coeff_monomial(s.y))
    C = sp.simplify(-poly.coeff_monomial(1))
    D_pr = s.gamma * sp.cos(s.theta) / s.w
    C_pr = s.gamma * sp.cos(s.theta) / s.w * (s.b - s.w * sp.tan(s.theta))
    return {
        "factor": factor,
        "D": D,
        "C": C,
        "D_printed": D_pr,
        "C_printed": C_pr,
        "factor_in_x1": s.gamma * (s.x1 * sp.cos(s.theta) + sp.sin(s.theta)),
        "factor_of_y_at_x1": (D_pr * (s.w * s.x1 + s.b) - C_pr),
    }


def power_law_jacobian() -> dict[str, sp.Expr]:
    """Eq. (6.3) of [B] from eq. (6.2): the ODE dq̇'/dy = a |q̇'|^k solved by sympy.

    On a branch of fixed sign (q̇' > 0 is enough by the symmetry q̇' → -q̇', y → -y)
    eq. (6.2) reads dq̇'/dy = ±a q̇'^k with a = A of (6.2) > 0.  Returns the general
    solutions ``sol_k1`` (k = 1) and ``sol_k`` (k ≠ 1) found by ``sympy.dsolve``, and the
    Jacobians of the printed forms, ``jac_k1_printed`` = |dy/dq̇'| |q̇'| for
    q̇' = exp(Ay + B) and ``jac_k_printed`` = |dy/dq̇'| |q̇'|^k for q̇' = (Ay+B)^{1/(1-k)}
    (each must be a constant, which identifies the printed "new A" with the A of (6.2)).
    """
    s = SYM
    a = sp.Symbol("a", positive=True)
    f = sp.Function("qdot")
    k = s.k
    sol_k1 = sp.dsolve(sp.Eq(f(s.y).diff(s.y), a * f(s.y)), f(s.y)).rhs
    kk = sp.Symbol("kappa", nonnegative=True)
    sols = sp.dsolve(sp.Eq(f(s.y).diff(s.y), a * f(s.y) ** kk), f(s.y))
    sols = sols if isinstance(sols, list) else [sols]
    sol_k = None
    for eq in sols:
        rhs = eq.rhs
        if isinstance(rhs, sp.Piecewise):
            for expr, cond in rhs.args:
                if cond == sp.Ne(kk, 1):
                    sol_k = expr
    Ap, Bp = sp.symbols("A B", positive=True)
    q1 = sp.exp(Ap * s.y + s.B)
    jac_k1 = sp.simplify(1 / sp.diff(q1, s.y) * q1)
    qk = (Ap * s.y + Bp) ** (1 / (1 - k))
    jac_k = sp.simplify(1 / sp.diff(qk, s.y) * qk ** k)
    return {"sol_k1": sol_k1, "sol_k": sol_k, "kappa": kk, "a": a,
            "jac_k1_printed": jac_k1, "jac_k_printed": jac_k, "A": Ap, "B": Bp}


def local_exponent(qdot: sp.Expr, y: sp.Symbol | None = None) -> sp.Expr:
    """Local exponent of the Jacobian factor of eq. (6.1): ``k_loc = q q_yy / q_y²``.

    If |dy/dq̇'| = 1/(A |q̇'|^k) (eq. (6.2)) on an interval, ``k_loc = k`` there; see
    :func:`local_exponent_identity`.
    """
    y = SYM.y if y is None else y
    q1 = sp.diff(qdot, y)
    return sp.simplify(qdot * sp.diff(qdot, y, 2) / q1**2)


def local_exponent_identity() -> sp.Expr:
    """``-d log|dy/dq̇'| / d log|q̇'| - q q_yy/q_y²`` for a generic q̇'(y) (simplifies to 0)."""
    s = SYM
    q = sp.Function("q")(s.y)
    jac = 1 / sp.diff(q, s.y)                    # dy/dq̇' (sign irrelevant for the log-derivative)
    # d/d log q = q / q_y d/dy
    lhs = -(q / sp.diff(q, s.y)) * sp.diff(sp.log(jac**2) / 2, s.y)
    return sp.simplify(lhs - q * sp.diff(q, s.y, 2) / sp.diff(q, s.y) ** 2)


def case_k1() -> dict[str, sp.Expr]:
    """The k = 1 case, eqs. (6.7)–(6.11) of [B], derived step by step.

    Keys: ``dH_eq67`` (from (6.3) and (6.4): -σ e^{Ay+B}/(Dy-C)); ``dH_eq68`` (the integrand
    of (6.8) times dz/dy, back in y: must equal dH_67); ``H_eq610_from_ei`` (the leading term
    e^z/z of ∫ e^z/z dz put into (6.9)); ``H_eq610_printed``; ``H_eq611_limit`` (H_610 with
    D → 0 at fixed C, i.e. |Dy| ≪ |C|, and B = log|AC|); ``qdot_eq611`` (q̇' produced by
    H = e^{Ay} through the corrected (6.4)); ``k_eq611`` (its exact local exponent) and
    ``z_of_y`` = Ay - AC/D.
    """
    s = SYM
    A, B, C, D, y, z, sig = s.A, s.B, s.C, s.D, s.y, s.z, s.sigma
    hp = sp.Symbol("hp")                            # H'(y)
    qdot = sig * sp.exp(A * y + B)                  # (6.3), k = 1
    dH_67 = sp.solve(sp.Eq(qdot, -(D * y - C) * hp), hp)[0]   # with (6.4): q̇' = -(Dy - C) H'(y)
    z_of_y = A * y - A * C / D
    pref = -sig / D * sp.exp(A * C / D + B)
    integrand_z = pref * sp.exp(z) / z              # (6.8)
    dH_68 = integrand_z.subs(z, z_of_y) * sp.diff(z_of_y, y)
    H_610 = (pref * sp.exp(z) / z).subs(z, z_of_y)  # Ei(z) ≈ e^z / z
    H_610_pr = -sig * sp.exp(A * y + B) / (A * (D * y - C))
    # limit |Dy| << |C|: D -> 0 with C fixed in H_610 (the exponent has no D)
    H_lim = sp.limit(H_610_pr, D, 0)
    H_611 = sp.simplify(H_lim.subs(B, sp.log(sp.Abs(A * C))))
    He = sp.exp(A * y)
    qdot_611 = -(D * y - C) * sp.diff(He, y)
    return {"dH_eq67": dH_67, "dH_eq68": sp.simplify(dH_68), "H_eq610_from_ei": sp.simplify(H_610),
            "H_eq610_printed": H_610_pr, "H_eq611_limit": H_611, "qdot_eq611": qdot_611,
            "k_eq611": local_exponent(qdot_611), "z_of_y": z_of_y}


def case_power() -> dict[str, sp.Expr]:
    """The case k ∈ [0, 1), eqs. (6.12)–(6.18) of [B], derived step by step.

    Keys: ``dH_eq612`` (first line of the unnumbered (6.12)) and ``dH_eq612_second`` (its
    printed second line); ``dH_eq613`` (the limit |Ay+B| ≫ |B + AC/D|, taken as the leading
    term of dH_612 for Ay + B → ∞); ``H_eq614`` (integral of dH_613, constant dropped) and
    ``H_eq614_printed``; ``dH_eq616`` (the opposite limit, Ay + B → 0) and ``dH_eq616_printed``;
    ``H_eq617`` / ``H_eq617_printed``; ``qdot_eq615`` / ``qdot_eq618`` (q̇' produced by the boxed
    H = (y+Δ)^α and (y+Δ)^(α+1) through the corrected (6.4), with u = y + Δ) and their
    exact local exponents ``k_eq615`` / ``k_eq618``.
    """
    s = SYM
    B, C, D, y, sig = s.B, s.C, s.D, s.y, s.sigma
    al = sp.Symbol("alpha", positive=True)
    Ap = sp.Symbol("A", positive=True)
    hp = sp.Symbol("hp")
    qdot = sig * (Ap * y + B) ** al                 # (6.3), alpha = 1/(1-k)
    dH_612 = sp.solve(sp.Eq(qdot, -(D * y - C) * hp), hp)[0]
    dH_612_second = -sig * Ap / D * (Ap * y + B) ** al / ((Ap * y + B) - (B + Ap * C / D))
    # limits in the variable v = Ay + B: v -> oo (|v| >> |B + AC/D|) and v -> 0
    v = sp.Symbol("v", positive=True)
    dH_v = dH_612.subs(y, (v - B) / Ap)
    lead_large = sp.limit(dH_v / v ** (al - 1), v, sp.oo) * v ** (al - 1)
    lead_small = sp.limit(dH_v / v**al, v, 0) * v**al
    dH_613 = lead_large.subs(v, Ap * y + B)
    dH_616 = lead_small.subs(v, Ap * y + B)
    H_614 = sp.integrate(dH_613, y)
    H_614_pr = -sig * Ap**al / (al * D) * (y + B / Ap) ** al
    dH_616_pr = sig * Ap / D * (Ap * y + B) ** al / (B + Ap * C / D)
    H_617 = sp.integrate(dH_616, y)
    H_617_pr = sig * Ap ** (al + 1) * (y + B / Ap) ** (al + 1) / ((al + 1) * (Ap * C + B * D))
    u = sp.Symbol("u", positive=True)
    Delta = sp.Symbol("Delta", real=True)
    # y = u - Delta
    qdot_615 = (-(D * y - C) * sp.diff((y + Delta) ** al, y)).subs(y, u - Delta)
    qdot_618 = (-(D * y - C) * sp.diff((y + Delta) ** (al + 1), y)).subs(y, u - Delta)
    return {"dH_eq612": dH_612, "dH_eq612_second": dH_612_second, "dH_eq613": sp.simplify(dH_613),
            "dH_eq613_printed": -sig * Ap / D * (Ap * y + B) ** (al - 1),
            "H_eq614": sp.simplify(H_614), "H_eq614_printed": H_614_pr,
            "dH_eq616": sp.simplify(dH_616), "dH_eq616_printed": dH_616_pr,
            "H_eq617": sp.simplify(H_617), "H_eq617_printed": H_617_pr,
            "qdot_eq615": qdot_615, "qdot_eq618": qdot_618,
            "k_eq615": local_exponent(qdot_615, u), "k_eq618": local_exponent(qdot_618, u),
            "alpha": al, "A_pos": Ap, "u": u, "Delta": Delta}


def case_k2() -> dict[str, sp.Expr]:
    """The case k = 2, eqs. (6.19)–(6.21) of [B], derived step by step.

    Keys: ``dH_eq619`` (from (6.3) with 1/(1-k) = -1 and (6.4)); ``dH_619_expanded``
    (printed right-hand side); ``H_eq620`` (integral of the limit ADy² → 0) and
    ``H_eq620_printed``; ``H_eq621_cases``: dict mapping (σ, AC - BD) ∈ {±1}² to the H of
    (6.20) with that sign choice and Δ := σ BC written as ``-log|Δ - y|`` minus H (zero
    when (6.21) holds); ``qdot_eq621`` and its local exponent ``k_eq621`` (with the exact (6.4)).
    """
    s = SYM
    A, B, C, D, y, sig = s.A, s.B, s.C, s.D, s.y, s.sigma
    hp = sp.Symbol("hp")
    qdot = sig * (A * y + B) ** (-1)
    dH_619 = sp.simplify(sp.solve(sp.Eq(qdot, -(D * y - C) * hp), hp)[0])
    dH_619_pr = sig / (-A * D * y**2 + (A * C - B * D) * y + B * C)
    eps = sp.Symbol("epsilon", positive=True)
    # |ADy| << |AC - BD|: scale the quadratic term by eps and let eps -> 0
    den = sp.expand((A * y + B) * (C - D * y))
    den_eps = den + (1 - eps) * A * D * y**2      # the y² term is -ε A D y²
    dH_lim = sp.limit(sig / den_eps, eps, 0)
    H_620 = sp.integrate(dH_lim, y)
    E = sp.Symbol("E", real=True, nonzero=True)   # E := AC - BD
    H_620_pr = sig * sp.log(sp.Abs((A * C - B * D) * y + B * C)) / (A * C - B * D)
    Delta = sp.Symbol("Delta", real=True)
    cases = {}
    for sg in (1, -1):
        for e in (1, -1):
            Hc = (sg * sp.log(sp.Abs(E * y + B * C)) / E).subs(E, e)
            target = -sp.log(sp.Abs(Delta - y))
            # Δ = σ B C is the only shift that can work; test whether the sign works too
            cases[(sg, e)] = sp.simplify(sp.expand_log(target.subs(Delta, sg * B * C) - Hc, force=True))
    H621 = -sp.log(sp.Abs(Delta - y))
    qdot_621 = sp.simplify(-(D * y - C) * sp.diff(H621, y))
    return {"dH_eq619": dH_619, "dH_eq619_printed": dH_619_pr, "dH_eq620_limit": dH_lim,
            "H_eq620": H_620, "H_eq620_printed": H_620_pr, "H_eq621_cases": cases,
            "qdot_eq621": qdot_621, "k_eq621": local_exponent(qdot_621), "Delta": Delta}


@dataclass(frozen=True)
class Section6:
    """All derivations of section 6 of [B] (see :func:`derive_section6`).

    Attributes
    ----------
    case_k1, case_power, case_k2, power_law_jacobian, gd_coefficients : dict
        The results of the functions of the same names.
    local_exponent_identity : sympy.Expr
        The residual of :func:`local_exponent_identity` (zero).
    seconds : dict
        Wall time of each derivation, keyed by a description of the step.
    """

    case_k1: dict
    case_power: dict
    case_k2: dict
    power_law_jacobian: dict
    gd_coefficients: dict
    local_exponent_identity: sp.Expr
    seconds: dict = field(default_factory=dict)


def derive_section6() -> Section6:
    """Run every derivation of section 6 of [B] once and time each.

    Returns
    -------
    Section6
    """
    steps = (
        ("case_k1", "case k=1, (6.7)-(6.11)", case_k1),
        ("case_power", "case k in [0,1), (6.12)-(6.18)", case_power),
        ("case_k2", "case k=2, (6.19)-(6.21)", case_k2),
        ("power_law_jacobian", "(6.2) -> (6.3) by dsolve", power_law_jacobian),
        ("gd_coefficients", "(6.4)-(6.6) from (5.7)", gd_coefficients),
        ("local_exponent_identity", "local-exponent identity", local_exponent_identity),
    )
    results, seconds = {}, {}
    for key, description, fn in steps:
        t0 = time.perf_counter()
        results[key] = fn()
        seconds[description] = time.perf_counter() - t0
    return Section6(seconds=seconds, **results)


#: The boxed compositions of section 6: exp(Ay) (6.11), (y+Δ)^n (6.15)/(6.18), −log|Δ−y| (6.21)
BOXED_KINDS = ("exp", "power", "log")


def boxed_composition(kind: str, y: sp.Symbol, *, A: float = 1.0, n: float = 2.0,
                      Delta: float = 0.0) -> sp.Expr:
    """The boxed composition H(y) of kind ``kind`` (``BOXED_KINDS``).

    Parameters
    ----------
    kind : {"exp", "power", "log"}
        ``"exp"``: H = exp(A y) (eq. (6.11)); ``"power"``: H = (y + Δ)^n (eq. (6.15) with
        n = α, eq. (6.18) with n = α + 1); ``"log"``: H = −log(Δ − y) (eq. (6.21), the
        branch y < Δ; the other is its mirror).
    y : sympy.Symbol
    A, n, Delta : float
        Parameters of the composition.

    Returns
    -------
    sympy.Expr
    """
    check_choice("kind", kind, BOXED_KINDS)
    if kind == "exp":
        return sp.exp(A * y)
    if kind == "power":
        return (y + Delta) ** n
    return -sp.log(Delta - y)


def boxed_qdot(kind: str, *, D: float, C: float, A: float = 1.0, n: float = 2.0,
               Delta: float = 0.0) -> tuple[sp.Symbol, sp.Expr, sp.Expr, sp.Expr]:
    """q̇'(y) = −(Dy − C) dH/dy (eq. (6.4), corrected) for a boxed composition of [B].

    Parameters
    ----------
    kind : {"exp", "power", "log"}
        See :func:`boxed_composition`.
    D, C : float
        The coefficients of eq. (6.5).
    A, n, Delta : float
        Parameters of the composition (``n`` > 0).

    Returns
    -------
    (y, qdot, dqdot_dy, k_loc)
        The symbol y and, as expressions in it, q̇'(y), dq̇'/dy and the local exponent
        q̇' q̇''/q̇'_y² of the Jacobian (:func:`local_exponent`, not simplified).
    """
    check_choice("kind", kind, BOXED_KINDS)
    D = check_real("D", D)
    C = check_real("C", C)
    A = check_real("A", A)
    n = check_real("n", n, low=0, low_inclusive=False)
    Delta = check_real("Delta", Delta)
    y = sp.Symbol("y", real=True)
    H = boxed_composition(kind, y, A=A, n=n, Delta=Delta)
    q = -(D * y - C) * sp.diff(H, y)
    if kind == "log":
        q = sp.simplify(q)
    q1 = sp.diff(q, y)
    k = q * sp.diff(q, y, 2) / q1**2
    return y, q, q1, k
