"""``warm_start=true`` of regularized evolution, evolution and local search: children inherit from the
proposal they were mutated from; off by default with unchanged proposals, requires and config."""

from __future__ import annotations

import numpy as np
import pytest

from nasarena.bench.capabilities import check_capabilities
from nasarena.errors import ConfigError, UnsupportedError
from nasarena.estimators.nb201_lite import NB201LiteOracle
from nasarena.spaces.nb201 import NB201Space
from nasarena.strategies.conformance import SyntheticObjective
from nasarena.strategies.evolution import Evolution, RegularizedEvolution
from nasarena.strategies.local_search import LocalSearch

SPACE = NB201Space()
CASES = [(RegularizedEvolution, {"population_size": 5, "sample_size": 2}),
         (Evolution, {"population_size": 5, "sample_size": 2}), (LocalSearch, {})]


def _drive(cls, kwargs, n=60, seed=3):
    strategy = cls(SPACE, np.random.default_rng(seed), **kwargs)
    objective = SyntheticObjective(SPACE)
    out = []
    for _ in range(n):
        p = strategy.ask()
        ev = objective(p.arch, p.fidelity)
        out.append((p, ev.score))
        strategy.tell(p, ev)
    return strategy, out


@pytest.mark.parametrize(("cls", "kwargs"), CASES)
def test_default_off_is_unchanged_and_on_only_adds_parents(cls, kwargs) -> None:
    off, plain = _drive(cls, kwargs)
    on, warm = _drive(cls, {**kwargs, "warm_start": True})
    assert [p.arch for p, _ in plain] == [p.arch for p, _ in warm]  # the same random numbers
    assert all(p.kind == "fresh" for p, _ in plain)
    assert off.requires == frozenset() and "warm_start" not in off.config()  # the config as before
    assert on.requires == {"warm-start"} and on.config()["warm_start"] is True
    children = [p for p, _ in warm if p.kind == "warm-start"]
    assert len(children) > 10
    by_id = {p.id: p for p, _ in warm}
    for child in children:  # each child is one decision away from the proposal it inherits
        parent = by_id[child.inherits]
        assert parent.id < child.id
        assert sum(a != b for a, b in zip(parent.arch, child.arch, strict=True)) == 1


@pytest.mark.parametrize(("cls", "kwargs"), CASES)
def test_warm_start_is_refused_by_an_oracle_without_it_and_validated(cls, kwargs) -> None:
    strategy = cls(SPACE, np.random.default_rng(0), **kwargs, warm_start=True)
    with pytest.raises(UnsupportedError, match="warm-start"):
        check_capabilities(strategy.name, strategy.requires, NB201LiteOracle("cifar10"))
    with pytest.raises(ConfigError, match="warm_start"):
        cls(SPACE, np.random.default_rng(0), **kwargs, warm_start="yes")


@pytest.mark.parametrize(("cls", "kwargs"), CASES)
def test_warm_start_on_passes_the_conformance_suite(cls, kwargs) -> None:
    from nasarena.strategies.conformance import TinySpace, check_strategy

    kw = {**kwargs, "population_size": 4, "sample_size": 2} if kwargs else {}
    check_strategy(cls, TinySpace(), **kw, warm_start=True)
