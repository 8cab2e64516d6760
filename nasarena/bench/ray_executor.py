"""Run a study's runs as Ray tasks (``--executor ray``), on a local or a remote Ray cluster.

Where the store lives: **in the driver**. A task computes one run and *returns* its
:class:`~nasarena.bench.runner.RunResult` (a trajectory of a few hundred rows); the driver, the
process that holds the study folder's lock, writes it with the same atomic
:func:`~nasarena.results.store.write_run` as the process pool. So the study folder needs no shared
filesystem (it lives on the driver's disk only), and exactly-once is the driver's doing: a worker
killed mid-run has written nothing, Ray retries the task (``max_retries``), and a run is
deterministic in its config, so the retry returns the same rows; the driver writes each run id
once. A killed driver loses the runs in flight (its tasks die with it) and resumes with the same
command, as with the process pool. A task lost for good (its retries exhausted) is reported as
``lost`` with no file, so the next resume reruns it.

What cannot work is refused before any run: a resource request the cluster does not have (no
GPUs for ``gpus_per_run``; fewer CPUs than ``cpus_per_run``: the tasks would wait forever), and,
in each worker, code that differs from the driver's (the strategy's fingerprint and nasarena's
version, :mod:`nasarena.bench.identity`): every node needs the same nasarena and the same
strategy files (a ``file.py:Class`` strategy at the same path), else the study stops naming the
node. Ray itself is an optional extra (``pip install 'nasarena[ray]'``), imported only here.
See ``docs/ray.md``.
"""

from __future__ import annotations

import builtins
import contextlib
import logging
import socket
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nasarena.bench.config import RunConfig, StudyConfig
from nasarena.bench.identity import stale_reason, strategy_fingerprint
from nasarena.bench.study import check_strategies, compute, run_summary
from nasarena.errors import ConfigError, NasarenaError
from nasarena.results.store import write_run

log = logging.getLogger(__name__)

INSTALL_HINT = "--executor ray needs Ray, an optional extra: pip install 'nasarena[ray]'"


class CodeMismatch(Exception):
    """A Ray worker's strategy code or nasarena version differs from the driver's."""


def import_ray() -> Any:
    """``ray``, or a :class:`ConfigError` saying how to install it."""
    try:
        import ray
    except ImportError:
        raise ConfigError(INSTALL_HINT) from None
    return ray


def _positive(value: float, flag: str, allow_zero: bool) -> float:
    ok = isinstance(value, int | float) and not isinstance(value, bool) and (
        value >= 0 if allow_zero else value > 0)
    if not ok:
        raise ConfigError(f"{flag} must be a {'non-negative' if allow_zero else 'positive'} number "
                          f"(fractions allowed, e.g. 0.25), got {value!r}")
    return float(value)


def _task(config: RunConfig, identity: dict[str, Any]) -> Any:
    """One run, in a Ray worker: check this node's code against the driver's, then compute."""
    try:
        here = strategy_fingerprint(config.strategy)
        why = stale_reason(here, identity["code"])
    except Exception as exc:  # e.g. the strategy file or module is missing on this node
        why = f"{type(exc).__name__}: {exc}"
    if why is not None:
        raise CodeMismatch(f"Ray worker on {socket.gethostname()} cannot run strategy {config.strategy!r} "
                           f"as the driver would ({why}); install the same nasarena and strategy files "
                           f"on every node")
    # threads: Ray sets OMP_NUM_THREADS to the task's CPUs (--cpus-per-run) in its workers, which
    # torch and BLAS read when they load, so nothing is set here
    return compute(config, identity)


@contextlib.contextmanager
def _own_print() -> Iterator[None]:
    """Give the caller back its ``print``: Ray's driver replaces ``builtins.print`` (tqdm_ray's
    ``safe_print``, when it first relays worker output) and never restores it."""
    saved = builtins.print
    try:
        yield
    finally:
        builtins.print = saved


