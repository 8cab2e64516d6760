"""The curve families broadcast over walkers, and the predictive mixture's arithmetic."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from nasarena.errors import UnknownNameError
from nasarena.estimators.curves.families import FAMILIES, FAMILY_NAMES, families
from nasarena.estimators.curves.predictive import Predictive


def test_eleven_families_of_the_paper():
    assert set(FAMILY_NAMES) == {"vap", "ilog2", "weibull", "pow3", "pow4", "loglog_linear", "mmf",
                                 "janoschek", "dr_hill_zero_background", "log_power", "exp4"}


@pytest.mark.parametrize("fam", FAMILIES, ids=FAMILY_NAMES)
def test_family_broadcasts_over_walkers(fam):
    x = np.arange(1, 21, dtype=float)
    start = np.array(fam.start)
    one = fam(x, start)
    assert one.shape == (20,) and np.all(np.isfinite(one))
    walkers = np.tile(start, (3, 1)) * np.array([[1.0], [1.01], [0.99]])
    many = fam(x[None, :], [walkers[:, j:j + 1] for j in range(fam.n_params)])
    assert many.shape == (3, 20)
    np.testing.assert_allclose(many[0], one)


def test_unknown_family_is_named():
    with pytest.raises(UnknownNameError, match="pow5"):
        families(("pow3", "pow5"))


def test_single_normal_matches_scipy():
    p = Predictive.normal(70.0, 4.0, 20)
    for y in (60.0, 70.0, 75.0):
        assert p.cdf(y) == pytest.approx(stats.norm.cdf(y, 70, 4))
    lo, hi = p.interval(0.9)
    assert (lo, hi) == pytest.approx(stats.norm.interval(0.9, 70, 4), abs=1e-6)
    assert p.prob_greater(70.0) == pytest.approx(0.5)


def test_mixture_moments_and_dropped_components():
    p = Predictive.mixture(np.array([60.0, 80.0, np.nan]), np.array([1.0, 1.0, 1.0]), None, 10)
    assert len(p.means) == 2
    assert p.mean == pytest.approx(70.0)
    assert p.std == pytest.approx(np.sqrt(1 + 100))
    assert p.quantile(0.5) == pytest.approx(70.0, abs=1e-6)
    point = Predictive.mixture(np.array([50.0]), np.array([0.0]), None, 10)
    assert point.prob_greater(49.0) == 1.0 and point.prob_greater(51.0) == 0.0
    with pytest.raises(ValueError):
        Predictive.mixture(np.array([np.nan]), np.array([1.0]), None, 10)
