"""The cache answers every query exactly as the official API does, for every architecture in the file.

Official side: ``nas_201_api.NASBench201API`` / ``nats_bench`` over small files in the official format
(see ``official_fixture``: real NB201 values where ../shared/data has them, synthetic curves).
nasarena side: :class:`OfficialCache` over the cache that ``nasarena data import-*`` wrote.
"""

from __future__ import annotations

import random
from typing import Any

import numpy as np
import pytest

from nasarena.estimators.official_cache import OfficialCache

FLAVOURS = {"nb201": ("nb201_api", "nb201_cache", ("12", "200")),
            "nats-tss": ("tss_api", "tss_cache", ("12", "200")),
            "nats-sss": ("sss_api", "sss_cache", ("01", "12", "90"))}
DATASETS = ("cifar10-valid", "cifar10", "cifar100", "ImageNet16-120")


@pytest.fixture(params=sorted(FLAVOURS))
def pair(request: pytest.FixtureRequest) -> tuple[Any, OfficialCache, tuple[str, ...]]:
    """(official API, nasarena cache, hp settings) for each flavour."""
    api_name, cache_name, hps = FLAVOURS[request.param]
    cache = OfficialCache(request.getfixturevalue(cache_name))
    assert cache.flavour == request.param
    return request.getfixturevalue(api_name), cache, hps


def _evaluated(api: Any) -> list[int]:
    return sorted(api.arch2infos_dict)


def _same(ours: dict[str, Any], theirs: dict[str, Any], where: str) -> None:
    assert set(ours) == set(theirs), f"{where}: keys {sorted(ours)} != {sorted(theirs)}"
    for key, value in theirs.items():
        assert ours[key] == value, f"{where}: {key}: {ours[key]!r} != {value!r}"  # exact, no tolerance
        assert type(ours[key] is None) is type(value is None)


Pair = tuple[Any, OfficialCache, tuple[str, ...]]


def test_get_more_info_every_arch_dataset_hp_and_seed(pair: Pair) -> None:
    api, cache, hps = pair
    n = 0
    for index in _evaluated(api):
        for hp in hps:
            for dataset in DATASETS:
                seeds = api.arch2infos_dict[index][hp].get_dataset_seeds(dataset)
                for is_random in (False, *seeds):
                    where = f"arch {index} {dataset} hp={hp} is_random={is_random}"
                    _same(cache.get_more_info(index, dataset, hp=hp, is_random=is_random),
                          api.get_more_info(index, dataset, hp=hp, is_random=is_random), where)
                    n += 1
    assert n >= 100


