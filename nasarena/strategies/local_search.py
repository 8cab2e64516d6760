"""``local-search``: first-improvement hill climbing over the space's neighbours, with random restarts.

White et al. (2020, "Local search is state of the art for NAS benchmarks") found this simple
method hard to beat on NAS-Bench-201. The climber sits on a *current* architecture and evaluates its
untried neighbours (``space.neighbours``) in random order; the first neighbour that scores better
becomes the current one. When every neighbour has been told and none improved, the current
architecture is a local optimum and the search restarts from a fresh random architecture.

Asynchronous workers: several neighbours of the current architecture may be outstanding at once.
When there is nothing useful left to hand out (all neighbours asked, results pending), the strategy
proposes a random unseen architecture instead of idling; such results are kept as restart points,
best first, so the work is not wasted. No architecture is proposed twice.

``warm_start=True`` proposes each neighbour as a warm start from the current architecture's
evaluation (its weights, on an oracle that offers ``warm-start``; see
:mod:`nasarena.strategies.inheritance`); off by default, which leaves every trajectory unchanged.
"""

from __future__ import annotations

import heapq
from typing import Any, ClassVar

import numpy as np

from nasarena.errors import SearchExhausted
from nasarena.estimators.base import FULL, Evaluation, Fidelity
from nasarena.spaces.base import Arch, SearchSpace
from nasarena.strategies.base import Proposal, Strategy
from nasarena.strategies.inheritance import warm_start_config, warm_start_option


def sample_unseen(space: SearchSpace, rng: np.random.Generator, seen: set[Arch],
                  tries: int = 256) -> Arch:
    """A uniformly random architecture not in ``seen`` (raises :class:`SearchExhausted` if none).

    Rejection sampling is fast while the space is mostly unseen; after ``tries`` rejections the
    remaining architectures are enumerated, so the answer stays uniform and exhaustion is detected.
    """
    for _ in range(tries):
        arch = space.sample(rng)
        if arch not in seen:
            return arch
    rest = [a for a in space.enumerate() if a not in seen]
    if not rest:
        raise SearchExhausted(f"every architecture of {space.name} has been proposed")
    return rest[int(rng.integers(len(rest)))]


class LocalSearch(Strategy):
    """Hill climbing with random restarts (see the module docstring for the asynchronous rules)."""

    name: ClassVar[str] = "local-search"

    def __init__(self, space: SearchSpace, rng: np.random.Generator,
                 fidelities: tuple[Fidelity, ...] = (FULL,), warm_start: bool = False) -> None:
        super().__init__(space, rng, fidelities)
        self.warm_children = warm_start_option(self, warm_start)
        self._current_id: int | None = None   # the proposal the current architecture was evaluated as
        self._seen: set[Arch] = set()
        self._current: tuple[Arch, float] | None = None
        self._frontier: list[Arch] = []          # untried neighbours of the current architecture
        self._pending: dict[int, str] = {}       # proposal id -> "start" | "neighbour"
        self._restarts: list[tuple[float, int, Arch, int]] = []  # max-heap of spare random results (+ id)
        self._tie = 0
        self.n_restarts = 0

    # ---- helpers -----------------------------------------------------------------------------
    def _move_to(self, arch: Arch, score: float, pid: int | None = None) -> None:
        """Make ``arch`` (evaluated as proposal ``pid``) the current architecture and queue its untried
        neighbours, shuffled."""
        self._current = (arch, score)
        self._current_id = pid
        nbrs = [a for a in self.space.neighbours(arch) if a not in self._seen]
        self._frontier = [nbrs[i] for i in self.rng.permutation(len(nbrs))]

    def _restart(self) -> None:
        """Leave a local optimum: continue from the best spare random result, or from scratch."""
        self.n_restarts += 1
        self._current = None
        self._frontier = []
        if self._restarts:
            neg, _, arch, pid = heapq.heappop(self._restarts)
            self._move_to(arch, -neg, pid)

    def _issue(self, arch: Arch, kind: str) -> Proposal:
        self._seen.add(arch)
        if kind == "neighbour" and self.warm_children and self._current_id is not None:
            proposal = self.warm_start(arch, self._current_id)
        else:
            proposal = self.propose(arch)
        self._pending[proposal.id] = kind
        return proposal

    # ---- ask / tell --------------------------------------------------------------------------
    def ask(self) -> Proposal:
        """Next untried neighbour of the current architecture, else a random unseen one."""
        while self._frontier:
            arch = self._frontier.pop()
            if arch not in self._seen:
                return self._issue(arch, "neighbour")
        return self._issue(sample_unseen(self.space, self.rng, self._seen), "start")

    def tell(self, proposal: Proposal, evaluation: Evaluation) -> None:
        """Move on improvement; keep spare random results as restart points; restart at optima."""
        kind = self._pending.pop(proposal.id, "start")
        ok = evaluation.ok and evaluation.score == evaluation.score  # NaN-safe
        if ok:
            score = float(evaluation.score)
            if self._current is None:
                self._move_to(proposal.arch, score, proposal.id)
            elif score > self._current[1]:  # an improving neighbour, or a better random point
                self._move_to(proposal.arch, score, proposal.id)
            elif kind == "start":
                heapq.heappush(self._restarts, (-score, self._tie, proposal.arch, proposal.id))
                self._tie += 1
        if self._current is not None and not self._frontier \
                and "neighbour" not in self._pending.values():
            self._restart()

    def config(self) -> dict[str, Any]:
        """No hyper-parameters (the neighbourhood is the space's one-decision change); ``warm_start``
        when on."""
        return warm_start_config(self.warm_children)
