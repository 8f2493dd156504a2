"""Tests for bbdlib.duality.criticality (sections 5–6 of [B])."""
import numpy as np
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
    assert sp.simplify(t["qdot_gd"] - t["qdot_57"]) == 0
    assert sp.simplify(t["qdot_55"] - t["qdot_57"]) == 0


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
    assert sp.simplify(r["dH_68"] - r["dH_67"]) == 0
    assert sp.simplify(r["H_610_from_ei"] - r["H_610_printed"]) == 0
    assert sp.limit(r["k_611"], S.D, 0) == 1


def test_case_k2_sign_cases():
    r = c.case_k2()
    cases = r["H_621_cases"]
    assert cases[(1, -1)] == 0 and cases[(-1, 1)] == 0
    assert cases[(1, 1)] != 0 and cases[(-1, -1)] != 0


def test_local_exponent_numeric_matches_finite_difference():
    q, dq, kl = c.composition_qdot("exp", D=0.3, C=1.0, A=2.0)
    y = np.linspace(-0.5, 0.5, 11)
    h = 1e-5
    num = (q(y + h) - q(y - h)) / (2 * h)
    np.testing.assert_allclose(dq(y), num, rtol=1e-6)
    # k_loc from finite differences of log|dy/dq| against log|q|
    logj = lambda t: -np.log(np.abs(dq(t)))
    dlogj = (logj(y + h) - logj(y - h)) / (np.log(np.abs(q(y + h))) - np.log(np.abs(q(y - h))))
    np.testing.assert_allclose(kl(y), -dlogj, rtol=1e-5)


def test_k_check_recovers_exact_power_law():
    # H = -log(1 - y) with D = 0 gives q̇' = C/(1 - y): k = 2 exactly
    q, dq, kl = c.composition_qdot("log", D=0.0, C=1.0, Delta=1.0)
    r = c.check_k_on_samples(q, dq, kl, mean_y=0.79, std_y=1.0, half_width=0.2,
                             n_samples=200_000, rng=3)
    assert r.monotone
    assert abs(r.k_loc_min - 2) < 1e-12 and abs(r.k_loc_max - 2) < 1e-12
    assert abs(r.k_fit - 2) < 0.05


def test_toy_jacobians_against_finite_differences():
    x = np.linspace(-0.5, 0.5, 21)
    kw = dict(w=5.0, b=-2.5, theta=0.7, gamma=0.1, target=0.0)
    t = c.toy_qdot_prime(x, **kw)
    h = 1e-6
    num = (c.toy_qdot_prime(x + h, **kw)["qdot"] - c.toy_qdot_prime(x - h, **kw)["qdot"]) / (2 * h)
    np.testing.assert_allclose(t["jac_exact"], num, rtol=1e-6, atol=1e-12)


def test_toy_densities_sum_to_one():
    edges = np.linspace(-1, 1, 101)
    d = c.toy_densities(edges, w=5.0, b=-2.5, theta=0.7, gamma=0.1, target=0.0,
                        mean_x1=0.0, std_x1=0.25, n_grid=20001)
    assert abs(d["p_exact"].sum() - 1) < 1e-6


@pytest.mark.parametrize("kwargs, exc", [
    (dict(kind="cubic", D=1.0, C=1.0), ValueError),
    (dict(kind="exp", D="x", C=1.0), TypeError),
    (dict(kind="power", D=1.0, C=1.0, n=-1.0), ValueError),
    (dict(kind="exp", D=float("nan"), C=1.0), ValueError),
])
def test_composition_qdot_rejects_bad_input(kwargs, exc):
    with pytest.raises(exc):
        c.composition_qdot(**kwargs)


def test_sample_and_toy_reject_bad_input():
    q, dq, kl = c.composition_qdot("exp", D=0.1, C=1.0)
    with pytest.raises(ValueError, match="std_y"):
        c.sample_qdot_prime(q, mean_y=0.0, std_y=0.0, n_samples=10, rng=0)
    with pytest.raises(TypeError, match="n_samples"):
        c.sample_qdot_prime(q, mean_y=0.0, std_y=1.0, n_samples=10.0, rng=0)
    with pytest.raises(TypeError, match="qdot"):
        c.sample_qdot_prime(3, mean_y=0.0, std_y=1.0, n_samples=10, rng=0)
    with pytest.raises(ValueError, match="w"):
        c.toy_qdot_prime(np.zeros(3), w=0.0, b=0.0, theta=0.0, gamma=1.0, target=0.0)
    with pytest.raises(ValueError, match="edges"):
        c.toy_densities(np.array([1.0, 0.0]), w=1.0, b=0.0, theta=0.0, gamma=1.0, target=0.0,
                        mean_x1=0.0, std_x1=1.0)
