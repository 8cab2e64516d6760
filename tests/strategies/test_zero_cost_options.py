"""Zero-cost warm-up and move proposals (``zc_warmup``, ``zc_moves``) of regularized evolution,
evolution and random search: off by default with unchanged proposals, requires and config; on, the
proxy scores arrive as shared work and choose what is evaluated next."""

from __future__ import annotations

import math

import numpy as np
import pytest

from nasarena.bench.capabilities import check_capabilities
from nasarena.errors import ConfigError, UnsupportedError
from nasarena.estimators.base import Evaluation, proxy_key
from nasarena.estimators.nb201_lite import NB201LiteOracle
from nasarena.spaces.nb201 import NB201Space
from nasarena.strategies.conformance import SyntheticObjective, TinySpace, check_strategy
from nasarena.strategies.evolution import Evolution, RegularizedEvolution
from nasarena.strategies.random_search import RandomSearch

SPACE = NB201Space()
OBJECTIVE = SyntheticObjective(SPACE)
FULL_FIDELITY = RandomSearch(SPACE, np.random.default_rng(0)).fidelity


def proxy(arch) -> float:
    """A made-up proxy: the objective's score with a deterministic wobble (known to the test)."""
    return OBJECTIVE(arch, FULL_FIDELITY).score + 0.3 * arch[0]


def answer(proposal) -> Evaluation:
    """What an oracle would tell: proxy scores for proxy work, the objective for an architecture."""
    if proposal.work is not None:
        archs = [tuple(a) for a in proposal.work.params["archs"]]
        extras = {proxy_key(i): proxy(a) for i, a in enumerate(archs)}
        return Evaluation(None, proposal.fidelity, max(extras.values()), 0.5, extras=extras)
    return OBJECTIVE(proposal.arch, proposal.fidelity)


def drive(strategy, n: int) -> list:
    out = []
    for _ in range(n):
        p = strategy.ask()
        strategy.tell(p, answer(p))
        out.append(p)
    return out


@pytest.mark.parametrize("cls", [RegularizedEvolution, Evolution, RandomSearch])
def test_off_by_default_changes_nothing(cls) -> None:
    kw = {"population_size": 5, "sample_size": 2} if cls is not RandomSearch else {}
    plain = cls(SPACE, np.random.default_rng(4), **kw)
    off = cls(SPACE, np.random.default_rng(4), **kw, zc_warmup=0, zc_proxy="naswot",
              **({"zc_moves": 0} if cls is not RandomSearch else {}))
    assert [p.arch for p in drive(plain, 60)] == [p.arch for p in drive(off, 60)]
    assert plain.requires == off.requires == frozenset()
    assert not any(k.startswith("zc_") for k in plain.config())


def test_warmup_starts_regularized_evolution_from_the_proxy_top() -> None:
    re = RegularizedEvolution(SPACE, np.random.default_rng(1), population_size=5, sample_size=2, zc_warmup=40)
    props = drive(re, 12)
    work = props[0]
    assert work.kind == "shared" and work.work.name == "proxy" and work.work.params["proxy"] == "synflow"
    sampled = [tuple(a) for a in work.work.params["archs"]]
    assert len(set(sampled)) == 40 == work.work.steps
    top = sorted(sampled, key=proxy, reverse=True)[:5]
    assert [p.arch for p in props[1:6]] == top  # the initial population: the proxy's top 5, best first
    assert all(p.kind == "fresh" for p in props[1:])
    assert sorted(a for a, _ in re.population) != sorted(top)  # evolution went on from there
    assert re.requires == {"proxy"}
    assert re.config()["zc_warmup"] == 40 and re.config()["zc_scored"] == 40


