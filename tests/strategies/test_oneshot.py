"""One-shot strategies end to end on a tiny supernet (CPU, generated data, seconds).

Each registered method runs through the real runner against the ``supernet`` oracle: supernet epochs
are shared-work rows charged their measured seconds, and after each epoch the derived architecture is
the incumbent, reported in NB201's test accuracy (the harness reads it; the strategy never does).
"""

from __future__ import annotations

import hashlib
import json
import math
from pathlib import Path

import numpy as np
import pytest

import nasarena.bench.cli as cli
from nasarena.bench.config import Budget, RunConfig
from nasarena.bench.runner import run
from nasarena.errors import ConfigError, StrategyError, UnsupportedError
from nasarena.estimators.base import SharedWork
from nasarena.estimators.nb201_lite import NB201LiteOracle
from nasarena.estimators.oneshot.oracle import SupernetOracle
from nasarena.results import schema as S
from nasarena.results.store import load_study

EPOCHS = 2
TINY = {
    "dataset": "synthetic",
    "epochs": EPOCHS,
    "channels": 4,
    "cells": 1,
    "synthetic_train": 96,
    "synthetic_valid": 8,
    "synthetic_test": 8,
    "score_images": 32,
    "num_threads": 1,
}
SMALL = {"batch_size": 16}
KWARGS = {
    "darts": SMALL,
    "gdas": SMALL,
    "rsps": {**SMALL, "candidates": 6},
    "setn": {**SMALL, "candidates": 6},
    "enas": {**SMALL, "candidates": 4, "controller_samples": 3, "weight_samples": 3},
}


#: sha256[:16] of each method's rows (kind, arch, fidelity, score to 4 decimals, incumbent) at TINY,
#: seed 0, recorded on main before the weight-step modes were named (uniform / controller as modes of
#: their own, issue 14): naming them must not change any search.
RECORDED = {
    "darts": "edc5dda807c7127e",
    "darts2": "d1ed89baea47b691",
    "enas": "dce2baa75d8b6198",
    "gdas": "1c88275e9292c30b",
    "rsps": "b98a0f203e7d5e85",
    "setn": "a80f166213654ef4",
}
MODES = {"darts": "joint", "gdas": "gumbel", "rsps": "uniform", "setn": "sampled", "enas": "controller"}


def rows_hash(t) -> str:
    """The recorded fingerprint of a trajectory (what a search did, not its measured seconds)."""
    rows = [
        [k, a, f, round(float(s), 4), i]
        for k, a, f, s, i in zip(t[S.KIND], t[S.ARCH], t[S.FIDELITY], t[S.SCORE], t[S.INC_ARCH], strict=True)
    ]
    return hashlib.sha256(json.dumps(rows).encode()).hexdigest()[:16]


@pytest.fixture(scope="module")
def oracle() -> SupernetOracle:
    return SupernetOracle(**TINY)


@pytest.fixture(scope="module")
def table() -> NB201LiteOracle:
    return NB201LiteOracle("cifar10-valid", test_accuracy=True)


def _run(name: str, oracle: SupernetOracle, seed: int = 0, **extra: object):
    cfg = RunConfig(name, {**KWARGS[name], **extra}, "supernet", TINY, seed, Budget(max_evals=10_000))
    result = run(cfg, oracle)
    assert result.ok, result.error
    return result


