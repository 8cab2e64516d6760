"""How good is the supernet: the statistics, the end-of-run record, the command and the report section.

The statistics are checked against a direct scipy computation on known inputs; the rest on a tiny
supernet (C=4, N=1, 96 generated images, 2 epochs: seconds on CPU).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

import nasarena.bench.cli as cli
from nasarena.bench.config import Budget, RunConfig
from nasarena.bench.runner import run
from nasarena.errors import ConfigError
from nasarena.estimators.oneshot.oracle import SupernetOracle
from nasarena.estimators.oneshot.quality import measure, rank_quality, sample_architectures
from nasarena.results import schema as S
from nasarena.results.report import write_report
from nasarena.results.store import load_study
from nasarena.results.supernet import drift_runs, drift_sentence, drift_summary, supernet_blocks
from nasarena.spaces.nb201 import NB201Space

TINY = {"dataset": "synthetic", "epochs": 2, "channels": 4, "cells": 1, "synthetic_train": 96,
        "synthetic_valid": 8, "synthetic_test": 8, "score_images": 32, "num_threads": 1}


# ---- the statistics ------------------------------------------------------------------------------
def test_rank_quality_matches_scipy_on_known_inputs() -> None:
    truth = np.array([90.0, 91.0, 85.0, 93.0, 88.0, 70.0, 92.5, 89.0, 86.0, 91.5, 60.0, 94.0])
    scores = np.array([50.0, 55.0, 40.0, 52.0, 45.0, 30.0, 60.0, 47.0, 41.0, 55.0, 20.0, 58.0])
    q = rank_quality(scores, truth, top_fraction=0.25)
    assert q.n == 12 and q.left_out == 0
    assert q.kendall_tau_b == pytest.approx(stats.kendalltau(scores, truth).statistic)
    assert q.spearman == pytest.approx(stats.spearmanr(scores, truth).statistic)
    top = [11, 3, 6]  # ceil(0.25 * 12) = 3 highest truths: 94.0, 93.0, 92.5
    assert q.top_k == 3
    assert q.top_kendall_tau_b == pytest.approx(stats.kendalltau(scores[top], truth[top]).statistic)
    assert q.top_kendall_tau_b == pytest.approx(-1 / 3)  # 58 > 52 agrees; 60 above both disagrees twice
    # the supernet's favourite (score 60) has truth 92.5; the best is 94.0
    assert (q.pick_truth, q.pick_ties, q.best_truth) == (92.5, 1, 94.0)
    assert q.regret == pytest.approx(1.5)
    assert q.mean_truth == pytest.approx(truth.mean())


def test_regret_is_the_mean_over_tied_favourites_and_failures_are_left_out() -> None:
    scores = [10.0, 30.0, 30.0, math.nan, 5.0]
    truth = [90.0, 80.0, 92.0, 99.0, 94.0]
    q = rank_quality(scores, truth)
    assert q.n == 4 and q.left_out == 1  # the failed evaluation (NaN score) is not a pair
    assert q.best_truth == 94.0  # not the left-out 99
    assert q.pick_ties == 2 and q.pick_truth == pytest.approx(86.0)
    assert q.regret == pytest.approx(8.0)
    assert q.top_k == 2  # at least two architectures, so that a tau exists


def test_rank_quality_refuses_bad_input() -> None:
    with pytest.raises(ConfigError, match="one length"):
        rank_quality([1.0, 2.0], [1.0])
    with pytest.raises(ConfigError, match="top_fraction"):
        rank_quality([1.0, 2.0], [1.0, 2.0], top_fraction=0)
    with pytest.raises(ConfigError, match="finite"):
        rank_quality([math.nan], [1.0])


def test_sample_is_uniform_distinct_seeded_and_truth_may_be_a_mapping() -> None:
    space = NB201Space()
    a = sample_architectures(space, 40, np.random.default_rng(3))
    assert len(set(a)) == 40 and a == sample_architectures(space, 40, np.random.default_rng(3))
    assert a != sample_architectures(space, 40, np.random.default_rng(4))
    truth = {arch: float(i) for i, arch in enumerate(a)}
    q = measure(lambda arch: -truth[arch], truth, a)  # a perfectly reversed ranking
    assert q.kendall_tau_b == pytest.approx(-1.0) and q.regret == pytest.approx(39.0)
    with pytest.raises(ConfigError, match="at least 2"):
        sample_architectures(space, 1, np.random.default_rng(0))


# ---- at the end of a run -------------------------------------------------------------------------
@pytest.fixture(scope="module")
def oracle() -> SupernetOracle:
    return SupernetOracle(**TINY, quality_sample=20, quality_seed=5)


def test_end_of_run_records_quality_with_budget_and_leaves_the_trajectory_alone(oracle) -> None:
    okw = {**TINY, "quality_sample": 20, "quality_seed": 5}
    cfg = RunConfig("darts", {"batch_size": 16}, "supernet", okw,
                    0, Budget(max_evals=1000))
    result = run(cfg, oracle)
    assert result.ok, result.error
    q = result.meta["oracle_measures"]["supernet_quality"]
    assert q["n"] == 20
    assert q["sample"] == {"size": 20, "distinct": 20, "seed": 5, "draw": "uniform, distinct"}
    b = q["budget"]
    assert (b["method"], b["epochs"], b["channels"], b["cells"], b["weight_images"], b["score_images"]) == \
        ("darts", 2, 4, 1, 48, 32)
    shared = result.trajectory[result.trajectory[S.KIND] == "shared"]
    assert b["seconds"] == pytest.approx(float(shared[S.COST].sum()))
    assert "NB201 200-epoch test accuracy" in q["truth"]
    # recomputed directly: the same sample scored on the supernet as the run left it, vs the table
    archs = sample_architectures(oracle.space, 20, np.random.default_rng(5))
    scores = [oracle.search.score(a) for a in archs]
    truth = [oracle.final_metric(a) for a in archs]
    assert q["kendall_tau_b"] == pytest.approx(stats.kendalltau(scores, truth).statistic, nan_ok=True)
    assert q["regret"] == pytest.approx(rank_quality(scores, truth).regret)
    # a later run on the same oracle that trains no supernet is not given this run's figures
    later = run(RunConfig("random", {}, "supernet", okw, 1, Budget(max_evals=3)), oracle)
    assert later.ok and "oracle_measures" not in later.meta
    # off by default: no record, and the same search (archs, scores) as with the measurement on
    plain = run(RunConfig("darts", {"batch_size": 16}, "supernet", TINY, 0, Budget(max_evals=1000)),
                SupernetOracle(**TINY))
    assert "oracle_measures" not in plain.meta
    cols = [S.ARCH, S.FIDELITY, S.SCORE, S.INC_ARCH, S.INC_FINAL]
    assert plain.trajectory[cols].equals(result.trajectory[cols])


def test_quality_sample_must_be_off_or_at_least_two() -> None:
    with pytest.raises(ConfigError, match="quality_sample"):
        SupernetOracle(**TINY, quality_sample=1)


# ---- the command and the report ------------------------------------------------------------------
@pytest.fixture(scope="module")
def study(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("sq") / "study"
    args = ["run", "--strategies", "darts,rsps", "--oracle", "supernet", "--seeds", "0-1", "--budget-evals",
            "1000", "--out", str(out), "--jobs", "1", "--no-progress",
            "--strategy-arg", "darts.batch_size=16",
            "--strategy-arg", "rsps.batch_size=16", "--strategy-arg", "rsps.candidates=4",
            "--oracle-arg", "quality_sample=12"]
    for k, v in TINY.items():
        args += ["--oracle-arg", f"{k}={v}"]
    assert cli.main(args) == 0
    return out


def test_command_prints_seed_means_and_every_run(study: Path, capsys, tmp_path: Path) -> None:
    assert cli.main(["supernet-quality", str(study), "--csv", str(tmp_path / "q.csv")]) == 0
    text = capsys.readouterr().out
    assert "Over 12 architectures drawn uniformly" in text and "NB201 200-epoch test accuracy" in text
    assert "C=4, N=1, 2 epoch(s)" in text
    means = text.split("Seed means per method:")[1].split("Per run:")[0]
    assert "| darts | 2 |" in means and "| rsps | 2 |" in means
    runs = text.split("Per run:")[1]
    for name in ("darts", "rsps"):
        for seed in (0, 1):
            assert f"| {name} | {seed} |" in runs
    assert "parameter-free" in text and "| darts | 2 |" in text.split("per epoch")[-1]
    per_run = load_study(study).meta
    taus = [m["oracle_measures"]["supernet_quality"]["kendall_tau_b"] for m in per_run
            if m["config"]["strategy"] == "darts"]
    assert f"{np.nanmean(taus):+.3f}" in means  # the seed mean of the recorded figures
    assert (tmp_path / "q.csv").read_text().count("\n") == 5  # header + 4 runs


def test_command_refuses_a_bad_folder_in_one_line(tmp_path: Path, capsys) -> None:
    assert cli.main(["supernet-quality", str(tmp_path / "missing")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "is not a folder" in err
    assert cli.main(["supernet-quality", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "no finished runs" in err


def test_command_says_how_to_record_it_when_a_study_lacks_it(tmp_path: Path, capsys) -> None:
    out = tmp_path / "tab"
    assert cli.main(["run", "--strategies", "random", "--oracle", "nb201-lite", "--seeds", "0",
                     "--budget-evals", "5", "--out", str(out), "--jobs", "1", "--no-progress"]) == 0
    capsys.readouterr()
    assert cli.main(["supernet-quality", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "not the supernet oracle" in err


def test_report_has_the_section_for_a_supernet_study_only(study: Path, tmp_path: Path) -> None:
    paths = write_report(study, tmp_path / "r", n_boot=20)
    md = paths["report.md"].read_text()
    assert "## How good is the supernet (one-shot runs)" in md and "### Per seed" in md
    assert "Drift to parameter-free cells" in md and "figures/supernet_param_free.png" in md
    assert paths["supernet_quality.csv"].exists() and paths["figures/supernet_param_free.png"].exists()
    assert "How good is the supernet" in paths["report.html"].read_text()
    tab = tmp_path / "tab"
    assert cli.main(["run", "--strategies", "random", "--oracle", "nb201-lite", "--seeds", "0-1",
                     "--budget-evals", "5", "--out", str(tab), "--jobs", "1", "--no-progress"]) == 0
    plain = write_report(tab, tmp_path / "plain", n_boot=20)
    assert "supernet" not in plain["report.md"].read_text().lower()
    assert "supernet_quality.csv" not in plain


def _meta(strategy: str, seed: int, cells: list[tuple[float, float]]) -> dict:
    per_epoch = [{"epoch": i + 1, "param_free_share": pf, "skip_share": sk}
                 for i, (pf, sk) in enumerate(cells)]
    return {"run_id": f"{strategy}-{seed}", "status": "ok", "config": {"strategy": strategy, "seed": seed},
            "strategy_config": {"per_epoch": per_epoch}}


def test_drift_flags_a_skip_collapse_and_not_a_random_looking_cell(tmp_path: Path) -> None:
    meta = [_meta("darts", 0, [(0.5, 0.17), (0.83, 0.67), (1.0, 1.0)]),
            _meta("darts", 1, [(0.5, 0.0), (0.67, 0.5), (0.83, 0.83)]),
            _meta("rsps", 0, [(0.67, 0.17), (0.5, 0.17), (0.67, 0.33)]),
            {"run_id": "bad", "status": "failed", "config": {"strategy": "gdas"},
             "strategy_config": {"per_epoch": [{"epoch": 1, "param_free_share": 1.0, "skip_share": 1.0}]}}]
    summary = drift_summary(drift_runs(meta)).set_index("strategy")
    assert list(summary.index) == ["darts", "rsps"]  # the failed run is left out
    assert summary.loc["darts", "param-free, last epoch"] == pytest.approx(0.915)
    assert summary.loc["darts", "runs ending all skip"] == 1 and bool(summary.loc["darts", "flagged"])
    assert not bool(summary.loc["rsps", "flagged"])
    sentence = drift_sentence(summary.reset_index())
    assert "**darts** drifted to parameter-free cells" in sentence and "rsps" not in sentence
    blocks = supernet_blocks(meta, tmp_path, {})
    kinds = [k for k, _ in blocks]
    assert "figure" in kinds and any("quality_sample=100" in str(p) for k, p in blocks if k == "p")
    assert supernet_blocks([{"run_id": "x", "status": "ok", "config": {"strategy": "random"},
                             "strategy_config": {}}], tmp_path, {}) == []
