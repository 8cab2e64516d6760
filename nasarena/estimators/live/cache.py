"""Append-only Parquet cache of live evaluations: a live study becomes a reusable table.

Layout: one small Parquet file per evaluation, ``CACHE_DIR/<dataset>/<sha1 of the key>.parquet``,
written to a temporary file in the same folder and moved into place with :func:`os.replace`. That
makes every write atomic (a killed process leaves no half-written record), lets several processes
share one cache without locks (two writers of the same key both write a valid record; the last one
wins), and makes a lookup one ``stat`` + one small read, with no index to keep consistent.

The key is (arch, dataset, variant, fidelity, seed). ``variant`` names the exact dataset content
(generator settings or CIFAR split) and the training recipe, so that results from different data or
hyper-parameters never answer for each other. ``nasarena tabulate`` collects a cache into one table.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from nasarena.atomic import write_parquet_atomic
from nasarena.errors import DataError

SCHEMA = pa.schema([
    ("arch", pa.string()), ("dataset", pa.string()), ("variant", pa.string()),
    ("fidelity", pa.string()), ("seed", pa.int64()),
    ("score", pa.float64()), ("final", pa.float64()), ("cost", pa.float64()),
    ("params", pa.float64()), ("flops", pa.float64()), ("curve", pa.list_(pa.float64())),
    ("train_loss", pa.list_(pa.float64())), ("ok", pa.bool_()), ("error", pa.string()),
    ("epochs", pa.int64()), ("data_fraction", pa.float64()), ("channels", pa.int64()),
    ("cells", pa.int64()), ("resolution", pa.int64()), ("batch_size", pa.int64()),
    ("n_train", pa.int64()), ("device", pa.string()), ("torch", pa.string()), ("created", pa.string()),
])
KEY_FIELDS: tuple[str, ...] = ("arch", "dataset", "variant", "fidelity", "seed")


@dataclass(frozen=True)
class CacheKey:
    """Identity of one live evaluation."""

    arch: str
    dataset: str
    variant: str
    fidelity: str
    seed: int

    def digest(self) -> str:
        """Stable file name stem for this key."""
        text = json.dumps([self.arch, self.dataset, self.variant, self.fidelity, int(self.seed)])
        return hashlib.sha1(text.encode()).hexdigest()


def now_utc() -> str:
    """ISO timestamp recorded with each evaluation."""
    return _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")


class EvalCache:
    """Read and write evaluation records under ``root`` (see module docstring)."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root).expanduser()

    def path(self, key: CacheKey) -> Path:
        """Where the record of ``key`` lives."""
        safe = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in key.dataset)
        return self.root / safe / f"{key.digest()}.parquet"

    def get(self, key: CacheKey) -> dict[str, Any] | None:
        """The record of ``key``, or None when it was never written."""
        p = self.path(key)
        if not p.is_file():
            return None
        rows = pq.read_table(p, schema=SCHEMA).to_pylist()
        for row in rows:
            if CacheKey(**{k: row[k] for k in KEY_FIELDS}) == key:
                return row
        return None

    def put(self, record: dict[str, Any]) -> Path:
        """Write one record atomically (temp file in the same folder, then ``os.replace``)."""
        missing = [f for f in KEY_FIELDS if record.get(f) is None]
        if missing:
            raise DataError(f"a cache record needs the key fields {KEY_FIELDS}; missing {missing}")
        key = CacheKey(**{k: record[k] for k in KEY_FIELDS})
        row = {name: record.get(name) for name in SCHEMA.names}
        row["created"] = row["created"] or now_utc()
        table = pa.Table.from_pylist([row], schema=SCHEMA)
        target = self.path(key)
        write_parquet_atomic(table, target)
        return target

    def files(self) -> Iterator[Path]:
        """Every record file (temporary files of interrupted writes are skipped)."""
        if not self.root.is_dir():
            return iter(())
        return (p for p in sorted(self.root.rglob("*.parquet")) if not p.name.startswith("."))

    def read_all(self) -> pa.Table:
        """All records as one table (empty table with the schema when the cache is empty)."""
        tables = [pq.read_table(p, schema=SCHEMA) for p in self.files()]
        if not tables:
            return SCHEMA.empty_table()
        return pa.concat_tables(tables)


__all__ = ["KEY_FIELDS", "SCHEMA", "CacheKey", "EvalCache", "now_utc"]
