"""A mutation hill climber with a twist: the longer it is stuck, the bigger its jumps."""

from __future__ import annotations

import math

import numpy as np

from nasarena.estimators.base import FULL, Evaluation, Fidelity
from nasarena.spaces.base import SearchSpace
from nasarena.strategies.base import Proposal, Strategy


class MyStrategy(Strategy):
    """Mutate the best architecture seen so far; after every ``patience`` tells without an
    improvement, change one more decision per proposal (a random restart, in the limit)."""

    name = "stuck-climber"

    def __init__(self, space: SearchSpace, rng: np.random.Generator,
                 fidelities: tuple[Fidelity, ...] = (FULL,), patience: int = 8) -> None:
        super().__init__(space, rng, fidelities)
        self.patience = patience
        self.best, self.best_score, self.stuck = None, -math.inf, 0

    def ask(self) -> Proposal:
        if self.best is None:  # nothing told yet (or only failures): sample uniformly
            return self.propose(self.space.sample(self.rng))
        arch = self.best
        for _ in range(min(1 + self.stuck // self.patience, len(self.space.decisions))):
            arch = self.space.mutate(arch, self.rng)  # the twist: bigger steps when stuck
        return self.propose(arch)

    def tell(self, proposal: Proposal, evaluation: Evaluation) -> None:
        if evaluation.ok and evaluation.score > self.best_score:
            self.best, self.best_score, self.stuck = proposal.arch, evaluation.score, 0
        else:  # failures (ok=False, NaN score) count as "no improvement"
            self.stuck += 1

    def config(self) -> dict[str, int]:
        return {"patience": self.patience}
