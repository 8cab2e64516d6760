"""Train one network of a trainable space with NB201's recipe, fast on a GPU and usable on a CPU.

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
* **Resumable:** the learning-rate schedule can be longer than the epochs trained
  (``schedule_epochs``), and ``keep_state`` returns weights, optimizer, generator state, step and
  curves, so that a later call with ``resume`` continues exactly where this one stopped.

The network comes from the space (:mod:`nasarena.spaces.trainable`: ``build_model`` at the spec's
size knobs; NB201 when no space is given), so the same loop trains NB201, NATS-size and the macro
spaces. Recipe defaults are NB201's: SGD Nesterov momentum 0.9, lr 0.1 with per-step cosine decay to 0,
weight decay 5e-4 on all parameters, batch 256, cross-entropy, crop padding of 1/8 of the side.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import math
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from nasarena.errors import ConfigError, NasarenaError
from nasarena.estimators.live.checkpoints import (
    STATE_FORMAT,
    CheckpointError,
    check_state,
    to_cpu,
)
from nasarena.estimators.live.device_data import DeviceData, accuracy, augment, autocast, resolve_device
from nasarena.estimators.live.morphism import inherit
from nasarena.spaces.base import Arch
from nasarena.spaces.trainable import TrainableSpace, resolve_size


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


@dataclass(frozen=True, init=False)
class TrainSpec:
    """A fidelity with every generic field resolved, plus the space's size knobs: what one training does.

    ``size`` holds the knobs as sorted (name, value) pairs; they are given as keywords
    (``TrainSpec(epochs=3, data_fraction=1.0, resolution=16, channels=8, cells=1)``) or as ``size=``.
    Knobs left out take the space's full values when the network is built.
    """

    epochs: int
    data_fraction: float
    resolution: int
    size: tuple[tuple[str, Any], ...] = ()

    def __init__(self, epochs: int, data_fraction: float, resolution: int, size: Any = (),
                 **knobs: Any) -> None:
        items = dict(size.items() if hasattr(size, "items") else size)
        items.update(knobs)
        d = self.__dict__
        d["epochs"], d["data_fraction"], d["resolution"] = epochs, data_fraction, resolution
        d["size"] = tuple(sorted(items.items()))
        if epochs < 1 or not 0.0 < data_fraction <= 1.0 or resolution < 1:
            raise ConfigError(f"invalid training fidelity {self}: epochs >= 1, 0 < data_fraction <= 1 and "
                              f"resolution >= 1 are required")


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
    epoch_seconds: tuple[float, ...] = ()  # per epoch (train + validation), earlier calls' included
    test_seconds: float = 0.0
    state: dict[str, Any] | None = field(default=None, repr=False, compare=False)
    inherited: tuple[str, ...] = ()  # tensor names copied from ``init`` (or set by a morphism rule)
    morphism: str | None = None  # JSON of the warm start's Transfer (see .morphism); None: not warm-started


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
        with autocast(device, amp):
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
          loss_fn: LossFn = F.cross_entropy, *, schedule_epochs: int | None = None,
          resume: Mapping[str, Any] | None = None, init: Mapping[str, torch.Tensor] | None = None,
          keep_state: bool = False, space: TrainableSpace | None = None,
          init_arch: Arch | None = None) -> TrainResult:
    """Train ``arch`` of ``space`` (default NB201) at ``spec`` from ``seed``; raise
    :class:`TrainingFailed` if the loss diverges.

    ``seconds`` in the result covers the epochs trained in this call (training and per-epoch
    validation) and the final test evaluation, not building the model and optimizer.

    ``schedule_epochs`` (default ``spec.epochs``) is the length of the cosine learning-rate schedule:
    training ``spec.epochs`` of a longer schedule is NB201's 12-of-200-epoch design, and is what lets
    a training be stopped and continued with the same result. ``resume`` is a state from an earlier
    call with ``keep_state=True`` (fewer epochs, same arch/seed/schedule): training goes on from it and
    the result equals one uninterrupted training (bit for bit on a CPU). ``init`` maps tensor names
    to weights of another network (warm start): those whose names and shapes match are copied after
    the usual initialisation (``inherited`` lists them); with ``init_arch`` (the architecture ``init``
    was trained as) the changed edges/layers are mapped by network morphisms where one exists
    (:func:`nasarena.estimators.live.morphism.inherit`; ``morphism`` says what). ``keep_state`` puts
    the full state (weights, optimizer, generator, step, curves) in ``result.state`` for a later ``resume``.

    ``amp`` and ``channels_last`` default to on for CUDA and off elsewhere. ``loss_fn`` exists so
    that failure handling can be tested; it defaults to cross-entropy.
    """
    device = data.device
    if space is None:
        from nasarena.spaces.nb201 import NB201Space

        space = NB201Space()
    space.check_resolution(spec.resolution)
    size = resolve_size(space, dict(spec.size))
    if spec.resolution != data.resolution:
        raise ConfigError(f"data is at resolution {data.resolution}, the fidelity asks {spec.resolution}")
    schedule = spec.epochs if schedule_epochs is None else int(schedule_epochs)
    if schedule < spec.epochs:
        raise ConfigError(f"a {schedule}-epoch schedule cannot train {spec.epochs} epochs")
    cuda = device.type == "cuda"
    amp = cuda if amp is None else amp
    channels_last = cuda if channels_last is None else channels_last
    n = max(2, int(round(spec.data_fraction * len(data.train_y))))
    bs, lr = min(recipe.batch_size, n), recipe.lr
    if resume is not None:  # a checkpoint made after an OOM retry goes on at its own batch and lr
        bs, lr = int(resume["batch_size"]), float(resume["lr"])
    steps_per_epoch = math.ceil(n / bs)
    total_steps = schedule * steps_per_epoch
    pad = max(1, spec.resolution // 8)
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    seeds = np.random.SeedSequence(seed).generate_state(2)
    with _cpu_threads(device, num_threads), _cudnn_benchmark(cuda):
        init_gen = torch.Generator().manual_seed(int(seeds[0]))
        model = space.build_model(arch, data.num_classes, spec.resolution, size, generator=init_gen)
        transfer = inherit(model, init, space=space, arch=arch, parent_arch=init_arch, size=size,
                           rng=np.random.default_rng(int(seeds[0]))) \
            if init is not None and resume is None else None
        inherited = transfer.names if transfer is not None else ()
        morphism = transfer.summary() if transfer is not None else None
        model = model.to(device=device, memory_format=fmt)
        gen = torch.Generator(device=device).manual_seed(int(seeds[1]))
        opt = make_optimizer(model, dataclasses.replace(recipe, lr=lr), device)
        past = _Past()
        if resume is not None:
            check_state(resume, arch=list(arch), seed=seed, schedule_epochs=schedule, n_train=n,
                        max_epochs=spec.epochs)
            try:
                model.load_state_dict(resume["model"])
                opt.load_state_dict(resume["optimizer"])
                gen.set_state(resume["generator"])
            except (RuntimeError, KeyError, ValueError, TypeError) as exc:
                why = " ".join(str(exc).strip().splitlines()[:2])[:200]
                raise CheckpointError(f"its state does not fit this network ({why})") from None
            past = _Past(list(resume["curve"]), list(resume["train_loss"]), list(resume["epoch_seconds"]),
                         int(resume["step"]))
            inherited = tuple(resume["inherited"])  # a continued warm start stays one
            morphism = resume.get("morphism")
        # The clock starts here: the first optimizer of a process imports torch._dynamo (seconds),
        # a one-off that must not be charged to whichever architecture happens to come first.
        clock = _Clock(device)
        subset = data.order[:n]
        step, mark = past.step, 0.0

        def lr_at(t: int) -> float:
            return 0.5 * lr * (1.0 + math.cos(math.pi * t / total_steps))

        for epoch in range(len(past.curve), spec.epochs):
            loss_sum, done, step = run_epoch(model, opt, data, subset, gen, bs, pad, fmt, amp, loss_fn,
                                             lr_at, step)
            mean_loss = float(loss_sum.item()) / max(1, done)
            if not math.isfinite(mean_loss):
                raise TrainingFailed(f"training loss became {mean_loss} in epoch {epoch + 1} of "
                                     f"{spec.epochs} (diverged)", seconds=clock.seconds())
            past.train_loss.append(mean_loss)
            past.curve.append(accuracy(model, data, data.valid_x, data.valid_y, recipe.eval_batch_size,
                                       amp, channels_last))
            now = clock.seconds()
            past.epoch_seconds.append(now - mark)
            mark = now
        test_acc = accuracy(model, data, data.test_x, data.test_y, recipe.eval_batch_size, amp, channels_last)
        seconds = clock.seconds()
        state = None
        if keep_state:
            state = {"format": STATE_FORMAT, "arch": list(arch), "seed": int(seed), "epochs": spec.epochs,
                     "schedule_epochs": schedule, "batch_size": bs, "lr": lr, "n_train": n, "step": step,
                     "model": to_cpu(model.state_dict()), "optimizer": to_cpu(opt.state_dict()),
                     "generator": gen.get_state(), "curve": list(past.curve),
                     "train_loss": list(past.train_loss), "epoch_seconds": list(past.epoch_seconds),
                     "inherited": list(inherited), "morphism": morphism}
    return TrainResult(tuple(past.curve), tuple(past.train_loss), test_acc, seconds, bs, n, str(device),
                       epoch_seconds=tuple(past.epoch_seconds), test_seconds=max(0.0, seconds - mark),
                       state=state, inherited=tuple(inherited), morphism=morphism)


@dataclass
class _Past:
    """What the epochs before this call produced (empty for a fresh training)."""

    curve: list[float] = field(default_factory=list)
    train_loss: list[float] = field(default_factory=list)
    epoch_seconds: list[float] = field(default_factory=list)
    step: int = 0


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
    after a CUDA out-of-memory error (from scratch, even when resuming); a second OOM raises
    :class:`TrainingFailed`."""
    try:
        return train(arch, data, spec, seed, recipe, **kwargs)  # type: ignore[arg-type]
    except (torch.OutOfMemoryError, RuntimeError) as exc:
        if data.device.type != "cuda" or not _is_oom(exc):
            raise
        first = str(exc).splitlines()[0]
    torch.cuda.empty_cache()
    half = Recipe(**{**asdict(recipe), "batch_size": max(2, recipe.batch_size // 2), "lr": recipe.lr / 2})
    kwargs.pop("resume", None)  # a checkpoint holds the old batch's state: the retry starts over
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
