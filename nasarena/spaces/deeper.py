"""Deeper morphisms for the macro spaces, and layer alignment across a depth change (torch-free).

**Deeper** (Net2DeeperNet, Chen et al. 2016; NASH's insert-a-layer morphism, Elsken et al. 2017):
the child inserts one layer ``L`` (stride 1) after node ``p`` (it becomes layer ``p``; the parent's
layer ``p``, its *follower*, and everything after it move up by one). Every op is pre-activation
ReLU-Conv-BN, so an identity-initialised ``L`` computes ``relu(x)``, not ``x``; exactness comes from
the connections instead:

* **residual, rule "zero"**: the follower also gets node ``p`` as a skip input (same shape, so no
  projection: ``L`` has node ``p``'s width and stride 1) and ``L``'s final BN has gamma = beta = 0.
  ``L`` outputs exactly 0, the follower's input is ``0 + x_p = x_p``: exact in eval *and* train mode
  (the zero BN outputs 0 whatever its statistics), for any follower op.
* **dense, rule "zero"**: the follower also concatenates node ``p``; its conv weights on ``L``'s
  channels are 0 and those on node ``p``'s channels (and its other inputs) are the parent's: exact in
  both modes, when the follower is a conv or separable conv (a pool cannot ignore channels:
  Lamarckian). ``L`` may have any width here.
* **rule "identity"** (chain, and any space where the follower has no other input): ``L`` at its
  input's width is ReLU-Conv(Dirac kernel)-BN(running mean 0, variance 1, gamma = sqrt(1 + eps),
  beta = 0), which computes ``relu(x)`` in eval mode, and the follower's op starts with a ReLU (a conv
  op), ``relu(relu(x)) = relu(x)``: **exact in eval mode only**. In train mode the new BN normalises
  by the batch's statistics, so the child does not compute the parent's function; the change is
  therefore labelled ``approximate`` with that note, never exact. Not before a pool (no ReLU first).

No rule applies after the last layer (the head starts with BN), to a stride-2 or pool ``L``, or
where the width does not match; such insertions are Lamarckian. :func:`deeper_children` generates
the children these rules make exact (or eval-exact): ``L = conv3x3`` at node ``p``'s width (dense:
the nominal width closest to node ``p``'s channels), wherever the space's depth allows.

**Alignment.** A depth change renumbers the layers, so copying tensors by name would copy layer
``k`` of the parent into layer ``k`` of the child even when a layer was inserted or removed before
``k``. :func:`align_layers` maps each child layer to the parent layer it corresponds to: the
insertion's (or removal's) obvious map, else a longest common subsequence over (op, width, stride).
"""

from __future__ import annotations

from dataclasses import dataclass

from nasarena.errors import InvalidArchitectureError
from nasarena.spaces.base import Arch
from nasarena.spaces.macro.space import WIDTH_OPS, Layer, MacroSpace
from nasarena.spaces.morphisms import APPROXIMATE, EXACT, LAMARCKIAN

EVAL_ONLY = "exact in eval mode only: the new BN uses batch statistics in train mode"


@dataclass(frozen=True)
class Insertion:
    """One inserted layer: its child index ``position`` (its input is node ``position``), whether the
    follower gained node ``position`` as an extra input, the rule that sets it ("zero", "identity"
    or "" for none), the kind and a note for the record."""

    position: int
    added: bool
    rule: str
    kind: str
    note: str


def _shift(pos: int):
    """Parent node -> child node when a layer is inserted at child index ``pos``."""
    return lambda n: n if n <= pos else n + 1


def insertion_positions(p_layers: tuple[Layer, ...], c_layers: tuple[Layer, ...]) -> list[tuple[int, bool]]:
    """Every ``(position, added)`` at which ``c_layers`` is ``p_layers`` with one layer (without extra
    inputs) inserted, the follower possibly gaining the node before the new layer as an input."""
    if len(c_layers) != len(p_layers) + 1:
        return []
    out = []
    for pos in range(len(c_layers)):
        if c_layers[:pos] != p_layers[:pos]:
            break
        if c_layers[pos].inputs:
            continue
        shift, added, ok = _shift(pos), False, True
        for k in range(pos, len(p_layers)):
            a, b = p_layers[k], c_layers[k + 1]
            mapped = tuple(sorted(shift(j) for j in a.inputs))
            if (a.op, a.width, a.stride) != (b.op, b.width, b.stride):
                ok = False
            elif b.inputs == mapped:
                continue
            elif k == pos and b.inputs == tuple(sorted(mapped + (pos,))):
                added = True
            else:
                ok = False
            if not ok:
                break
        if ok:
            out.append((pos, added))
    return out


