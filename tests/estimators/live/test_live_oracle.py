"""LiveOracle: the oracle contract on live training, failures, the cache and `nasarena tabulate`."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from nasarena.errors import ConfigError, DataError
from nasarena.estimators.base import FULL, Fidelity
from nasarena.estimators.live import oracle as oracle_mod
from nasarena.estimators.live.cli import tabulate
from nasarena.estimators.live.oracle import LiveOracle, parse_fidelities
from nasarena.registry import make_oracle
from nasarena.spaces.nb201_cost import params_and_flops

BEST = (3, 3, 3, 1, 3, 2)
LOW = Fidelity(epochs=1, channels=4, cells=1)
HIGH = Fidelity(epochs=2, channels=4, cells=1)


def _oracle(cache: Path | str, **kw) -> LiveOracle:
    args = {"dataset": "synthetic", "fidelities": [LOW, HIGH], "cache_dir": str(cache), "num_threads": 1,
            "batch_size": 32, "synthetic_train": 128, "synthetic_valid": 16, "synthetic_test": 16}
    return LiveOracle(**{**args, **kw})


def test_evaluate_reports_score_curve_cost_params_flops(tmp_path: Path) -> None:
    o = _oracle(tmp_path)
    assert o.fidelities == (LOW, HIGH) and math.isnan(o.best_final)
    ev = o.evaluate(BEST, HIGH, np.random.default_rng(0))
    assert ev.ok and ev.fidelity == HIGH
    assert ev.curve is not None and len(ev.curve) == 2 and ev.score == ev.curve[-1]
    assert ev.cost > 0 and ev.extras["cached"] == 0.0 and ev.extras["train_seconds"] == ev.cost
    p, f = params_and_flops(BEST, 10, 16, 4, 1)
    assert (ev.params, ev.flops) == (p, f)
    assert o.params(BEST) == p
    assert "final" not in ev.extras and "test" not in str(ev.extras)  # held-out metric stays hidden
    low = o.evaluate(BEST, LOW, np.random.default_rng(0))
    assert len(low.curve) == 1
    again = o.evaluate(BEST, None, np.random.default_rng(0))  # None -> highest fidelity, cached
    assert (again.fidelity, again.score, again.cost, again.extras["cached"]) == (HIGH, ev.score, ev.cost, 1.0)
    assert o.evaluate(BEST, FULL, np.random.default_rng(0)).fidelity == HIGH


def test_fidelity_knobs_reach_params_flops_and_training(tmp_path: Path) -> None:
    fids = [Fidelity(epochs=1, channels=4, cells=1, resolution=8, data_fraction=0.5),
            Fidelity(epochs=1, channels=6, cells=2)]
    o = _oracle(tmp_path, fidelities=fids)
    a = o.evaluate(BEST, fids[0], np.random.default_rng(0))
    b = o.evaluate(BEST, fids[1], np.random.default_rng(0))
    assert a.extras["resolution"] == 8 and a.extras["data_fraction"] == 0.5 and b.extras["resolution"] == 16
    assert (a.params, a.flops) == params_and_flops(BEST, 10, 8, 4, 1)
    assert (b.params, b.flops) == params_and_flops(BEST, 10, 16, 6, 2)
    with pytest.raises(ConfigError, match="offers fidelities"):
        o.evaluate(BEST, Fidelity(epochs=7), np.random.default_rng(0))


def test_cache_hit_returns_identical_result_without_training(tmp_path: Path, monkeypatch) -> None:
    first = _oracle(tmp_path).evaluate(BEST, HIGH, np.random.default_rng(1))
    files = list(tmp_path.rglob("*.parquet"))
    assert len(files) == 1

    trained = []

    def no_training(*args, **kwargs):
        trained.append(args[0])
        raise AssertionError("a cached key must not be trained again")

    monkeypatch.setattr(oracle_mod, "train_with_retry", no_training)
    second = _oracle(tmp_path).evaluate(BEST, HIGH, np.random.default_rng(1))  # a new process, same cache
    assert trained == [] and second.ok
    assert second.extras["cached"] == 1.0 and second.extras["train_seconds"] == 0.0
    assert (second.score, second.curve, second.cost, second.params) == (
        first.score, first.curve, first.cost, first.params)  # the clock is charged the measured cost
    # a different recipe is a different variant: this cache entry must not answer for it
    other = _oracle(tmp_path, lr=0.05).evaluate(BEST, HIGH, np.random.default_rng(1))
    assert trained == [BEST] and not other.ok


def test_failures_are_results_and_the_study_goes_on(tmp_path: Path, monkeypatch) -> None:
    o = _oracle(tmp_path, cache_dir="none")
    real = oracle_mod.train_with_retry

    def flaky(arch, *args, **kwargs):
        if arch == (2,) * 6:
            raise RuntimeError("simulated crash in one training")
        return real(arch, *args, **kwargs)

    monkeypatch.setattr(oracle_mod, "train_with_retry", flaky)
    bad = o.evaluate((2,) * 6, LOW, np.random.default_rng(0))
    assert not bad.ok and math.isnan(bad.score) and "RuntimeError: simulated crash" in bad.error
    assert not math.isnan(bad.params)
    good = o.evaluate(BEST, LOW, np.random.default_rng(0))
    assert good.ok


def test_diverged_training_is_a_failed_evaluation(tmp_path: Path) -> None:
    o = _oracle(tmp_path, lr=1e30)
    ev = o.evaluate(BEST, HIGH, np.random.default_rng(0))
    assert not ev.ok and math.isnan(ev.score) and "diverged" in ev.error and ev.cost > 0
    assert math.isnan(o.final_metric(BEST))


def test_final_metric_is_test_accuracy_at_the_final_fidelity(tmp_path: Path) -> None:
    o = _oracle(tmp_path)
    final = o.final_metric(BEST)  # trained on first use, off the study clock
    assert 0.0 <= final <= 100.0
    ev = o.evaluate(BEST, HIGH, np.random.default_rng(0))
    assert ev.extras["cached"] == 1.0  # the evaluation reuses that training (n_seeds=1, seed 0)
    assert o.final_metric(BEST) == final
    o2 = _oracle(tmp_path, final_fidelity="epochs=1,channels=4,cells=1")
    assert o2.final_fidelity == LOW and o2.describe()["final_fidelity"] == LOW.key()


def test_command_line_style_arguments(tmp_path: Path) -> None:
    o = make_oracle("live", dataset="synthetic", cache_dir=str(tmp_path), num_threads="1",
                    fidelities="epochs=1,channels=4,cells=1;epochs=2,channels=4,cells=1",
                    synthetic_train="64", synthetic_valid="16", synthetic_test="16", n_seeds="2", amp="auto")
    assert o.fidelities == (LOW, HIGH) and o.n_seeds == 2 and o.recipe.batch_size == 64
    assert parse_fidelities("epochs=3") == (Fidelity(epochs=3),)
    with pytest.raises(ConfigError, match="resolution"):
        _oracle(tmp_path, fidelities="epochs=1,resolution=32")  # synthetic default is 16px
    with pytest.raises(ConfigError, match="num_threads"):
        _oracle(tmp_path, num_threads="two")


def test_missing_cifar_is_reported_when_the_oracle_is_built(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="cifar-10-batches-py"):
        LiveOracle(dataset="cifar10", data_dir=tmp_path, cache_dir="none")


def test_tabulate_gives_a_table_the_table_oracle_serves(tmp_path: Path) -> None:
    from nasarena.estimators.table import TableOracle

    cache = tmp_path / "cache"
    o = _oracle(cache, n_seeds=2)
    evs = {}
    for arch in (BEST, (1,) * 6):
        for seed_rng in (0, 1, 2, 3):
            ev = o.evaluate(arch, HIGH, np.random.default_rng(seed_rng))
            evs[(arch, ev.extras["seed"])] = ev
        o.evaluate(arch, LOW, np.random.default_rng(0))
    out = tmp_path / "table.parquet"
    table = tabulate(cache, out)
    assert {"arch", "dataset", "fidelity", "seed", "score", "final", "cost", "params", "flops",
            "curve"} <= set(table.column_names)
    t = TableOracle(out)
    assert set(t.fidelities) == {LOW, HIGH} and t.dataset == "synthetic"
    ev_t = t.evaluate(BEST, HIGH, np.random.default_rng(0))
    live = evs[(BEST, ev_t.extras["seed"])]
    assert (ev_t.score, ev_t.cost, ev_t.params, ev_t.curve) == \
        (live.score, live.cost, live.params, live.curve)
    seeds = [k[1] for k in evs if k[0] == BEST]
    finals = [o._record(o._key(BEST, HIGH, int(s)))[0]["final"] for s in sorted(set(seeds))]
    assert t.final_metric(BEST) == pytest.approx(np.mean(finals))
    # a second recipe in the same cache must be chosen explicitly
    _oracle(cache, lr=0.05).evaluate(BEST, LOW, np.random.default_rng(0))
    with pytest.raises(ConfigError, match="several variants"):
        tabulate(cache, out)
    assert tabulate(cache, out, variant=o.variant).num_rows == table.num_rows


def test_tabulate_cli(tmp_path: Path, capsys) -> None:
    from nasarena.bench.cli import main

    cache = tmp_path / "c"
    _oracle(cache).evaluate(BEST, LOW, np.random.default_rng(0))
    assert main(["tabulate", str(cache), "--out", str(tmp_path / "t.parquet")]) == 0
    assert "wrote 1 rows" in capsys.readouterr().out
    assert main(["tabulate", str(tmp_path / "empty"), "--out", str(tmp_path / "u.parquet")]) == 2


def test_nasarena_run_with_the_live_oracle(tmp_path: Path) -> None:
    import pandas as pd

    from nasarena.bench.cli import main

    argv = ["run", "--oracle", "live", "--oracle-arg", "dataset=synthetic",
            "--oracle-arg", "fidelities=epochs=1,channels=4,cells=1,resolution=8;epochs=2,channels=4,cells=1,"
                            "resolution=8",
            "--oracle-arg", "synthetic_train=64", "--oracle-arg", "synthetic_valid=16",
            "--oracle-arg", "synthetic_test=16", "--oracle-arg", "batch_size=32",
            "--oracle-arg", "num_threads=1", "--oracle-arg", f"cache_dir={tmp_path / 'cache'}",
            "--strategies", "random,hyperband", "--seeds", "0", "--budget-evals", "3", "--jobs", "1",
            "--no-progress", "--out", str(tmp_path / "s")]
    assert main(argv) == 0
    runs = [pd.read_parquet(p) for p in (tmp_path / "s").rglob("*.parquet")]
    runs = [r for r in runs if "strategy" in r.columns]
    assert sorted(r["strategy"].iloc[0] for r in runs) == ["hyperband", "random"]
    for r in runs:
        assert len(r) == 3 and r["ok"].all() and (r["cost"] > 0).all()
        assert r["incumbent_final"].between(0, 100).all()
