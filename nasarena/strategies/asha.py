"""``asha``: asynchronous successive halving (Li et al., "A System for Massively Parallel
Hyperparameter Tuning", MLSys 2020, Algorithm 2).

The rungs are the fidelities the strategy was given (``self.fidelities``, cheapest first; rung
``k`` is ``fidelities[k]``) and ``eta`` is the reduction factor. Whenever a worker asks, ASHA looks
from the top rung down for a configuration that is among the best ``floor(n_k / eta)`` of the
``n_k`` results told at rung ``k`` and has not been promoted yet, and promotes it to rung ``k + 1``;
if there is none, it starts a new configuration at the bottom rung. No rung waits for another, so no
worker idles (the synchronous Hyperband brackets can). Failed evaluations rank last and are never
promoted; ties go to the earlier result.

Promotions continue the lower-rung training (``Strategy.continue_``, charged only the increment)
when the oracle offers ``"continue"`` and ``continue_promotions`` is true (the default); otherwise a
promotion trains from scratch at the higher fidelity. ``config()`` records which (``continued``).
New configurations are uniform and unseen at the bottom rung; once none is left and nothing can be
promoted, every later ask raises :class:`~nasarena.errors.SearchExhausted`.
"""

from __future__ import annotations

import math
from typing import Any, ClassVar

import numpy as np

from nasarena.errors import SearchExhausted
from nasarena.estimators.base import FULL, Evaluation, Fidelity
from nasarena.spaces.base import Arch, SearchSpace
from nasarena.strategies.base import Proposal
from nasarena.strategies.hyperband import Halving
from nasarena.strategies.local_search import sample_unseen


class ASHA(Halving):
    """Asynchronous successive halving over ``self.fidelities`` (see the module docstring)."""

    name: ClassVar[str] = "asha"

    def __init__(self, space: SearchSpace, rng: np.random.Generator,
                 fidelities: tuple[Fidelity, ...] = (FULL,), *, eta: int = 3,
                 continue_promotions: bool = True) -> None:
        super().__init__(space, rng, fidelities, eta=eta, continue_promotions=continue_promotions)
        # per rung: told results (score, ask order, proposal), and ids already promoted from it
        self._results: list[list[tuple[float, int, Proposal]]] = [[] for _ in self.fidelities]
        self._promoted: list[set[int]] = [set() for _ in self.fidelities]
        self._level: dict[int, int] = {}      # outstanding proposal id -> rung
        self._seen: set[Arch] = set()
        self._exhausted = False
        self.n_promoted = 0

    def _promotable(self) -> tuple[Proposal, int] | None:
        """The best unpromoted top-``1/eta`` result of the highest rung that has one."""
        for k in reversed(range(len(self.fidelities) - 1)):
            results = self._results[k]
            quota = len(results) // self.eta
            if quota == 0:
                continue
            ranked = sorted(results, key=lambda r: (-r[0], r[1]))[:quota]
            for score, _, proposal in ranked:
                if math.isfinite(score) and proposal.id not in self._promoted[k]:
                    return proposal, k
        return None

    def ask(self) -> Proposal:
        """A promotion if one is due (highest rung first), else a new configuration at rung 0."""
        if self._exhausted:
            raise SearchExhausted(f"{self.name}: no unseen architecture left and nothing to promote")
        found = self._promotable()
        if found is not None:
            parent, k = found
            self._promoted[k].add(parent.id)
            self.n_promoted += 1
            proposal = self.promote(parent, self.fidelities[k + 1])
            self._level[proposal.id] = k + 1
            return proposal
        try:
            arch = sample_unseen(self.space, self.rng, self._seen)
        except SearchExhausted:
            self._exhausted = True
            raise
        self._seen.add(arch)
        proposal = self.propose(arch, self.fidelities[0])
        self._level[proposal.id] = 0
        return proposal

    def tell(self, proposal: Proposal, evaluation: Evaluation) -> None:
        """Record the result at its rung (failures as -inf: never promoted)."""
        k = self._level.pop(proposal.id)
        score = float(evaluation.score) if evaluation.ok else math.nan
        self._results[k].append((score if math.isfinite(score) else -math.inf, proposal.id, proposal))

    def config(self) -> dict[str, Any]:
        """Hyper-parameters recorded with each run, and whether promotions continued trainings."""
        return {**super().config(), "n_promoted": self.n_promoted}
