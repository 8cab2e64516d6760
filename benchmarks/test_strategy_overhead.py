"""Strategy overhead: a plain ask / evaluate / tell loop against nb201-lite, per strategy.

Run with ``pytest benchmarks/test_strategy_overhead.py --benchmark-enable -s`` (the project's pytest
options disable benchmarks by default). Each test benchmarks one strategy (pytest-benchmark rounds,
a fresh strategy per round) and, in the same test, times two baselines with the same clock: random
search's loop (the ratio ``vs_random``) and the oracle alone (so ``overhead_us`` is the strategy's own
ask+tell cost per evaluation). The oracle's per-architecture FLOPs cache is warmed first, so a
strategy that proposes new architectures (random search) is not charged for the oracle's first-visit
cost. Torch runs with one thread, as the study runner sets it. The in-test timings use CPU time
(``time.process_time``, best of several runs), which is far steadier than wall time on a shared,
oversubscribed machine; add ``--benchmark-timer time.process_time`` to get the same for the
pytest-benchmark table. Strategies that refuse a single-fidelity oracle (``UnsupportedError``:
hyperband, BOHB) are skipped. Figures go to ``extra_info`` (see ``--benchmark-json``) and are
printed; nothing asserts on time. Issue target: runner + strategy +
oracle >= 20k evaluations/s for random and regularized evolution, i.e. a few microseconds of
strategy overhead.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from nasarena.errors import UnsupportedError
from nasarena.estimators.nb201_lite import NB201LiteOracle
from nasarena.registry import STRATEGIES
from nasarena.strategies.base import Strategy

#: Evaluations per round for strategies known to be fast (microseconds per ask+tell) or torch-based;
#: any other registered strategy (model-based ones cost milliseconds per ask) gets SLOW_N.
N_EVALS = {"random": 3000, "regularized-evolution": 3000, "evolution": 3000, "reinforce": 300,
           "reinforce-lstm": 300}
SLOW_N = 100
# families have no single member to time; one-shot strategies need a supernet oracle ("shared" work)
NAMES = [n for n in STRATEGIES.names()
         if ":<" not in n and "shared" not in getattr(STRATEGIES.resolve(n), "requires", ())]


@pytest.fixture(scope="module")
def oracle() -> NB201LiteOracle:
    """nb201-lite cifar10-valid with every architecture's FLOPs already cached."""
    o = NB201LiteOracle("cifar10-valid")
    rng = np.random.default_rng(0)
    for arch in o.space.enumerate():
        o.evaluate(arch, None, rng)
    return o



def _make(name: str, oracle: NB201LiteOracle, seed: int) -> Strategy:
    return STRATEGIES.make(name, space=oracle.space, rng=np.random.default_rng(seed),
                           fidelities=oracle.fidelities)


def _loop(strategy: Strategy, oracle: NB201LiteOracle, rng: np.random.Generator, n: int) -> None:
    ask, tell, evaluate = strategy.ask, strategy.tell, oracle.evaluate
    for _ in range(n):
        p = ask()
        tell(p, evaluate(p.arch, p.fidelity, rng))


def _oracle_only(oracle: NB201LiteOracle, rng: np.random.Generator, n: int) -> None:
    archs = [oracle.space.from_index(int(i)) for i in rng.integers(0, oracle.space.size, n)]
    evaluate = oracle.evaluate
    fid = oracle.fidelities[0]
    t0 = time.process_time()
    for a in archs:
        evaluate(a, fid, rng)
    return time.process_time() - t0


def _best_time(run: Callable[[int], float], repeats: int = 5) -> float:
    return min(run(seed) for seed in range(repeats))


def _timed_loop(name: str, oracle: NB201LiteOracle, n: int) -> Callable[[int], float]:
    def run(seed: int) -> float:
        strategy = _make(name, oracle, seed)
        rng = np.random.default_rng(seed + 1)
        t0 = time.process_time()
        _loop(strategy, oracle, rng, n)
        return time.process_time() - t0

    return run


@pytest.mark.parametrize("name", NAMES)
def test_ask_evaluate_tell_loop(benchmark: Any, oracle: NB201LiteOracle, name: str) -> None:
    try:
        _make(name, oracle, 0)
    except UnsupportedError as exc:
        pytest.skip(f"{name} does not run on single-fidelity nb201-lite: {exc}")
    n = N_EVALS.get(name, SLOW_N)
    repeats = 5 if name in N_EVALS else 2
    seeds = iter(range(10_000))

    def setup() -> tuple[tuple[Any, ...], dict[str, Any]]:
        seed = next(seeds)
        return (_make(name, oracle, seed), oracle, np.random.default_rng(seed + 1), n), {}

    benchmark.pedantic(_loop, setup=setup, rounds=repeats, iterations=1)
    loop_s = _best_time(_timed_loop(name, oracle, n), repeats) / n
    random_s = _best_time(_timed_loop("random", oracle, n)) / n
    oracle_s = _best_time(lambda seed: _oracle_only(oracle, np.random.default_rng(seed), n)) / n
    info = {"evals": n, "loop_us_per_eval": loop_s * 1e6, "evals_per_s": 1.0 / loop_s,
            "overhead_us": (loop_s - oracle_s) * 1e6, "oracle_us": oracle_s * 1e6,
            "vs_random": loop_s / random_s}
    benchmark.extra_info.update(info)
    print(f"\n{name:>24}: {info['loop_us_per_eval']:9.1f} us/eval ({info['evals_per_s']:8.0f} evals/s), "
          f"strategy overhead {info['overhead_us']:8.1f} us, oracle {info['oracle_us']:.1f} us, "
          f"{info['vs_random']:.2f}x random")
