"""TableOracle over CSV/Parquet tables (per-seed rows, fidelities, live caches) and FinalFromTable."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from nasarena.errors import ConfigError, DataError, UnknownNameError
from nasarena.estimators.base import FULL, Fidelity
from nasarena.estimators.table import FinalFromTable, TableOracle
from nasarena.registry import make_oracle
from nasarena.spaces.nb201 import NB201Space
from nasarena.spaces.nbgraph import NBGraphSpace

SPACE = NB201Space()
ARCHS = [SPACE.from_index(i) for i in (0, 1, 777, 9000, 15624)]


def live_cache_frame() -> pd.DataFrame:
    """A table shaped like live training's Parquet cache: 5 archs x 2 datasets x 2 fidelities x 3 seeds."""
    rows = []
    for a_i, arch in enumerate(ARCHS):
        for d_i, dataset in enumerate(("cifar10", "cifar100")):
            for epochs in (12, 200):
                for seed in (2, 0, 1):  # deliberately unsorted
                    base = 10 * a_i + d_i + epochs / 1000 + seed / 10
                    rows.append({"arch": SPACE.to_string(arch), "dataset": dataset,
                                 "fidelity": Fidelity(epochs=epochs).key(), "seed": seed, "score": base,
                                 "final": base + 50, "cost": epochs * (a_i + 1.0) + seed, "params": 0.1 * a_i,
                                 "flops": 10.0 * a_i, "curve": [base - 1.0, base]})
    return pd.DataFrame(rows)


@pytest.fixture
def cache(tmp_path: Path) -> Path:
    path = tmp_path / "live.parquet"
    live_cache_frame().to_parquet(path)
    return path


def test_serves_a_live_training_cache_with_default_columns(cache: Path) -> None:
    o = make_oracle("table", path=cache, dataset="cifar100")
    assert isinstance(o, TableOracle)
    assert o.fidelities == (Fidelity(epochs=12), Fidelity(epochs=200))  # cheapest first
    assert o.dataset == "cifar100" and o.datasets == ("cifar10", "cifar100")
    frame = live_cache_frame()
    frame = frame[frame.dataset == "cifar100"]
    by_key = {(r.arch, r.seed, r.fidelity): r for r in frame.itertuples()}
    rng = np.random.default_rng(0)
    for arch in ARCHS:
        for fid in (*o.fidelities, None):
            seen = set()
            for _ in range(60):
                ev = o.evaluate(arch, fid, rng)
                seed = int(ev.extras["seed"])
                seen.add(seed)
                row = by_key[(SPACE.to_string(arch), seed, (fid or o.fidelities[-1]).key())]
                assert (ev.score, ev.cost) == (row.score, row.cost)
                assert (ev.params, ev.flops) == (row.params, row.flops)
                assert ev.curve == tuple(row.curve) and ev.fidelity == (fid or Fidelity(epochs=200))
            assert seen == {0, 1, 2}  # every seed row gets drawn
        top = frame[(frame.arch == SPACE.to_string(arch)) & (frame.fidelity == "epochs=200")]
        assert o.final_metric(arch) == pytest.approx(top.final.mean(), abs=1e-12)
        assert o.params(arch) == top.params.iloc[0]
    assert o.best_final == pytest.approx(max(o.final_metric(a) for a in ARCHS))
    assert o.metric == "score" and o.final_metric_name == "final"


def test_draws_are_deterministic_given_the_generator(cache: Path) -> None:
    o = TableOracle(cache, dataset="cifar10")
    first = [o.evaluate(ARCHS[2], None, np.random.default_rng(9)) for _ in range(3)]
    again = [o.evaluate(ARCHS[2], None, np.random.default_rng(9)) for _ in range(3)]
    assert first == again
    r1, r2 = np.random.default_rng(4), np.random.default_rng(4)
    assert [o.evaluate(ARCHS[1], None, r1).score for _ in range(50)] == \
        [o.evaluate(ARCHS[1], None, r2).score for _ in range(50)]


def test_list_architectures_are_accepted(cache: Path) -> None:
    o = TableOracle(cache, dataset="cifar10")
    a = o.evaluate(list(ARCHS[1]), None, np.random.default_rng(3))
    assert a == o.evaluate(ARCHS[1], None, np.random.default_rng(3)) and a.arch == ARCHS[1]
    assert o.final_metric(list(ARCHS[1])) == o.final_metric(ARCHS[1])


def test_several_datasets_need_a_choice(cache: Path) -> None:
    with pytest.raises(ConfigError, match=r"several datasets \['cifar10', 'cifar100'\]"):
        TableOracle(cache)
    with pytest.raises(UnknownNameError, match="'cifar10', 'cifar100'"):
        TableOracle(cache, dataset="svhn")


