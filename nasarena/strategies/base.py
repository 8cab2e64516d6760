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

import functools
import itertools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from nasarena.errors import ConfigError, StrategyError
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


def _tracking_ask(inner: Callable[[Any], Proposal]) -> Callable[[Any], Proposal]:
    """Wrap a subclass's ``ask`` so that every proposal it returns is recorded as outstanding."""

    @functools.wraps(inner)
    def ask(self: Strategy) -> Proposal:
        proposal = inner(self)
        self._outstanding[proposal.id] = proposal
        return proposal

    return ask


def _checking_tell(inner: Callable[[Any, Proposal, Evaluation], None]) -> Callable[..., None]:
    """Wrap a subclass's ``tell`` so that only an outstanding proposal is accepted, once."""

    @functools.wraps(inner)
    def tell(self: Strategy, proposal: Proposal, evaluation: Evaluation) -> None:
        if type(self).tell is tell:  # the outermost tell (a subclass's super().tell() is not re-checked)
            outstanding = self._outstanding
            issued = outstanding.pop(proposal.id, None)
            if issued is not proposal and (issued is None or issued != proposal):
                if issued is not None:
                    outstanding[proposal.id] = issued
                raise StrategyError(
                    f"strategy {self.name!r}: tell() of proposal {getattr(proposal, 'id', proposal)!r}, "
                    f"which is not outstanding (ask() never returned it, or it was already told); tell each "
                    f"proposal from ask() exactly once, with the proposal object ask() returned")
        inner(self, proposal, evaluation)

    return tell


class Strategy:
    """Base class: holds the space, the generator, the offered fidelities and a proposal counter.

    Subclasses set ``name`` and implement :meth:`ask` and :meth:`tell`; extra constructor keyword
    arguments are their hyper-parameters (recorded with each run via :meth:`config`). ``requires``
    and ``uses`` (class attributes, or instance attributes set in ``__init__`` when they depend on
    hyper-parameters) are sets of capability names of
    :data:`~nasarena.estimators.base.CAPABILITIES`; ``offered`` holds what the oracle offers of
    them once the runner called :meth:`offer` (empty when driven without a runner).

    The base class keeps the outstanding proposals: a subclass's ``ask`` and ``tell`` are wrapped
    (in ``__init_subclass__``) so that every proposal ``ask`` returns is recorded, and a ``tell`` of
    a proposal that is not outstanding (never asked, or told already) raises the same
    :class:`StrategyError` for every strategy, before the subclass sees it. :meth:`outstanding`
    lists them. Why here and not in each strategy: four built-ins checked and three silently
    ignored such tells, which corrupts a population or a policy update without a trace.
    """

    name: ClassVar[str] = "abstract"
    requires: frozenset[str] = frozenset()
    uses: frozenset[str] = frozenset()
    #: Whether the runner puts :meth:`overhead_seconds` on the simulated clock. Off by default: the
    #: clock charges oracle costs only, so a strategy's wall time (which depends on the machine) never
    #: changes a trajectory unless a run asks for it (e.g. ``es-*:S`` with ``charge_overhead=true``).
    charge_overhead: bool = False

    def __init__(self, space: SearchSpace, rng: np.random.Generator,
                 fidelities: tuple[Fidelity, ...] = (FULL,)) -> None:
        if not isinstance(rng, np.random.Generator):
            raise TypeError("rng must be a numpy.random.Generator, e.g. numpy.random.default_rng(seed)")
        self.space = space
        self.rng = rng
        #: what a single-fidelity strategy searches at (the oracle's protocol; see estimators.base.Ladder)
        self.fidelities = tuple(fidelities)
        self.search_fidelity: Fidelity = getattr(fidelities, "search", None) or \
            (self.fidelities[-1] if self.fidelities else FULL)
        self.offered: frozenset[str] = frozenset()
        self._ids = itertools.count()
        self._outstanding: dict[int, Proposal] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        own = cls.__dict__
        if "ask" in own:
            cls.ask = _tracking_ask(own["ask"])  # type: ignore[method-assign]
        if "tell" in own:
            cls.tell = _checking_tell(own["tell"])  # type: ignore[method-assign]

    def outstanding(self) -> list[Proposal]:
        """Proposals returned by :meth:`ask` and not yet told, in ask order."""
        return list(self._outstanding.values())

    @property
    def fidelity(self) -> Fidelity:
        """The fidelity fresh proposals get by default: the oracle's search fidelity (usually its top)."""
        return self.search_fidelity

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

    def overhead_seconds(self) -> float:
        """Seconds of the strategy's own decisions since the last call (measured by the strategy).

        Read by the runner after every ``ask`` when :attr:`charge_overhead` is true: the worker's next
        evaluation then starts that much later on the simulated clock. A strategy that measures its
        decision time (the early-stopping wrapper's predictor) overrides this and resets its counter
        on each call; the default charges nothing.
        """
        return 0.0


def distinct(draw: Callable[[], Arch], n: int) -> list[Arch]:
    """Up to ``n`` distinct results of ``draw()``, in first-drawn order (fewer only when 20 n draws
    found no more): the candidate lists of RSPS/ENAS and the zero-cost warm-up's sample."""
    out: dict[Arch, None] = {}
    for _ in range(20 * n):
        if len(out) >= n:
            break
        out.setdefault(draw(), None)
    return list(out)


def positive_int(strategy: str, name: str, value: Any) -> int:
    """``value`` if it is an int >= 1 (not a bool), else one ConfigError naming the strategy and the
    hyper-parameter: the check every strategy's constructor makes of its sizes and counts."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigError(f"{strategy}: {name} must be an int >= 1, got {value!r}")
    return value
