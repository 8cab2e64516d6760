"""The result store: one Parquet file per finished run, written atomically, read back as a study.

Layout of a study folder::

    study.json                 the StudyConfig (written by run_study; grows when seeds/strategies are added)
    runs/<run_id>.parquet      one file per finished run (ok or failed)
    quarantine/                damaged run files moved aside by a resume (they are rerun)
    stale/                     runs made with other code (strategy source or nasarena version; rerun)

A run file holds the trajectory (schema columns) and, under ``schema.RUN_META_KEY`` in the Parquet
key-value metadata, the run record as JSON (config, oracle description, versions, status,
traceback). Files are written to a temporary name in the same folder, fsynced and renamed with
``os.replace``, so a reader never sees half a file and a study killed with SIGKILL loses at most the
runs that were in flight; their temp files (named after the writer's pid) are ignored and cleaned.

Damage that happens anyway (a disk full of zeros, a copy cut short, a file truncated by hand) is
caught on three levels: the Parquet footer must parse, the row count must equal the ``n_rows`` the
record states, and every data page carries a CRC that is verified when the file is read.
:func:`scan_runs` (used at resume) checks all three and the resume moves damaged files to
``quarantine/``; :func:`load_study` skips them with a warning and lists them in
:attr:`Study.unreadable`.
"""

from __future__ import annotations

import json
import logging
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import psutil
import pyarrow as pa
import pyarrow.parquet as pq

from nasarena.atomic import TMP_SUFFIX, write_parquet_atomic
from nasarena.errors import DataError
from nasarena.results import schema as S

log = logging.getLogger(__name__)

RUNS_DIR = "runs"
SUFFIX = ".parquet"

#: Columns of :attr:`Study.runs` (one row per run), in order.
RUN_COLUMNS: tuple[str, ...] = (
    "run_id", "strategy", "oracle", "dataset", "seed", "n_workers", "status", "error", "max_time",
    "max_evals", "best_final", "search_metric", "final_metric", "n_evals", "sim_time", "stop_reason",
    "wall_seconds", "cpu_seconds", "config",
)


@dataclass
class Study:
    """Everything stored in a study folder.

    ``trajectories``: all rows of all runs (schema columns, sorted by run and evaluation index);
    ``runs``: one row per run (:data:`RUN_COLUMNS`); ``meta``: the full run records, in ``runs``
    order; ``config``: the contents of ``study.json`` if present.
    """

    path: Path
    trajectories: pd.DataFrame
    runs: pd.DataFrame
    meta: list[dict[str, Any]] = field(default_factory=list)
    config: dict[str, Any] | None = None
    #: run files that could not be read (path, reason); the rest of the study is loaded
    unreadable: list[tuple[Path, str]] = field(default_factory=list)


def runs_dir(study_dir: str | Path) -> Path:
    """The folder holding a study's run files."""
    return Path(study_dir) / RUNS_DIR


def run_path(study_dir: str | Path, run_id: str) -> Path:
    """Where the run ``run_id`` is (or will be) stored."""
    return runs_dir(study_dir) / f"{run_id}{SUFFIX}"


def _json_default(obj: Any) -> Any:
    if hasattr(obj, "item"):
        return obj.item()
    return str(obj)


