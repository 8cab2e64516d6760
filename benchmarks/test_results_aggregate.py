"""Aggregation speed on a ``make bench``-sized study (500 runs x 150 evaluations).

Run with ``pytest benchmarks/test_results_aggregate.py --benchmark-enable``. The vectorised step
lookup (:func:`nasarena.results.aggregate.step_values`) is compared with the obvious baseline
measured in the same run: a Python loop over runs with one ``np.searchsorted`` each. The whole
aggregation (per-run table with regret areas, and curves on both axes with 1000-resample bands) is
timed too; the figures go to ``extra_info`` and are printed; nothing asserts on time.
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
import pytest

from nasarena.results import aggregate as A
from nasarena.results import schema as S

N_RUNS, N_EVALS, GRID = 500, 150, 100


@pytest.fixture(scope="module")
def study() -> tuple[pd.DataFrame, pd.DataFrame]:
    """Five strategies x 100 seeds; incumbents improve by random steps, costs 50-150 s."""
    rng = np.random.default_rng(0)
    n = N_RUNS * N_EVALS
    run = np.repeat(np.arange(N_RUNS), N_EVALS)
    final = 85 + np.maximum.accumulate(rng.uniform(0, 6.6, (N_RUNS, N_EVALS)), axis=1).ravel()
    traj = pd.DataFrame({
        S.RUN_ID: [f"r{i:03d}" for i in run], S.STRATEGY: [f"s{i % 5}" for i in run], S.ORACLE: "o",
        S.DATASET: "d", S.N_WORKERS: 1, S.SEED: run // 5,
        S.EVAL_INDEX: np.tile(np.arange(1, N_EVALS + 1), N_RUNS),
        S.TIME: np.cumsum(rng.uniform(50, 150, (N_RUNS, N_EVALS)), axis=1).ravel(),
        S.INC_FINAL: final, S.INC_REGRET: 91.6 - final, S.INC_PARAMS: rng.uniform(0.1, 1.5, n),
    })
    runs = pd.DataFrame({S.RUN_ID: [f"r{i:03d}" for i in range(N_RUNS)],
                         S.STRATEGY: [f"s{i % 5}" for i in range(N_RUNS)], S.ORACLE: "o", S.DATASET: "d",
                         S.SEED: np.arange(N_RUNS) // 5, S.N_WORKERS: 1, "status": "ok",
                         "max_time": 16000.0, "max_evals": np.nan})
    return traj, runs


def _loop_baseline(traj: pd.DataFrame, run_ids: list[str], grid: np.ndarray) -> np.ndarray:
    out = np.full((len(run_ids), len(grid)), np.nan)
    groups = dict(tuple(traj.groupby(S.RUN_ID, sort=False)))
    for i, rid in enumerate(run_ids):
        g = groups[rid]
        pos = np.searchsorted(g[S.TIME].to_numpy(), grid, side="right") - 1
        vals = g[S.INC_FINAL].to_numpy()
        out[i] = np.where(pos >= 0, vals[np.clip(pos, 0, None)], np.nan)
    return out


def _best_of(fn, repeat: int = 3) -> float:
    best = np.inf
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def test_step_values_vs_per_run_loop(benchmark, study):
    traj, runs = study
    traj = A.sorted_trajectories(traj)
    ids = runs[S.RUN_ID].tolist()
    grid = np.geomspace(50, 16000, GRID)
    fast = A.step_values(traj, ids, grid, "time", [S.INC_FINAL])[S.INC_FINAL]
    np.testing.assert_array_equal(fast, _loop_baseline(traj, ids, grid))  # same answer first
    baseline = _best_of(lambda: _loop_baseline(traj, ids, grid))
    benchmark(A.step_values, traj, ids, grid, "time", [S.INC_FINAL])
    ours = benchmark.stats.stats.min
    benchmark.extra_info.update(baseline_s=baseline, vectorised_s=ours, speedup=baseline / ours)
    print(f"\nstep lookup, {N_RUNS} runs x {GRID} points: loop {baseline * 1e3:.1f} ms, "
          f"vectorised {ours * 1e3:.1f} ms ({baseline / ours:.1f}x)")


def test_full_aggregation(benchmark, study):
    traj, runs = study

    def aggregate() -> None:
        A.run_table(traj, runs)
        A.anytime_curves(traj, runs, np.random.default_rng(0), n_boot=1000, n_points=GRID)

    # Baseline: one pass that reads every row (what any aggregation must at least do).
    baseline = _best_of(lambda: traj.groupby(S.RUN_ID)[[S.INC_FINAL, S.INC_REGRET]].last())
    benchmark.pedantic(aggregate, rounds=3, iterations=1)
    ours = benchmark.stats.stats.min
    benchmark.extra_info.update(baseline_s=baseline, aggregate_s=ours, ratio=ours / baseline)
    print(f"\nfull aggregation of {N_RUNS} runs x {N_EVALS} evals: {ours:.2f} s "
          f"({ours / baseline:.0f}x one groupby pass of {baseline * 1e3:.1f} ms)")
