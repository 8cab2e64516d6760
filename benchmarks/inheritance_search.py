"""Search with and without inheritance on the live oracle: same strategy, seeds and time budget.

Runs each strategy of ``--strategies`` (default: regularized evolution with ``warm_start`` off and
on, and ``nash``) through the runner on live NB201 (generated dataset, one small CPU fidelity, a
cache per run) with ``--budget-evals`` evaluations (or ``--budget`` seconds of measured training),
and prints per run the number
of evaluations, how many were warm starts, the incumbent's validation accuracy (what the search
saw: for a warm start that includes its ancestors' training) and the incumbent's *final* metric:
test accuracy of the architecture trained from scratch at the final fidelity, i.e. whether
inheritance found a better architecture, not just a better-trained network.

    python benchmarks/inheritance_search.py --seeds 0,1 --budget-evals 24
"""

from __future__ import annotations

import argparse
import tempfile
import time

import numpy as np

from nasarena.bench.config import Budget, RunConfig
from nasarena.bench.runner import run

ARMS = {"re": ("regularized-evolution", {"population_size": 4, "sample_size": 2}),
        "re-warm": ("regularized-evolution", {"population_size": 4, "sample_size": 2, "warm_start": True}),
        "nash": ("nash", {"n_neighbours": 3})}


def main(argv: list[str] | None = None) -> int:
    """Run every arm for every seed and print the incumbents."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--strategies", default=",".join(ARMS), help=f"among {', '.join(ARMS)}")
    p.add_argument("--seeds", default="0")
    p.add_argument("--budget", type=float, default=None, help="seconds of measured training per run")
    p.add_argument("--budget-evals", type=int, default=24,
                   help="evaluations per run (the default budget: measured seconds depend on the machine's "
                   "load, which changes between runs on a shared machine)")
    p.add_argument("--fidelity", default="epochs=2,channels=8,cells=1")
    p.add_argument("--train", type=int, default=2000)
    p.add_argument("--eval", type=int, default=500)
    args = p.parse_args(argv)
    seeds = [int(s) for s in args.seeds.split(",")]
    base = tempfile.mkdtemp(prefix="nasarena-inheritance-search-")
    print(f"live nb201, {args.fidelity}, {args.train}/{args.eval}/{args.eval} images, budget "
          f"{args.budget} s / {args.budget_evals} evaluations per run; final metric = test accuracy "
          f"trained from scratch at that fidelity, seed 0")
    budget = Budget(max_time=args.budget, max_evals=args.budget_evals)
    results: dict[str, list[tuple[float, float]]] = {}
    for seed in seeds:  # seed-major: a run cut short still compares every arm on the seeds done
        for arm in args.strategies.split(","):
            strategy, kwargs = ARMS[arm]
            oracle_kwargs = {"dataset": "synthetic", "fidelities": args.fidelity, "num_threads": 1,
                             "synthetic_train": args.train, "synthetic_valid": args.eval,
                             "synthetic_test": args.eval, "cache_dir": f"{base}/{arm}-{seed}",
                             "best_final": 100.0}
            t0 = time.perf_counter()
            res = run(RunConfig(strategy=strategy, strategy_kwargs=kwargs, oracle="live",
                                oracle_kwargs=oracle_kwargs, seed=seed, budget=budget,
                                n_workers=1))
            if not res.ok:
                print(f"{arm} seed {seed}: failed: {res.error}")
                continue
            df = res.trajectory
            last = df.iloc[-1]
            results.setdefault(arm, []).append((float(last["incumbent_score"]),
                                                float(last["incumbent_final"])))
            n_warm = int((df["kind"] == "warm-start").sum())
            print(f"{arm:<8} seed {seed}: {len(df)} evaluations ({n_warm} warm starts), incumbent "
                  f"validation {last['incumbent_score']:.1f}, final (test, from scratch) "
                  f"{last['incumbent_final']:.1f}  [{time.perf_counter() - t0:.0f} s wall]", flush=True)
    print("\nmean over seeds: incumbent validation accuracy / final test accuracy (from scratch)")
    for arm, rows in results.items():
        v, f = np.array(rows).T
        print(f"  {arm:<8} {v.mean():5.1f} / {f.mean():5.1f}  ({len(rows)} seeds)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
