"""Two-sample statistics of a study: matched or unmatched designs, rank tests, TOST, effect sizes.

The RL-vs-evolution verdict (:mod:`nasarena.results.verdict`) and the comparison of every strategy
with a reference (:func:`compare_to_reference`) are built from these pieces.

Design: strategies of one study share seeds (seed 0's first architectures are the same for random,
RE and evolution), so runs are matched on (setting, seed, budget). When matched pairs exist for at
least half the runs of each group (:func:`match`), the tests are **paired**: Wilcoxon signed-rank
(Pratt's treatment of zero differences), a paired TOST (one-sample t-tests of the differences) and
bootstrap intervals that resample pairs; runs without a partner are left out and counted. Otherwise
the tests are **unpaired**: Mann-Whitney U, a Welch TOST and bootstrap intervals that resample each
group on its own. Every interval is a 95% percentile bootstrap (``scipy.stats.bootstrap``).

Effect size: Cliff's delta (= rank-biserial correlation of the two samples, from the U statistic).
The three claims are separate hypotheses of the original paper, so no multiplicity correction is
applied to them; the many-strategy comparisons against a reference are Benjamini-Hochberg adjusted.
Degenerate inputs (n < 2, identical samples, all paired differences zero) are decided explicitly
with a reason instead of being passed to scipy, which would warn and return NaN.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd
from scipy import stats

from nasarena.errors import ConfigError
from nasarena.results import schema as S
from nasarena.results.aggregate import SETTING_KEYS
from nasarena.results.schema import DEFAULT_EVOLUTION, DEFAULT_RL  # noqa: F401 (re-exported)

CONFIDENCE = 0.95
"""The one interval level of every report table and figure."""
PAIR_KEYS: tuple[str, ...] = (S.SEED, "max_time", "max_evals")
"""Columns (within a setting) on which runs of two strategies are matched, where present."""


@dataclass(frozen=True)
class Sample:
    """The two groups of one test: x and y, aligned pair by pair when ``paired``."""

    x: np.ndarray
    y: np.ndarray
    paired: bool
    n_left_out: int = 0     # completed runs without a partner, not used by a paired test

    @property
    def design(self) -> str:
        return "paired" if self.paired else "unpaired"


def match(gx: pd.DataFrame, gy: pd.DataFrame, column: str) -> Sample:
    """Pair the runs of two strategies of one setting on :data:`PAIR_KEYS`; else keep them unpaired.

    Paired when at least two matched pairs exist and they cover at least half of the runs of each
    group (so a few shared seeds do not throw most of the data away). Only runs with a finite
    ``column`` count.
    """
    keys = [k for k in PAIR_KEYS if k in gx and k in gy]
    fx = gx[np.isfinite(gx[column].to_numpy(float))]
    fy = gy[np.isfinite(gy[column].to_numpy(float))]
    unpaired = Sample(fx[column].to_numpy(float), fy[column].to_numpy(float), paired=False)
    if S.SEED not in keys:
        return unpaired
    vx = dict(zip(_pair_keys(fx, keys), fx[column], strict=True))
    vy = dict(zip(_pair_keys(fy, keys), fy[column], strict=True))
    if len(vx) < len(fx) or len(vy) < len(fy):  # a key twice: no unique partner
        return unpaired
    both = [k for k in vx if k in vy]  # in x's order
    if len(both) < 2 or len(both) < 0.5 * max(len(fx), len(fy)):
        return unpaired
    x = np.array([vx[k] for k in both], float)
    y = np.array([vy[k] for k in both], float)
    return Sample(x, y, paired=True, n_left_out=len(fx) + len(fy) - 2 * len(both))


def _pair_keys(df: pd.DataFrame, keys: list[str]) -> list[tuple[str, ...]]:
    """Hashable match keys; missing budget fields (None or NaN) compare equal to each other."""
    return [tuple("-" if pd.isna(v) else str(v) for v in row) for row in df[keys].itertuples(index=False)]


@dataclass(frozen=True)
class TostResult:
    """Two one-sided tests for equivalence of means within ``(-margin, +margin)`` (x minus y)."""

    diff: float
    p_lower: float      # H0: diff <= -margin
    p_upper: float      # H0: diff >= +margin
    p_value: float      # max of the two: equivalence is shown when it is below alpha
    ci_low: float       # (1 - 2 alpha) t interval of the difference, inside the margin iff equivalent
    ci_high: float
    margin: float
    paired: bool = False


def tost(x: np.ndarray, y: np.ndarray, margin: float, alpha: float = 0.05,
         paired: bool = False) -> TostResult:
    """TOST of mean(x) - mean(y) against ``±margin``: Welch t-tests, or one-sample t-tests of x - y.

    Why Welch when unpaired: strategies differ in spread (RL often has a heavier lower tail), so a
    pooled variance would be wrong. Paired: the matched differences carry the comparison. Values are
    centred first (the tests are shift-invariant), so accuracies near 91.6 with tiny spread do not
    lose precision. Without any spread the difference is known exactly and decided as such.
    """
    if margin <= 0:
        raise ConfigError(f"the equivalence margin must be positive, got {margin}")
    x, y = np.asarray(x, float), np.asarray(y, float)
    if paired:
        d = x - y
        diff = float(d.mean())
        flat = np.ptp(d) == 0
    else:
        diff = float(x.mean() - y.mean())
        flat = np.ptp(x) == 0 and np.ptp(y) == 0
    if flat:
        diff = float(d[0]) if paired else float(x[0] - y[0])
        p_lo, p_up = float(diff <= -margin), float(diff >= margin)
        return TostResult(diff, p_lo, p_up, max(p_lo, p_up), diff, diff, float(margin), paired)
    level = 1 - 2 * alpha
    if paired:
        lower = stats.ttest_1samp(d, -margin, alternative="greater")
        upper = stats.ttest_1samp(d, margin, alternative="less")
        ci = stats.ttest_1samp(d, 0.0).confidence_interval(confidence_level=level)
        low, high = float(ci.low), float(ci.high)
    elif np.ptp(x) == 0 or np.ptp(y) == 0:
        # One group without spread: Welch's test reduces to a one-sample t-test of the other group
        # against that constant (the Welch-Satterthwaite df become n - 1); scipy would warn about
        # "catastrophic cancellation" computing the zero variance of the constant group.
        if np.ptp(y) == 0:  # e = x - c has mean diff
            e = x - float(y[0])
            lower = stats.ttest_1samp(e, -margin, alternative="greater")
            upper = stats.ttest_1samp(e, margin, alternative="less")
            ci = stats.ttest_1samp(e, 0.0).confidence_interval(confidence_level=level)
            low, high = float(ci.low), float(ci.high)
        else:  # e = y - c has mean -diff
            e = y - float(x[0])
            lower = stats.ttest_1samp(e, margin, alternative="less")
            upper = stats.ttest_1samp(e, -margin, alternative="greater")
            ci = stats.ttest_1samp(e, 0.0).confidence_interval(confidence_level=level)
            low, high = -float(ci.high), -float(ci.low)
    else:
        centre = float(np.median(np.concatenate([x, y])))
        xc, yc = x - centre, y - centre
        lower = stats.ttest_ind(xc + margin, yc, equal_var=False, alternative="greater")
        upper = stats.ttest_ind(xc - margin, yc, equal_var=False, alternative="less")
        ci = stats.ttest_ind(xc, yc, equal_var=False).confidence_interval(confidence_level=level)
        low, high = float(ci.low), float(ci.high)
    return TostResult(diff=diff, p_lower=float(lower.pvalue), p_upper=float(upper.pvalue),
                      p_value=float(max(lower.pvalue, upper.pvalue)), ci_low=low, ci_high=high,
                      margin=float(margin), paired=paired)


def cliffs_delta(x: np.ndarray, y: np.ndarray) -> float:
    """P(X > Y) - P(X < Y), from the Mann-Whitney U of x (ties count half): the rank-biserial r."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    u = stats.mannwhitneyu(x, y, alternative="two-sided").statistic
    return float(2 * u / (len(x) * len(y)) - 1)


