"""Regularized (aging) evolution removes the oldest, non-aging evolution the worst; both fill the
population with random samples first, mutate tournament winners, and ignore failures."""

from __future__ import annotations

import numpy as np
import pytest

from nasarena.errors import ConfigError
from nasarena.estimators.base import Evaluation, Fidelity
from nasarena.spaces.nb201 import NB201Space
from nasarena.strategies.conformance import SyntheticObjective
from nasarena.strategies.evolution import Evolution, RegularizedEvolution
from nasarena.strategies.random_search import RandomSearch

FID = (Fidelity(epochs=200),)
SPACE = NB201Space()


def _ev(p, score: float) -> Evaluation:
    return Evaluation(p.arch, p.fidelity, score, 1.0)


def _hamming(a: tuple[int, ...], b: tuple[int, ...]) -> int:
    return sum(x != y for x, y in zip(a, b, strict=True))


@pytest.mark.parametrize("cls", [RegularizedEvolution, Evolution])
def test_population_never_exceeds_p(cls: type[RegularizedEvolution]) -> None:
    s = cls(SPACE, np.random.default_rng(0), FID, population_size=7, sample_size=3)
    rng = np.random.default_rng(1)
    for _ in range(100):
        p = s.ask()
        s.tell(p, _ev(p, float(rng.random())))
        assert len(s.population) <= 7
    assert len(s.population) == 7


def test_aging_removes_the_oldest_even_when_it_is_the_best() -> None:
    s = RegularizedEvolution(SPACE, np.random.default_rng(0), FID, population_size=5, sample_size=2)
    told = []
    for i in range(12):
        p = s.ask()
        score = 100.0 if i == 0 else float(i)  # the very first member is by far the best
        s.tell(p, _ev(p, score))
        told.append((p.arch, score))
    assert s.population == told[-5:]
    assert 100.0 not in s.scores


def test_non_aging_removes_the_worst() -> None:
    s = Evolution(SPACE, np.random.default_rng(0), FID, population_size=5, sample_size=2)
    rng = np.random.default_rng(4)
    told = []
    for _ in range(30):
        p = s.ask()
        score = float(rng.integers(0, 1000))
        s.tell(p, _ev(p, score))
        told.append(score)
    assert sorted(s.scores) == sorted(told)[-5:]


def test_random_until_population_filled_even_with_many_outstanding_asks() -> None:
    s = RegularizedEvolution(SPACE, np.random.default_rng(2), FID, population_size=5, sample_size=3)
    first = [s.ask() for _ in range(12)]  # population empty: all 12 are random samples
    for p in reversed(first):  # reverse order: population is the last 5 told
        s.tell(p, _ev(p, 1.0))
    assert [a for a, _ in s.population] == [p.arch for p in reversed(first)][-5:]
    # The 12 random samples are (with overwhelming probability) not mutations of each other.
    assert sum(_hamming(a.arch, b.arch) == 1 for a in first for b in first) < 4


@pytest.mark.parametrize("cls", [RegularizedEvolution, Evolution])
def test_children_are_single_mutations_of_population_members(cls: type[RegularizedEvolution]) -> None:
    s = cls(SPACE, np.random.default_rng(3), FID, population_size=6, sample_size=3)
    objective = SyntheticObjective(SPACE)
    for i in range(60):
        members = [a for a, _ in s.population]
        p = s.ask()
        if i >= 6:
            assert any(_hamming(p.arch, m) == 1 for m in members)
        s.tell(p, objective(p.arch, p.fidelity))


def test_tournament_picks_the_best_sampled_member() -> None:
    s = RegularizedEvolution(SPACE, np.random.default_rng(0), FID, population_size=4, sample_size=4)
    for score in (1.0, 9.0, 3.0, 2.0):
        p = s.ask()
        s.tell(p, _ev(p, score))
    picks = [s._tournament() for _ in range(2000)]
    # With S=4 draws with replacement from 4 members, the best is sampled w.p. 1 - (3/4)^4 = 0.68.
    assert abs(np.mean(np.array(picks) == 1) - (1 - 0.75 ** 4)) < 0.04
    s1 = RegularizedEvolution(SPACE, np.random.default_rng(0), FID, population_size=4, sample_size=1)
    for score in (1.0, 9.0, 3.0, 2.0):
        p = s1.ask()
        s1.tell(p, _ev(p, score))
    assert abs(np.mean(np.array([s1._tournament() for _ in range(4000)]) == 1) - 0.25) < 0.03


@pytest.mark.parametrize("cls", [RegularizedEvolution, Evolution])
def test_failed_evaluations_never_enter_the_population(cls: type[RegularizedEvolution]) -> None:
    s = cls(SPACE, np.random.default_rng(0), FID, population_size=4, sample_size=2)
    for i in range(40):
        p = s.ask()
        if i % 2:
            s.tell(p, Evaluation.failed(p.arch, p.fidelity, "diverged"))
        elif i % 4 == 0:
            s.tell(p, Evaluation(p.arch, p.fidelity, float("nan"), 1.0))  # ok=True but NaN score
        else:
            s.tell(p, _ev(p, float(i)))
    assert all(np.isfinite(s.scores)) and len(s.scores) == 4


def test_evolution_beats_random_search_on_a_structured_objective() -> None:
    objective = SyntheticObjective(SPACE, seed=1)

    def best(strategy) -> float:
        top = -np.inf
        for _ in range(300):
            p = strategy.ask()
            ev = objective(p.arch, p.fidelity)
            strategy.tell(p, ev)
            top = max(top, ev.score)
        return top

    evo = [best(RegularizedEvolution(SPACE, np.random.default_rng(s), FID)) for s in range(8)]
    rnd = [best(RandomSearch(SPACE, np.random.default_rng(s), FID)) for s in range(8)]
    assert np.mean(evo) > np.mean(rnd)


@pytest.mark.parametrize(("p", "s"), [(0, 1), (5, 0), (5, 6), (2.5, 1), (True, 1)])
def test_bad_sizes_are_rejected(p: object, s: object) -> None:
    with pytest.raises(ConfigError, match="population_size|sample_size"):
        RegularizedEvolution(SPACE, np.random.default_rng(0), FID, population_size=p, sample_size=s)


def test_config_and_defaults() -> None:
    assert RegularizedEvolution(SPACE, np.random.default_rng(0)).config() == {
        "population_size": 10, "sample_size": 3, "aging": True}
    assert Evolution(SPACE, np.random.default_rng(0), population_size=100, sample_size=25).config() == {
        "population_size": 100, "sample_size": 25, "aging": False}
