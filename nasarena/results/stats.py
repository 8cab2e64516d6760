"""Statistics of a study: the RL-vs-evolution verdict of Real et al. (2019) and pairwise comparisons.

Real et al. concluded that RL and (regularized) evolution reach the *same final accuracy*, that
evolution has *better anytime performance*, and that it finds *smaller models*. Each claim becomes
one test on the per-run table of :func:`nasarena.results.aggregate.run_table` (completed runs only):

1. same final accuracy: TOST equivalence (two one-sided Welch t-tests) with a stated margin in the
   metric's units (default 0.1 percentage points); a two-sided Mann-Whitney U test of difference is
   reported beside it, so "not shown equivalent" can be told apart from "shown different";
2. better anytime performance: one-sided Mann-Whitney U, evolution's regret area below RL's;
3. smaller models: one-sided Mann-Whitney U, evolution's final incumbent has fewer parameters.

Effect sizes: Cliff's delta (= rank-biserial correlation, from the U statistic) and the difference
of means with a Welch confidence interval, plus the difference of medians with a bootstrap interval.
The three claims are separate hypotheses of the original paper, so no multiplicity correction is
applied to them; the many-strategy comparisons against a reference are Benjamini-Hochberg adjusted.
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


@dataclass(frozen=True)
class TostResult:
    """Two one-sided tests for equivalence of means within ``(-margin, +margin)`` (x minus y)."""

    diff: float
    p_lower: float      # H0: diff <= -margin
    p_upper: float      # H0: diff >= +margin
    p_value: float      # max of the two: equivalence is shown when it is below alpha
    ci_low: float       # (1 - 2 alpha) Welch interval of the difference, inside the margin iff equivalent
    ci_high: float
    margin: float


def tost(x: np.ndarray, y: np.ndarray, margin: float, alpha: float = 0.05) -> TostResult:
    """TOST of mean(x) - mean(y) against ``±margin`` with Welch t-tests (unequal variances).

    Why Welch: strategies differ in spread (RL often has a heavier lower tail), so a pooled
    variance would be wrong. The two tests are ``scipy.stats.ttest_ind`` on samples shifted by the
    margin; the reported interval is the matching ``1 - 2 alpha`` Welch interval.
    """
    if margin <= 0:
        raise ConfigError(f"the equivalence margin must be positive, got {margin}")
    x, y = np.asarray(x, float), np.asarray(y, float)
    diff = float(x.mean() - y.mean())
    if np.ptp(x) == 0 and np.ptp(y) == 0:
        # No spread at all (e.g. every run found the optimum): the difference is known exactly.
        diff = float(x[0] - y[0])
        p_lo, p_up = float(diff <= -margin), float(diff >= margin)
        return TostResult(diff, p_lo, p_up, max(p_lo, p_up), diff, diff, float(margin))
    lower = stats.ttest_ind(x + margin, y, equal_var=False, alternative="greater")
    upper = stats.ttest_ind(x - margin, y, equal_var=False, alternative="less")
    ci = stats.ttest_ind(x, y, equal_var=False).confidence_interval(confidence_level=1 - 2 * alpha)
    return TostResult(diff=diff, p_lower=float(lower.pvalue),
                      p_upper=float(upper.pvalue), p_value=float(max(lower.pvalue, upper.pvalue)),
                      ci_low=float(ci.low), ci_high=float(ci.high), margin=float(margin))


def cliffs_delta(x: np.ndarray, y: np.ndarray) -> float:
    """P(X > Y) - P(X < Y), from the Mann-Whitney U of x (ties count half): the rank-biserial r."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    u = stats.mannwhitneyu(x, y, alternative="two-sided").statistic
    return float(2 * u / (len(x) * len(y)) - 1)


def median_diff_ci(x: np.ndarray, y: np.ndarray, rng: np.random.Generator, confidence: float = 0.95,
                   n_resamples: int = 2000) -> tuple[float, float]:
    """Percentile bootstrap interval of median(x) - median(y), resampling each group independently."""
    def stat(a: np.ndarray, b: np.ndarray, axis: int = -1) -> np.ndarray:
        return np.median(a, axis=axis) - np.median(b, axis=axis)

    res = stats.bootstrap((np.asarray(x, float), np.asarray(y, float)), stat, vectorized=True,
                          n_resamples=n_resamples, confidence_level=confidence, method="percentile",
                          rng=rng)
    return float(res.confidence_interval.low), float(res.confidence_interval.high)


@dataclass(frozen=True)
class Comparison:
    """x versus y on one per-run quantity: sizes, locations, effect sizes and one test."""

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


