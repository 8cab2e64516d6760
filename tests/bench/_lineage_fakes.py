"""An oracle that can continue, warm-start and run shared work, and strategies that use it.

Addressed by file path (``<this file>:Name``) like ``_fakes.py``. The oracle's result at a fidelity is
a pure function of (architecture, the drawn seed, epochs), so a continue is checkable exactly: it must
equal a fresh evaluation of the same draw, and cost only the extra epochs.
"""

from __future__ import annotations

import numpy as np

from nasarena.estimators.base import CAPABILITIES, Evaluation, Fidelity, Oracle, SharedWork
from nasarena.spaces.nb201 import NB201Space
from nasarena.strategies.base import Proposal, Strategy

EPOCHS = (Fidelity(epochs=1), Fidelity(epochs=3), Fidelity(epochs=9))


class LineageOracle(Oracle):
    """Score = arch-dependent value + seed + epochs; cost = epochs seconds; handle = (arch, seed, epochs)."""

    name = "test-lineage"
    offers = CAPABILITIES

    def __init__(self) -> None:
        self.space = NB201Space()
        self.dataset = "synthetic"
        self.fidelities = EPOCHS
        self.best_final = 100.0
        self.calls: list[tuple] = []

    def capabilities(self) -> frozenset[str]:
        return CAPABILITIES

    def _score(self, arch, seed: int, epochs: int) -> float:
        return float(sum(arch)) + seed + 10.0 * epochs

    def evaluate(self, arch, fidelity, rng, *, start=None, inherit=None) -> Evaluation:
        fid = self.check_fidelity(fidelity)
        self.calls.append((arch, fid.epochs, start, inherit))
        done = 0
        if start is not None:
            s_arch, seed, done = start
            assert s_arch == arch and done < fid.epochs
        else:
            seed = int(rng.integers(3))
        bonus = 0.5 if inherit is not None else 0.0
        return Evaluation(arch, fid, self._score(arch, seed, fid.epochs) + bonus, float(fid.epochs - done),
                          handle=(arch, seed, fid.epochs))

    def run_shared(self, work: SharedWork, rng) -> Evaluation:
        return Evaluation(None, Fidelity(), float("nan"), 0.25 * work.steps)

    def final_metric(self, arch) -> float:
        return float(sum(arch))


class Grower(Strategy):
    """Fresh at the cheapest fidelity, then continues each told result one fidelity up."""

    name = "test-grower"
    requires = frozenset({"continue"})

    def __init__(self, space, rng, fidelities=()) -> None:
        super().__init__(space, rng, fidelities)
        self.ready: list[Proposal] = []
        self.told: list[tuple[Proposal, Evaluation]] = []

    def ask(self) -> Proposal:
        while self.ready:
            parent = self.ready.pop(0)
            level = self.fidelities.index(parent.fidelity)
            if level + 1 < len(self.fidelities):
                return self.continue_(parent, self.fidelities[level + 1])
        return self.propose(self.space.sample(self.rng), self.fidelities[0])

    def tell(self, proposal: Proposal, evaluation: Evaluation) -> None:
        self.told.append((proposal, evaluation))
        self.ready.append(proposal)


class Mixed(Strategy):
    """Shared work, a fresh evaluation, a warm start from it, then fresh ones."""

    name = "test-mixed"
    requires = frozenset({"warm-start", "shared"})

    def __init__(self, space, rng, fidelities=()) -> None:
        super().__init__(space, rng, fidelities)
        self.n = 0
        self.first: Proposal | None = None

    def ask(self) -> Proposal:
        self.n += 1
        if self.n == 1:
            return self.shared(SharedWork("supernet", steps=8, params={"lr": 0.1}))
        if self.n == 2:
            self.first = self.propose(self.space.sample(self.rng))
            return self.first
        if self.n == 3:
            return self.warm_start(self.space.sample(self.rng), self.first)
        return self.propose(self.space.sample(self.rng))

    def tell(self, proposal: Proposal, evaluation: Evaluation) -> None:
        pass


class Bad(Strategy):
    """Names a parent per ``mode``: ``unknown`` id, ``running`` (not finished), ``other-arch``, ``lower``."""

    name = "test-bad-parent"

    def __init__(self, space, rng, fidelities=(), mode: str = "unknown") -> None:
        super().__init__(space, rng, fidelities)
        self.mode = mode
        self.first: Proposal | None = None

    def ask(self) -> Proposal:
        if self.first is None:
            self.first = self.propose(self.space.sample(self.rng), self.fidelities[1])
            return self.first
        if self.mode == "unknown":
            return Proposal(self.first.id + 1000, self.first.arch, self.fidelities[2], continues=999)
        if self.mode == "running":
            return self.continue_(self.first, self.fidelities[2])
        if self.mode == "other-arch":
            return Proposal(next(self._ids), self.space.from_index(7), self.fidelities[2],
                            continues=self.first.id)
        return self.continue_(self.first, self.fidelities[0])  # lower: not a continue upwards

    def tell(self, proposal: Proposal, evaluation: Evaluation) -> None:
        pass


class NeedsContinue(Strategy):
    """Requires "continue" (a class attribute), proposes fresh evaluations only."""

    name = "test-needs-continue"
    requires = frozenset({"continue"})

    def ask(self) -> Proposal:
        return self.propose(self.space.sample(self.rng))

    def tell(self, proposal: Proposal, evaluation: Evaluation) -> None:
        pass


class ContinuesUndeclared(NeedsContinue):
    """Proposes a continue without declaring it (the runner refuses it during the run)."""

    requires = frozenset()

    def __init__(self, space, rng, fidelities=()) -> None:
        super().__init__(space, rng, fidelities)
        self.first: Proposal | None = None

    def ask(self) -> Proposal:
        if self.first is None:
            self.first = self.propose(self.space.sample(self.rng))
            return self.first
        return Proposal(99, self.first.arch, self.fidelity, continues=self.first.id)


def rng_of(seed: int) -> np.random.Generator:
    return np.random.default_rng(seed)
