"""The search-space contract shared by every space.

An architecture is a plain tuple of ints, one index per categorical *decision* of its space. That one
choice makes RL controllers, BO encoders, mutation and neighbourhoods generic over spaces, keeps
architectures immutable and hashable, and makes table lookups cheap (mixed-radix index).
Spaces whose decisions interact (some combinations invalid) override :meth:`is_valid`.

Conditional spaces (the macro spaces: a layer beyond the chosen depth has no decisions that matter)
set ``conditional = True`` and override :meth:`active`. Why keep a fixed-length tuple at all: every
generic strategy (REINFORCE's independent logits, Optuna's categoricals, uniform rejection sampling)
draws each decision, and a space that rejected tuples with non-zero inactive values would accept one
draw in millions. So every value of an inactive decision is valid but *dormant*: strings, the
canonical form, encodings and oracles ignore it, neighbours never change it, and :meth:`normalize`
(inactive decisions set to 0) picks the representative the space itself produces.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Hashable, Iterable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np

from nasarena.errors import InvalidArchitectureError

Arch = tuple[int, ...]


@dataclass(frozen=True)
class Decision:
    """One categorical choice of a space (e.g. the op on edge 2<-1)."""

    name: str
    choices: tuple[str, ...]

    @property
    def n(self) -> int:
        """Number of choices."""
        return len(self.choices)


class SearchSpace:
    """Base class of search spaces: generic sampling, mutation, neighbours and encodings.

    Subclasses set ``name`` and ``decisions`` and implement :meth:`to_string` / :meth:`from_string`;
    they may override :meth:`is_valid` and :meth:`canonical`.
    """

    name: str = "abstract"
    decisions: tuple[Decision, ...] = ()
    #: Whether :meth:`active` can return False for some decision (see the module docstring).
    conditional: bool = False

    # ---- structure -------------------------------------------------------------------------
    @property
    def cardinalities(self) -> tuple[int, ...]:
        """Number of choices of each decision."""
        return tuple(d.n for d in self.decisions)

    @property
    def size(self) -> int:
        """Number of valid architectures."""
        return sum(1 for _ in self.enumerate())

    def is_valid(self, arch: Arch) -> bool:
        """Whether a well-formed decision tuple is a member of the space (default: all are)."""
        return True

    def validate(self, arch: object) -> Arch:
        """Return ``arch`` as a tuple of ints or raise :class:`InvalidArchitectureError`."""
        if not isinstance(arch, tuple | list | np.ndarray):
            raise InvalidArchitectureError(
                f"{self.name}: an architecture is a tuple of {len(self.decisions)} ints, got "
                f"{type(arch).__name__} {arch!r}; use space.from_string(...) for strings")
        if len(arch) != len(self.decisions):
            raise InvalidArchitectureError(
                f"{self.name}: expected {len(self.decisions)} decisions "
                f"({', '.join(d.name for d in self.decisions)}), got {len(arch)}: {arch!r}")
        out = []
        for value, dec in zip(arch, self.decisions, strict=True):
            if isinstance(value, bool) or not isinstance(value, int | np.integer) or not 0 <= value < dec.n:
                raise InvalidArchitectureError(
                    f"{self.name}: decision {dec.name!r} must be an int in [0, {dec.n}) "
                    f"(choices {', '.join(dec.choices)}), got {value!r}")
            out.append(int(value))
        t = tuple(out)
        if not self.is_valid(t):
            raise InvalidArchitectureError(f"{self.name}: {t!r} is not a valid architecture of this space")
        return t

    def enumerate(self) -> Iterator[Arch]:
        """All valid architectures in mixed-radix index order."""
        for arch in itertools.product(*(range(n) for n in self.cardinalities)):
            if self.is_valid(arch):
                yield arch

    def index(self, arch: Arch) -> int:
        """Mixed-radix index of a decision tuple (first decision most significant)."""
        i = 0
        for v, n in zip(arch, self.cardinalities, strict=True):
            i = i * n + v
        return i

    def from_index(self, index: int) -> Arch:
        """Inverse of :meth:`index`; raises :class:`InvalidArchitectureError` when out of range."""
        total = math.prod(self.cardinalities)
        if isinstance(index, bool) or not isinstance(index, int | np.integer) or not 0 <= index < total:
            raise InvalidArchitectureError(
                f"{self.name}: index must be an int in [0, {total}), got {index!r}")
        index = int(index)
        out = []
        for n in reversed(self.cardinalities):
            index, v = divmod(index, n)
            out.append(v)
        return tuple(reversed(out))

    # ---- strings ---------------------------------------------------------------------------
    def to_string(self, arch: Arch) -> str:
        """Human/official string of an architecture."""
        raise NotImplementedError

    def from_string(self, text: str) -> Arch:
        """Parse the official string; raises :class:`InvalidArchitectureError` on bad input."""
        raise NotImplementedError

    def canonical(self, arch: Arch) -> Hashable:
        """A key equal for architectures that compute the same function (default: identity)."""
        return arch

    # ---- conditional decisions -------------------------------------------------------------
    def active(self, arch: Arch) -> tuple[bool, ...]:
        """Which decisions of ``arch`` matter (default: all; conditional spaces override it)."""
        return (True,) * len(self.decisions)

    def normalize(self, arch: Arch) -> Arch:
        """``arch`` with every inactive decision set to 0 (the identity for unconditional spaces)."""
        if not self.conditional:
            return tuple(arch)
        return tuple(v if on else 0 for v, on in zip(arch, self.active(arch), strict=True))

    # ---- random operators ------------------------------------------------------------------
    def sample(self, rng: np.random.Generator) -> Arch:
        """A uniformly random valid architecture (rejection sampling over decisions)."""
        cards = self.cardinalities
        while True:
            arch = tuple(int(v) for v in rng.integers(0, cards))
            if self.is_valid(arch):
                return arch

    def mutate(self, arch: Arch, rng: np.random.Generator) -> Arch:
        """Change exactly one decision to a different value, uniformly among valid results."""
        options = self.neighbours(arch)
        if not options:
            return arch
        return options[int(rng.integers(len(options)))]

    def neighbours(self, arch: Arch) -> list[Arch]:
        """All valid architectures that differ from ``arch`` in exactly one (active) decision."""
        out: list[Arch] = []
        active = self.active(arch) if self.conditional else None
        for i, n in enumerate(self.cardinalities):
            if active is not None and not active[i]:
                continue  # a dormant value: changing it would not change the architecture
            for v in range(n):
                if v != arch[i]:
                    cand = arch[:i] + (v,) + arch[i + 1:]
                    if self.is_valid(cand):
                        out.append(cand)
        return out

    # ---- encodings -------------------------------------------------------------------------
    @property
    def encoding_size(self) -> int:
        """Length of the one-hot encoding."""
        return sum(self.cardinalities)

    def encode(self, arch: Arch) -> np.ndarray:
        """One-hot encoding (concatenated per decision), float32; inactive decisions are all-zero."""
        out = np.zeros(self.encoding_size, dtype=np.float32)
        active = self.active(arch) if self.conditional else None
        offset = 0
        for i, (v, n) in enumerate(zip(arch, self.cardinalities, strict=True)):
            if active is None or active[i]:
                out[offset + v] = 1.0
            offset += n
        return out

    def encode_many(self, archs: Sequence[Arch]) -> np.ndarray:
        """One-hot encodings of several architectures as a 2-D array (as :meth:`encode`)."""
        idx = np.asarray(archs, dtype=np.int64).reshape(len(archs), len(self.decisions))
        offsets = np.concatenate([[0], np.cumsum(self.cardinalities)[:-1]])
        if self.conditional:  # inactive decisions write their 1.0 into a dropped extra column
            active = np.asarray([self.active(tuple(int(v) for v in a)) for a in idx], dtype=bool)
            wide = np.zeros((len(archs), self.encoding_size + 1), dtype=np.float32)
            np.put_along_axis(wide, np.where(active, idx + offsets, self.encoding_size), 1.0, axis=1)
            return np.ascontiguousarray(wide[:, :-1])
        out = np.zeros((len(archs), self.encoding_size), dtype=np.float32)
        np.put_along_axis(out, idx + offsets, 1.0, axis=1)
        return out

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class SubsetSpace(SearchSpace):
    """The members of ``base`` listed in ``members``: e.g. the architectures a partial table has.

    Decisions, strings and the canonical form are ``base``'s; only the listed architectures are
    valid, and sampling is uniform over them. ``neighbours`` stays "one decision changed"; where a
    member has no such neighbour in the subset (sparse tables), :meth:`mutate` moves to a member at
    the smallest Hamming distance instead, so evolution keeps making small steps.
    """

    def __init__(self, base: SearchSpace, members: Iterable[Arch]) -> None:
        self.base = base
        self.name = f"{base.name}-subset"
        self.decisions = base.decisions
        self.conditional = base.conditional
        self._members = tuple(sorted({tuple(int(v) for v in m) for m in members}))
        if not self._members:
            raise InvalidArchitectureError(f"{base.name}: a subset space needs at least one architecture")
        self._set = frozenset(self._members)
        self._matrix = np.asarray(self._members, dtype=np.int64)

    @property
    def size(self) -> int:
        """Number of member architectures."""
        return len(self._members)

    def is_valid(self, arch: Arch) -> bool:
        """Membership."""
        return tuple(arch) in self._set

    def enumerate(self) -> Iterator[Arch]:
        """The members, in mixed-radix order."""
        return iter(self._members)

    def to_string(self, arch: Arch) -> str:
        """The base space's string."""
        return self.base.to_string(arch)

    def from_string(self, text: str) -> Arch:
        """The base space's parser (membership is checked by :meth:`validate`)."""
        return self.base.from_string(text)

    def canonical(self, arch: Arch) -> Hashable:
        """The base space's canonical form."""
        return self.base.canonical(arch)

    def active(self, arch: Arch) -> tuple[bool, ...]:
        """The base space's active decisions."""
        return self.base.active(arch)

    def sample(self, rng: np.random.Generator) -> Arch:
        """A uniformly random member."""
        return self._members[int(rng.integers(len(self._members)))]

    def mutate(self, arch: Arch, rng: np.random.Generator) -> Arch:
        """A random single-decision neighbour in the subset, else a random nearest other member."""
        options = self.neighbours(arch)
        if not options:
            dist = (self._matrix != np.asarray(arch, dtype=np.int64)).sum(axis=1)
            dist[dist == 0] = len(self.decisions) + 1  # never "mutate" into itself
            nearest = np.flatnonzero(dist == dist.min())
            if dist.min() > len(self.decisions):
                return tuple(arch)  # a one-member subset: nothing else to go to
            return self._members[int(nearest[int(rng.integers(len(nearest)))])]
        return options[int(rng.integers(len(options)))]

    def __repr__(self) -> str:
        return f"SubsetSpace({self.base!r}, {len(self._members)} members)"
