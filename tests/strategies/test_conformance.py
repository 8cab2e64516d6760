"""Every registered strategy passes every conformance check; the suite itself catches broken ones.

The parametrisation reads ``STRATEGIES.names()`` at collection time, so a strategy registered later
is checked automatically. Families (``optuna:<sampler>``) are checked through one concrete member
when it resolves.
"""

from __future__ import annotations

import functools
import math
from typing import Any

import numpy as np
import pytest

from nasarena.errors import NasarenaError, SearchExhausted, UnsupportedError
from nasarena.estimators.base import FULL, Evaluation, Fidelity, Oracle
from nasarena.registry import STRATEGIES
from nasarena.spaces.base import SearchSpace
from nasarena.spaces.nb201 import NB201Space
from nasarena.strategies.base import Proposal, Strategy
from nasarena.strategies.conformance import (
    MULTI_FIDELITY,
    SyntheticObjective,
    TinySpace,
    check_strategy,
    find_oracles,
    iter_checks,
)
from nasarena.strategies.random_search import RandomSearch

#: Concrete member tested for each registered family prefix.
FAMILY_MEMBERS = {"optuna": "optuna:random"}


def _concrete(name: str) -> tuple[str, bool]:
    if ":<" in name and name.endswith(">"):
        prefix = name.split(":<", 1)[0]
        return FAMILY_MEMBERS.get(prefix, f"{prefix}:random"), True
    return name, False


CASES = [pytest.param(name, check, id=f"{_concrete(name)[0]}-{check_name}")
         for name in STRATEGIES.names() for check_name, check in iter_checks()]



@pytest.mark.parametrize(("registered", "check"), CASES)
def test_registered_strategy_conforms(registered: str, check: Any) -> None:
    name, family = _concrete(registered)
    if family:
        try:
            STRATEGIES.resolve(name)
        except (NasarenaError, ImportError) as exc:
            pytest.skip(f"family member {name!r} does not resolve: {exc}")
    check(name)


def test_every_check_is_listed_once() -> None:
    names = [n for n, _ in iter_checks()]
    assert len(names) == len(set(names))
    assert {"determinism", "outstanding_asks", "valid_proposals", "no_oracle", "failed_evaluations",
            "short_loop", "unique_ids"} <= set(names)


# ---- the suite must fail broken strategies --------------------------------------------------------
class _Base(Strategy):
    """A minimal correct strategy (random with repeats) that the broken ones below modify."""

    name = "test-base"

    def ask(self) -> Proposal:
        return self.propose(self.space.sample(self.rng))

    def tell(self, proposal: Proposal, evaluation: Evaluation) -> None:
        pass


class _GlobalRandom(_Base):
    def ask(self) -> Proposal:
        cards = self.space.cardinalities
        return self.propose(tuple(int(np.random.randint(n)) for n in cards))  # noqa: NPY002


class _HoldsOracle(_Base):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.helpers = {"cache": [functools.partial(print, _FakeOracle())]}


class _FakeOracle(Oracle):
    name = "fake"


class _OutOfRange(_Base):
    def ask(self) -> Proposal:
        arch = self.space.sample(self.rng)
        return self.propose((arch[0] + self.space.cardinalities[0],) + arch[1:])


class _NumpyInts(_Base):
    def ask(self) -> Proposal:
        return self.propose(tuple(np.int64(v) for v in self.space.sample(self.rng)))


class _CrashesOnFailure(_Base):
    def tell(self, proposal: Proposal, evaluation: Evaluation) -> None:
        if math.isnan(evaluation.score):
            raise ValueError("cannot handle NaN")


class _SameId(_Base):
    def ask(self) -> Proposal:
        return Proposal(0, self.space.sample(self.rng), self.fidelity)


class _OneAtATime(_Base):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.waiting: Proposal | None = None

    def ask(self) -> Proposal:
        if self.waiting is not None:
            raise RuntimeError("tell me first")
        self.waiting = super().ask()
        return self.waiting

    def tell(self, proposal: Proposal, evaluation: Evaluation) -> None:
        self.waiting = None


class _ForgetsExhaustion(RandomSearch):
    def ask(self) -> Proposal:
        try:
            return super().ask()
        except SearchExhausted:
            if getattr(self, "_raised", False):
                return self.propose((1, 1, 1) if len(self.space.decisions) == 3 else (1,) * 6)
            self._raised = True
            raise