@dataclass
class RayExecutor:
    """Runs each run as a Ray task with ``cpus_per_run`` CPUs and ``gpus_per_run`` GPUs (fractions
    share a device: 0.25 puts four live trainings on one GPU).

    ``address``: ``None`` starts a local Ray instance for this study (and stops it after);
    ``"auto"`` or ``"HOST:PORT"`` connects to a running cluster (``ray start --head``). If this
    process is already connected (``ray.init`` was called), that session is used as it is.
    """

    address: str | None = None
    cpus_per_run: float = 1.0
    gpus_per_run: float = 0.0
    max_retries: int = 3
    name: str = "ray"

    def __post_init__(self) -> None:
        self.cpus_per_run = _positive(self.cpus_per_run, "--cpus-per-run", allow_zero=False)
        self.gpus_per_run = _positive(self.gpus_per_run, "--gpus-per-run", allow_zero=True)
        if self.gpus_per_run > 1 and self.gpus_per_run != int(self.gpus_per_run):
            raise ConfigError(f"--gpus-per-run above 1 must be a whole number of GPUs (Ray's rule), "
                              f"got {self.gpus_per_run}")

    def describe(self, n_runs: int) -> str:
        where = self.address or "a local Ray instance"
        return (f"as Ray tasks on {where} ({self.cpus_per_run:g} CPU, {self.gpus_per_run:g} GPU per run; "
                f"results written by this driver)")

    def _check_resources(self, ray: Any) -> None:
        have = ray.cluster_resources()
        for key, want, flag in (("CPU", self.cpus_per_run, "--cpus-per-run"),
                                ("GPU", self.gpus_per_run, "--gpus-per-run")):
            if want > 0 and have.get(key, 0) < want:
                raise ConfigError(f"{flag} {want:g} asks for more {key}s than the whole Ray cluster has "
                                  f"({have.get(key, 0):g}); the tasks would wait forever. Lower {flag} "
                                  f"or add nodes with {key}s")

    def run_all(self, config: StudyConfig, todo: list[RunConfig], out_dir: Path,
                identity: dict[str, dict[str, Any]], ready: Callable[[], None]
                ) -> Iterator[dict[str, Any]]:
        """Check the strategies here, call ``ready``, submit every run and write each result as it
        comes back (see the module doc)."""
        ray = import_ray()
        with _own_print():
            yield from self._run_all(ray, config, todo, out_dir, identity, ready)

    def _run_all(self, ray: Any, config: StudyConfig, todo: list[RunConfig], out_dir: Path,
                 identity: dict[str, dict[str, Any]], ready: Callable[[], None]
                 ) -> Iterator[dict[str, Any]]:
        started = not ray.is_initialized()
        if started:
            try:
                ray.init(address=self.address, include_dashboard=False, log_to_driver=False,
                         logging_level=logging.WARNING)
            except ConnectionError as exc:
                raise ConfigError(f"cannot connect to the Ray cluster at {self.address!r} ({exc}); start "
                                  f"one with `ray start --head` or omit --ray-address for a local one") \
                    from None
        try:
            self._check_resources(ray)
            check_strategies(config)
            ready()
            options: dict[str, Any] = {"num_cpus": self.cpus_per_run, "num_gpus": self.gpus_per_run,
                                       "max_retries": self.max_retries}
            # given to ray.remote (not .options), so a GPU task gets Ray's max_calls=1: a fresh worker
            # per GPU run, which releases its device memory and sees only its CUDA_VISIBLE_DEVICES
            remote = ray.remote(**options)(_task)
            pending = {remote.remote(rc, identity[rc.strategy]): rc for rc in todo}
            try:
                while pending:
                    done, _ = ray.wait(list(pending), num_returns=1)
                    for ref in done:
                        yield self._collect(ray, ref, pending.pop(ref), out_dir)
            finally:
                for ref in pending:
                    ray.cancel(ref, force=True)
        finally:
            if started:
                ray.shutdown()

    def _collect(self, ray: Any, ref: Any, rc: RunConfig, out_dir: Path) -> dict[str, Any]:
        """Write one finished task's result; a lost task gives a ``lost`` summary and no file."""
        try:
            result = ray.get(ref)
        except ray.exceptions.RayTaskError as exc:
            if isinstance(exc.cause, CodeMismatch):
                raise ConfigError(str(exc.cause)) from None
            if isinstance(exc.cause, NasarenaError):
                raise exc.cause from None
            raise
        except ray.exceptions.RayError as exc:  # the worker died more often than max_retries
            return {"run_id": rc.run_id, "status": "lost", "n_evals": 0,
                    "error": f"Ray lost the task after {self.max_retries} retries: {type(exc).__name__}"}
        write_run(out_dir, result)
        return run_summary(result)
