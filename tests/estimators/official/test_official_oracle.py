"""The nb201 / nats-tss / nats-sss oracles reproduce the NB201 search protocol on the official numbers."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from nasarena.errors import ConfigError, DataError
from nasarena.estimators.base import Fidelity
from nasarena.estimators.official import NATSSizeOracle, NATSTopologyOracle, NB201Oracle
from nasarena.registry import make_oracle


def _archs(api: Any) -> list[int]:
    return sorted(api.arch2infos_dict)


def test_protocol_score_cost_and_final(nb201_api: Any, nb201_cache: Path,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    oracle = NB201Oracle(dataset="cifar10", path=nb201_cache)
    assert oracle.fidelities == (Fidelity(epochs=12),)
    space = oracle.space
    for index in _archs(nb201_api):
        arch = space.from_string(nb201_api.meta_archs[index])
        assert oracle.official_index(arch) == index
        # what the official API gives for each seed the oracle may draw
        expected = {}
        for seed in nb201_api.arch2infos_dict[index]["12"].get_dataset_seeds("cifar10-valid"):
            monkeypatch.setattr(random, "choice", lambda seq, s=seed: s)
            acc, _, cost, _ = nb201_api.simulate_train_eval(index, "cifar10", hp="12", account_time=False)
            expected[seed] = (acc, cost)
        rng = np.random.default_rng(index)
        seen = set()
        for _ in range(12):
            ev = oracle.evaluate(arch, None, rng)
            assert ev.ok and ev.fidelity == Fidelity(epochs=12)
            seed = int(ev.extras["seed"])
            assert (ev.score, ev.cost) == expected[seed]
            assert ev.curve is not None and len(ev.curve) == 12 and ev.curve[-1] == ev.score
            seen.add(seed)
        assert seen == set(expected)  # every seed can be drawn
        info = nb201_api.get_more_info(index, "cifar10", hp="200", is_random=False)
        assert oracle.final_metric(arch) == info["test-accuracy"]


def test_final_metric_is_the_real_seed_mean_and_best(nb201_api: Any, nb201_cache: Path,
                                                     nb201_data: Path) -> None:
    """Where the file has >= 2 seeds, seed means equal test_accuracy.csv's real 200-epoch means."""
    table = pd.read_csv(nb201_data / "test_accuracy.csv")
    for dataset, column in (("cifar10", "cifar10_test_acc_200ep_mean"),
                            ("cifar100", "cifar100_test_acc_200ep_mean"),
                            ("ImageNet16-120", "ImageNet16-120_test_acc_200ep_mean")):
        oracle = NB201Oracle(dataset=dataset, path=nb201_cache)
        checked = 0
        for index in _archs(nb201_api):
            arch = oracle.space.from_string(nb201_api.meta_archs[index])
            key = "x-test" if dataset != "cifar10" else "ori-test"
            assert key  # the split: ori-test for CIFAR-10 (train+valid), x-test otherwise
            assert oracle.final_metric(arch) == nb201_api.get_more_info(
                index, dataset, hp="200", is_random=False)["test-accuracy"]
            if len(nb201_api.arch2infos_dict[index]["200"].get_dataset_seeds(dataset)) >= 2:
                assert oracle.final_metric(arch) == pytest.approx(table[column][index], abs=1e-9)
                checked += 1
        assert checked >= 2
        finals = oracle.final_metrics()
        assert np.isfinite(finals).sum() == len(_archs(nb201_api))
        assert oracle.best_final == np.nanmax(finals)
    assert NB201Oracle(dataset="cifar10", path=nb201_cache).best_final == pytest.approx(94.373333)


