"""``live``: the oracle that trains networks of any trainable space (same interface as the tables).

``space`` names it (``nb201``, the default, ``nats-sss``, ``chain``, ``residual``, ``dense``, or a
:class:`~nasarena.spaces.base.SearchSpace` with the :mod:`nasarena.spaces.trainable` methods): the
space builds the network, counts its params/FLOPs and declares its own size knobs (NB201: channels,
cells; macro spaces: width_mult, depth_limit), which fidelities set beside the generic epochs,
data fraction and resolution.

``evaluate(arch, fidelity, rng)`` trains ``arch`` at one of the oracle's fidelities with one of
``n_seeds`` training seeds (drawn from the caller's generator, like a tabular oracle draws one of
its recorded seeds) and returns the final-epoch validation accuracy (percent) as ``score``, the
per-epoch validation accuracies as ``curve``, the measured training time in seconds as ``cost``
(CUDA events on a GPU, wall clock on a CPU), and params/FLOPs of the network actually trained
(the space's ``model_cost`` at the fidelity's size knobs and resolution).
Failures are results: a diverged loss, a CUDA OOM that persists at half batch, or any exception
gives ``ok=False`` with the reason, and the study goes on.

**Cache.** Every evaluation is stored (see :mod:`.cache`); re-asking a key returns the stored
evaluation without training. Its ``cost`` is the originally measured training time, so the study's
clock is charged again exactly as a tabular benchmark charges it (a replayed or resumed study
reproduces the same trajectory); ``extras["cached"]`` is 1 and ``extras["train_seconds"]`` is 0.

**Continue and warm start** (see docs/live.md). A fidelity's learning-rate schedule spans the top
epochs of its *ladder* (the offered fidelities that differ from it only in epochs), as NB201's 12
epochs are the first 12 of 200, so ``evaluate(..., start=handle)`` can continue the training behind
an earlier evaluation's ``handle`` (a small picklable :class:`~.cache.CacheKey`) from its checkpoint:
same numbers as straight through (bit for bit on a CPU), ``cost`` = the increment. ``inherit=handle``
copies every tensor whose name and shape match. A missing or damaged checkpoint is never used: the
oracle trains from scratch (a warm-start parent first), logs why, and charges the same cost.

**Final metric** (harness only): the test accuracy of ``arch`` trained at ``final_fidelity``
(default: the oracle's highest fidelity) with training seed ``final_seed`` (default 0). It is a
pure function of the architecture (the runner caches it per architecture) and comparable across
strategies whatever fidelities they searched at. The runner asks for it only when an architecture
becomes the incumbent, outside the study's clock (it is the measurement, not the search); with the
default ``n_seeds=1``, an incumbent evaluated at the final fidelity is that same cached training, so
nothing is trained twice. An incumbent found at a lower fidelity is trained once more at the final
fidelity; pass a cheaper ``final_fidelity`` to bound that. ``best_final`` is unknown (NaN) unless
given.

**Threads (CPU).** ``num_threads`` defaults to 2, lowered to ``$OMP_NUM_THREADS`` when that is set
(the study runner sets it to 1 in its worker processes): OpenMP threads that outnumber free cores
spin and can make a training 10x slower.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import math
import os
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch

from nasarena.errors import ConfigError, StrategyError
from nasarena.estimators.base import (
    CONTINUE,
    FULL,
    MORPHISM_EXTRA,
    WARM_START,
    Evaluation,
    Fidelity,
    Oracle,
)
from nasarena.estimators.live.args import flag, num, parse_fidelities
from nasarena.estimators.live.cache import CacheKey, EvalCache, continue_cost, now_utc
from nasarena.estimators.live.checkpoints import CheckpointError, CheckpointStore
from nasarena.estimators.live.data import canonical_name, load_dataset
from nasarena.estimators.live.trainer import (
    DeviceData,
    Recipe,
    TrainingFailed,
    TrainSpec,
    resolve_device,
    train_with_retry,
)
from nasarena.spaces.base import Arch, SearchSpace
from nasarena.spaces.morphisms import KINDS as MORPHISM_KINDS
from nasarena.spaces.nb201 import NB201Space
from nasarena.spaces.trainable import require_trainable, resolve_size

log = logging.getLogger(__name__)

CACHE_ENV = "NASARENA_LIVE_CACHE"
DEFAULT_CACHE = Path("~/.cache/nasarena/live")
# Cheap ladder for CPUs on the generated dataset (at the space's ``cpu_size`` knobs); NB201's own two
# schedules for CIFAR.
CPU_EPOCHS: tuple[tuple[int, float | None], ...] = ((1, 0.5), (3, None), (6, None))


def cpu_ladder(space: Any) -> tuple[Fidelity, ...]:
    """The CPU smoke ladder of ``space``: 1 epoch on half the data, 3 and 6 epochs, at its ``cpu_size``."""
    size = dict(getattr(space, "cpu_size", {}))
    return tuple(Fidelity(epochs=e, data_fraction=f, size=size) for e, f in CPU_EPOCHS)


CPU_LADDER: tuple[Fidelity, ...] = cpu_ladder(NB201Space())  # epochs 1 (half the data), 3, 6 at C=8, N=1
NB201_LADDER: tuple[Fidelity, ...] = (Fidelity(epochs=12), Fidelity(epochs=200))
#: Full values of the generic fields (a space's size knobs have theirs in ``space.size_knobs``).
FULL_VALUES = {"epochs": 200, "data_fraction": 1.0}
SCHEDULES = ("top", "own")


def _preserving(morphism: str | None) -> float:
    """1.0 when a warm start began with its parent's function (every change an exact morphism), 0.0
    when not, NaN for a training from scratch."""
    if not morphism:
        return math.nan
    return float(json.loads(morphism).get("kind") == "exact")


def _morphism_code(morphism: str | None) -> float:
    """``extras["morphism"]`` (:data:`~nasarena.estimators.base.MORPHISM_EXTRA`): the index of the warm
    start's kind in :data:`nasarena.spaces.morphisms.KINDS`, NaN for a training from scratch."""
    kind = json.loads(morphism).get("kind") if morphism else None
    return float(MORPHISM_KINDS.index(kind)) if kind in MORPHISM_KINDS else math.nan


