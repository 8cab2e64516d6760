"""Zero-cost proxies and the ``zero-cost`` oracle (tiny networks, one small batch)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from nasarena.errors import ConfigError
from nasarena.estimators.oneshot.proxies import naswot, synflow
from nasarena.estimators.oneshot.zerocost import ZeroCostOracle
from nasarena.spaces.nb201_cost import params_and_flops
from nasarena.spaces.nb201_torch import build_network

ALL_CONV3 = (3, 3, 3, 3, 3, 3)
EMPTY = (0, 0, 0, 0, 0, 0)


def _net(arch: tuple[int, ...]) -> torch.nn.Module:
    return build_network(arch, 10, 4, 1, generator=torch.Generator().manual_seed(0))


def test_synflow_is_data_free_and_zero_for_a_cell_of_nothing() -> None:
    x1 = torch.randn(4, 3, 8, 8, generator=torch.Generator().manual_seed(1))
    x2 = torch.randn(4, 3, 8, 8, generator=torch.Generator().manual_seed(2))
    y = torch.zeros(4, dtype=torch.long)
    net = _net(ALL_CONV3)
    assert synflow(net, x1, y) == synflow(net, x2, y) > 0
    # every cell outputs zero: no path from input to output through the cells, no synaptic flow
    assert synflow(_net(EMPTY), x1, y) == pytest.approx(0.0, abs=1e-12)
    assert synflow(_net(ALL_CONV3), x1, y) > 0


def test_naswot_is_the_log_determinant_of_the_relu_kernel() -> None:
    x = torch.randn(6, 3, 8, 8, generator=torch.Generator().manual_seed(3))
    y = torch.zeros(6, dtype=torch.long)
    score = naswot(_net(ALL_CONV3), x, y)
    assert math.isfinite(score)
    # identical images give identical codes: a rank-one kernel, log|det| = -inf
    same = x[:1].repeat(6, 1, 1, 1)
    assert naswot(_net(ALL_CONV3), same, y) == -math.inf


@pytest.mark.parametrize("proxy", ["synflow", "snip", "grad_norm", "naswot", "params"])
def test_oracle_scores_and_is_deterministic(proxy: str) -> None:
    o = ZeroCostOracle(proxy=proxy, channels=4, cells=1, batch_size=8, num_threads=1)
    a = o.evaluate(ALL_CONV3, None, np.random.default_rng(0))
    b = o.evaluate(ALL_CONV3, None, np.random.default_rng(0))
    assert a.ok and a.score == b.score and a.cost >= 0
    if proxy == "params":
        assert a.score == params_and_flops(ALL_CONV3, 10, 16, 4, 1)[0]
    assert o.final_metric(ALL_CONV3) == pytest.approx(o._table.final_metric(ALL_CONV3))


def test_unknown_proxy_is_one_clear_error() -> None:
    with pytest.raises(ConfigError, match="synflow"):
        ZeroCostOracle(proxy="synflaw")