@pytest.mark.parametrize("name", sorted(KWARGS))
def test_method_runs_end_to_end(name: str, oracle: SupernetOracle, table: NB201LiteOracle) -> None:
    result = _run(name, oracle)
    t = result.trajectory
    shared = t[t[S.KIND] == "shared"]
    assert len(shared) == EPOCHS
    assert (shared[S.COST] > 0).all() and (shared[S.ARCH] == "").all()
    assert shared[S.FIDELITY].str.startswith("supernet,steps=1").all()
    assert shared[S.FIDELITY].str.contains(f"method={name}").all()
    record = result.meta["strategy_config"]
    assert record["method"] == name and record["epochs"] == EPOCHS
    assert record["weight_mode"] == MODES[name]
    assert rows_hash(t) == RECORDED[name]  # the same search as before the modes were named
    assert (record["w_lr"], record["a_lr"], record["a_beta1"], record["momentum"]) == (0.025, 3e-4, 0.5, 0.9)
    per_epoch = record["per_epoch"]
    assert [e["epoch"] for e in per_epoch] == list(range(1, EPOCHS + 1))
    for entry in per_epoch:
        assert 0.0 <= entry["param_free_share"] <= 1.0 and entry["supernet_seconds"] > 0
    # after each epoch the derived architecture is the incumbent, scored at fidelity epochs=k
    for k in range(1, EPOCHS + 1):
        first_after = t.index[(t[S.KIND] == "shared")][k - 1]
        later = t.loc[first_after + 1 :]
        rows = later[later[S.FIDELITY] == f"epochs={k}"]
        assert len(rows) >= 1
        last = rows.iloc[-1]
        assert last[S.INC_ARCH] == per_epoch[k - 1]["derived"]
        arch = oracle.space.from_string(last[S.INC_ARCH])
        assert last[S.INC_FINAL] == pytest.approx(table.final_metric(arch))
    # the clock is the sum of the measured costs (one worker)
    assert t[S.TIME].iloc[-1] == pytest.approx(t[S.COST].sum())


def test_argmax_methods_score_one_architecture_per_epoch(oracle: SupernetOracle) -> None:
    t = _run("darts", oracle).trajectory
    assert list(t[S.KIND]) == ["shared", "fresh"] * EPOCHS


def test_candidate_methods_pick_the_best_supernet_score(oracle: SupernetOracle) -> None:
    result = _run("rsps", oracle)
    t = result.trajectory
    last_epoch = t[t[S.FIDELITY] == f"epochs={EPOCHS}"]
    assert len(last_epoch) == 6
    best = last_epoch.loc[last_epoch[S.SCORE].idxmax()]
    assert (
        result.meta["strategy_config"]["per_epoch"][-1]["derived"] == best[S.ARCH] == t[S.INC_ARCH].iloc[-1]
    )


def test_same_seed_same_search(oracle: SupernetOracle) -> None:
    a, b = _run("gdas", oracle, seed=3).trajectory, _run("gdas", oracle, seed=3).trajectory
    assert list(a[S.ARCH]) == list(b[S.ARCH])
    assert np.allclose(a[S.SCORE], b[S.SCORE])
    c = _run("gdas", oracle, seed=4).trajectory
    assert list(a[S.ARCH]) != list(c[S.ARCH]) or not np.allclose(a[S.SCORE], c[S.SCORE])


def test_one_shot_strategy_is_refused_by_a_table_before_any_work() -> None:
    cfg = RunConfig("darts", {}, "nb201-lite", {"dataset": "cifar10-valid"}, 0, Budget(max_evals=5))
    with pytest.raises(UnsupportedError, match="supernet"):
        run(cfg)


def test_oracle_refuses_epochs_out_of_order_and_changed_settings(oracle: SupernetOracle) -> None:
    rng = np.random.default_rng(0)
    params = {"method": "darts", "batch_size": 16}
    oracle.run_shared(SharedWork("supernet", 1, {**params, "epoch": 1}), rng)
    with pytest.raises(StrategyError, match="trained 1 epoch"):
        oracle.run_shared(SharedWork("supernet", 1, {**params, "epoch": 3}), rng)
    with pytest.raises(StrategyError, match="changes the search settings"):
        oracle.run_shared(SharedWork("supernet", 1, {**params, "epoch": 2, "w_lr": 0.1}), rng)
    with pytest.raises(ConfigError, match="unknown setting"):
        oracle.run_shared(SharedWork("supernet", 1, {**params, "epoch": 1, "lr": 0.1}), rng)
    other = oracle.run_shared(SharedWork("conformance", 1), rng)
    assert not other.ok and other.arch is None and "supernet" in other.error


