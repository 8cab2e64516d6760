"""Search with and without inheritance on the live oracle: same strategy, seeds and budget, one study.

Runs each strategy of ``--strategies`` (default: regularized evolution with ``warm_start`` off and
on, and ``nash``) as one normal nasarena study (``--out``, default a temporary folder) on live NB201
(generated dataset, one small CPU fidelity, one shared cache) with ``--budget-evals`` evaluations
(or ``--budget`` seconds of measured training), and prints per run the number of evaluations, how
many were warm starts, the incumbent's validation accuracy (what the search saw: for a warm start
that includes its ancestors' training) and the incumbent's *final* metric: test accuracy of the
architecture trained from scratch at the final fidelity, i.e. whether inheritance found a better
architecture, not just a better-trained network.

The warm-starting regularized evolution is :class:`WarmRegularizedEvolution` below (a file strategy,
``benchmarks/inheritance_search.py:WarmRegularizedEvolution``), so that both variants of the same
strategy sit side by side in one study; ``nasarena report OUT`` then shows the "Inheritance" section
(warm-start shares, seconds, time to reach the from-scratch final accuracy, paired tests). The same
study from the command line:

    nasarena run --oracle live --oracle-arg dataset=synthetic ... \\
        --strategies regularized-evolution,benchmarks/inheritance_search.py:WarmRegularizedEvolution,nash

    python benchmarks/inheritance_search.py --seeds 0,1 --budget-evals 24 --out runs/inherit-search
    python benchmarks/inheritance.py --out runs/inherit-search   # + the ranking-bias record
    nasarena report runs/inherit-search
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

from nasarena.bench.config import Budget, StudyConfig
from nasarena.strategies.evolution import RegularizedEvolution


class WarmRegularizedEvolution(RegularizedEvolution):
    """Regularized evolution with ``warm_start=True`` by default, under its own name in reports."""

    name = "regularized-evolution+warm"

    def __init__(self, *args, warm_start: bool = True, **kwargs) -> None:  # noqa: ANN002, ANN003
        super().__init__(*args, warm_start=warm_start, **kwargs)


WARM_RE = f"{Path(__file__).resolve()}:WarmRegularizedEvolution"
ARMS = {"re": ("regularized-evolution", {"population_size": 4, "sample_size": 2}),
        "re-warm": (WARM_RE, {"population_size": 4, "sample_size": 2}),
        "nash": ("nash", {"n_neighbours": 3})}


def main(argv: list[str] | None = None) -> int:
    """Run every arm for every seed as one study and print the incumbents."""
    from nasarena.bench.study import run_study
    from nasarena.results import schema as S
    from nasarena.results.store import load_study

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
    p.add_argument("--out", default=None, help="the study folder (default: a temporary one)")
    args = p.parse_args(argv)
    seeds = tuple(int(s) for s in args.seeds.split(","))
    out = Path(args.out or tempfile.mkdtemp(prefix="nasarena-inheritance-search-"))
    arms = [ARMS[a] for a in args.strategies.split(",")]
    print(f"live nb201, {args.fidelity}, {args.train}/{args.eval}/{args.eval} images, budget "
          f"{args.budget} s / {args.budget_evals} evaluations per run; final metric = test accuracy "
          f"trained from scratch at that fidelity, seed 0; study {out}")
    oracle_kwargs = {"dataset": "synthetic", "fidelities": args.fidelity, "num_threads": 1,
                     "synthetic_train": args.train, "synthetic_valid": args.eval,
                     "synthetic_test": args.eval, "cache_dir": str(out / "cache"), "best_final": 100.0}
    config = StudyConfig(strategies=tuple(name for name, _ in arms), oracle="live",
                         oracle_kwargs=oracle_kwargs, seeds=seeds,
                         budget=Budget(max_time=args.budget, max_evals=args.budget_evals),
                         strategy_kwargs=dict(arms))
    t0 = time.perf_counter()
    run_study(config, out, jobs=1, progress=False)
    study = load_study(out)
    print(f"{len(study.runs)} runs in {time.perf_counter() - t0:.0f} s wall")
    results: dict[str, list[tuple[float, float]]] = {}
    for (name, seed), df in study.trajectories.groupby([S.STRATEGY, S.SEED], sort=True):
        last = df.iloc[-1]
        results.setdefault(name, []).append((float(last[S.INC_SCORE]), float(last[S.INC_FINAL])))
        n_warm = int((df[S.KIND] == "warm-start").sum())
        print(f"{name:<27} seed {seed}: {len(df)} evaluations ({n_warm} warm starts), incumbent "
              f"validation {last[S.INC_SCORE]:.1f}, final (test, from scratch) {last[S.INC_FINAL]:.1f}")
    print("\nmean over seeds: incumbent validation accuracy / final test accuracy (from scratch)")
    for name, rows in results.items():
        v, f = np.array(rows).T
        print(f"  {name:<27} {v.mean():5.1f} / {f.mean():5.1f}  ({len(rows)} seeds)")
    print(f"\nnasarena report {out}   # the Inheritance section")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
