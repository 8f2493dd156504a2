"""A fully connected network in the notation of the bulk–boundary paper [A].

Layers are numbered as in Sec. 2 of [A]: the input is ``h^(0) = X``, the
pre-activations ("neurons") are ``z^(m)`` for ``m = 1 .. M``, with

    z^(m+1) = W^(m) h^(m) + b^(m),   h^(m) = σ(z^(m))  (1 <= m <= M-1),   Z = z^(M)

(eq. (1) of [A]; footnote 3: the output activation is the identity).  ``W^(m)``
has shape ``(N_{m+1}, N_m)``.

All parameters live in one flat vector ``theta`` (the order is ``W^(0), b^(0),
W^(1), b^(1), ...``, each ``W`` row-major) so that the integrator works on plain
arrays; :meth:`Network.unpack` returns views.  Every routine is vectorised over
neurons and, where a leading axis is present, over samples or time steps; the only
Python loop is over the ``M`` layers.

Activations come from the book's one table, :mod:`bbdlib.activations`, and must be C²
because the energy currents of [A] contain ``σ''`` through ``∂²_t σ(z)``.  ReLU is
therefore *excluded*: its σ'' is a Dirac delta, and the currents (13)/(22) are not
defined at the kink (``activation(name, smooth=True)`` raises a clear error).

Losses must be a sum of site terms ``ℓ(Z, Y) = Σ_i ℓ_i(Z_i, Y_i)`` (the assumption
stated above eq. (29) of [A]); ``mse`` is ``ℓ_i = ½ (Z_i - Y_i)²`` and ``bce`` is
the logistic (sigmoid) cross-entropy ``ℓ_i = softplus(Z_i) - Y_i Z_i``.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from bbdlib.activations import Activation, activation, sigmoid, sigmoid_prime
from bbdlib.validate import check_array, check_choice, check_generator, check_int, check_real

__all__ = ["LOSSES", "Loss", "Network", "loss_functions"]


# --------------------------------------------------------------------------- losses
@dataclass(frozen=True)
class Loss:
    """A site-decomposable loss ``ℓ(Z, Y) = Σ_i ℓ_i(Z_i, Y_i)`` with the derivatives [A] needs.

    Attributes
    ----------
    name : str
        Key in :data:`LOSSES`.
    f, dZ, dZZ, dY : callable
        ``ℓ_i(Z, Y)``, ``∂ℓ_i/∂Z``, ``∂²ℓ_i/∂Z²`` and ``∂ℓ_i/∂Y``, elementwise.
    """

    name: str
    f: Callable
    dZ: Callable
    dZZ: Callable
    dY: Callable

    def __iter__(self):
        """Unpack as ``(ℓ_i, ∂ℓ_i/∂Z, ∂²ℓ_i/∂Z², ∂ℓ_i/∂Y)``."""
        return iter((self.f, self.dZ, self.dZZ, self.dY))


LOSSES: dict[str, Loss] = {
    lo.name: lo
    for lo in (
        Loss("mse",
             lambda Z, Y: 0.5 * (Z - Y) ** 2,
             lambda Z, Y: Z - Y,
             lambda Z, Y: np.ones_like(Z * Y),
             lambda Z, Y: Y - Z),
        Loss("bce",
             lambda Z, Y: np.logaddexp(0.0, Z) - Y * Z,
             lambda Z, Y: sigmoid(Z) - Y,
             lambda Z, Y: sigmoid_prime(Z) + 0.0 * Y,
             lambda Z, Y: -Z + 0.0 * Y),
    )
}


def loss_functions(name: str) -> Loss:
    """The site-decomposable loss called ``name``.

    Parameters
    ----------
    name : str
        One of :data:`LOSSES` (``"mse"``, ``"bce"``).

    Returns
    -------
    Loss
        Unpacks as ``(ℓ_i, ∂ℓ_i/∂Z, ∂²ℓ_i/∂Z², ∂ℓ_i/∂Y)``.
    """
    check_choice("loss", name, LOSSES)
    return LOSSES[name]


# --------------------------------------------------------------------------- network
@dataclass(frozen=True)
class Network:
    """A fully connected network ``N_0 -> N_1 -> ... -> N_M`` (eq. (1) of [A]).

    Parameters
    ----------
    widths
        ``(N_0, N_1, ..., N_M)``: input width, hidden widths, output width; ``M >= 2``
        so that the input sector (Sec. A.2) and the output sector are distinct sites.
    activation
        Name of a C² activation of :data:`bbdlib.activations.ACTIVATIONS` (ReLU is refused).
    loss
        Name of a site-decomposable loss (see :data:`LOSSES`).
    """

    widths: tuple[int, ...]
    activation: str = "tanh"
    loss: str = "mse"
    _slices: tuple = field(init=False, repr=False, compare=False)
    _sigma: Activation = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not isinstance(self.widths, Sequence) or isinstance(self.widths, str):
            raise TypeError(f"widths must be a sequence of integers, got {self.widths!r}")
        widths = tuple(check_int(f"widths[{k}]", w, minimum=1) for k, w in enumerate(self.widths))
        if len(widths) < 3:
            raise ValueError(
                f"widths must list at least 3 layers (input, >=1 hidden, output) so that M >= 2; got {widths}"
            )
        object.__setattr__(self, "_sigma", activation(self.activation, smooth=True, argument="activation"))
        loss_functions(self.loss)
        object.__setattr__(self, "widths", widths)
        sl, off = [], 0
        for m in range(len(widths) - 1):
            n_out, n_in = widths[m + 1], widths[m]
            sw = slice(off, off + n_out * n_in)
            off += n_out * n_in
            sb = slice(off, off + n_out)
            off += n_out
            sl.append((sw, sb, (n_out, n_in)))
        object.__setattr__(self, "_slices", tuple(sl))

    @property
    def sigma(self) -> Activation:
        """The activation σ with σ′, σ″ (:class:`bbdlib.activations.Activation`)."""
        return self._sigma

    @property
    def loss_fn(self) -> Loss:
        """The site loss ℓ_i with its derivatives (:class:`Loss`)."""
        return LOSSES[self.loss]

    # -- shapes -------------------------------------------------------------------
    @property
    def depth(self) -> int:
        """``M``, the number of weight layers (the output is ``z^(M)``)."""
        return len(self.widths) - 1

    @property
    def n_params(self) -> int:
        """``P``, the length of the flat parameter vector ``theta``."""
        return self._slices[-1][1].stop

    def unpack(self, theta: np.ndarray) -> tuple[list[np.ndarray], list[np.ndarray]]:
        """Views ``(W, b)`` into ``theta`` (shape ``(..., P)``): ``W[m]`` has shape ``(..., N_{m+1}, N_m)``."""
        lead = theta.shape[:-1]
        Ws = [theta[..., sw].reshape(*lead, *shp) for sw, _, shp in self._slices]
        bs = [theta[..., sb] for _, sb, _ in self._slices]
        return Ws, bs

    def pack(self, Ws: Sequence[np.ndarray], bs: Sequence[np.ndarray]) -> np.ndarray:
        """The flat parameter vector from lists of weights and biases (inverse of :meth:`unpack`)."""
        if len(Ws) != self.depth or len(bs) != self.depth:
            raise ValueError(f"need {self.depth} weight matrices and bias vectors, got {len(Ws)} and {len(bs)}")
        parts = []
        for m, (W, b) in enumerate(zip(Ws, bs)):
            shp = self._slices[m][2]
            W = check_array(f"W[{m}]", W, shape=shp)
            b = check_array(f"b[{m}]", b, shape=(shp[0],))
            parts += [W.ravel(), b]
        return np.concatenate(parts)

    def init_params(self, rng, *, weight_scale: float = 1.0, bias_scale: float = 0.1) -> np.ndarray:
        """Random parameters: ``W ~ N(0, weight_scale² / N_m)``, ``b ~ N(0, bias_scale²)``."""
        rng = check_generator("rng", rng)
        weight_scale = check_real("weight_scale", weight_scale, low=0.0)
        bias_scale = check_real("bias_scale", bias_scale, low=0.0)
        Ws, bs = [], []
        for n_out, n_in in (s[2] for s in self._slices):
            Ws.append(rng.normal(0.0, weight_scale / np.sqrt(n_in), size=(n_out, n_in)))
            bs.append(rng.normal(0.0, bias_scale, size=n_out))
        return self.pack(Ws, bs)

    # -- validation ----------------------------------------------------------------
    def check_theta(self, name: str, theta) -> np.ndarray:
        """``theta`` as a finite float array whose last axis has length ``n_params``."""
        arr = check_array(name, theta)
        if arr.ndim < 1 or arr.shape[-1] != self.n_params:
            raise ValueError(f"{name} must have last axis of length {self.n_params}, got shape {arr.shape}")
        return arr

    def check_x(self, name: str, X) -> np.ndarray:
        """``X`` as a finite float array whose last axis has length ``N_0``."""
        arr = check_array(name, X)
        if arr.ndim < 1 or arr.shape[-1] != self.widths[0]:
            raise ValueError(f"{name} must have last axis of length N_0 = {self.widths[0]}, got shape {arr.shape}")
        return arr

    def check_y(self, name: str, Y) -> np.ndarray:
        """``Y`` as a finite float array whose last axis has length ``N_M``."""
        arr = check_array(name, Y)
        if arr.ndim < 1 or arr.shape[-1] != self.widths[-1]:
            raise ValueError(f"{name} must have last axis of length N_M = {self.widths[-1]}, got shape {arr.shape}")
        return arr

    # -- forward / loss / gradient (kernels: no validation) --------------------------
    def _forward(self, theta, X):
        sig = self.sigma.f
        Ws, bs = self.unpack(theta)
        hs, zs = [X], [None]
        h = X
        for m in range(self.depth):
            z = _matvec(Ws[m], h) + bs[m]
            zs.append(z)
            h = sig(z) if m < self.depth - 1 else z
            hs.append(h)
        return zs, hs

    def forward(self, theta, X) -> tuple[list, list]:
        """Pre-activations ``z[m]`` (``z[0]`` is ``None``) and activations ``h[m]`` (``h[0] = X``, ``h[M] = Z``).

        ``theta`` may carry a leading axis (time steps) matching ``X``'s, or ``X`` a
        leading batch axis with a single ``theta``.
        """
        theta = self.check_theta("theta", theta)
        X = self.check_x("X", X)
        return self._forward(theta, X)

    def _loss(self, theta, X, Y):
        zs, _ = self._forward(theta, X)
        return self.loss_fn.f(zs[-1], Y).sum(axis=-1)

    def loss_value(self, theta, X, Y) -> np.ndarray:
        """``ℓ(Z(W, b, X), Y) = Σ_i ℓ_i`` for each leading index (sample or time)."""
        return self._loss(self.check_theta("theta", theta), self.check_x("X", X), self.check_y("Y", Y))

    def _grad(self, theta, X, Y, *, mean_over_batch: bool = False):
        """Backpropagation: ``∂ℓ/∂theta`` (same shape as ``theta``).

        With ``theta`` of shape ``(P,)`` and ``X`` of shape ``(B, N_0)``, the gradient of
        the batch mean (``mean_over_batch=True``) is returned.  With ``theta`` of shape
        ``(T, P)`` and ``X`` of shape ``(T, N_0)``, one gradient per time step.
        """
        dsig = self.sigma.d1
        zs, hs = self._forward(theta, X)
        delta = self.loss_fn.dZ(zs[-1], Y)  # ∂ℓ/∂b^(M-1)
        Ws, _ = self.unpack(theta)
        out = np.empty(theta.shape)
        gWs, gbs = self.unpack(out)
        one_theta_batch = theta.ndim == 1 and hs[0].ndim > 1
        for m in range(self.depth - 1, -1, -1):
            h = hs[m]
            if one_theta_batch:  # one theta, a batch of samples
                w = 1.0 / h.shape[0] if mean_over_batch else 1.0
                np.matmul(delta.T, h, out=gWs[m])
                gWs[m] *= w
                gbs[m][...] = w * delta.sum(axis=0)
            else:
                np.multiply(delta[..., :, None], h[..., None, :], out=gWs[m])
                gbs[m][...] = delta
            if m > 0:
                delta = _rmatvec(Ws[m], delta) * dsig(zs[m])
        return out

    def _backprop(self, theta, zs, Y):
        """The errors ``δ^(m) = ∂ℓ/∂b^(m)`` for ``m = 0..M-1`` given the forward pass ``zs``."""
        dsig = self.sigma.d1
        Ws, _ = self.unpack(theta)
        deltas = [None] * self.depth
        delta = self.loss_fn.dZ(zs[-1], Y)
        for m in range(self.depth - 1, -1, -1):
            deltas[m] = delta
            if m > 0:
                delta = _rmatvec(Ws[m], delta) * dsig(zs[m])
        return deltas

    def grad(self, theta, X, Y, *, mean_over_batch: bool = True) -> np.ndarray:
        """Analytic gradient ``∂ℓ/∂(W, b)`` by backpropagation, flat like ``theta``.

        A batch of samples (``X`` of shape ``(B, N_0)``) with one ``theta`` gives the
        gradient of the batch-mean loss (SGD on a minibatch, eq. (2) of [A]).
        """
        theta = self.check_theta("theta", theta)
        X = self.check_x("X", X)
        Y = self.check_y("Y", Y)
        return self._grad(theta, X, Y, mean_over_batch=mean_over_batch)

    def predict(self, theta, X) -> np.ndarray:
        """The output ``Z`` for inputs ``X``.

        Parameters
        ----------
        theta : array_like, shape (P,) or (T, P)
            Parameters.
        X : array_like, shape (N_0,) or (B, N_0)
            Inputs.

        Returns
        -------
        numpy.ndarray
            ``Z = z^(M)``, last axis of length ``N_M``.
        """
        return self.forward(theta, X)[0][-1]

    def mean_loss(self, theta, X, Y) -> float:
        """The full-batch loss ``(1/B) Σ_s ℓ(Z(X_s), Y_s)`` of a data set (one ``theta``).

        Parameters
        ----------
        theta : array_like, shape (P,)
            Parameters.
        X, Y : array_like, shapes (B, N_0) and (B, N_M)
            The data set.

        Returns
        -------
        float
        """
        return float(np.mean(self.loss_value(theta, np.atleast_2d(X), np.atleast_2d(Y))))


def _matvec(W: np.ndarray, x: np.ndarray) -> np.ndarray:
    """``W x`` over matching leading axes; with one ``W`` and a batch of ``x``, ``x W^T``."""
    if W.ndim == 2:
        return x @ W.T
    return np.matmul(W, x[..., None])[..., 0]


def _rmatvec(W: np.ndarray, y: np.ndarray) -> np.ndarray:
    """``W^T y`` over matching leading axes (or a batch of ``y`` with one ``W``)."""
    if W.ndim == 2:
        return y @ W
    return np.matmul(y[..., None, :], W)[..., 0, :]
