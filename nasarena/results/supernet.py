"""How good the supernet was, and whether a method drifted to parameter-free cells, for report and CLI.

Reads only the run records (no torch, no strategy code): ``meta["oracle_measures"]["supernet_quality"]``
(written when the ``supernet`` oracle had ``quality_sample`` > 0;
:mod:`nasarena.estimators.oneshot.quality`) and the one-shot strategies'
``strategy_config["per_epoch"]`` (the derived cell after each supernet epoch with its
``param_free_share`` and ``skip_share``). Failed runs are left out, like everywhere in the report.

Drift flag: NB201's paper reports DARTS collapsing to cells of skip connections. A uniformly random
NB201 cell is already 3/5 parameter-free in expectation (three of the five ops have no weights): a
random pick has at least half of its six edges parameter-free with probability 0.82 and at least
four with 0.54, so such thresholds would flag random search. A method is flagged when its derived
cell at the last epoch is, on average over seeds, at least :data:`DRIFT_SHARE` parameter-free (five
of six edges; a single random cell reaches that with probability 0.23, a mean over seeds less
often), or when any of its runs ends at an all-skip cell (probability 6e-5 for a random cell).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

#: A uniformly random NB201 cell's expected share of parameter-free ops (none, skip, avg pool of 5).
RANDOM_SHARE = 3 / 5
#: The mean last-epoch share from which a method is flagged as drifting (5 of 6 edges).
DRIFT_SHARE = 5 / 6
#: At most this many epochs are shown in the report's drift table (all are in the CSV).
SHOWN_EPOCHS = 12

_STAT_COLUMNS = {"kendall_tau_b": "Kendall tau-b", "spearman": "Spearman rho",
                 "top_kendall_tau_b": "top-k tau-b", "regret": "regret of pick (pp)"}


def _ok(meta: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    return [m for m in meta if isinstance(m, dict) and m.get("status", "ok") == "ok"]


def _strategy(m: dict[str, Any]) -> str:
    return str((m.get("config") or {}).get("strategy"))


def _num(v: Any) -> float:
    try:
        return float(v) if v is not None else math.nan
    except (TypeError, ValueError):
        return math.nan


def quality_runs(meta: Sequence[dict[str, Any]]) -> pd.DataFrame:
    """One row per completed run that recorded a supernet quality (empty when none did)."""
    rows = []
    for m in _ok(meta):
        q = ((m.get("oracle_measures") or {}).get("supernet_quality"))
        if not isinstance(q, dict):
            continue
        b, s = q.get("budget") or {}, q.get("sample") or {}
        rows.append({
            "strategy": _strategy(m), "seed": (m.get("config") or {}).get("seed"),
            "archs": q.get("n"), "left out": q.get("left_out"),
            **{label: _num(q.get(key)) for key, label in _STAT_COLUMNS.items()},
            "top k": q.get("top_k"), "pick ties": q.get("pick_ties"),
            "pick truth": _num(q.get("pick_truth")), "best in sample": _num(q.get("best_truth")),
            "supernet epochs": b.get("epochs"), "supernet s": _num(b.get("seconds")),
            "C": b.get("channels"), "N": b.get("cells"), "width_mult": b.get("width_mult"),
            "data": b.get("dataset"),
            "px": b.get("resolution"), "weight images": b.get("weight_images"),
            "arch images": b.get("arch_images"), "score images": b.get("score_images"),
            "sample seed": s.get("seed"), "truth": q.get("truth"), "score": q.get("score"),
            "top fraction": _num(q.get("top_fraction")),
        })
    df = pd.DataFrame(rows)
    return df.sort_values(["strategy", "seed"], kind="stable", ignore_index=True) if len(df) else df


def quality_means(runs: pd.DataFrame) -> pd.DataFrame:
    """Per strategy: the seed mean of every figure (and sd of Kendall tau-b), with the budget's mean."""
    if runs.empty:
        return runs
    num = [*_STAT_COLUMNS.values(), "supernet epochs", "supernet s"]
    g = runs.groupby("strategy", sort=True)
    out = g[num].mean()
    out.insert(0, "seeds", g.size())
    out.insert(2, "sd Kendall tau-b", g["Kendall tau-b"].std())
    return out.reset_index()


