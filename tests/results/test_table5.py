"""The NB201 Table-5 comparison: picks, our mean ± std, the paper's numbers, end to end."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import nasarena.bench.cli as cli
from nasarena.data import nb201_columns
from nasarena.results import schema as S
from nasarena.results.table5 import picks, published, table, write_table5
from nasarena.spaces.nb201 import NB201Space

SPACE = NB201Space()


def _traj(rows: list[tuple[str, str, int, int, int]]) -> pd.DataFrame:
    return pd.DataFrame([{S.RUN_ID: r, S.STRATEGY: s, S.SEED: seed, S.EVAL_INDEX: k,
                          S.INC_ARCH: SPACE.to_string(SPACE.from_index(i))} for r, s, seed, k, i in rows])


def test_picks_are_final_incumbents_with_three_test_accuracies() -> None:
    traj = _traj([("a", "random", 0, 1, 5), ("a", "random", 0, 2, 9), ("b", "random", 1, 1, 7),
                  ("c", "reinforce", 0, 1, 11)])
    got = picks(traj).set_index(S.RUN_ID)
    cols = nb201_columns()
    assert got.loc["a", "n_evals"] == 2
    assert got.loc["a", "cifar100"] == cols["cifar100_test_acc_200ep_mean"][9]
    frame = table(picks(traj)).set_index("strategy")
    c10 = cols["cifar10_test_acc_200ep_mean"]
    mean, std = np.mean([c10[9], c10[7]]), np.std([c10[9], c10[7]], ddof=1)
    assert frame.loc["random", "cifar10 ours"] == f"{mean:.2f} ± {std:.2f}"
    assert frame.loc["random", "cifar10 paper"] == "93.70 ± 0.36"  # NB201 Table 5, RS
    assert frame.loc["reinforce", "ImageNet16-120 paper"] == "45.24 ± 1.18"
    assert frame.loc["reinforce", "runs"] == 1 and "±" not in frame.loc["reinforce", "cifar10 ours"]
    assert frame.index[-1].startswith("optimal")


def test_published_rows() -> None:
    paper = published()
    assert set(paper.rows) == {"random", "regularized-evolution", "reinforce", "bohb-nb201"}
    assert paper.rows["regularized-evolution"]["cifar10_test"] == (93.92, 0.30)
    assert paper.optimal["cifar100_test"] == 73.51


@pytest.mark.slow
def test_table5_preset_end_to_end(tmp_path, capsys) -> None:
    out = tmp_path / "t5"
    assert cli.main(["bench", "--preset", "nb201-table5", "--seeds", "0-1", "--jobs", "1", "--no-progress",
                     "--no-report", "--out", str(out)]) == 0
    paths = write_table5(out)
    text = paths["table5.md"].read_text()
    for name in ("random", "regularized-evolution", "reinforce", "bohb-nb201", "stand-in", "ICLR 2020"):
        assert name in text
    frame = pd.read_csv(paths["table5.csv"])
    assert frame["runs"].iloc[:4].astype(int).tolist() == [2, 2, 2, 2]
    # ~100 evaluations of ~113 s fit 12,000 s
    assert frame["evaluations (mean)"].iloc[:4].astype(float).between(60, 200).all()
