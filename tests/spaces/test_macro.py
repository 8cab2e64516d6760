"""The macro spaces (chain, residual, dense): conditional decisions, strings, canonical form, counts."""

from __future__ import annotations

import collections
import itertools

import numpy as np
import pytest

from nasarena.errors import ConfigError, InvalidArchitectureError, SearchExhausted
from nasarena.registry import make_space
from nasarena.spaces.base import Decision, SearchSpace, SubsetSpace
from nasarena.spaces.macro import OPS, MacroSpace
from nasarena.spaces.macro.cost import params_and_flops
from nasarena.strategies.random_search import UniformSampler

NAMES = ("chain", "residual", "dense")


def small(name: str) -> MacroSpace:
    """Two layers, two widths, one reduction: small enough to enumerate (2-4k tuples)."""
    return make_space(name, max_layers=2, widths=(8, 16), max_reductions=1, stem_width=8)


def raw_draws(space: MacroSpace, n: int, seed: int = 0) -> list[tuple[int, ...]]:
    """Valid tuples drawn decision by decision, as generic strategies do (dormant values included)."""
    rng = np.random.default_rng(seed)
    out: list[tuple[int, ...]] = []
    while len(out) < n:
        arch = tuple(int(v) for v in rng.integers(0, space.cardinalities))
        if space.is_valid(arch):
            out.append(arch)
    return out


def arch_of(space: MacroSpace, **values: str) -> tuple[int, ...]:
    """A tuple from decision-name -> choice pairs (the rest 0)."""
    arch = [0] * len(space.decisions)
    for i, d in enumerate(space.decisions):
        if d.name in values:
            arch[i] = d.choices.index(values[d.name])
    return tuple(arch)


@pytest.mark.parametrize("name", NAMES)
def test_registered_with_depth_first_and_layer_groups(name: str) -> None:
    space = make_space(name)
    assert space.name == name and space.conditional
    names = [d.name for d in space.decisions]
    assert names[:4] == ["depth", "op1", "width1", "stride1"]
    n_conn = 0 if name == "chain" else 6 * 5 // 2
    assert len(names) == 1 + 3 * 6 + n_conn
    assert space.decisions[1].choices == OPS


@pytest.mark.parametrize("name", NAMES)
def test_size_counts_exactly_the_enumerated_valid_tuples(name: str) -> None:
    space = small(name)
    archs = list(space.enumerate())
    assert space.size == len(archs)
    assert all(space.reductions(a) <= 1 for a in archs)
    assert len(archs) < np.prod(space.cardinalities)  # the reduction limit removes some tuples


@pytest.mark.parametrize("name", NAMES)
def test_layers_beyond_the_depth_and_op_specific_fields_are_inactive(name: str) -> None:
    space = make_space(name)
    depth2 = arch_of(space, depth="2", op1="maxpool3x3", op2="identity")
    active = dict(zip((d.name for d in space.decisions), space.active(depth2), strict=True))
    assert active["depth"] and active["op1"] and active["stride1"] and not active["width1"]  # a pool
    assert active["op2"] and not active["width2"] and not active["stride2"]  # the identity
    assert not any(v for k, v in active.items() if k[-1] in "3456" or "3<-" in k or "4<-" in k)
    if name != "chain":
        prefix = space.connection_prefix
        assert active[f"{prefix}2<-0"] and not active[f"{prefix}3<-0"]


@pytest.mark.parametrize("name", NAMES)
def test_encodings_drop_inactive_decisions(name: str) -> None:
    space = make_space(name)
    for arch in raw_draws(space, 40):
        enc = space.encode(arch)
        assert enc.sum() == sum(space.active(arch))
        np.testing.assert_array_equal(enc, space.encode(space.normalize(arch)))  # no ghost values
    archs = raw_draws(space, 25, seed=1)
    np.testing.assert_array_equal(space.encode_many(archs), np.stack([space.encode(a) for a in archs]))


