"""The Ray executor (issue 15) on a local Ray cluster started here: the same results as the process
pool, a worker killed mid-task retried with no partial or duplicate run, and clear refusals.

One module-scoped ``ray.init(num_cpus=2)`` (localhost only, no dashboard) serves every test; the
executor uses a session that is already connected. CI installs the ``ray`` extra (``make test``);
outside CI a missing Ray skips these tests.
"""

from __future__ import annotations

import builtins
import os
import sys
from pathlib import Path

import pandas as pd
import pytest

from nasarena.bench.config import Budget, StudyConfig
from nasarena.bench.identity import strategy_fingerprint
from nasarena.bench.study import code_identity, make_executor, run_study
from nasarena.errors import ConfigError
from nasarena.results import schema as S
from nasarena.results.store import load_study, runs_dir

HERE = Path(__file__).parent
FAKES = str(HERE / "_fakes.py")
KILLER = f"{HERE / '_ray_fakes.py'}:KillOnce"


def _ray():
    try:
        import ray
    except ImportError:
        if os.environ.get("CI"):
            pytest.fail("ray is missing but CI is set: CI installs the extra (pip install -e '.[dev,ray]')")
        pytest.skip("ray not installed (pip install 'nasarena[ray]')")
    return ray


@pytest.fixture(scope="module")
def cluster():
    ray = _ray()
    # workers import nasarena (and the fakes, by path) from this tree
    env = {"PYTHONPATH": os.pathsep.join(p for p in (str(HERE.parents[1]), os.environ.get("PYTHONPATH"))
                                         if p),
           "OMP_NUM_THREADS": "1"}
    saved = builtins.print  # Ray's driver patches print and never restores it (the executor does)
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, runtime_env={"env_vars": env})
    yield ray
    ray.shutdown()
    builtins.print = saved


def study(strategies, seeds=range(3), max_evals=15, n_workers=2, **kwargs) -> StudyConfig:
    return StudyConfig(strategies=tuple(strategies), oracle="nb201-lite",
                       oracle_kwargs={"dataset": "cifar10-valid"}, seeds=tuple(seeds),
                       budget=Budget(max_evals=max_evals), n_workers=n_workers, strategy_kwargs=kwargs)


def _sorted(df: pd.DataFrame) -> pd.DataFrame:
    return df.sort_values([S.RUN_ID, S.EVAL_INDEX], ignore_index=True)


def _files(folder: Path) -> list[str]:
    return sorted(p.name for p in runs_dir(folder).iterdir())


def test_ray_gives_the_process_pools_results(cluster, tmp_path):
    config = study([f"{FAKES}:Sampler", f"{FAKES}:Recorder"], seeds=range(3))
    run_study(config, tmp_path / "pool", jobs=2, progress=False)
    summary = run_study(config, tmp_path / "ray", progress=False, executor=make_executor("ray"))
    assert summary.completed == 6 and not summary.failed
    pool, ray_ = load_study(tmp_path / "pool"), load_study(tmp_path / "ray")
    pd.testing.assert_frame_equal(_sorted(pool.trajectories), _sorted(ray_.trajectories))
    assert _files(tmp_path / "pool") == _files(tmp_path / "ray")
    # resuming on Ray reuses every stored run (same code fingerprint as the driver's)
    again = run_study(config, tmp_path / "ray", progress=False, executor=make_executor("ray"))
    assert again.skipped == 6 and again.completed == 0


def test_a_worker_killed_mid_run_is_retried_once_with_no_partial_or_duplicate_run(cluster, tmp_path):
    marker = tmp_path / "killed-once"
    config = study([KILLER], seeds=range(4), n_workers=1, **{KILLER: {"marker": str(marker)}})
    before = builtins.print
    summary = run_study(config, tmp_path / "ray", progress=False, executor=make_executor("ray"))
    assert builtins.print is before  # Ray's driver patches print when it reports the dead worker
    assert marker.exists(), "no worker was killed: the test tests nothing"
    assert summary.completed == 4 and not summary.failed
    files = _files(tmp_path / "ray")
    assert files == sorted(f"{rc.run_id}.parquet" for rc in config.runs())  # one file per run, no temps
    # the retried run equals a run that was never interrupted (the marker now exists: no kill)
    run_study(config, tmp_path / "ref", jobs=1, progress=False)
    got, ref = load_study(tmp_path / "ray"), load_study(tmp_path / "ref")
    assert not got.unreadable and len(got.runs) == 4
    pd.testing.assert_frame_equal(_sorted(got.trajectories), _sorted(ref.trajectories))


