"""Conformance suite for search spaces, like :func:`~nasarena.strategies.conformance.check_strategy`.

``check_space(space)`` runs every check of :func:`iter_checks` that the space's declared traits
select and raises one ``AssertionError`` listing every failure. Always: ``structure`` (named
decisions with at least one named choice each), ``sampling`` (samples are plain tuples of ints that
``validate`` returns unchanged, and the same seed gives the same samples), ``strings`` (``from_string``
inverts ``to_string``), ``index`` (``from_index`` inverts ``index``), ``mutation`` (``mutate`` stays
in the space and changes one decision when there is a neighbour; every neighbour is valid and one
decision away), ``canonical`` (hashable, stable) and ``encoding`` (``encode_many`` rows equal
``encode``, of length ``encoding_size``). Traits: ``conditional`` spaces also get ``conditional``
(``normalize`` is idempotent and keeps the architecture's string; neighbours change active
decisions only); a space with at most ``ENUMERATE_LIMIT`` decision tuples gets ``enumeration``
(``enumerate`` yields ``size`` distinct valid members).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from nasarena.checks import run_all
from nasarena.spaces.base import SearchSpace

#: Spaces with at most this many decision tuples are enumerated by the ``enumeration`` check.
ENUMERATE_LIMIT = 50_000


def _fail(space: SearchSpace, message: str) -> AssertionError:
    return AssertionError(f"space {space.name!r}: {message}")


def _samples(space: SearchSpace, n: int = 40, seed: int = 0) -> list[Any]:
    rng = np.random.default_rng(seed)
    return [space.sample(rng) for _ in range(n)]


def check_structure(space: SearchSpace) -> None:
    """Decisions are named, each with at least one named choice."""
    if not space.decisions:
        raise _fail(space, "has no decisions")
    for d in space.decisions:
        if not d.name or d.n < 1 or len(d.choices) != d.n:
            raise _fail(space, f"decision {d!r} needs a name and n >= 1 named choices")


def check_sampling(space: SearchSpace) -> None:
    """Samples are canonical valid tuples of ints; the same seed gives the same samples."""
    first, again = _samples(space), _samples(space)
    if first != again:
        raise _fail(space, "sample() with the same seed gave different architectures; draw only from rng")
    for arch in first:
        if not isinstance(arch, tuple) or any(type(v) is not int for v in arch):
            raise _fail(space, f"sample() returned {arch!r}, not a plain tuple of ints")
        if space.validate(arch) != arch or not space.is_valid(arch):
            raise _fail(space, f"sample() returned {arch!r}, which validate/is_valid do not accept as is")


def check_strings(space: SearchSpace) -> None:
    """``from_string(to_string(a))`` gives ``a`` back (its normal form for conditional spaces)."""
    for arch in _samples(space, 20, 1):
        text = space.to_string(arch)
        back = space.from_string(text)
        if space.normalize(back) != space.normalize(arch) or space.to_string(back) != text:
            raise _fail(space, f"string round trip: {arch!r} -> {text!r} -> {back!r}")


def check_index(space: SearchSpace) -> None:
    """``from_index(index(a))`` gives ``a`` back."""
    for arch in _samples(space, 20, 2):
        if space.from_index(space.index(arch)) != arch:
            raise _fail(space, f"index round trip failed for {arch!r}")


def check_mutation(space: SearchSpace) -> None:
    """Mutation stays in the space, one decision away when a neighbour exists; neighbours likewise."""
    rng = np.random.default_rng(3)
    for arch in _samples(space, 15, 3):
        neighbours = space.neighbours(arch)
        for nb in neighbours:
            if not space.is_valid(nb) or sum(a != b for a, b in zip(arch, nb, strict=True)) != 1:
                raise _fail(space, f"neighbour {nb!r} of {arch!r} is invalid or not one decision away")
        child = space.mutate(arch, rng)
        if not isinstance(child, tuple) or space.validate(child) != child:
            raise _fail(space, f"mutate({arch!r}) left the space: {child!r}")
        if neighbours and child == arch:
            raise _fail(space, f"mutate({arch!r}) returned it unchanged although it has neighbours")


def check_canonical(space: SearchSpace) -> None:
    """``canonical`` is hashable and stable."""
    for arch in _samples(space, 15, 4):
        key = space.canonical(arch)
        hash(key)
        if space.canonical(tuple(arch)) != key:
            raise _fail(space, f"canonical({arch!r}) is not stable")


def check_encoding(space: SearchSpace) -> None:
    """``encode_many`` rows equal ``encode``; length ``encoding_size``."""
    archs = _samples(space, 10, 5)
    many = space.encode_many(archs)
    if many.shape != (len(archs), space.encoding_size):
        raise _fail(space, f"encode_many shape {many.shape}, expected {(len(archs), space.encoding_size)}")
    for row, arch in zip(many, archs, strict=True):
        if not np.array_equal(row, space.encode(arch)):
            raise _fail(space, f"encode_many and encode disagree on {arch!r}")


def check_conditional(space: SearchSpace) -> None:
    """``normalize`` is idempotent and keeps the string; neighbours change active decisions only."""
    for arch in _samples(space, 15, 6):
        norm = space.normalize(arch)
        if space.normalize(norm) != norm or space.to_string(norm) != space.to_string(arch):
            raise _fail(space, f"normalize({arch!r}) = {norm!r} is not idempotent or changes the network")
        active = space.active(arch)
        for nb in space.neighbours(arch):
            changed = [i for i, (a, b) in enumerate(zip(arch, nb, strict=True)) if a != b]
            if not all(active[i] for i in changed):
                raise _fail(space, f"neighbour {nb!r} of {arch!r} changes a dormant decision")


def check_enumeration(space: SearchSpace) -> None:
    """``enumerate`` yields ``size`` distinct valid architectures."""
    members = list(space.enumerate())
    if len(set(members)) != len(members) or len(members) != space.size:
        raise _fail(space, f"enumerate gave {len(members)} ({len(set(members))} distinct), size {space.size}")
    if not all(space.is_valid(a) for a in members[:: max(1, len(members) // 500)]):
        raise _fail(space, "enumerate yields invalid architectures")


Check = Callable[[SearchSpace], None]
ALWAYS: tuple[tuple[str, Check], ...] = (
    ("structure", check_structure), ("sampling", check_sampling), ("strings", check_strings),
    ("index", check_index), ("mutation", check_mutation), ("canonical", check_canonical),
    ("encoding", check_encoding),
)


def iter_checks(space: SearchSpace) -> Iterator[tuple[str, Check]]:
    """The (name, check) pairs the space's traits select (``conditional``, enumerable size)."""
    yield from ALWAYS
    if space.conditional:
        yield "conditional", check_conditional
    if math.prod(space.cardinalities) <= ENUMERATE_LIMIT:
        yield "enumeration", check_enumeration


def check_space(space: SearchSpace) -> None:
    """Run every selected check; raise one AssertionError listing all failures (or return None)."""
    run_all("space", space.name,
            ((name, functools.partial(check, space)) for name, check in iter_checks(space)))


__all__ = ["ALWAYS", "ENUMERATE_LIMIT", "check_space", "iter_checks"]
