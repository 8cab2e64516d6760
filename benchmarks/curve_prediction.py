"""Prediction quality and cost of the learning-curve predictors on real curves.

For every curve of a curve table (``benchmarks/record_live_curves.py`` writes one from live training;
any ``table``-oracle file with per-epoch rows and a ``curve`` column works) and each observed
fraction (default 10 / 25 / 50 % of the epochs, at least 3 epochs), predict the value at the last
epoch from the first part and report, per predictor: Spearman's rho and RMSE of the predicted mean
against the true final validation value, coverage of the central 90 % predictive interval, and the
mean wall time per prediction. Predictors:

* ``last``: the last observed value (the naive baseline the ratios are taken against for quality);
* ``domhan-fast``: least-squares fits of the 11 families + Laplace spread, Akaike weights;
* ``domhan-short``: the MCMC ensemble with fewer steps (``--short-samples``, a fifth burn-in);
* ``domhan-mcmc``: the paper's sampler (100 walkers, 2,500 steps, 500 burn-in) on the first
  ``--mcmc-curves`` curves (it is slow; the speed ratio is taken on that same subset);
* ``lcsvr``: nu-SVR, cross-fitted in ``--folds`` folds (each curve predicted from the others: "the
  curves seen so far" of a run that has seen the rest).

    python benchmarks/curve_prediction.py runs/curves/live_curves.parquet
    python benchmarks/curve_prediction.py --synthetic 60     # no real curves at hand (say so!)
"""

from __future__ import annotations

import argparse
import json
import math
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from nasarena.estimators.curves.domhan import DomhanPredictor
from nasarena.estimators.curves.lcsvr import LCSVRPredictor, arch_features
from nasarena.estimators.curves.synthetic import synthetic_curve
from nasarena.registry import make_space


def load_curves(path: Path, space_name: str) -> tuple[list[np.ndarray], list[np.ndarray], str]:
    """(full curves, architecture features, description) from the longest-curve rows of a table."""
    frame = pd.read_parquet(path)
    lengths = frame["curve"].map(len)
    top = frame[lengths == lengths.max()]
    space = make_space(space_name)
    curves, feats = [], []
    for row in top.itertuples(index=False):
        arch = space.from_string(row.arch)
        curves.append(np.asarray(row.curve, dtype=float))
        feats.append(arch_features(space, arch, float(row.params), float(row.flops)))
    return curves, feats, f"{len(curves)} real curves of {int(lengths.max())} epochs from {path}"


def evaluate(name: str, preds: list[tuple[int, float, float, float, float, float]]) -> dict:
    """Metrics of (curve index, true, mean, lo90, hi90, seconds) rows."""
    if not preds:
        return {"predictor": name, "n": 0}
    _, true, mean, lo, hi, sec = (np.array(c) for c in zip(*preds, strict=True))
    finite_iv = np.isfinite(lo) & np.isfinite(hi)
    return {"predictor": name, "n": len(true),
            "spearman": float(stats.spearmanr(mean, true).statistic) if len(true) > 2 else math.nan,
            "rmse": float(np.sqrt(np.mean((mean - true) ** 2))),
            "coverage90": float(((true >= lo) & (true <= hi))[finite_iv].mean())
            if finite_iv.any() else math.nan,
            "ms_per_prediction": float(1000 * sec.mean())}