def test_nb201_test_accuracy_csv_with_declared_columns(nb201_data: Path) -> None:
    path = nb201_data / "test_accuracy.csv"
    o = TableOracle(path, arch_column="arch_str", score_column="cifar10_test_acc_12ep_one_seed",
                    final_column="cifar10_test_acc_200ep_mean", fidelity="epochs=12", dataset="cifar10")
    frame = pd.read_csv(path)
    assert o.fidelities == (Fidelity(epochs=12),)
    rng = np.random.default_rng(1)
    for _, row in frame.iloc[::501].iterrows():
        arch = SPACE.from_string(row.arch_str)
        ev = o.evaluate(arch, None, rng)
        assert ev.score == row.cifar10_test_acc_12ep_one_seed
        assert ev.cost == 1.0 and math.isnan(ev.params) and "seed" not in ev.extras
        assert o.final_metric(arch) == row.cifar10_test_acc_200ep_mean
    assert o.best_final == pytest.approx(94.373, abs=1e-3)
    assert "constant 1 s" in o.describe()["cost"]
    assert len(o.archs()) == 15625


def test_final_defaults_to_the_seed_mean_of_the_score(tmp_path: Path) -> None:
    frame = live_cache_frame().drop(columns=["final"])
    frame = frame[frame.dataset == "cifar10"].drop(columns=["dataset"])
    frame.to_csv(tmp_path / "t.csv", index=False)
    o = TableOracle(tmp_path / "t.csv", constant_cost=5.0)
    assert o.final_metric_name == "score_seed_mean" and o.dataset == "t"
    top = frame[(frame.arch == SPACE.to_string(ARCHS[3])) & (frame.fidelity == "epochs=200")]
    assert o.final_metric(ARCHS[3]) == pytest.approx(top.score.mean(), abs=1e-12)
    # curves survive a CSV round trip
    assert o.evaluate(ARCHS[3], None, np.random.default_rng(0)).curve is not None


def test_missing_or_misnamed_columns_list_expected_and_found(tmp_path: Path) -> None:
    live_cache_frame().rename(columns={"score": "valid_acc"}).to_csv(tmp_path / "t.csv", index=False)
    with pytest.raises(DataError) as exc:
        TableOracle(tmp_path / "t.csv", arch_column="arch_string", dataset="cifar10")
    msg = str(exc.value)
    assert "arch_column='arch_string' (did you mean 'arch'?)" in msg
    assert "score_column='score'" in msg
    assert "Expected columns:" in msg
    assert "found columns: ['arch', 'dataset', 'fidelity', 'seed', 'valid_acc'" in msg
    # an optional column that is named explicitly must exist
    kw = {"score_column": "valid_acc", "dataset": "cifar10"}
    with pytest.raises(DataError, match="cost_column='train_time'"):
        TableOracle(tmp_path / "t.csv", cost_column="train_time", **kw)
    with pytest.raises(DataError, match=r"extra_columns\[0\]='latency'"):
        TableOracle(tmp_path / "t.csv", extra_columns=["latency"], **kw)
    o = TableOracle(tmp_path / "t.csv", extra_columns=["flops"], **kw)
    assert "flops" in o.evaluate(ARCHS[0], None, np.random.default_rng(0)).extras


def test_optional_columns_can_be_switched_off(cache: Path) -> None:
    o = TableOracle(cache, dataset="cifar10", cost_column=None, params_column=None, seed_column=None,
                    curve_column=None, constant_cost=2.5)
    ev = o.evaluate(ARCHS[0], None, np.random.default_rng(0))
    assert ev.cost == 2.5 and math.isnan(ev.params) and ev.curve is None and "seed" not in ev.extras


def test_missing_architecture_or_fidelity(cache: Path) -> None:
    o = TableOracle(cache, dataset="cifar10")
    absent = SPACE.from_index(5)
    with pytest.raises(DataError, match="no row for .*on_missing='fail'"):
        o.evaluate(absent, None, np.random.default_rng(0))
    with pytest.raises(DataError, match="no final metric"):
        o.final_metric(absent)
    with pytest.raises(ConfigError, match=r"offers fidelities \[epochs=12, epochs=200\]"):
        o.evaluate(ARCHS[0], Fidelity(epochs=50), np.random.default_rng(0))
    lenient = TableOracle(cache, dataset="cifar10", on_missing="fail")
    ev = lenient.evaluate(absent, None, np.random.default_rng(0))
    assert not ev.ok and math.isnan(ev.score) and "no row" in ev.error
    assert math.isnan(lenient.final_metric(absent))
    with pytest.raises(UnknownNameError, match="on_missing"):
        TableOracle(cache, dataset="cifar10", on_missing="skip")


