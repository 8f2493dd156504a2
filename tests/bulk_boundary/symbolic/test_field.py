"""Tests of bbdlib.bulk_boundary.symbolic.field: Appendix B of [A] (Fig. 3 architecture, eqs. (33)-(35))."""
import numpy as np
import pytest
import sympy as sp

from bbdlib.bulk_boundary.symbolic.field import (
    expand_density,
    field,
    is_null_lagrangian,
    local_links,
    local_network_lagrangian,
    printed_eq34,
    printed_eq35_input,
    riemann_sum_eq33,
    sector_invariant,
)


def test_local_links_periodic():
    links = local_links(4, 2)
    assert len(links) == 2 * 4 * 2
    assert (0, 1, 4) in links and (0, 1, 2) in links and (0, 4, 1) in links
    assert (0, 1, 1) not in links
    with pytest.raises(ValueError):
        local_links(2, 2)
    with pytest.raises(TypeError):
        local_links(4.0, 2)
    with pytest.raises(ValueError):
        local_links(4, 1)


def test_local_network_is_local_in_width():
    J, bulk, boundary = local_network_lagrangian(4, 2)
    N = 4
    assert len(J.links) == len(local_links(4, 2))
    for term in sp.Add.make_args(bulk):
        keys = {J.variable_of(x) for x in term.free_symbols} - {None}
        idx = [k[2] for k in keys if k[0] == "z"] + [k[2] for k in keys if k[0] == "W"] \
            + [k[3] for k in keys if k[0] == "W"]
        for a in idx:
            for b in idx:
                assert min((a - b) % N, (b - a) % N) <= 2
    # the output boundary is -Σ ℓ_i
    ell = {J.loss(i) for i in J.N(J.M)}
    assert sp.expand(sp.Add(*[t for t in sp.Add.make_args(boundary) if t.free_symbols & ell]) + J.total_loss) == 0


def test_null_lagrangian_detector():
    F = field()
    u = F.w
    assert is_null_lagrangian(F, sp.diff(u, F.x) * sp.diff(u, F.x, 2))          # d_x(u_x^2/2)
    assert not is_null_lagrangian(F, sp.diff(u, F.x) ** 2)


def test_expansion_orders():
    F = field()
    d = expand_density(F, "source")
    s = F.sigma(F.phi)
    wd, pd = sp.diff(F.w, F.t), sp.diff(F.phi, F.t)
    G = sp.diff(s * F.w, F.t)
    assert sp.expand(d[0] - (wd ** 2 + pd ** 2 / 2 - 2 * pd * G + 2 * G ** 2)) == 0
    assert is_null_lagrangian(F, d[1] - printed_eq34(F)["2 a_x"])
    mid = expand_density(F, "midpoint")
    assert not is_null_lagrangian(F, mid[1] - printed_eq34(F)["2 a_x"])
    assert sector_invariant(d[2].coeff(F.ay, 2), s ** 2, wd, F.y) == -2
    assert sector_invariant(mid[2].coeff(F.ay, 2), s ** 2, wd, F.y) == sp.Rational(-1, 2)


def test_input_sector_matches_eq35():
    F = field()
    e = expand_density(F, "source", "input")
    P = printed_eq35_input(F)
    w0 = sp.Function("w")(F.t, F.y)
    cross = -2 * sp.diff(sp.Function("phi")(F.t, F.y), F.t) * sp.diff(w0 * F.X, F.t)
    assert sp.expand(e[0] - cross - P["O(1)"]) == 0
    Xd2 = sp.diff(F.X, F.t) ** 2
    assert sector_invariant(e[2].coeff(F.ay, 2), Xd2, w0, F.y) == \
        sector_invariant(P["2 a_y^2"].coeff(F.ay, 2), Xd2, w0, F.y) == -2


def test_riemann_sum_converges():
    def kern(a, b):
        return np.exp(np.cos(2 * np.pi * (a - b)))

    def z(s):
        return np.sin(2 * np.pi * s)

    e8, e32 = riemann_sum_eq33(kern, z, 8), riemann_sum_eq33(kern, z, 32)
    assert e32 < e8 and e32 < 1e-9


def test_sublattices_of_the_local_architecture():
    from bbdlib.bulk_boundary.symbolic.field import sublattices

    for n in (3, 5, 7, 9):
        assert sublattices(n, 3) == 1
    for n in (4, 6, 8):
        assert sublattices(n, 2) == 2 and sublattices(n, 3) == 2
    import pytest

    with pytest.raises(ValueError, match="width"):
        sublattices(2, 3)
    with pytest.raises(ValueError, match="depth"):
        sublattices(5, 1)


def test_riemann_sum_bad_input():
    import pytest

    with pytest.raises(ValueError, match="kernel"):
        riemann_sum_eq33(lambda a, b: np.log(a - b), np.sin, 8)
    with pytest.raises(ValueError, match="z"):
        riemann_sum_eq33(lambda a, b: a + b, lambda s: np.asarray(s) / np.zeros_like(s), 8)
    with pytest.raises(ValueError, match="length"):
        riemann_sum_eq33(lambda a, b: a + b, np.sin, 8, length=np.inf)
    with pytest.raises(ValueError, match="n"):
        riemann_sum_eq33(lambda a, b: a + b, np.sin, 0)
