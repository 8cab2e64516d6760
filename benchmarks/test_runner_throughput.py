"""Throughput of runner + strategy + oracle, in finished evaluations per second, on one core.

Run with ``pytest benchmarks/test_runner_throughput.py --benchmark-enable`` (the project's pytest
options disable benchmarks by default). Every registered strategy that builds with its defaults on
NB201-lite cifar10-valid runs a ``max_evals`` budget through :func:`nasarena.bench.runner.run`.
Two baselines are measured in the same session: ``random`` (the issue's reference, target >= 20k
evaluations/s for random and regularized evolution) and ``replay``, a strategy that hands out a
precomputed list of architectures, i.e. the floor set by the runner and the oracle alone. The
oracle and the per-architecture cache are warm, as in a study worker after its first runs. Figures
(evaluations/s and the ratio to random) go to ``extra_info`` and are printed; nothing asserts on time.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest

from nasarena.bench.config import Budget, RunConfig
from nasarena.bench.runner import run
from nasarena.registry import STRATEGIES, make_oracle

#: Replay (the harness floor) and Sweep (warms the cache) live with the old-vs-new ratio script
RATIO = str(Path(__file__).with_name("runner_throughput_ratio.py").resolve())
TARGET_SECONDS = 0.5  # each timed round runs about this long
MAX_EVALS = 12_000    # below the 15,625 architectures, so no-repeat strategies are not exhausted


def _strategies() -> list[str]:
    names = [n for n in STRATEGIES.names() if "<" not in n and n != "random"
             and "shared" not in getattr(STRATEGIES.resolve(n), "requires", ())]  # one-shot: supernet only
    return [f"{RATIO}:Replay", "random", *names]


@pytest.fixture(scope="module")
def setup():
    """The oracle, a per-architecture cache warmed over the whole space, and the measured rates."""
    oracle = make_oracle("nb201-lite", dataset="cifar10-valid")
    cache: dict = {}
    size = oracle.space.size
    sweep = RunConfig(f"{RATIO}:Sweep", {}, "nb201-lite", {"dataset": "cifar10-valid"}, 0,
                      Budget(max_evals=size))
    assert len(run(sweep, oracle, cache).trajectory) == size
    return oracle, cache, {}


def _rate(name: str, n: int, oracle, cache) -> float:
    cfg = RunConfig(name, {}, "nb201-lite", {"dataset": "cifar10-valid"}, 1, Budget(max_evals=n))
    t = time.perf_counter()
    res = run(cfg, oracle, cache)
    dt = time.perf_counter() - t
    if res.status != "ok":
        pytest.skip(f"{name} failed on nb201-lite: {res.error.strip().splitlines()[-1]}")
    return len(res.trajectory) / dt


def _evals_for(name: str, oracle, cache) -> int:
    """Calibrate ``max_evals`` so that a round lasts about ``TARGET_SECONDS``."""
    _rate(name, 5, oracle, cache)  # imports and first-call costs
    n = 20
    while True:
        t = time.perf_counter()
        rate = _rate(name, n, oracle, cache)
        if time.perf_counter() - t > TARGET_SECONDS / 5 or n >= MAX_EVALS:
            return int(min(MAX_EVALS, max(20, rate * TARGET_SECONDS)))
        n = min(MAX_EVALS, n * 4)


@pytest.mark.parametrize("name", _strategies(), ids=lambda n: n.rpartition(":")[2] if ":" in n else n)
def test_throughput(benchmark, setup, name):
    oracle, cache, rates = setup
    try:
        STRATEGIES.resolve(name)(space=oracle.space, rng=np.random.default_rng(0),
                                 fidelities=tuple(oracle.fidelities))
    except Exception as exc:  # noqa: BLE001 - strategies needing arguments or other spaces are skipped
        pytest.skip(f"{name} does not build with defaults on nb201-lite: {exc}")
    n = _evals_for(name, oracle, cache)
    cfg = RunConfig(name, {}, "nb201-lite", {"dataset": "cifar10-valid"}, 0, Budget(max_evals=n))
    cpu: list[float] = []

    def timed():
        t = time.process_time()
        out = run(cfg, oracle, cache)
        cpu.append(time.process_time() - t)
        return out

    result = benchmark.pedantic(timed, rounds=3, iterations=1, warmup_rounds=0)
    n_done = len(result.trajectory)
    rate = n_done / benchmark.stats.stats.min
    cpu_rate = n_done / min(cpu)
    label = name.rpartition(":")[2] if ":" in name else name
    rates[label] = rate, cpu_rate
    benchmark.extra_info.update({"evaluations": n_done, "evals_per_s": round(rate),
                                 "evals_per_cpu_s": round(cpu_rate)})
    ratio = ""
    if "random" in rates:
        benchmark.extra_info["ratio_to_random"] = round(rate / rates["random"][0], 3)
        benchmark.extra_info["cpu_ratio_to_random"] = round(cpu_rate / rates["random"][1], 3)
        ratio = f", {rate / rates['random'][0]:.3f}x random (CPU {cpu_rate / rates['random'][1]:.3f}x)"
    print(f"\n{label}: {rate:,.0f} evaluations/s wall, {cpu_rate:,.0f} per CPU second "
          f"({n_done} per round){ratio}")
