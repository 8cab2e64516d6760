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
* ``tell_bookkeeping``: a tell of a proposal that was never asked, and a second tell of the same
  proposal, raise :class:`StrategyError` (the base class's "not outstanding" check), and the
  strategy keeps working afterwards; built-ins make proposals with ``propose()``.
* ``requires``: ``requires`` / ``uses`` are sets of known capability names.

Strategies that declare ``"multi-fidelity"`` in ``requires`` (or, undeclared, raise
:class:`UnsupportedError` when given one fidelity) are built with two (``epochs=12`` and
``epochs=200``); the synthetic objective depends on the fidelity.
``SearchExhausted`` ends a drive normally (allowed on the tiny space).

The supporting pieces (:class:`TinySpace`, :class:`SyntheticObjective`, building and driving a
strategy, global-RNG snapshots, :func:`find_oracles`) live in
:mod:`nasarena.strategies.conformance_support` and are re-exported here.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from typing import Any

from nasarena.checks import json_record_problem, run_all
from nasarena.errors import SearchExhausted, StrategyError
from nasarena.estimators.base import CAPABILITIES
from nasarena.spaces.base import SearchSpace
from nasarena.strategies.base import Proposal
from nasarena.strategies.conformance_support import (
    MULTI_FIDELITY,
    SINGLE_FIDELITY,
    Factory,
    SpaceUnsupported,
    Subject,
    SyntheticObjective,
    TinySpace,
    Trace,
    build,
    check_proposal,
    default_spaces,
    drive,
    find_oracles,
    global_rng_states,
    require_progress,
    reseeded_globals,
    resolve,
    restore_global_rng_states,
    same_state,
)

Check = Callable[..., None]


# ---- the checks ---------------------------------------------------------------------------------
def _per_space(body: Callable[[Factory, str, SearchSpace, dict[str, Any]], None]) -> Check:
    """Turn ``body(factory, label, space, kwargs)`` into a check over one or the default spaces."""

    def check(name_or_factory: str | Factory, space: SearchSpace | None = None, **kwargs: Any) -> None:
        factory, label = resolve(name_or_factory)
        spaces = (space,) if space is not None else default_spaces()
        for i, sp in enumerate(spaces):
            try:
                body(factory, label, sp, kwargs)
            except SpaceUnsupported as exc:
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
        require_progress(subject, trace)
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
    changed = [k for k in before if not same_state(before[k], after[k])]
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
    require_progress(subject, Trace(batch, 0, False))
    for proposal in reversed(batch):
        subject.strategy.tell(proposal, objective(proposal.arch, proposal.fidelity))
    drive(subject, 8, outstanding=4, order_seed=11)


@_per_space
def check_valid_proposals(factory: Factory, label: str, space: SearchSpace, kwargs: dict[str, Any]) -> None:
    """Every proposal is a valid architecture of the space at a fidelity the strategy was given."""
    subject = build(factory, label, space, 0, **kwargs)
    require_progress(subject, drive(subject, 30, outstanding=2, order_seed=5))


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
    require_progress(subject, drive(subject, 30, outstanding=2, order_seed=2,
                                     fail=lambda k: k < 8 or k % 3 == 0))
    subject = build(factory, label, space, 1, **kwargs)
    require_progress(subject, drive(subject, 10, fail=lambda _k: True))


@_per_space
def check_short_loop(factory: Factory, label: str, space: SearchSpace, kwargs: dict[str, Any]) -> None:
    """~100 sequential asks/tells; after SearchExhausted, ask() keeps raising it."""
    subject = build(factory, label, space, 0, **kwargs)
    trace = drive(subject, 100)
    require_progress(subject, trace)
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
    problem = json_record_problem(subject.strategy.config(), "config()",
                                  "return plain numbers, strings, lists and dicts")
    if problem:
        raise subject.fail(problem)


@_per_space
def check_tell_bookkeeping(factory: Factory, label: str, space: SearchSpace, kwargs: dict[str, Any]) -> None:
    """An unknown tell and a repeated tell raise StrategyError ("not outstanding"); the strategy goes on."""
    subject = build(factory, label, space, 0, **kwargs)
    objective = SyntheticObjective(space)
    strategy = subject.strategy
    try:
        proposal = check_proposal(subject, strategy.ask())
    except SearchExhausted:
        return
    ev = objective(proposal.arch, proposal.fidelity)
    stranger = Proposal(10**9, proposal.arch, proposal.fidelity)
    for what, bad in (("a proposal it never issued", stranger), ("the same proposal twice", proposal)):
        if bad is proposal:
            strategy.tell(proposal, ev)
        try:
            strategy.tell(bad, ev)
        except StrategyError as exc:
            if "not outstanding" not in str(exc):
                raise subject.fail(f"tell() of {what} raised StrategyError without the base class's "
                                   f"message: {exc}") from exc
        else:
            raise subject.fail(f"tell() of {what} was accepted silently; let the base class check tells "
                               f"(make proposals with self.propose(), do not bypass Strategy.tell)")
    drive(subject, 4, outstanding=2, order_seed=4)


@_per_space
def check_requires(factory: Factory, label: str, space: SearchSpace, kwargs: dict[str, Any]) -> None:
    """``requires`` and ``uses`` are sets of capability names the runner knows."""
    subject = build(factory, label, space, 0, **kwargs)
    for attr in ("requires", "uses"):
        value = getattr(subject.strategy, attr, frozenset())
        if not isinstance(value, frozenset | set) or not set(value) <= CAPABILITIES:
            raise subject.fail(f"{attr} must be a set of capability names from {sorted(CAPABILITIES)}, "
                               f"got {value!r}")


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
    ("tell_bookkeeping", check_tell_bookkeeping),
    ("requires", check_requires),
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
    _, label = resolve(name_or_factory)
    run_all("strategy", label, ((name, functools.partial(check, name_or_factory, space, **kwargs))
                                for name, check in iter_checks()))


__all__ = ["CHECKS", "MULTI_FIDELITY", "SINGLE_FIDELITY", "Subject", "SyntheticObjective", "TinySpace",
           "Trace", "build", "check_proposal", "check_strategy", "default_spaces", "drive", "find_oracles",
           "global_rng_states", "iter_checks", "reseeded_globals", "resolve"]
