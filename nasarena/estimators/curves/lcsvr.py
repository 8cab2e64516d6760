"""LCSVR (Baker, Gupta, Raskar & Naik 2017): nu-SVR from a partial curve to the final value.

Features of a training observed for ``tau`` epochs: the ``tau`` values, their first and second
differences (all scaled by the metric's range) and the architecture's features (the caller's vector:
the wrapper passes params, FLOPs and the space's one-hot encoding). The training set is the curves
seen so far in the run that reached the target epoch, truncated to ``tau`` epochs; one model per
``tau`` is fitted on demand and reused until a new curve arrives. Features are standardised, the
target is the final value in [0, 1].

Baker et al. turn the point prediction into a probability with a Gaussian around it. Here the spread
is measured, not assumed: ``n_bootstrap`` SVRs are fitted on bootstrap resamples; the predictive
mean is their mean and the variance is their variance plus the mean squared out-of-bag error (the
error of a model on the curves it was not fitted on).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from sklearn.preprocessing import StandardScaler
from sklearn.svm import NuSVR

from nasarena.errors import ConfigError
from nasarena.estimators.curves.predictive import Predictive


def curve_features(y: np.ndarray) -> np.ndarray:
    """Values, first and second differences of a (scaled) partial curve, concatenated."""
    return np.concatenate([y, np.diff(y, 1), np.diff(y, 2)])


def arch_features(space: Any, arch: Any, params: float, flops: float) -> np.ndarray:
    """LCSVR's architecture features: log params, log FLOPs and the one-hot encoding of the decisions."""
    size = [math.log1p(v) if v == v and v >= 0 else 0.0 for v in (params, flops)]
    cards = getattr(space, "cardinalities", None)
    if cards is not None and len(cards) == len(arch):
        onehot = np.zeros(int(sum(cards)))
        offsets = np.concatenate([[0], np.cumsum(cards)[:-1]]).astype(int)
        onehot[offsets + np.asarray(arch, dtype=int)] = 1.0
    else:
        onehot = np.asarray(arch, dtype=float)
    return np.concatenate([size, onehot])


class LCSVRPredictor:
    """Predict the final value of a partial curve from the finished curves of the run (see module)."""

    name = "lcsvr"

    def __init__(self, *, nu: float = 0.5, C: float = 1.0, kernel: str = "rbf", n_bootstrap: int = 10,
                 min_train: int = 8, y_range: tuple[float, float] = (0.0, 100.0),
                 min_points: int = 3) -> None:
        if not 0 < float(nu) <= 1 or float(C) <= 0 or int(n_bootstrap) < 2 or int(min_train) < 3:
            raise ConfigError(f"lcsvr needs 0 < nu <= 1, C > 0, n_bootstrap >= 2 and min_train >= 3; got "
                              f"nu={nu}, C={C}, n_bootstrap={n_bootstrap}, min_train={min_train}")
        lo, hi = (float(v) for v in y_range)
        if not hi > lo:
            raise ConfigError(f"y_range must be (low, high) with high > low, got {y_range!r}")
        self.nu, self.C, self.kernel = float(nu), float(C), str(kernel)
        self.n_bootstrap, self.min_train = int(n_bootstrap), int(min_train)
        self.y_range = (lo, hi)
        self.min_points = max(int(min_points), 3)
        self._curves: list[tuple[np.ndarray, np.ndarray]] = []  # (scaled full curve, arch features)
        self._models: dict[tuple[int, int], Any] = {}

    def config(self) -> dict[str, Any]:
        """Settings, recorded with a run."""
        return {"predictor": self.name, "nu": self.nu, "C": self.C, "kernel": self.kernel,
                "n_bootstrap": self.n_bootstrap, "min_train": self.min_train, "y_range": list(self.y_range),
                "min_points": self.min_points}

    def _scale(self, curve: Any) -> np.ndarray:
        lo, hi = self.y_range
        return (np.asarray(curve, dtype=float) - lo) / (hi - lo)

    def observe(self, curve: Any, features: Any = None) -> None:
        """A training that finished (its whole curve): one more training example."""
        y = self._scale(curve)
        if len(y) and np.all(np.isfinite(y)):
            self._curves.append((y, np.asarray([] if features is None else features, dtype=float).ravel()))

    @property
    def n_observed(self) -> int:
        """Finished curves seen so far."""
        return len(self._curves)

    def _model(self, tau: int, target: int, n_feat: int, rng: np.random.Generator) -> Any:
        """(scaler, bootstrap SVRs, out-of-bag MSE) for ``tau`` observed epochs, or None."""
        train = [(y, f) for y, f in self._curves if len(y) >= target and len(f) == n_feat]
        key = (tau, target, n_feat, len(train))
        if key in self._models:
            return self._models[key]
        model = None
        if len(train) >= self.min_train:
            X = np.array([np.concatenate([curve_features(y[:tau]), f]) for y, f in train])
            t = np.array([y[target - 1] for y, _ in train])
            scaler = StandardScaler().fit(X)
            Xs = scaler.transform(X)
            n = len(t)
            svrs, oob_err = [], []
            for _ in range(self.n_bootstrap):
                idx = rng.integers(n, size=n)
                svr = NuSVR(nu=self.nu, C=self.C, kernel=self.kernel).fit(Xs[idx], t[idx])
                svrs.append(svr)
                out = np.setdiff1d(np.arange(n), idx)
                if len(out):
                    oob_err.append((svr.predict(Xs[out]) - t[out]) ** 2)
            mse = float(np.mean(np.concatenate(oob_err))) if oob_err else float(np.var(t))
            model = (scaler, svrs, mse)
        self._models = {k: v for k, v in self._models.items() if k[3] == len(train)}  # drop stale fits
        self._models[key] = model
        return model

    def predict(self, curve: Any, target: int, rng: np.random.Generator,
                features: Any = None) -> Predictive | None:
        """Normal predictive of the value at ``target``; None before ``min_train`` finished curves."""
        y = self._scale(curve)
        feats = np.asarray([] if features is None else features, dtype=float).ravel()
        tau = len(y)
        if tau < self.min_points or target < tau or not np.all(np.isfinite(y)):
            return None
        model = self._model(tau, int(target), len(feats), rng)
        if model is None:
            return None
        scaler, svrs, mse = model
        x = scaler.transform(np.concatenate([curve_features(y), feats])[None, :])
        preds = np.array([float(s.predict(x)[0]) for s in svrs])
        lo, hi = self.y_range
        std = math.sqrt(float(np.var(preds)) + mse)
        return Predictive.normal(lo + (hi - lo) * float(preds.mean()), (hi - lo) * std, int(target))
