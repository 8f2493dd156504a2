"""The neural septuple of [B], sections 2–4: activation dynamics, trainable-variable maps, learning map.

[B] Kukleva, Vanchurin, "Dataset-learning duality and emergent criticality".

A network is the septuple (x, P̂, p_∂, ŵ, b, f, H) of sec. 2.  Here:

* ``x`` ∈ R^N, the boundary neurons are marked by a boolean mask ``boundary`` (P̂ is the
  diagonal projection on them, N_∂ = Tr P̂);
* the weights and biases are linear in the K trainable variables q (eq. (2.1)),
  ``w_ij = W[l, i, j] q_l`` and ``b_i = B[l, i] q_l``, with constant tensors W (K, N, N)
  and B (K, N); :func:`feed_forward` and :func:`conv1d` build them for a dense layered
  network and for a convolution with weight sharing;
* the activation dynamics (2.2) is ``x(t+1) = P̂ x(t) + (I - P̂) f(ŵ x(t) + b)``;
* the loss is separable (eq. (3.2)): ``H = H_x(target, f) + H_q(q)`` with
  ``H_x = Σ_j (f_j - target_j)²`` over the output neurons and ``H_q = (λ/2) |q|²``;
* the learning map (2.3)/(3.6) is ``q̇ = -γ dH/dq`` for one sample (M = 1), computed by
  back-propagation through the L unrolled activation steps (:func:`learning_map`), and
  independently in the form printed as eq. (3.6), ``-γ (∂f_j/∂q ∂H/∂f_j + ∂H/∂q)``, with
  ∂f/∂q from forward-mode tangents (:func:`output_jacobian`).

The activation f comes from the book's one table, :mod:`bbdlib.activations` (any of its
names; the chapters use "tanh", "sigmoid" and "identity").  The push-forward of the data
distribution through the duality map (eqs. (3.11)–(3.13)) is :mod:`bbdlib.duality.pushforward`.

Everything is vectorised over samples (leading axis ``n``); the only loops run over the L
activation steps, which are sequential by nature.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from bbdlib.activations import activation as _activation
from bbdlib.validate import check_array, check_generator, check_int, check_real

__all__ = [
    "Architecture",
    "LearningStep",
    "RotatedLearningMap",
    "DualityJacobian",
    "feed_forward",
    "conv1d",
    "weights_and_biases",
    "random_parameters",
    "activation_dynamics",
    "feed_forward_reference",
    "nilpotency_index",
    "loss",
    "learning_map",
    "output_jacobian",
    "learning_map_eq36",
    "last_layer_updates_eq33",
    "finite_difference_gradient",
    "step_jacobian",
    "projected_learning_map",
    "block_diagonal",
    "rotated_learning_map",
    "duality_jacobian_terms",
]


def _act(name: str) -> tuple[Callable, Callable]:
    """(σ, σ′) of the activation ``name`` of :mod:`bbdlib.activations` (validates the name)."""
    act = _activation(name, argument="activation")
    return act.f, act.d1


@dataclass(frozen=True)
class Architecture:
    """Constant tensors of eq. (2.1) of [B] plus the neuron bookkeeping.

    Attributes
    ----------
    W : ndarray (K, N, N)
        ``W[l, i, j]`` = W^l_ij, so that w_ij = W^l_ij q_l.
    B : ndarray (K, N)
        ``B[l, i]`` = B^l_i, so that b_i = B^l_i q_l.
    boundary : ndarray (N,) of bool
        The diagonal of P̂ (input neurons).
    output : ndarray (N,) of bool
        Neurons read by the loss after ``n_steps`` activation steps.
    n_steps : int
        Number L of activation steps of one forward pass.
    layers : tuple of tuple of int
        Neuron indices of each layer (input first) when the network is layered.
    """

    W: np.ndarray
    B: np.ndarray
    boundary: np.ndarray
    output: np.ndarray
    n_steps: int
    layers: tuple = ()

    @property
    def K(self) -> int:
        """Number of trainable variables."""
        return self.W.shape[0]

    @property
    def N(self) -> int:
        """Number of neurons."""
        return self.W.shape[1]


@dataclass(frozen=True)
class LearningStep:
    """The learning map (2.3) of [B] for each sample (:func:`learning_map`).

    Attributes
    ----------
    qdot : ndarray (n, K)
        q̇ = -γ dH/dq.
    wdot : ndarray (n, N, N)
        -γ ∂H/∂w (the H_x part).
    bdot : ndarray (n, N)
        -γ ∂H/∂b (the H_x part).
    f : ndarray (n, n_out)
        The output after L activation steps.
    """

    qdot: np.ndarray
    wdot: np.ndarray
    bdot: np.ndarray
    f: np.ndarray


@dataclass(frozen=True)
class RotatedLearningMap:
    """Eq. (4.1) of [B] in two forms (:func:`rotated_learning_map`).

    Attributes
    ----------
    qdot_p : ndarray (n, n_R)
        q̇′ = R Λ q̇.
    eq41 : ndarray (n, n_R)
        -γ R g ∇_{q′}H with g = Λ Λᵀ (the second line of (4.1)).
    naive : ndarray (n, n_R)
        -γ R ∇_{q′}H (gradient descent done directly in q′, as if g = δ).
    """

    qdot_p: np.ndarray
    eq41: np.ndarray
    naive: np.ndarray


@dataclass(frozen=True)
class DualityJacobian:
    """The Jacobian ∂q̇′_i/∂x^k of eq. (4.2) of [B] and its printed terms (:func:`duality_jacobian_terms`).

    Attributes
    ----------
    exact : ndarray (n, n_R, N_∂)
        Central differences in x of the analytic q̇′.
    term1 : ndarray
        -γ R g (∂²f_j/∂x^k ∂q′_l) ∂H/∂f_j.
    term2_partial : ndarray
        -γ R g ∂f_j/∂q′_l ∂²H/∂x^k∂f_j with the explicit x-dependence of H only (zero).
    term2_total : ndarray
        The same with the total derivative: -γ R g ∂f_j/∂q′_l · 2 ∂f_j/∂x^k.
    M : ndarray (n, n_R, N_∂)
        The bracket of eq. (4.3), (term1 + term2_total) / (-γ).
    """

    exact: np.ndarray
    term1: np.ndarray
    term2_partial: np.ndarray
    term2_total: np.ndarray
    M: np.ndarray


def feed_forward(layer_sizes: Sequence[int]) -> Architecture:
    """A dense layered network as a septuple: one trainable variable per weight and bias.

    ``layer_sizes = [n_0, n_1, ..., n_L]`` with n_0 input (boundary) neurons; the weight
    matrix is strictly block lower-triangular (layer ℓ-1 → ℓ), hence nilpotent.

    Parameters
    ----------
    layer_sizes : list of int
        Widths of the layers, input first (at least 2).

    Returns
    -------
    Architecture
    """
    if not isinstance(layer_sizes, (list, tuple)) or len(layer_sizes) < 2:
        raise ValueError(f"layer_sizes must be a list of at least 2 layer widths, got {layer_sizes!r}")
    sizes = [check_int(f"layer_sizes[{i}]", s, minimum=1) for i, s in enumerate(layer_sizes)]
    starts = np.concatenate([[0], np.cumsum(sizes)])
    N = int(starts[-1])
    layers = tuple(tuple(range(starts[i], starts[i + 1])) for i in range(len(sizes)))
    entries_w = [(i, j) for ell in range(1, len(sizes)) for i in layers[ell] for j in layers[ell - 1]]
    entries_b = [i for ell in range(1, len(sizes)) for i in layers[ell]]
    K = len(entries_w) + len(entries_b)
    W = np.zeros((K, N, N))
    B = np.zeros((K, N))
    for var, (i, j) in enumerate(entries_w):
        W[var, i, j] = 1.0
    for m, i in enumerate(entries_b):
        B[len(entries_w) + m, i] = 1.0
    boundary = np.zeros(N, bool)
    boundary[list(layers[0])] = True
    output = np.zeros(N, bool)
    output[list(layers[-1])] = True
    return Architecture(W=W, B=B, boundary=boundary, output=output, n_steps=len(sizes) - 1,
                        layers=layers)


def conv1d(n_in: int, kernel_size: int) -> Architecture:
    """A one-layer 1-d convolution (valid padding, stride 1) with one shared kernel and bias.

    Output neuron i (i = 0 … n_in - kernel_size) sees inputs i … i + kernel_size - 1 through
    the *same* weights q_0 … q_{kernel_size-1} and the same bias q_{kernel_size}: weight
    sharing is a choice of W^l_ij with several (i, j) per l (eq. (2.1) of [B]).

    Parameters
    ----------
    n_in : int
        Number of inputs.
    kernel_size : int
        Kernel width (<= ``n_in``).

    Returns
    -------
    Architecture
    """
    n_in = check_int("n_in", n_in, minimum=1)
    kernel_size = check_int("kernel_size", kernel_size, minimum=1, maximum=n_in)
    n_out = n_in - kernel_size + 1
    N = n_in + n_out
    K = kernel_size + 1
    W = np.zeros((K, N, N))
    B = np.zeros((K, N))
    for i in range(n_out):
        for m in range(kernel_size):
            W[m, n_in + i, i + m] = 1.0
        B[kernel_size, n_in + i] = 1.0
    boundary = np.zeros(N, bool)
    boundary[:n_in] = True
    output = ~boundary
    return Architecture(W=W, B=B, boundary=boundary, output=output, n_steps=1,
                        layers=(tuple(range(n_in)), tuple(range(n_in, N))))


def _check_arch(arch) -> Architecture:
    if not isinstance(arch, Architecture):
        raise TypeError(f"arch must be an Architecture, got {type(arch).__name__}")
    return arch


def _check_q(q, arch: Architecture) -> np.ndarray:
    return check_array("q", q, shape=(arch.K,))


def weights_and_biases(q, arch: Architecture) -> tuple[np.ndarray, np.ndarray]:
    """Eq. (2.1) of [B]: ``w_ij = W^l_ij q_l``, ``b_i = B^l_i q_l``.

    Parameters
    ----------
    q : array (K,)
        Trainable variables.
    arch : Architecture

    Returns
    -------
    (w, b) : (ndarray (N, N), ndarray (N,))
    """
    arch = _check_arch(arch)
    q = _check_q(q, arch)
    return np.einsum("lij,l->ij", arch.W, q), np.einsum("li,l->i", arch.B, q)


def random_parameters(arch: Architecture, rng: np.random.Generator | int, scale: float = 1.0) -> np.ndarray:
    """Gaussian trainable variables q ~ N(0, scale²).

    Parameters
    ----------
    arch : Architecture
    rng : numpy.random.Generator or int
    scale : float
        Standard deviation (> 0).

    Returns
    -------
    ndarray (K,)
    """
    arch = _check_arch(arch)
    rng = check_generator("rng", rng)
    scale = check_real("scale", scale, low=0.0, low_inclusive=False)
    return rng.normal(0.0, scale, arch.K)


def _check_inputs(x_in, arch: Architecture) -> np.ndarray:
    n_b = int(arch.boundary.sum())
    x_in = check_array("x_in", x_in)
    if x_in.ndim == 1:
        x_in = x_in[None, :]
    if x_in.ndim != 2 or x_in.shape[1] != n_b:
        raise ValueError(f"x_in must have shape (n, {n_b}) (one row per sample), got {x_in.shape}")
    return x_in


def _initial_state(x_in: np.ndarray, arch: Architecture, bulk0: np.ndarray | None) -> np.ndarray:
    x = np.zeros((x_in.shape[0], arch.N))
    x[:, arch.boundary] = x_in
    if bulk0 is not None:
        x[:, ~arch.boundary] = bulk0
    return x


def activation_dynamics(x_in, q, arch: Architecture, *, activation: str = "tanh",
                        n_steps: int | None = None, bulk0=None) -> np.ndarray:
    """Iterate eq. (2.2) of [B]; return the trajectory x(t), shape (n_steps + 1, n, N).

    Parameters
    ----------
    x_in : array (n, N_∂)
        Boundary (input) neurons, held fixed during the pass.
    q : array (K,)
        Trainable variables (mapped to ŵ, b by eq. (2.1)).
    arch : Architecture
    activation : str
        A name of :mod:`bbdlib.activations` (the chapters use "tanh", "sigmoid", "identity").
    n_steps : int, optional
        Number of unit time steps (default ``arch.n_steps`` = L).
    bulk0 : array (n, N - N_∂), optional
        Initial bulk neurons x_∂̸(t0) (default zeros, as assumed before eq. (3.8)).

    Returns
    -------
    ndarray (n_steps + 1, n, N)
    """
    arch = _check_arch(arch)
    x_in = _check_inputs(x_in, arch)
    _act(activation)
    n_steps = arch.n_steps if n_steps is None else check_int("n_steps", n_steps, minimum=0)
    if bulk0 is not None:
        bulk0 = check_array("bulk0", bulk0, shape=(x_in.shape[0], arch.N - int(arch.boundary.sum())))
    w, b = weights_and_biases(q, arch)
    f, _ = _act(activation)
    x = _initial_state(x_in, arch, bulk0)
    keep = arch.boundary.astype(float)
    traj = [x]
    for _ in range(n_steps):
        x = keep * x + (1.0 - keep) * f(x @ w.T + b)
        traj.append(x)
    return np.stack(traj)


def feed_forward_reference(x_in, q, arch: Architecture, *, activation: str = "tanh") -> list[np.ndarray]:
    """Plain layer-by-layer forward pass (the textbook definition), for comparison with (2.2).

    Parameters
    ----------
    x_in : array (n, N_∂)
    q : array (K,)
    arch : Architecture
        Must have a layer structure.
    activation : str

    Returns
    -------
    list of ndarray
        The layer activations [x_0, x_1, …, x_L], each (n, n_ℓ).
    """
    arch = _check_arch(arch)
    if not arch.layers:
        raise ValueError("arch has no layer structure")
    x_in = _check_inputs(x_in, arch)
    _act(activation)
    w, b = weights_and_biases(q, arch)
    f, _ = _act(activation)
    out = [x_in]
    for ell in range(1, len(arch.layers)):
        rows, cols = list(arch.layers[ell]), list(arch.layers[ell - 1])
        out.append(f(out[-1] @ w[np.ix_(rows, cols)].T + b[rows]))
    return out


def nilpotency_index(w, *, tol: float = 0.0) -> int | None:
    """Smallest p with ŵ^p = 0 (entries <= ``tol``), or None if ŵ is not nilpotent.

    Parameters
    ----------
    w : array (N, N)
    tol : float
        Entries with |w_ij| <= tol count as structural zeros.

    Returns
    -------
    int or None
    """
    w = check_array("w", w, ndim=2)
    tol = check_real("tol", tol, low=0.0)
    if w.shape[0] != w.shape[1]:
        raise ValueError(f"w must be square, got shape {w.shape}")
    mask = (np.abs(w) > tol).astype(float)        # structural nilpotency (no cancellations)
    m = np.eye(w.shape[0])
    for p in range(1, w.shape[0] + 2):
        m = m @ mask
        if not np.any(m > 0):
            return p
    return None


def _forward_store(x_in, q, arch, activation, bulk0):
    w, b = weights_and_biases(q, arch)
    f, df = _act(activation)
    x = _initial_state(x_in, arch, bulk0)
    keep = arch.boundary.astype(float)
    xs, ys = [x], []
    for _ in range(arch.n_steps):
        y = x @ w.T + b
        x = keep * x + (1.0 - keep) * f(y)
        ys.append(y)
        xs.append(x)
    return w, b, f, df, keep, xs, ys


def _check_common(x_in, q, target, arch, activation, gamma, lam):
    arch = _check_arch(arch)
    x_in = _check_inputs(x_in, arch)
    q = _check_q(q, arch)
    n_out = int(arch.output.sum())
    target = check_array("target", target)
    if target.ndim == 1:
        target = np.broadcast_to(target, (x_in.shape[0], n_out)) if target.size == n_out else target[:, None]
    if target.shape != (x_in.shape[0], n_out):
        raise ValueError(f"target must have shape ({x_in.shape[0]}, {n_out}), got {target.shape}")
    _act(activation)
    gamma = check_real("gamma", gamma, low=0.0, low_inclusive=False)
    lam = check_real("lam", lam, low=0.0)
    return arch, x_in, q, target, gamma, lam


def loss(x_in, q, target, arch: Architecture, *, activation: str = "tanh", lam: float = 0.0,
         bulk0=None) -> np.ndarray:
    """Per-sample separable loss (3.2): Σ_j (f_j - target_j)² + (λ/2)|q|².

    Parameters
    ----------
    x_in : array (n, N_∂)
    q : array (K,)
    target : array (n, n_out) or (n_out,)
    arch : Architecture
    activation : str
    lam : float
        λ >= 0 of H_q.
    bulk0 : array, optional
        Initial bulk neurons.

    Returns
    -------
    ndarray (n,)
    """
    arch, x_in, q, target, _, lam = _check_common(x_in, q, target, arch, activation, 1.0, lam)
    xs = activation_dynamics(x_in, q, arch, activation=activation, bulk0=bulk0)
    fo = xs[-1][:, arch.output]
    return np.sum((fo - target) ** 2, axis=1) + 0.5 * lam * q @ q


def learning_map(x_in, q, target, arch: Architecture, *, activation: str = "tanh",
                 gamma: float = 1.0, lam: float = 0.0, bulk0=None) -> LearningStep:
    """The SGD learning map (2.3) for each sample (M = 1), by back-propagation in time.

    dH/dq_l = W^l_ij ∂H/∂w_ij + B^l_i ∂H/∂b_i + ∂H_q/∂q_l.

    Parameters
    ----------
    x_in : array (n, N_∂)
    q : array (K,)
    target : array (n, n_out) or (n_out,)
    arch : Architecture
    activation : str
    gamma : float
        Learning rate γ > 0.
    lam : float
        λ >= 0 of H_q = (λ/2)|q|².
    bulk0 : array, optional
        Initial bulk neurons.

    Returns
    -------
    LearningStep
    """
    arch, x_in, q, target, gamma, lam = _check_common(x_in, q, target, arch, activation, gamma, lam)
    if bulk0 is not None:
        bulk0 = check_array("bulk0", bulk0, shape=(x_in.shape[0], arch.N - int(arch.boundary.sum())))
    w, b, f, df, keep, xs, ys = _forward_store(x_in, q, arch, activation, bulk0)
    n = x_in.shape[0]
    dx = np.zeros((n, arch.N))
    dx[:, arch.output] = 2.0 * (xs[-1][:, arch.output] - target)      # ∂H_x/∂f
    gw = np.zeros((n, arch.N, arch.N))
    gb = np.zeros((n, arch.N))
    for t in range(arch.n_steps - 1, -1, -1):
        dy = (1.0 - keep) * df(ys[t]) * dx
        gw += dy[:, :, None] * xs[t][:, None, :]
        gb += dy
        dx = keep * dx + dy @ w
    gq = np.einsum("nij,lij->nl", gw, arch.W) + np.einsum("ni,li->nl", gb, arch.B) + lam * q
    return LearningStep(qdot=-gamma * gq, wdot=-gamma * gw, bdot=-gamma * gb,
                        f=xs[-1][:, arch.output])


def output_jacobian(x_in, q, arch: Architecture, *, activation: str = "tanh", bulk0=None) -> np.ndarray:
    """∂f_j/∂q_l of the output after L activation steps, by forward-mode tangents; (n, n_out, K).

    The tangent of eq. (2.2) along q_l is ẋ(t+1) = (I - P̂) f'(y) (W^l x + ŵ ẋ + B^l).

    Parameters
    ----------
    x_in : array (n, N_∂)
    q : array (K,)
    arch : Architecture
    activation : str
    bulk0 : array, optional

    Returns
    -------
    ndarray (n, n_out, K)
    """
    arch = _check_arch(arch)
    x_in = _check_inputs(x_in, arch)
    q = _check_q(q, arch)
    _act(activation)
    if bulk0 is not None:
        bulk0 = check_array("bulk0", bulk0, shape=(x_in.shape[0], arch.N - int(arch.boundary.sum())))
    w, b = weights_and_biases(q, arch)
    f, df = _act(activation)
    x = _initial_state(x_in, arch, bulk0)
    keep = arch.boundary.astype(float)
    tang = np.zeros((x.shape[0], arch.K, arch.N))          # ∂x/∂q_l
    for _ in range(arch.n_steps):
        y = x @ w.T + b
        dy = np.einsum("lij,nj->nli", arch.W, x) + tang @ w.T + arch.B[None, :, :]
        tang = (1.0 - keep) * df(y)[:, None, :] * dy
        x = keep * x + (1.0 - keep) * f(y)
    return np.transpose(tang[:, :, arch.output], (0, 2, 1))


def learning_map_eq36(x_in, q, target, arch: Architecture, *, activation: str = "tanh",
                      gamma: float = 1.0, lam: float = 0.0) -> np.ndarray:
    """Eq. (3.6) of [B] as printed: q̇_k = -γ δ_km (∂f_j/∂q_m ∂H/∂f_j + ∂H/∂q_m).

    Parameters
    ----------
    x_in, q, target, arch, activation, gamma, lam
        As in :func:`learning_map`.

    Returns
    -------
    ndarray (n, K)
    """
    arch, x_in, q, target, gamma, lam = _check_common(x_in, q, target, arch, activation, gamma, lam)
    J = output_jacobian(x_in, q, arch, activation=activation)
    fo = activation_dynamics(x_in, q, arch, activation=activation)[-1][:, arch.output]
    dHdf = 2.0 * (fo - target)
    return -gamma * (np.einsum("njm,nj->nm", J, dHdf) + lam * q)


def last_layer_updates_eq33(x_in, q, target, arch: Architecture, *, activation: str = "tanh",
                            gamma: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """The first back-propagation step, eq. (3.3) of [B] without H_q and without the ellipsis.

    ``ḃ_j = -γ f'_j(y_j(t_{L-1})) ∂H_x/∂f_j`` and ``ẇ_jk = -γ x^k(t_{L-1}) f'_j ∂H_x/∂f_j``
    for the output neurons j (zero elsewhere).

    Parameters
    ----------
    x_in, q, target, arch, activation, gamma
        As in :func:`learning_map`.

    Returns
    -------
    (bdot, wdot) : (ndarray (n, N), ndarray (n, N, N))
    """
    arch, x_in, q, target, gamma, _ = _check_common(x_in, q, target, arch, activation, gamma, 0.0)
    w, b, f, df, keep, xs, ys = _forward_store(x_in, q, arch, activation, None)
    n = x_in.shape[0]
    g = np.zeros((n, arch.N))
    g[:, arch.output] = df(ys[-1][:, arch.output]) * 2.0 * (xs[-1][:, arch.output] - target)
    return -gamma * g, -gamma * g[:, :, None] * xs[-2][:, None, :]


def finite_difference_gradient(x_in, q, target, arch: Architecture, *, activation: str = "tanh",
                               lam: float = 0.0, h: float = 1e-6) -> np.ndarray:
    """Central finite differences of the per-sample loss in q.  For tests and checks.

    Parameters
    ----------
    x_in, q, target, arch, activation, lam
        As in :func:`loss`.
    h : float
        Step (> 0).

    Returns
    -------
    ndarray (n, K)
    """
    arch = _check_arch(arch)
    q = _check_q(q, arch)
    h = check_real("h", h, low=0.0, low_inclusive=False)
    eye = np.eye(arch.K)
    cols = [(loss(x_in, q + h * e, target, arch, activation=activation, lam=lam)
             - loss(x_in, q - h * e, target, arch, activation=activation, lam=lam)) / (2 * h) for e in eye]
    return np.stack(cols, axis=1)


def step_jacobian(x_in, q, target, arch: Architecture, *, activation: str = "tanh",
                  gamma: float = 1.0, lam: float = 0.0, h: float = 1e-5) -> np.ndarray:
    """∂q̇/∂x_∂ of the duality map (3.5) of [B] by central differences of :func:`learning_map`.

    Its rank is the dimension of the surface on which the distribution (3.7) of the steps
    lives.

    Parameters
    ----------
    x_in, q, target, arch, activation, gamma, lam
        As in :func:`learning_map`.
    h : float
        Step of the differences.

    Returns
    -------
    ndarray (n, K, N_∂)
    """
    arch = _check_arch(arch)
    x_in = _check_inputs(x_in, arch)
    h = check_real("h", h, low=0.0, low_inclusive=False)

    def qdot(x):
        return learning_map(x, q, target, arch, activation=activation, gamma=gamma, lam=lam).qdot

    return np.stack([(qdot(x_in + h * e) - qdot(x_in - h * e)) / (2 * h)
                     for e in np.eye(x_in.shape[1])], axis=2)


def projected_learning_map(q, target, arch: Architecture, direction, *, activation: str = "tanh",
                           gamma: float = 1.0) -> Callable:
    """The scalar duality map x ↦ q̇′ = u·q̇(x) of a network with one boundary neuron.

    The projection of eq. (3.10) on one unit direction u (an orthogonal Λ with R picking
    its first row), as a vectorised function of the input, for the push-forward
    (3.11)–(3.13) (:mod:`bbdlib.duality.pushforward`).

    Parameters
    ----------
    q : array (K,)
    target : array (n_out,)
        The label, the same for every input.
    arch : Architecture
        With one boundary neuron.
    direction : array (K,)
        The direction u.
    activation : str
    gamma : float

    Returns
    -------
    callable
        x (1-d array) ↦ u·q̇(x).
    """
    arch = _check_arch(arch)
    if int(arch.boundary.sum()) != 1:
        raise ValueError(f"arch must have one boundary neuron, got {int(arch.boundary.sum())}")
    q = _check_q(q, arch)
    u = check_array("direction", direction, shape=(arch.K,))
    _act(activation)

    def qdot_prime(x):
        x = np.asarray(x, dtype=float)
        return learning_map(x[:, None], q, target, arch, activation=activation, gamma=gamma).qdot @ u

    return qdot_prime


def block_diagonal(n_blocks: int) -> Architecture:
    """``n_blocks`` independent one-input/one-output toy networks side by side (sec. 5 of [B]).

    Input i feeds only output i: q_{2i} is the weight w_(n+i, i) and q_{2i+1} the bias of
    output i, so the learning steps of different blocks depend on different inputs.

    Parameters
    ----------
    n_blocks : int

    Returns
    -------
    Architecture
    """
    n_blocks = check_int("n_blocks", n_blocks, minimum=1)
    N, K = 2 * n_blocks, 2 * n_blocks
    W = np.zeros((K, N, N))
    B = np.zeros((K, N))
    for i in range(n_blocks):
        W[2 * i, n_blocks + i, i] = 1.0
        B[2 * i + 1, n_blocks + i] = 1.0
    boundary = np.zeros(N, bool)
    boundary[:n_blocks] = True
    return Architecture(W=W, B=B, boundary=boundary, output=~boundary, n_steps=1,
                        layers=(tuple(range(n_blocks)), tuple(range(n_blocks, N))))


def _check_lam_R(Lam, R, K: int) -> tuple[np.ndarray, np.ndarray]:
    Lam = check_array("Lam", Lam, shape=(K, K))
    if abs(np.linalg.det(Lam)) < 1e-12:
        raise ValueError("Lam must be invertible")
    R = check_array("R", R, ndim=2)
    if R.shape[1] != K:
        raise ValueError(f"R must have shape (n, {K}), got {R.shape}")
    return Lam, R


def rotated_learning_map(x_in, q, target, arch: Architecture, Lam, R, *, activation: str = "tanh",
                         gamma: float = 1.0, h: float = 1e-6) -> RotatedLearningMap:
    """Eq. (4.1) of [B]: q̇' = R Λ q̇ against -γ R g ∇_{q'} H, with ∇_{q'} H by finite differences.

    ``q' = Λ q`` (eq. (3.9)), so H as a function of q' is H(Λ⁻¹ q'); its gradient is taken by
    central differences in q' (independently of the chain rule), and g = Λ Λᵀ.

    Parameters
    ----------
    x_in, q, target, arch, activation, gamma
        As in :func:`learning_map`.
    Lam : array (K, K)
        The invertible Λ.
    R : array (n_R, K)
        The projection.
    h : float
        Step of the differences.

    Returns
    -------
    RotatedLearningMap
    """
    arch = _check_arch(arch)
    Lam, R = _check_lam_R(Lam, R, arch.K)
    q = _check_q(q, arch)
    h = check_real("h", h, low=0.0, low_inclusive=False)
    qd = learning_map(x_in, q, target, arch, activation=activation, gamma=gamma).qdot
    qp = Lam @ q
    Li = np.linalg.inv(Lam)
    grad_p = np.stack([(loss(x_in, Li @ (qp + h * e), target, arch, activation=activation)
                        - loss(x_in, Li @ (qp - h * e), target, arch, activation=activation)) / (2 * h)
                       for e in np.eye(arch.K)], axis=1)
    g = Lam @ Lam.T
    return RotatedLearningMap(qdot_p=qd @ (R @ Lam).T, eq41=-gamma * grad_p @ (R @ g).T,
                              naive=-gamma * grad_p @ R.T)


def duality_jacobian_terms(x_in, q, target, arch: Architecture, Lam, R, *, activation: str = "tanh",
                           gamma: float = 1.0, h: float = 1e-5) -> DualityJacobian:
    """The Jacobian ∂q̇'_i/∂x^k of eq. (4.2) of [B] and its two printed terms, for MSE loss.

    With q̇' = -γ R g ∂f_j/∂q' ∂H/∂f_j (eq. (4.1), H_q = 0) and H = Σ (f_j - t_j)²
    (fields of the returned :class:`DualityJacobian`):

    ``exact``
        central differences in x of the analytic q̇' (n, n_R, N_∂);
    ``term1``
        -γ R g (∂²f_j/∂x^k ∂q'_l) ∂H/∂f_j (mixed derivative by differences of the
        analytic ∂f/∂q');
    ``term2_partial``
        -γ R g ∂f_j/∂q'_l ∂²H/∂x^k∂f_j with the *explicit* x-dependence of H
        only, which is zero for inputs (the labels are held fixed);
    ``term2_total``
        the same with the total derivative d/dx^k of ∂H/∂f_j, i.e.
        -γ R g ∂f_j/∂q'_l · 2 ∂f_j/∂x^k;
    ``M``
        the bracket of eq. (4.3), (term1 + term2_total) / (-γ).

    Parameters
    ----------
    x_in, q, target, arch, activation, gamma
        As in :func:`learning_map`.
    Lam, R
        As in :func:`rotated_learning_map`.
    h : float
        Step of the differences in x.

    Returns
    -------
    DualityJacobian
    """
    arch = _check_arch(arch)
    Lam, R = _check_lam_R(Lam, R, arch.K)
    x_in = _check_inputs(x_in, arch)
    q = _check_q(q, arch)
    gamma = check_real("gamma", gamma, low=0.0, low_inclusive=False)
    h = check_real("h", h, low=0.0, low_inclusive=False)
    Li = np.linalg.inv(Lam)
    Rg = R @ Lam @ Lam.T

    def qdot_p(x):
        return learning_map(x, q, target, arch, activation=activation, gamma=gamma).qdot @ (R @ Lam).T

    def dfdqp(x):                    # ∂f_j/∂q'_l = ∂f_j/∂q_m (Λ⁻¹)_ml ; (n, n_out, K)
        return output_jacobian(x, q, arch, activation=activation) @ Li

    def fout(x):
        return activation_dynamics(x, q, arch, activation=activation)[-1][:, arch.output]

    nb = x_in.shape[1]
    eye = np.eye(nb)
    exact = np.stack([(qdot_p(x_in + h * e) - qdot_p(x_in - h * e)) / (2 * h) for e in eye], axis=2)
    d2f = np.stack([(dfdqp(x_in + h * e) - dfdqp(x_in - h * e)) / (2 * h) for e in eye], axis=3)
    dfdx = np.stack([(fout(x_in + h * e) - fout(x_in - h * e)) / (2 * h) for e in eye], axis=2)
    tgt = np.broadcast_to(np.asarray(target, float), fout(x_in).shape)
    dHdf = 2.0 * (fout(x_in) - tgt)
    J1 = dfdqp(x_in)
    term1 = -gamma * np.einsum("il,njlk,nj->nik", Rg, d2f, dHdf)
    term2_total = -gamma * np.einsum("il,njl,njk->nik", Rg, J1, 2.0 * dfdx)
    return DualityJacobian(exact=exact, term1=term1, term2_partial=np.zeros_like(term1),
                           term2_total=term2_total, M=(term1 + term2_total) / (-gamma))
