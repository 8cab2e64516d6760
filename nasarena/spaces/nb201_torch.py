"""PyTorch builder of the exact NAS-Bench-201 network (Dong & Yang, 2020).

This is the only module of :mod:`nasarena.spaces` that imports torch, so that tabular oracles and
strategies never pay for it. The structure mirrors the authors' ``TinyNetwork`` / ``InferCell``
(and is the structure :mod:`nasarena.spaces.nb201_cost` counts analytically): a 3x3 conv + BN stem
with C channels; three stages of N cells at C, 2C, 4C channels separated by ResNet basic blocks
(ReLU-conv3x3/s2-BN, ReLU-conv3x3-BN, shortcut 2x2 avg-pool + 1x1 conv); then BN-ReLU, global
average pooling and a linear classifier. Cell ops: ``nor_conv_kxk`` = ReLU-Conv(no bias)-BN(affine),
``avg_pool_3x3`` (stride 1, pad 1, ``count_include_pad=False``), ``skip_connect`` = identity and
``none`` = multiply by 0 (it keeps shape and gradient flow exactly as in the original code).

Weights are initialised from an explicit ``torch.Generator`` (same distributions as PyTorch's
default ``reset_parameters``), so that a training run is reproducible without touching torch's
global random state.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import nn

from nasarena.errors import ConfigError
from nasarena.spaces.base import Arch
from nasarena.spaces.measure import count_parameters
from nasarena.spaces.nb201 import CONV1, CONV3, EDGES, NONE, POOL, SKIP


class ReLUConvBN(nn.Module):
    """ReLU -> Conv2d (no bias) -> BatchNorm2d(affine), NB201's conv op and reduction half-block."""

    def __init__(self, c_in: int, c_out: int, kernel: int, stride: int, padding: int) -> None:
        super().__init__()
        self.op = nn.Sequential(
            nn.ReLU(inplace=False),
            nn.Conv2d(c_in, c_out, kernel, stride=stride, padding=padding, bias=False),
            nn.BatchNorm2d(c_out, affine=True, track_running_stats=True),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Apply the op."""
        return self.op(x)


class Zero(nn.Module):
    """The ``none`` op: ``x * 0`` (keeps the shape; a node fed only by zeros outputs zeros)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Return zeros shaped like ``x``."""
        return x.mul(0.0)


class ResNetBasicBlock(nn.Module):
    """NB201's reduction block between stages: halves resolution and doubles channels."""

    def __init__(self, c_in: int, c_out: int) -> None:
        super().__init__()
        self.conv_a = ReLUConvBN(c_in, c_out, 3, 2, 1)
        self.conv_b = ReLUConvBN(c_out, c_out, 3, 1, 1)
        self.downsample = nn.Sequential(
            nn.AvgPool2d(kernel_size=2, stride=2, padding=0),
            nn.Conv2d(c_in, c_out, kernel_size=1, stride=1, padding=0, bias=False),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Residual sum of the two-conv branch and the pooled 1x1 shortcut."""
        return self.downsample(x) + self.conv_b(self.conv_a(x))


def make_op(op: int, c: int) -> nn.Module:
    """One cell edge's module for op index ``op`` (see :data:`nasarena.spaces.nb201.OPS`)."""
    if op == NONE:
        return Zero()
    if op == SKIP:
        return nn.Identity()
    if op == CONV1:
        return ReLUConvBN(c, c, 1, 1, 0)
    if op == CONV3:
        return ReLUConvBN(c, c, 3, 1, 1)
    if op == POOL:
        return nn.AvgPool2d(3, stride=1, padding=1, count_include_pad=False)
    raise ConfigError(f"nb201: op index must be in 0..4, got {op!r}")


class InferCell(nn.Module):
    """A NB201 cell: node j = sum over i < j of edge(j <- i)(node i); the output is node 3."""

    def __init__(self, arch: Arch, c: int) -> None:
        super().__init__()
        if len(arch) != len(EDGES):
            raise ConfigError(f"nb201: an architecture has {len(EDGES)} op indices, got {arch!r}")
        self.edges = nn.ModuleList(make_op(op, c) for op in arch)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Evaluate the DAG in topological order (edges are stored in the official order)."""
        nodes = [x]
        k = 0
        for dst in (1, 2, 3):
            total = self.edges[k](nodes[0])
            k += 1
            for src in range(1, dst):
                total = total + self.edges[k](nodes[src])
                k += 1
            nodes.append(total)
        return nodes[3]


def macro_skeleton(channels: int, cells: int, make_cell: Callable[[int], nn.Module]
                   ) -> tuple[nn.Module, list[nn.Module], int]:
    """NB201's stem and the three stages (``make_cell(c)`` per cell, reduction blocks between them);
    returns (stem, layers, channels of the last stage). Shared by the stand-alone network and the
    one-shot supernet (:mod:`nasarena.estimators.oneshot.supernet`), whose weights must line up."""
    c = channels
    stem = nn.Sequential(nn.Conv2d(3, c, kernel_size=3, padding=1, bias=False), nn.BatchNorm2d(c))
    layers: list[nn.Module] = []
    for stage in range(3):
        if stage > 0:
            layers.append(ResNetBasicBlock(c, 2 * c))
            c *= 2
        layers.extend(make_cell(c) for _ in range(cells))
    return stem, layers, c


class NB201Network(nn.Module):
    """The NB201 ``TinyNetwork``: stem, 3 stages of ``cells`` cells, reductions, head."""

    def __init__(self, arch: Arch, num_classes: int = 10, channels: int = 16, cells: int = 5) -> None:
        super().__init__()
        if num_classes < 1 or channels < 1 or cells < 0:
            raise ConfigError(f"nb201 network needs num_classes >= 1, channels >= 1 and cells >= 0; "
                              f"got {num_classes}, {channels}, {cells}")
        self.arch = tuple(int(a) for a in arch)
        self.stem, layers, c = macro_skeleton(channels, cells, lambda c: InferCell(self.arch, c))
        self.cells = nn.Sequential(*layers)
        self.lastact = nn.Sequential(nn.BatchNorm2d(c), nn.ReLU(inplace=True))
        self.global_pooling = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(c, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits for a batch of images (N, 3, H, W); H and W must be multiples of 4."""
        out = self.lastact(self.cells(self.stem(x)))
        return self.classifier(torch.flatten(self.global_pooling(out), 1))


def check_resolution(resolution: int) -> int:
    """Validate an input resolution: the two reductions need H divisible by 4.

    (A stride-2 3x3 conv rounds up and a 2x2 pool rounds down, so odd sizes cannot be added.)
    """
    if resolution < 4 or resolution % 4:
        raise ConfigError(f"nb201 input resolution must be a multiple of 4 and >= 4 (the two "
                          f"reductions halve it twice), got {resolution}")
    return resolution


@torch.no_grad()
def reset_parameters(model: nn.Module, generator: torch.Generator) -> nn.Module:
    """Re-initialise every conv/linear/BN like PyTorch's defaults, drawing from ``generator``.

    Why: module constructors draw from torch's *global* generator; re-drawing from an explicit
    generator makes a training reproducible from the caller's seed with no global side effects.
    """
    for m in model.modules():
        if isinstance(m, nn.Conv2d | nn.Linear):
            nn.init.kaiming_uniform_(m.weight, a=math.sqrt(5), generator=generator)
            if m.bias is not None:
                fan_in = m.weight[0].numel()
                bound = 1.0 / math.sqrt(fan_in) if fan_in > 0 else 0.0
                nn.init.uniform_(m.bias, -bound, bound, generator=generator)
        elif isinstance(m, nn.BatchNorm2d):
            m.reset_running_stats()
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)
    return model


def build_network(arch: Arch, num_classes: int = 10, channels: int = 16, cells: int = 5,
                  generator: torch.Generator | None = None) -> NB201Network:
    """Build the NB201 network for ``arch``; with ``generator``, initialise weights from it."""
    model = NB201Network(arch, num_classes=num_classes, channels=channels, cells=cells)
    if generator is not None:
        reset_parameters(model, generator)
    return model


__all__ = ["InferCell", "NB201Network", "ReLUConvBN", "ResNetBasicBlock", "Zero", "build_network",
           "check_resolution", "count_parameters", "macro_skeleton", "make_op", "reset_parameters"]
