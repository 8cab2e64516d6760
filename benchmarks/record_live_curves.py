"""Record real learning curves: live training on the generated dataset, kept as a curve table.

Trains ``--n-archs`` NAS-Bench-201 cells (anchors plus uniform samples, one per isomorphism class;
see ``live_kendall.sample_archs``) with the ``live`` oracle on the ``synthetic`` dataset for
``--epochs`` epochs at a CPU-sized fidelity, then writes a Parquet table in the ``table`` oracle's
columns with one row per (architecture, epoch e): ``fidelity = "epochs=e"``, ``score`` = validation
accuracy after epoch e, ``curve`` = the first e epochs, ``cost`` = e/E of the measured training time,
``final`` = test accuracy after the full schedule. The per-epoch rows are prefixes of one training
with the full schedule (cosine decay over E epochs), exactly as the official NAS-Bench-201 oracle serves
epochs 1..199 of its 200-epoch curve: a curve cut at epoch e is what an early-stopped training saw.

    python benchmarks/record_live_curves.py --out runs/curves/live_curves.parquet   # CPU, ~minutes
    python benchmarks/record_live_curves.py --n-archs 200 --epochs 50 --device cuda  # on a GPU

The live cache (``--cache-dir``) keeps every training, so an interrupted run resumes.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from nasarena.atomic import write_parquet_atomic
from nasarena.estimators.base import Fidelity
from nasarena.estimators.live.oracle import LiveOracle
from nasarena.spaces.nb201 import NB201Space

sys.path.insert(0, str(Path(__file__).resolve().parent))
from live_kendall import sample_archs  # noqa: E402


def per_epoch_rows(arch: str, curve: list[float], cost: float, final: float, params: float,
                   flops: float) -> list[dict]:
    """One table row per epoch prefix of a full training's curve."""
    n = len(curve)
    return [{"arch": arch, "dataset": "synthetic", "fidelity": f"epochs={e}", "seed": 0,
             "score": float(curve[e - 1]), "final": float(final), "cost": float(cost) * e / n,
             "params": params, "flops": flops, "curve": [float(v) for v in curve[:e]]}
            for e in range(1, n + 1)]


def main(argv: list[str] | None = None) -> int:
    """Train, print one line per architecture, write the table."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n-archs", type=int, default=60)
    p.add_argument("--epochs", type=int, default=20)
    p.add_argument("--channels", type=int, default=8)
    p.add_argument("--cells", type=int, default=1)
    p.add_argument("--data-fraction", type=float, default=None)
    p.add_argument("--train", type=int, default=2000, help="synthetic training images")
    p.add_argument("--eval", type=int, default=500, help="synthetic validation and test images (each)")
    p.add_argument("--resolution", type=int, default=16)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--lr", type=float, default=0.05)
    p.add_argument("--device", default="auto")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--seed", type=int, default=0, help="architecture sample seed")
    p.add_argument("--cache-dir", default="runs/curves/live-cache")
    p.add_argument("--out", default="runs/curves/live_curves.parquet")
    args = p.parse_args(argv)

    fid = Fidelity(epochs=args.epochs, data_fraction=args.data_fraction, channels=args.channels,
                   cells=args.cells)
    live = LiveOracle("synthetic", [fid], cache_dir=args.cache_dir, device=args.device,
                      num_threads=args.threads, batch_size=args.batch, lr=args.lr,
                      synthetic_train=args.train, synthetic_valid=args.eval, synthetic_test=args.eval,
                      synthetic_resolution=args.resolution)
    space = NB201Space()
    rows: list[dict] = []
    t0 = time.perf_counter()
    rng = np.random.default_rng(0)
    for i, arch in enumerate(sample_archs(args.n_archs, args.seed), 1):
        ev = live.evaluate(arch, fid, rng)
        if not ev.ok or ev.curve is None:
            print(f"{i:3d} {space.to_string(arch)} failed: {ev.error}", flush=True)
            continue
        final = live.final_metric(arch)
        rows += per_epoch_rows(space.to_string(arch), list(ev.curve), ev.cost, final, ev.params, ev.flops)
        print(f"{i:3d} {space.to_string(arch):<90} valid@1 {ev.curve[0]:5.1f} valid@{len(ev.curve)} "
              f"{ev.score:5.1f} test {final:5.1f} {ev.cost:6.1f}s", flush=True)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    write_parquet_atomic(pa.Table.from_pandas(pd.DataFrame(rows), preserve_index=False), out)
    print(f"{len(rows) // args.epochs} curves of {args.epochs} epochs ({fid.key()}, device {live.device}) "
          f"in {time.perf_counter() - t0:.0f} s wall -> {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
