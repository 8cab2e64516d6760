"""Studies: resume after SIGKILL, independence of the pool size, validation, failures."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from nasarena.bench.config import Budget, StudyConfig
from nasarena.bench.study import run_study
from nasarena.errors import ConfigError, UnknownNameError
from nasarena.results import schema as S
from nasarena.results.store import finished_run_ids, load_study, run_path

FAKES = str(Path(__file__).with_name("_fakes.py"))
REPO = Path(__file__).resolve().parents[2]


def study(strategies=("Sampler",), seeds=range(3), max_evals=20, n_workers=1, **kwargs) -> StudyConfig:
    names = tuple(f"{FAKES}:{s}" for s in strategies)
    skw = {f"{FAKES}:{k}": v for k, v in kwargs.items()}
    return StudyConfig(strategies=names, oracle="nb201-lite", oracle_kwargs={"dataset": "cifar10-valid"},
                       seeds=tuple(seeds), budget=Budget(max_evals=max_evals), n_workers=n_workers,
                       strategy_kwargs=skw)


def _sorted(df: pd.DataFrame) -> pd.DataFrame:
    return df.sort_values([S.RUN_ID, S.EVAL_INDEX], ignore_index=True)


@pytest.mark.slow
def test_sigkill_then_resume_loses_and_duplicates_nothing(tmp_path):
    config = study(seeds=range(16), max_evals=20)
    killed = tmp_path / "killed"
    code = ("import json, sys\n"
            "from nasarena.bench.config import StudyConfig\n"
            "from nasarena.bench.study import run_study\n"
            "config = StudyConfig.from_dict(json.loads(sys.argv[1]))\n"
            "run_study(config, sys.argv[2], jobs=2, progress=False)\n")
    proc = subprocess.Popen([sys.executable, "-c", code, json.dumps(config.to_dict()), str(killed)],
                            cwd=REPO, start_new_session=True, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, env={**os.environ, "NASARENA_TEST_DELAY": "0.01"})
    deadline = time.monotonic() + 120
    try:
        while len(finished_run_ids(killed)) < 3:
            if proc.poll() is not None:
                pytest.fail(f"study exited early ({proc.returncode}): {proc.stderr.read().decode()}")
            if time.monotonic() > deadline:
                pytest.fail("no run finished within 120 s")
            time.sleep(0.01)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)  # the study and its pool workers, like a power cut
        proc.wait()
        proc.stderr.close()
    survivors = finished_run_ids(killed)
    assert 3 <= len(survivors) < 16, "the kill must interrupt the study"
    mtimes = {r: run_path(killed, r).stat().st_mtime_ns for r in survivors}
    load_study(killed)  # whatever survived is readable: no half-written file is visible

    summary = run_study(config, killed, jobs=1, progress=False)
    assert summary.skipped == len(survivors) and summary.completed == 16 - len(survivors)
    assert {r: run_path(killed, r).stat().st_mtime_ns for r in survivors} == mtimes  # not recomputed
    resumed = load_study(killed)
    assert not resumed.trajectories.duplicated([S.RUN_ID, S.EVAL_INDEX]).any()
    assert resumed.runs["run_id"].is_unique and len(resumed.runs) == 16
    assert not any(p.name.endswith(".tmp") for p in (killed / "runs").iterdir())

    clean = tmp_path / "clean"
    run_study(config, clean, jobs=1, progress=False)
    pd.testing.assert_frame_equal(_sorted(resumed.trajectories), _sorted(load_study(clean).trajectories))


def test_results_do_not_depend_on_jobs(tmp_path):
    config = study(strategies=("Sampler", "Recorder"), seeds=range(3), max_evals=15, n_workers=2)
    run_study(config, tmp_path / "one", jobs=1, progress=False)
    run_study(config, tmp_path / "two", jobs=2, progress=False)
    a, b = load_study(tmp_path / "one"), load_study(tmp_path / "two")
    pd.testing.assert_frame_equal(a.trajectories, b.trajectories)
    assert len(a.runs) == 6 and (a.runs["n_evals"] == 15).all()
    assert json.loads((tmp_path / "one" / "study.json").read_text())["seeds"] == [0, 1, 2]


def test_failed_runs_are_recorded_and_the_study_continues(tmp_path, caplog):
    config = study(strategies=("Crashing", "Sampler"), seeds=range(2), Crashing={"at": 4})
    summary = run_study(config, tmp_path, jobs=1, progress=False)
    assert summary.completed == 4 and len(summary.failed) == 2
    runs = load_study(tmp_path).runs
    failed = runs[runs["status"] == "failed"]
    assert len(failed) == 2 and failed["error"].str.contains("boom").all() and (failed["n_evals"] == 4).all()
    assert "failed" in caplog.text
    again = run_study(config, tmp_path, jobs=1, progress=False)
    assert again.skipped == 4 and again.completed == 0
    retried = run_study(config, tmp_path, jobs=1, progress=False, retry_failed=True)
    assert retried.skipped == 2 and retried.completed == 2 and len(retried.failed) == 2
    assert len(load_study(tmp_path).runs) == 4


def test_names_and_arguments_are_validated_before_any_run(tmp_path):
    bad = StudyConfig(strategies=(f"{FAKES}:Sampler", "no-such-strategy"), oracle="nb201-lite",
                      oracle_kwargs={}, seeds=(0,), budget=Budget(max_evals=2))
    with pytest.raises(UnknownNameError, match="regularized-evolution"):
        run_study(bad, tmp_path / "a", progress=False)
    with pytest.raises(UnknownNameError, match="cifar100"):
        run_study(study(seeds=(0,)).__class__(**{**study(seeds=(0,)).__dict__,
                                                 "oracle_kwargs": {"dataset": "cifar11"}}),
                  tmp_path / "a", progress=False)
    for jobs in (1, 2):  # with a pool, strategies are built in a worker and the error comes back
        with pytest.raises(ConfigError, match="rejects its arguments"):
            run_study(study(seeds=(0, 1), Sampler={"no_such_arg": 1}), tmp_path / "a", jobs=jobs,
                      progress=False)
    assert not (tmp_path / "a").exists()


def test_seeds_and_strategies_can_be_added_but_incomparable_changes_are_refused(tmp_path):
    run_study(study(seeds=(0,), max_evals=3), tmp_path, jobs=1, progress=False)
    first = {r: run_path(tmp_path, r).stat().st_mtime_ns for r in finished_run_ids(tmp_path)}
    grown = run_study(study(strategies=("Sampler", "Recorder"), seeds=(0, 1), max_evals=3), tmp_path,
                      jobs=1, progress=False)
    assert grown.skipped == 1 and grown.completed == 3
    assert {r: run_path(tmp_path, r).stat().st_mtime_ns for r in first} == first  # kept, not recomputed
    recorded = json.loads((tmp_path / "study.json").read_text())
    assert recorded["seeds"] == [0, 1] and len(recorded["strategies"]) == 2
    assert run_study(study(seeds=(0,), max_evals=3), tmp_path, jobs=1, progress=False).skipped == 1
    base = study(seeds=(0,), max_evals=3)
    for change, field in (({"budget": Budget(max_evals=4)}, "budget"), ({"n_workers": 2}, "workers"),
                          ({"oracle_kwargs": {"dataset": "cifar100"}}, "dataset"),
                          ({"oracle": f"{FAKES}:TwoFidelityOracle", "oracle_kwargs": {}}, "oracle")):
        with pytest.raises(ConfigError, match=f"with {field}"):
            run_study(StudyConfig(**{**base.__dict__, **change}), tmp_path, jobs=1, progress=False)
    with pytest.raises(ConfigError, match="hyper-parameters"):
        run_study(study(seeds=(0,), max_evals=3, Sampler={"delay": 0.0}), tmp_path, jobs=1, progress=False)
    other_jobs = StudyConfig(**{**base.__dict__, "jobs": 2})
    assert run_study(other_jobs, tmp_path, progress=False).skipped == 1
