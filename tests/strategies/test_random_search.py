"""Random search never repeats, covers the space exactly, and samples uniformly; the fast sampler
matches the generic space operators in distribution."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest
from scipy import stats

from nasarena.errors import ConfigError, SearchExhausted, StrategyError
from nasarena.estimators.base import Evaluation, Fidelity
from nasarena.spaces.base import Decision, SearchSpace
from nasarena.spaces.nb201 import NB201Space
from nasarena.strategies.conformance import TinySpace
from nasarena.strategies.random_search import RandomSearch, UniformSampler

FID = (Fidelity(epochs=200),)


def _ev(p, score: float = 50.0) -> Evaluation:
    return Evaluation(p.arch, p.fidelity, score, 1.0)


def _exhaust(strategy: RandomSearch) -> list[tuple[int, ...]]:
    out = []
    while True:
        try:
            p = strategy.ask()
        except SearchExhausted:
            return out
        out.append(p.arch)
        strategy.tell(p, _ev(p))


@pytest.mark.parametrize("space", [NB201Space(), TinySpace()], ids=["nb201", "tiny"])
def test_never_repeats_and_covers_the_space_exactly(space: SearchSpace) -> None:
    archs = _exhaust(RandomSearch(space, np.random.default_rng(3), FID))
    assert len(archs) == len(set(archs)) == space.size
    assert set(archs) == set(space.enumerate())


def test_keeps_raising_once_exhausted_and_message_says_why() -> None:
    s = RandomSearch(TinySpace(), np.random.default_rng(0), FID)
    _exhaust(s)
    with pytest.raises(SearchExhausted, match="all 26 architectures"):
        s.ask()


def test_first_draws_are_uniform_over_nb201() -> None:
    # 6,000 draws without repeats from 15,625: each edge's op should be ~uniform (chi-square).
    s = RandomSearch(NB201Space(), np.random.default_rng(11), FID)
    archs = [s.ask().arch for _ in range(6000)]
    for d in range(6):
        counts = np.bincount([a[d] for a in archs], minlength=5)
        assert stats.chisquare(counts).pvalue > 1e-3, (d, counts)


def test_same_seed_same_order_and_tells_do_not_matter() -> None:
    a = RandomSearch(NB201Space(), np.random.default_rng(5), FID)
    b = RandomSearch(NB201Space(), np.random.default_rng(5), FID)
    pa, pb = [], []
    for i in range(200):
        x, y = a.ask(), b.ask()
        a.tell(x, _ev(x, 90.0))
        b.tell(y, Evaluation.failed(y.arch, y.fidelity, "boom") if i % 2 else _ev(y, 1.0))
        pa.append(x.arch)
        pb.append(y.arch)
    assert pa == pb


def test_tell_of_unknown_or_repeated_proposal_is_an_error() -> None:
    s = RandomSearch(TinySpace(), np.random.default_rng(0), FID)
    p = s.ask()
    s.tell(p, _ev(p))
    with pytest.raises(StrategyError, match="exactly once"):
        s.tell(p, _ev(p))
    other = RandomSearch(TinySpace(), np.random.default_rng(1), FID)
    q = other.ask()
    other.ask()
    with pytest.raises(StrategyError):
        s.tell(type(q)(q.id + 100, q.arch, q.fidelity), _ev(q))


class _Ragged(SearchSpace):
    """Decisions of different sizes and a validity rule that rejects most tuples."""

    name = "ragged"
    decisions = (Decision("a", ("0", "1")), Decision("b", ("0", "1", "2", "3", "4")),
                 Decision("c", ("0", "1", "2")))

    def is_valid(self, arch: tuple[int, ...]) -> bool:
        return (arch[0] + arch[1] + arch[2]) % 3 == 0


def test_constrained_ragged_space_is_sampled_validly_and_exhausted() -> None:
    space = _Ragged()
    archs = _exhaust(RandomSearch(space, np.random.default_rng(2), FID))
    assert sorted(archs) == sorted(space.enumerate()) and all(space.is_valid(a) for a in archs)


def test_sampler_mutation_matches_generic_mutation_distribution() -> None:
    space = NB201Space()
    sampler = UniformSampler(space, np.random.default_rng(0))
    assert not sampler.own_mutate  # NB201 uses the generic operator, so the fast path applies
    arch = (0, 1, 2, 3, 4, 1)
    neighbours = space.neighbours(arch)
    counts = Counter(sampler.mutate(arch) for _ in range(12_000))
    assert set(counts) == set(neighbours)
    assert stats.chisquare([counts[n] for n in neighbours]).pvalue > 1e-3


def test_sampler_defers_to_space_operators_when_overridden() -> None:
    space = TinySpace()  # overrides is_valid: mutation must go through space.mutate
    sampler = UniformSampler(space, np.random.default_rng(0))
    assert sampler.own_mutate and sampler.constrained
    draws = [sampler.sample() for _ in range(2000)]
    assert (0, 0, 0) not in draws and len(set(draws)) == 26
    assert all(sum(x != y for x, y in zip(sampler.mutate(a), a, strict=True)) == 1 for a in draws[:200])
    with pytest.raises(ConfigError):
        UniformSampler(space, np.random.default_rng(0), batch=0)
