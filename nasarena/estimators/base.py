"""The oracle contract: what a strategy may see, and what only the harness may read.

``Oracle.evaluate`` returns an :class:`Evaluation` (the search signal at some fidelity, its cost,
params and FLOPs). ``Oracle.final_metric`` returns the held-out number that results are reported in
(test accuracy, or a seed mean where no test split exists); the runner calls it, strategies never do.

Evaluations need not be independent (issue 9): an oracle declares in :meth:`Oracle.capabilities`
which of :data:`CAPABILITIES` it offers. ``"continue"``: ``evaluate(..., start=handle)`` extends the
evaluation that ended in ``handle`` (same architecture) to a higher fidelity, charging only the
increment; ``"warm-start"``: ``evaluate(..., inherit=handle)`` starts from the weights of any earlier
evaluation; ``"shared"``: :meth:`Oracle.run_shared` does costed work that belongs to no architecture
(:class:`SharedWork`, e.g. supernet steps). The runner keeps the handles per proposal id, so an
oracle stays a pure function of (architecture, fidelity, random draw, handle).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields
from typing import Any, ClassVar

import numpy as np

from nasarena.errors import ConfigError, UnsupportedError
from nasarena.spaces.base import Arch, SearchSpace


@dataclass(frozen=True, init=False)
class Fidelity:
    """How cheaply to estimate performance (the survey's lower-fidelity knobs).

    ``None`` in a field (or a size knob left out) means "the oracle's full value", and ``Fidelity()``
    (:data:`FULL`) means the oracle's top fidelity everywhere: ``Oracle.check_fidelity`` and the
    runner resolve it to ``oracle.fidelities[-1]``. The strategies' default proposal fidelity is
    ``oracle.search_fidelity``: the top unless the oracle's protocol names another (:class:`Ladder`).
    Tabular oracles typically vary only ``epochs``; live training can vary all of them.

    **Cost order.** Every field and knob is a size (more is costlier), so ``a <= b`` means *a is
    nowhere larger than b* (a missing value counts as the full one, larger than any number) and
    ``a < b`` means that and ``a != b``. That is a partial order and comparisons never raise: of
    ``Fidelity(epochs=12, channels=8)`` and ``Fidelity(epochs=3)`` neither is ``<`` the other,
    because which is cheaper depends on the network (here 12 x 8 channels vs 3 x the full 16). The
    order that decides is the oracle's: ``oracle.fidelities`` lists its fidelities cheapest first
    (tables by their mean cost, official caches by epochs, live training by its cost model), is
    never contradicted by ``<`` (a later fidelity is never below an earlier one; the oracle
    conformance suite checks it), and is the rank the runner uses for the incumbent.

    ``epochs``, ``data_fraction`` and ``resolution`` mean the same for every space. ``size`` holds the
    *space's own* size knobs as sorted ``(name, value)`` pairs (NB201: ``channels``, ``cells``; macro
    spaces: ``width_mult``, ``depth_limit``; see :mod:`nasarena.spaces.trainable`): they are passed as
    keywords, ``Fidelity(epochs=3, channels=8)``, and the oracle that trains the space checks the names.
    ``fid.channels`` / ``fid.cells`` still read those two knobs (None when absent), and keys list them
    first, in that order, so every key stored before the knobs left the core is unchanged
    (``"epochs=1,data_fraction=0.5,channels=8,cells=1"``).
    """

    epochs: int | None = None
    data_fraction: float | None = None
    size: tuple[tuple[str, int | float], ...] = ()
    resolution: int | None = None
    #: Size knobs that were fields before spaces declared their own (issue 11).
    LEGACY_SIZE: ClassVar[tuple[str, ...]] = ("channels", "cells")

    def __init__(self, epochs: int | None = None, data_fraction: float | None = None,
                 resolution: int | None = None, *, size: Any = (), **knobs: int | float | None) -> None:
        items = dict(size.items() if hasattr(size, "items") else size)
        items.update(knobs)
        ordered = sorted((k, v) for k, v in items.items() if v is not None)
        legacy = self.LEGACY_SIZE
        ordered.sort(key=lambda kv: legacy.index(kv[0]) if kv[0] in legacy else len(legacy))
        d = self.__dict__
        d["epochs"], d["data_fraction"], d["size"], d["resolution"] = epochs, data_fraction, tuple(ordered), \
            resolution

    def __getattr__(self, name: str) -> Any:
        """``fid.channels`` / ``fid.cells``: the NB201 knobs, which were fields before issue 11."""
        if name in Fidelity.LEGACY_SIZE:
            return dict(self.__dict__.get("size", ())).get(name)
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def _sizes(self) -> dict[str, float]:
        """Every set field and knob by name (missing ones are the full value)."""
        out = {k: v for k, v in (("epochs", self.epochs), ("data_fraction", self.data_fraction),
                                 ("resolution", self.resolution)) if v is not None}
        out.update(self.size)
        return out

    def __le__(self, other: object) -> bool:
        """Nowhere larger than ``other`` (see the class docstring); never raises on None fields."""
        if not isinstance(other, Fidelity):
            return NotImplemented
        mine, theirs = self._sizes(), other._sizes()
        # a value only this one sets is below the other's full value; one only the other sets is not
        return all(k in mine and mine[k] <= v for k, v in theirs.items())

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, Fidelity):
            return NotImplemented
        return self != other and self <= other

    def __ge__(self, other: object) -> bool:
        if not isinstance(other, Fidelity):
            return NotImplemented
        return other <= self

    def __gt__(self, other: object) -> bool:
        if not isinstance(other, Fidelity):
            return NotImplemented
        return other < self

    def knob(self, name: str, default: Any = None) -> Any:
        """The value of size knob ``name`` (``default`` when the fidelity leaves it at full)."""
        return dict(self.size).get(name, default)

    def as_dict(self) -> dict[str, Any]:
        """The non-default fields, size knobs inline (for tables and cache keys)."""
        out = {k: v for k, v in (("epochs", self.epochs), ("data_fraction", self.data_fraction))
               if v is not None}
        out.update(self.size)
        if self.resolution is not None:
            out["resolution"] = self.resolution
        return out

    def key(self) -> str:
        """A short stable string, e.g. ``"epochs=12"`` or ``"full"``."""
        d = self.as_dict()
        return ",".join(f"{k}={v}" for k, v in d.items()) or "full"

    @classmethod
    def parse(cls, text: str) -> Fidelity:
        """Inverse of :meth:`key`; a name other than the generic fields is a size knob (int or float)."""
        if text in ("", "full"):
            return cls()
        kw: dict[str, Any] = {}
        generic = {f.name for f in fields(cls)} - {"size"}
        for part in text.split(","):
            k, sep, v = part.partition("=")
            if not sep or not k.isidentifier() or k == "size":
                raise ConfigError(f"cannot read fidelity part {part!r} of {text!r}; write name=value pairs "
                                  f"joined by ',', e.g. 'epochs=3,channels=8' (generic fields: epochs, "
                                  f"data_fraction, resolution; other names are the space's size knobs)")
            try:
                kw[k] = (float(v) if k == "data_fraction" else int(v)) if k in generic \
                    else int(v) if v.lstrip("+-").isdigit() else float(v)
            except ValueError:
                raise ConfigError(f"fidelity field {k} in {text!r} must be a number, got {v!r}") from None
        return cls(**kw)


FULL = Fidelity()


def cheapest_first(fidelities: Iterable[Fidelity],
                   cost: Mapping[Fidelity, float] | None = None) -> tuple[Fidelity, ...]:
    """Distinct fidelities in an oracle's cost order: by ``cost[f]`` (e.g. a table's mean cost) if
    given, ties (or no costs) by a linear extension of ``<`` (epochs, data fraction, resolution, then
    the size knobs by name, compared lexicographically with full values last); ``Fidelity()`` last."""
    fids = list(dict.fromkeys(fidelities))
    knobs = sorted({k for f in fids for k, _ in f.size})
    names = ("epochs", "data_fraction", "resolution", *knobs)

    def key(f: Fidelity) -> tuple[bool, float, tuple[float, ...]]:
        sizes = f._sizes()  # Fidelity() is above every other one whatever its cost: it means the top
        return (f == FULL, cost.get(f, 0.0) if cost else 0.0,
                tuple(float(sizes.get(n, math.inf)) for n in names))

    return tuple(sorted(fids, key=key))


class Ladder(tuple):  # type: ignore[type-arg]
    """An oracle's fidelities (cheapest first) and ``search``, the default of single-fidelity strategies.

    ``search`` is what a single-fidelity strategy searches at: the top of the ladder unless the
    oracle's protocol says otherwise (the NB201 protocol searches at the 12-epoch schedule even when
    a multi-fidelity strategy is also given 1, 3, 50 and 200 epochs). The runner builds strategies
    with one (``Strategy.fidelity``, their default proposal fidelity, reads ``search``); a plain
    tuple means "the top". ``Fidelity()`` keeps meaning the top either way.
    """

    search: Fidelity

    def __new__(cls, fidelities: Any, search: Fidelity | None = None) -> Ladder:
        self = super().__new__(cls, fidelities)
        self.search = self[-1] if search is None else search
        if self.search not in self:
            raise ConfigError(f"search fidelity {self.search.key()} is not one of the fidelities "
                              f"[{', '.join(f.key() for f in self)}]")
        return self

#: What an oracle may offer (:meth:`Oracle.capabilities`) and a strategy may require or use.
#: ``"proxy"``: shared work named ``"proxy"`` scores a list of architectures by a zero-cost proxy
#: (:data:`PROXY_WORK`); an oracle offering it also offers ``"shared"``.
MULTI_FIDELITY, CONTINUE, WARM_START, SHARED = "multi-fidelity", "continue", "warm-start", "shared"
#: Weight-step modes of supernet shared work (issue 14), each offered as ``"supernet:<mode>"``: a
#: one-shot strategy requires its method's mode, so a supernet that cannot train it (a macro space's
#: supernet has no joint or Gumbel mixing) refuses the strategy before any work.
SUPERNET_MODES: tuple[str, ...] = ("joint", "gumbel", "uniform", "sampled", "controller")


def supernet_mode(mode: str) -> str:
    """The capability name of supernet weight-step ``mode`` (``"supernet:uniform"``)."""
    return f"supernet:{mode}"


PROXY = "proxy"
CAPABILITIES: frozenset[str] = frozenset(
    {MULTI_FIDELITY, CONTINUE, WARM_START, SHARED, PROXY} | {supernet_mode(m) for m in SUPERNET_MODES}
)
#: The shared work of ``"proxy"``: ``SharedWork(PROXY_WORK, len(archs), {"proxy": name, "archs": [...]})``
#: (architectures as lists of ints); its evaluation's ``extras[proxy_key(i)]`` is the score of
#: ``archs[i]`` (NaN where it failed), its cost the measured seconds of scoring them all.
PROXY_WORK = "proxy"
#: ``Evaluation.extras`` key by which an oracle says how a warm start's weights were mapped: the
#: index of its kind in :data:`nasarena.spaces.morphisms.KINDS` (0 exact, 1 approximate,
#: 2 lamarckian); absent or NaN otherwise. The runner records the kind's name in the trajectory.
MORPHISM_EXTRA = "morphism"


def proxy_key(i: int) -> str:
    """The ``extras`` key of the ``i``-th architecture's score in a ``"proxy"`` work's evaluation."""
    return f"proxy:{i}"


@dataclass(frozen=True)
class SharedWork:
    """Costed work that belongs to no architecture, e.g. ``SharedWork("supernet", steps=100)``.

    ``params`` must be JSON-safe (it is recorded); the oracle's :meth:`Oracle.run_shared` decides
    what ``name`` means and returns an :class:`Evaluation` with ``arch=None`` and the work's cost.
    """

    name: str
    steps: int
    params: Mapping[str, Any] = field(default_factory=dict, hash=False)

    def key(self) -> str:
        """The trajectory's fidelity cell of a shared-work row, e.g. ``"supernet,steps=100"``."""
        extra = "".join(f",{k}={v}" for k, v in sorted(self.params.items()))
        return f"{self.name},steps={self.steps}{extra}"


