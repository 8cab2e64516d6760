"""The official NAS-Bench-201 / NATS-Bench cache, opened read-only with the official API's view.

:class:`OfficialCache` opens a cache written by :mod:`nasarena.estimators.official_import` (in
milliseconds: scalars are read per (dataset, hp) group on first use, curves are memory-mapped) and
answers ``get_more_info`` / ``get_cost_info`` / ``get_latency`` / ``simulate_train_eval`` exactly as
``nas_201_api`` (flavour ``nb201``) or ``nats_bench`` (``nats-tss``, ``nats-sss``) do, including
their seed averaging (``np.mean`` vs. ``sum/len``) and time accounting. Random seed choices come
from a numpy Generator (or an explicit ``seed=``) instead of the global ``random`` module.

:class:`RunGroup` holds the runs of one (dataset, hp) setting; the oracles of
:mod:`nasarena.estimators.official` read it directly for their per-fidelity tables.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.parquet as pq

from nasarena.errors import DataError
from nasarena.estimators.official_format import CHANNELS, FORMAT_VERSION, group_name

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


def _float(x: Any) -> Any:
    """Every number the API returns is a Python float (the official API mixes float and np.float64
    depending on the query: one seed or a mean, final or per-epoch); strings and None pass through."""
    return x if x is None or isinstance(x, str) else float(x)


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
        return {k: _float(v) for k, v in xinfo.items()}

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
        return {k: _float(v) for k, v in info.items()}

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
        return float(valid_acc), _float(latency), float(cost), float(self._used_time)


__all__ = ["OfficialCache", "RunGroup"]
