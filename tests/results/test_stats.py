"""Statistics: TOST, effect sizes, the three-claim verdict and comparisons with a reference."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from nasarena.errors import ConfigError
from nasarena.results import schema as S
from nasarena.results import stats as T


def _welch_one_sided(x: np.ndarray, y: np.ndarray, shift: float, greater: bool) -> float:
    """Welch t-test of mean(x) - mean(y) against ``shift``, written out (not via ttest_ind)."""
    vx, vy = x.var(ddof=1) / len(x), y.var(ddof=1) / len(y)
    t = (x.mean() - y.mean() - shift) / np.sqrt(vx + vy)
    df = (vx + vy) ** 2 / (vx**2 / (len(x) - 1) + vy**2 / (len(y) - 1))
    return float(stats.t.sf(t, df) if greater else stats.t.cdf(t, df))


def test_tost_equivalent_samples_hold_and_p_values_match_the_formula():
    rng = np.random.default_rng(0)
    x, y = rng.normal(91.4, 0.15, 150), rng.normal(91.4, 0.2, 120)
    r = T.tost(x, y, margin=0.1)
    assert r.p_lower == pytest.approx(_welch_one_sided(x, y, -0.1, greater=True))
    assert r.p_upper == pytest.approx(_welch_one_sided(x, y, 0.1, greater=False))
    assert r.p_value == max(r.p_lower, r.p_upper) < 0.05
    assert -0.1 < r.ci_low < r.diff < r.ci_high < 0.1  # the 90% CI lies inside the margin
    swapped = T.tost(y, x, margin=0.1)
    assert swapped.p_value == pytest.approx(r.p_value) and swapped.diff == pytest.approx(-r.diff)


def test_tost_shifted_or_noisy_samples_are_not_equivalent():
    rng = np.random.default_rng(1)
    x = rng.normal(91.4, 0.15, 150)
    assert T.tost(x, x - 0.3, margin=0.1).p_value > 0.5          # clearly different
    assert T.tost(x[:5], rng.normal(91.4, 1.0, 5), 0.1).p_value > 0.05  # too little data to say
    with pytest.raises(ConfigError):
        T.tost(x, x, margin=0)


def test_tost_without_spread_is_decided_exactly():
    same = T.tost(np.full(10, 91.6), np.full(12, 91.6), margin=0.1)
    assert same.p_value == 0.0 and same.ci_low == same.ci_high == 0.0
    apart = T.tost(np.full(10, 91.6), np.full(12, 91.3), margin=0.1)
    assert apart.p_value == 1.0


def test_cliffs_delta_equals_the_pairwise_definition():
    rng = np.random.default_rng(2)
    x, y = rng.integers(0, 5, 30).astype(float), rng.integers(1, 6, 25).astype(float)  # many ties
    diff = x[:, None] - y[None, :]
    expect = ((diff > 0).sum() - (diff < 0).sum()) / diff.size
    assert T.cliffs_delta(x, y) == pytest.approx(expect)
    assert T.cliffs_delta(x + 10, y) == 1.0


def test_compare_reports_scipy_mann_whitney_and_covering_intervals():
    rng = np.random.default_rng(3)
    x, y = rng.normal(0.5, 0.2, 40), rng.normal(0.8, 0.2, 35)
    c = T.compare(x, y, "less", np.random.default_rng(0))
    ref = stats.mannwhitneyu(x, y, alternative="less")
    assert c.p_value == pytest.approx(ref.pvalue) and c.statistic == ref.statistic
    assert c.n_x == 40 and c.n_y == 35 and c.cliffs_delta < -0.5
    assert c.mean_diff_low < c.mean_diff < c.mean_diff_high < 0
    assert c.median_diff_low <= c.median_diff <= c.median_diff_high
    small = T.compare(np.array([1.0]), y, "less", np.random.default_rng(0))
    assert np.isnan(small.p_value) and small.n_x == 1


def _table(evo: dict, rl: dict, n: int = 40, seed: int = 0) -> pd.DataFrame:
    """A per-run table with normal final/auc/params; ``evo``/``rl``: means of each quantity."""
    rng = np.random.default_rng(seed)
    rows = []
    for name, means in (("regularized-evolution", evo), ("reinforce", rl), ("random", rl)):
        for i in range(n):
            rows.append({S.STRATEGY: name, S.ORACLE: "o", S.DATASET: "d", S.N_WORKERS: 1, S.SEED: i,
                         S.RUN_ID: f"{name}-{i}", "failed": False,
                         "final": rng.normal(means["final"], 0.1), "regret": rng.normal(0.3, 0.1),
                         "auc_time": rng.normal(means["auc"], 0.1),
                         "auc_evals": rng.normal(means["auc"], 0.1),
                         "final_params": rng.normal(means["params"], 0.1)})
    return pd.DataFrame(rows)


def test_verdict_all_claims_hold_when_built_in():
    table = _table({"final": 91.4, "auc": 0.4, "params": 0.6}, {"final": 91.4, "auc": 0.6, "params": 0.9})
    v = T.verdict(table, np.random.default_rng(0), margin=0.1).set_index("claim")
    assert list(v.index) == [c for c, _, _ in T.CLAIMS]
    assert (v["verdict"] == "holds").all() and v["holds"].all()
    assert (v["n_evolution"] == 40).all() and (v["n_rl"] == 40).all()
    eq = v.loc["same final accuracy"]
    assert eq["p_value"] == pytest.approx(T.tost(
        table.loc[table[S.STRATEGY] == "regularized-evolution", "final"],
        table.loc[table[S.STRATEGY] == "reinforce", "final"], 0.1).p_value)
    assert "equivalent within ±0.1" in eq["sentence"]
    assert v.loc["evolution finds smaller models", "cliffs_delta"] < -0.8


def test_verdict_claims_fail_when_reversed_and_failed_runs_are_dropped():
    table = _table({"final": 91.0, "auc": 0.6, "params": 0.9}, {"final": 91.4, "auc": 0.4, "params": 0.6})
    table.loc[table[S.STRATEGY] == "reinforce", "failed"] = np.arange(40) < 5
    v = T.verdict(table, np.random.default_rng(0)).set_index("claim")
    assert (v["verdict"] == "does not hold").all()
    assert (v["n_rl"] == 35).all()
    assert "significant difference" in v.loc["same final accuracy", "sentence"]
    assert v.loc["evolution has better anytime performance", "p_value"] > 0.9


def test_verdict_names_what_is_missing():
    table = _table({"final": 91.4, "auc": 0.4, "params": 0.6}, {"final": 91.4, "auc": 0.6, "params": 0.9})
    v = T.verdict(table, np.random.default_rng(0), rl="reinforce-lstm")
    assert (v["verdict"] == "not tested").all() and not v["holds"].any()
    assert "reinforce-lstm" in v["sentence"].iloc[0]
    with pytest.raises(ConfigError):
        T.verdict(table, np.random.default_rng(0), alpha=0.7)


def test_compare_to_reference_directions_and_adjustment():
    table = _table({"final": 91.4, "auc": 0.4, "params": 0.6}, {"final": 91.0, "auc": 0.6, "params": 0.3})
    c = T.compare_to_reference(table, np.random.default_rng(0), reference="regularized-evolution")
    assert set(c[S.STRATEGY]) == {"reinforce", "random"}
    by = c.set_index([S.STRATEGY, "quantity"])
    assert by.loc[("reinforce", "final"), "outcome"] == "worse"         # lower final accuracy
    assert by.loc[("reinforce", "auc_time"), "outcome"] == "worse"      # higher regret area
    assert by.loc[("reinforce", "final_params"), "outcome"] == "better"  # smaller models
    assert by.loc[("reinforce", "regret"), "outcome"] == "no significant difference"
    assert (c["p_adjusted"] >= c["p_value"] - 1e-15).all()
    assert T.compare_to_reference(table, np.random.default_rng(0), reference="nope").empty
