"""Which architecture changes are network morphisms (Wei et al. 2016; Elsken et al. 2017, 2019).

A *morphism* turns a trained parent network into a child of another architecture whose weights can be
set so that the child computes the parent's function: *exact* ones preserve it (up to float
rounding), *approximate* ones only roughly (they still start the child near the parent, as
LEMONADE's approximate morphisms do). Every other change has no morphism: a warm start then copies
the unchanged tensors and initialises the rest (Lamarckian inheritance).

This module is torch-free: it only says which change is which, so that strategies (``nash``,
``lemonade``) can choose children by kind without importing torch. The weights are mapped by
:mod:`nasarena.estimators.live.morphism`.

**NAS-Bench-201** (one edge changed; every edge op is ReLU-Conv-BN, a pool, identity or zero, and a
node sums its incoming edges):

* exact: ``none -> nor_conv_1x1 / nor_conv_3x3`` (BN gamma = beta = 0: the new edge still adds 0, in
  eval *and* in train mode); ``nor_conv_1x1 -> nor_conv_3x3`` (the 1x1 kernel embedded at the centre
  of a zero 3x3 kernel, BN state copied);
* approximate: ``skip_connect -> conv`` (identity-initialised conv: BN(relu(x)), not x),
  ``avg_pool_3x3 -> conv`` (a uniform 3x3 kernel: relu first, zero padding instead of
  ``count_include_pad=False``, then BN), ``nor_conv_3x3 -> nor_conv_1x1`` (the kernel's centre) and
  any op ``-> none`` (a removal);
* none: ``none -> skip/pool`` and changes between skip, pool and convs other than the above.

**Macro spaces** (chain, residual, dense): exact ``conv3x3 -> conv5x5`` and ``sep3x3 -> sep5x5`` on
one layer (same width and stride; the kernel embedded at the centre: padding grows with the kernel,
so every output pixel sees the same inputs); approximate ``conv5x5 -> conv3x3`` and
``sep5x5 -> sep3x3``. An added extra input is exact where it can contribute 0: in a sum (residual)
through a 1x1 projection + BN (gamma = beta = 0), in a concat (dense) into a conv or separable conv
(zero weights for the new channels); a sum input of the same shape (no projection) is approximate,
a concat into a pool Lamarckian, a removed input approximate. Wider (one conv layer's width grown,
nothing else changed) is exact by Net2Wider (:mod:`nasarena.spaces.wider`) in chain and dense, and in
residual unless a summand switches between identity and projection (then Lamarckian). Deeper (one
stride-1 conv layer inserted, :mod:`nasarena.spaces.deeper`) is exact in residual and dense, where
the layer after it also takes the new layer's input (a zero-output BN in the sum; zero weights in
the concat), and in the chain approximate: exact in eval mode only (an identity-initialised layer
whose new BN uses batch statistics in train mode). Removing one shape-keeping layer is approximate
(:func:`nasarena.spaces.deeper.find_removal`). Other depth changes are Lamarckian, their tensors
copied through a layer alignment (:func:`nasarena.spaces.deeper.align_layers`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from nasarena.spaces.base import Arch, SearchSpace
from nasarena.spaces.nb201 import CONV1, CONV3, EDGES, NONE, OPS, POOL, SKIP, NB201Space
from nasarena.spaces.wider import widened_layer, wider_maps

EXACT, APPROXIMATE, LAMARCKIAN = "exact", "approximate", "lamarckian"
KINDS = (EXACT, APPROXIMATE, LAMARCKIAN)

#: NB201 edge changes (parent op, child op) -> kind; missing pairs (other than equal ops) are Lamarckian.
NB201_RULES: dict[tuple[int, int], str] = {
    (NONE, CONV1): EXACT, (NONE, CONV3): EXACT, (CONV1, CONV3): EXACT,
    (SKIP, CONV1): APPROXIMATE, (SKIP, CONV3): APPROXIMATE, (POOL, CONV1): APPROXIMATE,
    (POOL, CONV3): APPROXIMATE, (CONV3, CONV1): APPROXIMATE,
    (SKIP, NONE): APPROXIMATE, (POOL, NONE): APPROXIMATE, (CONV1, NONE): APPROXIMATE,
    (CONV3, NONE): APPROXIMATE,
}
#: Macro op changes (by op name) -> kind.
MACRO_RULES: dict[tuple[str, str], str] = {
    ("conv3x3", "conv5x5"): EXACT, ("sep3x3", "sep5x5"): EXACT,
    ("conv5x5", "conv3x3"): APPROXIMATE, ("sep5x5", "sep3x3"): APPROXIMATE,
}


@dataclass(frozen=True)
class Change:
    """One changed edge or layer: where, the ops before and after, and the change's kind."""

    where: str
    parent_op: str
    child_op: str
    kind: str
    note: str = ""

    def text(self) -> str:
        """``"edge 1<-0: none -> nor_conv_3x3 (exact)"`` (the note after the kind), for records and logs."""
        note = f"; {self.note}" if self.note else ""
        return f"{self.where}: {self.parent_op} -> {self.child_op} ({self.kind}{note})"


