"""``with-proxy``: any NB201 oracle, plus zero-cost proxy scores as shared work on the run's clock.

Abdelfattah et al. (ICLR 2021, "Zero-Cost Proxies for Lightweight NAS", section 5) use a proxy
*inside* a search: to pick regularized evolution's initial population and random search's order
from thousands of scored samples (warm-up), and to choose among a parent's mutations (move
proposal). A strategy may not compute a proxy itself (it never sees networks or data), so it asks
for the scores as shared work, ``SharedWork("proxy", n, {"proxy": "synflow", "archs": [...]})``,
and this wrapper answers it: it builds each architecture's NB201 network at ``proxy_channels`` /
``proxy_cells`` (default the full C=16, N=5), initialises it from a seed drawn from the run's oracle
generator (one per architecture, in order), computes the proxy as the ``zero-cost`` oracle does,
and returns the scores in ``extras`` (:func:`~nasarena.estimators.base.proxy_key`; NaN where the
proxy is not finite) with the measured wall seconds of the whole work (building the networks
included) as its cost. Everything else (``evaluate``, the final metric, fidelities, capabilities,
other shared work) is the base oracle's, built by name from the remaining arguments:
``--oracle with-proxy --oracle-arg base=nb201-lite --oracle-arg test_accuracy=true``.

Like a Gymnasium wrapper it forwards every attribute it does not define to the base oracle.
"""

from __future__ import annotations

import math
import time
from typing import Any, ClassVar

import numpy as np

from nasarena.errors import ConfigError
from nasarena.estimators.base import (
    CONTINUE,
    FULL,
    MULTI_FIDELITY,
    PROXY,
    PROXY_WORK,
    SHARED,
    WARM_START,
    Evaluation,
    Fidelity,
    Oracle,
    SharedWork,
    proxy_key,
)
from nasarena.spaces.base import Arch


