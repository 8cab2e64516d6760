"""Run/study configuration: validation, run ids, JSON/YAML round trips, grid expansion."""

from __future__ import annotations

from pathlib import Path

import pytest

from nasarena.bench.config import Budget, RunConfig, StudyConfig, load_study_config, parse_seeds
from nasarena.errors import ConfigError


def rc(**over) -> RunConfig:
    kw = dict(strategy="regularized-evolution", strategy_kwargs={"population_size": 10}, oracle="nb201-lite",
              oracle_kwargs={"dataset": "cifar10-valid"}, seed=7, budget=Budget(max_time=1000.0), n_workers=1)
    kw.update(over)
    return RunConfig(**kw)


def test_run_id_is_readable_deterministic_and_sensitive_to_every_field():
    a = rc()
    assert a.run_id.startswith("regularized-evolution__nb201-lite-cifar10-valid__w1__s0007__")
    assert rc().run_id == a.run_id
    others = [rc(seed=8), rc(n_workers=2), rc(strategy_kwargs={"population_size": 11}),
              rc(budget=Budget(max_time=1000.0, max_evals=5)), rc(oracle_kwargs={"dataset": "cifar100"})]
    assert len({a.run_id, *(o.run_id for o in others)}) == 1 + len(others)
    odd = rc(strategy="path/to/my file.py:Cls")
    assert "/" not in odd.run_id and " " not in odd.run_id and ":" not in odd.run_id


def test_run_config_round_trips_through_json_and_normalises_values():
    a = rc(oracle_kwargs={"dataset": "cifar10-valid", "test_table": Path("/x/t.csv")},
           strategy_kwargs={"sizes": (1, 2)})
    assert a.oracle_kwargs["test_table"] == "/x/t.csv" and a.strategy_kwargs["sizes"] == [1, 2]
    b = RunConfig.from_json(a.to_json())
    assert b == a and b.run_id == a.run_id
    assert RunConfig.from_yaml(a.to_yaml()) == a
    assert RunConfig.from_dict({**a.to_dict(), "budget": {"max_evals": 3}}).budget == Budget(max_evals=3)


@pytest.mark.parametrize("bad", [dict(seed=-1), dict(n_workers=0), dict(strategy=""), dict(seed=True)])
def test_run_config_rejects_bad_values(bad):
    with pytest.raises(ConfigError):
        rc(**bad)


@pytest.mark.parametrize("kw", [{}, {"max_time": 0}, {"max_time": float("nan")}, {"max_evals": 0},
                                {"max_evals": 1.5}])
def test_budget_validation(kw):
    with pytest.raises(ConfigError):
        Budget(**kw)


def test_parse_seeds():
    assert parse_seeds("0-3") == (0, 1, 2, 3)
    assert parse_seeds("0,3,5") == (0, 3, 5)
    assert parse_seeds("0-1,10") == (0, 1, 10)
    for bad in ("a", "5-2", "", "-1"):
        with pytest.raises(ConfigError):
            parse_seeds(bad)


def test_study_expands_grid_balanced_over_strategies(tmp_path):
    study = StudyConfig(strategies=("random", "evolution"), oracle="nb201-lite",
                        oracle_kwargs={"dataset": "cifar10-valid"}, seeds=(0, 1, 2),
                        budget=Budget(max_evals=10), strategy_kwargs={"evolution": {"population_size": 5}},
                        datasets=("cifar10-valid", "cifar100"))
    runs = study.runs()
    assert len(runs) == 2 * 3 * 2 and len({r.run_id for r in runs}) == 12
    assert [(r.seed, r.strategy) for r in runs[:4]] == [(0, "random"), (0, "evolution"), (1, "random"),
                                                       (1, "evolution")]
    assert runs[1].strategy_kwargs == {"population_size": 5} and runs[0].strategy_kwargs == {}
    assert {r.dataset for r in runs} == {"cifar10-valid", "cifar100"}
    for suffix, text in ((".yaml", study.to_yaml()), (".json", study.to_json())):
        path = tmp_path / f"s{suffix}"
        path.write_text(text)
        assert load_study_config(path) == study


def test_study_config_errors(tmp_path):
    with pytest.raises(ConfigError, match="not among"):
        StudyConfig(("random",), "nb201-lite", {}, (0,), Budget(max_evals=1), strategy_kwargs={"rs": {}})
    with pytest.raises(ConfigError, match="repeated"):
        StudyConfig(("random", "random"), "nb201-lite", {}, (0,), Budget(max_evals=1))
    bad = tmp_path / "bad.yaml"
    bad.write_text("strategies: [random]\noracle: nb201-lite\nseeds: 0-4\nbudget: {max_evals: 3}\ntypo: 1\n")
    with pytest.raises(ConfigError, match="typo"):
        load_study_config(bad)
    bad.write_text("strategies: [random]\noracle: nb201-lite\nseeds: 0-4\nbudget: {max_evals: 3}\n")
    assert load_study_config(bad).seeds == (0, 1, 2, 3, 4)
