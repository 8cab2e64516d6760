"""How good is a supernet as an estimator: its ranking of a stated sample against the truth.

Weight sharing is only useful if the supernet ranks architectures the way training them from
scratch would (Sciuto et al. 2020 and the NB201 paper found it often does not). This module measures
that, over a stated sample of architectures:

* **Kendall tau-b** and **Spearman rho** of the supernet's scores against the truth
  (``scipy.stats.kendalltau`` / ``spearmanr``; tau-b handles the many ties of accuracies on a few
  hundred images);
* **top-k tau-b**: Kendall tau-b within the ``k = ceil(top_fraction * n)`` architectures with the
  highest truth (top 10% by default): does the supernet order the good ones, where a search decides;
* **regret of the supernet's pick**: the best truth in the sample minus the truth of the
  architecture the supernet scores highest. When several share the top score, the pick is a uniform
  draw among them and the regret is its expectation (best minus their mean truth); ``pick_ties``
  says how many there were.

The truth is an input (a function or a mapping ``arch -> value``), not built in: for the NB201 cell
space it is the shipped table's 200-epoch test accuracy (seed mean); for a macro space it would be
a live retraining of each sampled architecture. The sample is drawn uniformly (distinct
architectures) from a caller's ``numpy.random.Generator`` so that every run of a study can be
measured on the same architectures. Pairs where the score or the truth is not finite (a failed
evaluation) are left out and counted. Torch-free: the scores come from a callable.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from scipy import stats

from nasarena.errors import ConfigError
from nasarena.spaces.base import Arch, SearchSpace

#: The share of the sample (by truth) that the top-k tau is computed over.
TOP_FRACTION = 0.1


@dataclass(frozen=True)
class RankQuality:
    """Rank agreement of scores with the truth over ``n`` architectures (see the module docstring)."""

    n: int
    left_out: int
    kendall_tau_b: float
    spearman: float
    top_fraction: float
    top_k: int
    top_kendall_tau_b: float
    regret: float
    pick_truth: float
    pick_ties: int
    best_truth: float
    mean_truth: float

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready (non-finite values stay float NaN; the store writes them as null)."""
        return asdict(self)


def _statistic(result: Any) -> float:
    value = float(result.statistic)
    return value if math.isfinite(value) else math.nan


def rank_quality(scores: Sequence[float], truth: Sequence[float],
                 top_fraction: float = TOP_FRACTION) -> RankQuality:
    """Kendall tau-b, Spearman, top-k tau-b and the pick's regret of ``scores`` against ``truth``.

    Higher is better for both. Correlations are NaN where undefined (fewer than two pairs, or a
    constant side): scipy's answer, kept rather than replaced by a made-up number.
    """
    if not 0 < top_fraction <= 1:
        raise ConfigError(f"top_fraction must be in (0, 1], got {top_fraction}")
    s, t = np.asarray(scores, float), np.asarray(truth, float)
    if s.shape != t.shape or s.ndim != 1:
        raise ConfigError(f"scores and truth must be two 1-d sequences of one length, got {s.shape} "
                          f"and {t.shape}")
    keep = np.isfinite(s) & np.isfinite(t)
    s, t = s[keep], t[keep]
    n = len(s)
    if n == 0:
        raise ConfigError("no architecture has both a finite score and a finite truth; nothing to measure")
    k = min(n, max(2, math.ceil(top_fraction * n)))
    top = np.argsort(-t, kind="stable")[:k]
    tied = np.flatnonzero(s == s.max())
    pick = float(t[tied].mean())
    nan = math.nan
    with warnings.catch_warnings():  # a constant side is NaN (see above), not a warning
        warnings.simplefilter("ignore", stats.ConstantInputWarning)
        return RankQuality(
            n=n,
            left_out=int((~keep).sum()),
            kendall_tau_b=_statistic(stats.kendalltau(s, t, variant="b")) if n > 1 else nan,
            spearman=_statistic(stats.spearmanr(s, t)) if n > 1 else nan,
            top_fraction=float(top_fraction),
            top_k=int(k),
            top_kendall_tau_b=_statistic(stats.kendalltau(s[top], t[top], variant="b")) if k > 1 else nan,
            regret=float(t.max() - pick),
            pick_truth=pick,
            pick_ties=int(len(tied)),
            best_truth=float(t.max()),
            mean_truth=float(t.mean()),
        )


