"""Snapshot the trajectories of every built-in strategy, and compare two snapshots exactly.

Issue 9 changed the runner and the strategy contract and had to leave the existing strategies'
trajectories unchanged. This script makes that checkable: it runs a reduced ``make bench`` grid
(the bench strategies on NB201-lite cifar10-valid at the preset's budget, sequential and with 4
asynchronous workers) plus Hyperband and BOHB on a two-fidelity table built from the NB201
reference data, and writes one Parquet file per study. It only uses API that existed before the
change (``RunConfig``, ``Budget``, ``runner.run``), so the same file runs against an old tree::

    PYTHONPATH=/path/to/old/tree python benchmarks/trajectory_snapshot.py snapshot --out /tmp/old
    PYTHONPATH=$PWD              python benchmarks/trajectory_snapshot.py snapshot --out /tmp/new
    python benchmarks/trajectory_snapshot.py compare /tmp/old /tmp/new

``compare`` checks the columns both snapshots have (new columns such as ``proposal_id`` are listed,
not compared) row by row, NaN equal to NaN, and prints the first difference per run.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "nb201"
if not DATA.is_dir():  # a worktree next to /work/main
    DATA = Path("/work/shared/data/nb201")
BENCH = ("random", "regularized-evolution", "evolution", "reinforce", "reinforce-lstm", "local-search",
         "bo", "optuna:tpe", "regularized-evolution-mo")
MULTI = ("hyperband", "bohb")


def two_fidelity_table(path: Path) -> Path:
    """NB201 cifar10: one-seed test accuracy after 12 and after 200 epochs, cost from cifar10-valid.

    The 12-epoch row costs 12/200 of the 200-epoch train time (a two-fidelity table like the
    official NB201 protocol's hp=12 / hp=200; the numbers serve only to drive the strategies).
    """
    acc = pd.read_csv(DATA / "test_accuracy.csv")
    times = pd.read_csv(DATA / "cifar10-valid_full_metrics.csv")[["index", "train-all-time"]]
    frame = acc.merge(times, on="index")
    c12, c200 = "cifar10_test_acc_12ep_one_seed", "cifar10_test_acc_200ep_one_seed"
    rows = []
    for epochs, col in ((12, c12), (200, c200)):
        rows.append(pd.DataFrame({"arch": frame["arch_str"], "fidelity": f"epochs={epochs}",
                                  "seed": 0, "score": frame[col].astype(float),
                                  "cost": frame["train-all-time"] * epochs / 200}))
    out = pd.concat(rows, ignore_index=True)
    out.to_csv(path, index=False)
    return path


def studies(table: Path, seeds: list[int]) -> dict[str, list]:
    """Study name -> list of RunConfig."""
    from nasarena.bench.config import Budget, RunConfig
    from nasarena.estimators.nb201_lite import load_table

    mean = float(np.nanmean(np.nanmean(load_table("cifar10-valid").train_time, axis=1)))
    lite = {"dataset": "cifar10-valid"}
    out: dict[str, list] = {"bench": [], "bench-async": [], "multi-fidelity": []}
    for s in BENCH:
        for seed in seeds:
            out["bench"].append(RunConfig(s, {}, "nb201-lite", lite, seed,
                                          Budget(max_time=round(150 * mean, 3))))
            out["bench-async"].append(RunConfig(s, {}, "nb201-lite", lite, seed,
                                                Budget(max_time=round(60 * mean, 3)), n_workers=4))
    for s in MULTI:
        for seed in seeds:
            for workers in (1, 3):
                out["multi-fidelity"].append(RunConfig(s, {}, "table", {"path": str(table)}, seed,
                                                       Budget(max_time=round(100 * mean, 3)),
                                                       n_workers=workers))
    return out


def snapshot(out: Path, seeds: list[int]) -> None:
    """Run every study and write ``<study>.parquet`` under ``out``."""
    from nasarena.bench.runner import run
    from nasarena.registry import make_oracle

    out.mkdir(parents=True, exist_ok=True)
    table = two_fidelity_table(out / "two_fidelity_table.csv")
    oracles: dict = {}
    for name, configs in studies(table, seeds).items():
        frames = []
        for cfg in configs:
            key = (cfg.oracle, tuple(sorted(cfg.oracle_kwargs.items())))
            if key not in oracles:
                oracles[key] = make_oracle(cfg.oracle, **cfg.oracle_kwargs)
            res = run(cfg, oracles[key])
            if res.status != "ok":
                print(f"{cfg.run_id}: {res.status}: {(res.error or '').strip().splitlines()[-1:]}")
            frames.append(res.trajectory)
        frame = pd.concat(frames, ignore_index=True)
        frame.to_parquet(out / f"{name}.parquet")
        print(f"{name}: {len(configs)} runs, {len(frame)} rows -> {out / (name + '.parquet')}")


def _same(a: pd.Series, b: pd.Series) -> np.ndarray:
    if a.dtype.kind == "f" or b.dtype.kind == "f":
        x, y = a.to_numpy(dtype=float), b.to_numpy(dtype=float)
        return (x == y) | (np.isnan(x) & np.isnan(y))
    return (a.astype(str).to_numpy() == b.astype(str).to_numpy())


def compare(old: Path, new: Path) -> int:
    """Print per study whether the common columns are identical; return the number of differing runs."""
    bad = 0
    for f in sorted(old.glob("*.parquet")):
        a, b = pd.read_parquet(f), pd.read_parquet(new / f.name)
        common = [c for c in a.columns if c in b.columns]
        extra = [c for c in b.columns if c not in a.columns]
        # runs are matched by (strategy, seed, workers): run ids hash the table's path, which differs
        key = ["strategy", "seed", "n_workers"]
        runs_a, runs_b = a.groupby(key, sort=False), b.groupby(key, sort=False)
        differing = []
        for run_id, ra in runs_a:
            rb = runs_b.get_group(run_id) if run_id in runs_b.groups else b.iloc[:0]
            if len(ra) != len(rb):
                differing.append(f"{run_id}: {len(ra)} vs {len(rb)} rows")
                continue
            ra, rb = ra.reset_index(drop=True), rb.reset_index(drop=True)
            for c in common:
                if c == "run_id":  # hashes the table's path
                    continue
                eq = _same(ra[c], rb[c])
                if not eq.all():
                    i = int(np.argmin(eq))
                    differing.append(f"{run_id}: column {c!r} row {i}: {ra[c][i]!r} vs {rb[c][i]!r}")
                    break
        print(f"{f.stem}: {runs_a.ngroups} runs, {len(a)} rows, {len(common)} common columns "
              f"(new only: {extra or 'none'}): " + ("identical" if not differing else
                                                   f"{len(differing)} runs differ"))
        for line in differing[:20]:
            print("   ", line)
        bad += len(differing)
    return bad


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("snapshot")
    s.add_argument("--out", type=Path, required=True)
    s.add_argument("--seeds", default="0-4")
    c = sub.add_parser("compare")
    c.add_argument("old", type=Path)
    c.add_argument("new", type=Path)
    args = p.parse_args(argv)
    if args.cmd == "snapshot":
        lo, _, hi = args.seeds.partition("-")
        snapshot(args.out, list(range(int(lo), int(hi or lo) + 1)))
        return 0
    return 1 if compare(args.old, args.new) else 0


if __name__ == "__main__":
    sys.exit(main())
