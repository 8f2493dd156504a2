"""Energy densities, decay, currents and the Hamiltonian of Sec. 4 and App. A of [A].

Everything is evaluated on the :class:`~bbdlib.bulk_boundary.kinematics.Kinematics` of a
trajectory, vectorised over time steps and neurons (notation ``A^(m)_ij``, ``S^(m)_i`` as there).
The ``∫dt`` terms of eqs. (9)/(18) and (24) are integrated along the trajectory
(:func:`bbdlib.numerics.cumulative_integral`).  Their constant of integration is not fixed by
[A]; we choose ``½ I^(m)_i(t_0) = ¼ Σ_a A^(m)_ai S^(m)_a`` at the first saved time, the unique
choice symmetric in ``i`` that makes the sum rule (17) hold at ``t_0`` (the constant does not
enter the continuity equations).  The measured ``ė`` that the continuity equations are compared
with comes from :func:`bbdlib.numerics.time_derivative`.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from bbdlib.bulk_boundary.kinematics import Kinematics, kinematics
from bbdlib.bulk_boundary.network import _matvec, _rmatvec
from bbdlib.numerics import cumulative_integral, time_derivative
from bbdlib.validate import check_choice

__all__ = [
    "Kinematics", "kinematics", "SiteFields", "site_fields", "LayerBudget", "layer_budget",
    "link_current", "link_k_in", "continuity_rhs", "measured_rate", "energy_rate_eq19",
    "hamiltonian_printed_eq16", "mechanical_hamiltonian", "legendre_hamiltonian",
    "generalized_power", "relative_residual",
]


# --------------------------------------------------------------------------- helpers
def _colsum_A(k: Kinematics, m: int, c: np.ndarray) -> np.ndarray:
    """``Σ_a c_a A^(m)_ai`` for each ``i`` (a column contraction of the link array)."""
    return k.h[m] * _rmatvec(k.Wdot[m], c) + k.hdot[m] * _rmatvec(k.W[m], c)


def _colsum_Ad(k: Kinematics, m: int, c: np.ndarray) -> np.ndarray:
    """``Σ_a c_a Ȧ^(m)_ai`` with ``Ȧ = Ẅh + 2Ẇḣ + Wḧ``."""
    return (k.h[m] * k.Wddot_rmatvec(m, c) + 2.0 * k.hdot[m] * _rmatvec(k.Wdot[m], c)
            + k.hddot[m] * _rmatvec(k.W[m], c))


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
    ``integral[m]``: ``I^(m)_i = ∫dt Σ_a A^(m)_ai Σ_j Ȧ^(m)_aj`` (``m < M``; ``e`` contains
    ``½ I``), and ``integrand[m]``: ``½ dI/dt``, the integrand of the ``∫dt`` term of ``e``, so
    that the derivative of ``e`` can be split into the part differentiated numerically and the
    part whose derivative is known by the fundamental theorem of calculus.
    """

    t: np.ndarray
    e: list
    D: list
    j_in: list
    j_out: list
    k_out_printed: np.ndarray
    k_out: np.ndarray
    integrand: list
    integral: list

    @property
    def M(self) -> int:
        """The depth ``M`` (number of site layers)."""
        return len(self.e) - 1

    def e_local(self, m: int) -> np.ndarray:
        """``e^(m)`` without its ``½∫dt`` term (the part of the density local in time)."""
        if m == self.M:
            return self.e[m]
        return self.e[m] - 0.5 * self.integral[m]


