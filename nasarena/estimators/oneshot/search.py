"""Training a supernet the way each one-shot method does (the NB201 authors' search protocol).

One :class:`SupernetSearch` is one search: a supernet, the architecture parameters (6 x 5 logits
shared by every cell, initialised as 1e-3 * N(0, 1)), SGD for the weights (lr cosine-annealed per
step from ``w_lr`` to ``w_lr_min`` over all epochs, momentum, Nesterov, weight decay) and Adam for
the architecture parameters. The training set is split in two fixed halves: weights are trained on
the first, architecture parameters on the second, which is also where candidates are scored (the
authors' ``search`` / ``valid`` loaders over cifar10-valid's train split). Each step pairs one
batch of each half; per step, by method:

=========  ==========  ===================================================  ===============================
method     mode        weight step (first half)                             architecture step (second half)
=========  ==========  ===================================================  ===============================
darts      joint       all ops, softmax(alphas) (first-order DARTS)         all ops, softmax(alphas), Adam
darts2     joint       the same                                             the same, through one unrolled
                                                                            SGD step
gdas       gumbel      one Gumbel-sampled op per edge, tau annealed         the same straight-through sample
rsps       uniform     one uniformly random architecture                    none
setn       sampled     one architecture sampled from softmax(alphas)        all ops, softmax(alphas), Adam
enas       controller  the architectures the controller (the strategy)      none (the strategy trains its
                       sent with the work, cycled one per step              controller)
=========  ==========  ===================================================  ===============================

The mode is named (:data:`~.settings.METHOD_MODES`) and :meth:`SupernetSearch.weight_mode` is the one
place that turns it into what a forward computes; a strategy records it (``weight_mode``).
GDAS's tau goes linearly from ``tau_max`` (first epoch) to ``tau_min`` (last). Everything random
(init, batch order, augmentation, Gumbel noise, sampled architectures) is drawn from generators
seeded by the caller. Batches are augmented like the live trainer's (random crop with zero padding
of resolution/8, horizontal flip).
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from typing import Any

import torch
import torch.nn.functional as F

from nasarena.errors import ConfigError
from nasarena.estimators.live.device_data import DeviceData, augment
from nasarena.estimators.live.trainer import _cpu_threads as cpu_threads
from nasarena.estimators.oneshot.settings import METHODS, SearchSettings
from nasarena.estimators.oneshot.supernet import N_EDGES, N_OPS, Fixed, Joint, build_supernet, gumbel_hard
from nasarena.spaces.base import Arch


class SupernetSearch:
    """The state of one supernet search (see the module docstring)."""

    def __init__(
        self,
        data: DeviceData,
        settings: SearchSettings,
        epochs: int,
        channels: int,
        cells: int,
        seed: int,
        *,
        affine: bool = False,
        track_running_stats: bool = False,
        score_images: int = 512,
    ) -> None:
        if epochs < 1:
            raise ConfigError(f"a supernet search needs epochs >= 1, got {epochs}")
        init = torch.Generator().manual_seed(int(seed))
        net = build_supernet(
            data.num_classes,
            channels,
            cells,
            affine=affine,
            track_running_stats=track_running_stats,
            generator=init,
        )
        alphas = 1e-3 * torch.randn(N_EDGES, N_OPS, generator=init)
        self._setup(data, settings, epochs, net, alphas, seed, score_images)

    def _setup(
        self,
        data: DeviceData,
        settings: SearchSettings,
        epochs: int,
        net: torch.nn.Module,
        alphas: torch.Tensor | None,
        seed: int,
        score_images: int,
    ) -> None:
        """Optimisers, data halves and scoring images around ``net`` (any supernet whose forward takes
        ``(x, mode)``); ``alphas`` None for a supernet without architecture parameters."""
        self.data, self.settings, self.epochs = data, settings, epochs
        device = data.device
        self.net = net.to(device)
        s = settings
        self.w_opt = torch.optim.SGD(
            self.net.parameters(),
            lr=s.w_lr,
            momentum=s.momentum,
            nesterov=s.nesterov,
            weight_decay=s.w_weight_decay,
        )
        self.alphas: torch.Tensor | None = None
        if alphas is not None:
            self.alphas = alphas.to(device).requires_grad_(True)
            self.a_opt = torch.optim.Adam(
                [self.alphas],
                lr=s.a_lr,
                betas=(s.a_beta1, s.a_beta2),
                weight_decay=s.a_weight_decay,
                eps=s.a_eps,
            )
        self.gen = torch.Generator(device=device).manual_seed(int(seed) + 1)
        n = len(data.train_y)
        if n < 4:
            raise ConfigError(f"a supernet search needs at least 4 training images (two halves), got {n}")
        self.w_idx, self.a_idx = data.order[: n // 2], data.order[n // 2 :]
        self.batch = min(s.batch_size, len(self.w_idx))
        self.steps_per_epoch = math.ceil(len(self.w_idx) / self.batch)
        self.pad = max(1, data.resolution // 8)
        self.done = 0  # epochs trained
        self.step = 0
        k = min(score_images, len(self.a_idx))
        self._score_x = data.normalise(data.train_x[self.a_idx[:k]])
        self._score_y = data.train_y[self.a_idx[:k]]

    def tau(self, epoch: int) -> float:
        """GDAS's temperature in (1-based) ``epoch``: linear from tau_max to tau_min."""
        s = self.settings
        if self.epochs == 1:
            return s.tau_max
        return s.tau_max - (s.tau_max - s.tau_min) * (epoch - 1) / (self.epochs - 1)

    def _lr(self) -> float:
        s, total = self.settings, self.epochs * self.steps_per_epoch
        return s.w_lr_min + 0.5 * (s.w_lr - s.w_lr_min) * (
            1.0 + math.cos(math.pi * min(self.step, total) / total)
        )

    def _batch(self, idx: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x = self.data.normalise(augment(self.data.train_x[idx], self.gen, self.pad)).contiguous()
        return x, self.data.train_y[idx]

    def _uniform_arch(self) -> Arch:
        return tuple(
            int(v)
            for v in torch.randint(0, N_OPS, (N_EDGES,), generator=self.gen, device=self.gen.device).tolist()
        )

    def _sampled_arch(self) -> Arch:
        probs = F.softmax(self.alphas.detach(), dim=-1)
        return tuple(int(v) for v in torch.multinomial(probs, 1, generator=self.gen).view(-1).tolist())

    def gumbel(self, alphas: torch.Tensor, tau: float) -> Any:
        """GDAS's straight-through sample of one choice per decision from ``alphas``."""
        return gumbel_hard(alphas, tau, self.gen)

    def joint(self, alphas: torch.Tensor) -> Joint:
        """DARTS's mixture weights from ``alphas``: softmax per decision."""
        return Joint(F.softmax(alphas, dim=-1))

    def weight_mode(self, step: int, tau: float, archs: Sequence[Arch] | None) -> Any:
        """What weight step ``step`` trains, by the method's named mode (:data:`~.settings.MODES`):
        ``joint`` all ops by softmax(alphas), ``gumbel`` a straight-through Gumbel sample at ``tau``,
        ``uniform`` one uniformly random architecture, ``sampled`` one architecture drawn from
        softmax(alphas), ``controller`` the controller's ``archs`` cycled one per step."""
        mode = self.settings.mode
        if mode == "joint":
            return self.joint(self.alphas.detach())
        if mode == "gumbel":
            return self.gumbel(self.alphas.detach(), tau)
        if mode == "uniform":
            return Fixed(self._uniform_arch())
        if mode == "sampled":
            return Fixed(self._sampled_arch())
        return Fixed(tuple(archs[step % len(archs)]))  # type: ignore[index]

    def train_epoch(self, archs: Sequence[Arch] | None = None) -> dict[str, float]:
        """Train one epoch of the method; ``archs`` (enas) are cycled through, one per step."""
        method = self.settings.method
        if self.settings.mode == "controller" and not archs:
            raise ConfigError(
                f"the {method} supernet step (mode 'controller') needs the controller's architectures "
                "(params 'archs')"
            )
        epoch = self.done + 1
        tau = self.tau(epoch)
        dev = self.data.device
        perm_w = self.w_idx[torch.randperm(len(self.w_idx), generator=self.gen, device=dev)]
        perm_a = self.a_idx[torch.randperm(len(self.a_idx), generator=self.gen, device=dev)]
        w_loss = torch.zeros((), device=dev)
        w_correct = torch.zeros((), device=dev)
        a_loss = torch.zeros((), device=dev)
        seen = 0
        self.net.train()
        b = self.batch
        for i in range(self.steps_per_epoch):
            idx_w = perm_w[i * b : (i + 1) * b]
            if len(idx_w) < 2:
                continue
            lr = self._lr()
            for group in self.w_opt.param_groups:
                group["lr"] = lr
            x, y = self._batch(idx_w)
            mode = self.weight_mode(i, tau, archs)
            self.w_opt.zero_grad(set_to_none=True)
            logits = self.net(x, mode)
            loss = F.cross_entropy(logits, y)
            loss.backward()
            self.w_opt.step()
            w_loss += loss.detach() * len(y)
            w_correct += (logits.detach().argmax(1) == y).sum()
            seen += len(y)
            if method == "darts2":
                xa, ya = self._arch_batch(perm_a, i)
                a_loss += self.second_order_step(x, y, xa, ya) * len(ya)
            elif method in ("darts", "gdas", "setn"):
                xa, ya = self._arch_batch(perm_a, i)
                a_mode: Any = self.gumbel(self.alphas, tau) if method == "gdas" else self.joint(self.alphas)
                self.a_opt.zero_grad(set_to_none=True)
                self.net.zero_grad(set_to_none=True)
                a = F.cross_entropy(self.net(xa, a_mode), ya)
                a.backward()
                self.a_opt.step()
                a_loss += a.detach() * len(ya)
            self.step += 1
        self.done = epoch
        seen = max(seen, 1)
        w_loss_v = float(w_loss.item()) / seen
        if not math.isfinite(w_loss_v):
            raise ConfigError(f"supernet training diverged in epoch {epoch} (loss {w_loss_v})")
        return {
            "epoch": float(epoch),
            "steps": float(self.steps_per_epoch),
            "w_loss": w_loss_v,
            "w_acc": 100.0 * float(w_correct.item()) / seen,
            "a_loss": float(a_loss.item()) / seen,
            "tau": tau,
            "lr": self._lr(),
        }

    def _arch_batch(self, perm_a: torch.Tensor, i: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Step ``i``'s batch of the architecture half (cycling when that half is shorter)."""
        b = self.batch
        j = (i * b) % max(1, len(perm_a) - 1)
        idx_a = perm_a[j : j + b]
        return self._batch(idx_a if len(idx_a) >= 2 else perm_a[:b])

    def second_order_gradient(
        self, x: torch.Tensor, y: torch.Tensor, xa: torch.Tensor, ya: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Second-order DARTS's gradient of the architecture loss, and that loss (Liu et al., eq. 7-8).

        The weights are unrolled by one step of the weight optimiser (lr, momentum buffer, weight
        decay) on the batch ``(x, y)``: w' = w - lr (m + grad L_train(w) + wd w). Then
        grad_alpha L_arch(w', alpha) - lr * (grad_alpha L_train(w+, alpha) - grad_alpha L_train(w-,
        alpha)) / (2 eps), with w+- = w +- eps * grad_w' L_arch(w', alpha) and eps = 0.01 / its norm
        (the finite-difference Hessian-vector product). With lr = 0 it is the first-order gradient.
        """
        from torch.func import functional_call

        net = self.net
        named = list(net.named_parameters())
        params = [p for _, p in named]
        group = self.w_opt.param_groups[0]
        lr, wd, mom = float(group["lr"]), float(group["weight_decay"]), float(group["momentum"])
        train_loss = F.cross_entropy(net(x, self.joint(self.alphas.detach())), y)
        grads = torch.autograd.grad(train_loss, params)
        with torch.no_grad():
            unrolled = []
            for p, g in zip(params, grads, strict=True):
                buf = self.w_opt.state.get(p, {}).get("momentum_buffer")
                m = buf * mom if buf is not None else torch.zeros_like(p)
                unrolled.append((p - lr * (m + g + wd * p)).requires_grad_(True))
        logits = functional_call(
            net,
            {n: u for (n, _), u in zip(named, unrolled, strict=True)},
            (xa, self.joint(self.alphas)),
        )
        arch_loss = F.cross_entropy(logits, ya)
        d_alpha, *vector = torch.autograd.grad(arch_loss, [self.alphas, *unrolled])
        eps = 0.01 / torch.cat([v.reshape(-1) for v in vector]).norm().clamp_min(1e-12)

        def alpha_grad(shift: float) -> torch.Tensor:
            with torch.no_grad():
                for p, v in zip(params, vector, strict=True):
                    p.add_(v, alpha=float(shift * eps))
            loss = F.cross_entropy(net(x, self.joint(self.alphas)), y)
            return torch.autograd.grad(loss, self.alphas)[0]

        plus = alpha_grad(1.0)  # at w + eps v
        minus = alpha_grad(-2.0)  # at w - eps v
        with torch.no_grad():
            for p, v in zip(params, vector, strict=True):
                p.add_(v, alpha=float(eps))  # back to w
        return d_alpha - lr * (plus - minus) / (2 * eps), arch_loss.detach()

    def second_order_step(
        self, x: torch.Tensor, y: torch.Tensor, xa: torch.Tensor, ya: torch.Tensor
    ) -> torch.Tensor:
        """One Adam step of the architecture logits along :meth:`second_order_gradient`."""
        grad, loss = self.second_order_gradient(x, y, xa, ya)
        self.a_opt.zero_grad(set_to_none=True)
        self.alphas.grad = grad
        self.a_opt.step()
        self.net.zero_grad(set_to_none=True)
        return loss

    @torch.no_grad()
    def score(self, arch: Arch) -> float:
        """Accuracy (%) of ``arch`` with the supernet's weights on the fixed scoring images of the
        second half (eval mode; with the default BatchNorm setting that uses batch statistics)."""
        self.net.eval()
        logits = self.net(self._score_x, Fixed(tuple(arch)))
        return 100.0 * float((logits.argmax(1) == self._score_y).float().mean().item())

    def alpha_extras(self) -> dict[str, float]:
        """The architecture logits as ``alpha:<edge>:<op>`` floats (what a strategy is told)."""
        if self.alphas is None:
            return {}
        a = self.alphas.detach().cpu().tolist()
        return {f"alpha:{e}:{o}": float(a[e][o]) for e in range(N_EDGES) for o in range(N_OPS)}


def timed(fn: Any, *args: Any, **kwargs: Any) -> tuple[Any, float]:
    """``fn(*args, **kwargs)`` and its wall seconds (CUDA synchronised)."""
    t0 = time.perf_counter()
    out = fn(*args, **kwargs)
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        torch.cuda.synchronize()
    return out, time.perf_counter() - t0


__all__ = ["METHODS", "SearchSettings", "SupernetSearch", "cpu_threads", "timed"]
