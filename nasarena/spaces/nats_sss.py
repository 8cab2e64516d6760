"""The NATS-Bench size search space ("sss", Dong et al., 2021).

The network is NAS-Bench-201's macro skeleton with one cell per stage and the cell fixed to the NB201
topology with the highest CIFAR-100 validation accuracy (NATS-Bench's choice, :data:`CELL`; the
authors' ``DynamicShapeTinyNet``); what varies is the width of its 5 layers (cell, residual block,
cell, residual block, cell), each one of 8 channel counts {8, 16, ..., 64}: 8**5 = 32,768 configurations. An
architecture is a tuple of 5 indices into :data:`CHANNELS`; the official string joins the widths
with colons, e.g. ``"64:32:8:16:48"``. Its mixed-radix index (first layer most significant) is the
order in which the NATS-Bench authors enumerate the space (``itertools.product``), but nasarena
never relies on that: the official cache stores each architecture's string with its index.

Params and FLOPs are computed analytically with exactly the counting rules of
:mod:`nasarena.spaces.nb201_cost` (so ``16:32:32:64:64`` equals the NB201 network with one cell per
stage and that cell), which lets strategies and the harness use model size without a table.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any

from nasarena.errors import InvalidArchitectureError
from nasarena.spaces.base import Arch, Decision, SearchSpace
from nasarena.spaces.nb201_cost import dataset_info

CHANNELS: tuple[int, ...] = (8, 16, 24, 32, 40, 48, 56, 64)
N_LAYERS = 5
#: The fixed cell of the size space (NB201's best on CIFAR-100 validation, as NATS-Bench fixes it).
CELL = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|"
_INDEX = {c: i for i, c in enumerate(CHANNELS)}


class NATSSizeSpace(SearchSpace):
    """NATS-Bench size space: 5 layers x 8 widths; strings like ``"64:32:8:16:48"``."""

    name = "nats-sss"
    decisions = tuple(Decision(f"layer{i}", tuple(str(c) for c in CHANNELS)) for i in range(N_LAYERS))

    @property
    def size(self) -> int:
        """32,768 (every combination is valid)."""
        return len(CHANNELS) ** N_LAYERS

    def to_string(self, arch: Arch) -> str:
        """Official string: the 5 widths joined by ``:``."""
        a = self.validate(arch)
        return ":".join(str(CHANNELS[i]) for i in a)

    def from_string(self, text: str) -> Arch:
        """Parse ``"w0:w1:w2:w3:w4"``; errors name the bad width and the valid ones."""
        return _parse(text)

    def channels(self, arch: Arch) -> tuple[int, ...]:
        """The 5 layer widths of ``arch``."""
        return tuple(CHANNELS[i] for i in self.validate(arch))

    def params_and_flops(self, arch: Arch, dataset: str = "cifar10") -> tuple[float, float]:
        """(params in millions, MFLOPs) on ``dataset`` (classes and resolution from its name)."""
        info = dataset_info(dataset)
        return params_and_flops(self.channels(arch), info.num_classes, info.resolution)

    # ---- live training (nasarena.spaces.trainable) -------------------------------------------
    #: No size knobs: the architecture is the widths (epochs, data fraction, resolution still apply).
    size_knobs: tuple = ()

    def build_model(self, arch: Arch, num_classes: int, resolution: int, size: Mapping[str, Any],
                    generator: Any = None) -> Any:
        """The size-space network (:mod:`nasarena.spaces.nats_torch`)."""
        from nasarena.spaces.nats_torch import build_network

        self.check_resolution(resolution)
        return build_network(self.channels(arch), num_classes, generator=generator)

    def model_cost(self, arch: Arch, num_classes: int, resolution: int,
                   size: Mapping[str, Any]) -> tuple[float, float]:
        """(params in millions, MFLOPs) from :func:`params_and_flops`."""
        return params_and_flops(self.channels(arch), num_classes, resolution)

    def check_resolution(self, resolution: int) -> int:
        """The two residual blocks halve the input twice: a multiple of 4."""
        from nasarena.spaces.nb201_torch import check_resolution

        return check_resolution(resolution)

    def live_variant(self) -> str:
        """"" (strings like ``64:32:8:16:48`` name one network)."""
        return ""


@functools.lru_cache(maxsize=4096)
def _parse(text: str) -> Arch:
    if not isinstance(text, str):
        raise InvalidArchitectureError(f"nats-sss: expected a string like '64:32:8:16:48', got {text!r}")
    parts = text.strip().split(":")
    if len(parts) != N_LAYERS:
        raise InvalidArchitectureError(
            f"nats-sss: {text!r} has {len(parts)} widths, expected {N_LAYERS} separated by ':'")
    out = []
    for p in parts:
        if not p.isdigit() or int(p) not in _INDEX:
            raise InvalidArchitectureError(
                f"nats-sss: width {p!r} in {text!r} is not one of {', '.join(map(str, CHANNELS))}")
        out.append(_INDEX[int(p)])
    return tuple(out)


def _conv_bn(c_in: int, c_out: int, k: int, hw: int) -> tuple[int, int]:
    """ReLU-Conv(kxk, no bias)-BN(affine): (params, MACs) at output resolution ``hw``."""
    return k * k * c_in * c_out + 2 * c_out, hw * hw * k * k * c_in * c_out


def _cell(c_in: int, c_out: int, hw: int) -> tuple[int, int]:
    """The fixed cell; edges from the cell input map c_in -> c_out (NB201's InferCell)."""
    p = f = 0
    for a, b in ((c_in, c_out), (c_in, c_out), (c_out, c_out), (c_out, c_out), (c_out, c_out)):
        dp, df = _conv_bn(a, b, 3, hw)  # the five nor_conv_3x3 edges
        p, f = p + dp, f + df
    if c_in != c_out:  # skip_connect~0 becomes a FactorizedReduce (1x1 conv + BN) when widths differ
        dp, df = _conv_bn(c_in, c_out, 1, hw)
        p, f = p + dp, f + df
    return p, f


def _residual(c_in: int, c_out: int, hw_out: int) -> tuple[int, int]:
    """ResNet basic block with stride 2 and an avg-pool + 1x1 conv shortcut (as ``nb201_cost``)."""
    pa, fa = _conv_bn(c_in, c_out, 3, hw_out)
    pb, fb = _conv_bn(c_out, c_out, 3, hw_out)
    return pa + pb + c_in * c_out, fa + fb + hw_out * hw_out * (c_in * c_out + 4 * c_in)


def params_and_flops(channels: tuple[int, ...], num_classes: int = 10,
                     resolution: int = 32) -> tuple[float, float]:
    """(params in millions, MFLOPs) of the size-space network with layer widths ``channels``.

    Counting follows :mod:`nasarena.spaces.nb201_cost` (trainable tensors incl. BN affine; MACs of
    convolutions, pooling windows and the classifier, for one image).
    """
    if len(channels) != N_LAYERS:
        raise InvalidArchitectureError(f"nats-sss: expected {N_LAYERS} widths, got {channels!r}")
    hw = resolution
    params = 27 * channels[0] + 2 * channels[0]
    flops = hw * hw * 27 * channels[0]
    c_prev = channels[0]
    for layer, c in enumerate(channels):
        if layer % 2 == 1:  # layers 1 and 3 are the stride-2 residual blocks
            hw = (hw + 1) // 2
            p, f = _residual(c_prev, c, hw)
        else:
            p, f = _cell(c_prev, c, hw)
        params, flops, c_prev = params + p, flops + f, c
    params += 2 * c_prev + c_prev * num_classes + num_classes
    flops += c_prev * num_classes
    return params / 1e6, flops / 1e6


__all__ = ["CELL", "CHANNELS", "N_LAYERS", "NATSSizeSpace", "params_and_flops"]
