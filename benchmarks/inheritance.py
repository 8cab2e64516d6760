"""Warm-started vs from-scratch children on the live oracle: training time, accuracy, rank agreement.

For ``--n-children`` parents (uniform NB201 samples, or macro ones with ``--space``) trained from
scratch for ``--epochs`` epochs, one child each (a one-step mutation: the space's neighbours and,
in the macro spaces, its deeper children; ``--kinds`` choosing which morphism kinds), trained four
ways with the same seed:

* from scratch, ``--epochs`` epochs (the baseline) and 1 epoch;
* warm-started from the parent's weights (network morphism where one exists, else Lamarckian
  copying; see docs/inheritance.md), ``--epochs`` epochs and 1 epoch (its own short cosine schedule).

It prints, all on validation accuracy (%) of the generated dataset, CPU unless ``--device``:

* mean accuracy after each epoch against mean cumulative training seconds, both arms;
* per child, the training seconds the warm start needs to reach the from-scratch final accuracy,
  as a ratio of the from-scratch training's seconds (goal: <= 0.5), and how many never reach it;
* a paired difference test (Wilcoxon) and an equivalence test (paired TOST, ``--margin`` points)
  of warm vs scratch final accuracy;
* Kendall tau of the 1-epoch warm starts vs the full from-scratch trainings of the same children
  (does inheritance bias the ranking?), beside the same tau for 1-epoch from-scratch trainings,
  and, for NB201, both against the NB201 table (cifar10-valid, ``nb201-lite``).

``--out DIR`` also writes these results as ``DIR/inheritance_benchmark.json`` (format
``nasarena.inheritance-benchmark/1``, see docs/inheritance.md): with DIR a study folder (e.g. the one
``benchmarks/inheritance_search.py --out DIR`` writes), ``nasarena report DIR`` shows the same
numbers in its "Inheritance" section (computed by ``nasarena.results.inheritance_ranking``, which
this script prints from).

Parents' training time is not counted for either arm (both need a trained parent in a search; the
warm start just uses it). With CIFAR in a local folder, ``--dataset cifar10 --data-dir DIR`` runs the
same comparison unchanged (not run here: no CIFAR on this machine).

    python benchmarks/inheritance.py                       # NB201, 12 children, 4 epochs, C=8, N=1
    python benchmarks/inheritance.py --kinds exact         # only function-preserving children
    python benchmarks/inheritance.py --space residual      # a macro space
    python benchmarks/inheritance.py --out runs/inherit    # + the record for `nasarena report runs/inherit`
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from nasarena.estimators.base import Fidelity
from nasarena.estimators.live.cache import EvalCache
from nasarena.estimators.live.oracle import LiveOracle
from nasarena.registry import make_space
from nasarena.results.inheritance_ranking import (
    BENCHMARK_FILE,
    BENCHMARK_FORMAT,
    benchmark_lines,
    benchmark_summary,
    nb201_reference,
)
from nasarena.spaces.morphisms import KINDS, morph_children

ARMS = ("scratch", "warm", "scratch1", "warm1")


def pick_child(space, arch, kinds, rng):
    """A uniformly drawn morphism child of ``arch`` whose change kind is in ``kinds`` (None if none):
    a one-decision neighbour or, in the macro spaces, a deeper child (one layer inserted); for NB201
    exactly the neighbours, in the same order, so its picks are unchanged."""
    options = morph_children(space, arch, tuple(kinds))
    return options[int(rng.integers(len(options)))] if options else None


def child_record(row: dict, cache: EvalCache, table: float | None) -> dict:
    """One child of the benchmark's record (format: nasarena.results.inheritance_ranking)."""
    seconds = {arm: list(cache.get(row[arm].handle)["epoch_seconds"]) for arm in ("scratch", "warm", "warm1")}
    return {"child": row["child"], "parent": row["parent_arch"], "kind": row["kind"],
            "parent_score": row["parent"], **{arm: row[arm].score for arm in ARMS},
            "curve_scratch": list(row["scratch"].curve), "curve_warm": list(row["warm"].curve),
            "seconds_scratch": seconds["scratch"], "seconds_warm": seconds["warm"],
            "seconds_warm1": float(sum(seconds["warm1"])),
            "table": None if table is None or not np.isfinite(table) else float(table)}


