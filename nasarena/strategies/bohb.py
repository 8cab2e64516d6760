"""``bohb``: Hyperband whose new configurations come from a TPE-style model (Falkner et al. 2018).

Everything about brackets, rungs, fidelities and asynchrony is :class:`~nasarena.strategies.
hyperband.Hyperband`; BOHB only changes :meth:`sample_config`. Following the paper: the model is
built on the *highest* fidelity that has at least ``d + 2`` results (``d`` = number of decisions);
its results are split into the best ``max(d + 1, top_fraction * n)`` ("good") and the rest ("bad",
also at least ``d + 1``; failures count as bad); each set gets a product kernel density over the
categorical decisions (Aitchison-Aitken kernel; bandwidth per decision by leave-one-out likelihood,
or with ``bandwidth_rule="normal_reference"`` the rule BOHB takes from statsmodels, which on category
codes is close to uniform; floored at ``min_bandwidth``). ``n_samples`` candidates are drawn from the good
density with bandwidths widened by ``bandwidth_factor``; the one maximising ``l(x) / g(x)`` is
proposed. A ``random_fraction`` of configurations (and all until a model exists) are uniform.
"""

from __future__ import annotations

import math
from typing import Any, ClassVar

import numpy as np

from nasarena.errors import ConfigError
from nasarena.estimators.base import FULL, Fidelity
from nasarena.spaces.base import Arch, SearchSpace
from nasarena.strategies.hyperband import Hyperband
from nasarena.strategies.local_search import sample_unseen


def _loo_bandwidth(column: np.ndarray, n_choices: int, min_bandwidth: float) -> float:
    """Leave-one-out maximum-likelihood Aitchison-Aitken bandwidth of one decision (grid search).

    Why not BOHB's normal-reference rule: on unordered category codes it measures the spread of
    arbitrary integers and lands at or above the uniform bandwidth for NAS decisions, which turns the
    model into random sampling; cross-validated likelihood is statsmodels' other rule (``cv_ml``).
    """
    if n_choices < 2 or len(column) < 2:
        return min_bandwidth
    n = len(column)
    same = (column[:, None] == column[None, :]).sum(axis=1) - 1  # other points agreeing with each
    grid = np.linspace(min_bandwidth, (n_choices - 1) / n_choices, 40)
    dens = ((1 - grid)[:, None] * same + (grid / (n_choices - 1))[:, None] * (n - 1 - same)) / (n - 1)
    return float(grid[int(np.argmax(np.log(np.maximum(dens, 1e-300)).sum(axis=1)))])


class CategoricalKDE:
    """Product of Aitchison-Aitken kernels over categorical decisions.

    ``k(x, x_i) = 1 - lam`` where the decision agrees and ``lam / (c - 1)`` where it does not, with
    ``lam`` in ``[min_bandwidth, (c - 1) / c]`` (the upper end is the uniform distribution), chosen
    per decision by leave-one-out likelihood (``rule="cv"``) or BOHB's normal-reference rule.
    """

    def __init__(self, data: np.ndarray, cards: np.ndarray, min_bandwidth: float = 1e-3,
                 rule: str = "cv") -> None:
        self.data = np.asarray(data, dtype=np.int64)
        self.cards = cards
        n, d = self.data.shape
        self.max_bw = (cards - 1) / np.maximum(cards, 1)
        if rule == "normal_reference":  # BOHB's statsmodels default, applied to the category codes
            bw = 1.06 * self.data.std(axis=0) * n ** (-1.0 / (4 + d))
        elif rule == "cv":
            bw = np.array([_loo_bandwidth(self.data[:, j], int(c), min_bandwidth)
                           for j, c in enumerate(cards)])
        else:
            raise ConfigError(f"unknown bandwidth rule {rule!r}; valid are 'cv', 'normal_reference'")
        self.bandwidth = np.clip(bw, min_bandwidth, self.max_bw)

    def log_density(self, x: np.ndarray, factor: float = 1.0) -> np.ndarray:
        """Log of the mixture density at each row of ``x`` (bandwidths times ``factor``)."""
        lam = np.minimum(self.bandwidth * factor, self.max_bw)
        same = np.log1p(-lam)
        other = np.log(np.where(self.cards > 1, lam / np.maximum(self.cards - 1, 1), 1.0))
        eq = x[:, None, :] == self.data[None, :, :]
        logk = np.where(eq, same, other).sum(axis=2)
        top = logk.max(axis=1, keepdims=True)
        return (top[:, 0] + np.log(np.exp(logk - top).mean(axis=1)))

    def sample(self, n: int, rng: np.random.Generator, factor: float = 1.0) -> np.ndarray:
        """``n`` draws: pick a datum, then move each decision elsewhere with probability ``lam``."""
        lam = np.minimum(self.bandwidth * factor, self.max_bw)
        rows = self.data[rng.integers(len(self.data), size=n)].copy()
        move = rng.random(rows.shape) < lam
        shift = rng.integers(1, np.maximum(self.cards, 2), size=rows.shape)
        moved = (rows + shift) % np.maximum(self.cards, 1)
        return np.where(move & (self.cards > 1), moved, rows)


