"""Search with and without early stopping: same strategy, same seeds, same simulated budget.

Runs ``--strategy`` plain and wrapped with each ``--rules`` (``es-<rule>:<strategy>``) on a curve
table (``benchmarks/record_live_curves.py``: real live-training curves, one row per epoch prefix)
served by the ``table`` oracle with ``restrict_space=True`` and continued in epoch increments, and
prints per variant, over the seeds:

* training saved: the fraction of epochs not trained (epochs trained / epochs of the same trainings
  had they all run to the end, from the run records), and the number of trainings started;
* final regret (validation score of the incumbent's full training vs the table's best; "final" =
  the ``final`` column, test accuracy of the full training) at the end of the budget, mean over seeds,
  with a TOST equivalence test against the plain strategy (``--margin`` percentage points);
* the anytime curve: mean regret at 10/25/50/100 % of the budget, and the speed-up: the time the plain
  strategy's mean regret needs to reach its final value divided by the time the wrapped one needs to
  reach that value (Domhan et al.: ~2x for CNNs on CIFAR-10);
* predictor overhead: wall ms per decision and the total as a fraction of the budget; the run's clock
  does not include it, so the final regret is also given with the overhead charged (each run cut at
  ``budget - its total decision time``).

    python benchmarks/early_stopping.py runs/curves/live_curves.parquet --seeds 20
"""

from __future__ import annotations

import argparse
import json
import math
import tempfile
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from nasarena.api import run_study
from nasarena.results import schema as S
from nasarena.results.stats import tost


def regret_at(curve: np.ndarray, t: float | np.ndarray) -> np.ndarray:
    """Incumbent regret at simulated time(s) ``t`` from a sorted (time, regret) array (NaN before any row)."""
    i = np.searchsorted(curve[:, 0], t, side="right") - 1
    return np.where(i >= 0, curve[np.maximum(i, 0), 1], np.nan)


