"""nasarena's official-benchmark cache and oracles vs the official ``nas_201_api``: same file, same queries.

Run with ``pytest benchmarks/test_official_vs_api.py --benchmark-enable -s`` (benchmarks are disabled
by default in the project's pytest options). The file is a small NB201 v1_1-format file built with
the official classes (``tests/estimators/official/official_fixture.py``; no official file can be
downloaded here); the nasarena side is the cache ``nasarena data import-nb201`` writes from it.

Per-query: nasarena is timed by pytest-benchmark, the official API by ``timeit`` in the same test
and process, over the same query list; the ratio (goal >= 100x) goes into ``extra_info`` and is
printed. Pairs: ``OfficialCache.get_more_info`` vs ``get_more_info`` (identical calls and answers),
``oracle.evaluate`` vs ``get_more_info(hp='12', is_random=True)`` (the protocol's score alone) and vs
``simulate_train_eval`` (the official way to get score + cost), ``oracle.final_metric`` vs
``get_more_info(hp='200', is_random=False)['test-accuracy']``.

Load: each side in a fresh subprocess that reports wall/CPU seconds for the load and the peak RSS
(``ru_maxrss``, which includes the interpreter and imports) and RSS growth. The official API is
measured on the small file and its memory per architecture extrapolated (linearly, labelled as
such) to 15,625; nasarena is also measured on a synthetic cache of the full size (15,625 archs, 4
datasets, hp 12 with 1-2 seeds and hp 200 with 3 seeds; curve files full-size but sparse: loading
never reads them). Nothing asserts on time.
"""

from __future__ import annotations

import json
import random
import subprocess
import sys
import timeit
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from nasarena.estimators.official import NB201Oracle
from nasarena.estimators.official_cache import OfficialCache
from nasarena.estimators.official_import import SCALARS, CacheWriter, import_nb201
from nasarena.registry import load_object

ROOT = Path(__file__).resolve().parents[1]
FIXTURE = ROOT / "tests" / "estimators" / "official" / "official_fixture.py"
SHARED = ROOT.parent / "shared" / "data" / "nb201"
N_FILE_ARCHS = 16
DATASETS = ("cifar10-valid", "cifar10", "cifar100", "ImageNet16-120")


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The small official-format file, the official API over it, and the nasarena cache."""
    import torch
    from nas_201_api import NASBench201API

    if not SHARED.exists():
        pytest.skip(f"{SHARED} is needed to build the official-format file")
    tmp = tmp_path_factory.mktemp("official-bench")
    path = load_object(f"{FIXTURE}:write_nb201")(tmp, SHARED, n=N_FILE_ARCHS)
    api = NASBench201API(torch.load(path, map_location="cpu", weights_only=False), verbose=False)
    cache = import_nb201(path, tmp / "cache", trust=True).out
    return {"file": path, "api": api, "cache": cache, "tmp": tmp}


def _compare(benchmark: Any, name: str, ours: Any, theirs: Any, n_queries: int) -> None:
    """Benchmark ``ours`` (one pass over all queries), time ``theirs`` likewise, record the ratio."""
    benchmark.group = "official vs nas_201_api"
    benchmark.name = name
    theirs_s = min(timeit.repeat(theirs, number=1, repeat=5))
    benchmark(ours)
    if benchmark.stats is not None:
        ours_s = benchmark.stats.stats.median
    else:  # --benchmark-disable: one plain run, so time it ourselves
        ours_s = min(timeit.repeat(ours, number=1, repeat=5))
    ratio = theirs_s / ours_s
    benchmark.extra_info.update({"queries": n_queries, "api_us_per_query": theirs_s / n_queries * 1e6,
                                 "nasarena_us_per_query": ours_s / n_queries * 1e6, "ratio": ratio})
    print(f"\n{name}: nas_201_api {theirs_s / n_queries * 1e6:.1f} us/query, nasarena "
          f"{ours_s / n_queries * 1e6:.2f} us/query -> {ratio:.0f}x ({'meets' if ratio >= 100 else 'misses'} "
          f"the 100x goal)")


def test_get_more_info_same_calls(benchmark: Any, setup: dict[str, Any]) -> None:
    api, cache = setup["api"], OfficialCache(setup["cache"])
    queries = [(i, d, hp, r) for i in sorted(api.arch2infos_dict) for d in DATASETS for hp in ("12", "200")
               for r in (False, *api.arch2infos_dict[i][hp].get_dataset_seeds(d))]
    assert all(cache.get_more_info(*q[:2], hp=q[2], is_random=q[3]) == api.get_more_info(*q[:2], hp=q[2],
               is_random=q[3]) for q in queries)
    _compare(benchmark, "get_more_info (identical calls)",
             lambda: [cache.get_more_info(i, d, hp=hp, is_random=r) for i, d, hp, r in queries],
             lambda: [api.get_more_info(i, d, hp=hp, is_random=r) for i, d, hp, r in queries], len(queries))


@pytest.mark.parametrize("with_curve", [True, False])
@pytest.mark.parametrize("baseline", ["get_more_info", "simulate_train_eval"])
def test_oracle_evaluate(benchmark: Any, setup: dict[str, Any], baseline: str, with_curve: bool) -> None:
    api = setup["api"]
    oracle = NB201Oracle(dataset="cifar10", path=setup["cache"], with_curve=with_curve)
    archs = [oracle.space.from_string(api.meta_archs[i]) for i in sorted(api.arch2infos_dict)] * 20
    indices = [oracle.official_index(a) for a in archs]
    rng = np.random.default_rng(0)
    random.seed(0)
    if baseline == "get_more_info":
        def theirs() -> list[Any]:
            return [api.get_more_info(i, "cifar10-valid", hp="12", is_random=True)["valid-accuracy"]
                    for i in indices]
    else:
        def theirs() -> list[Any]:
            return [api.simulate_train_eval(i, "cifar10", hp="12") for i in indices]
    _compare(benchmark, f"oracle.evaluate(with_curve={with_curve}) vs {baseline}",
             lambda: [oracle.evaluate(a, None, rng) for a in archs], theirs, len(archs))


def test_final_metric(benchmark: Any, setup: dict[str, Any]) -> None:
    api = setup["api"]
    oracle = NB201Oracle(dataset="cifar10", path=setup["cache"])
    indices = sorted(api.arch2infos_dict) * 20
    archs = [oracle.space.from_string(api.meta_archs[i]) for i in indices]
    _compare(benchmark, "final_metric vs get_more_info(hp=200, is_random=False)",
             lambda: [oracle.final_metric(a) for a in archs],
             lambda: [api.get_more_info(i, "cifar10", hp="200", is_random=False)["test-accuracy"]
                      for i in indices], len(archs))


# ---- load time and RSS, fresh processes ------------------------------------------------------------
_CHILD = """
import json, sys, time, psutil
what, path = sys.argv[1], sys.argv[2]
if what == "api":
    import torch
    from nas_201_api import NASBench201API
