"""Network morphisms of the live warm start: exact ones preserve the parent's function (eval and train
mode, max abs difference < 1e-5 on random inputs), approximate ones are labelled and measured."""

from __future__ import annotations

import json

import pytest
import torch

from nasarena.estimators.live.morphism import function_gap, inherit, resize_kernel
from nasarena.spaces.morphisms import APPROXIMATE, EXACT, LAMARCKIAN, kind_of, morph_children
from nasarena.spaces.nb201 import CONV1, CONV3, NONE, POOL, SKIP, NB201Space
from nasarena.spaces.nb201_torch import build_network

SPACE = NB201Space()
PARENT = (CONV1, NONE, SKIP, NONE, CONV3, POOL)  # edges 1<-0, 2<-0, 2<-1, 3<-0, 3<-1, 3<-2
TOL = 1e-5


def _trained_like(arch, seed=0):
    """A parent whose BN affine parameters and running statistics are far from their defaults, as
    after training (with default BN state, a mistake in copying it would go unnoticed)."""
    g = torch.Generator().manual_seed(seed)
    model = build_network(arch, num_classes=10, channels=4, cells=1, generator=g)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.weight.copy_(torch.rand(m.weight.shape, generator=g) + 0.5)
                m.bias.copy_(torch.randn(m.bias.shape, generator=g))
                m.running_mean.copy_(torch.randn(m.running_mean.shape, generator=g))
                m.running_var.copy_(torch.rand(m.running_var.shape, generator=g) + 0.5)
    return model


def _child_of(parent, parent_arch, child_arch):
    child = build_network(child_arch, num_classes=10, channels=4, cells=1,
                          generator=torch.Generator().manual_seed(99))
    transfer = inherit(child, parent.state_dict(), space=SPACE, arch=child_arch, parent_arch=parent_arch)
    return child, transfer


def _gaps(parent, child):
    x = torch.randn(8, 3, 8, 8, generator=torch.Generator().manual_seed(1))
    return function_gap(parent, child, x, train=False), function_gap(parent, child, x, train=True)


def _with(arch, k, op):
    a = list(arch)
    a[k] = op
    return tuple(a)


@pytest.mark.parametrize("edge,op", [(1, CONV1), (3, CONV3), (0, CONV3)])
def test_exact_morphisms_preserve_the_function_in_eval_and_train_mode(edge, op) -> None:
    parent = _trained_like(PARENT)
    child_arch = _with(PARENT, edge, op)
    child, transfer = _child_of(parent, PARENT, child_arch)
    assert transfer.kind == EXACT == kind_of(SPACE, PARENT, child_arch)
    assert transfer.morphed, "the changed edge's tensors were set by a rule"
    eval_gap, train_gap = _gaps(parent, child)
    assert eval_gap < TOL and train_gap < TOL, (eval_gap, train_gap)
    # without the morphism (plain copy of equal names and shapes) the function changes
    fresh = build_network(child_arch, num_classes=10, channels=4, cells=1,
                          generator=torch.Generator().manual_seed(99))
    inherit(fresh, parent.state_dict())
    assert max(_gaps(parent, fresh)) > 1e-3


@pytest.mark.parametrize("edge,op", [(2, CONV3), (2, CONV1), (5, CONV3), (4, CONV1), (0, NONE)])
def test_approximate_morphisms_are_labelled_and_change_the_function(edge, op) -> None:
    parent = _trained_like(PARENT)
    child_arch = _with(PARENT, edge, op)
    child, transfer = _child_of(parent, PARENT, child_arch)
    assert transfer.kind == APPROXIMATE
    assert json.loads(transfer.summary())["kind"] == APPROXIMATE
    assert max(_gaps(parent, child)) > TOL  # honest label: it is not function-preserving


def test_lamarckian_copies_unchanged_tensors_only_and_says_so() -> None:
    parent = _trained_like(PARENT)
    child_arch = _with(PARENT, 2, POOL)  # skip -> pool: no morphism
    child, transfer = _child_of(parent, PARENT, child_arch)
    assert transfer.kind == LAMARCKIAN
    assert not transfer.morphed
    own = child.state_dict()
    assert set(transfer.copied) == set(own)  # neither op has tensors: everything else is unchanged
    assert all(torch.equal(own[n], parent.state_dict()[n]) for n in transfer.copied)


def test_resize_kernel_embeds_at_the_centre_and_crops_back() -> None:
    small = torch.randn(2, 3, 1, 1, generator=torch.Generator().manual_seed(0))
    big = torch.empty(2, 3, 3, 3)
    assert resize_kernel(big, small)
    assert torch.equal(big[:, :, 1:2, 1:2], small)
    rim = big.clone()
    rim[:, :, 1, 1] = 0
    assert not rim.any()  # zero everywhere but the centre
    back = torch.empty(2, 3, 1, 1)
    assert resize_kernel(back, big) and torch.equal(back, small)
    assert not resize_kernel(torch.empty(2, 4, 3, 3), small)  # other channels: not a kernel resize


def test_catalogue_exact_children_of_nb201() -> None:
    kids = morph_children(SPACE, PARENT)
    assert set(kids) == {_with(PARENT, 0, CONV3), _with(PARENT, 1, CONV1), _with(PARENT, 1, CONV3),
                         _with(PARENT, 3, CONV1), _with(PARENT, 3, CONV3)}