@pytest.mark.parametrize("name", NAMES)
def test_dormant_values_do_not_change_strings_or_canonical_form(name: str) -> None:
    space = make_space(name)
    for arch in raw_draws(space, 60):
        norm = space.normalize(arch)
        assert space.to_string(arch) == space.to_string(norm)
        assert space.canonical(arch) == space.canonical(norm)
        assert space.from_string(space.to_string(arch)) == norm
        assert space.is_valid(norm)


@pytest.mark.parametrize("name", NAMES)
def test_sample_is_normalised_and_covers_every_depth(name: str) -> None:
    space = make_space(name)
    rng = np.random.default_rng(3)
    draws = [space.sample(rng) for _ in range(300)]
    assert all(a == space.normalize(a) and space.is_valid(a) for a in draws)
    assert {a[0] for a in draws} == set(range(6))


@pytest.mark.parametrize("name", NAMES)
def test_neighbours_change_one_active_decision_into_a_different_valid_network(name: str) -> None:
    space = make_space(name)
    rng = np.random.default_rng(4)
    for arch in raw_draws(space, 15, seed=2):
        active = space.active(arch)
        nbrs = space.neighbours(arch)
        assert nbrs, arch
        keys = [space.canonical(n) for n in nbrs]
        assert len(set(keys)) == len(keys) and space.canonical(arch) not in keys
        for n in nbrs:
            diff = [i for i, (x, y) in enumerate(zip(arch, n, strict=True)) if x != y]
            assert len(diff) == 1 and active[diff[0]] and space.is_valid(n)
        child = space.mutate(arch, rng)
        assert child in nbrs


def test_a_deeper_neighbour_reveals_the_dormant_layer() -> None:
    space = make_space("chain")
    arch = arch_of(space, depth="1", op1="conv3x3", op2="sep5x5", width2="64")
    deeper = arch_of(space, depth="2", op1="conv3x3", op2="sep5x5", width2="64")
    assert deeper in space.neighbours(arch)
    assert space.to_string(deeper) == "conv3x3:16:s1/sep5x5:64:s1"


@pytest.mark.parametrize("name", NAMES)
def test_stride_limit_is_enforced_and_explained(name: str) -> None:
    space = make_space(name)
    three = "conv3x3:16:s2/conv3x3:16:s2/maxpool3x3:s2"
    with pytest.raises(InvalidArchitectureError, match="at most 2"):
        space.from_string(three)
    arch = space.from_string("conv3x3:16:s2/identity/conv3x3:16:s2")
    assert space.reductions(arch) == 2


def test_strings_round_trip_and_errors_name_the_problem() -> None:
    res = make_space("residual")
    text = "conv3x3:32:s1/sep5x5:64:s2+0/identity+0+1/avgpool3x3:s1+2"
    assert res.to_string(res.from_string(text)) == text
    cases = {
        "conv7x7:16:s1": "unknown op", "conv3x3:24:s1": "width '24'", "conv3x3:16:s3": "stride 's3'",
        "maxpool3x3:16:s1": "takes stride", "identity:s1": "takes no fields", "conv3x3:16:s1+0": "node 0..-1",
        "conv3x3:16:s1/conv3x3:16:s1+1": "node 0..0", "conv3x3:16:s1/id+0": "unknown op",
        "/".join(["identity"] * 7): "1..6", "": "expected a string",
    }
    for bad, message in cases.items():
        with pytest.raises(InvalidArchitectureError, match=message):
            res.from_string(bad)
    with pytest.raises(InvalidArchitectureError, match="no extra inputs"):
        make_space("chain").from_string("conv3x3:16:s1/conv3x3:16:s1/conv3x3:16:s1+0")


