"""Runner + strategy throughput of this tree against another tree, as a ratio measured in one run.

``benchmarks/test_runner_throughput.py`` reports evaluations per second of one tree; a change to the
runner or the strategy base class must be compared against the code before it *on the same machine
at the same time* (the machine is shared, so absolute rates drift). This script starts worker
subprocesses alternately with ``PYTHONPATH`` set to the old and to the new tree; each worker builds
NB201-lite cifar10-valid, warms the per-architecture cache over the whole space (as a study worker
is after its first runs), and times ``runner.run`` for each strategy a few times on one core. The
best CPU time of all rounds per tree gives the rate; the report is ``new / old`` per strategy::

    python benchmarks/runner_throughput_ratio.py --old /work/wt/baseline --new . --rounds 3

Only API that existed before issue 9 is used, so any two trees of the project can be compared.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from nasarena.strategies.base import Strategy

THIS = str(Path(__file__).resolve())
STRATEGIES = ("replay", "random", "regularized-evolution", "local-search")


class Replay(Strategy):
    """Hands out a fixed pseudo-random sequence: the cheapest possible strategy (harness floor)."""

    name = "replay"

    def __init__(self, space, rng, fidelities=()) -> None:
        super().__init__(space, rng, fidelities)
        self._cards = np.asarray(space.cardinalities)
        self._archs: list = [None]
        self._i = 0

    def ask(self):
        self._i += 1
        if self._i == len(self._archs):  # draw the next block at once (vectorised)
            block = self.rng.integers(0, self._cards, size=(1024, len(self._cards))).tolist()
            self._archs.extend(tuple(r) for r in block)
        return self.propose(self._archs[self._i], self.fidelity)

    def tell(self, proposal, evaluation) -> None:
        pass


class Sweep(Replay):
    """Proposes every architecture once (warms the per-architecture cache)."""

    def __init__(self, space, rng, fidelities=()) -> None:
        super().__init__(space, rng, fidelities)
        self._archs = [None, *space.enumerate(), None]


def _worker(names: list[str], evals: int, repeats: int) -> dict[str, float]:
    """Best evaluations per CPU second of each strategy (runs in the subprocess)."""
    from nasarena.bench.config import Budget, RunConfig
    from nasarena.bench.runner import run
    from nasarena.registry import make_oracle

    lite = {"dataset": "cifar10-valid"}
    oracle = make_oracle("nb201-lite", **lite)
    cache: dict = {}
    run(RunConfig(f"{THIS}:Sweep", {}, "nb201-lite", lite, 0, Budget(max_evals=oracle.space.size)),
        oracle, cache)
    out = {}
    for name in names:
        cfg = RunConfig(f"{THIS}:Replay" if name == "replay" else name, {}, "nb201-lite", lite, 1,
                        Budget(max_evals=evals))
        best = float("inf")
        for _ in range(repeats):
            t = time.process_time()
            res = run(cfg, oracle, cache)
            best = min(best, time.process_time() - t)
            assert res.status == "ok", res.error
        out[name] = len(res.trajectory) / best
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--old", type=Path, help="the baseline tree (repository root)")
    p.add_argument("--new", type=Path, default=Path("."), help="the tree under test (default: .)")
    p.add_argument("--rounds", type=int, default=3, help="alternations old/new (default 3)")
    p.add_argument("--evals", type=int, default=5000, help="max_evals per timed run (default 5000)")
    p.add_argument("--repeats", type=int, default=3, help="timed runs per strategy per worker")
    p.add_argument("--strategies", default=",".join(STRATEGIES))
    p.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    names = args.strategies.split(",")
    if args.worker:
        print(json.dumps(_worker(names, args.evals, args.repeats)))
        return 0
    if args.old is None:
        p.error("--old is required")
    best: dict[str, dict[str, float]] = {"old": {}, "new": {}}
    for r in range(args.rounds):
        for label, tree in (("old", args.old), ("new", args.new)) if r % 2 == 0 else \
                (("new", args.new), ("old", args.old)):
            env = {**os.environ, "PYTHONPATH": str(tree.resolve()), "OMP_NUM_THREADS": "1"}
            cmd = [sys.executable, THIS, "--worker", "--evals", str(args.evals), "--repeats",
                   str(args.repeats), "--strategies", args.strategies]
            if sys.platform.startswith("linux"):
                cmd = ["taskset", "-c", "0", *cmd]  # one core, as the figure is stated
            done = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True)
            rates = json.loads(done.stdout.strip().splitlines()[-1])
            for k, v in rates.items():
                best[label][k] = max(best[label].get(k, 0.0), v)
            print(f"round {r + 1} {label}: " + ", ".join(f"{k} {v:,.0f}/s" for k, v in rates.items()),
                  flush=True)
    print(f"\nevaluations per CPU second on one core, best of {args.rounds} workers x {args.repeats} runs "
          f"of {args.evals} evaluations (NB201-lite cifar10-valid, warm per-architecture cache):")
    for k in names:
        if k in best["old"] and k in best["new"]:
            o, n = best["old"][k], best["new"][k]
            print(f"  {k:24s} old {o:9,.0f}  new {n:9,.0f}  new/old {n / o:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
