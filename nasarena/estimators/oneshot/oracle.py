"""``supernet``: the one-shot estimator of NB201 (weight sharing), offered to strategies as shared work.

A one-shot search (DARTS, GDAS, RSPS, SETN, ENAS; :mod:`nasarena.strategies.oneshot`) asks for
**shared work** ``SharedWork("supernet", steps=1, params={"method": ..., "epoch": k, ...})``: one
epoch of supernet training by that method (:mod:`.search`), charged to the run's clock with its
measured seconds. Epoch 1 starts a new search (new weights and architecture parameters drawn from
the run's oracle generator), so one oracle object can serve the runs of a study one after the
other; a later epoch must be the next one and carry the same settings. The shared evaluation's
``extras`` tell the strategy what it may know: the architecture logits (``alpha:<edge>:<op>``), the
training losses, tau, the learning rate.

``evaluate(arch, Fidelity(epochs=k), rng)`` scores ``arch`` on the supernet as it is now: the
accuracy (%) of the fixed architecture with the shared weights on the scoring images of the
architecture half (the same images for every candidate, so scores are comparable), at the measured
cost of that forward pass. The fidelity ``epochs=k`` is the label "after k supernet epochs": the
runner ranks the incumbent by fidelity first, so after each epoch the architecture a strategy
derives becomes the incumbent, and one-shot methods appear in the same anytime plots as every
other strategy. ``extras["supernet_epochs"]`` records the epochs actually trained. Before any
shared work, scores come from an untrained supernet (seed 0).

**Final metric** (harness only): NB201's 200-epoch test accuracy (seed mean) of the architecture on
``table`` (cifar10-valid: CIFAR-10's test split, the number the literature reports), read from the
table shipped with nasarena. The supernet itself trains on ``dataset``: ``synthetic`` (generated
images, the default: no download) or CIFAR from a local folder. With generated data the search
signal is *not* CIFAR's, so a one-shot pick's NB201 accuracy says how well a supernet trained on
other data transfers, not what the method achieves on CIFAR; the oracle's description says so.

This oracle is not a pure function of (architecture, fidelity, draw): scores depend on the
supernet's training so far, which is what weight sharing means. The runner evaluates proposals in
ask order, so a run is still reproducible from its seed.
"""

from __future__ import annotations

import math
from typing import Any, ClassVar

import numpy as np

from nasarena.errors import ConfigError, StrategyError
from nasarena.estimators.base import (
    FULL,
    MULTI_FIDELITY,
    SHARED,
    SUPERNET_MODES,
    Evaluation,
    Fidelity,
    Oracle,
    SharedWork,
    supernet_mode,
)
from nasarena.estimators.boundary import validated
from nasarena.estimators.live.args import default_threads, flag, num, synthetic_args
from nasarena.estimators.live.data import canonical_name, load_dataset
from nasarena.estimators.live.device_data import DeviceData, resolve_device
from nasarena.estimators.oneshot.search import SupernetSearch, cpu_threads, timed
from nasarena.estimators.oneshot.settings import SearchSettings
from nasarena.spaces.base import Arch
from nasarena.spaces.nb201 import NB201Space

WORK_NAME = "supernet"


class NB201TableFinal(Oracle):
    """An oracle whose final metric is NB201's 200-epoch test accuracy on ``table`` (shipped data).

    Shared by the one-shot oracles: what they score is their own, what results are reported in is
    the table's, so one-shot and proxy searches are comparable with every table-based study.
    """

    final_metric_name: ClassVar[str] = "test_acc_200ep_seed_mean"

    def _use_table(self, table: str) -> None:
        from nasarena.estimators.nb201_lite import NB201LiteOracle

        self._table = NB201LiteOracle(table, test_accuracy=True)
        self.table = self._table.dataset
        self.best_final = self._table.best_final

    def final_metric(self, arch: Arch) -> float:
        """NB201's 200-epoch test accuracy (seed mean) on ``table``: harness only."""
        return self._table.final_metric(arch)

    def params(self, arch: Arch) -> float:
        """Params (millions) of the full-size NB201 network on ``table``."""
        return self._table.params(arch)


