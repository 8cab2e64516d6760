"""The ``with-proxy`` oracle wrapper: an NB201 oracle plus zero-cost proxy scores as shared work, and
regularized evolution / random search using them through the runner (tiny proxy networks)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from nasarena.bench.config import Budget, RunConfig
from nasarena.bench.runner import run
from nasarena.errors import ConfigError, UnsupportedError
from nasarena.estimators.base import PROXY_WORK, SharedWork, proxy_key
from nasarena.estimators.oneshot.zerocost import ZeroCostOracle
from nasarena.registry import make_oracle

TINY = {"proxy_channels": 4, "proxy_cells": 1, "proxy_batch_size": 8, "proxy_resolution": 8,
        "proxy_threads": 1}
ARGS = {"base": "nb201-lite", "dataset": "cifar10-valid", "test_accuracy": True, **TINY}


@pytest.fixture(scope="module")
def oracle():
    return make_oracle("with-proxy", **ARGS)


def test_scores_are_the_zero_cost_oracles_and_everything_else_is_the_base(oracle) -> None:
    base = make_oracle("nb201-lite", dataset="cifar10-valid", test_accuracy=True)
    archs = [base.space.from_index(i) for i in (5, 777, 9000)]
    work = SharedWork(PROXY_WORK, 3, {"proxy": "naswot", "archs": [list(a) for a in archs]})
    ev = oracle.run_shared(work, np.random.default_rng(11))
    direct = ZeroCostOracle(proxy="naswot", channels=4, cells=1, batch_size=8, synthetic_resolution=8,
                            num_threads=1)
    rng = np.random.default_rng(11)  # one network seed per architecture, drawn in order
    expected = [direct.evaluate(a, None, rng).score for a in archs]
    got = [ev.extras[proxy_key(i)] for i in range(3)]
    assert all(x == y or (math.isnan(x) and math.isnan(y)) for x, y in zip(got, expected, strict=True))
    assert ev.ok and ev.arch is None and ev.cost > 0 and ev.score == max(x for x in expected if x == x)
    assert oracle.capabilities() == base.capabilities() | {"proxy", "shared"}
    assert oracle.space is oracle.base.space and oracle.space.name == "nb201"
    assert (oracle.dataset, oracle.fidelities, oracle.best_final) == \
        (base.dataset, base.fidelities, base.best_final)
    assert oracle.final_metric(archs[1]) == base.final_metric(archs[1])
    a = oracle.evaluate(archs[0], None, np.random.default_rng(3))
    b = base.evaluate(archs[0], None, np.random.default_rng(3))
    assert (a.score, a.cost) == (b.score, b.cost)
    described = oracle.describe()
    assert described["base_oracle"] == "nb201-lite" and "C=4, N=1" in described["proxy_scores"]


def test_other_shared_work_fails_as_a_result_and_bad_bases_are_refused(oracle) -> None:
    ev = oracle.run_shared(SharedWork("supernet", 1), np.random.default_rng(0))
    assert not ev.ok and "'proxy'" in ev.error and math.isnan(ev.score)
    with pytest.raises(ConfigError, match="NB201"):
        make_oracle("with-proxy", base="nas-bench-graph")
    with pytest.raises(ConfigError, match="channels"):
        make_oracle("with-proxy", base="nb201-lite", proxy_channels=0)


def _run(strategy: str, kw: dict, oracle: str = "with-proxy", args: dict | None = None, **budget):
    result = run(RunConfig(strategy, kw, oracle, ARGS if args is None else args, 0, Budget(**budget)))
    assert result.ok, result.error
    return result


def test_search_with_warmup_and_moves_charges_the_proxy_on_the_clock() -> None:
    result = _run("regularized-evolution", {"population_size": 3, "sample_size": 2, "zc_warmup": 10,
                                            "zc_moves": 3}, max_evals=14)
    tr = result.trajectory
    shared = tr[tr.kind == "shared"]
    assert len(shared) >= 3 and (shared.cost > 0).all() and (shared.arch == "").all()
    first = tr.iloc[0]
    assert first.kind == "shared" and first.fidelity.startswith("proxy,steps=10,archs=")
    assert tr.iloc[1].time == pytest.approx(first.cost + tr.iloc[1].cost)  # the warm-up is on the clock
    assert tr.time.iloc[-1] == pytest.approx(tr.cost.sum())
    assert result.meta["strategy_config"]["zc_scored"] == shared.fidelity.str.extract(
        r"steps=(\d+)")[0].astype(int).sum()
    assert tr[tr.kind == "fresh"].incumbent_final.notna().all()


def test_off_the_wrapper_is_transparent_and_an_oracle_without_scores_is_refused() -> None:
    plain_args = {"dataset": "cifar10-valid", "test_accuracy": True}
    for strategy in ("random", "regularized-evolution"):
        wrapped = _run(strategy, {}, max_evals=20).trajectory
        plain = _run(strategy, {}, "nb201-lite", plain_args, max_evals=20).trajectory
        cols = [c for c in plain.columns if c not in ("oracle", "run_id")]
        pd.testing.assert_frame_equal(wrapped[cols], plain[cols])
    with pytest.raises(UnsupportedError, match="'proxy'"):
        run(RunConfig("random", {"zc_warmup": 5}, "nb201-lite", plain_args, 0, Budget(max_evals=3)))
