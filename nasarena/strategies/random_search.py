"""Random search without repeats, and the fast uniform sampler the other strategies reuse.

The issue's speed target (runner + strategy + oracle >= 20k evaluations/s on one core) leaves a
strategy a few microseconds per ask+tell. A single ``rng.integers`` call costs ~4 us and
``SearchSpace.sample`` ~16 us, so :class:`UniformSampler` draws uniforms from the strategy's
generator in batches (``rng.random(256)``, then plain Python floats) and builds architectures one
decision at a time. Every random number still comes from the generator the strategy was given, so
runs stay reproducible; only the grouping of draws differs from one-call-per-number.
"""

from __future__ import annotations

import functools
import itertools
import math
from typing import Any, ClassVar

import numpy as np

from nasarena.errors import ConfigError, SearchExhausted
from nasarena.estimators.base import FULL, Evaluation, Fidelity
from nasarena.spaces.base import Arch, SearchSpace
from nasarena.strategies.base import Proposal, Strategy
from nasarena.strategies.zero_cost import ProxyGuide

#: Spaces with more decision tuples than this are never enumerated (exhaustion is then impossible
#: in practice, and enumerating would take longer than any search).
MAX_ENUMERATE = 10_000_000
#: After this many consecutive rejected draws (repeats or invalid tuples), random search switches
#: from rejection sampling to drawing from the explicit list of the not-yet-proposed architectures.
MAX_REJECTIONS = 64
#: Spaces with at most this many decision tuples get a shared, immutable table of all of them, so a
#: uniform draw is one float and one list index (NB201: 15,625 tuples, ~1.5 MB once per process).
MAX_TABLE = 1 << 17


@functools.lru_cache(maxsize=8)
def all_tuples(cards: tuple[int, ...]) -> tuple[Arch, ...]:
    """Every decision tuple of these cardinalities in mixed-radix order (cached: immutable)."""
    return tuple(itertools.product(*(range(n) for n in cards)))


class UniformSampler:
    """Uniform draws over a space's architectures from batched uniforms of one generator.

    Why not ``space.sample``: it calls ``rng.integers`` once per architecture (~16 us). This class
    produces the same distribution (uniform over valid decision tuples, by rejection when the space
    overrides ``is_valid``) for ~1 us. A space that overrides ``sample`` or ``mutate`` is trusted
    to know better, and those calls go to the space.
    """

    def __init__(self, space: SearchSpace, rng: np.random.Generator, batch: int = 256) -> None:
        if batch < 1:
            raise ConfigError(f"batch must be >= 1, got {batch}")
        self.space = space
        self.rng = rng
        self.batch = batch
        self.cards: tuple[int, ...] = space.cardinalities
        self.total = math.prod(self.cards)
        cls = type(space)
        self.constrained = cls.is_valid is not SearchSpace.is_valid
        self.own_sample = cls.sample is not SearchSpace.sample
        # Mutation can be done here only when it provably equals SearchSpace.mutate's distribution.
        self.own_mutate = (cls.mutate is not SearchSpace.mutate
                           or cls.neighbours is not SearchSpace.neighbours or self.constrained
                           or space.conditional)  # neighbours skip inactive decisions
        self.n_neighbours = sum(n - 1 for n in self.cards)
        # Neighbour k of SearchSpace.neighbours' order is (decision i, r-th other value).
        self._neighbour_slots = [(i, r) for i, n in enumerate(self.cards) for r in range(n - 1)]
        self.table = all_tuples(self.cards) if self.total <= MAX_TABLE else None
        self._buf: list[float] = []

    def uniform(self) -> float:
        """One float in [0, 1) from the generator (batched)."""
        buf = self._buf
        if not buf:
            buf = self._buf = self.rng.random(self.batch).tolist()
        return buf.pop()

    def draw_tuple(self) -> Arch:
        """A uniformly random decision tuple, valid or not (callers check ``is_valid``)."""
        buf = self._buf
        if not buf:
            buf = self._buf = self.rng.random(self.batch).tolist()
        table = self.table
        if table is not None:  # small space: one uniform picks a precomputed tuple
            return table[int(buf.pop() * self.total)]
        out = []
        for n in self.cards:
            if not buf:
                buf = self._buf = self.rng.random(self.batch).tolist()
            out.append(int(buf.pop() * n))
        return tuple(out)

    def sample(self) -> Arch:
        """A uniformly random valid architecture (the space's own ``sample`` if it has one)."""
        if self.own_sample:
            return self.space.sample(self.rng)
        arch = self.draw_tuple()
        if self.constrained:
            is_valid = self.space.is_valid
            while not is_valid(arch):
                arch = self.draw_tuple()
        return arch

    def mutate(self, arch: Arch) -> Arch:
        """Change one decision, uniformly among the valid neighbours (``SearchSpace.mutate``).

        The fast path picks neighbour number ``k`` in exactly the order of
        ``SearchSpace.neighbours``, so it has the same distribution as the generic operator.
        """
        if self.own_mutate:
            return self.space.mutate(arch, self.rng)
        if self.n_neighbours == 0:
            return arch
        i, r = self._neighbour_slots[int(self.uniform() * self.n_neighbours)]
        out = list(arch)
        out[i] = r if r < arch[i] else r + 1
        return tuple(out)


def usable_score(evaluation: Evaluation) -> float | None:
    """The score of a successful evaluation, or None for a failure (``ok=False`` or NaN score)."""
    score = evaluation.score
    if not evaluation.ok or score != score:
        return None
    return float(score)


