"""Average ranks of strategies across settings, with a critical-difference summary (Demšar 2006).

When a study has several settings (datasets, oracles, worker counts: the blocks), a strategy's
per-setting numbers are not comparable across settings (accuracies on CIFAR-100 are lower than on
CIFAR-10), but its *rank* among the strategies is. Following Demšar (2006, JMLR 7:1-30):

1. per setting, each strategy's mean over its completed runs of a quantity (final metric, higher is
   better; regret area, lower is better) is ranked, 1 = best, ties share the mean rank;
2. the Friedman test (``scipy.stats.friedmanchisquare``) asks whether the average ranks differ;
3. the Nemenyi critical difference ``CD = q_alpha * sqrt(k (k + 1) / (6 N))`` (``q_alpha`` from
   ``scipy.stats.studentized_range`` divided by sqrt 2; k strategies, N settings) says which
   average ranks differ: two strategies whose average ranks are less than CD apart are not
   significantly different. Groups of such strategies are the bars of the CD diagram.

Only strategies with completed runs in every setting are ranked (the others are named). The
post-hoc reading is only warranted when the Friedman test rejects; the report says so.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from scipy import stats

from nasarena.errors import ConfigError
from nasarena.results import schema as S
from nasarena.results.aggregate import SETTING_KEYS

RANKED: tuple[tuple[str, bool], ...] = (("final", True), ("auc_time", False))
"""(per-run quantity, higher is better) ranked across settings in the report."""


@dataclass(frozen=True)
class RankSummary:
    """Average ranks of one quantity over N settings, with Friedman's test and Nemenyi's CD."""

    quantity: str
    higher_is_better: bool
    ranks: pd.DataFrame                 # settings (rows) x strategies: rank in that setting
    mean_ranks: pd.Series               # strategy -> average rank, best first
    n_settings: int
    friedman_statistic: float
    friedman_p: float
    cd: float
    alpha: float
    cliques: list[tuple[str, ...]] = field(default_factory=list)
    excluded: tuple[str, ...] = ()
    note: str = ""

    def table(self) -> pd.DataFrame:
        """One row per strategy, best first: average rank and its rank in each setting."""
        per = self.ranks.T
        per.columns = [" · ".join(str(v) for v in c) if isinstance(c, tuple) else str(c) for c in per.columns]
        out = pd.DataFrame({S.STRATEGY: self.mean_ranks.index, "average rank": self.mean_ranks.to_numpy()})
        return pd.concat([out, per.loc[self.mean_ranks.index].reset_index(drop=True)], axis=1)


def nemenyi_cd(k: int, n: int, alpha: float = 0.05) -> float:
    """Nemenyi's critical difference of average ranks for k strategies over n blocks."""
    if k < 2 or n < 1:
        raise ConfigError(f"a critical difference needs k >= 2 strategies and n >= 1 blocks, got {k}, {n}")
    q = float(stats.studentized_range.ppf(1 - alpha, k, np.inf)) / math.sqrt(2)
    return q * math.sqrt(k * (k + 1) / (6.0 * n))


def average_ranks(table: pd.DataFrame, quantity: str = "final", higher_is_better: bool = True,
                  alpha: float = 0.05) -> RankSummary | None:
    """Average ranks of ``quantity`` across the settings of :func:`run_table`'s output.

    Returns None when there are fewer than two settings or two strategies common to all of them
    (nothing to rank across). The Friedman test needs at least three strategies; with two, its
    fields are NaN and ``note`` says why.
    """
    ok = table[~table["failed"]] if "failed" in table else table
    ok = ok[np.isfinite(ok[quantity].to_numpy(float))] if quantity in ok else ok.iloc[:0]
    means = ok.groupby([*SETTING_KEYS, S.STRATEGY], dropna=False)[quantity].mean().unstack(S.STRATEGY)
    if len(means) < 2:
        return None
    complete = [c for c in means.columns if means[c].notna().all()]
    excluded = tuple(sorted(set(means.columns) - set(complete)))
    means = means[sorted(complete)]
    k, n = means.shape[1], means.shape[0]
    if k < 2:
        return None
    ranks = means.rank(axis=1, ascending=not higher_is_better, method="average")
    mean_ranks = ranks.mean(axis=0).sort_values(kind="stable")
    stat, p, note = float("nan"), float("nan"), ""
    if k < 3:
        note = "the Friedman test needs at least three strategies"
    elif (ranks.nunique(axis=1) == 1).all():
        note = "every setting ties all strategies, so the Friedman test cannot be done"
    else:
        res = stats.friedmanchisquare(*(means[c].to_numpy(float) for c in means.columns))
        stat, p = float(res.statistic), float(res.pvalue)
    cd = nemenyi_cd(k, n, alpha)
    return RankSummary(quantity=quantity, higher_is_better=higher_is_better, ranks=ranks,
                       mean_ranks=mean_ranks, n_settings=n, friedman_statistic=stat, friedman_p=p,
                       cd=cd, alpha=alpha, cliques=cliques(mean_ranks, cd), excluded=excluded, note=note)


