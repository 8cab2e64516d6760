"""Multi-objective results: Pareto fronts per run, hypervolume over time, and the Pareto plot.

Objectives are read from a study's trajectories: ``score`` (the observed search score, maximised)
and a cost column (``params`` in millions or ``flops`` in millions of multiply-adds, minimised).
Two fronts are reported per run:

* the **observed front**: the non-dominated architectures among those the run evaluated, in
  (observed score, cost), i.e. what the search itself could have returned;
* the **final front**: the same architectures re-scored with the oracle's held-out final metric
  (harness-only, as for the incumbent), so fronts of different strategies compare on equal terms.

Hypervolume (dominated area in minimisation form ``(-score, cost)``) is computed exactly in 2-D by
:func:`nasarena.objectives.hypervolume`. **Reference point and scale**: unless given,
the nadir of the study's final fronts: for each objective the worst value among the points that
are on the front of some run at the end of its budget (all strategies and seeds), padded by 1% of
that objective's range over those points. This focuses the measure on the trade-off region (a
reference at the worst evaluated architecture, ~10% accuracy on NB201, makes every run score ~0.98).
The hypervolume is divided by the volume of the box between the study's best values and that
reference, so it lies in [0, 1] and compares strategies of one study (not across studies).
"""

from __future__ import annotations

import bisect
import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.figure import Figure

from nasarena.errors import ConfigError
from nasarena.objectives import pareto_mask, parse_objectives
from nasarena.results import schema as S
from nasarena.results.aggregate import bootstrap_mean_band
from nasarena.results.plots import log_ticks, save_figure, strategy_palette

#: objective name -> trajectory column
COLUMNS: dict[str, str] = {"score": S.SCORE, "params": S.PARAMS, "flops": S.FLOPS}
LABELS: dict[str, str] = {"score": "observed score", "final": "final metric",
                          "params": "parameters (millions)", "flops": "FLOPs (millions)"}


def _objectives(objectives: str | Sequence[str]) -> tuple[str, str]:
    objs = parse_objectives(objectives)
    if len(objs) != 2 or objs[1] not in COLUMNS:
        raise ConfigError(f"Pareto reports take two objectives, 'score' and one of "
                          f"{', '.join(c for c in COLUMNS if c != 'score')} (trajectory columns); got {objs}")
    return objs[0], objs[1]


def evaluated(trajectories: pd.DataFrame, cost: str) -> pd.DataFrame:
    """Successful evaluations with a finite score and cost, one row per (run, architecture).

    An architecture evaluated several times in a run (noisy repeats, or several fidelities) keeps
    its mean observed score and its first time of evaluation.
    """
    col = COLUMNS[cost]
    t = trajectories
    ok = t[t[S.OK] & np.isfinite(t[S.SCORE]) & np.isfinite(t[col])]
    keys = [S.RUN_ID, S.STRATEGY, S.ORACLE, S.DATASET, S.N_WORKERS, S.SEED, S.ARCH]
    return (ok.groupby(keys, sort=False, observed=True)
            .agg(score=(S.SCORE, "mean"), cost=(col, "first"), time=(S.TIME, "min"),
                 eval_index=(S.EVAL_INDEX, "min"))
            .reset_index())


def final_metric_lookup(runs: pd.DataFrame) -> Callable[[str, str], float]:
    """``f(run_id, arch_string) -> final metric`` from each run's oracle (built once per config).

    Harness-side only: it rebuilds the oracle named in the run's config, like the runner does for
    the incumbent. Raises :class:`ConfigError` if the oracle cannot be built here.
    """
    from nasarena.registry import make_oracle

    oracles: dict[str, Any] = {}
    memo: dict[tuple[str, str], float] = {}  # (oracle key, arch) -> final: runs share architectures
    by_run = {r[S.RUN_ID]: json.loads(r["config"]) for _, r in runs.iterrows()}
    run_key = {run_id: json.dumps([cfg["oracle"], cfg.get("oracle_kwargs", {})], sort_keys=True)
               for run_id, cfg in by_run.items()}

    def lookup(run_id: str, arch: str) -> float:
        key = run_key[run_id]
        value = memo.get((key, arch))
        if value is None:
            if key not in oracles:
                cfg = by_run[run_id]
                oracles[key] = make_oracle(cfg["oracle"], **cfg.get("oracle_kwargs", {}))
            oracle = oracles[key]
            value = memo[key, arch] = float(oracle.final_metric(oracle.space.from_string(arch)))
        return value

    return lookup


