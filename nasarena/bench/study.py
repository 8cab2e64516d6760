"""Studies: a grid of runs over a process pool, stored run by run so that a killed study resumes.

``run_study`` validates every name first (so a typo fails before any work), writes ``study.json``,
skips the runs already stored in the folder, and runs the rest either in-process (``jobs=1``) or
over a ``ProcessPoolExecutor``. Each worker process builds its oracle once and writes each result
itself as soon as it is finished (atomically, see :mod:`nasarena.results.store`), so SIGKILL loses
at most the runs in flight. Results depend only on each run's config, never on ``jobs``.

Workers are started with the ``forkserver`` method where available: forking a parent that has
imported torch (or runs a progress-bar thread) is unsafe, and a fresh server avoids both. A
consequence: strategies registered at runtime in the parent are unknown to workers; name them as
``package.module:Class`` or ``path/to/file.py:Class`` (or run with ``jobs=1``).
"""

from __future__ import annotations

import functools
import json
import logging
import multiprocessing
import os
import sys
import time
from collections.abc import Iterable
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from nasarena.bench.config import RunConfig, StudyConfig
from nasarena.bench.runner import run
from nasarena.errors import ConfigError, NasarenaError
from nasarena.registry import STRATEGIES, make_oracle
from nasarena.results.store import clean_stale_temps, failed_run_ids, finished_run_ids, write_run

log = logging.getLogger(__name__)

STUDY_FILE = "study.json"


@dataclass
class StudySummary:
    """What a call to :func:`run_study` did: how many runs it skipped, ran and saw fail."""

    out_dir: Path
    total: int
    skipped: int
    completed: int
    failed: list[str] = field(default_factory=list)
    wall_seconds: float = 0.0

    def __str__(self) -> str:
        return (f"{self.total} runs in {self.out_dir}: {self.skipped} already stored, "
                f"{self.completed} run now ({len(self.failed)} failed) in {self.wall_seconds:.1f} s")


@functools.lru_cache(maxsize=4)
def _oracle_for(name: str, kwargs_json: str) -> tuple[Any, dict]:
    """The oracle (and its per-architecture cache) of this process, built once per (name, kwargs)."""
    return make_oracle(name, **json.loads(kwargs_json)), {}


def _limit_threads() -> None:
    """Worker processes run one search each: keep torch/BLAS single-threaded so jobs do not fight."""
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ.setdefault(var, "1")
    torch = sys.modules.get("torch")
    if torch is not None and torch.get_num_threads() != 1:
        torch.set_num_threads(1)


def execute(config: RunConfig, out_dir: str, in_worker: bool = True) -> dict[str, Any]:
    """Run one config and store it; returns a small summary (status, error tail, evaluations)."""
    if in_worker:
        _limit_threads()
    oracle, cache = _oracle_for(config.oracle, json.dumps(config.oracle_kwargs, sort_keys=True))
    result = run(config, oracle=oracle, arch_cache=cache)
    if in_worker:
        _limit_threads()  # the first run may have imported torch
    write_run(out_dir, result)
    return {"run_id": result.run_id, "status": result.status, "n_evals": len(result.trajectory),
            "error": result.error}


def validate(config: StudyConfig) -> None:
    """Build each oracle and each strategy once, so bad names or arguments fail before any run.

    Raises :class:`~nasarena.errors.UnknownNameError` (listing valid names) or :class:`ConfigError`.
    """
    seen: set[str] = set()
    for rc in config.runs():
        key = json.dumps([rc.oracle, rc.oracle_kwargs, rc.strategy, rc.strategy_kwargs], sort_keys=True)
        if key in seen:
            continue
        seen.add(key)
        try:
            oracle, _ = _oracle_for(rc.oracle, json.dumps(rc.oracle_kwargs, sort_keys=True))
        except TypeError as exc:
            raise ConfigError(f"oracle {rc.oracle!r} does not accept {rc.oracle_kwargs}: {exc}") from None
        except ModuleNotFoundError as exc:
            raise ConfigError(f"oracle {rc.oracle!r} is registered but cannot be imported ({exc}); "
                              f"see `nasarena list oracles`") from None
        try:
            factory = STRATEGIES.resolve(rc.strategy)
        except ModuleNotFoundError as exc:
            raise ConfigError(f"strategy {rc.strategy!r} is registered but cannot be imported ({exc}); "
                              f"available: {', '.join(STRATEGIES.names())}") from None
        try:
            factory(space=oracle.space, rng=np.random.default_rng(0), fidelities=tuple(oracle.fidelities),
                    **rc.strategy_kwargs)
        except NasarenaError:
            raise
        except TypeError as exc:
            raise ConfigError(f"strategy {rc.strategy!r} rejects its arguments {rc.strategy_kwargs}: "
                              f"{exc}") from None


