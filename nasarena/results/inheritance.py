"""The report's "Inheritance" section: how much a study's warm starts saved and what they cost it.

Reads only the trajectories (``kind`` = ``warm-start`` rows and their ``morphism``, the ``cost``
charged) and the per-run table, so the results room needs no estimator code. The section appears
only when the study has warm starts (or a benchmark's ``inheritance_benchmark.json`` beside it, see
:mod:`nasarena.results.inheritance_ranking`). It answers, per strategy and for the study's seeds:

* which share of the evaluations were warm starts, by morphism kind (exact, approximate, Lamarckian),
  and the mean training seconds charged per warm-started and per fresh evaluation;
* for every warm-starting strategy beside a from-scratch one of the same setting: accuracy reached
  against cumulative charged training seconds (figure), the seconds each needs to reach the
  from-scratch strategy's final accuracy (the issue's goal: warm <= 0.5 x from scratch), and the
  report's paired equivalence and difference tests (:mod:`nasarena.results.stats`,
  :func:`~nasarena.results.verdict.decide_equivalence`) on final accuracy;
* whether inheritance biases the ranking (:mod:`nasarena.results.inheritance_ranking`).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from nasarena.results import schema as S
from nasarena.results.aggregate import SETTING_KEYS
from nasarena.results.stats import compare, match, p_text, tost
from nasarena.results.verdict import decide_equivalence

WARM = "warm-start"
MORPHISM_KINDS = ("exact", "approximate", "lamarckian")  # nasarena.spaces.morphisms.KINDS
#: The two accuracies the comparison is made on: (per-run table column, trajectory column, what it is).
QUANTITIES: tuple[tuple[str, str, str], ...] = (
    ("final_score", S.INC_SCORE, "incumbent's search score (validation, what the search saw; a warm "
                                 "start's includes its ancestors' training)"),
    ("final", S.INC_FINAL, "incumbent's final metric (held out; for the live oracle the architecture "
                           "retrained from scratch at the final fidelity)"),
)
GOAL = 0.5  # issue 13: warm start reaches the from-scratch final accuracy with <= 50% of the time


def _morphisms(traj: pd.DataFrame) -> pd.Series:
    return traj[S.MORPHISM] if S.MORPHISM in traj else pd.Series("", index=traj.index)


def per_run(traj: pd.DataFrame, table: pd.DataFrame) -> pd.DataFrame:
    """One row per completed run: evaluations, warm-start shares by kind, mean charged seconds."""
    ok = table.loc[~table["failed"], [S.RUN_ID, S.STRATEGY, *SETTING_KEYS]]
    t = traj[traj[S.RUN_ID].isin(ok[S.RUN_ID])]
    warm = t[S.KIND] == WARM
    morph = _morphisms(t)
    frame = pd.DataFrame({S.RUN_ID: t[S.RUN_ID], "warm": warm, "fresh": t[S.KIND] == "fresh",
                          **{k: warm & (morph == k) for k in MORPHISM_KINDS},
                          "unrecorded": warm & ~morph.isin(MORPHISM_KINDS),
                          "cost": t[S.COST].astype(float)})
    g = frame.groupby(S.RUN_ID)
    out = pd.DataFrame({"evaluations": g.size()})
    for col in ("warm", *MORPHISM_KINDS, "unrecorded"):
        out[f"share_{col}"] = 100 * g[col].mean()
    for col in ("warm", "fresh"):
        sel = frame[frame[col]]
        out[f"seconds_{col}"] = sel.groupby(S.RUN_ID)["cost"].mean()
    return ok.merge(out.reset_index(), on=S.RUN_ID, how="inner")


def warm_table(runs: pd.DataFrame) -> pd.DataFrame:
    """Per setting and strategy, seed means of :func:`per_run` (the section's first table)."""
    rows = []
    for key, grp in runs.groupby([*SETTING_KEYS, S.STRATEGY], sort=True, dropna=False):
        setting, name = key[:-1], key[-1]
        row = {S.STRATEGY: name, "setting": " · ".join(str(v) for v in setting), "runs": len(grp),
               "evaluations per run": grp["evaluations"].mean(),
               "warm starts (% of evaluations)": grp["share_warm"].mean()}
        for k in MORPHISM_KINDS:
            row[f"{k} (%)"] = grp[f"share_{k}"].mean()
        if grp["share_unrecorded"].max() > 0:
            row["kind not recorded (%)"] = grp["share_unrecorded"].mean()
        row["s per warm start"] = grp["seconds_warm"].mean()
        row["s per fresh evaluation"] = grp["seconds_fresh"].mean()
        rows.append(row)
    df = pd.DataFrame(rows)
    if "kind not recorded (%)" in df:
        df["kind not recorded (%)"] = df["kind not recorded (%)"].fillna(0.0)
    if df[S.STRATEGY].nunique() == len(df):
        df = df.drop(columns="setting")
    return df


def mean_curve(traj: pd.DataFrame, run_ids: Sequence[str], column: str) -> tuple[np.ndarray, np.ndarray]:
    """The seed mean of ``column`` (an incumbent value) against cumulative charged training seconds.

    Each run is a step function of the sum of the costs of its evaluations so far (in finishing
    order); after its last evaluation it keeps its last value. Returned at every step of any run,
    NaN where some run has no value yet.
    """
    steps = []
    for rid in run_ids:
        r = traj[traj[S.RUN_ID] == rid].sort_values(S.EVAL_INDEX)
        steps.append((np.cumsum(r[S.COST].to_numpy(float)), r[column].to_numpy(float)))
    if not steps:
        return np.array([]), np.array([])
    x = np.unique(np.concatenate([s[0] for s in steps]))
    ys = []
    for cum, val in steps:
        idx = np.searchsorted(cum, x, side="right") - 1
        ys.append(np.where(idx >= 0, val[np.clip(idx, 0, None)], np.nan))
    return x, np.mean(ys, axis=0)


def seconds_to_reach(x: np.ndarray, y: np.ndarray, target: float) -> float:
    """The first ``x`` at which ``y`` is at least ``target`` (inf when it never is)."""
    hit = np.flatnonzero(np.asarray(y, float) >= target - 1e-9 * max(1.0, abs(target)))
    return float(x[hit[0]]) if len(hit) else float("inf")


def pairs(runs: pd.DataFrame) -> list[tuple[tuple, str, str]]:
    """(setting, warm-starting strategy, from-scratch strategy) of every setting that has both."""
    out = []
    for setting, grp in runs.groupby(list(SETTING_KEYS), sort=True, dropna=False):
        share = grp.groupby(S.STRATEGY)["share_warm"].max()
        warm, scratch = sorted(share.index[share > 0]), sorted(share.index[share == 0])
        out += [(setting, w, f) for w in warm for f in scratch]
    return out


def compare_pair(table: pd.DataFrame, traj: pd.DataFrame, setting: tuple, warm: str, scratch: str,
                 rng: np.random.Generator, margin: float, alpha: float) -> list[dict[str, Any]]:
    """Time to reach the from-scratch final accuracy and the final-accuracy tests, per quantity."""
    sub = table[(~table["failed"]) & (table[list(SETTING_KEYS)].apply(tuple, axis=1) == tuple(setting))]
    gw, gf = sub[sub[S.STRATEGY] == warm], sub[sub[S.STRATEGY] == scratch]
    rows = []
    for column, traj_col, _ in QUANTITIES:
        if column not in sub:
            continue
        row: dict[str, Any] = {"warm": warm, "from scratch": scratch, "quantity": column}
        target = float(np.nanmean(gf[column].to_numpy(float))) if gf[column].notna().any() else np.nan
        xw, yw = mean_curve(traj, gw[S.RUN_ID], traj_col)
        xf, yf = mean_curve(traj, gf[S.RUN_ID], traj_col)
        tw, tf = seconds_to_reach(xw, yw, target), seconds_to_reach(xf, yf, target)
        row.update(target=target, seconds_warm=tw, seconds_scratch=tf,
                   ratio=tw / tf if np.isfinite(tw) and tf > 0 else np.nan)
        sample = match(gw, gf, column)
        n = len(sample.x) if sample.paired else f"{len(sample.x)} vs {len(sample.y)}"
        row.update(design=sample.design, n=n, mean_warm=np.nan, mean_scratch=np.nan, diff=np.nan,
                   ci=(np.nan, np.nan), p_difference=np.nan, p_tost=np.nan, outcome="not tested")
        if len(sample.x) >= 2 and len(sample.y) >= 2:
            c = compare(sample, alternative="two-sided", rng=rng)
            t = tost(sample.x, sample.y, margin, alpha, paired=sample.paired)
            ci = (c.mean_diff_low, c.mean_diff_high)
            row.update(mean_warm=c.mean_x, mean_scratch=c.mean_y, diff=c.mean_diff, ci=ci, test=c.test,
                       p_difference=c.p_value, p_tost=t.p_value,
                       outcome=decide_equivalence(t.p_value, c.p_value, ci, margin, alpha))
        rows.append(row)
    return rows


def _ratio_text(r: dict[str, Any]) -> str:
    if not np.isfinite(r["target"]):
        return "no from-scratch final value"
    if not np.isfinite(r["seconds_warm"]):
        return f"never reached (from scratch: {r['seconds_scratch']:,.1f} s)"
    verdict = "meets" if r["ratio"] <= GOAL else "misses"
    return (f"{r['seconds_warm']:,.1f} s vs {r['seconds_scratch']:,.1f} s: ratio {r['ratio']:.2f} "
            f"({verdict} the goal <= {GOAL:g})")


def comparison_display(rows: list[dict[str, Any]], margin: float) -> pd.DataFrame:
    """The comparison rows as the report shows them (numbers with their units in the headers)."""
    shown = []
    for r in rows:
        shown.append({
            "warm-starting": r["warm"], "from scratch": r["from scratch"], "accuracy": r["quantity"],
            "from-scratch final (seed mean)": r["target"],
            "training seconds to reach it, warm vs scratch (seed-mean curves)": _ratio_text(r),
            "design": f"{r['design']}, n = {r['n']}",
            "mean warm − scratch [95% CI]": (f"{r['diff']:+.2f} [{r['ci'][0]:+.2f}, {r['ci'][1]:+.2f}]"
                                              if np.isfinite(r["diff"]) else "—"),
            "p difference": p_text(r["p_difference"]), f"p TOST ±{margin:g}": p_text(r["p_tost"]),
            "same final accuracy": r["outcome"]})
    return pd.DataFrame(shown)


def plot_pairs(traj: pd.DataFrame, table: pd.DataFrame, groups: dict[tuple, list[str]], out_dir: Path,
               stem: str = "inheritance_accuracy_vs_training") -> dict[str, Path]:
    """Seed-mean accuracy (both quantities) against cumulative charged training seconds, one row of
    panels per setting, every warm-starting and from-scratch strategy of the comparison."""
    from matplotlib.figure import Figure

    from nasarena.results.plots import save_figure

    fig = Figure(figsize=(11, 3.8 * len(groups)), layout="constrained")
    axes = fig.subplots(len(groups), len(QUANTITIES), squeeze=False)
    ok = table[~table["failed"]]
    for i, (setting, names) in enumerate(groups.items()):
        sub = ok[ok[list(SETTING_KEYS)].apply(tuple, axis=1) == tuple(setting)]
        for j, (column, traj_col, what) in enumerate(QUANTITIES):
            ax = axes[i][j]
            for name in names:
                ids = sub.loc[sub[S.STRATEGY] == name, S.RUN_ID]
                x, y = mean_curve(traj, ids, traj_col)
                keep = np.isfinite(y) & (x > 0)
                ax.step(x[keep], y[keep], where="post", label=f"{name} ({len(ids)} runs)")
            ax.set_xscale("log")
            ax.set_xlabel("cumulative charged training seconds (sum of costs)")
            ax.set_ylabel(column)
            oracle, dataset, workers = setting
            ax.set_title(f"{oracle} · {dataset} · {workers} worker(s): {what.split(' (')[0]}", fontsize=9)
            ax.legend(fontsize=8)
    return save_figure(fig, out_dir, stem)


FIGURE_CAPTION = ("Seed mean of the incumbent's search score (validation; left) and final metric (held "
                  "out; right) against cumulative charged training seconds (the sum of the costs of the "
                  "run's evaluations so far; a run keeps its last value after it ends), warm-starting vs "
                  "from-scratch strategies of the same setting.")


def inheritance_blocks(study: Any, table: pd.DataFrame, study_dir: Path, out: Path, paths: dict[str, Path],
                       rng: np.random.Generator, margin: float, alpha: float) -> list[tuple[str, Any]]:
    """The section's report blocks, or none when the study has no warm starts and no benchmark file."""
    from nasarena.results.inheritance_ranking import benchmark_blocks, study_ranking_blocks

    traj = study.trajectories
    bench = benchmark_blocks(study_dir, alpha)
    has_warm = S.KIND in traj and bool((traj[S.KIND] == WARM).any())
    if not has_warm and not bench:
        return []
    blocks: list[tuple[str, Any]] = [("h2", "Inheritance (warm starts)")]
    if has_warm:
        runs = per_run(traj, table)
        shown = warm_table(runs)
        paths["inheritance.csv"] = out / "inheritance.csv"
        shown.to_csv(paths["inheritance.csv"], index=False)
        blocks += [("p", "A warm start trains a child from its parent's weights (docs/inheritance.md). "
                         "Per strategy, means over its completed runs (seeds): the share of its "
                         "finished evaluations that were warm starts, split by how the weights were "
                         "mapped (exact = function-preserving morphism, approximate morphism, "
                         "Lamarckian = equal tensors copied), and the mean training seconds charged "
                         "to the clock per warm-started and per fresh evaluation (the cost column; "
                         "failed evaluations included)."),
                   ("table", shown)]
        rows, groups = [], {}
        for setting, warm, scratch in pairs(runs):
            rows += compare_pair(table, traj, setting, warm, scratch, rng, margin, alpha)
            groups.setdefault(setting, [])
            groups[setting] += [n for n in (warm, scratch) if n not in groups[setting]]
        if rows:
            raw = pd.DataFrame(rows)
            raw[["ci_low", "ci_high"]] = pd.DataFrame(raw.pop("ci").tolist(), index=raw.index)
            paths["inheritance_comparison.csv"] = out / "inheritance_comparison.csv"
            raw.to_csv(paths["inheritance_comparison.csv"], index=False)
            blocks += [("h3", "Warm-starting vs from-scratch strategies"),
                       ("p", f"Both accuracies of the final incumbent: {QUANTITIES[0][0]} = "
                             f"{QUANTITIES[0][2]}; {QUANTITIES[1][0]} = {QUANTITIES[1][2]}. Training "
                             f"seconds to reach it: the first cumulative charged training time at which "
                             f"the seed-mean curve reaches the from-scratch strategy's seed-mean final "
                             f"value (goal of issue 13: warm <= {GOAL:g} x from scratch). Tests on the "
                             f"final value per run, as in the verdict: rank test of difference and "
                             f"TOST within ±{margin:g} (the report's margin), paired on seeds where "
                             f"possible; 'same final accuracy' holds, is refuted or inconclusive by the "
                             f"verdict's rule (alpha = {alpha:g})."),
                       ("table", comparison_display(rows, margin))]
            figure = plot_pairs(traj, table, groups, out / "figures")
            for path in figure.values():
                paths[f"figures/{path.name}"] = path
            blocks.append(("figure", (figure["png"].stem, FIGURE_CAPTION, figure["png"], out)))
        else:
            blocks.append(("p", "No setting of this study has a from-scratch strategy beside a "
                                "warm-starting one, so nothing is compared (add one, e.g. "
                                "random-search, or the same strategy without warm_start)."))
        blocks += study_ranking_blocks(study, table)
    return blocks + bench
