"""Tests for bbdlib.bulk_boundary.energy (and kinematics): sum rule, Legendre transform, continuity equations,
link currents, layer budget."""
import numpy as np
import pytest

from bbdlib.bulk_boundary import energy as E
from tests.bulk_boundary.problems import demo_trajectory as _traj


def _residuals(tr, output="corrected"):
    k = E.kinematics(tr)
    f = E.site_fields(k)
    ed = E.measured_rate(f)
    rhs = E.continuity_rhs(k, f, output=output)
    M = tr.net.depth
    return [E.relative_residual(ed[m], rhs[m], [k.gamma * f.D[m], f.j_in[m], f.j_out[m]]) for m in range(1, M + 1)]


@pytest.mark.parametrize("kind", ["const", "osc"])
def test_sum_rule_converges_at_integrator_order(kind):
    """Σ_i e_i(t) e^{γt} equals e^{γt}(½|Ẇ|² + ½|ḃ|² + ℓ); the gap is the O(h²) integration error."""
    gaps = []
    for n in (200, 400):
        tr = _traj(kind, n=n)
        k = E.kinematics(tr)
        f = E.site_fields(k)
        H = E.mechanical_hamiltonian(k)
        Hs = np.exp(k.gamma * k.t) * sum(f.e[m].sum(-1) for m in range(1, tr.net.depth + 1))
        gaps.append(np.max(np.abs(Hs - H)) / np.max(np.abs(H)))
    assert gaps[1] < 1e-3
    assert abs(np.log2(gaps[0] / gaps[1]) - 2) < 0.3


def test_legendre_transform_equals_mechanical_energy_for_fixed_input():
    tr = _traj("const", n=50)
    k = E.kinematics(tr)
    H = E.mechanical_hamiltonian(k)
    assert np.max(np.abs(E.legendre_hamiltonian(k) - H)) < 1e-12 * np.max(np.abs(H))
    # printed eq. (16) puts ½ in front of ℓ: it differs by ½ e^{γt} ℓ
    assert np.allclose(H - E.hamiltonian_printed_eq16(k), 0.5 * np.exp(k.t) * k.loss_i.sum(-1))


def test_generalized_power_equals_total_decay():
    """Σ_sites D = Σ p q̇ (the decay terms (12)/(27) partition the generalized power)."""
    tr = _traj("const", n=20)
    k = E.kinematics(tr)
    f = E.site_fields(k)
    tot = sum(f.D[m].sum(-1) for m in range(1, tr.net.depth + 1))
    assert np.allclose(tot, E.generalized_power(k), rtol=1e-12, atol=1e-14)
    assert np.allclose(tot, np.sum(k.v**2, axis=-1), rtol=1e-12)


@pytest.mark.parametrize("kind", ["const", "osc"])
@pytest.mark.parametrize("act,loss", [("tanh", "mse"), ("softplus", "bce"), ("sigmoid", "mse")])
def test_continuity_equations_close_at_order_2(kind, act, loss):
    r = [np.array(_residuals(_traj(kind, act=act, loss=loss, n=n))) for n in (200, 400)]
    assert np.all(r[1] < 1e-3)
    orders = np.log2(r[0] / r[1])
    assert np.all(np.abs(orders - 2) < 0.3), orders


def test_printed_output_equation_does_not_close():
    r = _residuals(_traj("const", n=200), output="printed")
    assert r[-1] > 0.1  # eq. (31)-(32) as printed: the K^out term is not there
    assert max(r[:-1]) < 1e-3


def test_eq19_is_the_derivative_of_eq18():
    tr = _traj("osc", n=400, method="cs4")
    k = E.kinematics(tr)
    f = E.site_fields(k)
    ed = E.measured_rate(f)
    for m in range(2, tr.net.depth):
        an = E.energy_rate_eq19(k, f, m)
        assert E.relative_residual(ed[m], an, [an]) < 1e-6
        # and (19) equals the continuity right-hand side to round-off (both analytic)
        rhs = E.continuity_rhs(k, f)[m]
        assert np.max(np.abs(an - rhs)) < 1e-12 * (1 + np.max(np.abs(an)))


def test_link_currents_sum_to_site_sums():
    tr = _traj("osc", n=30)
    k = E.kinematics(tr)
    f = E.site_fields(k)
    n = 17
    for m in range(1, tr.net.depth):
        J = E.link_current(k, m, n)
        assert np.allclose(J.sum(axis=1), f.j_in[m + 1][n])
        assert np.allclose(J.sum(axis=0), f.j_out[m][n])
    assert np.allclose(E.link_k_in(k, n).sum(axis=1), f.j_in[1][n])


def test_bad_input():
    with pytest.raises(TypeError):
        E.kinematics("not a trajectory")
    tr = _traj("const", n=10)
    k = E.kinematics(tr)
    with pytest.raises(ValueError, match="bulk sites"):
        E.energy_rate_eq19(k, E.site_fields(k), 1)
    with pytest.raises(ValueError, match="output must be one of"):
        E.continuity_rhs(k, E.site_fields(k), output="maybe")


def test_kinematics_names_and_chain_rule():
    """ż^(m+1) = S^(m) + ḃ^(m) and ḣ = σ′(z) ż, with the readable field names."""
    tr = _traj("osc", n=20)
    k = E.kinematics(tr)
    for m in range(k.M):
        assert np.allclose(k.zdot[m + 1], k.S[m] + k.bdot[m])
        assert np.allclose(k.bddot[m], -k.gamma * k.bdot[m] - k.delta[m])
    for m in range(1, k.M):
        assert np.allclose(k.hdot[m], k.dsigma[m] * k.zdot[m])
    n = 5
    assert np.allclose(k.Wddot(0, n) @ k.h[0][n], k.Wddot_matvec(0, k.h[0])[n])


def test_layer_budget_and_local_density():
    tr = _traj("osc", n=100)
    k = E.kinematics(tr)
    f = E.site_fields(k)
    b = E.layer_budget(k, f)
    M = tr.net.depth
    assert b.energy.shape == (len(tr), M) and b.flux.shape == (len(tr), M - 1)
    assert np.allclose(b.total_rate, -b.dissipation.sum(-1) + b.inject_in + b.inject_out)
    # e_local is e without ½∫: its derivative plus the integrand is the derivative of e
    for m in range(1, M):
        assert np.allclose(f.e[m] - f.e_local(m), 0.5 * f.integral[m])
    assert f.e_local(M) is f.e[M]
