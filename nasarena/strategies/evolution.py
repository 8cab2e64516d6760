"""Regularized (aging) evolution and its non-aging ablation (Real et al., 2019).

Both keep a population of at most ``population_size`` evaluated architectures. An ask samples
``sample_size`` members uniformly with replacement (a tournament, as in the reference code), mutates
the best of them with the space's mutation (one decision changed) and proposes the child. A tell
adds the child to the population; when that makes it too large, :class:`RegularizedEvolution`
removes the *oldest* member (aging, the paper's regularisation) and :class:`Evolution` removes the
*worst* (classic tournament selection, the paper's ablation).

Until ``population_size`` successful results have been told, asks are uniform random samples. With
several asks outstanding (asynchronous workers) that phase simply lasts until the population is
full, whatever the number of asks issued, exactly as in the paper's distributed setting. Failed
evaluations (``ok=False`` or NaN score) never enter the population.

Defaults P=10, S=3 are those of the NAS-Bench-201 paper (its Section 5 baselines); Real et al. used
P=100, S=25 on their (much longer) searches.

``warm_start=True`` proposes each mutated child as a warm start from the tournament winner's
evaluation (its weights, on an oracle that offers ``warm-start``; see
:mod:`nasarena.strategies.inheritance`); off by default, which leaves every trajectory unchanged.

``zc_warmup=N`` starts from the best ``population_size`` of N random architectures by a zero-cost
proxy (``zc_proxy``, default synflow) and ``zc_moves=K`` evaluates the best of K distinct mutations
of each tournament winner by that proxy (Abdelfattah et al. 2021; see
:mod:`nasarena.strategies.zero_cost`); both off by default.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from nasarena.errors import ConfigError
from nasarena.estimators.base import FULL, Evaluation, Fidelity
from nasarena.spaces.base import Arch, SearchSpace
from nasarena.strategies.base import Proposal, Strategy, distinct, positive_int
from nasarena.strategies.inheritance import warm_start_config, warm_start_option
from nasarena.strategies.random_search import UniformSampler, usable_score
from nasarena.strategies.zero_cost import ProxyGuide, choose


class RegularizedEvolution(Strategy):
    """Aging evolution: tournament selection, mutation, the oldest member dies (see module doc)."""

    name: ClassVar[str] = "regularized-evolution"
    #: True: remove the oldest member; False: remove the worst (overridden by :class:`Evolution`).
    aging: ClassVar[bool] = True

    def __init__(self, space: SearchSpace, rng: np.random.Generator,
                 fidelities: tuple[Fidelity, ...] = (FULL,), population_size: int = 10,
                 sample_size: int = 3, warm_start: bool = False, zc_warmup: int = 0, zc_moves: int = 0,
                 zc_proxy: str = "synflow") -> None:
        super().__init__(space, rng, fidelities)
        positive_int(self.name, "population_size", population_size)
        if (isinstance(sample_size, bool) or not isinstance(sample_size, int)
                or not 1 <= sample_size <= population_size):
            raise ConfigError(f"{self.name}: sample_size must be an int in [1, population_size="
                              f"{population_size}], got {sample_size!r}")
        self.population_size = population_size
        self.sample_size = sample_size
        self.warm_children = warm_start_option(self, warm_start)
        self.zc = ProxyGuide(self, warmup=zc_warmup, moves=zc_moves, proxy=zc_proxy)
        # Parallel lists in insertion order (oldest first): cheap aging (pop(0) on <=P items) and
        # cheap worst-removal (C-level min/index over a list of floats).
        self.archs: list[Arch] = []
        self.scores: list[float] = []
        self.ids: list[int] = []  # the proposal each member was evaluated as (a warm start's parent)
        self._sampler = UniformSampler(space, rng)
        self._fid = self.fidelity

    @property
    def population(self) -> list[tuple[Arch, float]]:
        """(architecture, score) pairs, oldest first (a copy, for inspection and tests)."""
        return list(zip(self.archs, self.scores, strict=True))

    def ask(self) -> Proposal:
        """A random architecture while the population fills, then a mutated tournament winner."""
        if self.zc.on:
            return self.zc.note(self._zero_cost_ask() or self._step())
        return self._step()

    def _step(self) -> Proposal:
        """The plain step: a random architecture while the population fills, else a random mutation."""
        if len(self.scores) < self.population_size:
            return self.propose(self._sampler.sample(), self._fid)
        i = self._tournament()
        return self._child(self._sampler.mutate(self.archs[i]), self.ids[i])

    def _zero_cost_ask(self) -> Proposal | None:
        """The warm-up's proxy work, an architecture the proxy chose, or a move's proxy work; None:
        the plain step (filling the population, or a random mutation without ``zc_moves``)."""
        zc = self.zc
        if zc.warmup and not zc.warmup_asked:
            zc.warmup_asked = True
            return zc.ask_scores(self, distinct(self._sampler.sample, zc.warmup), "warmup")
        ready = zc.pop_ready()
        if ready is not None:
            return self._child(*ready)
        if not zc.moves or len(self.scores) < self.population_size:
            return None
        i = self._tournament()
        parent_arch = self.archs[i]
        options = zc.unseen(self.space.neighbours(parent_arch) or [self._sampler.mutate(parent_arch)])
        candidates = choose(options, zc.moves, self._sampler.uniform)
        unscored = [a for a in candidates if a not in zc.cache]
        if unscored:
            return zc.ask_scores(self, unscored, "move", candidates, self.ids[i])
        return self._child(zc.ranked(candidates)[0], self.ids[i])

    def _child(self, arch: Arch, parent: int | None) -> Proposal:
        """``arch`` as a fresh proposal, or as a warm start from ``parent`` with ``warm_start=True``."""
        if parent is not None and self.warm_children:
            return self.warm_start(arch, parent, self._fid)
        return self.propose(arch, self._fid)

    def _tournament(self) -> int:
        """Index of the best of ``sample_size`` members drawn uniformly *with* replacement.

        With replacement, as in Real et al.'s published code and the NAS-Bench-201 R-EA baseline
        (``random.choice`` S times); ties go to the first drawn, like their ``max(sample)``.
        """
        scores = self.scores
        n = len(scores)
        uniform = self._sampler.uniform
        best_i = int(uniform() * n)
        best = scores[best_i]
        for _ in range(self.sample_size - 1):
            i = int(uniform() * n)
            if scores[i] > best:
                best, best_i = scores[i], i
        return best_i

    def tell(self, proposal: Proposal, evaluation: Evaluation) -> None:
        """Add a successful child; remove the oldest (aging) or worst member when over size."""
        if proposal.work is not None:  # proxy scores (zero-cost options): they choose what comes next
            self.zc.told(proposal, evaluation, self.population_size)
            return
        score = usable_score(evaluation)
        if score is None:
            return
        self.archs.append(proposal.arch)
        self.scores.append(score)
        self.ids.append(proposal.id)
        if len(self.scores) > self.population_size:
            if self.aging:
                i = 0
            else:
                scores = self.scores
                i = scores.index(min(scores))  # the oldest among the worst
            del self.archs[i]
            del self.scores[i]
            del self.ids[i]

    def config(self) -> dict[str, Any]:
        """Population and tournament sizes, and whether removal is by age."""
        return {"population_size": self.population_size, "sample_size": self.sample_size,
                "aging": self.aging, **warm_start_config(self.warm_children), **self.zc.config()}


class Evolution(RegularizedEvolution):
    """Non-aging evolution: identical, except the *worst* member is removed (aging ablation)."""

    name: ClassVar[str] = "evolution"
    aging: ClassVar[bool] = False


__all__ = ["Evolution", "RegularizedEvolution"]
