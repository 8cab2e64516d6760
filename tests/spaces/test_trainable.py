"""Trainable spaces: size knobs, builders and cost models agree (NB201, NATS-size, macro)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from nasarena.errors import ConfigError
from nasarena.registry import make_space
from nasarena.spaces.measure import count_parameters, measured_macs
from nasarena.spaces.nats_sss import CELL
from nasarena.spaces.nb201_torch import build_network as build_nb201
from nasarena.spaces.trainable import TrainableSpace, require_trainable, resolve_size

LIVE = ("nb201", "nats-sss", "chain", "residual", "dense")


@pytest.mark.parametrize("name", LIVE)
def test_builder_and_cost_model_agree(name: str) -> None:
    space = require_trainable(make_space(name))
    rng = np.random.default_rng(2)
    # NB201's full size is checked in test_nb201_torch
    sizes = {"nb201": ({"channels": 8, "cells": 2}, {"channels": 4, "cells": 1}),
             "nats-sss": ({}, {}), "chain": ({}, {"width_mult": 0.25, "depth_limit": 3})}
    full, smaller = sizes.get(name, ({}, {"width_mult": 0.5}))
    for arch in [space.sample(rng) for _ in range(3)]:
        for size, resolution, classes in ((full, 16, 10), (smaller, 8, 7)):
            knobs = resolve_size(space, size)
            model = space.build_model(arch, classes, resolution, knobs, torch.Generator().manual_seed(0))
            params, flops = space.model_cost(arch, classes, resolution, knobs)
            assert count_parameters(model) == round(params * 1e6), (name, arch, size)
            assert measured_macs(model, resolution) == round(flops * 1e6), (name, arch, size)
            assert model(torch.zeros(2, 3, resolution, resolution)).shape == (2, classes)


def test_nats_widest_uniform_network_is_the_nb201_network_with_one_cell() -> None:
    """Same modules in the same order: from one generator, the same function."""
    nats, nb201 = make_space("nats-sss"), make_space("nb201")
    arch = nats.from_string("16:32:32:64:64")
    a = nats.build_model(arch, 10, 16, {}, torch.Generator().manual_seed(4)).eval()
    b = build_nb201(nb201.from_string(CELL), 10, channels=16, cells=1,
                    generator=torch.Generator().manual_seed(4)).eval()
    x = torch.randn(2, 3, 16, 16, generator=torch.Generator().manual_seed(0))
    assert count_parameters(a) == count_parameters(b)
    torch.testing.assert_close(a(x), b(x))


def test_size_knobs_are_declared_by_the_space_and_checked() -> None:
    assert resolve_size(make_space("nb201"), {"channels": 8}) == {"channels": 8, "cells": 5}
    assert resolve_size(make_space("dense"), {"width_mult": 1}) == {"width_mult": 1.0, "depth_limit": None}
    assert resolve_size(make_space("nats-sss"), {}) == {}
    with pytest.raises(ConfigError, match="no size knob channels; its knobs: width_mult"):
        resolve_size(make_space("chain"), {"channels": 8})
    with pytest.raises(ConfigError, match="cells must be int >= 0"):
        resolve_size(make_space("nb201"), {"cells": -1})
    with pytest.raises(ConfigError, match="width_mult must be float"):
        resolve_size(make_space("residual"), {"width_mult": "wide"})


def test_only_spaces_with_a_builder_are_trainable() -> None:
    assert all(isinstance(make_space(n), TrainableSpace) for n in LIVE)
    with pytest.raises(ConfigError, match="cannot be trained live"):
        require_trainable(make_space("nbgraph"))


def test_live_variant_keeps_nb201_keys_and_tells_macro_networks_apart() -> None:
    assert make_space("nb201").live_variant() == make_space("nats-sss").live_variant() == ""
    macro = ("chain", "residual", "dense")
    assert [make_space(n).live_variant() for n in macro] == list(macro)
    other = make_space("chain", stem_width=8).live_variant()
    assert other.startswith("chain-") and other != make_space("chain", widths=(8, 16)).live_variant()
