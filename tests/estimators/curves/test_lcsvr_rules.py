"""LCSVR, the probability rule and the median stopping rule (synthetic curves: the test data has no
real per-epoch curves; see nasarena.estimators.curves.synthetic)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from nasarena.errors import ConfigError, UnknownNameError
from nasarena.estimators.curves import MedianStoppingRule, ProbabilityRule, make_rule
from nasarena.estimators.curves.lcsvr import LCSVRPredictor, curve_features
from nasarena.estimators.curves.predictive import Predictive
from nasarena.estimators.curves.synthetic import synthetic_curve

EPOCHS = 30


def curves(n: int, seed: int) -> list[tuple[np.ndarray, float]]:
    rng = np.random.default_rng(seed)
    return [synthetic_curve(rng, EPOCHS, noise=0.3) for _ in range(n)]


def test_curve_features_are_values_and_differences():
    f = curve_features(np.array([1.0, 2.0, 4.0]))
    np.testing.assert_array_equal(f, [1, 2, 4, 1, 2, 1])


def test_lcsvr_needs_finished_curves_then_ranks_held_out_ones():
    p = LCSVRPredictor(min_train=8)
    rng = np.random.default_rng(0)
    train, test = curves(40, 1), curves(15, 2)
    assert p.predict(train[0][0][:10], EPOCHS, rng) is None
    for y, _ in train:
        p.observe(y)
    preds = [p.predict(y[:10], EPOCHS, rng) for y, _ in test]
    assert all(isinstance(q, Predictive) for q in preds)
    rho = stats.spearmanr([q.mean for q in preds], [y[-1] for y, _ in test]).statistic
    assert rho > 0.8
    assert all(q.std > 0 for q in preds)


def test_lcsvr_uses_architecture_features():
    # Curves of architectures with feature 1 gain 20 points after epoch 10, invisible in the prefix.
    p = LCSVRPredictor(min_train=8, n_bootstrap=5)
    rng = np.random.default_rng(4)
    late = np.r_[np.zeros(10), np.linspace(1.0, 20.0, EPOCHS - 10)]
    for i in range(40):
        y, _ = synthetic_curve(rng, EPOCHS, noise=0.3)
        p.observe(y + late * (i % 2), features=[float(i % 2)])
    probe, _ = synthetic_curve(rng, EPOCHS, noise=0.3)
    good = p.predict(probe[:10], EPOCHS, rng, features=[1.0])
    bad = p.predict(probe[:10], EPOCHS, rng, features=[0.0])
    assert good.mean - bad.mean > 5


@pytest.mark.parametrize("kwargs", [{"nu": 0.0}, {"n_bootstrap": 1}, {"min_train": 2}])
def test_lcsvr_bad_settings(kwargs):
    with pytest.raises(ConfigError):
        LCSVRPredictor(**kwargs)


def test_probability_rule_stops_hopeless_and_keeps_promising_trainings():
    rule = make_rule("domhan", mode="fast", delta=0.05)
    rng = np.random.default_rng(0)
    x = np.arange(1, 11, dtype=float)
    flat = 30 - 20 * np.exp(-x)           # plateaus at 30
    rising = 10 + 80 * (1 - np.exp(-x / 15))  # far from done at epoch 10
    assert rule.decide(flat, 40, 90.0, rng).stop
    keep = rule.decide(rising, 40, 50.0, rng)
    assert not keep.stop and keep.p_better > 0.05 and keep.predicted > 50
    first = rule.decide(flat, 40, -math.inf, rng)  # nothing has reached the target yet
    assert not first.stop and first.p_better == 1.0
    assert first.seconds > 0


def test_median_rule():
    rule = MedianStoppingRule(min_curves=3)
    rng = np.random.default_rng(0)
    bad = np.full(5, 20.0)
    assert not rule.decide(bad, 10, 80.0, rng).stop  # no completed curves yet
    for top in (50.0, 60.0, 70.0):
        rule.observe(np.linspace(10, top, 10))
    assert rule.decide(bad, 10, 80.0, rng).stop
    good = np.linspace(10, 60, 10)[:5] + 5.0
    assert not rule.decide(good, 10, 80.0, rng).stop
    assert math.isnan(rule.decide(good, 10, 80.0, rng).p_better)


def test_make_rule_names_and_errors():
    assert isinstance(make_rule("lcsvr"), ProbabilityRule)
    assert isinstance(make_rule("median", min_curves=2), MedianStoppingRule)
    with pytest.raises(UnknownNameError, match="domhan"):
        make_rule("freeze-thaw")
    with pytest.raises(ConfigError, match="delta"):
        make_rule("domhan", delta=1.5)
