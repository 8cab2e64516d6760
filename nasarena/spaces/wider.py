"""Net2Wider for the macro spaces (Chen, Goodfellow & Shlens 2016): the channel maps, torch-free.

When a child differs from its parent only by a larger width of one conv layer, the child's layer
keeps the parent's ``c`` filters and adds ``c' - c`` copies of filters drawn by a random mapping
``g`` (from an explicit ``numpy.random.Generator``); its BN parameters and statistics are copied
the same way. Every consumer of a replicated channel divides that channel's incoming weight by its
replication count, so the sum over the copies equals the parent's single weight.

A child channel is described by the parent channel it copies: each node of the network gets a map
(an integer array, child channel -> parent channel). ReLU, BN (per channel), pools, the identity,
average-pool resampling and the global pool all act per channel, so they carry a map through
unchanged; concatenation concatenates the maps (offset by the parent's channel positions); a sum
needs every summand on the same map. A conv (or a separable conv's pointwise part) consumes the
input map (dividing by the counts) and produces the identity map, except the widened layer, whose
output map is ``g``. A separable conv's depthwise filters are replicated along the input map.

Where this fails the change is not exact: in the residual space a summand whose shape matches the
sum in the child but not in the parent (or vice versa) switches between an identity and a 1x1
projection, and an identity cannot carry another node's map. :func:`wider_maps` returns None then.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class LayerMaps:
    """Child -> parent channel maps of one layer: its input (after the sum or concat), each extra
    input node, and its output."""

    inputs: np.ndarray
    extras: tuple[np.ndarray, ...]
    output: np.ndarray


@dataclass(frozen=True)
class WiderMaps:
    """The maps of every layer and of the final node (what the head's BN and linear layer consume)."""

    layers: tuple[LayerMaps, ...]
    final: np.ndarray


def widened_layer(p_layers, c_layers) -> int | None:
    """The index of the only layer that differs, if it differs only by a larger width; else None."""
    if len(p_layers) != len(c_layers):
        return None
    diff = [i for i, (a, b) in enumerate(zip(p_layers, c_layers, strict=True)) if a != b]
    if len(diff) != 1:
        return None
    a, b = p_layers[diff[0]], c_layers[diff[0]]
    same = (a.op, a.stride, a.inputs) == (b.op, b.stride, b.inputs)
    return diff[0] if same and a.width is not None and b.width is not None and b.width > a.width else None


def counts(m: np.ndarray, n: int) -> np.ndarray:
    """How many child channels copy each of the parent's ``n`` channels."""
    return np.bincount(m, minlength=n)


def wider_maps(parent_plan, child_plan, widened: int, rng: np.random.Generator) -> WiderMaps | None:
    """The channel maps that make the child compute the parent's function, or None where no such
    maps exist (see the module docstring). Plans come from :func:`nasarena.spaces.macro.cost.plan`."""
    maps = [np.arange(parent_plan.stem)]
    out: list[LayerMaps] = []
    for i, (pp, cp) in enumerate(zip(parent_plan.layers, child_plan.layers, strict=True)):
        prev = maps[-1]
        extras = tuple(maps[j] for j, _, _ in cp.extras)
        if child_plan.connection == "add":
            for (_, pcj, phw), (_, ccj, chw), m in zip(pp.extras, cp.extras, extras, strict=True):
                p_ident = (pcj, phw) == (pp.c_prev, pp.hw_in)
                c_ident = (ccj, chw) == (cp.c_prev, cp.hw_in)
                if p_ident != c_ident or (c_ident and not np.array_equal(m, prev)):
                    return None
            inputs = prev
        elif child_plan.connection == "concat":
            offsets = np.cumsum([0, pp.c_prev] + [c for _, c, _ in pp.extras])
            inputs = np.concatenate([prev] + [m + offsets[k + 1] for k, m in enumerate(extras)])
        else:
            inputs = prev
        if len(inputs) != cp.c_in:
            return None
        if cp.layer.width is None:
            output = inputs
        elif i == widened:
            output = np.concatenate([np.arange(pp.c_out), rng.integers(0, pp.c_out, cp.c_out - pp.c_out)])
        else:
            output = np.arange(cp.c_out)
        out.append(LayerMaps(inputs, extras, output))
        maps.append(output)
    return WiderMaps(tuple(out), maps[-1])


__all__ = ["LayerMaps", "WiderMaps", "counts", "widened_layer", "wider_maps"]
