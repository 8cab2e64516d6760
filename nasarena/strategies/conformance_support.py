"""Supporting pieces of the strategy conformance suite (:mod:`nasarena.strategies.conformance`).

What the checks build on, kept apart so the checks read as a list of contract clauses:
:class:`TinySpace` (a 26-architecture constrained space), :class:`SyntheticObjective` (a
deterministic, fidelity-dependent stand-in for an oracle; strategies under test never see a real
one), building a strategy under test (:func:`build`, with one fidelity or, for multi-fidelity
strategies, two), driving it through asks and tells (:func:`drive`, :func:`check_proposal`),
snapshots of the process-global RNGs, and the object-graph walk that looks for oracles
(:func:`find_oracles`). Tests of individual strategies also use :class:`TinySpace` and
:class:`SyntheticObjective` directly.
"""

from __future__ import annotations

import contextlib
import math
import random
import sys
import types
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from nasarena.errors import InvalidArchitectureError, SearchExhausted, UnsupportedError
from nasarena.estimators.base import Evaluation, Fidelity, Oracle, SharedWork
from nasarena.spaces.base import Arch, Decision, SearchSpace
from nasarena.spaces.nb201 import NB201Space
from nasarena.strategies.base import Proposal, Strategy

SINGLE_FIDELITY: tuple[Fidelity, ...] = (Fidelity(epochs=200),)
MULTI_FIDELITY: tuple[Fidelity, ...] = (Fidelity(epochs=12), Fidelity(epochs=200))
Factory = Callable[..., Strategy]


class TinySpace(SearchSpace):
    """3 decisions x 3 choices with the all-zero combination invalid: 26 architectures.

    Small enough that random search without repeats exhausts it within one check, and constrained
    so that strategies which ignore ``is_valid`` are caught.
    """

    name = "tiny"
    decisions = tuple(Decision(d, ("x", "y", "z")) for d in ("a", "b", "c"))

    def is_valid(self, arch: Arch) -> bool:
        """Every combination except (0, 0, 0)."""
        return any(arch)

    def to_string(self, arch: Arch) -> str:
        """E.g. ``"xyz"``."""
        a = self.validate(arch)
        return "".join(d.choices[v] for d, v in zip(self.decisions, a, strict=True))

    def from_string(self, text: str) -> Arch:
        """Inverse of :meth:`to_string`."""
        if not isinstance(text, str) or len(text) != 3 or any(ch not in "xyz" for ch in text):
            raise InvalidArchitectureError(f"tiny: expected three letters from 'xyz', got {text!r}")
        return self.validate(tuple("xyz".index(ch) for ch in text))


class SyntheticObjective:
    """A deterministic, fidelity-dependent score function standing in for an oracle.

    Score (percent-like, ~50-95) = additive per-decision effects + one interaction between the first
    and last decision. Lower fidelities (fewer epochs) shrink the score and add a fidelity-specific
    perturbation, so rankings differ across fidelities as they do for real learning curves. Cost is
    proportional to epochs; params grow with the choice indices.
    """

    def __init__(self, space: SearchSpace, seed: int = 0) -> None:
        rng = np.random.default_rng(seed)
        cards = space.cardinalities
        self.weights = [rng.normal(size=n).tolist() for n in cards]
        self.noise = [rng.normal(size=n).tolist() for n in cards]
        self.pair = rng.normal(size=(cards[0], cards[-1])).tolist()
        self.scale = 8.0 / math.sqrt(len(cards) + 1)

    def __call__(self, arch: Arch, fidelity: Fidelity) -> Evaluation:
        """Evaluate ``arch`` at ``fidelity`` (``epochs=None`` means 200); ``arch=None`` is shared work
        (a result with no architecture, score 0, cost 1)."""
        if arch is None:
            return Evaluation(arch=None, fidelity=fidelity, score=0.0, cost=1.0)
        base = sum(w[v] for w, v in zip(self.weights, arch, strict=True)) + self.pair[arch[0]][arch[-1]]
        epochs = 200 if fidelity.epochs is None else fidelity.epochs
        frac = min(epochs, 200) / 200
        score = 80.0 + self.scale * base
        if frac < 1:
            wobble = sum(w[v] for w, v in zip(self.noise, arch, strict=True))
            score = score * (0.7 + 0.3 * frac) + (1 - frac) * self.scale * wobble
        params = 0.1 + 0.05 * sum(arch)
        return Evaluation(arch=arch, fidelity=fidelity, score=float(score), cost=10.0 * epochs * (1 + params),
                          params=params, flops=100.0 * params)


