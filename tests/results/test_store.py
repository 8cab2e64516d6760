"""The Parquet result store: round trip, atomic writes, stray temp files, corrupt files."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from nasarena.bench.config import Budget, RunConfig
from nasarena.bench.runner import DTYPES, run
from nasarena.errors import DataError
from nasarena.registry import make_oracle
from nasarena.results import schema as S
from nasarena.results import store
from nasarena.results.store import RUN_COLUMNS, finished_run_ids, load_study, write_run

FAKES = str(Path(__file__).parents[1] / "bench" / "_fakes.py")


@pytest.fixture(scope="module")
def results():
    oracle = make_oracle("nb201-lite", dataset="cifar10-valid")
    out = []
    for strat, seed, kw in (("Sampler", 0, {}), ("Sampler", 1, {}), ("Crashing", 0, {"at": 2})):
        config = RunConfig(f"{FAKES}:{strat}", kw, "nb201-lite", {"dataset": "cifar10-valid"}, seed,
                           Budget(max_evals=15))
        out.append(run(config, oracle))
    return out


def test_round_trip(tmp_path, results):
    for r in results:
        path = write_run(tmp_path, r)
        assert path.name == f"{r.run_id}.parquet"
    assert finished_run_ids(tmp_path) == {r.run_id for r in results}
    study = load_study(tmp_path)
    expected = pd.concat([r.trajectory for r in results]).sort_values([S.RUN_ID, S.EVAL_INDEX],
                                                                      ignore_index=True)
    pd.testing.assert_frame_equal(study.trajectories, expected)
    assert {c: str(t) for c, t in study.trajectories.dtypes.items()} == DTYPES
    runs = study.runs.set_index("run_id")
    assert tuple(study.runs.columns) == RUN_COLUMNS
    failed = results[2]
    assert runs.loc[failed.run_id, "status"] == "failed" and "boom" in runs.loc[failed.run_id, "error"]
    ok = results[0]
    row = runs.loc[ok.run_id]
    assert row["status"] == "ok" and row["n_evals"] == 15 and row["max_evals"] == 15
    assert row["dataset"] == "cifar10-valid" and row["final_metric"] == "valid_acc_200ep_seed_mean"
    assert RunConfig.from_json(row["config"]) == ok.config
    meta = {m["run_id"]: m for m in study.meta}[ok.run_id]
    assert meta["versions"]["pyarrow"]
    assert meta["oracle"]["best_final"] == pytest.approx(ok.meta["oracle"]["best_final"])


def test_rewriting_a_run_never_duplicates(tmp_path, results):
    write_run(tmp_path, results[0])
    write_run(tmp_path, results[0])
    assert len(load_study(tmp_path).trajectories) == len(results[0].trajectory)


def test_stray_temp_files_are_ignored_and_cleaned(tmp_path, results):
    write_run(tmp_path, results[0])
    folder = store.runs_dir(tmp_path)
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                          text=True, check=True)
    stale = folder / f".{results[1].run_id}.{int(dead.stdout)}.abcd1234.tmp"
    stale.write_bytes(b"half a parquet file")
    live = folder / f".{results[2].run_id}.{os.getpid()}.abcd1234.tmp"
    live.write_bytes(b"being written")
    assert finished_run_ids(tmp_path) == {results[0].run_id}
    assert len(load_study(tmp_path).runs) == 1
    assert store.clean_stale_temps(tmp_path) == [stale]
    assert not stale.exists() and live.exists()  # a live writer's file is never touched


def test_failed_write_leaves_nothing(tmp_path, results, monkeypatch):
    def boom(*_a, **_k):
        raise OSError("disk full")

    monkeypatch.setattr(store.os, "replace", boom)
    with pytest.raises(OSError, match="disk full"):
        write_run(tmp_path, results[0])
    assert list(store.runs_dir(tmp_path).iterdir()) == []


def test_corrupt_file_is_listed_and_the_rest_loads(tmp_path, results):
    write_run(tmp_path, results[0])
    bad = store.run_path(tmp_path, "garbage")
    bad.write_bytes(b"not parquet at all")
    study = load_study(tmp_path)
    assert len(study.runs) == 1 and [p.name for p, _ in study.unreadable] == ["garbage.parquet"]
    assert "delete it" in study.unreadable[0][1]
    with pytest.raises(DataError, match="garbage.parquet.*delete it"):
        store.read_run(bad)
    store.run_path(tmp_path, results[0].run_id).write_bytes(b"")
    with pytest.raises(DataError, match="none of the 2 run files"):
        load_study(tmp_path)


def test_empty_folder(tmp_path):
    with pytest.raises(DataError, match="no finished runs"):
        load_study(tmp_path)
    assert finished_run_ids(tmp_path / "nope") == set()
