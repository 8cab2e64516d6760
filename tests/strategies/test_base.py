"""The strategy base class: outstanding-ask bookkeeping, proposal kinds and helpers."""

from __future__ import annotations

import numpy as np
import pytest

from nasarena.errors import StrategyError
from nasarena.estimators.base import Evaluation, Fidelity, SharedWork
from nasarena.spaces.nb201 import NB201Space
from nasarena.strategies.base import Proposal, Strategy

FIDS = (Fidelity(epochs=12), Fidelity(epochs=200))


class Plain(Strategy):
    name = "plain"

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.told: list[int] = []

    def ask(self) -> Proposal:
        return self.propose(self.space.sample(self.rng))

    def tell(self, proposal: Proposal, evaluation: Evaluation) -> None:
        self.told.append(proposal.id)


class Derived(Plain):
    """Overrides tell and calls super().tell(): the check runs once, not twice."""

    def tell(self, proposal: Proposal, evaluation: Evaluation) -> None:
        super().tell(proposal, evaluation)
        self.told.append(proposal.id + 1000)


def _ev(p: Proposal) -> Evaluation:
    return Evaluation(p.arch, p.fidelity, 1.0, 1.0)


@pytest.mark.parametrize("cls", [Plain, Derived])
def test_unknown_and_repeated_tells_raise_one_message(cls: type) -> None:
    s = cls(NB201Space(), np.random.default_rng(0), FIDS)
    a, b = s.ask(), s.ask()
    assert s.outstanding() == [a, b]
    s.tell(b, _ev(b))
    assert s.outstanding() == [a]
    with pytest.raises(StrategyError, match=r"tell\(\) of proposal 1, which is not outstanding"):
        s.tell(b, _ev(b))
    with pytest.raises(StrategyError, match="not outstanding"):
        s.tell(Proposal(77, a.arch, a.fidelity), _ev(a))
    with pytest.raises(StrategyError, match="not outstanding"):  # same id, another proposal
        s.tell(Proposal(a.id, s.space.from_index(5), a.fidelity), _ev(a))
    s.tell(a, _ev(a))  # the real one is still outstanding after the rejected impostor
    assert s.outstanding() == [] and s.told.count(a.id) == 1


def test_proposal_kinds_and_helpers() -> None:
    s = Plain(NB201Space(), np.random.default_rng(0), FIDS)
    fresh = s.propose(s.space.from_index(1), FIDS[0])
    cont = s.continue_(fresh, FIDS[1])
    warm = s.warm_start(s.space.from_index(2), fresh)
    work = s.shared(SharedWork("supernet", 10))
    assert [p.kind for p in (fresh, cont, warm, work)] == ["fresh", "continue", "warm-start", "shared"]
    assert cont.arch == fresh.arch and cont.continues == fresh.id == cont.parent
    assert warm.inherits == fresh.id == warm.parent and warm.fidelity == FIDS[-1]
    assert work.arch is None and fresh.parent is None and len({p.id for p in (fresh, cont, warm, work)}) == 4
    assert Proposal(3, (1,)) == Proposal(3, (1,), Fidelity())
    assert hash(Proposal(3, (1,))) == hash(Proposal(3, (1,)))
