"""Aggregation: step semantics, undefined starts, bands, regret areas and per-run tables."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from nasarena.errors import ConfigError, DataError
from nasarena.results import aggregate as A
from nasarena.results import schema as S


def _traj(run_id: str, times, finals, regrets=None, params=None, evals=None, strategy="s") -> pd.DataFrame:
    n = len(times)
    finals = np.asarray(finals, float)
    return pd.DataFrame({
        S.RUN_ID: run_id, S.STRATEGY: strategy, S.ORACLE: "o", S.DATASET: "d", S.SEED: 0, S.N_WORKERS: 1,
        S.EVAL_INDEX: evals if evals is not None else np.arange(1, n + 1), S.TIME: np.asarray(times, float),
        S.INC_FINAL: finals, S.INC_REGRET: regrets if regrets is not None else 100 - finals,
        S.INC_PARAMS: params if params is not None else np.ones(n), S.INC_SCORE: finals,
    })


def _runs(*rows: tuple) -> pd.DataFrame:
    """rows: (run_id, strategy, status, max_time, max_evals)."""
    return pd.DataFrame([{S.RUN_ID: r, S.STRATEGY: s, S.ORACLE: "o", S.DATASET: "d", S.SEED: i,
                          S.N_WORKERS: 1, "status": st, "max_time": mt, "max_evals": me}
                         for i, (r, s, st, mt, me) in enumerate(rows)])


def test_step_semantics_last_row_at_or_before_and_nan_before_first():
    traj = A.sorted_trajectories(pd.concat([
        _traj("a", [10, 20, 30], [80, 85, 86]),
        # a failed first evaluation: no incumbent yet at t=5; a tie at t=40 resolved by eval order
        _traj("b", [5, 15, 40, 40], [np.nan, 70, 75, 77]),
    ]))
    grid = np.array([1, 5, 10, 15, 19.999, 20, 35, 40, 100])
    vals = A.step_values(traj, ["a", "b"], grid, "time", [S.INC_FINAL])[S.INC_FINAL]
    nan = np.nan
    np.testing.assert_array_equal(vals[0], [nan, nan, 80, 80, 80, 85, 86, 86, 86])
    np.testing.assert_array_equal(vals[1], [nan, nan, nan, 70, 70, 70, 70, 77, 77])
    # Any row order and a categorical run_id (with a category not asked for) give the same answer.
    shuffled = traj.sample(frac=1.0, random_state=0)
    shuffled[S.RUN_ID] = pd.Categorical(shuffled[S.RUN_ID], categories=["x", "b", "a"])
    again = A.step_values(shuffled, ["a", "b"], grid, "time", [S.INC_FINAL])[S.INC_FINAL]
    np.testing.assert_array_equal(again, vals)


def test_step_semantics_on_evaluations_carries_forward():
    traj = A.sorted_trajectories(_traj("a", [3, 1, 2], [2, 5, 7], evals=[3, 1, 2]))
    vals = A.step_values(traj, ["a", "zzz"], np.arange(1, 6), "evals", [S.INC_FINAL])[S.INC_FINAL]
    np.testing.assert_array_equal(vals[0], [5, 7, 2, 2, 2])
    assert np.isnan(vals[1]).all()  # a run without rows is undefined everywhere


def test_curves_hand_computed_and_coverage_rule():
    traj = pd.concat([_traj("a", [10, 20], [80, 90]), _traj("b", [15, 30], [70, 72])])
    runs = _runs(("a", "s", "ok", 40.0, None), ("b", "s", "ok", 40.0, None))
    rng = np.random.default_rng(0)
    c = A.anytime_curves(traj, runs, rng, axes=("time",), n_points=50, metrics=(S.INC_FINAL,), n_boot=200)
    assert c["x"].iloc[0] == pytest.approx(10) and c["x"].iloc[-1] == pytest.approx(40)
    assert np.allclose(np.diff(np.log(c["x"])), np.log(4) / 49)  # log-spaced from the first result
    at = c.set_index("x")
    first = at.iloc[0]
    assert first["n_defined"] == 1 and math.isnan(first["mean"])  # only run a is defined at t=10
    last = at.iloc[-1]
    assert last["mean"] == pytest.approx(81) and last["median"] == pytest.approx(81)
    assert last["q25"] == pytest.approx(76.5) and last["q75"] == pytest.approx(85.5)
    assert last["n_runs"] == 2 and last["n_defined"] == 2
    loose = A.anytime_curves(traj, runs, rng, axes=("time",), n_points=50, metrics=(S.INC_FINAL,),
                             min_coverage=0.5, n_boot=200)
    assert loose["mean"].iloc[0] == pytest.approx(80)


def test_curves_evaluation_grid_and_failed_runs_excluded(small_study):
    traj, runs = small_study
    c = A.anytime_curves(traj, runs, np.random.default_rng(0), axes=("evals",), n_boot=100)
    rein = c[(c[S.STRATEGY] == "reinforce") & (c["metric"] == S.INC_FINAL)]
    np.testing.assert_array_equal(rein["x"], np.arange(1, 41))
    assert (rein["n_runs"] == 10).all()  # 12 seeds, 2 failed
    with pytest.raises(ConfigError):
        A.anytime_curves(traj, runs, np.random.default_rng(0), min_coverage=0)


def test_bands_contain_the_mean_and_iqr_the_median(small_study):
    traj, runs = small_study
    c = A.anytime_curves(traj, runs, np.random.default_rng(1), n_boot=400).dropna(subset=["mean"])
    assert len(c) > 100
    assert (c["ci_low"] <= c["mean"] + 1e-12).all() and (c["mean"] <= c["ci_high"] + 1e-12).all()
    assert (c["q25"] <= c["median"]).all() and (c["median"] <= c["q75"]).all()
    assert (c["ci_high"] > c["ci_low"]).mean() > 0.9  # bands are not degenerate
    again = A.anytime_curves(traj, runs, np.random.default_rng(1), n_boot=400).dropna(subset=["mean"])
    pd.testing.assert_frame_equal(c, again)  # the caller's generator makes it reproducible


def test_bootstrap_band_agrees_with_scipy_percentile_bootstrap():
    rng = np.random.default_rng(3)
    x = rng.gamma(2.0, 1.0, size=(40, 1))
    lo, hi = A.bootstrap_mean_band(x, 4000, np.random.default_rng(4))
    ref = stats.bootstrap((x[:, 0],), np.mean, n_resamples=4000, method="percentile",
                          rng=np.random.default_rng(5)).confidence_interval
    se = x.std() / np.sqrt(len(x))
    assert abs(lo[0] - ref.low) < 0.25 * se and abs(hi[0] - ref.high) < 0.25 * se


def test_bootstrap_band_ignores_undefined_cells():
    x = np.array([[1.0, np.nan], [3.0, 5.0], [5.0, np.nan], [7.0, 6.0]])
    lo, hi = A.bootstrap_mean_band(x, 500, np.random.default_rng(0))
    assert 1 <= lo[0] <= 4 <= hi[0] <= 7
    assert lo[1] >= 5.0 and hi[1] <= 6.0  # resamples' undefined runs are dropped, not averaged as 0


def test_no_band_from_a_single_run():
    x = np.array([[1.0, np.nan, 2.0], [np.nan, np.nan, 4.0]])
    lo, hi = A.bootstrap_mean_band(x, 200, np.random.default_rng(0))
    assert np.isnan(lo[:2]).all() and np.isnan(hi[:2]).all()  # one run (or none): no "95% band"
    assert 2.0 <= lo[2] <= hi[2] <= 4.0
    traj = _traj("a", [10, 20], [80, 90])
    c = A.anytime_curves(traj, _runs(("a", "s", "ok", 40.0, None)), np.random.default_rng(0), n_boot=50)
    assert c["mean"].notna().any() and c["ci_low"].isna().all() and c["ci_high"].isna().all()


def test_evaluation_curves_stop_where_runs_stop():
    # A time budget: run a stopped after 3 evaluations, run b after 5. On the evaluations axis the
    # curve ends at 3 (no made-up values for a at 4 and 5); on the time axis both go to the budget.
    traj = pd.concat([_traj("a", [10, 20, 30], [80, 85, 86]),
                      _traj("b", [5, 10, 15, 20, 25], [70, 75, 76, 77, 78])])
    runs = _runs(("a", "s", "ok", 40.0, None), ("b", "s", "ok", 40.0, None))
    c = A.anytime_curves(traj, runs, np.random.default_rng(0), n_boot=50, metrics=(S.INC_FINAL,))
    ev = c[c["axis"] == "evals"].set_index("x")
    assert list(ev.index) == [1, 2, 3, 4, 5]
    assert ev.loc[3, "mean"] == pytest.approx(81) and ev.loc[[4, 5], "mean"].isna().all()
    assert list(ev.loc[[4, 5], "n_defined"]) == [1, 1]
    assert ev["run_end_min"].iloc[0] == 3 and ev["run_end_max"].iloc[0] == 5
    tm = c[c["axis"] == "time"]
    assert tm["x"].iloc[-1] == pytest.approx(40) and tm["mean"].iloc[-1] == pytest.approx(82)


def test_regret_auc_of_known_step_curves():
    traj = A.sorted_trajectories(pd.concat([
        _traj("t", [10, 40, 70], [0, 0, 0], regrets=[4, 2, 1]),
        _traj("e", [1, 2, 3], [0, 0, 0], regrets=[4, 2, 1]),
    ]))
    runs = _runs(("t", "s", "ok", 100.0, None), ("e", "s", "ok", None, 5))
    budget = A.budgets(runs, traj)
    assert budget.loc["e", "budget_time"] == 3 and budget.loc["t", "budget_evals"] == 3
    auc_t = A.regret_auc(traj, budget, "time")
    assert auc_t["t"] == pytest.approx((4 * 30 + 2 * 30 + 1 * 30) / 90)
    auc_e = A.regret_auc(traj, budget, "evals")
    assert auc_e["e"] == pytest.approx((4 + 2 + 1 + 1 + 1) / 5)  # carried to the 5-evaluation budget
    assert auc_e["t"] == pytest.approx((4 + 2 + 1) / 3)
    log_t = A.regret_auc(traj, budget, "time", scale="log")
    expect = (4 * np.log(4) + 2 * np.log(70 / 40) + 1 * np.log(100 / 70)) / np.log(10)
    assert log_t["t"] == pytest.approx(expect)
    with pytest.raises(ConfigError):
        A.regret_auc(traj, budget, "time", scale="sqrt")


def test_regret_auc_zero_when_optimum_found_and_skips_undefined_start():
    traj = A.sorted_trajectories(_traj("z", [5, 10, 50], [np.nan, 0, 0], regrets=[np.nan, 0.0, 0.0]))
    budget = A.budgets(_runs(("z", "s", "ok", 60.0, None)), traj)
    assert A.regret_auc(traj, budget, "time")["z"] == 0.0


def test_run_table_finals_failures_and_summary(small_study):
    traj, runs = small_study
    table = A.run_table(traj, runs)
    assert len(table) == len(runs) and table["failed"].sum() == 2
    one = table.set_index(S.RUN_ID).loc["random-s3"]
    rows = traj[traj[S.RUN_ID] == "random-s3"].sort_values(S.EVAL_INDEX)
    assert one["final"] == rows[S.INC_FINAL].iloc[-1] and one["final_params"] == rows[S.INC_PARAMS].iloc[-1]
    assert one["evals"] == 40 and one["budget_evals"] == 40
    defined = rows[rows[S.INC_FINAL].notna()]
    expect = defined[S.INC_REGRET].sum() / (41 - defined[S.EVAL_INDEX].iloc[0])  # each eval counts 1
    assert one["auc_evals"] == pytest.approx(expect)
    summary = A.strategy_summary(table).set_index(S.STRATEGY)
    assert summary.loc["reinforce", "n_runs"] == 12 and summary.loc["reinforce", "n_failed"] == 2
    ok = table[(table[S.STRATEGY] == "reinforce") & ~table["failed"]]
    assert summary.loc["reinforce", "final_mean"] == pytest.approx(ok["final"].mean())
    assert summary.loc["reinforce", "final_sd"] == pytest.approx(ok["final"].std())


def test_summary_of_a_strategy_whose_runs_all_failed(small_study):
    traj, runs = small_study
    runs = runs.assign(status=np.where(runs[S.STRATEGY] == "random", "failed", runs["status"]))
    summary = A.strategy_summary(A.run_table(traj, runs)).set_index(S.STRATEGY)
    assert summary.loc["random", "n_ok"] == 0 and np.isnan(summary.loc["random", "final_mean"])
    everything_failed = A.strategy_summary(A.run_table(traj, runs.assign(status="failed")))
    assert (everything_failed["n_ok"] == 0).all() and everything_failed["final_mean"].isna().all()


def test_missing_columns_raise_a_helpful_error(small_study):
    traj, runs = small_study
    with pytest.raises(DataError, match="incumbent_regret"):
        A.run_table(traj.drop(columns=[S.INC_REGRET]), runs)


def test_settings_are_never_mixed(small_study):
    traj, runs = small_study
    other = {S.DATASET: "toy2", S.RUN_ID: lambda d: d[S.RUN_ID] + "-b"}
    traj2 = pd.concat([traj, traj.assign(**other).assign(**{S.TIME: lambda d: d[S.TIME] * 10})])
    runs2 = pd.concat([runs, runs.assign(**other)], ignore_index=True)
    c = A.anytime_curves(traj2, runs2, np.random.default_rng(0), axes=("time",), n_boot=100)
    grids = c.groupby(S.DATASET)["x"].max()
    assert grids["toy2"] == pytest.approx(10 * grids["toy"])  # each setting has its own time grid
    assert set(c.groupby([S.DATASET, S.STRATEGY])["n_runs"].first()) == {12, 10}
    table = A.run_table(traj2, runs2)
    summary = A.strategy_summary(table)
    assert len(summary) == 8 and (summary.groupby(S.DATASET)["n_runs"].sum() == 48).all()
