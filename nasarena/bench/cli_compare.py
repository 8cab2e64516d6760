"""``nasarena compare PATH.py:Class``: your strategy next to the baselines, with a fair protocol.

The researcher's workflow in one command: the strategy (a ``path/to/file.py:Class`` or
``package.module:Class`` that subclasses :class:`~nasarena.strategies.base.Strategy`) first passes
the conformance suite (:func:`~nasarena.strategies.conformance.check_strategy`), then runs with the
baselines on the default benchmark (NB201-lite cifar10-valid, the budget of ``nasarena bench``),
with the same seeds, budget and workers for everyone; the study report is written with the new
strategy as the reference of the pairwise tests, plus ``compare.md`` / ``compare.csv``: its rank among
the baselines and the test against each one. Also ``nasarena pareto STUDY``: the multi-objective
section (fronts, hypervolume over time, Pareto plots) of any study.
"""

from __future__ import annotations

import argparse
import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from nasarena.bench.cli_run import (
    BENCH_DATASET,
    BENCH_ORACLE,
    BENCH_STRATEGIES,
    BENCH_TRAININGS,
    add_executor_args,
)
from nasarena.bench.identity import absolute_spec, strategy_label
from nasarena.errors import ConfigError, StrategyError
from nasarena.registry import STRATEGIES
from nasarena.results import schema as S

DEFAULT_BASELINES: tuple[str, ...] = BENCH_STRATEGIES
QUANTITY_TEXT = {"final": "final metric", "regret": "final regret", "auc_time": "regret area (time)",
                 "auc_evals": "regret area (evaluations)", "final_params": "final params"}


@dataclass(frozen=True)
class CompareResult:
    """What :func:`compare` produced: the label used in tables, the folders and the two tables."""

    label: str
    study_dir: Path
    report: dict[str, Path]
    ranks: pd.DataFrame
    tests: pd.DataFrame


def run_conformance(factory: Any, label: str, **kwargs: Any) -> None:
    """Raise :class:`StrategyError` listing every failed conformance check."""
    from nasarena.strategies.conformance import check_strategy

    try:
        check_strategy(factory, **kwargs)
    except AssertionError as exc:
        raise StrategyError(f"{label} does not pass the conformance suite, so a comparison would not be "
                            f"fair or would crash; fix these (or pass --skip-conformance):\n{exc}") from None


def rank_table(table: pd.DataFrame, label: str) -> pd.DataFrame:
    """Per setting: every strategy's mean final metric and regret area, with ranks (1 = best)."""
    from nasarena.results.aggregate import strategy_summary

    summary = strategy_summary(table)
    summary["rank_final"] = summary.groupby([S.ORACLE, S.DATASET, S.N_WORKERS])["final_mean"] \
        .rank(ascending=False, method="min")
    summary["rank_auc_time"] = summary.groupby([S.ORACLE, S.DATASET, S.N_WORKERS])["auc_time_mean"] \
        .rank(ascending=True, method="min")
    summary[["rank_final", "rank_auc_time"]] = summary[["rank_final", "rank_auc_time"]].astype("Int64")
    summary["yours"] = summary[S.STRATEGY] == label
    return summary.sort_values(["rank_final", "rank_auc_time"], kind="stable", ignore_index=True)


def tests_against_baselines(table: pd.DataFrame, label: str, seed: int = 0) -> pd.DataFrame:
    """Your strategy versus each baseline (Wilcoxon signed-rank on the shared seeds, else Mann-Whitney
    U; BH-adjusted), phrased from your side."""
    from nasarena.results.stats import compare_to_reference

    c = compare_to_reference(table, np.random.default_rng(seed), reference=label)
    if c.empty:
        return c
    flip = {"better": "worse", "worse": "better"}
    out = pd.DataFrame({
        "baseline": c[S.STRATEGY], "quantity": c["quantity"], "better_is": c["better"],
        "yours_mean": c["mean_y"], "baseline_mean": c["mean_x"], "n_yours": c["n_y"],
        "n_baseline": c["n_x"], "cliffs_delta_yours_vs_baseline": -c["cliffs_delta"],
        "p_value": c["p_value"], "p_adjusted": c["p_adjusted"],
        "yours_is": c["outcome"].map(lambda o: flip.get(o, o)),
    })
    return out.sort_values(["quantity", "baseline"], kind="stable", ignore_index=True)


def md_table(df: pd.DataFrame) -> str:
    """A GitHub-markdown table (floats to 3 decimals, pipes escaped)."""
    def cell(v: Any) -> str:
        text = f"{v:.3f}" if isinstance(v, float) else str(v)
        return text.replace("|", "\\|")

    lines = ["| " + " | ".join(map(str, df.columns)) + " |", "|" + "---|" * len(df.columns)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in df.itertuples(index=False)]
    return "\n".join(lines)


