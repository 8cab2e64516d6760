"""NAS-Bench-Graph space: decisions, strings, operators, the package's canonicalisation, 26,206 classes."""

from __future__ import annotations

import functools
import itertools

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from nasarena.errors import InvalidArchitectureError, UnknownNameError
from nasarena.estimators.nbgraph import DATASETS, load_bench
from nasarena.registry import make_space
from nasarena.spaces.nbgraph import GNN_OPS, GNN_OPS_PROTEINS, NBGraphSpace, bench_key

SPACE = NBGraphSpace()
PROTEINS = NBGraphSpace(ops="proteins")


def arch_strategy(space: NBGraphSpace) -> st.SearchStrategy[tuple[int, ...]]:
    return st.tuples(*[st.integers(0, n - 1) for n in space.cardinalities]).filter(space.is_valid)


archs = arch_strategy(SPACE)
seeds = st.integers(0, 2**32 - 1)


def test_op_lists_match_the_package() -> None:
    from nas_bench_graph.architecture import gnn_list, gnn_list_proteins

    assert list(GNN_OPS) == gnn_list and list(GNN_OPS_PROTEINS) == gnn_list_proteins


def test_decisions_are_three_links_and_four_ops() -> None:
    assert [d.name for d in SPACE.decisions] == ["link1", "link2", "link3", "op0", "op1", "op2", "op3"]
    assert SPACE.cardinalities == (2, 3, 4, 9, 9, 9, 9)
    assert PROTEINS.cardinalities == (2, 3, 4, 5, 5, 5, 5)
    assert make_space("nbgraph", ops="proteins").ops == GNN_OPS_PROTEINS


@pytest.mark.parametrize("space", [SPACE, PROTEINS], ids=["full", "proteins"])
def test_enumerate_excludes_only_the_all_skip_cells(space: NBGraphSpace) -> None:
    all_archs = list(space.enumerate())
    assert len(all_archs) == len(set(all_archs)) == space.size == 24 * len(space.ops) ** 4 - 24
    skip = space.ops.index("skip")
    assert all(not space.is_valid(lk + (skip,) * 4)
               for lk in itertools.product(range(2), range(3), range(4)))


@functools.cache
def _keys(space: NBGraphSpace) -> set[int]:
    # bench_key is what canonical() returns after validating (checked against the package below);
    # calling it directly keeps this exhaustive pass over 157,440 tuples to a couple of seconds.
    key = bench_key.__wrapped__  # uncached: 157k one-off calls would only churn the LRU cache
    return {key((0, *a[:3]), tuple(space.ops[i] for i in a[3:])) for a in space.enumerate()}


def test_canonical_is_the_package_key_and_covers_the_bench_exactly() -> None:
    """26,206 distinct keys over the 157,440 valid tuples, exactly the keys of every bench table."""
    keys = _keys(SPACE)
    assert len(keys) == 26206
    for dataset in DATASETS:
        if dataset != "proteins":
            assert set(load_bench(dataset)) == keys, dataset


def test_proteins_space_covers_the_proteins_bench_exactly() -> None:
    keys = _keys(PROTEINS)
    assert len(keys) == 2021 == len(load_bench("proteins"))
    assert set(load_bench("proteins")) == keys


@given(archs)
def test_canonical_equals_package_valid_hash(arch: tuple[int, ...]) -> None:
    from nas_bench_graph.architecture import Arch

    expected = Arch([0, *arch[:3]], [GNN_OPS[i] for i in arch[3:]]).valid_hash()
    assert SPACE.canonical(arch) == expected == bench_key((0, *arch[:3]), tuple(SPACE.op_names(arch)))


@given(st.permutations(range(4)), archs)
def test_parallel_branches_from_the_input_are_unordered(perm: list[int], arch: tuple[int, ...]) -> None:
    # with links (0, 0, 0) every op reads the input: reordering the four ops is the same network
    a = (0, 0, 0, *arch[3:])
    b = (0, 0, 0, *(arch[3 + p] for p in perm))
    assert SPACE.canonical(a) == SPACE.canonical(b)


@given(archs)
def test_string_round_trip(arch: tuple[int, ...]) -> None:
    text = SPACE.to_string(arch)
    assert SPACE.from_string(text) == arch
    assert text.startswith("0-")


