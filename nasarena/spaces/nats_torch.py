"""PyTorch builder of the NATS-Bench size-space network (the authors' ``DynamicShapeTinyNet``).

The NB201 skeleton with one cell per stage: a 3x3 conv + BN stem with ``channels[0]`` channels, then
cell, residual block, cell, residual block, cell at the five widths, then BN-ReLU, global average
pooling and a linear classifier. The cell is the fixed :data:`nasarena.spaces.nats_sss.CELL`; an
edge that leaves the cell input maps ``c_in -> c_out``, the others ``c_out -> c_out`` (NB201's
``InferCell``), and a ``skip_connect`` between different widths is xautodl's stride-1
``FactorizedReduce`` (1x1 conv without bias, then BN). The residual blocks are NB201's
(:class:`~nasarena.spaces.nb201_torch.ResNetBasicBlock`). This is exactly what
:func:`nasarena.spaces.nats_sss.params_and_flops` counts (tested).
"""

from __future__ import annotations

import torch
from torch import nn

from nasarena.spaces.nats_sss import CELL
from nasarena.spaces.nb201 import CONV1, CONV3, EDGES, NONE, POOL, SKIP, NB201Space
from nasarena.spaces.nb201_torch import (
    InferCell,
    NB201Network,
    ReLUConvBN,
    ResNetBasicBlock,
    Zero,
    reset_parameters,
)


def _edge(op: int, c_in: int, c_out: int) -> nn.Module:
    if op == CONV3:
        return ReLUConvBN(c_in, c_out, 3, 1, 1)
    if op == CONV1:
        return ReLUConvBN(c_in, c_out, 1, 1, 0)
    if op == SKIP:
        if c_in == c_out:
            return nn.Identity()
        return nn.Sequential(nn.Conv2d(c_in, c_out, 1, bias=False), nn.BatchNorm2d(c_out))
    if op == POOL and c_in == c_out:
        return nn.AvgPool2d(3, stride=1, padding=1, count_include_pad=False)
    if op == NONE and c_in == c_out:
        return Zero()
    raise ValueError(f"nats-sss: op {op} between {c_in} and {c_out} channels is not part of the fixed cell")


class SizeCell(InferCell):
    """The fixed cell between ``c_in`` and ``c_out`` channels (NB201's cell DAG and forward)."""

    def __init__(self, c_in: int, c_out: int, cell: str = CELL) -> None:
        nn.Module.__init__(self)  # InferCell's own __init__ builds c -> c edges only
        arch = NB201Space().from_string(cell)
        self.edges = nn.ModuleList(_edge(op, c_in if src == 0 else c_out, c_out)
                                   for op, (_, src) in zip(arch, EDGES, strict=True))


class SizeNetwork(NB201Network):
    """Stem, cell / residual / cell / residual / cell at ``channels``, head (NB201's forward)."""

    def __init__(self, channels: tuple[int, ...], num_classes: int = 10) -> None:
        nn.Module.__init__(self)  # NB201Network's own __init__ builds the C, 2C, 4C stages
        self.channels = tuple(channels)
        c = self.channels[0]
        self.stem = nn.Sequential(nn.Conv2d(3, c, 3, padding=1, bias=False), nn.BatchNorm2d(c))
        layers: list[nn.Module] = []
        for i, width in enumerate(self.channels):
            layers.append(ResNetBasicBlock(c, width) if i % 2 else SizeCell(c, width))
            c = width
        self.cells = nn.Sequential(*layers)
        self.lastact = nn.Sequential(nn.BatchNorm2d(c), nn.ReLU(inplace=True))
        self.global_pooling = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(c, num_classes)


def build_network(channels: tuple[int, ...], num_classes: int = 10,
                  generator: torch.Generator | None = None) -> SizeNetwork:
    """Build the size-space network with layer widths ``channels``; initialise from ``generator``."""
    model = SizeNetwork(channels, num_classes)
    if generator is not None:
        reset_parameters(model, generator)
    return model


__all__ = ["SizeCell", "SizeNetwork", "build_network"]
