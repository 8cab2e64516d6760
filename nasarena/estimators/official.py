"""Oracles over official NAS-Bench-201 / NATS-Bench caches, and the cache's official-API view.

:class:`OfficialCache` opens a cache written by :mod:`nasarena.estimators.official_import` (in
milliseconds: scalars are read per (dataset, hp) group on first use, curves are memory-mapped) and
answers ``get_more_info`` / ``get_cost_info`` / ``get_latency`` / ``simulate_train_eval`` exactly as
``nas_201_api`` (flavour ``nb201``) or ``nats_bench`` (``nats-tss``, ``nats-sss``) do, including
their seed averaging (``np.mean`` vs. ``sum/len``) and time accounting. Random seed choices come
from a numpy Generator (or an explicit ``seed=``) instead of the global ``random`` module.

The oracles (:class:`NB201Oracle` ``"nb201"``, :class:`NATSTopologyOracle` ``"nats-tss"``,
:class:`NATSSizeOracle` ``"nats-sss"``) follow the NB201 search protocol: the score is the 12-epoch
(hp=12) validation accuracy of one seed drawn from the caller's rng, the cost is
``train-all-time + valid-per-time`` of that run (what the official ``simulate_train_eval`` charges),
and the final metric is the seed-mean test accuracy of the full schedule (see ``final_metric``).
"""

from __future__ import annotations

import json
import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pyarrow.parquet as pq

from nasarena.errors import ConfigError, DataError, unknown
from nasarena.estimators.base import Evaluation, Fidelity, Oracle
from nasarena.estimators.official_import import (
    CHANNELS,
    FORMAT_VERSION,
    default_cache_dir,
    group_name,
)
from nasarena.spaces.base import Arch, SearchSpace
from nasarena.spaces.nats_sss import NATSSizeSpace
from nasarena.spaces.nb201 import NB201Space

_PREFIX = {"train": "train", "x-valid": "x_valid", "x-test": "x_test", "ori-test": "ori_test"}
_CH = {name: i for i, name in enumerate(CHANNELS)}
#: setname -> ((final acc, loss, time columns), [acc, loss, cumtime curve channels])
_KEYS = {s: (tuple(f"{p}_{m}" for m in ("acc", "loss", "time")),
             [_CH[f"{p}_{m}"] for m in ("acc", "loss", "cumtime")]) for s, p in _PREFIX.items()}
_COMMENT = {
    "cifar10-valid": "In this dict, train-loss/accuracy/time is the metric on the train set of CIFAR-10. The "
    "test-loss/accuracy/time is the performance of the CIFAR-10 test set after training on the train set by "
    "{:} epochs. The per-time and total-time indicate the per epoch and total time costs, respectively.",
    "cifar10": "In this dict, train-loss/accuracy/time is the metric on the train+valid sets of CIFAR-10. "
    "The test-loss/accuracy/time is the performance of the CIFAR-10 test set after training on the "
    "train+valid sets by {:} epochs. The per-time and total-time indicate the per epoch and total time "
    "costs, respectively.",
}


def _read(path: Path) -> Any:
    """Read a Parquet file single-threaded through ``ParquetFile`` (pq.read_table would import the
    dataset machinery and start a thread pool: ~55 MB more RSS for nothing here)."""
    return pq.ParquetFile(path).read(use_threads=False)


_NUMPY = {"double": np.float64, "int64": np.int64, "int32": np.int32, "int8": np.int8}


def _np(column: Any) -> np.ndarray:
    """A primitive Arrow column as a read-only numpy view of its buffer.

    ``to_numpy()`` would import pandas inside pyarrow (~0.4 s and ~45 MB RSS on first use), which is
    most of what loading a cache would otherwise cost.
    """
    arr = column.combine_chunks() if hasattr(column, "combine_chunks") else column
    dtype = _NUMPY[str(arr.type)]
    if arr.null_count:
        return np.array([np.nan if v is None else v for v in arr.to_pylist()], dtype=np.float64)
    size = np.dtype(dtype).itemsize
    return np.frombuffer(arr.buffers()[1], dtype=dtype, count=len(arr), offset=arr.offset * size)


