"""The NATS-Bench size space: strings, indices, and analytic params/FLOPs checked against torch."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch
from torch import nn

from nasarena.errors import InvalidArchitectureError
from nasarena.registry import make_space
from nasarena.spaces.nats_sss import CELL, CHANNELS, NATSSizeSpace, params_and_flops
from nasarena.spaces.nb201 import NB201Space
from nasarena.spaces.nb201_cost import params_and_flops as nb201_params_and_flops


def test_size_strings_and_official_enumeration_order() -> None:
    space = make_space("nats-sss")
    assert isinstance(space, NATSSizeSpace) and space.size == 32_768 == 8 ** 5
    official = [":".join(map(str, c)) for c in itertools.product(CHANNELS, repeat=5)]  # NATS-Bench's order
    for i in (0, 1, 8, 4095, 20_000, 32_767):
        arch = space.from_index(i)
        assert space.to_string(arch) == official[i]
        assert space.from_string(official[i]) == arch and space.index(arch) == i
    assert space.channels((7, 3, 0, 1, 5)) == (64, 32, 8, 16, 48)
    assert space.to_string((7, 3, 0, 1, 5)) == "64:32:8:16:48"


@pytest.mark.parametrize("bad", ["64:32:8:16", "64:32:8:16:47", "64:32:8:16:x", "", "64:32:8:16:48:8"])
def test_bad_strings_name_the_problem(bad: str) -> None:
    with pytest.raises(InvalidArchitectureError, match="nats-sss"):
        NATSSizeSpace().from_string(bad)


def test_sampling_and_mutation_stay_in_space(rng: np.random.Generator) -> None:
    space = NATSSizeSpace()
    arch = space.sample(rng)
    assert space.validate(arch) == arch
    assert len(space.neighbours(arch)) == 5 * 7
    child = space.mutate(arch, rng)
    assert sum(a != b for a, b in zip(arch, child, strict=True)) == 1


def test_widest_uniform_network_equals_nb201_with_one_cell_per_stage() -> None:
    """16:32:32:64:64 is the NB201 network (C=16) with N=1 and the fixed cell: same counting rules."""
    best = NB201Space().from_string(CELL)
    for classes, res in ((10, 32), (100, 32), (120, 16)):
        assert params_and_flops((16, 32, 32, 64, 64), classes, res) == \
            pytest.approx(nb201_params_and_flops(best, classes, res, channels=16, cells=1), rel=0, abs=1e-12)


class _ReLUConvBN(nn.Sequential):
    def __init__(self, c_in: int, c_out: int, k: int, stride: int = 1) -> None:
        conv = nn.Conv2d(c_in, c_out, k, stride, k // 2, bias=False)
        super().__init__(nn.ReLU(), conv, nn.BatchNorm2d(c_out))


class _Cell(nn.Module):
    """NB201's InferCell for the fixed best cell (edges from the input map c_in -> c_out)."""

    def __init__(self, c_in: int, c_out: int) -> None:
        super().__init__()
        self.e10, self.e20 = _ReLUConvBN(c_in, c_out, 3), _ReLUConvBN(c_in, c_out, 3)
        self.e21, self.e31, self.e32 = (_ReLUConvBN(c_out, c_out, 3) for _ in range(3))
        self.e30 = nn.Identity() if c_in == c_out else nn.Sequential(  # FactorizedReduce, stride 1
            nn.ReLU(), nn.Conv2d(c_in, c_out, 1, bias=False), nn.BatchNorm2d(c_out))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n1 = self.e10(x)
        n2 = self.e20(x) + self.e21(n1)
        return self.e30(x) + self.e31(n1) + self.e32(n2)


class _Residual(nn.Module):
    def __init__(self, c_in: int, c_out: int) -> None:
        super().__init__()
        self.a, self.b = _ReLUConvBN(c_in, c_out, 3, 2), _ReLUConvBN(c_out, c_out, 3)
        self.down = nn.Sequential(nn.AvgPool2d(2, 2), nn.Conv2d(c_in, c_out, 1, bias=False))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.b(self.a(x)) + self.down(x)


def _network(widths: tuple[int, ...], classes: int) -> nn.Module:
    layers: list[nn.Module] = [nn.Conv2d(3, widths[0], 3, padding=1, bias=False), nn.BatchNorm2d(widths[0])]
    prev = widths[0]
    for i, c in enumerate(widths):
        layers.append(_Residual(prev, c) if i % 2 else _Cell(prev, c))
        prev = c
    layers += [nn.BatchNorm2d(prev), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
               nn.Linear(prev, classes)]
    return nn.Sequential(*layers)


@pytest.mark.parametrize(("widths", "classes", "res"), [((8, 64, 24, 40, 16), 10, 32),
                                                       ((64, 8, 8, 56, 48), 120, 16)])
def test_params_and_flops_match_a_torch_build(widths: tuple[int, ...], classes: int, res: int) -> None:
    """Params: every trainable tensor. FLOPs: MACs of each conv/linear/avg-pool measured on real outputs."""
    net = _network(widths, classes)
    params, flops = params_and_flops(widths, classes, res)
    assert params * 1e6 == pytest.approx(sum(p.numel() for p in net.parameters()), abs=0.5)
    macs = []

    def count(module: nn.Module, inputs: tuple[torch.Tensor, ...], out: torch.Tensor) -> None:
        if isinstance(module, nn.Conv2d):
            macs.append(out.numel() * module.in_channels * module.kernel_size[0] * module.kernel_size[1])
        elif isinstance(module, nn.Linear):
            macs.append(module.in_features * module.out_features)
        elif isinstance(module, nn.AvgPool2d):
            macs.append(out.numel() * module.kernel_size * module.kernel_size)

    for m in net.modules():
        m.register_forward_hook(count)
    with torch.no_grad():
        net(torch.zeros(1, 3, res, res))
    assert flops * 1e6 == pytest.approx(sum(macs), abs=0.5)
