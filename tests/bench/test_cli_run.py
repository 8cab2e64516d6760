"""``nasarena run / bench / list`` through the real entry point (only this room's commands loaded)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import nasarena.bench.cli as cli
from nasarena.bench import cli_run
from nasarena.errors import ConfigError
from nasarena.estimators.nb201_lite import load_table
from nasarena.results.store import load_study

FAKES = str(Path(__file__).with_name("_fakes.py"))
SAMPLER = f"{FAKES}:Sampler"


@pytest.fixture(autouse=True)
def only_this_room(monkeypatch):
    """Other rooms' command modules are tested by their owners; load just ``cli_run``."""
    monkeypatch.setattr(cli, "COMMAND_MODULES", ("nasarena.bench.cli_run",))


def test_help_on_every_command(capsys):
    for argv in (["--help"], ["run", "--help"], ["bench", "--help"], ["list", "--help"]):
        with pytest.raises(SystemExit) as exc:
            cli.main(argv)
        assert exc.value.code == 0
    assert "--budget-time" in capsys.readouterr().out


def test_list(capsys):
    assert cli.main(["list", "strategies"]) == 0
    out = capsys.readouterr().out.split()
    assert {"random", "regularized-evolution", "reinforce"} <= set(out)
    assert cli.main(["list", "datasets"]) == 0
    out = capsys.readouterr().out
    assert "nb201-lite: cifar10-valid, cifar100, ImageNet16-120" in out
    assert "aliases: cifar10 = cifar10-valid, imagenet = ImageNet16-120" in out


@pytest.mark.parametrize("flag,value,valid", [("--strategies", "no-such", "regularized-evolution"),
                                              ("--oracle", "no-such", "nb201-lite"),
                                              ("--dataset", "cifar11", "cifar10-valid")])
def test_unknown_names_exit_2_listing_valid_ones(tmp_path, capsys, flag, value, valid):
    args = {"--strategies": SAMPLER, "--oracle": "nb201-lite", "--dataset": "cifar10-valid"}
    args[flag] = value
    argv = ["run", *[x for kv in args.items() for x in kv], "--seeds", "0-1", "--budget-evals", "3",
            "--out", str(tmp_path / "s")]
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert value in err and valid in err
    assert not (tmp_path / "s").exists()  # nothing ran


def test_run_resume_and_arguments(tmp_path, capsys):
    out = tmp_path / "s"
    argv = ["run", "--strategies", f"{SAMPLER},{FAKES}:Finite", "--oracle", "nb201-lite", "--dataset",
            "cifar10-valid", "--seeds", "0,2", "--budget-evals", "6", "--budget-time", "1e9", "--jobs", "1",
            "--workers", "2", "--strategy-arg", f"{FAKES}:Finite.n=4", "--out", str(out), "--no-progress"]
    assert cli.main(argv) == 0
    assert "4 run now" in capsys.readouterr().out
    study = load_study(out)
    runs = study.runs.set_index("strategy")
    assert sorted(study.runs["seed"].unique()) == [0, 2] and (study.runs["n_workers"] == 2).all()
    # file strategies are named in tables by their ``name`` (the spec stays in the config)
    assert (runs.loc["test-finite", "n_evals"] == 4).all()
    assert (runs.loc["test-sampler", "n_evals"] == 6).all()
    assert (study.runs["max_time"] == 1e9).all()
    assert cli.main(argv) == 0
    assert "4 already stored, 0 run now" in capsys.readouterr().out


def test_run_from_config_file_with_overrides(tmp_path):
    cfg = tmp_path / "study.yaml"
    cfg.write_text(f"strategies: ['{SAMPLER}']\noracle: nb201-lite\noracle_kwargs: {{dataset: cifar100}}\n"
                   f"seeds: 0-2\nbudget: {{max_evals: 4}}\n")
    out = tmp_path / "s"
    assert cli.main(["run", "--config", str(cfg), "--seeds", "5", "--budget-evals", "2", "--jobs", "1",
                     "--out", str(out)]) == 0
    runs = load_study(out).runs
    assert runs["seed"].tolist() == [5] and runs["n_evals"].tolist() == [2]
    assert runs["dataset"].tolist() == ["cifar100"]


def test_missing_required_settings_exit_2(tmp_path, capsys):
    assert cli.main(["run", "--strategies", "random", "--out", str(tmp_path)]) == 2
    assert "--oracle" in capsys.readouterr().err


def test_strategy_args_parsing():
    parsed = cli_run._strategy_args(["regularized-evolution.population_size=100", "a.b.py:C.x=[1, 2]",
                                     "regularized-evolution.sample_size=25"],
                                    ("regularized-evolution", "a.b.py:C"))
    assert parsed == {"regularized-evolution": {"population_size": 100, "sample_size": 25},
                      "a.b.py:C": {"x": [1, 2]}}
    with pytest.raises(ConfigError, match="not in this study"):
        cli_run._strategy_args(["evolution.x=1"], ("random",))
    with pytest.raises(ConfigError, match="STRATEGY.KEY=VALUE"):
        cli_run._strategy_args(["x=1"], ("random",))


