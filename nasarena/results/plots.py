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
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.axis import Axis
from matplotlib.colors import to_rgb
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

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
    # name the metric (which split, epochs, seed mean) without its unit: the regret has its own
    what = final_label
    for tail in (", %)", ", fraction)"):
        if what.endswith(tail):
            what = what[: -len(tail)] + ")"
    for tail in (" (%)", " (fraction)"):
        what = what.removesuffix(tail)
    return f"regret in {what}: best in space − incumbent ({unit})"


HIGHLIGHT_COLOURS: tuple[str, str] = ("#1f5fbf", "#d62728")
"""Colours of the highlighted pair (evolution blue, RL red), drawn thicker and on top."""
OTHER_COLOURS: tuple[str, ...] = (
    "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf",
    "#393b79", "#637939", "#8c6d31", "#7b4173",
)
"""Twelve qualitative colours that stay apart from each other and from the pair (tab10 without its
blue and red, plus four darker tab20b tones); beyond twelve strategies dash patterns take over."""
_DASHES: tuple[str, ...] = ("-", "--", "-.", ":")


@dataclass(frozen=True)
class Style:
    """How one strategy is drawn in every figure of a report."""

    colour: tuple[float, float, float]
    linewidth: float
    linestyle: str
    zorder: float
    highlighted: bool
    band_alpha: float