def cliques(mean_ranks: pd.Series, cd: float) -> list[tuple[str, ...]]:
    """Maximal runs of strategies (in rank order) whose average ranks lie within ``cd`` of each other.

    These are the bars of a CD diagram; a run contained in a longer one is dropped, and single
    strategies are not bars.
    """
    names, values = list(mean_ranks.index), mean_ranks.to_numpy(float)
    runs: list[tuple[int, int]] = []
    for i in range(len(values)):
        j = i
        while j + 1 < len(values) and values[j + 1] - values[i] < cd:
            j += 1
        if j > i and not any(a <= i and j <= b for a, b in runs):
            runs.append((i, j))
    return [tuple(names[a:b + 1]) for a, b in runs]


def plot_cd(summaries: list[RankSummary], names: dict[str, str]) -> Figure:
    """Critical-difference diagrams, one panel per quantity: rank axis, strategies, CD bars.

    ``names`` maps a quantity to its readable name. The best rank is on the left; a thick bar joins
    strategies that are not significantly different (Nemenyi, at the summary's alpha).
    """
    k_max = max(len(s.mean_ranks) for s in summaries)
    height = 1.2 + 0.28 * k_max
    fig = Figure(figsize=(8.0, height * len(summaries)), layout="constrained")
    axes = fig.subplots(len(summaries), 1, squeeze=False).ravel()
    for ax, s in zip(axes, summaries, strict=True):
        k = len(s.mean_ranks)
        ax.set_xlim(0.5, k + 0.5)
        ax.set_ylim(-(k // 2 + 1) - 0.6, 2.1)
        ax.axis("off")
        ax.hlines(1, 1, k, color="black", lw=1)
        for r in range(1, k + 1):
            ax.vlines(r, 1, 1.15, color="black", lw=1)
            ax.text(r, 1.25, str(r), ha="center", va="bottom", fontsize=8)
        half = math.ceil(k / 2)
        for i, (name, rank) in enumerate(s.mean_ranks.items()):
            left = i < half
            row = -(i + 1) if left else -(k - i)
            x_text = 0.55 if left else k + 0.45
            ax.plot([rank, rank, x_text], [1, row, row], color="0.35", lw=0.8)
            ax.text(x_text, row + 0.12, f"{name} ({rank:.2f})", ha="left" if left else "right",
                    va="bottom", fontsize=8)
        for j, group in enumerate(s.cliques):
            lo, hi = s.mean_ranks[group[0]], s.mean_ranks[group[-1]]
            y = 0.75 - 0.22 * j
            ax.hlines(y, lo - 0.03, hi + 0.03, color="black", lw=3)
        ax.hlines(1.75, 1, 1 + s.cd, color="tab:red", lw=2)
        ax.text(1 + s.cd / 2, 1.8, f"CD = {s.cd:.2f}", ha="center", va="bottom", fontsize=8,
                color="tab:red")
        friedman = (f"Friedman p = {s.friedman_p:.3g}" if np.isfinite(s.friedman_p) else s.note)
        better = "higher is better" if s.higher_is_better else "lower is better"
        ax.set_title(f"average rank of the mean {names.get(s.quantity, s.quantity)} ({better}) over "
                     f"{s.n_settings} settings; {friedman}", fontsize=9, loc="left")
    return fig