def _eval_names(column: Any) -> list[tuple[str, ...]]:
    """Per row, the tuple of evaluated sets; rows share one tuple per distinct value (few exist)."""
    arr = column.combine_chunks()
    if not hasattr(arr, "dictionary"):
        arr = arr.dictionary_encode()
    values = [tuple(s.split(",")) if s else () for s in arr.dictionary.to_pylist()]
    return [values[i] for i in _np(arr.indices).tolist()]


def _none(x: float) -> float | None:
    return None if x != x else x  # NaN marks the official None


@dataclass
class RunGroup:
    """All runs of one (dataset, hp) setting: scalar columns in memory, curves memory-mapped."""

    dataset: str
    hp: str
    epochs: int
    cols: dict[str, np.ndarray]
    eval_names: list[tuple[str, ...]]
    first: np.ndarray  # first row of each official index (-1: no run)
    count: np.ndarray  # number of seeds of each official index
    curves: np.ndarray
    means: dict[str, list[float]] = field(default_factory=dict)  # filled by seed_mean, per column

    def rows(self, index: int) -> range:
        """Rows (one per seed, official seed order) of an architecture; empty if it has none."""
        f = int(self.first[index])
        return range(f, f + int(self.count[index])) if f >= 0 else range(0)

    def seed_mean(self, column: str, numpy_mean: bool) -> np.ndarray:
        """Per official index, the mean over seeds of a scalar column, bit-identical to the official
        averaging: ``np.mean(list)`` (``numpy_mean``, nas_201_api) or ``sum(list) / len(list)``
        (nats_bench). NaN where an architecture has no run."""
        vals = self.cols[column]
        out = np.full(len(self.first), np.nan)
        for k in np.unique(self.count[self.count > 0]):
            idx = np.flatnonzero(self.count == k)
            block = vals[self.first[idx][:, None] + np.arange(k)]
            if numpy_mean:  # same reduction loop as np.mean over a length-k list
                out[idx] = np.mean(block, axis=1)
            else:  # left-to-right sum, then divide
                acc = block[:, 0].copy()
                for j in range(1, k):
                    acc += block[:, j]
                out[idx] = acc / k
        return out