def _signed(v: Any) -> str:
    return "—" if not isinstance(v, int | float) or not math.isfinite(v) else f"{v:+.3f}"


def _fixed(v: Any, digits: int = 2) -> str:
    return "—" if not isinstance(v, int | float) or not math.isfinite(v) else f"{v:.{digits}f}"


def quality_display(df: pd.DataFrame) -> pd.DataFrame:
    """The per-run or per-strategy table with signed correlations and fixed decimals (for printing)."""
    shown = df.copy()
    for col in shown.columns:
        if col in ("Kendall tau-b", "Spearman rho", "top-k tau-b"):
            shown[col] = shown[col].map(_signed)
        elif col in ("sd Kendall tau-b", "regret of pick (pp)", "pick truth", "best in sample", "supernet s"):
            shown[col] = shown[col].map(_fixed)
        elif col == "supernet epochs" and "seeds" in shown:
            shown[col] = shown[col].map(lambda v: _fixed(v, 1))
    return shown


def quality_columns(per_run: bool) -> list[str]:
    """The columns the tables show (the rest is stated in the sentence above them)."""
    stats = list(_STAT_COLUMNS.values())
    if not per_run:
        return ["strategy", "seeds", "Kendall tau-b", "sd Kendall tau-b", *stats[1:], "supernet epochs",
                "supernet s"]
    return ["strategy", "seed", "archs", *stats, "top k", "pick ties", "pick truth", "best in sample",
            "supernet epochs", "supernet s", "C", "N", "weight images", "score images"]


def quality_sentence(runs: pd.DataFrame) -> str:
    """What the figures are: sample, truth, score and budget, in words (one paragraph)."""
    def values(col: str) -> str:
        vals = sorted({str(v) for v in runs[col].dropna()})
        return ", ".join(vals) if vals else "?"
    knobs = ", ".join(f"{c}={values(c)}" for c in ("C", "N", "width_mult") if runs[c].notna().any())
    frac = runs["top fraction"].dropna()
    pct = f"{100 * frac.iloc[0]:g}%" if len(frac) else "10%"
    return (f"Over {values('archs')} architectures drawn uniformly (distinct; numpy generator seed "
            f"{values('sample seed')}, the same sample for every run), the supernet's score ("
            f"{values('score')}) is compared with the truth ({values('truth')}). Kendall tau-b and "
            f"Spearman rho over the whole sample; top-k tau-b within the top {pct} by truth (k "
            f"architectures); regret of pick = best truth in the sample minus the truth of the "
            f"architecture the supernet scores highest (mean over ties), in percentage points. Supernet "
            f"budget: {knobs}, {values('supernet epochs')} epoch(s) on "
            f"{values('data')} {values('px')}px images ({values('weight images')} for weights, "
            f"{values('arch images')} for the architecture half), supernet s = its measured training "
            f"seconds. Measured after the run, off its clock. — marks a correlation that is undefined "
            f"(a constant side, e.g. all top-k scores tied); seed means leave those out.")


def drift_runs(meta: Sequence[dict[str, Any]]) -> pd.DataFrame:
    """One row per (completed run, epoch) of a one-shot strategy: derived cell and its shares."""
    rows = []
    for m in _ok(meta):
        per_epoch = (m.get("strategy_config") or {}).get("per_epoch")
        if not isinstance(per_epoch, list):
            continue
        for e in per_epoch:
            if isinstance(e, dict) and "param_free_share" in e:
                rows.append({"strategy": _strategy(m), "seed": (m.get("config") or {}).get("seed"),
                             "run_id": m.get("run_id"), "epoch": int(e.get("epoch", 0)),
                             "param_free_share": _num(e["param_free_share"]),
                             "skip_share": _num(e.get("skip_share")), "derived": e.get("derived")})
    return pd.DataFrame(rows)


