"""Deeper on a built macro network, and parent tensors renamed through a layer alignment.

:mod:`nasarena.spaces.deeper` says which layer was inserted and which rule makes it exact; here

* :func:`aligned_weights` renames the parent's ``layers.{k}.*`` tensors to the child layer each
  parent layer corresponds to (:func:`~nasarena.spaces.deeper.align_layers`), the inputs' shape
  matching (``match.{m}``) by the node it matches, so that copying by name and shape copies a layer
  into *its* counterpart after a depth change, not into whatever layer now has its index;
* :func:`apply_deeper` sets the inserted layer (and its follower) by the rule: "zero" in residual
  (the new layer's last BN gamma = beta = 0), "zero" in dense (the follower's weights on the new
  layer's channels 0, the parent's weights moved to their input's new place), "identity" (Dirac
  kernel, BN with running mean 0, variance 1, gamma = sqrt(1 + eps), beta = 0: the layer computes
  ``relu(x)`` in eval mode only).

**BN convention.** "zero" is exact in eval and train mode (a zero BN outputs 0 whatever its
statistics; zero weights ignore whatever the new channels hold). "identity" is exact in eval mode
only: in train mode the new BN normalises by the batch's statistics.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

from nasarena.spaces.base import Arch
from nasarena.spaces.deeper import Insertion, node_map
from nasarena.spaces.macro.space import Layer, MacroSpace

_LAYER = re.compile(r"layers\.(\d+)\.(op\.|match\.(\d+)\.)(.*)")


def _pair_positions(parent_nodes: list[int], child_nodes: list[int]) -> dict[int, int]:
    """Parent position -> child position of equal nodes (a multiset: each position used once)."""
    used, out = set(), {}
    for mp, n in enumerate(parent_nodes):
        mc = next((m for m, c in enumerate(child_nodes) if c == n and m not in used), None)
        if mc is not None:
            used.add(mc)
            out[mp] = mc
    return out


def aligned_weights(weights: Mapping[str, torch.Tensor], p_layers: tuple[Layer, ...],
                    c_layers: tuple[Layer, ...],
                    alignment: tuple[int | None, ...]) -> dict[str, torch.Tensor]:
    """``weights`` with each parent layer's tensors under its aligned child layer's names (unaligned
    parent layers dropped; stem and head as they are)."""
    nodes = node_map(alignment)
    to_child = {p: c for c, p in enumerate(alignment) if p is not None}
    out: dict[str, torch.Tensor] = {}
    for name, t in weights.items():
        m = _LAYER.fullmatch(name)
        if m is None:
            out[name] = t
            continue
        pi = int(m.group(1))
        ci = to_child.get(pi)
        if ci is None or pi >= len(p_layers):
            continue
        if m.group(3) is None:  # the op's tensors
            out[f"layers.{ci}.op.{m.group(4)}"] = t
            continue
        mp = int(m.group(3))
        pos = _pair_positions([nodes.get(j, -1) for j in p_layers[pi].inputs], list(c_layers[ci].inputs))
        if mp in pos:
            out[f"layers.{ci}.match.{pos[mp]}.{m.group(4)}"] = t
    return out


def concat_pairs(p_planned, c_planned, p_prev: int, c_prev: int,
                 nodes: Mapping[int, int]) -> list[tuple[int, int, int]] | None:
    """Channel slices ``(parent start, child start, size)`` of a concat layer's input: each parent
    input (node mapped by ``nodes``) to the child input of the same node; None if a size differs.
    Child inputs without a parent counterpart (new ones) are in no pair."""
    p_nodes = [nodes.get(p_prev, -1)] + [nodes.get(j, -1) for j, _, _ in p_planned.extras]
    c_nodes = [c_prev] + [j for j, _, _ in c_planned.extras]
    p_size = [p_planned.c_prev] + [c for _, c, _ in p_planned.extras]
    c_size = [c_planned.c_prev] + [c for _, c, _ in c_planned.extras]
    p_start = [sum(p_size[:k]) for k in range(len(p_size))]
    c_start = [sum(c_size[:k]) for k in range(len(c_size))]
    pairs = []
    for mp, mc in _pair_positions(p_nodes, c_nodes).items():
        if p_size[mp] != c_size[mc]:
            return None
        pairs.append((p_start[mp], c_start[mc], p_size[mp]))
    return pairs if len(pairs) == len(p_nodes) else None


@torch.no_grad()
def set_concat_convs(own: Mapping[str, torch.Tensor], weights: Mapping[str, torch.Tensor], prefix: str,
                     pairs: list[tuple[int, int, int]]) -> list[str] | None:
    """The op of a concat layer (``prefix``) whose input gained channels: the parent's weights on
    their channels' new places, 0 on the new channels (a depthwise kernel keeps its fresh filters
    there: the pointwise conv after it ignores them). Returns the names set, None if a parent
    tensor is missing or does not fit."""
    names = []
    for n in (f"{prefix}.op.1.weight", f"{prefix}.op.2.weight"):
        if n not in own or own[n].dim() != 4:
            continue
        src, dst = weights.get(n), own[n]
        if not isinstance(src, torch.Tensor) or src.dim() != 4:
            return None
        depthwise = dst.shape[1] == 1
        dim = 0 if depthwise else 1
        if any(src.shape[d] != dst.shape[d] for d in range(4) if d != dim) or \
                any(s0 + k > src.shape[dim] or d0 + k > dst.shape[dim] for s0, d0, k in pairs):
            return None
        if not depthwise:
            dst.zero_()  # the new channels' weights: they contribute nothing
        for s0, d0, k in pairs:
            dst.narrow(dim, d0, k).copy_(src.narrow(dim, s0, k).to(dst.dtype))
        names.append(n)
    return names


@torch.no_grad()
def _identity_layer(op: nn.Sequential) -> None:
    """ReLU-Conv-BN (or ReLU-depthwise-pointwise-BN) computing relu(x) in eval mode: Dirac kernels,
    BN with running mean 0, variance 1, gamma = sqrt(1 + eps), beta = 0."""
    for conv in (m for m in op if isinstance(m, nn.Conv2d)):
        w = conv.weight
        w.zero_()
        depthwise = conv.groups > 1  # one filter per channel: its only input is channel 0 of its group
        for i in range(w.shape[0] if depthwise else min(w.shape[0], w.shape[1])):
            w[i, 0 if depthwise else i, w.shape[2] // 2, w.shape[3] // 2] = 1.0
    bn = op[-1]
    bn.running_mean.zero_()
    bn.running_var.fill_(1.0)
    bn.weight.fill_(math.sqrt(1.0 + bn.eps))
    bn.bias.zero_()


@torch.no_grad()
def apply_deeper(model: nn.Module, weights: Mapping[str, torch.Tensor], ins: Insertion, space: MacroSpace,
                 parent_arch: Arch, arch: Arch, size: Mapping[str, Any]) -> list[str] | None:
    """Set the inserted layer ``ins.position`` of ``model`` (and, in dense, its follower's input
    weights) by ``ins.rule``, ``weights`` already renamed by :func:`aligned_weights`. Returns the
    tensor names set, or None where the built networks do not fit the rule (another size, a depth
    limit that cuts them)."""
    pos, own = ins.position, model.state_dict()
    limit = size.get("depth_limit")
    if (limit is not None and limit < len(space.effective(arch))) or len(model.layers) <= pos + 1:
        return None  # a depth limit cuts the child: its last layers (or the follower) are not built
    planned, follower = model.plan.layers[pos], model.layers[pos + 1]
    prefix = f"layers.{pos}.op"
    op = model.layers[pos].op
    if ins.rule == "identity":
        if planned.c_in != planned.c_out or planned.hw_in != planned.hw_out:
            return None
        _identity_layer(op)
        return [n for n in own if n.startswith(prefix + ".") and not n.endswith("num_batches_tracked")]
    if model.plan.connection == "add":
        m = list(follower.inputs).index(pos)
        if not isinstance(follower.match[m], nn.Identity):
            return None  # the new layer's output and node pos differ in shape at this size
        op[-1].weight.zero_()
        op[-1].bias.zero_()
        return [f"{prefix}.{len(op) - 1}.weight", f"{prefix}.{len(op) - 1}.bias"]
    from nasarena.spaces.macro.cost import plan

    p_plan = plan(space, parent_arch, model.plan.num_classes, model.plan.resolution, size["width_mult"],
                  size["depth_limit"])
    if len(p_plan.layers) <= pos:
        return None
    nodes = {n: (n if n <= pos else n + 1) for n in range(len(p_plan.layers) + 1)}
    pairs = concat_pairs(p_plan.layers[pos], model.plan.layers[pos + 1], pos, pos + 1, nodes)
    return None if pairs is None else set_concat_convs(own, weights, f"layers.{pos + 1}", pairs)


__all__ = ["aligned_weights", "apply_deeper", "concat_pairs", "set_concat_convs"]
