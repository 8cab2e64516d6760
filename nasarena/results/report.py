"""The study report: ``report.md``, a self-contained ``report.html``, CSV tables and figures.

:func:`write_report` is the one entry point (``nasarena report`` and ``nasarena bench`` call it). The
report first says what was searched on (oracle, dataset, search metric, budget, workers, seeds, runs,
failed runs with their errors) and what is reported (the final metric), then the summary per
strategy, the RL-vs-evolution verdict with one sentence per claim, the comparison of every strategy
with a reference, the figures, and the methods (step semantics, bands, areas, tests) in plain words.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from nasarena.errors import ConfigError, DataError, NasarenaError
from nasarena.results import schema as S
from nasarena.results.aggregate import SETTING_KEYS, anytime_curves, run_table, strategy_summary
from nasarena.results.plots import make_figures, metric_labels
from nasarena.results.ranks import RANKED, RankSummary, average_ranks, plot_cd
from nasarena.results.render import fmt as _fmt
from nasarena.results.render import render_html, render_markdown
from nasarena.results.stats import QUANTITY_NAMES, compare_to_reference
from nasarena.results.tables import (
    comparisons_display,
    ranked_summary,
    ranks_display,
    ranks_sentence,
    summary_display,
    verdict_display,
)
from nasarena.results.verdict import DEFAULT_EVOLUTION, DEFAULT_RL, verdict

FIGURE_CAPTIONS: dict[str, str] = {
    "anytime_regret_time": "Regret of the incumbent against simulated time (log axis; top axis in mean "
                           "full trainings): mean over seeds with a 95% bootstrap band (none where "
                           "fewer than two runs).",
    "anytime_regret_time_median": "Regret against simulated time: median over seeds with the "
                                  "interquartile range.",
    "anytime_final_time": "Final metric of the incumbent against simulated time: mean with 95% band.",
    "anytime_regret_evals": "Regret against the number of finished evaluations: mean with 95% band. "
                            "A curve ends where the first of its runs ends; the legend gives the range "
                            "of evaluations the runs reached when it varies.",
    "anytime_regret_evals_median": "Regret against finished evaluations: median with IQR, up to where "
                                   "the first run ends.",
    "anytime_final_evals": "Final metric of the incumbent against finished evaluations: mean with 95% "
                           "band, up to where the first run ends.",
    "final_distribution": "Final metric of the final incumbent of every completed run (points), per "
                          "strategy (box: quartiles, whiskers 1.5 IQR), best median at the top.",
    "params_vs_final": "Size against final metric of the final incumbents (marker area: number of runs).",
    "critical_difference": "Critical-difference diagram (Demšar 2006): average ranks across settings; "
                           "a bar joins strategies whose average ranks differ by less than the Nemenyi "
                           "CD (red), i.e. that are not significantly different.",
}

METHODS = """\
* **Incumbent.** After each finished evaluation the runner records the incumbent (best *observed*
  search score so far) with its held-out final metric, its regret (best final metric in the space
  minus the incumbent's) and its size. Strategies never see the final metric.
* **Step semantics.** A run's incumbent at time *t* (or after *k* evaluations) is the one recorded
  in its last evaluation finished at or before *t*; after its last evaluation a run keeps its
  incumbent until the end of its budget on that axis. On an axis it has no budget on (evaluations,
  for a time budget) a run ends at its last evaluation, and is undefined after it.
* **Curves** are drawn only where every completed run of the strategy is defined: not before all
  have a first incumbent (early means would favour runs whose first evaluation was cheap), and not
  after the first run has ended (so a curve against evaluations stops where its runs stop).
* **Bands.** Mean over seeds with a 95% percentile bootstrap band ({n_boot} resamples of runs, seed
  {seed}); no band where fewer than two runs are defined. Median with the interquartile range in
  the "median" figures.
* **Regret area (AUC).** The incumbent's regret integrated over *linear* simulated time (or over
  evaluations, each evaluation counting for one unit) from the run's first incumbent to the end of
  the budget, divided by the length of that window: a time-averaged regret in the final metric's
  units, comparable across budgets. Lower is better; 0 means the best architecture was found at once.
* **Failed runs** (a strategy raised, or the run did not finish) are counted and listed above,
  and excluded from every curve, table and test.
