"""optuna:<sampler>: every sampler runs through ask/tell, CMA-ES over the encoding, MO, failures."""

from __future__ import annotations

import numpy as np
import pytest
from optuna.distributions import CategoricalDistribution, FloatDistribution
from optuna.trial import TrialState

from nasarena.errors import UnknownNameError
from nasarena.estimators.base import Evaluation, Fidelity
from nasarena.registry import make_strategy
from nasarena.spaces.nb201 import NB201Space
from nasarena.strategies.conformance import SyntheticObjective, TinySpace
from nasarena.strategies.optuna_bridge import SAMPLERS, OptunaStrategy

FID = (Fidelity(epochs=200),)


def _drive(s: OptunaStrategy, n: int, outstanding: int = 1) -> list:
    objective = SyntheticObjective(s.space)
    out, pending = [], []
    for _ in range(n):
        while len(pending) < outstanding:
            pending.append(s.ask())
        p = pending.pop(0)
        s.tell(p, objective(p.arch, p.fidelity))
        out.append(p)
    return out


@pytest.mark.parametrize("sampler", sorted(set(SAMPLERS) - {"gp"}))
def test_every_sampler_runs_through_the_registry_family(sampler: str) -> None:
    kw = {"objectives": ("score", "params")} if sampler.startswith("nsga") else {}
    s = make_strategy(f"optuna:{sampler}", space=NB201Space(), rng=np.random.default_rng(0),
                      fidelities=FID, **kw)
    props = _drive(s, 25, outstanding=3)
    assert all(NB201Space().validate(p.arch) == p.arch for p in props)
    assert len({p.arch for p in props}) == len(props)  # dedupe: repeats are answered from memory
    assert s.study.trials[0].state == TrialState.COMPLETE


def test_gp_sampler_runs() -> None:
    s = OptunaStrategy(NB201Space(), np.random.default_rng(0), FID, sampler="gp",
                       sampler_options={"n_startup_trials": 2})
    assert len(_drive(s, 3)) == 3  # the third ask fits Optuna's GP (slow: seconds per fit)


def test_unknown_sampler_lists_the_valid_ones() -> None:
    with pytest.raises(UnknownNameError, match="'cmaes'.*'tpe'"):
        OptunaStrategy(NB201Space(), np.random.default_rng(0), FID, sampler="annealing")


def test_cmaes_searches_the_one_hot_encoding_others_the_categories() -> None:
    cma = OptunaStrategy(NB201Space(), np.random.default_rng(0), FID, sampler="cmaes")
    tpe = OptunaStrategy(NB201Space(), np.random.default_rng(0), FID, sampler="tpe")
    _drive(cma, 6)
    _drive(tpe, 3)
    dists = cma.study.trials[-1].distributions
    assert len(dists) == 30 and all(isinstance(d, FloatDistribution) for d in dists.values())
    assert all(isinstance(d, CategoricalDistribution) for d in tpe.study.trials[0].distributions.values())


def test_same_seed_same_proposals() -> None:
    a = [p.arch for p in _drive(OptunaStrategy(NB201Space(), np.random.default_rng(5), FID), 15)]
    b = [p.arch for p in _drive(OptunaStrategy(NB201Space(), np.random.default_rng(5), FID), 15)]
    assert a == b


def test_failures_are_told_as_failed_trials_and_multi_objective_values_are_recorded() -> None:
    s = OptunaStrategy(NB201Space(), np.random.default_rng(0), FID, sampler="nsga2",
                       objectives="score,params")
    p = s.ask()
    s.tell(p, Evaluation.failed(p.arch, p.fidelity, "boom"))
    q = s.ask()
    s.tell(q, Evaluation(q.arch, q.fidelity, score=90.0, cost=1.0, params=0.5))
    states = [t.state for t in s.study.trials]
    assert TrialState.FAIL in states and s.study.trials[-1].values == [90.0, 0.5]
    assert len(s.study.directions) == 2


def test_constrained_space_invalid_points_are_failed_and_reasked() -> None:
    s = OptunaStrategy(TinySpace(), np.random.default_rng(0), FID, sampler="random")
    props = _drive(s, 20)
    assert all(any(p.arch) for p in props)
