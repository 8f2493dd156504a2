"""Verification of the energy continuity equations of [A] along integrated trajectories.

For a trajectory of eq. (4) this module measures, sector by sector (input ``m = 1``, bulk
``1 < m < M``, output ``m = M``), the residual

    ė_i^(m) (measured from sampled e(t))  -  [-γ D_{i,m} + Σ J_in - Σ J_out (- K^out)]

relative to the size of its terms (:func:`bbdlib.bulk_boundary.energy.relative_residual`), the gap of the
sum rule (17), and their convergence with the step size.  The yardstick is the integrator's
own relative local truncation error at the same step
(:func:`bbdlib.bulk_boundary.integrator.local_error_estimate`): a formula that holds leaves a residual of
the size of that error and converging at the integrator's order; a formula that does not
hold leaves a residual of order one that does not converge.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from bbdlib.bulk_boundary import energy as E
from bbdlib.bulk_boundary.drives import ConstantDrive, DriveBatch, OscillatingDrive, SampleStream
from bbdlib.bulk_boundary.integrator import (
    Refinement,
    Trajectory,
    integrate,
    local_error_estimate,
    refinement_check,
)
from bbdlib.bulk_boundary.kinematics import _kinematics
from bbdlib.bulk_boundary.network import Network
from bbdlib.numerics import cumulative_integral, fit_order, time_derivative
from bbdlib.validate import check_choice, check_generator, check_int, check_real

__all__ = ["demo_problem", "Residuals", "residuals", "convergence", "StudyRow", "study", "residual_table",
           "worst_ratio", "fitted_orders", "study_refinement", "global_balance_residual", "describe_probe",
           "OutputSector", "output_sector", "ProbeBudget", "probe_budget", "probe_budgets",
           "OffshellIdentities", "offshell_identities", "DwellBudget", "dwell_budget"]


def demo_problem(widths, activation="tanh", loss="mse", *, drive="fixed", rng=0, weight_scale=1.0,
                 velocity_scale=0.3, amplitude=0.5, omega=2.0):
    """A random network, initial state and drive for the continuity checks.

    ``drive="fixed"``: a fixed random pair ``(X, Y)``; ``"oscillating"``:
    ``X(t) = X0 + amplitude·sin(ω t + φ_j)`` with random phases and a fixed ``Y``;
    ``"moving"``: the same input and a moving target ``Y(t) = Y0 + amplitude·sin(ω t + ψ_i)``.

    Parameters
    ----------
    widths : sequence of int
        ``(N_0, ..., N_M)``, ``M >= 2``.
    activation, loss : str
        A C² activation and a site loss (``"mse"``, ``"bce"``).
    drive : {"fixed", "oscillating", "moving"}
        The drive (see above).
    rng : numpy.random.Generator or int
        Source of the network, the state and the drive.
    weight_scale, velocity_scale : float
        Scales of the initial weights and of the initial velocities.
    amplitude, omega : float
        Amplitude and angular frequency of the moving input/target.

    Returns
    -------
    tuple
        ``(net, theta0, v0, drive)``.
    """
    net = Network(tuple(widths), activation, loss)
    rng = check_generator("rng", rng)
    drive = check_choice("drive", drive, ("fixed", "oscillating", "moving"))
    th = net.init_params(rng, weight_scale=weight_scale)
    v0 = check_real("velocity_scale", velocity_scale, low=0.0) * rng.normal(size=net.n_params)
    X0 = rng.normal(size=net.widths[0])
    Y = rng.uniform(size=net.widths[-1]) if loss == "bce" else rng.normal(size=net.widths[-1])
    if drive == "fixed":
        return net, th, v0, ConstantDrive(X0, Y)
    phase = rng.uniform(0, 2 * np.pi, size=net.widths[0])
    if drive == "oscillating":
        return net, th, v0, OscillatingDrive(X0, amplitude, omega, Y, phase=phase)
    psi = rng.uniform(0, 2 * np.pi, size=net.widths[-1])
    return net, th, v0, OscillatingDrive(X0, amplitude, omega, Y, phase=phase, target_amplitude=amplitude,
                                         target_phase=psi)


@dataclass(frozen=True)
class Residuals:
    """Relative residuals of one trajectory (see the module docstring).

    ``input, bulk, output``: continuity residuals of eqs. (26), (21), (31) with the
    corrected output source (32); ``output_printed``: eq. (31) with (32) as printed;
    ``output_nosum``: the printed ``K^out_i`` without the sum over ``i``;
    ``eq19``: measured ``ė`` against the analytic eq. (19) (bulk);
    ``sum_rule``: ``max_t |e^{γt}Σe - H| / max_t |H|`` with ``H = e^{γt}(½|Ẇ|²+½|ḃ|²+ℓ)``;
    ``sum_rule_legendre``: the same gap with ``H`` the numerical Legendre transform (8) of
    ``e^{γt}L`` in the (W, z) chart, relative to ``max_t |H|``;
    ``local_error``: the integrator's relative local truncation error at this step.
    """

    h: float
    method: str
    input: float
    bulk: float
    output: float
    output_printed: float
    output_nosum: float
    eq19: float
    sum_rule: float
    sum_rule_legendre: float
    local_error: float


def residuals(traj: Trajectory, *, n_probe: int = 4) -> Residuals:
    """All residuals of one trajectory (vectorised over sites and time).

    Parameters
    ----------
    traj : Trajectory
        An integration of eq. (4).
    n_probe : int
        Number of states at which the local error is estimated
        (:func:`~bbdlib.bulk_boundary.integrator.local_error_estimate`).

    Returns
    -------
    Residuals
    """
    if not isinstance(traj, Trajectory):
        raise TypeError("traj must be a bbdlib.bulk_boundary.integrator.Trajectory")
    k = E.kinematics(traj)
    f = E.site_fields(k)
    ed = E.measured_rate(f)
    M = traj.net.depth
    rhs = E.continuity_rhs(k, f, output="corrected")
    terms = lambda m: [k.gamma * f.D[m], f.j_in[m], f.j_out[m]]  # noqa: E731
    res = {m: E.relative_residual(ed[m], rhs[m], terms(m) + ([f.k_out] if m == M else [])) for m in range(1, M + 1)}
    kp = f.k_out_printed
    rp = E.continuity_rhs(k, f, output="printed")[M]
    rn = E.continuity_rhs(k, f, output="printed_nosum")[M]
    out_p = E.relative_residual(ed[M], rp, terms(M) + [np.sum(kp, axis=-1, keepdims=True)])
    out_n = E.relative_residual(ed[M], rn, terms(M) + [kp])
    r19 = max((E.relative_residual(ed[m], E.energy_rate_eq19(k, f, m), [E.energy_rate_eq19(k, f, m)])
               for m in range(2, M)), default=np.nan)
    H = E.mechanical_hamiltonian(k)
    Hs = np.exp(k.gamma * k.t) * sum(f.e[m].sum(axis=-1) for m in range(1, M + 1))
    HL = E.legendre_hamiltonian(k)
    return Residuals(
        h=traj.h, method=traj.method, input=res[1],
        bulk=max((res[m] for m in range(2, M)), default=np.nan), output=res[M],
        output_printed=out_p, output_nosum=out_n, eq19=r19,
        sum_rule=float(np.max(np.abs(Hs - H)) / np.max(np.abs(H))),
        sum_rule_legendre=float(np.max(np.abs(Hs - HL)) / np.max(np.abs(HL))),
        local_error=local_error_estimate(traj, n_probe=n_probe),
    )


def convergence(net, theta0, v0, drive, *, gamma, T, method, n_steps_list) -> list[Residuals]:
    """:func:`residuals` for the same problem at several step counts (``h = T / n``).

    Parameters
    ----------
    net, theta0, v0, drive
        The problem (see :func:`demo_problem`).
    gamma : float
        Damping.
    T : float
        Time span.
    method : str
        A scheme of :data:`~bbdlib.bulk_boundary.integrator.SCHEMES`.
    n_steps_list : sequence of int
        Step counts (each ``>= 8``).

    Returns
    -------
    list of Residuals
    """
    T = check_real("T", T, low=0.0, low_inclusive=False)
    out = []
    for n in n_steps_list:
        n = check_int("n_steps", n, minimum=8)
        tr = integrate(net, theta0, v0, gamma=gamma, drive=drive, h=T / n, n_steps=n, method=method)
        out.append(residuals(tr))
    return out


@dataclass(frozen=True)
class OutputSector:
    """Output-site arrays (interior samples, shape ``(T', N_M)``) for eqs. (31)-(32) of [A].

    Attributes
    ----------
    edot : numpy.ndarray
        Measured ``ė^(M)_i``.
    rhs_printed, rhs_nosum, rhs_corrected : numpy.ndarray
        Right-hand sides of (31): as printed (``-Σ_i K^out_i``), the printed ``K^out_i`` of the
        site alone, and corrected (``-K^out_i`` with the corrected (32)).
    k_measured : numpy.ndarray
        The measured source ``K^out_meas = -ė - γD + ΣJ_in``.
    k_printed, k_corrected : numpy.ndarray
        ``K^out_i`` as printed in (32) and corrected.
    scale : float
        The largest term on the output layer.
    """

    edot: np.ndarray
    rhs_printed: np.ndarray
    rhs_nosum: np.ndarray
    rhs_corrected: np.ndarray
    k_measured: np.ndarray
    k_printed: np.ndarray
    k_corrected: np.ndarray
    scale: float


def output_sector(traj: Trajectory) -> OutputSector:
    """The printed and corrected forms of eqs. (31)-(32) on the output sites of a trajectory.

    Parameters
    ----------
    traj : Trajectory
        An integration of eq. (4).

    Returns
    -------
    OutputSector
    """
    k = E.kinematics(traj)
    f = E.site_fields(k)
    M = f.M
    ed = E.measured_rate(f)[M]
    ok = np.all(np.isfinite(ed), axis=-1)
    base = -k.gamma * f.D[M] + f.j_in[M]
    scale = float(max(np.max(np.abs(ed[ok])), np.max(np.abs(k.gamma * f.D[M][ok])), np.max(np.abs(f.j_in[M][ok]))))
    return OutputSector(
        edot=ed[ok],
        rhs_printed=E.continuity_rhs(k, f, output="printed")[M][ok],
        rhs_nosum=E.continuity_rhs(k, f, output="printed_nosum")[M][ok],
        rhs_corrected=E.continuity_rhs(k, f, output="corrected")[M][ok],
        k_measured=(base - ed)[ok],
        k_printed=f.k_out_printed[ok],
        k_corrected=f.k_out[ok],
        scale=scale,
    )


def global_balance_residual(budget: E.LayerBudget) -> float:
    """Relative residual of the global balance (11): ``d/dt Σe = -γΣD + ΣK^in - ΣK^out``.

    Parameters
    ----------
    budget : LayerBudget
        The layer budget of a trajectory (:func:`~bbdlib.bulk_boundary.energy.layer_budget`).

    Returns
    -------
    float
        ``max_t |ė - rhs| / max_t (|ė| + |rhs|)`` over the interior samples, with ``ė`` of the
        total energy measured by :func:`bbdlib.numerics.time_derivative`.
    """
    dE = time_derivative(budget.t, budget.energy.sum(-1)[:, None])[:, 0]
    rhs = budget.total_rate
    ok = np.isfinite(dE)
    return float(np.max(np.abs(dE - rhs)[ok]) / np.max(np.abs(dE[ok]) + np.abs(rhs[ok])))


@dataclass(frozen=True)
class StudyRow:
    """One (configuration, method) of :func:`study`.

    Attributes
    ----------
    config : int
        Index of the configuration.
    widths : tuple of int
        Layer widths.
    activation, loss, drive : str
        The configuration.
    method : str
        The integrator.
    res : list of Residuals
        At ``n_steps, 2 n_steps, 4 n_steps``.
    orders : dict
        Fitted convergence order per residual field (``input``, ``bulk``, ``output``,
        ``sum_rule``, ``local_error``; fields that are NaN, e.g. ``bulk`` for ``M = 2``, are absent).
    """

    config: int
    widths: tuple
    activation: str
    loss: str
    drive: str
    method: str
    res: list
    orders: dict


def study(configs, *, gamma: float, T: float, n_steps: int, seed: int = 0, velocity_scale: float = 0.3,
          methods=("cs2", "cs4")) -> list[StudyRow]:
    """Run the convergence study of the continuity chapter.

    Parameters
    ----------
    configs : sequence
        ``(widths, activation, loss, drive)`` per configuration; configuration ``c`` uses
        ``demo_problem(..., rng=seed + c)``.
    gamma : float
        Damping.
    T : float
        Time span.
    n_steps : int
        Coarsest step count (``>= 16``); each configuration is integrated with every method at
        ``n_steps, 2 n_steps, 4 n_steps`` over ``[0, T]``.
    seed : int
        Base seed.
    velocity_scale : float
        Scale of the initial velocities.
    methods : sequence of str
        Integrators.

    Returns
    -------
    list of StudyRow
        One per (configuration, method).
    """
    n_steps = check_int("n_steps", n_steps, minimum=16)
    out = []
    for c, (widths, act, loss, drive) in enumerate(configs):
        net, th, v0, dr = demo_problem(widths, act, loss, drive=drive, rng=seed + c, velocity_scale=velocity_scale)
        for method in methods:
            rs = convergence(net, th, v0, dr, gamma=gamma, T=T, method=method,
                             n_steps_list=(n_steps, 2 * n_steps, 4 * n_steps))
            hs = [r.h for r in rs]
            orders = {key: fit_order(hs, [getattr(r, key) for r in rs])
                      for key in ("input", "bulk", "output", "sum_rule", "local_error")
                      if not np.isnan(getattr(rs[0], key))}
            out.append(StudyRow(config=c, widths=tuple(widths), activation=act, loss=loss, drive=drive,
                                method=method, res=rs, orders=orders))
    return out


def worst_ratio(rows: list[StudyRow], key: str, *, methods=("cs2", "cs4"), drives=None) -> float:
    """The largest residual in units of the integrator's local error over a study.

    Parameters
    ----------
    rows : list of StudyRow
        A :func:`study`.
    key : str
        A field of :class:`Residuals` (``"input"``, ``"bulk"``, ``"output"``, ``"eq19"``,
        ``"sum_rule"``, ``"sum_rule_legendre"``, ...).
    methods : sequence of str
        Integrators to include.
    drives : sequence of str, optional
        Drives to include (default all).

    Returns
    -------
    float
        ``max residual / ε_h`` over the selected rows and all their steps (NaN entries skipped).
    """
    vals = [getattr(r, key) / r.local_error for row in rows if row.method in methods
            and (drives is None or row.drive in drives) for r in row.res if not np.isnan(getattr(r, key))]
    if not vals:
        raise ValueError(f"no finite {key!r} residual in the selected rows")
    return float(max(vals))


def study_refinement(rows: list[StudyRow], key: str, *, methods=("cs2", "cs4"), drives=None) -> Refinement:
    """The step-refinement rule (:func:`~bbdlib.bulk_boundary.integrator.refinement_check`) on one residual of a study.

    Every selected (configuration, method) row is one case; its residual ``key`` at the study's
    three steps ``h, h/2, h/4`` is judged against the order of its integrator.

    Parameters
    ----------
    rows : list of StudyRow
        A :func:`study`.
    key : str
        A field of :class:`Residuals` (``"input"``, ``"bulk"``, ``"output"``, ``"eq19"``,
        ``"sum_rule"``, ``"sum_rule_legendre"``).
    methods : sequence of str
        Integrators to include.
    drives : sequence of str, optional
        Drives to include (default all).

    Returns
    -------
    Refinement
        One case per selected row (rows where ``key`` is NaN, e.g. no bulk, are skipped).

    Raises
    ------
    ValueError
        If no selected row has a finite ``key`` residual.
    """
    sel = [row for row in rows if row.method in methods and (drives is None or row.drive in drives)
           and not np.isnan(getattr(row.res[0], key))]
    if not sel:
        raise ValueError(f"no finite {key!r} residual in the selected rows")
    steps = np.array([[r.h for r in row.res] for row in sel]).T
    res = np.array([[getattr(r, key) for r in row.res] for row in sel]).T
    return refinement_check(steps, res, [row.method for row in sel])


def fitted_orders(rows: list[StudyRow], key: str, method: str) -> np.ndarray:
    """The fitted convergence orders of one residual field, one per configuration.

    Parameters
    ----------
    rows : list of StudyRow
        A :func:`study`.
    key : str
        A key of :attr:`StudyRow.orders`.
    method : str
        The integrator.

    Returns
    -------
    numpy.ndarray
        In configuration order (configurations without that field, e.g. no bulk, are skipped).
    """
    return np.array([row.orders[key] for row in rows if row.method == method and key in row.orders])


def residual_table(rows: list[StudyRow]) -> str:
    """A Markdown table of a :func:`study` (residuals at the finest step, orders, the ratio of the residual at
    the coarsest step to its Richardson estimate, printed output residual).

    Parameters
    ----------
    rows : list of StudyRow
        A :func:`study`.

    Returns
    -------
    str
        Markdown.
    """
    head = ("| # | widths | σ, loss | drive | method | h | ε_h (local error) | input (26) | bulk (21) "
            "| output (31), corrected "
            "| orders in/bulk/out | r(h)/E(h) in/bulk/out | sum rule (17) | output (31) as printed |")
    lines = [head, "|" + "---|" * (head.count("|") - 1)]
    for r in rows:
        f = r.res[-1]
        o = r.orders
        bulk = "–" if np.isnan(f.bulk) else f"{f.bulk:.1e}"
        ob = "–" if "bulk" not in o else f"{o['bulk']:.2f}"
        ratios = []
        for key in ("input", "bulk", "output"):
            if np.isnan(getattr(r.res[0], key)):
                ratios.append("–")
                continue
            v = refinement_check([x.h for x in r.res], [getattr(x, key) for x in r.res], r.method)
            ratios.append(f"{v.ratio[0]:.2f}")
        lines.append(
            f"| {r.config + 1} | {'-'.join(map(str, r.widths))} | {r.activation}, {r.loss} | {r.drive} | "
            f"{r.method} | {f.h:.2g} | {f.local_error:.1e} | {f.input:.1e} | {bulk} | {f.output:.1e} | "
            f"{o['input']:.2f} / {ob} / {o['output']:.2f} | {' / '.join(ratios)} | {f.sum_rule:.1e} | "
            f"{f.output_printed:.2f} |")
    return "\n".join(lines)


@dataclass(frozen=True)
class ProbeBudget:
    """Integrated energy budget of a short probe run (:func:`probe_budget`).

    Attributes
    ----------
    inject_in : float
        ``∫ΣK^in dt``.
    inject_out : float
        ``-∫ΣK^out dt`` (corrected (32)).
    dissipation : numpy.ndarray, shape (M,)
        ``∫γΣ_i D_{i,m} dt`` per site layer.
    flux : numpy.ndarray, shape (M - 1,)
        ``∫Σ J_{(·,m)→(·,m+1)} dt``.
    delta_e : numpy.ndarray, shape (M,)
        Change of stored energy per layer.
    closure : float
        ``|ΔΣe - ∫(ΣK^in - ΣK^out - γΣD)| / throughput``.
    sum_rule : float
        ``max|Σe - (½|Ẇ|² + ½|ḃ|² + ℓ)| / max|e|``.
    frac_in_positive, frac_out_positive : float
        Fraction of the time each boundary feeds energy in.
    theta_end, v_end : numpy.ndarray
        The final state.
    budget : LayerBudget
        The budget at every time of the probe.
    """

    inject_in: float
    inject_out: float
    dissipation: np.ndarray
    flux: np.ndarray
    delta_e: np.ndarray
    closure: float
    sum_rule: float
    frac_in_positive: float
    frac_out_positive: float
    theta_end: np.ndarray
    v_end: np.ndarray
    budget: E.LayerBudget


def probe_budget(net, theta, v, *, gamma: float, stream, h: float, method: str = "cs4") -> ProbeBudget:
    """Layer energy budget of a short run from ``(theta, v)`` over the whole ``stream``.

    Integrates eq. (4) over ``n_samples × dwell`` of ``stream`` (a smooth
    :class:`~bbdlib.bulk_boundary.drives.SampleStream`), evaluates every site's fields and
    integrates the layer budget over the run.  ``closure`` and ``sum_rule`` measure the
    numerical accuracy.

    Parameters
    ----------
    net : Network
        The network.
    theta, v : array_like, shape (P,)
        The state to probe from.
    gamma : float
        Damping.
    stream : SampleStream
        The samples shown during the probe.
    h : float
        Target step (rounded so that the run has a whole number of steps).
    method : str
        Integrator.

    Returns
    -------
    ProbeBudget
    """
    T = stream.Xs.shape[0] * stream.dwell
    n = int(round(T / check_real("h", h, low=0.0, low_inclusive=False)))
    tr = integrate(net, theta, v, gamma=gamma, drive=stream, h=T / n, n_steps=n, method=method)
    return _probe_of(tr)


def probe_budgets(net, thetas, vs, *, gamma: float, streams, h: float, method: str = "cs4") -> list[ProbeBudget]:
    """:func:`probe_budget` for several states at once, integrated together in one vectorised state.

    Parameters
    ----------
    net : Network
        The network.
    thetas, vs : array_like, shape (R, P)
        The states to probe from.
    gamma : float
        Damping.
    streams : sequence of SampleStream
        One stream per state, all of the same duration ``n_samples × dwell``.
    h : float
        Target step (rounded so that the run has a whole number of steps).
    method : str
        Integrator.

    Returns
    -------
    list of ProbeBudget
        One per state, equal to :func:`probe_budget` of that state to round-off.
    """
    streams = DriveBatch(streams)
    durations = {d.Xs.shape[0] * d.dwell if isinstance(d, SampleStream) else None for d in streams.drives}
    if None in durations:
        raise TypeError("streams must be SampleStreams")
    if len(durations) > 1:
        raise ValueError(f"the members of streams disagree in duration: {sorted(durations)}")
    T = durations.pop()
    n = int(round(T / check_real("h", h, low=0.0, low_inclusive=False)))
    tr = integrate(net, thetas, vs, gamma=gamma, drive=streams, h=T / n, n_steps=n, method=method)
    if tr.n_replicas is None:
        raise ValueError("thetas must be a batch of states, shape (R, P)")
    return [_probe_of(one) for one in tr.replicas()]


def _probe_of(tr: Trajectory) -> ProbeBudget:
    """The :class:`ProbeBudget` of one probe trajectory."""
    k = E.kinematics(tr)
    f = E.site_fields(k)
    b = E.layer_budget(k, f)
    cum = lambda y: cumulative_integral(k.t, y if y.ndim > 1 else y[:, None])[-1]  # noqa: E731
    inj_in, inj_out = float(cum(b.inject_in)[0]), float(cum(b.inject_out)[0])
    diss, flux = cum(b.dissipation), cum(b.flux)
    delta_e = b.energy[-1] - b.energy[0]
    throughput = abs(inj_in) + abs(inj_out) + float(np.sum(np.abs(diss)))
    closure = abs(delta_e.sum() - (inj_in + inj_out - diss.sum())) / throughput
    mech = 0.5 * np.sum(tr.v**2, axis=-1) + k.loss_i.sum(-1)
    site_max = max(float(np.max(np.abs(f.e[m]))) for m in range(1, f.M + 1))
    return ProbeBudget(
        inject_in=inj_in, inject_out=inj_out, dissipation=diss, flux=flux, delta_e=delta_e,
        closure=float(closure), sum_rule=float(np.max(np.abs(b.energy.sum(-1) - mech)) / site_max),
        frac_in_positive=float(np.mean(b.inject_in > 0)), frac_out_positive=float(np.mean(b.inject_out > 0)),
        theta_end=tr.theta[-1], v_end=tr.v[-1], budget=b,
    )


def describe_probe(p: ProbeBudget) -> str:
    """One sentence on a probe: boundary powers, direction of the link transport, where energy is dissipated.

    Parameters
    ----------
    p : ProbeBudget
        A probe (:func:`probe_budget`).

    Returns
    -------
    str
    """
    d = p.dissipation
    M = d.size
    direction = ", ".join(("forward" if f > 0 else "backward") for f in p.flux)
    return (f"the output boundary feeds in {p.inject_out:+.2f} and "
            f"the input boundary {p.inject_in:+.2f}; the link transport between consecutive layers runs {direction} "
            f"(layer 1→2, ..., {M - 1}→{M}); the output layer dissipates {d[-1]:.2f} of the total {d.sum():.2f}, "
            f"the bulk layers {d[1:-1].sum():+.2f}")


@dataclass(frozen=True)
class OffshellIdentities:
    """Residuals of eqs. (20), (25), (30) of [A] off the equations of motion (:func:`offshell_identities`).

    Attributes
    ----------
    eq20_printed, eq20_corrected : float
        Bulk identity (20), relative residual with 𝓔(z) of (15) as printed / corrected (NaN for
        ``M = 2``).
    eq25_printed, eq25_corrected : float
        Input identity (25) with 𝓔(z) of (23) as printed / with the corrected (15).
    eq30_printed, eq30_corrected : float
        Output identity (30) with the printed source ``-Σ_i K^out_i`` / the corrected ``-K^out_i``.
    offshell_size : float
        Size of the 𝓔(z) terms (how far off shell the state is).
    edot_in, edot_bulk, edot_out : numpy.ndarray
        Measured ``ė`` of the input, bulk (concatenated) and output sites.
    rhs_eq20_printed, rhs_eq20_corrected, rhs_eq25_printed, rhs_eq25_corrected, rhs_eq30_printed, \
rhs_eq30_corrected : numpy.ndarray
        The right-hand sides compared with them.
    """

    eq20_printed: float
    eq20_corrected: float
    eq25_printed: float
    eq25_corrected: float
    eq30_printed: float
    eq30_corrected: float
    offshell_size: float
    edot_in: np.ndarray
    edot_bulk: np.ndarray
    edot_out: np.ndarray
    rhs_eq20_printed: np.ndarray
    rhs_eq20_corrected: np.ndarray
    rhs_eq25_printed: np.ndarray
    rhs_eq25_corrected: np.ndarray
    rhs_eq30_printed: np.ndarray
    rhs_eq30_corrected: np.ndarray


def offshell_identities(net, *, gamma: float, rng=0, amplitude: float = 0.5, eps: float = 1e-3) -> OffshellIdentities:
    """Test eqs. (20), (25), (30) of [A] away from the equations of motion.

    At a random state ``(θ, θ̇)`` with a moving input and target, the accelerations are set
    to ``Ẅ^(m) = -γẆ - f_W^(m) ⊗ h^(m)``, ``b̈^(m) = -γḃ - f_b^(m)`` with random ``f_W ≠ f_b``
    (so every ``𝓔 ≠ 0``).  ``ė`` is measured along the path ``θ(t) = θ + θ̇ t + ½ θ̈ t²`` by
    fourth-order central differences of the densities without their ``∫dt`` terms, plus the
    integrands of those terms (their derivatives by definition).  It is compared with
    ``-γD + ΣJ_in - ΣJ_out (- K^out) + Σ (coefficient × velocity × 𝓔)`` of (20), (25), (30),
    with 𝓔 from (15), (23), (28) as printed, and with the neuron equation (15) corrected
    (its friction term uses ``W^(m-1)σ(z^(m-1))``).

    Parameters
    ----------
    net : Network
        A network with ``N_1 = ... = N_M`` (so that the printed (15) can be evaluated).
    gamma : float
        Damping.
    rng : numpy.random.Generator or int
        Source of the state, the drive and the off-shell forces.
    amplitude : float
        Amplitude of the moving input and target.
    eps : float
        Step of the finite differences along the path.

    Returns
    -------
    OffshellIdentities
    """
    if len(set(net.widths[1:])) != 1:
        raise ValueError("the printed neuron equation (15) needs N_1 = ... = N_M; got " + str(net.widths))
    rng = check_generator("rng", rng)
    M = net.depth
    th = net.init_params(rng)
    v = 0.5 * rng.normal(size=net.n_params)
    drive = OscillatingDrive(rng.normal(size=net.widths[0]), amplitude, 1.3, rng.normal(size=net.widths[-1]),
                             phase=rng.uniform(0, 6.3, net.widths[0]), target_amplitude=amplitude,
                             target_phase=rng.uniform(0, 6.3, net.widths[-1]))
    fW = [rng.normal(size=(1, n)) for n in net.widths[1:]]
    fb = [rng.normal(size=(1, n)) for n in net.widths[1:]]
    t0 = 0.4
    k0 = _kinematics(net, gamma, drive, np.array([t0]), th[None], v[None], offshell=(fW, fb))
    f0 = E.site_fields(k0, quadrature="trapezoid")
    # the full acceleration vector, flat
    accW = [k0.Wddot(m, 0) for m in range(M)]
    acc = net.pack(accW, [k0.bddot[m][0] for m in range(M)])
    # e without its ∫ term along the path, at t0 + (-2, -1, 1, 2) eps
    offs = np.array([-2.0, -1.0, 1.0, 2.0]) * eps
    ts = t0 + offs
    thp = th[None] + offs[:, None] * v[None] + 0.5 * offs[:, None] ** 2 * acc[None]
    vp = v[None] + offs[:, None] * acc[None]
    kp = _kinematics(net, gamma, drive, ts, thp, vp)
    fp = E.site_fields(kp, quadrature="trapezoid")
    c4 = np.array([1.0, -8.0, 8.0, -1.0]) / (12.0 * eps)
    edot = [None]
    for m in range(1, M + 1):
        d = c4 @ fp.e_local(m)
        if m < M:
            d = d + f0.integrand[m][0]
        edot.append(d)
    # 𝓔 terms, literally from (15), (23), (28)
    def E_W(m):  # (15)/(23): Ẅ - h_j (z̈_i - Ṡ_i) + γ[Ẇ - h_j (ż_i - S_i)]
        h = k0.h[m][0]
        return (accW[m] - np.outer(k0.zddot[m + 1][0] - k0.Sdot[m][0], h)
                + gamma * (k0.Wdot[m][0] - np.outer(k0.zdot[m + 1][0] - k0.S[m][0], h)))

    def E_z(m, printed):  # (15) for 1 < m < M, (23) for m = 1
        W, ds = k0.W[m][0], k0.dsigma[m][0]
        acc_part = (k0.zddot[m][0] - k0.Sdot[m - 1][0] - ds * (W.T @ k0.zddot[m + 1][0]) + ds * (W.T @ k0.Sdot[m][0]))
        S_fric = k0.S[m][0] if (printed and m > 1) else k0.S[m - 1][0]
        return acc_part + gamma * (k0.zdot[m][0] - S_fric - ds * (W.T @ k0.zdot[m + 1][0]) + ds * (W.T @ k0.S[m][0]))

    E_Z = (k0.zddot[M][0] - k0.Sdot[M - 1][0] + gamma * (k0.zdot[M][0] - k0.S[M - 1][0]) + k0.dloss_dZ[0])
    base = [None] + [(-gamma * f0.D[m] + f0.j_in[m] - f0.j_out[m])[0] for m in range(1, M + 1)]
    out = {}
    scale = lambda *xs: max(float(np.max(np.abs(x))) for x in xs)  # noqa: E731
    for printed in (True, False):
        key = "printed" if printed else "corrected"
        # (25): input
        rhs1 = base[1] + 0.5 * np.sum(k0.Wdot[1][0] * E_W(1), axis=0) + np.sum(k0.Wdot[0][0] * E_W(0), axis=1) \
            + k0.zdot[1][0] * E_z(1, printed)
        out[f"eq25_{key}"] = float(np.max(np.abs(edot[1] - rhs1)) / scale(edot[1], rhs1))
        # (20): bulk
        res, rhss = [], []
        for m in range(2, M):
            rhs = base[m] + 0.5 * np.sum(k0.Wdot[m][0] * E_W(m), axis=0) \
                + 0.5 * np.sum(k0.Wdot[m - 1][0] * E_W(m - 1), axis=1) \
                + k0.zdot[m][0] * E_z(m, printed)
            res.append(float(np.max(np.abs(edot[m] - rhs)) / scale(edot[m], rhs)))
            rhss.append(rhs)
        out[f"eq20_{key}"] = max(res) if res else float("nan")
        out[f"rhs_eq20_{key}"] = np.concatenate(rhss) if rhss else np.zeros(0)
        out[f"rhs_eq25_{key}"] = rhs1
    # (30): output, printed source -Σ_i K_i (printed) vs own -K_i (corrected)
    common = base[M] + k0.zdot[M][0] * E_Z + 0.5 * np.sum(k0.Wdot[M - 1][0] * E_W(M - 1), axis=1)
    rhs_p = common - np.sum(f0.k_out_printed[0])
    rhs_c = common - f0.k_out[0]
    out.update(edot_bulk=np.concatenate([edot[m] for m in range(2, M)]) if M > 2 else np.zeros(0),
               edot_in=edot[1], edot_out=edot[M], rhs_eq30_printed=rhs_p, rhs_eq30_corrected=rhs_c)
    out["eq30_printed"] = float(np.max(np.abs(edot[M] - rhs_p)) / scale(edot[M], rhs_p))
    out["eq30_corrected"] = float(np.max(np.abs(edot[M] - rhs_c)) / scale(edot[M], rhs_c))
    # how far off shell: size of the 𝓔 terms relative to ė
    out["offshell_size"] = float(np.max(np.abs(E_z(2 if M > 2 else 1, False))))
    return OffshellIdentities(**out)


@dataclass(frozen=True)
class DwellBudget:
    """Site-by-site energy budget of a run on a piecewise-constant sample stream (:func:`dwell_budget`).

    Between two switches of the stream the drive is fixed, so every site obeys its continuity
    equation (21), (26) or (31) of [A] with no boundary source (``K^in = K^out = 0``); the data
    enter only at the switches, where the site energies jump.

    Attributes
    ----------
    h : float
        The step of the run.
    n_dwells : int
        Number of whole dwells evaluated.
    residual : numpy.ndarray, shape (M,)
        Per site layer ``m = 1..M``: the largest relative continuity residual
        ``|ė - rhs| / max_t(|ė| + Σ|terms|)`` over its sites, the dwells and their interior
        samples, with ``ė`` measured by sixth-order differences.
    closure : numpy.ndarray, shape (M,)
        Per site layer: the largest integrated per-site budget error over a dwell,
        ``|Δe_i - ∫(-γD_i + ΣJ_in - ΣJ_out) dt|``, relative to the largest
        ``∫(|γD_i| + |ΣJ_in| + |ΣJ_out|) dt`` of the layer in that dwell.
    dissipation : numpy.ndarray, shape (M,)
        ``∫γΣ_i D_{i,m} dt`` over the dwell interiors, per layer.
    flux : numpy.ndarray, shape (M - 1,)
        ``∫Σ J_{(·,m)→(·,m+1)} dt`` over the dwell interiors.
    switch_energy : float
        The change of ``Σe`` across the switches (from the last interior sample of a dwell to the
        first of the next), summed over the run: the energy the new samples bring in.
    """

    h: float
    n_dwells: int
    residual: np.ndarray
    closure: np.ndarray
    dissipation: np.ndarray
    flux: np.ndarray
    switch_energy: float


def dwell_budget(traj: Trajectory) -> DwellBudget:
    """Per-site continuity and energy budget of a run on an abrupt sample stream, dwell by dwell.

    The run must be saved at every step, start at a switch of its
    :class:`~bbdlib.bulk_boundary.drives.SampleStream` (``ramp = 0``) and span whole dwells of
    ``dwell / h >= 8`` steps.  In each dwell the samples strictly inside it are kept (the states at
    the switching times carry a half kick of the neighbouring sample's force); they are a
    trajectory of the scheme under the fixed pair of that dwell, and are evaluated together, one
    dwell per replica, with that pair as a :class:`~bbdlib.bulk_boundary.drives.ConstantDrive`.

    Parameters
    ----------
    traj : Trajectory
        The run (one replica).

    Returns
    -------
    DwellBudget

    Raises
    ------
    TypeError
        If ``traj`` is not a single trajectory on a ``SampleStream``.
    ValueError
        If the stream is smoothed, the run is not saved at every step, does not start at a
        switch or does not span whole dwells of at least 8 steps.
    """
    if not isinstance(traj, Trajectory) or traj.n_replicas is not None:
        raise TypeError("traj must be a single bbdlib.bulk_boundary.integrator.Trajectory")
    stream = traj.drive
    if not isinstance(stream, SampleStream):
        raise TypeError("traj.drive must be a SampleStream")
    if stream.ramp != 0.0:
        raise ValueError(f"dwell_budget needs an abrupt stream (ramp = 0), got ramp = {stream.ramp:g}")
    spd_f = stream.dwell / traj.h
    spd = int(round(spd_f))
    if abs(spd_f - spd) > 1e-9 * spd_f or spd < 8:
        raise ValueError(f"dwell / h must be an integer >= 8, got {spd_f:g}")
    dt = np.diff(traj.t)
    if not np.allclose(dt, traj.h, rtol=1e-9, atol=0.0):
        raise ValueError("traj must be saved at every step (save_every = 1)")
    k0_f = traj.t[0] / stream.dwell
    k0 = int(round(k0_f))
    if abs(k0_f - k0) > 1e-9 * max(1.0, abs(k0_f)):
        raise ValueError(f"traj must start at a switch of the stream (t0 = k·dwell), got t0 = {traj.t[0]:g}")
    n_dw = (len(traj) - 1) // spd
    if n_dw < 1 or (len(traj) - 1) % spd:
        raise ValueError(f"traj must span whole dwells of {spd} steps, got {len(traj) - 1} steps")
    net = traj.net
    M = net.depth
    # samples 1 .. spd-1 of each dwell: shape (spd - 1, n_dw, P)
    idx = np.arange(n_dw)[None, :] * spd + np.arange(1, spd)[:, None]
    theta, v = traj.theta[idx], traj.v[idx]
    n_s = stream.Xs.shape[0]
    drives = DriveBatch([ConstantDrive(stream.Xs[(k0 + d) % n_s], stream.Ys[(k0 + d) % n_s]) for d in range(n_dw)])
    tau = traj.h * np.arange(1, spd)
    kin = _kinematics(net, traj.gamma, drives, tau, theta, v)
    f = E.site_fields(kin)
    ed = E.measured_rate(f)
    rhs = E.continuity_rhs(kin, f, output="corrected")
    residual, closure, diss, flux = [], [], [], []
    for m in range(1, M + 1):
        terms = [kin.gamma * f.D[m], f.j_in[m], f.j_out[m]]
        residual.append(E.relative_residual(ed[m], rhs[m], terms))
        integ = cumulative_integral(tau, rhs[m])[-1]                                  # (n_dw, N_m)
        thr = cumulative_integral(tau, sum(np.abs(x) for x in terms))[-1]
        gap = np.abs(f.e[m][-1] - f.e[m][0] - integ)
        closure.append(float(np.max(np.max(gap, axis=-1) / np.maximum(np.max(thr, axis=-1), 1e-300))))
        diss.append(float(cumulative_integral(tau, kin.gamma * f.D[m].sum(-1))[-1].sum()))
        if m < M:
            flux.append(float(cumulative_integral(tau, f.j_out[m].sum(-1))[-1].sum()))
    total = sum(f.e[m].sum(-1) for m in range(1, M + 1))                               # (spd - 1, n_dw)
    switch = float(np.sum(total[0, 1:] - total[-1, :-1])) if n_dw > 1 else 0.0
    return DwellBudget(h=float(traj.h), n_dwells=n_dw, residual=np.array(residual), closure=np.array(closure),
                       dissipation=np.array(diss), flux=np.array(flux), switch_energy=switch)