* **Design: paired or unpaired** (scipy.stats). Strategies of one study share seeds, so runs are
  matched on seed (within a setting, same budget). Where matched pairs cover at least half of the
  runs of both strategies, tests are *paired*: Wilcoxon signed-rank (Pratt's treatment of zero
  differences), a paired TOST and bootstrap intervals that resample pairs; runs without a partner
  are left out and counted. Otherwise *unpaired*: Mann-Whitney U, a Welch TOST and bootstrap
  intervals that resample each strategy's runs independently. The tables name the design used.
* **Intervals.** Every interval in the report is 95%: percentile bootstrap of the mean (or median)
  difference, 2000 resamples. The verdict table shows the location each test is about: the mean
  difference for the equivalence claim (TOST compares means), the median difference (of the matched
  pairs, or of the two groups) for the rank tests. (The TOST decision at alpha = {alpha:g} is
  equivalent to a {tost_level:.0%} interval inside the margin; it is not printed, to keep one level.)
* **Verdict rule**, evolution ({evolution}) minus RL ({rl}), alpha = {alpha:g}, three outcomes.
  *Same final accuracy*: **holds** when TOST against ±{margin:g} (final metric units) gives p < alpha;
  **refuted** when the difference test gives p < alpha *and* the 95% interval of the mean difference
  lies entirely outside ±{margin:g}; **inconclusive** otherwise. *Better anytime performance*
  (regret area over {anytime_text}) and *smaller models*: **holds** when the one-sided test
  "evolution lower" gives p < alpha, **refuted** when the one-sided test "evolution higher" does,
  **inconclusive** otherwise (also when every run has the same value, where no test is possible).
  Effect size: Cliff's delta (the rank-biserial correlation of the two samples; evolution versus
  RL, so a negative delta means evolution's values tend to be lower). The three claims are separate
  hypotheses and are not corrected for multiplicity; comparisons with the reference are
  Benjamini-Hochberg adjusted within each quantity and use the same paired/unpaired rule.
* **Ranks** (studies with several settings). Per setting, strategies are ranked by their mean over
  runs (1 = best, ties share the mean rank); the average ranks are compared with the Friedman test
  and the Nemenyi critical difference (Demšar 2006), over strategies present in every setting. The
  tables are sorted by rank within a setting: mean final metric, then lower regret area.
