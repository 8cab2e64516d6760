"""Train one NB201 network with NB201's recipe, fast on a GPU and usable on a CPU.

Design (why it looks like this):

* **No DataLoader.** The whole dataset lives on the training device as uint8 tensors
  (:class:`DeviceData`, built once per dataset/resolution/device and shared by trainings); each batch
  is gathered by index, augmented on the device (random crop via zero padding + per-image random
  offsets gathered in one advanced-indexing op, horizontal flip via ``torch.where`` on the column
  index) and normalised there. On a GPU this removes the host->device copy and the CPU augmentation
  that bound a naive loop.
* **One host sync per epoch.** The loss is summed on the device and checked for NaN/inf once per
  epoch; accuracies are counted on the device.
* **GPU path:** bf16 autocast, channels_last, fused SGD, cudnn autotuning, timing with CUDA events.
  **CPU path:** fp32, ``torch.set_num_threads(num_threads)`` (restored afterwards), no compile.
* **Reproducible:** weights are initialised from a CPU ``torch.Generator`` and every batch order,
  crop offset and flip is drawn from a device ``torch.Generator``, both seeded from the caller's seed,
  so a CPU training is bit-for-bit repeatable and nothing touches torch's global random state.

Recipe defaults are NB201's: SGD Nesterov momentum 0.9, lr 0.1 with per-step cosine decay to 0,
weight decay 5e-4 on all parameters, batch 256, cross-entropy, crop padding of 1/8 of the side.
"""

from __future__ import annotations

import contextlib
import hashlib
import math
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass

import numpy as np
import torch
import torch.nn.functional as F

from nasarena.errors import ConfigError, NasarenaError
from nasarena.estimators.live.data import ImageSplits
from nasarena.spaces.base import Arch
from nasarena.spaces.nb201_torch import build_network, check_resolution


class TrainingFailed(NasarenaError):
    """A training ended without a usable result (diverged, out of memory); ``reason`` says why."""

    def __init__(self, reason: str, seconds: float = 0.0) -> None:
        super().__init__(reason)
        self.reason = reason
        self.seconds = seconds


@dataclass(frozen=True)
class Recipe:
    """Optimisation hyper-parameters (NB201's defaults)."""

    batch_size: int = 256
    lr: float = 0.1
    momentum: float = 0.9
    nesterov: bool = True
    weight_decay: float = 5e-4
    eval_batch_size: int = 1024

    def fingerprint(self) -> str:
        """Short hash of the recipe (part of cache keys: a different recipe is a different result)."""
        text = ",".join(f"{k}={v}" for k, v in sorted(asdict(self).items()) if k != "eval_batch_size")
        return hashlib.sha1(text.encode()).hexdigest()[:8]


@dataclass(frozen=True)
class TrainSpec:
    """A fidelity with every field resolved: what one training actually does."""

    epochs: int
    data_fraction: float
    channels: int
    cells: int
    resolution: int

    def __post_init__(self) -> None:
        if self.epochs < 1 or not 0.0 < self.data_fraction <= 1.0 or self.channels < 1 or self.cells < 0:
            raise ConfigError(f"invalid training fidelity {self}: epochs >= 1, 0 < data_fraction <= 1, "
                              f"channels >= 1 and cells >= 0 are required")
        check_resolution(self.resolution)


@dataclass(frozen=True)
class TrainResult:
    """What one training measured. ``test_acc`` is harness-only (the held-out final metric)."""

    valid_curve: tuple[float, ...]
    train_loss: tuple[float, ...]
    test_acc: float
    seconds: float
    batch_size: int
    n_train: int
    device: str


def resolve_device(device: str | torch.device = "auto") -> torch.device:
    """``"auto"`` -> CUDA when available, else CPU; anything else is passed to ``torch.device``."""
    if str(device) == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    dev = torch.device(device)
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError("device 'cuda' was requested but torch sees no GPU; use device='cpu' or 'auto'")
    return dev