class SupernetOracle(NB201TableFinal):
    """NB201 supernet as shared work, scores of architectures on it, NB201 test accuracy as final."""

    name: ClassVar[str] = "supernet"
    datasets: ClassVar[tuple[str, ...]] = ("synthetic", "cifar10", "cifar100")
    metric: ClassVar[str] = "supernet_acc"
    offers: ClassVar[frozenset[str]] = frozenset(
        {MULTI_FIDELITY, SHARED, *map(supernet_mode, SUPERNET_MODES)}
    )
    #: The method whose settings build the untrained supernet that scores before any shared work.
    scoring_method: ClassVar[str] = "darts"

    def __init__(
        self,
        dataset: str = "synthetic",
        *,
        epochs: int = 50,
        table: str = "cifar10-valid",
        channels: int = 16,
        cells: int = 5,
        resolution: int | None = None,
        device: str = "cpu",
        num_threads: int | None = None,
        affine: Any = False,
        track_running_stats: Any = False,
        score_images: int = 512,
        data_dir: str | None = None,
        synthetic_train: int = 4000,
        synthetic_valid: int = 100,
        synthetic_test: int = 100,
        synthetic_resolution: int = 16,
        synthetic_seed: int = 0,
        quality_sample: int = 0,
        quality_seed: int = 0,
    ) -> None:
        self.dataset = canonical_name(dataset)
        self.space = NB201Space()
        self.epochs = num(epochs, int, "epochs")
        self.channels, self.cells = num(channels, int, "channels"), num(cells, int, "cells")
        if self.epochs < 1 or self.channels < 1 or self.cells < 0:
            raise ConfigError(
                f"supernet oracle needs epochs >= 1, channels >= 1, cells >= 0; got "
                f"{self.epochs}, {self.channels}, {self.cells}"
            )
        self.fidelities = tuple(Fidelity(epochs=e) for e in range(1, self.epochs + 1))
        self.device = resolve_device(device)
        self.num_threads = default_threads(num_threads)
        self.affine = bool(flag(affine, "affine"))
        self.track = bool(flag(track_running_stats, "track_running_stats"))
        self.score_images = num(score_images, int, "score_images")
        self._use_table(table)
        self._synthetic = synthetic_args(
            synthetic_train, synthetic_valid, synthetic_test, synthetic_resolution, synthetic_seed
        )
        self._data_dir = data_dir
        self._resolution = num(resolution, int, "resolution")
        self._data: DeviceData | None = None
        self._search: SupernetSearch | None = None
        self._valid: dict[Any, Arch] = {}
        self._init_quality(quality_sample, quality_seed)

    def _init_quality(self, quality_sample: Any, quality_seed: Any) -> None:
        """How good the supernet is, measured at the end of a run (0: off; see end_of_run)."""
        self.quality_sample = num(quality_sample, int, "quality_sample")
        self.quality_seed = num(quality_seed, int, "quality_seed")
        if self.quality_sample and self.quality_sample < 2:
            raise ConfigError(
                f"quality_sample must be 0 (off) or >= 2 architectures, got {self.quality_sample}"
            )
        self.trained_seconds = 0.0  # measured seconds of the current search's supernet training

    # ---- data and state ---------------------------------------------------------------------------
    def data(self) -> DeviceData:
        """The training images on the device (loaded once, on first use)."""
        if self._data is None:
            splits = load_dataset(self.dataset, self._data_dir, synthetic=self._synthetic)
            self._data = DeviceData(splits, self._resolution or splits.resolution, self.device)
        return self._data

    def _new_search(self, settings: SearchSettings, seed: int) -> SupernetSearch:
        return SupernetSearch(
            self.data(),
            settings,
            self.epochs,
            self.channels,
            self.cells,
            seed,
            affine=self.affine,
            track_running_stats=self.track,
            score_images=self.score_images,
        )

    @property
    def search(self) -> SupernetSearch | None:
        """The current search (None before the first shared work)."""
        return self._search

    # ---- the contract ----------------------------------------------------------------------------
    def capabilities(self) -> frozenset[str]:
        """ "shared" (supernet epochs) in every weight-step mode ("supernet:<mode>"), plus
        "multi-fidelity" when configured for more than one epoch."""
        return super().capabilities() | {SHARED, *map(supernet_mode, SUPERNET_MODES)}

    def run_shared(self, work: SharedWork, rng: np.random.Generator) -> Evaluation:
        """One epoch of supernet training (see the module docstring); measured seconds as cost.

        Work of another name is a failed evaluation naming what this oracle does (a result, not a crash).
        """
        if work.name != WORK_NAME:
            return Evaluation(
                None,
                FULL,
                math.nan,
                0.0,
                ok=False,
                error=f"oracle 'supernet' runs shared work named {WORK_NAME!r}, not {work.name!r}",
            )
        params = dict(work.params)
        epoch = int(params.pop("epoch", 1))
        archs = params.pop("archs", None)
        settings = SearchSettings.from_params(params)
        with cpu_threads(self.device, self.num_threads):
            if epoch == 1:
                self._search = self._new_search(settings, int(rng.integers(2**62)))
            else:
                self._check_next(epoch, settings)
            search = self._search
            assert search is not None
            if epoch > self.epochs:
                raise StrategyError(
                    f"supernet oracle was configured for {self.epochs} epochs (its cosine "
                    f"schedule length); epoch {epoch} was asked"
                )
            chosen = [tuple(int(v) for v in self.space.validate(tuple(a))) for a in archs] if archs else None
            stats, seconds = timed(search.train_epoch, chosen)
        self.trained_seconds = seconds + (self.trained_seconds if epoch > 1 else 0.0)
        return Evaluation(None, FULL, stats["w_acc"], seconds, extras={**stats, **search.alpha_extras()})

    def _check_next(self, epoch: int, settings: SearchSettings) -> None:
        search = self._search
        if search is None or epoch != search.done + 1:
            done = 0 if search is None else search.done
            raise StrategyError(
                f"supernet work for epoch {epoch}, but the supernet has trained {done} "
                f"epoch(s); ask epochs in order, starting with epoch 1 (a new search)"
            )
        if settings != search.settings:
            raise StrategyError(
                f"supernet work for epoch {epoch} changes the search settings "
                f"({settings} vs {search.settings}); keep them for the whole search"
            )

    def evaluate(
        self,
        arch: Arch,
        fidelity: Fidelity | None,
        rng: np.random.Generator,
        *,
        start: Any = None,
        inherit: Any = None,
    ) -> Evaluation:
        """Accuracy (%) of ``arch`` with the supernet's current weights (see the module docstring)."""
        fid = self.check_fidelity(fidelity)
        arch = validated(self.space, arch, self._valid)
        with cpu_threads(self.device, self.num_threads):
            if self._search is None:
                self._search = self._new_search(SearchSettings(self.scoring_method), 0)
            score, seconds = timed(self._search.score, arch)
        params, flops = self._cost(arch)
        return Evaluation(
            arch,
            fid,
            score,
            seconds,
            params=params,
            flops=flops,
            extras={"supernet_epochs": float(self._search.done)},
        )

    def _cost(self, arch: Arch) -> tuple[float, float]:
        from nasarena.spaces.nb201_cost import params_and_flops_for

        return params_and_flops_for(arch, self.table)



    def start_of_run(self) -> None:
        """A new run starts from no supernet: the previous run's trained weights are dropped, so a
        run without shared work (random search scoring on the supernet) scores on the untrained
        supernet of seed 0, exactly as on a fresh oracle, whichever runs came before it."""
        self._search = None
        self.trained_seconds = 0.0

    def end_of_run(self) -> dict[str, Any]:
        """With ``quality_sample`` > 0: how good the trained supernet is (harness only, off the clock;
        :func:`~nasarena.estimators.oneshot.quality.supernet_quality`), as ``{"supernet_quality": ...}``.

        A run that trained no supernet of its own (a strategy without shared work) gets ``{}``:
        :meth:`start_of_run` dropped any earlier run's supernet, so it is never measured twice."""
        search = self._search
        if not self.quality_sample or search is None or not search.done:
            return {}
        from nasarena.estimators.oneshot.quality import supernet_quality

        with cpu_threads(self.device, self.num_threads):
            return {"supernet_quality": supernet_quality(self, self.quality_sample, self.quality_seed)}

    def describe(self) -> dict[str, Any]:
        """What the supernet trains on and what is reported, in words."""
        generated = self.dataset == "synthetic"
        return {
            **super().describe(),
            "table": self.table,
            "channels": self.channels,
            "cells": self.cells,
            "epochs": self.epochs,
            "affine": self.affine,
            "track_running_stats": self.track,
            "score_images": self.score_images,
            "quality_sample": self.quality_sample,
            "device": str(self.device),
            "search_metric_description": "accuracy (%) of the architecture with the supernet's shared "
            "weights on fixed images of the architecture half of the "
            f"{self.dataset} training split",
            "final_metric_description": f"NB201 200-epoch test accuracy (%) on {self.table} "
            "(seed mean, table shipped with nasarena)",
            "data_note": (
                "the supernet trains on generated images, not CIFAR: the NB201 accuracy of a "
                "pick measures transfer from that data, not the method on CIFAR"
            )
            if generated
            else f"the supernet trains on {self.dataset}",
            "cost": "measured seconds of supernet training (shared work) and of scoring forwards",
        }


__all__ = ["WORK_NAME", "NB201TableFinal", "SupernetOracle"]