def site_fields(k: Kinematics, *, quadrature: str = "spline", integral0: list | None = None) -> SiteFields:
    """Energy densities, decays and currents of every site (eqs. (12), (18), (22), (24), (27), (29), (32)).

    Parameters
    ----------
    k : Kinematics
        The kinematics of a trajectory.
    quadrature : {"spline", "trapezoid"}
        Rule for the ``∫dt`` terms (:func:`bbdlib.numerics.cumulative_integral`).
    integral0 : list, optional
        ``I^(m)`` at the first sample, per site layer ``m < M`` (for streaming a long run in
        chunks); by default the symmetric constant of the module docstring.

    Returns
    -------
    SiteFields
    """
    check_choice("quadrature", quadrature, ("spline", "trapezoid"))
    M = k.M
    e, D, j_in, j_out, integ, integrals = [None], [None], [None], [None], [None], [None]
    for m in range(1, M + 1):
        zd, zdd = k.zdot[m], k.zddot[m]
        Wdl, Bl, Sl, Sdl = k.Wdot[m - 1], k.bdot[m - 1], k.S[m - 1], k.Sdot[m - 1]
        rowW2 = np.sum(Wdl**2, axis=-1)                    # Σ_j (Ẇ^(m-1)_ij)²
        rowpW = rowW2 - Bl * k.Wdot_h[m - 1]                   # Σ_j ∂L/∂Ẇ^(m-1)_ij Ẇ_ij
        if m == 1:  # input sector, eq. (24)
            lower = 0.5 * zd**2 + 0.5 * rowW2 - zd * Sl + 0.5 * Sl**2
            d_lower = rowpW
            # eq. (27): K^in summed over j: Σ_j (-z̈_i + Ṡ_i) W_ij Ẋ_j
            j_in.append(-(zdd - Sdl) * k.W_hdot[0])
        else:  # eq. (18) / (29), lower half
            lower = 0.5 * zd**2 + 0.25 * rowW2 - 0.5 * zd * Sl + 0.25 * Sl**2
            d_lower = 0.5 * rowpW
            # eq. (22) summed over j ∈ ε⁻
            j_in.append(0.5 * zd * Sdl - 0.5 * (zdd - Sdl) * k.W_hdot[m - 1])
        if m < M:
            Wu, Wdu, Bu, Su, Sdu = k.W[m], k.Wdot[m], k.bdot[m], k.S[m], k.Sdot[m]
            zd_up, zdd_up = k.zdot[m + 1], k.zddot[m + 1]
            hm, hdm, hddm = k.h[m], k.hdot[m], k.hddot[m]
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
            integral = i0 + cumulative_integral(k.t, g, method=quadrature)
            upper = 0.25 * colW2 - 0.5 * (hm * WdT[..., 1, :] + hdm * WT[..., 1, :]) + 0.5 * integral
            pz = Bl - k.dsigma[m] * WT[..., 2, :]                  # ∂L/∂ż^(m)_i
            d_upper = 0.5 * colpW
            # Σ_a ż_a Ȧ_ai with Ẅᵀż = -γẆᵀż - h (δ·ż)
            wddT_zd = -k.gamma * WdT[..., 1, :] - hm * np.sum(k.delta[m] * zd_up, axis=-1, keepdims=True)
            zA_dot = hm * wddT_zd + 2.0 * hdm * WdT[..., 1, :] + hddm * WT[..., 1, :]
            j_out.append(0.5 * zA_dot - 0.5 * hdm * WT[..., 3, :])
            integ.append(0.5 * g)
            integrals.append(integral)
        else:  # output sector, eq. (29)
            upper = k.loss_i
            pz = Bl
            d_upper = 0.0
            j_out.append(np.zeros_like(zd))
            integ.append(None)
            integrals.append(None)
        e.append(lower + upper)
        D.append(d_lower + d_upper + pz * zd)
    Zd = k.zdot[M]
    ldot = k.dloss_dZ * Zd + k.dloss_dY * k.Ydot
    return SiteFields(t=k.t, e=e, D=D, j_in=j_in, j_out=j_out,
                      k_out_printed=-Zd * k.dloss_dZ - ldot, k_out=Zd * k.dloss_dZ - ldot, integrand=integ,
                      integral=integrals)


@dataclass(frozen=True)
class LayerBudget:
    """Layer-summed energy budget at every saved time (eqs. (11), (21), (26), (31) of [A]).

    Attributes
    ----------
    t : numpy.ndarray, shape (T,)
        Times.
    energy : numpy.ndarray, shape (T, M)
        ``E_m = Σ_i e^(m)_i`` per site layer ``m = 1..M`` (column ``m - 1``).
    dissipation : numpy.ndarray, shape (T, M)
        ``γ Σ_i D_{i,m}``.
    flux : numpy.ndarray, shape (T, M - 1)
        ``Σ_i Σ_a J_{(i,m)→(a,m+1)}``, from layer ``m`` to ``m + 1`` (``m = 1..M-1``).
    inject_in : numpy.ndarray, shape (T,)
        ``Σ_i Σ_j K^in_{(j,0)→(i,1)}`` (eq. (27)).
    inject_out : numpy.ndarray, shape (T,)
        ``-Σ_i K^out_i`` with the corrected (32).
    """

    t: np.ndarray
    energy: np.ndarray
    dissipation: np.ndarray
    flux: np.ndarray
    inject_in: np.ndarray
    inject_out: np.ndarray

    @property
    def total_rate(self) -> np.ndarray:
        """The right-hand side of the global balance: ``-γΣD + ΣK^in - ΣK^out``."""
        return -self.dissipation.sum(-1) + self.inject_in + self.inject_out


