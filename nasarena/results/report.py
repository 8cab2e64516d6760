"""The study report: ``report.md``, a self-contained ``report.html``, CSV tables and figures.

:func:`write_report` is the one entry point (``nasarena report`` and ``nasarena bench`` call it). The
report first says what was searched on (oracle, dataset, search metric, budget, workers, seeds, runs,
failed runs with their errors) and what is reported (the final metric), then the summary per
strategy, the RL-vs-evolution verdict with one sentence per claim, the comparison of every strategy
with a reference, the figures, and the methods (step semantics, bands, areas, tests) in plain words.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from nasarena.errors import ConfigError, DataError, NasarenaError
from nasarena.results import schema as S
from nasarena.results.aggregate import GROUP_KEYS, SETTING_KEYS, anytime_curves, run_table, strategy_summary
from nasarena.results.plots import make_figures, metric_labels
from nasarena.results.render import fmt as _fmt
from nasarena.results.render import render_html, render_markdown
from nasarena.results.stats import (
    DEFAULT_EVOLUTION,
    DEFAULT_RL,
    QUANTITY_NAMES,
    compare_to_reference,
    verdict,
)

FIGURE_CAPTIONS: dict[str, str] = {
    "anytime_regret_time": "Regret of the incumbent against simulated time (log axis): mean over seeds "
                           "with a 95% bootstrap band.",
    "anytime_regret_time_median": "Regret against simulated time: median over seeds with the "
                                  "interquartile range.",
    "anytime_final_time": "Final metric of the incumbent against simulated time: mean with 95% band.",
    "anytime_regret_evals": "Regret against the number of finished evaluations: mean with 95% band.",
    "anytime_regret_evals_median": "Regret against finished evaluations: median with IQR.",
    "anytime_final_evals": "Final metric of the incumbent against finished evaluations: mean with 95% band.",
    "final_distribution": "Final metric of the final incumbent of every completed run, per strategy.",
    "params_vs_final": "Size against final metric of the final incumbents (marker area: number of runs).",
    "pareto_observed": "Pareto front of each run in (observed search score, size).",
    "pareto_final": "The same fronts re-scored with the held-out final metric.",
    "hypervolume_time": "Normalised hypervolume of each strategy's fronts against simulated time.",
}

METHODS = """\
* **Incumbent.** After each finished evaluation the runner records the incumbent (best *observed*
  search score so far) with its held-out final metric, its regret (best final metric in the space
  minus the incumbent's) and its size. Strategies never see the final metric.
* **Step semantics.** A run's incumbent at time *t* (or after *k* evaluations) is the one recorded
  in its last evaluation finished at or before *t*; after its last evaluation a run keeps its
  incumbent until the end of the budget.
* **Before the first result** a run has no incumbent (undefined, not zero). A curve point is drawn
  only where every completed run of the strategy has an incumbent, so early means are not biased
  towards runs whose first evaluation happened to be cheap.
* **Bands.** Mean over seeds with a 95% percentile bootstrap band ({n_boot} resamples of runs, seed
  {seed}); median with the interquartile range in the "median" figures.
* **Regret area (AUC).** The incumbent's regret integrated over *linear* simulated time (or over
  evaluations, each evaluation counting for one unit) from the run's first incumbent to the end of
  the budget, divided by the length of that window: a time-averaged regret in the final metric's
  units, comparable across budgets. Lower is better; 0 means the best architecture was found at once.
* **Failed runs** (a strategy raised, or the run did not finish) are counted and listed above,
  and excluded from every curve, table and test.
* **Tests** (scipy.stats). Same final accuracy: TOST equivalence with two one-sided Welch t-tests
  against a margin of ±{margin:g} in the final metric's units (percentage points for accuracies),
  with a two-sided Mann-Whitney U test of difference beside it. Anytime performance (regret area
  over {anytime_text}) and model size: one-sided Mann-Whitney U. Effect sizes: Cliff's delta (the
  rank-biserial correlation; evolution versus RL, so a negative delta means evolution's values tend
  to be lower) and differences of means (Welch CI) and medians (bootstrap CI). alpha = {alpha:g};
  the three claims are separate hypotheses and are not corrected for multiplicity; comparisons
  with the reference are Benjamini-Hochberg adjusted within each quantity.