class DeviceData:
    """A dataset resident on one device at one resolution (uint8), with normalisation constants.

    ``order`` is a fixed permutation of the training set (from the dataset, not the training seed):
    a ``data_fraction`` f trains on its first f*n images, so every architecture at that fidelity sees
    the same subset, which is what makes low-fidelity scores comparable across architectures.
    """

    def __init__(self, splits: ImageSplits, resolution: int, device: torch.device) -> None:
        check_resolution(resolution)
        self.name, self.num_classes, self.resolution, self.device = (
            splits.name, splits.num_classes, resolution, device)
        mean, std = splits.channel_stats()
        self.mean = torch.tensor(mean, dtype=torch.float32, device=device).view(1, 3, 1, 1)
        self.std = torch.tensor(std, dtype=torch.float32, device=device).view(1, 3, 1, 1)
        self.train_x, self.train_y = self._put(splits.train_x, splits.train_y)
        self.valid_x, self.valid_y = self._put(splits.valid_x, splits.valid_y)
        self.test_x, self.test_y = self._put(splits.test_x, splits.test_y)
        order = np.random.default_rng(0).permutation(len(splits.train_y))
        self.order = torch.as_tensor(order, device=device)

    def _put(self, x: np.ndarray, y: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
        xt = torch.as_tensor(x).to(self.device)
        if xt.shape[-1] != self.resolution:
            chunks = []
            for part in xt.split(4096):  # bounded temporary memory
                z = F.interpolate(part.float(), size=(self.resolution, self.resolution), mode="bilinear",
                                  antialias=True, align_corners=False)
                chunks.append(z.round_().clamp_(0, 255).to(torch.uint8))
            xt = torch.cat(chunks)
        return xt.contiguous(), torch.as_tensor(y, dtype=torch.int64).to(self.device)

    def normalise(self, x: torch.Tensor) -> torch.Tensor:
        """uint8 images -> float32 standardised images."""
        return (x.float() / 255.0 - self.mean) / self.std


def augment(x: torch.Tensor, generator: torch.Generator, pad: int) -> torch.Tensor:
    """Random crop (zero padding ``pad``) and horizontal flip of a uint8 batch, on its device.

    One gather does both: the row index is ``offset_y + i`` and the column index is ``offset_x + j``
    or, for flipped images (chosen with ``torch.where``), ``offset_x + W - 1 - j``. The result is
    laid out channels-last, which is what the convolutions want on a GPU.
    """
    b, _, h, w = x.shape
    dev = x.device
    if pad > 0:
        x = F.pad(x, (pad, pad, pad, pad))
    oy = torch.randint(0, 2 * pad + 1, (b, 1), generator=generator, device=dev)
    ox = torch.randint(0, 2 * pad + 1, (b, 1), generator=generator, device=dev)
    flip = torch.rand((b, 1), generator=generator, device=dev) < 0.5
    ar_h = torch.arange(h, device=dev)
    ar_w = torch.arange(w, device=dev)
    rows = oy + ar_h
    cols = ox + torch.where(flip, w - 1 - ar_w, ar_w)
    bidx = torch.arange(b, device=dev)[:, None, None]
    out = x[bidx, :, rows[:, :, None], cols[:, None, :]]  # (b, h, w, c)
    return out.permute(0, 3, 1, 2)


@torch.no_grad()
def accuracy(model: torch.nn.Module, data: DeviceData, x: torch.Tensor, y: torch.Tensor,
             batch_size: int, amp: bool, channels_last: bool) -> float:
    """Top-1 accuracy in percent (counted on the device, one sync)."""
    model.eval()
    correct = torch.zeros((), dtype=torch.int64, device=x.device)
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    for i in range(0, len(y), batch_size):
        xb = data.normalise(x[i:i + batch_size]).contiguous(memory_format=fmt)
        with _autocast(x.device, amp):
            pred = model(xb).argmax(1)
        correct += (pred == y[i:i + batch_size]).sum()
    return 100.0 * float(correct.item()) / max(1, len(y))


def _autocast(device: torch.device, amp: bool) -> contextlib.AbstractContextManager[None]:
    if not amp:
        return contextlib.nullcontext()
    return torch.autocast(device_type=device.type, dtype=torch.bfloat16)


@contextlib.contextmanager
def _cpu_threads(device: torch.device, n: int) -> Iterator[None]:
    """Set torch's intra-op thread count for a CPU training and restore it afterwards."""
    if device.type != "cpu":
        yield
        return
    previous = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


class _Clock:
    """Elapsed seconds: CUDA events on a GPU (device time of the stream), perf_counter on a CPU."""

    def __init__(self, device: torch.device) -> None:
        self.cuda = device.type == "cuda"
        if self.cuda:
            self.start_ev = torch.cuda.Event(enable_timing=True)
            self.end_ev = torch.cuda.Event(enable_timing=True)
            self.start_ev.record()
        self.t0 = time.perf_counter()

    def seconds(self) -> float:
        """Seconds since construction (waits for the GPU to reach this point)."""
        if self.cuda:
            self.end_ev.record()
            self.end_ev.synchronize()
            return self.start_ev.elapsed_time(self.end_ev) / 1000.0
        return time.perf_counter() - self.t0


LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def make_optimizer(model: torch.nn.Module, recipe: Recipe, device: torch.device) -> torch.optim.SGD:
    """NB201's SGD (Nesterov, weight decay on every parameter); fused kernels on a GPU."""
    opt_kw = {"fused": True} if device.type == "cuda" else {"foreach": True}
    return torch.optim.SGD(model.parameters(), lr=recipe.lr, momentum=recipe.momentum,
                           nesterov=recipe.nesterov, weight_decay=recipe.weight_decay, **opt_kw)


def run_epoch(model: torch.nn.Module, opt: torch.optim.Optimizer, data: DeviceData, subset: torch.Tensor,
              gen: torch.Generator, batch_size: int, pad: int, fmt: torch.memory_format, amp: bool,
              loss_fn: LossFn = F.cross_entropy, lr_at: Callable[[int], float] | None = None,
              step: int = 0) -> tuple[torch.Tensor, int, int]:
    """One pass over ``subset`` (indices into the training set) in a random order, all on the device.

    Returns (sum of batch losses as a device tensor, batches done, next global step). Nothing here
    waits for the device, so a GPU runs ahead of Python; the caller syncs once per epoch.
    """
    model.train()
    device = data.device
    n = len(subset)
    perm = subset[torch.randperm(n, generator=gen, device=device)]
    loss_sum = torch.zeros((), dtype=torch.float32, device=device)
    done = 0
    for i in range(0, n, batch_size):
        idx = perm[i:i + batch_size]
        if len(idx) < 2:  # BatchNorm cannot train on one image
            continue
        if lr_at is not None:
            lr = lr_at(step)
            for group in opt.param_groups:
                group["lr"] = lr
        xb = data.normalise(augment(data.train_x[idx], gen, pad)).contiguous(memory_format=fmt)
        with _autocast(device, amp):
            loss = loss_fn(model(xb), data.train_y[idx])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        loss_sum += loss.detach().float()
        step += 1
        done += 1
    return loss_sum, done, step


def train(arch: Arch, data: DeviceData, spec: TrainSpec, seed: int, recipe: Recipe = Recipe(),
          num_threads: int = 2, amp: bool | None = None, channels_last: bool | None = None,
          loss_fn: LossFn = F.cross_entropy) -> TrainResult:
    """Train ``arch`` at ``spec`` from ``seed``; raise :class:`TrainingFailed` if the loss diverges.

    ``seconds`` in the result covers the epochs (training and per-epoch validation) and the final
    test evaluation, not building the model and optimizer.

    ``amp`` and ``channels_last`` default to on for CUDA and off elsewhere. ``loss_fn`` exists so
    that failure handling can be tested; it defaults to cross-entropy.
    """
    device = data.device
    if spec.resolution != data.resolution:
        raise ConfigError(f"data is at resolution {data.resolution}, the fidelity asks {spec.resolution}")
    cuda = device.type == "cuda"
    amp = cuda if amp is None else amp
    channels_last = cuda if channels_last is None else channels_last
    n = max(2, int(round(spec.data_fraction * len(data.train_y))))
    bs = min(recipe.batch_size, n)
    steps_per_epoch = math.ceil(n / bs)
    total_steps = spec.epochs * steps_per_epoch
    pad = max(1, spec.resolution // 8)
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    seeds = np.random.SeedSequence(seed).generate_state(2)
    with _cpu_threads(device, num_threads), _cudnn_benchmark(cuda):
        init_gen = torch.Generator().manual_seed(int(seeds[0]))
        model = build_network(arch, data.num_classes, spec.channels, spec.cells, generator=init_gen)
        model = model.to(device=device, memory_format=fmt)
        gen = torch.Generator(device=device).manual_seed(int(seeds[1]))
        opt = make_optimizer(model, recipe, device)
        # The clock starts here: the first optimizer of a process imports torch._dynamo (seconds),
        # a one-off that must not be charged to whichever architecture happens to come first.
        clock = _Clock(device)
        subset = data.order[:n]
        curve: list[float] = []
        losses: list[float] = []
        step = 0

        def lr_at(t: int) -> float:
            return 0.5 * recipe.lr * (1.0 + math.cos(math.pi * t / total_steps))

        for epoch in range(spec.epochs):
            loss_sum, done, step = run_epoch(model, opt, data, subset, gen, bs, pad, fmt, amp, loss_fn,
                                             lr_at, step)
            mean_loss = float(loss_sum.item()) / max(1, done)
            if not math.isfinite(mean_loss):
                raise TrainingFailed(f"training loss became {mean_loss} in epoch {epoch + 1} of "
                                     f"{spec.epochs} (diverged)", seconds=clock.seconds())
            losses.append(mean_loss)
            curve.append(accuracy(model, data, data.valid_x, data.valid_y, recipe.eval_batch_size,
                                  amp, channels_last))
        test_acc = accuracy(model, data, data.test_x, data.test_y, recipe.eval_batch_size, amp, channels_last)
        seconds = clock.seconds()
    return TrainResult(tuple(curve), tuple(losses), test_acc, seconds, bs, n, str(device))


@contextlib.contextmanager
def _cudnn_benchmark(enabled: bool) -> Iterator[None]:
    """Let cuDNN autotune convolutions for the fixed shapes of a GPU training (restored after)."""
    if not enabled:
        yield
        return
    previous = torch.backends.cudnn.benchmark
    torch.backends.cudnn.benchmark = True
    try:
        yield
    finally:
        torch.backends.cudnn.benchmark = previous


def _is_oom(exc: BaseException) -> bool:
    return isinstance(exc, torch.OutOfMemoryError) or "out of memory" in str(exc).lower()


def train_with_retry(arch: Arch, data: DeviceData, spec: TrainSpec, seed: int, recipe: Recipe = Recipe(),
                     **kwargs: object) -> TrainResult:
    """:func:`train`, retried once at half the batch (and half the lr, the linear scaling rule)
    after a CUDA out-of-memory error; a second OOM raises :class:`TrainingFailed`."""
    try:
        return train(arch, data, spec, seed, recipe, **kwargs)  # type: ignore[arg-type]
    except (torch.OutOfMemoryError, RuntimeError) as exc:
        if data.device.type != "cuda" or not _is_oom(exc):
            raise
        first = str(exc).splitlines()[0]
    torch.cuda.empty_cache()
    half = Recipe(**{**asdict(recipe), "batch_size": max(2, recipe.batch_size // 2), "lr": recipe.lr / 2})
    try:
        return train(arch, data, spec, seed, half, **kwargs)  # type: ignore[arg-type]
    except (torch.OutOfMemoryError, RuntimeError) as exc:
        if not _is_oom(exc):
            raise
        torch.cuda.empty_cache()
        raise TrainingFailed(f"CUDA out of memory at batch {recipe.batch_size} ({first}) and again at "
                             f"batch {half.batch_size}") from exc


__all__ = ["DeviceData", "Recipe", "TrainResult", "TrainSpec", "TrainingFailed", "accuracy", "augment",
           "make_optimizer", "resolve_device", "run_epoch", "train", "train_with_retry"]
