"""Run and study configuration: plain dataclasses that serialise to JSON/YAML and name their runs.

A :class:`RunConfig` is everything that determines a trajectory (strategy and its hyper-parameters,
oracle and its arguments, seed, budget, worker count), so its ``run_id`` is both the file name of the
stored run and the key that makes a resumed study skip finished work. The id is readable (strategy,
oracle, dataset, workers, seed) and ends in a short hash of the full config, so two runs that differ
only in a hyper-parameter never collide.
"""

from __future__ import annotations

import hashlib
import json
import math
import numbers
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from nasarena.errors import ConfigError, NasarenaError

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def _jsonable(value: Any) -> Any:
    """Deep-convert ``value`` into JSON types (Paths to str, tuples to lists, numpy scalars to Python).

    Done once when a config is built, so that the config hashes, compares and round-trips the same
    whether it was built in code, read from YAML or rebuilt in a worker process.
    """
    return json.loads(json.dumps(value, default=_default, sort_keys=True))


def _default(obj: Any) -> Any:
    if isinstance(obj, Path):
        return str(obj)
    if hasattr(obj, "item"):  # numpy scalar
        return obj.item()
    if isinstance(obj, set | frozenset):
        return sorted(obj)
    raise ConfigError(f"config value {obj!r} of type {type(obj).__name__} cannot be recorded; "
                      f"use numbers, strings, lists or dicts")


def absolute_spec(spec: str) -> str:
    """``file.py:Class`` with an absolute file path; other names unchanged.

    A study stores file strategies by absolute path, so worker processes and later resumes (which
    may not share the cwd) load the same file; :mod:`nasarena.bench.identity` adds its content hash.
    """
    module, sep, attr = spec.rpartition(":")
    if sep and module.endswith(".py"):
        return f"{Path(module).resolve()}:{attr}"
    return spec


def _slug(text: str) -> str:
    """A file-name-safe version of ``text`` (registry names may contain ':' or '/')."""
    return _UNSAFE.sub("-", text).strip("-") or "x"


@dataclass(frozen=True)
class Budget:
    """How long a run may search: simulated seconds and/or finished evaluations (at least one).

    The run stops before the first evaluation that would finish after ``max_time`` (it is not
    recorded) or right after the ``max_evals``-th finished evaluation, whichever comes first.
    """

    max_time: float | None = None
    max_evals: int | None = None

    def __post_init__(self) -> None:
        if self.max_time is None and self.max_evals is None:
            raise ConfigError("a budget needs max_time (simulated seconds) and/or max_evals; "
                              "e.g. Budget(max_time=3600) or --budget-time 3600")
        if self.max_time is not None:
            t = self.max_time
            if isinstance(t, bool) or not isinstance(t, numbers.Real) or not math.isfinite(t) or t <= 0:
                raise ConfigError(f"budget max_time must be a positive number of simulated seconds "
                                  f"(e.g. 3600, not '1h'), got {self.max_time!r}")
            object.__setattr__(self, "max_time", float(t))
        if self.max_evals is not None:
            m = self.max_evals
            if isinstance(m, bool) or not isinstance(m, numbers.Real) or int(m) != m or m < 1:
                raise ConfigError(f"budget max_evals must be a positive integer number of evaluations, "
                                  f"got {self.max_evals!r}")
            object.__setattr__(self, "max_evals", int(self.max_evals))

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return {"max_time": self.max_time, "max_evals": self.max_evals}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Budget:
        """Inverse of :meth:`to_dict`; unknown keys are an error (typos must not pass silently)."""
        if not isinstance(data, Mapping):
            raise ConfigError(f"budget must be a mapping such as {{max_time: 3600}} or {{max_evals: 150}} "
                              f"(simulated seconds and/or evaluations), got {data!r}")
        _check_keys("budget", data, {"max_time", "max_evals"})
        return cls(max_time=data.get("max_time"), max_evals=data.get("max_evals"))


def _is_int(value: Any) -> bool:
    """Whether ``value`` is a whole number (``3``, ``3.0``, a numpy integer), not a bool or a string."""
    return (isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(value)
            and int(value) == value)


def _check_keys(what: str, data: Mapping[str, Any], allowed: set[str]) -> None:
    extra = set(data) - allowed
    if extra:
        raise ConfigError(f"unknown {what} field(s) {sorted(extra)}; valid fields are {sorted(allowed)}")