def test_shared_work_tells_the_logits_and_scores_are_accuracies(oracle: SupernetOracle) -> None:
    rng = np.random.default_rng(1)
    ev = oracle.run_shared(SharedWork("supernet", 1, {"method": "darts", "batch_size": 16, "epoch": 1}), rng)
    alphas = [ev.extras[f"alpha:{e}:{o}"] for e in range(6) for o in range(5)]
    assert all(math.isfinite(a) for a in alphas) and max(map(abs, alphas)) > 1e-6
    arch = (3, 3, 3, 3, 3, 3)
    s = oracle.evaluate(arch, oracle.fidelities[0], rng)
    assert 0.0 <= s.score <= 100.0 and s.cost > 0 and s.extras["supernet_epochs"] == 1.0
    assert oracle.evaluate(arch, oracle.fidelities[0], rng).score == s.score  # no training in between


def test_cli_runs_darts_on_the_generated_dataset(tmp_path: Path) -> None:
    args = [
        "run",
        "--strategies",
        "darts",
        "--oracle",
        "supernet",
        "--seeds",
        "0",
        "--budget-evals",
        "100",
        "--out",
        str(tmp_path / "study"),
        "--jobs",
        "1",
        "--no-progress",
        "--strategy-arg",
        "darts.batch_size=16",
    ]
    for k, v in TINY.items():
        args += ["--oracle-arg", f"{k}={v}"]
    assert cli.main(args) == 0
    study = load_study(tmp_path / "study")
    t = study.trajectories
    assert list(t[S.KIND]) == ["shared", "fresh"] * EPOCHS
    assert t[S.INC_FINAL].notna().iloc[-1]


def test_second_order_darts_runs_and_is_recorded(oracle: SupernetOracle) -> None:
    result = _run("darts", oracle, order=2)
    t = result.trajectory
    assert t[t[S.KIND] == "shared"][S.FIDELITY].str.contains("method=darts2").all()
    assert result.meta["strategy_config"]["order"] == 2
    assert result.meta["strategy_config"]["weight_mode"] == "joint" and rows_hash(t) == RECORDED["darts2"]
    from nasarena.strategies.oneshot.darts import DARTS

    with pytest.raises(ConfigError, match="order must be 1"):
        DARTS(oracle.space, np.random.default_rng(0), oracle.fidelities, order=3)


def test_an_invalid_argmax_becomes_the_nearest_member_not_a_random_sample() -> None:
    """A macro chain whose argmax strides downsample three times (max_reductions=2): the pick keeps
    every other argmax choice and gives up the stride with the smallest logit margin."""
    from nasarena.estimators.base import Fidelity
    from nasarena.registry import make_space
    from nasarena.strategies.oneshot.darts import DARTS

    space = make_space("chain", max_layers=3)
    strategy = DARTS(space, np.random.default_rng(0), (Fidelity(epochs=1),))
    wanted = list(space.from_string("conv3x3:16:s2/conv3x3:32:s2/conv5x5:64:s1"))
    stride3 = next(i for i, d in enumerate(space.decisions) if d.name == "stride3")
    wanted[stride3] = 1  # a third 's2': not a member of the space
    for d, v in enumerate(wanted):
        strategy.logits[d][:] = 0.0
        strategy.logits[d][v] = 3.0
    strategy.logits[stride3][:] = [2.5, 3.0]  # stride 1 of layer 3 is nearly as likely as 2
    strategy.per_epoch.append({"epoch": 1})
    pick = strategy.argmax()
    assert space.to_string(pick) == "conv3x3:16:s2/conv3x3:32:s2/conv5x5:64:s1"
    assert strategy.per_epoch[-1]["repaired_decisions"] == 1
    # a valid argmax is returned as is, with no repair recorded
    strategy.logits[stride3][:] = [3.0, 0.0]
    strategy.per_epoch.append({"epoch": 2})
    assert space.to_string(strategy.argmax()) == "conv3x3:16:s2/conv3x3:32:s2/conv5x5:64:s1"
    assert "repaired_decisions" not in strategy.per_epoch[-1]
