"""asha, and continued promotions in hyperband / bohb (issue 9): rules, lineage, cost per bracket."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from nasarena.bench.config import Budget, RunConfig
from nasarena.bench.runner import run
from nasarena.estimators.base import Evaluation, Fidelity
from nasarena.registry import load_object
from nasarena.results import schema as S
from nasarena.spaces.nb201 import NB201Space
from nasarena.strategies.asha import ASHA

LINEAGE = str(Path(__file__).parents[1] / "bench" / "_lineage_fakes.py")
THREE = (Fidelity(epochs=1), Fidelity(epochs=3), Fidelity(epochs=9))


def test_asha_promotes_the_top_third_of_each_rung_asynchronously() -> None:
    s = ASHA(NB201Space(), np.random.default_rng(0), THREE, eta=3)
    asked = [s.ask() for _ in range(3)]
    assert all(p.fidelity == THREE[0] for p in asked)
    for p, score in zip(asked, (5.0, 9.0, 7.0), strict=True):
        s.tell(p, Evaluation(p.arch, p.fidelity, score, 1.0))
    promoted = s.ask()  # 3 results at rung 0: the best one goes up, not trained from scratch anew
    assert promoted.fidelity == THREE[1] and promoted.arch == asked[1].arch and promoted.kind == "fresh"
    nxt = s.ask()  # nothing else promotable (1 of 3 promoted): a new configuration
    assert nxt.fidelity == THREE[0] and nxt.arch not in {p.arch for p in asked}
    s.offer(frozenset({"continue"}))
    fails = [s.ask() for _ in range(2)]
    for p in fails:
        s.tell(p, Evaluation.failed(p.arch, p.fidelity, "x"))
    s.tell(nxt, Evaluation(nxt.arch, nxt.fidelity, 8.0, 1.0))  # 6 results: top 2 = 9 (done) and 8
    cont = s.ask()
    assert cont.kind == "continue" and cont.continues == nxt.id and cont.fidelity == THREE[1]
    assert s.config()["continued"] and s.config()["n_continued"] == 1


def _lineage_run(strategy: str, seed: int, **kwargs):
    oracle = load_object(f"{LINEAGE}:LineageOracle")()
    config = RunConfig(strategy, kwargs, f"{LINEAGE}:LineageOracle", {}, seed, Budget(max_evals=120))
    res = run(config, oracle)
    assert res.ok, res.error
    return res


@pytest.mark.parametrize("name", ["hyperband", "bohb", "asha"])
def test_promotions_continue_when_offered_and_pay_only_the_increment(name: str) -> None:
    on, off = _lineage_run(name, 0), _lineage_run(name, 0, continue_promotions=False)
    don, doff = on.trajectory, off.trajectory
    assert on.meta["strategy_config"]["continued"] and not off.meta["strategy_config"]["continued"]
    assert (doff[S.KIND] == "fresh").all() and (don[S.KIND] == "continue").any()
    cont = don[don[S.KIND] == "continue"]
    parents = don.set_index(S.PROPOSAL_ID).loc[cont[S.PARENT_ID]]
    assert (parents[S.ARCH].to_numpy() == cont[S.ARCH].to_numpy()).all()
    epochs = cont[S.FIDELITY].str.removeprefix("epochs=").astype(int).to_numpy()
    parent_epochs = parents[S.FIDELITY].str.removeprefix("epochs=").astype(int).to_numpy()
    assert (cont[S.COST].to_numpy() == epochs - parent_epochs).all()   # the increment only
    assert (cont[S.CUM_COST].to_numpy() == epochs).all()               # the lineage = straight training
    if name != "asha":
        c_on = on.meta["strategy_config"]["mean_bracket_cost"]
        c_off = off.meta["strategy_config"]["mean_bracket_cost"]
        assert c_on is not None and c_off is not None and c_on < c_off
    # the same budget of evaluations costs less simulated time
    assert don[S.COST].sum() < doff[S.COST].sum() and not math.isnan(don[S.INC_SCORE].iloc[-1])
