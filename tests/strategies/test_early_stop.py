"""Early stopping around any strategy, on an oracle with synthetic curves (tests/strategies/_curve_fakes.py;
the test data holds no real per-epoch curves)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from nasarena.bench.config import Budget, RunConfig
from nasarena.bench.runner import run
from nasarena.errors import ConfigError, UnknownNameError, UnsupportedError
from nasarena.estimators.base import Fidelity
from nasarena.registry import make_strategy
from nasarena.spaces.nb201 import NB201Space
from nasarena.strategies.early_stop import EarlyStopping

FAKES = str(Path(__file__).with_name("_curve_fakes.py"))
# Domhan's fast mode on three families, deciding every other epoch: the predictors themselves are
# tested in tests/estimators/curves; here only the wrapper's bookkeeping is.
FAST = {"mode": "fast", "family_names": ("pow3", "janoschek", "mmf"), "every": 2}


def curve_oracle(**kwargs):
    from nasarena.registry import load_object

    return load_object(f"{FAKES}:CurveOracle")(**kwargs)


def drive(strategy, oracle, n: int, seed: int = 0) -> list:
    from nasarena.registry import load_object

    return load_object(f"{FAKES}:drive")(strategy, oracle, n, seed)


def spy(strategy) -> list:
    """Record what the wrapped strategy is told."""
    told, tell = [], strategy.inner.tell
    strategy.inner.tell = lambda p, ev: (told.append(ev), tell(p, ev))
    return told


def wrapped(oracle, rule="median", seed=0, **kw) -> EarlyStopping:
    return EarlyStopping(oracle.space, np.random.default_rng(seed), oracle.fidelities, inner="random",
                         rule=rule, **kw)


@pytest.mark.parametrize(("rule", "kw"), [("median", {}), ("domhan", FAST),
                                          ("lcsvr", {"min_train": 4, "n_bootstrap": 3})])
def test_runner_continues_and_stops_trainings(rule, kw):
    oracle = curve_oracle()
    cfg = RunConfig(strategy=f"es-{rule}:random", strategy_kwargs=kw, oracle=f"{FAKES}:CurveOracle",
                    oracle_kwargs={}, seed=0, budget=Budget(max_time=400.0))
    result = run(cfg, oracle=oracle)
    assert result.ok, result.error
    s = result.meta["strategy_config"]
    assert s["trainings_stopped"] > 0 and s["trainings_completed"] > 0
    assert s["epochs_trained"] < s["epochs_if_trained_fully"]
    assert 0 < s["fraction_epochs_saved"] < 1
    traj = result.trajectory
    assert set(traj["kind"]) == {"fresh", "continue"}
    assert (traj.loc[traj["kind"] == "continue", "cost"] == 1.0).all()  # the increment only
    # the incumbent is always a training that ran to the end
    top = traj[traj["fidelity"] == f"epochs={oracle.fidelities[-1].epochs}"]
    assert set(traj["incumbent_arch"].dropna()) <= set(top["arch"])


def test_same_seed_same_first_proposal_as_the_plain_strategy():
    oracle = curve_oracle()
    plain = make_strategy("random", space=oracle.space, rng=np.random.default_rng(3),
                          fidelities=(oracle.fidelities[-1],))
    es = wrapped(oracle, seed=3)
    assert es.ask().arch == plain.ask().arch


@pytest.mark.parametrize("tell", ["predicted", "partial", "stopped"])
def test_what_the_wrapped_strategy_is_told(tell):
    oracle = curve_oracle()
    es = wrapped(oracle, rule="domhan", delta=0.2, tell=tell, **FAST)
    told = spy(es)
    drive(es, oracle, 100)
    stopped = [ev for ev in told if ev.extras.get("early_stopped")]
    done = [ev for ev in told if not ev.extras.get("early_stopped")]
    assert stopped and done
    assert all(ev.fidelity == oracle.fidelities[-1] for ev in done)
    for ev in stopped:
        epochs = int(ev.extras["stopped_at_epochs"])
        assert len(ev.curve) == epochs and ev.cost == pytest.approx(epochs)  # whole lineage's cost
        if tell == "stopped":
            assert not ev.ok and "stopped early" in ev.error
        elif tell == "partial":
            assert ev.score == ev.curve[-1]
        else:
            assert ev.score == pytest.approx(ev.extras["predicted"]) and ev.score != ev.curve[-1]
    assert es.config()["tell"] == tell


def test_deterministic_given_the_seed():
    a = drive(wrapped(curve_oracle(), rule="domhan", **FAST), curve_oracle(), 40)
    b = drive(wrapped(curve_oracle(), rule="domhan", **FAST), curve_oracle(), 40)
    key = [(p.arch, p.fidelity, p.continues) for p, _ in a]
    assert key == [(p.arch, p.fidelity, p.continues) for p, _ in b]


def test_refusals_name_the_problem():
    space, rng = NB201Space(), np.random.default_rng(0)
    with pytest.raises(UnsupportedError, match="epoch fidelities"):
        EarlyStopping(space, rng, (Fidelity(epochs=200),))
    with pytest.raises(UnsupportedError, match="epoch fidelities"):
        EarlyStopping(space, rng, (Fidelity(epochs=12, channels=8), Fidelity()))
    with pytest.raises(UnsupportedError, match="differ in epochs only"):
        EarlyStopping(space, rng, (Fidelity(epochs=1, data_fraction=0.5), Fidelity(epochs=3)))
    fids = (Fidelity(epochs=12), Fidelity(epochs=200))
    with pytest.raises(ConfigError, match="median rule predicts"):
        EarlyStopping(space, rng, fids, rule="median", tell="predicted")
    with pytest.raises(UnknownNameError, match="tell policy"):
        EarlyStopping(space, rng, fids, tell="nothing")
    with pytest.raises(UnsupportedError, match="full trainings"):
        EarlyStopping(space, rng, fids, inner="hyperband")


def test_runner_refuses_an_oracle_that_cannot_continue():
    cfg = RunConfig(strategy="es-median:random", strategy_kwargs={}, oracle=f"{FAKES}:CurveOracle",
                    oracle_kwargs={}, seed=0, budget=Budget(max_evals=5))
    try:
        result = run(cfg, oracle=curve_oracle(continues=False))
    except UnsupportedError as exc:  # the runner checks capabilities before any work
        message = str(exc)
    else:
        assert not result.ok
        message = result.error
    assert "requires 'continue'" in message


def test_without_curves_the_increment_scores_are_the_curve():
    oracle = curve_oracle(curves=False)  # one-epoch increments: the scores make the per-epoch curve
    es = wrapped(oracle)
    drive(es, oracle, 150)
    assert es.stats.stopped > 0 and es.stats.no_curve == 0
    coarse = EarlyStopping(oracle.space, np.random.default_rng(0), oracle.fidelities[4::5], rule="median")
    drive(coarse, oracle, 60)  # epochs 5, 10: no curve to decide on, every training runs to the end
    assert coarse.stats.stopped == 0 and coarse.stats.no_curve > 0 and coarse.stats.completed > 0


def test_config_is_recorded():
    oracle = curve_oracle()
    es = wrapped(oracle, rule="domhan", **FAST)
    drive(es, oracle, 30)
    cfg = es.config()
    assert cfg["inner"] == "random" and cfg["rule"]["predictor"] == "domhan" and cfg["rule"]["delta"] == 0.05
    assert cfg["overhead_charged"] is False and cfg["decisions"] > 0
    assert not math.isnan(cfg["mean_decision_ms"])


def test_study_grid_of_the_cli_flag():
    from nasarena.strategies.early_stop import with_early_stopping

    names, kw = with_early_stopping(("random", "bo"), {"bo": {"n_init": 5}}, "none,domhan", {"mode": "fast"})
    assert names == ("random", "es-domhan:random", "bo", "es-domhan:bo")
    assert kw == {"es-domhan:random": {"mode": "fast"}, "bo": {"n_init": 5},
                  "es-domhan:bo": {"mode": "fast", "inner_kwargs": {"n_init": 5}}}
    names, _ = with_early_stopping(("random",), {}, "median", {})
    assert names == ("es-median:random",)
    with pytest.raises(UnknownNameError, match="early-stopping rule"):
        with_early_stopping(("random",), {}, "freeze", {})


def test_cli_flag_builds_the_wrapped_study():
    import argparse

    from nasarena.bench import cli_run

    parser = argparse.ArgumentParser()
    cli_run.register(parser.add_subparsers())
    args = parser.parse_args(["run", "--oracle", "nb201", "--strategies", "random", "--seeds", "0",
                              "--budget-evals", "5", "--out", "x", "--early-stop", "none,median",
                              "--early-stop-arg", "min_curves=2", "--early-stop-arg", "charge_overhead=true"])
    study = cli_run.study_from_args(args)
    assert study.strategies == ("random", "es-median:random")
    assert study.strategy_kwargs["es-median:random"] == {"min_curves": 2, "charge_overhead": True}
    assert "random" not in study.strategy_kwargs  # the unwrapped strategy is not charged


def test_overhead_is_reported_once_and_charged_only_when_asked():
    oracle = curve_oracle()
    es = wrapped(oracle, charge_overhead=True)
    drive(es, oracle, 60)
    assert es.stats.decisions > 0 and es.config()["overhead_charged"] is True
    assert es.overhead_seconds() == es.stats.decision_seconds  # everything not yet reported
    assert es.overhead_seconds() == 0.0                        # and reset
    with pytest.raises(ConfigError, match="charge_overhead must be true or false"):
        wrapped(oracle, charge_overhead="sometimes")


@pytest.mark.parametrize("charge", [False, True])
def test_runner_charges_the_rule_time_only_with_charge_overhead(charge):
    kw = {"charge_overhead": True} if charge else {}
    cfg = RunConfig(strategy="es-median:random", strategy_kwargs=kw, oracle=f"{FAKES}:CurveOracle",
                    oracle_kwargs={}, seed=0, budget=Budget(max_evals=80))
    result = run(cfg, oracle=curve_oracle())
    assert result.ok, result.error
    df, meta = result.trajectory, result.meta
    costs = np.cumsum(df["cost"].to_numpy())
    assert meta["strategy_config"]["overhead_charged"] is charge
    if not charge:  # the clock is the sum of oracle costs, as without the option
        assert df["time"].tolist() == costs.tolist() and meta["overhead_charged_seconds"] == 0.0
    else:           # every decision reported before the last ask is on the clock
        assert 0.0 < meta["overhead_charged_seconds"] <= meta["strategy_config"]["decision_seconds"]
        assert df["time"].iloc[-1] == pytest.approx(costs[-1] + meta["overhead_charged_seconds"])
