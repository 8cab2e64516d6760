"""Multi-objective helpers shared by strategies and results: objective vectors, dominance,
non-dominated sorting, crowding distance and hypervolume.

Convention: the first objective is always the search ``score`` (maximised); the others (``params``,
``flops``, ``latency`` or any key of ``Evaluation.extras``) are minimised. Internally every vector
is turned into *minimisation* form (``-score, params, ...``) so that one dominance rule serves all.
The helpers are pure numpy and live outside the rooms so that both a strategy
(:mod:`nasarena.strategies.multiobjective`) and the reports (:mod:`nasarena.results.pareto`) use
them without results importing strategies.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from nasarena.errors import ConfigError
from nasarena.estimators.base import Evaluation

#: Objectives read from ``Evaluation`` attributes; anything else is looked up in ``extras``.
ATTRIBUTE_OBJECTIVES: tuple[str, ...] = ("score", "params", "flops")
KNOWN_OBJECTIVES: tuple[str, ...] = (*ATTRIBUTE_OBJECTIVES, "latency")


def parse_objectives(objectives: str | Sequence[str] | None) -> tuple[str, ...]:
    """Normalise an ``objectives`` argument to a tuple starting with ``"score"``.

    Accepts ``None`` (score only), a comma-separated string (``"score,params"``, handy from the CLI)
    or a sequence. Score must come first because every report ranks by it and the others are costs.
    """
    if objectives is None:
        return ("score",)
    names = tuple(s.strip() for s in objectives.split(",")) if isinstance(objectives, str) \
        else tuple(objectives)
    if not names or names[0] != "score":
        raise ConfigError(f"objectives must start with 'score' (maximised), then costs to minimise "
                          f"such as {', '.join(KNOWN_OBJECTIVES[1:])}; got {names!r}")
    if len(set(names)) != len(names):
        raise ConfigError(f"objectives contain a duplicate: {names!r}")
    return names


def objective_vector(evaluation: Evaluation, objectives: Sequence[str]) -> np.ndarray:
    """The evaluation's objectives in minimisation form (``-score``, then the costs).

    Returns NaNs where a value is unknown (a failed evaluation, or an oracle without that metric);
    callers treat a vector with a NaN as infeasible rather than guessing.
    """
    out = np.empty(len(objectives))
    for i, name in enumerate(objectives):
        if name in ATTRIBUTE_OBJECTIVES:
            value = float(getattr(evaluation, name))
        else:
            value = float(evaluation.extras.get(name, math.nan))
        out[i] = -value if i == 0 else value
    return out


def dominates(a: np.ndarray, b: np.ndarray) -> bool:
    """Whether ``a`` Pareto-dominates ``b`` (minimisation): no worse anywhere, better somewhere."""
    return bool(np.all(a <= b) and np.any(a < b))


def non_dominated_ranks(points: np.ndarray) -> np.ndarray:
    """Front index of every row (0 = non-dominated), minimisation, O(n^2 d) vectorised.

    Fronts are peeled one at a time (Deb et al. 2002); the populations this serves are small
    (tens to a few hundred), where the vectorised pairwise test beats bookkeeping-heavy variants.
    """
    pts = np.asarray(points, dtype=float)
    n = len(pts)
    ranks = np.full(n, -1, dtype=np.int64)
    if n == 0:
        return ranks
    le = np.all(pts[:, None, :] <= pts[None, :, :], axis=2)
    lt = np.any(pts[:, None, :] < pts[None, :, :], axis=2)
    dom = le & lt  # dom[i, j]: i dominates j
    remaining = np.ones(n, dtype=bool)
    front = 0
    while remaining.any():
        dominated = (dom[remaining][:, remaining]).any(axis=0)
        idx = np.flatnonzero(remaining)[~dominated]
        ranks[idx] = front
        remaining[idx] = False
        front += 1
    return ranks


def pareto_mask(points: np.ndarray) -> np.ndarray:
    """Boolean mask of the non-dominated rows (minimisation).

    Two objectives (every report's case: accuracy vs size) take an O(n log n) sweep instead of the
    O(n^2) pairwise test, which made reports of multi-objective studies slow. Rows with a NaN
    neither dominate nor are dominated, as in :func:`non_dominated_ranks`.
    """
    pts = np.asarray(points, dtype=float)
    if pts.ndim != 2 or pts.shape[1] != 2:
        return non_dominated_ranks(pts) == 0
    mask = np.ones(len(pts), dtype=bool)
    finite = np.flatnonzero(~np.isnan(pts).any(axis=1))
    if finite.size == 0:
        return mask
    x, y = pts[finite, 0], pts[finite, 1]
    order = np.lexsort((y, x))  # by x, then y
    xs, ys = x[order], y[order]
    starts = np.r_[True, xs[1:] != xs[:-1]]
    group = np.cumsum(starts) - 1
    group_min = ys[starts]  # smallest y of each equal-x group (rows are sorted by y within it)
    before = np.r_[np.inf, np.minimum.accumulate(group_min)[:-1]]  # best y at strictly smaller x
    # A row survives iff it is the best of its x-group and strictly beats every smaller-x row.
    keep = (ys == group_min[group]) & (group_min[group] < before[group])
    mask[finite[order]] = keep
    return mask


def crowding_distance(points: np.ndarray) -> np.ndarray:
    """NSGA-II crowding distance of each row within its set (boundary points get +inf).

    Used to break ties between equally ranked points in favour of sparse regions of the front,
    which keeps the population spread along the trade-off instead of collapsing onto one end.
    """
    pts = np.asarray(points, dtype=float)
    n, d = pts.shape if pts.ndim == 2 else (len(pts), 1)
    dist = np.zeros(n)
    if n <= 2:
        return np.full(n, np.inf)
    for j in range(d):
        order = np.argsort(pts[:, j], kind="stable")
        col = pts[order, j]
        span = col[-1] - col[0]
        dist[order[0]] = dist[order[-1]] = np.inf
        if span > 0:
            dist[order[1:-1]] += (col[2:] - col[:-2]) / span
    return dist


def hypervolume(points: np.ndarray, reference: Sequence[float]) -> float:
    """Hypervolume dominated by ``points`` (minimisation) and bounded by ``reference``.

    Points not strictly better than the reference in every objective contribute nothing. 2-D is
    computed exactly by a sweep over the front sorted on the first objective; higher dimensions use
    Optuna's exact WFG implementation (``optuna._hypervolume``).
    """
    pts = np.asarray(points, dtype=float).reshape(-1, len(reference))
    ref = np.asarray(reference, dtype=float)
    pts = pts[np.all(np.isfinite(pts), axis=1) & np.all(pts < ref, axis=1)]
    if len(pts) == 0:
        return 0.0
    pts = pts[pareto_mask(pts)]
    if pts.shape[1] == 2:
        pts = pts[np.argsort(pts[:, 0], kind="stable")]
        widths = np.diff(np.append(pts[:, 0], ref[0]))
        return float(np.sum(widths * (ref[1] - np.minimum.accumulate(pts[:, 1]))))
    from optuna._hypervolume import compute_hypervolume  # exact WFG for d > 2

    return float(compute_hypervolume(pts, ref))
