"""Energy budget of long runs in bounded memory: integrate eq. (4) of [A] and evaluate it in chunks.

The ``∫dt`` terms of the densities (9)/(18), (24) are carried across chunk boundaries with the
trapezoid rule; within a chunk :func:`~bbdlib.bulk_boundary.energy.site_fields` and
:func:`~bbdlib.bulk_boundary.energy.layer_budget` do the work, so the budget is built once.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from bbdlib.bulk_boundary import energy as E
from bbdlib.bulk_boundary.integrator import iter_integrate
from bbdlib.bulk_boundary.kinematics import _kinematics

__all__ = ["StreamedFields", "stream_site_fields"]


@dataclass(frozen=True)
class StreamedFields:
    """Site fields and layer budget of a long run.

    Attributes
    ----------
    t : numpy.ndarray, shape (T,)
        Every saved time.
    budget : LayerBudget
        The layer budget (:class:`~bbdlib.bulk_boundary.energy.LayerBudget`) at every time.
    loss : numpy.ndarray, shape (T,)
        ``ℓ = Σ_i ℓ_i``.
    kinetic : numpy.ndarray, shape (T,)
        ``½|Ẇ|² + ½|ḃ|²``.
    t_kept : numpy.ndarray
        The times at which the per-site fields are kept (every ``keep_every``-th).
    e, D, j_in, j_out : list
        Per site layer ``m = 1..M`` (index 0 unused), the fields of
        :class:`~bbdlib.bulk_boundary.energy.SiteFields` at ``t_kept``.
    checkpoints : tuple of numpy.ndarray
        ``(t, theta)`` at the end of every chunk.
    """

    t: np.ndarray
    budget: E.LayerBudget
    loss: np.ndarray
    kinetic: np.ndarray
    t_kept: np.ndarray
    e: list
    D: list
    j_in: list
    j_out: list
    checkpoints: tuple


def stream_site_fields(net, theta0, v0, *, gamma, drive, h, n_steps, method="cs2", chunk=256,
                       keep_every=1) -> StreamedFields:
    """Integrate eq. (4) and evaluate every site's ``e, D, J`` in chunks (bounded memory).

    Parameters
    ----------
    net : Network
        The network.
    theta0, v0 : array_like, shape (P,)
        Initial parameters and velocities.
    gamma : float
        Damping ``γ > 0``.
    drive : Drive
        Input and target.
    h : float
        Step size.
    n_steps : int
        Number of steps.
    method : str
        A scheme of :data:`~bbdlib.bulk_boundary.integrator.SCHEMES`.
    chunk : int
        Saved states per chunk.
    keep_every : int
        Keep the per-site fields every ``keep_every``-th step (the budget is kept at every step).

    Returns
    -------
    StreamedFields
    """
    M = net.depth
    keys = ("e", "D", "j_in", "j_out")
    keep = {key: [[] for _ in range(M + 1)] for key in keys}
    ts, tk, budgets, loss, kinetic = [], [], [], [], []
    ck_t, ck_theta = [], []
    f = kin_last = None
    count = 0
    for part in iter_integrate(net, theta0, v0, gamma=gamma, drive=drive, h=h, n_steps=n_steps,
                               method=method, chunk=chunk):
        kin = _kinematics(net, gamma, drive, part.t, part.theta, part.v)
        if f is None:
            f = E.site_fields(kin, quadrature="trapezoid")
        else:
            # continue the trapezoid rule across the chunk boundary
            i0 = [None]
            for m in range(1, M):
                g0 = 2.0 * f.integrand[m][-1]
                g1 = E._colsum_A(kin, m, kin.Sdot[m])[0]
                i0.append(f.integral[m][-1] + 0.5 * (part.t[0] - kin_last.t[-1]) * (g0 + g1))
            f = E.site_fields(kin, quadrature="trapezoid", integral0=i0)
        kin_last = kin
        ts.append(part.t)
        budgets.append(E.layer_budget(kin, f))
        loss.append(kin.loss_i.sum(-1))
        kinetic.append(0.5 * np.sum(part.v**2, axis=-1))
        ck_t.append(part.t[-1])
        ck_theta.append(part.theta[-1].copy())
        sel = (np.arange(count, count + part.t.size) % keep_every) == 0
        tk.append(part.t[sel])
        for key in keys:
            arrs = getattr(f, key)
            for m in range(1, M + 1):
                keep[key][m].append(arrs[m][sel])
        count += part.t.size
    budget = E.LayerBudget(**{name: np.concatenate([getattr(b, name) for b in budgets])
                              for name in ("t", "energy", "dissipation", "flux", "inject_in", "inject_out")})
    fields = {key: [None] + [np.concatenate(keep[key][m]) for m in range(1, M + 1)] for key in keys}
    return StreamedFields(t=np.concatenate(ts), budget=budget, loss=np.concatenate(loss),
                          kinetic=np.concatenate(kinetic), t_kept=np.concatenate(tk),
                          checkpoints=(np.array(ck_t), np.array(ck_theta)), **fields)