def drift_summary(drift: pd.DataFrame, threshold: float = DRIFT_SHARE) -> pd.DataFrame:
    """Per strategy: runs, mean param-free share at the first and last epoch, mean skip share at
    the last, runs whose last cell is all skip connections, and whether the strategy is flagged."""
    if drift.empty:
        return drift
    last = drift.loc[drift.groupby("run_id")["epoch"].idxmax()]
    first = drift.loc[drift.groupby("run_id")["epoch"].idxmin()]
    g = last.groupby("strategy")
    out = pd.DataFrame({
        "runs": g.size(),
        "last epoch": g["epoch"].max(),
        "param-free, first epoch": first.groupby("strategy")["param_free_share"].mean(),
        "param-free, last epoch": g["param_free_share"].mean(),
        "skip, last epoch": g["skip_share"].mean(),
        "runs ending all skip": g["skip_share"].apply(lambda s: int((s >= 1.0).sum())),
    })
    out["flagged"] = (out["param-free, last epoch"] >= threshold - 1e-9) | (out["runs ending all skip"] > 0)
    return out.reset_index()


def drift_sentence(summary: pd.DataFrame, threshold: float = DRIFT_SHARE) -> str:
    """One sentence per flagged method (or one saying none is), with the random-cell reference."""
    ref = (f"A uniformly random NB201 cell is {RANDOM_SHARE:.0%} parameter-free in expectation; a method "
           f"is flagged when its last derived cell is at least {threshold:.0%} parameter-free on average "
           f"over seeds, or when a run ends at an all-skip cell.")
    flagged = summary[summary["flagged"]]
    if flagged.empty:
        return f"{ref} No method is flagged."
    parts = []
    for _, r in flagged.iterrows():
        parts.append(f"**{r['strategy']}** drifted to parameter-free cells: after epoch "
                     f"{int(r['last epoch'])} "
                     f"its derived cell is {r['param-free, last epoch']:.0%} parameter-free on average "
                     f"(from {r['param-free, first epoch']:.0%} after epoch 1; skip connections "
                     f"{r['skip, last epoch']:.0%}), {int(r['runs ending all skip'])} of "
                     f"{int(r['runs'])} run(s) ending at an all-skip cell. This is the failure "
                     f"the NB201 paper reports for DARTS (cells collapsing to skip connections).")
    return f"{ref} " + " ".join(parts)


def drift_by_epoch(drift: pd.DataFrame, shown: int | None = SHOWN_EPOCHS) -> pd.DataFrame:
    """Seed-mean param-free share per strategy (rows) and epoch (columns ``epoch k``); ``shown``
    epochs at most (evenly spaced, always the first and the last)."""
    wide = drift.pivot_table(index="strategy", columns="epoch", values="param_free_share", aggfunc="mean")
    if shown is not None and wide.shape[1] > shown:
        keep = np.unique(np.linspace(0, wide.shape[1] - 1, shown).round().astype(int))
        wide = wide.iloc[:, keep]
    wide.columns = [f"epoch {c}" for c in wide.columns]
    wide.insert(0, "runs", drift.groupby("strategy")["run_id"].nunique())
    return wide.reset_index()


