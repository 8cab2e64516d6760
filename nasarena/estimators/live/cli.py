"""``nasarena tabulate CACHE --out TABLE.parquet``: turn a live-training cache into a table, and
``nasarena checkpoints CACHE [--prune-mb CAP]``: how much disk its training checkpoints use.

The table has one row per cached evaluation with the columns the ``table`` oracle reads by default
(``arch, dataset, fidelity, seed, score, final, cost, params, flops, curve``), plus ``variant``
(data and recipe fingerprint) and the resolved fidelity fields for reference, so that
``nasarena run --oracle table --oracle-arg path=TABLE.parquet`` replays a live study at table
speed, with the measured training times as costs.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from nasarena.atomic import write_parquet_atomic
from nasarena.errors import ConfigError, DataError
from nasarena.estimators.live.cache import EvalCache

TABLE_COLUMNS: tuple[str, ...] = ("arch", "dataset", "fidelity", "seed", "score", "final", "cost", "params",
                                  "flops", "curve", "variant", "epochs", "data_fraction", "channels", "cells",
                                  "resolution", "batch_size", "device", "created")


def tabulate(cache_dir: str | os.PathLike[str], out: str | os.PathLike[str], variant: str | None = None,
             include_failed: bool = False) -> pa.Table:
    """Collect the cache into one table and write it atomically to ``out`` (Parquet).

    Why one variant: rows of different data or recipes are different benchmarks; mixing them would
    let the table oracle draw, as "seeds" of one architecture, results of different experiments.
    Warm-started evaluations are left out (their numbers depend on the parent's weights, not only
    on the key a table has). Failed evaluations are left out unless ``include_failed`` (the table
    oracle has no failure rows).
    A key written twice (two processes racing) keeps its newest record.
    """
    cache = EvalCache(cache_dir)
    if not cache.root.is_dir():
        raise DataError(f"no cache folder {cache.root}; give the cache_dir a live study wrote to")
    table = cache.read_all()
    if table.num_rows == 0:
        raise DataError(f"{cache.root} holds no cached evaluations")
    variants = sorted(set(table.column("variant").to_pylist()))
    if variant is None and len(variants) > 1:
        raise ConfigError(f"{cache.root} holds several variants (data/recipe settings): {variants}; "
                          f"choose one with --variant")
    chosen = variant or variants[0]
    if chosen not in variants:
        raise ConfigError(f"variant {chosen!r} is not in {cache.root}; it holds {variants}")
    table = table.filter(pc.equal(table.column("variant"), chosen))
    table = table.filter(pc.is_null(table.column("parent")))  # a warm start is not a benchmark result
    if not include_failed:
        table = table.filter(pc.equal(table.column("ok"), True))
    if table.num_rows == 0:
        raise DataError(f"{cache.root}: no successful evaluations for variant {chosen!r}")
    rows = sorted(table.to_pylist(), key=lambda r: r["created"] or "")
    latest = {(r["arch"], r["dataset"], r["fidelity"], r["seed"]): r for r in rows}
    columns = TABLE_COLUMNS + (("ok", "error") if include_failed else ())
    ordered = sorted(latest.values(), key=lambda r: (r["arch"], r["fidelity"], r["seed"]))
    result = pa.Table.from_pylist([{c: r[c] for c in columns} for r in ordered],
                                  schema=pa.schema([table.schema.field(c) for c in columns]))
    write_parquet_atomic(result, Path(out))
    return result


def cmd_tabulate(args: argparse.Namespace) -> int:
    """``nasarena tabulate``."""
    table = tabulate(args.cache, args.out, args.variant, args.include_failed)
    archs = len(set(table.column("arch").to_pylist()))
    print(f"wrote {table.num_rows} rows ({archs} architectures) to {args.out}; serve it with "
          f"`nasarena run --oracle table --oracle-arg path={args.out} ...`")
    print("  (it covers only the architectures that were trained: add `--oracle-arg restrict_space=true` "
          "to search among them only, or `--oracle-arg on_missing=fail` to make other proposals failed "
          "evaluations)")
    return 0


def checkpoint_usage(cache_dir: str | os.PathLike[str], prune_mb: float | None = None) -> list[str]:
    """One line per dataset folder: checkpoints and megabytes, after pruning to ``prune_mb`` if given.

    Pruning evicts the least recently used checkpoints first (as the oracle's cap does); it only
    costs time later (a continued training whose checkpoint is gone is retrained).
    """
    from nasarena.estimators.live.checkpoints import CheckpointStore  # imports torch: only when used

    cache = EvalCache(cache_dir)
    if not cache.root.is_dir():
        raise DataError(f"no cache folder {cache.root}; give the cache_dir a live study wrote to")
    if prune_mb is not None and prune_mb < 0:
        raise ConfigError(f"--prune-mb must be >= 0, got {prune_mb}")
    lines = []
    for folder in sorted(p for p in cache.root.iterdir() if (p / "checkpoints").is_dir()):
        store = CheckpointStore(folder / "checkpoints", 0)
        if prune_mb is not None:
            store.evict(cap_bytes=int(prune_mb * 1e6))
        n, used = store.usage()
        lines.append(f"{folder.name}: {n} checkpoints, {used / 1e6:.2f} MB in {store.root}")
    return lines or [f"{cache.root} holds no checkpoints"]


def cmd_checkpoints(args: argparse.Namespace) -> int:
    """``nasarena checkpoints``."""
    for line in checkpoint_usage(args.cache, args.prune_mb):
        print(line)
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``tabulate`` and ``checkpoints`` sub-commands."""
    p = subparsers.add_parser(
        "tabulate", help="turn a live-training cache into a table the `table` oracle serves",
        description="Collect the Parquet cache of the live oracle into one table with columns arch, "
                    "dataset, fidelity, seed, score, final, cost, params, flops, curve.")
    p.add_argument("cache", type=Path, help="cache folder of the live oracle (its cache_dir)")
    p.add_argument("--out", type=Path, required=True, help="output .parquet file")
    p.add_argument("--variant", help="which data/recipe variant to take when the cache holds several")
    p.add_argument("--include-failed", action="store_true", help="keep failed evaluations (with ok/error)")
    p.set_defaults(func=cmd_tabulate)
    c = subparsers.add_parser(
        "checkpoints", help="disk use of the live oracle's training checkpoints (and prune them)",
        description="Report how many training checkpoints a live cache holds and their size; with "
                    "--prune-mb, first delete the least recently used ones down to that many MB.")
    c.add_argument("cache", type=Path, help="cache folder of the live oracle (its cache_dir)")
    c.add_argument("--prune-mb", type=float, help="evict least recently used checkpoints down to this size")
    c.set_defaults(func=cmd_checkpoints)
