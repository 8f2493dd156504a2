"""Tests for the step-refinement rule (integrator.refinement_check) and its users in continuity."""
import numpy as np
import pytest

from bbdlib.bulk_boundary import continuity as C
from bbdlib.bulk_boundary.drives import ConstantDrive, SampleStream
from bbdlib.bulk_boundary.integrator import (
    ORDER_ALLOWANCE,
    RICHARDSON_MULTIPLE,
    SCHEMES,
    integrate,
    refinement_check,
)
from bbdlib.bulk_boundary.network import Network

H = np.array([0.1, 0.05, 0.025])


def test_a_discretisation_error_passes_with_ratio_one():
    v = refinement_check(H, 3.0 * H**2, "cs2")
    assert v.all_hold
    assert v.observed_order[0] == pytest.approx(2.0)
    assert v.ratio[0] == pytest.approx(1.0)
    assert v.richardson[0] == pytest.approx(3.0 * H[0] ** 2)
    assert v.tolerance[0] == pytest.approx(RICHARDSON_MULTIPLE * 3.0 * H[0] ** 2)
    assert "1 of 1 cases pass" in v.summary()


def test_a_residual_with_a_nonzero_limit_fails():
    # a wrong formula: the residual tends to 1e-2, not to zero; both conditions reject it
    v = refinement_check(H, 1e-2 + 0.1 * H**2, "cs2")
    assert not v.all_hold
    assert v.observed_order[0] < 2 - ORDER_ALLOWANCE
    assert v.ratio[0] > RICHARDSON_MULTIPLE
    # a smaller offset passes (b) but not (a)
    v = refinement_check(H, 1e-3 + 0.1 * H**2, "cs2")
    assert not v.all_hold and v.ratio[0] < RICHARDSON_MULTIPLE
    assert v.tolerance[0] == 0.0  # no tolerance for a residual outside the order window


def test_window_is_asymmetric_for_symmetric_schemes():
    # cs2 is symmetric: an h^4 residual (small h^2 coefficient) is accepted, h^5 is not
    assert refinement_check(H, H**4, "cs2").all_hold
    assert not refinement_check(H, H**5, "cs2").all_hold
    # heavy ball is not symmetric: window p - a .. p + 1 + a
    assert not SCHEMES["heavy_ball"].symmetric
    assert refinement_check(H, H**2, "heavy_ball").all_hold
    assert not refinement_check(H, H**3, "heavy_ball").all_hold
    v = refinement_check(H, H**1.4, "cs2")  # below p - a
    assert not v.all_hold and v.tolerance[0] == 0.0


def test_cases_with_their_own_methods_and_steps():
    hs = np.stack([H, H / 3], axis=1)
    res = np.stack([H**2, (H / 3) ** 4], axis=1)
    v = refinement_check(hs, res, ["cs2", "cs4"])
    assert v.all_hold
    np.testing.assert_allclose(v.observed_order, [2.0, 4.0])
    np.testing.assert_allclose(v.order, [2, 4])
    np.testing.assert_allclose(v.ratio, [1.0, 1.0])
    # a general refinement ratio q = 3: E = |r(h) - r(h/3)| / (1 - 3^-p)
    v3 = refinement_check([0.3, 0.1], [0.09, 0.01], "cs2")
    assert v3.ratio[0] == pytest.approx(1.0)
    assert v3.worst_ratio == pytest.approx(1.0)


@pytest.mark.parametrize("steps,res,method,match", [
    ([0.1], [0.01], "cs2", "L >= 2"),
    ([0.1, 0.2], [0.01, 0.0025], "cs2", "decreasing"),
    ([0.1, 0.05], [0.01, 0.0], "cs2", "positive"),
    ([0.1, 0.05], [0.01, np.nan], "cs2", "finite"),
    ([0.1, 0.05, 0.025], [0.01, 0.0025], "cs2", "shape"),
    ([0.1, 0.05], [0.01, 0.0025], "rk4", "method"),
    ([0.1, 0.05], [[0.01, 0.02], [0.0025, 0.005]], ["cs2"], "one per case"),
])
def test_bad_input(steps, res, method, match):
    with pytest.raises(ValueError, match=match):
        refinement_check(steps, res, method)