class OfficialCache:
    """A cache directory opened read-only, with the official API's query methods."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        manifest = self.path / "manifest.json"
        if not manifest.is_file():
            raise DataError(f"{self.path} is not a nasarena official cache (no manifest.json); create one "
                            f"with `nasarena data import-nb201 FILE --trust` or `nasarena data import-nats "
                            f"PATH --trust --space tss|sss`")
        self.manifest: dict[str, Any] = json.loads(manifest.read_text())
        if self.manifest.get("format_version") != FORMAT_VERSION or list(self.manifest["channels"]) != \
                list(CHANNELS):
            raise DataError(f"{self.path} was written by another nasarena cache format "
                            f"({self.manifest.get('format_version')}); re-run the import")
        self.flavour: str = self.manifest["flavour"]
        archs = _read(self.path / "archs.parquet")
        self.meta_archs: list[str] = archs.column("arch_str").to_pylist()
        #: nasarena's mixed-radix space index of each official index
        self.space_index: np.ndarray = _np(archs.column("space_index"))
        self.archstr2index = {a: i for i, a in enumerate(self.meta_archs)}
        self._available = {(g["dataset"], g["hp"]): g for g in self.manifest["groups"]}
        self._groups: dict[tuple[str, str], RunGroup] = {}
        self._mean = np.mean if self.flavour == "nb201" else (lambda v: sum(v) / len(v))
        self._used_time = 0.0

    # ---- groups ---------------------------------------------------------------------------------
    def settings(self) -> list[tuple[str, str]]:
        """The (dataset, hp) pairs this cache holds."""
        return sorted(self._available)

    def group(self, dataset: str, hp: str) -> RunGroup:
        """Load one (dataset, hp) group on first use (scalars: a few MB; curves: memory-mapped)."""
        key = (dataset, str(hp))
        g = self._groups.get(key)
        if g is not None:
            return g
        if key not in self._available:
            have = ", ".join(f"{d}/hp={h}" for d, h in self.settings())
            raise DataError(f"the {self.flavour} cache {self.path} has no runs for dataset {dataset!r} with "
                            f"hp={hp!r}; it holds {have}")
        stem = group_name(*key)
        table = _read(self.path / "runs" / f"{stem}.parquet")
        cols = {name: _np(table.column(name)) for name in table.column_names if name != "eval_names"}
        names = _eval_names(table.column("eval_names"))
        n = len(self.meta_archs)
        arch = cols["arch_index"].astype(np.int64)
        first = np.full(n, -1, dtype=np.int64)
        count = np.zeros(n, dtype=np.int64)
        if len(arch):
            starts = np.flatnonzero(np.r_[True, arch[1:] != arch[:-1]])
            first[arch[starts]] = starts
            count[arch[starts]] = np.diff(np.r_[starts, len(arch)])
        curves = np.load(self.path / "curves" / f"{stem}.npy", mmap_mode="r", allow_pickle=False)
        g = self._groups[key] = RunGroup(dataset, str(hp), int(self._available[key]["epochs"]), cols, names,
                                         first, count, curves)
        return g

    # ---- the official API -----------------------------------------------------------------------
    @property
    def used_time(self) -> float:
        """Simulated seconds charged by :meth:`simulate_train_eval` since :meth:`reset_time`."""
        return self._used_time

    def reset_time(self) -> None:
        """Restart the time accounting (as the official ``reset_time``)."""
        self._used_time = 0.0

    def query_index_by_arch(self, arch: int | str) -> int:
        """Official index of an index or official string (-1 if the string is not in the space)."""
        if isinstance(arch, int | np.integer):
            if 0 <= arch < len(self.meta_archs):
                return int(arch)
            raise ValueError(f"Invalid architecture index {arch} vs [0, {len(self.meta_archs)}].")
        return self.archstr2index.get(arch, -1) if isinstance(arch, str) else -1

    def _runs(self, index: int, dataset: str, hp: str) -> tuple[RunGroup, range]:
        g = self.group(dataset, hp)
        rows = g.rows(index)
        if not rows:
            raise ValueError(f"architecture {index} has no {dataset} runs with hp={hp} in {self.path}")
        return g, rows

    def seeds(self, index: int, dataset: str, hp: str = "12") -> list[int]:
        """The seeds of an architecture's runs (official order)."""
        g, rows = self._runs(self.query_index_by_arch(index), dataset, str(hp))
        return [int(g.cols["seed"][r]) for r in rows]

    def _one(self, g: RunGroup, r: int, setname: str, iepoch: int | None) -> dict[str, Any]:
        if setname != "train" and setname not in g.eval_names[r]:
            raise KeyError(f"{setname} is not evaluated for this run")
        ie = g.epochs - 1 if iepoch is None else int(iepoch)
        if not 0 <= ie < g.epochs:
            raise ValueError(f"invalid iepoch={ie} < {g.epochs}")
        cols, chans = _KEYS[setname]
        if iepoch is None:
            acc, loss, t = (g.cols[c][r] for c in cols)
        else:
            acc, loss, t = g.curves[r, chans, ie].tolist()
        if acc != acc:
            raise KeyError(f"{setname}@{ie} is missing for this run")
        return {"iepoch": ie, "loss": loss, "accuracy": acc, "all_time": _none(t)}

    def get_metrics(self, index: int, dataset: str, setname: str, iepoch: int | None = None,
                    hp: str = "12", is_random: bool | int = False) -> dict[str, Any]:
        """``ArchResults.get_metrics``: one seed (``is_random=<seed>``) or the seed mean (``False``)."""
        g, rows = self._runs(index, dataset, str(hp))
        if is_random is False and iepoch is None:
            return self._final_mean(g, index, rows, setname)
        if isinstance(is_random, bool):
            if is_random:
                raise ValueError("pass a seed (or False); nasarena draws seeds from a numpy Generator")
            infos = [self._one(g, r, setname, iepoch) for r in rows]
            return {k: (self._mean([i[k] for i in infos]) if infos[0][k] is not None else None)
                    for k in infos[0]}
        seeds = g.cols["seed"][rows.start:rows.stop].tolist()
        if is_random not in seeds:
            raise ValueError(f"can not find random seed ({is_random}) from {seeds}")
        if setname != "train" and any(setname not in g.eval_names[r] for r in rows):
            raise KeyError(f"{setname} is not evaluated for every seed")  # the official code reads all seeds
        return self._one(g, rows[seeds.index(is_random)], setname, iepoch)

    def _final_mean(self, g: RunGroup, index: int, rows: range, setname: str) -> dict[str, Any]:
        """Seed means at the last epoch from per-group precomputed vectors (the common, hot query)."""
        if setname != "train" and any(setname not in g.eval_names[r] for r in rows):
            raise KeyError(f"{setname} is not evaluated for every seed")
        p = _PREFIX[setname]
        nb201 = self.flavour == "nb201"
        out = []
        for m in ("acc", "loss", "time"):
            col = f"{p}_{m}"
            if col not in g.means:
                g.means[col] = g.seed_mean(col, nb201).tolist()
            out.append(g.means[col][index])
        if out[0] != out[0]:
            raise KeyError(f"{setname} is missing for a seed of this architecture")
        ie = g.epochs - 1
        t = g.cols[f"{p}_time"][rows[0]]  # the official None test looks at the first seed only
        return {"iepoch": np.float64(ie) if nb201 else float(ie), "loss": out[1], "accuracy": out[0],
                "all_time": None if t != t else out[2]}

    def _pick(self, index: int, dataset: str, hp: str, rng: np.random.Generator | None) -> int:
        seeds = self.seeds(index, dataset, hp)
        if rng is None:
            raise ValueError("is_random=True needs rng= (a numpy Generator) or pass a seed")
        return seeds[int(rng.integers(len(seeds)))]

    def get_more_info(self, index: int | str, dataset: str, iepoch: int | None = None, hp: str = "12",
                      is_random: bool | int = True, rng: np.random.Generator | None = None) -> dict[str, Any]:
        """The official ``get_more_info`` (same keys, same values); ``is_random=True`` draws from ``rng``."""
        index, hp = self.query_index_by_arch(index), str(hp)
        if isinstance(is_random, bool) and is_random:
            is_random = self._pick(index, dataset, hp, rng)

        def metrics(setname: str) -> dict[str, Any] | None:
            try:
                return self.get_metrics(index, dataset, setname, iepoch, hp, is_random)
            except (KeyError, ValueError):
                return None

        train = self.get_metrics(index, dataset, "train", iepoch, hp, is_random)
        total = train["iepoch"] + 1
        xinfo: dict[str, Any] = {"train-loss": train["loss"], "train-accuracy": train["accuracy"]}
        xinfo["train-per-time"] = train["all_time"] / total if train["all_time"] is not None else None
        xinfo["train-all-time"] = train["all_time"]
        if dataset == "cifar10-valid":
            valid = self.get_metrics(index, dataset, "x-valid", iepoch, hp, is_random)
            test, valtest = metrics("ori-test"), None
        else:
            test = metrics("ori-test" if dataset == "cifar10" else "x-test")
            valid = metrics("x-valid")
            valtest = metrics("ori-test") if dataset != "cifar10" else None
        if self.flavour != "nb201" and dataset in _COMMENT:
            xinfo["comment"] = _COMMENT[dataset].format(hp)
        for tag, info in (("valid", valid), ("test", test), ("valtest", valtest)):
            if info is not None:
                xinfo[f"{tag}-loss"], xinfo[f"{tag}-accuracy"] = info["loss"], info["accuracy"]
                xinfo[f"{tag}-per-time"] = info["all_time"] / total if info["all_time"] is not None else None
                xinfo[f"{tag}-all-time"] = info["all_time"]
        return xinfo

    def get_cost_info(self, index: int, dataset: str, hp: str = "12") -> dict[str, Any]:
        """The official ``get_cost_info`` (``ArchResults.get_compute_costs``)."""
        g, rows = self._runs(self.query_index_by_arch(index), dataset, str(hp))
        c = g.cols
        flops, params = [c["flops"][r] for r in rows], [c["params"][r] for r in rows]
        if self.flavour != "nb201":  # nats_bench's fix for the legacy flop/param inconsistency
            seeds = [int(c["seed"][r]) for r in rows]
            if len({f"{x:.5f}" for x in flops}) > 1:
                flops = [flops[seeds.index(888)]]
            if len({f"{x:.5f}" for x in params}) > 1:
                params = [params[seeds.index(888)]]
        latencies = [c["latency"][r] for r in rows if c["latency"][r] > 0]
        times: dict[str, list[Any]] = defaultdict(list)
        for r in rows:
            times["T-train@epoch"].append(_none(c["t_train_epoch"][r]))
            times["T-train@total"].append(_none(c["t_train_total"][r]))
            for name in g.eval_names[r]:
                p = _PREFIX.get(name)
                times[f"T-{name}@epoch"].append(_none(c[f"{p}_t_epoch"][r]) if p else None)
                times[f"T-{name}@total"].append(_none(c[f"{p}_t_total"][r]) if p else None)
        info: dict[str, Any] = {"flops": self._mean(flops), "params": self._mean(params),
                                "latency": self._mean(latencies) if latencies else None}
        for key, value in times.items():
            info[key] = self._mean(value) if value and value[0] is not None else None
        return info

    def get_latency(self, index: int, dataset: str, hp: str = "12") -> float | None:
        """The official ``get_latency`` (seed-mean latency in seconds, None if unmeasured)."""
        return self.get_cost_info(index, dataset, hp)["latency"]

    def simulate_train_eval(self, arch: int | str, dataset: str, iepoch: int | None = None, hp: str = "12",
                            account_time: bool = True, rng: np.random.Generator | None = None,
                            seed: int | None = None) -> tuple[float, float | None, float, float]:
        """The official ``simulate_train_eval`` -> (valid_acc, latency, time_cost, used_time).

        The trained seed is ``seed`` if given, else drawn from ``rng``. NB201's version ignores
        ``iepoch`` and takes the latency at hp='12'; NATS-Bench's honours both, as here.
        """
        index = self.query_index_by_arch(arch)
        if dataset not in ("cifar10", "cifar100", "ImageNet16-120"):
            raise ValueError(f"Invalid dataset name : {dataset} vs ('cifar10', 'cifar100', 'ImageNet16-120')")
        run_ds = "cifar10-valid" if dataset == "cifar10" else dataset
        nats = self.flavour != "nb201"
        pick = seed if seed is not None else self._pick(index, run_ds, str(hp), rng)
        info = self.get_more_info(index, run_ds, iepoch=iepoch if nats else None, hp=hp, is_random=pick)
        if "valid-accuracy" in info:
            valid_acc, cost = info["valid-accuracy"], info["train-all-time"] + info["valid-per-time"]
        else:
            valid_acc = info["valtest-accuracy"]
            temp = self.get_more_info(index, dataset, iepoch=None, hp=hp, is_random=pick)
            cost = info["train-all-time"] + temp["valid-per-time"]
        latency = self.get_latency(index, dataset, hp=hp if nats else "12")
        if account_time:
            self._used_time += cost
        return valid_acc, latency, cost, self._used_time