def test_get_more_info_per_epoch(pair: tuple[Any, OfficialCache, tuple[str, ...]]) -> None:
    api, cache, hps = pair
    hp = hps[-1]
    epochs = int(hp)
    for index in _evaluated(api)[:3]:
        for dataset in DATASETS:
            for iepoch in sorted({0, 1, epochs // 2, epochs - 1}):
                for is_random in (False, api.arch2infos_dict[index][hp].get_dataset_seeds(dataset)[0]):
                    _same(cache.get_more_info(index, dataset, iepoch=iepoch, hp=hp, is_random=is_random),
                          api.get_more_info(index, dataset, iepoch=iepoch, hp=hp, is_random=is_random),
                          f"arch {index} {dataset} iepoch={iepoch} seed={is_random}")
    with pytest.raises(ValueError):
        cache.get_more_info(_evaluated(api)[0], "cifar100", iepoch=epochs, hp=hp, is_random=False)


def test_get_cost_info_and_latency(pair: tuple[Any, OfficialCache, tuple[str, ...]]) -> None:
    api, cache, hps = pair
    for index in _evaluated(api):
        for hp in hps:
            for dataset in DATASETS:
                _same(cache.get_cost_info(index, dataset, hp=hp), api.get_cost_info(index, dataset, hp=hp),
                      f"cost arch {index} {dataset} hp={hp}")
                assert cache.get_latency(index, dataset, hp) == api.get_latency(index, dataset, hp)


def test_simulate_train_eval_and_time_accounting(pair: tuple[Any, OfficialCache, tuple[str, ...]],
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """Fix the official API's seed choice (random.choice) and ask nasarena for that seed."""
    api, cache, hps = pair
    api.reset_time()
    cache.reset_time()
    for index in _evaluated(api):
        for hp in hps:
            for dataset in ("cifar10", "cifar100", "ImageNet16-120"):
                run_ds = "cifar10-valid" if dataset == "cifar10" else dataset
                for seed in api.arch2infos_dict[index][hp].get_dataset_seeds(run_ds):
                    monkeypatch.setattr(random, "choice", lambda seq, s=seed: s)
                    theirs = api.simulate_train_eval(index, dataset, hp=hp)
                    ours = cache.simulate_train_eval(index, dataset, hp=hp, seed=seed)
                    assert ours == theirs, f"arch {index} {dataset} hp={hp} seed={seed}"
    assert cache.used_time == api.used_time > 0


def test_random_seed_draws_come_from_the_rng(nb201_api: Any, nb201_cache: Any) -> None:
    cache = OfficialCache(nb201_cache)
    index = _evaluated(nb201_api)[0]
    seeds = nb201_api.arch2infos_dict[index]["200"].get_dataset_seeds("cifar100")
    draws = {cache.get_more_info(index, "cifar100", hp="200", rng=np.random.default_rng(s))["test-accuracy"]
             for s in range(40)}
    wanted = {nb201_api.get_more_info(index, "cifar100", hp="200", is_random=s)["test-accuracy"]
              for s in seeds}
    assert draws == wanted
    with pytest.raises(ValueError, match="rng"):
        cache.get_more_info(index, "cifar100", hp="200")


def test_query_by_string_and_unknown_index(nb201_api: Any, nb201_cache: Any) -> None:
    cache = OfficialCache(nb201_cache)
    index = _evaluated(nb201_api)[1]
    text = nb201_api.meta_archs[index]
    assert cache.query_index_by_arch(text) == nb201_api.query_index_by_arch(text) == index
    assert cache.query_index_by_arch("|none~0|") == -1
    assert cache.get_more_info(text, "cifar10", hp="12", is_random=False) == \
        nb201_api.get_more_info(text, "cifar10", hp="12", is_random=False)
    missing = next(i for i in range(len(nb201_api)) if i not in nb201_api.arch2infos_dict)
    with pytest.raises(ValueError, match="no cifar10 runs"):
        cache.get_more_info(missing, "cifar10", hp="12", is_random=False)


@pytest.mark.parametrize("numpy_mean", [True, False])
def test_vectorised_seed_means_are_bit_identical(numpy_mean: bool) -> None:
    """The per-group seed means equal np.mean(list) / sum(list)/len(list) bit for bit, for 1..10 seeds."""
    from nasarena.estimators.official_cache import RunGroup

    rng = np.random.default_rng(0)
    counts = rng.integers(1, 11, size=3000)
    first = np.r_[0, np.cumsum(counts)[:-1]]
    values = rng.random(int(counts.sum())) * 100
    g = RunGroup("d", "200", 200, {"x": values}, [], first, counts, np.empty((0, 0, 0)))
    means = g.seed_mean("x", numpy_mean)
    for i, (f, k) in enumerate(zip(first, counts, strict=True)):
        seeds = [float(v) for v in values[f:f + k]]
        assert means[i] == (np.mean(seeds) if numpy_mean else sum(seeds) / len(seeds))


def test_numbers_are_python_floats_whatever_the_query(nb201_cache: Any) -> None:
    """The official API returns np.float64 for some queries and float for others; nasarena, float."""
    cache = OfficialCache(nb201_cache)
    index = 6111
    seed = cache.seeds(index, "cifar10-valid", "200")[0]
    for kw in ({"hp": "200", "is_random": False}, {"hp": "200", "is_random": seed},
               {"hp": "200", "is_random": False, "iepoch": 5}, {"hp": "12", "is_random": False, "iepoch": 3}):
        info = cache.get_more_info(index, "cifar10-valid", **kw)
        assert {type(v) for v in info.values()} <= {float, type(None)}, kw
    assert {type(v) for v in cache.get_cost_info(index, "cifar100", hp="200").values()} <= {float, type(None)}
    assert {type(v) for v in cache.simulate_train_eval(index, "cifar10", seed=seed)} == {float}