"""


def write_report(study_dir: Path, out_dir: Path | None = None, study: Any = None, *,
                 rl: str = DEFAULT_RL, evolution: str = DEFAULT_EVOLUTION,
                 reference: str = DEFAULT_EVOLUTION, margin: float = 0.1, alpha: float = 0.05,
                 n_boot: int = 1000, seed: int = 0, n_points: int = 100,
                 anytime: str = "time", hv_reference: tuple[float, float] | None = None) -> dict[str, Path]:
    """Analyse a study and write its report; returns name -> path of everything written.

    ``study`` (an object with ``trajectories``, ``runs`` and optionally ``meta``) is loaded with
    ``nasarena.results.store.load_study(study_dir)`` when not given. ``out_dir`` defaults to
    ``study_dir/report``. ``seed`` seeds the only random step (bootstrap resampling), so the same
    study always gives the same report. ``anytime`` ("time" or "evals") picks the regret area the
    anytime claim is tested on: over simulated time (default) or over evaluations.
    ``hv_reference`` (score, cost) fixes the hypervolume reference point of multi-objective studies.
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
    summary = ranked_summary(strategy_summary(table))
    verdict_df = verdict(table, rng, rl=rl, evolution=evolution, margin=margin, alpha=alpha,
                         anytime=f"auc_{anytime}")
    comparisons = compare_to_reference(table, rng, reference=reference, alpha=alpha)
    ranks = [r for q, higher in RANKED if (r := average_ranks(table, q, higher, alpha)) is not None]
    time_label = ("measured time (s, log scale)" if set(runs[S.ORACLE]) == {"live"}
                  else "simulated time (s, log scale)")
    trainings = mean_training_seconds(table)
    extra_figs = {"critical_difference": lambda: plot_cd(ranks, _RANK_NAMES)} if ranks else {}
    figures = make_figures(curves, table, out / "figures", time_label=time_label,
                           highlight=(evolution, rl), trainings=trainings, extra=extra_figs)

    paths: dict[str, Path] = {}
    tables = {"summary": summary, "verdict": verdict_df, "comparisons": comparisons, "curves": curves,
              "runs": table.drop(columns=[c for c in ("config",) if c in table]),
              "failed_runs": table.loc[table["failed"], [c for c in _FAILED_COLS if c in table]]}
    for r in ranks:
        tables[f"ranks_{r.quantity}"] = r.table()
    for name, df in tables.items():
        paths[f"{name}.csv"] = out / f"{name}.csv"
        df.to_csv(paths[f"{name}.csv"], index=False)
    for name, fmts in figures.items():
        for fmt, path in fmts.items():
            paths[f"figures/{name}.{fmt}"] = path

    extra = _multi_objective_blocks(study, out, paths, n_boot=n_boot, seed=seed,
                                    highlight=(evolution, rl), reference=hv_reference)
    from nasarena.estimators.curves.summary import early_stopping_blocks  # issue 12: rule, tell, saved

    extra += early_stopping_blocks(getattr(study, "meta", None) or [])
    from nasarena.results.supernet import supernet_blocks  # issue 14: ranking quality, drift

    extra += supernet_blocks(getattr(study, "meta", None) or [], out, paths)
    from nasarena.results.inheritance import inheritance_blocks  # issue 13: only with warm starts

    extra += inheritance_blocks(study, table, study_dir, out, paths, np.random.default_rng([seed, 13]),
                                margin=margin, alpha=alpha)
    context = describe_study(table, getattr(study, "meta", None) or [], study_dir, trainings)
    unreadable = getattr(study, "unreadable", None) or []
    if unreadable:  # damaged run files load_study left out: the reader must know the study is partial
        context.append(("run files left out (unreadable)", f"{len(unreadable)}: "
                        f"{', '.join(Path(p).name for p, _ in unreadable)} (rerun the study to redo them)"))
    sections = _sections(context, table, summary, verdict_df, comparisons, ranks, figures, out,
                         dict(rl=rl, evolution=evolution, reference=reference, margin=margin,
                              alpha=alpha, n_boot=n_boot, seed=seed, tost_level=1 - 2 * alpha,
                              anytime_text="simulated time" if anytime == "time" else "evaluations"), extra)
    paths["report.md"] = out / "report.md"
    paths["report.md"].write_text(render_markdown(sections), encoding="utf-8")
    paths["report.html"] = out / "report.html"
    paths["report.html"].write_text(render_html(sections), encoding="utf-8")
    return paths


_RANK_NAMES = {"final": "final metric", "auc_time": "regret area over time"}


def mean_training_seconds(table: pd.DataFrame) -> dict[tuple, float]:
    """Per setting, the mean full-training time (s) of its space, where the oracle's table knows it.

    Why: budgets in seconds mean little to a reader; "150 mean full trainings" is the unit of the
    NAS literature. Known for ``nb201-lite`` (the seed-mean 200-epoch training time averaged over
    all architectures, as ``nasarena bench`` sizes its budget); other oracles are left out.
    """
    out: dict[tuple, float] = {}
    for setting in table[list(SETTING_KEYS)].drop_duplicates().itertuples(index=False):
        oracle, dataset = setting[0], setting[1]
        if oracle != "nb201-lite":
            continue
        try:
            from nasarena.estimators.nb201_lite import load_table
            times = load_table(str(dataset)).train_time
        except (NasarenaError, OSError, KeyError, ImportError):
            continue
        t = np.asarray(times, float)
        counts = np.isfinite(t).sum(axis=1)
        per_arch = np.nansum(t, axis=1)[counts > 0] / counts[counts > 0]
        if per_arch.size:
            out[tuple(setting)] = float(per_arch.mean())
    return out


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