class BOHB(Hyperband):
    """Hyperband with TPE-style sampling of new configurations (see the module docstring)."""

    name: ClassVar[str] = "bohb"

    def __init__(self, space: SearchSpace, rng: np.random.Generator,
                 fidelities: tuple[Fidelity, ...] = (FULL,), *, eta: int = 3,
                 continue_promotions: bool = True, top_fraction: float = 0.15,
                 random_fraction: float = 1 / 3, n_samples: int = 64,
                 bandwidth_factor: float = 3.0, min_bandwidth: float = 1e-3,
                 bandwidth_rule: str = "cv") -> None:
        super().__init__(space, rng, fidelities, eta=eta, continue_promotions=continue_promotions)
        if not 0 < top_fraction < 1 or not 0 <= random_fraction <= 1 or n_samples < 1:
            raise ConfigError("need 0 < top_fraction < 1, 0 <= random_fraction <= 1, n_samples >= 1")
        self.top_fraction, self.random_fraction = top_fraction, random_fraction
        self.n_samples, self.bandwidth_factor = n_samples, bandwidth_factor
        self.min_bandwidth = min_bandwidth
        if bandwidth_rule not in ("cv", "normal_reference"):
            raise ConfigError(f"unknown bandwidth_rule {bandwidth_rule!r}; "
                              f"valid are 'cv', 'normal_reference'")
        self.bandwidth_rule = bandwidth_rule
        self._cards = np.asarray(space.cardinalities, dtype=np.int64)
        self._observed: list[dict[Arch, float]] = [{} for _ in self.fidelities]
        self.n_model_samples = 0

    def observe(self, arch: Arch, level: int, score: float) -> None:
        """Keep the latest result of ``arch`` at that fidelity (failures as -inf: 'bad')."""
        self._observed[level][arch] = score if math.isfinite(score) else -math.inf

    def _model(self) -> tuple[CategoricalKDE, CategoricalKDE] | None:
        d = len(self._cards)
        for level in reversed(range(len(self.fidelities))):
            obs = self._observed[level]
            if len(obs) < d + 2:
                continue
            archs = list(obs)
            scores = np.asarray([obs[a] for a in archs])
            order = np.argsort(-scores, kind="stable")
            n_good = max(d + 1, int(self.top_fraction * len(archs)))
            n_bad = max(d + 1, len(archs) - n_good)
            data = np.asarray(archs, dtype=np.int64)[order]
            return (CategoricalKDE(data[:n_good], self._cards, self.min_bandwidth, self.bandwidth_rule),
                    CategoricalKDE(data[-n_bad:], self._cards, self.min_bandwidth, self.bandwidth_rule))
        return None

    def sample_config(self, level: int) -> Arch:
        """Model-based (max ``l/g`` among draws from ``l``) or, with ``random_fraction``, uniform."""
        seen = self._seen[level]
        model = None if self.rng.random() < self.random_fraction else self._model()
        if model is None:
            return sample_unseen(self.space, self.rng, seen)
        good, bad = model
        cands = good.sample(self.n_samples, self.rng, self.bandwidth_factor)
        ratio = good.log_density(cands) - bad.log_density(cands)
        for i in np.argsort(-ratio, kind="stable"):
            arch = tuple(int(v) for v in cands[i])
            if arch not in seen and self.space.is_valid(arch):
                self.n_model_samples += 1
                return arch
        return sample_unseen(self.space, self.rng, seen)

    def config(self) -> dict[str, Any]:
        """Hyper-parameters recorded with each run."""
        return {**super().config(), "top_fraction": self.top_fraction,
                "random_fraction": self.random_fraction, "n_samples": self.n_samples,
                "bandwidth_factor": self.bandwidth_factor, "min_bandwidth": self.min_bandwidth,
                "bandwidth_rule": self.bandwidth_rule}
