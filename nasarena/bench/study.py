"""Studies: a grid of runs over a process pool, stored run by run so that a killed study resumes.

``run_study`` validates every name and the output folder first (so a typo fails before any work),
takes an advisory lock on the folder (a second ``run_study`` on it is refused; the kernel releases
the lock when the holder dies, even by SIGKILL), merges the study into ``study.json`` (seeds and
strategies may be added; a different budget, oracle, dataset or worker count is refused, naming
the field), skips the runs already stored, and hands the rest to an :class:`Executor`: the
default :class:`ProcessExecutor` runs them in-process (``jobs=1``) or over a
``ProcessPoolExecutor``; :class:`~nasarena.bench.ray_executor.RayExecutor` runs them as Ray tasks
and writes their results here, in the driver (``docs/ray.md``). A stored run is reused only if
its file is intact and it was made by the same strategy code and nasarena version
(:mod:`nasarena.bench.identity`); damaged files go to ``quarantine/``, runs of changed code to
``stale/``, and both are rerun. Each pool worker builds its oracle once and writes each result
itself as soon as it is finished (atomically, see :mod:`nasarena.results.store`), so SIGKILL loses
at most the runs in flight.
Results depend only on each run's config, never on ``jobs``.

Workers are started with the ``forkserver`` method where available: forking a parent that has
imported torch (or runs a progress-bar thread) is unsafe, and a fresh server avoids both. A
consequence: strategies registered at runtime in the parent are unknown to workers; name them as
``package.module:Class`` or ``path/to/file.py:Class`` (or run with ``jobs=1``).
"""

from __future__ import annotations

import functools
import importlib.util
import json
import logging
import multiprocessing
import os
import sys
import time
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from nasarena.bench.capabilities import check_capabilities
from nasarena.bench.config import RunConfig, StudyConfig
from nasarena.bench.folder import merge_study, prepare_out_dir, remove_if_unused, study_lock
from nasarena.bench.identity import is_path_spec, stale_reason, strategy_fingerprint, strategy_label
from nasarena.bench.runner import run
from nasarena.bench.worker_watch import start_watch
from nasarena.errors import ConfigError, NasarenaError
from nasarena.registry import STRATEGIES, make_oracle
from nasarena.results.store import clean_stale_temps, move_aside, run_path, scan_runs, write_run

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


def _init_worker(study_pid: int) -> None:
    """Pool initializer: single-threaded BLAS, and exit when the study process is gone."""
    _limit_threads()
    start_watch(study_pid)


def compute(config: RunConfig, identity: dict[str, Any] | None = None) -> Any:
    """Run one config in this process and return its :class:`~nasarena.bench.runner.RunResult`.

    ``identity`` (``{"code": fingerprint, "label": name}``, see :func:`code_identity`) is stored
    with the run, so a later resume can tell whether the code that made it has changed.
    """
    oracle, cache = _oracle_for(config.oracle, json.dumps(config.oracle_kwargs, sort_keys=True))
    result = run(config, oracle=oracle, arch_cache=cache)
    if identity is not None:
        result.meta["code"] = identity["code"]
        result.meta["strategy_label"] = identity["label"]
    return result


def run_summary(result: Any) -> dict[str, Any]:
    """The small summary an executor yields per finished run (status, error tail, evaluations)."""
    return {"run_id": result.run_id, "status": result.status, "n_evals": len(result.trajectory),
            "error": result.error}


def execute(config: RunConfig, out_dir: str, in_worker: bool = True,
            identity: dict[str, Any] | None = None) -> dict[str, Any]:
    """Run one config and store it; returns its :func:`run_summary`."""
    if in_worker:
        _limit_threads()
    result = compute(config, identity)
    if in_worker:
        _limit_threads()  # the first run may have imported torch
    write_run(out_dir, result)
    return run_summary(result)