class _BadConfig(_Base):
    def config(self) -> dict[str, Any]:
        return {"space": self.space}


class _WrongFidelity(_Base):
    def ask(self) -> Proposal:
        return self.propose(self.space.sample(self.rng), Fidelity(epochs=7))


@pytest.mark.parametrize(("factory", "failing"), [
    (_GlobalRandom, "determinism"),
    (_GlobalRandom, "global_rng_untouched"),
    (_HoldsOracle, "no_oracle"),
    (_OutOfRange, "valid_proposals"),
    (_NumpyInts, "valid_proposals"),
    (_WrongFidelity, "valid_proposals"),
    (_CrashesOnFailure, "failed_evaluations"),
    (_SameId, "unique_ids"),
    (_OneAtATime, "outstanding_asks"),
    (_ForgetsExhaustion, "short_loop"),
    (_BadConfig, "config"),
])
def test_suite_catches_broken_strategy(factory: type[Strategy], failing: str) -> None:
    check = dict(iter_checks())[failing]
    space = TinySpace() if factory is _ForgetsExhaustion else None
    with pytest.raises(Exception):  # noqa: B017 - a defect may surface as the strategy's own error
        check(factory, space)
    with pytest.raises(AssertionError, match=failing):
        check_strategy(factory, space)


def test_correct_minimal_strategy_passes() -> None:
    check_strategy(_Base)  # the negative tests above fail because of their one defect only


def test_check_strategy_passes_hyperparameters() -> None:
    check_strategy("regularized-evolution", TinySpace(), population_size=4, sample_size=2)
    with pytest.raises(AssertionError, match="sample_size"):
        check_strategy("regularized-evolution", TinySpace(), population_size=4, sample_size=9)


class _NeedsTwoFidelities(_Base):
    """A multi-fidelity strategy: low fidelity first, then the full one."""

    def __init__(self, space: SearchSpace, rng: np.random.Generator,
                 fidelities: tuple[Fidelity, ...] = (FULL,)) -> None:
        if len(fidelities) < 2:
            raise UnsupportedError("needs at least two fidelities")
        super().__init__(space, rng, fidelities)
        self.seen: set[Fidelity] = set()

    def ask(self) -> Proposal:
        fid = self.fidelities[int(self.rng.integers(2))]
        self.seen.add(fid)
        return self.propose(self.space.sample(self.rng), fid)


def test_multi_fidelity_strategies_get_two_fidelities() -> None:
    check_strategy(_NeedsTwoFidelities)
    space = NB201Space()
    objective = SyntheticObjective(space)
    arch = (1, 2, 3, 4, 0, 1)
    low, high = (objective(arch, f) for f in MULTI_FIDELITY)
    assert low.score != high.score and low.cost < high.cost
    assert objective(arch, FULL).score == high.score  # epochs=None means the full 200


def test_synthetic_objective_changes_ranking_with_fidelity() -> None:
    space = NB201Space()
    objective = SyntheticObjective(space)
    archs = [space.from_index(i) for i in range(0, 15625, 97)]
    low = np.array([objective(a, MULTI_FIDELITY[0]).score for a in archs])
    high = np.array([objective(a, MULTI_FIDELITY[1]).score for a in archs])
    corr = np.corrcoef(np.argsort(np.argsort(low)), np.argsort(np.argsort(high)))[0, 1]
    assert 0.3 < corr < 0.99  # related but not the same ranking


def test_tiny_space_is_constrained_and_round_trips() -> None:
    space = TinySpace()
    archs = list(space.enumerate())
    assert len(archs) == space.size == 26 and (0, 0, 0) not in archs
    assert all(space.from_string(space.to_string(a)) == a for a in archs)


def test_find_oracles_follows_attributes_containers_closures_and_methods() -> None:
    oracle = _FakeOracle()

    class Holder:
        __slots__ = ("slot",)

    holder = Holder()
    holder.slot = oracle
    assert find_oracles(object()) == []
    assert find_oracles({"k": [1, (2, oracle)]}) == ["strategy['k'][1][1]"]
    assert find_oracles(holder) == ["strategy.slot"]
    assert find_oracles([lambda: oracle]) == ["strategy[0].__closure__[0]"]
    assert find_oracles([oracle.describe]) == ["strategy[0].__self__"]
    assert find_oracles({oracle: 1}) == ["strategy.keys()"]