def _ranked_row(ranks: pd.DataFrame) -> Any:
    """Your strategy's row of the rank table, or None if it has no rank (no finished evaluation)."""
    mine = ranks[ranks["yours"]]
    if not len(mine) or pd.isna(mine.iloc[0]["rank_final"]) or pd.isna(mine.iloc[0]["rank_auc_time"]):
        return None
    return mine.iloc[0]


def _markdown(label: str, spec: str, ranks: pd.DataFrame, tests: pd.DataFrame, config: Any) -> str:
    rk = ranks[[S.STRATEGY, "n_ok", "final_mean", "final_sd", "auc_time_mean", "params_mean",
                "rank_final", "rank_auc_time"]].copy()
    rk[S.STRATEGY] = [f"**{s}** (yours)" if s == label else s for s in rk[S.STRATEGY]]
    tt = tests.assign(quantity=tests["quantity"].map(lambda q: QUANTITY_TEXT.get(q, q)))
    n = len(ranks)
    mine = _ranked_row(ranks)
    head = (f"`{label}` ranks {int(mine.rank_final)} of {n} on mean final metric and "
            f"{int(mine.rank_auc_time)} of {n} on mean regret area over time." if mine is not None
            else f"`{label}` has no completed run with a finished evaluation (see the report's failed "
                 f"runs; if nothing fit the budget, raise --budget-time), so it has no rank.")
    return "\n".join([
        f"# {label} versus the baselines", "",
        f"Strategy `{spec}`; oracle {config.oracle} {config.oracle_kwargs.get('dataset', '')}, "
        f"seeds {config.seeds[0]}-{config.seeds[-1]} ({len(config.seeds)}), budget "
        f"{config.budget.to_dict()}, {config.n_workers} worker(s) per run; same for every strategy.", "",
        head, "", "## Ranks (1 = best)", "", md_table(rk), "",
        "## Tests against each baseline", "",
        "Two-sided Wilcoxon signed-rank on matched seeds (Mann-Whitney U where seeds do not match) "
        "per baseline and quantity, Benjamini-Hochberg adjusted over the "
        "baselines; Cliff's delta is yours versus the baseline (positive: yours tends to be larger). "
        "`yours_is` reads the difference in the quantity's good direction at alpha = 0.05.", "",
        md_table(tt), "", "The full study report (curves, verdict, figures) is `report.md` / "
        "`report.html` in this folder.", ""])


def compare(spec: str, *, baselines: Sequence[str] = DEFAULT_BASELINES, seeds: Sequence[int] = range(30),
            budget: Any = None, n_workers: int = 1, out: Path | None = None, jobs: int | None = None,
            strategy_kwargs: dict[str, Any] | None = None, conformance: bool = True,
            objectives: Sequence[str] | None = None, progress: bool = True,
            executor: Any = None) -> CompareResult:
    """Conformance, then the study (baselines + yours), the report, ranks and tests (see module doc)."""
    from nasarena.bench.cli_run import mean_train_time
    from nasarena.bench.config import Budget, StudyConfig
    from nasarena.bench.study import run_study
    from nasarena.results.aggregate import run_table
    from nasarena.results.report import write_report
    from nasarena.results.store import load_study

    spec = absolute_spec(spec)
    factory = STRATEGIES.resolve(spec)
    label = strategy_label(factory, spec)
    if label in baselines:
        raise ConfigError(f"your strategy's name {label!r} is also a baseline; give the class another "
                          f"`name` or drop it from --baselines")
    kwargs = dict(strategy_kwargs or {})
    if conformance:
        run_conformance(factory, label, **kwargs)
    budget = budget or Budget(max_time=round(BENCH_TRAININGS * mean_train_time(BENCH_DATASET), 3))
    config = StudyConfig(strategies=(*baselines, spec), oracle=BENCH_ORACLE,
                         oracle_kwargs={"dataset": BENCH_DATASET}, seeds=tuple(seeds), budget=budget,
                         n_workers=n_workers, strategy_kwargs={spec: kwargs} if kwargs else {})
    out = Path(out) if out is not None else Path("runs") / f"compare-{label}"
    summary = run_study(config, out, jobs=jobs, progress=progress, executor=executor)
    if progress:
        print(summary)
    study = load_study(out)
    study = dataclasses.replace(
        study, runs=study.runs.assign(**{S.STRATEGY: study.runs[S.STRATEGY].replace({spec: label})}),
        trajectories=study.trajectories.assign(
            **{S.STRATEGY: study.trajectories[S.STRATEGY].astype(str).replace({spec: label})}))
    report = write_report(out, out / "report", study=study, reference=label)
    table = run_table(study.trajectories, study.runs)
    ranks = rank_table(table, label)
    tests = tests_against_baselines(table, label)
    report_dir = out / "report"
    ranks.to_csv(report_dir / "compare_ranks.csv", index=False)
    tests.to_csv(report_dir / "compare.csv", index=False)
    text = _markdown(label, spec, ranks, tests, config)
    if objectives:
        from nasarena.results.pareto import write_pareto

        paths, section = write_pareto(study, report_dir, objectives)
        report.update({f"pareto/{k}": v for k, v in paths.items()})
        text += "\n" + section
    (report_dir / "compare.md").write_text(text, encoding="utf-8")
    report["compare.md"] = report_dir / "compare.md"
    return CompareResult(label, out, report, ranks, tests)


