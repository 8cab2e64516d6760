"""The runner's rare path: starting a continue, a warm start or shared work (issue 9).

:class:`LineageStarts` is mixed into the runner's loop, which provides ``config``, ``oracle``,
``rng``, ``capabilities``, ``finished`` (proposal id -> :class:`~nasarena.bench.records.Finished`),
``running`` (ids started, not finished) and the helpers ``facts``, ``fidelity`` and ``cost_of``.
Kept apart so that the hot loop of fresh evaluations stays short and readable.
"""

from __future__ import annotations

from typing import Any

from nasarena.bench.capabilities import oracles_offering
from nasarena.bench.records import Finished, InFlight
from nasarena.errors import StrategyError
from nasarena.estimators.base import CONTINUE, MORPHISM_EXTRA, SHARED, WARM_START, Evaluation
from nasarena.spaces.morphisms import KINDS as MORPHISM_KINDS
from nasarena.strategies.base import Proposal


def morphism_of(ev: Evaluation) -> str:
    """The trajectory's ``morphism`` of an evaluation with a parent: the kind named by the oracle's
    ``extras["morphism"]`` (an index into ``MORPHISM_KINDS``), or "" when it names none (a continue,
    an oracle that does not say, a value out of range)."""
    code = ev.extras.get(MORPHISM_EXTRA)
    if code is None or not code == code:
        return ""
    index = int(code)
    return MORPHISM_KINDS[index] if index == code and 0 <= index < len(MORPHISM_KINDS) else ""


class LineageStarts:
    """Checks and starts proposals that continue, inherit or share (see the module docstring)."""

    config: Any
    oracle: Any
    rng: Any
    capabilities: frozenset[str]
    finished: dict[int, Finished]
    running: set[int]
    facts: Any       # (arch) -> ArchFacts
    fidelity: Any    # (proposal fidelity) -> (oracle fidelity, rank, key)
    cost_of: Any     # (evaluation, what) -> checked cost

    def need(self, capability: str, proposal: Proposal) -> None:
        """StrategyError unless the oracle offers ``capability`` (the strategy did not require it)."""
        if capability not in self.capabilities:
            offering = ", ".join(map(repr, oracles_offering(capability))) or "no registered oracle"
            raise StrategyError(
                f"strategy {self.config.strategy!r} asked for a {proposal.kind} (proposal {proposal.id}) but "
                f"oracle {self.oracle.name!r} does not offer {capability!r} (it offers "
                f"{sorted(self.capabilities)}); {capability!r} is offered by {offering}. Declare it in the "
                f"strategy's requires so that a mismatch is refused before the run")

    def parent(self, proposal: Proposal, pid: int) -> Finished:
        """The finished proposal ``pid`` that ``proposal`` continues or inherits from."""
        done = self.finished.get(pid)
        if done is None:
            state = "has not finished yet (its result was not told)" if pid in self.running else \
                "is unknown (never started in this run)"
            raise StrategyError(f"strategy {self.config.strategy!r}: proposal {proposal.id} "
                                f"({proposal.kind}) names proposal {pid}, which {state}; only finished "
                                f"proposals can be continued or inherited from")
        if not done.ok:
            raise StrategyError(f"strategy {self.config.strategy!r}: proposal {proposal.id} "
                                f"({proposal.kind}) names proposal {pid}, which failed; start a fresh "
                                f"evaluation instead")
        return done

    def start_special(self, proposal: Proposal, now: float, worker: int, seq: int) -> InFlight:
        """Start a continue, a warm start or shared work (the rare path, kept out of the hot loop)."""
        oracle, rng = self.oracle, self.rng
        work, cont, inh = proposal.work, proposal.continues, proposal.inherits
        if (work is not None) + (cont is not None) + (inh is not None) > 1:
            raise StrategyError(f"strategy {self.config.strategy!r}: proposal {proposal.id} sets more than "
                                f"one of continues / inherits / work; make it with one of the Strategy "
                                f"helpers continue_, warm_start or shared")
        if work is not None:
            self.need(SHARED, proposal)
            if proposal.arch is not None:
                raise StrategyError(f"strategy {self.config.strategy!r}: shared work (proposal "
                                    f"{proposal.id}) must have arch=None; use Strategy.shared(work)")
            ev = oracle.run_shared(work, rng)
            cost = self.cost_of(ev, f"shared work {work.key()}")
            return InFlight(now + cost, seq, worker, proposal, ev, None, -1, work.key(), -1, cost)
        facts = self.facts(proposal.arch)
        fid, rank, key = self.fidelity(proposal.fidelity)
        if cont is not None:
            self.need(CONTINUE, proposal)
            done = self.parent(proposal, cont)
            if done.arch != facts.arch:
                raise StrategyError(f"strategy {self.config.strategy!r}: proposal {proposal.id} continues "
                                    f"proposal {cont} but names another architecture; a continue extends "
                                    f"the same architecture (use warm_start for another one)")
            if rank <= done.rank:
                raise StrategyError(f"strategy {self.config.strategy!r}: proposal {proposal.id} continues "
                                    f"proposal {cont} at fidelity {key}, which is not higher than the one it "
                                    f"ended at ({self.oracle.fidelities[done.rank].key()})")
            ev = oracle.evaluate(facts.arch, fid, rng, start=done.handle)
            cost = self.cost_of(ev, facts.text)
            return InFlight(now + cost, seq, worker, proposal, ev, facts, rank, key, cont,
                            done.cum_cost + cost)
        self.need(WARM_START, proposal)
        done = self.parent(proposal, inh)
        ev = oracle.evaluate(facts.arch, fid, rng, inherit=done.handle)
        cost = self.cost_of(ev, facts.text)
        return InFlight(now + cost, seq, worker, proposal, ev, facts, rank, key, inh, cost)