def _write_study_file(config: StudyConfig, out_dir: Path) -> None:
    path = out_dir / STUDY_FILE
    if path.is_file():
        try:
            old = StudyConfig.from_dict(json.loads(path.read_text()))
        except (ValueError, NasarenaError) as exc:
            raise ConfigError(f"{path} is unreadable ({exc}); delete it or use another output "
                              f"folder") from None
        if old.to_dict(include_jobs=False) != config.to_dict(include_jobs=False):
            raise ConfigError(f"{out_dir} already holds a different study (see {path}); use another output "
                              f"folder, or delete {out_dir} to start over")
        return
    out_dir.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{STUDY_FILE}.{os.getpid()}.tmp")
    tmp.write_text(config.to_json())
    os.replace(tmp, path)


def _progress(enabled: bool, total: int) -> Any:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                    TimeRemainingColumn(), disable=not (enabled and sys.stderr.isatty()), transient=False)


def _preload(config: StudyConfig) -> list[str]:
    """Modules the fork server imports once for all workers: the harness and the strategies' modules.

    Importing torch (and ``torch._dynamo``, which ``torch.optim`` imports lazily at the first
    optimizer) takes seconds; done once in the server, every forked worker starts with it loaded.
    """
    mods = ["nasarena.bench.study"]
    for name in config.strategies:
        module = getattr(STRATEGIES.resolve(name), "__module__", None)
        if isinstance(module, str) and module in sys.modules and not module.startswith("nasarena_user_"):
            mods.append(module)  # file-path strategies get a private module name: workers load those
    if "torch" in sys.modules:
        mods.append("torch._dynamo")
    return mods


def _mp_context(preload: list[str]) -> multiprocessing.context.BaseContext:
    methods = multiprocessing.get_all_start_methods()
    ctx = multiprocessing.get_context("forkserver" if "forkserver" in methods else "spawn")
    if ctx.get_start_method() == "forkserver":
        ctx.set_forkserver_preload(preload)
    return ctx


def run_study(config: StudyConfig, out_dir: str | Path, jobs: int | None = None,
              progress: bool = True, retry_failed: bool = False) -> StudySummary:
    """Run (or resume) a study in ``out_dir``; finished runs already there are skipped.

    ``jobs``: processes (default ``config.jobs``, else all cores; 1 runs in this process). Failed
    runs are stored with their traceback and logged; the study carries on. A failed run counts as
    finished (rerunning a deterministic failure gains nothing) unless ``retry_failed`` is set, e.g.
    after fixing a strategy. Returns a summary.
    """
    t0 = time.perf_counter()
    out_dir = Path(out_dir)
    validate(config)
    _write_study_file(config, out_dir)
    clean_stale_temps(out_dir)
    done = finished_run_ids(out_dir)
    if retry_failed:
        done -= failed_run_ids(out_dir)
    todo = [rc for rc in config.runs() if rc.run_id not in done]
    total = len(config.runs())
    jobs = jobs or config.jobs or os.cpu_count() or 1
    jobs = max(1, min(jobs, len(todo))) if todo else 1
    summary = StudySummary(out_dir=out_dir, total=total, skipped=total - len(todo), completed=0)
    log.info("study %s: %d runs, %d already stored, %d to run on %d process(es)",
             out_dir, total, summary.skipped, len(todo), jobs)
    with _progress(progress, len(todo)) as bar:
        task = bar.add_task("runs", total=len(todo))
        for info in _execute_all(todo, out_dir, jobs, _preload(config)):
            summary.completed += 1
            if info["status"] != "ok":
                summary.failed.append(info["run_id"])
                last = (info.get("error") or "").strip().splitlines()[-1:] or ["?"]
                log.warning("run %s failed: %s (traceback stored with the run)", info["run_id"], last[0])
            bar.advance(task)
    summary.wall_seconds = time.perf_counter() - t0
    return summary


def _execute_all(todo: list[RunConfig], out_dir: Path, jobs: int,
                 preload: list[str]) -> Iterable[dict[str, Any]]:
    if jobs == 1:
        for rc in todo:
            yield execute(rc, str(out_dir), in_worker=False)
        return
    with ProcessPoolExecutor(max_workers=jobs, mp_context=_mp_context(preload),
                             initializer=_limit_threads) as pool:
        pending: set[Future] = {pool.submit(execute, rc, str(out_dir)) for rc in todo}
        try:
            while pending:
                finished, pending = wait(pending, return_when=FIRST_COMPLETED)
                for fut in finished:
                    yield fut.result()
        except BaseException:
            for fut in pending:
                fut.cancel()
            raise
