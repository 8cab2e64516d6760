"""Issue 9 in the runner: capabilities, continue, warm start, shared work, lineage columns, old files."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from nasarena.bench.config import Budget, RunConfig
from nasarena.bench.runner import run
from nasarena.errors import UnsupportedError
from nasarena.registry import load_object, make_oracle
from nasarena.results import schema as S

FAKES = str(Path(__file__).with_name("_lineage_fakes.py"))
OLD_STUDY = Path(__file__).parents[1] / "results" / "data" / "old_format_study"


def ref(name: str) -> str:
    return f"{FAKES}:{name}"


def lineage_run(strategy: str, *, max_evals: int = 12, n_workers: int = 1, seed: int = 0, **kwargs):
    oracle = load_object(ref("LineageOracle"))()
    config = RunConfig(ref(strategy), kwargs, ref("LineageOracle"), {}, seed, Budget(max_evals=max_evals),
                       n_workers=n_workers)
    return run(config, oracle), oracle


def test_continue_charges_the_increment_and_records_the_lineage():
    res, oracle = lineage_run("Grower", max_evals=9)
    assert res.ok, res.error
    df = res.trajectory
    assert df[S.KIND].tolist() == ["fresh", "continue", "continue"] * 3
    assert df[S.FIDELITY].tolist() == ["epochs=1", "epochs=3", "epochs=9"] * 3
    assert df[S.COST].tolist() == [1.0, 2.0, 6.0] * 3            # the increment only
    assert df[S.CUM_COST].tolist() == [1.0, 3.0, 9.0] * 3        # the lineage's total
    assert np.allclose(df[S.TIME], df[S.COST].cumsum())          # the clock is charged the increments
    ids, parents = df[S.PROPOSAL_ID].tolist(), df[S.PARENT_ID].tolist()
    assert parents == [-1, ids[0], ids[1], -1, ids[3], ids[4], -1, ids[6], ids[7]]
    assert len(set(df[S.ARCH][:3])) == 1
    # the oracle got the parent's handle, and the continued result is the uninterrupted one (same draw)
    arch, _, start, _ = oracle.calls[1]
    assert start is not None and start[0] == arch and start[2] == 1
    seed = start[1]
    assert df[S.SCORE][2] == oracle._score(arch, seed, 9)


def test_warm_start_and_shared_work():
    res, oracle = lineage_run("Mixed", max_evals=5)
    assert res.ok, res.error
    df = res.trajectory
    assert df[S.KIND].tolist() == ["shared", "fresh", "warm-start", "fresh", "fresh"]
    shared = df.iloc[0]
    assert shared[S.ARCH] == "" and shared[S.FIDELITY] == "supernet,steps=8,lr=0.1"
    assert shared[S.COST] == 2.0 and df[S.TIME][0] == 2.0               # on the same clock
    assert math.isnan(shared[S.SCORE]) and math.isnan(shared[S.INC_SCORE])  # never the incumbent
    assert df[S.PARENT_ID][2] == df[S.PROPOSAL_ID][1]
    assert df[S.CUM_COST][2] == df[S.COST][2]                           # a warm start is its own lineage
    inherited = oracle.calls[1][3]                                     # the parent's handle
    assert inherited is not None and inherited[0] == oracle.calls[0][0] and inherited[2] == 9
    assert df[S.INC_ARCH].iloc[1:].notna().all() and df[S.INC_ARCH].isna().iloc[0]


@pytest.mark.parametrize(("mode", "workers", "message"), [
    ("unknown", 1, "names proposal 999, which is unknown"),
    ("running", 2, "which has not finished yet"),
    ("other-arch", 1, "names another architecture"),
    ("lower", 1, "not higher than the one it ended at"),
])
def test_bad_parents_are_strategy_errors(mode, workers, message):
    res, _ = lineage_run("Bad", mode=mode, n_workers=workers)
    assert res.status == "failed" and "StrategyError" in res.error and message in res.error, res.error
    assert len(res.trajectory) <= 1


def test_capability_mismatch_is_refused_before_any_work():
    oracle = make_oracle("nb201-lite", dataset="cifar10-valid")
    config = RunConfig(ref("NeedsContinue"), {}, "nb201-lite", {"dataset": "cifar10-valid"}, 0,
                       Budget(max_evals=3))
    with pytest.raises(UnsupportedError) as info:
        run(config, oracle)
    text = str(info.value)
    assert "requires 'continue'" in text and "oracle 'nb201-lite'" in text and "is offered by" in text


def test_undeclared_continue_on_an_oracle_without_it_fails_naming_the_capability():
    oracle = make_oracle("nb201-lite", dataset="cifar10-valid")
    config = RunConfig(ref("ContinuesUndeclared"), {}, "nb201-lite", {"dataset": "cifar10-valid"}, 0,
                       Budget(max_evals=3))
    res = run(config, oracle)
    assert res.status == "failed" and "does not offer 'continue'" in res.error
    assert len(res.trajectory) == 1


def test_fresh_rows_have_their_proposal_ids():
    oracle = make_oracle("nb201-lite", dataset="cifar10-valid")
    config = RunConfig("random", {}, "nb201-lite", {"dataset": "cifar10-valid"}, 0, Budget(max_evals=5),
                       n_workers=2)
    df = run(config, oracle).trajectory
    assert sorted(df[S.PROPOSAL_ID]) == list(range(5)) and (df[S.PARENT_ID] == -1).all()
    assert (df[S.KIND] == "fresh").all() and (df[S.CUM_COST] == df[S.COST]).all()


def test_a_study_stored_before_the_lineage_columns_still_loads_and_reports(tmp_path):
    """``tests/results/data/old_format_study`` was written by nasarena at 556cedb (before issue 9)."""
    import shutil

    from nasarena.results.report import write_report
    from nasarena.results.store import load_study

    study = load_study(OLD_STUDY)
    traj = study.trajectories
    assert len(traj) == 12 and set(S.COLUMNS) <= set(traj.columns)
    assert (traj[S.KIND] == "fresh").all() and (traj[S.PROPOSAL_ID] == -1).all()
    assert (traj[S.PARENT_ID] == -1).all() and (traj[S.CUM_COST] == traj[S.COST]).all()
    copy = tmp_path / "old"
    shutil.copytree(OLD_STUDY, copy)
    paths = write_report(copy, tmp_path / "report", n_boot=20)
    assert paths and all(Path(p).is_file() for p in paths.values())