def test_live_warm_start_maps_the_parent_through_the_morphism(tmp_path) -> None:
    import numpy as np

    from nasarena.estimators.base import Fidelity
    from nasarena.estimators.live.cache import EvalCache
    from nasarena.estimators.live.oracle import LiveOracle

    fid = Fidelity(epochs=1, channels=4, cells=1)
    o = LiveOracle(dataset="synthetic", fidelities=[fid], cache_dir=str(tmp_path), num_threads=1,
                   batch_size=32, synthetic_train=64, synthetic_valid=16, synthetic_test=16)
    parent = o.evaluate(PARENT, fid, np.random.default_rng(0))
    exact = o.evaluate(_with(PARENT, 3, CONV3), fid, np.random.default_rng(0), inherit=parent.handle)
    other = o.evaluate(_with(PARENT, 2, POOL), fid, np.random.default_rng(0), inherit=parent.handle)
    fresh = o.evaluate(_with(PARENT, 3, CONV3), fid, np.random.default_rng(0))
    assert exact.extras["function_preserving"] == 1.0 and other.extras["function_preserving"] == 0.0
    assert np.isnan(fresh.extras["function_preserving"]) and fresh.extras["inherited_tensors"] == 0
    record = EvalCache(tmp_path).get(exact.handle)
    morph = json.loads(record["morphism"])
    assert morph["kind"] == EXACT and morph["changes"] == ["edge 3<-0: none -> nor_conv_3x3 (exact)"]
    bn = "cells.0.edges.3.op.2.weight"  # the new edge's BN gamma, zeroed
    assert bn in morph["morphed"] and bn in record["inherited"]
    assert json.loads(EvalCache(tmp_path).get(other.handle)["morphism"])["kind"] == LAMARCKIAN


@pytest.mark.parametrize(("space_name", "parent", "child"), [
    ("residual", "conv3x3:16:s1/sep3x3:16:s2+0/conv3x3:16:s1+1",
     "conv3x3:16:s1/sep5x5:16:s2+0/conv5x5:16:s1+1"),
    ("dense", "conv3x3:16:s1/conv3x3:16:s2+0", "conv5x5:16:s1/conv3x3:16:s2+0"),
])
def test_macro_kernel_growth_is_exact(space_name, parent, child) -> None:
    from nasarena.registry import make_space
    from nasarena.spaces.trainable import resolve_size

    space = make_space(space_name)
    pa, ca = space.from_string(parent), space.from_string(child)
    assert kind_of(space, pa, ca) == EXACT
    size = resolve_size(space, {"width_mult": 0.25})
    p_net = space.build_model(pa, 10, 8, size, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        for m in p_net.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.normal_(generator=torch.Generator().manual_seed(2))
                m.bias.normal_(generator=torch.Generator().manual_seed(3))
    c_net = space.build_model(ca, 10, 8, size, generator=torch.Generator().manual_seed(5))
    transfer = inherit(c_net, p_net.state_dict(), space=space, arch=ca, parent_arch=pa)
    assert transfer.kind == EXACT and transfer.morphed
    x = torch.randn(4, 3, 8, 8, generator=torch.Generator().manual_seed(1))
    assert function_gap(p_net, c_net, x) < TOL and function_gap(p_net, c_net, x, train=True) < TOL


@pytest.mark.parametrize(("space_name", "parent", "child", "kind"), [
    # residual: a new skip from the stem (16 -> 32 channels, stride 2: a projection) contributes 0
    ("residual", "conv3x3:16:s1/sep3x3:32:s2/conv3x3:32:s1+1", "conv3x3:16:s1/sep3x3:32:s2/conv3x3:32:s1+0+1",
     EXACT),
    # dense: new concat inputs into a conv and a separable conv get zero weights
    ("dense", "conv3x3:16:s1/conv3x3:16:s2/sep3x3:16:s1+1", "conv3x3:16:s1/conv3x3:16:s2+0/sep3x3:16:s1+0+1",
     EXACT),
    # residual: a same-shape skip has no projection to zero: approximate
    ("residual", "conv3x3:16:s1/conv3x3:16:s1", "conv3x3:16:s1/conv3x3:16:s1+0", APPROXIMATE),
])
def test_macro_added_inputs(space_name, parent, child, kind) -> None:
    from nasarena.registry import make_space
    from nasarena.spaces.trainable import resolve_size

    space = make_space(space_name)
    pa, ca = space.from_string(parent), space.from_string(child)
    assert kind_of(space, pa, ca) == kind
    size = resolve_size(space, {"width_mult": 0.25})
    p_net = space.build_model(pa, 10, 8, size, generator=torch.Generator().manual_seed(0))
    g = torch.Generator().manual_seed(2)
    with torch.no_grad():
        for m in p_net.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.normal_(generator=g)
                m.bias.normal_(generator=g)
    c_net = space.build_model(ca, 10, 8, size, generator=torch.Generator().manual_seed(5))
    transfer = inherit(c_net, p_net.state_dict(), space=space, arch=ca, parent_arch=pa)
    assert transfer.kind == kind and len(set(transfer.names)) == len(transfer.names)
    x = torch.randn(4, 3, 8, 8, generator=torch.Generator().manual_seed(1))
    gaps = function_gap(p_net, c_net, x), function_gap(p_net, c_net, x, train=True)
    if kind == EXACT:
        assert max(gaps) < TOL, gaps
    else:
        assert max(gaps) > TOL


def test_a_parent_of_another_size_is_not_called_exact() -> None:
    parent = _trained_like(PARENT)  # channels=4
    child_arch = _with(PARENT, 3, CONV3)  # an exact change, but at 8 channels nothing else fits
    child = build_network(child_arch, num_classes=10, channels=8, cells=1,
                          generator=torch.Generator().manual_seed(99))
    transfer = inherit(child, parent.state_dict(), space=SPACE, arch=child_arch, parent_arch=PARENT)
    assert transfer.kind == LAMARCKIAN
    assert transfer.changes[-1].where == "weights"
