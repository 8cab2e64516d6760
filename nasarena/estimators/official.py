"""Oracles over official NAS-Bench-201 / NATS-Bench caches.

The oracles (:class:`NB201Oracle` ``"nb201"``, :class:`NATSTopologyOracle` ``"nats-tss"``,
:class:`NATSSizeOracle` ``"nats-sss"``) read a cache through
:class:`~nasarena.estimators.official_cache.OfficialCache` and follow the NB201 search protocol:
the score is the 12-epoch (hp=12) validation accuracy of one seed drawn from the caller's rng, the
cost is ``train-all-time + valid-per-time`` of that run (what the official ``simulate_train_eval``
charges), and the final metric is the seed-mean test accuracy of the full schedule (see
``final_metric``).
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from nasarena.errors import ConfigError, DataError, unknown
from nasarena.estimators.base import CONTINUE, MULTI_FIDELITY, Evaluation, Fidelity, Oracle, cheapest_first
from nasarena.estimators.official_cache import OfficialCache, RunGroup
from nasarena.estimators.official_import import CHANNELS, default_cache_dir
from nasarena.spaces.base import Arch, SearchSpace
from nasarena.spaces.nats_sss import NATSSizeSpace
from nasarena.spaces.nb201 import NB201Space

#: curve channels an evaluation reads: x-valid accuracy, cumulative train and x-valid times
_X_VALID, _TRAIN_T, _X_VALID_T = (CHANNELS.index(c) for c in ("x_valid_acc", "train_cumtime",
                                                               "x_valid_cumtime"))


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

def parse_epochs(epochs: Any) -> list[int]:
    """``epochs=`` as sorted distinct ints: one number, ``"1,3,12"`` (what ``--oracle-arg epochs=1,3,12``
    passes), ``"[1, 3, 12]"`` or a list of numbers; anything else is one ConfigError line."""
    hint = (f"epochs={epochs!r}: give one positive whole number of epochs or several, e.g. epochs=12 or "
            f"epochs=1,3,12,50,200 (on the command line: --oracle-arg epochs=1,3,12,50,200)")
    items: Any = epochs
    if isinstance(epochs, str):
        items = [p for p in re.split(r"[,\s]+", epochs.strip().strip("[]()")) if p]
    elif isinstance(epochs, int | np.integer):
        items = [epochs]
    out = []
    try:
        for e in items:
            value = float(e) if isinstance(e, str) else e
            if isinstance(e, bool) or int(value) != value or value < 1:
                raise ValueError
            out.append(int(value))
    except (TypeError, ValueError):
        raise ConfigError(hint) from None
    if not out:
        raise ConfigError(hint)
    return sorted(set(out))


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

    offers: ClassVar[frozenset[str]] = frozenset({MULTI_FIDELITY, CONTINUE})
    #: the schedule the NB201 / NATS-Bench search protocol scores with (hp='12')
    protocol_epochs: ClassVar[int] = 12

    def __init__(self, dataset: str = "cifar10", path: str | Path | None = None,
                 epochs: int | str | Sequence[int] = 12, with_curve: bool = True,
                 schedule: str = "own") -> None:
        try:
            self.dataset = _DATASETS[dataset]
        except KeyError:
            raise unknown("dataset", dataset, sorted(_DATASETS)) from None
        root = Path(path) if path is not None else default_cache_dir(self.flavour)
        if not (root / "manifest.json").is_file():
            raise DataError(f"no {self.flavour} cache at {root}; run `{self.import_hint}` first "
                            f"(once; then pass path= to the cache directory if you used --out)")
        if schedule not in ("own", "full"):
            raise unknown("schedule", schedule, ("own", "full"))
        self.schedule = schedule
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
        wanted = parse_epochs(epochs)
        self._source: dict[Fidelity, tuple[RunGroup, int | None]] = {}
        full = self.cache.group(self._search_ds, self.full_hp) if int(self.full_hp) in hps else None
        for e in wanted:
            from_curve = schedule == "full" and full is not None and e < full.epochs
            if e in hps and not from_curve:
                self._source[Fidelity(epochs=e)] = (self.cache.group(self._search_ds, hps[e]), None)
            elif full is not None and 1 <= e < full.epochs:
                self._source[Fidelity(epochs=e)] = (full, e)
            else:
                raise ConfigError(f"{self.flavour} on {self.dataset}: epochs={e} is neither a training "
                                  f"schedule of this cache (hp {sorted(hps)}) nor an epoch "
                                  f"1..{int(self.full_hp) - 1} of the hp={self.full_hp} curve")
        self.fidelities = cheapest_first(self._source)  # all differ in epochs only
        protocol = Fidelity(epochs=self.protocol_epochs)
        #: what single-fidelity strategies search at: 12 epochs when offered (the protocol's own
        #: schedule, or with schedule="full" epoch 12 of the full run), whatever else the ladder holds
        #: for multi-fidelity ones; else the top
        self._search = protocol if protocol in self._source else self.fidelities[-1]
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

    @property
    def search_fidelity(self) -> Fidelity:
        """The protocol's 12-epoch schedule when offered, else the top (see ``estimators.base.Ladder``)."""
        return self._search

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

    def evaluate(self, arch: Arch, fidelity: Fidelity | None, rng: np.random.Generator, *,
                 start: Any = None, inherit: Any = None) -> Evaluation:
        """One seed's validation accuracy at ``fidelity``; cost = train-all-time + valid-per-time.

        ``start`` (the ``handle`` of an earlier evaluation of ``arch``, when ``"continue"`` is
        offered): the same run (seed) read at the later epoch, charged the cost increment, so the
        lineage's total equals the uninterrupted cost. The handle is ``(official index, row, fidelity)``.
        ``inherit`` is not supported (tables hold no weights; ``"warm-start"`` is not offered).
        """
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
        if start is None:
            r = first + int(rng.random() * k)
            score, cost, n = self._at(t, r)
        else:  # the same training run (row), read at the later epoch; charged the increment
            r, cost = self._continue(arch, index, fid, t, start)
            score, _, n = self._at(t, r)
        if score != score or cost != cost:
            g = t.group
            return Evaluation.failed(arch, fid, f"{g.dataset} hp={g.hp} seed {t.info.seed[r]:.0f} lacks "
                                     f"x-valid accuracy or times at epoch {n}")
        info = t.info
        return Evaluation(arch=arch, fidelity=fid, score=score, cost=cost, params=info.params[r],
                          flops=info.flops[r],
                          curve=tuple(t.curves[r, _X_VALID, :n].tolist()) if self.with_curve else None,
                          extras={"latency": info.latency[r], "seed": info.seed[r],
                                  "official_index": float(index)},
                          handle=(index, r, fid))

    @staticmethod
    def _at(t: _FidelityTable, r: int) -> tuple[float, float, int]:
        """(score, cost, epochs) of row ``r`` at fidelity table ``t`` (cost as the official API charges)."""
        if t.epoch is None:
            return t.score[r], t.cost[r], t.group.epochs
        n = t.epoch
        row = t.curves[r]
        return float(row[_X_VALID, n - 1]), float(row[_TRAIN_T, n - 1] + row[_X_VALID_T, n - 1] / n), n

    def capabilities(self) -> frozenset[str]:
        """``"continue"`` when every fidelity reads one training schedule (one run per seed).

        With ``schedule="full"`` (or fidelities that are all epochs of the full schedule's curve) a
        lower fidelity is an epoch of the same run, so continuing it is reading the same run later.
        With ``schedule="own"`` and a cache that has its own shorter schedule (NB201's hp=12: a
        separate 12-epoch cosine run), the fidelities are different trainings and cannot be continued.
        """
        caps = super().capabilities()
        groups = {id(t.group) for t in self._tables.values()}
        return caps | {CONTINUE} if len(self.fidelities) > 1 and len(groups) == 1 else caps

    def _continue(self, arch: Arch, index: int, fid: Fidelity, t: _FidelityTable,
                  start: Any) -> tuple[int, float]:
        """The row of the run ``start`` ended in, and the cost increment from there to ``fid``."""
        s_index, r, s_fid = start
        parent = self._tables.get(s_fid)
        if s_index != index or parent is None or parent.group is not t.group or \
                not s_fid.epochs < fid.epochs:
            raise DataError(f"{self.flavour}: cannot continue {arch} from handle {start!r} to "
                            f"{fid.key()}: a continue needs the same architecture and training schedule "
                            f"at a lower epoch (schedule='full' reads every epoch from one run)")
        # cumulative cost of the lineage equals the uninterrupted cost; never below zero
        return r, max(0.0, self._at(t, r)[1] - self._at(parent, r)[1])

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
                   md5_check=self.cache.manifest.get("hash_check"),
                   default_budget_seconds=self.default_budget_seconds, search_fidelity=self._search.key(),
                   fidelities=[f.key() for f in self.fidelities])
        if len(self.fidelities) > 1:  # the report's "search metric" line then states both
            ladder = ", ".join(str(f.epochs) for f in self.fidelities)
            out["search_metric"] = (f"{self.metric} at {self._search.key()} (single-fidelity strategies); "
                                    f"multi-fidelity strategies: epochs {ladder}")
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
    needs: ClassVar[str] = ("the official NAS-Bench-201-v1_*.pth, imported once with `nasarena data "
                            "import-nb201 FILE --trust` (path= the cache if you used --out)")
    fidelity_help: ClassVar[str] = ("epochs=12 (default, the protocol's), or a ladder for multi-fidelity "
                                    "strategies: epochs=1,3,12,50,200 (12 and 200: their own schedules; "
                                    "others: epochs of the 200-epoch curve)")

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
    needs: ClassVar[str] = ("the official NATS-tss-v1_0-3ffb9 file or directory, imported once with "
                            "`nasarena data import-nats PATH --trust --space tss`")


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
    needs: ClassVar[str] = ("the official NATS-sss-v1_0-50262 file or directory, imported once with "
                            "`nasarena data import-nats PATH --trust --space sss`")
    fidelity_help: ClassVar[str] = ("epochs=12 (default, the protocol's), or a ladder: epochs=1,12,45,90 "
                                    "(1, 12, 90: their own schedules; others: epochs of the 90-epoch curve)")

    def _make_space(self) -> SearchSpace:
        return NATSSizeSpace()


__all__ = ["NATSSizeOracle", "NATSTopologyOracle", "NB201Oracle"]
