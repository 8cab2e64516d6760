"""Synthetic studies for the results tests: trajectories and runs tables that follow the schema.

The simulator mimics a search on a table: each evaluation draws an architecture whose held-out final
metric falls short of the space's best by an exponential gap (smaller for a "skilful" strategy and
shrinking with the evaluation index for a learning one), the search signal is that metric plus noise,
and the incumbent is the best *observed* signal so far, as the runner records it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pytest

from nasarena.results import schema as S

BEST = 91.6


@dataclass(frozen=True)
class SimStrategy:
    """How a synthetic strategy behaves: mean gap to the best (pp), learning rate, params mean (M)."""

    gap: float = 2.0
    learn: float = 0.0
    params: float = 0.8


def simulate_run(run_id: str, strategy: str, seed: int, sim: SimStrategy, n_evals: int,
                 rng: np.random.Generator, max_time: float | None = None, oracle: str = "sim",
                 dataset: str = "toy") -> pd.DataFrame:
    """One run's trajectory (n_workers=1, costs 50-150 s); truncated at ``max_time`` if given."""
    k = np.arange(1, n_evals + 1)
    gap = rng.exponential(sim.gap / (1 + sim.learn * k / n_evals))
    final = BEST - gap
    score = final + rng.normal(0, 0.3, n_evals)
    params = np.clip(rng.normal(sim.params, 0.3, n_evals), 0.05, None)
    time = np.cumsum(rng.uniform(50, 150, n_evals))
    ok = rng.random(n_evals) > 0.05
    score = np.where(ok, score, np.nan)
    masked = np.where(ok, score, -np.inf)
    best_idx = np.maximum.accumulate(np.where(masked == np.maximum.accumulate(masked), k - 1, 0))
    has_inc = np.maximum.accumulate(ok)
    inc_final = np.where(has_inc, final[best_idx], np.nan)
    df = pd.DataFrame({
        S.RUN_ID: run_id, S.STRATEGY: strategy, S.ORACLE: oracle, S.DATASET: dataset, S.SEED: seed,
        S.N_WORKERS: 1, S.EVAL_INDEX: k, S.TIME: time, S.WORKER: 0,
        S.ARCH: [f"a{i}" for i in rng.integers(0, 10**6, n_evals)], S.FIDELITY: "epochs=200",
        S.SCORE: score, S.COST: np.diff(time, prepend=0.0), S.PARAMS: np.where(ok, params, np.nan),
        S.FLOPS: params * 100, S.OK: ok, S.INC_ARCH: "x",
        S.INC_SCORE: np.where(has_inc, score[best_idx], np.nan),
        S.INC_FINAL: inc_final, S.INC_REGRET: BEST - inc_final,
        S.INC_PARAMS: np.where(has_inc, params[best_idx], np.nan),
    })
    if max_time is not None:
        df = df[df[S.TIME] <= max_time]
    return df


def simulate_study(strategies: dict[str, SimStrategy], n_seeds: int, n_evals: int = 40, seed: int = 0,
                   max_time: float | None = None, failed: dict[str, int] | None = None,
                   ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(trajectories, runs) for every strategy x seed; ``failed[name]`` runs of a strategy fail."""
    rng = np.random.default_rng(seed)
    trajs, rows = [], []
    for name, sim in strategies.items():
        n_fail = (failed or {}).get(name, 0)
        for s in range(n_seeds):
            run_id = f"{name}-s{s}"
            bad = s < n_fail
            traj = simulate_run(run_id, name, s, sim, n_evals, rng, max_time)
            if bad:  # like the runner: a failed run keeps the rows finished before it failed
                traj = traj.iloc[: 3]
            trajs.append(traj)
            rows.append({S.RUN_ID: run_id, S.STRATEGY: name, S.ORACLE: "sim", S.DATASET: "toy", S.SEED: s,
                         S.N_WORKERS: 1, "status": "failed" if bad else "ok",
                         "error": "Traceback (most recent call last):\nValueError: boom <b>" if bad else None,
                         "max_time": max_time, "max_evals": None if max_time else n_evals,
                         "best_final": BEST, "search_metric": "valid_acc_200ep_one_seed",
                         "final_metric": "valid_acc_200ep_seed_mean", "n_evals": len(traj),
                         "wall_seconds": 0.5, "config": "{}"})
    return pd.concat(trajs, ignore_index=True), pd.DataFrame(rows)


@pytest.fixture(scope="session")
def small_study() -> tuple[pd.DataFrame, pd.DataFrame]:
    """Four strategies x 12 seeds x 40 evaluations, two failed runs of reinforce."""
    return simulate_study({"random": SimStrategy(2.0), "regularized-evolution": SimStrategy(1.0, 3.0, 0.6),
                           "reinforce": SimStrategy(1.6, 3.0, 1.0), "evolution": SimStrategy(1.2, 2.0)},
                          n_seeds=12, n_evals=40, seed=1, failed={"reinforce": 2})
