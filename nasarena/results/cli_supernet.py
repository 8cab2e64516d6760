"""``nasarena supernet-quality STUDY_DIR``: how well each run's trained supernet ranked architectures.

Prints, from the run records of a study run with ``--oracle supernet --oracle-arg quality_sample=N``,
what was measured (sample, truth, score, supernet budget), the seed means per method, every run,
and the drift of the derived cells to parameter-free ops. ``--csv PATH`` also writes the per-run
table. The same tables are a section of ``nasarena report``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from nasarena.errors import DataError


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``supernet-quality`` sub-command."""
    p = subparsers.add_parser(
        "supernet-quality",
        help="rank correlations of each run's trained supernet with the truth, and skip drift",
        description=__doc__.split("\n\n")[0].split(": ", 1)[1] if __doc__ else None)
    p.add_argument("study_dir", type=Path, help="folder of a study run on the supernet oracle")
    p.add_argument("--csv", type=Path, default=None, help="also write the per-run table to this CSV file")
    p.set_defaults(func=cmd_supernet_quality)


def cmd_supernet_quality(args: argparse.Namespace) -> int:
    """``nasarena supernet-quality``."""
    from nasarena.results.render import md_table
    from nasarena.results.store import load_study
    from nasarena.results.supernet import (
        drift_by_epoch,
        drift_runs,
        drift_sentence,
        drift_summary,
        quality_columns,
        quality_display,
        quality_means,
        quality_runs,
        quality_sentence,
    )

    if not args.study_dir.is_dir():
        raise DataError(f"{args.study_dir} is not a folder; give the --out folder of a "
                        f"`nasarena run --oracle supernet` study")
    study = load_study(args.study_dir)
    quality, drift = quality_runs(study.meta), drift_runs(study.meta)
    if quality.empty:
        oracles = sorted({str((m.get("config") or {}).get("oracle")) for m in study.meta})
        hint = ("rerun it with `--oracle-arg quality_sample=100`" if "supernet" in oracles else
                "it ran on " + ", ".join(oracles) + ", not the supernet oracle")
        raise DataError(f"no completed run of {args.study_dir} recorded a supernet quality; {hint}")
    print(quality_sentence(quality), end="\n\n")
    print("Seed means per method:\n")
    print(md_table(quality_display(quality_means(quality))[quality_columns(False)]), end="\n\n")
    print("Per run:\n")
    print(md_table(quality_display(quality)[quality_columns(True)], hoist_constants=True), end="\n\n")
    if not drift.empty:
        print(drift_sentence(drift_summary(drift)).replace("**", ""), end="\n\n")
        print("Share of parameter-free ops in the derived cell per epoch (seed mean):\n")
        print(md_table(drift_by_epoch(drift)))
    if args.csv is not None:
        args.csv.parent.mkdir(parents=True, exist_ok=True)
        quality.to_csv(args.csv, index=False)
        print(f"\nper-run table: {args.csv}")
    return 0
