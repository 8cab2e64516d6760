"""``nas-bench-graph``: tabular NAS-Bench-Graph oracle over the PyPI package ``nas-bench-graph``.

The package ships, per dataset, a "light" table ``light/<dataset>.bench``: a pickled dict from the
architecture key (``Arch.valid_hash()``, see :mod:`nasarena.spaces.nbgraph`) to ``valid_perf``,
``perf`` (test), ``latency`` (seconds of one inference pass) and ``para`` (params, millions); the
light tables hold one value per architecture, no single seeds and no curves. Performance is the
benchmark's metric for the dataset as the table stores it, in [0, 1] (higher is better).
The pickles are read only through :mod:`nasarena.safe_pickle`, never through the package's own
``readbench`` (which calls ``pickle.load``).

The light tables have no training time, so the simulated cost of an evaluation is a stated proxy:
by default the architecture's inference latency in seconds times ``cost_scale`` (training time of a
fixed recipe grows with the forward cost), or with ``cost="constant"`` a fixed ``cost_scale``
seconds per evaluation (a budget in seconds is then a budget in evaluations). :meth:`describe` says
which is used. There is one fidelity (the benchmark's full training) and no FLOP count.
"""

from __future__ import annotations

import functools
import math
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from nasarena.errors import ConfigError, DataError, unknown
from nasarena.estimators.base import FULL, Evaluation, Fidelity, Oracle
from nasarena.estimators.packaged import packaged_file
from nasarena.safe_pickle import safe_load
from nasarena.spaces.base import Arch
from nasarena.spaces.nbgraph import NBGraphSpace

DATASETS: tuple[str, ...] = ("cora", "citeseer", "pubmed", "cs", "physics", "photo", "computers",
                             "arxiv", "proteins")
COST_MODES: tuple[str, ...] = ("latency", "constant")
_FIELDS = ("valid_perf", "perf", "latency", "para")


def _bench_file(dataset: str) -> Path:
    return packaged_file("nas_bench_graph", "nas-bench-graph==1.4.0", "nas-bench-graph", "light",
                         f"{dataset}.bench")


@functools.cache
def load_bench(dataset: str) -> dict[int, tuple[float, float, float, float]]:
    """Key -> (valid_perf, perf, latency, para) for one dataset, read via the restricted unpickler.

    Cached per process; the returned dict must be treated as read-only.
    """
    if dataset not in DATASETS:
        raise unknown("dataset", dataset, DATASETS)
    path = _bench_file(dataset)
    raw = safe_load(path)
    if not isinstance(raw, dict):
        raise DataError(f"{path}: expected a dict of architecture records, got {type(raw).__name__}")
    out: dict[int, tuple[float, float, float, float]] = {}
    for key, rec in raw.items():
        if not isinstance(rec, dict) or any(f not in rec for f in _FIELDS):
            raise DataError(f"{path}: record {key!r} lacks one of the fields {_FIELDS}: {rec!r}")
        out[int(key)] = tuple(float(rec[f]) for f in _FIELDS)  # type: ignore[assignment]
    return out


class NBGraphOracle(Oracle):
    """Tabular NAS-Bench-Graph oracle (see module docstring): valid_perf to search, perf (test) to report."""

    name: ClassVar[str] = "nas-bench-graph"
    datasets: ClassVar[tuple[str, ...]] = DATASETS
    metric: ClassVar[str] = "valid_perf"
    final_metric_name: ClassVar[str] = "test_perf"

    def __init__(self, dataset: str = "cora", cost: str = "latency", cost_scale: float = 1.0) -> None:
        if dataset not in DATASETS:
            raise unknown("dataset", dataset, DATASETS)
        if cost not in COST_MODES:
            raise unknown("cost mode", cost, COST_MODES)
        if not (math.isfinite(cost_scale) and cost_scale > 0):
            raise ConfigError(f"cost_scale must be a positive finite number of seconds, got {cost_scale!r}")
        self.dataset = dataset
        self.space = NBGraphSpace(ops="proteins" if dataset == "proteins" else "full")
        self.fidelities = (FULL,)
        self.cost_mode = cost
        self.cost_scale = float(cost_scale)
        self.table = load_bench(dataset)
        self.best_final = max(rec[1] for rec in self.table.values())
        # arch tuple -> (valid_perf, perf, cost, para, latency); filled lazily because the package's
        # canonicalisation costs ~10 us per tuple and a search touches only a few thousand.
        self._records: dict[Arch, tuple[float, float, float, float, float]] = {}

    def _record(self, arch: Arch) -> tuple[float, float, float, float, float]:
        rec = self._records.get(arch)
        if rec is None:
            key = self.space.canonical(arch)
            try:
                valid, test, lat, para = self.table[key]
            except KeyError:
                raise DataError(f"nas-bench-graph {self.dataset}: architecture {self.space.to_string(arch)} "
                                f"(key {key}) is not in the benchmark table") from None
            cost = lat * self.cost_scale if self.cost_mode == "latency" else self.cost_scale
            rec = self._records[tuple(arch)] = (valid, test, cost, para, lat)
        return rec

    def evaluate(self, arch: Arch, fidelity: Fidelity | None, rng: np.random.Generator) -> Evaluation:
        """The table's validation performance (``valid_perf``), deterministic.

        ``rng`` is unused: the light table has no per-seed values to draw from.
        """
        fid = FULL if fidelity is None or fidelity == FULL else self.check_fidelity(fidelity)
        valid, _, cost, para, lat = self._record(arch)
        return Evaluation(arch=arch, fidelity=fid, score=valid, cost=cost, params=para,
                          extras={"latency": lat})

    def final_metric(self, arch: Arch) -> float:
        """Test performance (``perf``) of the architecture."""
        return self._record(arch)[1]

    def params(self, arch: Arch) -> float:
        """Parameters in millions (``para``)."""
        return self._record(arch)[3]

    def describe(self) -> dict[str, Any]:
        """Base description plus the metric units and how the simulated cost is derived."""
        unit = "performance in [0, 1] (the benchmark's metric for this dataset)"
        if self.cost_mode == "latency":
            cost = (f"proxy: inference latency in seconds x {self.cost_scale:g} "
                    f"(the light tables have no training time)")
        else:
            cost = f"constant {self.cost_scale:g} s per evaluation (the light tables have no training time)"
        return {**super().describe(), "cost": cost,
                "search_metric_description": f"validation {unit} (valid_perf)",
                "final_metric_description": f"test {unit} (perf)",
                "source": str(_bench_file(self.dataset))}


__all__ = ["COST_MODES", "DATASETS", "NBGraphOracle", "load_bench"]