def _bootstrap_ci(sample: Sample, stat: str, rng: np.random.Generator,
                  n_resamples: int = 2000) -> tuple[float, float]:
    """95% percentile bootstrap interval of the mean or median difference.

    Paired: resample pairs (the statistic of x - y); unpaired: resample each group independently
    (statistic of x minus statistic of y). A sample without spread has the exact value as interval.
    """
    f = np.mean if stat == "mean" else np.median
    if sample.paired:
        d = sample.x - sample.y
        if np.ptp(d) == 0:
            return float(d[0]), float(d[0])
        data: tuple[np.ndarray, ...] = (d,)

        def statistic(a: np.ndarray, axis: int = -1) -> np.ndarray:
            return f(a, axis=axis)
    else:
        if np.ptp(sample.x) == 0 and np.ptp(sample.y) == 0:
            value = float(sample.x[0] - sample.y[0])
            return value, value
        data = (sample.x, sample.y)

        def statistic(a: np.ndarray, b: np.ndarray, axis: int = -1) -> np.ndarray:  # type: ignore[misc]
            return f(a, axis=axis) - f(b, axis=axis)
    res = stats.bootstrap(data, statistic, vectorized=True, n_resamples=n_resamples,
                          confidence_level=CONFIDENCE, method="percentile", rng=rng)
    return float(res.confidence_interval.low), float(res.confidence_interval.high)


