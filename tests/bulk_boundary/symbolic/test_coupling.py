"""Tests of bbdlib.bulk_boundary.symbolic.coupling: Fig. 1 graph, locality, translation symmetry (Sec. 3 of [A])."""
import pytest
import sympy as sp

from bbdlib.bulk_boundary.symbolic.coupling import (
    coupling_graph,
    dependencies,
    link_blocks,
    permute_layer,
    shift,
    translation_check,
)
from bbdlib.bulk_boundary.symbolic.jets import jets
from bbdlib.bulk_boundary.symbolic.lagrangian import decompose


def test_graph_locality():
    J = jets((2, 2, 2, 2), loss="generic")
    D = decompose(J)
    gb = coupling_graph(J, D.L_wb, "Wb")
    gz = coupling_graph(J, D.L_wz, "Wz")
    n = len(J.variables("Wb"))
    assert gb.n_pairs == n * (n - 1) // 2          # the loss couples everything
    assert gb.max_depth_span == J.M - 1
    assert gz.max_depth_span == 1.0                # nearest layers only
    assert gz.data_neighbours() == {k for k in J.variables("Wz") if (k[0] == "W" and k[1] == 0)
                                    or (k[0] == "z" and k[1] in (1, 3))}


def test_sitewise_loss_leaves_some_pairs_uncoupled():
    J = jets((2, 2, 2))        # two outputs: W^(1) rows feeding different outputs do not meet
    g = coupling_graph(J, J.lagrangian("Wb"), "Wb")
    n = len(J.variables("Wb"))
    assert g.n_pairs < n * (n - 1) // 2
    assert frozenset({("W", 1, 1, 1), ("W", 1, 2, 1)}) not in g.edges
    assert g.max_depth_span == J.M - 1


def test_dependencies_follow_the_recursion():
    J = jets((1, 1, 1, 1))
    s2 = J.sigma(2, 1)
    assert dependencies(J, s2, "Wz") == {("z", 2, 1)}
    assert dependencies(J, s2, "Wb") == {("W", 1, 1, 1), ("b", 1, 1), ("W", 0, 1, 1), ("b", 0, 1), ("X", 1)}
    assert ("Y", 1) in dependencies(J, J.loss(1), "Wb")
    with pytest.raises(ValueError, match="x"):
        dependencies(J, sp.Symbol("q"), "Wz")


def test_translation_symmetry():
    J = jets((2, 2, 2, 2, 2))
    D = decompose(J)
    assert all(r == 0 for r in translation_check(J, D.bulk).values())
    blocks = link_blocks(J, D.bulk)
    assert sp.expand(shift(J, blocks[0]) - blocks[1]) != 0   # the input end breaks it


def test_translation_needs_equal_widths():
    J = jets((2, 2, 3, 2, 2))
    with pytest.raises(ValueError, match="no image"):
        translation_check(J, decompose(J).bulk)


def test_translation_check_can_fail():
    J = jets((2, 2, 2, 2, 2))
    broken = decompose(J).bulk + J.W(2, 1, 1, 1) ** 2
    assert any(r != 0 for r in translation_check(J, broken).values())


def test_exchange_symmetry_of_hidden_layers():
    J = jets((2, 3, 2, 1))
    D = decompose(J)
    for layer, perm in ((1, (2, 3, 1)), (2, (2, 1))):
        assert sp.expand(permute_layer(J, D.L_wz, layer, perm) - D.L_wz) == 0
        assert sp.expand(permute_layer(J, D.L_wb, layer, perm, basis="Wb") - D.L_wb) == 0
    # permuting the neurons without their weights is not a symmetry
    swap = {**dict(zip(J._z[(1, 1)], J._z[(1, 2)])), **dict(zip(J._z[(1, 2)], J._z[(1, 1)])),
            **dict(zip(J._s[(1, 1)], J._s[(1, 2)])), **dict(zip(J._s[(1, 2)], J._s[(1, 1)]))}
    assert sp.expand(D.L_wz.xreplace(swap) - D.L_wz) != 0
    with pytest.raises(ValueError, match="perm"):
        permute_layer(J, D.L_wz, 1, (1, 1, 2))
    with pytest.raises(ValueError, match="layer"):
        permute_layer(J, D.L_wz, 3, (1,))


def test_drawing_smoke():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from bbdlib.bulk_boundary.symbolic.coupling import draw_coupling_graph
    from bbdlib.bulk_boundary.symbolic.field import draw_local_architecture
    J = jets((2, 2, 1))
    D = decompose(J)
    fig, ax = plt.subplots(1, 3)
    draw_coupling_graph(coupling_graph(J, D.L_wb, "Wb"), J, ax[0])
    draw_coupling_graph(coupling_graph(J, D.L_wz, "Wz"), J, ax[1])
    draw_local_architecture(ax[2], 4, 2)
    assert len(ax[1].collections) >= 2 and len(ax[2].lines) > 0
    plt.close(fig)
