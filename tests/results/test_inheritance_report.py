"""Issue 13's report section: warm-start shares by kind, seconds, time to reach, tests, ranking bias."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from nasarena.bench.config import Budget, RunConfig
from nasarena.bench.runner import run
from nasarena.results import schema as S
from nasarena.results.inheritance_ranking import BENCHMARK_FILE, BENCHMARK_FORMAT
from nasarena.results.report import write_report
from nasarena.results.stats import tost
from nasarena.results.store import load_study, write_run

FAKES = Path(__file__).with_name("_inherit_fakes.py")
ORACLE = f"{FAKES}:WarmOracle"
OLD_STUDY = Path(__file__).parent / "data" / "old_format_study"
SEEDS = (0, 1, 2)
RE = ("regularized-evolution", {"population_size": 3, "sample_size": 2, "warm_start": True})
RANDOM = ("random", {})


@pytest.fixture(scope="module")
def warm_study(tmp_path_factory) -> Path:
    """Regularized evolution with warm starts beside random search, 3 seeds, on the fake oracle."""
    out = tmp_path_factory.mktemp("warm_study")
    for name, kwargs in (RE, RANDOM):
        for seed in SEEDS:
            res = run(RunConfig(name, kwargs, ORACLE, {}, seed, Budget(max_evals=14)))
            assert res.ok, res.error
            write_run(out, res)
    return out


@pytest.fixture(scope="module")
def report(warm_study, tmp_path_factory) -> tuple[dict[str, Path], str]:
    with pytest.MonkeyPatch.context() as mp:  # the report's own figures are tested elsewhere
        mp.setattr("nasarena.results.report.make_figures", lambda *a, **k: {})
        paths = write_report(warm_study, tmp_path_factory.mktemp("report"), n_boot=50, margin=1.0)
    return paths, paths["report.md"].read_text(encoding="utf-8")


def test_the_runner_records_each_warm_starts_morphism_kind(warm_study):
    from nasarena.spaces.morphisms import kind_of
    from nasarena.spaces.nb201 import NB201Space

    traj = load_study(warm_study).trajectories
    space = NB201Space()
    re_rows = traj[traj[S.STRATEGY] == "regularized-evolution"]
    warm = re_rows[re_rows[S.KIND] == "warm-start"]
    assert len(warm) > 10 and (traj.loc[traj[S.KIND] != "warm-start", S.MORPHISM] == "").all()
    for _, row in warm.iterrows():
        run_rows = re_rows[re_rows[S.RUN_ID] == row[S.RUN_ID]]
        parent = run_rows.loc[run_rows[S.PROPOSAL_ID] == row[S.PARENT_ID], S.ARCH].item()
        assert row[S.MORPHISM] == kind_of(space, space.from_string(parent), space.from_string(row[S.ARCH]))


def test_section_numbers_match_a_direct_computation(warm_study, report):
    paths, md = report
    assert "## Inheritance (warm starts)" in md and "inheritance_accuracy_vs_training" in md
    traj = load_study(warm_study).trajectories
    shown = pd.read_csv(paths["inheritance.csv"]).set_index(S.STRATEGY)
    for name in ("regularized-evolution", "random"):
        runs = [g for _, g in traj[traj[S.STRATEGY] == name].groupby(S.RUN_ID)]
        warm = [100 * (g[S.KIND] == "warm-start").mean() for g in runs]
        assert shown.loc[name, "warm starts (% of evaluations)"] == pytest.approx(np.mean(warm))
        for kind in ("exact", "approximate", "lamarckian"):
            share = [100 * ((g[S.KIND] == "warm-start") & (g[S.MORPHISM] == kind)).mean() for g in runs]
            assert shown.loc[name, f"{kind} (%)"] == pytest.approx(np.mean(share))
        assert shown.loc[name, "s per fresh evaluation"] == pytest.approx(5.0)
    assert shown.loc["regularized-evolution", "s per warm start"] == pytest.approx(2.0)
    assert np.isnan(shown.loc["random", "s per warm start"])
    assert shown.loc["regularized-evolution", "warm starts (% of evaluations)"] > 50


def _time_to_reach(traj: pd.DataFrame, name: str, column: str, target: float) -> float:
    """Brute force: the seed-mean incumbent value at every cumulative-cost point, first >= target."""
    runs = [g.sort_values(S.EVAL_INDEX) for _, g in traj[traj[S.STRATEGY] == name].groupby(S.RUN_ID)]
    points = sorted({t for g in runs for t in g[S.COST].cumsum()})
    for t in points:
        values = []
        for g in runs:
            done = g[g[S.COST].cumsum() <= t]
            values.append(done[column].iloc[-1] if len(done) else np.nan)
        if np.mean(values) >= target - 1e-9:
            return t
    return float("inf")


def test_time_to_reach_and_tests_match_a_direct_computation(warm_study, report):
    paths, md = report
    traj = load_study(warm_study).trajectories
    last = traj.sort_values(S.EVAL_INDEX).groupby(S.RUN_ID).tail(1)
    shown = pd.read_csv(paths["inheritance_comparison.csv"]).set_index("quantity")
    for column, quantity in ((S.INC_SCORE, "final_score"), (S.INC_FINAL, "final")):
        by = {n: last[last[S.STRATEGY] == n].sort_values(S.SEED)[column].to_numpy(float)
              for n in ("regularized-evolution", "random")}
        target = by["random"].mean()
        row = shown.loc[quantity]
        assert row["warm"] == "regularized-evolution" and row["from scratch"] == "random"
        assert row["target"] == pytest.approx(target) and row["design"] == "paired"
        assert row["seconds_warm"] == _time_to_reach(traj, "regularized-evolution", column, target)
        assert row["seconds_scratch"] == _time_to_reach(traj, "random", column, target)
        assert row["p_tost"] == pytest.approx(tost(by["regularized-evolution"], by["random"], 1.0,
                                                   paired=True).p_value)
        assert row["diff"] == pytest.approx(np.mean(by["regularized-evolution"] - by["random"]))
    assert "goal <= 0.5" in md or "never reached" in md


def _blocks(study_dir: Path, study=None) -> list:
    from nasarena.results.aggregate import run_table
    from nasarena.results.inheritance import inheritance_blocks

    study = study or load_study(study_dir)
    table = run_table(study.trajectories, study.runs)
    return inheritance_blocks(study, table, study_dir, study_dir, {}, np.random.default_rng(0), 1.0, 0.05)


def test_a_study_without_warm_starts_has_no_section_and_an_old_one_none_either(tmp_path):
    out = tmp_path / "random"
    for seed in (0, 1):
        write_run(out, run(RunConfig("random", {}, ORACLE, {}, seed, Budget(max_evals=5))))
    assert _blocks(out) == []
    old = load_study(OLD_STUDY)  # the full old-study report: tests/bench/test_lineage.py
    assert (old.trajectories[S.MORPHISM] == "").all() and _blocks(OLD_STUDY, old) == []


def _benchmark_record(n: int = 6) -> dict:
    rng = np.random.default_rng(0)
    kids = []
    for i in range(n):
        scratch = rng.normal(30, 3, 3).cumsum() / np.arange(1, 4) + 5 * np.arange(3)
        warm = scratch + 20
        kids.append({"child": f"c{i}", "parent": f"p{i}", "kind": ("exact", "lamarckian")[i % 2],
                     "scratch": float(scratch[-1]), "warm": float(warm[-1]),
                     "scratch1": float(scratch[0] + rng.normal()), "warm1": float(scratch[0] + rng.normal()),
                     "curve_scratch": scratch.tolist(), "curve_warm": warm.tolist(),
                     "seconds_scratch": [2.0, 2.0, 2.0], "seconds_warm": [2.0, 2.0, 2.0],
                     "seconds_warm1": 1.5, "table": None})
    return {"format": BENCHMARK_FORMAT, "space": "nb201", "margin": 2.0, "dataset": "synthetic", "epochs": 3,
            "fidelity": "epochs=3", "children": kids}


def test_the_benchmarks_record_beside_a_study_renders_ranking_and_ratios(tmp_path):
    from scipy import stats

    from nasarena.errors import DataError
    from nasarena.results.inheritance_ranking import benchmark_blocks

    data = _benchmark_record()
    (tmp_path / BENCHMARK_FILE).write_text(json.dumps(data), encoding="utf-8")
    blocks = benchmark_blocks(tmp_path)
    lines = next(payload for kind, payload in blocks if kind == "list")
    text = "\n".join(lines)
    kids = data["children"]
    tau = stats.kendalltau([c["warm1"] for c in kids], [c["scratch"] for c in kids]).statistic
    assert f"1-epoch warm start vs long from scratch: {tau:+.3f}" in text
    # warm curves are 20 points above scratch: their first epoch reaches the final (2 s / 6 s); the
    # 1-epoch warm arm never does
    assert "median 0.33; <= 0.5 (the goal) for 6/6 children" in text
    assert "warm − scratch +20.00" in text and "same final accuracy refuted" in text
    (tmp_path / BENCHMARK_FILE).write_text("{", encoding="utf-8")
    with pytest.raises(DataError, match="not readable JSON"):
        benchmark_blocks(tmp_path)


def test_synthetic_study_without_kind_column_has_no_section(small_study, tmp_path):
    from nasarena.results.aggregate import run_table
    from nasarena.results.inheritance import inheritance_blocks

    traj, runs = small_study
    study = SimpleNamespace(trajectories=traj, runs=runs)
    blocks = inheritance_blocks(study, run_table(traj, runs), tmp_path, tmp_path, {},
                                np.random.default_rng(0), 1.0, 0.05)
    assert blocks == []


def test_the_benchmark_script_writes_the_record_the_report_reads(tmp_path, capsys):
    """benchmarks/inheritance.py --out at a tiny live fidelity: its record renders, with its numbers."""
    import runpy

    script = Path(__file__).parents[2] / "benchmarks" / "inheritance.py"
    main = runpy.run_path(str(script))["main"]
    assert main(["--n-children", "2", "--epochs", "2", "--size", "channels=4,cells=1", "--train", "64",
                 "--eval", "16", "--batch", "32", "--out", str(tmp_path)]) == 0
    printed = capsys.readouterr().out
    from nasarena.results.inheritance_ranking import benchmark_blocks

    lines = next(payload for kind, payload in benchmark_blocks(tmp_path) if kind == "list")
    assert len(lines) >= 5 and all(f"- {line}" in printed for line in lines)  # the same numbers
    record = json.loads((tmp_path / BENCHMARK_FILE).read_text(encoding="utf-8"))
    assert len(record["children"]) == 2 and len(record["children"][0]["curve_warm"]) == 2


def test_warm_starts_stored_before_the_morphism_column_are_counted_as_not_recorded(warm_study):
    from nasarena.results.aggregate import run_table
    from nasarena.results.inheritance import per_run, warm_table

    study = load_study(warm_study)
    traj = study.trajectories.assign(**{S.MORPHISM: ""})
    shown = warm_table(per_run(traj, run_table(traj, study.runs))).set_index(S.STRATEGY)
    re_row = shown.loc["regularized-evolution"]
    assert re_row["kind not recorded (%)"] == pytest.approx(re_row["warm starts (% of evaluations)"])
    assert re_row["exact (%)"] == re_row["approximate (%)"] == re_row["lamarckian (%)"] == 0
