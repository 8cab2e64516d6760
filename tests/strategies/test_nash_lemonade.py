"""``nash`` and ``lemonade``: children are warm starts from the right parents, by the right morphisms;
LEMONADE's parent sampling favours sparse regions of the cheap objective; both run on a live oracle."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from nasarena.errors import ConfigError
from nasarena.spaces.morphisms import APPROXIMATE, EXACT, kind_of
from nasarena.spaces.nb201 import NB201Space
from nasarena.strategies.conformance import SyntheticObjective
from nasarena.strategies.lemonade import Lemonade, inverse_density
from nasarena.strategies.nash import NASH

SPACE = NB201Space()


def _drive(strategy, n):
    objective = SyntheticObjective(SPACE)
    out = []
    for _ in range(n):
        p = strategy.ask()
        ev = objective(p.arch, p.fidelity)
        out.append((p, ev))
        strategy.tell(p, ev)
    return out


def test_nash_climbs_by_exact_morphisms_from_the_best_child() -> None:
    nash = NASH(SPACE, np.random.default_rng(0), n_neighbours=3)
    trace = _drive(nash, 120)
    by_id = {p.id: (p, ev) for p, ev in trace}
    assert trace[0][0].kind == "fresh" and nash.requires == {"warm-start"}
    children = [p for p, _ in trace if p.kind == "warm-start"]
    assert len(children) > 60
    for child in children:
        parent = by_id[child.inherits][0]
        assert kind_of(SPACE, parent.arch, child.arch) == EXACT
    # a round's parent is the best-scoring child of the previous round (or the start)
    parents = sorted({c.inherits for c in children})
    for prev, nxt in zip(parents, parents[1:], strict=False):
        siblings = [(ev.score, p.id) for p, ev in trace if p.inherits == prev]
        if nxt in {pid for _, pid in siblings}:
            assert by_id[nxt][1].score == max(s for s, _ in siblings)
    assert nash.n_restarts > 0  # exact NB201 morphisms only grow a cell: climbs end, then restart
    assert nash.config()["rounds"] > 5


def test_nash_validates_its_arguments() -> None:
    with pytest.raises(ConfigError, match="kinds"):
        NASH(SPACE, np.random.default_rng(0), kinds="exact,bogus")
    with pytest.raises(ConfigError, match="n_neighbours"):
        NASH(SPACE, np.random.default_rng(0), n_neighbours=0)


def test_inverse_density_prefers_sparse_regions() -> None:
    ref = np.array([1.0, 1.1, 1.2, 1.05, 10.0])
    p = inverse_density(np.array([1.0, 10.0]), ref)
    assert p[1] > 3 * p[0] and p.sum() == pytest.approx(1.0)
    assert np.allclose(inverse_density(np.array([1.0, 2.0]), np.array([3.0, 3.0])), 0.5)  # no spread


def test_lemonade_warm_starts_children_of_its_front_members() -> None:
    lem = Lemonade(SPACE, np.random.default_rng(1), n_init=4, n_generated=8, n_accepted=3)
    trace = _drive(lem, 60)
    assert [p.kind for p, _ in trace[:4]] == ["fresh"] * 4
    by_id = {p.id: p for p, _ in trace}
    children = [p for p, _ in trace if p.kind == "warm-start"]
    assert len(children) >= 40 and lem.config()["generations"] >= 10
    for child in children:
        assert kind_of(SPACE, by_id[child.inherits].arch, child.arch) in (EXACT, APPROXIMATE)
    front = lem.front()
    assert front and all(np.isfinite(vec).all() for _, _, vec in front)
    with pytest.raises(ConfigError, match="n_accepted"):
        Lemonade(SPACE, np.random.default_rng(0), n_generated=2, n_accepted=3)


@pytest.mark.parametrize("strategy", ["nash", "lemonade"])
def test_runs_on_the_live_oracle_with_warm_started_rows(strategy: str, tmp_path: Path) -> None:
    from nasarena.bench.config import Budget, RunConfig
    from nasarena.bench.runner import run

    fid = "epochs=1,channels=4,cells=1"
    oracle_kwargs = {"dataset": "synthetic", "fidelities": fid, "num_threads": 1, "batch_size": 32,
                     "synthetic_train": 64, "synthetic_valid": 16, "synthetic_test": 16,
                     "cache_dir": str(tmp_path / "cache"), "best_final": 100.0}
    kwargs = {"n_neighbours": 2} if strategy == "nash" else {"n_init": 2, "n_generated": 4, "n_accepted": 2}
    res = run(RunConfig(strategy=strategy, strategy_kwargs=kwargs, oracle="live", oracle_kwargs=oracle_kwargs,
                        seed=0, budget=Budget(max_evals=5), n_workers=1))
    assert res.ok, res.error
    df = res.trajectory
    assert df["ok"].all() and (df["kind"] == "warm-start").sum() >= 3
    assert set(df.loc[df["kind"] == "warm-start", "parent_id"]) <= set(df["proposal_id"])
