"""Oracle speed: per-query latency and table load time / extra RSS.

Run with ``pytest benchmarks/test_oracle_speed.py --benchmark-enable`` (the project's pytest options
disable benchmarks by default). Query latencies are compared with a baseline measured in the same
run: building the :class:`Evaluation` value itself, the floor of any oracle. Load time and extra RSS
are measured in a fresh subprocess each round, because tables are cached per process and a warm
cache would hide the cost; the subprocess reports its own figures (wall and CPU time, and RSS after
the imports versus after loading), so interpreter start-up is not counted; CPU time is the figure to
read on a shared, oversubscribed machine. Issue target: all three NB201
datasets in <= 1 s and <= 100 MB extra RSS; a query costs microseconds. The figures are recorded in
``extra_info`` (see ``--benchmark-json``) and printed; nothing here asserts on time.
"""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from nasarena.estimators.base import Evaluation, Fidelity
from nasarena.estimators.nb201_lite import NB201LiteOracle, load_table
from nasarena.estimators.nbgraph import NBGraphOracle
from nasarena.estimators.table import TableOracle
from nasarena.spaces.nb201 import NB201Space

N_ARCHS = 1024
FIDELITY = Fidelity(epochs=200)


def _cycle(archs: list[tuple[int, ...]]) -> itertools.cycle:
    return itertools.cycle(archs)


@pytest.fixture(scope="module")
def nb201_archs() -> list[tuple[int, ...]]:
    rng = np.random.default_rng(0)
    return [NB201Space().sample(rng) for _ in range(N_ARCHS)]


@pytest.fixture(scope="module")
def seed_table(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A per-seed Parquet shaped like live training's cache, from the nb201-lite cifar10-valid data."""
    import pandas as pd

    t = load_table("cifar10-valid")
    space = NB201Space()
    names = [space.to_string(a) for a in space.enumerate()]
    rows = {k: [] for k in ("arch", "dataset", "fidelity", "seed", "score", "final", "cost", "params")}
    for i, name in enumerate(names):
        for s in range(int(t.n_seeds[i])):
            for k, v in (("arch", name), ("dataset", "cifar10-valid"), ("fidelity", FIDELITY.key()),
                         ("seed", s), ("score", t.val_acc[i, s]), ("final", t.val_acc[i, s]),
                         ("cost", t.train_time[i, s]), ("params", t.model_size[i, s])):
                rows[k].append(v)
    path = tmp_path_factory.mktemp("bench") / "seeds.parquet"
    pd.DataFrame(rows).to_parquet(path)
    return path


def _query(benchmark, evaluate, archs) -> None:  # noqa: ANN001
    it = _cycle(archs)
    rng = np.random.default_rng(1)
    benchmark.group = "oracle query"
    benchmark(lambda: evaluate(next(it), None, rng))


def test_query_baseline_evaluation_value(benchmark, nb201_archs) -> None:  # noqa: ANN001
    """Floor: building the Evaluation value with a generator draw, without any table lookup."""
    def evaluate(arch, fidelity, rng):  # noqa: ANN001, ANN202
        s = int(rng.random() * 3)
        return Evaluation(arch=arch, fidelity=FIDELITY, score=90.0 + s, cost=1.0, params=1.0, flops=1.0,
                          extras={"latency": 0.0, "seed": float(s)})
    _query(benchmark, evaluate, nb201_archs)


def test_query_nb201_lite(benchmark, nb201_archs) -> None:  # noqa: ANN001
    _query(benchmark, NB201LiteOracle("cifar10-valid").evaluate, nb201_archs)


def test_query_table_per_seed_parquet(benchmark, nb201_archs, seed_table) -> None:  # noqa: ANN001
    _query(benchmark, TableOracle(seed_table).evaluate, nb201_archs)


def test_query_nas_bench_graph(benchmark) -> None:  # noqa: ANN001
    oracle = NBGraphOracle("cora")
    rng = np.random.default_rng(0)
    archs = [oracle.space.sample(rng) for _ in range(N_ARCHS)]
    for a in archs:  # the package's canonicalisation is paid once per architecture and memoised
        oracle.evaluate(a, None, rng)
    _query(benchmark, oracle.evaluate, archs)


# ---- load time and RSS in a fresh process --------------------------------------------------------
_CHILD = """
import json, sys, time, psutil
from nasarena.estimators.nb201_lite import NB201LiteOracle
from nasarena.estimators.nbgraph import NBGraphOracle, DATASETS
from nasarena.estimators.table import TableOracle
import pandas  # imported before the baseline so table loading is not charged for it
proc = psutil.Process()
rss0 = proc.memory_info().rss
t0, c0 = time.perf_counter(), time.process_time()
what = sys.argv[1]
if what == "nb201-lite":
    oracles = [NB201LiteOracle(d) for d in ("cifar10-valid", "cifar100", "ImageNet16-120")]
elif what == "nas-bench-graph":
    oracles = [NBGraphOracle(d) for d in DATASETS]
else:
    oracles = [TableOracle(sys.argv[2])]
dt, dc = time.perf_counter() - t0, time.process_time() - c0
print(json.dumps({"load_s": dt, "load_cpu_s": dc, "extra_rss_mb": (proc.memory_info().rss - rss0) / 2**20}))
"""


def _child(what: str, *args: str) -> dict[str, float]:
    out = subprocess.run([sys.executable, "-c", _CHILD, what, *args], check=True, capture_output=True,
                         text=True, cwd=Path(__file__).resolve().parents[1])
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("what", ["nb201-lite", "nas-bench-graph", "table"])
def test_load_time_and_extra_rss_in_a_fresh_process(benchmark, what: str, seed_table: Path) -> None:  # noqa: ANN001
    args = (str(seed_table),) if what == "table" else ()
    results: list[dict[str, float]] = []
    benchmark.group = "load (fresh process, incl. start-up)"
    benchmark.pedantic(lambda: results.append(_child(what, *args)), rounds=3, iterations=1)
    keys = ("load_s", "load_cpu_s", "extra_rss_mb")
    load, cpu, rss = (float(np.median([r[k] for r in results])) for k in keys)
    benchmark.extra_info.update({"load_s_median": load, "load_cpu_s_median": cpu, "extra_rss_mb_median": rss})
    print(f"\n{what}: load {load:.3f} s wall, {cpu:.3f} s CPU, extra RSS {rss:.1f} MB "
          f"(median of {len(results)} fresh processes)")
