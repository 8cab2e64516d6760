"""Domhan, Springenberg & Hutter (IJCAI 2015): a weighted ensemble of 11 parametric curves.

The model of a curve ``y_1..y_n`` (scaled to [0, 1] by the metric's range) is
``y_t = sum_k w_k f_k(t | theta_k) / sum_k w_k + eps``, ``eps ~ N(0, sigma^2)``, with the families of
:mod:`.families`. As in the paper's reference implementation:

* each family is first fitted by (recency-weighted) least squares from its default start; a family
  whose fit leaves the prior's support is dropped;
* priors (flat on their support): each family's parameters inside their bounds, each family's curve
  non-decreasing between epoch 1 and the target epoch (checked on a 50-point grid) and finite and
  inside the metric's range at the target, weights ``w_k >= 0``, ``0 < sigma <= 1``;
* the likelihood weights epoch ``t`` by ``10^(t/n)`` (recent epochs count up to 10x more);
* ``emcee``'s affine-invariant ensemble sampler starts every walker in a 1e-6 ball around the joint
  maximum-likelihood point (weights all equal); defaults 100 walkers (raised to twice the dimension),
  2,500 steps, the first 500 discarded.

The predictive distribution at the target epoch is the mixture over posterior samples of
``N(f_comb(target), sigma^2)``, so ``P(final > best)`` is the paper's ``posterior_prob_x_greater_than``.

``mode="fast"`` skips the sampler: every family's least-squares fit gets a Laplace spread (the
delta-method variance of its value at the target from the Gauss-Newton covariance, plus its noise
variance), and the families are mixed with Akaike weights. It costs one least-squares fit per family.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import emcee
import numpy as np
from scipy import optimize

from nasarena.errors import ConfigError
from nasarena.estimators.curves.families import Family, families
from nasarena.estimators.curves.predictive import Predictive

MODES = ("mcmc", "fast")
GRID = 50           # points of the monotonicity check
MAX_COMPONENTS = 20_000  # posterior samples kept for the predictive mixture (thinned evenly)


def recency_weights(n: int) -> np.ndarray:
    """``10^(t/n)`` for t = 0..n-1 (the reference implementation's recency weighting)."""
    return 10.0 ** (np.arange(n) / n)


@dataclass(frozen=True)
class FamilyFit:
    """A family's least-squares fit: parameters, noise level, their Gauss-Newton covariance, AIC."""

    family: Family
    params: np.ndarray
    sigma: float
    cov: np.ndarray
    aic: float


class _Problem:
    """One curve to extrapolate: data, recency weights, the target and the prior's checks."""

    def __init__(self, y: np.ndarray, target: int, recency: bool) -> None:
        self.y = y
        self.x = np.arange(1, len(y) + 1, dtype=float)
        self.w = recency_weights(len(y)) if recency else np.ones(len(y))
        self.target = float(target)
        self.grid = np.linspace(1.0, self.target, GRID)

    def supported(self, fam: Family, params: np.ndarray, on_grid: np.ndarray | None = None) -> np.ndarray:
        """Prior support per row of ``params`` (shape ``(W, n)``): bounds, monotone, in range at target.

        ``on_grid`` is the family's curve on :attr:`grid` when the caller has already computed it.
        """
        lower, upper = np.array(fam.lower), np.array(fam.upper)
        ok = np.all(np.isfinite(params), axis=1)
        if np.isfinite(lower).any() or np.isfinite(upper).any():
            ok &= np.all((params >= lower) & (params <= upper), axis=1)
        g = on_grid if on_grid is not None else \
            fam(self.grid[None, :], [params[:, j:j + 1] for j in range(fam.n_params)])
        with np.errstate(invalid="ignore"):
            ok &= np.all(np.isfinite(g), axis=1) & np.all(np.diff(g, axis=1) >= -1e-9, axis=1)
            ok &= (g[:, -1] >= 0.0) & (g[:, -1] <= 1.0)
        return ok

    def fit(self, fam: Family) -> FamilyFit | None:
        """Recency-weighted least squares (Levenberg-Marquardt, unbounded, as the reference
        implementation's ``leastsq``) from the family's default start; None if it leaves the prior."""
        sw = np.sqrt(self.w)

        def residual(p: np.ndarray) -> np.ndarray:
            r = sw * (fam(self.x, p) - self.y)
            return np.where(np.isfinite(r), r, 10.0)

        start = np.clip(np.array(fam.start), np.array(fam.lower), np.array(fam.upper))
        try:
            p, cov_x, *_ = optimize.leastsq(residual, start, full_output=True,
                                            maxfev=100 * (fam.n_params + 1))
        except (ValueError, TypeError, np.linalg.LinAlgError):
            return None
        if not np.all(np.isfinite(p)) or not self.supported(fam, p[None, :])[0]:
            return None
        r = fam(self.x, p) - self.y
        if not np.all(np.isfinite(r)):
            return None
        sigma = max(math.sqrt(float(np.average(r ** 2, weights=self.w))), 1e-4)
        loglik = float(np.sum(-0.5 * (r / sigma) ** 2 - math.log(sigma) - 0.5 * math.log(2 * math.pi)))
        cov = np.full((fam.n_params, fam.n_params), np.inf) if cov_x is None else sigma ** 2 * cov_x
        return FamilyFit(fam, p, sigma, cov, 2 * (fam.n_params + 1) - 2 * loglik)


class DomhanPredictor:
    """Extrapolate one curve with Domhan et al.'s ensemble (see the module docstring).

    ``y_range`` is the metric's range (percent accuracy: 0..100); curves are scaled by it. ``mode``
    is ``"mcmc"`` (the paper) or ``"fast"`` (least squares + Laplace, Akaike-weighted); ``walkers``,
    ``samples`` (steps per walker, burn-in included) and ``burn_in`` set the sampler. ``min_points``
    epochs are needed before a prediction is made (fewer: :meth:`predict` returns None).
    """

    name = "domhan"

    def __init__(self, *, mode: str = "mcmc", walkers: int = 100, samples: int = 2500, burn_in: int = 500,
                 y_range: tuple[float, float] = (0.0, 100.0), recency_weighting: bool = True,
                 family_names: tuple[str, ...] | None = None, min_points: int = 3) -> None:
        if mode not in MODES:
            raise ConfigError(f"domhan mode must be one of {MODES}, got {mode!r}")
        walkers, samples, burn_in, min_points = int(walkers), int(samples), int(burn_in), int(min_points)
        if walkers < 2 or samples < 1 or not 0 <= burn_in < samples:
            raise ConfigError(f"domhan needs walkers >= 2 and 0 <= burn_in < samples; got walkers={walkers}, "
                              f"samples={samples}, burn_in={burn_in}")
        lo, hi = (float(v) for v in y_range)
        if not hi > lo:
            raise ConfigError(f"y_range must be (low, high) with high > low, got {y_range!r}")
        self.mode, self.walkers, self.samples, self.burn_in = mode, walkers, samples, burn_in
        self.y_range = (lo, hi)
        self.recency_weighting = bool(recency_weighting)
        self.families = families(tuple(family_names) if family_names is not None else None)
        self.min_points = max(int(min_points), 2)

    def config(self) -> dict[str, Any]:
        """Settings, recorded with a run."""
        out: dict[str, Any] = {"predictor": self.name, "mode": self.mode, "y_range": list(self.y_range),
                               "recency_weighting": self.recency_weighting,
                               "families": [f.name for f in self.families], "min_points": self.min_points}
        if self.mode == "mcmc":
            out.update(walkers=self.walkers, samples=self.samples, burn_in=self.burn_in)
        return out

    def observe(self, curve: Any, features: Any = None) -> None:
        """A finished training's curve: unused (the ensemble looks at one curve at a time)."""

    def fits(self, curve: Any, target: int) -> tuple[_Problem, list[FamilyFit]]:
        """The scaled problem and the families whose least-squares fit the prior supports."""
        lo, hi = self.y_range
        y = (np.asarray(curve, dtype=float) - lo) / (hi - lo)
        problem = _Problem(y, target, self.recency_weighting)
        return problem, [f for fam in self.families if (f := problem.fit(fam)) is not None]

    def predict(self, curve: Any, target: int, rng: np.random.Generator,
                features: Any = None) -> Predictive | None:
        """Predictive distribution of the curve's value at epoch ``target`` (None: cannot predict)."""
        y = np.asarray(curve, dtype=float)
        if len(y) < self.min_points or not np.all(np.isfinite(y)) or target < len(y):
            return None
        problem, fits = self.fits(y, target)
        if not fits:
            return None
        lo, hi = self.y_range
        if self.mode == "fast":
            means, stds, weights = _laplace(problem, fits)
        else:
            means, stds = _mcmc(problem, fits, self.walkers, self.samples, self.burn_in, rng)
            weights = None
        return Predictive.mixture(lo + (hi - lo) * means, (hi - lo) * stds, weights, int(target))


def _laplace(problem: _Problem, fits: list[FamilyFit]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-family mean and delta-method std at the target, and Akaike weights."""
    t = np.array([problem.target])
    means, stds, aics = [], [], []
    for f in fits:
        fam, p = f.family, f.params
        mean = float(fam(t, p)[0])
        h = 1e-6 * np.maximum(1.0, np.abs(p))
        grad = np.array([(fam(t, p + h[j] * e)[0] - fam(t, p - h[j] * e)[0]) / (2 * h[j])
                         for j, e in enumerate(np.eye(len(p)))])
        ok = np.all(np.isfinite(grad)) and np.all(np.isfinite(f.cov))
        var = float(grad @ f.cov @ grad) if ok else math.inf
        std = min(math.sqrt(max(var, 0.0) + f.sigma ** 2), 1.0)
        means.append(mean)
        stds.append(std)
        aics.append(f.aic)
    a = np.array(aics)
    weights = np.exp(-(a - a.min()) / 2)
    return np.array(means), np.array(stds), weights


def _mcmc(problem: _Problem, fits: list[FamilyFit], walkers: int, samples: int, burn_in: int,
          rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Sample the ensemble's posterior with emcee; (mean at target, sigma) per kept sample."""
    sizes = [f.family.n_params for f in fits]
    edges = np.cumsum([0, *sizes])
    k = len(fits)
    n_par = int(edges[-1])
    ndim = n_par + 1 + k
    x_obs = problem.x[None, :]
    t = np.array([[problem.target]])
    y, w = problem.y, problem.w

    x_all = np.concatenate([problem.x, problem.grid])[None, :]  # one family call covers both

    lower = np.concatenate([np.array(f.family.lower) for f in fits])
    upper = np.concatenate([np.array(f.family.upper) for f in fits])
    bounded = np.isfinite(lower) | np.isfinite(upper)

    def combined(theta: np.ndarray, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(weighted curve at x, prior support) for each walker row of theta (x: obs or target).

        All families are checked in one stacked array: the sampler calls this thousands of times,
        so the number of numpy calls, not their size, sets its cost.
        """
        xs = x_all if x is x_obs else np.concatenate([x, problem.grid[None, :]], axis=1)
        n_x = x.shape[1]
        par = theta[:, :n_par]
        v = np.stack([f.family(xs, [par[:, edges[i] + j:edges[i] + j + 1] for j in range(sizes[i])])
                      for i, f in enumerate(fits)], axis=1)  # (W, K, n_x + GRID)
        weights = theta[:, n_par + 1:]
        g = v[:, :, n_x:]
        with np.errstate(all="ignore"):
            ok = np.all(np.isfinite(par), axis=1) & np.all(weights >= 0, axis=1)
            if bounded.any():
                pb = par[:, bounded]
                ok &= np.all((pb >= lower[bounded]) & (pb <= upper[bounded]), axis=1)
            ok &= np.all(np.isfinite(g), axis=(1, 2))
            ok &= np.all(g[:, :, 1:] - g[:, :, :-1] >= -1e-9, axis=(1, 2))  # each family non-decreasing
            ok &= np.all((g[:, :, -1] >= 0.0) & (g[:, :, -1] <= 1.0), axis=1)
            wsum = weights.sum(axis=1)
            ok &= wsum > 0
            total = np.einsum("wk,wkt->wt", weights, v[:, :, :n_x]) / wsum[:, None]
        return total, ok

    def log_prob(theta: np.ndarray) -> np.ndarray:
        mu, ok = combined(theta, x_obs)
        sigma = theta[:, n_par]
        ok &= (sigma > 0) & (sigma <= 1)
        with np.errstate(all="ignore"):
            s = np.where(ok, sigma, 1.0)[:, None]
            ll = np.sum(w * (-0.5 * ((y - mu) / s) ** 2 - np.log(s)), axis=1)
        return np.where(ok & np.isfinite(ll), ll, -np.inf)

    start = np.concatenate([np.concatenate([f.params for f in fits]), [0.0], np.full(k, 10.0)])
    mu0, _ = combined(start[None, :], x_obs)
    start[n_par] = min(max(float(np.std(y - mu0[0])), 1e-3), 1.0)
    nwalkers = max(walkers, 2 * ndim)
    state = np.random.RandomState(int(rng.integers(2 ** 32)))
    p0 = start + 1e-6 * state.standard_normal((nwalkers, ndim))
    p0[:, n_par + 1:] = np.abs(p0[:, n_par + 1:])
    sampler = emcee.EnsembleSampler(nwalkers, ndim, log_prob, vectorize=True)
    sampler.random_state = state.get_state()
    sampler.run_mcmc(p0, samples, progress=False, skip_initial_state_check=True)
    chain = sampler.get_chain(discard=burn_in, flat=True)
    chain = chain[np.isfinite(sampler.get_log_prob(discard=burn_in, flat=True))]
    if len(chain) > MAX_COMPONENTS:
        chain = chain[np.linspace(0, len(chain) - 1, MAX_COMPONENTS).astype(int)]
    mu_t, _ = combined(chain, t)
    return mu_t[:, 0], chain[:, n_par]