def _classify(space: MacroSpace, child: Arch, c_layers: tuple[Layer, ...], pos: int, added: bool,
              n_parent: int) -> Insertion:
    """The rule and kind of inserting ``c_layers[pos]`` (see the module docstring)."""
    new = c_layers[pos]
    if pos == n_parent:
        return Insertion(pos, added, "", LAMARCKIAN, "no layer follows (the head starts with BN)")
    if new.op not in WIDTH_OPS or new.stride != 1:
        return Insertion(pos, added, "", LAMARCKIAN, "the new layer is not a stride-1 conv")
    from nasarena.spaces.macro.cost import plan

    planned = plan(space, child).layers
    lay, follower = planned[pos], planned[pos + 1]
    if added and space.connection == "add":
        m = [j for j, _, _ in follower.extras].index(pos)
        _, cj, hwj = follower.extras[m]
        if (cj, hwj) == (follower.c_prev, follower.hw_in):
            return Insertion(pos, True, "zero", EXACT,
                             f"BN gamma = beta = 0, layer {pos + 1} adds node {pos}")
        return Insertion(pos, True, "", LAMARCKIAN, "the new layer's width differs from its input's")
    if added:  # concat
        if follower.layer.op in WIDTH_OPS:
            return Insertion(pos, True, "zero", EXACT, f"layer {pos + 1}'s weights on the new channels 0")
        return Insertion(pos, True, "", LAMARCKIAN, "a pool follower cannot ignore the new channels")
    if follower.extras or follower.layer.op not in WIDTH_OPS:
        return Insertion(pos, False, "", LAMARCKIAN, "the follower does not start with a ReLU on the new "
                         "layer's output alone")
    if lay.c_out != lay.c_in:
        return Insertion(pos, False, "", LAMARCKIAN, "the new layer's width differs from its input's")
    return Insertion(pos, False, "identity", APPROXIMATE, EVAL_ONLY)


def find_insertion(space: MacroSpace, parent: Arch, child: Arch) -> Insertion | None:
    """The inserted layer of ``child`` over ``parent`` (the best-kind reading when several positions
    fit, the first among equals), or None when ``child`` is not ``parent`` plus one layer."""
    p_layers, c_layers = space.effective(parent), space.effective(child)
    found = [_classify(space, child, c_layers, pos, added, len(p_layers))
             for pos, added in insertion_positions(p_layers, c_layers)]
    if not found:
        return None
    rank = {EXACT: 0, APPROXIMATE: 1, LAMARCKIAN: 2}
    return min(found, key=lambda ins: rank[ins.kind])


def find_removal(space: MacroSpace, parent: Arch, child: Arch) -> Insertion | None:
    """The parent layer ``child`` lacks (``position``: its index in the parent), when ``child`` is
    ``parent`` with one layer without extra inputs removed (the next layer possibly dropping the
    node before it as an extra input: it becomes its only input), or None. Approximate (LEMONADE's
    layer removal; like a NB201 edge's removal, its contribution is lost) when the removed layer
    kept its input's shape, so every tensor of the child has its parent counterpart; Lamarckian
    when it changed the shape or a concat loses its channels (the next layer's weights change)."""
    p_layers, c_layers = space.effective(parent), space.effective(child)
    readings = insertion_positions(c_layers, p_layers)
    if not readings:
        return None
    from nasarena.spaces.macro.cost import plan

    planned = plan(space, parent).layers
    found = []
    for pos, added in readings:
        lay = planned[pos]
        if (lay.c_in, lay.hw_in) != (lay.c_out, lay.hw_out):
            found.append(Insertion(pos, added, "", LAMARCKIAN, "the removed layer changed its input's shape"))
        elif added and space.connection == "concat":
            found.append(Insertion(pos, added, "", LAMARCKIAN, "the next layer's concat loses channels"))
        else:
            found.append(Insertion(pos, added, "", APPROXIMATE,
                                   "a removal: the layer's contribution is lost"))
    return min(found, key=lambda r: r.kind != APPROXIMATE)


