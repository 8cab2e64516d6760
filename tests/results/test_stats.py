"""Statistics: TOST, effect sizes, the three-claim verdict and comparisons with a reference."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from nasarena.errors import ConfigError
from nasarena.results import schema as S
from nasarena.results import stats as T
from nasarena.results import verdict as V


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
    assert c.design == "unpaired" and c.test.startswith("Mann-Whitney")
    assert c.n_x == 40 and c.n_y == 35 and c.cliffs_delta < -0.5
    assert c.mean_diff_low < c.mean_diff < c.mean_diff_high < 0
    assert c.median_diff_low <= c.median_diff <= c.median_diff_high
    small = T.compare(np.array([1.0]), y, "less", np.random.default_rng(0))
    assert np.isnan(small.p_value) and small.n_x == 1 and "at least two" in small.note


def _runs_of(values: np.ndarray, name: str, seeds=None) -> pd.DataFrame:
    seeds = range(len(values)) if seeds is None else seeds
    return pd.DataFrame({S.STRATEGY: name, S.SEED: list(seeds), "max_time": 100.0, "max_evals": None,
                         "final": values})


def test_matched_seeds_give_a_paired_wilcoxon_and_unmatched_ones_mann_whitney():
    rng = np.random.default_rng(4)
    base = rng.normal(91.0, 0.5, 30)  # seed effect shared by both strategies
    gx, gy = _runs_of(base + 0.05 + rng.normal(0, 0.02, 30), "a"), _runs_of(base, "b")
    sample = T.match(gx, gy.iloc[::-1], "final")  # row order does not matter, seeds do
    assert sample.paired and sample.n_left_out == 0
    np.testing.assert_allclose(sample.x - sample.y, gx["final"] - gy["final"])
    c = T.compare(sample, alternative="two-sided", rng=np.random.default_rng(0))
    ref = stats.wilcoxon(gx["final"], gy["final"], zero_method="pratt")
    assert c.design == "paired" and c.test.startswith("Wilcoxon")
    assert c.p_value == pytest.approx(ref.pvalue)
    assert c.p_value < 1e-6  # the pairing removes the seed effect ...
    unpaired = T.compare(gx["final"].to_numpy(), gy["final"].to_numpy(), "two-sided",
                         np.random.default_rng(0))
    assert unpaired.p_value > 0.3  # ... which swamps an unpaired test
    assert 0.04 < c.mean_diff_low < 0.05 < c.mean_diff_high < 0.06  # the paired bootstrap interval
    # other seeds, or too few shared ones: unpaired
    assert not T.match(gx, _runs_of(base, "b", seeds=range(100, 130)), "final").paired
    assert not T.match(gx, _runs_of(base[:10], "b"), "final").paired  # 10 of 30 runs have a partner
    partial = T.match(gx, gy.iloc[:25], "final")
    assert partial.paired and len(partial.x) == 25 and partial.n_left_out == 5
    other_budget = gy.assign(max_time=200.0)
    assert not T.match(gx, other_budget, "final").paired  # same seed, other budget: not a pair


def test_degenerate_samples_are_decided_without_scipy_warnings():
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # any RuntimeWarning from scipy fails the test
        same = T.Sample(np.full(8, 91.6), np.full(8, 91.6), paired=True)
        name, stat, p, note = T.rank_test(same, "less")
        assert np.isnan(p) and "same value" in note
        flat = T.Sample(np.full(8, 0.6), np.full(9, 0.6), paired=False)
        assert "same value" in T.rank_test(flat, "two-sided")[3]
        c = T.compare(flat, alternative="less", rng=np.random.default_rng(0))
        assert c.mean_diff == c.mean_diff_low == c.mean_diff_high == 0.0 and np.isnan(c.p_value)
        y = np.random.default_rng(0).normal(91.5, 0.05, 10)
        for x, other in ((np.full(10, 91.607), y), (y, np.full(10, 91.607))):
            one_flat = T.tost(x, other, 0.1)
            # the limit of Welch's test as one group's variance goes to 0
            ref = T.tost(x + 1e-9 * np.arange(10) if np.ptp(x) == 0 else x,
                         other + 1e-9 * np.arange(10) if np.ptp(other) == 0 else other, 0.1)
            assert one_flat.p_lower == pytest.approx(ref.p_lower, rel=1e-4)
            assert one_flat.p_upper == pytest.approx(ref.p_upper, rel=1e-4)
            assert one_flat.ci_low == pytest.approx(ref.ci_low, abs=1e-6)
            assert one_flat.ci_high == pytest.approx(ref.ci_high, abs=1e-6)


def _table(evo: dict, rl: dict, n: int = 40, seed: int = 0,
           paired_noise: float | None = None) -> pd.DataFrame:
    """A per-run table with normal final/auc/params; ``evo``/``rl``: means of each quantity.

    ``paired_noise``: a seed effect shared by the strategies (sd 1) plus this much own noise.
    """
    rng = np.random.default_rng(seed)
    shared = {q: rng.normal(0, 1.0, n) for q in ("final", "auc", "params")}
    rows = []

    def draw(means: dict, q: str, i: int) -> float:
        if paired_noise is None:
            return rng.normal(means[q], 0.1)
        return means[q] + shared[q][i] + rng.normal(0, paired_noise)

    for name, means in (("regularized-evolution", evo), ("reinforce", rl), ("random", rl)):
        for i in range(n):
            rows.append({S.STRATEGY: name, S.ORACLE: "o", S.DATASET: "d", S.N_WORKERS: 1, S.SEED: i,
                         S.RUN_ID: f"{name}-{i}", "failed": False,
                         "final": draw(means, "final", i), "regret": rng.normal(0.3, 0.1),
                         "auc_time": draw(means, "auc", i), "auc_evals": draw(means, "auc", i),
                         "final_params": draw(means, "params", i)})
    return pd.DataFrame(rows)


def _shuffled_seeds(table: pd.DataFrame) -> pd.DataFrame:
    """The same values with RL's seeds renamed, so no run has a partner (an unpaired design)."""
    out = table.copy()
    rl = out[S.STRATEGY] == "reinforce"
    out.loc[rl, S.SEED] = out.loc[rl, S.SEED] + 1000
    return out


