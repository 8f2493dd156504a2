"""Tests of bbdlib.bulk_boundary.symbolic.jets: the one construction of L, E(q) and H of [A]."""
import numpy as np
import pytest
import sympy as sp

from bbdlib.bulk_boundary.symbolic.jets import jets


@pytest.fixture(scope="module")
def small():
    return jets((1, 2, 2, 1))


def test_dt_chain_rule_in_both_bases(small):
    s0, s1, s2 = (small.sigma(1, 1, k) for k in range(3))
    z1, z2 = small.z(1, 1, 1), small.z(1, 1, 2)
    assert sp.expand(small.dt(s0**2) - 2 * s0 * s1 * z1) == 0
    assert sp.expand(small.dt(s0, 2) - (s2 * z1**2 + s1 * z2)) == 0
    # in (W, b) the neuron is the recursion (1): z^(1)_1 = W^(0)_11 X_1 + b^(0)_1
    zdot = small.W(0, 1, 1, 1) * small.X(1) + small.W(0, 1, 1) * small.X(1, 1) + small.b(0, 1, 1)
    assert sp.expand(small.dt(s0, basis="Wb") - s1 * zdot) == 0
    assert sp.expand(small.dt(small.egt) - small.gamma * small.egt) == 0
    J = jets((1, 2, 2, 1), moving_input=False)
    assert J.dt(J.X(1)) == 0


def test_change_of_basis_round_trip_and_inverse(small):
    L = small.lagrangian("Wb")
    assert sp.expand(small.to_wb(small.to_wz(L)) - L) == 0
    # eq. (6): b^(0)_1 = z^(1)_1 - W^(0)_11 X_1
    assert sp.expand(small.to_wz(small.b(0, 1)) - (small.z(1, 1) - small.W(0, 1, 1) * small.X(1))) == 0
    # the (W, z) Lagrangian is (5) after (6)
    assert sp.expand(small.to_wz(L) - small.lagrangian("Wz")) == 0


def test_change_of_variables_numerically_preserves_L():
    """L(W, b) at b from (6) equals L(W, z) at random jet values (tanh derivatives, squared loss)."""
    J = jets((2, 2, 1))
    rng = np.random.default_rng(1)
    vals = {x: sp.Float(rng.normal()) for x in J._gens if x not in (J.gamma, J.egt)}
    Lz = J.lagrangian("Wz").xreplace(vals)
    Lb = J.to_wz(J.lagrangian("Wb")).xreplace(vals)
    assert float(Lz) == pytest.approx(float(Lb), rel=1e-12)
    # and not trivially: a shifted ḃ changes the (W, b) value
    shifted = J.lagrangian("Wb").xreplace({J.b(0, 1, 1): J.b(0, 1, 1) + 1})
    assert float(J.to_wz(shifted).xreplace(vals)) != pytest.approx(float(Lz))


def test_smallest_network_by_hand():
    """M = 2, widths (1, 1, 1): the (W, z) Lagrangian written out by hand."""
    J = jets((1, 1, 1))
    W0d, W1d = J.W(0, 1, 1, 1), J.W(1, 1, 1, 1)
    b0dot = J.z(1, 1, 1) - J.W(0, 1, 1, 1) * J.X(1) - J.W(0, 1, 1) * J.X(1, 1)
    b1dot = J.z(2, 1, 1) - W1d * J.sigma(1, 1) - J.W(1, 1, 1) * J.dsigma(1, 1) * J.z(1, 1, 1)
    L = (W0d**2 + W1d**2 + b0dot**2 + b1dot**2) / 2 - J.loss(1)
    assert sp.expand(J.lagrangian("Wz") - L) == 0


def test_eom_of_the_damped_action_and_a_known_case():
    J = jets((1, 1, 1), moving_input=False)
    # E(W^(0)) in (W, b): Ẅ + γẆ + ∂ℓ/∂Z ∂Z/∂W^(0) with ∂Z/∂W^(0) = W^(1) σ'(z^(1)) X
    expect = (J.W(0, 1, 1, 2) + J.gamma * J.W(0, 1, 1, 1)
              + J.loss(1, "lZ") * J.W(1, 1, 1) * J.dsigma(1, 1) * J.X(1))
    assert sp.expand(J.eom(("W", 0, 1, 1), "Wb") - expect) == 0
    for basis in ("Wz", "Wb"):
        for k in J.variables(basis):
            assert sp.expand(J.euler_lagrange_weighted(k, basis) - J.egt * J.eom(k, basis)) == 0


def test_legendre_is_kinetic_plus_loss():
    J = jets((2, 1, 1), loss="generic")
    assert sp.expand(J.legendre("Wb") - (J.kinetic("Wb") + J.total_loss)) == 0
    assert sp.expand(J.legendre("Wb", weighted=True) - J.egt * (J.kinetic("Wb") + J.total_loss)) == 0


def test_generic_loss_couples_all_outputs():
    J = jets((1, 1, 2), moving_input=False, loss="generic")
    # E(Z_1) contains ∂ℓ/∂Z_1; d/dt ∂ℓ/∂Z_1 involves both outputs
    assert J.loss_partial(("Z", 1)) in J.eom(("z", 2, 1)).free_symbols
    d = J.dt(J.loss_partial(("Z", 1)))
    assert J.z(2, 2, 1) in d.free_symbols and J.z(2, 1, 1) in d.free_symbols
    with pytest.raises(ValueError, match="sitewise"):
        J.loss(1)
    with pytest.raises(ValueError, match="generic"):
        jets((1, 1, 1)).loss_partial(("Z", 1))


def test_links_mask():
    J = jets((2, 2, 1), links=[(0, 1, 1), (0, 2, 2), (1, 1, 1), (1, 1, 2)])
    assert J.W(0, 1, 2) == 0 and len(J.variables("Wz")) == 4 + 3
    assert J.W(0, 1, 1, 1) in J.lagrangian().free_symbols
    with pytest.raises(ValueError, match="links"):
        jets((2, 2, 1), links=[(0, 3, 1)])


@pytest.mark.parametrize("widths, exc", [((1, 0, 2, 1), ValueError), ((1, -2, 2, 1), ValueError),
                                         ((2, 2), ValueError), ((2,), ValueError), ((1, 2.0, 2, 1), TypeError),
                                         ((True, 2, 2), TypeError), ("1221", TypeError), (5, TypeError)])
def test_bad_widths(widths, exc):
    with pytest.raises(exc, match="widths"):
        jets(widths)


def test_bad_arguments(small):
    with pytest.raises(ValueError, match="loss"):
        jets((1, 2, 1), loss="mse")
    with pytest.raises(TypeError, match="moving_input"):
        jets((1, 2, 2, 1), moving_input=1)
    with pytest.raises(TypeError, match="moving_target"):
        jets((1, 2, 2, 1), moving_target="yes")
    with pytest.raises(ValueError, match="basis"):
        small.lagrangian("Wq")
    with pytest.raises(ValueError, match="key"):
        small.eom(("z", 5, 1))
    with pytest.raises(ValueError, match="key"):
        small.partial(small.lagrangian(), ("b", 0, 1), "Wz")
    with pytest.raises(ValueError, match="jet variables"):
        small.dt(sp.Symbol("q"))
    with pytest.raises(ValueError, match="n"):
        small.dt(small.z(1, 1), n=-1)
    with pytest.raises(TypeError, match="weighted"):
        small.legendre(weighted=1)