def test_moves_evaluate_the_best_of_the_scored_mutations() -> None:
    re = RegularizedEvolution(SPACE, np.random.default_rng(2), population_size=4, sample_size=2, zc_moves=6)
    props = drive(re, 40)
    assert all(p.kind == "fresh" for p in props[:4])  # the population fills uniformly
    moves = 0
    for k, p in enumerate(props):
        if p.kind == "shared":
            sent = [tuple(a) for a in p.work.params["archs"]]  # the candidates not scored before
            assert 1 <= len(sent) <= 6
            child = props[k + 1]  # told at once: the next ask proposes the choice
            assert child.kind == "fresh" and proxy(child.arch) >= max(proxy(a) for a in sent)
            moves += 1
    assert moves >= 10
    # every child after the fill is one decision away from an earlier proposal
    for p in props[5:]:
        if p.arch is not None:
            assert any(sum(x != y for x, y in zip(p.arch, q.arch, strict=True)) == 1
                       for q in props if q.arch is not None and q.id < p.id)


def test_moves_reuse_known_scores_and_prefer_unseen_children() -> None:
    re = RegularizedEvolution(SPACE, np.random.default_rng(3), population_size=3, sample_size=3,
                              zc_warmup=200, zc_moves=24)
    props = drive(re, 80)
    archs = [p.arch for p in props if p.arch is not None]
    sent = sum(p.work.steps for p in props if p.work is not None)
    assert re.config()["zc_scored"] == sent
    scored = [tuple(a) for p in props if p.work is not None for a in p.work.params["archs"]]
    assert len(scored) == len(set(scored))  # no architecture is scored twice
    assert len(set(archs)) > 0.9 * len(archs)  # a repeated winner does not repeat its best child


def test_random_search_warmup_proposes_its_sample_best_first_then_goes_on_without_repeats() -> None:
    rs = RandomSearch(SPACE, np.random.default_rng(5), zc_warmup=30)
    props = drive(rs, 61)
    sampled = [tuple(a) for a in props[0].work.params["archs"]]
    assert [p.arch for p in props[1:31]] == sorted(sampled, key=proxy, reverse=True)
    archs = [p.arch for p in props[1:]]
    assert len(set(archs)) == 60 and not set(archs[30:]) & set(sampled)


def test_several_workers_never_idle_while_scores_are_outstanding() -> None:
    re = RegularizedEvolution(SPACE, np.random.default_rng(6), population_size=4, sample_size=2, zc_warmup=20)
    first = [re.ask() for _ in range(3)]
    assert first[0].kind == "shared" and all(p.kind == "fresh" for p in first[1:])
    for p in first:
        re.tell(p, answer(p))
    assert [a for a, _ in re.zc.ready] == sorted(
        [tuple(a) for a in first[0].work.params["archs"]], key=proxy, reverse=True)[:4]


def test_a_failed_proxy_work_falls_back_to_the_plain_order() -> None:
    rs = RandomSearch(SPACE, np.random.default_rng(7), zc_warmup=5)
    work = rs.ask()
    rs.tell(work, Evaluation(None, work.fidelity, math.nan, 0.0, ok=False, error="no proxy"))
    assert [rs.ask().arch for _ in range(5)] == [tuple(a) for a in work.work.params["archs"]]


def test_options_are_validated_and_refused_by_an_oracle_without_proxy_scores() -> None:
    for bad in ({"zc_warmup": -1}, {"zc_moves": 1.5}, {"zc_warmup": True}, {"zc_warmup": 3, "zc_proxy": ""}):
        with pytest.raises(ConfigError, match="zc_"):
            RegularizedEvolution(SPACE, np.random.default_rng(0), **bad)
    strategy = RandomSearch(SPACE, np.random.default_rng(0), zc_warmup=10)
    with pytest.raises(UnsupportedError, match="'proxy'.*'with-proxy'"):
        check_capabilities(strategy.name, strategy.requires, NB201LiteOracle("cifar10"))


@pytest.mark.parametrize(("cls", "kw"), [
    (RegularizedEvolution, {"population_size": 4, "sample_size": 2, "zc_warmup": 10, "zc_moves": 3}),
    (Evolution, {"population_size": 4, "sample_size": 2, "zc_moves": 24, "warm_start": True}),
    (RandomSearch, {"zc_warmup": 10}),
])
def test_zero_cost_options_pass_the_conformance_suite(cls, kw) -> None:
    check_strategy(cls, TinySpace(), **kw)
