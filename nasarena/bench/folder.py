"""The study folder: checked before any work, locked while a study runs, and its ``study.json`` merged.

Why a lock: two ``nasarena run`` on one ``--out`` would both do all the work and race on every
file. The lock is an advisory ``flock`` taken through :mod:`filelock` on ``.nasarena.lock``; the
kernel drops it when the process dies, however it dies (SIGKILL included), so a killed study never
leaves a folder that refuses to resume.

Why a merge: a study may grow. Adding seeds or strategies keeps every stored run; but runs made with
another budget, oracle, dataset or worker count are not comparable with the stored ones, so such a
change is refused with a message that names the field.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import filelock

from nasarena.atomic import ensure_writable_dir
from nasarena.bench.config import StudyConfig
from nasarena.errors import ConfigError, NasarenaError

LOCK_FILE = ".nasarena.lock"
OWNER_FILE = ".nasarena.lock.owner"


def prepare_out_dir(out_dir: Path) -> bool:
    """Check and create the study folder (see :func:`~nasarena.atomic.ensure_writable_dir`)."""
    return ensure_writable_dir(out_dir, "--out")


def remove_if_unused(out_dir: Path) -> None:
    """Remove a folder this call created when nothing but the lock files ended up in it."""
    try:
        names = {p.name for p in out_dir.iterdir()}
    except OSError:
        return
    if names <= {LOCK_FILE, OWNER_FILE}:
        shutil.rmtree(out_dir, ignore_errors=True)


@contextmanager
def study_lock(out_dir: Path) -> Iterator[None]:
    """Hold the study folder's lock, or raise :class:`ConfigError` at once if another process does."""
    lock = filelock.FileLock(out_dir / LOCK_FILE, timeout=0)
    try:
        lock.acquire()
    except filelock.Timeout:
        owner = ""
        try:
            owner = f" ({(out_dir / OWNER_FILE).read_text().strip()})"
        except OSError:
            pass
        raise ConfigError(f"another nasarena process is running a study in {out_dir}{owner}; wait for it "
                          f"to finish (then rerun to resume), or use another --out") from None
    owner = out_dir / OWNER_FILE
    try:
        owner.write_text(f"pid {os.getpid()} on {socket.gethostname()}\n")
        yield
    finally:
        owner.unlink(missing_ok=True)
        lock.release()


def _comparable_fields(config: StudyConfig) -> dict[str, Any]:
    """The fields that must match for runs to be comparable, named as a user would name them."""
    d = config.to_dict(include_jobs=False)
    fields: dict[str, Any] = {"oracle": d["oracle"], "budget": d["budget"],
                              "workers (n_workers)": d["n_workers"], "datasets": d["datasets"]}
    for key, value in d["oracle_kwargs"].items():
        fields["dataset" if key == "dataset" else f"oracle argument {key!r}"] = value
    return fields


def merge_study(config: StudyConfig, path: Path) -> StudyConfig:
    """The study ``path`` (``study.json``) holds, grown by ``config``'s new seeds and strategies.

    Without a ``study.json`` this is ``config``. Raises :class:`ConfigError` naming the first field
    that differs in a way that makes runs incomparable, or a strategy whose hyper-parameters changed.
    """
    if not path.is_file():
        return config
    try:
        old = StudyConfig.from_dict(json.loads(path.read_text()))
    except (ValueError, NasarenaError) as exc:
        raise ConfigError(f"{path} is unreadable ({exc}); delete it or use another output folder") from None
    a, b = _comparable_fields(old), _comparable_fields(config)
    for name in [*a, *(k for k in b if k not in a)]:
        if a.get(name) != b.get(name):
            raise ConfigError(f"{path.parent} holds a study with {name} = {a.get(name)!r}, not "
                              f"{b.get(name)!r}: runs with a different {name.split(' (')[0]} are not "
                              f"comparable; use another --out (adding seeds or strategies is fine)")
    for name in set(old.strategies) & set(config.strategies):
        was, now = old.strategy_kwargs.get(name, {}), config.strategy_kwargs.get(name, {})
        if was != now:
            raise ConfigError(f"{path.parent} holds {name} with hyper-parameters {was}, not {now}; use "
                              f"another --out to compare hyper-parameters")
    strategies = (*old.strategies, *(s for s in config.strategies if s not in old.strategies))
    seeds = (*old.seeds, *(s for s in config.seeds if s not in old.seeds))
    return StudyConfig(strategies=strategies, oracle=old.oracle, oracle_kwargs=old.oracle_kwargs, seeds=seeds,
                       budget=old.budget, n_workers=old.n_workers, jobs=config.jobs,
                       strategy_kwargs={**old.strategy_kwargs, **config.strategy_kwargs},
                       datasets=old.datasets)