def main(argv: list[str] | None = None) -> int:
    """Parse arguments, train the four arms per child, print the comparison."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--space", default="nb201")
    p.add_argument("--n-children", type=int, default=12)
    p.add_argument("--epochs", type=int, default=4)
    p.add_argument("--size", default=None, help="size knobs, e.g. width_mult=0.25 (default: the space's "
                   "CPU size, NB201 channels=8,cells=1)")
    p.add_argument("--kinds", default=",".join(KINDS), help=f"child change kinds among {KINDS}")
    p.add_argument("--dataset", default="synthetic")
    p.add_argument("--data-dir", default=None)
    p.add_argument("--train", type=int, default=2000, help="synthetic training images")
    p.add_argument("--eval", type=int, default=500, help="synthetic validation and test images (each)")
    p.add_argument("--resolution", type=int, default=16)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--margin", type=float, default=2.0, help="equivalence margin, accuracy points")
    p.add_argument("--device", default="auto")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default=None, help=f"folder to write {BENCHMARK_FILE} into (a study folder, "
                   "e.g. benchmarks/inheritance_search.py --out's, so that `nasarena report` shows it)")
    args = p.parse_args(argv)

    space = make_space(args.space)
    size = dict(Fidelity.parse(args.size).size) if args.size else dict(getattr(space, "cpu_size", {}))
    full, short = Fidelity(epochs=args.epochs, size=size), Fidelity(epochs=1, size=size)
    kinds = tuple(k.strip() for k in args.kinds.split(","))
    cache_dir = tempfile.mkdtemp(prefix="nasarena-inheritance-")
    live = LiveOracle(args.dataset, [short, full], space=space, cache_dir=cache_dir, schedule="own",
                      device=args.device, num_threads=args.threads, batch_size=args.batch,
                      data_dir=args.data_dir, synthetic_train=args.train, synthetic_valid=args.eval,
                      synthetic_test=args.eval, synthetic_resolution=args.resolution)
    cache = EvalCache(cache_dir)
    rng = np.random.default_rng(args.seed)
    print(f"live {space.name} on {args.dataset}: {full.key()} vs warm starts; 1-epoch arms at {short.key()}; "
          f"child kinds {kinds}; device {live.device}, {args.threads} thread(s); seed {args.seed}")
    rows = []
    t0 = time.perf_counter()
    while len(rows) < args.n_children:
        parent_arch = space.sample(rng)
        child = pick_child(space, parent_arch, kinds, rng)
        if child is None:
            continue
        draw = lambda: np.random.default_rng(0)  # noqa: E731 - every arm trains with seed 0
        parent = live.evaluate(parent_arch, full, draw())
        if not parent.ok:
            continue
        arms = {"scratch": live.evaluate(child, full, draw()),
                "warm": live.evaluate(child, full, draw(), inherit=parent.handle),
                "scratch1": live.evaluate(child, short, draw()),
                "warm1": live.evaluate(child, short, draw(), inherit=parent.handle)}
        if not all(ev.ok for ev in arms.values()):
            print("  (a training failed; child skipped)")
            continue
        kind = json.loads(cache.get(arms["warm"].handle)["morphism"])["kind"]
        rows.append({"child": space.to_string(child), "kind": kind, "parent": parent.score,
                     "parent_arch": space.to_string(parent_arch), **{k: ev for k, ev in arms.items()}})
        r = rows[-1]
        print(f"{len(rows):3d} {kind:<11} parent {parent.score:5.1f}  scratch {r['scratch'].score:5.1f} "
              f"warm {r['warm'].score:5.1f}  1-epoch scratch {r['scratch1'].score:5.1f} "
              f"warm {r['warm1'].score:5.1f}  {r['child']}", flush=True)

    print(f"\n{len(rows)} children; {time.perf_counter() - t0:.0f} s wall")
    nb201 = space.name == "nb201"
    ref = nb201_reference([r["child"] for r in rows]) if nb201 else None
    record = {"format": BENCHMARK_FORMAT, "command": "python benchmarks/inheritance.py " + " ".join(
                  argv if argv is not None else sys.argv[1:]),
              "space": space.name, "dataset": args.dataset, "epochs": args.epochs,
              "fidelity": full.key(), "short_fidelity": short.key(), "seed_text": "seed 0",
              "margin": args.margin,
              "children": [child_record(r, cache, None if ref is None else ref[i])
                           for i, r in enumerate(rows)]}
    if args.out:
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        (out / BENCHMARK_FILE).write_text(json.dumps(record, indent=1), encoding="utf-8")
        print(f"wrote {out / BENCHMARK_FILE} (`nasarena report {out}` shows it in its Inheritance "
              f"section when {out} is a study folder)")
    summary = benchmark_summary(record)
    print("mean over children after each epoch (validation accuracy %, cumulative training seconds):")
    print(summary["curves"].to_string(index=False, float_format=lambda v: f"{v:.1f}"))
    for line in benchmark_lines(record, summary):
        print(f"- {line}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