def test_canonical_form_removes_forwarding_identities_and_renumbers_inputs() -> None:
    chain = make_space("chain")
    assert chain.canonical(chain.from_string("identity/conv3x3:16:s1/identity")) == \
        chain.canonical(chain.from_string("conv3x3:16:s1")) == "conv3x3:16:s1"
    assert chain.canonical(chain.from_string("identity")) == "-"
    res = make_space("residual")
    # node 2 is an identity of node 1, so "+2" from layer 4 is "+1" of the 2-layer network's node
    a = res.canonical(res.from_string("conv3x3:16:s1/identity/conv3x3:32:s1/conv3x3:32:s1+2"))
    b = res.canonical(res.from_string("conv3x3:16:s1/conv3x3:32:s1/conv3x3:32:s1+1"))
    assert a == b
    # an identity with an extra input is a sum node and stays
    assert "identity+0" in res.canonical(res.from_string("conv3x3:16:s1/identity+0"))


@pytest.mark.parametrize("name", NAMES)
def test_canonical_classes_of_a_small_space(name: str) -> None:
    space = small(name)
    archs = list(space.enumerate())
    classes = collections.defaultdict(list)
    for a in archs:
        classes[space.canonical(a)].append(a)
    normalised = {space.normalize(a) for a in archs}
    assert len(classes) < len(normalised) < len(archs)  # dormant values, then identities, collapse
    for members in classes.values():  # same class -> same size and cost
        costs = {params_and_flops(space, a, 10, 8) for a in members}
        assert len(costs) == 1


def test_bad_configuration_is_one_clear_error() -> None:
    with pytest.raises(ConfigError, match="distinct positive widths"):
        make_space("chain", widths=(16, 16))
    with pytest.raises(ConfigError, match="max_layers"):
        make_space("dense", max_layers=0)


def test_config_and_repr_name_the_construction() -> None:
    space = make_space("dense", max_layers=3)
    assert space.config() == {"max_layers": 3, "widths": [16, 32, 64], "max_reductions": 2, "stem_width": 16}
    assert "max_layers=3" in repr(space)


def test_enumeration_is_consistent_with_index() -> None:
    space = small("chain")
    for arch in itertools.islice(space.enumerate(), 0, None, 97):
        assert space.from_index(space.index(arch)) == arch


class _Switch(SearchSpace):
    """Decision b matters only when a == 1 (a minimal conditional space with no overrides but active)."""

    name = "switch"
    conditional = True
    decisions = (Decision("a", ("off", "on")), Decision("b", ("x", "y", "z")))

    def active(self, arch: tuple[int, ...]) -> tuple[bool, ...]:
        return (True, arch[0] == 1)


def test_generic_operators_respect_a_conditional_space() -> None:
    space = _Switch()
    assert space.neighbours((0, 2)) == [(1, 2)]  # b is dormant: only a changes
    assert space.normalize((0, 2)) == (0, 0) and space.normalize((1, 2)) == (1, 2)
    np.testing.assert_array_equal(space.encode((0, 2)), [1, 0, 0, 0, 0])
    sampler = UniformSampler(space, np.random.default_rng(0))
    assert {sampler.mutate((0, 2)) for _ in range(20)} == {(1, 2)}
    subset = SubsetSpace(space, [(0, 0), (1, 1), (1, 2)])
    assert subset.conditional and subset.active((0, 1)) == (True, False)
    nb201 = make_space("nb201")
    assert not nb201.conditional and nb201.normalize((1, 2, 3, 4, 0, 1)) == (1, 2, 3, 4, 0, 1)


def test_random_search_finds_the_members_of_a_subset_of_a_huge_space() -> None:
    """A tabulated live study of a macro space: 20 members among ~1e15 tuples (restrict_space)."""
    from nasarena.strategies.random_search import RandomSearch

    base = make_space("dense")
    members = raw_draws(base, 20, seed=7)
    space = SubsetSpace(base, [base.normalize(a) for a in members])
    search = RandomSearch(space, np.random.default_rng(0))
    proposals = [search.ask().arch for _ in range(20)]
    assert sorted(proposals) == list(space.enumerate())  # every member once, then exhausted
    with pytest.raises(SearchExhausted):
        search.ask()