def test_bad_architecture_string_names_the_row(tmp_path: Path) -> None:
    frame = live_cache_frame()
    frame.loc[3, "arch"] = frame.loc[3, "arch"].replace("none", "conv_7x7", 1)
    frame.to_parquet(tmp_path / "bad.parquet")
    with pytest.raises(DataError, match="row 3: .*unknown op 'conv_7x7'"):
        TableOracle(tmp_path / "bad.parquet", dataset="cifar10")


def test_integer_fidelities_are_epochs_and_full_sorts_last(tmp_path: Path) -> None:
    frame = pd.DataFrame({"arch": [SPACE.to_string(a) for a in ARCHS[:2]] * 3,
                          "fidelity": ["full", "full", "epochs=1", "epochs=1", "epochs=30", "epochs=30"],
                          "score": np.arange(6.0)})
    frame.to_csv(tmp_path / "f.csv", index=False)
    assert TableOracle(tmp_path / "f.csv").fidelities == (Fidelity(epochs=1), Fidelity(epochs=30), FULL)
    frame.assign(fidelity=[200, 200, 12, 12, 50, 50]).to_parquet(tmp_path / "f.parquet")
    assert TableOracle(tmp_path / "f.parquet").fidelities == tuple(Fidelity(epochs=e) for e in (12, 50, 200))


def test_unreadable_paths(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="no such table"):
        TableOracle(tmp_path / "absent.csv")
    (tmp_path / "t.xlsx").write_text("x")
    with pytest.raises(DataError, match="unknown table format"):
        TableOracle(tmp_path / "t.xlsx")


def test_other_spaces(tmp_path: Path) -> None:
    space = NBGraphSpace()
    archs = [space.from_string("0-0-1-2|gcn-gat-skip-fc"), space.from_string("0-1-2-3|gin-gin-sage-arma")]
    pd.DataFrame({"arch": [space.to_string(a) for a in archs], "score": [0.7, 0.8]}).to_csv(
        tmp_path / "g.csv", index=False)
    o = TableOracle(tmp_path / "g.csv", space="nbgraph")
    assert o.evaluate(archs[1], None, np.random.default_rng(0)).score == 0.8
    assert o.best_final == 0.8 and o.space.name == "nbgraph"


def test_final_from_table_wraps_another_oracle(nb201_data: Path) -> None:
    inner = make_oracle("nb201-lite", dataset="cifar100")
    o = FinalFromTable(inner, nb201_data / "test_accuracy.csv", "arch_str", "cifar100_test_acc_200ep_mean",
                       final_name="test_acc_200ep_seed_mean")
    arch = SPACE.from_index(1234)
    seen = o.evaluate(arch, None, np.random.default_rng(2))
    assert seen == inner.evaluate(arch, None, np.random.default_rng(2))
    frame = pd.read_csv(nb201_data / "test_accuracy.csv", index_col="arch_str")
    expected = frame.loc[SPACE.to_string(arch), "cifar100_test_acc_200ep_mean"]
    assert o.final_metric(arch) == expected
    assert o.best_final == pytest.approx(73.513, abs=1e-3)
    d = o.describe()
    assert d["final_metric"] == "test_acc_200ep_seed_mean" and "cifar100_test_acc_200ep_mean" in \
        d["final_metric_source"]
    assert o.fidelities == inner.fidelities and o.params(arch) == inner.params(arch)


def test_failed_rows_are_failed_evaluations_and_skipped_in_the_final(tmp_path: Path) -> None:
    frame = pd.DataFrame({"arch": [SPACE.to_string(ARCHS[0])] * 2 + [SPACE.to_string(ARCHS[1])],
                          "seed": [0, 1, 0], "score": [np.nan, 80.0, np.nan], "final": [np.nan, 70.0, np.nan],
                          "cost": [3.0, 4.0, 5.0]})
    frame.to_parquet(tmp_path / "f.parquet")
    o = TableOracle(tmp_path / "f.parquet")
    assert o.final_metric(ARCHS[0]) == 70.0 and math.isnan(o.final_metric(ARCHS[1]))
    assert o.best_final == 70.0
    ev = o.evaluate(ARCHS[1], None, np.random.default_rng(0))
    assert not ev.ok and math.isnan(ev.score) and ev.cost == 5.0 and "NaN" in ev.error
    draws = [o.evaluate(ARCHS[0], None, np.random.default_rng(s)) for s in range(20)]
    assert {d.ok for d in draws} == {True, False}


def test_non_numeric_columns_are_reported(tmp_path: Path) -> None:
    pd.DataFrame({"arch": [SPACE.to_string(ARCHS[0])], "score": ["high"]}).to_csv(tmp_path / "s.csv",
                                                                                 index=False)
    with pytest.raises(DataError, match="column 'score' must be numeric"):
        TableOracle(tmp_path / "s.csv")
