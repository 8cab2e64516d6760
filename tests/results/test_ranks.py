"""Average ranks across settings, Friedman test and Nemenyi critical difference (Demšar 2006)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from nasarena.results import ranks as R
from nasarena.results import schema as S


def _multi(means: dict[str, list[float]], datasets: list[str], n: int = 3, seed: int = 0,
           higher_noise: float = 0.01) -> pd.DataFrame:
    """A run table: strategy -> mean final per dataset; a few runs each around that mean."""
    rng = np.random.default_rng(seed)
    rows = []
    for name, per in means.items():
        for ds, m in zip(datasets, per, strict=True):
            for i in range(n):
                rows.append({S.STRATEGY: name, S.ORACLE: "table", S.DATASET: ds, S.N_WORKERS: 1, S.SEED: i,
                             "failed": False, "final": m + rng.normal(0, higher_noise),
                             "auc_time": 1.0 - m / 100})
    return pd.DataFrame(rows)


DATASETS = [f"d{i}" for i in range(8)]


def test_average_ranks_friedman_and_cd_match_the_definitions():
    # "a" is best on every dataset, "d" worst; "b" and "c" swap places on half of them.
    means = {"a": [95.0] * 8, "b": [90, 89, 90, 89, 90, 89, 90, 89], "c": [89, 90, 89, 90, 89, 90, 89, 90],
             "d": [80.0] * 8}
    table = _multi(means, DATASETS)
    r = R.average_ranks(table, "final", higher_is_better=True)
    assert r.n_settings == 8 and list(r.mean_ranks.index)[0] == "a" and list(r.mean_ranks.index)[-1] == "d"
    assert r.mean_ranks["a"] == 1.0 and r.mean_ranks["d"] == 4.0
    assert r.mean_ranks["b"] == pytest.approx(2.5) and r.mean_ranks["c"] == pytest.approx(2.5)
    per_ds = table.groupby([S.DATASET, S.STRATEGY])["final"].mean().unstack()
    ref = stats.friedmanchisquare(*(per_ds[c] for c in sorted(per_ds.columns)))
    assert r.friedman_statistic == pytest.approx(ref.statistic) and r.friedman_p == pytest.approx(ref.pvalue)
    q = stats.studentized_range.ppf(0.95, 4, np.inf) / math.sqrt(2)
    assert r.cd == pytest.approx(q * math.sqrt(4 * 5 / (6 * 8)))
    assert q == pytest.approx(2.569, abs=1e-3)  # Demšar's Table 5, k = 4
    # a-b differ by 1.5 < CD = 1.66, b-d by 1.5: bars join (a, b, c) and (b, c, d), never a with d
    assert r.cliques == [("a", "b", "c"), ("b", "c", "d")]
    table_rows = r.table()
    assert list(table_rows[S.STRATEGY]) == list(r.mean_ranks.index)
    assert table_rows.shape[1] == 2 + 8  # strategy, average rank, one column per setting


def test_lower_is_better_and_strategies_missing_somewhere_are_left_out():
    means = {"a": [95.0] * 8, "b": [90.0] * 8, "c": [85.0] * 8}
    table = _multi(means, DATASETS)
    table = table[~((table[S.STRATEGY] == "c") & (table[S.DATASET] == "d0"))]
    table = pd.concat([table, _multi({"late": [99.0] * 8}, DATASETS).iloc[:0]])
    r = R.average_ranks(table, "auc_time", higher_is_better=False)
    assert list(r.mean_ranks.index) == ["a", "b"] and r.excluded == ("c",)
    assert math.isnan(r.friedman_p) and "three strategies" in r.note  # only two strategies left
    assert R.average_ranks(table[table[S.DATASET] == "d1"], "final") is None  # one setting: no ranks


def test_ties_everywhere_give_no_friedman_test_and_a_figure_draws():
    table = _multi({"a": [90.0] * 8, "b": [90.0] * 8, "c": [90.0] * 8}, DATASETS, higher_noise=0.0)
    r = R.average_ranks(table, "final")
    assert math.isnan(r.friedman_p) and "ties" in r.note and (r.mean_ranks == 2.0).all()
    fig = R.plot_cd([r, R.average_ranks(_multi({"a": [1.0] * 8, "b": [2.0] * 8, "c": [3.0] * 8}, DATASETS),
                                        "final")], {"final": "final metric"})
    assert len(fig.axes) == 2 and "CD = " in " ".join(t.get_text() for t in fig.axes[0].texts)
