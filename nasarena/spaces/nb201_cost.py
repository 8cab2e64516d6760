"""Exact parameter and FLOP counts of the NAS-Bench-201 network, computed analytically.

The network (Dong & Yang, 2020): a 3x3 conv stem with C channels + BN; three stages of N cells at
C, 2C, 4C channels separated by ResNet basic blocks (stride 2: ReLU-conv3x3-BN, ReLU-conv3x3-BN,
and a 2x2 avg-pool + 1x1 conv shortcut); then BN-ReLU, global average pooling and a linear layer.
Cell ops: ``nor_conv_kxk`` is ReLU-Conv(kxk, no bias)-BN(affine); pooling, identity and zero have
no parameters. Params count every trainable tensor (BN affine included) in millions, as the
benchmark's ``model_size`` does. FLOPs are multiply-accumulates of convolutions, pooling windows and
the classifier (the NB201 authors' counting), in millions, for one image. No torch needed, so this
runs in microseconds per architecture and is usable by every oracle and strategy.
"""

from __future__ import annotations

from dataclasses import dataclass

from nasarena.errors import UnknownNameError, unknown
from nasarena.spaces.base import Arch
from nasarena.spaces.nb201 import CONV1, CONV3, POOL


@dataclass(frozen=True)
class NB201Dataset:
    """What the network needs to know about a dataset: classes and input resolution."""

    name: str
    num_classes: int
    resolution: int


DATASETS: dict[str, NB201Dataset] = {
    "cifar10-valid": NB201Dataset("cifar10-valid", 10, 32),
    "cifar10": NB201Dataset("cifar10", 10, 32),
    "cifar100": NB201Dataset("cifar100", 100, 32),
    "ImageNet16-120": NB201Dataset("ImageNet16-120", 120, 16),
}


def dataset_info(name: str) -> NB201Dataset:
    """Look up a dataset, with an error listing the valid names."""
    try:
        return DATASETS[name]
    except KeyError:
        raise unknown("dataset", name, DATASETS) from None


def _bn(c: int) -> int:
    return 2 * c


def _cell_params(arch: Arch, c: int) -> int:
    total = 0
    for op in arch:
        if op == CONV1:
            total += c * c + _bn(c)
        elif op == CONV3:
            total += 9 * c * c + _bn(c)
    return total


def _cell_flops(arch: Arch, c: int, hw: int) -> int:
    total = 0
    for op in arch:
        if op == CONV1:
            total += hw * hw * c * c
        elif op == CONV3:
            total += hw * hw * c * c * 9
        elif op == POOL:
            total += hw * hw * c * 9
    return total


def _reduction(c_in: int, c_out: int, hw_out: int) -> tuple[int, int]:
    params = 9 * c_in * c_out + _bn(c_out) + 9 * c_out * c_out + _bn(c_out) + c_in * c_out
    flops = hw_out * hw_out * (9 * c_in * c_out + 9 * c_out * c_out + c_in * c_out + 4 * c_in)
    return params, flops


def params_and_flops(arch: Arch, num_classes: int = 10, resolution: int = 32,
                     channels: int = 16, cells: int = 5) -> tuple[float, float]:
    """(params in millions, MFLOPs) of the NB201 network for ``arch``.

    ``channels`` (C) and ``cells`` (N per stage) default to the benchmark's C=16, N=5.
    """
    if num_classes < 1 or resolution < 4 or channels < 1 or cells < 0:
        raise ValueError("num_classes >= 1, resolution >= 4, channels >= 1 and cells >= 0 are required")
    c, hw = channels, resolution
    params = 27 * c + _bn(c)
    flops = hw * hw * 27 * c
    for stage in range(3):
        if stage > 0:
            hw_out = (hw + 1) // 2
            p, f = _reduction(c, 2 * c, hw_out)
            params, flops, c, hw = params + p, flops + f, 2 * c, hw_out
        params += cells * _cell_params(arch, c)
        flops += cells * _cell_flops(arch, c, hw)
    params += _bn(c) + c * num_classes + num_classes
    flops += c * num_classes
    return params / 1e6, flops / 1e6


def params_and_flops_for(arch: Arch, dataset: str, channels: int = 16, cells: int = 5) -> tuple[float, float]:
    """Like :func:`params_and_flops` with classes and resolution taken from a dataset name."""
    info = dataset_info(dataset)
    return params_and_flops(arch, info.num_classes, info.resolution, channels, cells)


__all__ = ["DATASETS", "NB201Dataset", "UnknownNameError", "dataset_info", "params_and_flops",
           "params_and_flops_for"]
