"""hyperband / bohb: bracket arithmetic, real promotion across fidelities, asynchrony, refusal."""

from __future__ import annotations

import math

import numpy as np
import pytest

from nasarena.errors import UnsupportedError
from nasarena.estimators.base import Evaluation, Fidelity
from nasarena.spaces.nb201 import NB201Space
from nasarena.strategies.bohb import BOHB, CategoricalKDE
from nasarena.strategies.conformance import SyntheticObjective
from nasarena.strategies.hyperband import Hyperband

FOUR = (Fidelity(epochs=2), Fidelity(epochs=6), Fidelity(epochs=18), Fidelity(epochs=200))


@pytest.mark.parametrize("cls", [Hyperband, BOHB])
def test_refuses_a_single_fidelity_and_says_which_oracles_work(cls: type) -> None:
    with pytest.raises(UnsupportedError, match="at least two fidelities.*'live'"):
        cls(NB201Space(), np.random.default_rng(0), (Fidelity(epochs=200),))


def test_bracket_sizes_follow_hyperband() -> None:
    hb = Hyperband(NB201Space(), np.random.default_rng(0), FOUR, eta=3)
    assert [hb.bracket_sizes(s) for s in (3, 2, 1, 0)] == [[27, 9, 3, 1], [12, 4, 1], [6, 2], [4]]


def test_sequential_successive_halving_promotes_the_best_at_higher_fidelity() -> None:
    space = NB201Space()
    objective = SyntheticObjective(space)
    hb = Hyperband(space, np.random.default_rng(0), FOUR, eta=3)
    told: list[tuple[Fidelity, tuple, float]] = []
    for _ in range(27 + 9 + 3 + 1):
        p = hb.ask()
        ev = objective(p.arch, p.fidelity)
        hb.tell(p, ev)
        told.append((p.fidelity, p.arch, ev.score))
    assert [f for f, _, _ in told] == [FOUR[0]] * 27 + [FOUR[1]] * 9 + [FOUR[2]] * 3 + [FOUR[3]]
    for lo, hi, k in ((0, 27, 9), (27, 36, 3), (36, 39, 1)):
        rung = sorted(told[lo:hi], key=lambda t: -t[2])
        promoted = {a for _, a, _ in told[hi:hi + k]}
        assert promoted == {a for _, a, _ in rung[:k]}
    # the next bracket (s=2) starts at the second fidelity
    assert hb.ask().fidelity == FOUR[1]


def test_budget_is_real_costs_drop_against_full_fidelity() -> None:
    space = NB201Space()
    objective = SyntheticObjective(space)
    hb = Hyperband(space, np.random.default_rng(1), FOUR)
    cost = 0.0
    for _ in range(100):
        p = hb.ask()
        ev = objective(p.arch, p.fidelity)
        cost += ev.cost
        hb.tell(p, ev)
    full = sum(objective(space.sample(np.random.default_rng(i)), FOUR[-1]).cost for i in range(100))
    assert cost < 0.5 * full


def test_outstanding_asks_open_new_brackets_and_failures_are_never_promoted() -> None:
    space = NB201Space()
    hb = Hyperband(space, np.random.default_rng(2), FOUR[2:], eta=2)  # two fidelities: 18 and 200 epochs
    batch = [hb.ask() for _ in range(30)]
    assert len({p.id for p in batch}) == 30 and len(hb._brackets) > 1
    failed = set()
    for i, p in enumerate(reversed(batch)):
        if i % 2:
            hb.tell(p, Evaluation.failed(p.arch, p.fidelity, "x"))
            failed.add(p.arch)
        else:
            hb.tell(p, Evaluation(p.arch, p.fidelity, float(i), 1.0))
    later = [hb.ask() for _ in range(20)]
    assert not {p.arch for p in later if p.fidelity == FOUR[3]} & failed


def test_categorical_kde_is_a_normalised_density_and_samples_from_it() -> None:
    cards = np.array([3, 3, 3])
    data = np.array([[0, 1, 2], [0, 1, 1], [2, 2, 2]])
    kde = CategoricalKDE(data, cards)
    grid = np.array(np.meshgrid(*(range(3),) * 3, indexing="ij")).reshape(3, -1).T
    assert math.isclose(np.exp(kde.log_density(grid)).sum(), 1.0, rel_tol=1e-9)
    assert math.isclose(np.exp(kde.log_density(grid, factor=3.0)).sum(), 1.0, rel_tol=1e-9)
    draws = kde.sample(4000, np.random.default_rng(0))
    freq = np.array([np.mean(np.all(draws == g, axis=1)) for g in grid])
    assert np.abs(freq - np.exp(kde.log_density(grid))).max() < 0.03


def test_bohb_uses_its_model_and_beats_hyperband_on_average() -> None:
    space = NB201Space()
    objective = SyntheticObjective(space)

    def best(cls: type, seed: int) -> tuple[float, object]:
        s = cls(space, np.random.default_rng(seed), FOUR)
        top = -np.inf
        for _ in range(300):
            p = s.ask()
            ev = objective(p.arch, p.fidelity)
            s.tell(p, ev)
            if p.fidelity == FOUR[-1]:
                top = max(top, ev.score)
        return top, s

    results = [best(BOHB, seed) for seed in range(3)]
    assert all(s.n_model_samples > 20 for _, s in results)
    assert np.mean([b for b, _ in results]) >= np.mean([best(Hyperband, seed)[0] for seed in range(3)])


def test_exhaustion_is_final_even_with_promotions_pending() -> None:
    from nasarena.errors import SearchExhausted
    from nasarena.strategies.conformance import TinySpace

    space = TinySpace()
    hb = Hyperband(space, np.random.default_rng(0), FOUR[2:], eta=2)
    asked = []
    with pytest.raises(SearchExhausted):
        for _ in range(200):  # no tells: promotions cannot happen, the 26 archs run out at 18 epochs
            asked.append(hb.ask())
    for p in asked:
        hb.tell(p, Evaluation(p.arch, p.fidelity, 1.0, 1.0))  # completes rungs: promotions queue up
    with pytest.raises(SearchExhausted):
        hb.ask()