def _nb201_changes(parent: Arch, child: Arch) -> list[Change]:
    out = []
    for k, (a, b) in enumerate(zip(parent, child, strict=True)):
        if a != b:
            dst, src = EDGES[k]
            out.append(Change(f"edge {dst}<-{src}", OPS[a], OPS[b], NB201_RULES.get((a, b), LAMARCKIAN)))
    return out


def _macro_changes(space: SearchSpace, parent: Arch, child: Arch) -> list[Change]:
    """Layer-wise changes of a macro architecture: an op swap with everything else equal is ruled by
    :data:`MACRO_RULES`; any other difference (depth, width, stride, connections) is Lamarckian."""
    p_layers, c_layers = space.effective(parent), space.effective(child)  # what the network builds
    if len(p_layers) != len(c_layers):
        from nasarena.spaces.deeper import find_insertion, find_removal

        ins = find_insertion(space, parent, child)
        if ins is not None:  # deeper: one inserted layer (nasarena.spaces.deeper)
            return [Change(f"deeper: layer {ins.position} inserted after node {ins.position}", "(none)",
                           c_layers[ins.position].token(), ins.kind, ins.note)]
        rem = find_removal(space, parent, child)
        if rem is not None:
            return [Change(f"layer {rem.position} removed", p_layers[rem.position].token(), "(none)",
                           rem.kind, rem.note)]
        return [Change("depth", str(len(p_layers)), str(len(c_layers)), LAMARCKIAN)]
    w = widened_layer(p_layers, c_layers)
    if w is not None:  # Net2Wider: exact where every consumer can be adjusted (nasarena.spaces.wider)
        from nasarena.spaces.macro.cost import plan

        maps = wider_maps(plan(space, parent), plan(space, child), w, np.random.default_rng(0))
        return [Change(f"layer {w}", p_layers[w].token(), c_layers[w].token(),
                       LAMARCKIAN if maps is None else EXACT)]
    out = []
    child_plan = None
    for i, (a, b) in enumerate(zip(p_layers, c_layers, strict=True)):
        if a == b:
            continue
        if (a.op, a.width, a.stride) == (b.op, b.width, b.stride):  # only the extra inputs differ
            if child_plan is None:
                from nasarena.spaces.macro.cost import plan

                child_plan = plan(space, child)
            kind = _input_change(space.connection, a, b, child_plan.layers[i])
        elif (a.width, a.stride, a.inputs) == (b.width, b.stride, b.inputs):
            kind = MACRO_RULES.get((a.op, b.op), LAMARCKIAN)
        else:
            kind = LAMARCKIAN
        out.append(Change(f"layer {i}", a.token(), b.token(), kind))
    return out


def added_inputs(parent: tuple[int, ...], child: tuple[int, ...]) -> list[int] | None:
    """Positions in ``child`` of the inputs ``parent`` lacks, if ``parent`` is a sub-list of ``child``
    (inputs are sorted); None if an input was removed."""
    added, k = [], 0
    for m, j in enumerate(child):
        if k < len(parent) and parent[k] == j:
            k += 1
        else:
            added.append(m)
    return added if k == len(parent) else None


