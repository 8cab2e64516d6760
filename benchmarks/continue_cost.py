"""Simulated cost per bracket of Hyperband / BOHB (and per top-rung result of ASHA) with promotions
that continue the promoted training (issue 9) against promotions that retrain from scratch (before).

Both settings run in this script, on the same seeds and the same oracles:

* a two-fidelity table (NB201 cifar10 architectures at 12 and 200 epochs) with a curve column, so
  the table oracle offers ``"continue"``; the cost column is cumulative (12-epoch cost = 12/200 of
  the 200-epoch train time of ``../shared/data/nb201``). Its 12-epoch scores are the one-seed 12-epoch
  test accuracies, a stand-in for the 200-epoch run's 12th epoch: only the cost accounting is measured;
* an official-format NAS-Bench-201 cache built by the test fixtures
  (``tests/estimators/official/official_fixture.py``, 60 architectures, imported with
  ``nasarena data import-nb201``) at epochs 12, 50, 200 read from the 200-epoch run (``schedule=full``);
  the search is restricted to those 60 architectures (a ``SubsetSpace``), so that every evaluation has
  a row. The fixture's curves are synthetic (the shared data has no per-epoch curves), its costs
  are the official cumulative train times scaled along the curve.

``continue_promotions=False`` reproduces the old behaviour (every promotion a fresh training, paying
its full cost). Run: ``python benchmarks/continue_cost.py [--seeds 0-9]``.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
DATA = next((p for p in (ROOT.parent / "shared" / "data" / "nb201", Path("/work/shared/data/nb201"))
             if p.is_dir()), ROOT.parent / "shared" / "data" / "nb201")


def table_with_curves(path: Path) -> Path:
    """The two-fidelity table (see the module docstring), with cumulative costs and a curve column."""
    acc = pd.read_csv(DATA / "test_accuracy.csv")
    times = pd.read_csv(DATA / "cifar10-valid_full_metrics.csv")[["index", "train-all-time"]]
    frame = acc.merge(times, on="index")
    s12, s200 = frame["cifar10_test_acc_12ep_one_seed"], frame["cifar10_test_acc_200ep_one_seed"]
    rows = [pd.DataFrame({"arch": frame["arch_str"], "fidelity": "epochs=12", "seed": 0, "score": s12,
                          "cost": frame["train-all-time"] * 12 / 200,
                          "curve": [f"[{v}]" for v in s12]}),
            pd.DataFrame({"arch": frame["arch_str"], "fidelity": "epochs=200", "seed": 0, "score": s200,
                          "cost": frame["train-all-time"],
                          "curve": [f"[{a}, {b}]" for a, b in zip(s12, s200, strict=True)]})]
    pd.concat(rows, ignore_index=True).to_csv(path, index=False)
    return path


def official_cache(tmp: Path) -> Path:
    """A 60-architecture NB201-format file from the test fixtures, imported into a nasarena cache."""
    sys.path.insert(0, str(ROOT / "tests" / "estimators" / "official"))
    import official_fixture as fx

    from nasarena.bench.cli import main

    src = fx.write_nb201(tmp, DATA, n=60)
    out = tmp / "cache"
    if main(["data", "import-nb201", str(src), "--trust", "--out", str(out)]) != 0:
        raise SystemExit("import of the fixture file failed")
    return out


def measure(oracle_name: str, oracle_kwargs: dict, seeds: list[int], max_evals: int) -> list[dict]:
    """One row per (strategy, continue on/off): mean cost per bracket (by s) or per top-rung result."""
    from nasarena.bench.config import Budget, RunConfig
    from nasarena.bench.runner import run
    from nasarena.registry import make_oracle
    from nasarena.results import schema as S

    oracle = make_oracle(oracle_name, **oracle_kwargs)
    if oracle_name == "nb201":  # the fixture file holds 60 architectures: search only those
        from nasarena.spaces.base import SubsetSpace

        rows = [t.rows for t in oracle._tables.values()]
        held = [a for a, i in oracle._lookup.items() if all(r[i][1] > 0 for r in rows)]
        oracle.space = SubsetSpace(oracle.space, held)
    top = oracle.fidelities[-1].key()
    out = []
    for strategy in ("hyperband", "bohb", "asha"):
        for cont in (False, True):
            per_s: dict[int, list[float]] = {}
            per_top, kinds = [], {}
            for seed in seeds:
                cfg = RunConfig(strategy, {"continue_promotions": cont}, oracle_name, oracle_kwargs, seed,
                                Budget(max_evals=max_evals))
                res = run(cfg, oracle)
                assert res.ok, res.error
                conf, traj = res.meta["strategy_config"], res.trajectory
                assert conf["continued"] == cont
                n_top = int((traj[S.FIDELITY] == top).sum())
                per_top.append(traj[S.COST].sum() / max(n_top, 1))
                for k, v in traj[S.KIND].value_counts().items():
                    kinds[k] = kinds.get(k, 0) + int(v)
                for s, c in conf.get("bracket_costs", []):
                    per_s.setdefault(s, []).append(c)
            out.append({"oracle": oracle_name, "strategy": strategy, "continue": cont,
                        "cost_per_top_result": float(np.mean(per_top)),
                        **{f"bracket_s{s}": float(np.mean(v)) for s, v in sorted(per_s.items())},
                        "kinds": kinds})
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seeds", default="0-9")
    args = p.parse_args(argv)
    lo, _, hi = args.seeds.partition("-")
    seeds = list(range(int(lo), int(hi or lo) + 1))
    with tempfile.TemporaryDirectory() as tmp:
        t = Path(tmp)
        rows = measure("table", {"path": str(table_with_curves(t / "two_fidelity.csv"))}, seeds, 300)
        rows += measure("nb201", {"dataset": "cifar10", "path": str(official_cache(t)),
                                  "epochs": [12, 50, 200], "schedule": "full"}, seeds, 40)
    frame = pd.DataFrame(rows)
    print(f"simulated seconds, mean over seeds {args.seeds} (bracket_sK: mean cost of a completed Hyperband "
          f"bracket s=K; cost_per_top_result: total cost / evaluations at the top fidelity)")
    print(frame.drop(columns="kinds").to_string(index=False))
    print("\nratio continue / retrain (lower is cheaper):")
    cols = [c for c in frame.columns if c.startswith(("bracket_", "cost_per"))]
    for (oracle, strategy), g in frame.groupby(["oracle", "strategy"], sort=False):
        on, off = g[g["continue"]].iloc[0], g[~g["continue"]].iloc[0]
        ratios = ", ".join(f"{c} {on[c] / off[c]:.3f}" for c in cols
                           if pd.notna(on[c]) and pd.notna(off[c]) and off[c] > 0)
        print(f"  {oracle:6s} {strategy:9s} {ratios}   (rows by kind with continue: {on['kinds']})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
