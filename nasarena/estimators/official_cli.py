"""``nasarena data import-nb201 / import-nats``: convert official benchmark files into a nasarena cache.

The official files are pickles, so both commands refuse to run without ``--trust`` (see
:data:`nasarena.estimators.official_import.TRUST_HINT`); the conversion happens once, after which
the ``nb201`` / ``nats-tss`` / ``nats-sss`` oracles read the pickle-free cache.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from nasarena.errors import DataError

if TYPE_CHECKING:
    from nasarena.estimators.official_import import ImportReport


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add the ``data`` command with its ``import-nb201`` and ``import-nats`` sub-commands."""
    data = subparsers.add_parser("data", help="import official benchmark files into nasarena caches")
    sub = data.add_subparsers(dest="data_command", metavar="DATA_COMMAND")
    data.set_defaults(func=lambda args: (data.print_help(), 2)[1])

    nb = sub.add_parser("import-nb201", help="convert NAS-Bench-201-v1_[01]-*.pth into a cache")
    nb.add_argument("path", type=Path, help="the official .pth file")
    nb.add_argument("--in-memory", action="store_true",
                    help="unpickle the whole file first, as nas_201_api does (about 6x the file size in "
                         "memory); the default streams it one architecture at a time in about 0.2 GB")
    _common(nb, "nb201")
    nb.set_defaults(func=_run_nb201)

    nats = sub.add_parser("import-nats", help="convert a NATS-Bench file or -simple/-full directory")
    nats.add_argument("path", type=Path, help="NATS-{tss,sss}-v1_0-*.pickle.pbz2 or its archive directory")
    nats.add_argument("--space", choices=("tss", "sss"), required=True,
                      help="tss: topology (NB201) space; sss: size space")
    _common(nats, "nats-<space>")
    nats.set_defaults(func=_run_nats)


def _common(parser: argparse.ArgumentParser, flavour: str) -> None:
    parser.add_argument("--trust", action="store_true",
                        help="confirm the file comes from the benchmark authors: it is a pickle, and "
                             "loading a pickle runs code. Required.")
    parser.add_argument("--out", type=Path, default=None,
                        help=f"cache directory (default $NASARENA_CACHE/official/{flavour}, "
                             f"NASARENA_CACHE defaulting to ~/.cache/nasarena)")
    parser.add_argument("--no-progress", action="store_true",
                        help="no progress bar (it is shown only when stderr is a terminal anyway)")


def _report(rep: ImportReport) -> int:
    """Print what the import wrote and how the source's md5 checked out (a mismatch also on stderr)."""
    print(f"wrote {rep.flavour} cache to {rep.out}: {rep.n_archs} architectures, {rep.n_runs} runs "
          f"(source read {rep.reader}); sha256 {rep.sha256}")
    print(f"md5 check: {rep.hash_check}: {rep.hash_message}")
    if rep.hash_check == "mismatch":
        print(f"WARNING: {rep.hash_message}", file=sys.stderr)
    return 0


def _run_nb201(args: argparse.Namespace) -> int:
    from nasarena.estimators.official_import import import_nb201, require_trust

    require_trust(args.trust)
    if not args.path.is_file():
        raise DataError(f"no such file {args.path}")
    return _report(import_nb201(args.path, args.out, trust=args.trust, in_memory=args.in_memory,
                                progress=not args.no_progress and None))


def _run_nats(args: argparse.Namespace) -> int:
    from nasarena.estimators.official_import import import_nats, require_trust

    require_trust(args.trust)
    return _report(import_nats(args.path, args.space, args.out, trust=args.trust,
                               progress=not args.no_progress and None))
