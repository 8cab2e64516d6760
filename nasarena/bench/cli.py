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
    "nasarena.results.cli_supernet",   # supernet-quality
)


def build_parser() -> argparse.ArgumentParser:
    """The full argument parser: every module of :data:`COMMAND_MODULES` registers its commands (a
    module that cannot be imported is an error, never a command silently missing)."""
    parser = argparse.ArgumentParser(
        prog="nasarena",
        description="Benchmark neural architecture search strategies on tabular or live-training "
                    "oracles and report anytime performance, final accuracy and model size.",
        epilog="`nasarena COMMAND --help` describes each command; `make bench` runs the default study.")
    parser.add_argument("-v", "--verbose", action="count", default=0,
                        help="-v: one INFO line per finished run and other progress; -vv: DEBUG")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    return parser


#: What an input file that is not what a command expects means, per command (see :func:`main`).
BAD_INPUT_HINTS = {
    "data": "is it an official NAS-Bench-201 / NATS-Bench file? (see docs/official.md)",
    "tabulate": "is it the cache_dir of a live study? (see docs/live.md)",
}


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``nasarena`` script; returns the exit status.

    Errors a user can cause print one line and exit non-zero, never a traceback: a
    :class:`NasarenaError` (exit 2), a file-system error (exit 1), or an input file that a library
    cannot parse (unpickling, Parquet, ...; exit 1, with a hint of what the command expected).
    ``-vv`` shows the traceback of the latter two. Anything else is a bug and keeps its traceback.
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    level = {0: logging.WARNING, 1: logging.INFO}.get(args.verbose, logging.DEBUG)
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    import pickle

    import pyarrow as pa

    try:
        return int(args.func(args) or 0)
    except NasarenaError as exc:
        print(f"nasarena: error: {_one_line(exc)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("nasarena: interrupted; rerun the same command to resume", file=sys.stderr)
        return 130
    except (OSError, pickle.UnpicklingError, EOFError, pa.ArrowException, UnicodeDecodeError) as exc:
        if args.verbose > 1:
            raise
        hint = BAD_INPUT_HINTS.get(args.command, "")
        if isinstance(exc, OSError) and not isinstance(exc, pa.ArrowException):
            what = f"file-system error{f' ({exc.filename})' if exc.filename else ''}"
        else:
            given = [getattr(args, a) for a in ("path", "cache", "study_dir") if getattr(args, a, None)]
            source = given[0] if given else "the input"
            what = f"cannot read {source}"
        print(f"nasarena: error: {what}: {type(exc).__name__}: {_one_line(exc)}"
              f"{'; ' + hint if hint else ''} (-vv shows the traceback)", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
