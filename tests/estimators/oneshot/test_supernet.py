"""The NB201 supernet: restricted to one architecture it is the stand-alone network (same weights)."""

from __future__ import annotations

import pytest
import torch

from nasarena.estimators.oneshot.supernet import Fixed, Hard, Joint, build_supernet, gumbel_hard
from nasarena.spaces.nb201 import NB201Space

ARCHS = [(3, 1, 0, 2, 4, 3), (0, 0, 0, 0, 0, 0), (1, 1, 1, 1, 1, 1), (4, 0, 2, 0, 0, 3)]


def _x(n: int = 6, r: int = 8, seed: int = 2) -> torch.Tensor:
    return torch.randn(n, 3, r, r, generator=torch.Generator().manual_seed(seed))


@pytest.mark.parametrize("arch", ARCHS)
def test_fixed_forward_is_the_standalone_network_in_train_mode(arch: tuple[int, ...]) -> None:
    """Authors' BN setting (no affine, no running stats): batch statistics on both sides."""
    net = build_supernet(10, 4, 2, generator=torch.Generator().manual_seed(1))
    alone = net.extract(arch)
    assert alone.arch == arch
    net.train()
    alone.train()
    x = _x()
    assert torch.equal(net(x, Fixed(arch)), alone(x))


def test_fixed_forward_is_the_standalone_network_in_eval_mode_with_running_stats() -> None:
    """With affine BN and running statistics, after some training-mode forwards, eval mode agrees too."""
    arch = ARCHS[0]
    net = build_supernet(
        10, 4, 1, affine=True, track_running_stats=True, generator=torch.Generator().manual_seed(3)
    )
    with torch.no_grad():
        for m in net.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.weight.uniform_(0.5, 1.5, generator=torch.Generator().manual_seed(4))
        for s in range(3):
            net(_x(seed=10 + s), Fixed(arch))
    net.eval()
    alone = net.extract(arch).eval()
    x = _x()
    assert torch.equal(net(x, Fixed(arch)), alone(x))
    # another architecture's weights give another function (the extraction is not trivially equal)
    other = net.extract(ARCHS[3]).eval()
    assert not torch.allclose(other(x), alone(x))


def test_joint_with_one_hot_weights_is_the_fixed_architecture() -> None:
    arch = ARCHS[0]
    net = build_supernet(10, 4, 1, generator=torch.Generator().manual_seed(1)).train()
    w = torch.nn.functional.one_hot(torch.tensor(arch), 5).float()
    x = _x()
    assert torch.allclose(net(x, Joint(w)), net(x, Fixed(arch)), atol=1e-6)


def test_gumbel_sample_is_one_op_per_edge_with_relaxed_gradient() -> None:
    alphas = (1e-3 * torch.randn(6, 5, generator=torch.Generator().manual_seed(0))).requires_grad_(True)
    gen = torch.Generator().manual_seed(5)
    sample = gumbel_hard(alphas, 10.0, gen)
    assert isinstance(sample, Hard) and len(sample.index) == 6
    assert torch.equal(
        sample.weights.detach(), torch.nn.functional.one_hot(torch.tensor(sample.index), 5).float()
    )
    net = build_supernet(10, 4, 1, generator=torch.Generator().manual_seed(1)).train()
    x = _x()
    out = net(x, sample)
    assert torch.allclose(out, net(x, Fixed(sample.index)), atol=1e-6)  # value: exactly that architecture
    out.sum().backward()
    assert alphas.grad is not None and alphas.grad.abs().sum() > 0  # gradient reaches the logits
    # low tau: the sample follows the logits
    peaked = torch.full((6, 5), -5.0)
    peaked[:, 2] = 5.0
    assert gumbel_hard(peaked, 0.1, gen).index == (2,) * 6


def test_build_is_reproducible_and_leaves_global_rng_alone() -> None:
    state = torch.random.get_rng_state()
    a = build_supernet(10, 4, 1, generator=torch.Generator().manual_seed(7))
    b = build_supernet(10, 4, 1, generator=torch.Generator().manual_seed(7))
    assert torch.equal(torch.random.get_rng_state(), state)
    for (na, pa), (_, pb) in zip(a.state_dict().items(), b.state_dict().items(), strict=True):
        assert torch.equal(pa, pb), na


def test_extract_covers_every_standalone_tensor() -> None:
    """Every tensor of the stand-alone network comes from the supernet (none left at its init)."""
    space = NB201Space()
    arch = space.from_string(
        "|nor_conv_3x3~0|+|nor_conv_1x1~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|avg_pool_3x3~2|"
    )
    net = build_supernet(
        10, 4, 1, affine=True, track_running_stats=True, generator=torch.Generator().manual_seed(1)
    )
    with torch.no_grad():
        for p in net.parameters():
            p.add_(0.123)  # mark every supernet parameter
    alone = net.extract(arch)
    ours = net.state_dict()
    from nasarena.estimators.oneshot.supernet import _supernet_name

    for name, tensor in alone.state_dict().items():
        assert torch.equal(tensor, ours[_supernet_name(name, arch)]), name


def _search(method: str, **kw: float):
    from nasarena.estimators.live.data import load_synthetic
    from nasarena.estimators.live.device_data import DeviceData
    from nasarena.estimators.oneshot.search import SupernetSearch
    from nasarena.estimators.oneshot.settings import SearchSettings

    data = DeviceData(load_synthetic(48, 4, 4, resolution=8), 8, torch.device("cpu"))
    return SupernetSearch(data, SearchSettings(method, batch_size=8, **kw), 2, 4, 1, seed=0, score_images=8)


def test_second_order_gradient_is_first_order_at_zero_lr_and_differs_otherwise() -> None:
    s = _search("darts2")
    x, y = s._batch(s.w_idx[:8])
    xa, ya = s._batch(s.a_idx[:8])
    s.w_opt.param_groups[0]["lr"] = 0.0
    grad0, _ = s.second_order_gradient(x, y, xa, ya)
    loss = torch.nn.functional.cross_entropy(s.net(xa, Joint(torch.softmax(s.alphas, -1))), ya)
    first = torch.autograd.grad(loss, s.alphas)[0]
    assert torch.allclose(grad0, first, atol=1e-6)
    before = [p.detach().clone() for p in s.net.parameters()]
    s.w_opt.param_groups[0]["lr"] = 0.5
    grad1, _ = s.second_order_gradient(x, y, xa, ya)
    assert not torch.allclose(grad1, first, atol=1e-6)
    for p, q in zip(s.net.parameters(), before, strict=True):  # the weights are restored afterwards
        assert torch.allclose(p, q, atol=1e-6)


@pytest.mark.parametrize("method", ["darts", "darts2", "gdas", "rsps", "setn"])
def test_an_epoch_moves_what_the_method_trains(method: str) -> None:
    s = _search(method)
    a0 = s.alphas.detach().clone()
    w0 = s.net.classifier.weight.detach().clone()
    stats = s.train_epoch()
    assert stats["epoch"] == 1 and stats["w_loss"] > 0
    assert not torch.equal(s.net.classifier.weight, w0)
    moved = not torch.equal(s.alphas.detach(), a0)
    assert moved == (method != "rsps")  # RSPS has no architecture parameters to train