def compare(x: np.ndarray, y: np.ndarray, alternative: str, rng: np.random.Generator,
            confidence: float = 0.95) -> Comparison:
    """Mann-Whitney U of x vs y (``alternative`` as scipy's: 'two-sided', 'less', 'greater').

    Why Mann-Whitney: per-run finals, areas and sizes are bounded and skewed (many runs hit the same
    optimum), so a rank test is the honest default; the mean difference (Welch CI) and the median
    difference (bootstrap CI) give the size of the effect in the quantity's own units.
    """
    x = np.asarray(x, float)
    y = np.asarray(y, float)
    x, y = x[np.isfinite(x)], y[np.isfinite(y)]
    nan = float("nan")
    if len(x) < 2 or len(y) < 2:
        return Comparison(len(x), len(y), *(nan,) * 11, test="Mann-Whitney U", statistic=nan, p_value=nan)
    mw = stats.mannwhitneyu(x, y, alternative=alternative)
    if np.ptp(x) == 0 and np.ptp(y) == 0:
        welch = (float(x[0] - y[0]),) * 2
    else:
        ci = stats.ttest_ind(x, y, equal_var=False).confidence_interval(confidence_level=confidence)
        welch = (float(ci.low), float(ci.high))
    med = median_diff_ci(x, y, rng, confidence)
    return Comparison(
        n_x=len(x), n_y=len(y), mean_x=float(x.mean()), mean_y=float(y.mean()),
        median_x=float(np.median(x)), median_y=float(np.median(y)),
        mean_diff=float(x.mean() - y.mean()), mean_diff_low=welch[0], mean_diff_high=welch[1],
        median_diff=float(np.median(x) - np.median(y)), median_diff_low=med[0], median_diff_high=med[1],
        cliffs_delta=float(2 * mw.statistic / (len(x) * len(y)) - 1),
        test=f"Mann-Whitney U ({alternative})", statistic=float(mw.statistic), p_value=float(mw.pvalue))


CLAIMS: tuple[tuple[str, str, str], ...] = (
    ("same final accuracy", "final", "equivalence"),
    ("evolution has better anytime performance", "auc_time", "less"),
    ("evolution finds smaller models", "final_params", "less"),
)
"""(claim, per-run column, test): the three conclusions of Real et al. 2019, evolution versus RL."""


def verdict(table: pd.DataFrame, rng: np.random.Generator, *, rl: str = DEFAULT_RL,
            evolution: str = DEFAULT_EVOLUTION, margin: float = 0.1, alpha: float = 0.05,
            anytime: str = "auc_time") -> pd.DataFrame:
    """One row per setting and claim: the test, n per group, effect sizes, p-value and "holds" or not.

    ``table`` is :func:`~nasarena.results.aggregate.run_table`'s output (failed runs are dropped
    here). ``margin`` is in the final metric's units (percentage points for accuracies). ``anytime``
    picks the regret area (``auc_time`` or ``auc_evals``). A setting that lacks either strategy gets
    rows marked "not tested" with the reason, rather than being silently skipped.
    """
    if not 0 < alpha < 0.5:
        raise ConfigError(f"alpha must be in (0, 0.5), got {alpha}")
    ok = table[~table["failed"]] if "failed" in table else table
    rows: list[dict] = []
    for setting, sub in ok.groupby(list(SETTING_KEYS), sort=True, dropna=False):
        ident = dict(zip(SETTING_KEYS, setting, strict=True))
        groups = {name: sub[sub[S.STRATEGY] == name] for name in (rl, evolution)}
        for claim, column, kind in CLAIMS:
            column = anytime if column == "auc_time" else column
            base = {**ident, "claim": claim, "quantity": column, "evolution": evolution, "rl": rl}
            evo = groups[evolution][column].to_numpy(float)
            rlv = groups[rl][column].to_numpy(float)
            evo, rlv = evo[np.isfinite(evo)], rlv[np.isfinite(rlv)]
            if len(evo) < 2 or len(rlv) < 2:
                rows.append({**base, "n_evolution": len(evo), "n_rl": len(rlv), "verdict": "not tested",
                             "holds": False, "sentence": f"Needs at least two completed runs "
                             f"with a finite {column} for both {evolution!r} and {rl!r} "
                             f"(have {len(evo)} and {len(rlv)})."})
                continue
            alt = "two-sided" if kind == "equivalence" else kind
            c = compare(evo, rlv, alt, rng)
            row = {**base, **_renamed(c)}
            if kind == "equivalence":
                t = tost(evo, rlv, margin, alpha)
                row.update(test=f"TOST (Welch, margin ±{margin:g})", statistic=np.nan, p_value=t.p_value,
                           margin=margin, tost_ci_low=t.ci_low, tost_ci_high=t.ci_high,
                           p_difference=c.p_value, test_difference=c.test)
                holds = t.p_value < alpha
                row["sentence"] = _equivalence_sentence(t, c.p_value, alpha, evolution, rl)
            else:
                holds = c.p_value < alpha
                row["sentence"] = _one_sided_sentence(claim, column, c, alpha, evolution, rl, holds)
            row.update(alpha=alpha, holds=bool(holds), verdict="holds" if holds else "does not hold")
            rows.append(row)
    return pd.DataFrame(rows)


