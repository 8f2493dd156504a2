"""Tests for bbdlib.bulk_boundary.continuity: residuals, study, output sector, probes, off-shell identities."""
import numpy as np
import pytest

from bbdlib.bulk_boundary import continuity as C
from bbdlib.bulk_boundary import energy as E
from bbdlib.bulk_boundary.drives import SampleStream
from bbdlib.bulk_boundary.integrator import integrate
from bbdlib.bulk_boundary.network import Network


def test_residuals_of_a_moving_target_run():
    net, th, v0, dr = C.demo_problem((3, 4, 4, 2), "tanh", "mse", drive="moving", rng=3)
    tr = integrate(net, th, v0, gamma=1.0, drive=dr, h=0.005, n_steps=300, method="cs2")
    r = C.residuals(tr)
    for key in ("input", "bulk", "output", "sum_rule"):
        assert getattr(r, key) < 10 * r.local_error, key
    assert r.output_printed > 0.1 and r.output_nosum > 0.1
    o = C.output_sector(tr)
    assert np.max(np.abs(o.k_measured - o.k_corrected)) < 10 * r.local_error * o.scale
    assert np.max(np.abs(o.k_corrected)) > 0.01 * o.scale  # the target really moves
    assert r.sum_rule_legendre > 10 * r.local_error  # with a moving target and input (8) is not Σe


def test_study_and_table():
    rows = C.study([((2, 3, 3, 1), "sigmoid", "mse", "fixed")], gamma=1.0, T=1.0, n_steps=64, methods=("cs2",))
    assert abs(rows[0].orders["bulk"] - 2) < 0.3
    table = C.residual_table(rows)
    assert table.count("\n") == 2 and "cs2" in table
    # the fixed-input Legendre gap (8) is of the size of the integration error
    assert C.worst_ratio(rows, "sum_rule_legendre") < 20
    assert C.worst_ratio(rows, "bulk") == max(r.bulk / r.local_error for r in rows[0].res)
    assert C.fitted_orders(rows, "bulk", "cs2").shape == (1,)
    assert C.fitted_orders(rows, "bulk", "cs4").size == 0
    with pytest.raises(ValueError, match="no finite"):
        C.worst_ratio(rows, "bulk", drives=("moving",))


def test_layer_budget_and_probe_close():
    rng = np.random.default_rng(4)
    net = Network((3, 4, 4, 2), "tanh", "mse")
    th = net.init_params(rng)
    stream = SampleStream(rng.normal(size=(3, 3)), rng.normal(size=(3, 2)), dwell=1.0, ramp=1.0)
    p = C.probe_budget(net, th, np.zeros(net.n_params), gamma=1.0, stream=stream, h=0.005, method="cs4")
    assert p.closure < 1e-3 and p.sum_rule < 1e-3
    assert p.dissipation.shape == (net.depth,) and p.flux.shape == (net.depth - 1,)
    assert 0.0 < p.frac_out_positive < 1.0
    text = C.describe_probe(p)
    assert "output boundary feeds in" in text and "1→2" in text


def test_offshell_identities():
    """(25) holds off shell; (20) only with (15) corrected; (30) only with the corrected K^out."""
    r = C.offshell_identities(Network((3, 4, 4, 4, 4), "tanh", "mse"), gamma=0.8, rng=2)
    assert r.eq25_printed < 1e-7
    assert r.eq20_corrected < 1e-7 and r.eq20_printed > 1e-2
    assert r.eq30_corrected < 1e-7 and r.eq30_printed > 1e-2
    assert r.rhs_eq20_printed.shape == r.edot_bulk.shape == (2 * 4,)
    with pytest.raises(ValueError, match="N_1 = ... = N_M"):
        C.offshell_identities(Network((3, 4, 5, 4), "tanh", "mse"), gamma=1.0)


def test_global_balance_residual_is_small_and_converges():
    net, th, v0, dr = C.demo_problem((3, 4, 4, 2), "tanh", "mse", drive="oscillating", rng=1)
    res = []
    for n in (200, 400):
        tr = integrate(net, th, v0, gamma=1.0, drive=dr, h=2.0 / n, n_steps=n, method="cs2")
        k = E.kinematics(tr)
        res.append(C.global_balance_residual(E.layer_budget(k, E.site_fields(k))))
    assert res[1] < 1e-4
    assert abs(np.log2(res[0] / res[1]) - 2) < 0.5
