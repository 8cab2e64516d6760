"""The report's tables as shown to a reader: ranked rows, one format per column, readable headers.

The CSV files keep every computed column; these functions choose and format what the report prints.
Rows are sorted by rank (1 = best mean final metric in a setting, ties broken by the lower regret
area), p-values are printed one way everywhere (three decimals, "<0.001" below that), and columns
that are the same in every row are stated once above the table by the renderer.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from nasarena.results import schema as S
from nasarena.results.aggregate import SETTING_KEYS
from nasarena.results.ranks import RankSummary

DISPLAYED_QUANTITIES: tuple[str, ...] = ("final", "auc_time", "final_params")


def p_cell(p: Any) -> str:
    """A p-value cell: "<0.001", three decimals, or "—" where no test was done."""
    if p is None or not np.isfinite(float(p)):
        return "—"
    return "<0.001" if float(p) < 0.001 else f"{float(p):.3f}"


def _num(v: Any, decimals: int = 3) -> str:
    return "—" if v is None or not np.isfinite(float(v)) else f"{float(v):,.{decimals}f}"


def ranked_summary(summary: pd.DataFrame) -> pd.DataFrame:
    """``strategy_summary`` with a ``rank`` per setting (mean final metric, then lower regret area),
    sorted by setting and rank."""
    out = summary.copy()
    out["_f"] = -out["final_mean"].astype(float).fillna(-np.inf)
    out["_a"] = out["auc_time_mean"].astype(float).fillna(np.inf)
    out = out.sort_values([*SETTING_KEYS, "_f", "_a", S.STRATEGY], kind="stable")
    out["rank"] = (out.groupby(list(SETTING_KEYS), dropna=False).cumcount() + 1).astype("Int64")
    out.loc[out["final_mean"].isna(), "rank"] = pd.NA  # no final metric: no rank
    return out.drop(columns=["_f", "_a"]).reset_index(drop=True)


def summary_display(ranked: pd.DataFrame) -> pd.DataFrame:
    """The per-strategy table: rank, runs, final metric, regret, size, regret areas, evaluations."""
    rows = []
    for _, r in ranked.iterrows():
        rows.append({
            **{k: r[k] for k in SETTING_KEYS}, "rank": "—" if pd.isna(r["rank"]) else str(int(r["rank"])),
            "strategy": r[S.STRATEGY],
            "runs (ok/failed)": f"{r['n_ok']}/{r['n_failed']}",
            "final mean ± sd": (f"{_num(r['final_mean'])} ± {_num(r['final_sd'])}"
                                if pd.notna(r["final_mean"]) else "—"),
            "final median": r["final_median"], "regret mean": r["regret_mean"],
            "params median (M)": r["params_median"], "regret AUC time (mean)": r["auc_time_mean"],
            "regret AUC evals (mean)": r["auc_evals_mean"], "evals mean": _num(r["evals_mean"], 1),
            "wall s mean": r.get("wall_seconds_mean", np.nan)})
    return _numeric(pd.DataFrame(rows), ["final median", "regret mean", "params median (M)",
                                         "regret AUC time (mean)", "regret AUC evals (mean)", "wall s mean"])


def _numeric(df: pd.DataFrame, columns: Sequence[str]) -> pd.DataFrame:
    for c in columns:
        if c in df:
            df[c] = pd.to_numeric(df[c], errors="coerce").astype(float)
    return df


def verdict_display(v: pd.DataFrame) -> pd.DataFrame:
    """One row per setting and claim: outcome, design, test, sizes, effect, both p-values."""
    rows = []
    for _, r in v.iterrows():
        tested = r["verdict"] != "not tested"
        second = r.get("p_difference") if r["claim"] == "same final accuracy" else r.get("p_opposite")
        design = r.get("design", "—")
        if tested and design == "paired":
            design = f"paired ({int(r['n_evolution'])} pairs)"
        rows.append({
            **{k: r[k] for k in SETTING_KEYS}, "claim": r["claim"], "verdict": r["verdict"],
            "design": design if tested else "—", "test": r.get("test", "—") if tested else "—",
            "n evo / rl": f"{r['n_evolution']} / {r['n_rl']}",
            "median evo / rl": (f"{_num(r.get('median_evolution'))} / {_num(r.get('median_rl'))}"
                                if tested else "—"),
            "difference evo − rl [95% CI]": _difference(r) if tested else "—",
            "Cliff's δ": _num(r.get("cliffs_delta"), 2) if tested else "—",
            "p (claim)": p_cell(r.get("p_value")) if tested else "—",
            "p (difference or opposite)": p_cell(second) if tested else "—"})
    return pd.DataFrame(rows)


def _difference(r: pd.Series) -> str:
    """The location the claim's test is about: the mean difference for TOST, the median (of the
    paired differences, or of each group) for the rank tests, so the interval agrees with the test."""
    key = "mean" if r["claim"] == "same final accuracy" else "median"
    return (f"{key} {_num(r[f'{key}_diff'])} [{_num(r[f'{key}_diff_low'])}, "
            f"{_num(r[f'{key}_diff_high'])}]")


def comparisons_display(c: pd.DataFrame, ranked: pd.DataFrame) -> pd.DataFrame:
    """Every strategy against the reference on the displayed quantities, in rank order."""
    if c.empty:
        return c
    keep = c[c["quantity"].isin(DISPLAYED_QUANTITIES)].copy()
    rank = ranked.set_index([*SETTING_KEYS, S.STRATEGY])["rank"]
    keys = keep[[*SETTING_KEYS, S.STRATEGY]].itertuples(index=False)
    keep["_rank"] = [float(v) if pd.notna(v := rank.get(tuple(r), np.inf)) else np.inf for r in keys]
    keep["_q"] = keep["quantity"].map({q: i for i, q in enumerate(DISPLAYED_QUANTITIES)})
    keep = keep.sort_values([*SETTING_KEYS, "_q", "_rank"], kind="stable")
    return pd.DataFrame({
        **{k: keep[k].to_numpy() for k in SETTING_KEYS}, "quantity": keep["quantity"].to_numpy(),
        "strategy": keep[S.STRATEGY].to_numpy(),
        "design": keep["design"].to_numpy(),
        "median / ref": [f"{_num(a)} / {_num(b)}"
                         for a, b in zip(keep["median_x"], keep["median_y"], strict=True)],
        "Cliff's δ": [_num(x, 2) for x in keep["cliffs_delta"]],
        "p (BH)": [p_cell(x) for x in keep["p_adjusted"]], "vs reference": keep["outcome"].to_numpy()})


def ranks_display(r: RankSummary) -> pd.DataFrame:
    """Average rank and per-setting ranks of each strategy, best first."""
    t = r.table()
    out = pd.DataFrame({S.STRATEGY: t[S.STRATEGY], "average rank": [f"{v:.2f}" for v in t["average rank"]]})
    for c in t.columns[2:]:  # ranks within a setting: whole numbers, or halves for ties
        out[c] = [f"{v:.1f}" for v in t[c]]
    return out


def ranks_sentence(r: RankSummary, name: str) -> str:
    """What the rank table and CD diagram say, in one paragraph."""
    k, n = len(r.mean_ranks), r.n_settings
    head = (f"Average rank of the mean {name} over {n} settings ({k} strategies; "
            f"{'higher' if r.higher_is_better else 'lower'} is better, rank 1 = best).")
    if np.isfinite(r.friedman_p):
        test = (f" Friedman χ² = {r.friedman_statistic:.2f}, p = {p_cell(r.friedman_p)}"
                + ("" if r.friedman_p < r.alpha else
                   f": the ranks are not shown to differ at alpha = {r.alpha:g}, so the groups below "
                   f"are descriptive only"))
    else:
        test = f" No Friedman test: {r.note}"
    groups = "; ".join(", ".join(g) for g in r.cliques) or "none (every pair differs by at least CD)"
    excluded = (f" Left out (not in every setting): {', '.join(r.excluded)}." if r.excluded else "")
    return (f"{head}{test}. Nemenyi critical difference CD = {r.cd:.2f} at alpha = {r.alpha:g}; "
            f"groups not significantly different: {groups}.{excluded}")
