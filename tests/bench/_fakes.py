"""Small strategies and an oracle for the runner/study tests (the real ones have their own suites).

They are addressed by file path (``<this file>:Name``) so that worker processes of a study can
import them; registering them at runtime would not reach forkserver workers.
"""

from __future__ import annotations

import os
import time

import numpy as np

from nasarena.errors import SearchExhausted
from nasarena.estimators.base import Evaluation, Fidelity, Oracle
from nasarena.spaces.nb201 import NB201Space
from nasarena.strategies.base import Proposal, Strategy


class Sampler(Strategy):
    """Uniform sampling (with repeats).

    ``delay`` (wall seconds per ask; default from the environment variable ``NASARENA_TEST_DELAY``)
    slows a study down for the kill test without changing any result or run id.
    """

    name = "test-sampler"

    def __init__(self, space, rng, fidelities=(), delay: float | None = None) -> None:
        super().__init__(space, rng, fidelities)
        self.delay = float(os.environ.get("NASARENA_TEST_DELAY", 0)) if delay is None else delay
        self.told: list[tuple[int, float]] = []

    def ask(self) -> Proposal:
        if self.delay:
            time.sleep(self.delay)
        return self.propose(self.space.sample(self.rng))

    def tell(self, proposal: Proposal, evaluation: Evaluation) -> None:
        self.told.append((proposal.id, evaluation.score))



class Finite(Strategy):
    """Proposes the first ``n`` architectures of the space in index order, then is exhausted."""

    name = "test-finite"

    def __init__(self, space, rng, fidelities=(), n: int = 5) -> None:
        super().__init__(space, rng, fidelities)
        self.left = [space.from_index(i) for i in range(n)]

    def ask(self) -> Proposal:
        if not self.left:
            raise SearchExhausted("nothing left")
        return self.propose(self.left.pop(0))

    def tell(self, proposal: Proposal, evaluation: Evaluation) -> None:
        pass


class Crashing(Sampler):
    """Raises on the ``at``-th tell."""

    name = "test-crashing"

    def __init__(self, space, rng, fidelities=(), at: int = 3) -> None:
        super().__init__(space, rng, fidelities)
        self.at = at

    def tell(self, proposal: Proposal, evaluation: Evaluation) -> None:
        super().tell(proposal, evaluation)
        if len(self.told) == self.at:
            raise RuntimeError("boom: deliberate failure in tell")


class Invalid(Sampler):
    """Proposes an out-of-range architecture on its second ask."""

    name = "test-invalid"

    def ask(self) -> Proposal:
        p = super().ask()
        if p.id == 1:
            return Proposal(p.id, (9,) * len(p.arch), p.fidelity)
        return p


class Recorder(Sampler):
    """Records the order of asks and tells (for asynchronous-worker semantics)."""

    name = "test-recorder"

    def __init__(self, space, rng, fidelities=()) -> None:
        super().__init__(space, rng, fidelities)
        self.events: list[tuple[str, int]] = []

    def ask(self) -> Proposal:
        p = super().ask()
        self.events.append(("ask", p.id))
        return p

    def tell(self, proposal: Proposal, evaluation: Evaluation) -> None:
        super().tell(proposal, evaluation)
        self.events.append(("tell", proposal.id))


class Alternating(Sampler):
    """Alternates the cheap and the full fidelity (cheap first)."""

    name = "test-alternating"

    def ask(self) -> Proposal:
        k = getattr(self, "asked", 0)
        self.asked = k + 1
        return self.propose(self.space.sample(self.rng), self.fidelities[k % 2])


class AnyFidelity(Sampler):
    """Proposes a fidelity the oracle does not offer."""

    name = "test-any-fidelity"

    def ask(self) -> Proposal:
        p = super().ask()
        return Proposal(p.id, p.arch, Fidelity(epochs=7))


class TwoFidelityOracle(Oracle):
    """Deterministic two-fidelity oracle: 12 epochs score high (90 + noise-free index term) but
    200 epochs score lower, so a correct runner prefers any 200-epoch result as the incumbent.
    Every fifth architecture index fails (``ok=False``)."""

    name = "test-two-fidelity"
    metric = "fake_score"
    final_metric_name = "fake_final"

    def __init__(self, dataset: str = "fake") -> None:
        self.space = NB201Space()
        self.dataset = dataset
        self.fidelities = (Fidelity(epochs=12), Fidelity(epochs=200))
        self.best_final = 100.0

    def evaluate(self, arch, fidelity, rng: np.random.Generator) -> Evaluation:
        fid = self.check_fidelity(fidelity)
        i = self.space.index(arch)
        if i % 5 == 0:
            return Evaluation.failed(arch, fid, "deliberate failure", cost=1.0)
        base = 90.0 if fid.epochs == 12 else 50.0
        return Evaluation(arch=arch, fidelity=fid, score=base + (i % 97) / 10, cost=float(fid.epochs),
                          params=1.0 + i / 1e5)

    def final_metric(self, arch) -> float:
        return 40.0 + (self.space.index(arch) % 97) / 10


class Overheady(Sampler):
    """``Sampler`` that reports a fixed fake decision time per ask (``overhead`` seconds) and puts it
    on the clock when ``charge`` is true: the runner's overhead option without real timing."""

    name = "test-overheady"

    def __init__(self, space, rng, fidelities=(), overhead: float = 0.25, charge: bool = True) -> None:
        super().__init__(space, rng, fidelities, delay=0.0)
        self.overhead, self.charge_overhead = overhead, charge

    def overhead_seconds(self) -> float:
        return self.overhead
