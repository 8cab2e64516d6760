"""The runner: trajectory schema, incumbent bookkeeping, budgets, async workers, failures."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from nasarena.bench.config import Budget, RunConfig
from nasarena.bench.runner import DTYPES, run
from nasarena.errors import UnknownNameError
from nasarena.registry import STRATEGIES, load_object, make_oracle
from nasarena.results import schema as S

FAKES = str(Path(__file__).with_name("_fakes.py"))


def ref(name: str) -> str:
    """Registry reference to a test strategy/oracle in ``_fakes.py``."""
    return f"{FAKES}:{name}"


@pytest.fixture(scope="module")
def oracle():
    return make_oracle("nb201-lite", dataset="cifar10-valid")


def cfg(strategy: str = "Sampler", *, seed: int = 0, max_time: float | None = None,
        max_evals: int | None = 40, n_workers: int = 1, **kwargs) -> RunConfig:
    return RunConfig(strategy=ref(strategy), strategy_kwargs=kwargs, oracle="nb201-lite",
                     oracle_kwargs={"dataset": "cifar10-valid"}, seed=seed,
                     budget=Budget(max_time=max_time, max_evals=max_evals), n_workers=n_workers)


def test_trajectory_schema_and_incumbent(oracle):
    res = run(cfg(max_evals=60), oracle)
    df = res.trajectory
    assert res.status == "ok" and res.error is None
    assert tuple(df.columns) == S.COLUMNS
    assert {c: str(t) for c, t in df.dtypes.items()} == DTYPES
    assert df[S.EVAL_INDEX].tolist() == list(range(1, 61))
    assert (df[S.TIME].diff().dropna() > 0).all()
    assert np.allclose(df[S.TIME], df[S.COST].cumsum())  # sequential: the clock is the sum of costs
    assert (df[S.RUN_ID] == res.run_id).all() and (df[S.SEED] == 0).all()
    assert (df[S.DATASET] == "cifar10-valid").all() and (df[S.FIDELITY] == "epochs=200").all()
    # the incumbent is the best observed score so far, with its held-out metric, regret and params
    assert np.allclose(df[S.INC_SCORE], df[S.SCORE].cummax())
    space = oracle.space
    for row in df.itertuples(index=False):
        arch = space.from_string(getattr(row, S.INC_ARCH))
        assert getattr(row, S.INC_FINAL) == pytest.approx(oracle.final_metric(arch))
        assert getattr(row, S.INC_PARAMS) == pytest.approx(oracle.params(arch))
        assert getattr(row, S.INC_REGRET) == pytest.approx(oracle.best_final - oracle.final_metric(arch))
    last = df.iloc[-1]
    best = df.loc[df[S.SCORE].idxmax()]
    assert last[S.INC_ARCH] == best[S.ARCH]
    assert res.meta["oracle"]["final_metric"] == oracle.final_metric_name
    assert res.meta["versions"]["numpy"] == np.__version__ and res.meta["versions"]["python"]
    assert res.meta["config"] == res.config.to_dict() and res.meta["n_evals"] == 60


def test_same_seed_same_trajectory_and_seed_streams(oracle):
    a = run(cfg(seed=3), oracle).trajectory
    b = run(cfg(seed=3)).trajectory  # oracle built by the runner itself
    pd.testing.assert_frame_equal(a, b)
    c = run(cfg(seed=4), oracle).trajectory
    assert a[S.ARCH].tolist() != c[S.ARCH].tolist()
    # the strategy's generator is the first child of SeedSequence(seed)
    rng = np.random.default_rng(np.random.SeedSequence(3).spawn(2)[0])
    assert a[S.ARCH].iloc[0] == oracle.space.to_string(oracle.space.sample(rng))


def test_async_workers_semantics(oracle):
    horizon = 40 * 1800.0
    one = run(cfg(max_time=horizon, max_evals=None), oracle).trajectory
    four = run(cfg(max_time=horizon, max_evals=None, n_workers=4), oracle).trajectory
    assert set(four[S.WORKER]) == {0, 1, 2, 3}
    assert (four[S.TIME].diff().dropna() >= 0).all()  # rows in finishing order
    assert four[S.TIME].max() <= horizon and one[S.TIME].max() <= horizon
    assert len(four) > 3 * len(one)
    # each worker starts its next evaluation when its previous one finishes
    for _, g in four.groupby(S.WORKER):
        assert np.allclose(g[S.TIME].to_numpy(), g[S.COST].cumsum().to_numpy())


def test_async_ask_tell_order(oracle, monkeypatch):
    captured = {}
    factory = load_object(ref("Recorder"))

    def capture(**kw):
        captured["s"] = factory(**kw)
        return captured["s"]

    monkeypatch.setitem(STRATEGIES._entries, "test-recorder-capture", capture)
    config = RunConfig("test-recorder-capture", {}, "nb201-lite", {"dataset": "cifar10-valid"}, 1,
                       Budget(max_evals=12), n_workers=3)
    res = run(config, oracle)
    kinds = [e[0] for e in captured["s"].events]
    # every worker asks before any result; then each finished evaluation is told and its worker asks
    # again, until 12 evaluations are started (asks beyond could never be recorded)
    assert kinds == ["ask"] * 3 + ["tell", "ask"] * 9 + ["tell"] * 3
    assert len(res.trajectory) == 12
    told = [e[1] for e in captured["s"].events if e[0] == "tell"]
    order = res.trajectory.sort_values(S.TIME)
    assert len(set(told)) == 12 and order[S.EVAL_INDEX].tolist() == list(range(1, 13))


def test_budget_edges(oracle):
    base = run(cfg(max_evals=10), oracle).trajectory
    t5 = base[S.TIME].iloc[4]
    assert len(run(cfg(max_time=t5, max_evals=None), oracle).trajectory) == 5  # finishing at the limit counts
    assert len(run(cfg(max_time=t5 * (1 - 1e-9), max_evals=None), oracle).trajectory) == 4
    assert len(run(cfg(max_time=t5, max_evals=3), oracle).trajectory) == 3  # whichever comes first
    empty = run(cfg(max_time=1.0, max_evals=None), oracle)  # shorter than any training
    assert empty.status == "ok" and len(empty.trajectory) == 0 and empty.meta["stop_reason"] == "max_time"
    assert tuple(empty.trajectory.columns) == S.COLUMNS
    assert len(run(cfg(max_evals=1), oracle).trajectory) == 1
    assert len(run(cfg(max_evals=10, n_workers=4), oracle).trajectory) == 10
    with pytest.raises(Exception, match="max_time"):
        Budget()


def test_search_exhausted_ends_the_run(oracle):
    for workers in (1, 3):
        res = run(cfg("Finite", max_evals=100, n_workers=workers, n=5), oracle)
        assert res.status == "ok" and res.meta["stop_reason"] == "exhausted"
        assert len(res.trajectory) == 5


def test_strategy_that_raises_is_a_failed_run(oracle):
    res = run(cfg("Crashing", at=3), oracle)
    assert res.status == "failed" and not res.ok
    assert "Traceback" in res.error and "boom: deliberate failure" in res.error
    assert len(res.trajectory) == 3  # the rows finished before the failure are kept
    assert res.meta["stop_reason"] == "failed"


def test_invalid_proposal_fails_with_strategy_error(oracle):
    res = run(cfg("Invalid"), oracle)
    assert res.status == "failed"
    assert "StrategyError" in res.error and "invalid architecture" in res.error
    assert len(res.trajectory) == 1
    res = run(cfg("AnyFidelity"), oracle)
    assert res.status == "failed" and "offers [epochs=200]" in res.error


def test_unknown_strategy_name_lists_valid_ones(oracle):
    with pytest.raises(UnknownNameError, match="random"):
        run(RunConfig("no-such-strategy", {}, "nb201-lite", {}, 0, Budget(max_evals=1)), oracle)


def test_incumbent_prefers_highest_fidelity_and_skips_failures():
    oracle = load_object(ref("TwoFidelityOracle"))()
    config = RunConfig(ref("Alternating"), {}, ref("TwoFidelityOracle"), {}, 2, Budget(max_evals=40))
    df = run(config, oracle).trajectory
    assert set(df[S.FIDELITY]) == {"epochs=12", "epochs=200"}
    ok = df[S.OK]
    assert (~ok).any() and df.loc[~ok, S.SCORE].isna().all()
    first_full = df.index[(df[S.FIDELITY] == "epochs=200") & ok][0]
    before, after = df.loc[: first_full - 1], df.loc[first_full:]
    low_ok = before[S.OK]
    assert np.allclose(before.loc[low_ok, S.INC_SCORE], before.loc[low_ok, S.SCORE].cummax())
    full = after[S.SCORE].where((after[S.FIDELITY] == "epochs=200") & after[S.OK])
    assert np.allclose(after[S.INC_SCORE], full.cummax().ffill())  # 12-epoch scores (>= 90) never win again
    assert (after[S.INC_SCORE] < 90).all()
    inc = df[S.INC_ARCH].dropna()
    assert all(math.isclose(f, oracle.final_metric(oracle.space.from_string(a)))
               for a, f in zip(inc, df.loc[inc.index, S.INC_FINAL], strict=True))


def test_final_metric_is_read_only_for_incumbents():
    """The held-out metric can be expensive (live training): the runner asks for it only when an
    architecture becomes the incumbent, never for every proposal."""
    base = make_oracle("nb201-lite", dataset="cifar10-valid")
    asked: list[tuple] = []
    original = base.final_metric

    def counting(arch):
        asked.append(arch)
        return original(arch)

    base.final_metric = counting  # instance attribute shadows the method
    res = run(cfg(max_evals=80), base)
    df = res.trajectory
    changes = (df[S.INC_ARCH] != df[S.INC_ARCH].shift()).sum()
    assert 0 < len(asked) <= changes < len(df)
    assert set(map(base.space.to_string, asked)) == set(df[S.INC_ARCH].dropna())


def test_charged_strategy_overhead_shifts_each_start(oracle):
    """With ``charge_overhead`` the reported seconds go on the clock before each evaluation starts;
    without it (the default, and for every built-in strategy) the clock is the sum of oracle costs."""
    plain = run(cfg(max_evals=30), oracle).trajectory
    off = run(cfg("Overheady", max_evals=30, charge=False), oracle)
    on = run(cfg("Overheady", max_evals=30, overhead=0.25), oracle)
    assert on.ok and off.ok
    same = [S.ARCH, S.COST, S.SCORE, S.TIME]
    pd.testing.assert_frame_equal(off.trajectory[same], plain[same])  # reported but not charged: no change
    assert off.meta["overhead_charged_seconds"] == 0.0
    expected, t = [], 0.0
    for cost in plain[S.COST]:  # the runner's arithmetic: start = finish + overhead, finish = start + cost
        t = (t + 0.25) + cost
        expected.append(t)
    df = on.trajectory
    assert df[S.ARCH].tolist() == plain[S.ARCH].tolist() and df[S.COST].tolist() == plain[S.COST].tolist()
    assert df[S.TIME].tolist() == expected
    assert on.meta["overhead_charged_seconds"] == 30 * 0.25
    assert on.meta["sim_time"] == expected[-1]


def test_charged_overhead_must_be_seconds(oracle):
    res = run(cfg("Overheady", max_evals=5, overhead=-1.0), oracle)
    assert not res.ok and "non-negative finite seconds" in res.error