def _lcs(p_layers: tuple[Layer, ...], c_layers: tuple[Layer, ...]) -> list[int | None]:
    """Child layer -> parent layer by a longest common subsequence over (op, width, stride)."""
    key = [(x.op, x.width, x.stride) for x in p_layers], [(x.op, x.width, x.stride) for x in c_layers]
    n, m = len(p_layers), len(c_layers)
    t = [[0] * (m + 1) for _ in range(n + 1)]
    for i in range(n - 1, -1, -1):
        for j in range(m - 1, -1, -1):
            t[i][j] = t[i + 1][j + 1] + 1 if key[0][i] == key[1][j] else max(t[i + 1][j], t[i][j + 1])
    out: list[int | None] = [None] * m
    i = j = 0
    while i < n and j < m:
        if key[0][i] == key[1][j]:
            out[j] = i
            i, j = i + 1, j + 1
        elif t[i + 1][j] >= t[i][j + 1]:
            i += 1
        else:
            j += 1
    return out


def align_layers(space: MacroSpace, parent: Arch, child: Arch) -> tuple[int | None, ...]:
    """For each built layer of ``child``, the index of the parent's built layer it corresponds to
    (None: no counterpart). Equal depths: index by index; one layer inserted or removed: the obvious
    map; otherwise a longest common subsequence over (op, width, stride)."""
    p_layers, c_layers = space.effective(parent), space.effective(child)
    if len(p_layers) == len(c_layers):
        return tuple(range(len(c_layers)))
    ins = find_insertion(space, parent, child)
    if ins is not None:
        return tuple(None if k == ins.position else (k if k < ins.position else k - 1)
                     for k in range(len(c_layers)))
    removed = find_removal(space, parent, child)
    if removed is not None:
        return tuple(k if k < removed.position else k + 1 for k in range(len(c_layers)))
    return tuple(_lcs(p_layers, c_layers))


def node_map(alignment: tuple[int | None, ...]) -> dict[int, int]:
    """Parent node -> child node under a layer alignment (node 0, the stem, maps to itself)."""
    out = {0: 0}
    for c, p in enumerate(alignment):
        if p is not None:
            out[p + 1] = c + 1
    return out


def deeper_children(space: MacroSpace, arch: Arch) -> list[Arch]:
    """Children of ``arch`` with one ``conv3x3`` layer inserted where a rule above applies (residual
    and dense: exact; chain: exact in eval mode only), one per position and network, within
    ``max_layers`` built layers. Children are written from the built layers (forwarding identities
    and dormant values dropped); where a built layer repeats an input (two aliases of one node), no
    tuple of the space says that network, and that position has no child."""
    from nasarena.spaces.macro.cost import plan

    arch = space.validate(arch)
    layers = space.effective(arch)
    if len(layers) >= space.max_layers:
        return []
    channels = [plan(space, arch).stem] + [p.c_out for p in plan(space, arch).layers]
    out, seen = [], set()
    for pos, follower in enumerate(layers):
        c = channels[pos]
        width = min(space.widths, key=lambda w: abs(w - c)) if space.connection == "concat" else c
        if width not in space.widths:
            continue
        shift = _shift(pos)
        moved = [Layer(x.op, x.width, x.stride, tuple(sorted(shift(j) for j in x.inputs)))
                 for x in layers[pos:]]
        if space.connection != "none":
            moved[0] = Layer(follower.op, follower.width, follower.stride,
                             tuple(sorted(follower.inputs + (pos,))))
        new = layers[:pos] + (Layer("conv3x3", width, 1),) + tuple(moved)
        try:
            child = space.from_string("/".join(x.token() for x in new))
        except InvalidArchitectureError:  # a repeated input (two aliases of one node): no tuple says it
            continue
        ins = find_insertion(space, arch, child)
        if ins is not None and ins.kind != LAMARCKIAN and space.canonical(child) not in seen:
            seen.add(space.canonical(child))
            out.append(child)
    return out


__all__ = ["EVAL_ONLY", "Insertion", "align_layers", "deeper_children", "find_insertion", "find_removal",
           "insertion_positions", "node_map"]