def strategy_styles(strategies: Sequence[str], highlight: Sequence[str] = ()) -> dict[str, Style]:
    """Fixed style per strategy: the ``highlight`` pair (evolution, RL) in strong blue and red,
    thick and on top; the others in :data:`OTHER_COLOURS` by sorted name, thinner, with dash
    patterns once the colours run out. Why: nine strategies on a cycled palette gave near-identical
    oranges and pinks, and the pair the verdict is about did not stand out."""
    names = sorted(set(strategies))
    pair = [h for h in highlight if h in names]
    out: dict[str, Style] = {}
    for name, colour in zip(pair, HIGHLIGHT_COLOURS, strict=False):
        out[name] = Style(to_rgb(colour), 2.4, "-", 3.0, True, 0.22)
    for i, name in enumerate(n for n in names if n not in out):
        colour = OTHER_COLOURS[i % len(OTHER_COLOURS)]
        dash = _DASHES[(i // len(OTHER_COLOURS)) % len(_DASHES)]
        out[name] = Style(to_rgb(colour), 1.4, dash, 2.0, False, 0.10)
    return out


def strategy_palette(strategies: Sequence[str], highlight: Sequence[str] = ()
                     ) -> dict[str, tuple[float, float, float]]:
    """The colours of :func:`strategy_styles` (for seaborn's ``palette=``)."""
    return {n: st.colour for n, st in strategy_styles(strategies, highlight).items()}


def log_ticks(axis: Axis, lo: float, hi: float) -> None:
    """Readable ticks on a log axis: no labelled minor ticks (they overlapped), and 1-2-5 majors
    when the range spans less than two decades so that there are always a few labels."""
    subs = (1.0, 2.0, 5.0) if hi > 0 and lo > 0 and hi / lo < 100 else (1.0,)
    axis.set_major_locator(LogLocator(base=10, subs=subs))
    axis.set_major_formatter(FuncFormatter(_compact))
    axis.set_minor_locator(LogLocator(base=10, subs=np.arange(2, 10) * 1.0))
    axis.set_minor_formatter(NullFormatter())


def _compact(value: float, _pos: int | None = None) -> str:
    """1500 -> "1.5k", 200000 -> "200k", 2e6 -> "2M", 0.05 -> "0.05": short labels that never collide."""
    for div, suffix in ((1e6, "M"), (1e3, "k")):
        if abs(value) >= div:
            return f"{value / div:g}{suffix}"
    return f"{value:g}"


def _wrap(label: str, width: int = 42) -> str:
    """Break long axis labels over lines so they are never clipped by the figure edge."""
    return "\n".join(textwrap.fill(part, width) for part in label.split("\n"))


def _settings(df: pd.DataFrame) -> list[tuple]:
    return sorted({tuple(r) for r in df[list(SETTING_KEYS)].itertuples(index=False)}, key=str)


def _title(setting: tuple) -> str:
    oracle, dataset, workers = setting
    return f"{oracle} · {dataset} · {workers} worker{'s' if workers != 1 else ''}"


def panels(n: int, width: float = 6.0, height: float = 4.2, max_cols: int = 3) -> tuple[Figure, list]:
    cols = min(n, max_cols)
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


def _legend_label(name: str, grp: pd.DataFrame, axis: str) -> str:
    """"name (n=10)", plus where the runs end on the evaluations axis when that varies."""
    n = int(grp["n_runs"].iloc[0])
    text = f"{name} (n={n}"
    if axis == "evals" and "run_end_min" in grp:
        lo, hi = grp["run_end_min"].iloc[0], grp["run_end_max"].iloc[0]
        if np.isfinite(lo) and np.isfinite(hi) and lo != hi:
            text += f"; runs end at {lo:.0f}–{hi:.0f}"
    return text + ("; one run, no band" if n == 1 else "") + ")"


def _trainings_axis(ax, seconds: float | None) -> None:
    """A second time axis on top in mean full trainings (budget seconds / mean training time)."""
    if not seconds or not np.isfinite(seconds) or seconds <= 0:
        return
    top = ax.secondary_xaxis("top", functions=(lambda t: t / seconds, lambda n: n * seconds))
    top.set_xlabel(f"mean full trainings (1 = {seconds:,.0f} s)", fontsize="small")
    lo, hi = ax.get_xlim()
    log_ticks(top.xaxis, lo / seconds, hi / seconds)
    top.tick_params(labelsize="small")


def plot_anytime(curves: pd.DataFrame, axis: str, metric: str, labels: dict[tuple, str],
                 band: str = "ci", time_label: str = "simulated time (s, log scale)",
                 styles: dict[str, Style] | None = None,
                 trainings: dict[tuple, float] | None = None) -> Figure:
    """Anytime performance of every strategy: a centre line with a band, one panel per setting.

    ``band="ci"``: mean over runs with its 95% bootstrap band; ``band="iqr"``: median with the
    interquartile range (robust to the few runs that never leave a bad region). No band is drawn
    where fewer than two runs are defined. ``axis`` is "time" (log x) or "evals"; ``metric`` is
    ``incumbent_final`` or ``incumbent_regret`` (log y when it can). ``labels`` maps a setting to
    the label of its final metric (see :func:`metric_label`); ``trainings`` maps a setting to its
    mean full-training time in seconds, shown as a second time axis.
    """
    centre, lo, hi = ("mean", "ci_low", "ci_high") if band == "ci" else ("median", "q25", "q75")
    data = curves[(curves["axis"] == axis) & (curves["metric"] == metric)]
    settings = _settings(data)
    styles = styles or strategy_styles(curves[S.STRATEGY])
    with sns.axes_style("whitegrid"), sns.plotting_context("notebook", font_scale=0.9):
        # The legend goes to the right of each panel (long labels never cover the curves).
        fig, axes = panels(max(len(settings), 1), width=9.0, max_cols=2)
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
                st = styles[name]
                ax.step(grp["x"], grp[centre], where="post", color=st.colour, lw=st.linewidth,
                        ls=st.linestyle, zorder=st.zorder, label=_legend_label(name, grp, axis))
                if np.isfinite(grp[lo].to_numpy(float)).any():
                    ax.fill_between(grp["x"], grp[lo], grp[hi], step="post", color=st.colour,
                                    alpha=st.band_alpha, lw=0, zorder=st.zorder - 1)
            label = labels.get(setting, "final metric")
            stat = "mean, 95% bootstrap CI" if band == "ci" else "median, IQR"
            if metric == S.INC_REGRET:
                ax.set_ylabel(_wrap(f"{regret_label(label)}\n[{stat} over seeds]"))
                vals = part[[centre, lo]].to_numpy(float)
                vals = vals[np.isfinite(vals)]
                if vals.size and vals.min() > 0:
                    ax.set_yscale("log")
                    log_ticks(ax.yaxis, float(vals.min()), float(part[[centre, hi]].max().max()))
                elif vals.size:
                    ax.set_yscale("symlog", linthresh=max(1e-3, float(np.nanmax(vals)) / 100))
                    ax.yaxis.set_major_formatter(FuncFormatter(_compact))
                    ax.yaxis.set_minor_formatter(NullFormatter())
            else:
                ax.set_ylabel(_wrap(f"incumbent's {label}\n[{stat} over seeds]"))
            if axis == "time":
                ax.set_xscale("log")
                xs = part["x"].to_numpy(float)
                log_ticks(ax.xaxis, float(xs.min()), float(xs.max()))
                ax.set_xlabel(time_label)
                _trainings_axis(ax, (trainings or {}).get(setting))
            else:
                ax.set_xlabel("finished evaluations")
            ax.set_title(_title(setting))
            ax.legend(fontsize="x-small", loc="upper left", bbox_to_anchor=(1.02, 1.0), frameon=False)
        if not settings:
            axes[0].text(0.5, 0.5, "no completed runs", ha="center", va="center")
    return fig


def _bold_pair(ax, styles: dict[str, Style], order: Sequence[str]) -> None:
    for tick, name in zip(ax.get_yticklabels(), order, strict=False):
        if styles[name].highlighted:
            tick.set_fontweight("bold")


def plot_final_distribution(table: pd.DataFrame, labels: dict[tuple, str],
                            styles: dict[str, Style] | None = None) -> Figure:
    """Final metric of each completed run's final incumbent, per strategy: horizontal box plots
    with every run as a point, best median at the top. Why horizontal: strategy names (with their
    run counts) stay on one line each and never overlap, however many strategies there are."""
    ok = table[~table["failed"]] if "failed" in table else table
    ok = ok[np.isfinite(ok["final"].to_numpy(float))] if "final" in ok else ok.iloc[:0]
    settings = _settings(ok)
    styles = styles or strategy_styles(table[S.STRATEGY])
    n_strat = max(ok[S.STRATEGY].nunique(), 1)
    with sns.axes_style("whitegrid"), sns.plotting_context("notebook", font_scale=0.9):
        fig, axes = panels(max(len(settings), 1), width=6.5, height=1.2 + 0.42 * n_strat)
        for ax, setting in zip(axes, settings, strict=False):
            part = _in_setting(ok, setting)
            order = part.groupby(S.STRATEGY)["final"].median().sort_values(ascending=False, kind="stable")
            order = list(order.index)
            with warnings.catch_warnings():
                # seaborn 0.13 passes matplotlib's deprecated ``vert=``; not ours to fix, not news.
                warnings.filterwarnings("ignore", message=".*vert: bool was deprecated")
                sns.boxplot(data=part, y=S.STRATEGY, x="final", hue=S.STRATEGY, order=order,
                            palette={n: styles[n].colour for n in order}, showfliers=False, ax=ax,
                            legend=False, boxprops={"alpha": 0.55}, orient="h")
            # Every run as a point, jittered with a fixed generator (seaborn's stripplot would draw
            # from numpy's global state, making the figures differ between identical reports).
            jitter = np.random.default_rng(0)
            for i, name in enumerate(order):
                x = part.loc[part[S.STRATEGY] == name, "final"].to_numpy(float)
                ax.scatter(x, i + jitter.uniform(-0.25, 0.25, len(x)), s=7, color="0.15", alpha=0.5, lw=0)
            counts = part.groupby(S.STRATEGY).size()
            ax.set_yticks(range(len(order)), [f"{n} (n={counts[n]})" for n in order])
            _bold_pair(ax, styles, order)
            ax.set_ylabel("")
            ax.set_xlabel(_wrap(f"final incumbent's {labels.get(setting, 'final metric')}", 46))
            ax.set_title(_title(setting))
        if not settings:
            axes[0].text(0.5, 0.5, "no completed runs", ha="center", va="center")
    return fig


def plot_params_vs_final(table: pd.DataFrame, labels: dict[tuple, str],
                         styles: dict[str, Style] | None = None) -> Figure:
    """Size against final metric of the final incumbents; marker area counts runs on the same point.

    Why count instead of jitter: on a tabular space many seeds end on the same architecture, and
    stacked markers would hide how often each strategy lands there.
    """
    ok = table[~table["failed"]] if "failed" in table else table
    ok = ok[np.isfinite(ok["final_params"].to_numpy(float)) & np.isfinite(ok["final"].to_numpy(float))]
    settings = _settings(ok)
    styles = styles or strategy_styles(table[S.STRATEGY])
    palette = {n: st.colour for n, st in styles.items()}
    with sns.axes_style("whitegrid"), sns.plotting_context("notebook", font_scale=0.9):
        fig, axes = panels(max(len(settings), 1))
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
                 time_label: str = "simulated time (s, log scale)", highlight: Sequence[str] = (),
                 trainings: dict[tuple, float] | None = None,
                 extra: dict[str, Callable[[], Figure]] | None = None) -> dict[str, dict[str, Path]]:
    """Every figure of the report, saved under ``out_dir``: name -> {"png": path, "svg": path}.

    One :func:`strategy_styles` for all figures (``highlight``: the verdict's evolution and RL), so
    a strategy has the same colour everywhere. ``extra`` adds figures made by other modules.
    """
    labels = metric_labels(table)
    styles = strategy_styles(table[S.STRATEGY], highlight)
    figs: dict[str, Figure] = {}
    for axis in ("time", "evals"):
        for metric, short in ((S.INC_FINAL, "final"), (S.INC_REGRET, "regret")):
            figs[f"anytime_{short}_{axis}"] = plot_anytime(curves, axis, metric, labels, "ci", time_label,
                                                           styles, trainings)
        figs[f"anytime_regret_{axis}_median"] = plot_anytime(curves, axis, S.INC_REGRET, labels, "iqr",
                                                             time_label, styles, trainings)
    figs["final_distribution"] = plot_final_distribution(table, labels, styles)
    figs["params_vs_final"] = plot_params_vs_final(table, labels, styles)
    for name, make in (extra or {}).items():
        figs[name] = make()
    return {name: save_figure(fig, out_dir, name) for name, fig in figs.items()}