def layer_budget(k: Kinematics, f: SiteFields) -> LayerBudget:
    """Layer-summed energy budget: ``E_m = Σ_i e^(m)_i`` and its sources and sinks.

    Parameters
    ----------
    k : Kinematics
        The kinematics of the trajectory (for ``γ``).
    f : SiteFields
        Its site fields.

    Returns
    -------
    LayerBudget
    """
    M = f.M
    return LayerBudget(
        t=f.t,
        energy=np.stack([f.e[m].sum(-1) for m in range(1, M + 1)], axis=-1),
        dissipation=np.stack([k.gamma * f.D[m].sum(-1) for m in range(1, M + 1)], axis=-1),
        flux=np.stack([f.j_out[m].sum(-1) for m in range(1, M)], axis=-1),
        inject_in=f.j_in[1].sum(-1),
        inject_out=-f.k_out.sum(-1),
    )


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
    zd, zdd, Sl, Sdl = k.zdot[m], k.zddot[m], k.S[m - 1], k.Sdot[m - 1]
    r = zd * zdd
    # Σ_j Ẇ_ij Ẅ_ij and Σ_a Ẇ_ai Ẅ_ai with Ẅ = -γẆ - δ ⊗ h (eq. (4))
    r = r + 0.5 * (-k.gamma * np.sum(k.Wdot[m - 1] ** 2, axis=-1) - k.delta[m - 1] * k.Wdot_h[m - 1])
    r = r + 0.5 * (-k.gamma * np.sum(k.Wdot[m] ** 2, axis=-2) - k.h[m] * _rmatvec(k.Wdot[m], k.delta[m]))
    r = r - 0.5 * zdd * Sl - 0.5 * zd * Sdl
    r = r - 0.5 * _colsum_A(k, m, k.zddot[m + 1]) - 0.5 * _colsum_Ad(k, m, k.zdot[m + 1])
    r = r + 0.5 * Sl * Sdl                      # ½ Σ_jk A_ij Ȧ_ik
    r = r + 0.5 * _colsum_A(k, m, k.Sdot[m])      # ½ Σ_a A_ai Σ_j Ȧ_aj
    return r


# --------------------------------------------------------------------------- link currents
def link_current(k: Kinematics, m: int, n: int) -> np.ndarray:
    """The link current ``J_{(j,m)→(i,m+1)}`` of eq. (22) at time index ``n``, shape ``(N_{m+1}, N_m)``.

    Defined for link layers ``1 <= m <= M-1`` (at ``m = 0`` the current is ``K^in``,
    :func:`link_k_in`).
    """
    if not 1 <= m <= k.M - 1:
        raise ValueError(f"link layer m must be in 1..{k.M - 1}, got {m}")
    W, Wd, Wdd = k.W[m][n], k.Wdot[m][n], k.Wddot(m, n)
    h, hd, hdd = k.h[m][n], k.hdot[m][n], k.hddot[m][n]
    zd, zdd, Sd = k.zdot[m + 1][n], k.zddot[m + 1][n], k.Sdot[m][n]
    Adot = Wdd * h + 2.0 * Wd * hd + W * hdd
    Whd = W * hd
    return 0.5 * zd[:, None] * Adot - 0.5 * zdd[:, None] * Whd + 0.5 * Whd * Sd[:, None]


def link_k_in(k: Kinematics, n: int) -> np.ndarray:
    """``K^in_{(j,0)→(i,1)}`` of eq. (27) at time index ``n``, shape ``(N_1, N_0)``."""
    WXd = k.W[0][n] * k.hdot[0][n]
    return -k.zddot[1][n][:, None] * WXd + WXd * k.Sdot[0][n][:, None]


# --------------------------------------------------------------------------- Hamiltonians
def mechanical_hamiltonian(k: Kinematics) -> np.ndarray:
    """``e^{γt} (½|Ẇ|² + ½|ḃ|² + ℓ)``: the Legendre transform of ``e^{γt} L`` in the (W, b) chart."""
    return np.exp(k.gamma * k.t) * (0.5 * np.sum(k.v**2, axis=-1) + np.sum(k.loss_i, axis=-1))


def hamiltonian_printed_eq16(k: Kinematics) -> np.ndarray:
    """Eq. (16) of [A] as printed: ``½ e^{γt} [Σ Ẇ² + Σ ḃ² + ℓ]`` (the ½ also multiplies ℓ)."""
    return 0.5 * np.exp(k.gamma * k.t) * (np.sum(k.v**2, axis=-1) + np.sum(k.loss_i, axis=-1))


def _lagrangian_wz(k: Kinematics, lam: float) -> np.ndarray:
    """The (W, z)-chart Lagrangian (6)-(7) with all velocities ``(Ẇ, ż)`` scaled by ``lam``.

    Built from ``z, ż`` and the substitution (6) directly:
    ``L = ½ Σ (λẆ)² + ½ Σ_m Σ_i (λ ż^(m+1)_i - Σ_j ∂_t(W_ij h_j))² - ℓ`` with
    ``∂_t(W h) = λẆ h + W σ'(z) λ ż`` for ``m >= 1`` and ``λẆ X + W Ẋ`` for ``m = 0``
    (``Ẋ`` is an external drive, not a velocity).
    """
    L = 0.5 * lam**2 * sum(np.sum(Wd**2, axis=(-2, -1)) for Wd in k.Wdot)
    for m in range(k.M):
        if m == 0:
            dWh = lam * _matvec(k.Wdot[0], k.h[0]) + _matvec(k.W[0], k.hdot[0])
        else:
            dWh = lam * (_matvec(k.Wdot[m], k.h[m]) + _matvec(k.W[m], k.dsigma[m] * k.zdot[m]))
        L = L + 0.5 * np.sum((lam * k.zdot[m + 1] - dWh) ** 2, axis=-1)
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