@dataclass(frozen=True)
class Evaluation:
    """What a strategy is told about one evaluation.

    ``score`` is the search signal (higher is better; e.g. validation accuracy in percent of one
    randomly drawn seed), NaN when ``ok`` is False. ``cost`` is seconds on the oracle's clock
    (simulated for tables, measured for live training). ``params`` in millions, ``flops`` in
    millions of multiply-adds (NaN where unknown). ``curve`` is a per-epoch search-metric curve where
    the oracle has one. ``extras`` carries further metrics (e.g. latency) for multi-objective use.
    ``handle`` is opaque, small and picklable: it names the state the evaluation ended in, so that a
    later ``evaluate(start=handle)`` / ``evaluate(inherit=handle)`` can continue or inherit it (tables:
    the drawn row; live training: a checkpoint key). The runner keeps it; strategies never see it used.
    For shared work ``arch`` is None.

    The hand-written ``__init__`` (same parameters and defaults as the fields) fills the instance
    dict directly: the dataclass's frozen ``__init__`` calls ``object.__setattr__`` per field, which
    made creating the evaluation a tenth of the runner's time per evaluation on a table.
    """

    arch: Arch | None
    fidelity: Fidelity
    score: float
    cost: float
    params: float = math.nan
    flops: float = math.nan
    ok: bool = True
    error: str | None = None
    curve: tuple[float, ...] | None = None
    extras: dict[str, float] = field(default_factory=dict)
    handle: Any = None

    def __init__(self, arch: Arch | None, fidelity: Fidelity, score: float, cost: float,
                 params: float = math.nan, flops: float = math.nan, ok: bool = True,
                 error: str | None = None, curve: tuple[float, ...] | None = None,
                 extras: dict[str, float] | None = None, handle: Any = None) -> None:
        d = self.__dict__
        d["arch"] = arch
        d["fidelity"] = fidelity
        d["score"] = score
        d["cost"] = cost
        d["params"] = params
        d["flops"] = flops
        d["ok"] = ok
        d["error"] = error
        d["curve"] = curve
        d["extras"] = {} if extras is None else extras
        d["handle"] = handle

    @classmethod
    def failed(cls, arch: Arch, fidelity: Fidelity, error: str, cost: float = 0.0) -> Evaluation:
        """A failed evaluation: a result, not a crash (NaN score, reason in ``error``)."""
        return cls(arch=arch, fidelity=fidelity, score=math.nan, cost=cost, ok=False, error=error)


