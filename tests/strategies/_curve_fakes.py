"""A curve oracle for early-stopping tests: synthetic per-epoch curves, continue, increments charged.

Each architecture of a small subset of NB201 has one fixed synthetic learning curve (see
:mod:`nasarena.estimators.curves.synthetic`: the test data has no real per-epoch curves); epoch ``e``
of it is the score at ``Fidelity(epochs=e)``, an epoch costs 1 s, and a continue from ``handle``
charges only the epochs after it. Addressed by file path like ``tests/bench/_fakes.py``.
"""

from __future__ import annotations

import numpy as np

from nasarena.estimators.base import CONTINUE, MULTI_FIDELITY, Evaluation, Fidelity, Oracle
from nasarena.estimators.curves.synthetic import synthetic_curve
from nasarena.spaces.base import SubsetSpace
from nasarena.spaces.nb201 import NB201Space

EPOCHS = 12


def drive(strategy, oracle, n: int, seed: int = 0) -> list:
    """A sequential runner in miniature: keeps handles, evaluates continues from them."""
    rng = np.random.default_rng(seed)
    handles, out = {}, []
    strategy.offer(oracle.capabilities())
    for _ in range(n):
        p = strategy.ask()
        start = handles[p.continues] if p.continues is not None else None
        ev = oracle.evaluate(p.arch, p.fidelity, rng, start=start)
        handles[p.id] = ev.handle
        strategy.tell(p, ev)
        out.append((p, ev))
    return out


class CurveOracle(Oracle):
    """Synthetic curves of ``n_archs`` architectures over ``EPOCHS`` epoch fidelities (see module)."""

    name = "test-curves"
    offers = frozenset({MULTI_FIDELITY, CONTINUE})
    metric = "valid_acc_synthetic"
    final_metric_name = "valid_acc_last_epoch"

    def __init__(self, n_archs: int = 40, seed: int = 0, continues: bool = True, curves: bool = True) -> None:
        rng = np.random.default_rng(seed)
        base = NB201Space()
        archs = list(dict.fromkeys(base.sample(rng) for _ in range(n_archs)))
        self.curves = {a: synthetic_curve(rng, EPOCHS, noise=0.3)[0] for a in archs}
        self.space = SubsetSpace(base, {a: float(c[-1]) for a, c in self.curves.items()})
        self.dataset = "synthetic"
        self.fidelities = tuple(Fidelity(epochs=e) for e in range(1, EPOCHS + 1))
        self.best_final = max(float(c[-1]) for c in self.curves.values())
        self.with_continue, self.with_curves = continues, curves
        self.calls: list[tuple] = []

    def capabilities(self) -> frozenset[str]:
        return frozenset({MULTI_FIDELITY, CONTINUE}) if self.with_continue else frozenset({MULTI_FIDELITY})

    def evaluate(self, arch, fidelity, rng, *, start=None, inherit=None) -> Evaluation:
        fid = self.check_fidelity(fidelity)
        done = 0
        if start is not None:
            s_arch, done = start
            assert s_arch == arch and done < fid.epochs
        self.calls.append((arch, fid.epochs, done))
        c = self.curves[arch][: fid.epochs]
        return Evaluation(arch, fid, float(c[-1]), float(fid.epochs - done), params=1.0, flops=10.0,
                          curve=tuple(c.tolist()) if self.with_curves else None, handle=(arch, fid.epochs))

    def final_metric(self, arch) -> float:
        return float(self.curves[arch][-1])