@dataclass
class Subject:
    """A strategy under test, the space and fidelities it was built with, and a label for messages."""

    strategy: Strategy
    space: SearchSpace
    fidelities: tuple[Fidelity, ...]
    label: str
    ids: set[int] = field(default_factory=set)

    def fail(self, message: str) -> AssertionError:
        """An AssertionError naming the strategy and the space."""
        return AssertionError(f"strategy {self.label!r} on space {self.space.name!r}: {message}")


@dataclass
class Trace:
    """What a drive produced: proposals in ask order, number of tells, whether the space ran out."""

    proposals: list[Proposal]
    told: int
    exhausted: bool

    def key(self) -> list[tuple[int, Arch, Fidelity]]:
        """Comparable form (ids, architectures and fidelities)."""
        return [(p.id, p.arch, p.fidelity) for p in self.proposals]


class SpaceUnsupported(Exception):
    """The strategy refused the space itself (not just the fidelities)."""


# ---- building and driving -----------------------------------------------------------------------
def resolve(name_or_factory: str | Factory) -> tuple[Factory, str]:
    """A factory and a label from a registry name, ``module:Class`` path, class or callable."""
    if isinstance(name_or_factory, str):
        from nasarena.registry import STRATEGIES

        return STRATEGIES.resolve(name_or_factory), name_or_factory
    return name_or_factory, getattr(name_or_factory, "__name__", repr(name_or_factory))


def default_spaces() -> tuple[SearchSpace, ...]:
    """The spaces the suite uses when none is given: NAS-Bench-201 and :class:`TinySpace`."""
    return NB201Space(), TinySpace()


def build(factory: Factory, label: str, space: SearchSpace, seed: int, **kwargs: Any) -> Subject:
    """Construct with two fidelities if the strategy requires ``"multi-fidelity"``, else with one
    (and with two if it refuses one with :class:`UnsupportedError`)."""
    errors = []
    declared = getattr(factory, "requires", None)
    multi = isinstance(declared, frozenset | set) and "multi-fidelity" in declared
    for fids in ((MULTI_FIDELITY,) if multi else (SINGLE_FIDELITY, MULTI_FIDELITY)):
        try:
            strategy = factory(space=space, rng=np.random.default_rng(seed), fidelities=fids, **kwargs)
        except UnsupportedError as exc:
            errors.append(f"with fidelities {[f.key() for f in fids]}: {exc}")
            continue
        if not isinstance(strategy, Strategy):
            raise AssertionError(f"strategy {label!r}: the factory returned {type(strategy).__name__}, "
                                 f"not a nasarena.strategies.base.Strategy subclass")
        return Subject(strategy, space, fids, label)
    raise SpaceUnsupported("; ".join(errors))


def check_proposal(subject: Subject, proposal: object) -> Proposal:
    """Assert that ``proposal`` is a valid, fresh proposal of ``subject``; return it."""
    if not isinstance(proposal, Proposal):
        raise subject.fail(f"ask() returned {type(proposal).__name__} {proposal!r}, not a Proposal")
    pid, arch = proposal.id, proposal.arch
    if isinstance(pid, bool) or not isinstance(pid, int):
        raise subject.fail(f"proposal id {pid!r} is a {type(pid).__name__}, not an int")
    if pid in subject.ids:
        raise subject.fail(f"proposal id {pid} was issued twice; ids must be unique per strategy")
    subject.ids.add(pid)
    if proposal.work is not None:  # shared work (one-shot strategies): no architecture, no fidelity
        if arch is not None or not isinstance(proposal.work, SharedWork):
            raise subject.fail(f"proposal {pid}: shared work needs arch=None and a SharedWork; make it "
                               f"with Strategy.shared(work)")
        return proposal
    if not isinstance(arch, tuple) or any(type(v) is not int for v in arch):
        raise subject.fail(f"proposal {pid}: architecture {arch!r} is not a plain tuple of ints "
                           f"(convert numpy integers with int())")
    try:
        valid = subject.space.validate(arch)
    except InvalidArchitectureError as exc:
        raise subject.fail(f"proposal {pid}: invalid architecture: {exc}") from exc
    if valid != arch:
        raise subject.fail(f"proposal {pid}: {arch!r} is not in the space's canonical form {valid!r}")
    if proposal.fidelity not in subject.fidelities:
        offered = [f.key() for f in subject.fidelities]
        raise subject.fail(f"proposal {pid}: fidelity {proposal.fidelity.key()!r} is not one of the "
                           f"fidelities the strategy was given {offered}")
    return proposal


