"""Tests for bbdlib.duality.criticality (sections 5–6 of [B])."""
import pytest
import sympy as sp

from bbdlib.duality import criticality as c

S = c.SYM


def test_rotation_is_orthogonal_and_axis():
    t = c.toy_model()
    assert t["orthogonality"].is_zero_matrix
    assert sp.simplify(t["axis"] - sp.Matrix([sp.cos(S.theta), sp.sin(S.theta)])).is_zero_matrix


def test_chain_rule_57_and_gd_agree():
    t = c.toy_model()
    assert sp.simplify(t["qdot_gd"] - t["qdot_eq57"]) == 0
    assert sp.simplify(t["qdot_eq55"] - t["qdot_eq57"]) == 0


def test_y_exact_reduces_to_56_only_on_axis():
    t = c.toy_model()
    assert sp.simplify(t["y_exact"].subs(S.q2p, 0) - t["y_printed"]) == 0
    assert sp.simplify(t["y_exact"] - t["y_printed"]) != 0


def test_gd_coefficients_match_65():
    g = c.gd_coefficients()
    assert sp.simplify(g["D"] - g["D_printed"]) == 0
    assert sp.simplify(g["C"] - g["C_printed"]) == 0
    assert sp.simplify(g["factor_of_y_at_x1"] - g["factor_in_x1"]) == 0


def test_local_exponent_identity_and_known_cases():
    assert c.local_exponent_identity() == 0
    a = sp.Symbol("a", positive=True)
    assert sp.simplify(c.local_exponent(sp.exp(a * S.y)) - 1) == 0
    assert sp.simplify(c.local_exponent(1 / (1 - S.y)) - 2) == 0
    u = sp.Symbol("u", positive=True)
    assert sp.simplify(c.local_exponent(u**3, u) - sp.Rational(2, 3)) == 0


def test_case_k1_chain():
    r = c.case_k1()
    assert sp.simplify(r["dH_eq68"] - r["dH_eq67"]) == 0
    assert sp.simplify(r["H_eq610_from_ei"] - r["H_eq610_printed"]) == 0
    assert sp.limit(r["k_eq611"], S.D, 0) == 1


def test_case_k2_sign_cases():
    r = c.case_k2()
    cases = r["H_eq621_cases"]
    assert cases[(1, -1)] == 0 and cases[(-1, 1)] == 0
    assert cases[(1, 1)] != 0 and cases[(-1, -1)] != 0


def test_derive_section6_collects_every_derivation():
    d = c.derive_section6()
    assert d.local_exponent_identity == 0
    assert sp.simplify(d.case_k1["dH_eq68"] - d.case_k1["dH_eq67"]) == 0
    assert set(d.seconds) == {"case k=1, (6.7)-(6.11)", "case k in [0,1), (6.12)-(6.18)",
                              "case k=2, (6.19)-(6.21)", "(6.2) -> (6.3) by dsolve",
                              "(6.4)-(6.6) from (5.7)", "local-exponent identity"}
    assert all(v >= 0 for v in d.seconds.values())


def test_boxed_qdot_is_the_corrected_eq64():
    y, q, q1, k = c.boxed_qdot("exp", D=0.5, C=2.0, A=3.0)
    assert sp.simplify(q - (-(0.5 * y - 2.0) * 3.0 * sp.exp(3.0 * y))) == 0
    assert sp.simplify(q1 - sp.diff(q, y)) == 0
    assert sp.simplify(k - q * sp.diff(q, y, 2) / q1**2) == 0
    y, q, _, _ = c.boxed_qdot("log", D=0.0, C=1.0, Delta=1.0)
    assert sp.simplify(q - 1 / (1 - y)) == 0
    assert c.boxed_composition("power", y, n=3.0, Delta=0.5) == (y + 0.5) ** 3.0


@pytest.mark.parametrize("kwargs, exc", [
    (dict(kind="cubic", D=1.0, C=1.0), ValueError),
    (dict(kind="exp", D="x", C=1.0), TypeError),
    (dict(kind="power", D=1.0, C=1.0, n=-1.0), ValueError),
    (dict(kind="exp", D=float("nan"), C=1.0), ValueError),
])
def test_boxed_qdot_rejects_bad_input(kwargs, exc):
    with pytest.raises(exc):
        c.boxed_qdot(**kwargs)


def test_module_is_sympy_only():
    import ast
    import inspect
    tree = ast.parse(inspect.getsource(c))
    imported = {a.name.split(".")[0] for n in ast.walk(tree) if isinstance(n, (ast.Import, ast.ImportFrom))
                for a in (n.names if isinstance(n, ast.Import) else [type("M", (), {"name": n.module or ""})])}
    assert "numpy" not in imported and "scipy" not in imported
