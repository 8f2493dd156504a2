"""Kinematics of a trajectory of eq. (4) of [A]: positions, velocities and accelerations of W, b, z, h.

Per *link layer* ``m = 0 .. M-1`` (joining layer ``m`` to layer ``m+1``):

* ``A^(m)_ij = ∂_t(W^(m)_ij h^(m)_j) = Ẇ_ij h_j + W_ij ḣ_j``  (``h^(0) = X``, ``h^(m) = σ(z^(m))``),
* ``S^(m)_i = Σ_j A^(m)_ij``, so that ``ż^(m+1) = S^(m) + ḃ^(m)`` (eq. (6) of [A] differentiated).

The time derivatives of the parameters come from the trajectory (``Ẇ, ḃ``) and from the
equations of motion (4) (``Ẅ = -γẆ - ∂ℓ/∂W``, ``b̈ = -γḃ - ∂ℓ/∂b``, analytic
backpropagation); ``ż, z̈`` follow by differentiating the forward pass (chain rule, with
``Ẋ, Ẍ`` of the drive).  No finite differences are used.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from bbdlib.bulk_boundary.integrator import Trajectory
from bbdlib.bulk_boundary.network import Network, _matvec, _rmatvec

__all__ = ["Kinematics", "kinematics"]


@dataclass(frozen=True)
class Kinematics:
    """Positions, velocities and accelerations of ``W, b, z, h`` along a trajectory.

    Lists are indexed by the paper's layer numbers.  Links ``m = 0..M-1``: ``W[m]``,
    ``Wdot[m]`` (Ẇ), ``bdot[m]`` (ḃ), ``bddot[m]`` (b̈), ``S[m]``, ``Sdot[m]`` (Ṡ),
    ``delta[m] = ∂ℓ/∂b^(m)``, ``Wdot_h[m] = Ẇ^(m) h^(m)``, ``W_hdot[m] = W^(m) ḣ^(m)``
    (``Ẅ^(m) = -γẆ^(m) - δ^(m) ⊗ h^(m)`` is never formed: :meth:`Wddot_matvec`,
    :meth:`Wddot_rmatvec`, :meth:`Wddot` at one time).  Neurons ``m = 1..M`` (index 0 unused):
    ``z[m], zdot[m], zddot[m]``.  Activations ``m = 0..M-1``: ``h[m], hdot[m], hddot[m]``
    (``h[0] = X``) and ``dsigma[m] = σ′(z^(m))``.  Arrays carry a leading time axis of
    length ``T``.
    """

    net: Network
    gamma: float
    t: np.ndarray
    W: list
    Wdot: list
    delta: list
    bdot: list
    bddot: list
    z: list
    zdot: list
    zddot: list
    h: list
    hdot: list
    hddot: list
    dsigma: list
    S: list
    Sdot: list
    Y: np.ndarray
    Ydot: np.ndarray
    loss_i: np.ndarray
    dloss_dZ: np.ndarray
    dloss_dY: np.ndarray
    v: np.ndarray
    Wdot_h: list
    W_hdot: list

    @property
    def M(self) -> int:
        """The depth ``M`` of the network."""
        return self.net.depth

    def Wddot_matvec(self, m: int, x: np.ndarray) -> np.ndarray:
        """``Ẅ^(m) x`` from the equation of motion (4): ``-γẆx - δ (h·x)``."""
        return -self.gamma * _matvec(self.Wdot[m], x) - self.delta[m] * np.sum(self.h[m] * x, axis=-1, keepdims=True)

    def Wddot_rmatvec(self, m: int, c: np.ndarray) -> np.ndarray:
        """``Ẅ^(m)ᵀ c`` from the equation of motion (4): ``-γẆᵀc - h (δ·c)``."""
        return -self.gamma * _rmatvec(self.Wdot[m], c) - self.h[m] * np.sum(self.delta[m] * c, axis=-1, keepdims=True)

    def Wddot(self, m: int, n: int) -> np.ndarray:
        """``Ẅ^(m)`` at time index ``n`` (eq. (4)), shape ``(N_{m+1}, N_m)``."""
        return -self.gamma * self.Wdot[m][n] - np.outer(self.delta[m][n], self.h[m][n])


def kinematics(traj: Trajectory) -> Kinematics:
    """All time derivatives needed by the energies, analytic (eqs. (1), (4), (6) of [A]).

    Parameters
    ----------
    traj : Trajectory
        Saved states of an integration of eq. (4).

    Returns
    -------
    Kinematics
    """
    if not isinstance(traj, Trajectory):
        raise TypeError("traj must be a bbdlib.bulk_boundary.integrator.Trajectory")
    return _kinematics(traj.net, traj.gamma, traj.drive, traj.t, traj.theta, traj.v)


def _kinematics(net, gamma, drive, t, theta, v, offshell=None) -> Kinematics:
    """Kinematics along ``(t, theta, v)``.  ``offshell=(fW, fb)`` (lists of arrays shaped like
    ``b^(m)``) replaces the forces of eq. (4) by ``Ẅ^(m) = -γẆ - fW^(m) ⊗ h^(m)`` and
    ``b̈^(m) = -γḃ - fb^(m)``: accelerations *off* the equations of motion when ``fW ≠ fb ≠ δ``
    (used to test the identities (20), (25), (30) of [A] that hold for any acceleration)."""
    sig = net.sigma
    lf = net.loss_fn
    X, Xdot, Xddot = drive.inputs(t)
    Y, Ydot = drive.targets(t)
    W, bs = net.unpack(theta)
    Wdot, bdot = net.unpack(v)
    M = net.depth
    # forward pass (eq. (1)) and backpropagation: δ^(m) = ∂ℓ/∂b^(m)
    z, h, dsigma = [None], [X], [None]
    for m in range(M):
        zz = _matvec(W[m], h[m]) + bs[m]
        z.append(zz)
        if m < M - 1:
            h.append(sig.f(zz))
            dsigma.append(sig.d1(zz))
    delta = net._backprop(theta, z, Y)
    bddot = [-gamma * bdot[m] - delta[m] for m in range(M)]           # b̈ from eq. (4)
    if offshell is not None:
        delta = list(offshell[0])
        bddot = [-gamma * bdot[m] - offshell[1][m] for m in range(M)]
    # differentiated forward pass: ż, z̈ (chain rule), with Ẅ from eq. (4)
    zdot, zddot, hdot, hddot = [None], [None], [Xdot], [Xddot]
    S, Sdot, Wdot_h, W_hdot = [], [], [], []
    for m in range(M):
        W_hd_hdd = np.matmul(W[m], np.stack([hdot[m], hddot[m]], axis=-1))
        Wd_h_hd = np.matmul(Wdot[m], np.stack([h[m], hdot[m]], axis=-1))
        wdh, wdhd = Wd_h_hd[..., 0], Wd_h_hd[..., 1]
        whd, whdd = W_hd_hdd[..., 0], W_hd_hdd[..., 1]
        wddh = -gamma * wdh - delta[m] * np.sum(h[m] * h[m], axis=-1, keepdims=True)
        s = wdh + whd
        sd = wddh + 2.0 * wdhd + whdd
        S.append(s)
        Sdot.append(sd)
        Wdot_h.append(wdh)
        W_hdot.append(whd)
        zdot.append(s + bdot[m])
        zddot.append(sd + bddot[m])
        if m < M - 1:
            d1 = dsigma[m + 1]
            hdot.append(d1 * zdot[-1])
            hddot.append(sig.d2(z[m + 1]) * zdot[-1] ** 2 + d1 * zddot[-1])
    Z = z[M]
    return Kinematics(net=net, gamma=gamma, t=np.asarray(t, dtype=float), W=W, Wdot=Wdot, delta=delta,
                      bdot=bdot, bddot=bddot, z=z, zdot=zdot, zddot=zddot, h=h, hdot=hdot, hddot=hddot,
                      dsigma=dsigma, S=S, Sdot=Sdot, Y=Y, Ydot=Ydot, loss_i=lf.f(Z, Y), dloss_dZ=lf.dZ(Z, Y),
                      dloss_dY=lf.dY(Z, Y), v=v, Wdot_h=Wdot_h, W_hdot=W_hdot)