def check_names(config: StudyConfig) -> list[str]:
    """Cheap checks in the calling process: build each oracle, check every strategy name.

    Registered strategies are checked by finding their module, not importing it (a torch import
    costs seconds, and the workers import it anyway); other names (``file.py:Class``,
    ``family:value``) are resolved. Returns the registered strategies' modules (for preloading).
    Raises :class:`~nasarena.errors.UnknownNameError` (listing valid names) or :class:`ConfigError`.
    """
    for okw in {json.dumps(rc.oracle_kwargs, sort_keys=True) for rc in config.runs()}:
        try:
            oracle, _ = _oracle_for(config.oracle, okw)
        except TypeError as exc:
            raise ConfigError(f"oracle {config.oracle!r} does not accept {json.loads(okw)}: {exc}") from None
        except ModuleNotFoundError as exc:
            raise ConfigError(f"oracle {config.oracle!r} is registered but cannot be imported ({exc}); "
                              f"see `nasarena list oracles`") from None
        asked = json.loads(okw).get("dataset")
        if asked is not None and str(asked) != str(oracle.dataset):
            log.warning("dataset %r is an alias: %s runs on %r (and records that name)", asked,
                        config.oracle, oracle.dataset)
    modules = []
    for name in config.strategies:
        entry = STRATEGIES.entry(name)
        if isinstance(entry, str) and ":" in entry and not entry.partition(":")[0].endswith(".py"):
            module = entry.partition(":")[0]
            try:
                found = importlib.util.find_spec(module) is not None
            except ModuleNotFoundError:
                found = False
            if not found:
                raise ConfigError(f"strategy {name!r} is registered as {entry!r}, but that module is "
                                  f"missing; available: {', '.join(STRATEGIES.names())}")
            modules.append(module)
            continue
        try:
            STRATEGIES.resolve(name)
        except ModuleNotFoundError as exc:
            raise ConfigError(f"strategy {name!r} cannot be imported ({exc}); "
                              f"available: {', '.join(STRATEGIES.names())}") from None
    return modules


def check_strategies(config: StudyConfig) -> None:
    """Build each strategy once with its arguments, so unsupported combinations fail before any run."""
    seen: set[str] = set()
    for rc in config.runs():
        key = json.dumps([rc.oracle_kwargs, rc.strategy, rc.strategy_kwargs], sort_keys=True)
        if key in seen:
            continue
        seen.add(key)
        oracle, _ = _oracle_for(rc.oracle, json.dumps(rc.oracle_kwargs, sort_keys=True))
        try:
            factory = STRATEGIES.resolve(rc.strategy)
        except ModuleNotFoundError as exc:
            raise ConfigError(f"strategy {rc.strategy!r} cannot be imported ({exc})") from None
        try:
            strategy = factory(space=oracle.space, rng=np.random.default_rng(0),
                               fidelities=tuple(oracle.fidelities), **rc.strategy_kwargs)
            check_capabilities(rc.strategy, getattr(strategy, "requires", ()), oracle)
        except NasarenaError:
            raise
        except TypeError as exc:
            raise ConfigError(f"strategy {rc.strategy!r} rejects its arguments {rc.strategy_kwargs}: "
                              f"{exc}") from None


def validate(config: StudyConfig) -> None:
    """All of :func:`check_names` and :func:`check_strategies`, in this process."""
    check_names(config)
    check_strategies(config)


def code_identity(config: StudyConfig) -> dict[str, dict[str, Any]]:
    """Per strategy: the fingerprint of its code and the name tables show (see module doc)."""
    out = {}
    for name in config.strategies:
        label = strategy_label(STRATEGIES.resolve(name), name) if is_path_spec(name) else name
        out[name] = {"code": strategy_fingerprint(name), "label": label}
    return out


def _write_study_file(config: StudyConfig, out_dir: Path) -> None:
    """Write ``study.json`` atomically (the merged study, see :func:`~nasarena.bench.folder.merge_study`)."""
    path = out_dir / STUDY_FILE
    tmp = path.with_name(f".{STUDY_FILE}.{os.getpid()}.tmp")
    tmp.write_text(config.to_json())
    os.replace(tmp, path)


def _plan(config: StudyConfig, out_dir: Path, identity: dict[str, dict[str, Any]],
          retry_failed: bool) -> list[RunConfig]:
    """The runs still to do: missing, damaged (moved to quarantine/), made by other code (moved to
    stale/) and, with ``retry_failed``, failed ones. Warns once per kind of file moved aside."""
    records, damaged = scan_runs(out_dir)
    for path, reason in damaged.items():
        where = move_aside(out_dir, path, "quarantine")
        log.warning("damaged run file moved to %s and rerun: %s", where, reason)
    todo, stale = [], {}
    for rc in config.runs():
        meta = records.get(rc.run_id)
        if meta is None:
            todo.append(rc)
            continue
        why = stale_reason(meta.get("code"), identity[rc.strategy]["code"])
        if why is not None:
            move_aside(out_dir, run_path(out_dir, rc.run_id), "stale")
            stale.setdefault((rc.strategy, why), []).append(rc.run_id)
            todo.append(rc)
        elif retry_failed and meta.get("status") != "ok":
            todo.append(rc)
    for (strategy, why), ids in stale.items():
        log.warning("%d stored run(s) of %s were made with other code (%s): moved to %s and rerun",
                    len(ids), strategy, why, out_dir / "stale")
    return todo


