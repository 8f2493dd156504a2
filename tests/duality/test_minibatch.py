"""Tests of bbdlib.duality.minibatch: the logarithmic convolution against closed forms, the
mini-batch SGD runner, the window rule and bad input."""
import math

import numpy as np
import pytest
from scipy import stats

from bbdlib.duality import minibatch as mb
from bbdlib.duality.jumps import JumpMap
from bbdlib.duality.toy_model import TWO_CLASSES, Composition

GRID = np.geomspace(1e-8, 1e4, 12 * 60 + 1)


def _abs_cdf_error(law, dist, xs):
    exact = dist.cdf(xs) - dist.cdf(-xs)
    return np.max(np.abs(law.abs_cdf(xs) * law.nonzero_mass - exact))


@pytest.mark.parametrize("M", [1, 2, 4, 16, 64, 5])
def test_mean_of_gaussians(M):
    law = mb.atom_law_from_cdf(stats.norm(0, 1).cdf, GRID)
    out = mb.mean_law(law, M)
    assert _abs_cdf_error(out, stats.norm(0, 1 / math.sqrt(M)), np.geomspace(1e-3, 10, 60)) < 5e-3
    assert math.isclose(out.nonzero_mass + out.p_zero, 1.0, rel_tol=1e-9)  # atoms below 1e-14 dropped


@pytest.mark.parametrize("M", [2, 16, 64])
def test_mean_of_cauchy_is_cauchy(M):
    """The mean of M standard Cauchy variables is standard Cauchy (a k = 2 tail survives)."""
    law = mb.atom_law_from_cdf(stats.cauchy(0, 1).cdf, GRID)
    out = mb.mean_law(law, M)
    assert _abs_cdf_error(out, stats.cauchy(0, 1), np.geomspace(1e-3, 1e3, 60)) < 5e-3


@pytest.mark.parametrize("M", [2, 16, 64])
def test_mean_of_exponentials_is_gamma(M):
    law = mb.atom_law_from_cdf(stats.expon().cdf, GRID)
    out = mb.mean_law(law, M)
    assert out.p_neg.sum() < 1e-12
    # Gamma(64, 1/64) has a relative width of 1/8, three cells of the grid: the cell smearing shows
    assert _abs_cdf_error(out, stats.gamma(M, scale=1 / M), np.geomspace(1e-3, 10, 60)) < 1e-2


def test_mean_laws_equals_mean_law():
    law = mb.atom_law_from_cdf(stats.norm(0.3, 1).cdf, GRID[::4])
    many = mb.mean_laws(law, (1, 3, 8))
    for M in (1, 3, 8):
        one = mb.mean_law(law, M)
        np.testing.assert_allclose(many[M].p_pos, one.p_pos, atol=1e-14)
        np.testing.assert_allclose(many[M].p_neg, one.p_neg, atol=1e-14)


def test_thinned_slot_law():
    law = mb.atom_law_from_cdf(stats.expon().cdf, GRID[::4])
    slot = mb.thinned(law, 0.25)
    assert math.isclose(slot.nonzero_mass, 0.25 * law.nonzero_mass, rel_tol=1e-12)
    # the mean of 2 slots: P(both zero) = (1 - p)^2
    two = mb.mean_law(slot, 2)
    assert math.isclose(two.p_zero, 0.75**2, rel_tol=1e-9)


def test_quantile_inverts_cdf():
    law = mb.atom_law_from_cdf(stats.lognorm(1.0).cdf, GRID)
    p = np.array([0.01, 0.3, 0.9])
    np.testing.assert_allclose(law.abs_cdf(law.abs_quantile(p)), p, atol=1e-9)


def test_atom_law_from_map_matches_gaussian():
    """q(x) = x with x ~ N(0, 1): the per-sample law is the Gaussian itself."""
    law = mb.atom_law_from_map(lambda x: x, GRID, mean=0.0, std=1.0, n_grid=400_001)
    assert _abs_cdf_error(law, stats.norm(0, 1), np.geomspace(1e-3, 5, 40)) < 2e-4