def test_verdict_holds_when_built_in():
    table = _table({"final": 91.4, "auc": 0.4, "params": 0.6}, {"final": 91.4, "auc": 0.6, "params": 0.9})
    v = V.verdict(table, np.random.default_rng(0), margin=0.1).set_index("claim")
    assert list(v.index) == [c for c, _, _ in V.CLAIMS]
    assert (v["verdict"] == "holds").all() and v["holds"].all()
    assert (v["design"] == "paired").all()
    assert (v["n_evolution"] == 40).all() and (v["n_rl"] == 40).all()
    evo = table.loc[table[S.STRATEGY] == "regularized-evolution", "final"].to_numpy()
    rl = table.loc[table[S.STRATEGY] == "reinforce", "final"].to_numpy()
    eq = v.loc["same final accuracy"]
    assert eq["p_value"] == pytest.approx(T.tost(evo, rl, 0.1, paired=True).p_value)
    assert eq["p_difference"] == pytest.approx(stats.wilcoxon(evo, rl, zero_method="pratt").pvalue)
    assert "Equivalence within ±0.1 is shown" in eq["sentence"]
    assert v.loc["evolution finds smaller models", "cliffs_delta"] < -0.8


def test_verdict_refuted_when_the_opposite_is_shown_and_failed_runs_are_dropped():
    table = _table({"final": 91.0, "auc": 0.6, "params": 0.9}, {"final": 91.4, "auc": 0.4, "params": 0.6})
    table.loc[table[S.STRATEGY] == "reinforce", "failed"] = np.arange(40) < 5
    v = V.verdict(table, np.random.default_rng(0)).set_index("claim")
    assert (v["verdict"] == "refuted").all() and not v["holds"].any()
    assert (v["n_rl"] == 35).all() and (v["n_left_out"] == 5).all()  # 5 evolution runs lost their partner
    assert "by more than the margin" in v.loc["same final accuracy", "sentence"]
    assert v.loc["evolution has better anytime performance", "p_value"] > 0.9
    assert v.loc["evolution has better anytime performance", "p_opposite"] < 1e-6