def _check_jobs(jobs: int | None) -> None:
    if jobs is not None and (isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1):
        raise ConfigError(f"--jobs must be a positive number of processes (1 runs in this process; omit "
                          f"it to use all cores), got {jobs!r}")


def _progress(enabled: bool, total: int) -> Any:
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    # on stderr, so that stdout carries only the summary (and stays clean when piped)
    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                    TimeRemainingColumn(), console=Console(stderr=True),
                    disable=not (enabled and sys.stderr.isatty()), transient=False)


def _mp_context(preload: list[str]) -> multiprocessing.context.BaseContext:
    methods = multiprocessing.get_all_start_methods()
    ctx = multiprocessing.get_context("forkserver" if "forkserver" in methods else "spawn")
    if ctx.get_start_method() == "forkserver":
        ctx.set_forkserver_preload(preload)
    return ctx


def run_study(config: StudyConfig, out_dir: str | Path, jobs: int | None = None,
              progress: bool = True, retry_failed: bool = False,
              executor: Executor | None = None) -> StudySummary:
    """Run (or resume) a study in ``out_dir``; finished runs already there are skipped.

    ``jobs``: processes (default ``config.jobs``, else all cores; 1 runs in this process). Failed
    runs are stored with their traceback and logged; the study carries on. A failed run counts as
    finished (rerunning a deterministic failure gains nothing) unless ``retry_failed`` is set, e.g.
    after fixing a strategy. ``executor``: where the runs execute (default: a
    :class:`ProcessExecutor` of ``jobs`` processes; :class:`~nasarena.bench.ray_executor.RayExecutor`
    for a Ray cluster, which takes no ``jobs``). Returns a summary.
    """
    t0 = time.perf_counter()
    out_dir = Path(out_dir)
    _check_jobs(jobs)
    if executor is not None and jobs is not None:
        raise ConfigError(f"--jobs sets the process pool's size; the {executor.name} executor schedules "
                          f"runs by its own resources (drop --jobs)")
    modules = check_names(config)
    identity = code_identity(config)
    created = prepare_out_dir(out_dir)
    try:
        with study_lock(out_dir):
            merged = merge_study(config, out_dir / STUDY_FILE)
            clean_stale_temps(out_dir)
            todo = _plan(config, out_dir, identity, retry_failed)
            if executor is None:
                executor = ProcessExecutor(jobs or config.jobs or os.cpu_count() or 1,
                                           ["nasarena.bench.study", *modules])
            summary = _run_todo(config, merged, todo, out_dir, executor, progress, identity)
            clean_stale_temps(out_dir)  # writers of the killed study that were still dying at the start
    except BaseException:
        if created:
            remove_if_unused(out_dir)
        raise
    summary.wall_seconds = time.perf_counter() - t0
    return summary


def _run_todo(config: StudyConfig, merged: StudyConfig, todo: list[RunConfig], out_dir: Path,
              executor: Executor, progress: bool, identity: dict[str, dict[str, Any]]) -> StudySummary:
    total = len(config.runs())
    summary = StudySummary(out_dir=out_dir, total=total, skipped=total - len(todo), completed=0)
    log.info("study %s: %d runs, %d already stored, %d to run %s",
             out_dir, total, summary.skipped, len(todo), executor.describe(len(todo)))
    empty = 0
    with _progress(progress, len(todo)) as bar:
        task = bar.add_task("runs", total=len(todo))
        for info in executor.run_all(config, todo, out_dir, identity,
                                     functools.partial(_write_study_file, merged, out_dir)):
            summary.completed += 1
            if info["status"] != "ok":
                summary.failed.append(info["run_id"])
                last = (info.get("error") or "").strip().splitlines()[-1:] or ["?"]
                log.warning("run %s failed: %s (%s)", info["run_id"], last[0],
                            "not stored: rerun on resume" if info["status"] == "lost"
                            else "traceback stored with the run")
            else:
                empty += info["n_evals"] == 0
                log.info("run %s: %s, %d evaluations", info["run_id"], info["status"], info["n_evals"])
            bar.advance(task)
    if empty:
        log.warning("no evaluation finished within the budget %s in %d of %d runs: one evaluation costs "
                    "more than that; raise --budget-time (or give --budget-evals)", config.budget.to_dict(),
                    empty, summary.completed)
    return summary