class RandomSearch(Strategy):
    """Uniform sampling over the space without repeats; raises ``SearchExhausted`` when done.

    "Repeat" means the same decision tuple: isomorphic architectures (same ``space.canonical``)
    are distinct members of the space and may both be proposed, which keeps the sampling uniform
    over the space as defined. Draws are rejection-sampled (cheap while most of the space is
    unseen); once rejections pile up, the remaining architectures are enumerated once and drawn
    from without replacement, so the last architectures cost as little as the first.
    Tells are not used (beyond bookkeeping), so random search is the baseline every other strategy
    must beat.

    ``zc_warmup=N`` (off by default) first draws N architectures the same way, has them scored by
    the zero-cost proxy ``zc_proxy`` (shared work on the oracle side, see
    :mod:`nasarena.strategies.zero_cost`) and proposes them best first, then goes on uniformly
    (Abdelfattah et al. 2021's warm-up for random search).
    """

    name: ClassVar[str] = "random"

    def __init__(self, space: SearchSpace, rng: np.random.Generator,
                 fidelities: tuple[Fidelity, ...] = (FULL,), zc_warmup: int = 0,
                 zc_proxy: str = "synflow") -> None:
        super().__init__(space, rng, fidelities)
        self.zc = ProxyGuide(self, warmup=zc_warmup, proxy=zc_proxy)
        self._sampler = UniformSampler(space, rng)
        self._seen: set[Arch] = set()
        self._rejected: set[Arch] = set()  # invalid tuples met while rejection sampling
        self._remaining: list[Arch] | None = None
        self._fid = self.fidelity
        self._own_small: bool | None = None

    def ask(self) -> Proposal:
        """A uniformly random architecture not proposed before by this instance."""
        if self.zc.on:
            proposal = self._zero_cost_ask()
            if proposal is not None:
                return proposal
        arch = self._draw() if self._remaining is None else self._draw_remaining()
        self._seen.add(arch)
        return self.propose(arch, self._fid)

    def _zero_cost_ask(self) -> Proposal | None:
        """The warm-up's proxy work (its architectures count as proposed), then its architectures best
        first; None once they are all proposed (or while the scores are outstanding)."""
        zc = self.zc
        if not zc.warmup_asked:
            zc.warmup_asked = True
            archs: list[Arch] = []
            try:
                for _ in range(zc.warmup):
                    archs.append(self._draw() if self._remaining is None else self._draw_remaining())
                    self._seen.add(archs[-1])
            except SearchExhausted:  # a space smaller than the warm-up: score all of it
                pass
            return zc.ask_scores(self, archs, "warmup")
        ready = zc.pop_ready()
        return None if ready is None else self.propose(ready[0], self._fid)

    def _draw(self) -> Arch:
        sampler = self._sampler
        seen = self._seen
        constrained = sampler.constrained
        small = sampler.total <= MAX_ENUMERATE
        # A huge space with its own sampler (a subset of a macro space, e.g. a tabulated live study)
        # may accept one raw tuple in 1e13: draw from the space, and enumerate it if it is small.
        own = not small and sampler.own_sample
        if own:
            if self._own_small is None:  # counted once (a subset's length; a macro space's DP)
                self._own_small = self.space.size <= MAX_ENUMERATE
            small = self._own_small
        rejections = 0
        while True:
            arch = self.space.sample(self.rng) if own else sampler.draw_tuple()
            if arch in seen:
                rejections += 1
            elif constrained and (arch in self._rejected or not self.space.is_valid(arch)):
                self._rejected.add(arch)
                rejections += 1
            else:
                if small and not own and 2 * (len(seen) + len(self._rejected)) >= sampler.total:
                    self._enumerate_remaining()  # from now on draw from the explicit remainder
                return arch
            # A huge space that keeps rejecting is heavily constrained, not exhausted: keep going.
            if small and rejections >= MAX_REJECTIONS:
                self._enumerate_remaining()
                return self._draw_remaining()

    def _enumerate_remaining(self) -> None:
        seen = self._seen
        table = self._sampler.table
        if table is None:
            self._remaining = [a for a in self.space.enumerate() if a not in seen]
        else:  # same order as SearchSpace.enumerate, without per-architecture decoding
            valid = self.space.is_valid if self._sampler.constrained else None
            self._remaining = [a for a in table if a not in seen and (valid is None or valid(a))]

    def _draw_remaining(self) -> Arch:
        rem = self._remaining
        assert rem is not None
        # The architecture about to be returned by _draw() may still be in the list; drop seen ones.
        while rem:
            j = int(self._sampler.uniform() * len(rem))
            arch = rem[j]
            rem[j] = rem[-1]
            rem.pop()
            if arch not in self._seen:
                return arch
        raise SearchExhausted(
            f"random: all {len(self._seen)} architectures of space {self.space.name!r} have been "
            f"proposed; give a smaller budget or use a larger space")

    def tell(self, proposal: Proposal, evaluation: Evaluation) -> None:
        """Random search ignores results (the base class checks the proposal was outstanding), except
        the warm-up's proxy scores, which order what it proposes next."""
        if proposal.work is not None:
            self.zc.told(proposal, evaluation, len(proposal.work.params["archs"]))

    def config(self) -> dict[str, Any]:
        """No hyper-parameters (the zero-cost warm-up's when on)."""
        return self.zc.config()


__all__ = ["RandomSearch", "UniformSampler", "usable_score"]
