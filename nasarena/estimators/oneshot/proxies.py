"""Zero-cost proxies: scores of an untrained network from one batch (or none), no training.

After Abdelfattah et al. (ICLR 2021, "Zero-Cost Proxies for Lightweight NAS") and Mellor et al.
(ICML 2021, "Neural Architecture Search without Training"). Each takes an initialised network and
returns one float, higher meaning "predicted better":

* ``synflow``: sum over conv/linear weights of theta * dR/dtheta, where R is the summed output for an
  all-ones input with every parameter replaced by its absolute value (in float64, BatchNorm in eval
  mode with fresh statistics); needs no data;
* ``snip``: sum of |theta * dL/dtheta| (cross-entropy on one labelled batch);
* ``grad_norm``: sum over conv/linear weights of the L2 norm of dL/dtheta;
* ``naswot``: log|det K| with K[i, j] the number of ReLUs on which images i and j agree (both active
  or both inactive), over one batch (Mellor et al.'s binary-code kernel);
* ``params`` and ``flops`` are the baselines every proxy must beat (counted analytically elsewhere).

Not implemented: ``grasp``, ``fisher``, ``jacob_cov``.
"""

from __future__ import annotations

import copy
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

from nasarena.errors import ConfigError

PROXIES = ("synflow", "snip", "grad_norm", "naswot")


def _weights(net: nn.Module) -> list[torch.Tensor]:
    return [m.weight for m in net.modules() if isinstance(m, nn.Conv2d | nn.Linear)]


def synflow(net: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    """Synaptic flow of ``net`` (data-free: only ``x``'s shape is used)."""
    net = copy.deepcopy(net).double().eval()
    with torch.no_grad():
        for p in net.parameters():
            p.abs_()
    ones = torch.ones((1, *x.shape[1:]), dtype=torch.float64, device=x.device)
    net.zero_grad(set_to_none=True)
    net(ones).sum().backward()
    with torch.no_grad():
        return float(sum((w * w.grad).sum() for w in _weights(net) if w.grad is not None))


def _loss_grads(net: nn.Module, x: torch.Tensor, y: torch.Tensor) -> list[tuple[torch.Tensor, torch.Tensor]]:
    net.train()
    net.zero_grad(set_to_none=True)
    F.cross_entropy(net(x), y).backward()
    return [(w, w.grad) for w in _weights(net) if w.grad is not None]


def snip(net: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    """Connection sensitivity: sum of |theta * dL/dtheta| over conv/linear weights."""
    pairs = _loss_grads(net, x, y)
    with torch.no_grad():
        return float(sum((w * g).abs().sum() for w, g in pairs))


def grad_norm(net: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    """Sum of the gradient norms of the conv/linear weights."""
    pairs = _loss_grads(net, x, y)
    with torch.no_grad():
        return float(sum(g.norm() for _, g in pairs))


@torch.no_grad()
def naswot(net: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    """Mellor et al.'s score: log|det K| of the batch's ReLU agreement kernel."""
    n = x.shape[0]
    kernel = torch.zeros(n, n, dtype=torch.float64, device=x.device)

    def hook(_m: nn.Module, _inp: object, out: torch.Tensor) -> None:
        codes = (out.reshape(n, -1) > 0).double()
        kernel.add_(codes @ codes.T + (1 - codes) @ (1 - codes).T)

    handles = [m.register_forward_hook(hook) for m in net.modules() if isinstance(m, nn.ReLU)]
    try:
        net.train()
        net(x)
    finally:
        for h in handles:
            h.remove()
    sign, logdet = torch.linalg.slogdet(kernel)
    return float(logdet) if sign > 0 else float("-inf")


FUNCTIONS: dict[str, Callable[[nn.Module, torch.Tensor, torch.Tensor], float]] = {
    "synflow": synflow,
    "snip": snip,
    "grad_norm": grad_norm,
    "naswot": naswot,
}


def proxy(name: str) -> Callable[[nn.Module, torch.Tensor, torch.Tensor], float]:
    """The proxy function called ``name``, or a ConfigError naming the ones there are."""
    try:
        return FUNCTIONS[name]
    except KeyError:
        raise ConfigError(
            f"unknown zero-cost proxy {name!r}; known: {', '.join(PROXIES)}, and the baselines params, flops"
        ) from None


__all__ = ["FUNCTIONS", "PROXIES", "grad_norm", "naswot", "proxy", "snip", "synflow"]
