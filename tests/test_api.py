"""``nasarena.run_study`` / ``nasarena.load_study``: the notebook API."""

from __future__ import annotations

from pathlib import Path

import pytest

import nasarena
from nasarena.errors import ConfigError


def test_run_study_resumes_and_takes_the_cli_choices(tmp_path: Path) -> None:
    out = tmp_path / "s"
    study = nasarena.run_study("random,regularized-evolution", seeds="0-1", budget_evals=8, out=out,
                               dataset=["cifar10-valid", "cifar100"],
                               strategy_kwargs={"regularized-evolution": {"population_size": 4}},
                               oracle_kwargs={"test_accuracy": False})
    assert len(study.runs) == 8 and set(study.runs["dataset"]) == {"cifar10-valid", "cifar100"}
    assert (study.runs["final_metric"] == "valid_acc_200ep_seed_mean").all()
    again = nasarena.run_study("random,regularized-evolution", seeds="0-1", budget_evals=8, out=out,
                               dataset=["cifar10-valid", "cifar100"],
                               strategy_kwargs={"regularized-evolution": {"population_size": 4}},
                               oracle_kwargs={"test_accuracy": False})
    assert again.trajectories.equals(study.trajectories)
    assert nasarena.load_study(out).runs.shape == study.runs.shape


def test_run_study_needs_a_budget(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="budget"):
        nasarena.run_study("random", seeds=1, out=tmp_path / "x")
    with pytest.raises(TypeError, match="seeds"):
        nasarena.run_study("random", seeds=True, budget_evals=3, out=tmp_path / "y")


def test_import_stays_light() -> None:
    import subprocess
    import sys

    code = "import nasarena, sys; print('pandas' in sys.modules, callable(nasarena.run_study))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "True"]
