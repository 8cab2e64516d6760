"""``zero-cost``: NB201 architectures scored by a zero-cost proxy of the untrained network.

``evaluate(arch)`` builds the NB201 network of ``arch`` at ``channels`` / ``cells`` (default the full
C=16, N=5), initialises it from a seed drawn from the caller's generator, and returns the proxy
(:mod:`.proxies`: ``synflow``, ``snip``, ``grad_norm``, ``grasp``, ``fisher``, ``jacob_cov``, ``naswot``;
or the baselines ``params`` /
``flops`` of that network) on one fixed batch of ``dataset``'s training split (``synthetic``:
generated images, not CIFAR; ``synflow``, ``params`` and ``flops`` use no data at all), with the
measured seconds as cost. Any strategy can search on it. The final metric is NB201's 200-epoch test
accuracy on ``table`` (shipped with nasarena). A proxy that is not finite (naswot's kernel can be
singular, jacob_cov's correlation undefined) is a failed evaluation.
"""

from __future__ import annotations

import math
import os
from typing import Any, ClassVar

import numpy as np
import torch

from nasarena.errors import ConfigError
from nasarena.estimators.base import Evaluation, Fidelity
from nasarena.estimators.boundary import validated
from nasarena.estimators.live.args import num
from nasarena.estimators.live.data import canonical_name, load_dataset
from nasarena.estimators.live.device_data import DeviceData
from nasarena.estimators.live.trainer import _cpu_threads as cpu_threads
from nasarena.estimators.oneshot.oracle import NB201TableFinal
from nasarena.estimators.oneshot.proxies import PROXIES, proxy
from nasarena.estimators.oneshot.search import timed
from nasarena.spaces.base import Arch
from nasarena.spaces.nb201 import NB201Space

BASELINES = ("params", "flops")


class ZeroCostOracle(NB201TableFinal):
    """A zero-cost proxy as the search signal; NB201 test accuracy as the final metric."""

    name: ClassVar[str] = "zero-cost"
    datasets: ClassVar[tuple[str, ...]] = ("synthetic", "cifar10", "cifar100")
    metric: ClassVar[str] = "zero_cost_proxy"
    offers: ClassVar[frozenset[str]] = frozenset()

    def __init__(
        self,
        dataset: str = "synthetic",
        *,
        proxy: str = "synflow",
        table: str | None = "cifar10-valid",
        channels: int = 16,
        cells: int = 5,
        batch_size: int = 64,
        num_threads: int | None = None,
        data_dir: str | None = None,
        synthetic_train: int = 256,
        synthetic_resolution: int = 16,
        synthetic_seed: int = 0,
    ) -> None:
        if proxy not in PROXIES + BASELINES:
            raise ConfigError(f"unknown zero-cost proxy {proxy!r}; known: {', '.join(PROXIES + BASELINES)}")
        self.proxy = proxy
        self.dataset = canonical_name(dataset)
        self.space = NB201Space()
        self.channels, self.cells = num(channels, int, "channels"), num(cells, int, "cells")
        self.batch_size = num(batch_size, int, "batch_size")
        if self.channels < 1 or self.cells < 0 or self.batch_size < 2:
            raise ConfigError("zero-cost oracle needs channels >= 1, cells >= 0, batch_size >= 2")
        self.fidelities = (Fidelity(channels=self.channels, cells=self.cells),)
        if num_threads is None:
            num_threads = min(2, num(os.environ.get("OMP_NUM_THREADS") or 2, int, "OMP_NUM_THREADS"))
        self.num_threads = num(num_threads, int, "num_threads")
        if table is not None:  # None: a scorer only, with no final metric (how ``with-proxy`` uses it)
            self._use_table(table)
        self._load = (
            data_dir,
            {
                "n_train": max(self.batch_size, num(synthetic_train, int, "synthetic_train")),
                "n_valid": 2,
                "n_test": 2,
                "resolution": num(synthetic_resolution, int, "synthetic_resolution"),
                "seed": num(synthetic_seed, int, "synthetic_seed"),
            },
        )
        self._batch: tuple[torch.Tensor, torch.Tensor] | None = None
        self._classes = 10
        self._valid: dict[Any, Arch] = {}

    def batch(self) -> tuple[torch.Tensor, torch.Tensor]:
        """The fixed batch (first ``batch_size`` training images, normalised), loaded on first use."""
        if self._batch is None:
            splits = load_dataset(self.dataset, self._load[0], synthetic=self._load[1])
            data = DeviceData(splits, splits.resolution, torch.device("cpu"))
            idx = data.order[: self.batch_size]
            self._batch = data.normalise(data.train_x[idx]), data.train_y[idx]
            self._classes = data.num_classes
        return self._batch

    def evaluate(
        self,
        arch: Arch,
        fidelity: Fidelity | None,
        rng: np.random.Generator,
        *,
        start: Any = None,
        inherit: Any = None,
    ) -> Evaluation:
        """The proxy of ``arch``'s freshly initialised network (see the module docstring)."""
        from nasarena.spaces.nb201_cost import params_and_flops
        from nasarena.spaces.nb201_torch import build_network

        fid = self.check_fidelity(fidelity)
        arch = validated(self.space, arch, self._valid)
        seed = int(rng.integers(2**62))
        x, y = self.batch()
        params, flops = params_and_flops(arch, self._classes, x.shape[-1], self.channels, self.cells)
        if self.proxy in BASELINES:
            score, seconds = (params if self.proxy == "params" else flops), 0.0
        else:
            with cpu_threads(torch.device("cpu"), self.num_threads):
                net = build_network(
                    arch,
                    self._classes,
                    self.channels,
                    self.cells,
                    generator=torch.Generator().manual_seed(seed),
                )
                score, seconds = timed(proxy(self.proxy), net, x, y)
        if not math.isfinite(score):
            return Evaluation(
                arch,
                fid,
                math.nan,
                seconds,
                params=params,
                flops=flops,
                ok=False,
                error=f"{self.proxy} is {score} for this network (singular or overflowing)",
            )
        return Evaluation(arch, fid, float(score), seconds, params=params, flops=flops)



    def describe(self) -> dict[str, Any]:
        """What the proxy is computed on, in words."""
        data_free = self.proxy in ("synflow", "params", "flops")
        return {
            **super().describe(),
            "proxy": self.proxy,
            "table": self.table,
            "search_metric_description": f"zero-cost proxy {self.proxy} of the untrained network "
            f"(C={self.channels}, N={self.cells})"
            + (
                "; uses no data" if data_free else f" on one batch of {self.batch_size} {self.dataset} images"
            ),
            "final_metric_description": f"NB201 200-epoch test accuracy (%) on {self.table} (seed mean)",
            "cost": "measured seconds of computing the proxy (0 for params/flops)",
        }


__all__ = ["BASELINES", "ZeroCostOracle"]
