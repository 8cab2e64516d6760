"""Zero-cost warm-up and move proposals inside regularized evolution and random search, measured.

Abdelfattah et al. (ICLR 2021, "Zero-Cost Proxies for Lightweight NAS", section 5) report that a
synflow warm-up (3000 scored random architectures on NB201) and synflow-chosen mutations make
regularized evolution and random search converge faster. This script runs, seed by seed and side by
side, on the NB201 table (``nb201-lite``, NB201's 200-epoch test accuracy, seed mean, as the final
metric) wrapped by ``with-proxy``:

* ``re``: regularized evolution (P=10, S=3, the NB201 paper's), ``re+warmup`` (``zc_warmup``),
  ``re+move`` (``zc_moves``);
* ``random`` and ``random+warmup``;

all with the same budget in simulated seconds, the proxy's measured seconds charged on the same clock
(one shared-work row per proxy call). The proxy network is small (``--channels 8 --cells 1
--resolution 16`` by default) so that it runs on a CPU; its measured seconds are this machine's.

It prints, per variant, the seed means of the final test accuracy of the incumbent, the regret
(best test accuracy of the space minus the incumbent's) at fractions of the budget, the mean regret
over the budget (the area under the anytime regret curve, from 10% of the budget), the proxy seconds
charged and the number of trainings; and the ratios of each variant to its plain strategy of the same
seeds (accuracy: higher is better; regret: lower is better)::

    python benchmarks/zero_cost_search.py --seeds 0-2 --warmup 1000 --moves 24 --out zc_search.json
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

import numpy as np

from nasarena.bench.config import Budget, RunConfig, parse_seeds
from nasarena.bench.runner import run
from nasarena.registry import make_oracle

FRACTIONS = (0.1, 0.25, 0.5, 1.0)
LABELS = ("re", "re+warmup", "re+move", "random", "random+warmup")
GRID = np.linspace(0.1, 1.0, 91)


def variants(a: argparse.Namespace) -> list[tuple[str, str, dict, str]]:
    """(label, strategy, strategy kwargs, plain label it is compared to)."""
    re_kw = {"population_size": a.population, "sample_size": a.sample}
    proxy = {"zc_proxy": a.proxy}
    return [("re", "regularized-evolution", re_kw, "re"),
            ("re+warmup", "regularized-evolution", {**re_kw, **proxy, "zc_warmup": a.warmup}, "re"),
            ("re+move", "regularized-evolution", {**re_kw, **proxy, "zc_moves": a.moves}, "re"),
            ("random", "random", {}, "random"),
            ("random+warmup", "random", {**proxy, "zc_warmup": a.warmup}, "random")]


def regret_at(tr, best: float, times: np.ndarray) -> np.ndarray:
    """The incumbent's regret in test accuracy at each time (step function; NaN before the first)."""
    fresh = tr[tr["kind"] != "shared"]
    t = fresh["time"].to_numpy()
    reg = best - fresh["incumbent_final"].to_numpy()
    idx = np.searchsorted(t, times, side="right") - 1
    return np.where(idx >= 0, reg[np.clip(idx, 0, None)], np.nan)


def measure(a: argparse.Namespace) -> dict:
    args = {"base": "nb201-lite", "dataset": a.dataset, "test_accuracy": True, "proxy_channels": a.channels,
            "proxy_cells": a.cells, "proxy_resolution": a.resolution, "proxy_threads": a.threads}
    oracle = make_oracle("with-proxy", **args)
    best = float(oracle.best_final)
    chosen = [v for v in variants(a) if v[0] in a.variants]
    out = {label: [] for label, *_ in chosen}
    for seed in a.seeds:  # seed-major: the variants of one seed run back to back (same machine load)
        for label, strategy, kw, _ in chosen:
            t0 = time.perf_counter()
            config = RunConfig(strategy, kw, "with-proxy", args, seed, Budget(max_time=a.budget))
            res = run(config, oracle=oracle)
            if not res.ok:
                raise SystemExit(f"{label} seed {seed} failed: {res.error}")
            tr = res.trajectory
            shared = tr[tr["kind"] == "shared"]
            curve = regret_at(tr, best, GRID * a.budget)
            at = regret_at(tr, best, np.array(FRACTIONS) * a.budget)
            rec = {"seed": seed, "final_test_acc": float(tr["incumbent_final"].iloc[-1]),
                   "regret_at": {str(f): float(v) for f, v in zip(FRACTIONS, at, strict=True)},
                   "mean_regret": float(np.nanmean(curve)), "proxy_seconds": float(shared["cost"].sum()),
                   "proxy_archs": int(res.meta["strategy_config"].get("zc_scored", 0)),
                   "trainings": int((tr["kind"] != "shared").sum()), "wall_s": time.perf_counter() - t0}
            out[label].append(rec)
            print(f"seed {seed} {label:14s} final {rec['final_test_acc']:.2f}% mean regret "
                  f"{rec['mean_regret']:.3f} proxy {rec['proxy_seconds']:.1f}s ({rec['proxy_archs']} archs) "
                  f"trainings {rec['trainings']} wall {rec['wall_s']:.0f}s", file=sys.stderr, flush=True)
    return {"settings": {k: v for k, v in vars(a).items() if k != "out"}, "best_test_acc": best, "runs": out}