@given(arch_strategy(PROTEINS))
def test_string_round_trip_proteins(arch: tuple[int, ...]) -> None:
    assert PROTEINS.from_string(PROTEINS.to_string(arch)) == arch


@given(archs)
def test_index_round_trip(arch: tuple[int, ...]) -> None:
    assert SPACE.from_index(SPACE.index(arch)) == arch


@given(archs, seeds)
def test_mutation_stays_in_space_and_changes_one_decision(arch: tuple[int, ...], seed: int) -> None:
    child = SPACE.mutate(arch, np.random.default_rng(seed))
    assert SPACE.validate(child) == child
    assert sum(a != b for a, b in zip(arch, child, strict=True)) == 1


@given(archs)
def test_neighbours(arch: tuple[int, ...]) -> None:
    nbrs = SPACE.neighbours(arch)
    assert len(nbrs) == len(set(nbrs))
    assert all(SPACE.is_valid(n) and sum(a != b for a, b in zip(arch, n, strict=True)) == 1 for n in nbrs)
    # 1 + 2 + 3 link alternatives and 4 x 8 op alternatives, less an all-skip result
    skip = GNN_OPS.index("skip")
    all_skip_reachable = sum(o != skip for o in arch[3:]) == 1
    assert len(nbrs) == 6 + 32 - all_skip_reachable


def test_sample_is_valid() -> None:
    rng = np.random.default_rng(0)
    assert all(SPACE.is_valid(SPACE.sample(rng)) for _ in range(500))


def test_example_string() -> None:
    arch = SPACE.from_string("0-0-1-2|gcn-gat-skip-fc")
    assert arch == (0, 1, 2, 1, 0, 8, 7)
    assert SPACE.links(arch) == [0, 0, 1, 2] and SPACE.op_names(arch) == ["gcn", "gat", "skip", "fc"]


def test_unknown_op_names_the_token_and_lists_valid_ops() -> None:
    with pytest.raises(InvalidArchitectureError) as exc:
        SPACE.from_string("0-0-1-2|gcn-gat-transformer-fc")
    msg = str(exc.value)
    assert "'transformer'" in msg and "op2" in msg and all(op in msg for op in GNN_OPS)
    with pytest.raises(InvalidArchitectureError, match="unknown op 'gat'.*gcn, sage, arma, fc, skip"):
        PROTEINS.from_string("0-0-1-2|gcn-gat-skip-fc")


@pytest.mark.parametrize(("text", "match"), [
    ("0-0-1-2-3|gcn-gat-skip-fc", "5 links and 4 ops"),
    ("0-0-1-2|gcn-gat-skip", "4 links and 3 ops"),
    ("0-0-1-2gcn-gat-skip-fc", "exactly one '|'"),
    ("0-0-1-2|gcn|gat-skip-fc", "exactly one '|'"),
    ("1-0-1-2|gcn-gat-skip-fc", "first link must be '0'"),
    ("0-2-1-2|gcn-gat-skip-fc", "link1 '2'.*nodes 0..1"),
    ("0-0-1-4|gcn-gat-skip-fc", "link3 '4'.*nodes 0..3"),
    ("0-0-1-2|skip-skip-skip-skip", "only skip ops"),
])
def test_malformed_strings(text: str, match: str) -> None:
    with pytest.raises(InvalidArchitectureError, match=match):
        SPACE.from_string(text)


def test_bad_tuples() -> None:
    with pytest.raises(InvalidArchitectureError, match="'link1' must be an int in \\[0, 2\\)"):
        SPACE.canonical((2, 0, 0, 0, 0, 0, 0))
    with pytest.raises(InvalidArchitectureError, match="expected 7 decisions"):
        SPACE.to_string((0, 0, 0, 0))
    with pytest.raises(InvalidArchitectureError, match="not a valid architecture"):
        SPACE.to_string((0, 0, 0, 8, 8, 8, 8))
    with pytest.raises(InvalidArchitectureError, match="expected a string"):
        SPACE.from_string(None)  # type: ignore[arg-type]


def test_unknown_op_set_lists_valid_ones() -> None:
    with pytest.raises(UnknownNameError, match="'full', 'proteins'"):
        NBGraphSpace(ops="tiny")