def test_a_task_lost_for_good_is_not_stored_and_the_resume_reruns_it(cluster, tmp_path):
    from nasarena.bench.ray_executor import RayExecutor

    marker = tmp_path / "killed-once"
    config = study([KILLER], seeds=range(3), n_workers=1, **{KILLER: {"marker": str(marker)}})
    summary = run_study(config, tmp_path / "s", progress=False, executor=RayExecutor(max_retries=0))
    assert marker.exists() and len(summary.failed) == 1 and summary.completed == 3
    lost = summary.failed[0]
    assert f"{lost}.parquet" not in _files(tmp_path / "s") and len(_files(tmp_path / "s")) == 2
    again = run_study(config, tmp_path / "s", progress=False, executor=make_executor("ray"))
    assert again.skipped == 2 and again.completed == 1 and not again.failed
    assert _files(tmp_path / "s") == sorted(f"{rc.run_id}.parquet" for rc in config.runs())


def test_requests_the_cluster_cannot_meet_are_refused_before_any_run(cluster, tmp_path):
    config = study([f"{FAKES}:Sampler"], seeds=range(1))
    with pytest.raises(ConfigError, match="--gpus-per-run 0.25 asks for more GPUs"):
        run_study(config, tmp_path / "gpu", progress=False, executor=make_executor("ray", gpus_per_run=0.25))
    with pytest.raises(ConfigError, match="--cpus-per-run 3 asks for more CPUs"):
        run_study(config, tmp_path / "cpu", progress=False, executor=make_executor("ray", cpus_per_run=3))
    with pytest.raises(ConfigError, match="drop --jobs"):
        run_study(config, tmp_path / "jobs", jobs=2, progress=False, executor=make_executor("ray"))
    assert not any((tmp_path / d / "runs").exists() for d in ("gpu", "cpu", "jobs"))


def test_a_worker_with_other_strategy_code_stops_the_study_naming_it(cluster, tmp_path):
    config = study([f"{FAKES}:Sampler"], seeds=range(1))
    identity = code_identity(config)
    other = {**strategy_fingerprint(config.strategies[0]), "sha256": "0" * 16}  # the driver's "other" code
    identity = {name: {**v, "code": other} for name, v in identity.items()}
    executor = make_executor("ray")
    with pytest.raises(ConfigError, match="cannot run strategy .* as the driver would .*same nasarena"):
        list(executor.run_all(config, config.runs(), tmp_path, identity, lambda: None))
    assert not runs_dir(tmp_path).exists()


def test_without_ray_the_executor_says_how_to_install_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray now raises ImportError
    with pytest.raises(ConfigError, match=r"pip install 'nasarena\[ray\]'"):
        make_executor("ray")


def test_ray_options_without_the_ray_executor_are_refused():
    with pytest.raises(ConfigError, match="--gpus-per-run applies only with --executor ray"):
        make_executor("process", gpus_per_run=0.5)
    with pytest.raises(ConfigError, match="--executor must be"):
        make_executor("dask")


def test_bad_resource_requests_are_one_clear_error():
    _ray()
    with pytest.raises(ConfigError, match="--gpus-per-run must be a non-negative number"):
        make_executor("ray", gpus_per_run=-1)
    with pytest.raises(ConfigError, match="--gpus-per-run above 1 must be a whole number"):
        make_executor("ray", gpus_per_run=1.5)


def test_the_cli_refuses_in_one_line(cluster, tmp_path, capsys):
    import nasarena.bench.cli as cli

    argv = ["run", "--strategies", f"{FAKES}:Sampler", "--oracle", "nb201-lite", "--seeds", "0",
            "--budget-evals", "2", "--no-progress", "--out", str(tmp_path / "s")]
    for extra, words in ((["--executor", "ray", "--gpus-per-run", "0.5"], "asks for more GPUs"),
                         (["--ray-address", "auto"], "--ray-address applies only with --executor ray")):
        assert cli.main([*argv, *extra]) != 0
        err = [ln for ln in capsys.readouterr().err.strip().splitlines()
               if ln.strip() and not ln.startswith(("INFO", "WARNING"))]
        assert len(err) == 1 and err[0].startswith("nasarena: error: ") and words in err[0], err
