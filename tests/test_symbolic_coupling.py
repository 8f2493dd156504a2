"""Tests of bbdlib.symbolic.coupling: Fig. 1 graph, locality, translation symmetry (Sec. 3 of [A])."""
import pytest
import sympy as sp

from bbdlib.symbolic.coupling import coupling_graph, link_blocks, shift, translation_check
from bbdlib.symbolic.lagrangian import decompose, network


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
