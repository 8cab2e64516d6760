"""Name -> factory registries for spaces, oracles and strategies (Gymnasium's ``make("id")`` style).

Entries are ``"module:attribute"`` strings that are imported lazily, so that looking up a tabular
oracle never imports torch, and so that a user's strategy can be named by a path
(``my_file.py:MyStrategy`` or ``package.module:MyStrategy``) without registering it first.
"""

from __future__ import annotations

import functools
import importlib
import importlib.metadata
import importlib.util
import sys
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nasarena.errors import ConfigError, unknown


def _where(exc: BaseException, file: Path) -> str:
    """``Type: message (file:line)`` of an exception raised while importing ``file``."""
    line = getattr(exc, "lineno", None) if isinstance(exc, SyntaxError) else None
    if line is None:
        frames = [f for f in traceback.extract_tb(exc.__traceback__) if Path(f.filename) == file]
        line = frames[-1].lineno if frames else None
    text = exc.msg if isinstance(exc, SyntaxError) else str(exc)
    return f"{type(exc).__name__}: {text}" + (f" ({file}:{line})" if line else "")


def load_object(path: str) -> Any:
    """Import ``"pkg.module:attr"`` or ``"path/to/file.py:attr"`` and return the attribute."""
    if ":" not in path:
        raise ConfigError(f"{path!r} is not an entry point; write it as 'package.module:Name' "
                          f"or 'path/to/file.py:Name'")
    module_name, _, attr = path.rpartition(":")
    if module_name.endswith(".py"):
        file = Path(module_name)
        if not file.is_file():
            raise ConfigError(f"no such file {file}; give an existing .py file before ':{attr}'")
        # keyed by the file's state too: an edited file is imported afresh, never served from a
        # module cached in this process (a resumed study must run the code it fingerprinted)
        st = file.stat()
        mod_name = f"nasarena_user_{file.stem}_{abs(hash((str(file.resolve()), st.st_mtime_ns, st.st_size)))}"
        module = sys.modules.get(mod_name)
        if module is None:
            spec = importlib.util.spec_from_file_location(mod_name, file)
            assert spec is not None and spec.loader is not None
            module = importlib.util.module_from_spec(spec)
            sys.modules[mod_name] = module
            try:
                spec.loader.exec_module(module)
            except Exception as exc:  # the user's file is broken: say where, in one line
                del sys.modules[mod_name]
                raise ConfigError(f"cannot import {file}: {_where(exc, file)}") from exc
    else:
        module = importlib.import_module(module_name)
    try:
        return getattr(module, attr)
    except AttributeError:
        raise ConfigError(f"{module_name} has no attribute {attr!r}") from None


def _entry_point(group: str, name: str) -> Any:
    """Load ``name`` from the installed packages' entry-point ``group`` (None if absent)."""
    if not group:
        return None
    for ep in importlib.metadata.entry_points(group=group, name=name):
        return ep.load()
    return None


@dataclass
class Registry:
    """A table of named factories. ``kind`` is used in error messages ("strategy", "oracle");
    ``group`` is the entry-point group through which installed packages can add names
    (e.g. ``[project.entry-points."nasarena.strategies"] my-search = "pkg.mod:MySearch"``)."""

    kind: str
    group: str = ""
    _entries: dict[str, str | Callable[..., Any]] = field(default_factory=dict)
    _families: dict[str, tuple[str | Callable[..., Any], str]] = field(default_factory=dict)

    def register(self, name: str, entry: str | Callable[..., Any], *, overwrite: bool = False) -> None:
        """Add ``name``; ``entry`` is a factory or a lazy ``"module:attr"`` string."""
        if name in self._entries and not overwrite:
            raise ConfigError(f"{self.kind} {name!r} is already registered; pick another name "
                              f"or pass overwrite=True")
        self._entries[name] = entry

    def register_family(self, prefix: str, entry: str | Callable[..., Any], argument: str) -> None:
        """Register ``prefix:<value>`` names, built as ``entry(**{argument: value}, ...)``.

        Example: ``register_family("optuna", "nasarena.strategies.optuna_bridge:OptunaStrategy",
        "sampler")`` makes ``"optuna:tpe"`` build ``OptunaStrategy(sampler="tpe", ...)``.
        """
        self._families[prefix] = (entry, argument)

    def entry(self, name: str) -> str | Callable[..., Any] | None:
        """The raw registered entry (a ``"module:attr"`` string or a factory), without importing it."""
        return self._entries.get(name)

    def family_entry(self, name: str) -> str | Callable[..., Any] | None:
        """The raw entry of the family a ``prefix:value`` name belongs to (None if it is not one)."""
        prefix, sep, _ = name.partition(":")
        return self._families[prefix][0] if sep and prefix in self._families else None

    def names(self) -> list[str]:
        """All registered names, sorted (families are listed as ``prefix:<argument>``)."""
        return sorted([*self._entries, *(f"{p}:<{a}>" for p, (_, a) in self._families.items())])

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def resolve(self, name: str) -> Callable[..., Any]:
        """Return the factory for ``name`` (or for a ``module:attr`` / ``file.py:attr`` path)."""
        if name in self._entries:
            entry = self._entries[name]
            return load_object(entry) if isinstance(entry, str) else entry
        prefix, sep, value = name.partition(":")
        if sep and prefix in self._families:
            entry, argument = self._families[prefix]
            factory = load_object(entry) if isinstance(entry, str) else entry
            return functools.partial(factory, **{argument: value})
        if ":" in name:
            return load_object(name)
        found = _entry_point(self.group, name)
        if found is not None:
            return found
        raise unknown(self.kind, name, self.names(),
                      "A user-defined one can be given as 'path/to/file.py:ClassName'")

    def make(self, name: str, **kwargs: Any) -> Any:
        """Instantiate ``name`` with ``kwargs``."""
        return self.resolve(name)(**kwargs)


