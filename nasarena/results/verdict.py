"""The RL-vs-evolution verdict of Real et al. (2019): three claims, three outcomes each.

Real et al. concluded that RL and (regularized) evolution reach the *same final accuracy*, that
evolution has *better anytime performance*, and that it finds *smaller models*. Each claim becomes
one decision on the per-run table of :func:`nasarena.results.aggregate.run_table` (completed runs
only), with three outcomes, because "not shown" is not "shown false":

* **holds**: the data show the claim;
* **refuted**: the data show the opposite;
* **inconclusive**: neither (too few runs, too much spread, or a difference too small to tell).

The decision rule (alpha = 0.05 unless given; ``d`` = evolution minus RL):

1. *same final accuracy* (equivalence within ``±margin``, in the metric's units):
   holds when TOST gives p < alpha (both one-sided tests reject ``|mean d| >= margin``);
   refuted when the two-sided difference test gives p < alpha *and* the 95% bootstrap interval of
   the mean difference lies entirely outside ``[-margin, +margin]`` (a difference larger than the
   margin is shown); inconclusive otherwise (for example a significant difference whose interval
   still reaches into the margin, or neither test significant).
2. *better anytime performance* (evolution's regret area lower) and 3. *smaller models* (evolution's
   final incumbent has fewer parameters): holds when the one-sided test "evolution lower" gives
   p < alpha, refuted when the one-sided test "evolution higher" gives p < alpha, inconclusive
   otherwise (including samples that are identical, where no test can say anything).

Which tests (paired on matched seeds or unpaired), the intervals and the handling of degenerate
samples are those of :mod:`nasarena.results.stats`.
"""

from __future__ import annotations

from dataclasses import asdict

import numpy as np
import pandas as pd

from nasarena.errors import ConfigError
from nasarena.results import schema as S
from nasarena.results.aggregate import SETTING_KEYS
from nasarena.results.schema import DEFAULT_EVOLUTION, DEFAULT_RL
from nasarena.results.stats import QUANTITY_NAMES, Comparison, TostResult, compare, match, rank_test, tost
from nasarena.results.stats import p_text as _p

OUTCOMES: tuple[str, ...] = ("holds", "refuted", "inconclusive", "not tested")
"""The verdict of a claim: the three outcomes of the rule above, or "not tested" (too few runs)."""

CLAIMS: tuple[tuple[str, str, str], ...] = (
    ("same final accuracy", "final", "equivalence"),
    ("evolution has better anytime performance", "auc_time", "less"),
    ("evolution finds smaller models", "final_params", "less"),
)
"""(claim, per-run column, test): the three conclusions of Real et al. 2019, evolution versus RL."""

_OPPOSITE = {"less": "greater", "greater": "less"}


def decide_equivalence(p_tost: float, p_difference: float, ci: tuple[float, float], margin: float,
                       alpha: float) -> str:
    """The equivalence claim's outcome by the rule of the module docstring."""
    if p_tost < alpha:
        return "holds"
    outside = ci[0] > margin or ci[1] < -margin
    if p_difference < alpha and outside:
        return "refuted"
    return "inconclusive"


def decide_one_sided(p_claim: float, p_opposite: float, alpha: float) -> str:
    """A one-sided claim's outcome: holds, refuted (the opposite direction shown) or inconclusive."""
    if p_claim < alpha:
        return "holds"
    if p_opposite < alpha:
        return "refuted"
    return "inconclusive"