def rank_test(sample: Sample, alternative: str) -> tuple[str, float, float, str]:
    """(test name, statistic, p-value, note) of Wilcoxon signed-rank (paired) or Mann-Whitney U.

    Degenerate samples are not passed to scipy: identical values (or all paired differences zero)
    give p = NaN with a note saying why, which the verdict reads as "inconclusive".
    """
    if sample.paired:
        name = f"Wilcoxon signed-rank ({alternative})"
        d = sample.x - sample.y
        if not np.any(d != 0):
            return name, float("nan"), float("nan"), "every matched pair has the same value, so no test"
        res = stats.wilcoxon(sample.x, sample.y, zero_method="pratt", alternative=alternative)
        return name, float(res.statistic), float(res.pvalue), ""
    name = f"Mann-Whitney U ({alternative})"
    if np.ptp(np.concatenate([sample.x, sample.y])) == 0:
        return name, float("nan"), float("nan"), "every run of both strategies has the same value, so no test"
    res = stats.mannwhitneyu(sample.x, sample.y, alternative=alternative)
    return name, float(res.statistic), float(res.pvalue), ""


@dataclass(frozen=True)
class Comparison:
    """x versus y on one per-run quantity: sizes, locations, effect sizes and one rank test.

    Paired: ``median_diff`` is the median of the matched differences; unpaired: the difference of
    the medians. Intervals are 95% percentile bootstrap intervals.
    """

    n_x: int
    n_y: int
    mean_x: float
    mean_y: float
    median_x: float
    median_y: float
    mean_diff: float
    mean_diff_low: float
    mean_diff_high: float
    median_diff: float
    median_diff_low: float
    median_diff_high: float
    cliffs_delta: float
    test: str
    statistic: float
    p_value: float
    design: str = "unpaired"
    n_left_out: int = 0
    note: str = ""


def compare(x: np.ndarray | Sample, y: np.ndarray | None = None, alternative: str = "two-sided",
            rng: np.random.Generator | None = None) -> Comparison:
    """Rank test of x vs y (``alternative`` as scipy's: 'two-sided', 'less', 'greater').

    ``x`` is a :class:`Sample` (from :func:`match`, paired or not) or an array with ``y`` (unpaired).
    Why rank tests: per-run finals, areas and sizes are bounded and skewed (many runs hit the same
    optimum); the mean and median differences (bootstrap intervals) give the effect in the
    quantity's own units. Fewer than two finite values in a group: every number is NaN, with a note.
    """
    if rng is None:
        raise ConfigError("compare needs the report's random generator (rng=) for its bootstrap")
    if isinstance(x, Sample):
        sample = x
    else:
        xa, ya = np.asarray(x, float), np.asarray(y, float)
        sample = Sample(xa[np.isfinite(xa)], ya[np.isfinite(ya)], paired=False)
    nx, ny = len(sample.x), len(sample.y)
    nan = float("nan")
    test = "Wilcoxon signed-rank" if sample.paired else "Mann-Whitney U"
    if nx < 2 or ny < 2:
        return Comparison(nx, ny, *(nan,) * 11, test=test, statistic=nan, p_value=nan,
                          design=sample.design, n_left_out=sample.n_left_out,
                          note=f"needs at least two runs per strategy (have {nx} and {ny})")
    test, statistic, p, note = rank_test(sample, alternative)
    mean_ci = _bootstrap_ci(sample, "mean", rng)
    median_ci = _bootstrap_ci(sample, "median", rng)
    median_diff = (float(np.median(sample.x - sample.y)) if sample.paired
                   else float(np.median(sample.x) - np.median(sample.y)))
    return Comparison(
        n_x=nx, n_y=ny, mean_x=float(sample.x.mean()), mean_y=float(sample.y.mean()),
        median_x=float(np.median(sample.x)), median_y=float(np.median(sample.y)),
        mean_diff=float(sample.x.mean() - sample.y.mean()), mean_diff_low=mean_ci[0],
        mean_diff_high=mean_ci[1], median_diff=median_diff, median_diff_low=median_ci[0],
        median_diff_high=median_ci[1], cliffs_delta=cliffs_delta(sample.x, sample.y), test=test,
        statistic=statistic, p_value=p, design=sample.design, n_left_out=sample.n_left_out, note=note)


