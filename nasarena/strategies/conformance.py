"""Conformance suite for strategies, in the spirit of scikit-learn's ``check_estimator``.

``check_strategy("my-strategy")`` (or a factory / class) runs every check of :func:`iter_checks`
on the NAS-Bench-201 space and on :class:`TinySpace` (26 architectures, one invalid decision
combination, so exhaustion and ``is_valid`` are exercised) and raises ``AssertionError`` listing
every failed check with the space and the reason. The checks drive the strategy with a
deterministic :class:`SyntheticObjective` (never a real oracle) and verify the strategy contract of
DESIGN.md:

* ``determinism``: same seed + same tells -> identical proposals, even when the global RNGs
  (``random``, ``numpy.random``, ``torch``) are reseeded in between; a different seed -> different
  proposals.
* ``global_rng_untouched``: building and running the strategy leaves the global RNG states as they
  were (every random number comes from the generator it was given).
* ``outstanding_asks``: 8 asks before any tell, tells in reverse order, then more asks.
* ``valid_proposals``: proposals are :class:`Proposal` values with a plain tuple of ints that
  ``space.validate`` accepts, at one of the fidelities the strategy was given.
* ``no_oracle``: the object graph reachable from the strategy holds no :class:`Oracle`.
* ``failed_evaluations``: failed results (``Evaluation.failed``) are absorbed, including a run of
  failures at the start and a run where everything fails.
* ``short_loop``: ~100 asks/tells without error; once ``SearchExhausted`` is raised it keeps being
  raised.
* ``unique_ids``: proposal ids are unique ints across asynchronous use.
* ``config``: ``config()`` is a JSON-serialisable dict (it is recorded with every run).

Multi-fidelity strategies that raise :class:`UnsupportedError` when given one fidelity are built
with two (``epochs=12`` and ``epochs=200``); the synthetic objective depends on the fidelity.
``SearchExhausted`` ends a drive normally (allowed on the tiny space).
"""

from __future__ import annotations

import contextlib
import json
import math
import random
import sys
import types
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from nasarena.errors import InvalidArchitectureError, SearchExhausted, UnsupportedError
from nasarena.estimators.base import Evaluation, Fidelity, Oracle
from nasarena.spaces.base import Arch, Decision, SearchSpace
from nasarena.spaces.nb201 import NB201Space
from nasarena.strategies.base import Proposal, Strategy

SINGLE_FIDELITY: tuple[Fidelity, ...] = (Fidelity(epochs=200),)
MULTI_FIDELITY: tuple[Fidelity, ...] = (Fidelity(epochs=12), Fidelity(epochs=200))
Factory = Callable[..., Strategy]
Check = Callable[..., None]


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
        """Evaluate ``arch`` at ``fidelity`` (``epochs=None`` means 200)."""
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


class _SpaceUnsupported(Exception):
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
    """Construct with one fidelity, or with two if the strategy says it needs several."""
    errors = []
    for fids in (SINGLE_FIDELITY, MULTI_FIDELITY):
        try:
            strategy = factory(space=space, rng=np.random.default_rng(seed), fidelities=fids, **kwargs)
        except UnsupportedError as exc:
            errors.append(f"with fidelities {[f.key() for f in fids]}: {exc}")
            continue
        if not isinstance(strategy, Strategy):
            raise AssertionError(f"strategy {label!r}: the factory returned {type(strategy).__name__}, "
                                 f"not a nasarena.strategies.base.Strategy subclass")
        return Subject(strategy, space, fids, label)
    raise _SpaceUnsupported("; ".join(errors))


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


def _require_progress(subject: Subject, trace: Trace) -> None:
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


def _same_state(a: Any, b: Any) -> bool:
    if isinstance(a, tuple):
        return len(a) == len(b) and all(_same_state(x, y) for x, y in zip(a, b, strict=True))
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


# ---- the checks ---------------------------------------------------------------------------------
def _per_space(body: Callable[[Factory, str, SearchSpace, dict[str, Any]], None]) -> Check:
    """Turn ``body(factory, label, space, kwargs)`` into a check over one or the default spaces."""

    def check(name_or_factory: str | Factory, space: SearchSpace | None = None, **kwargs: Any) -> None:
        factory, label = resolve(name_or_factory)
        spaces = (space,) if space is not None else default_spaces()
        for i, sp in enumerate(spaces):
            try:
                body(factory, label, sp, kwargs)
            except _SpaceUnsupported as exc:
                if space is not None or i == 0:
                    raise AssertionError(f"strategy {label!r} refused space {sp.name!r} with "
                                         f"UnsupportedError: {exc}") from exc
                # A specialised strategy may refuse the tiny extra space; NB201 it must accept.
            except Exception as exc:
                exc.add_note(f"conformance check {body.__name__} of strategy {label!r} on space {sp.name!r}")
                raise

    check.__name__ = body.__name__
    check.__doc__ = body.__doc__
    return check


