"""Tests for bbdlib.bulk_boundary.energy: sum rule, Legendre transform, continuity equations, link currents."""
import numpy as np
import pytest

from bbdlib.bulk_boundary import energy as E
from bbdlib.bulk_boundary.integrator import ConstantDrive, OscillatingDrive, integrate
from bbdlib.bulk_boundary.network import Network


def _traj(drive_kind="const", widths=(3, 5, 4, 4, 2), act="tanh", loss="mse", n=400, method="cs2", T=2.0):
    net = Network(widths, act, loss)
    rng = np.random.default_rng(11)
    th = net.init_params(rng)
    v0 = 0.3 * rng.normal(size=net.n_params)
    Y = rng.uniform(size=widths[-1])
    if drive_kind == "const":
        drive = ConstantDrive(rng.normal(size=widths[0]), Y)
    else:
        drive = OscillatingDrive(rng.normal(size=widths[0]), 0.5, 2.0, Y)
    return integrate(net, th, v0, gamma=1.0, drive=drive, h=T / n, n_steps=n, method=method)


def _residuals(tr, output="corrected"):
    k = E.kinematics(tr)
    f = E.site_fields(k)
    ed = E.measured_rate(f)
    rhs = E.continuity_rhs(k, f, output=output)
    M = tr.net.depth
    return [E.relative_residual(ed[m], rhs[m], [k.gamma * f.D[m], f.j_in[m], f.j_out[m]]) for m in range(1, M + 1)]


def test_time_derivative_is_sixth_order():
    errs = []
    for n in (50, 100):
        t = np.linspace(0, 1, n + 1)
        d = E.time_derivative(t, np.sin(3 * t)[:, None])
        errs.append(np.nanmax(np.abs(d[:, 0] - 3 * np.cos(3 * t))))
    assert abs(np.log2(errs[0] / errs[1]) - 6) < 0.5


def test_cumulative_integral_spline():
    t = np.linspace(0, 2, 101)
    I = E.cumulative_integral(t, np.cos(t)[:, None])
    assert np.max(np.abs(I[:, 0] - np.sin(t))) < 1e-9


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
    assert np.allclose(H - E.hamiltonian_printed16(k), 0.5 * np.exp(k.t) * k.loss_i.sum(-1))


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


def test_streamed_fields_match_one_shot():
    tr = _traj("osc", n=300)
    k = E.kinematics(tr)
    f = E.site_fields(k, quadrature="trapezoid")
    s = E.stream_site_fields(tr.net, tr.theta[0], tr.v[0], gamma=tr.gamma, drive=tr.drive, h=tr.h,
                             n_steps=300, method="cs2", chunk=64)
    for m in range(1, tr.net.depth + 1):
        assert np.allclose(s["e"][m], f.e[m], rtol=1e-10, atol=1e-12)
        assert np.allclose(s["j_out"][m], f.j_out[m], rtol=1e-10, atol=1e-12)


def test_bad_input():
    with pytest.raises(TypeError):
        E.kinematics("not a trajectory")
    with pytest.raises(ValueError, match="uniformly"):
        E.time_derivative(np.array([0, 1, 3, 4, 5, 6, 7.0]), np.zeros(7))
    tr = _traj("const", n=10)
    k = E.kinematics(tr)
    with pytest.raises(ValueError, match="bulk sites"):
        E.energy_rate_eq19(k, E.site_fields(k), 1)
    with pytest.raises(ValueError, match="output must be one of"):
        E.continuity_rhs(k, E.site_fields(k), output="maybe")


# --------------------------------------------------------------------------- continuity / landscape
from bbdlib.bulk_boundary import continuity as C  # noqa: E402
from bbdlib.bulk_boundary import landscape as Lsc  # noqa: E402
from bbdlib.bulk_boundary.integrator import SampleStream  # noqa: E402


def test_fit_order_recovers_known_slopes():
    h = np.array([0.1, 0.05, 0.025])
    assert abs(C.fit_order(h, 3 * h**2) - 2) < 1e-12
    assert abs(C.fit_order(h, 0.5 * h**4) - 4) < 1e-12
    with pytest.raises(ValueError):
        C.fit_order([0.1], [1.0])


def test_residuals_of_a_moving_target_run():
    net, th, v0, dr = C.demo_problem((3, 4, 4, 2), "tanh", "mse", drive="moving", rng=3)
    tr = integrate(net, th, v0, gamma=1.0, drive=dr, h=0.005, n_steps=300, method="cs2")
    r = C.residuals(tr)
    for key in ("input", "bulk", "output", "sum_rule"):
        assert getattr(r, key) < 10 * r.local_error, key
    assert r.output_printed > 0.1 and r.output_nosum > 0.1
    o = C.output_sector(tr)
    assert np.max(np.abs(o["k_measured"] - o["k_corrected"])) < 10 * r.local_error * o["scale"]
    assert np.max(np.abs(o["k_corrected"])) > 0.01 * o["scale"]  # the target really moves


def test_study_and_table():
    rows = C.study([((2, 3, 3, 1), "sigmoid", "mse", "fixed")], gamma=1.0, T=1.0, n_steps=64, methods=("cs2",))
    assert abs(rows[0]["orders"]["bulk"] - 2) < 0.3
    table = C.residual_table(rows)
    assert table.count("\n") == 2 and "cs2" in table


def test_layer_budget_and_probe_close():
    rng = np.random.default_rng(4)
    net = Network((3, 4, 4, 2), "tanh", "mse")
    th = net.init_params(rng)
    stream = SampleStream(rng.normal(size=(3, 3)), rng.normal(size=(3, 2)), dwell=1.0, ramp=1.0)
    p = C.probe_budget(net, th, np.zeros(net.n_params), gamma=1.0, stream=stream, h=0.005, method="cs4")
    assert p["closure"] < 1e-3 and p["sum_rule"] < 1e-3
    assert p["dissipation"].shape == (net.depth,) and p["flux"].shape == (net.depth - 1,)
    assert 0.0 < p["frac_out_positive"] < 1.0


def test_window_average_and_drawing():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    tr = _traj("osc", widths=(3, 4, 4, 2), n=100)
    k = E.kinematics(tr)
    f = E.site_fields(k)
    w = Lsc.window_average(k, f, 0.5, 1.0)
    # the mean link currents sum to the mean site transport
    assert np.allclose(w.links[1].sum(axis=0), np.mean(f.j_out[1][(k.t >= 0.5) & (k.t <= 1.0)], axis=0), rtol=0.2, atol=1e-3)
    s = Lsc.sources_and_sinks(w)
    assert len(s["layers"]) == tr.net.depth
    fig, ax = plt.subplots()
    Lsc.draw_landscape(ax, w)
    plt.close(fig)
    with pytest.raises(ValueError, match="no samples"):
        Lsc.window_average(k, f, 10.0, 11.0)


def test_offshell_identities():
    """(25) holds off shell; (20) only with (15) corrected; (30) only with the corrected K^out."""
    r = C.offshell_identities(Network((3, 4, 4, 4, 4), "tanh", "mse"), gamma=0.8, rng=2)
    assert r["eq25_printed"] < 1e-7
    assert r["eq20_corrected"] < 1e-7 and r["eq20_printed"] > 1e-2
    assert r["eq30_corrected"] < 1e-7 and r["eq30_printed"] > 1e-2
    with pytest.raises(ValueError, match="N_1 = ... = N_M"):
        C.offshell_identities(Network((3, 4, 5, 4), "tanh", "mse"), gamma=1.0)