def _mean(recs: list[dict], key: str, sub: str | None = None) -> float:
    vals = [r[key][sub] if sub else r[key] for r in recs]
    return float(np.mean(vals))


def table(result: dict) -> str:
    s = result["settings"]
    runs = result["runs"]
    plain_of = {label: plain for label, _, _, plain in variants(argparse.Namespace(**s))}
    lines = [f"NB201 {s['dataset']} (nb201-lite), final metric: 200-epoch test accuracy (seed mean of "
             f"NB201's trainings); best of the space {result['best_test_acc']:.2f}%. Budget "
             f"{s['budget']:.0f} simulated s (NB201's 200-epoch training times) incl. the proxy's measured "
             f"seconds; seeds {s['seeds']}; proxy {s['proxy']} on C={s['channels']} N={s['cells']} "
             f"{s['resolution']}px networks; warm-up {s['warmup']} archs, moves: {s['moves']} candidate "
             f"mutations; RE P={s['population']} S={s['sample']}. Regret in test accuracy (% points) "
             f"at a fraction of the budget (nan: no training finished yet); mean regret over 10%-100% of the "
             f"budget. Values are seed means; ratios are variant / its plain strategy on the same seeds.", "",
             "| variant | final test acc % | regret @10% | @25% | @50% | @100% | mean regret | acc ratio | "
             "regret ratio @25% | mean-regret ratio | proxy s charged | trainings |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for label, recs in runs.items():
        if plain_of[label] not in runs:
            continue
        plain = runs[plain_of[label]]
        acc, pacc = _mean(recs, "final_test_acc"), _mean(plain, "final_test_acc")
        mreg, pmreg = _mean(recs, "mean_regret"), _mean(plain, "mean_regret")
        r25, p25 = _mean(recs, "regret_at", "0.25"), _mean(plain, "regret_at", "0.25")
        ratio = (lambda x, y: f"{x / y:.3f}" if y > 0 else ("1.000" if x == y else "inf")) \
            if label != plain_of[label] else (lambda x, y: "(baseline)")
        regs = " | ".join(f"{_mean(recs, 'regret_at', str(f)):.2f}" for f in FRACTIONS)
        lines.append(f"| {label} | {acc:.2f} | {regs} | {mreg:.2f} | {ratio(acc, pacc)} | {ratio(r25, p25)} "
                     f"| {ratio(mreg, pmreg)} | {_mean(recs, 'proxy_seconds'):.1f} | "
                     f"{_mean(recs, 'trainings'):.1f} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--seeds", type=parse_seeds, default=parse_seeds("0-2"))
    p.add_argument("--dataset", default="cifar10-valid")
    p.add_argument("--budget", type=float, default=150_000.0, help="simulated seconds (about 100 trainings)")
    p.add_argument("--warmup", type=int, default=3000)
    p.add_argument("--moves", type=int, default=24, help="candidate mutations per move (NB201 has 24)")
    p.add_argument("--proxy", default="synflow")
    p.add_argument("--channels", type=int, default=8)
    p.add_argument("--cells", type=int, default=1)
    p.add_argument("--resolution", type=int, default=16)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--population", type=int, default=10)
    p.add_argument("--sample", type=int, default=3)
    p.add_argument("--variants", type=lambda t: t.split(","), default=list(LABELS),
                   help=f"comma-separated subset of {', '.join(LABELS)}")
    p.add_argument("--out", type=Path, default=None, help="write the measurements as JSON")
    a = p.parse_args(argv)
    result = measure(a)
    if a.out is not None:
        a.out.write_text(json.dumps(result, indent=1, default=lambda x: None if isinstance(x, float)
                                    and not math.isfinite(x) else x))
    print(table(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
