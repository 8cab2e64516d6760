"""The ``nasarena`` command line: one sub-command per room, each registered from its own module.

Each entry below names a module with ``register(subparsers)``, which adds its sub-command(s) and
sets ``func`` on them; this keeps the CLI file small and lets every room own its commands.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Sequence

from nasarena.errors import NasarenaError

COMMAND_MODULES: tuple[str, ...] = (
    "nasarena.bench.cli_run",        # run, bench, list
    "nasarena.results.cli_report",   # report
    "nasarena.bench.cli_compare",    # compare, pareto
    "nasarena.estimators.live.cli",  # tabulate
    "nasarena.estimators.official_cli",  # data import-nb201 / import-nats
)


def build_parser() -> argparse.ArgumentParser:
    """The full argument parser (modules that are not present yet are skipped)."""
    parser = argparse.ArgumentParser(
        prog="nasarena",
        description="Benchmark neural architecture search strategies on tabular or live-training "
                    "oracles and report anytime performance, final accuracy and model size.",
        epilog="`nasarena COMMAND --help` describes each command; `make bench` runs the default study.")
    parser.add_argument("-v", "--verbose", action="store_true", help="log at DEBUG level")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name and (name == exc.name or name.startswith(exc.name + ".")):
                continue
            raise
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``nasarena`` script; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format="%(levelname)s %(name)s: %(message)s")
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except NasarenaError as exc:
        print(f"nasarena: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