class WithProxy(Oracle):
    """Any NB201 oracle (``base=``, e.g. nb201-lite) plus zero-cost proxy scores as shared work."""

    name: ClassVar[str] = "with-proxy"
    datasets: ClassVar[tuple[str, ...]] = ()  # the base oracle's
    #: What the base may offer, plus proxy scores (a supernet base's modes are left out: only used
    #: for messages naming oracles, and one-shot strategies are better pointed at ``supernet``).
    offers: ClassVar[frozenset[str]] = frozenset({MULTI_FIDELITY, CONTINUE, WARM_START, SHARED, PROXY})

    def __init__(self, base: str = "nb201-lite", *, proxy_channels: int = 16, proxy_cells: int = 5,
                 proxy_batch_size: int = 64, proxy_dataset: str = "synthetic", proxy_resolution: int = 16,
                 proxy_threads: int | None = None, proxy_data_dir: str | None = None,
                 **base_kwargs: Any) -> None:
        from nasarena.registry import make_oracle

        if base == self.name:
            raise ConfigError("with-proxy: base must be another oracle (e.g. base=nb201-lite), "
                              "not with-proxy")
        self.base = make_oracle(base, **base_kwargs)
        if self.base.space.name != "nb201":
            raise ConfigError(f"with-proxy scores NB201 networks; oracle {base!r} searches space "
                              f"{self.base.space.name!r}; wrap an NB201 oracle (nb201-lite, nb201, an "
                              f"NB201 table)")
        self.base_name = base
        self._scorer_args = {"channels": proxy_channels, "cells": proxy_cells, "batch_size": proxy_batch_size,
                             "num_threads": proxy_threads, "data_dir": proxy_data_dir,
                             "synthetic_resolution": proxy_resolution}
        self._scorer_dataset = proxy_dataset
        self._scorers: dict[str, Any] = {}
        self.scorer("params")  # checks the network settings now, before any run (no data, no torch work)

    # ---- forwarded to the base oracle --------------------------------------------------------
    def __getattr__(self, name: str) -> Any:
        """Everything this wrapper does not define is the base oracle's (space, dataset, tables, ...)."""
        if name == "base":  # not set yet (a failed __init__): never recurse
            raise AttributeError(name)
        return getattr(self.base, name)

    @property
    def space(self) -> Any:  # type: ignore[override]
        return self.base.space

    @property
    def dataset(self) -> str:  # type: ignore[override]
        return self.base.dataset

    @property
    def fidelities(self) -> tuple[Fidelity, ...]:  # type: ignore[override]
        return self.base.fidelities

    @property
    def best_final(self) -> float:  # type: ignore[override]
        return self.base.best_final

    @property
    def search_fidelity(self) -> Fidelity:
        return self.base.search_fidelity

    @property
    def metric(self) -> str:  # type: ignore[override]
        return self.base.metric

    @property
    def final_metric_name(self) -> str:  # type: ignore[override]
        return self.base.final_metric_name

    def capabilities(self) -> frozenset[str]:
        """The base oracle's, plus ``"proxy"`` and ``"shared"``."""
        return self.base.capabilities() | {PROXY, SHARED}

    def evaluate(self, arch: Arch, fidelity: Fidelity | None, rng: np.random.Generator, *,
                 start: Any = None, inherit: Any = None) -> Evaluation:
        """The base oracle's evaluation (pass-through; ``start`` / ``inherit`` only when given, as the
        runner does, since a base without those capabilities does not accept them)."""
        if start is None and inherit is None:
            return self.base.evaluate(arch, fidelity, rng)
        return self.base.evaluate(arch, fidelity, rng, start=start, inherit=inherit)

    def final_metric(self, arch: Arch) -> float:
        """The base oracle's final metric (harness only)."""
        return self.base.final_metric(arch)

    def params(self, arch: Arch) -> float:
        """The base oracle's params."""
        return self.base.params(arch)

    def check_fidelity(self, fidelity: Fidelity | None) -> Fidelity:
        """The base oracle's fidelity check."""
        return self.base.check_fidelity(fidelity)

    def start_of_run(self) -> None:
        """The base oracle's start of a run (a ``supernet`` base drops the previous run's supernet)."""
        self.base.start_of_run()

    def end_of_run(self) -> dict[str, Any]:
        """The base oracle's end-of-run measurements."""
        return self.base.end_of_run()

    def describe(self) -> dict[str, Any]:
        """The base oracle's description, plus how proxy scores are computed."""
        a = self._scorer_args
        return {**self.base.describe(), "oracle": self.name, "base_oracle": self.base_name,
                "capabilities": sorted(self.capabilities()),
                "proxy_scores": f"zero-cost proxies of the untrained NB201 network (C={a['channels']}, "
                                f"N={a['cells']}, {a['synthetic_resolution']}px for generated data) as "
                                f"shared work 'proxy'; data-dependent proxies on one batch of "
                                f"{a['batch_size']} {self._scorer_dataset} images; cost: measured seconds"}

    # ---- the proxy work ----------------------------------------------------------------------
    def scorer(self, proxy: str) -> Any:
        """The ``zero-cost`` oracle computing ``proxy`` with this wrapper's network settings (cached)."""
        got = self._scorers.get(proxy)
        if got is None:
            from nasarena.estimators.oneshot.zerocost import ZeroCostOracle

            args = {k: v for k, v in self._scorer_args.items() if v is not None}
            got = self._scorers[proxy] = ZeroCostOracle(self._scorer_dataset, proxy=proxy, table=None, **args)
        return got

    def run_shared(self, work: SharedWork, rng: np.random.Generator) -> Evaluation:
        """Proxy scores for ``work.params["archs"]`` (module docstring); other work goes to the base.

        The evaluation's score is the best proxy score (a shared-work row never becomes the
        incumbent); it failed when no architecture got a finite score.
        """
        if work.name != PROXY_WORK:
            if SHARED in self.base.capabilities():
                return self.base.run_shared(work, rng)
            return Evaluation(None, FULL, math.nan, 0.0, ok=False,
                              error=f"oracle 'with-proxy' runs shared work named {PROXY_WORK!r} (its base "
                                    f"{self.base_name!r} runs none), not {work.name!r}")
        name = work.params.get("proxy", "synflow")
        archs = work.params.get("archs", ())
        if not isinstance(name, str) or not isinstance(archs, list | tuple):
            raise ConfigError(f"proxy work needs params {{'proxy': <name>, 'archs': [<list of ints>, ...]}}, "
                              f"got {dict(work.params)!r}")
        scorer = self.scorer(name)
        t0 = time.perf_counter()
        extras: dict[str, float] = {}
        for i, arch in enumerate(archs):
            ev = scorer.evaluate(tuple(int(v) for v in arch), None, rng)
            extras[proxy_key(i)] = ev.score if ev.ok else math.nan
        seconds = time.perf_counter() - t0
        finite = [s for s in extras.values() if math.isfinite(s)]
        if not finite:
            return Evaluation(None, FULL, math.nan, seconds, ok=False, extras=extras,
                              error=f"{name} is not finite for any of the {len(archs)} architectures sent")
        return Evaluation(None, FULL, max(finite), seconds, extras=extras)


__all__ = ["WithProxy"]
