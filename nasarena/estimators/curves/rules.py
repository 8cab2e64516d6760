"""Stopping rules: when to give up on a training, given its partial curve.

* :class:`ProbabilityRule` (Domhan et al. 2015) over any predictor: stop when
  ``P(value at the target epoch > best so far) < delta``; never stop before a predictor can predict
  or before any training has reached the target (there is no "best so far" yet).
* :class:`MedianStoppingRule` (Golovin et al. 2017, Vizier; as in Ray Tune and syne-tune): stop a
  training at epoch ``s`` when its best value up to ``s`` is strictly worse than the median, over the
  completed trainings, of their running averages up to ``s``; it needs ``min_curves`` completed ones.

Rules are told every training that reached the target (:meth:`observe`), which is LCSVR's training
set and the median rule's reference. A :class:`Decision` says what was decided and what the
predictor believed, and how long the decision took (the predictor's overhead).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from nasarena.errors import ConfigError, unknown
from nasarena.estimators.curves.predictive import Predictive


@dataclass(frozen=True)
class Decision:
    """One stopping decision: ``stop``, the belief behind it (NaN where the rule has none), seconds."""

    stop: bool
    p_better: float = math.nan
    predicted: float = math.nan
    predicted_std: float = math.nan
    seconds: float = 0.0


class Predictor(Protocol):
    """What :class:`ProbabilityRule` needs from a predictor (Domhan's ensemble, LCSVR, ...)."""

    name: str

    def predict(self, curve: Any, target: int, rng: np.random.Generator,
                features: Any = None) -> Predictive | None: ...

    def observe(self, curve: Any, features: Any = None) -> None: ...

    def config(self) -> dict[str, Any]: ...


class ProbabilityRule:
    """Stop when the predicted probability of beating the best so far is below ``delta``."""

    def __init__(self, predictor: Predictor, delta: float = 0.05) -> None:
        if not 0.0 < float(delta) < 1.0:
            raise ConfigError(f"delta must be a probability in (0, 1), got {delta!r}")
        self.predictor = predictor
        self.delta = float(delta)
        self.name = predictor.name

    def observe(self, curve: Any, features: Any = None) -> None:
        """A training reached the target: pass it on to the predictor."""
        self.predictor.observe(curve, features)

    def decide(self, curve: Any, target: int, best: float, rng: np.random.Generator,
               features: Any = None) -> Decision:
        """Predict the value at ``target`` and compare with ``best`` (NaN/-inf: never stop)."""
        t0 = time.perf_counter()
        pred = self.predictor.predict(curve, target, rng, features)
        seconds = time.perf_counter() - t0
        if pred is None:
            return Decision(False, seconds=seconds)
        p = pred.prob_greater(best) if math.isfinite(best) else 1.0
        return Decision(p < self.delta, p, pred.mean, pred.std, seconds)

    def config(self) -> dict[str, Any]:
        """Rule and predictor settings."""
        return {"rule": "probability", "delta": self.delta, **self.predictor.config()}


class MedianStoppingRule:
    """Golovin et al.'s median stopping rule (see the module docstring)."""

    name = "median"

    def __init__(self, min_curves: int = 3, min_points: int = 1) -> None:
        if int(min_curves) < 1 or int(min_points) < 1:
            raise ConfigError(f"median rule needs min_curves >= 1 and min_points >= 1, got "
                              f"{min_curves}, {min_points}")
        self.min_curves, self.min_points = int(min_curves), int(min_points)
        self._running: list[np.ndarray] = []  # running averages of completed curves

    def observe(self, curve: Any, features: Any = None) -> None:
        """A completed training: keep its running averages."""
        y = np.asarray(curve, dtype=float)
        if len(y) and np.all(np.isfinite(y)):
            self._running.append(np.cumsum(y) / np.arange(1, len(y) + 1))

    def decide(self, curve: Any, target: int, best: float, rng: np.random.Generator,
               features: Any = None) -> Decision:
        """Stop if this curve's best so far is below the median running average at the same epoch."""
        t0 = time.perf_counter()
        y = np.asarray(curve, dtype=float)
        s = len(y)
        ref = [r[s - 1] for r in self._running if len(r) >= s]
        if s < self.min_points or len(ref) < self.min_curves or not np.all(np.isfinite(y)):
            return Decision(False, seconds=time.perf_counter() - t0)
        stop = bool(np.max(y) < np.median(ref))
        return Decision(stop, seconds=time.perf_counter() - t0)

    def config(self) -> dict[str, Any]:
        """Settings, recorded with a run."""
        return {"rule": "median", "min_curves": self.min_curves, "min_points": self.min_points}


RULES = ("domhan", "lcsvr", "median")


def make_rule(name: str, **params: Any) -> ProbabilityRule | MedianStoppingRule:
    """``"domhan"`` / ``"lcsvr"`` (probability rule, ``delta`` plus the predictor's parameters) or
    ``"median"`` (its own parameters)."""
    if name == "median":
        return MedianStoppingRule(**params)
    delta = params.pop("delta", 0.05)
    if name == "domhan":
        from nasarena.estimators.curves.domhan import DomhanPredictor

        return ProbabilityRule(DomhanPredictor(**params), delta)
    if name == "lcsvr":
        from nasarena.estimators.curves.lcsvr import LCSVRPredictor

        return ProbabilityRule(LCSVRPredictor(**params), delta)
    raise unknown("early-stopping rule", name, RULES)
