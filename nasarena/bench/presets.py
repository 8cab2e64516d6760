"""Named studies beyond ``make bench``: ``nasarena bench --preset NAME``.

``nb201-table5`` reproduces the protocol of NAS-Bench-201's Table 5 (Dong & Yang, ICLR 2020) for
its four non-weight-sharing methods, with the hyper-parameters of the authors' scripts
(AutoDL-Projects ``scripts-search/NAS-Bench-201-algos/*.sh``):

* search on CIFAR-10 with the ``nb201-12ep`` oracle: the 12-epoch signal (the single-seed 12-epoch
  *test* accuracy stands in for the 12-epoch validation accuracy, which no installable package
  ships), cost = 12 epochs of training + one validation pass on cifar10-valid;
* 12,000 simulated seconds per run, one worker, 500 runs (seeds 0-499) per method;
* RS (``random``); REA (``regularized-evolution``, population 10, tournament sample 3);
  REINFORCE (``reinforce``: Adam, lr 0.001 as in ``REINFORCE.sh``'s usage line, EMA baseline
  momentum 0.9 (``--EMA_momentum 0.9``), the raw accuracy in percent as the reward); BOHB
  (``bohb-nb201``: ``num_samples 4, random_fraction 0, bandwidth_factor 3, min_bandwidth 0.3``,
  eta 3, hpbandster's normal-reference bandwidths, nominal budgets 12..200 that the authors' worker
  ignored);
* the pick (final incumbent) reported by its 200-epoch test accuracy on CIFAR-10, CIFAR-100 and
  ImageNet16-120 beside the paper's mean ± std (``nasarena.results.table5``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from nasarena.bench.config import Budget, StudyConfig

TABLE5 = "nb201-table5"
TABLE5_BUDGET_S = 12_000.0
TABLE5_RUNS = 500
TABLE5_STRATEGIES = ("random", "regularized-evolution", "reinforce", "bohb-nb201")
TABLE5_STRATEGY_KWARGS: dict[str, dict[str, Any]] = {
    "regularized-evolution": {"population_size": 10, "sample_size": 3},
    "reinforce": {"lr": 0.001, "baseline_momentum": 0.9, "reward_scale": 1.0},
    "bohb-nb201": {"eta": 3, "n_samples": 4, "random_fraction": 0.0, "bandwidth_factor": 3.0,
                   "min_bandwidth": 0.3, "bandwidth_rule": "normal_reference"},
}


@dataclass(frozen=True)
class Preset:
    """A named study and what to write after it (``table5``: the Table-5 comparison)."""

    name: str
    description: str
    config: StudyConfig
    table5: bool = False


def table5_preset() -> Preset:
    """The NB201 Table-5 study (see module docstring)."""
    config = StudyConfig(strategies=TABLE5_STRATEGIES, oracle="nb201-12ep",
                         oracle_kwargs={"dataset": "cifar10-valid"}, seeds=tuple(range(TABLE5_RUNS)),
                         budget=Budget(max_time=TABLE5_BUDGET_S), strategy_kwargs=TABLE5_STRATEGY_KWARGS)
    return Preset(TABLE5, "NAS-Bench-201 Table 5: RS, REA, REINFORCE, BOHB on CIFAR-10 with the 12-epoch "
                          "signal, 12,000 s per run, 500 runs, picks reported on three datasets' "
                          "test accuracy",
                  config, table5=True)


PRESETS = {TABLE5: table5_preset}

__all__ = ["PRESETS", "TABLE5", "TABLE5_BUDGET_S", "TABLE5_RUNS", "TABLE5_STRATEGIES",
           "TABLE5_STRATEGY_KWARGS", "Preset", "table5_preset"]