def drive(subject: Subject, n_tells: int, *, outstanding: int = 1, order_seed: int | None = None,
          fail: Callable[[int], bool] = lambda _k: False,
          objective: SyntheticObjective | None = None) -> Trace:
    """Ask/tell until ``n_tells`` results were told or the strategy is exhausted.

    Keeps up to ``outstanding`` asks open; which one finishes next is drawn from ``order_seed``
    (the checker's own generator; None: first in, first out). ``fail(k)`` makes the k-th tell a
    failed evaluation.
    """
    objective = objective or SyntheticObjective(subject.space)
    order = None if order_seed is None else np.random.default_rng(order_seed)
    pending: list[Proposal] = []
    trace = Trace([], 0, False)
    strategy = subject.strategy
    while trace.told < n_tells:
        while not trace.exhausted and len(pending) < outstanding and len(trace.proposals) < n_tells:
            try:
                proposal = check_proposal(subject, strategy.ask())
            except SearchExhausted:
                trace.exhausted = True
                break
            trace.proposals.append(proposal)
            pending.append(proposal)
        if not pending:
            break
        proposal = pending.pop(0 if order is None else int(order.integers(len(pending))))
        if fail(trace.told):
            evaluation = Evaluation.failed(proposal.arch, proposal.fidelity, "synthetic failure")
        else:
            evaluation = objective(proposal.arch, proposal.fidelity)
        strategy.tell(proposal, evaluation)
        trace.told += 1
    return trace


def require_progress(subject: Subject, trace: Trace) -> None:
    """Fail a check whose drive produced no proposal (SearchExhausted straight away)."""
    if not trace.proposals:
        raise subject.fail("raised SearchExhausted before proposing anything")


# ---- global RNG state ---------------------------------------------------------------------------
def _torch() -> Any:
    try:
        import torch
    except ImportError:  # pragma: no cover - torch is a dependency
        return None
    return torch


def global_rng_states() -> dict[str, Any]:
    """Snapshots of the process-global generators a strategy must not use."""
    states: dict[str, Any] = {"random": random.getstate(), "numpy.random": np.random.get_state()}
    torch = _torch()
    if torch is not None:
        states["torch"] = torch.get_rng_state()
    return states


def restore_global_rng_states(states: dict[str, Any]) -> None:
    """Undo :func:`global_rng_states` changes."""
    random.setstate(states["random"])
    np.random.set_state(states["numpy.random"])
    if "torch" in states:
        _torch().set_rng_state(states["torch"])


def same_state(a: Any, b: Any) -> bool:
    """Whether two snapshots of one global generator are equal (tuples, arrays and tensors)."""
    if isinstance(a, tuple):
        return len(a) == len(b) and all(same_state(x, y) for x, y in zip(a, b, strict=True))
    if hasattr(a, "numpy") and hasattr(a, "dtype") and not isinstance(a, np.ndarray):  # torch tensor
        return bool((a == b).all())
    if isinstance(a, np.ndarray):
        return np.array_equal(a, b)
    return bool(a == b)


