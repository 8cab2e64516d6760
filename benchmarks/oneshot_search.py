"""One-shot methods on the NB201 supernet: search cost, supernet ranking quality, and the pick.

For each method and seed this runs the registered strategy through the real runner on the
``supernet`` oracle (CPU by default, **generated images, not CIFAR**), then reports:

* search cost: measured seconds of supernet training (the shared-work rows) and the run's whole
  simulated clock (training + scoring candidates);
* the pick (the final incumbent) and its NB201 200-epoch test accuracy on CIFAR-10 (seed mean, the
  shipped table): the supernet never saw CIFAR, so this measures how well a ranking learnt on
  generated data transfers, not the method's accuracy on CIFAR;
* how good the trained supernet is as an estimator: over a stated sample of architectures (uniform,
  ``--sample`` of them, drawn with a fixed seed), Kendall tau-b and Spearman rho of the supernet's
  scores against NB201 test accuracy, tau-b within the top 10% by truth, and the truth-regret of the
  supernet's favourite in the sample (best truth in the sample minus the truth of the architecture
  the supernet scores highest);
* DARTS-style drift: the share of parameter-free ops (none, skip, pool) in the derived cell per epoch.

The reference lines state what a uniformly random architecture scores (mean NB201 test accuracy of
the space) and the best of the sample, measured in the same run.

    python benchmarks/oneshot_search.py --methods darts,gdas,rsps,setn,enas --seeds 0,1 --epochs 4
"""

from __future__ import annotations

import argparse
import json
import time
from typing import Any

import numpy as np

from nasarena.bench.config import Budget, RunConfig
from nasarena.bench.runner import run
from nasarena.estimators.oneshot.oracle import SupernetOracle
from nasarena.results import schema as S

SAMPLE_SEED = 12345  # the architectures the supernet's ranking is measured on (same for every run)


def one_run(method: str, seed: int, okw: dict[str, Any], skw: dict[str, Any]) -> dict[str, Any]:
    """Run ``method`` once and measure it (see the module docstring); the supernet's quality is the
    package's end-of-run record (``quality_sample`` in ``okw``; nasarena.estimators.oneshot.quality)."""
    oracle = SupernetOracle(**okw)
    t0 = time.perf_counter()
    result = run(RunConfig(method, skw, "supernet", okw, seed, Budget(max_evals=100_000)), oracle)
    wall = time.perf_counter() - t0
    if not result.ok:
        raise SystemExit(f"{method} seed {seed} failed:\n{result.error}")
    t = result.trajectory
    shared = t[t[S.KIND] == "shared"]
    per_epoch = result.meta["strategy_config"]["per_epoch"]
    q = result.meta["oracle_measures"]["supernet_quality"]
    return {
        "method": method,
        "seed": seed,
        "supernet_s": float(shared[S.COST].sum()),
        "clock_s": float(t[S.TIME].iloc[-1]),
        "wall_s": wall,
        "pick": t[S.INC_ARCH].iloc[-1],
        "pick_test_acc": float(t[S.INC_FINAL].iloc[-1]),
        "kendall_tau_b": q["kendall_tau_b"],
        "spearman": q["spearman"],
        "top10_kendall_tau_b": q["top_kendall_tau_b"],
        "sample_regret": q["regret"],
        "sample_best": q["best_truth"],
        "param_free_per_epoch": [round(e.get("param_free_share", float("nan")), 3) for e in per_epoch],
    }


def main(argv: list[str] | None = None) -> None:
    """Parse arguments, run the grid, print a table (and JSON with --json)."""
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--methods", default="darts,gdas,rsps,setn,enas")
    p.add_argument("--seeds", default="0,1")
    p.add_argument("--epochs", type=int, default=4)
    p.add_argument("--channels", type=int, default=8)
    p.add_argument("--cells", type=int, default=1)
    p.add_argument("--train", type=int, default=1000, help="generated training images (two halves)")
    p.add_argument("--resolution", type=int, default=16)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--candidates", type=int, default=100)
    p.add_argument("--controller-samples", type=int, default=100, help="ENAS controller samples per epoch")
    p.add_argument("--score-images", type=int, default=256)
    p.add_argument("--sample", type=int, default=100, help="architectures for the rank correlations")
    p.add_argument("--device", default="cpu")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--json", action="store_true")
    a = p.parse_args(argv)
    okw = {
        "dataset": "synthetic",
        "epochs": a.epochs,
        "channels": a.channels,
        "cells": a.cells,
        "synthetic_train": a.train,
        "synthetic_valid": 16,
        "synthetic_test": 16,
        "synthetic_resolution": a.resolution,
        "score_images": a.score_images,
        "device": a.device,
        "num_threads": a.threads,
        "quality_sample": a.sample,
        "quality_seed": SAMPLE_SEED,
    }
    probe = SupernetOracle(**okw)
    mean_space = float(np.mean(probe._table.final_metrics()))
    rows = []
    for method in a.methods.split(","):
        skw: dict[str, Any] = {"batch_size": a.batch_size}
        if method in ("rsps", "setn", "enas"):
            skw["candidates"] = a.candidates
        if method == "enas":
            skw["controller_samples"] = a.controller_samples
        for seed in (int(s) for s in a.seeds.split(",")):
            rows.append(one_run(method, seed, okw, skw))
            r = rows[-1]
            print(
                f"{method:>5} seed {seed}: supernet {r['supernet_s']:.1f}s, clock {r['clock_s']:.1f}s, "
                f"pick test {r['pick_test_acc']:.2f}%, tau {r['kendall_tau_b']:+.3f}, "
                f"param-free/epoch {r['param_free_per_epoch']}",
                flush=True,
            )
    print(
        f"\nSetup: supernet C={a.channels} N={a.cells}, {a.epochs} epochs, {a.train} generated "
        f"{a.resolution}px images (halves for weights / architecture), batch {a.batch_size}, device "
        f"{a.device}; correlations over {a.sample} distinct uniformly sampled architectures (seed "
        f"{SAMPLE_SEED}, the same for every run; top-10% = the ceil(10%) best by truth; regret: mean "
        f"over ties of the supernet's favourite) against "
        f"NB201 200-epoch CIFAR-10 test accuracy (seed mean). The data is generated, not CIFAR."
    )
    print(
        f"Reference (same run): mean NB201 test accuracy of the space {mean_space:.2f}%, best of the "
        f"sample {rows[0]['sample_best']:.2f}%.\n"
    )
    print(
        "| method | seeds | supernet s (mean) | clock s (mean) | pick test acc % (mean) | Kendall tau-b | "
        "Spearman | top-10% tau-b | sample regret | param-free share, last epoch |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for method in a.methods.split(","):
        rs = [r for r in rows if r["method"] == method]

        def m(key: str, rs: list[dict[str, Any]] = rs) -> float:
            return float(np.mean([r[key] for r in rs]))

        pf = np.mean([r["param_free_per_epoch"][-1] for r in rs])
        print(
            f"| {method} | {len(rs)} | {m('supernet_s'):.1f} | {m('clock_s'):.1f} | "
            f"{m('pick_test_acc'):.2f} | "
            f"{m('kendall_tau_b'):+.3f} | {m('spearman'):+.3f} | {m('top10_kendall_tau_b'):+.3f} | "
            f"{m('sample_regret'):.2f} | {pf:.2f} |"
        )
    if a.json:
        print(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
