"""Aggregation of a study's trajectories: anytime curves, per-run finals and regret areas.

Inputs are the store's two tables: ``trajectories`` (one row per finished evaluation per run, the
columns of :mod:`nasarena.results.schema`) and ``runs`` (one row per run: identity, status, budget,
metric names). Everything here is vectorised over runs so that a 500-run study aggregates in tens of
milliseconds.

Conventions (the report repeats them, because they change the numbers):

* **Step semantics.** A run's incumbent at abscissa ``x`` (simulated seconds, or number of finished
  evaluations) is the one recorded in its last row with ``x_row <= x`` (ties: the row finished last,
  i.e. the highest ``eval_index``). After its last row a run keeps its incumbent until its budget
  ends on that axis; past that end (its last evaluation, on an axis it has no budget on) it is
  undefined, so a run of a time budget that stopped after 140 evaluations has no value at 150.
* **Before the first incumbent** (no finished successful evaluation yet) the value is undefined
  (NaN). A curve point of a group is reported only when at least ``min_coverage`` of the group's runs
  have an incumbent there (default: all of them), because a mean over the runs that happen to be
  defined early would be biased towards runs whose first evaluation was cheap. ``n_defined`` says how
  many runs were defined at each point.
* **Failed runs** (status not ``"ok"``) are excluded from curves, finals and tests, but counted.
* **Regret area** (``auc_time``, ``auc_evals``): the step curve of the incumbent's regret integrated
  on a *linear* axis from the run's first incumbent to the end of the budget, divided by the length
  of that window. It is therefore the time-averaged (or evaluation-averaged) regret, in the units of
  the final metric (percentage points for accuracies), comparable across budgets: 0 means the
  best architecture of the space was found at once. On the evaluation axis, evaluation ``k`` counts
  for the interval ``[k, k+1)``, so the window is ``k_first .. max_evals``. ``scale="log"`` gives
  the same on a log axis (weighting early progress more).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from nasarena.errors import ConfigError, DataError
from nasarena.results import schema as S

SETTING_KEYS: tuple[str, ...] = (S.ORACLE, S.DATASET, S.N_WORKERS)
"""Columns that define a comparable setting: curves and tests never mix settings."""
GROUP_KEYS: tuple[str, ...] = (*SETTING_KEYS, S.STRATEGY)
OK_STATUSES: frozenset[str] = frozenset({"ok"})
"""Run statuses that count as completed; anything else is a failed run."""
AXES: tuple[str, ...] = ("time", "evals")
_AXIS_COLUMN = {"time": S.TIME, "evals": S.EVAL_INDEX}
_NEEDED_TRAJ = (S.RUN_ID, S.EVAL_INDEX, S.TIME, S.INC_FINAL, S.INC_REGRET, S.INC_PARAMS)
_NEEDED_RUNS = (S.RUN_ID, S.STRATEGY, S.ORACLE, S.DATASET, S.SEED, S.N_WORKERS, "status")


def _require(df: pd.DataFrame, columns: Sequence[str], what: str) -> None:
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise DataError(f"the {what} table lacks columns {missing}; it must follow "
                        f"nasarena.results.schema (load studies with nasarena.results.store.load_study)")


def is_failed(runs: pd.DataFrame) -> pd.Series:
    """Boolean mask of failed runs (status not in :data:`OK_STATUSES`); why: they are counted, not used."""
    return ~runs["status"].astype(str).isin(OK_STATUSES)


def sorted_trajectories(trajectories: pd.DataFrame) -> pd.DataFrame:
    """Rows ordered by run, time, then evaluation index, which step semantics rely on."""
    _require(trajectories, _NEEDED_TRAJ, "trajectories")
    return trajectories.sort_values([S.RUN_ID, S.TIME, S.EVAL_INDEX], kind="stable").reset_index(drop=True)


def budgets(runs: pd.DataFrame, trajectories: pd.DataFrame) -> pd.DataFrame:
    """Per run, the end of its budget on each axis (``budget_time``, ``budget_evals``).

    Why: curves and areas extend to the budget, not to the last evaluation, so a run that stopped
    early (exhausted space, expensive last proposal) keeps its incumbent until the budget ends. A
    run without a time (evaluation) budget ends at its last finished evaluation on that axis.
    """
    last = trajectories.groupby(S.RUN_ID, sort=False).agg(last_time=(S.TIME, "max"),
                                                        last_eval=(S.EVAL_INDEX, "max"))
    out = runs[[S.RUN_ID]].merge(last, left_on=S.RUN_ID, right_index=True, how="left")
    nan = np.full(len(runs), np.nan)
    max_time = pd.to_numeric(runs["max_time"], errors="coerce").to_numpy(float) if "max_time" in runs else nan
    max_evals = (pd.to_numeric(runs["max_evals"], errors="coerce").to_numpy(float)
                 if "max_evals" in runs else nan)
    with np.errstate(invalid="ignore"):
        out["budget_time"] = np.where(max_time > 0, max_time, out["last_time"].to_numpy(float))
        out["budget_evals"] = np.where(max_evals > 0, max_evals, out["last_eval"].to_numpy(float))
    return out.set_index(S.RUN_ID)[["budget_time", "budget_evals"]]


def step_values(traj: pd.DataFrame, run_ids: Sequence[str], grid: np.ndarray, axis: str,
                columns: Sequence[str]) -> dict[str, np.ndarray]:
    """Values of ``columns`` at each grid point under step semantics: arrays of shape (runs, grid).

    Rows may come in any order (ties in ``x`` go to the higher ``eval_index``); a categorical
    ``run_id`` column makes the lookup cheaper. Implementation: ranks of the union of abscissae turn
    (run, x) into one exact int64 key, so a single ``searchsorted`` finds every run's last row with
    ``x_row <= x`` (no float offsets, no per-run loop). Points before a run's first row are NaN.
    """
    xcol = _AXIS_COLUMN[axis]
    run_ids = list(run_ids)
    grid = np.asarray(grid, dtype=float)
    rid = traj[S.RUN_ID]
    if isinstance(rid.dtype, pd.CategoricalDtype):
        lut = np.append(pd.Index(run_ids).get_indexer(rid.cat.categories), -1)
        codes = lut[rid.cat.codes.to_numpy()].astype(np.int64)  # code -1 (missing) maps to -1
    else:
        codes = pd.Index(run_ids).get_indexer(rid).astype(np.int64)
    keep = codes >= 0
    if not keep.any():
        return {col: np.full((len(run_ids), len(grid)), np.nan) for col in columns}
    codes = codes[keep]
    x = traj[xcol].to_numpy(float)[keep]
    ev = traj[S.EVAL_INDEX].to_numpy()[keep]
    order = np.argsort(codes, kind="stable")  # enough when rows are sorted within runs (usual)
    c_s, x_s, e_s = codes[order], x[order], ev[order]
    unsorted = (c_s[1:] == c_s[:-1]) & ((x_s[1:] < x_s[:-1]) | ((x_s[1:] == x_s[:-1]) & (e_s[1:] < e_s[:-1])))
    if unsorted.any():
        order = np.lexsort((ev, x, codes))
    codes = codes[order]
    uniq, inverse = np.unique(np.concatenate([x, grid]), return_inverse=True)
    stride = len(uniq) + 1
    row_key = codes * stride + inverse[: len(x)][order]
    g_rank = inverse[len(x):]
    run_code = np.arange(len(run_ids), dtype=np.int64)[:, None]
    query = run_code * stride + g_rank[None, :]
    pos = np.searchsorted(row_key, query.ravel(), side="right") - 1
    valid = (pos >= 0) & (codes[np.clip(pos, 0, None)] == np.repeat(run_code.ravel(), len(grid)))
    out: dict[str, np.ndarray] = {}
    for col in columns:
        vals = traj[col].to_numpy(float)[keep][order]
        picked = np.where(valid, vals[np.clip(pos, 0, None)], np.nan)
        out[col] = picked.reshape(len(run_ids), len(grid))
    return out


def make_grid(traj: pd.DataFrame, budget: pd.DataFrame, run_ids: Sequence[str], axis: str,
              n_points: int = 100) -> np.ndarray:
    """The common abscissae of one setting.

    Time: ``n_points`` log-spaced seconds from the earliest first incumbent of any run to the largest
    budget (the budget end is always the last point, so the curve ends on the final values).
    Evaluations: every count 1..max budget, or ``n_points`` log-spaced integers when that is longer.
    """
    if n_points < 2:
        raise ConfigError(f"n_points must be at least 2, got {n_points}")
    sub = traj[traj[S.RUN_ID].isin(run_ids)]
    if axis == "time":
        defined = sub.loc[sub[S.INC_FINAL].notna(), S.TIME]
        t_hi = float(budget.loc[list(run_ids), "budget_time"].max())
        pos = defined[defined > 0]
        t_lo = float(pos.min()) if len(pos) else t_hi
        if not np.isfinite(t_hi) or t_hi <= 0:
            return np.array([0.0])
        t_lo = min(t_lo, t_hi)
        if t_lo >= t_hi:
            return np.array([t_hi])
        grid = np.geomspace(t_lo, t_hi, n_points)
        grid[-1] = t_hi
        return grid
    if axis == "evals":
        n_max = budget.loc[list(run_ids), "budget_evals"].max()
        if not np.isfinite(n_max) or n_max < 1:
            return np.array([1.0])
        n_max = int(n_max)
        if n_max <= n_points:
            return np.arange(1, n_max + 1, dtype=float)
        return np.unique(np.round(np.geomspace(1, n_max, n_points)))
    raise ConfigError(f"unknown axis {axis!r}; valid axes are {list(AXES)}")


def _percentiles(values: np.ndarray, q: Sequence[float]) -> np.ndarray:
    """Column percentiles ignoring NaN; fast path for complete columns (``nanpercentile`` loops in
    Python over columns, which dominated the cost of a study's curves)."""
    out = np.full((len(q), values.shape[1]), np.nan)
    has_nan = np.isnan(values).any(axis=0)
    if (~has_nan).any():
        out[:, ~has_nan] = np.percentile(values[:, ~has_nan], q, axis=0)
    some = has_nan & ~np.isnan(values).all(axis=0)
    if some.any():
        out[:, some] = np.nanpercentile(values[:, some], q, axis=0)
    return out


def bootstrap_mean_band(values: np.ndarray, n_boot: int, rng: np.random.Generator,
                        confidence: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """Percentile bootstrap band of the column means of ``values`` (runs x points), NaN-aware.

    Runs are resampled with replacement (a count matrix of resamples x runs), so one matrix product
    gives all ``n_boot`` resampled means of every column; a NaN cell simply does not count in its
    column. Why not ``scipy.stats.bootstrap``: it would loop over grid points and cannot share
    resamples across them, which a curve band needs to stay smooth. Columns with fewer than two
    defined values get no band (NaN): a "95% interval" of one run would be that run's value.
    """
    n = values.shape[0]
    if n == 0 or values.shape[1] == 0:
        nan = np.full(values.shape[1], np.nan)
        return nan, nan.copy()
    defined = np.isfinite(values)
    picks = rng.integers(0, n, size=(n_boot, n)) + (np.arange(n_boot) * n)[:, None]
    weights = np.bincount(picks.ravel(), minlength=n_boot * n).reshape(n_boot, n).astype(float)
    sums = weights @ np.where(defined, values, 0.0)
    counts = weights @ defined.astype(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        means = np.where(counts > 0, sums / counts, np.nan)
    tail = 100 * (1 - confidence) / 2
    lo, hi = _percentiles(means, [tail, 100 - tail])
    # A band from fewer than two runs would only repeat the one value: no band there.
    few = defined.sum(axis=0) < 2
    lo[few], hi[few] = np.nan, np.nan
    return lo, hi


def _summarise(values: np.ndarray, n_boot: int, rng: np.random.Generator, confidence: float,
               min_coverage: float) -> dict[str, np.ndarray]:
    n_runs = values.shape[0]
    defined = np.isfinite(values)
    n_def = defined.sum(axis=0)
    show = n_def >= max(1, int(np.ceil(min_coverage * n_runs)))
    cols = np.where(defined, values, np.nan)[:, show]
    stats_show: dict[str, np.ndarray] = {}
    with np.errstate(invalid="ignore", divide="ignore"):
        stats_show["mean"] = np.nansum(cols, axis=0) / np.isfinite(cols).sum(axis=0)
    stats_show["q25"], stats_show["median"], stats_show["q75"] = _percentiles(cols, [25, 50, 75])
    stats_show["ci_low"], stats_show["ci_high"] = bootstrap_mean_band(cols, n_boot, rng, confidence)
    stats: dict[str, np.ndarray] = {"n_defined": n_def}
    for key, arr in stats_show.items():
        full = np.full(values.shape[1], np.nan)
        full[show] = arr
        stats[key] = full
    return stats


def _end_range(ends: np.ndarray) -> dict[str, float]:
    fin = ends[np.isfinite(ends)]
    return {"run_end_min": float(fin.min()) if fin.size else np.nan,
            "run_end_max": float(fin.max()) if fin.size else np.nan}


def anytime_curves(trajectories: pd.DataFrame, runs: pd.DataFrame, rng: np.random.Generator, *,
                   axes: Sequence[str] = AXES, n_points: int = 100, n_boot: int = 1000,
                   confidence: float = 0.95, min_coverage: float = 1.0,
                   metrics: Sequence[str] = (S.INC_FINAL, S.INC_REGRET)) -> pd.DataFrame:
    """Anytime curves per setting and strategy, in long form.

    One row per (setting, strategy, axis, metric, x) with ``mean``, ``ci_low``/``ci_high`` (percentile
    bootstrap of the mean over runs, ``confidence`` level, ``n_boot`` resamples drawn from ``rng``),
    ``median``, ``q25``/``q75``, ``n_defined``, ``n_runs`` and the range of the runs' ends on that
    axis (``run_end_min``, ``run_end_max``). Completed runs only. A run counts up to the end of its
    own budget on the axis (its last evaluation when it has no budget there), so with the default
    ``min_coverage`` a curve stops where the first of its runs stops. Every strategy of a
    setting shares that setting's grid, so curves are directly comparable. See the module docstring
    for step semantics and the handling of points before the first incumbent.
    """
    if not 0 < min_coverage <= 1:
        raise ConfigError(f"min_coverage must be in (0, 1], got {min_coverage}")
    _require(runs, _NEEDED_RUNS, "runs")
    traj = sorted_trajectories(trajectories)
    ok = runs[~is_failed(runs)]
    budget = budgets(ok, traj)
    frames: list[pd.DataFrame] = []
    for setting, srun in ok.groupby(list(SETTING_KEYS), sort=True, dropna=False):
        srun = srun.sort_values([S.STRATEGY, S.RUN_ID], kind="stable")
        ids = srun[S.RUN_ID].tolist()
        cols = list(dict.fromkeys([S.RUN_ID, S.TIME, S.EVAL_INDEX, S.INC_FINAL, *metrics]))
        straj = traj.loc[traj[S.RUN_ID].isin(ids), cols]
        straj[S.RUN_ID] = straj[S.RUN_ID].astype("category")
        strategies = srun[S.STRATEGY].to_numpy()
        for axis in axes:
            grid = make_grid(straj, budget, ids, axis, n_points)
            # One lookup for every run of the setting; rows are then split by strategy.
            every = step_values(straj, ids, grid, axis, metrics)
            # A run counts only up to the end of its own budget on this axis: a run of a time
            # budget that stopped after 140 evaluations has no value at 150 evaluations.
            ends = budget.loc[ids, f"budget_{axis}"].to_numpy(float)
            beyond = grid[None, :] > ends[:, None] * (1 + 1e-12)
            for metric in metrics:
                every[metric][beyond] = np.nan
            for strategy in pd.unique(strategies):
                rows = np.flatnonzero(strategies == strategy)
                gids = [ids[i] for i in rows]
                for metric in metrics:
                    stats = _summarise(every[metric][rows], n_boot, rng, confidence, min_coverage)
                    ident = dict(zip(GROUP_KEYS, (*setting, strategy), strict=True))
                    frames.append(pd.DataFrame({**ident, "axis": axis, "metric": metric, "x": grid,
                                                **stats, "n_runs": len(gids),
                                                **_end_range(ends[rows])}))
    cols = [*GROUP_KEYS, "axis", "metric", "x", "mean", "ci_low", "ci_high", "median", "q25", "q75",
            "n_defined", "n_runs", "run_end_min", "run_end_max"]
    if not frames:
        return pd.DataFrame(columns=cols)
    return pd.concat(frames, ignore_index=True)[cols]


def regret_auc(traj: pd.DataFrame, budget: pd.DataFrame, axis: str = "time",
               scale: str = "linear") -> pd.Series:
    """Per run, the normalised area under its regret step curve (see module docstring).

    Why normalised by the window: the result is a mean regret in metric units, comparable across
    budgets and settings, and a run is not charged for the time before any result exists (which a
    strategy cannot influence beyond its first proposal's cost).
    """
    if scale not in ("linear", "log"):
        raise ConfigError(f"unknown scale {scale!r}; use 'linear' or 'log'")
    xcol = _AXIS_COLUMN[axis]
    df = traj.loc[traj[S.INC_FINAL].notna(), [S.RUN_ID, xcol, S.INC_REGRET]]
    end_col = "budget_time" if axis == "time" else "budget_evals"
    end = df[S.RUN_ID].map(budget[end_col]).to_numpy(float) + (1.0 if axis == "evals" else 0.0)
    x = df[xcol].to_numpy(float)
    nxt = df.groupby(S.RUN_ID, sort=False)[xcol].shift(-1).to_numpy(float)
    nxt = np.where(np.isnan(nxt), end, nxt)
    start = df.groupby(S.RUN_ID, sort=False)[xcol].transform("min").to_numpy(float)
    x, nxt = np.minimum(x, end), np.minimum(nxt, end)
    if scale == "log":
        floor = np.where(end > 0, end * 1e-9, 1e-9)
        x, nxt, start, end = (np.log(np.maximum(a, floor)) for a in (x, nxt, start, end))
    width = np.maximum(nxt - x, 0.0)
    reg = df[S.INC_REGRET].to_numpy(float)
    parts = pd.DataFrame({S.RUN_ID: df[S.RUN_ID].to_numpy(), "area": reg * width,
                          "window": end - start, "last": reg})
    g = parts.groupby(S.RUN_ID, sort=False)
    area, window, last = g["area"].sum(min_count=1), g["window"].first(), g["last"].last()
    # A window of zero (first incumbent at the very end of the budget): the only value known.
    return pd.Series(np.where(window > 0, area / window.where(window > 0, 1.0), last),
                     index=area.index, name=f"auc_{axis}")


def run_table(trajectories: pd.DataFrame, runs: pd.DataFrame, scale: str = "linear") -> pd.DataFrame:
    """One row per run (failed ones included, flagged) with its final incumbent and regret areas.

    Columns added to ``runs``: ``failed``, ``final`` (incumbent's final metric at the end of the
    budget), ``regret``, ``final_params`` (millions), ``final_score`` (what the search saw),
    ``evals`` (finished evaluations), ``first_time`` (first incumbent), ``budget_time``,
    ``budget_evals``, ``auc_time`` and ``auc_evals``. This is the table the statistics work on.
    """
    _require(runs, _NEEDED_RUNS, "runs")
    traj = sorted_trajectories(trajectories)
    out = runs.copy().reset_index(drop=True)
    out["failed"] = is_failed(out).to_numpy()
    last = traj.groupby(S.RUN_ID, sort=False).tail(1).set_index(S.RUN_ID)
    out["final"] = out[S.RUN_ID].map(last[S.INC_FINAL])
    out["regret"] = out[S.RUN_ID].map(last[S.INC_REGRET])
    out["final_params"] = out[S.RUN_ID].map(last[S.INC_PARAMS])
    if S.INC_SCORE in last:
        out["final_score"] = out[S.RUN_ID].map(last[S.INC_SCORE])
    out["evals"] = out[S.RUN_ID].map(traj.groupby(S.RUN_ID).size()).fillna(0).astype(int)
    first = traj.loc[traj[S.INC_FINAL].notna()].groupby(S.RUN_ID)[S.TIME].min()
    out["first_time"] = out[S.RUN_ID].map(first)
    budget = budgets(out, traj)
    out["budget_time"] = out[S.RUN_ID].map(budget["budget_time"])
    out["budget_evals"] = out[S.RUN_ID].map(budget["budget_evals"])
    for axis in AXES:
        out[f"auc_{axis}"] = out[S.RUN_ID].map(regret_auc(traj, budget, axis, scale))
    return out


SUMMARY_COLUMNS: dict[str, tuple[str, str]] = {
    "final_mean": ("final", "mean"), "final_sd": ("final", "std"), "final_median": ("final", "median"),
    "regret_mean": ("regret", "mean"), "regret_median": ("regret", "median"),
    "params_mean": ("final_params", "mean"), "params_median": ("final_params", "median"),
    "auc_time_mean": ("auc_time", "mean"), "auc_time_median": ("auc_time", "median"),
    "auc_evals_mean": ("auc_evals", "mean"), "evals_mean": ("evals", "mean"),
}


def strategy_summary(table: pd.DataFrame) -> pd.DataFrame:
    """Per setting and strategy: run counts (completed, failed) and the statistics of the report table.

    Takes :func:`run_table`'s output; failed runs contribute only to ``n_failed``.
    """
    keys = list(GROUP_KEYS)
    counts = table.groupby(keys, dropna=False).agg(n_runs=(S.RUN_ID, "size"), n_failed=("failed", "sum"))
    ok = table[~table["failed"]]
    spec = dict(SUMMARY_COLUMNS)
    if "wall_seconds" in ok:
        spec["wall_seconds_mean"] = ("wall_seconds", "mean")
    stats = ok.groupby(keys, dropna=False).agg(**spec)
    out = counts.join(stats, how="left") if len(stats) else counts.assign(**{c: np.nan for c in spec})
    out["n_ok"] = out["n_runs"] - out["n_failed"]
    front = ["n_runs", "n_ok", "n_failed"]
    return out[front + [c for c in out.columns if c not in front]].reset_index()