@contextlib.contextmanager
def reseeded_globals(seed: int) -> Iterator[None]:
    """Reseed the global generators for the duration of the block, then restore them."""
    saved = global_rng_states()
    try:
        random.seed(seed)
        np.random.seed(seed)  # noqa: NPY002 - deliberately perturbing the legacy global state
        torch = _torch()
        if torch is not None:
            torch.manual_seed(seed)
        yield
    finally:
        restore_global_rng_states(saved)


# ---- object graph -------------------------------------------------------------------------------
_LEAVES = (str, bytes, bytearray, int, float, complex, bool, type(None), np.ndarray, np.generic,
           np.random.Generator, np.random.BitGenerator, type, types.ModuleType, range, memoryview)
_SCALARS = frozenset({str, bytes, int, float, complex, bool, type(None)})
_Link = tuple[Any, str, object] | None  # (parent link, "attr" | "item" | "key", name): a lazy path


def _format_path(link: _Link) -> str:
    parts: list[str] = []
    while link is not None:
        link, kind, name = link
        parts.append(f".{name}" if kind == "attr" else ".keys()" if kind == "key" else f"[{name!r}]")
    return "strategy" + "".join(reversed(parts))


def find_oracles(root: object, max_nodes: int = 1_000_000) -> list[str]:
    """Paths (like ``strategy._model.oracle``) of every Oracle reachable from ``root``.

    Walks ``vars()``/``__slots__`` of objects, containers, dict keys, bound-method owners,
    ``functools.partial`` parts and closure cells. Tensors, arrays, classes and modules are leaves.
    Paths are built only for hits, so large tables of plain values cost little.
    """
    torch = sys.modules.get("torch")
    tensor_type = torch.Tensor if torch is not None else ()
    found: list[str] = []
    seen: set[int] = set()
    stack: list[tuple[object, _Link]] = [(root, None)]
    scalars = _SCALARS
    while stack:
        obj, link = stack.pop()
        if id(obj) in seen:
            continue
        seen.add(id(obj))
        if len(seen) > max_nodes:
            raise AssertionError(f"the object graph of the strategy has more than {max_nodes} nodes; "
                                 f"the no-oracle check could not walk it all")
        if isinstance(obj, Oracle):
            found.append(_format_path(link))
            continue
        if isinstance(obj, _LEAVES) or (tensor_type and isinstance(obj, tensor_type)):
            continue
        push = stack.append
        if isinstance(obj, dict):
            for k, v in obj.items():
                if type(k) not in scalars:
                    push((k, (link, "key", k)))
                if type(v) not in scalars:
                    push((v, (link, "item", k)))
            continue
        if isinstance(obj, list | tuple | set | frozenset) or type(obj).__name__ == "deque":
            for i, v in enumerate(obj):
                if type(v) not in scalars:
                    push((v, (link, "item", i)))
            continue
        if isinstance(obj, types.MethodType):
            push((obj.__self__, (link, "attr", "__self__")))
            push((obj.__func__, (link, "attr", "__func__")))
        elif isinstance(obj, types.FunctionType):
            for i, cell in enumerate(obj.__closure__ or ()):
                with contextlib.suppress(ValueError):  # empty cell
                    push((cell.cell_contents, (link, "attr", f"__closure__[{i}]")))
        if hasattr(obj, "func") and hasattr(obj, "keywords") and hasattr(obj, "args"):  # functools.partial
            for name in ("func", "args", "keywords"):
                push((getattr(obj, name), (link, "attr", name)))
        with contextlib.suppress(TypeError):
            for k, v in vars(obj).items():
                if type(v) not in scalars:
                    push((v, (link, "attr", k)))
        for klass in type(obj).__mro__:
            for slot in getattr(klass, "__slots__", ()):
                if slot not in ("__dict__", "__weakref__") and hasattr(obj, slot):
                    push((getattr(obj, slot), (link, "attr", slot)))
    return found


__all__ = ["MULTI_FIDELITY", "SINGLE_FIDELITY", "Factory", "SpaceUnsupported", "Subject",
           "SyntheticObjective", "TinySpace", "Trace", "build", "check_proposal", "default_spaces", "drive",
           "find_oracles", "global_rng_states", "require_progress", "reseeded_globals",
           "restore_global_rng_states", "resolve", "same_state"]