def pareto_fronts(points: pd.DataFrame, value: str = "score") -> pd.DataFrame:
    """The non-dominated rows of each run in (``value`` maximised, ``cost`` minimised)."""
    out = []
    for _, grp in points.groupby(S.RUN_ID, sort=True):
        pts = np.column_stack([-grp[value].to_numpy(float), grp["cost"].to_numpy(float)])
        out.append(grp[pareto_mask(pts)])
    if not out:
        return points.iloc[:0]
    return pd.concat(out, ignore_index=True).sort_values([S.RUN_ID, "cost"], ignore_index=True)


def reference_point(points: pd.DataFrame, value: str = "score",
                    fronts: pd.DataFrame | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(reference, ideal) in minimisation form: nadir of the runs' final fronts, padded 1%.

    ``fronts`` (``pareto_fronts(points, value)``) is computed here unless the caller has it.
    """
    if fronts is None:
        fronts = pareto_fronts(points, value)
    mins = np.column_stack([-fronts[value].to_numpy(float), fronts["cost"].to_numpy(float)])
    worst, best = mins.max(axis=0), mins.min(axis=0)
    pad = 0.01 * np.where(worst > best, worst - best, np.maximum(np.abs(worst), 1.0))
    return worst + pad, best


def prefix_hypervolumes(points: np.ndarray, reference: Sequence[float]) -> np.ndarray:
    """2-D hypervolume (minimisation) of every prefix ``points[:i + 1]``, in one pass.

    Keeps the front sorted on the first objective (second strictly decreasing) and updates it with
    each point, recomputing the area only when the front changes: O(n * front) plain-Python steps,
    which is what makes the hypervolume-over-time curves of a few hundred runs take a second.
    Equals :func:`nasarena.objectives.hypervolume` of each prefix (tested).
    """
    rx, ry = float(reference[0]), float(reference[1])
    xs: list[float] = []
    ys: list[float] = []
    out = np.zeros(len(points))
    area = 0.0
    for i, (x, y) in enumerate(np.asarray(points, dtype=float).tolist()):
        if x < rx and y < ry:  # False for NaN too
            j = bisect.bisect_right(xs, x)
            if j == 0 or ys[j - 1] > y:  # not weakly dominated by a front point with x' <= x
                k = j
                while k < len(xs) and ys[k] >= y:
                    k += 1
                xs[j:k], ys[j:k] = [x], [y]
                nxt = xs[1:] + [rx]
                area = sum((b - a) * (ry - c) for a, b, c in zip(xs, nxt, ys, strict=True))
        out[i] = area
    return out


def hypervolume_curves(points: pd.DataFrame, grid: np.ndarray, axis: str = "time", value: str = "score",
                       reference: np.ndarray | None = None) -> pd.DataFrame:
    """Normalised hypervolume of each run's evaluated set at every grid point of ``axis``.

    ``axis`` is ``"time"`` (simulated seconds) or ``"eval_index"``.
    """
    ref, ideal = reference_point(points, value) if reference is None else (reference, None)
    if ideal is None:
        ideal = np.column_stack([-points[value], points["cost"]]).min(axis=0)
    box = float(np.prod(ref - ideal)) or 1.0
    rows = []
    for (run_id, strategy), grp in points.groupby([S.RUN_ID, S.STRATEGY], sort=True):
        grp = grp.sort_values(axis, kind="stable")
        pts = np.column_stack([-grp[value].to_numpy(float), grp["cost"].to_numpy(float)])
        hv = prefix_hypervolumes(pts, ref) / box
        at = np.searchsorted(grp[axis].to_numpy(float), grid, side="right") - 1
        vals = np.where(at >= 0, hv[np.maximum(at, 0)], 0.0)
        rows.append(pd.DataFrame({S.RUN_ID: run_id, S.STRATEGY: strategy, axis: grid, "hypervolume": vals}))
    return pd.concat(rows, ignore_index=True) if rows else pd.DataFrame()


def summarise_hypervolume(curves: pd.DataFrame, axis: str, rng: np.random.Generator,
                          n_boot: int = 1000) -> pd.DataFrame:
    """Per strategy and grid point: mean hypervolume with a 95% bootstrap band over runs."""
    out = []
    for strategy, grp in curves.groupby(S.STRATEGY, sort=True):
        wide = grp.pivot(index=S.RUN_ID, columns=axis, values="hypervolume")
        lo, hi = bootstrap_mean_band(wide.to_numpy(float), n_boot, rng)
        out.append(pd.DataFrame({S.STRATEGY: strategy, axis: wide.columns.to_numpy(float),
                                 "mean": wide.mean(axis=0).to_numpy(), "ci_low": lo, "ci_high": hi,
                                 "n_runs": len(wide)}))
    return pd.concat(out, ignore_index=True) if out else pd.DataFrame()


def plot_pareto(points: pd.DataFrame, fronts: pd.DataFrame, value: str, cost: str,
                palette: dict[str, tuple[float, float, float]] | None = None) -> Figure:
    """All evaluated architectures (faint) and each strategy's front pooled over its runs (steps)."""
    palette = palette or strategy_palette(points[S.STRATEGY].unique())
    fig = Figure(figsize=(7.0, 4.8), layout="constrained")
    ax = fig.add_subplot()
    with sns.axes_style("whitegrid"):
        # Tens of thousands of points: rasterised, so the SVG stays small and quick to write.
        ax.scatter(points["cost"], points[value], s=4, c="0.8", alpha=0.4, linewidths=0,
                   label="evaluated (all runs)", rasterized=True)
        for strategy in sorted(fronts[S.STRATEGY].unique()):
            sub = fronts[fronts[S.STRATEGY] == strategy]
            pooled = sub[pareto_mask(np.column_stack([-sub[value], sub["cost"]]))].sort_values("cost")
            ax.step(pooled["cost"], pooled[value], where="post", color=palette[strategy], lw=1.8,
                    label=f"{strategy} (front pooled over {sub[S.RUN_ID].nunique()} runs)")
            ax.scatter(sub["cost"], sub[value], s=10, color=palette[strategy], alpha=0.35, linewidths=0,
                       rasterized=True)
    ax.set_xlabel(LABELS[cost])
    ax.set_ylabel(LABELS[value])
    lo = fronts[value].quantile(0.02) if len(fronts) else None
    if lo is not None and np.isfinite(lo):
        ax.set_ylim(bottom=lo - 1.0)
    ax.legend(fontsize=7, loc="lower right")
    ax.set_title(f"Pareto fronts: {LABELS[value]} vs {LABELS[cost]}", fontsize=10)
    return fig


def plot_hypervolume(summary: pd.DataFrame, axis: str, reference: Sequence[float] | None = None,
                     cost: str = "params", palette: dict[str, tuple[float, float, float]] | None = None,
                     ) -> Figure:
    """Mean normalised hypervolume against time (log axis) or evaluations, with 95% bands.

    The legend names each strategy with its number of runs; no band is drawn for a single run. The
    reference point, when given, is printed in the axes so the figure stands on its own.
    """
    palette = palette or strategy_palette(summary[S.STRATEGY].unique())
    fig = Figure(figsize=(9.5, 4.2), layout="constrained")
    ax = fig.add_subplot()
    for strategy, grp in summary.groupby(S.STRATEGY, sort=True):
        n = int(grp["n_runs"].iloc[0]) if "n_runs" in grp else 0
        label = f"{strategy} (mean of {n} run{'s' if n != 1 else ', no band'})"
        ax.plot(grp[axis], grp["mean"], color=palette[strategy], label=label)
        if np.isfinite(grp["ci_low"].to_numpy(float)).any():
            ax.fill_between(grp[axis], grp["ci_low"], grp["ci_high"], color=palette[strategy], alpha=0.2,
                            lw=0)
    if axis == "time":
        ax.set_xscale("log")
        log_ticks(ax.xaxis, float(summary[axis].min()), float(summary[axis].max()))
    ax.set_xlabel("simulated time (s, log scale)" if axis == "time" else "finished evaluations")
    ax.set_ylabel("hypervolume (normalised, higher is better)\n[mean over runs, 95% bootstrap CI]")
    if reference is not None:
        ax.text(0.99, 0.02, f"reference point: score {-reference[0]:.4g}, {cost} {reference[1]:.4g}",
                transform=ax.transAxes, ha="right", va="bottom", fontsize=7, color="0.3")
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.02, 1.0), frameon=False)
    return fig