def main(argv: list[str] | None = None) -> int:
    """Run the study and print the comparison."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("table", type=Path)
    p.add_argument("--strategy", default="random")
    p.add_argument("--rules", default="domhan,lcsvr,median")
    p.add_argument("--seeds", type=int, default=20)
    p.add_argument("--trainings", type=float, default=25.0,
                   help="budget in mean full-training costs of the table")
    p.add_argument("--domhan-mode", default="fast", help="fast or mcmc")
    p.add_argument("--domhan-samples", type=int, default=300, help="MCMC steps (mode mcmc)")
    p.add_argument("--delta", type=float, default=0.05)
    p.add_argument("--min-epochs", type=int, default=3, help="no decision before this many epochs")
    p.add_argument("--tell", default=None, help="predicted / partial / stopped (default: by rule)")
    p.add_argument("--margin", type=float, default=1.0, help="TOST margin in percentage points")
    p.add_argument("--jobs", type=int, default=1)
    p.add_argument("--out", type=Path)
    p.add_argument("--json", type=Path)
    args = p.parse_args(argv)
    warnings.simplefilter("ignore")

    frame = pd.read_parquet(args.table)
    epochs = frame["curve"].map(len)
    top = frame[epochs == epochs.max()]
    budget = args.trainings * float(top["cost"].mean())
    plain = args.strategy
    variants = [plain] + [f"es-{r}:{plain}" for r in args.rules.split(",") if r]
    kwargs: dict[str, dict] = {}
    for v in variants[1:]:
        kw: dict = {"delta": args.delta} if not v.startswith("es-median") else {}
        kw["min_epochs"] = args.min_epochs
        if v.startswith("es-domhan"):
            kw.update(mode=args.domhan_mode)
            if args.domhan_mode == "mcmc":
                kw.update(samples=args.domhan_samples, burn_in=args.domhan_samples // 5)
        if args.tell:
            kw["tell"] = args.tell
        kwargs[v] = kw
    out = args.out or Path(tempfile.mkdtemp(prefix="nasarena-es-"))
    study = run_study(variants, oracle="table", seeds=args.seeds, budget_time=budget,
                      oracle_kwargs={"path": str(args.table), "restrict_space": True},
                      strategy_kwargs=kwargs, out=out, jobs=args.jobs)
    traj = study.trajectories
    cfgs = {m["run_id"]: m.get("strategy_config") or {} for m in study.meta}
    final_name = (study.meta[0].get("oracle") or {}).get("final_metric") if study.meta else None
    print(f"{args.table}: {len(top)} architectures, {int(epochs.max())} epochs; budget {budget:.0f} s "
          f"= {args.trainings:g} mean full trainings; {args.seeds} seeds; regret = the table's best minus "
          f"the incumbent's final metric ({final_name}), percentage points, mean over seeds")
    fractions = (0.1, 0.25, 0.5, 1.0)
    summary = []
    plain_final, plain_reach = None, math.nan
    for v in variants:
        rows = []
        for rid, g in traj[traj[S.STRATEGY] == v].groupby(S.RUN_ID):
            cfg = cfgs.get(rid, {})
            c = g.sort_values(S.TIME)[[S.TIME, S.INC_REGRET]].to_numpy(float)
            overhead = float(cfg.get("decision_seconds") or 0.0)
            rows.append({"seed": int(g[S.SEED].iloc[0]),
                         **{f"regret@{f:g}": float(regret_at(c, f * budget)) for f in fractions},
                         "regret_charged": float(regret_at(c, budget - overhead)),
                         "saved": cfg.get("fraction_epochs_saved"), "overhead_s": overhead,
                         "ms_per_decision": cfg.get("mean_decision_ms"),
                         "trainings": cfg.get("trainings_started", len(g)),
                         "curve": c})
        r = pd.DataFrame(rows).sort_values("seed")
        final = r["regret@1"].to_numpy(float)
        if plain_final is None:
            plain_final, plain_mean = final, float(np.nanmean(final))
        grid = np.linspace(0, budget, 401)[1:]
        mean_curve = np.nanmean([regret_at(c, grid) for c in r["curve"]], axis=0)
        reach = grid[np.flatnonzero(mean_curve <= plain_mean + 1e-12)]
        t_reach = float(reach[0]) if len(reach) else math.nan
        if v == plain:
            plain_reach = t_reach
        speedup = plain_reach / t_reach
        eq = tost(final, plain_final, args.margin) if v != plain else None
        summary.append({
            "variant": v, "trainings": float(np.nanmean(r["trainings"].astype(float))),
            "epochs_saved": float(np.nanmean(r["saved"].astype(float))) if r["saved"].notna().any() else 0.0,
            **{f"regret@{int(f * 100)}%": float(np.nanmean(r[f"regret@{f:g}"])) for f in fractions},
            "regret_overhead_charged": float(np.nanmean(r["regret_charged"])),
            "speedup_to_plain_final": speedup,
            "tost_p": eq.p_value if eq else math.nan, "diff_ci90": (eq.ci_low, eq.ci_high) if eq else None,
            "ms_per_decision": float(np.nanmean(r["ms_per_decision"].astype(float)))
            if r["ms_per_decision"].notna().any() else math.nan,
            "overhead_of_budget": float(r["overhead_s"].mean() / budget)})
    table = pd.DataFrame(summary)
    with pd.option_context("display.width", 200, "display.max_columns", 30):
        print(table.to_string(index=False, float_format=lambda x: f"{x:.3f}"))
    print(f"speedup_to_plain_final: time {plain} needs to reach its final mean regret ({plain_mean:.3f}) / "
          f"time the variant needs to reach it (mean over seeds of the incumbent's regret on a 400-point "
          f"time grid); tost_p: TOST equivalence of final regret to {plain} within +-{args.margin} pp "
          f"(Welch, alpha 0.05; diff_ci90 = variant minus {plain})")
    if args.json:
        args.json.write_text(json.dumps(summary, indent=1, default=str))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
