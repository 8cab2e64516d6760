"""The one-call Python API for notebooks: :func:`run_study` and :func:`load_study`.

Both return a :class:`~nasarena.results.store.Study`, whose ``runs`` (one row per run: strategy,
seed, status, evaluations, simulated time, ...) and ``trajectories`` (one row per finished
evaluation, with the incumbent's held-out final metric after it) are pandas DataFrames. A study is
stored as one Parquet file per run, so a rerun resumes and the same folder can be reported with
``nasarena report``. The README's "Python API" block is executed by the test suite.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from nasarena.results.store import Study
from nasarena.results.store import load_study as _load_study


def _seeds(seeds: int | str | Iterable[int]) -> tuple[int, ...]:
    from nasarena.bench.config import parse_seeds

    if isinstance(seeds, bool):
        raise TypeError("seeds must be a count, a string such as '0-9', or a list of ints")
    if isinstance(seeds, int):
        return tuple(range(seeds))
    if isinstance(seeds, str):
        return parse_seeds(seeds)
    return tuple(int(s) for s in seeds)


def run_study(strategies: str | Iterable[str] = ("random", "regularized-evolution", "reinforce"), *,
              oracle: str = "nb201-lite", dataset: str | Iterable[str] | None = None,
              seeds: int | str | Iterable[int] = 10, budget_time: float | None = None,
              budget_evals: int | None = None, n_workers: int = 1,
              strategy_kwargs: Mapping[str, Mapping[str, Any]] | None = None,
              oracle_kwargs: Mapping[str, Any] | None = None, out: str | Path | None = None,
              jobs: int | None = None, progress: bool = False, executor: str = "process",
              ray_address: str | None = None, cpus_per_run: float | None = None,
              gpus_per_run: float | None = None) -> Study:
    """Run (or resume) strategies x datasets x seeds on one oracle and return the study.

    ``strategies``: registered names (``nasarena list strategies``) or ``"file.py:Class"``, as a
    list or a comma-separated string. ``seeds``: a count (``10`` means 0-9), ``"0-9"`` or a list.
    Give ``budget_time`` (simulated seconds per run) and/or ``budget_evals`` (finished evaluations
    per run). ``dataset``: one name or several (the grid runs on each). On ``nb201-lite`` the final
    metric is NB201's 200-epoch test accuracy shipped with nasarena, as in ``make bench``
    (``oracle_kwargs={"test_accuracy": False}`` for the seed-mean validation accuracy). ``out``:
    the study folder (default: a new temporary folder, ``study.path``); rerunning with the same
    ``out`` skips finished runs. ``jobs``: processes (default 1: runs here, which suits a notebook).
    ``executor="ray"`` runs each run as a Ray task instead (``ray_address``, ``cpus_per_run``,
    ``gpus_per_run``; see docs/ray.md).
    """
    from nasarena.bench.config import Budget, StudyConfig
    from nasarena.bench.study import make_executor
    from nasarena.bench.study import run_study as _run

    names = (tuple(s.strip() for s in strategies.split(",")) if isinstance(strategies, str)
             else tuple(strategies))
    okw = dict(oracle_kwargs or {})
    if oracle == "nb201-lite" and "test_table" not in okw:
        okw.setdefault("test_accuracy", True)
    datasets = None
    if dataset is not None:
        ds = (dataset,) if isinstance(dataset, str) else tuple(dataset)
        okw["dataset"] = ds[0]
        datasets = ds if len(ds) > 1 else None
    config = StudyConfig(strategies=names, oracle=oracle, oracle_kwargs=okw, seeds=_seeds(seeds),
                         budget=Budget(max_time=budget_time, max_evals=budget_evals), n_workers=n_workers,
                         strategy_kwargs={k: dict(v) for k, v in (strategy_kwargs or {}).items()},
                         datasets=datasets)
    folder = Path(out) if out is not None else Path(tempfile.mkdtemp(prefix="nasarena-study-"))
    engine = make_executor(executor, address=ray_address, cpus_per_run=cpus_per_run,
                           gpus_per_run=gpus_per_run)
    _run(config, folder, jobs=1 if engine is None and jobs is None else jobs, progress=progress,
         executor=engine)
    return _load_study(folder)


def load_study(path: str | Path) -> Study:
    """Read a study folder written by ``nasarena run``/``bench``/``compare`` or :func:`run_study`."""
    return _load_study(path)


__all__ = ["Study", "load_study", "run_study"]
