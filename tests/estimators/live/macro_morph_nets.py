"""Shared by the macro morphism tests: a parent network with trained-like BN state, a child mapped
from it by the warm start, and their function gaps on random inputs (tiny: width_mult 0.25, 8px)."""

from __future__ import annotations

import numpy as np
import torch

from nasarena.estimators.live.morphism import function_gap, inherit, randomise_bn
from nasarena.registry import make_space
from nasarena.spaces.trainable import resolve_size

SIZE = {"width_mult": 0.25}


def nets(space_name, parent, child, seed=0, size=SIZE):
    """(space, parent arch, child arch, parent net, child net mapped by the morphism, transfer)."""
    space = make_space(space_name)
    pa, ca = space.from_string(parent), space.from_string(child)
    size = resolve_size(space, size)
    p_net = space.build_model(pa, 10, 8, size, generator=torch.Generator().manual_seed(0))
    randomise_bn(p_net, torch.Generator().manual_seed(2))  # as after training
    c_net = space.build_model(ca, 10, 8, size, generator=torch.Generator().manual_seed(5))
    transfer = inherit(c_net, p_net.state_dict(), space=space, arch=ca, parent_arch=pa, size=size,
                       rng=np.random.default_rng(seed))
    return space, pa, ca, p_net, c_net, transfer


def plain_child(space, ca, p_net, size=SIZE):
    """The same child with only equal names and shapes copied (no morphism, no alignment)."""
    c_net = space.build_model(ca, 10, 8, resolve_size(space, size),
                              generator=torch.Generator().manual_seed(5))
    inherit(c_net, p_net.state_dict())
    return c_net


def gaps(p_net, c_net):
    """max |f_parent(x) - f_child(x)| on random inputs: (eval mode, train mode)."""
    x = torch.randn(4, 3, 8, 8, generator=torch.Generator().manual_seed(1))
    return function_gap(p_net, c_net, x), function_gap(p_net, c_net, x, train=True)


def live_warm_start(tmp_path, space_name, parent, child):
    """Train ``parent`` on the live oracle (tiny synthetic data, 1 epoch) and warm-start ``child``
    from it: (the child's evaluation, its cache record's morphism JSON as a dict)."""
    import json

    from nasarena.estimators.base import Fidelity
    from nasarena.estimators.live.cache import EvalCache
    from nasarena.estimators.live.oracle import LiveOracle

    fid = Fidelity(epochs=1, width_mult=0.25)
    o = LiveOracle(space=space_name, dataset="synthetic", fidelities=fid.key(), cache_dir=str(tmp_path),
                   num_threads=1, batch_size=32, synthetic_train=64, synthetic_valid=16, synthetic_test=16,
                   synthetic_resolution=8)
    first = o.evaluate(o.space.from_string(parent), fid, np.random.default_rng(0))
    ev = o.evaluate(o.space.from_string(child), fid, np.random.default_rng(0), inherit=first.handle)
    return ev, json.loads(EvalCache(tmp_path).get(ev.handle)["morphism"])


def assert_exact(space_name, parent, child, tol=1e-5):
    """The warm start maps ``parent`` onto ``child`` exactly (kind, and max gap < ``tol`` in eval and
    train mode), while the same child without the rule computes something else (gap > 1e-3)."""
    from nasarena.spaces.morphisms import EXACT, kind_of

    space, pa, ca, p_net, c_net, transfer = nets(space_name, parent, child)
    assert kind_of(space, pa, ca) == EXACT == transfer.kind
    assert transfer.morphed and len(set(transfer.names)) == len(transfer.names)
    eval_gap, train_gap = gaps(p_net, c_net)
    assert eval_gap < tol and train_gap < tol, (eval_gap, train_gap)
    assert max(gaps(p_net, plain_child(space, ca, p_net))) > 1e-3  # without the rule it changes
