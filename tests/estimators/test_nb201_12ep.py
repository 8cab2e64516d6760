"""``nb201-12ep``: NB201's Table-5 search protocol from the shipped data."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from nasarena import make_oracle
from nasarena.data import nb201_columns
from nasarena.errors import UnknownNameError
from nasarena.estimators.base import Fidelity
from nasarena.spaces.nb201 import NB201Space

SPACE = NB201Space()


def test_signal_cost_and_final_metric() -> None:
    o = make_oracle("nb201-12ep")
    cols = nb201_columns()
    assert o.fidelities == (Fidelity(epochs=12),) and o.dataset == "cifar10-valid"
    for i in (0, 4321, 15624):
        arch = SPACE.from_index(i)
        e = o.evaluate(arch, None, np.random.default_rng(0))
        assert e.score == cols["cifar10_test_acc_12ep_one_seed"][i]
        assert e.cost == pytest.approx(12 * cols["cifar10-valid_train_time_per_epoch"][i]
                                       + cols["cifar10-valid_valid_time_per_epoch"][i])
        # one seed: deterministic
        assert e == o.evaluate(arch, Fidelity(epochs=12), np.random.default_rng(99))
        assert o.final_metric(arch) == cols["cifar10_test_acc_200ep_mean"][i]
        assert o.params(arch) == e.params > 0
        assert o.test_accuracies(arch) == {d: cols[f"{d}_test_acc_200ep_mean"][i]
                                           for d in ("cifar10", "cifar100", "ImageNet16-120")}
    assert o.best_final == pytest.approx(94.373, abs=1e-3)
    d = o.describe()
    assert "stand-in" in d["search_metric_description"] and d["final_metric"] == "test_acc_200ep_seed_mean"


def test_only_cifar10_valid() -> None:
    with pytest.raises(UnknownNameError, match="cifar10-valid"):
        make_oracle("nb201-12ep", dataset="cifar100")


def test_signal_and_times_equal_the_shared_tables(nb201_data: Path) -> None:
    o = make_oracle("nb201-12ep")
    acc = pd.read_csv(nb201_data / "test_accuracy.csv",
                      usecols=["arch_str", "cifar10_test_acc_12ep_one_seed"])
    times = pd.read_csv(nb201_data / "cifar10-valid_full_metrics.csv",
                        usecols=["train-per-time", "valid-per-time"])
    for row in range(0, len(acc), 311):
        e = o.evaluate(SPACE.from_string(acc.arch_str[row]), None, np.random.default_rng(0))
        assert e.score == acc.cifar10_test_acc_12ep_one_seed[row]
        assert e.cost == pytest.approx(12 * times["train-per-time"][row] + times["valid-per-time"][row])