def _renamed(c: Comparison) -> dict:
    d = asdict(c)
    out = {"n_evolution": d.pop("n_x"), "n_rl": d.pop("n_y")}
    for key in ("mean", "median"):
        out[f"{key}_evolution"] = d.pop(f"{key}_x")
        out[f"{key}_rl"] = d.pop(f"{key}_y")
    return {**out, **d}


def _equivalence_sentence(t: TostResult, p_diff: float, alpha: float, evo: str, rl: str) -> str:
    ci = f"{1 - 2 * alpha:.0%} CI of the difference [{t.ci_low:+.3f}, {t.ci_high:+.3f}]"
    head = (f"Mean final metric of {evo} minus {rl} is {t.diff:+.3f} ({ci}); TOST against ±{t.margin:g} "
            f"gives p = {_p(t.p_value)}")
    if t.p_value < alpha:
        return head + f", so the two are equivalent within ±{t.margin:g}: the claim holds."
    side = "higher" if t.diff > 0 else "lower"
    tail = (f"a significant difference ({evo} {side}; Mann-Whitney p = {_p(p_diff)})" if p_diff < alpha else
            f"no significant difference either (Mann-Whitney p = {_p(p_diff)}), so the data are "
            f"inconclusive at this margin")
    return head + f", so equivalence within ±{t.margin:g} is not shown, with {tail}: the claim does not hold."


def _one_sided_sentence(claim: str, column: str, c: Comparison, alpha: float, evo: str, rl: str,
                        holds: bool) -> str:
    what = QUANTITY_NAMES.get(column, f"per-run {column}")
    return (f"Median {what}: {evo} {c.median_x:.4g} vs {rl} {c.median_y:.4g} "
            f"(difference {c.median_diff:+.4g}, "
            f"95% CI [{c.median_diff_low:+.4g}, {c.median_diff_high:+.4g}]; "
            f"Cliff's delta {c.cliffs_delta:+.2f}); one-sided Mann-Whitney p = {_p(c.p_value)}: "
            f"'{claim}' {'holds' if holds else 'does not hold'} at alpha = {alpha:g}.")


QUANTITY_NAMES: dict[str, str] = {
    "final": "final metric of the final incumbent",
    "regret": "final regret",
    "final_params": "parameters of the final incumbent (M)",
    "auc_time": "time-averaged regret (normalised area under the regret curve over simulated time)",
    "auc_evals": "evaluation-averaged regret (normalised area under the regret curve over evaluations)",
}
"""Readable names of the per-run quantities, for sentences and tables."""


def _p(p: float) -> str:
    return f"{p:.2e}" if p < 1e-3 else f"{p:.3f}"


COMPARED: tuple[tuple[str, str], ...] = (
    ("final", "higher"), ("regret", "lower"), ("auc_time", "lower"), ("auc_evals", "lower"),
    ("final_params", "lower"),
)
"""(per-run column, which direction is better) compared against the reference strategy."""


def compare_to_reference(table: pd.DataFrame, rng: np.random.Generator, reference: str = DEFAULT_EVOLUTION,
                         alpha: float = 0.05) -> pd.DataFrame:
    """Every strategy versus ``reference`` on each quantity of :data:`COMPARED`, per setting.

    Two-sided Mann-Whitney U per pair with Benjamini-Hochberg adjustment over the strategies of a
    setting and quantity (``p_adjusted``); ``outcome`` says "better", "worse" or "no significant
    difference" than the reference at ``alpha``, using the quantity's direction. Why: this ranks a
    new strategy among the baselines with one table, without testing every pair.
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
                c = compare(grp[column].to_numpy(float), ref[column].to_numpy(float), "two-sided", rng)
                block.append({**ident, S.STRATEGY: name, "reference": reference, "quantity": column,
                              "better": better, **asdict(c)})
            p = np.array([b["p_value"] for b in block], float)
            adj = np.full(len(p), np.nan)
            fin = np.isfinite(p)
            if fin.any():
                adj[fin] = stats.false_discovery_control(p[fin], method="bh")
            for b, pa in zip(block, adj, strict=True):
                b["p_adjusted"] = pa
                sign = np.sign(b["cliffs_delta"]) * (1 if better == "higher" else -1)
                b["outcome"] = ("no significant difference" if not pa < alpha or sign == 0
                                else "better" if sign > 0 else "worse")
            rows.extend(block)
    return pd.DataFrame(rows)
