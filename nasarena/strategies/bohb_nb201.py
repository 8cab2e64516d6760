"""``bohb-nb201``: BOHB as the NAS-Bench-201 authors ran it for their Table 5 (budgets ignored).

In the authors' script (hpbandster BOHB, ``eta=3, min_budget=12, max_budget=200``) the worker
ignored the budget: every evaluation, at any rung, returned the 12-epoch result and charged its
cost. So successive halving ran over *nominal* budgets (hpbandster's 22.2, 66.7 and 200 epochs;
here 22, 67, 200) while each promotion re-paid a full 12-epoch training. This strategy reproduces
that on a single-fidelity oracle such as ``nb201-12ep``: an inner :class:`~nasarena.strategies.bohb.BOHB`
runs over the nominal rungs and every proposal goes to the oracle at its one real fidelity. Use
``bohb`` for BOHB with real fidelities.

The runner's incumbent is the best score among all evaluations; hpbandster's was the best at the
largest budget. With a deterministic signal the two differ only while the last bracket's best has
not yet been promoted when the budget ends.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from nasarena.errors import ConfigError, StrategyError
from nasarena.estimators.base import FULL, Evaluation, Fidelity
from nasarena.spaces.base import SearchSpace
from nasarena.strategies.base import Proposal, Strategy
from nasarena.strategies.bohb import BOHB

#: hpbandster's budgets for min_budget=12, max_budget=200, eta=3 (200 / 3**k), rounded to epochs.
NB201_BUDGETS = (22, 67, 200)


class NominalBudgetBOHB(Strategy):
    """BOHB over nominal rungs, proposing at the oracle's highest fidelity (see module docstring)."""

    name: ClassVar[str] = "bohb-nb201"

    def __init__(self, space: SearchSpace, rng: np.random.Generator,
                 fidelities: tuple[Fidelity, ...] = (FULL,), *,
                 budgets: tuple[int, ...] | list[int] = NB201_BUDGETS, **bohb_kwargs: Any) -> None:
        super().__init__(space, rng, fidelities)
        budgets = tuple(budgets)
        if len(budgets) < 2 or list(budgets) != sorted(set(budgets)) or not all(
                isinstance(b, int) and not isinstance(b, bool) and b > 0 for b in budgets):
            raise ConfigError(f"{self.name}: budgets must be >= 2 increasing positive ints, got {budgets!r}")
        self.budgets = budgets
        self.inner = BOHB(space, rng, tuple(Fidelity(epochs=b) for b in budgets), **bohb_kwargs)
        self._inner_of: dict[int, Proposal] = {}

    def ask(self) -> Proposal:
        """The inner BOHB's next architecture, sent at the oracle's fidelity."""
        inner = self.inner.ask()
        proposal = self.propose(inner.arch)
        self._inner_of[proposal.id] = inner
        return proposal

    def tell(self, proposal: Proposal, evaluation: Evaluation) -> None:
        """Hand the result to the inner BOHB as the result of its nominal-budget proposal."""
        inner = self._inner_of.pop(proposal.id, None)
        if inner is None:
            raise StrategyError(f"{self.name}: tell for proposal {proposal.id}, which is not outstanding")
        self.inner.tell(inner, evaluation)

    def config(self) -> dict[str, Any]:
        """The inner BOHB's hyper-parameters, with the nominal budgets."""
        return {**self.inner.config(), "fidelities": [f"nominal epochs={b}" for b in self.budgets]}


__all__ = ["NB201_BUDGETS", "NominalBudgetBOHB"]