# ---- command line ------------------------------------------------------------------------------
def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``compare`` and ``pareto`` sub-commands."""
    p = subparsers.add_parser(
        "compare", help="check your strategy, run it next to the baselines, rank and test it",
        description=__doc__.split("\n\n")[1] if __doc__ else None)
    p.add_argument("strategy", help="your strategy: path/to/file.py:Class or package.module:Class")
    p.add_argument("--baselines", default=",".join(DEFAULT_BASELINES),
                   help=f"comma-separated registered strategies (default: {','.join(DEFAULT_BASELINES)})")
    p.add_argument("--seeds", default="0-29", help="seeds, e.g. 0-29 (default) or 0,3,5")
    p.add_argument("--budget-time", type=float,
                   help=f"simulated seconds per run (default: {BENCH_TRAININGS} mean full trainings, "
                        f"as `nasarena bench`)")
    p.add_argument("--budget-evals", type=int, help="finished evaluations per run")
    p.add_argument("--workers", type=int, default=1, help="asynchronous workers per run (default 1)")
    p.add_argument("--jobs", type=int,
                   help="processes, at least 1 (default: all cores; 1 runs in this process)")
    p.add_argument("--arg", action="append", default=[], metavar="KEY=VALUE",
                   help="a hyper-parameter of your strategy, repeatable")
    p.add_argument("--objectives", help="e.g. score,params: also write the Pareto section")
    p.add_argument("--out", type=Path, help="study folder (default runs/compare-<name>; resumed if present)")
    p.add_argument("--skip-conformance", action="store_true", help="do not run the conformance suite first")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    add_executor_args(p)
    p.set_defaults(func=cmd_compare)

    q = subparsers.add_parser("pareto", help="Pareto fronts, hypervolume over time and plots of a study",
                              description="Multi-objective section of a stored study (see "
                                          "nasarena.results.pareto for the reference point).")
    q.add_argument("study_dir", type=Path, help="folder of the study")
    q.add_argument("--objectives", default="score,params", help="score,params (default) or score,flops")
    q.add_argument("--out", type=Path, help="output folder (default STUDY_DIR/report/pareto)")
    q.add_argument("--no-final", action="store_true", help="skip the front re-scored with the final metric")
    q.set_defaults(func=cmd_pareto)


def cmd_compare(args: argparse.Namespace) -> int:
    """``nasarena compare``."""
    from nasarena.bench.cli_run import executor_from_args, key_value
    from nasarena.bench.config import Budget, parse_seeds

    budget = None
    if args.budget_time is not None or args.budget_evals is not None:
        budget = Budget(max_time=args.budget_time, max_evals=args.budget_evals)
    baselines = tuple(b.strip() for b in args.baselines.split(",") if b.strip())
    for name in baselines:
        STRATEGIES.resolve(name)  # unknown names list the valid ones
    result = compare(args.strategy, baselines=baselines, seeds=parse_seeds(args.seeds), budget=budget,
                     n_workers=args.workers, out=args.out, jobs=args.jobs,
                     strategy_kwargs=dict(key_value(a) for a in args.arg),
                     conformance=not args.skip_conformance,
                     objectives=args.objectives.split(",") if args.objectives else None,
                     progress=not args.no_progress, executor=executor_from_args(args))
    r = _ranked_row(result.ranks)
    n = len(result.ranks)
    if r is None:
        print(f"{result.label}: no rank (no run with a finished evaluation; see the report)")
    else:
        print(f"{result.label}: rank {int(r.rank_final)}/{n} on final metric ({r.final_mean:.3f}), "
              f"rank {int(r.rank_auc_time)}/{n} on regret area over time")
    print(f"comparison: {result.report['compare.md']}")
    print(f"report:     {result.report['report.html']}")
    return 0


def cmd_pareto(args: argparse.Namespace) -> int:
    """``nasarena pareto``."""
    from nasarena.atomic import ensure_writable_dir
    from nasarena.results.pareto import write_pareto
    from nasarena.results.store import load_study

    out = args.out or args.study_dir / "report" / "pareto"
    study = load_study(args.study_dir)
    ensure_writable_dir(out, "pareto --out")
    paths, _ = write_pareto(study, out, args.objectives, with_final=not args.no_final)
    print(f"pareto: {out} ({len(paths)} files)")
    return 0
