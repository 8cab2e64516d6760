"""BO's per-ask overhead on the NB201 space at 200 observations (issue target: < 50 ms).

Setup: ``bo`` with default hyper-parameters is fed 200 evaluations of the nb201-lite oracle
(cifar10-valid), then each benchmark round times one ``ask()`` followed by the ``tell()`` of its
result (so observations grow from 200 by one per round; rounds are few, so it stays ~200). Two
variants: the default (GP hyper-parameters refitted every 10 observations, the refit's cost
amortised over asks as in a run) and ``refit_every=1`` (a refit on every ask: the worst case of a
single ask). Baseline in the same run: random search's ask+tell, which is what a strategy costs when
it does no modelling. ``bo`` limits BLAS to one thread around its GP work (threadpoolctl); without
that, multithreaded OpenBLAS on a loaded 2-core machine made the median ask ~200 ms instead of ~5 ms.

Run: ``pytest benchmarks/test_bo_overhead.py --benchmark-enable``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from nasarena.registry import make_oracle, make_strategy


def _fed(name: str, n: int = 200, **kw: Any) -> tuple[Any, Any, np.random.Generator]:
    oracle = make_oracle("nb201-lite", dataset="cifar10-valid")
    strategy = make_strategy(name, space=oracle.space, rng=np.random.default_rng(0),
                             fidelities=oracle.fidelities, **kw)
    rng = np.random.default_rng(1)
    for _ in range(n):
        p = strategy.ask()
        strategy.tell(p, oracle.evaluate(p.arch, p.fidelity, rng))
    return oracle, strategy, rng


def _step(oracle: Any, strategy: Any, rng: np.random.Generator) -> None:
    p = strategy.ask()
    strategy.tell(p, oracle.evaluate(p.arch, p.fidelity, rng))


@pytest.mark.parametrize(("name", "kw"), [("bo", {}), ("bo", {"refit_every": 1}), ("random", {})],
                         ids=["bo-default", "bo-refit-every-ask", "random-baseline"])
def test_ask_tell_at_200_observations(benchmark: Any, name: str, kw: dict) -> None:
    oracle, strategy, rng = _fed(name, **kw)
    benchmark.pedantic(_step, args=(oracle, strategy, rng), rounds=30, iterations=1, warmup_rounds=1)
    if name == "bo":
        assert len(strategy._y) >= 200  # the model really holds 200+ observations
