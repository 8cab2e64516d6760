"""Atomic file writes, shared by the result store and the live-training cache.

A file is written under a temporary name in the same folder, flushed to disk, and renamed over the
target with :func:`os.replace`, so a reader (or a study resumed after SIGKILL) sees either the whole
file or no file, never half of one. Temporary names start with ``.`` and end with ``.tmp`` so that
readers globbing ``*.parquet`` never pick them up.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO

import pyarrow as pa
import pyarrow.parquet as pq

TMP_SUFFIX = ".tmp"


def temp_name(target: Path) -> Path:
    """A unique temporary sibling of ``target`` that names the writing process (for clean-ups)."""
    return target.with_name(f".{target.stem}.{os.getpid()}.{uuid.uuid4().hex[:8]}{TMP_SUFFIX}")


@contextlib.contextmanager
def atomic_target(target: str | Path) -> Iterator[BinaryIO]:
    """Open a temporary sibling of ``target`` for writing; on success fsync it and rename it over
    ``target``, on any error remove it (the target is then untouched).

    The data is fsynced before the rename, so after a power cut the name points at a whole file or
    at nothing. The directory itself is not fsynced: that would only protect a finished rename
    against a power cut, at a cost of milliseconds per file, and a killed process never loses one.
    """
    final = Path(target)
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = temp_name(final)
    try:
        with open(tmp, "wb") as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, final)
    finally:
        if tmp.exists():
            tmp.unlink()


def write_parquet_atomic(table: pa.Table, target: str | Path, **write_kwargs: Any) -> Path:
    """Write ``table`` to ``target`` atomically; ``write_kwargs`` go to ``pyarrow.parquet.write_table``."""
    with atomic_target(target) as fh:
        pq.write_table(table, fh, **write_kwargs)
    return Path(target)


def write_bytes_atomic(data: bytes, target: str | Path) -> Path:
    """Write ``data`` to ``target`` atomically (e.g. a live-training checkpoint)."""
    with atomic_target(target) as fh:
        fh.write(data)
    return Path(target)


def ensure_writable_dir(path: str | Path, what: str = "--out") -> bool:
    """Create folder ``path`` if needed and prove it writable; returns whether it was created.

    Raises :class:`~nasarena.errors.ConfigError` naming ``what`` when ``path`` is a file, lies under
    a file, or cannot be created or written (checked by writing a probe file), so that a command
    fails in one line before any work rather than with a traceback after it.
    """
    from nasarena.errors import ConfigError

    path = Path(path)
    if path.exists() and not path.is_dir():
        raise ConfigError(f"{what} {path} is a file, not a folder; give a folder (it is created if missing)")
    for parent in path.parents:
        if parent.exists():
            if not parent.is_dir():
                raise ConfigError(f"{what} {path} lies under {parent}, which is a file; give a folder path")
            break
    created = not path.exists()
    try:
        path.mkdir(parents=True, exist_ok=True)
        probe = temp_name(path / "write-probe")
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise ConfigError(f"cannot write to {what} {path} ({exc.strerror or exc}); choose a folder you "
                          f"can write to") from None
    return created
