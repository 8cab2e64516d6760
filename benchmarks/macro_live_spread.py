"""Can live training tell macro architectures apart? Spread of accuracy over random architectures.

For each macro space, trains ``--n-archs`` uniformly sampled architectures (distinct canonical forms)
with the ``live`` oracle on the generated dataset at one small fidelity, and prints the validation
accuracy spread (best - worst, and the share of architectures within 1 point of the best), the
held-out test accuracy of the same trainings, and the params-vs-validation-accuracy Pareto front
(nasarena.objectives.pareto_mask). Every number is one training seed (0) at the stated fidelity.
Results are cached (``--cache``), so a rerun only prints.

    python benchmarks/macro_live_spread.py       # 30 archs per space, 4 epochs: ~3-5 min per space on CPU
    python benchmarks/macro_live_spread.py --spaces chain --n-archs 10 --fidelity epochs=2,width_mult=0.5
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from nasarena.estimators.base import Fidelity
from nasarena.estimators.live.oracle import LiveOracle
from nasarena.objectives import pareto_mask


def distinct_archs(space: object, n: int, seed: int) -> list[tuple[int, ...]]:
    """``n`` sampled architectures with distinct canonical forms (no network trained twice)."""
    rng = np.random.default_rng(seed)
    out, seen = [], set()
    while len(out) < n:
        arch = space.sample(rng)  # type: ignore[attr-defined]
        key = space.canonical(arch)  # type: ignore[attr-defined]
        if key not in seen:
            seen.add(key)
            out.append(arch)
    return out


def main() -> None:
    """Train, then print the spread and the front per space."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spaces", default="chain,residual,dense")
    parser.add_argument("--n-archs", type=int, default=30)
    parser.add_argument("--fidelity", default="epochs=4,width_mult=0.5")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--synthetic-train", type=int, default=2000)
    parser.add_argument("--synthetic-eval", type=int, default=500, help="validation and test images each")
    parser.add_argument("--cache", default="runs/macro-spread/cache")
    args = parser.parse_args()
    fid = Fidelity.parse(args.fidelity)
    for name in args.spaces.split(","):
        oracle = LiveOracle(space=name, dataset="synthetic", fidelities=[fid], cache_dir=args.cache,
                            num_threads=args.threads, synthetic_train=args.synthetic_train,
                            synthetic_valid=args.synthetic_eval, synthetic_test=args.synthetic_eval)
        t0 = time.perf_counter()
        rows = []
        for arch in distinct_archs(oracle.space, args.n_archs, args.seed):
            ev = oracle.evaluate(arch, fid, np.random.default_rng(0))
            if ev.ok:
                rows.append((oracle.space.to_string(arch), ev.params, ev.score, oracle.final_metric(arch)))
        valid = np.array([r[2] for r in rows])
        test = np.array([r[3] for r in rows])
        best = valid.max()
        print(f"{name}: {len(rows)} architectures at {fid.key()} (synthetic: {args.synthetic_train} train, "
              f"{args.synthetic_eval} valid/test images; training seed 0), {time.perf_counter() - t0:.0f} s")
        print(f"  validation accuracy: best {best:.1f}, worst {valid.min():.1f}, best - worst "
              f"{best - valid.min():.1f} points; within 1 point of the best: "
              f"{np.mean(valid >= best - 1.0):.0%}; test accuracy best - worst {test.max() - test.min():.1f}")
        points = np.array([[r[1], -r[2]] for r in rows])  # minimise params, maximise accuracy
        front = sorted((rows[i] for i in np.flatnonzero(pareto_mask(points))), key=lambda r: r[1])
        print("  params-vs-validation-accuracy Pareto front (params M, valid %, arch):")
        for arch, params, score, _ in front:
            print(f"    {params:8.4f}  {score:5.1f}  {arch}")


if __name__ == "__main__":
    main()
