"""Real data in many dimensions: per-sample jumps of a small network trained on all ten digits.

A one-hidden-layer network 64 → H → 10 (hidden activation from :mod:`bbdlib.activations`,
softmax output, cross-entropy loss H_x; weight decay H_q = (λ/2)(|W¹|² + |W²|²) on the weights,
the separable loss (3.2) of [B]) is trained by mini-batch SGD, eq. (2.3), on scikit-learn's
bundled digits (all 1,797 images, pixels scaled to [0, 1]).  At the trained parameters the
per-sample jump of every trainable variable is q̇ = −γ ∂H_x/∂q for each image (M = 1); the
weight-decay part −γλq is the same for every image (a fixed offset, left out: it does not
fluctuate with the data).  Everything is vectorised over images (per-sample gradients by
``einsum``); the only Python loops run over SGD steps and over variables.

The output-layer biases reduce *exactly* to the toy model of Sec. 5 of [B]: with the margin
u_k = z_k − log Σ_{j≠k} e^{z_j} of logit k, the softmax is s_k = σ(u_k), so the jump of b²_k is
−γ(s_k − t_k) = −γ dH/du for the sigmoid + cross-entropy composition of Fig. 2 with y = u_k
(θ = π/2, q′ = b): images of another class are the '−' class (t_k = 0), images of class k the
'+' class.  The push-forward (3.12) of the data through that one-dimensional map is then the
density (6.1) with p_u the density of the margins (:func:`output_bias_map`,
:func:`pushforward_cdf`).

For the other variables (hidden biases, both weight layers) there is no such reduction; their
small-jump regime is measured by one rule fixed in advance (:func:`small_jump_window`).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.special import logsumexp, ndtr

from bbdlib.activations import activation as _activation
from bbdlib.validate import check_array, check_choice, check_generator, check_int, check_real

__all__ = ["HIDDEN_ACTIVATIONS", "GROUPS", "Parameters", "TrainedNetwork", "load_digits_scaled",
           "init_parameters", "forward", "loss", "per_sample_jumps", "train_network", "output_margins",
           "output_bias_map", "pushforward_cdf", "ks_to_prediction", "small_jump_window",
           "SMALL_JUMP_QUANTILE", "dead_units", "BiasSide", "analyse_output_bias", "VariableFit",
           "small_jump_fits"]

#: Hidden activations allowed (from :mod:`bbdlib.activations`)
HIDDEN_ACTIVATIONS = ("relu", "tanh", "sigmoid")
#: The groups of trainable variables: hidden weights and biases, output weights and biases
GROUPS = ("W1", "b1", "W2", "b2")
#: Upper edge of the small-jump window, as a quantile of the non-zero |q̇| of a variable
#: (fixed before any fit: the lowest fifth of the jumps, where Sec. 6's laws near q̇ → 0 live)
SMALL_JUMP_QUANTILE = 0.2


@dataclass(frozen=True, eq=False)
class Parameters:
    """The trainable variables of the network, by group (shapes (H, 64), (H,), (10, H), (10,))."""

    W1: np.ndarray
    b1: np.ndarray
    W2: np.ndarray
    b2: np.ndarray

    def group(self, name: str) -> np.ndarray:
        """The array of group ``name`` (one of ``GROUPS``)."""
        return getattr(self, check_choice("group", name, GROUPS))

    @property
    def size(self) -> int:
        """Number of trainable variables K."""
        return sum(getattr(self, g).size for g in GROUPS)

    def flat(self) -> np.ndarray:
        """All variables in the order of ``GROUPS``."""
        return np.concatenate([getattr(self, g).ravel() for g in GROUPS])


def load_digits_scaled() -> tuple[np.ndarray, np.ndarray]:
    """All 1,797 images of scikit-learn's bundled digits (pixels / 16, in [0, 1]) and labels 0–9.

    Returns
    -------
    X : ndarray, shape (1797, 64)
    labels : ndarray of int, shape (1797,)
    """
    from sklearn.datasets import load_digits

    d = load_digits()
    return np.asarray(d.data, dtype=float) / 16.0, np.asarray(d.target, dtype=int)


def _check_data(X, labels) -> tuple[np.ndarray, np.ndarray]:
    X = check_array("X", X, ndim=2)
    lab = np.asarray(labels)
    if lab.shape != (X.shape[0],) or not np.issubdtype(lab.dtype, np.integer):
        raise ValueError(f"labels must be integers of shape ({X.shape[0]},), got {lab.dtype} {lab.shape}")
    if lab.min() < 0 or lab.max() > 9:
        raise ValueError("labels must be digit classes 0-9")
    return X, lab


def init_parameters(n_in: int, hidden: int, n_out: int = 10, *, rng: np.random.Generator | int) -> Parameters:
    """He-scaled random weights (std √(2/fan-in)), zero biases.

    Parameters
    ----------
    n_in, hidden, n_out : int
        Layer widths.
    rng : numpy.random.Generator or int

    Returns
    -------
    Parameters
    """
    n_in = check_int("n_in", n_in, minimum=1)
    hidden = check_int("hidden", hidden, minimum=1, maximum=1024)
    n_out = check_int("n_out", n_out, minimum=2)
    rng = check_generator("rng", rng)
    return Parameters(W1=rng.normal(0, math.sqrt(2 / n_in), (hidden, n_in)), b1=np.zeros(hidden),
                      W2=rng.normal(0, math.sqrt(2 / hidden), (n_out, hidden)), b2=np.zeros(n_out))


def forward(params: Parameters, X, *, activation: str = "relu"):
    """Forward pass: pre-activations a = W¹x + b¹, hidden h = f(a), logits z, softmax s.

    Parameters
    ----------
    params : Parameters
    X : array_like, shape (n, 64)
    activation : {"relu", "tanh", "sigmoid"}

    Returns
    -------
    a, h, z, s : ndarray
        Shapes (n, H), (n, H), (n, 10), (n, 10).
    """
    act = _activation(check_choice("activation", activation, HIDDEN_ACTIVATIONS))
    X = np.asarray(X, dtype=float)
    a = X @ params.W1.T + params.b1
    h = act.f(a)
    z = h @ params.W2.T + params.b2
    s = np.exp(z - logsumexp(z, axis=1, keepdims=True))
    return a, h, z, s


def loss(params: Parameters, X, labels, *, activation: str = "relu", lam: float = 0.0) -> float:
    """Mean cross-entropy over the images plus (λ/2)(|W¹|² + |W²|²).

    Parameters
    ----------
    params : Parameters
    X : array_like
    labels : array_like of int
    activation : str
    lam : float
        Weight decay λ ≥ 0.

    Returns
    -------
    float
    """
    X, lab = _check_data(X, labels)
    lam = check_real("lam", lam, low=0.0)
    _, _, z, _ = forward(params, X, activation=activation)
    ce = float(np.mean(logsumexp(z, axis=1) - z[np.arange(lab.size), lab]))
    return ce + 0.5 * lam * float((params.W1**2).sum() + (params.W2**2).sum())


def per_sample_jumps(params: Parameters, X, labels, *, gamma: float, activation: str = "relu") -> dict:
    """The per-sample jumps q̇ = −γ ∂H_x/∂q of every variable for every image (M = 1).

    Parameters
    ----------
    params : Parameters
    X : array_like, shape (n, 64)
    labels : array_like of int
    gamma : float
        Learning rate γ > 0.
    activation : str

    Returns
    -------
    dict
        ``{group: ndarray (n, *shape of the group)}`` for the groups of ``GROUPS``.
    """
    X, lab = _check_data(X, labels)
    gamma = check_real("gamma", gamma, low=0.0, low_inclusive=False)
    act = _activation(check_choice("activation", activation, HIDDEN_ACTIVATIONS))
    a, h, _, s = forward(params, X, activation=activation)
    d2 = s.copy()
    d2[np.arange(lab.size), lab] -= 1.0           # ∂H_x/∂z = s − t
    d1 = (d2 @ params.W2) * act.d1(a)             # ∂H_x/∂a
    return {"W1": -gamma * np.einsum("nj,nm->njm", d1, X), "b1": -gamma * d1,
            "W2": -gamma * np.einsum("nk,nj->nkj", d2, h), "b2": -gamma * d2}


@dataclass(frozen=True, eq=False)
class TrainedNetwork:
    """Result of :func:`train_network`.

    Attributes
    ----------
    params : Parameters
        The time average of the parameters over the last quarter of training (the
        equilibrium estimate).
    last : Parameters
        The parameters after the last step.
    loss_curve : ndarray
        The full-data loss at each recorded step.
    record_steps : ndarray
    drift : float
        |mean of the flat parameters over the last quarter − over the third quarter|, a
        Euclidean norm.
    fluctuation : float
        Root-mean-square distance of the recorded parameters of the last quarter from their
        mean: the size of the equilibrium fluctuations the drift is compared with.
    loss_change : float
        Relative change of the mean recorded loss between the third and the last quarter.
    norm : float
        Euclidean norm of ``params`` (all variables).
    accuracy : float
        Training accuracy at ``params``.
    activation, lam, gamma, batch, steps
        The settings.
    """

    params: Parameters
    last: Parameters
    loss_curve: np.ndarray
    record_steps: np.ndarray
    drift: float
    fluctuation: float
    loss_change: float
    norm: float
    accuracy: float
    activation: str
    lam: float
    gamma: float
    batch: int
    steps: int


def train_network(X, labels, *, hidden: int = 32, activation: str = "relu", lam: float = 1e-3,
                  gamma: float = 0.05, batch: int = 16, steps: int = 20_000,
                  rng: np.random.Generator | int, n_record: int = 200) -> TrainedNetwork:
    """Mini-batch SGD, eq. (2.3) of [B], with mini-batches drawn uniformly with replacement.

    Parameters
    ----------
    X : array_like, shape (n, 64)
    labels : array_like of int
    hidden : int
        Hidden width H.
    activation : {"relu", "tanh", "sigmoid"}
    lam : float
        Weight decay λ ≥ 0 on the weights.
    gamma : float
        Learning rate γ > 0.
    batch : int
        Mini-batch size M.
    steps : int
        SGD steps (≥ 40).
    rng : numpy.random.Generator or int
    n_record : int
        Recorded points of the loss curve and of the last two quarters.

    Returns
    -------
    TrainedNetwork
    """
    X, lab = _check_data(X, labels)
    hidden = check_int("hidden", hidden, minimum=1, maximum=1024)
    check_choice("activation", activation, HIDDEN_ACTIVATIONS)
    lam = check_real("lam", lam, low=0.0)
    gamma = check_real("gamma", gamma, low=0.0, low_inclusive=False)
    batch = check_int("batch", batch, minimum=1, maximum=X.shape[0])
    steps = check_int("steps", steps, minimum=40, maximum=2_000_000)
    rng = check_generator("rng", rng)
    n_record = check_int("n_record", n_record, minimum=8)
    p = init_parameters(X.shape[1], hidden, 10, rng=rng)
    W1, b1, W2, b2 = p.W1.copy(), p.b1.copy(), p.W2.copy(), p.b2.copy()
    act = _activation(activation)
    every = max(1, steps // n_record)
    rec_steps, curve, snaps = [], [], []
    q3, n = (3 * steps) // 4, X.shape[0]
    acc_sum = [np.zeros_like(a) for a in (W1, b1, W2, b2)]
    n_acc = 0
    idx_all = rng.integers(0, n, (steps, batch))
    for step in range(steps):
        idx = idx_all[step]
        x, t = X[idx], lab[idx]
        a = x @ W1.T + b1
        h = act.f(a)
        z = h @ W2.T + b2
        s = np.exp(z - logsumexp(z, axis=1, keepdims=True))
        s[np.arange(batch), t] -= 1.0
        d1 = (s @ W2) * act.d1(a)
        W2 -= gamma * (s.T @ h / batch + lam * W2)
        b2 -= gamma * s.mean(axis=0)
        W1 -= gamma * (d1.T @ x / batch + lam * W1)
        b1 -= gamma * d1.mean(axis=0)
        if step >= q3:
            for acc, arr in zip(acc_sum, (W1, b1, W2, b2)):
                acc += arr
            n_acc += 1
        if step % every == 0 or step == steps - 1:
            cur = Parameters(W1.copy(), b1.copy(), W2.copy(), b2.copy())
            rec_steps.append(step)
            curve.append(loss(cur, X, lab, activation=activation, lam=lam))
            if step >= steps // 2:
                snaps.append((step, cur.flat(), curve[-1]))
    if not np.all(np.isfinite(W1)) or not np.all(np.isfinite(W2)):
        raise ValueError(f"SGD diverged (non-finite parameters): gamma = {gamma} is too large")
    mean = Parameters(*(acc / n_acc for acc in acc_sum))
    third = np.array([v for st, v, _ in snaps if st < q3])
    fourth = np.array([v for st, v, _ in snaps if st >= q3])
    l3 = float(np.mean([c for st, _, c in snaps if st < q3]))
    l4 = float(np.mean([c for st, _, c in snaps if st >= q3]))
    drift = float(np.linalg.norm(fourth.mean(0) - third.mean(0)))
    fluct = float(np.sqrt(np.mean(np.sum((fourth - fourth.mean(0)) ** 2, axis=1))))
    _, _, zz, _ = forward(mean, X, activation=activation)
    accuracy = float(np.mean(np.argmax(zz, axis=1) == lab))
    return TrainedNetwork(params=mean, last=Parameters(W1, b1, W2, b2), loss_curve=np.array(curve),
                          record_steps=np.array(rec_steps), drift=drift, fluctuation=fluct,
                          loss_change=abs(l4 - l3) / l3, norm=float(np.linalg.norm(mean.flat())),
                          accuracy=accuracy, activation=activation, lam=lam, gamma=gamma, batch=batch,
                          steps=steps)


def output_margins(params: Parameters, X, *, activation: str = "relu") -> np.ndarray:
    """u_k = z_k − log Σ_{j≠k} e^{z_j} for every image and output k, so that s_k = σ(u_k).

    Parameters
    ----------
    params : Parameters
    X : array_like
    activation : str

    Returns
    -------
    ndarray, shape (n, 10)
    """
    _, _, z, _ = forward(params, X, activation=activation)
    n, k = z.shape
    others = np.empty_like(z)
    for j in range(k):  # over the 10 outputs, not over samples
        others[:, j] = logsumexp(np.delete(z, j, axis=1), axis=1)
    return z - others


def output_bias_map(u_k, is_k, *, gamma: float):
    """The toy-model jump map of output bias b²_k (module docstring): a JumpMap per class.

    Parameters
    ----------
    u_k : array_like, shape (n,)
        The margins of output k.
    is_k : array_like of bool
        Images of class k (the '+' class, t_k = 1).
    gamma : float

    Returns
    -------
    dict
        ``{'-': JumpMap, '+': JumpMap}``: sigmoid + cross-entropy with w = 1, b = 0,
        θ = π/2, on the margins of each class as an
        :class:`~bbdlib.duality.real_data.EmpiricalTwoClassData`.
    """
    from bbdlib.duality.jumps import JumpMap
    from bbdlib.duality.real_data import EmpiricalTwoClassData
    from bbdlib.duality.toy_model import Composition

    u = check_array("u_k", u_k, ndim=1)
    m = np.asarray(is_k, dtype=bool)
    if m.shape != u.shape:
        raise ValueError("is_k must have the shape of u_k")
    data = EmpiricalTwoClassData.from_values(u[~m], u[m])
    comp = Composition("sigmoid", "cross_entropy")
    return {c: JumpMap(comp, 1.0, 0.0, c, gamma, math.pi / 2, data=data) for c in ("-", "+")}


def pushforward_cdf(kde, q, *, gamma: float, cls: str) -> np.ndarray:
    """P(|q̇| ≤ q) of an output-bias jump predicted by the push-forward (3.12) of [B] of the
    margin density ``kde`` through the map |q̇| = γσ(u) ('−') or γσ(−u) ('+').

    Parameters
    ----------
    kde : KernelDensity
        Estimate of the margin density of the class (:mod:`bbdlib.duality.real_data`).
    q : array_like
        Values 0 < q < γ.
    gamma : float
    cls : {'-', '+'}

    Returns
    -------
    ndarray
    """
    from bbdlib.duality.toy_model import check_class

    cls = check_class(cls)
    gamma = check_real("gamma", gamma, low=0.0, low_inclusive=False)
    q = np.asarray(q, dtype=float)
    r = np.clip(q / gamma, 1e-300, 1 - 1e-16)
    v = np.log(r) - np.log1p(-r)               # logit(q/γ)

    def F(x):
        z = (np.asarray(x).reshape(-1, 1) - kde.points[None, :]) / kde.bandwidth
        return ndtr(z).mean(axis=1).reshape(np.shape(x))

    return F(v) if cls == "-" else 1.0 - F(-v)


def ks_to_prediction(abs_q, cdf) -> float:
    """Kolmogorov–Smirnov distance sup |F_n − F| of the samples ``abs_q`` to the predicted CDF.

    Parameters
    ----------
    abs_q : array_like
        Samples.
    cdf : callable
        The predicted CDF, vectorised.

    Returns
    -------
    float
    """
    x = np.sort(check_array("abs_q", abs_q, ndim=1, min_size=1))
    f = np.asarray(cdf(x), dtype=float)
    n = x.size
    return float(max(np.max(np.arange(1, n + 1) / n - f), np.max(f - np.arange(n) / n)))


def small_jump_window(abs_q, *, edge_count: int | None = None,
                      quantile: float = SMALL_JUMP_QUANTILE) -> tuple[float, float] | None:
    """The small-jump window of one variable: from the ``edge_count``-th smallest non-zero |q̇|
    (the plan's data edge) to the ``quantile`` of the non-zero |q̇|.

    Parameters
    ----------
    abs_q : array_like
        |q̇| of the images (zeros allowed; they are dropped).
    edge_count : int, optional
        Default :data:`bbdlib.duality.analysis_plan.EDGE_COUNT`.
    quantile : float
        In (0, 1).

    Returns
    -------
    (float, float) or None
        None when fewer than ``edge_count / quantile`` non-zero jumps exist (the window
        would hold fewer than ``edge_count`` samples) or the edges coincide.
    """
    from bbdlib.duality import analysis_plan as plan

    x = check_array("abs_q", abs_q, ndim=1)
    edge_count = plan.EDGE_COUNT if edge_count is None else check_int("edge_count", edge_count, minimum=1)
    quantile = check_real("quantile", quantile, low=0.0, high=1.0, low_inclusive=False, high_inclusive=False)
    x = x[x > 0]
    if x.size < edge_count / quantile:
        return None
    lo = float(np.partition(x, edge_count - 1)[edge_count - 1])
    hi = float(np.quantile(x, quantile))
    return (lo, hi) if hi > lo else None


def dead_units(params: Parameters, X, *, activation: str = "relu") -> np.ndarray:
    """Hidden units whose activation derivative vanishes on every image (dead ReLUs).

    Parameters
    ----------
    params : Parameters
    X : array_like
    activation : str

    Returns
    -------
    ndarray of bool, shape (H,)
    """
    a, _, _, _ = forward(params, X, activation=activation)
    act = _activation(check_choice("activation", activation, HIDDEN_ACTIVATIONS))
    return np.all(act.d1(a) == 0, axis=0)


@dataclass(frozen=True, eq=False)
class BiasSide:
    """One output bias b²_k, one side ('−': images of other classes, '+': of class k).

    Attributes
    ----------
    k : int
        The output.
    cls : str
        '-' or '+'.
    abs_q : ndarray
        |q̇| of the images of the side.
    density : KernelDensity
        Estimate of the margin density p_u of the side.
    window : PlanWindow or None
        The analysis plan's window with p_u in place of the Gaussian (None: see ``note``).
    note : str
    edge_rule : str
        ``"plan"`` (the ``EDGE_COUNT``-th smallest and largest jump) or ``"extremes"`` (the
        smallest and largest: fewer images than the plan's rule needs).
    measurement : ExponentMeasurement or None
        The plan's measurement of the image jumps over the window.
    k_density : float
        Least-squares exponent of the push-forward density (6.1) with p_u over the window.
    ks : float
        KS distance of the image jumps to the push-forward prediction (:func:`pushforward_cdf`).
    ks_critical : float
        1.36/√n, the 95 % critical KS distance for n samples.
    """

    k: int
    cls: str
    abs_q: np.ndarray
    density: object
    window: object
    note: str
    edge_rule: str
    measurement: object
    k_density: float
    ks: float
    ks_critical: float

    @property
    def decades(self) -> float:
        """The window's extent in decades (0 without one)."""
        return 0.0 if self.window is None else self.window.decades

    def agrees(self, k_theory: float) -> bool:
        """The plan's verdict: a range, stable halves and k within the tolerance."""
        return self.measurement is not None and self.measurement.agrees(k_theory)


def analyse_output_bias(u_k, is_k, cls: str, *, k: int, gamma: float, rng: np.random.Generator | int,
                        n_boot: int | None = None, rule: str = "silverman") -> BiasSide:
    """The jumps of output bias b²_k on one side against the push-forward of the margins.

    Parameters
    ----------
    u_k : array_like, shape (n,)
        Margins of output k (:func:`output_margins`).
    is_k : array_like of bool
        Images of class k.
    cls : {'-', '+'}
    k : int
        The output (for labels).
    gamma : float
    rng : numpy.random.Generator or int
    n_boot : int, optional
        Bootstrap resamples (default the plan's ``N_BOOT``).
    rule : {"silverman", "scott"}
        Bandwidth rule of the margin density.

    Returns
    -------
    BiasSide
    """
    from bbdlib.duality import analysis_plan as plan
    from bbdlib.duality.density import exact_density
    from bbdlib.duality.real_data import kernel_density
    from bbdlib.duality.toy_model import check_class

    cls = check_class(cls)
    k = check_int("k", k, minimum=0, maximum=9)
    rng = check_generator("rng", rng)
    n_boot = plan.N_BOOT if n_boot is None else check_int("n_boot", n_boot, minimum=20)
    maps = output_bias_map(u_k, is_k, gamma=gamma)
    jm = maps[cls]
    u = jm.data.values(cls)
    kde = kernel_density(u, rule=rule)
    q = np.abs(jm.qdot(u))
    q = q[q > 0]
    ks = ks_to_prediction(q, lambda v: pushforward_cdf(kde, v, gamma=gamma, cls=cls))
    p_u = kde.y_density(1.0, 0.0)
    edge_rule = "plan" if q.size >= 2 * plan.EDGE_COUNT + 10 else "extremes"
    pw, note, meas, k_dens = None, "", None, float("nan")
    try:
        if edge_rule == "plan":
            pw = plan.plan_window(jm, q, y_density=p_u)
        else:
            pw = plan.plan_window(jm, data_edges=(float(q.min()), float(q.max())), y_density=p_u)
    except ValueError as exc:
        note = str(exc)
    if pw is not None:
        g = np.geomspace(pw.x_min, pw.x_max, 200)
        d = exact_density(jm, g, y_density=p_u).density
        ok = d > 0
        if ok.sum() >= 3:
            k_dens = -float(np.polyfit(np.log(g[ok]), np.log(d[ok]), 1)[0])
        try:
            meas = plan.measure_exponent(q, (pw.x_min, pw.x_max), rng=rng, n_boot=n_boot,
                                         scanned_edge="low" if pw.rule_edge == "low" else "high",
                                         limits=(pw.data_low, pw.data_high))
        except ValueError as exc:
            note = str(exc)
    return BiasSide(k=k, cls=cls, abs_q=q, density=kde, window=pw, note=note, edge_rule=edge_rule,
                    measurement=meas, k_density=k_dens, ks=ks, ks_critical=1.36 / math.sqrt(q.size))


@dataclass(frozen=True, eq=False)
class VariableFit:
    """The small-jump regime of one trainable variable (:func:`small_jump_fits`).

    Attributes
    ----------
    group : str
    index : tuple
        The variable's index within its group.
    zero_share : float
        Share of images whose jump is exactly zero (inactive ReLU, blank pixel).
    window : (float, float) or None
        :func:`small_jump_window`.
    measurement : ExponentMeasurement or None
    """

    group: str
    index: tuple
    zero_share: float
    window: tuple | None
    measurement: object

    @property
    def decades(self) -> float:
        """The window's extent in decades (0 without one)."""
        return 0.0 if self.window is None else math.log10(self.window[1] / self.window[0])

    @property
    def power_law(self) -> bool:
        """A window of at least the plan's one decade on which the half-window fits agree."""
        m = self.measurement
        return m is not None and m.has_range and m.stable


def small_jump_fits(jumps, group: str, *, rng: np.random.Generator | int, n_boot: int = 50,
                    max_variables: int | None = None) -> list:
    """Measure the small-jump regime of the variables of one group by the plan's measurement.

    Parameters
    ----------
    jumps : array_like, shape (n_images, ...)
        Per-sample jumps of the group (:func:`per_sample_jumps`).
    group : str
        Its name (one of ``GROUPS``).
    rng : numpy.random.Generator or int
        Bootstrap randomness and the choice of variables.
    n_boot : int
        Bootstrap resamples per fit.
    max_variables : int, optional
        Measure a random subset of at most this many variables.

    Returns
    -------
    list of VariableFit
    """
    from bbdlib.duality import analysis_plan as plan

    group = check_choice("group", group, GROUPS)
    J = check_array("jumps", jumps)
    rng = check_generator("rng", rng)
    n_boot = check_int("n_boot", n_boot, minimum=20)
    flat = np.abs(J.reshape(J.shape[0], -1))
    idx = np.arange(flat.shape[1])
    if max_variables is not None:
        max_variables = check_int("max_variables", max_variables, minimum=1)
        if idx.size > max_variables:
            idx = np.sort(rng.choice(idx, max_variables, replace=False))
    zero = (flat == 0).mean(axis=0)
    out = []
    for i in idx:  # over variables, not samples
        x = flat[:, i]
        win = small_jump_window(x)
        meas = None
        if win is not None:
            try:
                meas = plan.measure_exponent(x[x > 0], win, rng=rng, n_boot=n_boot, scanned_edge="high")
            except ValueError:
                meas = None
        out.append(VariableFit(group=group, index=tuple(int(v) for v in np.unravel_index(i, J.shape[1:])),
                               zero_share=float(zero[i]), window=win, measurement=meas))
    return out
