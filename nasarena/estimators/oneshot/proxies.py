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
* ``grasp``: -sum of theta * (H g) over conv/linear weights, g = dL/dtheta and H the Hessian of L
  (Wang et al.'s gradient-signal preservation, as the Abdelfattah et al. code computes it);
* ``fisher``: sum over conv/linear layer outputs a of 0.5 * mean over the batch of
  (sum over positions of a * dL/da)^2, per channel (Theis et al.'s Fisher pruning signal);
* ``jacob_cov``: -sum(log(v + k) + 1 / (v + k)), k = 1e-5, over the eigenvalues v of the correlation
  matrix of the per-image input Jacobians d(sum of outputs)/dx (Mellor et al.'s first version);
* ``params`` and ``flops`` are the baselines every proxy must beat (counted analytically elsewhere).

Like the paper's code, the data-dependent proxies run the network in training mode (BatchNorm on batch
statistics) with the cross-entropy averaged over the batch.
"""

from __future__ import annotations

import copy
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

from nasarena.errors import ConfigError

PROXIES = ("synflow", "snip", "grad_norm", "grasp", "fisher", "jacob_cov", "naswot")


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


def grasp(net: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    """GraSP: -sum of theta * (H g), a Hessian-gradient product by double backpropagation."""
    net.train()
    weights = _weights(net)
    g = [t.detach() for t in torch.autograd.grad(F.cross_entropy(net(x), y), weights, allow_unused=True)]
    pairs = [(w, gi) for w, gi in zip(weights, g, strict=True) if gi is not None]
    grads = torch.autograd.grad(F.cross_entropy(net(x), y), [w for w, _ in pairs], create_graph=True)
    hg = torch.autograd.grad(
        sum((gf * gi).sum() for gf, (_, gi) in zip(grads, pairs, strict=True)),
        [w for w, _ in pairs],
        allow_unused=True,
    )
    with torch.no_grad():
        return float(-sum((w * h).sum() for (w, _), h in zip(pairs, hg, strict=True) if h is not None))


def fisher(net: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    """Fisher information of each conv/linear output channel, summed (activation times its gradient)."""
    terms: list[torch.Tensor] = []

    def hook(_m: nn.Module, _inp: object, out: torch.Tensor) -> None:
        if out.requires_grad:
            act = out.detach().clone()  # a later in-place op must not change the saved activation

            def on_grad(grad: torch.Tensor) -> None:
                per_channel = (act * grad).sum(tuple(range(2, act.dim()))) if act.dim() > 2 else act * grad
                terms.append(0.5 * per_channel.pow(2).mean(0).sum())

            out.register_hook(on_grad)

    handles = [m.register_forward_hook(hook) for m in net.modules() if isinstance(m, nn.Conv2d | nn.Linear)]
    try:
        net.train()
        net.zero_grad(set_to_none=True)
        F.cross_entropy(net(x), y).backward()
    finally:
        for h in handles:
            h.remove()
    return float(sum(terms))


def jacob_cov(net: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    """Mellor et al. (v1): how uncorrelated the images' input Jacobians are; nan if one is constant."""
    net.train()
    x = x.detach().clone().requires_grad_(True)
    (jac,) = torch.autograd.grad(net(x).sum(), x)
    corr = torch.corrcoef(jac.reshape(x.shape[0], -1).double())
    if not bool(torch.isfinite(corr).all()):
        return float("nan")
    v = torch.linalg.eigvalsh(corr) + 1e-5
    return float(-(v.log() + 1 / v).sum())


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


def synflow_heads(features: nn.Module, heads: list[nn.Linear], shape: tuple[int, ...]) -> list[float]:
    """``synflow`` of ``features`` followed by each linear head in ``heads``, from one forward pass.

    Why: the benchmark scores every NB201 network with the 10-, 100- and 120-class heads; this gives
    the numbers of :func:`synflow` on each full network (float64, eval-mode BatchNorm with fresh
    statistics, |theta|, an all-ones input of ``shape``; equal up to float64 rounding, tested) for less
    than the cost of one. With every parameter and the input non-negative, each ReLU is the identity and
    the network is multilinear, so the score sum_w w * dR/dw splits into the head's part v . h and the
    body's part v . t, with h the pooled features, v the column sums of the head's |W| and t the
    derivative of h along the body's own conv weights. The pair (h, t) travels as a batch of two: every
    op but a conv is linear and acts on each image alone (BatchNorm in eval mode with zero mean and
    shift, pooling, identity, zero), and a conv maps (p, t) to (conv(p), conv(p + t)).
    """
    body = copy.deepcopy(features).double().eval()
    with torch.no_grad():
        for p in body.parameters():
            p.abs_()
    for m in body.modules():
        shifted = isinstance(m, nn.BatchNorm2d) and (bool(m.running_mean.any()) or bool(m.bias.any()))
        if shifted or isinstance(m, nn.Linear) or (isinstance(m, nn.Conv2d) and m.bias is not None):
            raise ValueError("synflow_heads needs bias-free convs, no linear layer before the heads and "
                             "freshly initialised BatchNorm (zero running mean and shift)")

    def tangent_step(_m: nn.Module, inp: tuple[torch.Tensor, ...]) -> tuple[torch.Tensor]:
        (x,) = inp
        return (torch.cat([x[:1], x[:1] + x[1:]]),)

    hooks = [m.register_forward_pre_hook(tangent_step) for m in body.modules() if isinstance(m, nn.Conv2d)]
    pair = torch.zeros((2, *shape), dtype=torch.float64)
    pair[0] = 1.0
    try:
        with torch.no_grad():
            h, t = body(pair)
    finally:
        for hook in hooks:
            hook.remove()
    return [float((head.weight.detach().double().abs().sum(0) * (h + t)).sum()) for head in heads]


def data_proxies(net: nn.Module, x: torch.Tensor, y: torch.Tensor) -> dict[str, float]:
    """``snip``, ``grad_norm``, ``grasp``, ``fisher``, ``jacob_cov`` and ``naswot`` from one forward pass.

    Why: each function above runs its own forward (grasp two) on the same network and batch; this
    shares one training-mode forward, takes the input Jacobian, the loss gradients (with graph, for
    GraSP's Hessian-gradient product) and the conv/linear output gradients from it, and returns the same
    values as the separate functions up to floating-point summation order (tested). ``net`` must be
    freshly initialised (like for the separate functions); its BatchNorm running statistics change.
    """
    net.train()
    n = x.shape[0]
    weights = _weights(net)
    acts: list[torch.Tensor] = []
    kernel = torch.zeros(n, n, dtype=torch.float64, device=x.device)

    def on_layer(_m: nn.Module, _inp: object, out: torch.Tensor) -> None:
        acts.append(out)

    def on_relu(_m: nn.Module, _inp: object, out: torch.Tensor) -> None:
        codes = (out.detach().reshape(n, -1) > 0).double()
        kernel.add_(codes @ codes.T + (1 - codes) @ (1 - codes).T)

    handles = []
    for m in net.modules():
        if isinstance(m, nn.Conv2d | nn.Linear):
            handles.append(m.register_forward_hook(on_layer))
        elif isinstance(m, nn.ReLU):
            handles.append(m.register_forward_hook(on_relu))
    x = x.detach().clone().requires_grad_(True)
    try:
        logits = net(x)
    finally:
        for hd in handles:
            hd.remove()
    scores: dict[str, float] = {}
    sign, logdet = torch.linalg.slogdet(kernel)
    scores["naswot"] = float(logdet) if sign > 0 else float("-inf")
    (jac,) = torch.autograd.grad(logits.sum(), x, retain_graph=True)
    corr = torch.corrcoef(jac.reshape(n, -1).double())
    if bool(torch.isfinite(corr).all()):
        v = torch.linalg.eigvalsh(corr) + 1e-5
        scores["jacob_cov"] = float(-(v.log() + 1 / v).sum())
    else:
        scores["jacob_cov"] = float("nan")
    loss = F.cross_entropy(logits, y)
    grads = torch.autograd.grad(loss, weights + acts, create_graph=True, allow_unused=True)
    pairs = [(w, g) for w, g in zip(weights, grads[: len(weights)], strict=True) if g is not None]
    with torch.no_grad():
        scores["snip"] = float(sum((w * g).abs().sum() for w, g in pairs))
        scores["grad_norm"] = float(sum(g.norm() for _, g in pairs))
        fisher_terms = []
        for a, g in zip(acts, grads[len(weights):], strict=True):
            if g is None:
                continue
            per_channel = (a * g).sum(tuple(range(2, a.dim()))) if a.dim() > 2 else a * g
            fisher_terms.append(0.5 * per_channel.pow(2).mean(0).sum())
        scores["fisher"] = float(sum(fisher_terms))
    hg = torch.autograd.grad(
        sum((g * g.detach()).sum() for _, g in pairs), [w for w, _ in pairs], allow_unused=True
    )
    with torch.no_grad():
        hessian_terms = [(w * h).sum() for (w, _), h in zip(pairs, hg, strict=True) if h is not None]
        scores["grasp"] = float(-sum(hessian_terms))
    return scores


FUNCTIONS: dict[str, Callable[[nn.Module, torch.Tensor, torch.Tensor], float]] = {
    "synflow": synflow,
    "snip": snip,
    "grad_norm": grad_norm,
    "grasp": grasp,
    "fisher": fisher,
    "jacob_cov": jacob_cov,
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


__all__ = [
    "FUNCTIONS",
    "data_proxies",
    "PROXIES",
    "fisher",
    "grad_norm",
    "grasp",
    "jacob_cov",
    "naswot",
    "proxy",
    "snip",
    "synflow",
    "synflow_heads",
]