def write_pareto(study: Any, out_dir: Path, objectives: str | Sequence[str] = ("score", "params"), *,
                 with_final: bool | None = None, n_points: int = 60, n_boot: int = 1000,
                 seed: int = 0, highlight: Sequence[str] = (),
                 reference: tuple[float, float] | None = None) -> tuple[dict[str, Path], str]:
    """Fronts, hypervolume over time and the Pareto plots of a loaded study; returns (paths, markdown).

    ``study`` has ``trajectories`` and ``runs`` (see :func:`nasarena.results.store.load_study`).
    ``with_final`` also re-scores the evaluated architectures with the oracle's final metric; by
    default only when every run's oracle knows its whole space (finite ``best_final``, i.e. a table),
    because for live training that would mean training every evaluated architecture again.
    ``reference`` = (score, cost) fixes the hypervolume reference point (same for every strategy
    and time; give the same one to compare studies); by default it is the study's nadir (module
    docstring). ``highlight`` is the report's RL-vs-evolution pair, for the shared colours.
    """
    if with_final is None:
        with_final = bool(np.isfinite(pd.to_numeric(study.runs["best_final"], errors="coerce")).all())
    _, cost = _objectives(objectives)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    ok_runs = study.runs[study.runs["status"] == "ok"][S.RUN_ID]
    points = evaluated(study.trajectories[study.trajectories[S.RUN_ID].isin(ok_runs)], cost)
    if points.empty:
        raise ConfigError(f"no successful evaluation with a finite {cost} in this study")
    paths: dict[str, Path] = {}
    fronts = pareto_fronts(points, "score")
    ref, ideal = reference_point(points, "score", fronts)
    given = reference is not None
    if reference is not None:
        ref = np.array([-float(reference[0]), float(reference[1])])
        if not (ref > ideal).all():
            raise ConfigError(f"the hypervolume reference point (score {reference[0]:g}, {cost} "
                              f"{reference[1]:g}) must be worse than the best values of the study "
                              f"(score {-ideal[0]:.4g}, {cost} {ideal[1]:.4g}) in both objectives")
    palette = strategy_palette(study.runs[S.STRATEGY].unique(), highlight)
    t_max = float(points["time"].max())
    t_min = max(float(points["time"].min()), t_max * 1e-4, 1e-9)
    grid = np.geomspace(t_min, t_max, n_points)
    curves = hypervolume_curves(points, grid, "time", reference=ref)
    summary = summarise_hypervolume(curves, "time", np.random.default_rng(seed), n_boot)
    finals = curves[curves["time"] == grid[-1]].groupby(S.STRATEGY)["hypervolume"]
    table = pd.DataFrame({"hv_final_mean": finals.mean(), "hv_final_sd": finals.std(),
                          "front_size_mean": fronts.groupby(S.STRATEGY)[S.RUN_ID].value_counts()
                          .groupby(S.STRATEGY).mean()}).reset_index()
    for name, df in (("pareto_fronts", fronts), ("hypervolume_time", summary), ("hypervolume", table)):
        paths[f"{name}.csv"] = out_dir / f"{name}.csv"
        df.to_csv(paths[f"{name}.csv"], index=False)
    figs = {"pareto_observed": plot_pareto(points, fronts, "score", cost, palette),
            "hypervolume_time": plot_hypervolume(summary, "time", ref, cost, palette)}
    if with_final:
        lookup = final_metric_lookup(study.runs)
        points = points.assign(final=[lookup(r, a) for r, a in zip(points[S.RUN_ID], points[S.ARCH],
                                                                    strict=True)])
        final_fronts = pareto_fronts(points, "final")
        paths["pareto_fronts_final.csv"] = out_dir / "pareto_fronts_final.csv"
        final_fronts.to_csv(paths["pareto_fronts_final.csv"], index=False)
        figs["pareto_final"] = plot_pareto(points, final_fronts, "final", cost, palette)
    for stem, fig in figs.items():
        for fmt, path in save_figure(fig, out_dir / "figures", stem).items():
            paths[f"figures/{stem}.{fmt}"] = path
    where = ("given by the user" if given else
             "the worst values on any run's final front, padded by 1% of their range")
    ref_text = f"score {-ref[0]:.4g}, {cost} {ref[1]:.4g}"
    md = [f"## Multi-objective: score vs {cost}", "",
          f"Hypervolume in (−score, {cost}) normalised to the box between the study's best values and "
          f"the reference point ({ref_text}: {where}), the same point for every strategy and time; "
          "mean at the end of the budget over runs:", "",
          "| strategy | hypervolume (mean) | sd | front size (mean) |", "|---|---|---|---|"]
    md += [f"| {r.strategy} | {r.hv_final_mean:.4f} | {r.hv_final_sd:.4f} | {r.front_size_mean:.1f} |"
           for r in table.itertuples()]
    md += ["", "![Pareto front of each strategy pooled over its runs, in (observed search score, "
               f"{cost}); grey: every evaluated architecture](figures/pareto_observed.png)",
           f"![Normalised hypervolume against simulated time: mean over each strategy's runs (legend: "
           f"number of runs) with a 95% bootstrap band; reference point {ref_text}]"
           "(figures/hypervolume_time.png)"]
    if with_final:
        md.append("![The same fronts re-scored with the held-out final metric]"
                  "(figures/pareto_final.png)")
    return paths, "\n".join(md) + "\n"