@dataclass(frozen=True)
class RunConfig:
    """One run: (strategy, oracle with its dataset, seed, budget, n_workers) -> one trajectory."""

    strategy: str
    strategy_kwargs: dict[str, Any]
    oracle: str
    oracle_kwargs: dict[str, Any]
    seed: int
    budget: Budget
    n_workers: int = 1

    def __post_init__(self) -> None:
        if not isinstance(self.strategy, str) or not self.strategy:
            raise ConfigError(f"strategy must be a registry name, got {self.strategy!r}")
        if not isinstance(self.oracle, str) or not self.oracle:
            raise ConfigError(f"oracle must be a registry name, got {self.oracle!r}")
        if not _is_int(self.seed) or self.seed < 0:
            raise ConfigError(f"seed must be a non-negative integer, got {self.seed!r}")
        if not _is_int(self.n_workers) or self.n_workers < 1:
            raise ConfigError(f"n_workers must be a positive integer, got {self.n_workers!r}")
        if isinstance(self.budget, Mapping):
            object.__setattr__(self, "budget", Budget.from_dict(self.budget))
        if not isinstance(self.budget, Budget):
            raise ConfigError(f"budget must be a Budget, got {self.budget!r}")
        object.__setattr__(self, "seed", int(self.seed))
        object.__setattr__(self, "n_workers", int(self.n_workers))
        object.__setattr__(self, "strategy_kwargs", _jsonable(dict(self.strategy_kwargs or {})))
        object.__setattr__(self, "oracle_kwargs", _jsonable(dict(self.oracle_kwargs or {})))

    @property
    def dataset(self) -> str:
        """The dataset named in ``oracle_kwargs`` (``"default"`` if the oracle's default is used)."""
        return str(self.oracle_kwargs.get("dataset", "default"))

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (the form recorded with every run)."""
        return {"strategy": self.strategy, "strategy_kwargs": self.strategy_kwargs,
                "oracle": self.oracle, "oracle_kwargs": self.oracle_kwargs, "seed": self.seed,
                "budget": self.budget.to_dict(), "n_workers": self.n_workers}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RunConfig:
        """Inverse of :meth:`to_dict`."""
        _check_keys("run config", data, {"strategy", "strategy_kwargs", "oracle", "oracle_kwargs",
                                         "seed", "budget", "n_workers"})
        return cls(strategy=data["strategy"], strategy_kwargs=dict(data.get("strategy_kwargs") or {}),
                   oracle=data["oracle"], oracle_kwargs=dict(data.get("oracle_kwargs") or {}),
                   seed=data["seed"], budget=Budget.from_dict(data["budget"]),
                   n_workers=data.get("n_workers", 1))

    def to_json(self) -> str:
        """Canonical JSON (sorted keys): equal configs give equal strings."""
        return json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str) -> RunConfig:
        """Inverse of :meth:`to_json`."""
        return cls.from_dict(json.loads(text))

    def to_yaml(self) -> str:
        """YAML text of :meth:`to_dict` (for hand-edited single-run configs)."""
        return yaml.safe_dump(self.to_dict(), sort_keys=False)

    @classmethod
    def from_yaml(cls, text: str) -> RunConfig:
        """Inverse of :meth:`to_yaml`."""
        data = yaml.safe_load(text)
        if not isinstance(data, Mapping):
            raise ConfigError("a run config in YAML must be a mapping with strategy, oracle, seed and budget")
        return cls.from_dict(data)

    def check_oracle(self, oracle: Any) -> None:
        """Raise :class:`ConfigError` unless ``oracle`` is the one this config names.

        A run handed a ready oracle (a study reuses one per process) must not silently run another
        dataset or table than its config, and so its run id, says. Compared: the oracle's class
        with the registered name, the dataset, and, for oracles built by
        :func:`~nasarena.registry.make_oracle`, every other argument.
        """
        from nasarena.registry import MADE_AS, ORACLES

        fix = "build it with make_oracle(config.oracle, **config.oracle_kwargs), or pass none"
        made = getattr(oracle, MADE_AS, None)
        try:
            cls = ORACLES.resolve(self.oracle)
        except NasarenaError:
            cls = None
        if (made is not None and made[0] != self.oracle and isinstance(cls, type)
                and not isinstance(oracle, cls)):
            raise ConfigError(f"the config names oracle {self.oracle!r}, but the oracle passed is "
                              f"{type(oracle).__name__} ({made[0]!r}); {fix}")
        if made is None and isinstance(cls, type) and not isinstance(oracle, cls):
            raise ConfigError(f"the config names oracle {self.oracle!r}, but the oracle passed is "
                              f"{type(oracle).__name__}; {fix}")
        made_kw = _jsonable(made[1]) if made is not None else {}
        asked = self.oracle_kwargs.get("dataset")
        if asked is not None and str(asked) != str(oracle.dataset) and made_kw.get("dataset") != asked:
            raise ConfigError(f"the config asks for dataset {asked!r}, but the oracle passed runs "
                              f"{oracle.dataset!r}; {fix}")
        if made is not None:
            differ = sorted(k for k in {*made_kw, *self.oracle_kwargs} - {"dataset"}
                            if made_kw.get(k) != self.oracle_kwargs.get(k))
            if differ:
                raise ConfigError(f"the oracle passed was built with other arguments than the config "
                                  f"names ({', '.join(differ)}); {fix}")

    @property
    def config_hash(self) -> str:
        """First 10 hex digits of the SHA-1 of the canonical JSON."""
        return hashlib.sha1(self.to_json().encode()).hexdigest()[:10]

    @property
    def run_id(self) -> str:
        """Deterministic readable id, e.g. ``random__nb201-lite-cifar10-valid__w1__s0007__3fa1c2d4e5``."""
        return "__".join([_slug(self.strategy), _slug(f"{self.oracle}-{self.dataset}"),
                          f"w{self.n_workers}", f"s{self.seed:04d}", self.config_hash])


@dataclass(frozen=True)
class StudyConfig:
    """A grid: strategies x datasets (of one oracle) x seeds, all with the same budget and workers.

    ``strategy_kwargs`` maps a strategy name to its hyper-parameters; ``datasets`` (optional) runs
    the grid once per dataset, overriding ``oracle_kwargs["dataset"]``. ``jobs`` is how many
    processes run the grid (``None``: all cores); it never changes a result, so it is not part of
    any run's identity.
    """

    strategies: tuple[str, ...]
    oracle: str
    oracle_kwargs: dict[str, Any]
    seeds: tuple[int, ...]
    budget: Budget
    n_workers: int = 1
    jobs: int | None = None
    strategy_kwargs: dict[str, dict[str, Any]] = field(default_factory=dict)
    datasets: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        strategies = (self.strategies,) if isinstance(self.strategies, str) else tuple(self.strategies)
        strategies = tuple(absolute_spec(str(s)) for s in strategies)
        object.__setattr__(self, "strategy_kwargs",
                           {absolute_spec(str(k)): v for k, v in (self.strategy_kwargs or {}).items()})
        if not strategies:
            raise ConfigError("a study needs at least one strategy")
        if len(set(strategies)) != len(strategies):
            raise ConfigError(f"strategies are repeated in {list(strategies)}")
        if isinstance(self.seeds, str) or not all(_is_int(s) and s >= 0 for s in self.seeds):
            raise ConfigError(f"seeds must be non-negative integers (e.g. 0-9 or [0, 3, 5]), "
                              f"got {self.seeds!r}")
        seeds = tuple(int(s) for s in self.seeds)
        if not seeds:
            raise ConfigError("a study needs at least one seed, e.g. seeds 0-9")
        if len(set(seeds)) != len(seeds):
            raise ConfigError("seeds are repeated; give each seed once")
        unknown_kw = set(self.strategy_kwargs or {}) - set(strategies)
        if unknown_kw:
            raise ConfigError(f"strategy_kwargs given for {sorted(unknown_kw)}, which are not among the "
                              f"study's strategies {list(strategies)}")
        if self.jobs is not None and (not _is_int(self.jobs) or self.jobs < 1):
            raise ConfigError(f"jobs must be a positive number of processes (omit it for all cores), "
                              f"got {self.jobs!r}")
        if isinstance(self.budget, Mapping):
            object.__setattr__(self, "budget", Budget.from_dict(self.budget))
        object.__setattr__(self, "strategies", strategies)
        object.__setattr__(self, "seeds", seeds)
        object.__setattr__(self, "oracle_kwargs", _jsonable(dict(self.oracle_kwargs or {})))
        object.__setattr__(self, "strategy_kwargs", _jsonable(dict(self.strategy_kwargs or {})))
        if self.datasets is not None:
            ds = (self.datasets,) if isinstance(self.datasets, str) else tuple(self.datasets)
            if not ds:
                raise ConfigError("datasets, when given, must name at least one dataset")
            object.__setattr__(self, "datasets", ds)
        self.runs()  # validate every run config now, not in a worker process later

    def runs(self) -> list[RunConfig]:
        """The grid as run configs, seeds outermost so a partial study is balanced across strategies."""
        datasets: Iterable[str | None] = self.datasets if self.datasets is not None else (None,)
        out = []
        for ds in datasets:
            okw = dict(self.oracle_kwargs)
            if ds is not None:
                okw["dataset"] = ds
            for seed in self.seeds:
                for strat in self.strategies:
                    out.append(RunConfig(strategy=strat, strategy_kwargs=self.strategy_kwargs.get(strat, {}),
                                         oracle=self.oracle, oracle_kwargs=okw, seed=seed,
                                         budget=self.budget, n_workers=self.n_workers))
        return out

    def to_dict(self, include_jobs: bool = True) -> dict[str, Any]:
        """JSON-ready dict; ``include_jobs=False`` gives the result-determining part only."""
        d: dict[str, Any] = {"strategies": list(self.strategies), "oracle": self.oracle,
                             "oracle_kwargs": self.oracle_kwargs, "seeds": list(self.seeds),
                             "budget": self.budget.to_dict(), "n_workers": self.n_workers,
                             "strategy_kwargs": self.strategy_kwargs,
                             "datasets": list(self.datasets) if self.datasets is not None else None}
        if include_jobs:
            d["jobs"] = self.jobs
        return d

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> StudyConfig:
        """Inverse of :meth:`to_dict`; ``seeds`` may also be a string such as ``"0-99"``."""
        _check_keys("study config", data, {"strategies", "oracle", "oracle_kwargs", "seeds", "budget",
                                           "n_workers", "jobs", "strategy_kwargs", "datasets"})
        missing = {"strategies", "oracle", "seeds", "budget"} - set(data)
        if missing:
            raise ConfigError(f"study config lacks {sorted(missing)}")
        seeds = data["seeds"]
        if isinstance(seeds, str | int):
            seeds = parse_seeds(str(seeds))
        strategies = data["strategies"]
        if isinstance(strategies, str):
            strategies = [s.strip() for s in strategies.split(",") if s.strip()]
        return cls(strategies=tuple(strategies), oracle=data["oracle"],
                   oracle_kwargs=dict(data.get("oracle_kwargs") or {}), seeds=tuple(seeds),
                   budget=Budget.from_dict(data["budget"]), n_workers=data.get("n_workers", 1),
                   jobs=data.get("jobs"), strategy_kwargs=dict(data.get("strategy_kwargs") or {}),
                   datasets=data.get("datasets"))

    def to_json(self) -> str:
        """Pretty JSON (what ``study.json`` holds)."""
        return json.dumps(self.to_dict(), indent=2, sort_keys=True)

    def to_yaml(self) -> str:
        """YAML text (readable; loads back with :func:`load_study_config`)."""
        return yaml.safe_dump(self.to_dict(), sort_keys=False)


def parse_seeds(text: str) -> tuple[int, ...]:
    """Parse ``"0-99"``, ``"0,3,5"`` or mixes like ``"0-4,10"`` into a tuple of seeds."""
    seeds: list[int] = []
    for part in str(text).split(","):
        part = part.strip()
        if not part:
            continue
        lo, sep, hi = part.partition("-")
        try:
            if sep:
                a, b = int(lo), int(hi)
                if b < a:
                    raise ConfigError(f"seed range {part!r} is empty; write low-high, e.g. 0-99")
                seeds.extend(range(a, b + 1))
            else:
                seeds.append(int(part))
        except ValueError:
            raise ConfigError(f"cannot read seeds {text!r}; write e.g. 0-99 or 0,3,5") from None
    if not seeds:
        raise ConfigError(f"no seeds in {text!r}; write e.g. 0-99 or 0,3,5")
    return tuple(seeds)


def load_study_config(path: str | Path) -> StudyConfig:
    """Read a :class:`StudyConfig` from a ``.yaml``/``.yml`` or ``.json`` file."""
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as exc:
        raise ConfigError(f"cannot read study config {path}: {exc}") from None
    try:
        data = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    except (json.JSONDecodeError, yaml.YAMLError) as exc:
        kind = "JSON" if path.suffix == ".json" else "YAML"
        raise ConfigError(f"{path} is not valid {kind}: {exc}") from None
    if not isinstance(data, Mapping):
        raise ConfigError(f"{path} must hold a mapping with strategies, oracle, seeds and budget")
    return StudyConfig.from_dict(data)