def main(argv: list[str] | None = None) -> int:
    """Run every predictor at every fraction and print a table (and ``--json``)."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("table", nargs="?", type=Path)
    p.add_argument("--space", default="nb201")
    p.add_argument("--synthetic", type=int, default=0, help="use N synthetic curves instead (unit-test data)")
    p.add_argument("--fractions", default="0.1,0.25,0.5")
    p.add_argument("--mcmc-curves", type=int, default=15)
    p.add_argument("--short-samples", type=int, default=500)
    p.add_argument("--folds", type=int, default=5)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", type=Path)
    args = p.parse_args(argv)
    warnings.simplefilter("ignore")
    rng = np.random.default_rng(args.seed)
    if args.synthetic:
        curves = [synthetic_curve(rng, 40)[0] for _ in range(args.synthetic)]
        feats = [np.zeros(0) for _ in curves]
        source = f"{args.synthetic} SYNTHETIC curves of 40 epochs (not real: unit-test generator)"
    else:
        if args.table is None:
            p.error("give a curve table or --synthetic N")
        curves, feats, source = load_curves(args.table, args.space)
    n_epochs = len(curves[0])
    fractions = [float(f) for f in args.fractions.split(",")]
    folds = np.arange(len(curves)) % args.folds
    print(f"{source}; target = value after epoch {n_epochs}")
    results = []
    for frac in fractions:
        seen = max(3, math.ceil(frac * n_epochs))
        names = ("last", "domhan-fast", "domhan-short", "domhan-mcmc", "lcsvr")
        rows: dict[str, list] = {k: [] for k in names}
        lcsvrs = []
        for k in range(args.folds):
            m = LCSVRPredictor()
            for i in np.flatnonzero(folds != k):
                m.observe(curves[i], feats[i])
            lcsvrs.append(m)
        makers = {"domhan-fast": DomhanPredictor(mode="fast"),
                  "domhan-short": DomhanPredictor(samples=args.short_samples,
                                                  burn_in=args.short_samples // 5),
                  "domhan-mcmc": DomhanPredictor()}
        for i, y in enumerate(curves):
            true, part = float(y[-1]), y[:seen]
            rows["last"].append((i, true, float(part[-1]), math.nan, math.nan, 0.0))
            todo = dict(makers, lcsvr=lcsvrs[folds[i]])
            if i >= args.mcmc_curves:
                todo.pop("domhan-mcmc")
            for name, pred in todo.items():
                t0 = time.perf_counter()
                q = pred.predict(part, n_epochs, np.random.default_rng([args.seed, i]), feats[i])
                sec = time.perf_counter() - t0
                if q is not None:
                    lo, hi = q.interval(0.9)
                    rows[name].append((i, true, q.mean, lo, hi, sec))
        sub = set(range(min(args.mcmc_curves, len(curves))))
        for name, r in rows.items():
            out = evaluate(name, r)
            out.update(fraction=frac, epochs_seen=seen)
            results.append(out)
            if name in ("domhan-fast", "domhan-short"):  # same subset as the paper's sampler
                sub_out = evaluate(f"{name} (mcmc subset)", [x for x in r if x[0] in sub])
                sub_out.update(fraction=frac, epochs_seen=seen)
                results.append(sub_out)
    frame = pd.DataFrame(results)
    cols = ["fraction", "epochs_seen", "predictor", "n", "spearman", "rmse", "coverage90",
            "ms_per_prediction"]
    print(frame[cols].to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    print("\nratios on the same curves (domhan-mcmc subset):")
    for frac in fractions:
        f = frame[frame.fraction == frac].set_index("predictor")
        if "domhan-mcmc" in f.index and f.loc["domhan-mcmc", "n"]:
            mc, fa = f.loc["domhan-mcmc"], f.loc["domhan-fast (mcmc subset)"]
            sh = f.loc["domhan-short (mcmc subset)"]
            print(f"  {int(frac * 100)}%: time mcmc/fast {mc.ms_per_prediction / fa.ms_per_prediction:.1f}x, "
                  f"mcmc/short {mc.ms_per_prediction / sh.ms_per_prediction:.1f}x; RMSE fast/mcmc "
                  f"{fa.rmse / mc.rmse:.2f}, short/mcmc {sh.rmse / mc.rmse:.2f}; coverage90 mcmc "
                  f"{mc.coverage90:.2f} fast {fa.coverage90:.2f} short {sh.coverage90:.2f}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"source": source, "results": results}, indent=1, default=float))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