SPACES = Registry("space", "nasarena.spaces")
SPACES.register("nb201", "nasarena.spaces.nb201:NB201Space")
SPACES.register("nbgraph", "nasarena.spaces.nbgraph:NBGraphSpace")
SPACES.register("nats-sss", "nasarena.spaces.nats_sss:NATSSizeSpace")
SPACES.register("chain", "nasarena.spaces.macro.chain:ChainSpace")
SPACES.register("residual", "nasarena.spaces.macro.residual:ResidualSpace")
SPACES.register("dense", "nasarena.spaces.macro.dense:DenseSpace")

ORACLES = Registry("oracle", "nasarena.oracles")
ORACLES.register("nb201-lite", "nasarena.estimators.nb201_lite:NB201LiteOracle")
ORACLES.register("table", "nasarena.estimators.table:TableOracle")
ORACLES.register("nas-bench-graph", "nasarena.estimators.nbgraph:NBGraphOracle")
ORACLES.register("live", "nasarena.estimators.live.oracle:LiveOracle")
ORACLES.register("nb201", "nasarena.estimators.official:NB201Oracle")
ORACLES.register("nats-tss", "nasarena.estimators.official:NATSTopologyOracle")
ORACLES.register("nats-sss", "nasarena.estimators.official:NATSSizeOracle")
ORACLES.register("nb201-12ep", "nasarena.estimators.nb201_12ep:NB201TwelveEpochOracle")
ORACLES.register("supernet", "nasarena.estimators.oneshot.oracle:SupernetOracle")
ORACLES.register("macro-supernet", "nasarena.estimators.oneshot.macro_oracle:MacroSupernetOracle")
ORACLES.register("zero-cost", "nasarena.estimators.oneshot.zerocost:ZeroCostOracle")
ORACLES.register("with-proxy", "nasarena.estimators.oneshot.with_proxy:WithProxy")  # base + proxy scores

STRATEGIES = Registry("strategy", "nasarena.strategies")
STRATEGIES.register("random", "nasarena.strategies.random_search:RandomSearch")
STRATEGIES.register("regularized-evolution", "nasarena.strategies.evolution:RegularizedEvolution")
STRATEGIES.register("evolution", "nasarena.strategies.evolution:Evolution")
STRATEGIES.register("reinforce", "nasarena.strategies.reinforce:Reinforce")
STRATEGIES.register("reinforce-lstm", "nasarena.strategies.reinforce_lstm:ReinforceLSTM")
STRATEGIES.register("local-search", "nasarena.strategies.local_search:LocalSearch")
STRATEGIES.register("bo", "nasarena.strategies.bo:BayesianOptimization")
STRATEGIES.register("hyperband", "nasarena.strategies.hyperband:Hyperband")
STRATEGIES.register("bohb", "nasarena.strategies.bohb:BOHB")
STRATEGIES.register("asha", "nasarena.strategies.asha:ASHA")
STRATEGIES.register("bohb-nb201", "nasarena.strategies.bohb_nb201:NominalBudgetBOHB")
STRATEGIES.register("darts", "nasarena.strategies.oneshot.darts:DARTS")
STRATEGIES.register("gdas", "nasarena.strategies.oneshot.gdas:GDAS")
STRATEGIES.register("rsps", "nasarena.strategies.oneshot.rsps:RSPS")
STRATEGIES.register("setn", "nasarena.strategies.oneshot.setn:SETN")
STRATEGIES.register("enas", "nasarena.strategies.oneshot.enas:ENAS")
STRATEGIES.register("regularized-evolution-mo", "nasarena.strategies.multiobjective:RegularizedEvolutionMO")
STRATEGIES.register("nash", "nasarena.strategies.nash:NASH")             # warm starts (network morphisms)
STRATEGIES.register("lemonade", "nasarena.strategies.lemonade:Lemonade")
STRATEGIES.register_family("optuna", "nasarena.strategies.optuna_bridge:OptunaStrategy", "sampler")
# "es-domhan:random": random search with Domhan et al.'s early stopping (es-lcsvr, es-median alike)
STRATEGIES.register_family("es-domhan", "nasarena.strategies.early_stop:with_domhan", "inner")
STRATEGIES.register_family("es-lcsvr", "nasarena.strategies.early_stop:with_lcsvr", "inner")
STRATEGIES.register_family("es-median", "nasarena.strategies.early_stop:with_median", "inner")


def make_space(name: str, **kwargs: Any) -> Any:
    """Build a search space by name, e.g. ``make_space("nb201")``."""
    return SPACES.make(name, **kwargs)


#: Attribute under which :func:`make_oracle` records how an oracle was built (name, kwargs), so that
#: a run handed a ready oracle can check it is the one its config names.
MADE_AS = "_nasarena_made_as"


def make_oracle(name: str, **kwargs: Any) -> Any:
    """Build an oracle by name, e.g. ``make_oracle("nb201-lite", dataset="cifar10")``."""
    oracle = ORACLES.make(name, **kwargs)
    try:
        setattr(oracle, MADE_AS, (name, dict(kwargs)))
    except AttributeError:  # an oracle with __slots__: the runner falls back to comparing datasets
        pass
    return oracle


def make_strategy(name: str, **kwargs: Any) -> Any:
    """Build a strategy by name, e.g. ``make_strategy("random", space=s, rng=g)``."""
    return STRATEGIES.make(name, **kwargs)
