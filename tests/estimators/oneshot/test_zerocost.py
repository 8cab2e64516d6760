"""Zero-cost proxies and the ``zero-cost`` oracle (tiny networks, one small batch)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from nasarena.errors import ConfigError
from nasarena.estimators.oneshot.proxies import fisher, grasp, jacob_cov, naswot, synflow
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


@pytest.mark.parametrize(
    "proxy", ["synflow", "snip", "grad_norm", "grasp", "fisher", "jacob_cov", "naswot", "params"]
)
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


def _tiny() -> tuple[torch.nn.Sequential, torch.Tensor, torch.Tensor]:
    """Conv -> ReLU -> Linear without BatchNorm, in float64: small enough for a full Hessian."""
    torch.manual_seed(5)
    net = torch.nn.Sequential(
        torch.nn.Conv2d(2, 3, 3), torch.nn.ReLU(), torch.nn.Flatten(), torch.nn.Linear(12, 4)
    ).double()
    x = torch.randn(5, 2, 4, 4, dtype=torch.float64)
    return net, x, torch.tensor([0, 1, 2, 3, 1])


def _forward(
    net: torch.nn.Sequential, x: torch.Tensor, w1: torch.Tensor, w2: torch.Tensor
) -> list[torch.Tensor]:
    a1 = torch.nn.functional.conv2d(x, w1, net[0].bias)
    a2 = torch.nn.functional.linear(a1.relu().flatten(1), w2, net[3].bias)
    return [a1, a2]


def test_grasp_is_minus_theta_times_hessian_gradient() -> None:
    net, x, y = _tiny()
    w1, w2 = net[0].weight.detach(), net[3].weight.detach()
    sizes = (w1.numel(), w2.numel())

    def loss(flat: torch.Tensor) -> torch.Tensor:
        a, b = flat.split(sizes)
        logits = _forward(net, x, a.view_as(w1), b.view_as(w2))[1]
        return torch.nn.functional.cross_entropy(logits, y)

    theta = torch.cat([w1.flatten(), w2.flatten()])
    g = torch.autograd.functional.jacobian(loss, theta)
    h = torch.autograd.functional.hessian(loss, theta)
    expected = float(-(theta * (h @ g)).sum())
    assert abs(expected) > 1e-6
    assert grasp(net, x, y) == pytest.approx(expected, rel=1e-9)


def test_fisher_sums_the_squared_activation_gradient_products_per_channel() -> None:
    net, x, y = _tiny()
    acts = _forward(net, x, net[0].weight.detach(), net[3].weight.detach())
    acts = [a.detach().requires_grad_(True) for a in acts]
    # the loss as a function of each layer's output in turn: d loss / d a_l
    logits = net[3](acts[0].relu().flatten(1))
    (ga1,) = torch.autograd.grad(torch.nn.functional.cross_entropy(logits, y), acts[0])
    (ga2,) = torch.autograd.grad(torch.nn.functional.cross_entropy(acts[1], y), acts[1])
    # per channel: a * grad summed over positions, then squared
    conv = 0.5 * ((acts[0].detach() * ga1).sum((2, 3)) ** 2).mean(0).sum()
    lin = 0.5 * ((acts[1].detach() * ga2) ** 2).mean(0).sum()
    assert fisher(net, x, y) == pytest.approx(float(conv + lin), rel=1e-9)
    # summing a * grad over positions before squaring is what makes it per channel, not per unit
    assert float(conv) != pytest.approx(float(0.5 * ((acts[0].detach() * ga1) ** 2).mean(0).sum()), rel=1e-3)


def test_jacob_cov_scores_the_correlation_of_per_image_jacobians() -> None:
    net, x, y = _tiny()
    jac = torch.stack(
        [torch.autograd.functional.jacobian(lambda i: net(i[None]).sum(), xi).flatten() for xi in x]
    )
    v = np.linalg.eigvalsh(np.corrcoef(jac.numpy())) + 1e-5
    assert jacob_cov(net, x, y) == pytest.approx(float(-(np.log(v) + 1 / v).sum()), rel=1e-9)
    # a linear network has the same Jacobian for every image: correlation all ones, eigenvalues n, 0, ...
    linear = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(32, 3)).double()
    k, n = 1e-5, x.shape[0]
    worst = -(math.log(n + k) + 1 / (n + k) + (n - 1) * (math.log(k) + 1 / k))
    assert jacob_cov(linear, x, y) == pytest.approx(worst, rel=1e-6)
    assert jacob_cov(net, x, y) > worst
