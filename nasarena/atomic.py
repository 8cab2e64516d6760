"""Atomic file writes, shared by the result store and the live-training cache.

A file is written under a temporary name in the same folder, flushed to disk, and renamed over the
target with :func:`os.replace`, so a reader (or a study resumed after SIGKILL) sees either the whole
file or no file, never half of one. Temporary names start with ``.`` and end with ``.tmp`` so that
readers globbing ``*.parquet`` never pick them up.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

TMP_SUFFIX = ".tmp"


def temp_name(target: Path) -> Path:
    """A unique temporary sibling of ``target`` that names the writing process (for clean-ups)."""
    return target.with_name(f".{target.stem}.{os.getpid()}.{uuid.uuid4().hex[:8]}{TMP_SUFFIX}")


def write_parquet_atomic(table: pa.Table, target: str | Path, **write_kwargs: Any) -> Path:
    """Write ``table`` to ``target`` atomically; ``write_kwargs`` go to ``pyarrow.parquet.write_table``.

    The data is fsynced before the rename, so after a power cut the name points at a whole file or
    at nothing. The directory itself is not fsynced: that would only protect a finished rename
    against a power cut, at a cost of milliseconds per file, and a killed process never loses one.
    """
    final = Path(target)
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = temp_name(final)
    try:
        with open(tmp, "wb") as fh:
            pq.write_table(table, fh, **write_kwargs)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, final)
    finally:
        if tmp.exists():
            tmp.unlink()
    return final
