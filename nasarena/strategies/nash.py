"""``nash``: hill climbing with network morphisms (Elsken, Metzen & Hutter 2017, "NASH").

NASH climbs from a trained network: each round it makes ``n_neighbours`` children of the current
network by applying ``n_morphs`` network morphisms, trains each *briefly* starting from the current
network's weights (the paper: a few epochs of SGDR, i.e. cosine annealing), and the best child
becomes the current network. Because each child starts with its parent's function (exact
morphisms) and its training adds to the parent's, the search accumulates training along the path
instead of paying for every child from scratch.

Reduced to these spaces: the children are warm starts (``Strategy.warm_start``) at the strategy's
fidelity, so choose a short one (the live oracle trains it with its own cosine schedule from the
inherited weights); the morphisms are those of :mod:`nasarena.spaces.morphisms` (``kinds``: exact
only by default, as in the paper; add ``approximate`` for LEMONADE's approximate ones). NB201's
exact morphisms only grow a cell (``none -> conv``, ``1x1 -> 3x3``), so a climb ends at a network
with none left; the search then restarts from a random architecture (the paper has no restarts: its
networks can always grow). In the residual and dense spaces the exact morphisms include deeper (one
inserted layer, :mod:`nasarena.spaces.deeper`), so a climb also grows in depth up to ``max_layers``;
the chain's deeper is exact in eval mode only, hence approximate, taken with ``kinds`` including it.
On a space without a morphism catalogue every neighbour is a child
(Lamarckian inheritance).

Asynchronous workers: a round's children may be outstanding at once; asks beyond ``n_neighbours``
in a round make more children of the same network (the round closes when ``n_neighbours`` of its
children have been told, failures included). Results of a closed round and of extra random starts
are ignored. A failed start is retried with another random architecture.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from nasarena.estimators.base import FULL, WARM_START, Evaluation, Fidelity
from nasarena.spaces.base import Arch, SearchSpace
from nasarena.spaces.morphisms import EXACT, check_kinds, morph_options
from nasarena.strategies.base import Proposal, Strategy, positive_int
from nasarena.strategies.random_search import usable_score


def morph_walk(space: SearchSpace, arch: Arch, steps: int, kinds: tuple[str, ...],
               rng: np.random.Generator) -> Arch | None:
    """``arch`` after up to ``steps`` random morphisms of ``kinds`` (None if not even one exists)."""
    current = arch
    for step in range(steps):
        options = morph_options(space, current, kinds)
        if not options:
            return current if step else None
        current = options[int(rng.integers(len(options)))]
    return current


class NASH(Strategy):
    """Hill climbing with network morphisms and warm-started children (see the module docstring)."""

    name: ClassVar[str] = "nash"
    requires: frozenset[str] = frozenset({WARM_START})

    def __init__(self, space: SearchSpace, rng: np.random.Generator,
                 fidelities: tuple[Fidelity, ...] = (FULL,), n_neighbours: int = 4, n_morphs: int = 1,
                 kinds: Any = (EXACT,)) -> None:
        super().__init__(space, rng, fidelities)
        self.n_neighbours = positive_int(self.name, "n_neighbours", n_neighbours)
        self.n_morphs = positive_int(self.name, "n_morphs", n_morphs)
        self.kinds = check_kinds(self.name, kinds)
        self._current: tuple[Arch, int, float] | None = None   # (arch, proposal id, score)
        self._round = 0
        self._children: dict[int, int] = {}                     # proposal id -> round
        self._told: list[tuple[float, Arch, int]] = []          # this round's successful children
        self._n_told = 0
        self.n_rounds = 0
        self.n_restarts = 0

    def ask(self) -> Proposal:
        """A child of the current network (warm start), or a random start when there is none."""
        if self._current is not None:
            arch, pid, _ = self._current
            child = morph_walk(self.space, arch, self.n_morphs, self.kinds, self.rng)
            if child is not None:
                proposal = self.warm_start(child, pid)
                self._children[proposal.id] = self._round
                return proposal
            self._current = None  # nothing left to grow: restart
            self._round += 1
            self.n_restarts += 1
        return self.propose(self.space.sample(self.rng))

    def tell(self, proposal: Proposal, evaluation: Evaluation) -> None:
        """A start becomes the current network; a round's best child replaces it when it closes."""
        score = usable_score(evaluation)
        round_ = self._children.pop(proposal.id, None)
        if round_ is None:  # a random start
            if self._current is None and score is not None:
                self._begin((proposal.arch, proposal.id, score))
            return
        if round_ != self._round:
            return  # a child of a round that has closed (or of a network left by a restart)
        self._n_told += 1
        if score is not None:
            self._told.append((score, proposal.arch, proposal.id))
        if self._n_told >= self.n_neighbours:
            if self._told:
                best = max(self._told, key=lambda t: t[0])  # first told wins ties
                self._begin((best[1], best[2], best[0]))
            else:
                self._begin(self._current)
            self.n_rounds += 1

    def _begin(self, current: tuple[Arch, int, float] | None) -> None:
        self._current = current
        self._round += 1
        self._told, self._n_told = [], 0

    def config(self) -> dict[str, Any]:
        """Hyper-parameters and counters for the run record."""
        return {"n_neighbours": self.n_neighbours, "n_morphs": self.n_morphs, "kinds": list(self.kinds),
                "rounds": self.n_rounds, "restarts": self.n_restarts}


__all__ = ["NASH", "morph_walk"]
