"""Tests of bbdlib.bulk_boundary.symbolic.coupling: Fig. 1 graph, locality, translation symmetry (Sec. 3 of [A])."""
import pytest
import sympy as sp

from bbdlib.bulk_boundary.symbolic.coupling import coupling_graph, link_blocks, shift, translation_check
from bbdlib.bulk_boundary.symbolic.lagrangian import decompose, network


def test_graph_locality():
    net = network((2, 2, 2, 2))
    D = decompose(net)
    gb = coupling_graph(net, D.L_wb, "Wb")
    gz = coupling_graph(net, D.L_wz, "Wz")
    n = len(net.variables("Wb"))
    assert gb.n_pairs == n * (n - 1) // 2          # the loss couples everything
    assert gb.max_depth_span == net.M - 1
    assert gz.max_depth_span == 1.0                # nearest layers only
    data = {str(v) for v in gz.data_neighbours()}
    assert data == {str(v) for v in list(net.W.values())[:4]} | {str(net.z[(1, 1)]), str(net.z[(1, 2)]),
                                                                str(net.z[(3, 1)]), str(net.z[(3, 2)])}


def test_translation_symmetry():
    net = network((2, 2, 2, 2, 2))
    D = decompose(net)
    assert all(r == 0 for r in translation_check(net, D.bulk).values())
    blocks = link_blocks(net, D.bulk)
    assert sp.expand(shift(net, blocks[0]) - blocks[1]) != 0   # the input end breaks it


def test_translation_needs_equal_widths():
    net = network((2, 2, 3, 2, 2))
    D = decompose(net)
    with pytest.raises(ValueError):
        translation_check(net, D.bulk)


def test_translation_check_can_fail():
    net = network((2, 2, 2, 2, 2))
    D = decompose(net)
    broken = D.bulk + sp.diff(net.W[(2, 1, 1)], net.t) ** 2
    assert any(r != 0 for r in translation_check(net, broken).values())


def test_exchange_symmetry_of_hidden_layers():
    from bbdlib.bulk_boundary.symbolic.coupling import permute_layer
    net = network((2, 3, 2, 1))
    D = decompose(net)
    for layer, perm in ((1, (2, 3, 1)), (2, (2, 1))):
        assert sp.expand(permute_layer(net, D.L_wz, layer, perm) - D.L_wz) == 0
        assert sp.expand(permute_layer(net, D.L_wb, layer, perm, basis="Wb") - D.L_wb) == 0
    # permuting the neurons without their weights is not a symmetry
    z = net.z
    bad = sp.expand(D.L_wz.subs({z[(1, 1)]: z[(1, 2)], z[(1, 2)]: z[(1, 1)]}, simultaneous=True).doit())
    assert sp.expand(bad - D.L_wz) != 0
    with pytest.raises(ValueError):
        permute_layer(net, D.L_wz, 1, (1, 1, 2))
    with pytest.raises(ValueError):
        permute_layer(net, D.L_wz, 3, (1,))


def test_drawing_smoke():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from bbdlib.bulk_boundary.symbolic.coupling import draw_coupling_graph
    from bbdlib.bulk_boundary.symbolic.field import draw_local_architecture
    net = network((2, 2, 1))
    D = decompose(net)
    fig, ax = plt.subplots(1, 3)
    draw_coupling_graph(coupling_graph(net, D.L_wb, "Wb"), net, ax[0])
    draw_coupling_graph(coupling_graph(net, D.L_wz, "Wz"), net, ax[1])
    draw_local_architecture(ax[2], 4, 2)
    assert len(ax[1].collections) >= 2 and len(ax[2].lines) > 0
    plt.close(fig)
