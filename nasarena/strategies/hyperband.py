"""``hyperband``: successive halving over the oracle's fidelities (Li et al. 2018), asynchronous.

The rungs are the fidelities the strategy was given (``self.fidelities``, cheapest first), so the
budget is real: a proposal at rung ``i`` carries ``fidelities[i]``, the oracle evaluates it at that
fidelity and charges that fidelity's cost. (The NAS-Bench-201 authors' BOHB ignored its budget.)
With ``S + 1`` fidelities and reduction factor ``eta``, bracket ``s`` (cycling ``S, S-1, ..., 0``)
starts ``n = ceil((S + 1) / (s + 1) * eta**s)`` new architectures at fidelity ``S - s`` and promotes
the best ``floor(n / eta**i)`` (at least one) to each following fidelity, up to the highest.

Promotions continue the lower-fidelity training (``Strategy.continue_``: the oracle charges only the
increment, as syne-tune and Ray Tune do) when the oracle offers ``"continue"`` (``uses``) and
``continue_promotions`` is true (the default); otherwise a promotion is a fresh training at the higher
fidelity that pays the full cost again, as before. ``config()`` records which (``continued``), with the
number of continued promotions and the mean simulated cost of the completed brackets.

Asynchronous workers: a bracket hands out the configurations of its current rung; a rung is
complete when all its results are told, and only then are its best promoted. An ask serves pending
promotions first (finishing brackets), then new configurations of the oldest bracket with room;
while every open bracket waits for results, a new bracket is opened, so an ask is always answered. Failed
evaluations rank last and are never promoted. New configurations come from :meth:`sample_config`
(uniform, unseen at that fidelity), which ``bohb`` replaces with its model.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from nasarena.errors import ConfigError, SearchExhausted, UnsupportedError
from nasarena.estimators.base import FULL, Evaluation, Fidelity
from nasarena.spaces.base import Arch, SearchSpace
from nasarena.strategies.base import Proposal, Strategy
from nasarena.strategies.local_search import sample_unseen

MULTI_FIDELITY_ORACLES = ("'live' (epochs, data fraction, channels...)",
                          "'nb201' with --oracle-arg epochs=1,3,12,50,200 (official NAS-Bench-201 files; its "
                          "default, epochs=12, is the protocol's single fidelity)",
                          "'table' with several fidelity columns")


def require_multi_fidelity(name: str, fidelities: tuple[Fidelity, ...]) -> None:
    """Refuse a single-fidelity setting with a message that says which oracles work."""
    if len(fidelities) < 2:
        got = ", ".join(f.key() for f in fidelities) or "none"
        raise UnsupportedError(
            f"{name} needs an oracle with at least two fidelities (it runs successive halving over "
            f"them); this one offers only [{got}]. Use e.g. {'; '.join(MULTI_FIDELITY_ORACLES)}")


@dataclass
class Rung:
    """One successive-halving step of a bracket: ``capacity`` evaluations at one fidelity."""

    level: int                      # index into the strategy's fidelities
    capacity: int
    queue: list[Proposal] = field(default_factory=list)   # finished proposals promoted, not yet asked
    asked: int = 0
    results: list[tuple[float, int, Proposal]] = field(default_factory=list)  # (score, ask order, proposal)

    @property
    def complete(self) -> bool:
        """All ``capacity`` results are in (or nothing more can arrive)."""
        return len(self.results) >= self.capacity


@dataclass
class Bracket:
    """A successive-halving run: rungs at increasing fidelity, one active at a time."""

    id: int
    rungs: list[Rung]
    current: int = 0
    cost: float = 0.0                # simulated cost told so far (increments, for continued promotions)

    @property
    def done(self) -> bool:
        """Past the last rung."""
        return self.current >= len(self.rungs)


class Halving(Strategy):
    """What Hyperband, BOHB and ASHA share: rungs over ``self.fidelities``, a reduction factor
    ``eta``, and promotions that continue the promoted training when the oracle offers it."""

    requires = frozenset({"multi-fidelity"})
    uses = frozenset({"continue"})

    def __init__(self, space: SearchSpace, rng: np.random.Generator,
                 fidelities: tuple[Fidelity, ...] = (FULL,), *, eta: int = 3,
                 continue_promotions: bool = True) -> None:
        super().__init__(space, rng, fidelities)
        require_multi_fidelity(self.name, self.fidelities)
        if eta < 2:
            raise ConfigError(f"eta must be an integer >= 2 (the halving rate), got {eta}")
        self.eta = int(eta)
        self.continue_promotions = bool(continue_promotions)
        self.n_continued = 0

    @property
    def continues(self) -> bool:
        """Whether promotions continue trainings (the oracle offers it and it is not switched off)."""
        return self.continue_promotions and "continue" in self.offered

    def promote(self, parent: Proposal, fidelity: Fidelity) -> Proposal:
        """``parent``'s architecture at the higher ``fidelity``: a continue if possible, else fresh."""
        if self.continues:
            self.n_continued += 1
            return self.continue_(parent, fidelity)
        return self.propose(parent.arch, fidelity)

    def config(self) -> dict[str, Any]:
        """Hyper-parameters recorded with each run, and whether promotions continued trainings."""
        return {"eta": self.eta, "fidelities": [f.key() for f in self.fidelities],
                "continue_promotions": self.continue_promotions, "continued": self.continues,
                "n_continued": self.n_continued}