def _input_change(connection: str, a, b, planned) -> str:
    """Kind of adding extra inputs to one macro layer: exact when each new input can be made to
    contribute 0 (a sum through a 1x1 projection + BN with gamma = beta = 0; a concat into a conv
    whose weights for the new channels are 0), approximate for a removal or an identity-matched sum."""
    added = added_inputs(a.inputs, b.inputs)
    if added is None:
        return APPROXIMATE  # an input removed
    if connection == "add":
        projected = all((planned.extras[m][1], planned.extras[m][2]) != (planned.c_prev, planned.hw_in)
                        for m in added)
        return EXACT if projected else APPROXIMATE
    return EXACT if b.op in ("conv3x3", "conv5x5", "dil3x3", "sep3x3", "sep5x5") else LAMARCKIAN


def is_macro(space: SearchSpace) -> bool:
    """Whether ``space`` is one of the macro spaces (they expose their layer plan)."""
    from nasarena.spaces.macro.space import MacroSpace

    return isinstance(space, MacroSpace)


def changes(space: SearchSpace, parent: Arch, child: Arch) -> list[Change]:
    """What differs between ``parent`` and ``child``, each change with its kind (empty if equal).

    Spaces without a catalogue here report one Lamarckian change for any difference.
    """
    parent, child = space.validate(parent), space.validate(child)
    if parent == child:
        return []
    if isinstance(space, NB201Space):
        return _nb201_changes(parent, child)
    if is_macro(space):
        return _macro_changes(space, parent, child)
    return [Change("architecture", space.to_string(parent), space.to_string(child), LAMARCKIAN)]


def kind_of(space: SearchSpace, parent: Arch, child: Arch) -> str:
    """The kind of the whole change: exact iff every change is exact, else approximate iff every
    change has a morphism, else Lamarckian (equal architectures are trivially exact)."""
    kinds = {c.kind for c in changes(space, parent, child)}
    for k in (LAMARCKIAN, APPROXIMATE):
        if k in kinds:
            return k
    return EXACT


def morph_children(space: SearchSpace, arch: Arch, kinds: tuple[str, ...] = (EXACT,)) -> list[Arch]:
    """Every one-decision change of ``arch`` (the space's neighbours) whose kind is in ``kinds``; in
    the macro spaces also the deeper children (:func:`nasarena.spaces.deeper.deeper_children`: one
    layer inserted, which no single decision does), one per network."""
    arch = space.validate(arch)
    candidates = list(space.neighbours(arch))
    if is_macro(space):
        from nasarena.spaces.deeper import deeper_children

        seen = {space.canonical(n) for n in candidates} | {space.canonical(arch)}
        for child in deeper_children(space, arch):
            if space.canonical(child) not in seen:
                seen.add(space.canonical(child))
                candidates.append(child)
    return [n for n in candidates if kind_of(space, arch, n) in kinds]


def has_catalogue(space: SearchSpace) -> bool:
    """Whether this module knows the morphisms of ``space`` (NB201 and the macro spaces)."""
    return isinstance(space, NB201Space) or is_macro(space)


def morph_options(space: SearchSpace, arch: Arch, kinds: tuple[str, ...]) -> list[Arch]:
    """The one-step children a morphism-based search may take from ``arch``: those of ``kinds`` when
    the space has a catalogue here, else every neighbour (each then a Lamarckian warm start)."""
    if not has_catalogue(space):
        return list(space.neighbours(space.validate(arch)))
    return morph_children(space, arch, kinds)


def check_kinds(strategy: str, kinds: object) -> tuple[str, ...]:
    """``kinds`` (a comma-separated string or a sequence) as a tuple of known kinds, or a ConfigError."""
    from nasarena.errors import ConfigError

    items = tuple(k.strip() for k in kinds.split(",")) if isinstance(kinds, str) else tuple(kinds or ())
    if not items or any(k not in KINDS for k in items):
        raise ConfigError(f"{strategy}: kinds must be a non-empty subset of {', '.join(KINDS)}, "
                          f"got {kinds!r}")
    return items


__all__ = ["APPROXIMATE", "EXACT", "KINDS", "LAMARCKIAN", "MACRO_RULES", "NB201_RULES", "Change", "changes",
           "check_kinds", "has_catalogue", "is_macro", "kind_of", "morph_children", "morph_options"]