def _clean_json(value: Any) -> Any:
    """Replace non-finite floats by None so the record is standard JSON."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _clean_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean_json(v) for v in value]
    return value


def write_run(study_dir: str | Path, result: Any) -> Path:
    """Store a :class:`~nasarena.bench.runner.RunResult` atomically; returns the file's path.

    Writing the same run again replaces the file with identical rows (never a duplicate), which
    makes a resumed study safe even if an orphaned worker of a killed study finishes late.
    """
    folder = runs_dir(study_dir)
    folder.mkdir(parents=True, exist_ok=True)
    final = folder / f"{result.run_id}{SUFFIX}"
    meta = dict(result.meta)
    meta.setdefault("run_id", result.run_id)
    meta["status"], meta["error"] = result.status, result.error
    meta["n_rows"] = len(result.trajectory)  # checked against the footer when the file is read
    text = json.dumps(_clean_json(meta), default=_json_default, sort_keys=True)
    table = pa.Table.from_pandas(result.trajectory, preserve_index=False)
    table = table.replace_schema_metadata({**(table.schema.metadata or {}),
                                           S.RUN_META_KEY.encode(): text.encode()})
    write_parquet_atomic(table, final, compression="zstd", write_page_checksum=True)
    return final


def _pid_alive(pid: int) -> bool:
    """Whether ``pid`` can still write: a zombie cannot (a killed study's orphaned pool workers stay
    zombies where PID 1 does not reap them, and ``kill(pid, 0)`` alone would call them alive)."""
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False
    except psutil.AccessDenied:
        return True


def clean_stale_temps(study_dir: str | Path) -> list[Path]:
    """Delete temp files left by writers that no longer run (killed studies); returns them.

    Temp files of live processes are kept, so cleaning never races a concurrent writer.
    """
    removed = []
    folder = runs_dir(study_dir)
    if not folder.is_dir():
        return removed
    for tmp in folder.glob(f".*{TMP_SUFFIX}"):
        parts = tmp.name.split(".")
        try:
            pid = int(parts[-3])
        except (IndexError, ValueError):
            pid = -1
        if pid < 0 or not _pid_alive(pid):
            tmp.unlink(missing_ok=True)
            removed.append(tmp)
    if removed:
        log.info("removed %d stale temp file(s) from %s", len(removed), folder)
    return removed


def _run_files(study_dir: str | Path) -> list[Path]:
    folder = runs_dir(study_dir)
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.glob(f"*{SUFFIX}") if not p.name.startswith("."))


def finished_run_ids(study_dir: str | Path) -> set[str]:
    """Ids of the run files in ``study_dir`` (ok or failed), by name only (see :func:`scan_runs`)."""
    return {p.name[: -len(SUFFIX)] for p in _run_files(study_dir)}


def failed_run_ids(study_dir: str | Path) -> set[str]:
    """Ids of stored runs whose status is not ``ok`` (reads only the files' footers)."""
    records, _ = scan_runs(study_dir)
    return {run_id for run_id, meta in records.items() if meta.get("status") != "ok"}


def _corrupt(path: Path, exc: BaseException) -> DataError:
    return DataError(f"{path} is not a readable nasarena run file ({type(exc).__name__}: {exc}); delete it "
                     f"and rerun the study, which recomputes that run")


def inspect_run(path: str | Path) -> dict[str, Any]:
    """A run file's record, after checking the whole file; raises :class:`DataError` if it is damaged.

    Damaged means: no parseable footer (zero bytes, truncated), no run record, missing schema
    columns, a data page whose CRC fails, or a row count different from the record's ``n_rows``
    (files written before ``n_rows`` existed are compared with ``n_evals``). Reading a run file
    costs about 2 ms of CPU (the 900 files of ``make bench``: about 2 s against 0.2 s for the footers
    alone), small next to rerunning a damaged run, so a resume checks every file in full.
    """
    return _read_table(Path(path))[1]


def scan_runs(study_dir: str | Path) -> tuple[dict[str, dict[str, Any]], dict[Path, str]]:
    """Every intact run file's record by run id, and the damaged files with the reason."""
    records: dict[str, dict[str, Any]] = {}
    damaged: dict[Path, str] = {}
    for path in _run_files(study_dir):
        try:
            records[path.name[: -len(SUFFIX)]] = inspect_run(path)
        except DataError as exc:
            damaged[path] = str(exc)
    return records, damaged


def move_aside(study_dir: str | Path, path: Path, folder: str) -> Path:
    """Move a run file into ``study_dir/folder`` (never overwriting an earlier one); returns where."""
    target_dir = Path(study_dir) / folder
    target_dir.mkdir(parents=True, exist_ok=True)
    target = target_dir / path.name
    n = 1
    while target.exists():
        target = target_dir / f"{path.stem}.{n}{path.suffix}"
        n += 1
    os.replace(path, target)
    return target


def _read_table(path: Path) -> tuple[pa.Table, dict[str, Any]]:
    """One run file as an Arrow table (schema columns, in order) and its record."""
    try:
        # small files: a thread pool costs more than it saves; page CRCs catch flipped bytes
        table = pq.read_table(path, use_threads=False, page_checksum_verification=True)
        meta = json.loads((table.schema.metadata or {})[S.RUN_META_KEY.encode()])
    except (OSError, pa.ArrowException, KeyError, ValueError) as exc:
        raise _corrupt(path, exc) from None
    table = S.upgrade(table)  # files written before the lineage columns existed
    names = set(table.column_names)
    missing = [c for c in S.COLUMNS if c not in names]
    if missing:
        raise _corrupt(path, KeyError(f"missing columns {missing}"))
    expected = meta.get("n_rows", meta.get("n_evals"))
    if expected is not None and table.num_rows != expected:
        raise _corrupt(path, ValueError(f"{table.num_rows} rows, but its record says {expected}"))
    return table.select(list(S.COLUMNS)).replace_schema_metadata(None), meta


def read_run(path: str | Path) -> tuple[pd.DataFrame, dict[str, Any]]:
    """One run file's trajectory and record; a damaged file raises :class:`DataError` naming it."""
    table, meta = _read_table(Path(path))
    return table.to_pandas(), meta


def _run_row(meta: dict[str, Any]) -> dict[str, Any]:
    cfg = meta.get("config", {})
    desc = meta.get("oracle", {})
    budget = cfg.get("budget", {})
    return {
        "run_id": meta.get("run_id"), "strategy": cfg.get("strategy"), "oracle": cfg.get("oracle"),
        "dataset": desc.get("dataset"), "seed": cfg.get("seed"), "n_workers": cfg.get("n_workers"),
        "status": meta.get("status"), "error": meta.get("error"), "max_time": budget.get("max_time"),
        "max_evals": budget.get("max_evals"), "best_final": desc.get("best_final"),
        "search_metric": desc.get("search_metric"), "final_metric": desc.get("final_metric"),
        "n_evals": meta.get("n_evals"), "sim_time": meta.get("sim_time"),
        "stop_reason": meta.get("stop_reason"), "wall_seconds": meta.get("wall_seconds"),
        "cpu_seconds": meta.get("cpu_seconds"), "config": json.dumps(cfg, sort_keys=True),
    }


#: Trajectory dtypes (the runner's; an empty failed run's all-null columns must not widen them).
_TRAJ_DTYPES = {
    **{c: "str" for c in (S.RUN_ID, S.STRATEGY, S.ORACLE, S.DATASET, S.ARCH, S.FIDELITY, S.KIND,
                          S.MORPHISM, S.INC_ARCH)},
    **{c: "int64" for c in (S.SEED, S.N_WORKERS, S.EVAL_INDEX, S.WORKER, S.PROPOSAL_ID, S.PARENT_ID)},
    **{c: "float64" for c in (S.TIME, S.SCORE, S.COST, S.PARAMS, S.FLOPS, S.CUM_COST, S.INC_SCORE,
                              S.INC_FINAL, S.INC_REGRET, S.INC_PARAMS)},
    S.OK: "bool",
}

_RUN_DTYPES = {"seed": "int64", "n_workers": "int64", "max_time": "float64", "max_evals": "Int64",
               "best_final": "float64", "n_evals": "int64", "sim_time": "float64", "wall_seconds": "float64",
               "cpu_seconds": "float64"}


def _labels(metas: list[dict[str, Any]]) -> dict[str, str]:
    """Strategy spec -> the name tables show (a file strategy's ``name``), where that is unambiguous."""
    labels: dict[str, str] = {}
    for m in metas:
        spec, label = m.get("config", {}).get("strategy"), m.get("strategy_label")
        if spec and label and label != spec:
            labels[spec] = label
    taken = {m.get("config", {}).get("strategy") for m in metas} - set(labels)
    counts: dict[str, int] = {}
    for label in labels.values():
        counts[label] = counts.get(label, 0) + 1
    return {s: lb for s, lb in labels.items() if counts[lb] == 1 and lb not in taken}


def load_study(study_dir: str | Path) -> Study:
    """Read every run of a study folder (temp files of killed writers are ignored).

    Damaged run files are skipped with a warning and listed in :attr:`Study.unreadable`. File
    strategies (``path/to/file.py:Class``) appear under their ``name`` in the ``strategy`` columns
    (the full spec stays in ``config``). Raises :class:`DataError` if no run file is readable.
    """
    study_dir = Path(study_dir)
    files = _run_files(study_dir)
    if not files:
        raise DataError(f"{study_dir} holds no finished runs (expected {runs_dir(study_dir)}/*{SUFFIX}); "
                        f"run a study there first, e.g. `nasarena run --out {study_dir} ...`")
    tables, metas, unreadable = [], [], []
    for path in files:
        try:
            table, meta = _read_table(path)
        except DataError as exc:
            unreadable.append((path, str(exc)))
            continue
        meta.setdefault("run_id", path.name[: -len(SUFFIX)])
        tables.append(table)
        metas.append(meta)
    if unreadable:
        log.warning("%d run file(s) of %s are unreadable and left out: %s (resuming the study moves them "
                    "to quarantine/ and reruns them)", len(unreadable), study_dir,
                    ", ".join(p.name for p, _ in unreadable))
    if not tables:
        raise DataError(f"none of the {len(files)} run files in {runs_dir(study_dir)} is readable "
                        f"(first: {unreadable[0][1]})")
    # one Arrow concatenation and one conversion: converting file by file is ten times slower
    try:
        merged = pa.concat_tables(tables, promote_options="permissive")
    except pa.ArrowException as exc:
        raise DataError(f"the run files in {runs_dir(study_dir)} have incompatible columns ({exc}); "
                        f"were they written by different nasarena versions?") from None
    trajectories = merged.to_pandas().astype({c: t for c, t in _TRAJ_DTYPES.items()})
    trajectories = trajectories.sort_values([S.RUN_ID, S.EVAL_INDEX], kind="stable", ignore_index=True)
    runs = pd.DataFrame([_run_row(m) for m in metas], columns=list(RUN_COLUMNS))
    runs = runs.astype({k: v for k, v in _RUN_DTYPES.items() if k in runs})
    labels = _labels(metas)
    if labels:
        runs[S.STRATEGY] = runs[S.STRATEGY].replace(labels)
        trajectories[S.STRATEGY] = trajectories[S.STRATEGY].replace(labels)
    config = None
    cfg_path = study_dir / "study.json"
    if cfg_path.is_file():
        try:
            config = json.loads(cfg_path.read_text())
        except ValueError as exc:
            raise DataError(f"{cfg_path} is not valid JSON ({exc}); delete it or rewrite it") from None
    return Study(path=study_dir, trajectories=trajectories, runs=runs, meta=metas, config=config,
                 unreadable=unreadable)
