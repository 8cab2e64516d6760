"""SubsetSpace: a space made of some architectures of another (e.g. a partial table's rows)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from nasarena.bench.config import Budget, RunConfig
from nasarena.bench.runner import run
from nasarena.errors import InvalidArchitectureError
from nasarena.estimators.table import TableOracle
from nasarena.spaces.base import SubsetSpace
from nasarena.spaces.nb201 import NB201Space

BASE = NB201Space()


def sparse_members(n: int, seed: int = 0) -> list[tuple[int, ...]]:
    rng = np.random.default_rng(seed)
    return sorted({BASE.from_index(int(i)) for i in rng.choice(BASE.size, n, replace=False)})


def test_membership_strings_and_sampling():
    members = sparse_members(30)
    space = SubsetSpace(BASE, members)
    assert space.size == 30 and list(space.enumerate()) == members
    outside = next(a for a in BASE.enumerate() if a not in set(members))
    with pytest.raises(InvalidArchitectureError, match="not a valid architecture"):
        space.validate(outside)
    assert space.from_string(BASE.to_string(members[3])) == members[3]
    rng = np.random.default_rng(1)
    draws = [space.sample(rng) for _ in range(3000)]
    assert set(draws) == set(members)  # uniform over 30 members: all seen in 3000 draws
    counts = pd.Series(draws).value_counts()
    assert counts.max() < 3 * counts.min()


def test_mutation_moves_to_the_nearest_other_member():
    members = [(0, 0, 0, 0, 0, 0), (0, 0, 0, 0, 1, 1), (4, 4, 4, 4, 4, 4)]
    space = SubsetSpace(BASE, members)
    rng = np.random.default_rng(0)
    # no single-decision neighbour exists, the nearest other member is 2 decisions away
    assert space.neighbours(members[0]) == []
    assert {space.mutate(members[0], rng) for _ in range(20)} == {members[1]}
    assert SubsetSpace(BASE, members[:1]).mutate(members[0], rng) == members[0]
    with pytest.raises(InvalidArchitectureError):
        SubsetSpace(BASE, [])


def test_strategies_stay_inside_a_restricted_partial_table(tmp_path):
    members = sparse_members(60, seed=3)
    rng = np.random.default_rng(4)
    table = pd.DataFrame({"arch": [BASE.to_string(a) for a in members],
                          "score": rng.uniform(80, 90, len(members)), "cost": 10.0})
    path = tmp_path / "partial.parquet"
    table.to_parquet(path)
    oracle = TableOracle(path, restrict_space=True)
    assert isinstance(oracle.space, SubsetSpace) and oracle.space.size == 60
    for strategy in ("random", "regularized-evolution", "evolution", "local-search", "bo"):
        cfg = RunConfig(strategy=strategy, strategy_kwargs={}, oracle="table",
                        oracle_kwargs={"path": str(path), "restrict_space": True}, seed=0,
                        budget=Budget(max_time=None, max_evals=50), n_workers=2)
        res = run(cfg, oracle)
        assert res.status == "ok", res.error
        assert set(res.trajectory["arch"]) <= set(table["arch"])