def sample_architectures(space: SearchSpace, n: int, rng: np.random.Generator) -> list[Arch]:
    """``n`` distinct architectures drawn uniformly from ``space`` with ``rng`` (fewer only if the
    space is smaller; at most ``50 n`` draws)."""
    if isinstance(n, bool) or int(n) < 2:
        raise ConfigError(f"a quality sample needs at least 2 architectures, got {n!r}")
    out: dict[Arch, None] = {}
    for _ in range(50 * int(n)):
        if len(out) >= n:
            break
        out.setdefault(tuple(int(v) for v in space.validate(space.sample(rng))), None)
    return list(out)


def measure(score: Callable[[Arch], float], truth: Callable[[Arch], float] | Mapping[Arch, float],
            archs: Sequence[Arch], top_fraction: float = TOP_FRACTION) -> RankQuality:
    """Score every architecture of ``archs`` and compare with ``truth`` (a function or a mapping)."""
    truth_of = truth.__getitem__ if isinstance(truth, Mapping) else truth
    return rank_quality([float(score(a)) for a in archs], [float(truth_of(a)) for a in archs], top_fraction)


def supernet_quality(oracle: Any, n: int, seed: int, truth: Callable[[Arch], float] | Mapping[Arch, float]
                     | None = None, truth_label: str | None = None,
                     top_fraction: float = TOP_FRACTION) -> dict[str, Any]:
    """The quality record of ``oracle``'s supernet as it is now (the run record's ``supernet_quality``).

    ``n`` distinct architectures are drawn uniformly with ``numpy.random.default_rng(seed)`` (the
    same sample for every run measured with that seed), scored with ``oracle.evaluate`` at the
    fidelity label of the epochs trained (not charged to any clock: the run is over) and compared
    with ``truth`` (default ``oracle.final_metric``, e.g. NB201's table; ``truth_label`` says what
    it is, default the oracle's ``final_metric_description``). The record states the
    supernet's training budget beside the figures: method, epochs, seconds, channels, cells and
    images, read from the oracle's current search.
    """
    search = oracle.search
    rng = np.random.default_rng(seed)
    archs = sample_architectures(oracle.space, n, rng)
    done = int(search.done)
    fid = oracle.fidelities[min(max(done, 1), len(oracle.fidelities)) - 1]
    q = measure(lambda a: oracle.evaluate(a, fid, rng).score,
                oracle.final_metric if truth is None else truth, archs, top_fraction)
    data = search.data
    budget = {
        "method": search.settings.method, "epochs": done, "epochs_scheduled": int(search.epochs),
        "seconds": float(getattr(oracle, "trained_seconds", math.nan)),
        "space": str(oracle.space.name), "dataset": str(oracle.dataset),
        # the supernet's size knobs: channels and cells (NB201), width_mult (a macro space's supernet)
        **{k: getattr(oracle, k) for k in ("channels", "cells", "width_mult") if hasattr(oracle, k)},
        "resolution": int(data.resolution), "weight_images": int(len(search.w_idx)),
        "arch_images": int(len(search.a_idx)), "score_images": int(len(search._score_y)),
        "batch_size": int(search.batch),
    }
    sample = {"size": n, "distinct": len(archs), "seed": int(seed), "draw": "uniform, distinct"}
    truth_text = truth_label or (oracle.describe().get("final_metric_description") if truth is None
                                 else None) or "the truth given by the caller"
    return {**q.as_dict(), "sample": sample, "budget": budget, "truth": str(truth_text),
            "score": f"supernet accuracy (%) on {budget['score_images']} fixed images of the "
                     f"architecture half after {done} epoch(s)"}


__all__ = ["TOP_FRACTION", "RankQuality", "measure", "rank_quality", "sample_architectures",
           "supernet_quality"]
