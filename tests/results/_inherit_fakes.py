"""An oracle that can warm-start and says how each warm start's weights were mapped.

Addressed by file path (``<this file>:WarmOracle``). Results are pure functions of the architecture
and the drawn seed: a fresh training costs 5 s, a warm start 2 s and scores 3 points more; the
``morphism`` extra is the kind of the parent -> child change (``nasarena.spaces.morphisms.kind_of``),
as the live oracle reports it.
"""

from __future__ import annotations

from nasarena.estimators.base import MORPHISM_EXTRA, WARM_START, Evaluation, Fidelity, Oracle
from nasarena.spaces.morphisms import KINDS, kind_of
from nasarena.spaces.nb201 import NB201Space

FRESH_COST, WARM_COST, WARM_BONUS = 5.0, 2.0, 3.0


class WarmOracle(Oracle):
    """Score = 2 * sum(arch) + seed (+ 3 for a warm start); final = sum(arch); handle = arch."""

    name = "test-warm"
    offers = frozenset({WARM_START})

    def __init__(self) -> None:
        self.space = NB201Space()
        self.dataset = "synthetic"
        self.fidelities = (Fidelity(epochs=2),)
        self.best_final = 24.0

    def capabilities(self) -> frozenset[str]:
        return self.offers

    def evaluate(self, arch, fidelity, rng, *, start=None, inherit=None) -> Evaluation:
        fid = self.check_fidelity(fidelity)
        score = 2.0 * sum(arch) + int(rng.integers(3))
        if inherit is None:
            return Evaluation(arch, fid, score, FRESH_COST, handle=arch)
        code = float(KINDS.index(kind_of(self.space, inherit, arch)))
        return Evaluation(arch, fid, score + WARM_BONUS, WARM_COST, extras={MORPHISM_EXTRA: code},
                          handle=arch)

    def final_metric(self, arch) -> float:
        return float(sum(arch))