def verdict(table: pd.DataFrame, rng: np.random.Generator, *, rl: str = DEFAULT_RL,
            evolution: str = DEFAULT_EVOLUTION, margin: float = 0.1, alpha: float = 0.05,
            anytime: str = "auc_time") -> pd.DataFrame:
    """One row per setting and claim: design, test, n per group, effect sizes, p-values and outcome.

    ``table`` is :func:`~nasarena.results.aggregate.run_table`'s output (failed runs are dropped
    here). ``margin`` is in the final metric's units (percentage points for accuracies). ``anytime``
    picks the regret area (``auc_time`` or ``auc_evals``). ``verdict`` is one of :data:`OUTCOMES`
    (see the module docstring for the rule); a setting that lacks either strategy gets rows marked
    "not tested" with the reason, rather than being silently skipped.
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
            base = {**ident, "claim": claim, "quantity": column, "evolution": evolution, "rl": rl,
                    "alpha": alpha}
            sample = match(groups[evolution], groups[rl], column)
            if len(sample.x) < 2 or len(sample.y) < 2:
                rows.append({**base, "n_evolution": len(sample.x), "n_rl": len(sample.y),
                             "verdict": "not tested", "holds": False, "design": sample.design,
                             "sentence": f"Not tested: needs at least two completed runs with a finite "
                             f"{column} for both {evolution!r} and {rl!r} (have {len(sample.x)} "
                             f"and {len(sample.y)})."})
                continue
            if kind == "equivalence":
                c = compare(sample, alternative="two-sided", rng=rng)
                t = tost(sample.x, sample.y, margin, alpha, paired=sample.paired)
                outcome = decide_equivalence(t.p_value, c.p_value, (c.mean_diff_low, c.mean_diff_high),
                                             margin, alpha)
                row = {**base, **_renamed(c), "p_difference": c.p_value, "test_difference": c.test,
                       "test": f"TOST ({'paired t' if sample.paired else 'Welch'}, margin ±{margin:g})",
                       "statistic": np.nan, "p_value": t.p_value, "margin": margin}
                row["sentence"] = _equivalence_sentence(t, c, outcome, evolution, rl, alpha)
            else:
                c = compare(sample, alternative=kind, rng=rng)
                _, _, p_opp, _ = rank_test(sample, _OPPOSITE[kind])
                outcome = decide_one_sided(c.p_value, p_opp, alpha)
                row = {**base, **_renamed(c), "p_opposite": p_opp}
                row["sentence"] = _one_sided_sentence(claim, column, c, p_opp, outcome, evolution, rl)
            row.update(holds=outcome == "holds", verdict=outcome)
            rows.append(row)
    return pd.DataFrame(rows)


def _renamed(c: Comparison) -> dict:
    d = asdict(c)
    out = {"n_evolution": d.pop("n_x"), "n_rl": d.pop("n_y")}
    for key in ("mean", "median"):
        out[f"{key}_evolution"] = d.pop(f"{key}_x")
        out[f"{key}_rl"] = d.pop(f"{key}_y")
    return {**out, **d}


def _design_text(c: Comparison) -> str:
    if c.design == "paired":
        left = f"; {c.n_left_out} run(s) without a partner left out" if c.n_left_out else ""
        return f"{c.n_x} pairs matched on seed{left}"
    return f"unpaired, {c.n_x} vs {c.n_y} runs"


def _equivalence_sentence(t: TostResult, c: Comparison, outcome: str, evo: str, rl: str,
                          alpha: float) -> str:
    head = (f"Mean final metric of {evo} minus {rl}: {t.diff:+.3f} (95% CI [{c.mean_diff_low:+.3f}, "
            f"{c.mean_diff_high:+.3f}]; {_design_text(c)}). TOST against ±{t.margin:g} gives "
            f"p = {_p(t.p_value)}; {c.test.split(' (')[0]} test of difference p = {_p(c.p_value)}")
    if c.note:
        head += f" ({c.note})"
    if outcome == "holds":
        return head + f". Equivalence within ±{t.margin:g} is shown: the claim holds."
    if outcome == "refuted":
        side = "higher" if t.diff > 0 else "lower"
        return head + (f". {evo} is {side} by more than the margin (the whole interval lies outside "
                       f"±{t.margin:g}): the claim is refuted.")
    why = (f"a difference is shown (p < {alpha:g}), but its interval still reaches into ±{t.margin:g}"
           if c.p_value < alpha else f"neither equivalence within ±{t.margin:g} nor a difference is shown")
    return head + f". Inconclusive: {why}; more runs (or another margin, chosen before looking) would decide."


def _one_sided_sentence(claim: str, column: str, c: Comparison, p_opposite: float, outcome: str,
                        evo: str, rl: str) -> str:
    what = QUANTITY_NAMES.get(column, f"per-run {column}")
    located = "median of the paired differences" if c.design == "paired" else "difference of medians"
    text = (f"Median {what}: {evo} {c.median_x:.3f} vs {rl} {c.median_y:.3f} ({located} "
            f"{c.median_diff:+.3f}, 95% CI [{c.median_diff_low:+.3f}, {c.median_diff_high:+.3f}]; "
            f"Cliff's delta {c.cliffs_delta:+.2f}; {_design_text(c)}). {c.test.split(' (')[0]}: "
            f"p = {_p(c.p_value)} for '{evo} lower', p = {_p(p_opposite)} for '{evo} higher'")
    if c.note:
        return text + f". Inconclusive: {c.note}."
    return text + {"holds": f": '{claim}' holds.",
                   "refuted": f": the opposite is shown, '{claim}' is refuted.",
                   "inconclusive": f": neither direction is shown, '{claim}' is inconclusive."}[outcome]


