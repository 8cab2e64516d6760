"""The oracle contract: what a strategy may see, and what only the harness may read.

``Oracle.evaluate`` returns an :class:`Evaluation` (the search signal at some fidelity, its cost,
params and FLOPs). ``Oracle.final_metric`` returns the held-out number that results are reported in
(test accuracy, or a seed mean where no test split exists); the runner calls it, strategies never do.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields
from typing import Any, ClassVar

import numpy as np

from nasarena.errors import ConfigError
from nasarena.spaces.base import Arch, SearchSpace


@dataclass(frozen=True, order=True)
class Fidelity:
    """How cheaply to estimate performance (the survey's lower-fidelity knobs).

    ``None`` in a field means "the oracle's full value". Tabular oracles typically vary only
    ``epochs``; live training can vary all of them. Fidelities are ordered field by field, and
    oracles list theirs from cheapest to most expensive.
    """

    epochs: int | None = None
    data_fraction: float | None = None
    channels: int | None = None
    cells: int | None = None
    resolution: int | None = None

    def as_dict(self) -> dict[str, Any]:
        """The non-default fields (for tables and cache keys)."""
        return {f.name: getattr(self, f.name) for f in fields(self) if getattr(self, f.name) is not None}

    def key(self) -> str:
        """A short stable string, e.g. ``"epochs=12"`` or ``"full"``."""
        d = self.as_dict()
        return ",".join(f"{k}={v}" for k, v in d.items()) or "full"

    @classmethod
    def parse(cls, text: str) -> Fidelity:
        """Inverse of :meth:`key`."""
        if text in ("", "full"):
            return cls()
        kw: dict[str, Any] = {}
        names = {f.name for f in fields(cls)}
        for part in text.split(","):
            k, _, v = part.partition("=")
            if k not in names:
                raise ConfigError(f"unknown fidelity field {k!r}; valid fields are {sorted(names)}")
            kw[k] = float(v) if k == "data_fraction" else int(v)
        return cls(**kw)


FULL = Fidelity()


@dataclass(frozen=True)
class Evaluation:
    """What a strategy is told about one evaluation.

    ``score`` is the search signal (higher is better; e.g. validation accuracy in percent of one
    randomly drawn seed), NaN when ``ok`` is False. ``cost`` is seconds on the oracle's clock
    (simulated for tables, measured for live training). ``params`` in millions, ``flops`` in
    millions of multiply-adds (NaN where unknown). ``curve`` is a per-epoch search-metric curve where
    the oracle has one. ``extras`` carries further metrics (e.g. latency) for multi-objective use.
    """

    arch: Arch
    fidelity: Fidelity
    score: float
    cost: float
    params: float = math.nan
    flops: float = math.nan
    ok: bool = True
    error: str | None = None
    curve: tuple[float, ...] | None = None
    extras: dict[str, float] = field(default_factory=dict)

    @classmethod
    def failed(cls, arch: Arch, fidelity: Fidelity, error: str, cost: float = 0.0) -> Evaluation:
        """A failed evaluation: a result, not a crash (NaN score, reason in ``error``)."""
        return cls(arch=arch, fidelity=fidelity, score=math.nan, cost=cost, ok=False, error=error)


class Oracle:
    """Base class of oracles. Subclasses set the class attributes and implement the two methods.

    Class attributes: ``name`` (registry name), ``datasets`` (accepted dataset names),
    ``metric`` (what ``score`` is), ``final_metric_name`` (what :meth:`final_metric` returns).
    Instance attributes: ``space``, ``dataset``, ``fidelities`` (cheapest first; the last is the
    default), ``best_final`` (max of the final metric over the space, NaN if unknown, for regret).
    """

    name: ClassVar[str] = "abstract"
    datasets: ClassVar[tuple[str, ...]] = ()
    metric: ClassVar[str] = "score"
    final_metric_name: ClassVar[str] = "final"

    space: SearchSpace
    dataset: str
    fidelities: tuple[Fidelity, ...] = (FULL,)
    best_final: float = math.nan

    def evaluate(self, arch: Arch, fidelity: Fidelity | None, rng: np.random.Generator) -> Evaluation:
        """Score ``arch`` at ``fidelity`` (``None``: the default, i.e. ``fidelities[-1]``)."""
        raise NotImplementedError

    def final_metric(self, arch: Arch) -> float:
        """The held-out metric results are reported in. Harness only: never give it to a strategy."""
        raise NotImplementedError

    def params(self, arch: Arch) -> float:
        """Parameters in millions at full fidelity (NaN if unknown)."""
        return math.nan

    def check_fidelity(self, fidelity: Fidelity | None) -> Fidelity:
        """Return the fidelity to use, or raise naming the ones this oracle offers."""
        if fidelity is None:
            return self.fidelities[-1]
        if fidelity not in self.fidelities:
            offered = ", ".join(f.key() for f in self.fidelities)
            raise ConfigError(f"oracle {self.name!r} offers fidelities [{offered}], not {fidelity.key()!r}")
        return fidelity

    def describe(self) -> dict[str, Any]:
        """What was searched on and what is reported (recorded with every run and in reports)."""
        return {
            "oracle": self.name, "dataset": self.dataset, "space": self.space.name,
            "search_metric": self.metric, "final_metric": self.final_metric_name,
            "fidelities": [f.key() for f in self.fidelities], "best_final": self.best_final,
        }
