"""The strategy contract (Optuna-style ask/tell).

A strategy is built with the search space, a seeded ``numpy.random.Generator`` and the fidelities
the oracle offers; it never sees the oracle. ``ask()`` returns a :class:`Proposal`; ``tell()``
returns its :class:`~nasarena.estimators.base.Evaluation`. Several asks may be outstanding at once
(asynchronous workers), tells may arrive in any order, and a failed evaluation (``ok=False``,
NaN score) must be absorbed, not raised.

A proposal is one of four kinds (:attr:`Proposal.kind`): a *fresh* evaluation, a *continue* of an
earlier finished proposal of the same architecture to a higher fidelity (only the increment is
charged), a *warm-start* from the weights of an earlier finished proposal (any architecture), or
*shared* work that belongs to no architecture (:class:`~nasarena.estimators.base.SharedWork`). Make
them with :meth:`Strategy.propose`, :meth:`Strategy.continue_`, :meth:`Strategy.warm_start` and
:meth:`Strategy.shared`. A strategy declares in ``requires`` the oracle capabilities it cannot run
without (the runner refuses a mismatch before any work) and in ``uses`` those it exploits when
offered; the runner hands the offered ones to :meth:`Strategy.offer` before the first ask.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from nasarena.estimators.base import FULL, Evaluation, Fidelity, SharedWork
from nasarena.spaces.base import Arch, SearchSpace

FRESH, CONTINUE, WARM_START, SHARED = "fresh", "continue", "warm-start", "shared"
KINDS: tuple[str, ...] = (FRESH, CONTINUE, WARM_START, SHARED)


@dataclass(frozen=True)
class Proposal:
    """One ask: evaluate ``arch`` at ``fidelity``. ``id`` is unique within a strategy instance.

    ``fidelity`` ``Fidelity()`` means the oracle's top fidelity. ``continues``: the id of an earlier,
    finished proposal of the same architecture to extend (to a higher fidelity); ``inherits``: the id
    of an earlier, finished proposal (any architecture) whose weights to start from; ``work``: shared
    work (then ``arch`` is None). At most one of the three is set.

    The hand-written ``__init__`` fills the instance dict directly (one proposal per evaluation is on
    the runner's hot path, and the frozen dataclass ``__init__`` costs ``object.__setattr__`` per field).
    """

    id: int
    arch: Arch | None
    fidelity: Fidelity = FULL
    continues: int | None = None
    inherits: int | None = None
    work: SharedWork | None = None

    def __init__(self, id: int, arch: Arch | None, fidelity: Fidelity = FULL,  # noqa: A002
                 continues: int | None = None, inherits: int | None = None,
                 work: SharedWork | None = None) -> None:
        d = self.__dict__
        d["id"] = id
        d["arch"] = arch
        d["fidelity"] = fidelity
        d["continues"] = continues
        d["inherits"] = inherits
        d["work"] = work

    @property
    def kind(self) -> str:
        """``"fresh"``, ``"continue"``, ``"warm-start"`` or ``"shared"``."""
        if self.work is not None:
            return SHARED
        if self.continues is not None:
            return CONTINUE
        if self.inherits is not None:
            return WARM_START
        return FRESH

    @property
    def parent(self) -> int | None:
        """The id this proposal continues or inherits from (None for fresh and shared work)."""
        return self.continues if self.continues is not None else self.inherits


def _id_of(parent: Proposal | int) -> int:
    return parent.id if isinstance(parent, Proposal) else int(parent)


class Strategy:
    """Base class: holds the space, the generator, the offered fidelities and a proposal counter.

    Subclasses set ``name`` and implement :meth:`ask` and :meth:`tell`; extra constructor keyword
    arguments are their hyper-parameters (recorded with each run via :meth:`config`). ``requires``
    and ``uses`` (class attributes, or instance attributes set in ``__init__`` when they depend on
    hyper-parameters) are sets of capability names of
    :data:`~nasarena.estimators.base.CAPABILITIES`; ``offered`` holds what the oracle offers of
    them once the runner called :meth:`offer` (empty when driven without a runner).
    """

    name: ClassVar[str] = "abstract"
    requires: frozenset[str] = frozenset()
    uses: frozenset[str] = frozenset()

    def __init__(self, space: SearchSpace, rng: np.random.Generator,
                 fidelities: tuple[Fidelity, ...] = (FULL,)) -> None:
        if not isinstance(rng, np.random.Generator):
            raise TypeError("rng must be a numpy.random.Generator, e.g. numpy.random.default_rng(seed)")
        self.space = space
        self.rng = rng
        self.fidelities = tuple(fidelities)
        self.offered: frozenset[str] = frozenset()
        self._ids = itertools.count()

    @property
    def fidelity(self) -> Fidelity:
        """The highest (default) fidelity the oracle offers."""
        return self.fidelities[-1]

    def offer(self, capabilities: frozenset[str]) -> None:
        """Called by the runner before the first ask with the oracle's capabilities."""
        self.offered = frozenset(capabilities)

    # ---- making proposals --------------------------------------------------------------------
    def propose(self, arch: Arch, fidelity: Fidelity | None = None) -> Proposal:
        """A fresh evaluation of ``arch`` (at the top fidelity unless ``fidelity`` is given)."""
        return Proposal(next(self._ids), arch, self.fidelity if fidelity is None else fidelity)

    def continue_(self, parent: Proposal, fidelity: Fidelity) -> Proposal:
        """Continue the finished proposal ``parent`` (same architecture) to the higher ``fidelity``.

        The oracle must offer ``"continue"``; the clock is charged only the increment.
        """
        return Proposal(next(self._ids), parent.arch, fidelity, continues=parent.id)

    def warm_start(self, arch: Arch, parent: Proposal | int, fidelity: Fidelity | None = None) -> Proposal:
        """Evaluate ``arch`` starting from the weights of the finished proposal ``parent``.

        The oracle must offer ``"warm-start"``.
        """
        return Proposal(next(self._ids), arch, self.fidelity if fidelity is None else fidelity,
                        inherits=_id_of(parent))

    def shared(self, work: SharedWork) -> Proposal:
        """Costed work that belongs to no architecture (the oracle must offer ``"shared"``)."""
        return Proposal(next(self._ids), None, FULL, work=work)

    # ---- the contract ------------------------------------------------------------------------
    def ask(self) -> Proposal:
        """Next architecture (and fidelity) to evaluate."""
        raise NotImplementedError

    def tell(self, proposal: Proposal, evaluation: Evaluation) -> None:
        """Result of a previous :meth:`ask`."""
        raise NotImplementedError

    def config(self) -> dict[str, Any]:
        """Hyper-parameters, for the run record (override to list them)."""
        return {}
