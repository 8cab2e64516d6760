"""Figures of a study (seaborn/matplotlib), saved as PNG and SVG.

Figures are built on ``matplotlib.figure.Figure`` objects, never through ``pyplot``, so no backend is
switched and no global figure state is kept (safe inside a process pool or a notebook); the seaborn
style is applied through context managers for the same reason. Every axis label names the quantity
and its unit, taking the metric names from the runs table (``final_metric``). One panel per setting
(oracle, dataset, workers); colours are fixed per strategy across all figures.
"""

from __future__ import annotations

import math
import re
import textwrap
import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.figure import Figure

from nasarena.results import schema as S
from nasarena.results.aggregate import SETTING_KEYS

FORMATS: tuple[str, ...] = ("png", "svg")
_KNOWN = {
    "valid_acc_200ep_seed_mean": "validation accuracy (200 epochs, seed mean)",
    "valid_acc_200ep_one_seed": "validation accuracy (200 epochs, one seed)",
}


def metric_label(name: str | None, values: Sequence[float] | np.ndarray | None = None) -> str:
    """A readable axis label with unit for a metric name, e.g. "test accuracy (%)".

    Accuracies are percent unless every value given lies in [0, 1] (then "fraction"). Unknown names
    are shown as they are (underscores as spaces) rather than guessed.
    """
    if not name:
        return "final metric"
    text = _KNOWN.get(name)
    lower = name.lower()
    if text is None:
        if "acc" in lower:
            kind = "test" if "test" in lower else "validation" if "val" in lower else ""
            parts = [m.group(1) + " epochs" for m in [re.search(r"(\d+)\s*ep", lower)] if m]
            if "seed_mean" in lower or lower.endswith("_mean"):
                parts.append("seed mean")
            elif "one_seed" in lower:
                parts.append("one seed")
            text = f"{kind} accuracy".strip() + (f" ({', '.join(parts)})" if parts else "")
        else:
            return name.replace("_", " ")
    unit = "%"
    if values is not None:
        arr = np.asarray(values, float)
        arr = arr[np.isfinite(arr)]
        if arr.size and arr.min() >= 0 and arr.max() <= 1:
            unit = "fraction"
    return text[:-1] + f", {unit})" if text.endswith(")") else f"{text} ({unit})"


def regret_label(final_label: str) -> str:
    """Label of the regret axis: best final metric in the space minus the incumbent's, same unit."""
    unit = "percentage points" if final_label.endswith("%)") else "metric units"
    return f"regret: best in space − incumbent ({unit})"


def strategy_palette(strategies: Sequence[str]) -> dict[str, tuple[float, float, float]]:
    """Fixed colour per strategy (sorted names, colour-blind palette), shared by every figure."""
    names = sorted(set(strategies))
    colours = sns.color_palette("colorblind", max(len(names), 1))
    return {n: tuple(colours[i % len(colours)]) for i, n in enumerate(names)}


def _wrap(label: str, width: int = 42) -> str:
    """Break long axis labels over lines so they are never clipped by the figure edge."""
    return "\n".join(textwrap.fill(part, width) for part in label.split("\n"))


def _settings(df: pd.DataFrame) -> list[tuple]:
    return sorted({tuple(r) for r in df[list(SETTING_KEYS)].itertuples(index=False)}, key=str)


def _title(setting: tuple) -> str:
    oracle, dataset, workers = setting
    return f"{oracle} · {dataset} · {workers} worker{'s' if workers != 1 else ''}"


def _panels(n: int, width: float = 6.0, height: float = 4.2) -> tuple[Figure, list]:
    cols = min(n, 3)
    rows = math.ceil(n / cols)
    fig = Figure(figsize=(width * cols, height * rows), layout="constrained")
    axes = fig.subplots(rows, cols, squeeze=False).ravel().tolist()
    for ax in axes[n:]:
        ax.set_visible(False)
    return fig, axes[:n]


def _in_setting(df: pd.DataFrame, setting: tuple) -> pd.DataFrame:
    mask = np.ones(len(df), bool)
    for key, value in zip(SETTING_KEYS, setting, strict=True):
        mask &= (df[key] == value).to_numpy()
    return df[mask]


