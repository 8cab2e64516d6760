"""The predictive distribution of a curve's value at a target epoch (what every predictor returns).

All three predictors describe their belief about the final value as a mixture of normals: the
MCMC ensemble as one equal-weight component per posterior sample (the sample's curve at the target
and its noise level), the fast mode as one Laplace-approximated component per fitted family
(Akaike weights), LCSVR as one component (bootstrap mean, bootstrap plus out-of-bag spread). One
type keeps the stopping rule (``P(final > best) < delta``), the calibration benchmark and reports
independent of the predictor.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import optimize, special


@dataclass(frozen=True)
class Predictive:
    """A mixture of normals over the value at ``target`` (metric units, e.g. percent).

    ``means``, ``stds`` and ``weights`` are 1-D arrays of equal length; weights sum to 1; a zero std
    is allowed (a point mass).
    """

    means: np.ndarray
    stds: np.ndarray
    weights: np.ndarray
    target: int

    @classmethod
    def normal(cls, mean: float, std: float, target: int) -> Predictive:
        """A single normal component."""
        return cls(np.array([float(mean)]), np.array([max(float(std), 0.0)]), np.array([1.0]), target)

    @classmethod
    def mixture(cls, means: np.ndarray, stds: np.ndarray, weights: np.ndarray | None,
                target: int) -> Predictive:
        """A mixture; components with a non-finite mean or std are dropped, weights renormalised."""
        means, stds = np.asarray(means, dtype=float).ravel(), np.asarray(stds, dtype=float).ravel()
        w = np.ones_like(means) if weights is None else np.asarray(weights, dtype=float).ravel()
        ok = np.isfinite(means) & np.isfinite(stds) & np.isfinite(w) & (w > 0)
        if not ok.any():
            raise ValueError("a predictive distribution needs at least one finite component")
        w = w[ok] / w[ok].sum()
        return cls(means[ok], np.maximum(stds[ok], 0.0), w, target)

    @property
    def mean(self) -> float:
        """Mixture mean."""
        return float(self.weights @ self.means)

    @property
    def std(self) -> float:
        """Mixture standard deviation (law of total variance)."""
        var = self.weights @ (self.stds ** 2 + self.means ** 2) - self.mean ** 2
        return math.sqrt(max(float(var), 0.0))

    def cdf(self, y: float) -> float:
        """P(value <= y)."""
        with np.errstate(divide="ignore", invalid="ignore"):
            z = (y - self.means) / self.stds
        point = self.stds == 0
        p = np.where(point, (self.means <= y).astype(float), special.ndtr(np.where(point, 0.0, z)))
        return float(self.weights @ p)

    def prob_greater(self, y: float) -> float:
        """P(value > y): Domhan's quantity for the stopping rule."""
        return 1.0 - self.cdf(y)

    def quantile(self, q: float) -> float:
        """The ``q`` quantile (root of the mixture cdf)."""
        lo = float(np.min(self.means - 10 * self.stds)) - 1e-9
        hi = float(np.max(self.means + 10 * self.stds)) + 1e-9
        return float(optimize.brentq(lambda y: self.cdf(y) - q, lo, hi, xtol=1e-9))

    def interval(self, level: float = 0.9) -> tuple[float, float]:
        """Central ``level`` predictive interval."""
        a = (1.0 - level) / 2.0
        return self.quantile(a), self.quantile(1.0 - a)
