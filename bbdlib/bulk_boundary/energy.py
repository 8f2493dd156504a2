"""Energy densities, decay, currents and the Hamiltonian of Sec. 4 and App. A of [A].

Everything is evaluated along a :class:`~bbdlib.bulk_boundary.integrator.Trajectory`, vectorised over
time steps and neurons.  Notation (per *link layer* ``m = 0 .. M-1``, joining layer ``m``
to layer ``m+1``):

* ``A^(m)_ij = ∂_t(W^(m)_ij h^(m)_j) = Ẇ_ij h_j + W_ij ḣ_j``  (``h^(0) = X``, ``h^(m) = σ(z^(m))``),
* ``S^(m)_i = Σ_j A^(m)_ij``, so that ``ż^(m+1) = S^(m) + ḃ^(m)`` (eq. (6) of [A] differentiated),
* ``B^(m) = ḃ^(m)`` and ``Ḃ^(m) = b̈^(m)``.

The time derivatives of the parameters come from the trajectory (``Ẇ, ḃ``) and from the
equations of motion (4) (``Ẅ = -γẆ - ∂ℓ/∂W``, ``b̈ = -γḃ - ∂ℓ/∂b``, analytic
backpropagation); ``ż, z̈`` follow by differentiating the forward pass (chain rule,
with ``Ẋ, Ẍ`` of the drive).  No finite differences are used here, except in
:func:`time_derivative`, which *measures* ``ė`` from sampled ``e(t)``.

The ``∫dt`` terms of eqs. (9)/(18) and (24) are integrated along the trajectory
(:func:`cumulative_integral`).  Their constant of integration is not fixed by [A]; we
choose ``½ I^(m)_i(t_0) = ¼ Σ_a A^(m)_ai S^(m)_a`` at the first saved time, the unique
choice symmetric in ``i`` that makes the sum rule (17) hold at ``t_0`` (the constant does
not enter the continuity equations).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from bbdlib.bulk_boundary.integrator import Trajectory, iter_integrate
from bbdlib.bulk_boundary.network import ACTIVATIONS, LOSSES, Network, _matvec, _rmatvec
from bbdlib.validate import check_array, check_choice

__all__ = [
    "Kinematics", "kinematics", "cumulative_integral", "time_derivative", "SiteFields",
    "site_fields", "link_current", "link_k_in", "continuity_rhs", "energy_rate_eq19",
    "hamiltonian_printed16", "mechanical_hamiltonian", "legendre_hamiltonian",
    "generalized_power", "relative_residual", "stream_site_fields",
]


# --------------------------------------------------------------------------- kinematics
@dataclass(frozen=True)
class Kinematics:
    """Positions, velocities and accelerations of ``W, b, z, h`` along a trajectory.

    Lists are indexed by the paper's layer numbers: ``W[m], Wd[m], B[m], Bd[m], S[m],
    Sd[m], delta[m] = ∂ℓ/∂b^(m)`` for links ``m = 0..M-1`` (``Ẅ^(m) = -γẆ^(m) - δ^(m) ⊗ h^(m)``
    is never formed: :meth:`Wdd_matvec`, :meth:`Wdd_rmatvec`, :meth:`Wdd` at one time); ``z[m], zd[m], zdd[m]`` for ``m = 1..M``
    (index 0 unused); ``h[m], hd[m], hdd[m], sp[m] = σ'(z^(m))`` for ``m = 0..M-1``
    (``h[0] = X``).  Arrays carry a leading time axis of length ``T``.
    """

    net: Network
    gamma: float
    t: np.ndarray
    W: list
    Wd: list
    delta: list
    B: list
    Bd: list
    z: list
    zd: list
    zdd: list
    h: list
    hd: list
    hdd: list
    sp: list
    S: list
    Sd: list
    Y: np.ndarray
    Yd: np.ndarray
    loss_i: np.ndarray
    dloss_dZ: np.ndarray
    dloss_dY: np.ndarray
    v: np.ndarray

    Wdh: list = None
    Whd: list = None

    @property
    def M(self) -> int:
        return self.net.depth

    def Wdd_matvec(self, m: int, x: np.ndarray) -> np.ndarray:
        """``Ẅ^(m) x`` from the equation of motion (4): ``-γẆx - δ (h·x)``."""
        return -self.gamma * _matvec(self.Wd[m], x) - self.delta[m] * np.sum(self.h[m] * x, axis=-1, keepdims=True)

    def Wdd_rmatvec(self, m: int, c: np.ndarray) -> np.ndarray:
        """``Ẅ^(m)ᵀ c`` from the equation of motion (4): ``-γẆᵀc - h (δ·c)``."""
        return -self.gamma * _rmatvec(self.Wd[m], c) - self.h[m] * np.sum(self.delta[m] * c, axis=-1, keepdims=True)

    def Wdd(self, m: int, n: int) -> np.ndarray:
        """``Ẅ^(m)`` at time index ``n`` (eq. (4)), shape ``(N_{m+1}, N_m)``."""
        return -self.gamma * self.Wd[m][n] - np.outer(self.delta[m][n], self.h[m][n])


def kinematics(traj: Trajectory) -> Kinematics:
    """All time derivatives needed by the energies, analytic (eqs. (1), (4), (6) of [A])."""
    if not isinstance(traj, Trajectory):
        raise TypeError("traj must be a bbdlib.bulk_boundary.integrator.Trajectory")
    return _kinematics(traj.net, traj.gamma, traj.drive, traj.t, traj.theta, traj.v)


def _kinematics(net, gamma, drive, t, theta, v, offshell=None) -> Kinematics:
    """Kinematics along ``(t, theta, v)``.  ``offshell=(fW, fb)`` (lists of arrays shaped like
    ``b^(m)``) replaces the forces of eq. (4) by ``Ẅ^(m) = -γẆ - fW^(m) ⊗ h^(m)`` and
    ``b̈^(m) = -γḃ - fb^(m)``: accelerations *off* the equations of motion when ``fW ≠ fb ≠ δ``
    (used to test the identities (20), (25), (30) of [A] that hold for any acceleration)."""
    sig, dsig, ddsig = ACTIVATIONS[net.activation]
    lf = LOSSES[net.loss]
    X, Xd, Xdd = drive.inputs(t)
    Y, Yd = drive.targets(t)
    W, bs = net.unpack(theta)
    Wd, B = net.unpack(v)
    M = net.depth
    # forward pass (eq. (1)) and backpropagation: δ^(m) = ∂ℓ/∂b^(m)
    z, h, sp = [None], [X], [None]
    for m in range(M):
        zz = _matvec(W[m], h[m]) + bs[m]
        z.append(zz)
        if m < M - 1:
            h.append(sig(zz))
            sp.append(dsig(zz))
    delta = net._backprop(theta, z, Y)
    Bd = [-gamma * B[m] - delta[m] for m in range(M)]           # b̈ from eq. (4)
    if offshell is not None:
        delta = list(offshell[0])
        Bd = [-gamma * B[m] - offshell[1][m] for m in range(M)]
    # differentiated forward pass: ż, z̈ (chain rule), with Ẅ from eq. (4)
    zd, zdd, hd, hdd = [None], [None], [Xd], [Xdd]
    S, Sd, Wdh, Whd = [], [], [], []
    for m in range(M):
        W_hd_hdd = np.matmul(W[m], np.stack([hd[m], hdd[m]], axis=-1))
        Wd_h_hd = np.matmul(Wd[m], np.stack([h[m], hd[m]], axis=-1))
        wdh, wdhd = Wd_h_hd[..., 0], Wd_h_hd[..., 1]
        whd, whdd = W_hd_hdd[..., 0], W_hd_hdd[..., 1]
        wddh = -gamma * wdh - delta[m] * np.sum(h[m] * h[m], axis=-1, keepdims=True)
        s = wdh + whd
        sd = wddh + 2.0 * wdhd + whdd
        S.append(s)
        Sd.append(sd)
        Wdh.append(wdh)
        Whd.append(whd)
        zd.append(s + B[m])
        zdd.append(sd + Bd[m])
        if m < M - 1:
            d1 = sp[m + 1]
            hd.append(d1 * zd[-1])
            hdd.append(ddsig(z[m + 1]) * zd[-1] ** 2 + d1 * zdd[-1])
    Z = z[M]
    return Kinematics(net=net, gamma=gamma, t=np.asarray(t, dtype=float), W=W, Wd=Wd, delta=delta,
                      B=B, Bd=Bd, z=z, zd=zd, zdd=zdd, h=h, hd=hd, hdd=hdd, sp=sp, S=S, Sd=Sd,
                      Y=Y, Yd=Yd, loss_i=lf[0](Z, Y), dloss_dZ=lf[1](Z, Y), dloss_dY=lf[3](Z, Y), v=v,
                      Wdh=Wdh, Whd=Whd)


# --------------------------------------------------------------------------- helpers
def _colsum_A(k: Kinematics, m: int, c: np.ndarray) -> np.ndarray:
    """``Σ_a c_a A^(m)_ai`` for each ``i`` (a column contraction of the link array)."""
    return k.h[m] * _rmatvec(k.Wd[m], c) + k.hd[m] * _rmatvec(k.W[m], c)


def _colsum_Ad(k: Kinematics, m: int, c: np.ndarray) -> np.ndarray:
    """``Σ_a c_a Ȧ^(m)_ai`` with ``Ȧ = Ẅh + 2Ẇḣ + Wḧ``."""
    return (k.h[m] * k.Wdd_rmatvec(m, c) + 2.0 * k.hd[m] * _rmatvec(k.Wd[m], c)
            + k.hdd[m] * _rmatvec(k.W[m], c))


def cumulative_integral(t, g, *, method: str = "spline") -> np.ndarray:
    """``∫_{t_0}^{t} g dt'`` at every sample (axis 0 is time).

    ``"spline"``: antiderivative of the interpolating quintic spline (error O(h⁶));
    ``"trapezoid"``: cumulative trapezoid (O(h²); used when streaming long runs).
    """
    t = check_array("t", t, ndim=1)
    g = check_array("g", g)
    method = check_choice("method", method, ("spline", "trapezoid"))
    if g.shape[0] != t.size:
        raise ValueError(f"g must have {t.size} rows (one per time), got shape {g.shape}")
    if method == "spline" and t.size > 6:
        from scipy.interpolate import make_interp_spline

        F = make_interp_spline(t, g, k=5, axis=0).antiderivative()
        out = F(t)
        return out - out[0]
    from scipy.integrate import cumulative_trapezoid

    return cumulative_trapezoid(g, t, axis=0, initial=0.0)


_FD6 = np.array([-1.0, 9.0, -45.0, 0.0, 45.0, -9.0, 1.0]) / 60.0


def time_derivative(t, y) -> np.ndarray:
    """*Measured* ``dy/dt`` of samples on a uniform grid: sixth-order central differences.

    The three first and last rows are ``NaN`` (no one-sided stencils).  This is how the
    book measures ``ė`` independently of eq. (19) of [A].
    """
    t = check_array("t", t, ndim=1)
    y = check_array("y", y)
    if t.size < 7:
        raise ValueError("need at least 7 samples for the sixth-order stencil")
    dt = np.diff(t)
    if not np.allclose(dt, dt[0], rtol=1e-9, atol=0.0):
        raise ValueError("time_derivative needs uniformly spaced samples")
    out = np.full(y.shape, np.nan)
    n = t.size
    acc = np.zeros((n - 6, *y.shape[1:]))
    for k, c in enumerate(_FD6):
        if c != 0.0:
            acc += c * y[k:n - 6 + k]
    out[3:n - 3] = acc / dt[0]
    return out


# --------------------------------------------------------------------------- site fields
@dataclass(frozen=True)
class SiteFields:
    """Per-site fields along a trajectory; lists indexed by the site layer ``m = 1..M``.

    ``e[m]``: energy density, eq. (18) (bulk), (24) (``m = 1``), (29) (``m = M``).
    ``D[m]``: decay, eq. (12) (bulk and output) and (27) (``m = 1``).
    ``j_in[m]``: ``Σ_{j∈ε⁻} J_{(j,m-1)→(i,m)}`` (eq. (22)); at ``m = 1`` the input current
    ``Σ_j K^in_{(j,0)→(i,1)}`` (eq. (27)).  ``j_out[m]``: ``Σ_{a∈ε⁺} J_{(i,m)→(a,m+1)}``
    (zero at ``m = M``).  ``k_out_printed``: ``K^out_i`` as printed in eq. (32);
    ``k_out``: the corrected ``K^out_i = Ż_i ∂ℓ_i/∂Z_i - ℓ̇_i = -∂ℓ_i/∂Y_i Ẏ_i``.
    ``integrand[m]``: the integrand of the ``∫dt`` term (``m < M``), so that the
    derivative of ``e`` can be split into the part differentiated numerically and
    the part whose derivative is known by the fundamental theorem of calculus.
    """

    t: np.ndarray
    e: list
    D: list
    j_in: list
    j_out: list
    k_out_printed: np.ndarray
    k_out: np.ndarray
    integrand: list

    @property
    def M(self) -> int:
        return len(self.e) - 1


def site_fields(k: Kinematics, *, quadrature: str = "spline", integral0: list | None = None) -> SiteFields:
    """Energy densities, decays and currents of every site (eqs. (12), (18), (22), (24), (27), (29), (32)).

    ``integral0`` (optional) gives the value of ``I^(m)`` at the first sample (for
    streaming a long run in chunks); by default the symmetric constant of the module
    docstring is used.
    """
    M = k.M
    e, D, j_in, j_out, integ = [None], [None], [None], [None], [None]
    for m in range(1, M + 1):
        zd, zdd = k.zd[m], k.zdd[m]
        Wl, Wdl, Bl, Sl, Sdl = k.W[m - 1], k.Wd[m - 1], k.B[m - 1], k.S[m - 1], k.Sd[m - 1]
        rowW2 = np.sum(Wdl**2, axis=-1)                    # Σ_j (Ẇ^(m-1)_ij)²
        rowpW = rowW2 - Bl * k.Wdh[m - 1]                   # Σ_j ∂L/∂Ẇ^(m-1)_ij Ẇ_ij
        if m == 1:  # input sector, eq. (24)
            lower = 0.5 * zd**2 + 0.5 * rowW2 - zd * Sl + 0.5 * Sl**2
            d_lower = rowpW
            # eq. (27): K^in summed over j: Σ_j (-z̈_i + Ṡ_i) W_ij Ẋ_j
            j_in.append(-(zdd - Sdl) * k.Whd[0])
        else:  # eq. (18) / (29), lower half
            lower = 0.5 * zd**2 + 0.25 * rowW2 - 0.5 * zd * Sl + 0.25 * Sl**2
            d_lower = 0.5 * rowpW
            # eq. (22) summed over j ∈ ε⁻
            j_in.append(0.5 * zd * Sdl - 0.5 * (zdd - Sdl) * k.Whd[m - 1])
        if m < M:
            Wu, Wdu, Bu, Su, Sdu = k.W[m], k.Wd[m], k.B[m], k.S[m], k.Sd[m]
            zd_up, zdd_up = k.zd[m + 1], k.zdd[m + 1]
            hm, hdm, hddm = k.h[m], k.hd[m], k.hdd[m]
            # all column contractions Wᵀc, Ẇᵀc of this link layer in two batched products
            C = np.stack([Sdu, zd_up, Bu, zdd_up - Sdu], axis=-2)          # (..., 4, N_{m+1})
            WdT = np.matmul(C[..., :3, :], Wdu)                            # rows: Ẇᵀ Ṡ, Ẇᵀ ż, Ẇᵀ B
            WT = np.matmul(C, Wu)                                          # rows: Wᵀ Ṡ, Wᵀ ż, Wᵀ B, Wᵀ(z̈-Ṡ)
            colW2 = np.sum(Wdu**2, axis=-2)                  # Σ_a (Ẇ^(m)_ai)²
            colpW = colW2 - hm * WdT[..., 2, :]              # Σ_a ∂L/∂Ẇ^(m)_ai Ẇ_ai
            g = hm * WdT[..., 0, :] + hdm * WT[..., 0, :]     # Σ_a A_ai Σ_j Ȧ_aj
            if integral0 is None:
                i0 = 0.5 * _colsum_A(k, m, Su)[:1]
            else:
                i0 = np.asarray(integral0[m])[None]
            I = i0 + cumulative_integral(k.t, g, method=quadrature)
            upper = 0.25 * colW2 - 0.5 * (hm * WdT[..., 1, :] + hdm * WT[..., 1, :]) + 0.5 * I
            pz = Bl - k.sp[m] * WT[..., 2, :]                  # ∂L/∂ż^(m)_i
            d_upper = 0.5 * colpW
            # Σ_a ż_a Ȧ_ai with Ẅᵀż = -γẆᵀż - h (δ·ż)
            wddT_zd = -k.gamma * WdT[..., 1, :] - hm * np.sum(k.delta[m] * zd_up, axis=-1, keepdims=True)
            zA_dot = hm * wddT_zd + 2.0 * hdm * WdT[..., 1, :] + hddm * WT[..., 1, :]
            j_out.append(0.5 * zA_dot - 0.5 * hdm * WT[..., 3, :])
            integ.append(0.5 * g)
        else:  # output sector, eq. (29)
            upper = k.loss_i
            pz = Bl
            d_upper = 0.0
            j_out.append(np.zeros_like(zd))
            integ.append(None)
        e.append(lower + upper)
        D.append(d_lower + d_upper + pz * zd)
    Zd = k.zd[M]
    ldot = k.dloss_dZ * Zd + k.dloss_dY * k.Yd
    return SiteFields(t=k.t, e=e, D=D, j_in=j_in, j_out=j_out,
                      k_out_printed=-Zd * k.dloss_dZ - ldot, k_out=Zd * k.dloss_dZ - ldot, integrand=integ)


def continuity_rhs(k: Kinematics, f: SiteFields, *, output: str = "corrected") -> list:
    """Right-hand sides of the continuity equations (21), (26), (31) of [A], per site.

    ``output`` selects the output-sector source: ``"printed"`` is eq. (31) with (32) as
    printed (``-Σ_i K^out_i``, the sum over all output sites); ``"printed_nosum"`` the
    printed ``K^out_i`` of the site itself; ``"corrected"`` the corrected
    ``-K^out_i = ∂ℓ_i/∂Y_i Ẏ_i`` (zero for a fixed target); ``"none"`` no source.
    """
    output = check_choice("output", output, ("printed", "printed_nosum", "corrected", "none"))
    M = f.M
    out = [None]
    for m in range(1, M + 1):
        r = -k.gamma * f.D[m] + f.j_in[m] - f.j_out[m]
        if m == M:
            if output == "printed":
                r = r - np.sum(f.k_out_printed, axis=-1, keepdims=True)
            elif output == "printed_nosum":
                r = r - f.k_out_printed
            elif output == "corrected":
                r = r - f.k_out
        out.append(r)
    return out


def measured_rate(f: SiteFields) -> list:
    """``ė`` per site measured from the sampled ``e(t)`` by :func:`time_derivative`."""
    return [None] + [time_derivative(f.t, f.e[m]) for m in range(1, f.M + 1)]


def relative_residual(edot: np.ndarray, rhs: np.ndarray, terms: list) -> float:
    """``max_i max_t |ė - rhs| / max_t (|ė| + Σ |term|)`` over interior samples (no NaN)."""
    ok = np.all(np.isfinite(edot), axis=tuple(range(1, edot.ndim)))
    res = np.abs(edot - rhs)[ok]
    scale = np.abs(edot[ok]) + sum(np.abs(np.broadcast_to(x, edot.shape)[ok]) for x in terms)
    return float(np.max(np.max(res, axis=0) / np.maximum(np.max(scale, axis=0), 1e-300)))


def energy_rate_eq19(k: Kinematics, f: SiteFields, m: int) -> np.ndarray:
    """``ė^(m)_i`` of a bulk site (1 < m < M) by eq. (19) of [A], term by term (analytic)."""
    if not 1 < m < k.M:
        raise ValueError(f"eq. (19) is for bulk sites 1 < m < M = {k.M}, got m = {m}")
    zd, zdd, Sl, Sdl = k.zd[m], k.zdd[m], k.S[m - 1], k.Sd[m - 1]
    r = zd * zdd
    # Σ_j Ẇ_ij Ẅ_ij and Σ_a Ẇ_ai Ẅ_ai with Ẅ = -γẆ - δ ⊗ h (eq. (4))
    r = r + 0.5 * (-k.gamma * np.sum(k.Wd[m - 1] ** 2, axis=-1) - k.delta[m - 1] * k.Wdh[m - 1])
    r = r + 0.5 * (-k.gamma * np.sum(k.Wd[m] ** 2, axis=-2) - k.h[m] * _rmatvec(k.Wd[m], k.delta[m]))
    r = r - 0.5 * zdd * Sl - 0.5 * zd * Sdl
    r = r - 0.5 * _colsum_A(k, m, k.zdd[m + 1]) - 0.5 * _colsum_Ad(k, m, k.zd[m + 1])
    r = r + 0.5 * Sl * Sdl                      # ½ Σ_jk A_ij Ȧ_ik
    r = r + 0.5 * _colsum_A(k, m, k.Sd[m])      # ½ Σ_a A_ai Σ_j Ȧ_aj
    return r


# --------------------------------------------------------------------------- link currents
def link_current(k: Kinematics, m: int, n: int) -> np.ndarray:
    """The link current ``J_{(j,m)→(i,m+1)}`` of eq. (22) at time index ``n``, shape ``(N_{m+1}, N_m)``.

    Defined for link layers ``1 <= m <= M-1`` (at ``m = 0`` the current is ``K^in``,
    :func:`link_k_in`).
    """
    if not 1 <= m <= k.M - 1:
        raise ValueError(f"link layer m must be in 1..{k.M - 1}, got {m}")
    W, Wd, Wdd = k.W[m][n], k.Wd[m][n], k.Wdd(m, n)
    h, hd, hdd = k.h[m][n], k.hd[m][n], k.hdd[m][n]
    zd, zdd, Sd = k.zd[m + 1][n], k.zdd[m + 1][n], k.Sd[m][n]
    Adot = Wdd * h + 2.0 * Wd * hd + W * hdd
    Whd = W * hd
    return 0.5 * zd[:, None] * Adot - 0.5 * zdd[:, None] * Whd + 0.5 * Whd * Sd[:, None]


def link_k_in(k: Kinematics, n: int) -> np.ndarray:
    """``K^in_{(j,0)→(i,1)}`` of eq. (27) at time index ``n``, shape ``(N_1, N_0)``."""
    WXd = k.W[0][n] * k.hd[0][n]
    return -k.zdd[1][n][:, None] * WXd + WXd * k.Sd[0][n][:, None]


# --------------------------------------------------------------------------- Hamiltonians
def mechanical_hamiltonian(k: Kinematics) -> np.ndarray:
    """``e^{γt} (½|Ẇ|² + ½|ḃ|² + ℓ)``: the Legendre transform of ``e^{γt} L`` in the (W, b) chart."""
    return np.exp(k.gamma * k.t) * (0.5 * np.sum(k.v**2, axis=-1) + np.sum(k.loss_i, axis=-1))


def hamiltonian_printed16(k: Kinematics) -> np.ndarray:
    """Eq. (16) of [A] as printed: ``½ e^{γt} [Σ Ẇ² + Σ ḃ² + ℓ]`` (the ½ also multiplies ℓ)."""
    return 0.5 * np.exp(k.gamma * k.t) * (np.sum(k.v**2, axis=-1) + np.sum(k.loss_i, axis=-1))


def _lagrangian_wz(k: Kinematics, lam: float) -> np.ndarray:
    """The (W, z)-chart Lagrangian (6)-(7) with all velocities ``(Ẇ, ż)`` scaled by ``lam``.

    Built from ``z, ż`` and the substitution (6) directly:
    ``L = ½ Σ (λẆ)² + ½ Σ_m Σ_i (λ ż^(m+1)_i - Σ_j ∂_t(W_ij h_j))² - ℓ`` with
    ``∂_t(W h) = λẆ h + W σ'(z) λ ż`` for ``m >= 1`` and ``λẆ X + W Ẋ`` for ``m = 0``
    (``Ẋ`` is an external drive, not a velocity).
    """
    L = 0.5 * lam**2 * sum(np.sum(Wd**2, axis=(-2, -1)) for Wd in k.Wd)
    for m in range(k.M):
        if m == 0:
            dWh = lam * _matvec(k.Wd[0], k.h[0]) + _matvec(k.W[0], k.hd[0])
        else:
            dWh = lam * (_matvec(k.Wd[m], k.h[m]) + _matvec(k.W[m], k.sp[m] * k.zd[m]))
        L = L + 0.5 * np.sum((lam * k.zd[m + 1] - dWh) ** 2, axis=-1)
    return L - np.sum(k.loss_i, axis=-1)


def generalized_power(k: Kinematics) -> np.ndarray:
    """``Σ_φ p_φ φ̇`` in the (W, z) chart, ``p = ∂L/∂φ̇``.

    Computed numerically as ``d/dλ L(q, λq̇)`` at ``λ = 1``: ``L`` is a quadratic
    polynomial in ``λ``, so the central difference with step 1, ``(L(2) - L(0))/2``, is exact.
    """
    return 0.5 * (_lagrangian_wz(k, 2.0) - _lagrangian_wz(k, 0.0))


def legendre_hamiltonian(k: Kinematics) -> np.ndarray:
    """Eq. (8) of [A]: ``H = e^{γt}(Σ p φ̇ - L)`` of the (W, z)-chart Lagrangian, computed numerically."""
    return np.exp(k.gamma * k.t) * (generalized_power(k) - _lagrangian_wz(k, 1.0))


# --------------------------------------------------------------------------- long runs
def stream_site_fields(net, theta0, v0, *, gamma, drive, h, n_steps, method="cs2", chunk=256,
                       keep_every=1):
    """Integrate and evaluate every site's ``e, D, J`` in chunks (bounded memory).

    The ``∫dt`` terms are accumulated across chunks with the trapezoid rule.  Returns a
    dict with the saved times and, per site layer ``m``, arrays of ``e, D, j_in, j_out``
    (every ``keep_every``-th time step), ``layer_e`` (``Σ_i e^(m)_i`` at every step), the
    layer budget at every step (``dissipation[:, m-1] = γ Σ_i D_{i,m}``, ``flux[:, m-1] =
    Σ_i Σ_a J_{(i,m)→(a,m+1)}``, ``inject_in = Σ K^in``, ``inject_out = -Σ K^out`` with the
    corrected (32), ``loss``, ``kinetic = ½|Ẇ|² + ½|ḃ|²``) and ``checkpoints``: ``(t, theta)`` at the end of every chunk.
    """
    M = net.depth
    keys = ("e", "D", "j_in", "j_out")
    keep = {key: [[] for _ in range(M + 1)] for key in keys}
    ts, layer_e, tk = [], [], []
    bud = {"dissipation": [], "flux": [], "inject_in": [], "inject_out": [], "loss": [], "kinetic": []}
    ck_t, ck_theta = [], []
    I_last, t_last = None, None
    count = 0
    for part in iter_integrate(net, theta0, v0, gamma=gamma, drive=drive, h=h, n_steps=n_steps,
                               method=method, chunk=chunk):
        kin = _kinematics(net, gamma, drive, part.t, part.theta, part.v)
        if I_last is None:
            f = site_fields(kin, quadrature="trapezoid")
        else:
            # continue the trapezoid rule across the chunk boundary
            i0 = [None]
            for m in range(1, M):
                g0 = 2.0 * f.integrand[m][-1]
                g1 = _colsum_A(kin, m, kin.Sd[m])[0]
                i0.append(I_last[m] + 0.5 * (part.t[0] - t_last) * (g0 + g1))
            f = site_fields(kin, quadrature="trapezoid", integral0=i0)
        I_last = [None] + [2.0 * (f.e[m][-1] - _e_without_integral(kin, f, m)[-1]) for m in range(1, M)]
        t_last = part.t[-1]
        ts.append(part.t)
        layer_e.append(np.stack([f.e[m].sum(axis=-1) for m in range(1, M + 1)], axis=-1))
        bud["dissipation"].append(np.stack([gamma * f.D[m].sum(-1) for m in range(1, M + 1)], axis=-1))
        bud["flux"].append(np.stack([f.j_out[m].sum(-1) for m in range(1, M)], axis=-1))
        bud["inject_in"].append(f.j_in[1].sum(-1))
        bud["inject_out"].append(-f.k_out.sum(-1))
        bud["loss"].append(kin.loss_i.sum(-1))
        bud["kinetic"].append(0.5 * np.sum(part.v**2, axis=-1))
        ck_t.append(part.t[-1])
        ck_theta.append(part.theta[-1].copy())
        sel = (np.arange(count, count + part.t.size) % keep_every) == 0
        tk.append(part.t[sel])
        for key in keys:
            arrs = getattr(f, key)
            for m in range(1, M + 1):
                keep[key][m].append(arrs[m][sel])
        count += part.t.size
    out = {"t": np.concatenate(ts), "layer_e": np.concatenate(layer_e), "t_kept": np.concatenate(tk),
           "checkpoints": (np.array(ck_t), np.array(ck_theta))}
    for key, val in bud.items():
        out[key] = np.concatenate(val)
    for key in keys:
        out[key] = [None] + [np.concatenate(keep[key][m]) for m in range(1, M + 1)]
    return out


def _e_without_integral(k: Kinematics, f: SiteFields, m: int) -> np.ndarray:
    """``e^(m)`` minus its ``½∫dt`` term (for carrying the integral across chunks)."""
    zd, Wdl, Sl = k.zd[m], k.Wd[m - 1], k.S[m - 1]
    rowW2 = np.sum(Wdl**2, axis=-1)
    if m == 1:
        lower = 0.5 * zd**2 + 0.5 * rowW2 - zd * Sl + 0.5 * Sl**2
    else:
        lower = 0.5 * zd**2 + 0.25 * rowW2 - 0.5 * zd * Sl + 0.25 * Sl**2
    colW2 = np.sum(k.Wd[m] ** 2, axis=-2)
    return lower + 0.25 * colW2 - 0.5 * _colsum_A(k, m, k.zd[m + 1])