def make_executor(kind: str = "process", *, address: str | None = None, cpus_per_run: float | None = None,
                  gpus_per_run: float | None = None) -> Executor | None:
    """The executor ``--executor KIND`` names (``None``: the default process pool). Ray's options
    without ``--executor ray`` are refused, and ``ray`` without the extra says how to install it."""
    if kind == "process":
        given = [flag for flag, value in (("--ray-address", address), ("--cpus-per-run", cpus_per_run),
                                          ("--gpus-per-run", gpus_per_run)) if value is not None]
        if given:
            raise ConfigError(f"{', '.join(given)} {'applies' if len(given) == 1 else 'apply'} only with "
                              f"--executor ray (the process pool runs "
                              f"one run per process on this machine)")
        return None
    if kind == "ray":
        from nasarena.bench.ray_executor import RayExecutor, import_ray

        import_ray()
        return RayExecutor(address=address, cpus_per_run=1.0 if cpus_per_run is None else cpus_per_run,
                           gpus_per_run=0.0 if gpus_per_run is None else gpus_per_run)
    raise ConfigError(f"--executor must be 'process' (the default) or 'ray', got {kind!r}")


class Executor(Protocol):
    """Where a study's runs execute: the seam between the study (plan, lock, resume) and an engine.

    ``run_all`` first checks the strategies (:func:`check_strategies`, wherever their imports are
    cheapest), then calls ``ready()`` (which writes ``study.json``), then runs ``todo`` and yields
    each run's :func:`run_summary` once its file is stored in ``out_dir`` (atomically, by
    :func:`~nasarena.results.store.write_run`). A run whose execution was lost (not a failure of
    the run itself) is yielded with status ``"lost"`` and no file, so a resume reruns it.
    """

    name: str

    def describe(self, n_runs: int) -> str:
        """How the runs will execute, for the study's log line."""
        ...

    def run_all(self, config: StudyConfig, todo: list[RunConfig], out_dir: Path,
                identity: dict[str, dict[str, Any]], ready: Callable[[], None]
                ) -> Iterator[dict[str, Any]]:
        """Run ``todo``; see the class doc."""
        ...


@dataclass
class ProcessExecutor:
    """The default: ``jobs`` forkserver processes of this machine (``jobs=1`` runs in this process).

    Each worker writes its own results (atomically), so SIGKILL loses at most the runs in flight.
    ``preload``: modules the forkserver imports once (this module and the strategies' modules).
    """

    jobs: int = 1
    preload: list[str] = field(default_factory=lambda: ["nasarena.bench.study"])
    name: str = "process"

    def describe(self, n_runs: int) -> str:
        return f"on {self._jobs(n_runs)} process(es)"

    def _jobs(self, n_runs: int) -> int:
        return max(1, min(self.jobs, n_runs)) if n_runs else 1

    def run_all(self, config: StudyConfig, todo: list[RunConfig], out_dir: Path,
                identity: dict[str, dict[str, Any]], ready: Callable[[], None]
                ) -> Iterator[dict[str, Any]]:
        """Check the strategies (in a worker, where their imports are needed anyway), call
        ``ready``, then run ``todo``, yielding each run's summary as it finishes."""
        jobs = self._jobs(len(todo))
        if jobs == 1:
            check_strategies(config)
            ready()
            for rc in todo:
                yield execute(rc, str(out_dir), in_worker=False, identity=identity[rc.strategy])
            return
        # Workers start from a forkserver that imports numpy before any initializer runs, so BLAS
        # thread limits must already be in the environment it inherits: one run per core, one thread
        # per run (oversubscribed OpenBLAS made BO's asks ~10x slower on 2 cores).
        for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
            os.environ.setdefault(var, "1")
        with ProcessPoolExecutor(max_workers=jobs, mp_context=_mp_context(self.preload),
                                 initializer=_init_worker, initargs=(os.getpid(),)) as pool:
            pool.submit(check_strategies, config).result()
            ready()
            pending: set[Future] = {pool.submit(execute, rc, str(out_dir), True, identity[rc.strategy])
                                    for rc in todo}
            try:
                while pending:
                    finished, pending = wait(pending, return_when=FIRST_COMPLETED)
                    for fut in finished:
                        yield fut.result()
            except BaseException:
                for fut in pending:
                    fut.cancel()
                raise