def test_verdict_inconclusive_when_neither_is_shown():
    # The case of the issue: TOST p ~ 0.5 and the difference test p ~ 0.2 is not "does not hold".
    table = _table({"final": 91.43, "auc": 0.5, "params": 0.7}, {"final": 91.4, "auc": 0.5, "params": 0.7},
                   n=8, seed=4)
    v = V.verdict(table, np.random.default_rng(0), margin=0.05).set_index("claim")
    eq = v.loc["same final accuracy"]
    assert eq["p_value"] > 0.5 and 0.1 < eq["p_difference"] < 0.3
    assert (v["verdict"] == "inconclusive").all(), v[["verdict", "p_value"]]
    assert "Inconclusive" in eq["sentence"]
    # a difference is shown, but not one larger than the margin: still inconclusive, not refuted
    assert V.decide_equivalence(0.4, 0.01, (0.02, 0.15), margin=0.1, alpha=0.05) == "inconclusive"
    assert V.decide_equivalence(0.4, 0.01, (0.12, 0.30), margin=0.1, alpha=0.05) == "refuted"
    assert V.decide_equivalence(0.01, 0.01, (0.02, 0.08), margin=0.1, alpha=0.05) == "holds"
    assert V.decide_one_sided(float("nan"), float("nan"), 0.05) == "inconclusive"


def test_verdict_pairs_seeds_where_it_can_and_says_so():
    # A large seed effect shared by both strategies hides a real 0.3 difference from unpaired tests.
    table = _table({"final": 91.1, "auc": 0.3, "params": 0.5}, {"final": 91.4, "auc": 0.6, "params": 0.8},
                   n=20, seed=3, paired_noise=0.1)
    paired = V.verdict(table, np.random.default_rng(0)).set_index("claim")
    unpaired = V.verdict(_shuffled_seeds(table), np.random.default_rng(0)).set_index("claim")
    assert (paired["design"] == "paired").all() and (unpaired["design"] == "unpaired").all()
    assert (paired["verdict"] == ["refuted", "holds", "holds"]).all()
    assert (unpaired["verdict"] == "inconclusive").all()
    assert "pairs matched on seed" in paired["sentence"].iloc[0]
    assert "unpaired" in unpaired["sentence"].iloc[0]
    assert unpaired["test"].iloc[1].startswith("Mann-Whitney")
    assert paired["test"].iloc[1].startswith("Wilcoxon")


def test_verdict_names_what_is_missing():
    table = _table({"final": 91.4, "auc": 0.4, "params": 0.6}, {"final": 91.4, "auc": 0.6, "params": 0.9})
    v = V.verdict(table, np.random.default_rng(0), rl="reinforce-lstm")
    assert (v["verdict"] == "not tested").all() and not v["holds"].any()
    assert "reinforce-lstm" in v["sentence"].iloc[0]
    one = table[(table[S.STRATEGY] != "reinforce") | (table[S.SEED] == 0)]  # n = 1 for RL
    assert (V.verdict(one, np.random.default_rng(0))["verdict"] == "not tested").all()
    with pytest.raises(ConfigError):
        V.verdict(table, np.random.default_rng(0), alpha=0.7)


def test_compare_to_reference_directions_and_adjustment():
    table = _table({"final": 91.4, "auc": 0.4, "params": 0.6}, {"final": 91.0, "auc": 0.6, "params": 0.3})
    c = T.compare_to_reference(table, np.random.default_rng(0), reference="regularized-evolution")
    assert set(c[S.STRATEGY]) == {"reinforce", "random"} and (c["design"] == "paired").all()
    by = c.set_index([S.STRATEGY, "quantity"])
    assert by.loc[("reinforce", "final"), "outcome"] == "worse"         # lower final accuracy
    assert by.loc[("reinforce", "auc_time"), "outcome"] == "worse"      # higher regret area
    assert by.loc[("reinforce", "final_params"), "outcome"] == "better"  # smaller models
    assert by.loc[("reinforce", "regret"), "outcome"] == "no significant difference"
    assert (c["p_adjusted"] >= c["p_value"] - 1e-15).all()
    assert T.compare_to_reference(table, np.random.default_rng(0), reference="nope").empty
    unpaired = T.compare_to_reference(_shuffled_seeds(table), np.random.default_rng(0))
    assert set(unpaired.loc[unpaired[S.STRATEGY] == "reinforce", "design"]) == {"unpaired"}
