"""Exact off-shell proofs of (17), (19), (20), (25), (30) of [A] (bbdlib.bulk_boundary.symbolic.continuity)."""
import pytest
import sympy as sp

from bbdlib.bulk_boundary.symbolic import continuity as C

REFS = ("eq. (17)", "eq. (19)", "eq. (20)", "eq. (25)", "eq. (30)")


@pytest.fixture(scope="module")
def small():
    return C.jets((1, 2, 2, 1))


@pytest.mark.parametrize("ref", REFS)
def test_identities_hold_off_shell(small, ref):
    p = C.prove(ref, small)
    assert p.holds and p.residual == 0 and p.sites >= 1
    assert p.widths == (1, 2, 2, 1)


def test_two_bulk_layers_unequal_widths():
    J = C.jets((1, 2, 1, 2, 1))
    for ref in REFS:
        assert C.prove(ref, J).holds, ref


def test_printed_output_source_fails(small):
    p = C.prove("eq. (30)", small, variant="printed")
    assert not p.holds
    # the printed K^out has the wrong sign of Ż ∂ℓ/∂Z: the residual is -2 Ż ∂ℓ/∂Z (one output site)
    Zd = small.z(3, 1, 1)
    assert sp.expand(p.residual + 2 * Zd * small.loss(1, "lZ")) == 0


def test_printed_eq15_breaks_eq20_by_the_friction_layer():
    J = C.jets((2, 2, 2, 2))
    p = C.prove("eq. (20)", J, variant="printed")
    assert not p.holds
    # residual = ż γ [S^(m) - S^(m-1)] at the first bulk site (m = 2, i = 1), the erratum of (15)
    expected = J.z(2, 1, 1) * J.gamma * (J.S(2, 1) - J.S(1, 1))
    assert sp.expand(p.residual + expected) == 0 or sp.expand(p.residual - expected) == 0


def test_a_wrong_coefficient_is_detected(small):
    e = C.energy_density(small, 2, 1)
    wrong = C.rhs_eq19(small, 2, 1) + small.z(2, 1, 1) * small.z(2, 1, 2)   # (19) with 2 ż z̈
    assert sp.expand(small.dt(e) - wrong) != 0


def test_dt_chain_rule(small):
    s0, s1, s2 = (small._s[(1, 1)][k] for k in range(3))
    z1, z2 = small.z(1, 1, 1), small.z(1, 1, 2)
    assert sp.expand(small.dt(s0**2) - 2 * s0 * s1 * z1) == 0
    assert sp.expand(small.dt(s0, 2) - (s2 * z1**2 + s1 * z2)) == 0
    J = C.jets((1, 2, 2, 1), moving_input=False)
    assert J.dt(J.X(1)) == 0


def test_decay_sum_is_twice_the_kinetic_energy(small):
    assert C.decay_sum_residual(small) == 0
    # per layer the decay is indefinite: Ẇ = 0, ż^(2) = e_1, ż^(3) = c W^(2) σ' ż^(2)
    J = C.jets((1, 1, 1, 1), moving_input=False)
    form = C.layer_decay(J, 2)
    vel = {x: 0 for lst in J._W.values() for x in lst[1:2]}
    vel.update({J.z(1, 1, 1): 0, J.z(2, 1, 1): 1, J.W(2, 1, 1): 1, J.dsigma(2, 1): 1})
    neg = form.subs({**vel, J.z(3, 1, 1): 3})
    pos = form.subs({**vel, J.z(3, 1, 1): 0})
    assert neg < 0 < pos


def test_homogeneity_of_e_D_J():
    J = C.jets((1, 2, 2, 2, 2, 1))
    for q in ("e", "D", "J"):
        assert C.shift_check(J, 2, 1, q) == 0
    with pytest.raises(ValueError, match="equal widths"):
        C.shift_check(C.jets((1, 2, 3, 2, 2, 1)), 2, 1, "e")


@pytest.mark.parametrize("widths, exc", [((1, 0, 2, 1), ValueError), ((1, -2, 2, 1), ValueError),
                                         ((1, 2), ValueError), ((1, 2.0, 2, 1), TypeError),
                                         ("1221", TypeError), (5, TypeError)])
def test_bad_widths(widths, exc):
    with pytest.raises(exc, match="widths"):
        C.jets(widths)


@pytest.mark.parametrize("ref", ["eq. (19)", "eq. (20)"])
def test_a_bulk_identity_needs_a_bulk_layer(ref):
    J = C.jets((1, 2, 1))                 # depth 2: no site 1 < m < M
    with pytest.raises(ValueError, match="depth"):
        C.prove(ref, J)
    assert C.prove("eq. (25)", J).holds and C.prove("eq. (17)", J).holds


def test_a_generic_loss_is_refused():
    with pytest.raises(ValueError, match="site-wise"):
        C.prove("eq. (17)", C.jets((1, 2, 2, 1), loss="generic"))


def test_bad_arguments(small):
    with pytest.raises(ValueError, match="ref"):
        C.prove("eq. (21)", small)
    with pytest.raises(ValueError, match="variant"):
        C.prove("eq. (20)", small, variant="guess")
    with pytest.raises(TypeError, match="J must be"):
        C.prove("eq. (19)", (1, 2, 2, 1))
    with pytest.raises(TypeError, match="moving_input"):
        C.jets((1, 2, 2, 1), moving_input=1)
    with pytest.raises(ValueError, match="bulk"):
        C.rhs_eq19(small, 1, 1)
    with pytest.raises(ValueError, match="m"):
        C.energy_density(small, 4, 1)
    with pytest.raises(ValueError, match="form"):
        C.output_current(small, 1, "other")
    with pytest.raises(ValueError, match="jet variables"):
        small.dt(sp.Symbol("q"))


def test_a_masked_network_is_refused():
    J = C.jets((1, 2, 2, 1), links=[(0, 1, 1), (0, 2, 1), (1, 1, 1), (2, 1, 1), (2, 1, 2)])
    with pytest.raises(ValueError, match="fully connected"):
        C.prove("eq. (17)", J)
