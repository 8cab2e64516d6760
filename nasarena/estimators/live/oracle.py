"""``live``: the oracle that trains NB201 networks (same interface as the tabular oracles).

``evaluate(arch, fidelity, rng)`` trains ``arch`` at one of the oracle's fidelities with one of
``n_seeds`` training seeds (drawn from the caller's generator, like a tabular oracle draws one of
its recorded seeds) and returns the final-epoch validation accuracy (percent) as ``score``, the
per-epoch validation accuracies as ``curve``, the measured training time in seconds as ``cost``
(CUDA events on a GPU, wall clock on a CPU), and params/FLOPs of the network actually trained
(from :mod:`nasarena.spaces.nb201_cost` at the fidelity's channels, cells and resolution).
Failures are results: a diverged loss, a CUDA OOM that persists at half batch, or any exception
gives ``ok=False`` with the reason, and the study goes on.

**Cache.** Every evaluation is stored (see :mod:`.cache`); re-asking a key returns the stored
evaluation without training. Its ``cost`` is the originally measured training time, so the study's
clock is charged again exactly as a tabular benchmark charges it (a replayed or resumed study
reproduces the same trajectory); ``extras["cached"]`` is 1 and ``extras["train_seconds"]`` is 0.

**Final metric** (harness only): the test accuracy of ``arch`` trained at ``final_fidelity``
(default: the oracle's highest fidelity) with training seed ``final_seed`` (default 0). It is a
pure function of the architecture (the runner caches it per architecture) and comparable across
strategies whatever fidelities they searched at. The runner asks for it when an architecture is
first proposed, before evaluating it, so the oracle trains that key then, outside the study's clock
(it is the measurement, not the search); with the default ``n_seeds=1`` a search at the final
fidelity then finds its evaluation in the cache and is charged the measured cost, so nothing is
trained twice. A multi-fidelity strategy makes every proposed architecture train once at the final
fidelity as well; pass a cheaper ``final_fidelity`` to bound that. ``best_final`` is unknown (NaN)
unless given.

**Threads (CPU).** ``num_threads`` defaults to 2, lowered to ``$OMP_NUM_THREADS`` when that is set
(the study runner sets it to 1 in its worker processes): OpenMP threads that outnumber free cores
spin and can make a training 10x slower.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import os
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch

from nasarena.errors import ConfigError
from nasarena.estimators.base import FULL, Evaluation, Fidelity, Oracle
from nasarena.estimators.live.cache import CacheKey, EvalCache, now_utc
from nasarena.estimators.live.data import canonical_name, load_dataset
from nasarena.estimators.live.trainer import (
    DeviceData,
    Recipe,
    TrainingFailed,
    TrainSpec,
    resolve_device,
    train_with_retry,
)
from nasarena.spaces.base import Arch
from nasarena.spaces.nb201 import NB201Space
from nasarena.spaces.nb201_cost import params_and_flops

log = logging.getLogger(__name__)

CACHE_ENV = "NASARENA_LIVE_CACHE"
DEFAULT_CACHE = Path("~/.cache/nasarena/live")
# Cheap ladder for CPUs on the generated dataset; NB201's own two schedules for CIFAR.
CPU_LADDER: tuple[Fidelity, ...] = (
    Fidelity(epochs=1, data_fraction=0.5, channels=8, cells=1),
    Fidelity(epochs=3, channels=8, cells=1),
    Fidelity(epochs=6, channels=8, cells=1),
)
NB201_LADDER: tuple[Fidelity, ...] = (Fidelity(epochs=12), Fidelity(epochs=200))
FULL_VALUES = {"epochs": 200, "data_fraction": 1.0, "channels": 16, "cells": 5}


def parse_fidelities(value: Any) -> tuple[Fidelity, ...]:
    """Fidelities from Fidelity objects, dicts, keys, or one string of keys joined by ``;``.

    The string form is what ``--oracle-arg fidelities=epochs=1,channels=8;epochs=3,channels=8``
    passes on the command line.
    """
    if isinstance(value, Fidelity):
        return (value,)
    if isinstance(value, str):
        value = [part for part in value.replace("|", ";").split(";") if part.strip()]
    out = []
    for item in value:
        if isinstance(item, Fidelity):
            out.append(item)
        elif isinstance(item, dict):
            out.append(Fidelity(**item))
        elif isinstance(item, str):
            out.append(Fidelity.parse(item.strip()))
        else:
            raise ConfigError(f"cannot read a fidelity from {item!r}; "
                              f"use 'epochs=3,channels=8' or a Fidelity")
    if not out:
        raise ConfigError("the live oracle needs at least one fidelity")
    return tuple(out)


def _num(value: Any, kind: type, name: str) -> Any:
    """Coerce command-line strings to numbers, with an error naming the argument."""
    if value is None or isinstance(value, kind) and not isinstance(value, bool):
        return value
    try:
        return kind(value)
    except (TypeError, ValueError):
        raise ConfigError(f"live oracle argument {name} must be {kind.__name__}, got {value!r}") from None


def _flag(value: Any, name: str) -> bool | None:
    if value is None or isinstance(value, bool):
        return value
    text = str(value).lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off"):
        return False
    if text in ("auto", "none"):
        return None
    raise ConfigError(f"live oracle argument {name} must be true/false/auto, got {value!r}")


class LiveOracle(Oracle):
    """Train NB201 networks with PyTorch (see the module docstring for the contract)."""

    name: ClassVar[str] = "live"
    datasets: ClassVar[tuple[str, ...]] = ("synthetic", "cifar10", "cifar100")
    metric: ClassVar[str] = "valid_acc_live"
    final_metric_name: ClassVar[str] = "test_acc_live"

    def __init__(self, dataset: str = "synthetic", fidelities: Any = None, *,
                 data_dir: str | os.PathLike[str] | None = None,
                 cache_dir: str | os.PathLike[str] | None = None,
                 device: str = "auto", num_threads: int | None = None, batch_size: int | None = None,
                 lr: float = 0.1, weight_decay: float = 5e-4, n_seeds: int = 1,
                 final_fidelity: Any = None, final_seed: int = 0, best_final: float = math.nan,
                 amp: Any = None, channels_last: Any = None,
                 valid_fraction: float = 0.5, synthetic_train: int = 4000, synthetic_valid: int = 1000,
                 synthetic_test: int = 1000, synthetic_resolution: int = 16, synthetic_seed: int = 0) -> None:
        self.dataset = canonical_name(dataset)
        self.space = NB201Space()
        self.device = resolve_device(device)
        if num_threads is None:
            num_threads = min(2, _num(os.environ.get("OMP_NUM_THREADS") or 2, int, "OMP_NUM_THREADS"))
        self.num_threads = _num(num_threads, int, "num_threads")
        self.n_seeds = _num(n_seeds, int, "n_seeds")
        if self.n_seeds < 1 or self.num_threads < 1:
            raise ConfigError("n_seeds and num_threads must be >= 1")
        self.best_final = _num(best_final, float, "best_final")
        self.amp, self.channels_last = _flag(amp, "amp"), _flag(channels_last, "channels_last")
        synthetic = {"n_train": _num(synthetic_train, int, "synthetic_train"),
                     "n_valid": _num(synthetic_valid, int, "synthetic_valid"),
                     "n_test": _num(synthetic_test, int, "synthetic_test"),
                     "resolution": _num(synthetic_resolution, int, "synthetic_resolution"),
                     "seed": _num(synthetic_seed, int, "synthetic_seed")}
        self.splits = load_dataset(self.dataset, data_dir, _num(valid_fraction, float, "valid_fraction"),
                                   synthetic)
        default_bs = 64 if self.dataset == "synthetic" else 256  # 4k images: 256 gives 16 steps/epoch
        self.recipe = Recipe(batch_size=_num(batch_size, int, "batch_size") or default_bs,
                             lr=_num(lr, float, "lr"), weight_decay=_num(weight_decay, float, "weight_decay"))
        ladder = CPU_LADDER if self.dataset == "synthetic" else NB201_LADDER
        self.fidelities = parse_fidelities(ladder if fidelities is None else fidelities)
        for fid in self.fidelities:
            self.spec(fid)  # validate every fidelity now, not in the middle of a study
        self.final_fidelity = self.fidelities[-1] if final_fidelity is None \
            else self.check_fidelity(parse_fidelities(final_fidelity)[0])
        self.final_seed = _num(final_seed, int, "final_seed")
        self.variant = f"{self.splits.fingerprint}-{self.recipe.fingerprint()}"
        if cache_dir is None:
            cache_dir = os.environ.get(CACHE_ENV) or DEFAULT_CACHE
        self.cache = None if str(cache_dir).lower() in ("none", "off", "") else EvalCache(cache_dir)
        self._data: dict[int, DeviceData] = {}
        self._seen: dict[tuple[Arch, Fidelity, int], dict[str, Any]] = {}

    # ---- fidelities ------------------------------------------------------------------------
    def spec(self, fidelity: Fidelity) -> TrainSpec:
        """The fully resolved training settings of a fidelity (None -> NB201's full value)."""
        values = {**FULL_VALUES, "resolution": self.splits.resolution,
                  **{k: v for k, v in fidelity.as_dict().items()}}
        if values["resolution"] > self.splits.resolution:
            raise ConfigError(f"fidelity {fidelity.key()!r} asks resolution {values['resolution']} but "
                              f"{self.dataset} images are {self.splits.resolution}px")
        return TrainSpec(**values)

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

    def cost_of(self, arch: Arch, fidelity: Fidelity) -> tuple[float, float]:
        """(params in millions, MFLOPs) of the network trained at ``fidelity``."""
        s = self.spec(fidelity)
        return params_and_flops(arch, self.splits.num_classes, s.resolution, s.channels, s.cells)

    def params(self, arch: Arch) -> float:
        """Params (millions) of the network at the oracle's highest fidelity."""
        return self.cost_of(arch, self.fidelities[-1])[0]

    # ---- evaluation ------------------------------------------------------------------------
    def evaluate(self, arch: Arch, fidelity: Fidelity | None, rng: np.random.Generator) -> Evaluation:
        """Train (or read from the cache) ``arch`` at ``fidelity`` with a seed drawn from ``rng``."""
        fid = self.check_fidelity(fidelity)
        arch = self.space.validate(arch)
        seed = int(rng.integers(self.n_seeds))
        record, cached = self._record(arch, fid, seed)
        return self._evaluation(arch, fid, record, cached)

    def _key(self, arch: Arch, fid: Fidelity, seed: int) -> CacheKey:
        return CacheKey(self.space.to_string(arch), self.dataset, self.variant, fid.key(), seed)

    def _record(self, arch: Arch, fid: Fidelity, seed: int) -> tuple[dict[str, Any], bool]:
        """The stored record of (arch, fidelity, seed), training it first when it is new."""
        memo = self._seen.get((arch, fid, seed))
        if memo is not None:
            return memo, True
        key = self._key(arch, fid, seed)
        record = self.cache.get(key) if self.cache is not None else None
        cached = record is not None
        if record is None:
            record, cacheable = self._train(arch, fid, seed, key)
            if cacheable and self.cache is not None:
                try:
                    self.cache.put(record)
                except OSError as exc:  # a full or read-only disk must not lose the result
                    log.warning("could not write the live cache at %s: %s", self.cache.root, exc)
        if record["ok"] or cached:
            self._seen[(arch, fid, seed)] = record
        return record, cached

    def _train(self, arch: Arch, fid: Fidelity, seed: int, key: CacheKey) -> tuple[dict[str, Any], bool]:
        """Run one training; never raises except on interrupt. Returns (record, cacheable)."""
        spec = self.spec(fid)
        params, flops = self.cost_of(arch, fid)
        record: dict[str, Any] = {
            "arch": key.arch, "dataset": key.dataset, "variant": key.variant, "fidelity": key.fidelity,
            "seed": seed, "params": params, "flops": flops, "epochs": spec.epochs,
            "data_fraction": spec.data_fraction, "channels": spec.channels, "cells": spec.cells,
            "resolution": spec.resolution, "batch_size": self.recipe.batch_size, "device": str(self.device),
            "torch": torch.__version__, "created": now_utc(), "score": math.nan, "final": math.nan,
            "cost": 0.0, "curve": None, "train_loss": None, "ok": False, "error": None, "n_train": None,
        }
        try:
            result = train_with_retry(arch, self._device_data(spec.resolution), spec, seed, self.recipe,
                                      num_threads=self.num_threads, amp=self.amp,
                                      channels_last=self.channels_last)
        except TrainingFailed as exc:
            log.warning("live training of %s at %s failed: %s", key.arch, key.fidelity, exc.reason)
            # divergence is a property of (arch, seed, recipe): record it; OOM depends on the machine
            record.update(error=exc.reason, cost=exc.seconds)
            return record, "out of memory" not in exc.reason
        except Exception as exc:  # noqa: BLE001 - one bad training must not end the study
            log.warning("live training of %s at %s raised", key.arch, key.fidelity, exc_info=True)
            record.update(error=f"{type(exc).__name__}: {exc}")
            return record, False
        record.update(ok=True, score=result.valid_curve[-1], final=result.test_acc, cost=result.seconds,
                      curve=list(result.valid_curve), train_loss=list(result.train_loss),
                      batch_size=result.batch_size, n_train=result.n_train, device=result.device)
        return record, True

    def _device_data(self, resolution: int) -> DeviceData:
        data = self._data.get(resolution)
        if data is None:
            data = self._data[resolution] = DeviceData(self.splits, resolution, self.device)
        return data

    def _evaluation(self, arch: Arch, fid: Fidelity, rec: dict[str, Any], cached: bool) -> Evaluation:
        extras = {"seed": float(rec["seed"]), "cached": float(cached),
                  "train_seconds": 0.0 if cached else float(rec["cost"]),
                  "batch_size": float(rec["batch_size"] or math.nan)}
        for name in ("epochs", "data_fraction", "channels", "cells", "resolution"):
            extras[name] = float(rec[name])
        if not rec["ok"]:
            ev = Evaluation.failed(arch, fid, rec["error"] or "unknown failure", cost=float(rec["cost"]))
            return dataclasses.replace(ev, params=float(rec["params"]), flops=float(rec["flops"]),
                                       extras=extras)
        return Evaluation(arch=arch, fidelity=fid, score=float(rec["score"]), cost=float(rec["cost"]),
                          params=float(rec["params"]), flops=float(rec["flops"]),
                          curve=tuple(rec["curve"]), extras=extras)

    # ---- harness-only ----------------------------------------------------------------------
    def final_metric(self, arch: Arch) -> float:
        """Test accuracy (percent) at ``final_fidelity`` with ``final_seed``, trained on first use.

        NaN when that training failed. See the module docstring for why this is the definition.
        """
        rec, _ = self._record(self.space.validate(arch), self.final_fidelity, self.final_seed)
        return float(rec["final"]) if rec["ok"] else math.nan

    def describe(self) -> dict[str, Any]:
        """Base description plus device, dataset variant, recipe and final-metric policy."""
        return {**super().describe(), "device": str(self.device), "variant": self.variant,
                "recipe": self.recipe.__dict__, "n_seeds": self.n_seeds,
                "final_fidelity": self.final_fidelity.key(), "final_seed": self.final_seed,
                "cache": str(self.cache.root) if self.cache is not None else None}


__all__ = ["CPU_LADDER", "LiveOracle", "NB201_LADDER", "parse_fidelities"]
