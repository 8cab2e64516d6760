"""The macro-space PyTorch builder agrees with the analytic counts and with the canonical form."""

from __future__ import annotations

import collections

import numpy as np
import pytest
import torch

from nasarena.errors import ConfigError
from nasarena.registry import make_space
from nasarena.spaces.macro.cost import params_and_flops, plan
from nasarena.spaces.macro.network import build_network
from nasarena.spaces.measure import count_parameters, measured_macs

NAMES = ("chain", "residual", "dense")


@pytest.mark.parametrize("name", NAMES)
def test_params_and_flops_equal_the_built_model(name: str) -> None:
    space = make_space(name)
    rng = np.random.default_rng(11)
    archs = [space.sample(rng) for _ in range(12)]
    archs.append(space.from_string("conv5x5:64:s2/sep5x5:64:s2/dil3x3:32:s1/maxpool3x3:s1/avgpool3x3:s1"))
    for arch in archs:
        for resolution, width_mult, depth_limit in ((32, 1.0, None), (16, 0.5, 2)):
            model = build_network(space, arch, 10, resolution, width_mult, depth_limit)
            params, flops = params_and_flops(space, arch, 10, resolution, width_mult, depth_limit)
            assert count_parameters(model) == round(params * 1e6), space.to_string(arch)
            assert measured_macs(model, resolution) == round(flops * 1e6), space.to_string(arch)


@pytest.mark.parametrize("name", NAMES)
def test_same_canonical_form_builds_the_same_function(name: str) -> None:
    space = make_space(name, max_layers=3, widths=(4, 8), max_reductions=1, stem_width=4)
    rng = np.random.default_rng(5)
    groups = collections.defaultdict(set)
    while sum(len(g) > 1 for g in groups.values()) < 6:
        arch = tuple(int(v) for v in rng.integers(0, space.cardinalities))
        if space.is_valid(arch):
            groups[space.canonical(arch)].add(arch)
    x = torch.randn(2, 3, 8, 8, generator=torch.Generator().manual_seed(0))
    for members in (sorted(g) for g in groups.values() if len(g) > 1):
        outs = [build_network(space, a, 5, 8, generator=torch.Generator().manual_seed(1)).eval()(x)
                for a in members[:3]]
        for out in outs[1:]:
            torch.testing.assert_close(out, outs[0])


def test_width_multiplier_and_depth_limit_shrink_the_network() -> None:
    space = make_space("dense")
    arch = space.from_string("conv3x3:32:s1/conv3x3:64:s2+0/sep3x3:32:s1+0+1/identity+0")
    full = plan(space, arch, 10, 32)
    assert [p.c_in for p in full.layers] == [16, 32 + 16, 64 + 16 + 32, 32 + 16]  # prev + extras
    half = plan(space, arch, 10, 32, width_mult=0.5, depth_limit=2)
    assert len(half.layers) == 2 and half.stem == 8 and half.c_final == 32
    assert params_and_flops(space, arch, 10, 32, 0.5, 2)[0] < params_and_flops(space, arch, 10, 32)[0]


def test_resolution_must_survive_every_reduction() -> None:
    space = make_space("chain")
    arch = space.from_string("conv3x3:16:s1")
    with pytest.raises(ConfigError, match="multiple of 4"):
        build_network(space, arch, 10, 18)
    with pytest.raises(ConfigError, match="width_mult"):
        params_and_flops(space, arch, 10, 32, width_mult=0)


def test_seeded_initialisation_does_not_depend_on_the_global_seed() -> None:
    space = make_space("residual")
    arch = space.sample(np.random.default_rng(0))
    before = torch.get_rng_state()
    a = build_network(space, arch, 10, 16, generator=torch.Generator().manual_seed(3))
    torch.manual_seed(123)
    b = build_network(space, arch, 10, 16, generator=torch.Generator().manual_seed(3))
    for pa, pb in zip(a.state_dict().values(), b.state_dict().values(), strict=True):
        torch.testing.assert_close(pa, pb)
    torch.set_rng_state(before)
