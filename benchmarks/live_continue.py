"""Continue vs straight-through live training: same numbers? what does the continuation cost?

For each architecture, one ``live`` oracle (own cache) trains it straight through to ``--high``
epochs; another (own cache) trains it to ``--low`` epochs and then continues that evaluation to
``--high`` from its checkpoint. Both use the same seed and the same ``--high``-epoch schedule.
Printed, per architecture and summed over all:

* the largest absolute difference of validation curve, score and final weights (0 = bit-equal);
* ``ratio same epochs``: the continuation's charged cost (epochs low+1..high plus the test pass)
  over the straight-through training's measured seconds for the same epochs plus its test pass;
* ``ratio lineage``: low-fidelity cost + continuation cost over the straight-through cost;
* checkpoint sizes on disk, the time to read and verify one, and the size of a full NB201
  network's checkpoint (C=16, N=5).

The order (straight first or continued first) alternates between architectures, so that drift of
a shared machine's speed does not favour one side.

    python benchmarks/live_continue.py                 # CPU: C=8, N=1, 16px, 3 -> 6 epochs, 5 archs
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from nasarena.estimators.base import Fidelity
from nasarena.estimators.live.cache import EvalCache
from nasarena.estimators.live.checkpoints import pack
from nasarena.estimators.live.oracle import LiveOracle
from nasarena.spaces.nb201 import NB201Space
from nasarena.spaces.nb201_torch import build_network


def full_nb201_checkpoint_bytes() -> int:
    """Bytes of a checkpoint of the best NB201 cell at full size (weights + SGD momentum)."""
    model = build_network((3, 3, 3, 1, 3, 2), 10, 16, 5)
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    model(torch.randn(2, 3, 32, 32)).sum().backward()
    opt.step()
    return len(pack({"model": model.state_dict(), "optimizer": opt.state_dict(),
                     "generator": torch.Generator().get_state()}))


def main(argv: list[str] | None = None) -> int:
    """Parse arguments, train both ways, print the differences and cost ratios."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n-archs", type=int, default=5)
    p.add_argument("--low", type=int, default=3)
    p.add_argument("--high", type=int, default=6)
    p.add_argument("--channels", type=int, default=8)
    p.add_argument("--cells", type=int, default=1)
    p.add_argument("--train", type=int, default=2000, help="synthetic training images")
    p.add_argument("--eval", type=int, default=500, help="synthetic validation and test images (each)")
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--device", default="auto")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    low = Fidelity(epochs=args.low, channels=args.channels, cells=args.cells)
    high = Fidelity(epochs=args.high, channels=args.channels, cells=args.cells)
    space = NB201Space()
    rng = np.random.default_rng(args.seed)
    archs = [space.sample(rng) for _ in range(args.n_archs)]
    same_c = same_s = lineage_c = straight_total = 0.0
    max_diff = load_s = save_s = 0.0
    sizes: list[int] = []
    with tempfile.TemporaryDirectory() as tmp:
        def oracle(name: str) -> LiveOracle:
            return LiveOracle("synthetic", [low, high], cache_dir=Path(tmp) / name, device=args.device,
                              num_threads=args.threads, batch_size=args.batch, synthetic_train=args.train,
                              synthetic_valid=args.eval, synthetic_test=args.eval)

        straight_o, cont_o = oracle("straight"), oracle("continued")
        print(f"{args.n_archs} archs, {args.low} -> {args.high} epochs of a {args.high}-epoch schedule, "
              f"C={args.channels}, N={args.cells}, {args.train} images, batch {args.batch}, "
              f"{straight_o.device}, {args.threads} thread(s)")
        for i, arch in enumerate(archs):
            def run_straight(arch=arch):
                return straight_o.evaluate(arch, high, np.random.default_rng(0))

            def run_continued(arch=arch):
                first = cont_o.evaluate(arch, low, np.random.default_rng(0))
                return first, cont_o.evaluate(arch, high, np.random.default_rng(0), start=first.handle)

            if i % 2 == 0:
                straight = run_straight()
                first, cont = run_continued()
            else:
                first, cont = run_continued()
                straight = run_straight()
            rec = EvalCache(Path(tmp) / "straight").get(straight.handle)
            same = sum(rec["epoch_seconds"][args.low:]) + rec["test_seconds"]
            a, _ = straight_o.checkpoints.load(straight.handle.digest())
            t0 = time.perf_counter()
            b, _ = cont_o.checkpoints.load(cont.handle.digest())
            load_s += time.perf_counter() - t0
            t0 = time.perf_counter()
            cont_o.checkpoints.save("write-probe", b)
            save_s += time.perf_counter() - t0
            cont_o.checkpoints.path("write-probe").unlink()
            w_diff = max(float((a["model"][k].double() - b["model"][k].double()).abs().max())
                         for k in a["model"])
            c_diff = max(abs(x - y) for x, y in zip(straight.curve, cont.curve, strict=True))
            diff = max(w_diff, c_diff, abs(straight.score - cont.score))
            max_diff = max(max_diff, diff)
            sizes.append(straight_o.checkpoints.path(straight.handle.digest()).stat().st_size)
            same_c, same_s = same_c + cont.cost, same_s + same
            lineage_c, straight_total = lineage_c + first.cost + cont.cost, straight_total + straight.cost
            print(f"  {space.to_string(arch)}: valid acc {straight.score:.2f} (straight) vs {cont.score:.2f} "
                  f"(continued); max |diff| curve/weights {diff:.3g}; seconds: straight {straight.cost:.3f} "
                  f"(epochs {args.low + 1}-{args.high} + test {same:.3f}), low {first.cost:.3f} + "
                  f"continue {cont.cost:.3f}")
        n, used = cont_o.checkpoints.usage()
    print(f"max |difference| continued vs straight (curves, scores, weights): {max_diff:.3g}")
    print(f"ratio same epochs (continue cost / straight-through seconds of those epochs + test): "
          f"{same_c / same_s:.3f}")
    print(f"ratio lineage ((low + continue) / straight-through): {lineage_c / straight_total:.3f}")
    print(f"checkpoint seconds (mean; not charged to the clock): read + verify {load_s / len(archs):.4f}, "
          f"pack + atomic write {save_s / len(archs):.4f} "
          f"(per continued epoch: {same_c / len(archs) / (args.high - args.low):.3f})")
    print(f"checkpoint bytes at C={args.channels}, N={args.cells}: {min(sizes)}-{max(sizes)} "
          f"({n} files, {used / 1e6:.2f} MB in the continued cache)")
    print(f"checkpoint bytes of a full NB201 network (C=16, N=5, best cell): {full_nb201_checkpoint_bytes()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
