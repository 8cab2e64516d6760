"""Multi-objective helpers: dominance, fronts, crowding, exact hypervolume, and the MO evolution."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from nasarena.errors import ConfigError
from nasarena.estimators.base import Evaluation, Fidelity
from nasarena.objectives import (
    crowding_distance,
    dominates,
    hypervolume,
    non_dominated_ranks,
    objective_vector,
    parse_objectives,
)
from nasarena.spaces.nb201 import NB201Space
from nasarena.strategies.multiobjective import RegularizedEvolutionMO

FID = (Fidelity(epochs=200),)


def test_ranks_match_brute_force_definition() -> None:
    pts = np.random.default_rng(0).integers(0, 6, size=(60, 2)).astype(float)
    ranks = non_dominated_ranks(pts)
    for r in range(ranks.max() + 1):
        layer = pts[ranks == r]
        better = pts[ranks < r]
        assert not any(dominates(a, b) for a, b in itertools.permutations(layer, 2))
        if r:  # every point of front r is dominated by some point of an earlier front
            assert all(any(dominates(b, a) for b in better) for a in layer)


def test_hypervolume_2d_is_exact_and_3d_agrees_with_a_grid_count() -> None:
    assert hypervolume([[-90.0, 0.8], [-85.0, 0.2]], [-80.0, 1.5]) == pytest.approx(10.0)
    assert hypervolume([[0.5, 0.5], [0.6, 0.6], [2.0, 0.0]], [1.0, 1.0]) == pytest.approx(0.25)
    pts = np.random.default_rng(1).random((8, 3))
    g = (np.arange(40) + 0.5) / 40
    cells = np.stack(np.meshgrid(g, g, g, indexing="ij"), axis=-1).reshape(-1, 3)
    covered = np.any(np.all(pts[None, :, :] <= cells[:, None, :], axis=2), axis=1).mean()
    assert hypervolume(pts, [1.0, 1.0, 1.0]) == pytest.approx(covered, abs=0.03)


def test_crowding_gives_boundaries_infinity() -> None:
    d = crowding_distance(np.array([[0.0, 3.0], [1.0, 2.0], [2.0, 1.0], [3.0, 0.0]]))
    assert np.isinf(d[0]) and np.isinf(d[3]) and np.isfinite(d[1:3]).all()


def test_objectives_are_parsed_and_read_in_minimisation_form() -> None:
    assert parse_objectives("score,params") == ("score", "params")
    with pytest.raises(ConfigError, match="start with 'score'"):
        parse_objectives(("params", "score"))
    ev = Evaluation((0,) * 6, FID[0], score=90.0, cost=1.0, params=0.4, extras={"latency": 0.01})
    assert objective_vector(ev, ("score", "params", "latency")).tolist() == [-90.0, 0.4, 0.01]


def test_mo_tournament_picks_from_the_first_front() -> None:
    space = NB201Space()
    s = RegularizedEvolutionMO(space, np.random.default_rng(0), FID, population_size=6, sample_size=6)
    members = []
    for score, params in ((90, 1.0), (85, 0.2), (80, 0.9), (70, 1.2), (88, 0.5), (60, 0.3)):
        p = s.ask()
        s.tell(p, Evaluation(p.arch, FID[0], score=float(score), cost=1.0, params=params))
        members.append((p.arch, score, params))
    front = {a for a, sc, pa in members if (sc, pa) in ((90, 1.0), (85, 0.2), (88, 0.5))}
    for _ in range(20):  # the whole population is sampled: the winner is on the front
        child = s.ask().arch
        assert any(sum(x != y for x, y in zip(child, a, strict=True)) == 1 for a in front)