def plot_anytime(curves: pd.DataFrame, axis: str, metric: str, labels: dict[tuple, str],
                 band: str = "ci", time_label: str = "simulated time (s, log scale)") -> Figure:
    """Anytime performance of every strategy: a centre line with a band, one panel per setting.

    ``band="ci"``: mean over runs with its 95% bootstrap band; ``band="iqr"``: median with the
    interquartile range (robust to the few runs that never leave a bad region). ``axis`` is "time"
    (log x) or "evals"; ``metric`` is ``incumbent_final`` or ``incumbent_regret`` (log y when it can).
    ``labels`` maps a setting to the label of its final metric (see :func:`metric_label`).
    """
    centre, lo, hi = ("mean", "ci_low", "ci_high") if band == "ci" else ("median", "q25", "q75")
    data = curves[(curves["axis"] == axis) & (curves["metric"] == metric)]
    settings = _settings(data)
    palette = strategy_palette(curves[S.STRATEGY])
    with sns.axes_style("whitegrid"), sns.plotting_context("notebook", font_scale=0.9):
        fig, axes = _panels(max(len(settings), 1))
        for ax, setting in zip(axes, settings, strict=False):
            part = _in_setting(data, setting)
            if not np.isfinite(part[centre].to_numpy(float)).any():
                # e.g. regret when the oracle cannot know the best of its space (live training)
                what = "regret undefined (best of the space unknown)" if metric == S.INC_REGRET \
                    else "no defined values"
                ax.text(0.5, 0.5, what, ha="center", va="center", transform=ax.transAxes)
                ax.set_title(_title(setting))
                continue
            for name, grp in part.groupby(S.STRATEGY, sort=True):
                n = int(grp["n_runs"].iloc[0])
                ax.step(grp["x"], grp[centre], where="post", color=palette[name], lw=1.6,
                        label=f"{name} (n={n})")
                ax.fill_between(grp["x"], grp[lo], grp[hi], step="post", color=palette[name], alpha=0.2, lw=0)
            label = labels.get(setting, "final metric")
            stat = "mean, 95% bootstrap CI" if band == "ci" else "median, IQR"
            if metric == S.INC_REGRET:
                ax.set_ylabel(_wrap(f"{regret_label(label)}\n[{stat} over seeds]"))
                vals = part[[centre, lo]].to_numpy(float)
                vals = vals[np.isfinite(vals)]
                if vals.size and vals.min() > 0:
                    ax.set_yscale("log")
                elif vals.size:
                    ax.set_yscale("symlog", linthresh=max(1e-3, float(np.nanmax(vals)) / 100))
            else:
                ax.set_ylabel(_wrap(f"incumbent's {label}\n[{stat} over seeds]"))
            if axis == "time":
                ax.set_xscale("log")
                ax.set_xlabel(time_label)
            else:
                ax.set_xlabel("finished evaluations")
            ax.set_title(_title(setting))
            ax.legend(fontsize="small", loc="best")
        if not settings:
            axes[0].text(0.5, 0.5, "no completed runs", ha="center", va="center")
    return fig


def plot_final_distribution(table: pd.DataFrame, labels: dict[tuple, str]) -> Figure:
    """Final metric of each completed run's final incumbent, per strategy: box plot with every run."""
    ok = table[~table["failed"]] if "failed" in table else table
    settings = _settings(ok)
    palette = strategy_palette(table[S.STRATEGY])
    with sns.axes_style("whitegrid"), sns.plotting_context("notebook", font_scale=0.9):
        fig, axes = _panels(max(len(settings), 1), width=1.4 + 1.2 * max(ok[S.STRATEGY].nunique(), 3))
        for ax, setting in zip(axes, settings, strict=False):
            part = _in_setting(ok, setting)
            order = sorted(part[S.STRATEGY].unique())
            with warnings.catch_warnings():
                # seaborn 0.13 passes matplotlib's deprecated ``vert=``; not ours to fix, not news.
                warnings.filterwarnings("ignore", message=".*vert: bool was deprecated")
                sns.boxplot(data=part, x=S.STRATEGY, y="final", hue=S.STRATEGY, order=order,
                            palette=palette, showfliers=False, ax=ax, legend=False, boxprops={"alpha": 0.6})
            # Every run as a point, jittered with a fixed generator (seaborn's stripplot would draw
            # from numpy's global state, making the figures differ between identical reports).
            jitter = np.random.default_rng(0)
            for i, name in enumerate(order):
                y = part.loc[part[S.STRATEGY] == name, "final"].to_numpy(float)
                ax.scatter(i + jitter.uniform(-0.25, 0.25, len(y)), y, s=6, color="0.2", alpha=0.5, lw=0)
            counts = part.groupby(S.STRATEGY).size()
            ax.set_xticks(range(len(order)), [f"{n}\n(n={counts[n]})" for n in order], fontsize="small")
            ax.set_xlabel("strategy")
            ax.set_ylabel(_wrap(f"final incumbent's {labels.get(setting, 'final metric')}"))
            ax.set_title(_title(setting))
        if not settings:
            axes[0].text(0.5, 0.5, "no completed runs", ha="center", va="center")
    return fig