def _bench_args(*extra: str):
    return cli.build_parser().parse_args(["bench", *extra])


def test_bench_preset():
    config = cli_run.bench_config(_bench_args())
    assert config.strategies[:5] == ("random", "regularized-evolution", "evolution", "reinforce",
                                      "reinforce-lstm")  # Real et al.'s contenders come first
    assert {"local-search", "bo", "optuna:tpe", "regularized-evolution-mo"} <= set(config.strategies)
    assert config.seeds == tuple(range(100)) and config.n_workers == 1
    # the search sees validation accuracy; reports use the shipped 200-epoch test accuracy
    assert config.oracle == "nb201-lite"
    assert config.oracle_kwargs == {"dataset": "cifar10-valid", "test_accuracy": True}
    mean = np.nanmean(np.nanmean(load_table("cifar10-valid").train_time, axis=1))
    assert config.budget.max_time == pytest.approx(150 * mean, rel=1e-6) and config.budget.max_evals is None
    small = cli_run.bench_config(_bench_args("--seeds", "0-2", "--strategies", "random", "--trainings", "10"))
    assert small.seeds == (0, 1, 2) and small.strategies == ("random",)
    assert small.budget.max_time == pytest.approx(10 * mean, rel=1e-6)
    with pytest.raises(ConfigError, match="not found"):
        cli_run.bench_config(_bench_args("--test-table", "/no/such/table.csv"))


def test_bench_test_accuracy_uses_the_shared_table(nb201_data):
    table = nb201_data / "test_accuracy.csv"
    config = cli_run.bench_config(_bench_args("--test-table", str(table)))
    assert config.oracle_kwargs["test_table"] == str(table.resolve())
    assert "test_accuracy" not in config.oracle_kwargs


def test_bench_reports_shipped_test_accuracy_without_shared_data():
    """--test-accuracy (now the default) needs no ../shared; --valid-accuracy restores the old metric."""
    for extra in ((), ("--test-accuracy",)):
        kw = cli_run.bench_config(_bench_args(*extra)).oracle_kwargs
        assert kw == {"dataset": "cifar10-valid", "test_accuracy": True}
    assert cli_run.bench_config(_bench_args("--valid-accuracy")).oracle_kwargs == {"dataset": "cifar10-valid"}
    with pytest.raises(ConfigError, match="drop --test-accuracy"):
        cli_run.bench_config(_bench_args("--valid-accuracy", "--test-accuracy"))


def test_bench_preset_table5():
    from nasarena.bench.presets import TABLE5_STRATEGY_KWARGS

    config = cli_run.bench_config(_bench_args("--preset", "nb201-table5"))
    assert config.strategies == ("random", "regularized-evolution", "reinforce", "bohb-nb201")
    assert config.oracle == "nb201-12ep"
    assert config.budget.max_time == 12_000 and config.budget.max_evals is None
    assert config.seeds == tuple(range(500)) and config.n_workers == 1
    assert config.strategy_kwargs == TABLE5_STRATEGY_KWARGS
    assert config.strategy_kwargs["regularized-evolution"] == {"population_size": 10, "sample_size": 3}
    small = cli_run.bench_config(_bench_args("--preset", "nb201-table5", "--seeds", "0-1"))
    assert small.seeds == (0, 1) and small.budget == config.budget
    with pytest.raises(ConfigError, match="drop --trainings"):
        cli_run.bench_config(_bench_args("--preset", "nb201-table5", "--trainings", "5"))


def test_bench_runs_end_to_end_small(tmp_path, capsys):
    out = tmp_path / "bench"
    assert cli.main(["bench", "--strategies", SAMPLER, "--seeds", "0-1", "--trainings", "3", "--jobs", "1",
                     "--no-report", "--out", str(out)]) == 0
    runs = load_study(out).runs
    assert len(runs) == 2 and (runs["status"] == "ok").all()
    assert (runs["stop_reason"] == "max_time").all() and (runs["n_evals"] >= 1).all()
    assert "bench: 1 strategies x 2 seeds" in capsys.readouterr().out


def test_several_datasets_make_a_grid(tmp_path):
    """``--dataset a,b`` runs the whole grid once per dataset."""
    args = cli.build_parser().parse_args(
        ["run", "--oracle", "nb201-lite", "--dataset", "cifar10-valid,cifar100", "--strategies", "random",
         "--seeds", "0-1", "--budget-evals", "5", "--out", str(tmp_path / "s")])
    config = cli_run.study_from_args(args)
    assert config.datasets == ("cifar10-valid", "cifar100")
    assert sorted({rc.oracle_kwargs["dataset"] for rc in config.runs()}) == ["cifar10-valid", "cifar100"]
    assert len(config.runs()) == 4
