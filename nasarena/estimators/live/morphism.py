"""Warm start by network morphism: map a trained parent's weights onto a child of another architecture.

:func:`inherit` is what the live trainer calls for a warm start (``inherit=handle``). It

1. copies every tensor whose name and shape are unchanged (:func:`~.checkpoints.copy_matching`; the
   names follow the edge or layer, so these are the unchanged edges/layers and the shared stem,
   reductions and head): this alone is *Lamarckian inheritance*, the rest keeps its fresh
   initialisation. After a macro depth change the parent's layer tensors are first renamed to the
   child layer each one corresponds to (:func:`nasarena.spaces.deeper.align_layers`), so a layer is
   copied into its counterpart, not into the layer that now has its index;
2. resizes conv kernels of the same name and channels (a smaller kernel embedded at the centre of
   a zero kernel: exact, since the ops pad by ``k // 2``; a larger one cropped to its centre:
   approximate);
3. applies the space's morphism rules (:mod:`nasarena.spaces.morphisms`) to the changed edges:
   NB201 ``none -> conv`` gets BN gamma = beta = 0 (exact), ``skip -> conv`` an identity (Dirac)
   kernel and ``pool -> conv`` a uniform 3x3 kernel (both approximate, labelled); a macro layer's
   larger width gets Net2Wider (:mod:`.wider`: replicated filters, divided outgoing weights; exact);
   an inserted macro layer gets the deeper rule (:mod:`.deeper`: exact in residual and dense, exact
   in eval mode only in the chain, labelled approximate).

**BN convention.** Exactness is claimed for both BatchNorm modes: in eval mode a BN uses its running
statistics, which are copied with the rest of the BN state (a new edge's BN has gamma = beta = 0, so
its output is 0 whatever its statistics); in train mode a BN uses the batch's statistics, which are
equal because the pre-BN activations are equal (the embedded kernel computes the same convolution),
and the gamma = beta = 0 edge again outputs 0. The tests check both modes on random inputs
(max abs difference < 1e-5). The one exception, the chain's identity-initialised inserted layer,
is exact in eval mode only and therefore never called exact.

The :class:`Transfer` says what happened and goes into the cache record (``inherited`` lists the
tensor names, ``morphism`` the changes and their kinds), so a warm-started result says whether its
child started with the parent's function.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

from nasarena.estimators.live.checkpoints import copy_matching
from nasarena.estimators.live.deeper import aligned_weights, apply_deeper, set_concat_convs
from nasarena.spaces.base import Arch, SearchSpace
from nasarena.spaces.deeper import align_layers
from nasarena.spaces.morphisms import (
    APPROXIMATE,
    EXACT,
    LAMARCKIAN,
    Change,
    added_inputs,
    changes,
    is_macro,
    kind_of,
)
from nasarena.spaces.nb201 import CONV1, CONV3, NONE, POOL, SKIP, NB201Space


@dataclass(frozen=True)
class Transfer:
    """What a warm start took from its parent.

    ``copied``: tensor names copied as they are; ``morphed``: names set by a morphism rule (resized
    kernels, zeroed BN, identity kernels); ``changes``: the architecture's changed edges/layers.
    """

    copied: tuple[str, ...]
    morphed: tuple[str, ...]
    changes: tuple[Change, ...]
    #: after a macro depth change: child layer -> the parent layer whose tensors it was offered
    #: (:func:`nasarena.spaces.deeper.align_layers`; None: a new layer); None without a depth change
    layers: tuple[int | None, ...] | None = None

    @property
    def names(self) -> tuple[str, ...]:
        """Every tensor that came from (or was set for) the parent, copied first."""
        return self.copied + self.morphed

    @property
    def kind(self) -> str:
        """``exact`` (the child computes the parent's function), ``approximate`` or ``lamarckian``."""
        kinds = {c.kind for c in self.changes}
        return next((k for k in (LAMARCKIAN, APPROXIMATE) if k in kinds), EXACT)

    def summary(self) -> str:
        """JSON for the cache record: the overall kind, each change and the morphed tensors."""
        out: dict[str, Any] = {"kind": self.kind, "changes": [c.text() for c in self.changes],
                               "morphed": list(self.morphed)}
        if self.layers is not None:  # which parent layer each child layer inherited from
            out["layer_map"] = {str(c): p for c, p in enumerate(self.layers)}
        return json.dumps(out)


@torch.no_grad()
def resize_kernel(dst: torch.Tensor, src: torch.Tensor) -> bool:
    """Set conv weight ``dst`` from ``src`` with the same (out, in) channels and another odd kernel:
    embedded at the centre of zeros when ``src`` is smaller (exact), its centre crop when larger."""
    if dst.dim() != 4 or src.dim() != 4 or dst.shape[:2] != src.shape[:2] or dst.shape == src.shape:
        return False
    (kd, ld), (ks, ls) = dst.shape[2:], src.shape[2:]
    if not all(k % 2 == 1 for k in (kd, ld, ks, ls)):
        return False
    with torch.no_grad():
        if ks <= kd and ls <= ld:
            dst.zero_()
            a, b = (kd - ks) // 2, (ld - ls) // 2
            dst[:, :, a:a + ks, b:b + ls].copy_(src)
        elif ks >= kd and ls >= ld:
            a, b = (ks - kd) // 2, (ls - ld) // 2
            dst.copy_(src[:, :, a:a + kd, b:b + ld])
        else:
            return False
    return True


@torch.no_grad()
def identity_kernel(conv: nn.Conv2d, average: bool = False) -> None:
    """A conv that maps channel i to channel i: the centre tap (Dirac), or a uniform kernel
    (``average``: 1/(k*k) on every tap, a zero-padded average pool)."""
    w = conv.weight
    w.zero_()
    k = w.shape[2] * w.shape[3]
    for i in range(min(w.shape[0], w.shape[1])):
        if average:
            w[i, i].fill_(1.0 / k)
        else:
            w[i, i, w.shape[2] // 2, w.shape[3] // 2] = 1.0


@torch.no_grad()
def _nb201_rules(model: nn.Module, edges: list[tuple[int, int, int]]) -> list[str]:
    """Apply the NB201 edge rules to every cell of ``model``; ``edges`` = (index, parent op, child op)."""
    from nasarena.spaces.nb201_torch import InferCell

    set_names: list[str] = []
    for ci, cell in enumerate(model.cells):
        if not isinstance(cell, InferCell):
            continue
        for k, a, b in edges:
            if b not in (CONV1, CONV3):
                continue
            seq, prefix = cell.edges[k].op, f"cells.{ci}.edges.{k}.op"
            if a == NONE:  # the new conv's BN outputs exactly 0 in both modes: the edge adds nothing
                seq[2].weight.zero_()
                seq[2].bias.zero_()
                set_names += [f"{prefix}.2.weight", f"{prefix}.2.bias"]
            elif a in (SKIP, POOL):
                identity_kernel(seq[1], average=a == POOL and b == CONV3)
                set_names.append(f"{prefix}.1.weight")
    return set_names


@torch.no_grad()
def _macro_inputs(model: nn.Module, weights: Mapping[str, torch.Tensor], space: SearchSpace,
                  parent_arch: Arch, arch: Arch) -> list[str]:
    """Layers whose only change is added extra inputs: the parent's inputs keep their weights (the
    shape-matching projections re-indexed; a concat conv's input channels moved to their new place),
    and each new input contributes 0 (a sum's projection BN gamma = beta = 0; a concat conv's weights
    for the new channels 0). Returns the tensor names set."""
    p_layers, c_layers = space.effective(parent_arch), space.effective(arch)
    if len(p_layers) != len(c_layers):
        return []
    own, names = model.state_dict(), []
    for i, (a, b) in enumerate(zip(p_layers, c_layers, strict=True)):
        added = added_inputs(a.inputs, b.inputs) if (a.op, a.width, a.stride) == (b.op, b.width, b.stride) \
            else None
        if a == b or added is None:
            continue
        old = [m for m in range(len(b.inputs)) if m not in added]  # child positions of parent inputs
        layer, prefix, planned = model.layers[i], f"layers.{i}", model.plan.layers[i]
        for mp, mc in enumerate(old):
            for name, t in layer.match[mc].state_dict().items():
                src = weights.get(f"{prefix}.match.{mp}.{name}")
                if isinstance(src, torch.Tensor) and src.shape == t.shape:
                    own[f"{prefix}.match.{mc}.{name}"].copy_(src)
                    names.append(f"{prefix}.match.{mc}.{name}")
        if model.plan.connection == "add":
            for m in added:
                if isinstance(layer.match[m], nn.Sequential):  # 1x1 projection + BN
                    layer.match[m][1].weight.zero_()
                    layer.match[m][1].bias.zero_()
                    names += [f"{prefix}.match.{m}.1.weight", f"{prefix}.match.{m}.1.bias"]
            continue
        seg = [planned.c_prev] + [c for _, c, _ in planned.extras]
        start = [sum(seg[:k]) for k in range(len(seg))]
        parent_start = [sum(([seg[0]] + [seg[1 + m] for m in old])[:k]) for k in range(len(old) + 1)]
        pairs = [(parent_start[0], 0, seg[0])] + [(parent_start[1 + k], start[1 + m], seg[1 + m])
                                                   for k, m in enumerate(old)]
        names += set_concat_convs(own, weights, prefix, pairs) or []
    return names


def inherit(model: nn.Module, weights: Mapping[str, torch.Tensor], *, space: SearchSpace | None = None,
            arch: Arch | None = None, parent_arch: Arch | None = None, size: Mapping[str, Any] | None = None,
            rng: np.random.Generator | None = None) -> Transfer:
    """Initialise the freshly built ``model`` (of ``arch``) from ``weights`` (of ``parent_arch``).

    Without ``space``/``arch``/``parent_arch`` only tensors of equal name and shape are copied (the
    Lamarckian rule). See the module docstring for the rules and what is exact. ``size`` is the
    trained size (both networks'; the space's defaults if None) and ``rng`` draws Net2Wider's
    replicated channels (``default_rng(0)`` if None).
    """
    if space is None or arch is None or parent_arch is None:
        return Transfer(tuple(copy_matching(model, weights)), (), ())
    alignment = None
    if is_macro(space) and len(space.effective(parent_arch)) != len(space.effective(arch)):
        alignment = align_layers(space, parent_arch, arch)  # copy each layer into its counterpart
        weights = aligned_weights(weights, space.effective(parent_arch), space.effective(arch), alignment)
    copied = copy_matching(model, weights)
    found = tuple(changes(space, parent_arch, arch))
    morphed: list[str] = []
    done = set(copied)
    for name, t in model.state_dict().items():
        src = weights.get(name)
        if name not in done and isinstance(src, torch.Tensor) and resize_kernel(t, src.to(t.dtype)):
            morphed.append(name)
    if isinstance(space, NB201Space):
        diff = [(k, a, b) for k, (a, b) in enumerate(zip(space.validate(parent_arch), space.validate(arch),
                                                         strict=True)) if a != b]
        morphed += [n for n in _nb201_rules(model, diff) if n not in morphed]
    elif is_macro(space):
        morphed += [n for n in _macro_inputs(model, weights, space, parent_arch, arch) if n not in morphed]
        wide = _macro_wider(model, weights, space, parent_arch, arch, size, rng)
        if wide is None:
            found += (Change("weights", "Net2Wider maps do not fit the parent's tensors", "fresh",
                             LAMARCKIAN),)
        else:
            morphed += [n for n in wide if n not in morphed]
        deep = _macro_deeper(model, weights, space, parent_arch, arch, size) if alignment is not None else []
        if deep is None:
            found += (Change("weights", "the deeper rule does not fit the built networks", "fresh",
                             LAMARCKIAN),)
        else:
            morphed += [n for n in deep if n not in morphed]
    remapped = set(morphed)  # a tensor first copied by name, then set by a rule, counts once
    copied = [n for n in copied if n not in remapped]
    fresh = _unexplained_fresh(model, space, parent_arch, arch, {*copied, *remapped}, alignment)
    if fresh:  # e.g. the parent was trained at other channels or cells: its function is not kept
        found += (Change("weights", f"{len(fresh)} tensors not from the parent (e.g. {fresh[0]})",
                         "fresh initialisation", LAMARCKIAN),)
    return Transfer(tuple(copied), tuple(morphed), found, alignment)


def _macro_deeper(model: nn.Module, weights: Mapping[str, torch.Tensor], space: SearchSpace,
                  parent_arch: Arch, arch: Arch, size: Mapping[str, Any] | None) -> list[str] | None:
    """The deeper rule (:mod:`.deeper`) for a child with one inserted layer that has one: the names
    set; [] when no rule applies; None when the built networks do not fit it."""
    from nasarena.spaces.deeper import find_insertion
    from nasarena.spaces.trainable import resolve_size

    ins = find_insertion(space, parent_arch, arch)
    if ins is None or not ins.rule:
        return []
    return apply_deeper(model, weights, ins, space, parent_arch, arch, resolve_size(space, dict(size or {})))


def _macro_wider(model: nn.Module, weights: Mapping[str, torch.Tensor], space: SearchSpace, parent_arch: Arch,
                 arch: Arch, size: Mapping[str, Any] | None,
                 rng: np.random.Generator | None) -> list[str] | None:
    """Net2Wider (:mod:`.wider`) when the only change is one layer's larger width: the names set, []
    for other changes (or a classification other than exact), None if the parent does not fit."""
    from nasarena.spaces.macro.cost import plan
    from nasarena.spaces.trainable import resolve_size
    from nasarena.spaces.wider import widened_layer, wider_maps

    from .wider import apply_wider

    w = widened_layer(space.effective(parent_arch), space.effective(arch))
    if w is None or kind_of(space, parent_arch, arch) != EXACT:
        return []
    size = resolve_size(space, dict(size or {}))
    num_classes, resolution = model.plan.num_classes, model.plan.resolution
    parent_plan = plan(space, parent_arch, num_classes, resolution, size["width_mult"], size["depth_limit"])
    child_plan = plan(space, arch, num_classes, resolution, size["width_mult"], size["depth_limit"])
    maps = wider_maps(parent_plan, child_plan, w, np.random.default_rng(0) if rng is None else rng)
    return None if maps is None else apply_wider(model, weights, maps, parent_plan)


def _unexplained_fresh(model: nn.Module, space: SearchSpace, parent_arch: Arch, arch: Arch,
                       taken: set[str], alignment: tuple[int | None, ...] | None = None) -> list[str]:
    """Tensors of ``model`` neither taken from the parent nor inside a changed edge/layer (whose rule
    accounts for them): their presence means the child does not start with the parent's function."""
    if isinstance(space, NB201Space):
        edges = [k for k, (a, b) in enumerate(zip(space.validate(parent_arch), space.validate(arch),
                                                  strict=True)) if a != b]
        inside = re.compile(r"cells\.\d+\.edges\.(" + "|".join(map(str, edges)) + r")\.") if edges else None
    elif is_macro(space):
        p_layers, c_layers = space.effective(parent_arch), space.effective(arch)
        if alignment is None:
            layers = [i for i, (a, b) in enumerate(zip(p_layers, c_layers, strict=False)) if a != b]
        else:  # a depth change: only new layers may hold fresh tensors (a rule sets what it needs)
            layers = [i for i, k in enumerate(alignment) if k is None]
        inside = re.compile(r"layers\.(" + "|".join(map(str, layers)) + r")\.") if layers else None
    else:  # no catalogue: any architecture change is Lamarckian already; this catches a size change
        inside = None
    return [n for n in model.state_dict() if n not in taken and not (inside and inside.match(n))]


def function_gap(parent: nn.Module, child: nn.Module, x: torch.Tensor, train: bool = False) -> float:
    """max |parent(x) - child(x)| with both networks in eval (or train) mode; the models' modes and
    BN running statistics are restored afterwards (a train-mode pass updates them)."""
    saved = [(m, m.training) for m in (parent, child)]
    states = [{k: v.clone() for k, v in m.state_dict().items()} for m in (parent, child)]
    try:
        with torch.no_grad():
            parent.train(train)
            child.train(train)
            return float((parent(x) - child(x)).abs().max())
    finally:
        for (m, mode), state in zip(saved, states, strict=True):
            m.load_state_dict(state)
            m.train(mode)


@torch.no_grad()
def randomise_bn(model: nn.Module, generator: torch.Generator, spread: float = 1.0) -> None:
    """Move every BN's affine parameters and running statistics away from their defaults, as after
    training (gamma in [0.5, 1.5), beta and mean ~ N(0, spread^2), variance in [0.5, 1.5)): with the
    default BN state a rule that fails to copy or set it would go unnoticed by :func:`function_gap`."""
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.weight.copy_(torch.rand(m.weight.shape, generator=generator) + 0.5)
            m.bias.copy_(torch.randn(m.bias.shape, generator=generator) * spread)
            m.running_mean.copy_(torch.randn(m.running_mean.shape, generator=generator) * spread)
            m.running_var.copy_(torch.rand(m.running_var.shape, generator=generator) + 0.5)


def as_record(transfer: Transfer | None) -> dict[str, Any]:
    """The cache-record fields of a transfer (``inherited`` names and the ``morphism`` JSON)."""
    if transfer is None:
        return {"inherited": [], "morphism": None}
    return {"inherited": list(transfer.names), "morphism": transfer.summary()}


__all__ = ["Transfer", "as_record", "function_gap", "identity_kernel", "inherit", "randomise_bn",
           "resize_kernel"]
