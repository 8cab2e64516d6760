"""Append-only Parquet cache of live evaluations: a live study becomes a reusable table.

Layout: one small Parquet file per evaluation, ``CACHE_DIR/<dataset>/<sha1 of the key>.parquet``,
written to a temporary file in the same folder and moved into place with :func:`os.replace`. That
makes every write atomic (a killed process leaves no half-written record), lets several processes
share one cache without locks (two writers of the same key both write a valid record; the last one
wins), and makes a lookup one ``stat`` + one small read, with no index to keep consistent.

The key is (arch, dataset, variant, fidelity, seed, parent). ``variant`` names the exact dataset
content (generator settings or CIFAR split), the training recipe and the learning-rate schedule
lengths, so that results from different data or hyper-parameters never answer for each other.
``parent`` is the key of the evaluation a warm start took its initial weights from (None for a
training from scratch): a warm-started result never answers for a fresh one. A continued training
has the key of the straight-through training it equals. ``nasarena tabulate`` collects the fresh
records of a cache into one table. Training checkpoints live beside the records (see
:mod:`.checkpoints`).
"""

from __future__ import annotations

import dataclasses
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
    # added with continue / warm start (older files read these as nulls)
    ("parent", pa.string()), ("schedule_epochs", pa.int64()), ("epoch_seconds", pa.list_(pa.float64())),
    ("test_seconds", pa.float64()), ("inherited", pa.list_(pa.string())), ("n_tensors", pa.int64()),
    # added with network morphisms: JSON of the warm start's transfer (kind, changes, morphed tensors)
    ("morphism", pa.string()),
])
#: Joins a warm-started key's digest: the rule that maps a parent's weights onto the child. Warm
#: starts made before morphisms (plain name-and-shape copies) trained other networks, so they must
#: not answer for these; bump it when the mapping rules change (morphism-2: deeper, and tensors
#: copied through a layer alignment after a macro depth change).
INHERIT_RULES = "morphism-2"
KEY_FIELDS: tuple[str, ...] = ("arch", "dataset", "variant", "fidelity", "seed")


@dataclass(frozen=True)
class CacheKey:
    """Identity of one live evaluation, and the live oracle's ``Evaluation.handle``.

    Small and picklable (strings, an int and the parent's key), so that it can travel to and from
    worker processes; it names the record and the checkpoint of the state a training ended in.
    """

    arch: str
    dataset: str
    variant: str
    fidelity: str
    seed: int
    parent: CacheKey | None = None

    def digest(self) -> str:
        """Stable file name stem for this key (unchanged for keys without a parent)."""
        fields: list[Any] = [self.arch, self.dataset, self.variant, self.fidelity, int(self.seed)]
        if self.parent is not None:
            fields += [self.parent.digest(), INHERIT_RULES]
        return hashlib.sha1(json.dumps(fields).encode()).hexdigest()

    def parent_digest(self) -> str | None:
        """The parent's digest as the ``parent`` column stores it."""
        return None if self.parent is None else self.parent.digest()


def now_utc() -> str:
    """ISO timestamp recorded with each evaluation."""
    return _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")


def continue_cost(record: dict[str, Any], from_epochs: int) -> float:
    """Seconds that continuing ``record``'s training from ``from_epochs`` costs: its later epochs plus
    the final test pass, as measured per epoch (pro rata for records written before per-epoch times)."""
    per_epoch = record.get("epoch_seconds")
    if per_epoch and len(per_epoch) == record["epochs"]:
        return float(sum(per_epoch[from_epochs:]) + (record.get("test_seconds") or 0.0))
    return float(record["cost"]) * (record["epochs"] - from_epochs) / max(1, record["epochs"])


class EvalCache:
    """Read and write evaluation records under ``root`` (see module docstring)."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root).expanduser()

    def path(self, key: CacheKey) -> Path:
        """Where the record of ``key`` lives."""
        return self.folder(key.dataset) / f"{key.digest()}.parquet"

    def folder(self, dataset: str) -> Path:
        """The folder of one dataset's records (its checkpoints are in ``checkpoints/`` below it)."""
        safe = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in dataset)
        return self.root / safe

    def get(self, key: CacheKey) -> dict[str, Any] | None:
        """The record of ``key``, or None when it was never written."""
        p = self.path(key)
        if not p.is_file():
            return None
        rows = pq.read_table(p, schema=SCHEMA).to_pylist()
        for row in rows:
            if CacheKey(**{k: row[k] for k in KEY_FIELDS}) == dataclasses.replace(key, parent=None) \
                    and row["parent"] == key.parent_digest():
                return row
        return None

    def put(self, record: dict[str, Any], key: CacheKey | None = None) -> Path:
        """Write one record atomically (temp file in the same folder, then ``os.replace``).

        ``key`` is needed for a warm-started record (its parent's key is not in the record, only the
        parent's digest); without it the record's key fields are the key.
        """
        missing = [f for f in KEY_FIELDS if record.get(f) is None]
        if missing:
            raise DataError(f"a cache record needs the key fields {KEY_FIELDS}; missing {missing}")
        if key is None:
            if record.get("parent") is not None:
                raise DataError("a warm-started record is written with its key (put(record, key))")
            key = CacheKey(**{k: record[k] for k in KEY_FIELDS})
        row = {name: record.get(name) for name in SCHEMA.names}
        row["parent"] = key.parent_digest()
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


__all__ = ["KEY_FIELDS", "SCHEMA", "CacheKey", "EvalCache", "continue_cost", "now_utc"]