@_per_space
def check_determinism(factory: Factory, label: str, space: SearchSpace, kwargs: dict[str, Any]) -> None:
    """Same seed + same tells -> same proposals (even with reseeded globals); other seed -> others."""
    def run(seed: int, global_seed: int) -> Trace:
        with reseeded_globals(global_seed):
            subject = build(factory, label, space, seed, **kwargs)
            trace = drive(subject, 24, outstanding=3, order_seed=7)
        _require_progress(subject, trace)
        return trace

    first, again, other = run(0, 1), run(0, 2), run(1, 1)
    if first.key() != again.key():
        n = next((i for i, (a, b) in enumerate(zip(first.key(), again.key(), strict=False)) if a != b),
                 min(len(first.proposals), len(again.proposals)))
        raise AssertionError(
            f"strategy {label!r} on {space.name!r}: same seed and same tells gave different proposals "
            f"(first difference at ask {n}: {first.key()[n:n + 1]} vs {again.key()[n:n + 1]}); the "
            f"global RNGs were reseeded in between, so the strategy probably draws from random, "
            f"numpy.random or torch's global generator instead of the rng it was given")
    if [p.arch for p in first.proposals] == [p.arch for p in other.proposals]:
        raise AssertionError(f"strategy {label!r} on {space.name!r}: seeds 0 and 1 gave identical "
                             f"proposals; the strategy ignores its rng")


@_per_space
def check_global_rng_untouched(factory: Factory, label: str, space: SearchSpace,
                               kwargs: dict[str, Any]) -> None:
    """Building and running the strategy leaves random / numpy.random / torch global states alone."""
    before = global_rng_states()
    try:
        subject = build(factory, label, space, 0, **kwargs)
        drive(subject, 20, outstanding=2, order_seed=3)
        after = global_rng_states()
    finally:
        restore_global_rng_states(before)
    changed = [k for k in before if not _same_state(before[k], after[k])]
    if changed:
        raise subject.fail(f"the global RNG state of {', '.join(changed)} changed; draw every random "
                           f"number from the strategy's rng (seed torch via a torch.Generator, build "
                           f"torch modules on the meta device and initialise them with that generator)")


@_per_space
def check_outstanding_asks(factory: Factory, label: str, space: SearchSpace, kwargs: dict[str, Any]) -> None:
    """8 asks before any tell, told in reverse order, then the strategy keeps going."""
    subject = build(factory, label, space, 0, **kwargs)
    objective = SyntheticObjective(space)
    batch: list[Proposal] = []
    for _ in range(8):
        try:
            batch.append(check_proposal(subject, subject.strategy.ask()))
        except SearchExhausted:
            break
    _require_progress(subject, Trace(batch, 0, False))
    for proposal in reversed(batch):
        subject.strategy.tell(proposal, objective(proposal.arch, proposal.fidelity))
    drive(subject, 8, outstanding=4, order_seed=11)


@_per_space
def check_valid_proposals(factory: Factory, label: str, space: SearchSpace, kwargs: dict[str, Any]) -> None:
    """Every proposal is a valid architecture of the space at a fidelity the strategy was given."""
    subject = build(factory, label, space, 0, **kwargs)
    _require_progress(subject, drive(subject, 30, outstanding=2, order_seed=5))


@_per_space
def check_no_oracle(factory: Factory, label: str, space: SearchSpace, kwargs: dict[str, Any]) -> None:
    """No Oracle is reachable from the strategy (it is driven by a synthetic objective only)."""
    subject = build(factory, label, space, 0, **kwargs)
    for stage in ("after construction", "after 10 tells"):
        if stage != "after construction":
            drive(subject, 10, outstanding=2, order_seed=1)
        paths = find_oracles(subject.strategy)
        if paths:
            raise subject.fail(f"holds an Oracle {stage} at {', '.join(paths[:5])}; strategies may "
                               f"only see tell() results")


