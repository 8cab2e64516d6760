"""The strategy contract (Optuna-style ask/tell).

A strategy is built with the search space, a seeded ``numpy.random.Generator`` and the fidelities
the oracle offers; it never sees the oracle. ``ask()`` returns a :class:`Proposal`; ``tell()``
returns its :class:`~nasarena.estimators.base.Evaluation`. Several asks may be outstanding at once
(asynchronous workers), tells may arrive in any order, and a failed evaluation (``ok=False``,
NaN score) must be absorbed, not raised.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from nasarena.estimators.base import FULL, Evaluation, Fidelity
from nasarena.spaces.base import Arch, SearchSpace


@dataclass(frozen=True)
class Proposal:
    """One ask: evaluate ``arch`` at ``fidelity``. ``id`` is unique within a strategy instance."""

    id: int
    arch: Arch
    fidelity: Fidelity = FULL


class Strategy:
    """Base class: holds the space, the generator, the offered fidelities and a proposal counter.

    Subclasses set ``name`` and implement :meth:`ask` and :meth:`tell`; extra constructor keyword
    arguments are their hyper-parameters (recorded with each run via :meth:`config`).
    """

    name: ClassVar[str] = "abstract"

    def __init__(self, space: SearchSpace, rng: np.random.Generator,
                 fidelities: tuple[Fidelity, ...] = (FULL,)) -> None:
        if not isinstance(rng, np.random.Generator):
            raise TypeError("rng must be a numpy.random.Generator, e.g. numpy.random.default_rng(seed)")
        self.space = space
        self.rng = rng
        self.fidelities = tuple(fidelities)
        self._ids = itertools.count()

    @property
    def fidelity(self) -> Fidelity:
        """The highest (default) fidelity the oracle offers."""
        return self.fidelities[-1]

    def propose(self, arch: Arch, fidelity: Fidelity | None = None) -> Proposal:
        """Wrap ``arch`` into a new :class:`Proposal` with a fresh id."""
        return Proposal(next(self._ids), arch, self.fidelity if fidelity is None else fidelity)

    def ask(self) -> Proposal:
        """Next architecture (and fidelity) to evaluate."""
        raise NotImplementedError

    def tell(self, proposal: Proposal, evaluation: Evaluation) -> None:
        """Result of a previous :meth:`ask`."""
        raise NotImplementedError

    def config(self) -> dict[str, Any]:
        """Hyper-parameters, for the run record (override to list them)."""
        return {}