# ---- oracles ----------------------------------------------------------------------------------------
_X_VALID, _TRAIN_T, _X_VALID_T = _CH["x_valid_acc"], _CH["train_cumtime"], _CH["x_valid_cumtime"]


@dataclass(frozen=True)
class _Rows:
    """Per-row values of a group as Python lists (latency NaN where unmeasured)."""

    seed: list[float]
    params: list[float]
    flops: list[float]
    latency: list[float]


@dataclass(frozen=True)
class _FidelityTable:
    """What a fidelity reads: its group, (first row, seeds) per official index, and per-row lists."""

    group: RunGroup
    epoch: int | None  # None: the schedule's own last epoch (score/cost precomputed)
    rows: list[tuple[int, int]]
    score: list[float] | None
    cost: list[float] | None
    curves: np.ndarray
    info: _Rows

_DATASETS = {"cifar10": "cifar10", "cifar10-valid": "cifar10", "cifar100": "cifar100",
             "ImageNet16-120": "ImageNet16-120", "imagenet16-120": "ImageNet16-120",
             "imagenet": "ImageNet16-120"}


class _OfficialOracle(Oracle):
    """Shared NB201-protocol oracle over an :class:`OfficialCache` (see module docstring)."""

    flavour: ClassVar[str]
    full_hp: ClassVar[str]
    datasets: ClassVar[tuple[str, ...]] = ("cifar10", "cifar100", "ImageNet16-120")
    metric: ClassVar[str] = "valid_acc_one_seed"
    default_budgets: ClassVar[dict[str, float]]
    import_hint: ClassVar[str]

    def _make_space(self) -> SearchSpace:
        raise NotImplementedError

    def __init__(self, dataset: str = "cifar10", path: str | Path | None = None,
                 epochs: int | Sequence[int] = 12, with_curve: bool = True) -> None:
        try:
            self.dataset = _DATASETS[dataset]
        except KeyError:
            raise unknown("dataset", dataset, sorted(_DATASETS)) from None
        root = Path(path) if path is not None else default_cache_dir(self.flavour)
        if not (root / "manifest.json").is_file():
            raise DataError(f"no {self.flavour} cache at {root}; run `{self.import_hint}` first "
                            f"(once; then pass path= to the cache directory if you used --out)")
        self.cache = OfficialCache(root)
        if self.cache.flavour != self.flavour:
            raise DataError(f"{root} holds a {self.cache.flavour} cache, not {self.flavour}; "
                            f"use the {self.cache.flavour!r} oracle or import the right file")
        self.space = self._make_space()
        self.default_budget_seconds = float(self.default_budgets[self.dataset])
        self.with_curve = with_curve
        self._search_ds = "cifar10-valid" if self.dataset == "cifar10" else self.dataset
        self._test = "ori_test_acc" if self.dataset == "cifar10" else "x_test_acc"
        hps = {int(h): h for d, h in self.cache.settings() if d == self._search_ds}
        wanted = sorted({int(epochs)} if isinstance(epochs, int | np.integer) else {int(e) for e in epochs})
        self._source: dict[Fidelity, tuple[RunGroup, int | None]] = {}
        full = self.cache.group(self._search_ds, self.full_hp) if int(self.full_hp) in hps else None
        for e in wanted:
            if e in hps:
                self._source[Fidelity(epochs=e)] = (self.cache.group(self._search_ds, hps[e]), None)
            elif full is not None and 1 <= e < full.epochs:
                self._source[Fidelity(epochs=e)] = (full, e)
            else:
                raise ConfigError(f"{self.flavour} on {self.dataset}: epochs={e} is neither a training "
                                  f"schedule of this cache (hp {sorted(hps)}) nor an epoch "
                                  f"1..{int(self.full_hp) - 1} of the hp={self.full_hp} curve")
        self.fidelities = tuple(sorted(self._source))
        # space (mixed-radix) index -> official index, and arch tuple -> official index for queries
        self._official = np.full(self.space.size, -1, dtype=np.int64)
        self._official[self.cache.space_index] = np.arange(len(self.cache.space_index))
        cards = np.array(self.space.cardinalities)
        weights = np.r_[np.cumprod(cards[::-1])[::-1][1:], 1]
        digits = (self.cache.space_index[:, None] // weights) % cards
        self._lookup: dict[Arch, int] = {tuple(d): i for i, d in enumerate(digits.tolist())}
        self._rows: dict[int, _Rows] = {}
        self._tables = {f: self._fidelity_table(g, e) for f, (g, e) in self._source.items()}
        self._final = self._final_metrics()
        self.best_final = float(np.nanmax(self._final)) if np.isfinite(self._final).any() else math.nan
        self._final_list = self._final.tolist()
        self._params: dict[int, float] = {}

    def _final_metrics(self) -> np.ndarray:
        """Seed-mean full-schedule test accuracy per official index, averaged as the official API does."""
        return self.cache.group(self.dataset, self.full_hp).seed_mean(self._test, self.flavour == "nb201")

    def _fidelity_table(self, g: RunGroup, epoch: int | None) -> _FidelityTable:
        """Python lists for one fidelity, so a query is a few list lookups (microseconds)."""
        if id(g) not in self._rows:
            c = g.cols
            lat = np.where(c["latency"] > 0, c["latency"], np.nan)
            self._rows[id(g)] = _Rows(c["seed"].astype(float).tolist(), c["params"].tolist(),
                                      c["flops"].tolist(), lat.tolist())
        score = cost = None
        if epoch is None:  # the official train-all-time + valid-per-time (valid all-time / epochs)
            score = g.cols["x_valid_acc"].tolist()
            cost = (g.cols["train_time"] + g.cols["x_valid_time"] / g.epochs).tolist()
        rows = list(zip(g.first.tolist(), g.count.tolist(), strict=True))
        return _FidelityTable(g, epoch, rows, score, cost, g.curves.view(np.ndarray), self._rows[id(g)])

    def official_index(self, arch: Arch) -> int:
        """The official benchmark index of an architecture (-1 if the cache lacks it)."""
        try:
            index = self._lookup.get(arch)
        except TypeError:  # a list or array: not hashable
            index = None
        if index is None:
            arch = self.space.validate(arch)  # raises for a non-member
            index = self._lookup.get(arch, -1)
        return index

    def evaluate(self, arch: Arch, fidelity: Fidelity | None, rng: np.random.Generator) -> Evaluation:
        """One seed's validation accuracy at ``fidelity``; cost = train-all-time + valid-per-time."""
        fid = self.fidelities[-1] if fidelity is None else fidelity
        t = self._tables.get(fid)
        if t is None:
            fid = self.check_fidelity(fidelity)  # raises, naming the fidelities on offer
            t = self._tables[fid]
        index = self._lookup.get(arch) if type(arch) is tuple else None
        if index is None:
            index = self.official_index(arch)
        first, k = t.rows[index] if index >= 0 else (-1, 0)
        if k == 0:
            g = t.group
            return Evaluation.failed(arch, fid, f"architecture {arch} has no {g.dataset} hp={g.hp} run in "
                                     f"the {self.flavour} cache")
        r = first + int(rng.random() * k)
        if t.epoch is None:
            score, cost, n = t.score[r], t.cost[r], t.group.epochs
        else:
            n = t.epoch
            row = t.curves[r]
            score = float(row[_X_VALID, n - 1])
            cost = float(row[_TRAIN_T, n - 1] + row[_X_VALID_T, n - 1] / n)
        if score != score or cost != cost:
            g = t.group
            return Evaluation.failed(arch, fid, f"{g.dataset} hp={g.hp} seed {t.info.seed[r]:.0f} lacks "
                                     f"x-valid accuracy or times at epoch {n}")
        info = t.info
        return Evaluation(arch=arch, fidelity=fid, score=score, cost=cost, params=info.params[r],
                          flops=info.flops[r],
                          curve=tuple(t.curves[r, _X_VALID, :n].tolist()) if self.with_curve else None,
                          extras={"latency": info.latency[r], "seed": info.seed[r],
                                  "official_index": float(index)})

    def final_metric(self, arch: Arch) -> float:
        """Seed-mean test accuracy (percent) after the full schedule: see the subclass docstring."""
        index = self._lookup.get(arch) if type(arch) is tuple else None
        if index is None:
            index = self.official_index(arch)
        return self._final_list[index] if index >= 0 else math.nan

    def final_metrics(self) -> np.ndarray:
        """Final metric of every architecture by *space* (mixed-radix) index, NaN where missing."""
        out = np.full(self.space.size, np.nan)
        ok = self._official >= 0
        out[ok] = self._final[self._official[ok]]
        return out

    def params(self, arch: Arch) -> float:
        """Official parameter count (MB as the benchmark reports it) of the final dataset's network."""
        index = self.official_index(arch)
        value = self._params.get(index)
        if value is None:
            g = self.cache.group(self.dataset, self.full_hp)
            value = math.nan if index < 0 or not g.rows(index) else \
                float(self.cache.get_cost_info(index, self.dataset, self.full_hp)["params"])
            self._params[index] = value
        return value

    def describe(self) -> dict[str, Any]:
        """The base description plus the cache's provenance and the default budget."""
        out = super().describe()
        out.update(source=self.cache.manifest.get("source_name"), sha256=self.cache.manifest.get("sha256"),
                   default_budget_seconds=self.default_budget_seconds)
        return out


class NB201Oracle(_OfficialOracle):
    """NAS-Bench-201 (``nas_201_api`` file) with the NB201 search protocol.

    Final metric: ``get_more_info(index, D, hp='200', is_random=False)['test-accuracy']``, i.e.
    the seed-mean 200-epoch accuracy on CIFAR-10's ``ori-test`` split after training on train+valid
    (D = ``cifar10``), or on the ``x-test`` half of the test set (CIFAR-100, ImageNet16-120).
    Default budgets: 12,000 simulated seconds, the NB201 paper's value for CIFAR-10 that the
    authors' search scripts use for every dataset.
    """

    name: ClassVar[str] = "nb201"
    flavour: ClassVar[str] = "nb201"
    full_hp: ClassVar[str] = "200"
    final_metric_name: ClassVar[str] = "test_acc_200ep_seed_mean"
    default_budgets: ClassVar[dict[str, float]] = {"cifar10": 12_000.0, "cifar100": 12_000.0,
                                                   "ImageNet16-120": 12_000.0}
    import_hint: ClassVar[str] = "nasarena data import-nb201 FILE --trust"

    def _make_space(self) -> SearchSpace:
        return NB201Space()


class NATSTopologyOracle(NB201Oracle):
    """NATS-Bench topology space (the NB201 space; ``NATS-tss-v1_0-3ffb9`` files).

    Same protocol and final metric as :class:`NB201Oracle`; budgets 20,000 / 40,000 / 120,000 s for
    CIFAR-10 / CIFAR-100 / ImageNet16-120, as in the NATS-Bench paper.
    """

    name: ClassVar[str] = "nats-tss"
    flavour: ClassVar[str] = "nats-tss"
    default_budgets: ClassVar[dict[str, float]] = {"cifar10": 20_000.0, "cifar100": 40_000.0,
                                                   "ImageNet16-120": 120_000.0}
    import_hint: ClassVar[str] = "nasarena data import-nats PATH --trust --space tss"


class NATSSizeOracle(_OfficialOracle):
    """NATS-Bench size space (32,768 channel configurations; ``NATS-sss-v1_0-50262`` files).

    The size space's full schedule is 90 epochs (hp='90'; hp='01' and '12' also exist), so the final
    metric is the seed-mean 90-epoch test accuracy (same splits as :class:`NB201Oracle`). Budgets as
    for the topology space.
    """

    name: ClassVar[str] = "nats-sss"
    flavour: ClassVar[str] = "nats-sss"
    full_hp: ClassVar[str] = "90"
    final_metric_name: ClassVar[str] = "test_acc_90ep_seed_mean"
    default_budgets: ClassVar[dict[str, float]] = NATSTopologyOracle.default_budgets
    import_hint: ClassVar[str] = "nasarena data import-nats PATH --trust --space sss"

    def _make_space(self) -> SearchSpace:
        return NATSSizeSpace()


__all__ = ["NATSSizeOracle", "NATSTopologyOracle", "NB201Oracle", "OfficialCache", "RunGroup"]