def plot_drift(drift: pd.DataFrame, out_dir: Path) -> dict[str, Path]:
    """One panel per strategy: param-free share per epoch (thin: each seed; thick: seed mean), the
    skip share's seed mean (dotted) and the random-cell reference (dashed)."""
    from matplotlib.ticker import MaxNLocator

    from nasarena.results.plots import panels, save_figure, strategy_palette

    names = sorted(drift["strategy"].unique())
    colours = strategy_palette(names)
    fig, axes = panels(len(names), width=4.2, height=3.0, max_cols=5)
    for ax, name in zip(axes, names, strict=True):
        d = drift[drift["strategy"] == name]
        for _, run in d.groupby("run_id"):
            run = run.sort_values("epoch")
            ax.plot(run["epoch"], run["param_free_share"], color=colours[name], alpha=0.3, lw=0.8)
        mean = d.groupby("epoch")[["param_free_share", "skip_share"]].mean()
        ax.plot(mean.index, mean["param_free_share"], color=colours[name], lw=2.2, marker="o", ms=3,
                label="param-free share (seed mean)")
        ax.plot(mean.index, mean["skip_share"], color=colours[name], lw=1.2, ls=":",
                label="skip share (seed mean)")
        ax.axhline(RANDOM_SHARE, color="0.5", ls="--", lw=0.9,
                   label=f"uniform random cell ({RANDOM_SHARE:g})")
        ax.set_ylim(-0.03, 1.03)
        ax.set_title(f"{name} ({d['run_id'].nunique()} runs)")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_xlabel("supernet epoch")
        ax.set_ylabel("share of the derived cell's 6 edges")
    axes[0].legend(fontsize=7, loc="best")
    return save_figure(fig, out_dir, "supernet_param_free")


DRIFT_CAPTION = ("Share of parameter-free ops (none, skip, avg pool) in the cell each one-shot method "
                 "derives after each supernet epoch: thin lines each seed, thick the seed mean, dotted "
                 "the skip-connection share (seed mean), dashed a uniformly random cell (3/5).")


def supernet_blocks(meta: Sequence[dict[str, Any]], out: Path,
                    paths: dict[str, Path]) -> list[tuple[str, Any]]:
    """The report section (quality per method, per seed; the drift table, sentence and figure), or
    none for a study without one-shot runs. Its CSVs and figure files join ``paths``."""
    quality, drift = quality_runs(meta), drift_runs(meta)
    if quality.empty and drift.empty:
        return []
    blocks: list[tuple[str, Any]] = [("h2", "How good is the supernet (one-shot runs)")]
    if quality.empty:
        blocks.append(("p", "The supernet's ranking quality was not measured in this study: run with "
                            "`--oracle-arg quality_sample=100` (docs/oneshot.md) to record it."))
    else:
        paths["supernet_quality.csv"] = out / "supernet_quality.csv"
        quality.to_csv(paths["supernet_quality.csv"], index=False)
        blocks += [("p", quality_sentence(quality)),
                   ("h3", "Seed means per method"),
                   ("table", quality_display(quality_means(quality))[quality_columns(False)]),
                   ("h3", "Per seed"),
                   ("table", quality_display(quality)[quality_columns(True)])]
    if not drift.empty:
        summary = drift_summary(drift)
        paths["supernet_drift.csv"] = out / "supernet_drift.csv"
        drift.to_csv(paths["supernet_drift.csv"], index=False)
        flags = summary["flagged"].map({True: "yes", False: "no"})
        shown = summary.drop(columns="flagged").assign(flagged=flags)
        blocks += [("h3", "Drift to parameter-free cells (DARTS's known failure)"),
                   ("p", drift_sentence(summary)), ("table", shown),
                   ("p", "Share of parameter-free ops in the derived cell after each supernet epoch "
                         "(seed mean; every epoch and run in supernet_drift.csv):"),
                   ("table", drift_by_epoch(drift))]
        fig = plot_drift(drift, out / "figures")
        for fmt, path in fig.items():
            paths[f"figures/supernet_param_free.{fmt}"] = path
        blocks.append(("figure", ("supernet_param_free", DRIFT_CAPTION, fig["png"], out)))
    return blocks


__all__ = ["DRIFT_SHARE", "RANDOM_SHARE", "drift_runs", "drift_summary", "quality_means", "quality_runs",
           "supernet_blocks"]
