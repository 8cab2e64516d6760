"""Rank agreement between live training on the generated dataset and NAS-Bench-201 on CIFAR-10.

Trains ``--n-archs`` architectures (uniformly sampled from NB201, one per isomorphism class, plus
the all-none, all-skip, all-pool and best-CIFAR cells for spread) with the ``live`` oracle on the
``synthetic`` dataset at one small fidelity, and prints Kendall's tau (scipy) between their live
accuracy and NB201's cifar10-valid accuracy (``nb201-lite`` final metric: 200-epoch validation
accuracy, seed mean). Runs on a CPU in minutes at the defaults; ``--device cuda`` with bigger
settings for a closer look.

    python benchmarks/live_kendall.py                  # CPU defaults (C=8, N=1, 16px, 4 epochs)
    python benchmarks/live_kendall.py --n-archs 10 --epochs 2   # quicker, noisier
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from scipy import stats

from nasarena.estimators.base import Fidelity
from nasarena.estimators.live.oracle import LiveOracle
from nasarena.estimators.nb201_lite import NB201LiteOracle
from nasarena.spaces.nb201 import NB201Space

ANCHORS = [(0,) * 6, (1,) * 6, (4,) * 6, (3, 3, 3, 1, 3, 2)]


def sample_archs(n: int, seed: int) -> list[tuple[int, ...]]:
    """Anchors plus uniform samples, at most one per isomorphism class (no duplicate functions)."""
    space = NB201Space()
    rng = np.random.default_rng(seed)
    out, seen = [], set()
    for arch in ANCHORS[: min(n, len(ANCHORS))]:
        out.append(arch)
        seen.add(space.canonical(arch))
    while len(out) < n:
        arch = space.sample(rng)
        key = space.canonical(arch)
        if key not in seen:
            seen.add(key)
            out.append(arch)
    return out


def main(argv: list[str] | None = None) -> int:
    """Parse arguments, train, print per-architecture results and the rank correlations."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n-archs", type=int, default=30)
    p.add_argument("--epochs", type=int, default=4)
    p.add_argument("--channels", type=int, default=8)
    p.add_argument("--cells", type=int, default=1)
    p.add_argument("--resolution", type=int, default=16)
    p.add_argument("--train", type=int, default=2000, help="synthetic training images")
    p.add_argument("--eval", type=int, default=500, help="synthetic validation and test images (each)")
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--lr", type=float, default=0.1)
    p.add_argument("--device", default="auto")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--seed", type=int, default=0, help="architecture sample seed")
    p.add_argument("--cache-dir", default="none", help="live cache folder ('none': no cache)")
    args = p.parse_args(argv)

    fid = Fidelity(epochs=args.epochs, channels=args.channels, cells=args.cells)
    live = LiveOracle("synthetic", [fid], cache_dir=args.cache_dir, device=args.device,
                      num_threads=args.threads, batch_size=args.batch, lr=args.lr, synthetic_train=args.train,
                      synthetic_valid=args.eval, synthetic_test=args.eval,
                      synthetic_resolution=args.resolution)
    nb201 = NB201LiteOracle("cifar10-valid")
    space = NB201Space()
    archs = sample_archs(args.n_archs, args.seed)
    print(f"live: synthetic {args.resolution}px, {args.train} train / {args.eval} valid / {args.eval} test, "
          f"{fid.key()}, batch {args.batch}, lr {args.lr}, device {live.device}, threads {args.threads}")
    rows = []
    t0 = time.perf_counter()
    rng = np.random.default_rng(0)
    for i, arch in enumerate(archs, 1):
        ev = live.evaluate(arch, fid, rng)
        test = live.final_metric(arch)
        ref = nb201.final_metric(arch)
        rows.append((ev.score, test, ref, ev.cost))
        print(f"{i:3d} {space.to_string(arch):<90} live valid {ev.score:5.1f} test {test:5.1f} "
              f"nb201 {ref:5.1f}  {ev.cost:5.1f}s", flush=True)
    valid, test, ref, cost = (np.array(c) for c in zip(*rows, strict=True))
    ok = np.isfinite(valid) & np.isfinite(test)
    tau_v = stats.kendalltau(valid[ok], ref[ok])
    tau_t = stats.kendalltau(test[ok], ref[ok])
    rho_t = stats.spearmanr(test[ok], ref[ok])
    print(f"\n{ok.sum()} architectures, {cost.sum():.0f} s of training "
          f"({time.perf_counter() - t0:.0f} s wall)")
    print(f"Kendall tau (live valid vs NB201 cifar10-valid): {tau_v.statistic:.3f} (p={tau_v.pvalue:.2g})")
    print(f"Kendall tau (live test  vs NB201 cifar10-valid): {tau_t.statistic:.3f} (p={tau_t.pvalue:.2g})")
    print(f"Spearman rho (live test vs NB201):               {rho_t.statistic:.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