def test_law_window_finds_a_pure_power_law():
    """Density ∝ s^-0.5 on [1e-4, 1]: the window spans the four decades (up to one atom)."""
    g = np.geomspace(1e-6, 1e2, 8 * 40 + 1)

    def cdf(s):
        s = np.asarray(s, dtype=float)
        return np.where(s <= 0, 0.0, np.clip((np.clip(s, 1e-4, 1.0) ** 0.5 - 1e-2) / (1 - 1e-2), 0, 1))

    law = mb.atom_law_from_cdf(cdf, g)
    win = mb.law_window(law, 0.5, (1e-4, 1.0))
    assert win.decades > 3.8
    assert win.has_range
    k = mb.population_exponent(law, (win.x_min, win.x_max))
    assert abs(k - 0.5) < 0.02
    assert mb.law_window(law, 1.5, (1e-4, 1.0)).decades < 0.5   # the wrong law has no window


def test_ks_to_law_small_for_own_samples():
    rng = np.random.default_rng(0)
    law = mb.atom_law_from_cdf(stats.norm(0, 1).cdf, GRID)
    ks = mb.ks_to_law(np.abs(rng.normal(size=20_000)), law)
    assert ks < 0.02
    assert mb.ks_to_law(np.abs(rng.normal(size=20_000)) * 2, law) > 0.2


def test_minibatch_sgd_jumps_m1_matches_potential_jumps():
    """M = 1 actual jumps are the per-sample jumps; the slot definition makes half of them zero."""
    comp = Composition("relu", "power", 4.0)
    th = {"-": math.pi / 2, "+": math.pi / 4}
    run = mb.minibatch_sgd_jumps(comp, 0.82, 0.08, gamma=0.1, batch_sizes=(1, 4), steps=200,
                                 replicas=100, burn_in=50, thetas=th, rng=1)
    for c in "-+":
        ch = run.changes[1][c]
        assert ch.size == 200 * 100
        frac_zero = np.mean(ch == 0)
        assert 0.45 < frac_zero < 0.85      # other class (1/2) plus the inactive inputs
        jm = JumpMap(comp, run.w_avg[1], run.b_avg[1], c, 0.1, th[c])
        g = mb.jump_grid(jm.qdot, mean=0.0 if c == "-" else 1.0, std=0.25, per_decade=20, widen_low=640)
        law = mb.thinned(mb.atom_law_from_map(jm.qdot, g, mean=0.0 if c == "-" else 1.0, std=0.25), 0.5)
        assert mb.ks_to_law(run.abs_nonzero(1, c), law) < 0.05
        L4 = mb.mean_law(law, 4)
        assert mb.ks_to_law(run.abs_nonzero(4, c), L4) < 0.05


def test_minibatch_is_deterministic():
    comp = Composition("sigmoid", "mse")
    th = {"-": math.pi / 2, "+": math.pi / 4}
    a = mb.minibatch_sgd_jumps(comp, 16.0, -8.0, gamma=4.0, batch_sizes=(1, 2), steps=20, replicas=10,
                               burn_in=5, thetas=th, rng=3)
    b = mb.minibatch_sgd_jumps(comp, 16.0, -8.0, gamma=4.0, batch_sizes=(1, 2), steps=20, replicas=10,
                               burn_in=5, thetas=th, rng=3)
    np.testing.assert_array_equal(a.changes[2]["+"], b.changes[2]["+"])


def test_clipped_qdot_bounds_the_jumps():
    comp = Composition("piecewise_linear", "cross_entropy")
    jm = JumpMap(comp, 3.5, -1.3, "-", 0.1, math.pi / 2)
    x = np.linspace(0.36, 0.65, 10_001)
    assert np.max(np.abs(mb.clipped_qdot(jm, 10.0)(x))) <= 0.1 * 10.0 * (1 + 1e-12)
    assert np.max(np.abs(jm.qdot(x))) > 1.0
    assert mb.clipped_qdot(jm, None) == jm.qdot


# -- bad input --------------------------------------------------------------------------
@pytest.mark.parametrize("bad", [0, -1, (1, 0), (2, -3)])
def test_batch_size_below_one_names_M(bad):
    with pytest.raises(ValueError, match="M"):
        mb.check_batch_sizes(bad)


def test_batch_size_not_integer_names_M():
    with pytest.raises(TypeError, match="M"):
        mb.check_batch_sizes((1, 2.0))
    with pytest.raises(TypeError, match="batch_sizes"):
        mb.check_batch_sizes("16")
    with pytest.raises(ValueError, match="repeat"):
        mb.check_batch_sizes((2, 2))