class LiveOracle(Oracle):
    """Train networks of a trainable space with PyTorch (see the module docstring for the contract)."""

    name: ClassVar[str] = "live"
    datasets: ClassVar[tuple[str, ...]] = ("synthetic", "cifar10", "cifar100")
    metric: ClassVar[str] = "valid_acc_live"
    final_metric_name: ClassVar[str] = "test_acc_live"
    offers: ClassVar[frozenset[str]] = frozenset({"multi-fidelity", CONTINUE, WARM_START})

    def __init__(self, dataset: str = "synthetic", fidelities: Any = None, *,
                 data_dir: str | os.PathLike[str] | None = None,
                 cache_dir: str | os.PathLike[str] | None = None,
                 device: str = "auto", num_threads: int | None = None, batch_size: int | None = None,
                 lr: float = 0.1, weight_decay: float = 5e-4, n_seeds: int = 1,
                 final_fidelity: Any = None, final_seed: int = 0, best_final: float = math.nan,
                 amp: Any = None, channels_last: Any = None,
                 valid_fraction: float = 0.5, synthetic_train: int = 4000, synthetic_valid: int = 1000,
                 synthetic_test: int = 1000, synthetic_resolution: int = 16, synthetic_seed: int = 0,
                 schedule: str = "top", checkpoint_cap_mb: float = 1024.0,
                 space: str | SearchSpace = "nb201") -> None:
        self.dataset = canonical_name(dataset)
        if isinstance(space, str):
            from nasarena.registry import make_space

            space = make_space(space)
        self.space = require_trainable(space)
        self.device = resolve_device(device)
        if num_threads is None:
            num_threads = min(2, num(os.environ.get("OMP_NUM_THREADS") or 2, int, "OMP_NUM_THREADS"))
        self.num_threads = num(num_threads, int, "num_threads")
        self.n_seeds = num(n_seeds, int, "n_seeds")
        if self.n_seeds < 1 or self.num_threads < 1:
            raise ConfigError("n_seeds and num_threads must be >= 1")
        self.best_final = num(best_final, float, "best_final")
        self.amp, self.channels_last = flag(amp, "amp"), flag(channels_last, "channels_last")
        synthetic = {"n_train": num(synthetic_train, int, "synthetic_train"),
                     "n_valid": num(synthetic_valid, int, "synthetic_valid"),
                     "n_test": num(synthetic_test, int, "synthetic_test"),
                     "resolution": num(synthetic_resolution, int, "synthetic_resolution"),
                     "seed": num(synthetic_seed, int, "synthetic_seed")}
        self.splits = load_dataset(self.dataset, data_dir, num(valid_fraction, float, "valid_fraction"),
                                   synthetic)
        default_bs = 64 if self.dataset == "synthetic" else 256  # 4k images: 256 gives 16 steps/epoch
        self.recipe = Recipe(batch_size=num(batch_size, int, "batch_size") or default_bs,
                             lr=num(lr, float, "lr"), weight_decay=num(weight_decay, float, "weight_decay"))
        ladder = cpu_ladder(self.space) if self.dataset == "synthetic" else NB201_LADDER
        self.fidelities = parse_fidelities(ladder if fidelities is None else fidelities)
        for fid in self.fidelities:
            self.spec(fid)  # validate every fidelity now, not in the middle of a study
        self.final_fidelity = self.fidelities[-1] if final_fidelity is None \
            else self.check_fidelity(parse_fidelities(final_fidelity)[0])
        self.final_seed = num(final_seed, int, "final_seed")
        if schedule not in SCHEDULES:
            raise ConfigError(f"live oracle argument schedule must be one of {SCHEDULES}, got {schedule!r}")
        self.schedule = schedule
        self.schedule_epochs = {fid: self._schedule_of(fid) for fid in self.fidelities}
        own = self.space.live_variant()  # "" for NB201 and NATS-size: their keys stay as they were
        self.variant = f"{self.splits.fingerprint}-{self.recipe.fingerprint()}{self._schedule_tag()}" + \
            (f"-{own}" if own else "")
        if cache_dir is None:
            cache_dir = os.environ.get(CACHE_ENV) or DEFAULT_CACHE
        self.cache = None if str(cache_dir).lower() in ("none", "off", "") else EvalCache(cache_dir)
        cap = num(checkpoint_cap_mb, float, "checkpoint_cap_mb")
        self.checkpoints = None if self.cache is None else \
            CheckpointStore(self.cache.folder(self.dataset) / "checkpoints", int(cap * 1e6))
        self._data: dict[int, DeviceData] = {}
        self._seen: dict[CacheKey, dict[str, Any]] = {}
        self._handed: set[str] = set()  # digests of handles given out: evicted last

    # ---- fidelities ------------------------------------------------------------------------
    def spec(self, fidelity: Fidelity) -> TrainSpec:
        """The fully resolved training settings of a fidelity (None -> the full value; size knobs
        checked and filled in by the space)."""
        values = {**FULL_VALUES, "resolution": self.splits.resolution}
        values.update({k: getattr(fidelity, k) for k in values if getattr(fidelity, k) is not None})
        if values["resolution"] > self.splits.resolution:
            raise ConfigError(f"fidelity {fidelity.key()!r} asks resolution {values['resolution']} but "
                              f"{self.dataset} images are {self.splits.resolution}px")
        self.space.check_resolution(values["resolution"])
        return TrainSpec(**values, size=resolve_size(self.space, dict(fidelity.size)))

    def check_fidelity(self, fidelity: Fidelity | None) -> Fidelity:
        """Like the base method, but also accept a fidelity equal to an offered one once resolved.

        ``Fidelity()`` ("the oracle's full value") means the highest offered fidelity, as in the runner.
        """
        if fidelity is None or fidelity == FULL:
            return self.fidelities[-1]
        if fidelity in self.fidelities:
            return fidelity
        wanted = self.spec(fidelity)
        for offered in self.fidelities:
            if self.spec(offered) == wanted:
                return offered
        return super().check_fidelity(fidelity)

    @staticmethod
    def _ladder(spec: TrainSpec) -> tuple[Any, ...]:
        """What a continued training must keep: everything but the epochs."""
        return spec.data_fraction, spec.size, spec.resolution

    def _schedule_of(self, fid: Fidelity) -> int:
        """Schedule length of ``fid``: the top epochs of its ladder (``schedule="top"``) or its own."""
        spec = self.spec(fid)
        if self.schedule == "own":
            return spec.epochs
        ladder = self._ladder(spec)
        same = [self.spec(f).epochs for f in self.fidelities if self._ladder(self.spec(f)) == ladder]
        return max([spec.epochs, *same])

    def _schedule_tag(self) -> str:
        """Variant suffix naming the schedules, empty when every fidelity runs its own (as before
        continue existed, so such caches stay valid); other schedules give other results."""
        longer = sorted((f.key(), t) for f, t in self.schedule_epochs.items() if t != self.spec(f).epochs)
        if not longer:
            return ""
        return "-T" + hashlib.sha1(json.dumps(longer).encode()).hexdigest()[:6]

    def capabilities(self) -> frozenset[str]:
        """The base's ("multi-fidelity" with several fidelities), plus "warm-start" and, with top-epoch
        schedules, "continue" when a cache holds the checkpoints."""
        caps = set(super().capabilities())
        if self.cache is not None:
            caps.add(WARM_START)
            if self.schedule == "top":
                caps.add(CONTINUE)
        return frozenset(caps)

    def cost_of(self, arch: Arch, fidelity: Fidelity) -> tuple[float, float]:
        """(params in millions, MFLOPs) of the network trained at ``fidelity``."""
        s = self.spec(fidelity)
        return self.space.model_cost(arch, self.splits.num_classes, s.resolution, dict(s.size))

    def params(self, arch: Arch) -> float:
        """Params (millions) of the network at the oracle's highest fidelity."""
        return self.cost_of(arch, self.fidelities[-1])[0]

    # ---- evaluation ------------------------------------------------------------------------
    def evaluate(self, arch: Arch, fidelity: Fidelity | None, rng: np.random.Generator, *,
                 start: Any = None, inherit: Any = None) -> Evaluation:
        """Train (or read from the cache) ``arch`` at ``fidelity`` with a seed drawn from ``rng``.

        ``start``: the handle of an earlier evaluation of ``arch`` to continue (its seed is kept);
        ``inherit``: the handle of an evaluation (any arch) whose weights to start from. A seed is
        drawn from ``rng`` in every case, so the generator advances the same way for every kind.
        """
        fid = self.check_fidelity(fidelity)
        arch = self.space.validate(arch)
        seed = int(rng.integers(self.n_seeds))
        if start is not None and inherit is not None:
            raise StrategyError("an evaluation either continues (start) or warm-starts (inherit), not both")
        parent, resume, from_epochs = None, None, 0
        if start is not None:
            s = self._own_handle(start, "continue")
            if s.arch != self.space.to_string(arch):
                raise StrategyError(f"cannot continue {s.arch} as {self.space.to_string(arch)}: a continued "
                                    f"evaluation keeps its architecture (use a warm start for another one)")
            s_spec, spec = self.spec(Fidelity.parse(s.fidelity)), self.spec(fid)
            if s_spec.epochs > spec.epochs:
                raise StrategyError(f"cannot continue {s.fidelity} to the lower fidelity {fid.key()}")
            seed, parent = s.seed, s.parent
            if self._ladder(s_spec) == self._ladder(spec):
                resume, from_epochs = s, s_spec.epochs
            else:  # another data fraction/width/depth: nothing to reuse, the same numbers from scratch
                log.info("live: %s at %s cannot be continued to %s (only epochs may grow); training it "
                         "from scratch", s.arch, s.fidelity, fid.key())
        elif inherit is not None:
            parent = self._own_handle(inherit, "warm-start")
        key = self._key(arch, fid, seed, parent)
        record, cached, note = self._record(key, resume)
        return self._evaluation(arch, fid, key, record, cached, from_epochs, note)

    def _own_handle(self, handle: Any, what: str) -> CacheKey:
        """Check that ``handle`` is one of this oracle's (same data, recipe, offered fidelity)."""
        if self.checkpoints is None:
            raise StrategyError(f"the live oracle without a cache (cache_dir=none) cannot {what}: the "
                                f"checkpoints live in the cache; give it a cache_dir")
        if not isinstance(handle, CacheKey):
            raise StrategyError(f"{what}: {handle!r} is not a handle of the live oracle")
        if (handle.dataset, handle.variant) != (self.dataset, self.variant):
            raise StrategyError(f"{what}: the handle is of {handle.dataset} variant {handle.variant}, this "
                                f"oracle trains {self.dataset} variant {self.variant}")
        self.check_fidelity(Fidelity.parse(handle.fidelity))
        return handle

    def _key(self, arch: Arch, fid: Fidelity, seed: int, parent: CacheKey | None = None) -> CacheKey:
        return CacheKey(self.space.to_string(arch), self.dataset, self.variant, fid.key(), seed, parent)

    def _record(self, key: CacheKey, resume: CacheKey | None = None) -> tuple[dict[str, Any], bool, dict]:
        """The stored record of ``key``, training it first when it is new (from ``resume``'s
        checkpoint if given). Returns (record, cached, what happened in this call)."""
        memo = self._seen.get(key)
        if memo is not None:
            return memo, True, {}
        record = self.cache.get(key) if self.cache is not None else None
        cached, note = record is not None, {}
        if record is None:
            record, cacheable, note, _ = self._train(key, resume)
            if cacheable and self.cache is not None:
                try:
                    self.cache.put(record, key)
                except OSError as exc:  # a full or read-only disk must not lose the result
                    log.warning("could not write the live cache at %s: %s", self.cache.root, exc)
        if record["ok"] or cached:
            self._seen[key] = record
        return record, cached, note

    def _train(self, key: CacheKey, resume: CacheKey | None) -> tuple[dict[str, Any], bool, dict, Any]:
        """Run one training; never raises except on interrupt.

        Returns (record, cacheable, note, final state). ``note`` has ``spent`` (seconds trained in
        this call, warm-start parents included), ``resumed`` and ``retrained`` (why a checkpoint could
        not be used).
        """
        arch, fid = self.space.from_string(key.arch), Fidelity.parse(key.fidelity)
        spec, schedule = self.spec(fid), self._schedule_of(fid)
        params, flops = self.cost_of(arch, fid)
        record: dict[str, Any] = {
            "arch": key.arch, "dataset": key.dataset, "variant": key.variant, "fidelity": key.fidelity,
            "seed": key.seed, "params": params, "flops": flops, "epochs": spec.epochs,
            "data_fraction": spec.data_fraction, "channels": dict(spec.size).get("channels"),
            "cells": dict(spec.size).get("cells"),
            "resolution": spec.resolution, "batch_size": self.recipe.batch_size, "device": str(self.device),
            "torch": torch.__version__, "created": now_utc(), "score": math.nan, "final": math.nan,
            "cost": 0.0, "curve": None, "train_loss": None, "ok": False, "error": None, "n_train": None,
            "schedule_epochs": schedule,
        }
        note: dict[str, Any] = {"spent": 0.0, "resumed": False, "retrained": ""}
        state = None
        if resume is not None:
            state, why = self.checkpoints.load(resume.digest())
            if state is None:
                note["retrained"] = f"checkpoint of {resume.arch} at {resume.fidelity} {why}"
        try:
            result = None
            if state is not None:
                try:
                    result = self._fit(arch, spec, key.seed, schedule, resume=state)
                    note["resumed"] = True
                except CheckpointError as exc:
                    note["retrained"] = f"checkpoint of {resume.arch} at {resume.fidelity} is unusable: {exc}"
            if note["retrained"]:
                log.warning("live: %s; training %s at %s from scratch", note["retrained"], key.arch,
                            key.fidelity)
            if result is None:
                init, init_arch = None, None
                if key.parent is not None:  # warm start: morphisms map the parent's weights (.morphism)
                    init, note["spent"] = self._weights(key.parent)
                    init_arch = self.space.from_string(key.parent.arch)
                result = self._fit(arch, spec, key.seed, schedule, init=init, init_arch=init_arch)
        except TrainingFailed as exc:
            log.warning("live training of %s at %s failed: %s", key.arch, key.fidelity, exc.reason)
            # divergence is a property of (arch, seed, recipe): record it; OOM depends on the machine
            record.update(error=exc.reason, cost=exc.seconds)
            note["spent"] += exc.seconds
            return record, "out of memory" not in exc.reason, note, None
        except Exception as exc:  # noqa: BLE001 - one bad training must not end the study
            log.warning("live training of %s at %s raised", key.arch, key.fidelity, exc_info=True)
            record.update(error=f"{type(exc).__name__}: {exc}")
            return record, False, note, None
        note["spent"] += result.seconds
        # a continued record costs what the straight-through training would: its epochs + test pass
        cost = sum(result.epoch_seconds) + result.test_seconds if note["resumed"] else result.seconds
        record.update(ok=True, score=result.valid_curve[-1], final=result.test_acc, cost=cost,
                      curve=list(result.valid_curve), train_loss=list(result.train_loss),
                      batch_size=result.batch_size, n_train=result.n_train, device=result.device,
                      epoch_seconds=list(result.epoch_seconds), test_seconds=result.test_seconds,
                      inherited=list(result.inherited), n_tensors=len(result.state["model"]),
                      morphism=result.morphism)
        if self.checkpoints is not None:
            self.checkpoints.save(key.digest(), result.state, self._handed)
        return record, True, note, result.state

    def _fit(self, arch: Arch, spec: TrainSpec, seed: int, schedule: int, **kw: Any) -> Any:
        return train_with_retry(arch, self._device_data(spec.resolution), spec, seed, self.recipe,
                                num_threads=self.num_threads, amp=self.amp, channels_last=self.channels_last,
                                schedule_epochs=schedule, keep_state=True, space=self.space, **kw)

    def _weights(self, parent: CacheKey) -> tuple[dict[str, Any], float]:
        """The weights behind ``parent`` and the seconds spent to get them: its checkpoint, or, when
        that is missing or damaged, a retraining of the parent (which writes its checkpoint again)."""
        state, why = self.checkpoints.load(parent.digest())
        if state is not None and isinstance(state.get("model"), dict):
            return state["model"], 0.0
        log.warning("live: warm-start parent %s at %s: checkpoint %s; retraining it first", parent.arch,
                    parent.fidelity, why or "has no weights")
        record, _, note, state = self._train(parent, None)
        if state is None:
            raise TrainingFailed(f"the warm-start parent {parent.arch} at {parent.fidelity} could not be "
                                 f"retrained: {record['error']}", seconds=note["spent"])
        return state["model"], note["spent"]

    def _device_data(self, resolution: int) -> DeviceData:
        data = self._data.get(resolution)
        if data is None:
            data = self._data[resolution] = DeviceData(self.splits, resolution, self.device)
        return data

    def _evaluation(self, arch: Arch, fid: Fidelity, key: CacheKey, rec: dict[str, Any], cached: bool,
                    from_epochs: int, note: dict[str, Any]) -> Evaluation:
        extras = {"seed": float(rec["seed"]), "cached": float(cached),
                  "train_seconds": 0.0 if cached else float(note.get("spent", rec["cost"])),
                  "batch_size": float(rec["batch_size"] or math.nan),
                  "continued_from_epochs": float(from_epochs), "resumed": float(bool(note.get("resumed"))),
                  "retrained": float(bool(note.get("retrained"))),
                  "inherited_tensors": float(len(rec.get("inherited") or ())),
                  "model_tensors": float(rec.get("n_tensors") or math.nan),
                  "function_preserving": _preserving(rec.get("morphism")),
                  MORPHISM_EXTRA: _morphism_code(rec.get("morphism"))}
        for name in ("epochs", "data_fraction", "channels", "cells", "resolution"):
            if rec[name] is not None:
                extras[name] = float(rec[name])
        for name, value in self.spec(fid).size:  # the space's own size knobs (NB201's are above)
            if value is not None:
                extras.setdefault(name, float(value))
        if not rec["ok"]:
            ev = Evaluation.failed(arch, fid, rec["error"] or "unknown failure", cost=float(rec["cost"]))
            return dataclasses.replace(ev, params=float(rec["params"]), flops=float(rec["flops"]),
                                       extras=extras)
        cost = continue_cost(rec, from_epochs) if from_epochs else float(rec["cost"])
        handle = None
        if self.checkpoints is not None:
            self._handed.add(key.digest())
            self.checkpoints.touch(key.digest())
            handle = key
        return Evaluation(arch=arch, fidelity=fid, score=float(rec["score"]), cost=cost,
                          params=float(rec["params"]), flops=float(rec["flops"]),
                          curve=tuple(rec["curve"]), extras=extras, handle=handle)

    # ---- harness-only ----------------------------------------------------------------------
    def final_metric(self, arch: Arch) -> float:
        """Test accuracy (percent) at ``final_fidelity`` with ``final_seed``, trained on first use.

        NaN when that training failed. See the module docstring for why this is the definition.
        """
        rec, _, _ = self._record(self._key(self.space.validate(arch), self.final_fidelity, self.final_seed))
        return float(rec["final"]) if rec["ok"] else math.nan

    def describe(self) -> dict[str, Any]:
        """Base description plus device, dataset variant, recipe and final-metric policy."""
        return {**super().describe(), "device": str(self.device), "variant": self.variant,
                "recipe": self.recipe.__dict__, "n_seeds": self.n_seeds,
                "final_fidelity": self.final_fidelity.key(), "final_seed": self.final_seed,
                "cache": str(self.cache.root) if self.cache is not None else None,
                "schedule": self.schedule,
                "schedule_epochs": {f.key(): t for f, t in self.schedule_epochs.items()},
                "capabilities": sorted(self.capabilities()),
                "checkpoint_cap_mb": None if self.checkpoints is None else self.checkpoints.cap_bytes / 1e6}


__all__ = ["CPU_LADDER", "LiveOracle", "NB201_LADDER", "parse_fidelities"]