def p_text(p: float) -> str:
    """A p-value for a sentence: 3 decimals, scientific below 0.001, "n/a" when no test was done."""
    if not np.isfinite(p):
        return "n/a"
    return f"{p:.2e}" if p < 1e-3 else f"{p:.3f}"


QUANTITY_NAMES: dict[str, str] = {
    "final": "final metric of the final incumbent",
    "regret": "final regret",
    "final_params": "parameters of the final incumbent (M)",
    "auc_time": "time-averaged regret (normalised area under the regret curve over simulated time)",
    "auc_evals": "evaluation-averaged regret (normalised area under the regret curve over evaluations)",
}
"""Readable names of the per-run quantities, for sentences and tables."""


def _direction(c: dict) -> float:
    """Sign of "x above y": the median paired difference (its mean when that is 0) for paired
    samples, Cliff's delta for unpaired ones, matching what each rank test looks at."""
    if c["design"] == "paired":
        return float(np.sign(c["median_diff"]) or np.sign(c["mean_diff"]))
    return float(np.sign(c["cliffs_delta"]))


COMPARED: tuple[tuple[str, str], ...] = (
    ("final", "higher"), ("regret", "lower"), ("auc_time", "lower"), ("auc_evals", "lower"),
    ("final_params", "lower"),
)
"""(per-run column, which direction is better) compared against the reference strategy."""


def compare_to_reference(table: pd.DataFrame, rng: np.random.Generator, reference: str = DEFAULT_EVOLUTION,
                         alpha: float = 0.05) -> pd.DataFrame:
    """Every strategy versus ``reference`` on each quantity of :data:`COMPARED`, per setting.

    Two-sided rank test per pair (paired Wilcoxon on matched seeds where :func:`match` finds pairs,
    else Mann-Whitney U) with Benjamini-Hochberg adjustment over the strategies of a setting and
    quantity (``p_adjusted``); ``outcome`` says "better", "worse" or "no significant difference"
    than the reference at ``alpha``, using the quantity's direction and the sign of the median
    difference. Why: this ranks a new strategy among the baselines with one table, without testing
    every pair.
    """
    ok = table[~table["failed"]] if "failed" in table else table
    rows: list[dict] = []
    for setting, sub in ok.groupby(list(SETTING_KEYS), sort=True, dropna=False):
        ident = dict(zip(SETTING_KEYS, setting, strict=True))
        ref = sub[sub[S.STRATEGY] == reference]
        if ref.empty:
            continue
        for column, better in COMPARED:
            if column not in sub:
                continue
            block: list[dict] = []
            for name, grp in sub[sub[S.STRATEGY] != reference].groupby(S.STRATEGY, sort=True):
                c = compare(match(grp, ref, column), alternative="two-sided", rng=rng)
                block.append({**ident, S.STRATEGY: name, "reference": reference, "quantity": column,
                              "better": better, **asdict(c)})
            p = np.array([b["p_value"] for b in block], float)
            adj = np.full(len(p), np.nan)
            fin = np.isfinite(p)
            if fin.any():
                adj[fin] = stats.false_discovery_control(p[fin], method="bh")
            for b, pa in zip(block, adj, strict=True):
                b["p_adjusted"] = pa
                sign = _direction(b) * (1 if better == "higher" else -1)
                b["outcome"] = ("no significant difference" if not pa < alpha or sign == 0
                                else "better" if sign > 0 else "worse")
            rows.extend(block)
    return pd.DataFrame(rows)