def _multi_objective_blocks(study: Any, out: Path, paths: dict[str, Path], n_boot: int, seed: int,
                            highlight: Sequence[str] = (),
                            reference: tuple[float, float] | None = None) -> list[tuple[str, Any]]:
    """The Pareto/hypervolume section from :mod:`nasarena.results.pareto`, for multi-objective studies.

    Its files join ``paths``; figure captions are the module's own (they state the reference point);
    a study without a usable cost column gets a sentence saying so rather than a failed report.
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
        mo_paths, markdown = write_pareto(study, out, objectives, n_boot=n_boot, seed=seed,
                                          highlight=highlight, reference=reference)
    except NasarenaError as exc:
        return [("h2", title), ("p", f"No Pareto analysis: {exc}")]
    paths.update(mo_paths)
    lines = markdown.splitlines()
    text = [ln for ln in lines if ln.strip() and not ln.lstrip().startswith(("#", "|", "!["))]
    captions = dict((m.group(2), m.group(1)) for ln in lines
                    if (m := re.match(r"!\[(.*)\]\(figures/(.+)\.png\)", ln.strip())))
    blocks: list[tuple[str, Any]] = [("h2", title)]
    if text:  # the module's own explanation (reference point, normalisation)
        blocks.append(("p", " ".join(text)))
    if "hypervolume.csv" in mo_paths:
        hv = pd.read_csv(mo_paths["hypervolume.csv"]).sort_values("hv_final_mean", ascending=False)
        nan = pd.Series(np.nan, index=hv.index)
        blocks.append(("table", pd.DataFrame({
            "strategy": hv[S.STRATEGY], "hypervolume at the end (mean over runs)": hv["hv_final_mean"],
            "sd": hv.get("hv_final_sd", nan),
            "front size (mean)": [f"{v:.1f}" for v in hv.get("front_size_mean", nan)]})))
    for key, path in mo_paths.items():
        if key.startswith("figures/") and key.endswith(".png"):
            caption = captions.get(path.stem) or FIGURE_CAPTIONS.get(path.stem, path.stem.replace("_", " "))
            blocks.append(("figure", (path.stem, caption, path, out)))
    return blocks


def _uniq(values: pd.Series) -> str:
    vals = [v for v in pd.unique(values.dropna()) if not (isinstance(v, float) and math.isnan(v))]
    return ", ".join(_fmt(v) for v in sorted(vals, key=str)) if vals else "—"


def budget_text(runs: pd.DataFrame, trainings: dict[tuple, float] | None = None) -> str:
    """The budget per run in seconds (and mean full trainings, where known) and/or evaluations."""
    parts = []
    if "max_time" in runs and pd.to_numeric(runs["max_time"], errors="coerce").notna().any():
        t = sorted(pd.to_numeric(runs["max_time"], errors="coerce").dropna().unique())
        per = sorted(set((trainings or {}).values()))
        if len(per) == 1:
            text = ", ".join(f"{v:,.0f} s (= {v / per[0]:,.4g} mean full trainings of "
                             f"{per[0]:,.0f} s)" for v in t)
        else:
            text = ", ".join(f"{v:,.0f} s" for v in t)
            if per:
                text += " (" + "; ".join(f"{v / m:,.4g} mean full trainings on {k[1]}" for v in t
                                         for k, m in sorted((trainings or {}).items(), key=str)) + ")"
        parts.append("simulated time " + text)
    if "max_evals" in runs and pd.to_numeric(runs["max_evals"], errors="coerce").notna().any():
        e = pd.to_numeric(runs["max_evals"], errors="coerce").dropna().unique()
        parts.append("evaluations " + ", ".join(f"{int(v)}" for v in sorted(e)))
    return " and ".join(parts) or "not recorded"


def _col(df: pd.DataFrame, name: str) -> pd.Series:
    return df[name] if name in df else pd.Series(dtype=object)


def describe_study(table: pd.DataFrame, meta: Sequence[dict], study_dir: Path,
                   trainings: dict[tuple, float] | None = None) -> list[tuple[str, str]]:
    """What was searched on and what is reported, as (field, value) lines for the report header."""
    seeds = table.groupby(S.STRATEGY)[S.SEED].agg(["nunique", "min", "max"])
    span = {n: (f"1 seed ({r['min']})" if r["nunique"] == 1
                else f"{r['nunique']} seeds ({r['min']}–{r['max']})") for n, r in seeds.iterrows()}
    seed_text = (f"{next(iter(span.values()))} for every strategy" if len(set(span.values())) == 1 else
                 "; ".join(f"{n}: {text}" for n, text in span.items()))
    lines = [("study", str(study_dir)), ("oracle", _uniq(table[S.ORACLE])),
             ("dataset", _uniq(table[S.DATASET])),
             ("search metric (what strategies saw)", _uniq(_col(table, "search_metric"))),
             ("reported metric (held out, harness only)", _uniq(_col(table, "final_metric"))),
             ("best final metric in the space", _uniq(_col(table, "best_final"))),
             ("budget per run", budget_text(table, trainings)),
             ("workers per run", _uniq(table[S.N_WORKERS])),
             ("strategies", _uniq(table[S.STRATEGY])), ("seeds", seed_text),
             ("runs", f"{len(table)} ({int((~table['failed']).sum())} completed, "
                      f"{int(table['failed'].sum())} failed)")]
    no_eval = int(((~table["failed"]) & (table["evals"] == 0)).sum()) if "evals" in table else 0
    if no_eval:
        lines.append(("runs without a finished evaluation", f"{no_eval} (nothing fit the budget; "
                                                              f"they have no final metric)"))
    versions = next((m.get("versions") for m in meta if isinstance(m, dict) and m.get("versions")), None)
    if versions:
        text = (versions if isinstance(versions, str)
                else ", ".join(f"{k} {v}" for k, v in dict(versions).items()))
        lines.append(("package versions (first run)", text))
    return lines


def _sections(context: list[tuple[str, str]], table: pd.DataFrame, summary: pd.DataFrame, v: pd.DataFrame,
              comparisons: pd.DataFrame, ranks: list[RankSummary], figures: dict[str, dict[str, Path]],
              out: Path, opts: dict[str, Any], extra: list[tuple[str, Any]]) -> list[tuple[str, Any]]:
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
               ("p", "Sorted by rank within each setting (mean final metric, then lower regret area). "
                     "Final = final metric of the incumbent at the end of the budget; regret AUC = "
                     "time- or evaluation-averaged regret (see Methods), lower is better; all means "
                     "and medians are over the completed runs (seeds)."),
               ("table", summary_display(summary))]
    blocks.append(("h2", f"Verdict: RL ({opts['rl']}) vs evolution ({opts['evolution']}), Real et al. 2019"))
    if v.empty:
        blocks.append(("p", "No setting has completed runs; nothing was tested."))
    else:
        counts = v["verdict"].value_counts()
        blocks.append(("p", "Each claim **holds** (the data show it), is **refuted** (the data show the "
                            "opposite) or is **inconclusive** (neither); the rule is in Methods. This "
                            "study: " + ", ".join(f"{counts[o]} {o}" for o in
                                                  ("holds", "refuted", "inconclusive", "not tested")
                                                  if o in counts) + "."))
        if (v["verdict"] != "not tested").any():
            blocks.append(("table", verdict_display(v)))
        several = v[list(SETTING_KEYS)].drop_duplicates().shape[0] > 1
        blocks.append(("list", [f"**{r['claim']}**"
                                + (f" ({' · '.join(str(r[k]) for k in SETTING_KEYS)})" if several else "")
                                + f" — {r['verdict']}. {r['sentence']}" for _, r in v.iterrows()]))
    blocks.append(("h2", f"Every strategy vs the reference ({opts['reference']})"))
    if comparisons.empty:
        blocks.append(("p", f"The reference strategy {opts['reference']!r} is not in this study."))
    else:
        names = ", ".join(f"{k} = {QUANTITY_NAMES[k]}" for k in ("final", "auc_time", "final_params"))
        blocks += [("p", f"Two-sided Wilcoxon signed-rank on matched seeds (paired) or Mann-Whitney U "
                         f"(unpaired), Benjamini-Hochberg adjusted; Cliff's δ of the strategy versus the "
                         f"reference. Quantities: {names}. Strategies in rank order; all quantities "
                         f"are in comparisons.csv."),
                   ("table", comparisons_display(comparisons, summary))
                   if comparisons["p_value"].notna().any() else
                   ("p", "Nothing could be tested: every comparison needs at least two completed runs "
                         "of both strategies with a finite value.")]
    if ranks:
        blocks.append(("h2", "Average ranks across settings (Demšar 2006)"))
        for r in ranks:
            blocks += [("p", ranks_sentence(r, _RANK_NAMES.get(r.quantity, r.quantity))),
                       ("table", ranks_display(r))]
    blocks.append(("h2", "Figures"))
    for name, fmts in figures.items():
        blocks.append(("figure", (name, FIGURE_CAPTIONS.get(name, name), fmts["png"], out)))
    blocks += extra
    blocks += [("h2", "Methods"), ("md", METHODS.format(**opts))]
    return blocks


def _last_line(text: Any) -> str:
    lines = [ln for ln in str(text or "").strip().splitlines() if ln.strip()]
    return lines[-1].strip() if lines else "(no error recorded)"