def test_curve_fidelities_match_the_official_per_epoch_numbers(nb201_api: Any, nb201_cache: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    oracle = NB201Oracle(dataset="cifar100", path=nb201_cache, epochs=(200, 1, 12, 50))
    assert [f.epochs for f in oracle.fidelities] == [1, 12, 50, 200]
    index = _archs(nb201_api)[2]
    arch = oracle.space.from_string(nb201_api.meta_archs[index])
    for epochs, hp, iepoch in ((1, "200", 0), (50, "200", 49), (200, "200", None), (12, "12", None)):
        ev = oracle.evaluate(arch, Fidelity(epochs=epochs), np.random.default_rng(3))
        seed = int(ev.extras["seed"])
        info = nb201_api.get_more_info(index, "cifar100", iepoch=iepoch, hp=hp, is_random=seed)
        assert ev.score == info["valid-accuracy"]
        assert ev.cost == info["train-all-time"] + info["valid-per-time"]
        assert len(ev.curve) == epochs
    # None / Fidelity() mean the top; single-fidelity strategies search at the protocol's 12 epochs
    assert oracle.evaluate(arch, None, np.random.default_rng(0)).fidelity == Fidelity(epochs=200)
    assert oracle.evaluate(arch, Fidelity(), np.random.default_rng(0)).fidelity == Fidelity(epochs=200)
    assert oracle.search_fidelity == Fidelity(epochs=12)
    with pytest.raises(ConfigError, match="offers fidelities"):
        oracle.evaluate(arch, Fidelity(epochs=7), np.random.default_rng(0))
    with pytest.raises(ConfigError, match="epochs=300"):
        NB201Oracle(dataset="cifar100", path=nb201_cache, epochs=300)


def test_reproducible_missing_arch_and_costs(nb201_api: Any, nb201_cache: Path) -> None:
    oracle = make_oracle("nb201", dataset="ImageNet16-120", path=nb201_cache)
    index = _archs(nb201_api)[0]
    arch = oracle.space.from_string(nb201_api.meta_archs[index])
    a = oracle.evaluate(arch, None, np.random.default_rng(7))
    b = oracle.evaluate(arch, None, np.random.default_rng(7))
    assert a == b
    cost = nb201_api.get_cost_info(index, "ImageNet16-120", hp="12")
    assert (a.params, a.flops) == (cost["params"], cost["flops"])
    assert a.extras["latency"] == cost["latency"]
    missing = next(i for i in range(len(nb201_api)) if i not in nb201_api.arch2infos_dict)
    gone = oracle.space.from_string(nb201_api.meta_archs[missing])
    ev = oracle.evaluate(gone, None, np.random.default_rng(0))
    assert not ev.ok and "no ImageNet16-120" in ev.error and np.isnan(ev.score)
    assert np.isnan(oracle.final_metric(gone))


def test_budgets_and_description(nb201_cache: Path, tss_cache: Path) -> None:
    assert NB201Oracle(dataset="cifar10", path=nb201_cache).default_budget_seconds == 12_000
    budgets = {d: NATSTopologyOracle(dataset=d, path=tss_cache).default_budget_seconds
               for d in ("cifar10", "cifar100", "ImageNet16-120")}
    assert budgets == {"cifar10": 20_000, "cifar100": 40_000, "ImageNet16-120": 120_000}
    desc = NB201Oracle(dataset="cifar10-valid", path=nb201_cache).describe()
    assert desc["dataset"] == "cifar10" and desc["final_metric"] == "test_acc_200ep_seed_mean"
    assert len(desc["sha256"]) == 64 and desc["source"] == "NAS-Bench-201-v1_1-096897.pth"


def test_missing_or_wrong_cache_says_how_to_import(tmp_path: Path, nb201_cache: Path,
                                                   tss_cache: Path) -> None:
    with pytest.raises(DataError, match="nasarena data import-nb201 FILE --trust"):
        NB201Oracle(path=tmp_path / "nowhere")
    with pytest.raises(DataError, match="import-nats PATH --trust --space sss"):
        NATSSizeOracle(path=tmp_path)
    with pytest.raises(DataError, match="holds a nb201 cache"):
        NATSTopologyOracle(path=nb201_cache)
    with pytest.raises(DataError, match="holds a nats-tss cache"):
        NB201Oracle(path=tss_cache)


def test_default_path_is_the_import_default(nb201_cache: Path, tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    import shutil

    monkeypatch.setenv("NASARENA_CACHE", str(tmp_path))
    shutil.copytree(nb201_cache, tmp_path / "official" / "nb201")
    assert NB201Oracle().cache.path == tmp_path / "official" / "nb201"


def test_nats_topology_oracle(tss_api: Any, tss_cache: Path) -> None:
    oracle = NATSTopologyOracle(dataset="cifar100", path=tss_cache)
    for index in _archs(tss_api):
        arch = oracle.space.from_string(tss_api.meta_archs[index])
        ev = oracle.evaluate(arch, None, np.random.default_rng(index))
        info = tss_api.get_more_info(index, "cifar100", hp="12", is_random=int(ev.extras["seed"]))
        assert ev.score == info["valid-accuracy"]
        assert ev.cost == info["train-all-time"] + info["valid-per-time"]
        assert oracle.final_metric(arch) == tss_api.get_more_info(index, "cifar100", hp="200",
                                                                  is_random=False)["test-accuracy"]


def test_nats_size_oracle(sss_api: Any, sss_cache: Path) -> None:
    oracle = NATSSizeOracle(dataset="cifar10", path=sss_cache, epochs=(1, 12, 90, 45))
    assert oracle.space.size == 32_768
    assert [f.epochs for f in oracle.fidelities] == [1, 12, 45, 90]
    for index in _archs(sss_api):
        arch = oracle.space.from_string(sss_api.meta_archs[index])
        assert oracle.space.to_string(arch) == sss_api.meta_archs[index]
        for epochs, hp, iepoch in ((1, "01", None), (12, "12", None), (45, "90", 44), (90, "90", None)):
            ev = oracle.evaluate(arch, Fidelity(epochs=epochs), np.random.default_rng(index))
            info = sss_api.get_more_info(index, "cifar10-valid", iepoch=iepoch, hp=hp,
                                         is_random=int(ev.extras["seed"]))
            assert ev.score == info["valid-accuracy"]
            assert ev.cost == info["train-all-time"] + info["valid-per-time"]
        final = sss_api.get_more_info(index, "cifar10", hp="90", is_random=False)["test-accuracy"]
        assert oracle.final_metric(arch) == final
        # the cache's (official) params agree with the analytic size-space count
        assert oracle.params(arch) == pytest.approx(oracle.space.params_and_flops(arch, "cifar10")[0])


def test_runs_in_the_harness(nb201_cache: Path, tmp_path: Path) -> None:
    """A study through the CLI: architectures missing from this small file are failed evaluations."""
    from nasarena.bench.cli import main
    from nasarena.results.store import load_study

    out = tmp_path / "study"
    assert main(["run", "--oracle", "nb201", "--dataset", "cifar10", "--oracle-arg", f"path={nb201_cache}",
                 "--strategies", "random", "--seeds", "0", "--budget-evals", "20", "--jobs", "1",
                 "--no-progress", "--out", str(out)]) == 0
    study = load_study(out)
    assert list(study.runs["status"]) == ["ok"]
    assert study.runs["best_final"].iloc[0] == pytest.approx(94.373333)
    assert study.runs["final_metric"].iloc[0] == "test_acc_200ep_seed_mean"


def test_epochs_argument_forms_and_errors(nb201_cache: Path) -> None:
    """``--oracle-arg epochs=1,3,12`` reaches the oracle as the string "1,3,12"; lists work too."""
    for form in ("1,3,12", "[1, 3, 12]", [12, 3, 1], (1, 3, 12), "1 3 12"):
        oracle = NB201Oracle(path=nb201_cache, epochs=form)
        assert [f.epochs for f in oracle.fidelities] == [1, 3, 12], form
    assert NB201Oracle(path=nb201_cache, epochs="12").fidelities == (Fidelity(epochs=12),)
    for bad in ("1,x", "twelve", [1.5], 0, True, [], None):
        with pytest.raises(ConfigError, match="epochs=1,3,12,50,200") as err:
            NB201Oracle(path=nb201_cache, epochs=bad)
        assert "\n" not in str(err.value)


def test_search_fidelity_is_the_protocol_ladder_is_for_multi_fidelity(nb201_cache: Path,
                                                                     tmp_path: Path) -> None:
    """With epochs=1,3,12,50,200, single-fidelity strategies search at 12 epochs (the NB201 protocol)
    and Hyperband climbs the whole ladder; the description (and so the report) states both."""
    from nasarena.bench.cli import main
    from nasarena.results.store import load_study

    oracle = NB201Oracle(path=nb201_cache, epochs="1,3,12,50,200")
    assert oracle.search_fidelity == Fidelity(epochs=12) and oracle.fidelities[-1] == Fidelity(epochs=200)
    desc = oracle.describe()
    assert desc["search_fidelity"] == "epochs=12" and desc["fidelities"][-1] == "epochs=200"
    assert "at epochs=12 (single-fidelity" in desc["search_metric"] and "epochs 1, 3, 12, 50, 200" in \
        desc["search_metric"]
    assert NB201Oracle(path=nb201_cache, epochs="50,200").search_fidelity == Fidelity(epochs=200)  # no 12
    out = tmp_path / "study"
    assert main(["run", "--oracle", "nb201", "--dataset", "cifar10", "--oracle-arg", f"path={nb201_cache}",
                 "--oracle-arg", "epochs=1,3,12,50,200", "--strategies",
                 "regularized-evolution,random,hyperband", "--seeds", "0", "--budget-evals", "130",
                 "--jobs", "1", "--no-progress", "--out", str(out)]) == 0
    study = load_study(out)
    used = study.trajectories.groupby("strategy")["fidelity"].agg(set).to_dict()
    assert used["regularized-evolution"] == {"epochs=12"} and used["random"] == {"epochs=12"}
    assert {"epochs=1", "epochs=3"} <= used["hyperband"]
    hb = next(m for m in study.meta if m["config"]["strategy"] == "hyperband")
    assert hb["strategy_config"]["fidelities"] == [f"epochs={e}" for e in (1, 3, 12, 50, 200)]


def test_list_oracles_says_what_each_needs(capsys: pytest.CaptureFixture[str]) -> None:
    from nasarena.bench.cli import main

    assert main(["list", "oracles"]) == 0
    lines = {line.split(":")[0]: line for line in capsys.readouterr().out.splitlines()}
    assert "nasarena data import-nb201 FILE --trust" in lines["nb201"]
    assert "datasets: cifar10, cifar100, ImageNet16-120" in lines["nb201"]
    assert "epochs=1,3,12,50,200" in lines["nb201"] and "--space sss" in lines["nats-sss"]
    assert all("datasets:" in line for line in lines.values() if "not available" not in line)