else:
    from nasarena.estimators.official import NB201Oracle
    from nasarena.estimators.official_cache import OfficialCache
proc = psutil.Process()
rss0 = proc.memory_info().rss
t0, c0 = time.perf_counter(), time.process_time()
if what == "api":
    obj = NASBench201API(torch.load(path, map_location="cpu", weights_only=False), verbose=False)
elif what == "oracle":
    obj = NB201Oracle(dataset="cifar10", path=path)
else:  # every (dataset, hp) group of the cache, what the full official-API view needs
    obj = OfficialCache(path)
    for key in obj.settings():
        obj.group(*key)
dt, dc = time.perf_counter() - t0, time.process_time() - c0
# VmHWM: this process's own peak (ru_maxrss would include the pytest parent's, kept across exec)
hwm = int(open("/proc/self/status").read().split("VmHWM:")[1].split()[0])
print(json.dumps({"load_s": dt, "load_cpu_s": dc, "extra_rss_mb": (proc.memory_info().rss - rss0) / 2**20,
                  "rss_mb": proc.memory_info().rss / 2**20, "peak_rss_mb": hwm / 1024}))
"""


def _child(what: str, path: Path) -> dict[str, float]:
    out = subprocess.run([sys.executable, "-c", _CHILD, what, str(path)], check=True, capture_output=True,
                         text=True, cwd=ROOT)
    return json.loads(out.stdout.strip().splitlines()[-1])


def _full_size_cache(out: Path, rng: np.random.Generator) -> Path:
    """A synthetic cache with the full NB201 v1_1 shape (values random; only size matters here)."""
    from nasarena.spaces.nb201 import NB201Space

    space = NB201Space()
    archs = [space.to_string(space.from_index(i)) for i in range(space.size)]
    writer = CacheWriter(out, "nb201", archs)
    for dataset in DATASETS:
        for hp, seeds in (("12", 2 if dataset == "cifar10-valid" else 1), ("200", 3)):
            n = space.size * seeds
            cols: dict[str, Any] = {c: rng.random(n) * 100 for c in SCALARS}
            cols.update(arch_index=np.repeat(np.arange(space.size), seeds),
                        seed=np.tile([777, 888, 999][:seeds], space.size),
                        seed_pos=np.tile(np.arange(seeds), space.size), eval_names=["x-valid,ori-test"] * n)
            writer.add_group(dataset, hp, int(hp), cols)
    return writer.finish({"source_name": "synthetic-full-size", "sha256": "0" * 64, "hash_check": "n/a"})


@pytest.mark.parametrize("what", ["api-small-file", "oracle-small-cache", "oracle-full-size",
                                  "all-groups-full-size"])
def test_load_time_and_rss(benchmark: Any, setup: dict[str, Any], what: str) -> None:
    if what.endswith("full-size"):
        cache = setup["tmp"] / "full-size"
        if not cache.exists():
            _full_size_cache(cache, np.random.default_rng(0))
        kind, path = ("oracle" if what.startswith("oracle") else "groups"), cache
    elif what == "api-small-file":
        kind, path = "api", setup["file"]
    else:
        kind, path = "oracle", setup["cache"]
    results: list[dict[str, float]] = []
    benchmark.group = "load (fresh process)"
    benchmark.pedantic(lambda: results.append(_child(kind, path)), rounds=3, iterations=1)
    med = {k: float(np.median([r[k] for r in results])) for k in results[0]}
    benchmark.extra_info.update(med)
    line = (f"\n{what}: load {med['load_s']:.3f} s wall / {med['load_cpu_s']:.3f} s CPU, RSS "
            f"+{med['extra_rss_mb']:.1f} MB, peak RSS {med['peak_rss_mb']:.0f} MB (median of {len(results)} "
            f"processes)")
    if kind == "api":
        per_arch = med["extra_rss_mb"] / N_FILE_ARCHS
        benchmark.extra_info["extrapolated_full_rss_gb"] = per_arch * 15_625 / 1024
        line += (f"; {per_arch:.2f} MB per architecture -> ~{per_arch * 15_625 / 1024:.1f} GB for 15,625 "
                 f"(linear extrapolation)")
    print(line)
