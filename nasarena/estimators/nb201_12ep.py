"""``nb201-12ep``: NAS-Bench-201's Table-5 search protocol from data shipped with nasarena.

The NB201 paper (Dong & Yang, ICLR 2020, Sec. 5 and Table 5) runs its non-weight-sharing searches
on CIFAR-10 with a cheap signal: the validation accuracy on cifar10-valid after the 12-epoch
schedule (``hp=12``), charging ``train-all-time + valid-per-time`` of that training per
evaluation, within 12,000 simulated seconds; the architecture a search picks is then reported by
its 200-epoch test accuracy on CIFAR-10, CIFAR-100 and ImageNet16-120.

The 12-epoch *validation* accuracy is in no installable package (only in the official several-GB
file, which the ``nb201`` oracle reads). This oracle therefore searches on the **12-epoch test
accuracy of one seed** on cifar10 (shipped in ``nasarena/data``), a stand-in for it, and charges
``12 * train time per epoch + valid time per epoch`` on cifar10-valid (seed means from the
200-epoch runs; the official 12-epoch runs were timed on other machines, so costs and thus the
number of evaluations in a 12,000 s budget differ somewhat from the paper's). The signal is one
fixed seed, so an evaluation is deterministic. The final metric is cifar10's 200-epoch test
accuracy (seed mean); :meth:`test_accuracies` gives all three datasets' for reporting a pick.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from nasarena.data import NB201_TEST_DATASETS, nb201_columns, nb201_test_accuracy_path
from nasarena.errors import unknown
from nasarena.estimators.base import Evaluation, Fidelity, Oracle
from nasarena.estimators.boundary import validated
from nasarena.spaces.base import Arch
from nasarena.spaces.nb201 import NB201Space
from nasarena.spaces.nb201_cost import params_and_flops_for

EPOCHS = 12
_SIGNAL = "cifar10_test_acc_12ep_one_seed"
_TRAIN, _VALID = "cifar10-valid_train_time_per_epoch", "cifar10-valid_valid_time_per_epoch"


class NB201TwelveEpochOracle(Oracle):
    """NB201's 12-epoch search protocol on CIFAR-10 from shipped data (see module docstring)."""

    name: ClassVar[str] = "nb201-12ep"
    datasets: ClassVar[tuple[str, ...]] = ("cifar10-valid",)
    metric: ClassVar[str] = "test_acc_12ep_one_seed"
    final_metric_name: ClassVar[str] = "test_acc_200ep_seed_mean"

    def __init__(self, dataset: str = "cifar10-valid") -> None:
        if dataset not in self.datasets:
            raise unknown("dataset", dataset, list(self.datasets))
        self.dataset = dataset
        self.space = NB201Space()
        self.fidelities = (Fidelity(epochs=EPOCHS),)
        cols = nb201_columns()
        self._score = cols[_SIGNAL].tolist()
        self._cost = (EPOCHS * cols[_TRAIN] + cols[_VALID]).tolist()
        self._tests = {d: cols[f"{d}_test_acc_200ep_mean"] for d in NB201_TEST_DATASETS}
        self._final = self._tests["cifar10"]
        self._final_list = self._final.tolist()
        self.best_final = float(self._final.max())
        self._facts: dict[int, tuple[float, float]] = {}
        self._valid: dict[Any, Arch] = {}  # every value checked at the boundary -> its tuple form

    def describe(self) -> dict[str, Any]:
        """Base description plus, in words, the signal, the stand-in, the cost and the source."""
        return {**super().describe(),
                "search_metric_description": "test accuracy (%) on cifar10 after the 12-epoch schedule, one "
                                             "seed: a stand-in for NB201's 12-epoch validation accuracy, "
                                             "which no installable package ships",
                "final_metric_description": "test accuracy (%) on cifar10 after 200 epochs, mean over seeds",
                "final_metric_source": str(nb201_test_accuracy_path()),
                "cost": "12 x train time per epoch + valid time per epoch on cifar10-valid (s; seed means "
                        "of the 200-epoch runs)"}

    def _index(self, arch: Arch) -> int:
        """Mixed-radix index of a validated ``arch`` (the space's error for anything else)."""
        a0, a1, a2, a3, a4, a5 = validated(self.space, arch, self._valid)
        return ((((a0 * 5 + a1) * 5 + a2) * 5 + a3) * 5 + a4) * 5 + a5

    def _params_flops(self, idx: int, arch: Arch) -> tuple[float, float]:
        facts = self._facts.get(idx)
        if facts is None:
            facts = self._facts[idx] = params_and_flops_for(arch, self.dataset)
        return facts

    def evaluate(self, arch: Arch, fidelity: Fidelity | None, rng: np.random.Generator) -> Evaluation:
        """The 12-epoch signal and cost of ``arch`` (deterministic: one seed; ``rng`` is unused).

        A value that is not an NB201 architecture raises the space's InvalidArchitectureError."""
        fid = self.fidelities[0] if fidelity is None or fidelity == self.fidelities[0] \
            else self.check_fidelity(fidelity)
        arch = validated(self.space, arch, self._valid)
        idx = self._index(arch)
        params, flops = self._params_flops(idx, arch)
        return Evaluation(arch=arch, fidelity=fid, score=self._score[idx], cost=self._cost[idx],
                          params=params, flops=flops)

    def final_metric(self, arch: Arch) -> float:
        """cifar10 test accuracy (%) after 200 epochs, seed mean."""
        return self._final_list[self._index(arch)]

    def final_metrics(self) -> np.ndarray:
        """Final metric of every architecture, by nasarena index (for regret and quantiles)."""
        return self._final.copy()

    def params(self, arch: Arch) -> float:
        """Exact params (millions), analytically (see ``nb201_cost``)."""
        return self._params_flops(self._index(arch), arch)[0]

    def test_accuracies(self, arch: Arch) -> dict[str, float]:
        """200-epoch test accuracy (%, seed mean) of ``arch`` on cifar10, cifar100, ImageNet16-120."""
        idx = self._index(arch)
        return {d: float(v[idx]) for d, v in self._tests.items()}


__all__ = ["EPOCHS", "NB201TwelveEpochOracle"]
