"""bo: the GP's gradient and fit, fantasies for pending asks, failures, and that it searches well."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import optimize

from nasarena.errors import ConfigError
from nasarena.estimators.base import Evaluation, Fidelity
from nasarena.spaces.nb201 import NB201Space
from nasarena.strategies.bo import BayesianOptimization, HammingGP
from nasarena.strategies.conformance import SyntheticObjective
from nasarena.strategies.random_search import RandomSearch

FID = (Fidelity(epochs=200),)


def _data(n: int, seed: int = 0) -> tuple[HammingGP, np.ndarray, np.ndarray]:
    space = NB201Space()
    rng = np.random.default_rng(seed)
    archs = [space.sample(rng) for _ in range(n)]
    objective = SyntheticObjective(space)
    y = np.array([objective(a, FID[0]).score for a in archs])
    blocks = np.repeat(np.arange(6), space.cardinalities)
    return HammingGP(blocks, 6), space.encode_many(archs).astype(float), (y - y.mean()) / y.std()


def test_marginal_likelihood_gradient_matches_finite_differences() -> None:
    gp, x, y = _data(25)
    mismatch = 1 - np.stack([x[:, gp.blocks == j] @ x[:, gp.blocks == j].T for j in range(6)])
    theta = np.random.default_rng(3).normal(size=8) * 0.5
    err = optimize.check_grad(lambda t: gp._nll(t, mismatch, y)[0], lambda t: gp._nll(t, mismatch, y)[1],
                              theta)
    assert err < 1e-4 * max(1.0, np.linalg.norm(gp._nll(theta, mismatch, y)[1]))


def test_fitted_gp_predicts_held_out_architectures() -> None:
    gp, x, y = _data(150, seed=1)
    gp.fit_hyperparameters(x[:120], y[:120])
    gp.condition(x[:120], y[:120])
    mean, sd = gp.predict(x[120:])
    assert np.corrcoef(mean, y[120:])[0, 1] > 0.8  # the synthetic objective is nearly additive
    assert np.all(sd > 0)


def _best_after(strategy_cls: type, seed: int, n: int, **kw: object) -> float:
    space = NB201Space()
    objective = SyntheticObjective(space)
    s = strategy_cls(space, np.random.default_rng(seed), FID, **kw)
    best = -np.inf
    for _ in range(n):
        p = s.ask()
        ev = objective(p.arch, p.fidelity)
        s.tell(p, ev)
        best = max(best, ev.score)
    return best


def test_bo_beats_random_search_on_a_structured_objective() -> None:
    bo = [_best_after(BayesianOptimization, seed, 40) for seed in range(3)]
    rs = [_best_after(RandomSearch, seed, 40) for seed in range(3)]
    assert np.mean(bo) > np.mean(rs)


def test_pending_asks_get_fantasies_and_distinct_unseen_architectures() -> None:
    space = NB201Space()
    objective = SyntheticObjective(space)
    s = BayesianOptimization(space, np.random.default_rng(0), FID, n_init=5, acquisition="ucb")
    told = set()
    for _ in range(8):
        p = s.ask()
        s.tell(p, objective(p.arch, p.fidelity))
        told.add(p.arch)
    batch = [s.ask() for _ in range(6)]  # six outstanding: kriging believer must spread them
    archs = [p.arch for p in batch]
    assert len(set(archs)) == 6 and not set(archs) & told


def test_failed_evaluations_are_left_out_of_the_fit() -> None:
    space = NB201Space()
    s = BayesianOptimization(space, np.random.default_rng(0), FID, n_init=3)
    for i in range(10):
        p = s.ask()
        ok = Evaluation(p.arch, p.fidelity, 50.0 + i, 1.0)
        ev = Evaluation.failed(p.arch, p.fidelity, "x") if i % 2 else ok
        s.tell(p, ev)
    assert len(s._y) == 5 and not s._pending


def test_rejects_bad_hyperparameters() -> None:
    with pytest.raises(ConfigError, match="acquisition"):
        BayesianOptimization(NB201Space(), np.random.default_rng(0), FID, acquisition="pi")