"""


def write_report(study_dir: Path, out_dir: Path | None = None, study: Any = None, *,
                 rl: str = DEFAULT_RL, evolution: str = DEFAULT_EVOLUTION,
                 reference: str = DEFAULT_EVOLUTION, margin: float = 0.1, alpha: float = 0.05,
                 n_boot: int = 1000, seed: int = 0, n_points: int = 100,
                 anytime: str = "time") -> dict[str, Path]:
    """Analyse a study and write its report; returns name -> path of everything written.

    ``study`` (an object with ``trajectories``, ``runs`` and optionally ``meta``) is loaded with
    ``nasarena.results.store.load_study(study_dir)`` when not given. ``out_dir`` defaults to
    ``study_dir/report``. ``seed`` seeds the only random step (bootstrap resampling), so the same
    study always gives the same report. ``anytime`` ("time" or "evals") picks the regret area the
    anytime claim is tested on: over simulated time (default) or over evaluations.
    """
    if anytime not in ("time", "evals"):
        raise ConfigError(f"anytime must be 'time' or 'evals', got {anytime!r}")
    study_dir = Path(study_dir)
    if study is None:
        from nasarena.results.store import load_study
        study = load_study(study_dir)
    traj, runs = study.trajectories, study.runs
    if runs is None or len(runs) == 0:
        raise DataError(f"{study_dir} holds no finished runs; run a study into it first "
                        f"(`nasarena run ... --out {study_dir}`)")
    out = Path(out_dir) if out_dir is not None else study_dir / "report"
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)

    table = run_table(traj, runs)
    curves = anytime_curves(traj, runs, rng, n_boot=n_boot, n_points=n_points)
    summary = strategy_summary(table)
    verdict_df = verdict(table, rng, rl=rl, evolution=evolution, margin=margin, alpha=alpha,
                         anytime=f"auc_{anytime}")
    comparisons = compare_to_reference(table, rng, reference=reference, alpha=alpha)
    time_label = ("measured time (s, log scale)" if set(runs[S.ORACLE]) == {"live"}
                  else "simulated time (s, log scale)")
    figures = make_figures(curves, table, out / "figures", time_label=time_label)

    paths: dict[str, Path] = {}
    tables = {"summary": summary, "verdict": verdict_df, "comparisons": comparisons, "curves": curves,
              "runs": table.drop(columns=[c for c in ("config",) if c in table]),
              "failed_runs": table.loc[table["failed"], [c for c in _FAILED_COLS if c in table]]}
    for name, df in tables.items():
        paths[f"{name}.csv"] = out / f"{name}.csv"
        df.to_csv(paths[f"{name}.csv"], index=False)
    for name, fmts in figures.items():
        for fmt, path in fmts.items():
            paths[f"figures/{name}.{fmt}"] = path

    extra = _multi_objective_blocks(study, out, paths, n_boot=n_boot, seed=seed)
    context = describe_study(table, getattr(study, "meta", None) or [], study_dir)
    sections = _sections(context, table, summary, verdict_df, comparisons, figures, out,
                         dict(rl=rl, evolution=evolution, reference=reference, margin=margin,
                              alpha=alpha, n_boot=n_boot, seed=seed,
                              anytime_text="simulated time" if anytime == "time" else "evaluations"), extra)
    paths["report.md"] = out / "report.md"
    paths["report.md"].write_text(render_markdown(sections), encoding="utf-8")
    paths["report.html"] = out / "report.html"
    paths["report.html"].write_text(render_html(sections), encoding="utf-8")
    return paths


_FAILED_COLS = (S.RUN_ID, S.STRATEGY, S.ORACLE, S.DATASET, S.SEED, "status", "error")


def multi_objectives(meta: Sequence[dict]) -> tuple[str, str] | None:
    """("score", cost) when some run's strategy optimised several objectives (its recorded
    ``strategy_config["objectives"]``), else None: only then is a Pareto section worth drawing."""
    for record in meta:
        config = record.get("strategy_config") if isinstance(record, dict) else None
        objectives = config.get("objectives") if isinstance(config, dict) else None
        if isinstance(objectives, list | tuple) and len(objectives) > 1:
            return str(objectives[0]), str(objectives[1])
    return None


def _multi_objective_blocks(study: Any, out: Path, paths: dict[str, Path], n_boot: int,
                            seed: int) -> list[tuple[str, Any]]:
    """The Pareto/hypervolume section from :mod:`nasarena.results.pareto`, for multi-objective studies.

    Its files join ``paths``; a study without a usable cost column gets a sentence saying so
    rather than a failed report.
    """
    objectives = multi_objectives(getattr(study, "meta", None) or [])
    if objectives is None:
        return []
    try:
        from nasarena.results.pareto import write_pareto
    except ImportError:  # the multi-objective module is optional
        return [("h2", "Multi-objective"), ("p", "This study has multi-objective runs, but "
                                                 "nasarena.results.pareto is not installed.")]
    title = f"Multi-objective: {objectives[0]} vs {objectives[1]}"
    try:
        mo_paths, markdown = write_pareto(study, out, objectives, n_boot=n_boot, seed=seed)
    except NasarenaError as exc:
        return [("h2", title), ("p", f"No Pareto analysis: {exc}")]
    paths.update(mo_paths)
    text = [ln for ln in markdown.splitlines() if ln.strip() and not ln.lstrip().startswith(("#", "|", "!["))]
    blocks: list[tuple[str, Any]] = [("h2", title)]
    if text:  # the module's own explanation (reference point, normalisation)
        blocks.append(("p", " ".join(text)))
    if "hypervolume.csv" in mo_paths:
        blocks.append(("table", pd.read_csv(mo_paths["hypervolume.csv"])))
    for key, path in mo_paths.items():
        if key.startswith("figures/") and key.endswith(".png"):
            caption = FIGURE_CAPTIONS.get(path.stem, path.stem.replace("_", " "))
            blocks.append(("figure", (path.stem, caption, path, out)))
    return blocks


def _uniq(values: pd.Series) -> str:
    vals = [v for v in pd.unique(values.dropna()) if not (isinstance(v, float) and math.isnan(v))]
    return ", ".join(_fmt(v) for v in sorted(vals, key=str)) if vals else "—"


def _budget_text(runs: pd.DataFrame) -> str:
    parts = []
    if "max_time" in runs and pd.to_numeric(runs["max_time"], errors="coerce").notna().any():
        t = pd.to_numeric(runs["max_time"], errors="coerce").dropna().unique()
        parts.append("simulated time " + ", ".join(f"{v:,.0f} s" for v in sorted(t)))
    if "max_evals" in runs and pd.to_numeric(runs["max_evals"], errors="coerce").notna().any():
        e = pd.to_numeric(runs["max_evals"], errors="coerce").dropna().unique()
        parts.append("evaluations " + ", ".join(f"{int(v)}" for v in sorted(e)))
    return " and ".join(parts) or "not recorded"


def _col(df: pd.DataFrame, name: str) -> pd.Series:
    return df[name] if name in df else pd.Series(dtype=object)


def describe_study(table: pd.DataFrame, meta: Sequence[dict], study_dir: Path) -> list[tuple[str, str]]:
    """What was searched on and what is reported, as (field, value) lines for the report header."""
    seeds = table.groupby(S.STRATEGY)[S.SEED].agg(["nunique", "min", "max"])
    seed_text = "; ".join(f"{n}: {r['nunique']} seeds ({r['min']}–{r['max']})" for n, r in seeds.iterrows())
    lines = [("study", str(study_dir)), ("oracle", _uniq(table[S.ORACLE])),
             ("dataset", _uniq(table[S.DATASET])),
             ("search metric (what strategies saw)", _uniq(_col(table, "search_metric"))),
             ("reported metric (held out, harness only)", _uniq(_col(table, "final_metric"))),
             ("best final metric in the space", _uniq(_col(table, "best_final"))),
             ("budget per run", _budget_text(table)), ("workers per run", _uniq(table[S.N_WORKERS])),
             ("strategies", _uniq(table[S.STRATEGY])), ("seeds", seed_text),
             ("runs", f"{len(table)} ({int((~table['failed']).sum())} completed, "
                      f"{int(table['failed'].sum())} failed)")]
    versions = next((m.get("versions") for m in meta if isinstance(m, dict) and m.get("versions")), None)
    if versions:
        text = (versions if isinstance(versions, str)
                else ", ".join(f"{k} {v}" for k, v in dict(versions).items()))
        lines.append(("package versions (first run)", text))
    return lines


def _summary_display(summary: pd.DataFrame) -> pd.DataFrame:
    rows = []
    for _, r in summary.iterrows():
        rows.append({
            **{k: r[k] for k in GROUP_KEYS}, "runs (ok/failed)": f"{r['n_ok']}/{r['n_failed']}",
            "final mean ± sd": (f"{_fmt(r['final_mean'])} ± {_fmt(r['final_sd'])}"
                                if pd.notna(r["final_mean"]) else "—"),
            "final median": _fmt(r["final_median"]), "regret mean": _fmt(r["regret_mean"]),
            "params median (M)": _fmt(r["params_median"]), "regret AUC time": _fmt(r["auc_time_mean"]),
            "regret AUC evals": _fmt(r["auc_evals_mean"]), "evals mean": _fmt(r["evals_mean"], 1),
            "wall s mean": _fmt(r.get("wall_seconds_mean"), 2)})
    return pd.DataFrame(rows)


def _verdict_display(v: pd.DataFrame) -> pd.DataFrame:
    rows = []
    for _, r in v.iterrows():
        tested = r["verdict"] != "not tested"
        rows.append({
            **{k: r[k] for k in SETTING_KEYS}, "claim": r["claim"], "verdict": r["verdict"],
            "test": r.get("test", "—") if tested else "—",
            "n evo / rl": f"{r['n_evolution']} / {r['n_rl']}",
            "median evo / rl": (f"{_fmt(r.get('median_evolution'))} / {_fmt(r.get('median_rl'))}"
                                if tested else "—"),
            "mean diff [95% CI]": (f"{_fmt(r['mean_diff'])} [{_fmt(r['mean_diff_low'])}, "
                                   f"{_fmt(r['mean_diff_high'])}]") if tested else "—",
            "Cliff's δ": _fmt(r.get("cliffs_delta"), 2) if tested else "—",
            "p": _fmt(r.get("p_value"), 4) if tested else "—",
            "p (difference)": _fmt(r.get("p_difference"), 4) if tested else "—"})
    return pd.DataFrame(rows)


def _comparisons_display(c: pd.DataFrame) -> pd.DataFrame:
    if c.empty:
        return c
    keep = c[c["quantity"].isin(["final", "auc_time", "final_params"])]
    return pd.DataFrame({
        **{k: keep[k] for k in SETTING_KEYS}, "strategy": keep[S.STRATEGY], "quantity": keep["quantity"],
        "median / ref": [f"{_fmt(a)} / {_fmt(b)}"
                         for a, b in zip(keep["median_x"], keep["median_y"], strict=True)],
        "Cliff's δ": keep["cliffs_delta"].map(lambda x: _fmt(x, 2)),
        "p (BH)": keep["p_adjusted"].map(lambda x: _fmt(x, 4)), "vs reference": keep["outcome"]})


def _sections(context: list[tuple[str, str]], table: pd.DataFrame, summary: pd.DataFrame, v: pd.DataFrame,
              comparisons: pd.DataFrame, figures: dict[str, dict[str, Path]], out: Path,
              opts: dict[str, Any], extra: list[tuple[str, Any]]) -> list[tuple[str, Any]]:
    """The report as a list of blocks (kind, payload), rendered by both the md and html writers."""
    labels = metric_labels(table)
    label = "; ".join(sorted(set(labels.values()))) or "final metric"
    blocks: list[tuple[str, Any]] = [("h1", "nasarena study report")]
    blocks.append(("p", f"Reported metric: **{label}** of the incumbent (the architecture with the best "
                        f"search score so far), with regret to the best architecture in the space."))
    blocks += [("h2", "What was searched"), ("kv", context)]
    failed = table[table["failed"]]
    if len(failed):
        blocks.append(("h3", f"Failed runs ({len(failed)}), excluded from all results"))
        shown = failed.assign(reason=_col(failed, "error").reindex(failed.index).map(_last_line))
        blocks.append(("table", shown[[S.RUN_ID, S.STRATEGY, S.SEED, "status", "reason"]]))
        blocks.append(("details", [(r[S.RUN_ID], str(r.get("error") or "")) for _, r in failed.iterrows()]))
    blocks += [("h2", "Summary per strategy"),
               ("p", "Final = final metric of the incumbent at the end of the budget; regret AUC = "
                     "time- or evaluation-averaged regret (see Methods), lower is better."),
               ("table", _summary_display(summary))]
    blocks.append(("h2", f"Verdict: RL ({opts['rl']}) vs evolution ({opts['evolution']}), Real et al. 2019"))
    if v.empty:
        blocks.append(("p", "No setting has completed runs; nothing was tested."))
    else:
        blocks.append(("table", _verdict_display(v)))
        blocks.append(("list", [f"**{r['claim']}** — {r['verdict']}. {r['sentence']}"
                                for _, r in v.iterrows()]))
    blocks.append(("h2", f"Every strategy vs the reference ({opts['reference']})"))
    if comparisons.empty:
        blocks.append(("p", f"The reference strategy {opts['reference']!r} is not in this study."))
    else:
        names = ", ".join(f"{k} = {QUANTITY_NAMES[k]}" for k in ("final", "auc_time", "final_params"))
        blocks += [("p", f"Two-sided Mann-Whitney U, Benjamini-Hochberg adjusted; Cliff's δ of the "
                         f"strategy versus the reference. Quantities: {names}. All quantities are in "
                         f"comparisons.csv."),
                   ("table", _comparisons_display(comparisons))]
    blocks.append(("h2", "Figures"))
    for name, fmts in figures.items():
        blocks.append(("figure", (name, FIGURE_CAPTIONS.get(name, name), fmts["png"], out)))
    blocks += extra
    blocks += [("h2", "Methods"), ("md", METHODS.format(**opts))]
    return blocks


def _last_line(text: Any) -> str:
    lines = [ln for ln in str(text or "").strip().splitlines() if ln.strip()]
    return lines[-1].strip() if lines else "(no error recorded)"
