"""Net2Wider on the macro spaces: a child that only widens one conv layer starts with the parent's
function (max abs difference < 1e-5 on random inputs, eval and train mode: replicated channels have
their parent channel's batch statistics), and where a summand would switch between identity and
projection the change is classified Lamarckian, not exact."""

from __future__ import annotations

import pytest
import torch
from macro_morph_nets import assert_exact, live_warm_start
from macro_morph_nets import nets as _nets

from nasarena.registry import make_space
from nasarena.spaces.morphisms import LAMARCKIAN, changes, kind_of

TOL = 1e-5


@pytest.mark.parametrize(("space_name", "parent", "child"), [
    # chain: the consumer is a separable conv (depthwise filters replicated, pointwise divided)
    ("chain", "conv3x3:16:s1/sep3x3:16:s2/conv3x3:16:s1", "conv3x3:32:s1/sep3x3:16:s2/conv3x3:16:s1"),
    # chain: a widened separable conv; the map passes through a pool to the next conv
    ("chain", "conv3x3:16:s1/sep3x3:16:s2/maxpool3x3:s1/conv3x3:16:s1",
     "conv3x3:16:s1/sep3x3:64:s2/maxpool3x3:s1/conv3x3:16:s1"),
    # chain: the widened last layer feeds the head (BN, global pool, linear)
    ("chain", "conv3x3:16:s1/dil3x3:16:s2", "conv3x3:16:s1/dil3x3:32:s2"),
    # dense: the widened node is concatenated (directly and average-pooled) into later layers
    ("dense", "conv3x3:16:s1/conv3x3:16:s2+0/sep3x3:16:s1+0+1",
     "conv3x3:32:s1/conv3x3:16:s2+0/sep3x3:16:s1+0+1"),
    # residual: the widened node is the sum's main input (projected summands) and a projected summand
    ("residual", "conv3x3:16:s1/conv3x3:16:s2/conv3x3:64:s1+0+1/conv3x3:32:s2+2",
     "conv3x3:16:s1/conv3x3:32:s2/conv3x3:64:s1+0+1/conv3x3:32:s2+2"),
])
def test_net2wider_preserves_the_function_in_eval_and_train_mode(space_name, parent, child) -> None:
    assert_exact(space_name, parent, child, TOL)


def test_the_replicated_filters_come_from_the_generator() -> None:
    args = ("chain", "conv3x3:16:s1/conv3x3:16:s1", "conv3x3:64:s1/conv3x3:16:s1")
    nets = [_nets(*args, seed=s) for s in (0, 0, 1)]
    w = [n[4].layers[0].op[1].weight for n in nets]
    parent_w = nets[0][3].layers[0].op[1].weight  # 4 filters at width_mult 0.25; the child has 16
    assert torch.equal(w[0][:4], parent_w)
    assert all(any(torch.equal(f, p) for p in parent_w) for f in w[0][4:])  # every new one a copy
    assert torch.equal(w[0], w[1]) and not torch.equal(w[0], w[2])  # same seed, same draw


@pytest.mark.parametrize(("parent", "child"), [
    # the stem is an identity summand of layer 2's sum in the parent, a projection in the child
    ("conv3x3:16:s1/sep3x3:32:s2+0", "conv3x3:32:s1/sep3x3:32:s2+0"),
    # node 2 needs a projection into layer 4's sum in the parent (16 vs 32), none in the child
    ("conv3x3:16:s1/conv3x3:16:s2/conv3x3:32:s1/conv3x3:32:s1+2",
     "conv3x3:16:s1/conv3x3:32:s2/conv3x3:32:s1/conv3x3:32:s1+2"),
])
def test_residual_wider_through_an_identity_summand_is_lamarckian(parent, child) -> None:
    space, pa, ca, p_net, c_net, transfer = _nets("residual", parent, child)
    assert kind_of(space, pa, ca) == LAMARCKIAN == transfer.kind
    assert [c.kind for c in changes(space, pa, ca)] == [LAMARCKIAN]


def test_narrower_or_wider_plus_another_change_is_not_exact() -> None:
    space = make_space("chain")
    p = space.from_string("conv3x3:32:s1/conv3x3:16:s1")
    assert kind_of(space, p, space.from_string("conv3x3:16:s1/conv3x3:16:s1")) == LAMARCKIAN
    assert kind_of(space, p, space.from_string("conv3x3:64:s1/conv5x5:16:s1")) == LAMARCKIAN


def test_live_warm_start_of_a_wider_child_is_function_preserving(tmp_path) -> None:
    child, morph = live_warm_start(tmp_path, "chain", "conv3x3:16:s1/conv3x3:16:s1",
                                   "conv3x3:32:s1/conv3x3:16:s1")
    assert child.extras["function_preserving"] == 1.0
    assert morph["changes"] == ["layer 0: conv3x3:16:s1 -> conv3x3:32:s1 (exact)"]
    assert {"layers.0.op.1.weight", "layers.1.op.1.weight"} <= set(morph["morphed"])
