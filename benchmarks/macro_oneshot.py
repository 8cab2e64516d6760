"""One-shot search of a macro space (``macro-supernet``): search cost and the pick, against baselines
measured in the same run.

For each method (``rsps``, ``enas``, ``gdas``) and seed, the registered strategy runs through the real runner
on the ``macro-supernet`` oracle (CPU, **generated images**); the final metric of its pick is the
test accuracy of a live retraining from scratch at ``--final`` (the oracle's final metric). The
baseline, in the same run and on the same live oracle: ``--baseline`` uniformly random networks of
the space (fixed seed), each trained from scratch at the same fidelity; its mean and best test
accuracy, and its mean training seconds. Printed ratios:

* ``pick / random mean``: the pick's test accuracy over the random networks' mean;
* ``supernet s / (candidates x train s)``: the supernet's training seconds over what scoring the
  same number of candidates by training each from scratch would cost (the point of weight sharing);
* ``supernet s/epoch / train s/epoch``: one supernet epoch (one sub-network per batch, on half the
  training split) over one epoch of a stand-alone training (the whole split).

    python benchmarks/macro_oneshot.py --space chain --max-layers 3 --seeds 0,1 --epochs 3
"""

from __future__ import annotations

import argparse
import time
from typing import Any

import numpy as np

from nasarena.bench.config import Budget, RunConfig
from nasarena.bench.runner import run
from nasarena.estimators.oneshot.macro_oracle import MacroSupernetOracle
from nasarena.results import schema as S

BASELINE_SEED = 2021  # the random networks of the baseline (same for every method and seed)


def one_run(method: str, seed: int, oracle: MacroSupernetOracle, okw: dict[str, Any],
            skw: dict[str, Any]) -> dict[str, Any]:
    """Run ``method`` once on ``oracle`` (its live final-metric cache is shared by the runs)."""
    t0 = time.perf_counter()
    result = run(RunConfig(method, skw, "macro-supernet", okw, seed, Budget(max_evals=100_000)), oracle)
    if not result.ok:
        raise SystemExit(f"{method} seed {seed} failed:\n{result.error}")
    t = result.trajectory
    shared = t[t[S.KIND] == "shared"]
    return {"method": method, "seed": seed, "supernet_s": float(shared[S.COST].sum()),
            "epochs": len(shared), "clock_s": float(t[S.TIME].iloc[-1]), "wall_s": time.perf_counter() - t0,
            "pick": t[S.INC_ARCH].iloc[-1], "pick_test": float(t[S.INC_FINAL].iloc[-1])}


def baseline(oracle: MacroSupernetOracle, n: int) -> dict[str, Any]:
    """``n`` uniform random networks trained from scratch at the final fidelity (the live oracle)."""
    live = oracle.live()
    rng = np.random.default_rng(BASELINE_SEED)
    accs, secs = [], []
    for _ in range(n):
        arch = oracle.space.sample(rng)
        ev = live.evaluate(arch, live.final_fidelity, np.random.default_rng(0))  # seed 0 = final_seed
        secs.append(float(ev.cost))
        accs.append(live.final_metric(arch))  # the same training's test accuracy (cached record)
    return {"mean": float(np.nanmean(accs)), "best": float(np.nanmax(accs)), "train_s": float(np.mean(secs)),
            "epochs": live.spec(live.final_fidelity).epochs, "n": n}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--space", default="chain")
    ap.add_argument("--max-layers", type=int, default=3)
    ap.add_argument("--methods", default="rsps,enas,gdas")
    ap.add_argument("--seeds", default="0,1")
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--width-mult", type=float, default=0.25)
    ap.add_argument("--train", type=int, default=512)
    ap.add_argument("--test", type=int, default=200)
    ap.add_argument("--resolution", type=int, default=16)
    ap.add_argument("--final", default="epochs=3,width_mult=0.25")
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--candidates", type=int, default=20)
    ap.add_argument("--controller-samples", type=int, default=20)
    ap.add_argument("--baseline", type=int, default=10)
    ap.add_argument("--threads", type=int, default=1)
    a = ap.parse_args()
    okw = {"space": a.space, "max_layers": a.max_layers, "epochs": a.epochs, "width_mult": a.width_mult,
           "synthetic_train": a.train, "synthetic_test": a.test, "synthetic_resolution": a.resolution,
           "score_images": 256, "num_threads": a.threads, "final_fidelity": a.final,
           "final_cache_dir": "none"}
    oracle = MacroSupernetOracle(**okw)
    skw = {"rsps": {"batch_size": a.batch_size, "candidates": a.candidates},
           "enas": {"batch_size": a.batch_size, "candidates": a.candidates,
                    "controller_samples": a.controller_samples, "weight_samples": a.candidates},
           "gdas": {"batch_size": a.batch_size}}
    base = baseline(oracle, a.baseline)
    rows = [one_run(m, int(s), oracle, okw, skw[m]) for m in a.methods.split(",") for s in a.seeds.split(",")]
    print(f"{a.space} (max {a.max_layers} layers), supernet at width_mult {a.width_mult}, {a.epochs} epochs "
          f"on {a.train} generated {a.resolution}px images (batch {a.batch_size}); final metric: test "
          f"accuracy (%, {a.test} test images) of a live retraining from scratch at {a.final}, seed 0.")
    print(f"Baseline (same run): {base['n']} uniform random networks (seed {BASELINE_SEED}) trained at "
          f"{a.final}: test accuracy mean {base['mean']:.2f}, best {base['best']:.2f}; "
          f"{base['train_s']:.2f} s per training ({base['epochs']} epochs).\n")
    print("| method | seed | supernet s | clock s | pick | pick test % | pick / random mean | "
          "supernet s / (candidates x train s) | supernet s/epoch / train s/epoch |")
    print("|---|---|---|---|---|---|---|---|---|")
    per_train_epoch = base["train_s"] / base["epochs"]
    for r in rows:  # gdas scores one architecture per epoch (its argmax): no candidates to compare with
        vs = r["supernet_s"] / (a.candidates * base["train_s"])
        vs_candidates = "—" if r["method"] == "gdas" else f"{vs:.3f}"
        print(f"| {r['method']} | {r['seed']} | {r['supernet_s']:.2f} | {r['clock_s']:.2f} | `{r['pick']}` | "
              f"{r['pick_test']:.2f} | {r['pick_test'] / base['mean']:.2f} | {vs_candidates} | "
              f"{r['supernet_s'] / r['epochs'] / per_train_epoch:.2f} |")


if __name__ == "__main__":
    main()
