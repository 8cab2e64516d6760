"""End to end through the runner on the live oracle (CPU, generated data): a strategy trains fresh
at low epochs, continues that training, then warm-starts another architecture from it; the
trajectory shows the kinds, the parent ids and the incremental costs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from nasarena.errors import SearchExhausted, UnsupportedError
from nasarena.estimators.base import Fidelity
from nasarena.strategies import base as strategy_base

A = (3, 3, 3, 1, 3, 2)
B = (1, 3, 2, 1, 0, 3)
LOW = Fidelity(epochs=1, channels=4, cells=1)
HIGH = Fidelity(epochs=3, channels=4, cells=1)


class LineageProbe(strategy_base.Strategy):
    """Fresh A at the lowest fidelity, continue it to the top, warm-start B from it, stop."""

    name = "test-live-lineage"
    requires = frozenset({"continue", "warm-start"})

    def __init__(self, space, rng, fidelities=()) -> None:
        super().__init__(space, rng, fidelities)
        self.told: dict[int, object] = {}
        self.plan = 0

    def ask(self):
        self.plan += 1
        if self.plan == 1:
            self.first = self.propose(A, self.fidelities[0])
            return self.first
        if self.plan == 2:
            self.second = self.continue_(self.first, self.fidelities[-1])
            return self.second
        if self.plan == 3:
            return self.warm_start(B, self.second, self.fidelities[0])
        raise SearchExhausted("done")

    def tell(self, proposal, evaluation) -> None:
        self.told[proposal.id] = evaluation


def _config(tmp_path: Path, strategy: str):
    from nasarena.bench.config import Budget, RunConfig

    oracle_kwargs = {"dataset": "synthetic", "fidelities": f"{LOW.key()};{HIGH.key()}", "num_threads": 1,
                     "batch_size": 32, "synthetic_train": 96, "synthetic_valid": 16, "synthetic_test": 16,
                     "cache_dir": str(tmp_path / "cache"), "best_final": 100.0}
    return RunConfig(strategy=strategy, strategy_kwargs={}, oracle="live", oracle_kwargs=oracle_kwargs,
                     seed=0, budget=Budget(max_evals=10), n_workers=1)


def test_fresh_continue_and_warm_start_through_the_runner(tmp_path: Path) -> None:
    from nasarena.bench.runner import run
    from nasarena.estimators.live.oracle import LiveOracle

    res = run(_config(tmp_path, f"{__file__}:LineageProbe"))
    assert res.ok, res.error
    df = res.trajectory
    assert list(df["kind"]) == ["fresh", "continue", "warm-start"]
    assert list(df["parent_id"]) == [-1, df["proposal_id"].iloc[0], df["proposal_id"].iloc[1]]
    assert df["ok"].all() and (df["cost"] > 0).all()
    fresh, cont, warm = (df.iloc[i] for i in range(3))
    # the continuation is charged its two extra epochs only, and its lineage's cost adds up
    other = {**_config(tmp_path, "random").oracle_kwargs, "cache_dir": str(tmp_path / "other")}
    straight = LiveOracle(**other).evaluate(A, HIGH, np.random.default_rng(0))
    assert cont["score"] == straight.score  # the same numbers as one straight-through training
    # charged the increment of its own record (deterministic; measured seconds of two separate
    # trainings are not compared: on a loaded machine they are noise)
    from nasarena.estimators.live.cache import EvalCache, continue_cost

    record = next(r for r in EvalCache(tmp_path / "cache").read_all().to_pylist()
                  if r["arch"] == cont["arch"] and r["fidelity"] == HIGH.key())
    assert cont["cost"] == pytest.approx(continue_cost(record, LOW.epochs)) and cont["cost"] < record["cost"]
    assert cont["cum_cost"] == pytest.approx(fresh["cost"] + cont["cost"])
    assert warm["cum_cost"] == pytest.approx(warm["cost"])  # a warm start begins its own lineage
    # the trajectory names how the warm start's weights were mapped, as its cache record says (issue 13)
    import json

    warm_record = next(r for r in EvalCache(tmp_path / "cache").read_all().to_pylist()
                       if r["arch"] == warm["arch"] and r["parent"] is not None)
    assert warm["morphism"] == json.loads(warm_record["morphism"])["kind"]
    assert fresh["morphism"] == cont["morphism"] == ""
    assert res.meta["oracle"]["capabilities"] == ["continue", "multi-fidelity", "warm-start"]
    # the same study again, in a new process, reads every training from the cache: same trajectory
    again = run(_config(tmp_path, f"{__file__}:LineageProbe")).trajectory
    columns = ["kind", "proposal_id", "parent_id", "score", "cost", "cum_cost", "morphism", "incumbent_final"]
    assert again[columns].equals(df[columns])


def test_the_runner_refuses_a_lineage_strategy_on_a_live_oracle_without_cache(tmp_path: Path) -> None:
    import dataclasses

    from nasarena.bench.runner import run

    config = _config(tmp_path, f"{__file__}:LineageProbe")
    config = dataclasses.replace(config, oracle_kwargs={**config.oracle_kwargs, "cache_dir": "none"})
    with pytest.raises(UnsupportedError, match="'continue' is offered by .*'live'"):
        run(config)


def test_hyperband_continues_its_promotions_on_the_live_oracle(tmp_path: Path) -> None:
    import dataclasses

    from nasarena.bench.runner import run
    from nasarena.estimators.live.cache import EvalCache, continue_cost

    config = dataclasses.replace(_config(tmp_path, "hyperband"), budget={"max_evals": 4})
    res = run(config)
    assert res.ok, res.error
    df = res.trajectory
    promoted = df[df["kind"] == "continue"]
    assert len(promoted) == 1  # three 1-epoch trainings, then the best one goes on to 3 epochs
    row = promoted.iloc[0]
    parent = df[df["proposal_id"] == row["parent_id"]].iloc[0]
    assert parent["fidelity"] == LOW.key() and row["fidelity"] == HIGH.key() and row["arch"] == parent["arch"]
    cache = EvalCache(tmp_path / "cache")
    record = next(r for r in cache.read_all().to_pylist() if r["arch"] == row["arch"] and
                  r["fidelity"] == HIGH.key() and r["parent"] is None)
    assert row["score"] == record["score"]  # the same number as the straight-through training
    assert row["cost"] == pytest.approx(continue_cost(record, 1)) and row["cost"] < record["cost"]
    assert row["cum_cost"] == pytest.approx(parent["cost"] + row["cost"])
