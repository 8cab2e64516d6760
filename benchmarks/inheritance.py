"""Warm-started vs from-scratch children on the live oracle: training time, accuracy, rank agreement.

For ``--n-children`` parents (uniform NB201 samples, or macro ones with ``--space``) trained from
scratch for ``--epochs`` epochs, one child each (a one-step mutation: the space's neighbours,
``--kinds`` choosing which morphism kinds), trained four ways with the same seed:

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

Parents' training time is not counted for either arm (both need a trained parent in a search; the
warm start just uses it). With CIFAR in a local folder, ``--dataset cifar10 --data-dir DIR`` runs the
same comparison unchanged (not run here: no CIFAR on this machine).

    python benchmarks/inheritance.py                       # NB201, 12 children, 4 epochs, C=8, N=1
    python benchmarks/inheritance.py --kinds exact         # only function-preserving children
    python benchmarks/inheritance.py --space residual      # a macro space
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time

import numpy as np
from scipy import stats

from nasarena.estimators.base import Fidelity
from nasarena.estimators.live.cache import EvalCache
from nasarena.estimators.live.oracle import LiveOracle
from nasarena.registry import make_space
from nasarena.results.stats import tost
from nasarena.spaces.morphisms import KINDS, kind_of


def pick_child(space, arch, kinds, rng):
    """A uniformly drawn neighbour of ``arch`` whose change kind is in ``kinds`` (None if none)."""
    options = [n for n in space.neighbours(arch) if kind_of(space, arch, n) in kinds]
    return options[int(rng.integers(len(options)))] if options else None


def cumulative_seconds(cache: EvalCache, ev) -> np.ndarray:
    """Cumulative training seconds after each epoch (the record's per-epoch times)."""
    return np.cumsum(cache.get(ev.handle)["epoch_seconds"])


def seconds_to_reach(curve, cum, target: float) -> float:
    """Training seconds until ``curve`` first reaches ``target`` (inf when it never does)."""
    hit = np.flatnonzero(np.asarray(curve) >= target)
    return float(cum[hit[0]]) if len(hit) else float("inf")


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
                     **{k: ev for k, ev in arms.items()},
                     "cum_scratch": cumulative_seconds(cache, arms["scratch"]),
                     "cum_warm": cumulative_seconds(cache, arms["warm"])})
        r = rows[-1]
        print(f"{len(rows):3d} {kind:<11} parent {parent.score:5.1f}  scratch {r['scratch'].score:5.1f} "
              f"warm {r['warm'].score:5.1f}  1-epoch scratch {r['scratch1'].score:5.1f} "
              f"warm {r['warm1'].score:5.1f}  {r['child']}", flush=True)

    counts = ", ".join(f"{k}: {sum(r['kind'] == k for r in rows)}" for k in KINDS)
    print(f"\n{len(rows)} children ({counts}); {time.perf_counter() - t0:.0f} s wall")
    print("mean validation accuracy (%) after each epoch vs mean cumulative training seconds:")
    for arm in ("scratch", "warm"):
        curves = np.array([r[arm].curve for r in rows])
        cums = np.array([r[f"cum_{arm}"] for r in rows])
        pts = ", ".join(f"{c:.1f}s {a:.1f}" for c, a in zip(cums.mean(0), curves.mean(0), strict=True))
        print(f"  {arm:<8} {pts}")
    ratios = []
    for r in rows:
        target, total = r["scratch"].score, float(r["cum_scratch"][-1])
        candidates = [seconds_to_reach(r["warm"].curve, r["cum_warm"], target)]
        w1 = r["warm1"]
        if w1.score >= target:  # the 1-epoch warm start (own short schedule) already reaches it
            candidates.append(float(cache.get(w1.handle)["epoch_seconds"][0]))
        ratios.append(min(candidates) / total)
    ratios = np.array(ratios)
    finite = ratios[np.isfinite(ratios)]
    print(f"warm-start seconds to reach the from-scratch final accuracy / from-scratch seconds: median "
          f"{np.median(ratios):.2f}; <= 0.5 for {np.sum(ratios <= 0.5)}/{len(ratios)} children; never "
          f"reached (within {args.epochs} epochs) for {len(ratios) - len(finite)}")
    for k in KINDS:
        sel = np.array([r["kind"] == k for r in rows])
        if sel.any():
            print(f"  {k:<11} median ratio {np.median(ratios[sel]):.2f} over {sel.sum()} children")
    warm = np.array([r["warm"].score for r in rows])
    scratch = np.array([r["scratch"].score for r in rows])
    print(f"final validation accuracy after {args.epochs} epochs, mean over children: warm "
          f"{warm.mean():.2f}, scratch {scratch.mean():.2f} (difference {np.mean(warm - scratch):+.2f} "
          f"points)")
    if np.any(warm != scratch):
        w = stats.wilcoxon(warm, scratch)
        print(f"  paired Wilcoxon signed-rank (difference): p = {w.pvalue:.3g}")
    t = tost(warm, scratch, args.margin, paired=True)
    print(f"  paired TOST within +-{args.margin} points (equivalence): p = {t.p_value:.3g}, 90% CI of the "
          f"difference [{t.ci_low:+.2f}, {t.ci_high:+.2f}]")
    w1 = np.array([r["warm1"].score for r in rows])
    s1 = np.array([r["scratch1"].score for r in rows])
    tau_w = stats.kendalltau(w1, scratch).statistic
    tau_s = stats.kendalltau(s1, scratch).statistic
    print(f"Kendall tau vs the {args.epochs}-epoch from-scratch accuracies of the same children: 1-epoch "
          f"warm start {tau_w:.3f}, 1-epoch from scratch {tau_s:.3f}")
    if space.name == "nb201" and args.dataset == "synthetic":
        from nasarena.estimators.nb201_lite import NB201LiteOracle

        ref = np.array([NB201LiteOracle("cifar10-valid").final_metric(space.from_string(r["child"]))
                        for r in rows])
        taus = {name: stats.kendalltau(v, ref).statistic for name, v in
                (("1-epoch warm", w1), ("1-epoch scratch", s1), (f"{args.epochs}-epoch warm", warm),
                 (f"{args.epochs}-epoch scratch", scratch))}
        print("Kendall tau vs NB201 cifar10-valid (200-epoch validation accuracy): " +
              ", ".join(f"{name} {tau:.3f}" for name, tau in taus.items()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
