"""Deeper on the macro spaces: an inserted layer keeps the parent's function (residual and dense: eval
and train mode; chain: eval mode only, the train-mode error measured and the change labelled
approximate), insertions no rule covers are Lamarckian, and after a depth change tensors are
copied into the layer they belong to (alignment), not into the layer of the same index."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from macro_morph_nets import assert_exact, gaps, live_warm_start, nets, plain_child

from nasarena.registry import make_space
from nasarena.spaces.deeper import EVAL_ONLY, align_layers, deeper_children, find_insertion
from nasarena.spaces.morphisms import APPROXIMATE, EXACT, LAMARCKIAN, changes, kind_of, morph_children

TOL = 1e-5
PARENTS = {
    "residual": ["conv3x3:16:s1/sep3x3:32:s2+0/maxpool3x3:s1/conv3x3:32:s1+1",
                 "sep5x5:32:s1/identity+0/dil3x3:16:s2"],
    "dense": ["conv3x3:16:s1/conv3x3:16:s2+0/avgpool3x3:s1+0/sep3x3:32:s1+1",
              "sep3x3:32:s2/conv5x5:16:s1+0"],
    "chain": ["conv3x3:16:s1/sep3x3:32:s2/maxpool3x3:s1/dil3x3:16:s1", "conv5x5:64:s2/sep5x5:16:s1"],
}


def _children(space_name):
    space = make_space(space_name)
    return [(space_name, p, space.to_string(c)) for p in PARENTS[space_name]
            for c in deeper_children(space, space.from_string(p))]


@pytest.mark.parametrize(("space_name", "parent", "child"), _children("residual") + _children("dense"))
def test_deeper_is_exact_in_eval_and_train_mode(space_name, parent, child) -> None:
    assert_exact(space_name, parent, child, TOL)


@pytest.mark.parametrize(("space_name", "parent", "child"), _children("chain"))
def test_chain_deeper_is_exact_in_eval_mode_only_and_labelled_so(space_name, parent, child) -> None:
    space, pa, ca, p_net, c_net, transfer = nets(space_name, parent, child)
    assert kind_of(space, pa, ca) == APPROXIMATE == transfer.kind
    (change,) = changes(space, pa, ca)
    assert change.where.startswith("deeper") and change.note == EVAL_ONLY
    assert EVAL_ONLY in json.loads(transfer.summary())["changes"][0]
    eval_gap, train_gap = gaps(p_net, c_net)
    assert eval_gap < TOL, eval_gap
    assert train_gap > 1e-3, train_gap  # the new BN normalises by batch statistics in train mode
    assert gaps(p_net, plain_child(space, ca, p_net))[0] > 1e-3


def test_every_macro_parent_here_has_deeper_children_at_each_allowed_position() -> None:
    positions = {}
    for name in PARENTS:
        space = make_space(name)
        positions[name] = [find_insertion(space, space.from_string(p), space.from_string(c)).position
                           for _, p, c in _children(name)]
    assert positions["residual"] == [0, 1, 2, 3, 0, 1, 2]  # every node with a layer after it
    assert positions["dense"] == [0, 1, 3, 0, 1]        # not before the avg pool (it cannot ignore channels)
    # not before the max pool (no ReLU first); at 1 the same network as at 0 (conv3x3:16 twice)
    assert positions["chain"] == [0, 3, 0, 1]


@pytest.mark.parametrize(("space_name", "parent", "child", "why"), [
    ("chain", "conv3x3:16:s1", "conv3x3:16:s1/conv5x5:16:s1", "no layer follows"),
    ("chain", "conv3x3:32:s1/maxpool3x3:s1", "conv3x3:32:s1/conv5x5:32:s1/maxpool3x3:s1", "ReLU"),
    ("chain", "conv3x3:16:s1/conv3x3:16:s1", "conv3x3:16:s1/conv5x5:32:s1/conv3x3:16:s1", "width"),
    ("chain", "conv3x3:16:s1", "conv5x5:16:s2/conv3x3:16:s1", "stride-1"),
    ("dense", "conv3x3:16:s1/avgpool3x3:s1", "conv3x3:16:s1/conv5x5:16:s1/avgpool3x3:s1+1", "pool"),
    ("residual", "conv3x3:16:s1/sep3x3:16:s1", "conv3x3:16:s1/conv5x5:32:s1/sep3x3:16:s1+1", "width"),
])
def test_insertions_without_a_rule_are_lamarckian(space_name, parent, child, why) -> None:
    space, pa, ca, p_net, c_net, transfer = nets(space_name, parent, child)
    (change,) = changes(space, pa, ca)
    assert change.kind == LAMARCKIAN == transfer.kind and why in change.note
    assert ca not in morph_children(space, pa, ("exact", "approximate"))


def test_a_residual_insertion_without_the_skip_is_the_eval_only_identity_rule() -> None:
    space, pa, ca, p_net, c_net, transfer = nets("residual", "conv3x3:16:s1/sep3x3:16:s1",
                                                 "conv3x3:16:s1/conv5x5:16:s1/sep3x3:16:s1")
    assert transfer.kind == APPROXIMATE and changes(space, pa, ca)[0].note == EVAL_ONLY
    eval_gap, train_gap = gaps(p_net, c_net)
    assert eval_gap < TOL < train_gap


def test_no_deeper_child_at_max_layers_and_none_beyond_a_depth_limit() -> None:
    from nasarena.spaces.macro import ResidualSpace

    space = ResidualSpace(max_layers=2)
    assert deeper_children(space, space.from_string("conv3x3:16:s1/conv3x3:16:s1")) == []
    assert deeper_children(space, space.from_string("conv3x3:16:s1"))  # below the maximum: some
    parent, child = "conv3x3:16:s1/sep3x3:16:s1", "conv3x3:16:s1/conv3x3:16:s1/sep3x3:16:s1+1"
    *_, transfer = nets("residual", parent, child, size={"width_mult": 0.25, "depth_limit": 2})
    assert transfer.kind == LAMARCKIAN  # the limit cuts the child's last layer: no rule, said so


def test_a_front_removal_inherits_each_layer_from_its_counterpart() -> None:
    """Today's main copied by index: child layer 1 got parent layer 1's BN and a resized copy of
    parent layer 1's 3x3 kernel, instead of parent layer 2's 5x5 conv and BN."""
    space, pa, ca, p_net, c_net, transfer = nets("chain", "conv3x3:32:s1/conv3x3:16:s1/conv5x5:16:s1",
                                                 "conv3x3:16:s1/conv5x5:16:s1")
    assert align_layers(space, pa, ca) == (1, 2) and transfer.layers == (1, 2)
    p, c = p_net.state_dict(), c_net.state_dict()
    for name in ("op.1.weight", "op.2.weight", "op.2.bias", "op.2.running_mean", "op.2.running_var"):
        assert torch.equal(c[f"layers.1.{name}"], p[f"layers.2.{name}"]), name
    assert torch.equal(c["layers.0.op.2.weight"], p["layers.1.op.2.weight"])  # its BN (not its conv)
    assert json.loads(transfer.summary())["layer_map"] == {"0": 1, "1": 2}
    assert transfer.kind == LAMARCKIAN


def test_general_depth_change_aligns_by_common_subsequence_and_matches_inputs_by_node() -> None:
    parent = "conv3x3:32:s1/conv3x3:16:s1/conv3x3:16:s2+0/conv3x3:16:s1+0+2"
    child = "conv3x3:16:s1/conv3x3:16:s2+0/conv3x3:16:s1+1"  # layer 0 gone and layer 3 lost its +0
    space, pa, ca, p_net, c_net, transfer = nets("residual", parent, child)
    assert transfer.layers == (1, 2, 3)
    p, c = p_net.state_dict(), c_net.state_dict()
    # child layer 2's projection of node 1 is parent layer 3's projection of node 2 (its position 1)
    assert torch.equal(c["layers.2.match.0.0.weight"], p["layers.3.match.1.0.weight"])
    assert torch.equal(c["layers.2.op.1.weight"], p["layers.3.op.1.weight"])


def test_nash_and_lemonade_take_deeper_moves_in_the_macro_spaces() -> None:
    from nasarena.strategies.conformance import SyntheticObjective
    from nasarena.strategies.lemonade import Lemonade
    from nasarena.strategies.nash import NASH

    for name, strategy, kinds in (("residual", NASH, (EXACT,)), ("chain", Lemonade, (EXACT, APPROXIMATE))):
        space = make_space(name)
        s = strategy(space, np.random.default_rng(0))
        objective, by_id, deeper = SyntheticObjective(space), {}, 0
        for _ in range(40):
            p = s.ask()
            by_id[p.id] = p
            s.tell(p, objective(p.arch, p.fidelity))
            if p.kind == "warm-start":
                parent = by_id[p.inherits].arch
                assert kind_of(space, parent, p.arch) in kinds
                deeper += changes(space, parent, p.arch)[0].where.startswith("deeper")
        assert deeper >= 1, name


def test_live_warm_start_of_a_deeper_child_is_labelled_in_the_record(tmp_path) -> None:
    child, morph = live_warm_start(tmp_path, "residual", "conv3x3:16:s1/conv3x3:32:s2",
                                   "conv3x3:16:s1/conv3x3:16:s1/conv3x3:32:s2+1")
    assert child.extras["function_preserving"] == 1.0
    assert morph["kind"] == EXACT and morph["changes"][0].startswith("deeper: layer 1 inserted after node 1")
    assert morph["layer_map"] == {"0": 0, "1": None, "2": 1}
    assert {"layers.1.op.2.weight", "layers.1.op.2.bias"} <= set(morph["morphed"])


def test_the_benchmark_reports_the_chain_rules_train_mode_error(capsys) -> None:
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[3] / "benchmarks" / "deeper_error.py"
    spec = importlib.util.spec_from_file_location("bench_deeper_error", path)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    gaps_by_rule = bench.measure("chain", 1, 0.25, 8)
    (rule, kind), g = next(iter(gaps_by_rule.items()))
    assert (rule, kind) == ("identity", APPROXIMATE) and len(gaps_by_rule) == 1
    assert g[:, 0].max() < TOL and g[:, 2].min() > 1e-3  # eval mapped exact, train mapped measured > 0
    assert bench.main(["--n-parents", "1", "--resolution", "8", "--spaces", "residual"]) == 0
    assert "residual  zero      exact" in capsys.readouterr().out


@pytest.mark.parametrize(("space_name", "parent", "child", "kind"), [
    # a shape-keeping layer removed: every child tensor has its counterpart, the function changes
    ("chain", "conv3x3:16:s1/conv5x5:16:s1/sep3x3:32:s2", "conv3x3:16:s1/sep3x3:32:s2", APPROXIMATE),
    # residual: the next layer's skip from the node before the removed one becomes its main input
    ("residual", "conv3x3:16:s1/conv3x3:16:s1/conv3x3:32:s2+1", "conv3x3:16:s1/conv3x3:32:s2", APPROXIMATE),
    # dense: the next layer loses the removed layer's channels (its weights change shape)
    ("dense", "conv3x3:16:s1/conv3x3:16:s1/conv3x3:32:s2+1", "conv3x3:16:s1/conv3x3:32:s2", LAMARCKIAN),
    # the removed layer widened its input (16 -> 32): the next layer's weights change shape
    ("chain", "conv3x3:16:s1/conv3x3:32:s1/conv3x3:16:s1", "conv3x3:16:s1/conv3x3:16:s1", LAMARCKIAN),
])
def test_a_layer_removal_is_approximate_where_every_tensor_has_its_counterpart(space_name, parent, child,
                                                                                  kind) -> None:
    space, pa, ca, p_net, c_net, transfer = nets(space_name, parent, child)
    (change,) = changes(space, pa, ca)
    assert change.where == "layer 1 removed" and change.kind == kind == transfer.kind
    assert transfer.layers == (0, 2)
    if kind == APPROXIMATE:
        assert set(transfer.names) == set(c_net.state_dict())  # nothing fresh
        p, c = p_net.state_dict(), c_net.state_dict()
        moved = [n for n in c if n.startswith("layers.1.")]
        assert moved and all(torch.equal(c[n], p[n.replace("layers.1.", "layers.2.", 1)]) for n in moved)
        assert max(gaps(p_net, c_net)) > TOL  # a removal loses the layer's contribution
    if space_name == "chain" and kind == APPROXIMATE:
        # the neighbour that turns layer 2 into a (forwarding) identity is this removal: a move of
        # the strategies that take approximate morphisms (lemonade by default)
        from nasarena.spaces.macro.space import IDENTITY

        neighbour = list(pa)
        neighbour[[d.name for d in space.decisions].index("op2")] = IDENTITY
        assert space.canonical(tuple(neighbour)) == space.canonical(ca)
        assert space.canonical(ca) in {space.canonical(n) for n in morph_children(space, pa, (APPROXIMATE,))}
