"""Domhan et al.'s ensemble on synthetic curves (no real per-epoch curves ship with the test data;
see nasarena.estimators.curves.synthetic). The sampler runs with few steps to keep tests fast."""

from __future__ import annotations

import numpy as np
import pytest

from nasarena.errors import ConfigError
from nasarena.estimators.curves.domhan import DomhanPredictor
from nasarena.estimators.curves.families import janoschek, pow3
from nasarena.estimators.curves.synthetic import synthetic_curve

EPOCHS = 40
# Three families and a short chain keep the sampler tests fast; all 11 run in fast mode here and in
# benchmarks/curve_prediction.py with the paper's defaults.
SHORT = {"mode": "mcmc", "walkers": 40, "samples": 200, "burn_in": 100,
         "family_names": ("pow3", "janoschek", "mmf")}


def clean_curve() -> np.ndarray:
    x = np.arange(1, EPOCHS + 1, dtype=float)
    return np.asarray(janoschek(x, 90.0, 10.0, 0.3, 0.8))


@pytest.mark.parametrize(("kwargs", "seen"), [({"mode": "fast"}, 20), (SHORT, 30)], ids=["fast", "mcmc"])
def test_extrapolates_a_saturating_curve(kwargs, seen):
    # The MCMC ensemble weighs all 11 families, some of which keep rising (vap, pow3, mmf): from 20
    # of 40 epochs it overshoots this curve by ~4 points; from 30 it must be close.
    y = clean_curve()
    pred = DomhanPredictor(**kwargs).predict(y[:seen], EPOCHS, np.random.default_rng(0))
    assert pred is not None and pred.target == EPOCHS
    assert abs(pred.mean - y[-1]) < 3.0
    lo, hi = pred.interval(0.9)
    assert lo - 1.5 <= y[-1] <= hi + 1.5
    assert pred.prob_greater(y[-1] + 20) < 0.05 < 0.95 < pred.prob_greater(y[seen - 10])


def test_mcmc_is_deterministic_and_leaves_global_rng_alone():
    rng = np.random.default_rng(3)
    y, _ = synthetic_curve(rng, EPOCHS)
    state = np.random.get_state()[1].copy()
    a = DomhanPredictor(**SHORT).predict(y[:12], EPOCHS, np.random.default_rng(5))
    b = DomhanPredictor(**SHORT).predict(y[:12], EPOCHS, np.random.default_rng(5))
    assert np.array_equal(np.random.get_state()[1], state)
    assert a is not None and b is not None
    np.testing.assert_array_equal(a.means, b.means)


def test_predictions_stay_in_the_metric_range_for_a_falling_curve():
    x = np.arange(1, 11, dtype=float)
    falling = 60.0 - 2.0 * x  # the prior admits only non-decreasing families
    pred = DomhanPredictor(mode="fast").predict(falling, EPOCHS, np.random.default_rng(0))
    if pred is not None:
        assert 0.0 <= pred.mean <= 100.0


def test_prior_keeps_every_sample_monotone_and_in_range():
    y = np.asarray(pow3(np.arange(1, 16, dtype=float), 80.0, 70.0, 0.9))
    pred = DomhanPredictor(**SHORT).predict(y, EPOCHS, np.random.default_rng(1))
    assert pred is not None
    assert np.all((pred.means >= 0.0) & (pred.means <= 100.0))


def test_too_short_or_bad_curves_give_no_prediction():
    p = DomhanPredictor(mode="fast")
    rng = np.random.default_rng(0)
    assert p.predict([10.0, 20.0], EPOCHS, rng) is None
    assert p.predict([10.0, np.nan, 30.0], EPOCHS, rng) is None
    assert p.predict(clean_curve()[:30], 20, rng) is None  # target before the last epoch seen


@pytest.mark.parametrize("kwargs", [{"mode": "exact"}, {"samples": 10, "burn_in": 10},
                                    {"y_range": (1.0, 0.0)}])
def test_bad_settings_raise_config_error(kwargs):
    with pytest.raises(ConfigError):
        DomhanPredictor(**kwargs)


def test_config_records_the_sampler():
    cfg = DomhanPredictor().config()
    assert (cfg["walkers"], cfg["samples"], cfg["burn_in"]) == (100, 2500, 500)
    assert "walkers" not in DomhanPredictor(mode="fast").config()