def test_bad_constants():
    with pytest.raises(ValueError, match="order_allowance"):
        refinement_check(H, H**2, "cs2", order_allowance=0.0)
    with pytest.raises(ValueError, match="multiple"):
        refinement_check(H, H**2, "cs2", multiple=0.5)


def test_study_refinement_passes_correct_and_fails_printed_forms():
    rows = C.study([((2, 3, 3, 1), "sigmoid", "mse", "moving")], gamma=1.0, T=1.0, n_steps=64,
                   methods=("cs2", "cs4"))
    for key in ("input", "bulk", "output", "eq19", "sum_rule"):
        v = C.study_refinement(rows, key)
        assert v.all_hold, (key, v.summary())
        assert v.residuals.shape == (3, 2)
    # the output equation (31) as printed does not converge: the rule rejects it
    assert not C.study_refinement(rows, "output_printed").all_hold
    # with a moving input and target the Legendre transform (8) is not Σe: rejected as well
    assert not C.study_refinement(rows, "sum_rule_legendre").all_hold
    assert C.study_refinement(rows, "bulk", methods=("cs2",)).residuals.shape == (3, 1)
    with pytest.raises(ValueError, match="no finite"):
        C.study_refinement(rows, "bulk", drives=("fixed",))


def _stream_run(h, n_dwells=3, t0=0.0, ramp=0.0, save_every=1):
    rng = np.random.default_rng(5)
    net = Network((3, 4, 4, 2), "tanh", "mse")
    stream = SampleStream(rng.normal(size=(4, 3)), rng.normal(size=(4, 2)), dwell=0.5, ramp=ramp)
    th = net.init_params(rng)
    v0 = 0.3 * rng.normal(size=net.n_params)
    n = int(round(n_dwells * 0.5 / h))
    return integrate(net, th, v0, gamma=2.0, drive=stream, h=h, n_steps=n, method="cs2", t0=t0,
                     save_every=save_every)


def test_dwell_budget_converges_at_the_order_of_cs2():
    steps = [0.025, 0.0125, 0.00625]
    budgets = [C.dwell_budget(_stream_run(h, t0=0.5)) for h in steps]
    assert all(b.n_dwells == 3 for b in budgets)
    res = np.array([b.residual for b in budgets])
    clo = np.array([b.closure for b in budgets])
    assert res.shape == (3, 3)
    assert refinement_check(steps, res, "cs2").all_hold
    assert refinement_check(steps, clo, "cs2").all_hold
    b = budgets[-1]
    assert b.dissipation.shape == (3,) and b.flux.shape == (2,)
    assert np.isfinite(b.switch_energy) and b.switch_energy != 0.0  # the switches feed energy in or out


def test_dwell_budget_bad_input():
    with pytest.raises(ValueError, match="ramp"):
        C.dwell_budget(_stream_run(0.025, ramp=0.1))
    with pytest.raises(ValueError, match="every step"):
        C.dwell_budget(_stream_run(0.025, save_every=2))
    with pytest.raises(ValueError, match="start at a switch"):
        C.dwell_budget(_stream_run(0.025, t0=0.1))
    with pytest.raises(ValueError, match=">= 8"):
        C.dwell_budget(_stream_run(0.1))
    tr = _stream_run(0.025)
    with pytest.raises(ValueError, match="whole dwells"):
        C.dwell_budget(type(tr)(tr.net, tr.gamma, tr.drive, tr.t[:-3], tr.theta[:-3], tr.v[:-3], tr.method, tr.h))
    fixed = type(tr)(tr.net, tr.gamma, ConstantDrive(np.zeros(3), np.zeros(2)), tr.t, tr.theta, tr.v, tr.method, tr.h)
    with pytest.raises(TypeError, match="SampleStream"):
        C.dwell_budget(fixed)
    with pytest.raises(TypeError, match="single"):
        C.dwell_budget("not a trajectory")