class Oracle:
    """Base class of oracles. Subclasses set the class attributes and implement the two methods.

    Class attributes: ``name`` (registry name), ``datasets`` (accepted dataset names),
    ``metric`` (what ``score`` is), ``final_metric_name`` (what :meth:`final_metric` returns),
    ``offers`` (every capability some configuration of the class can offer; used to tell a user
    which oracles to pick, without building them). Instance attributes: ``space``, ``dataset``,
    ``fidelities`` (cheapest first; the last is the default), ``best_final`` (max of the final
    metric over the space, NaN if unknown, for regret).
    """

    name: ClassVar[str] = "abstract"
    datasets: ClassVar[tuple[str, ...]] = ()
    metric: ClassVar[str] = "score"
    final_metric_name: ClassVar[str] = "final"
    offers: ClassVar[frozenset[str]] = frozenset({MULTI_FIDELITY})

    space: SearchSpace
    dataset: str
    fidelities: tuple[Fidelity, ...] = (FULL,)
    best_final: float = math.nan

    def capabilities(self) -> frozenset[str]:
        """What this configured oracle offers (a subset of :data:`CAPABILITIES`).

        The base offers ``"multi-fidelity"`` iff it has more than one fidelity; an oracle that can
        continue, warm-start or run shared work adds those (and then accepts ``start`` / ``inherit``
        in :meth:`evaluate`, or implements :meth:`run_shared`).
        """
        return frozenset({MULTI_FIDELITY}) if len(self.fidelities) > 1 else frozenset()

    @property
    def search_fidelity(self) -> Fidelity:
        """The fidelity single-fidelity strategies propose by default (``Strategy.fidelity``).

        The top, ``fidelities[-1]``, unless the oracle's protocol names another (see :class:`Ladder`);
        ``Fidelity()`` still means the top.
        """
        return self.fidelities[-1]

    def evaluate(self, arch: Arch, fidelity: Fidelity | None, rng: np.random.Generator, *,
                 start: Any = None, inherit: Any = None) -> Evaluation:
        """Score ``arch`` at ``fidelity`` (``None`` or ``Fidelity()``: the top, ``fidelities[-1]``).

        ``start`` (only if ``"continue"`` is offered): the ``handle`` of an earlier evaluation of the
        same architecture at a lower fidelity; the result must equal one uninterrupted evaluation to
        ``fidelity`` from the same draw, and ``cost`` is the increment only. ``inherit`` (only if
        ``"warm-start"`` is offered): the ``handle`` of an evaluation (any architecture) whose
        weights to start from. The runner passes them only to oracles that offer them.
        """
        raise NotImplementedError

    def run_shared(self, work: SharedWork, rng: np.random.Generator) -> Evaluation:
        """Do ``work`` (only if ``"shared"`` is offered); an :class:`Evaluation` with ``arch=None``."""
        raise UnsupportedError(f"oracle {self.name!r} does not run shared work ({work.name!r}); "
                               f"its capabilities are {sorted(self.capabilities())}")

    def final_metric(self, arch: Arch) -> float:
        """The held-out metric results are reported in. Harness only: never give it to a strategy."""
        raise NotImplementedError

    def params(self, arch: Arch) -> float:
        """Parameters in millions at full fidelity (NaN if unknown)."""
        return math.nan

    def check_fidelity(self, fidelity: Fidelity | None) -> Fidelity:
        """Return the fidelity to use, or raise naming the ones this oracle offers.

        ``None`` and ``Fidelity()`` both mean the oracle's top fidelity, ``fidelities[-1]``.
        """
        if fidelity is None or fidelity == FULL:
            return self.fidelities[-1]
        if fidelity not in self.fidelities:
            offered = ", ".join(f.key() for f in self.fidelities)
            raise ConfigError(f"oracle {self.name!r} offers fidelities [{offered}], not {fidelity.key()!r}")
        return fidelity

    def start_of_run(self) -> None:
        """Called by the runner before a run's first evaluation. An oracle whose answers depend on
        state that runs build (``supernet``'s trained weights) drops it here, so that one oracle
        object can serve a study's runs one after the other (as a worker process does) and every run
        still sees what a fresh oracle would give: a run's results never depend on which runs the
        same process ran before. The base is a pure function of (architecture, fidelity, draw) and
        has nothing to drop."""

    def end_of_run(self) -> dict[str, Any]:
        """Harness-only measurements of the oracle's state after a run's last evaluation, stored in
        the run record as ``meta["oracle_measures"]`` (e.g. ``supernet``'s ``quality_sample``: how
        well the trained supernet ranks architectures). Off the clock, never shown to the strategy;
        the base measures nothing (``{}``, and the record has no such key)."""
        return {}

    def describe(self) -> dict[str, Any]:
        """What was searched on and what is reported (recorded with every run and in reports)."""
        return {
            "oracle": self.name, "dataset": self.dataset, "space": self.space.name,
            "search_metric": self.metric, "final_metric": self.final_metric_name,
            "fidelities": [f.key() for f in self.fidelities], "best_final": self.best_final,
            "capabilities": sorted(self.capabilities()),
        }
