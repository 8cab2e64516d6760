"""Named records of the runner's event loop: trajectory rows, queued evaluations, lineage facts.

They are ``NamedTuple`` s (an in-flight evaluation is a heap entry ordered by its first fields) and
the runner builds them with ``tuple.__new__(Record, values)``: the NamedTuple constructor is a Python
function, one more frame per evaluation on the hot path.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from nasarena.estimators.base import Evaluation
from nasarena.results import schema as S
from nasarena.strategies.base import Proposal

#: Columns that are the same on every row of a run (not part of :class:`Row`).
CONSTANT = (S.RUN_ID, S.STRATEGY, S.ORACLE, S.DATASET, S.SEED, S.N_WORKERS)


class Row(NamedTuple):
    """One trajectory row: the per-evaluation columns of :data:`~nasarena.results.schema.COLUMNS`."""

    eval_index: int
    time: float
    worker: int
    arch: str
    fidelity: str
    score: float
    cost: float
    params: float
    flops: float
    ok: bool
    proposal_id: int
    parent_id: int
    kind: str
    cum_cost: float
    morphism: str
    incumbent_arch: str | None
    incumbent_score: float
    incumbent_final: float
    incumbent_regret: float
    incumbent_params: float


if Row._fields != tuple(c for c in S.COLUMNS if c not in CONSTANT):  # pragma: no cover - a typo
    raise ImportError("nasarena.bench.records.Row must list the schema's per-evaluation columns in order")


class ArchFacts:
    """What the trajectory needs about one architecture, validated once and cached across runs.

    ``final`` and ``params`` stay None until the architecture first becomes the incumbent: the final
    metric is the harness's held-out number and may be expensive (live training).
    """

    __slots__ = ("arch", "text", "final", "params")

    def __init__(self, arch: Any, text: str) -> None:
        self.arch, self.text = arch, text
        self.final: float | None = None
        self.params: float | None = None


class InFlight(NamedTuple):
    """An evaluation on the event queue; ordered by (finish time, start order) for ``heapq``."""

    finish: float
    seq: int
    worker: int
    proposal: Proposal
    evaluation: Evaluation
    facts: ArchFacts | None   # None for shared work
    rank: int                 # index of the fidelity in the oracle's fidelities (-1: shared work)
    fidelity: str             # Fidelity.key() (SharedWork.key() for shared work)
    parent: int               # the proposal it continues or inherits from, -1 if none
    cum_cost: float           # the lineage's cost up to and including this evaluation


class Finished(NamedTuple):
    """What a later continue / warm start needs about a finished proposal."""

    handle: Any
    arch: Any
    rank: int
    cum_cost: float
    ok: bool