@_per_space
def check_failed_evaluations(factory: Factory, label: str, space: SearchSpace,
                             kwargs: dict[str, Any]) -> None:
    """Failed evaluations are absorbed: a run of failures first, then every third; and all failing."""
    subject = build(factory, label, space, 0, **kwargs)
    _require_progress(subject, drive(subject, 30, outstanding=2, order_seed=2,
                                     fail=lambda k: k < 8 or k % 3 == 0))
    subject = build(factory, label, space, 1, **kwargs)
    _require_progress(subject, drive(subject, 10, fail=lambda _k: True))


@_per_space
def check_short_loop(factory: Factory, label: str, space: SearchSpace, kwargs: dict[str, Any]) -> None:
    """~100 sequential asks/tells; after SearchExhausted, ask() keeps raising it."""
    subject = build(factory, label, space, 0, **kwargs)
    trace = drive(subject, 100)
    _require_progress(subject, trace)
    if trace.exhausted:
        try:
            proposal = subject.strategy.ask()
        except SearchExhausted:
            return
        raise subject.fail(f"ask() returned {proposal!r} after raising SearchExhausted; once exhausted it "
                           f"must keep raising")


@_per_space
def check_unique_ids(factory: Factory, label: str, space: SearchSpace, kwargs: dict[str, Any]) -> None:
    """Proposal ids are unique ints, also with 6 asks outstanding told in random order."""
    subject = build(factory, label, space, 0, **kwargs)
    trace = drive(subject, 30, outstanding=6, order_seed=9)
    ids = [p.id for p in trace.proposals]
    if len(set(ids)) != len(ids):  # check_proposal already asserts this; keep the check explicit
        raise subject.fail(f"duplicate proposal ids in {ids}")


@_per_space
def check_config(factory: Factory, label: str, space: SearchSpace, kwargs: dict[str, Any]) -> None:
    """``config()`` is a dict with str keys that JSON can serialise (it is stored with every run)."""
    subject = build(factory, label, space, 0, **kwargs)
    config = subject.strategy.config()
    if not isinstance(config, dict) or not all(isinstance(k, str) for k in config):
        raise subject.fail(f"config() must return a dict with str keys, got {config!r}")
    try:
        json.dumps(config)
    except (TypeError, ValueError) as exc:
        raise subject.fail(f"config() is not JSON-serialisable ({exc}); return plain numbers, "
                           f"strings, lists and dicts") from exc


CHECKS: tuple[tuple[str, Check], ...] = (
    ("determinism", check_determinism),
    ("global_rng_untouched", check_global_rng_untouched),
    ("outstanding_asks", check_outstanding_asks),
    ("valid_proposals", check_valid_proposals),
    ("no_oracle", check_no_oracle),
    ("failed_evaluations", check_failed_evaluations),
    ("short_loop", check_short_loop),
    ("unique_ids", check_unique_ids),
    ("config", check_config),
)


def iter_checks() -> Iterator[tuple[str, Check]]:
    """(name, check) pairs; each ``check(name_or_factory, space=None, **hyperparams)`` raises on failure."""
    yield from CHECKS


def check_strategy(name_or_factory: str | Factory, space: SearchSpace | None = None, **kwargs: Any) -> None:
    """Run every check; raise one AssertionError that lists all failures (or return None).

    ``name_or_factory``: a registry name, a ``module:Class`` path or a strategy class/factory.
    ``space``: check on this space only (default: NAS-Bench-201 and :class:`TinySpace`).
    ``kwargs``: hyper-parameters passed to the strategy's constructor.
    """
    failures: list[tuple[str, BaseException]] = []
    for name, check in iter_checks():
        try:
            check(name_or_factory, space, **kwargs)
        except Exception as exc:  # collect them all, like check_estimator's report
            failures.append((name, exc))
    if failures:
        _, label = resolve(name_or_factory)
        lines = [f"{name}: {type(exc).__name__}: {exc}" for name, exc in failures]
        raise AssertionError(f"strategy {label!r} failed {len(failures)} conformance check(s):\n  "
                             + "\n  ".join(lines)) from failures[0][1]


__all__ = ["CHECKS", "MULTI_FIDELITY", "SINGLE_FIDELITY", "Subject", "SyntheticObjective", "TinySpace",
           "Trace", "build", "check_proposal", "check_strategy", "default_spaces", "drive", "find_oracles",
           "global_rng_states", "iter_checks", "reseeded_globals", "resolve"]
