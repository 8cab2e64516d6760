"""``nasarena report``: analyse a finished (or partly finished) study and write its report."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from nasarena.atomic import ensure_writable_dir
from nasarena.errors import ConfigError, DataError
from nasarena.results.schema import DEFAULT_EVOLUTION, DEFAULT_RL

if TYPE_CHECKING:
    from nasarena.results.store import Study


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``report`` sub-command (called by :func:`nasarena.bench.cli.build_parser`)."""
    p = subparsers.add_parser(
        "report", help="write report.md, a self-contained report.html, CSV tables and figures for a study",
        description="Aggregate a study's runs (anytime curves, finals, regret areas), test the "
                    "RL-vs-evolution claims of Real et al. 2019, compare every strategy with a "
                    "reference, and write report.md, report.html (figures embedded), CSVs and PNG/SVG "
                    "figures. Failed runs are listed and excluded.")
    p.add_argument("study_dir", type=Path, help="folder of the study (one Parquet file per run)")
    p.add_argument("--out", type=Path, default=None, help="output folder (default: STUDY_DIR/report)")
    # default None: a name the user gives must be in the study; the defaults may be absent
    p.add_argument("--reference", default=None,
                   help=f"strategy every other one is compared with (default: {DEFAULT_EVOLUTION})")
    p.add_argument("--rl", default=None, help=f"the RL strategy of the verdict (default: {DEFAULT_RL})")
    p.add_argument("--evolution", default=None,
                   help=f"the evolution strategy of the verdict (default: {DEFAULT_EVOLUTION})")
    p.add_argument("--margin", type=float, default=0.1,
                   help="equivalence margin of the final-accuracy TOST, in the final metric's units "
                        "(percentage points for accuracies; default: 0.1)")
    p.add_argument("--anytime", choices=("time", "evals"), default="time",
                   help="test the anytime claim on the regret area over simulated time (default) or "
                        "over evaluations")
    p.add_argument("--alpha", type=float, default=0.05, help="significance level (default: 0.05)")
    p.add_argument("--bootstrap", type=int, default=1000,
                   help="bootstrap resamples for the curve bands (default: 1000)")
    p.add_argument("--seed", type=int, default=0, help="seed of the bootstrap (default: 0)")
    p.add_argument("--hv-reference", default=None, metavar="SCORE,COST",
                   help="hypervolume reference point of multi-objective studies, e.g. 85,1.6 "
                        "(default: the study's nadir; fix it to compare studies)")
    p.set_defaults(func=run_report)


def _check_usable(study: Study, args: argparse.Namespace) -> None:
    """Refuse, in one line, strategy names the study lacks; warn when no evaluation finished."""
    present = sorted(set(study.runs["strategy"].astype(str)))
    for flag in ("reference", "rl", "evolution"):
        name = getattr(args, flag)
        if name is not None and name not in present:
            raise ConfigError(f"--{flag} {name!r} is not a strategy of {args.study_dir}; it has: "
                              f"{', '.join(present)}")
    traj = study.trajectories
    if not len(traj) or not traj["ok"].any():
        budgets = sorted({str(b) for b in study.runs["max_time"].dropna()})
        print(f"nasarena: warning: no evaluation finished in any of the {len(study.runs)} runs of "
              f"{args.study_dir}, so the report has no final metric; the budget (max_time "
              f"{', '.join(budgets) or 'n/a'} s) is probably shorter than one evaluation: rerun with a "
              f"larger --budget-time", file=sys.stderr)


def hv_reference(text: str | None) -> tuple[float, float] | None:
    """``"85,1.6"`` -> (85.0, 1.6); None stays None."""
    if text is None:
        return None
    parts = text.split(",")
    try:
        score, cost = (float(v) for v in parts)
    except ValueError:
        raise ConfigError(f"--hv-reference takes SCORE,COST (two numbers, e.g. 85,1.6), "
                          f"got {text!r}") from None
    return score, cost


def run_report(args: argparse.Namespace) -> int:
    """Write the report for ``args.study_dir`` and print where it is."""
    from nasarena.results.report import write_report
    from nasarena.results.store import load_study

    if not args.study_dir.is_dir():
        raise DataError(f"study folder {args.study_dir} does not exist; give the --out folder of a "
                        f"`nasarena run` (or `nasarena bench`)")
    if args.margin <= 0:
        raise ConfigError(f"--margin must be positive, got {args.margin}")
    if args.bootstrap < 100:
        raise ConfigError(f"--bootstrap must be at least 100 for a 95% band, got {args.bootstrap}")
    hv_ref = hv_reference(args.hv_reference)
    study = load_study(args.study_dir)
    _check_usable(study, args)
    ensure_writable_dir(args.out if args.out is not None else args.study_dir / "report", "report --out")
    paths = write_report(args.study_dir, args.out, study, rl=args.rl or DEFAULT_RL,
                         evolution=args.evolution or DEFAULT_EVOLUTION,
                         reference=args.reference or DEFAULT_EVOLUTION, margin=args.margin, alpha=args.alpha,
                         n_boot=args.bootstrap, seed=args.seed, anytime=args.anytime, hv_reference=hv_ref)
    for path, reason in study.unreadable:
        print(f"left out (unreadable): {path.name}: {reason}")
    print(f"report: {paths['report.html']}")
    print(f"        {paths['report.md']}")
    print(f"tables: {paths['summary.csv'].parent}/{{summary,verdict,comparisons,runs,curves}}.csv")
    return 0