def plot_params_vs_final(table: pd.DataFrame, labels: dict[tuple, str]) -> Figure:
    """Size against final metric of the final incumbents; marker area counts runs on the same point.

    Why count instead of jitter: on a tabular space many seeds end on the same architecture, and
    stacked markers would hide how often each strategy lands there.
    """
    ok = table[~table["failed"]] if "failed" in table else table
    ok = ok[np.isfinite(ok["final_params"].to_numpy(float)) & np.isfinite(ok["final"].to_numpy(float))]
    settings = _settings(ok)
    palette = strategy_palette(table[S.STRATEGY])
    with sns.axes_style("whitegrid"), sns.plotting_context("notebook", font_scale=0.9):
        fig, axes = _panels(max(len(settings), 1))
        for ax, setting in zip(axes, settings, strict=False):
            part = _in_setting(ok, setting)
            pts = part.groupby([S.STRATEGY, "final_params", "final"]).size().rename("runs").reset_index()
            sns.scatterplot(data=pts, x="final_params", y="final", hue=S.STRATEGY, size="runs",
                            sizes=(15, 250), palette=palette, alpha=0.5, ax=ax, edgecolor="none")
            med = part.groupby(S.STRATEGY)[["final_params", "final"]].median()
            for name, row in med.iterrows():
                ax.scatter(row["final_params"], row["final"], marker="X", s=160, color=palette[name],
                           edgecolor="black", linewidth=1.0, zorder=5)
            ax.set_xlabel("parameters of the final incumbent (millions)")
            ax.set_ylabel(_wrap(f"final incumbent's {labels.get(setting, 'final metric')}"))
            ax.set_title(_title(setting) + "\n(X: median size and metric of each strategy)",
                         fontsize="medium")
            ax.legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
        if not settings:
            axes[0].text(0.5, 0.5, "no completed runs with known size", ha="center", va="center")
    return fig


def save_figure(fig: Figure, out_dir: Path, stem: str) -> dict[str, Path]:
    """Write ``stem.png`` (150 dpi) and ``stem.svg`` under ``out_dir``; SVGs are byte-reproducible."""
    out_dir.mkdir(parents=True, exist_ok=True)
    paths: dict[str, Path] = {}
    for fmt in FORMATS:
        path = out_dir / f"{stem}.{fmt}"
        meta = {"Date": None} if fmt == "svg" else {}
        fig.savefig(path, dpi=150, metadata=meta)
        paths[fmt] = path
        # The first save computed the constrained layout; keep it for the other formats instead of
        # solving it again (text extents of log-axis tick labels make each solve cost a full draw).
        fig.set_layout_engine("none")
    return paths


def metric_labels(table: pd.DataFrame) -> dict[tuple, str]:
    """Label of the final metric of each setting, from the runs table's ``final_metric`` column."""
    out: dict[tuple, str] = {}
    for setting in _settings(table):
        part = _in_setting(table, setting)
        names = part["final_metric"].dropna().unique() if "final_metric" in part else []
        name = str(names[0]) if len(names) == 1 else None
        out[setting] = metric_label(name, part["final"].to_numpy(float) if "final" in part else None)
    return out


def make_figures(curves: pd.DataFrame, table: pd.DataFrame, out_dir: Path,
                 time_label: str = "simulated time (s, log scale)") -> dict[str, dict[str, Path]]:
    """Every figure of the report, saved under ``out_dir``: name -> {"png": path, "svg": path}."""
    labels = metric_labels(table)
    figs: dict[str, Figure] = {}
    for axis in ("time", "evals"):
        for metric, short in ((S.INC_FINAL, "final"), (S.INC_REGRET, "regret")):
            figs[f"anytime_{short}_{axis}"] = plot_anytime(curves, axis, metric, labels, "ci", time_label)
        figs[f"anytime_regret_{axis}_median"] = plot_anytime(curves, axis, S.INC_REGRET, labels, "iqr",
                                                             time_label)
    figs["final_distribution"] = plot_final_distribution(table, labels)
    figs["params_vs_final"] = plot_params_vs_final(table, labels)
    return {name: save_figure(fig, out_dir, name) for name, fig in figs.items()}