class Hyperband(Halving):
    """Asynchronous Hyperband over ``self.fidelities`` (see the module docstring)."""

    name: ClassVar[str] = "hyperband"

    def __init__(self, space: SearchSpace, rng: np.random.Generator,
                 fidelities: tuple[Fidelity, ...] = (FULL,), *, eta: int = 3,
                 continue_promotions: bool = True) -> None:
        super().__init__(space, rng, fidelities, eta=eta, continue_promotions=continue_promotions)
        self.bracket_costs: list[tuple[int, float]] = []  # (s, total cost) of each completed bracket
        self.s_max = len(self.fidelities) - 1
        self._brackets: list[Bracket] = []
        self._n_brackets = 0
        self._pending: dict[int, tuple[Bracket, Rung]] = {}
        self._seen: list[set[Arch]] = [set() for _ in self.fidelities]
        self._exhausted = False

    # ---- bracket bookkeeping ---------------------------------------------------------------
    def bracket_sizes(self, s: int) -> list[int]:
        """Evaluations per rung of bracket ``s`` (Hyperband's ``n_i``)."""
        n = math.ceil((self.s_max + 1) / (s + 1) * self.eta ** s)
        return [max(1, math.floor(n / self.eta ** i)) for i in range(s + 1)]

    def _open_bracket(self) -> Bracket:
        s = self.s_max - self._n_brackets % (self.s_max + 1)
        start = self.s_max - s
        rungs = [Rung(start + i, c) for i, c in enumerate(self.bracket_sizes(s))]
        bracket = Bracket(self._n_brackets, rungs)
        self._n_brackets += 1
        self._brackets.append(bracket)
        return bracket

    def _promotion_from(self, bracket: Bracket) -> tuple[Arch, Proposal | None, Rung] | None:
        """A promoted configuration (with the proposal it was promoted from), if the bracket has one."""
        if bracket.done:
            return None
        rung = bracket.rungs[bracket.current]
        if not rung.queue:
            return None
        parent = rung.queue.pop(0)
        return parent.arch, parent, rung

    def _sample_from(self, bracket: Bracket) -> tuple[Arch, Proposal | None, Rung] | None:
        """A new configuration for the bracket's first rung, if it still has room."""
        rung = bracket.rungs[0]
        if bracket.done or bracket.current != 0 or rung.asked >= rung.capacity:
            return None
        return self.sample_config(rung.level), None, rung

    def _advance(self, bracket: Bracket) -> None:
        """Promote the best of each complete rung; close the bracket after its last rung."""
        while not bracket.done and bracket.rungs[bracket.current].complete:
            rung = bracket.rungs[bracket.current]
            bracket.current += 1
            if bracket.done:
                break
            nxt = bracket.rungs[bracket.current]
            ranked = sorted((r for r in rung.results if math.isfinite(r[0])), key=lambda r: (-r[0], r[1]))
            nxt.queue = [proposal for _, _, proposal in ranked[: nxt.capacity]]
            nxt.capacity = len(nxt.queue)  # fewer successes than slots: evaluate only those
            if nxt.capacity == 0:
                bracket.current = len(bracket.rungs)
        if bracket.done:
            self._brackets.remove(bracket)
            self.bracket_costs.append((self.s_max - bracket.rungs[0].level, bracket.cost))

    # ---- sampling hook -----------------------------------------------------------------------
    def sample_config(self, level: int) -> Arch:
        """A new architecture for the first rung of a bracket at fidelity ``level`` (uniform)."""
        return sample_unseen(self.space, self.rng, self._seen[level])

    def observe(self, arch: Arch, level: int, score: float) -> None:
        """Hook called with every told result (NaN for failures); BOHB feeds its model here."""

    # ---- ask / tell --------------------------------------------------------------------------
    def ask(self) -> Proposal:
        """Promotions first, then new configurations for the oldest bracket with room, else a new
        bracket. Once the space is used up at a first-rung fidelity, every later ask raises
        :class:`SearchExhausted` (the contract: exhaustion is final)."""
        if self._exhausted:
            raise SearchExhausted(f"{self.name}: no unseen architecture left to start a bracket with")
        found = next(((b, j) for b in self._brackets if (j := self._promotion_from(b)) is not None), None)
        try:
            if found is None:
                found = next(((b, j) for b in self._brackets if (j := self._sample_from(b)) is not None),
                             None)
            if found is None:
                bracket = self._open_bracket()
                found = (bracket, self._sample_from(bracket))
        except SearchExhausted:
            self._exhausted = True
            raise
        bracket, job = found
        assert job is not None  # a fresh bracket always has first-rung room
        arch, parent, rung = job
        rung.asked += 1
        self._seen[rung.level].add(arch)
        fidelity = self.fidelities[rung.level]
        proposal = self.promote(parent, fidelity) if parent is not None else self.propose(arch, fidelity)
        self._pending[proposal.id] = (bracket, rung)
        return proposal

    def tell(self, proposal: Proposal, evaluation: Evaluation) -> None:
        """Record the result in its rung; promote when the rung is complete."""
        bracket, rung = self._pending.pop(proposal.id)  # the base class checked it is outstanding
        score = float(evaluation.score) if evaluation.ok else math.nan
        self.observe(proposal.arch, rung.level, score)
        rung.results.append((score if math.isfinite(score) else -math.inf, proposal.id, proposal))
        bracket.cost += float(evaluation.cost)
        self._advance(bracket)

    def config(self) -> dict[str, Any]:
        """Hyper-parameters recorded with each run."""
        return {**super().config(), "brackets_completed": len(self.bracket_costs),
                "bracket_costs": [[s, c] for s, c in self.bracket_costs],
                "mean_bracket_cost": (sum(c for _, c in self.bracket_costs) / len(self.bracket_costs)
                                      if self.bracket_costs else None)}
