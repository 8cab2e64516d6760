"""nas-bench-graph oracle: values equal the package's raw light tables; safe loading; cost modes; errors."""

from __future__ import annotations

import functools
import os
import pickle
from importlib import resources
from pathlib import Path

import numpy as np
import pytest

from nasarena.errors import ConfigError, DataError, UnknownNameError
from nasarena.estimators import nbgraph
from nasarena.estimators.base import FULL, Fidelity
from nasarena.estimators.nbgraph import DATASETS, NBGraphOracle
from nasarena.registry import make_oracle
from nasarena.safe_pickle import safe_load


@functools.cache
def raw(dataset: str) -> dict:
    """The package's light table, read independently of the oracle (restricted unpickler)."""
    return safe_load(Path(str(resources.files("nas_bench_graph").joinpath("light", f"{dataset}.bench"))))


def package_key(oracle: NBGraphOracle, arch: tuple[int, ...]) -> int:
    from nas_bench_graph.architecture import Arch

    return Arch(oracle.space.links(arch), oracle.space.op_names(arch)).valid_hash()


@pytest.mark.parametrize("dataset", DATASETS)
def test_values_equal_the_package_records(dataset: str) -> None:
    o = make_oracle("nas-bench-graph", dataset=dataset)
    table = raw(dataset)
    rng = np.random.default_rng(0)
    archs = list(o.space.enumerate())[::97]  # ~1,600 tuples across all link patterns and ops
    for arch in archs:
        rec = table[package_key(o, arch)]
        ev = o.evaluate(arch, None, rng)
        assert ev.score == rec["valid_perf"] and ev.ok
        assert ev.params == rec["para"] == o.params(arch)
        assert ev.extras["latency"] == rec["latency"] == ev.cost
        assert o.final_metric(arch) == rec["perf"]
        assert np.isnan(ev.flops) and ev.fidelity == FULL
    assert o.best_final == max(r["perf"] for r in table.values())
    assert o.space.op_set == ("proteins" if dataset == "proteins" else "full")


def test_evaluation_is_deterministic_and_ignores_the_generator() -> None:
    o = NBGraphOracle("cora")
    arch = o.space.from_string("0-0-1-2|gcn-gat-skip-fc")
    a = o.evaluate(arch, None, np.random.default_rng(1))
    b = o.evaluate(arch, FULL, np.random.default_rng(2))
    assert a == b


def test_isomorphic_tuples_get_the_same_record() -> None:
    o = NBGraphOracle("pubmed")
    a = o.space.from_string("0-0-0-0|gcn-gat-sage-fc")
    b = o.space.from_string("0-0-0-0|fc-sage-gat-gcn")
    rng = np.random.default_rng(0)
    assert o.evaluate(a, None, rng).score == o.evaluate(b, None, rng).score
    assert o.space.canonical(a) == o.space.canonical(b)


def test_constant_cost_mode_and_scale() -> None:
    arch = (0, 1, 2, 1, 0, 8, 7)
    o = NBGraphOracle("cs", cost="constant", cost_scale=30.0)
    assert o.evaluate(arch, None, np.random.default_rng(0)).cost == 30.0
    assert "constant 30 s" in o.describe()["cost"]
    scaled = NBGraphOracle("cs", cost_scale=1000.0)
    ev = scaled.evaluate(arch, None, np.random.default_rng(0))
    assert ev.cost == pytest.approx(1000.0 * ev.extras["latency"])
    assert "latency" in scaled.describe()["cost"] and "no training time" in scaled.describe()["cost"]


def test_describe() -> None:
    d = NBGraphOracle("photo").describe()
    assert d["oracle"] == "nas-bench-graph" and d["dataset"] == "photo" and d["space"] == "nbgraph"
    assert d["search_metric"] == "valid_perf" and d["final_metric"] == "test_perf"
    assert d["source"].endswith("photo.bench")


def test_errors() -> None:
    with pytest.raises(UnknownNameError, match="'cora'.*'proteins'"):
        NBGraphOracle("mutag")
    with pytest.raises(UnknownNameError, match="'latency', 'constant'"):
        NBGraphOracle("cora", cost="flops")
    with pytest.raises(ConfigError, match="cost_scale"):
        NBGraphOracle("cora", cost_scale=0.0)
    o = NBGraphOracle("cora")
    with pytest.raises(ConfigError, match=r"offers fidelities \[full\]"):
        o.evaluate((0, 1, 2, 1, 0, 8, 7), Fidelity(epochs=10), np.random.default_rng(0))


class _Exploit:
    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple:
        return (os.system, (f"touch {self.marker}",))


def test_a_crafted_bench_file_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    marker = tmp_path / "pwned"
    crafted = tmp_path / "light" / "cora.bench"
    crafted.parent.mkdir()
    crafted.write_bytes(pickle.dumps({0: {"valid_perf": _Exploit(marker)}}))
    monkeypatch.setattr(nbgraph, "_bench_file", lambda dataset: crafted)
    with pytest.raises(DataError, match=r"refusing to unpickle (posix|os)\.system"):
        nbgraph.load_bench.__wrapped__("cora")  # uncached, so the crafted file is really read
    assert not marker.exists()  # the command never ran


def test_a_malformed_bench_file_is_reported(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    bad = tmp_path / "cora.bench"
    bad.write_bytes(pickle.dumps({0: {"valid_perf": 0.5}}))
    monkeypatch.setattr(nbgraph, "_bench_file", lambda dataset: bad)
    with pytest.raises(DataError, match="lacks one of the fields"):
        nbgraph.load_bench.__wrapped__("cora")
    bad.write_bytes(pickle.dumps([1, 2]))
    with pytest.raises(DataError, match="expected a dict"):
        nbgraph.load_bench.__wrapped__("cora")
