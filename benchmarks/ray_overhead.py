"""The Ray executor against the process pool: the same 100-run tabular study, identical results, and
the per-run overhead as a ratio measured in one invocation (issue 15).

The study (default: random and regularized-evolution x 50 seeds on NB201-lite cifar10-valid, 100
evaluations per run) runs three times into fresh folders, with the same number of workers each:

1. in this process (``jobs=1``): the compute baseline, no executor overhead;
2. the process pool (``jobs=W``), as ``nasarena run`` does by default;
3. Ray tasks on a local ``ray.init(num_cpus=W)``; the cluster's start-up is timed separately and
   left out (a cluster is started once and serves many studies), the driver writes every result.

The three are interleaved over ``--rounds`` rounds and the medians reported (the pool's time
includes starting its forkserver and workers, as every ``nasarena run`` does).

It asserts that the three studies' trajectories are identical, then prints wall seconds per run
and each executor's overhead per run: ``wall/run - in-process wall/run / W`` (what the engine adds
over ideally parallel compute), and the ratio ``Ray / pool`` of both::

    PYTHONPATH=. python benchmarks/ray_overhead.py --workers 2 [--seeds 50 --evals 100 --rounds 3]

On a shared machine absolute times drift; the ratio is the number to read.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

import pandas as pd

from nasarena.bench.config import Budget, StudyConfig
from nasarena.bench.ray_executor import RayExecutor, import_ray
from nasarena.bench.study import run_study
from nasarena.results import schema as S
from nasarena.results.store import load_study


def _study(seeds: int, evals: int) -> StudyConfig:
    return StudyConfig(strategies=("random", "regularized-evolution"), oracle="nb201-lite",
                       oracle_kwargs={"dataset": "cifar10-valid"}, seeds=tuple(range(seeds)),
                       budget=Budget(max_evals=evals))


def _timed(config: StudyConfig, out: Path, **kwargs) -> tuple[float, pd.DataFrame]:
    t0 = time.perf_counter()
    summary = run_study(config, out, progress=False, **kwargs)
    wall = time.perf_counter() - t0
    assert summary.completed == len(config.runs()) and not summary.failed, summary
    traj = load_study(out).trajectories
    return wall, traj.sort_values([S.RUN_ID, S.EVAL_INDEX], ignore_index=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--workers", type=int, default=2, help="processes / Ray CPUs (default 2)")
    ap.add_argument("--seeds", type=int, default=50, help="seeds per strategy (2 strategies; default 50)")
    ap.add_argument("--evals", type=int, default=100, help="evaluations per run (default 100)")
    ap.add_argument("--rounds", type=int, default=3, help="interleaved repetitions; medians (default 3)")
    args = ap.parse_args()
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    config = _study(args.seeds, args.evals)
    n = len(config.runs())
    ray = import_ray()
    t_ins, t_pools, t_rays = [], [], []
    with tempfile.TemporaryDirectory(prefix="ray-overhead-") as tmp:
        root = Path(tmp)
        t0 = time.perf_counter()
        ray.init(num_cpus=args.workers, include_dashboard=False, log_to_driver=False,
                 runtime_env={"env_vars": {"PYTHONPATH": os.environ.get("PYTHONPATH", ""),
                                           "OMP_NUM_THREADS": "1"}})
        t_start = time.perf_counter() - t0
        try:
            for r in range(args.rounds):  # interleaved, so drifting load hits all three alike
                t, ref = _timed(config, root / f"inproc{r}", jobs=1)
                t_ins.append(t)
                t, pool = _timed(config, root / f"pool{r}", jobs=args.workers)
                t_pools.append(t)
                t, on_ray = _timed(config, root / f"ray{r}", executor=RayExecutor())
                t_rays.append(t)
        finally:
            ray.shutdown()
    t_in, t_pool, t_ray = (statistics.median(x) for x in (t_ins, t_pools, t_rays))
    pd.testing.assert_frame_equal(ref, pool)
    pd.testing.assert_frame_equal(ref, on_ray)
    ideal = t_in / n / args.workers
    per = {"in-process (jobs=1)": t_in / n, f"process pool (jobs={args.workers})": t_pool / n,
           f"Ray ({args.workers} CPUs)": t_ray / n}
    over_pool, over_ray = t_pool / n - ideal, t_ray / n - ideal
    print(f"{n} runs x {args.evals} evaluations, NB201-lite cifar10-valid; trajectories identical "
          f"({len(ref)} rows in each of the three studies); median of {args.rounds} interleaved rounds")
    for name, value in per.items():
        print(f"  {name:<24} {value * 1000:8.1f} ms wall per run")
    print(f"  Ray cluster start-up (ray.init, not in the Ray row): {t_start:.1f} s")
    print("  per round, ms per run (round 1: Ray's workers cold; later: warm, their oracles built, as on "
          "a cluster that served a study before; the pool starts fresh every study):")
    for name, ts in (("in-process", t_ins), ("pool", t_pools), ("Ray", t_rays)):
        print(f"    {name:<11} " + " ".join(f"{t / n * 1000:6.1f}" for t in ts))
    print(f"  round 1 ratio Ray / pool: {t_rays[0] / t_pools[0]:.2f}x wall per run")
    print(f"overhead per run over ideally parallel compute ({ideal * 1000:.1f} ms): pool "
          f"{over_pool * 1000:.1f} ms, Ray {over_ray * 1000:.1f} ms")
    print(f"ratio Ray / pool: wall per run {t_ray / t_pool:.2f}x, overhead per run "
          f"{over_ray / over_pool:.2f}x" if over_pool > 0 else
          f"ratio Ray / pool: wall per run {t_ray / t_pool:.2f}x (pool overhead not measurable)")


if __name__ == "__main__":
    main()