def test_mean_law_rejects_M_below_one():
    law = mb.atom_law_from_cdf(stats.norm().cdf, GRID[::10])
    with pytest.raises(ValueError, match="M"):
        mb.mean_law(law, 0)


def test_sgd_rejects_M_below_one():
    comp = Composition("relu", "mse")
    with pytest.raises(ValueError, match="M"):
        mb.minibatch_sgd_jumps(comp, 1.0, 0.0, gamma=0.1, batch_sizes=(1, 0), steps=5, replicas=2, burn_in=0,
                               thetas={"-": 1.0, "+": 1.0}, rng=0)


def test_bad_grid_and_law():
    with pytest.raises(ValueError, match="grid"):
        mb.atom_law_from_cdf(stats.norm().cdf, [1.0, 2.0, 5.0])
    with pytest.raises(TypeError, match="law"):
        mb.mean_law("not a law", 2)
    with pytest.raises(ValueError, match="clip_norm"):
        mb.clipped_qdot(JumpMap(Composition("relu", "mse"), 1.0, 0.0, "-", 0.1, 1.0), 0.0)


# -- the fast paths against plain references (the loops as first written) -------------------

def _reference_sgd_jumps(comp, w0, b0, *, gamma, batch_sizes, steps, replicas, burn_in, thetas, rng,
                         data=TWO_CLASSES, clip_norm=None):
    """The mini-batch SGD run as first written: (M, replicas) parameters, dH of both classes."""
    Ms = tuple(batch_sizes)
    nM, width = len(Ms), sum(Ms)
    group = np.repeat(np.arange(nM), Ms)
    starts = np.concatenate([[0], np.cumsum(Ms)[:-1]])
    inv_m = 1.0 / np.array(Ms, dtype=float)
    w, b = np.full((nM, replicas), w0), np.full((nM, replicas), b0)
    cm, sm = math.cos(thetas["-"]), math.sin(thetas["-"])
    cp, sp = math.cos(thetas["+"]), math.sin(thetas["+"])
    rec = {c: np.empty((nM, steps, replicas)) for c in "-+"}
    sw, sb = np.zeros(nM), np.zeros(nM)
    total = burn_in + steps
    chunk = max(1, min(64, mb.MAX_WORK * 4 // (replicas * width)))
    for c0 in range(0, total, chunk):
        m = min(chunk, total - c0)
        tt = rng.random((m, replicas, width)) < data.p_plus
        xx = data.inputs(tt, rng.standard_normal((m, replicas, width)))
        for j in range(m):
            i = c0 + j
            x, t = xx[j], tt[j]
            y = w[group].T * x + b[group].T
            g = np.where(t, comp.dH(y, data.target_plus), comp.dH(y, data.target_minus))
            if clip_norm is not None:
                norm = np.abs(g) * np.sqrt(x * x + 1.0)
                over = norm > clip_norm
                g = np.where(over, g * (clip_norm / np.where(over, norm, 1.0)), g)
            dw_s, db_s = -gamma * g * x, -gamma * g
            dw = np.add.reduceat(dw_s, starts, axis=1).T * inv_m[:, None]
            db = np.add.reduceat(db_s, starts, axis=1).T * inv_m[:, None]
            if i >= burn_in:
                qm = np.where(t, 0.0, cm * dw_s + sm * db_s)
                qp = np.where(t, cp * dw_s + sp * db_s, 0.0)
                rec["-"][:, i - burn_in] = np.add.reduceat(qm, starts, axis=1).T * inv_m[:, None]
                rec["+"][:, i - burn_in] = np.add.reduceat(qp, starts, axis=1).T * inv_m[:, None]
                sw += w.sum(axis=1)
                sb += b.sum(axis=1)
            w = w + dw
            b = b + db
    n = steps * replicas
    return ({M: {c: rec[c][k].ravel() for c in "-+"} for k, M in enumerate(Ms)},
            {M: float(sw[k] / n) for k, M in enumerate(Ms)}, {M: float(sb[k] / n) for k, M in enumerate(Ms)})


@pytest.mark.parametrize("comp, w0, b0, gamma, clip", [
    (Composition("sigmoid", "mse"), 16.0, -8.0, 4.0, None),
    (Composition("relu", "power", 4.0), 0.82, 0.08, 0.1, None),
    (Composition("piecewise_linear", "cross_entropy"), 3.5, -1.3, 0.1, 10.0),
])
def test_minibatch_sgd_jumps_is_bitwise_the_reference(comp, w0, b0, gamma, clip):
    """The (replicas, M) layout, the one-pass dH_classes and the reduceat into one buffer give
    the same floats as the loop as first written (same draws, same sums)."""
    th = {"-": math.pi / 2, "+": math.pi / 4}
    Ms = (1, 2, 4, 16, 64)
    kw = dict(gamma=gamma, batch_sizes=Ms, steps=30, replicas=37, burn_in=70, thetas=th, clip_norm=clip)
    run = mb.minibatch_sgd_jumps(comp, w0, b0, rng=np.random.default_rng(11), **kw)
    changes, w_avg, b_avg = _reference_sgd_jumps(comp, w0, b0, rng=np.random.default_rng(11), **kw)
    for M in Ms:
        for c in "-+":
            np.testing.assert_array_equal(run.changes[M][c], changes[M][c])
    assert run.w_avg == w_avg and run.b_avg == b_avg


def _reference_combine(a, na, b, nb):
    """:func:`mb._combine` and :func:`mb._deposit` as first written (masked arrays, a bincount
    per sign)."""
    def atoms(law):
        v = np.concatenate([-law.grid[::-1], [0.0], law.grid])
        p = np.concatenate([law.p_neg[::-1], [law.p_zero], law.p_pos])
        keep = p > mb._P_FLOOR
        return v[keep], p[keep]

    va, pa = atoms(a)
    vb, pb = atoms(b)
    s = ((na * va[:, None] + nb * vb[None, :]) / (na + nb)).ravel()
    w = (pa[:, None] * pb[None, :]).ravel()
    cancel = np.flatnonzero((s == 0) & (np.repeat(va, vb.size) != 0))
    if cancel.size:
        mag = np.abs(na * np.repeat(va, vb.size)[cancel]) / (na + nb) * (a.log_step / 3.0)
        half = 0.5 * w[cancel]
        s = np.concatenate([s, -mag])
        s[cancel] = mag
        w = np.concatenate([w, half])
        w[cancel] = half
    g, n = a.grid, a.grid.size
    zero = s == 0
    p_zero = float(w[zero].sum())
    s, w = s[~zero], w[~zero]
    f = np.clip((np.log(np.abs(s)) - math.log(g[0])) / a.log_step, 0.0, n - 1.0)
    lo = np.minimum(np.floor(f).astype(np.intp), n - 2)
    frac = f - lo
    neg = s < 0
    out = [np.bincount(lo[m], weights=w[m] * (1.0 - frac[m]), minlength=n)
           + np.bincount(lo[m] + 1, weights=w[m] * frac[m], minlength=n) for m in (neg, ~neg)]
    return mb.AtomLaw(grid=g, p_neg=out[0], p_pos=out[1], p_zero=p_zero)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_combine_is_bitwise_the_reference(seed):
    """The convolution step (zeros kept at weight 0, one bincount for both signs) equals the
    masked version on random laws, cancelling pairs and dropped atoms included."""
    rng = np.random.default_rng(seed)
    g = np.geomspace(1e-6, 1e3, 181)
    def law():
        p = rng.random((2, g.size)) * (rng.random((2, g.size)) < 0.7)
        p[:, rng.integers(0, g.size, 20)] = 1e-16      # atoms below the floor
        tot = p.sum() + 0.3
        return mb.AtomLaw(grid=g, p_neg=p[0] / tot, p_pos=p[1] / tot, p_zero=0.3 / tot)
    a, b = law(), law()
    for na, nb in ((1, 1), (2, 2), (4, 1), (3, 5)):
        for x, y in ((a, a), (a, b)):
            got, ref = mb._combine(x, na, y, nb), _reference_combine(x, na, y, nb)
            np.testing.assert_array_equal(got.p_neg, ref.p_neg)
            np.testing.assert_array_equal(got.p_pos, ref.p_pos)
            assert got.p_zero == ref.p_zero
