"""Multi-objective regularized evolution (``regularized-evolution-mo``).

The objective conventions and the Pareto helpers (non-dominated sorting, crowding, hypervolume) are
in :mod:`nasarena.objectives`, shared with the reports.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np

from nasarena.errors import ConfigError
from nasarena.estimators.base import FULL, Evaluation, Fidelity
from nasarena.objectives import (
    crowding_distance,
    non_dominated_ranks,
    objective_vector,
    parse_objectives,
)
from nasarena.spaces.base import Arch, SearchSpace
from nasarena.strategies.base import Proposal, Strategy


def _rank_and_crowd(points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Front index of each row and its crowding distance within its own front."""
    ranks = non_dominated_ranks(points)
    crowd = np.zeros(len(points))
    for r in np.unique(ranks):
        members = ranks == r
        crowd[members] = crowding_distance(points[members])
    return ranks, crowd


class RegularizedEvolutionMO(Strategy):
    """Aging evolution (Real et al. 2019) whose tournament uses Pareto rank, then crowding distance.

    The population is the ``population_size`` most recent successful evaluations (the oldest dies).
    A tournament samples ``sample_size`` members; the winner is the one on the best non-dominated
    front of the *population*, ties broken by larger crowding distance (NSGA-II's crowded
    comparison), and its mutation is proposed. With ``objectives=("score",)`` this is exactly
    regularized evolution. Until the population is full, proposals are random samples, so several
    outstanding asks are always served. Failed evaluations never enter the population.
    """

    name: ClassVar[str] = "regularized-evolution-mo"

    def __init__(self, space: SearchSpace, rng: np.random.Generator,
                 fidelities: tuple[Fidelity, ...] = (FULL,), *, population_size: int = 10,
                 sample_size: int = 3, objectives: str | Sequence[str] | None = ("score", "params")) -> None:
        super().__init__(space, rng, fidelities)
        if population_size < 2 or not 1 <= sample_size <= population_size:
            raise ConfigError(f"need population_size >= 2 and 1 <= sample_size <= population_size, "
                              f"got {population_size} and {sample_size}")
        self.population_size = population_size
        self.sample_size = sample_size
        self.objectives = parse_objectives(objectives)
        self._population: deque[tuple[Arch, np.ndarray]] = deque(maxlen=population_size)
        self._ranking: tuple[np.ndarray, np.ndarray] | None = None  # cache, reset by tell

    def ask(self) -> Proposal:
        """A random sample while the population fills, then the mutated tournament winner."""
        if len(self._population) < self.population_size:
            return self.propose(self.space.sample(self.rng))
        if self._ranking is None:
            self._ranking = _rank_and_crowd(np.stack([vec for _, vec in self._population]))
        ranks, crowd = self._ranking
        idx = self.rng.choice(len(self._population), size=self.sample_size, replace=False)
        # lexicographic: lowest rank, then largest crowding, then earliest drawn (deterministic)
        best = min((int(i) for i in idx), key=lambda k: (ranks[k], -crowd[k]))
        return self.propose(self.space.mutate(self._population[best][0], self.rng))

    def tell(self, proposal: Proposal, evaluation: Evaluation) -> None:
        """Append a successful result (the deque drops the oldest); failures are ignored."""
        if not evaluation.ok:
            return
        vec = objective_vector(evaluation, self.objectives)
        if not np.all(np.isfinite(vec)):
            return  # an objective the oracle does not provide for this arch: cannot be ranked
        self._population.append((proposal.arch, vec))
        self._ranking = None

    def config(self) -> dict[str, Any]:
        """Hyper-parameters recorded with each run."""
        return {"population_size": self.population_size, "sample_size": self.sample_size,
                "objectives": list(self.objectives)}
