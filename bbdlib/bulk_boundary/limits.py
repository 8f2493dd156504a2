"""Section 2 of [A] numerically: SGD (2), gradient flow (3) and the damped dynamics (4).

A small fully connected network (eq. (1) of [A]: ``z^{(m+1)} = W^{(m)} h^{(m)} + b^{(m)}``,
``h^{(0)} = X``, ``h^{(m)} = sigma(z^{(m)})``, identity output) with a fixed data set and the
mean-squared loss ``ell = 1/(2B) sum_samples |Z - Y|^2``.  The parameters are one flat vector
``theta`` (all ``W^{(m)}`` row-major, then ``b^{(m)}``, layer by layer).  Used by the
chapter on Sec. 2 to show that

* the SGD iteration (2) is the forward-Euler discretisation of the gradient flow (3)
  (global error ``O(eta)`` at a fixed ``eta t``), and
* the damped dynamics (4) with ``gamma = 1/eta`` approach the gradient flow (3) as
  ``gamma -> infinity`` (error ``O(gamma^{-2})`` on the time scale ``t/gamma``).

[A] D. Lee, H.-S. Lee, J. Yi, "Bulk–boundary decomposition of neural networks".
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
from scipy.integrate import solve_ivp

from bbdlib.validate import check_array, check_choice, check_generator, check_int, check_real

__all__ = ["MLP", "mlp", "sgd", "gradient_flow", "damped_flow"]

_ACT = {
    "tanh": (np.tanh, lambda z: 1.0 - np.tanh(z) ** 2),
    "sigmoid": (lambda z: 1.0 / (1.0 + np.exp(-z)),
                lambda z: np.exp(-z) / (1.0 + np.exp(-z)) ** 2),
}


@dataclass(frozen=True)
class MLP:
    """A network of widths ``N_0..N_M`` with fixed data ``X`` (B, N_0) and ``Y`` (B, N_M)."""

    widths: tuple[int, ...]
    X: np.ndarray
    Y: np.ndarray
    activation: str = "tanh"

    @property
    def n_params(self) -> int:
        N = self.widths
        return sum(N[m + 1] * N[m] + N[m + 1] for m in range(len(N) - 1))

    def unpack(self, theta: np.ndarray) -> tuple[list[np.ndarray], list[np.ndarray]]:
        """Views ``(W^{(0..M-1)}, b^{(0..M-1)})`` into the flat vector."""
        N, Ws, bs, k = self.widths, [], [], 0
        for m in range(len(N) - 1):
            Ws.append(theta[k:k + N[m + 1] * N[m]].reshape(N[m + 1], N[m]))
            k += N[m + 1] * N[m]
            bs.append(theta[k:k + N[m + 1]])
            k += N[m + 1]
        return Ws, bs

    def forward(self, theta: np.ndarray, X: np.ndarray | None = None) -> np.ndarray:
        """The output ``Z`` by the recursion (1) of [A], shape (B, N_M)."""
        sig = _ACT[self.activation][0]
        Ws, bs = self.unpack(theta)
        h = self.X if X is None else X
        for m, (W, b) in enumerate(zip(Ws, bs)):
            z = h @ W.T + b
            h = sig(z) if m < len(Ws) - 1 else z
        return h

    def loss(self, theta: np.ndarray) -> float:
        """``ell = 1/(2B) sum |Z - Y|^2``."""
        r = self.forward(theta) - self.Y
        return 0.5 * float(np.sum(r * r)) / len(self.X)

    def grad(self, theta: np.ndarray) -> np.ndarray:
        """``d ell / d theta`` by backpropagation (vectorised over the samples)."""
        sig, dsig = _ACT[self.activation]
        Ws, bs = self.unpack(theta)
        B = len(self.X)
        hs, zs = [self.X], []
        for m, (W, b) in enumerate(zip(Ws, bs)):
            z = hs[-1] @ W.T + b
            zs.append(z)
            hs.append(sig(z) if m < len(Ws) - 1 else z)
        delta = (hs[-1] - self.Y) / B            # d ell / d z^{(M)}
        gW, gb = [None] * len(Ws), [None] * len(Ws)
        for m in range(len(Ws) - 1, -1, -1):
            gW[m] = delta.T @ hs[m]
            gb[m] = delta.sum(axis=0)
            if m > 0:
                delta = (delta @ Ws[m]) * dsig(zs[m - 1])
        return np.concatenate([np.concatenate([gW[m].ravel(), gb[m]]) for m in range(len(Ws))])


def mlp(widths: Sequence[int], n_samples: int, rng, activation: str = "tanh"
        ) -> tuple[MLP, np.ndarray]:
    """A network with random data and a random initial ``theta`` (scale ``1/sqrt(N_m)``).

    Returns ``(net, theta0)``.  Targets are a fixed smooth function of the inputs
    (``Y = sin(X @ A)`` for a random ``A``) so that the loss landscape is not trivial.
    """
    widths = tuple(check_int(f"widths[{k}]", n, minimum=1) for k, n in enumerate(widths))
    if len(widths) < 2:
        raise ValueError(f"widths must list N_0..N_M with M >= 1, got {widths!r}")
    n_samples = check_int("n_samples", n_samples, minimum=1)
    check_choice("activation", activation, list(_ACT))
    rng = check_generator("rng", rng)
    X = rng.normal(size=(n_samples, widths[0]))
    A = rng.normal(size=(widths[0], widths[-1]))
    Y = np.sin(X @ A)
    net = MLP(widths=widths, X=X, Y=Y, activation=activation)
    parts = []
    for m in range(len(widths) - 1):
        parts.append(rng.normal(size=widths[m + 1] * widths[m]) / np.sqrt(widths[m]))
        parts.append(np.zeros(widths[m + 1]))
    return net, np.concatenate(parts)


def sgd(net: MLP, theta0: np.ndarray, eta: float, n_steps: int) -> np.ndarray:
    """Iterate eq. (2) of [A] ``n_steps`` times (full batch: the data set is fixed)."""
    eta = check_real("eta", eta, low=0.0, low_inclusive=False)
    n_steps = check_int("n_steps", n_steps, minimum=0)
    theta = check_array("theta0", theta0, shape=(net.n_params,)).copy()
    for _ in range(n_steps):
        theta -= eta * net.grad(theta)
    return theta


def gradient_flow(net: MLP, theta0: np.ndarray, eta: float, t_eval: np.ndarray,
                  rtol: float = 1e-10, atol: float = 1e-12) -> np.ndarray:
    """Solve eq. (3) of [A], ``theta' = -eta grad ell``; returns ``theta(t)``, shape (T, P)."""
    eta = check_real("eta", eta, low=0.0, low_inclusive=False)
    theta0 = check_array("theta0", theta0, shape=(net.n_params,))
    t_eval = check_array("t_eval", t_eval, ndim=1)
    sol = solve_ivp(lambda t, y: -eta * net.grad(y), (0.0, float(t_eval[-1])), theta0,
                    t_eval=t_eval, method="DOP853", rtol=rtol, atol=atol)
    if not sol.success:  # pragma: no cover
        raise RuntimeError(sol.message)
    return sol.y.T


def damped_flow(net: MLP, theta0: np.ndarray, gamma: float, t_eval: np.ndarray,
                v0: np.ndarray | None = None, rtol: float = 1e-10, atol: float = 1e-12
                ) -> np.ndarray:
    """Solve eq. (4) of [A], ``theta'' + gamma theta' + grad ell = 0``; returns ``theta(t)``.

    Initial velocity ``v0`` (default zero).  Radau (implicit) because the system is stiff
    for large ``gamma``.
    """
    gamma = check_real("gamma", gamma, low=0.0, low_inclusive=False)
    theta0 = check_array("theta0", theta0, shape=(net.n_params,))
    t_eval = check_array("t_eval", t_eval, ndim=1)
    P = net.n_params
    v0 = np.zeros(P) if v0 is None else check_array("v0", v0, shape=(P,))

    def rhs(t, y):
        return np.concatenate([y[P:], -gamma * y[P:] - net.grad(y[:P])])

    sol = solve_ivp(rhs, (0.0, float(t_eval[-1])), np.concatenate([theta0, v0]),
                    t_eval=t_eval, method="Radau", rtol=rtol, atol=atol)
    if not sol.success:  # pragma: no cover
        raise RuntimeError(sol.message)
    return sol.y[:P].T
