"""Rank correlation of zero-cost proxies with NB201 test accuracy (Abdelfattah et al. ICLR 2021, Table 1).

Every NB201 architecture (15,625, isomorphic ones included, as the paper scores them) is scored by
each proxy of its untrained network at NB201's full size (C=16, N=5) on cifar10 and cifar100 (32 px,
10 / 100 classes) and ImageNet16-120 (16 px, 120 classes), and compared with NB201's 200-epoch test
accuracy (seed mean, the table shipped with nasarena; cifar10 = trained on train+valid) by Spearman
rho and Kendall tau-b. ``params`` and ``flops`` are the baselines. ``synflow``, ``params`` and ``flops``
use no data, so their figures are comparable to the paper's; the data-dependent proxies (``snip``,
``grad_norm``, ``grasp``, ``fisher``, ``jacob_cov``, ``naswot``) see one batch of **generated images, not
CIFAR** (10 classes; the networks still have the dataset's number of outputs).

The run is resumable and incremental: architectures are visited in a seeded uniform order (so a
partial run is an unbiased sample), in chunks; each finished chunk is one CSV under ``--out`` and a
restart skips the chunks that exist. ``--table`` prints the table from whatever is complete, with the
number of architectures behind each figure. Two groups run as separate processes::

    nice -n 19 python benchmarks/zero_cost_proxies.py --out DIR --group data-free   # synflow, params, flops
    nice -n 19 python benchmarks/zero_cost_proxies.py --out DIR --group data        # the six data proxies
    python benchmarks/zero_cost_proxies.py --out DIR --table
    python benchmarks/zero_cost_proxies.py --measure 3     # seconds per proxy, separate vs shared passes

Network of architecture i: :func:`nasarena.spaces.nb201_torch.build_network` initialised from
``torch.Generator().manual_seed(seed_i)`` (PyTorch's default init distributions, as the paper's code),
``seed_i`` derived from ``--seed`` and i, the same for every proxy and dataset. Speed-ups that keep the
numbers (tested against the separate proxy functions): synflow for the 10- and 100-class heads from
one forward-mode pass (:func:`~nasarena.estimators.oneshot.proxies.synflow_heads`, float64 like the
paper's code), and the six data proxies from one shared forward
(:func:`~nasarena.estimators.oneshot.proxies.data_proxies`, float32 like the paper's code).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from scipy import stats
from torch import nn

from nasarena.data import nb201_test_accuracy_path
from nasarena.errors import ConfigError
from nasarena.estimators.oneshot import proxies as P
from nasarena.estimators.oneshot.zerocost import ZeroCostOracle
from nasarena.spaces.nb201 import NB201Space
from nasarena.spaces.nb201_cost import params_and_flops
from nasarena.spaces.nb201_torch import NB201Network, build_network, reset_parameters

DATASETS = {"cifar10": (10, 32), "cifar100": (100, 32), "ImageNet16-120": (120, 16)}
GROUPS = {"data-free": ("synflow", "params", "flops"),
          "data": ("snip", "grad_norm", "grasp", "fisher", "jacob_cov", "naswot")}
SHARED_NB201 = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "nb201"
COLUMNS = ["position", "arch_index", "dataset", "proxy", "score", "seconds"]


class Features(nn.Module):
    """An NB201 network without its classifier: the pooled features that every head reads."""

    def __init__(self, net: NB201Network) -> None:
        super().__init__()
        self.stem, self.cells, self.lastact, self.pool = net.stem, net.cells, net.lastact, net.global_pooling

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Stem, cells, last BN-ReLU and global pooling (the modules are ``net``'s own)."""
        return torch.flatten(self.pool(self.lastact(self.cells(self.stem(x)))), 1)


def arch_seed(seed: int, index: int) -> int:
    """The init seed of architecture ``index`` (independent streams per architecture)."""
    return int(np.random.SeedSequence([seed, index]).generate_state(1, np.uint64)[0] >> 2)


def network_heads(arch: tuple[int, ...], classes: list[int], channels: int, cells: int,
                  seed: int) -> tuple[NB201Network, list[nn.Linear]]:
    """One body and a head per class count, with exactly the weights of
    ``build_network(arch, k, channels, cells, torch.Generator().manual_seed(seed))`` for each ``k``
    (the body draws first, the head last), for the cost of one build."""
    net = NB201Network(arch, classes[0], channels, cells)
    gen = torch.Generator().manual_seed(seed)
    for name, child in net.named_children():
        if name != "classifier":
            reset_parameters(child, gen)
    state, heads = gen.get_state(), []
    for k in classes:
        g = torch.Generator()
        g.set_state(state)
        heads.append(reset_parameters(nn.Linear(net.classifier.in_features, k), g))
    net.classifier = heads[0]
    return net, heads


def score_data_free(arch: tuple[int, ...], index: int, a: argparse.Namespace) -> list[tuple]:
    """synflow (cifar10 + cifar100 from one 32 px pass, ImageNet16-120 from a 16 px pass), params, flops."""
    net, heads = network_heads(arch, [10, 100, 120], a.channels, a.cells, arch_seed(a.seed, index))
    feats = Features(net)
    t0 = time.perf_counter()
    s10, s100 = P.synflow_heads(feats, heads[:2], (3, 32, 32))
    t1 = time.perf_counter()
    (s120,) = P.synflow_heads(feats, heads[2:], (3, 16, 16))
    t2 = time.perf_counter()
    rows = [("cifar10", "synflow", s10, t1 - t0), ("cifar100", "synflow", s100, t1 - t0),
            ("ImageNet16-120", "synflow", s120, t2 - t1)]
    for ds, (k, res) in DATASETS.items():
        params, flops = params_and_flops(arch, k, res, a.channels, a.cells)
        rows += [(ds, "params", params, 0.0), (ds, "flops", flops, 0.0)]
    return rows


def score_data(arch: tuple[int, ...], index: int, a: argparse.Namespace,
               batches: dict[int, tuple[torch.Tensor, torch.Tensor]]) -> list[tuple]:
    """The six data proxies on each dataset's network, one shared pass each (seconds = that pass)."""
    rows = []
    for ds, (k, res) in DATASETS.items():
        net = build_network(arch, k, a.channels, a.cells, generator=torch.Generator().manual_seed(
            arch_seed(a.seed, index)))
        t0 = time.perf_counter()
        scores = P.data_proxies(net, *batches[res])
        dt = time.perf_counter() - t0
        rows += [(ds, name, scores[name], dt) for name in GROUPS["data"]]
    return rows


def generated_batches(batch_size: int) -> dict[int, tuple[torch.Tensor, torch.Tensor]]:
    """The zero-cost oracle's fixed batch of generated images at 32 px and 16 px (seed 0)."""
    return {res: ZeroCostOracle(batch_size=batch_size, synthetic_resolution=res).batch() for res in (32, 16)}


def settings_of(a: argparse.Namespace) -> dict:
    """What a chunk's numbers depend on; a folder holds results of one setting only."""
    return {"channels": a.channels, "cells": a.cells, "batch_size": a.batch_size, "seed": a.seed,
            "data": "synthetic (generated, seed 0)", "version": 1}


def check_settings(out: Path, a: argparse.Namespace) -> None:
    """Write the settings on first use; refuse a folder made with other settings (no stale reuse)."""
    out.mkdir(parents=True, exist_ok=True)
    path, want = out / "settings.json", settings_of(a)
    if path.exists():
        have = json.loads(path.read_text())
        if have != want:
            raise ConfigError(f"{out} holds results made with {have}, not {want}; use another --out "
                              f"or the same settings")
    else:
        path.write_text(json.dumps(want, indent=1))


def run_group(a: argparse.Namespace) -> None:
    """Score chunks of the seeded order that are not on disk yet, up to ``--limit`` architectures."""
    out = Path(a.out)
    check_settings(out, a)
    folder = out / a.group
    folder.mkdir(exist_ok=True)
    space = NB201Space()
    order = np.random.default_rng(a.seed).permutation(space.size)
    limit = min(a.limit or space.size, space.size)
    batches = generated_batches(a.batch_size) if a.group == "data" else {}
    seen: dict[str, set[int]] = {}

    def on_disk() -> set[int]:
        """Positions in finished chunks (re-read before each chunk: another worker may add some)."""
        for f in folder.glob("chunk-*.csv"):
            if f.name not in seen:
                seen[f.name] = {int(q) for q in pd.read_csv(f, usecols=["position"]).position}
        return set().union(*seen.values())

    todo = list(range(limit))[:: -1 if a.reverse else 1]
    done = on_disk()
    print(f"{time.strftime('%H:%M:%S')} {a.group}: {len(done)} architectures on disk, "
          f"{limit - len(done & set(todo))} to do (of the first {limit} in the seeded order"
          f"{', from the end' if a.reverse else ''})", flush=True)
    t_start, scored = time.perf_counter(), 0
    while True:
        done = on_disk()
        positions = [q for q in todo if q not in done][: a.chunk]
        if not positions:
            break
        rows = []
        for pos in positions:
            idx = int(order[pos])
            arch = space.from_index(idx)
            free = a.group == "data-free"
            got = score_data_free(arch, idx, a) if free else score_data(arch, idx, a, batches)
            rows += [(pos, idx, *r) for r in got]
        path = folder / f"chunk-{min(positions):05d}-{max(positions):05d}.csv"
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        pd.DataFrame(rows, columns=COLUMNS).to_csv(tmp, index=False, float_format="%.17g")
        os.replace(tmp, path)  # a chunk is on disk whole or not at all
        scored += len(positions)
        print(f"{time.strftime('%H:%M:%S')} {a.group}: {len(done) + len(positions)} on disk "
              f"({(time.perf_counter() - t_start) / scored:.2f} s/arch wall this worker)", flush=True)


def load_results(out: Path) -> pd.DataFrame:
    """All complete chunks under ``out`` (both groups)."""
    parts = [pd.read_csv(p) for g in GROUPS for p in sorted((out / g).glob("chunk-*.csv"))]
    if not parts:
        return pd.DataFrame(columns=COLUMNS)
    return pd.concat(parts, ignore_index=True).drop_duplicates(["arch_index", "dataset", "proxy"])


def correlations(scores: np.ndarray, truth: np.ndarray) -> tuple[int, int, float, float]:
    """(n used, n not finite and left out, Spearman rho, Kendall tau-b) of finite scores vs truth."""
    ok = np.isfinite(scores)
    n = int(ok.sum())
    if n < 2:
        return n, int((~ok).sum()), float("nan"), float("nan")
    rho = float(stats.spearmanr(scores[ok], truth[ok]).statistic)
    tau = float(stats.kendalltau(scores[ok], truth[ok]).statistic)
    return n, int((~ok).sum()), rho, tau


def truth_table(shared: Path | None = SHARED_NB201) -> pd.DataFrame:
    """NB201 200-epoch test accuracy (seed mean) per architecture, indexed like ``NB201Space.from_index``
    (not the official NB201 index: rows are matched through the official strings): cifar10 (trained on
    train+valid), cifar100, ImageNet16-120 (the table shipped with nasarena) and, when the reference
    folder is there, cifar10-valid (trained on the train half; the number the paper's notebook reads)."""
    space = NB201Space()
    strings = [space.to_string(space.from_index(i)) for i in range(space.size)]
    t = pd.read_parquet(nb201_test_accuracy_path()).set_index("arch_str").loc[strings]
    truth = pd.DataFrame({ds: t[f"{ds}_test_acc_200ep_mean"].to_numpy() for ds in DATASETS})
    valid = shared / "cifar10-valid_full_metrics.csv" if shared else None
    if valid is not None and valid.exists():
        v = pd.read_csv(valid, usecols=["arch_str", "test-accuracy"]).set_index("arch_str").loc[strings]
        truth.insert(1, "cifar10-valid", v["test-accuracy"].to_numpy())
    return truth


# Abdelfattah et al.'s NB201 table, as printed by the authors' notebook (github.com/SamsungLabs/zero-cost-nas,
# notebooks/nasbench201_correlations.ipynb at ca61347, "Table 1"): |Spearman rho| over all 15,625
# architectures against test accuracy (CIFAR-10 from the cifar10-valid table), per truth column here.
PAPER = {"cifar10-valid": {"grad_norm": 0.594, "snip": 0.596, "grasp": 0.514, "fisher": 0.36,
                           "synflow": 0.737, "jacob_cov": 0.731},
         "cifar100": {"grad_norm": 0.637, "snip": 0.637, "grasp": 0.547, "fisher": 0.385, "synflow": 0.763,
                      "jacob_cov": 0.704},
         "ImageNet16-120": {"grad_norm": 0.578, "snip": 0.578, "grasp": 0.549, "fisher": 0.327,
                            "synflow": 0.751, "jacob_cov": 0.701}}


def table(df: pd.DataFrame, truth: pd.DataFrame) -> str:
    """The markdown correlation table: per proxy, the architectures behind it and, per truth column,
    Spearman rho (the paper's |rho| in brackets where it has one) and Kendall tau-b. The cifar10-valid
    column correlates the cifar10 networks' scores (10 classes, 32 px) with that table. When the data
    proxies cover fewer architectures, synflow and params are repeated on exactly those (sampling noise
    apart from the proxy)."""
    cols = list(truth.columns)
    lines = ["| proxy | n | " + " | ".join(f"{c} rho (paper) | tau" for c in cols) + " |",
             "|---|---|" + "---|---|" * len(cols)]
    data_archs = set(df[df.proxy.isin(GROUPS["data"])].arch_index)
    rows = [(name, name, None) for name in GROUPS["data-free"]]
    if data_archs and len(data_archs) < len(set(df[df.proxy == "synflow"].arch_index)):
        rows += [(name, f"{name}, same archs as below", data_archs) for name in ("synflow", "params")]
    rows += [(name, name, None) for name in GROUPS["data"]]
    for name, label, only in rows:
        sub = df[df.proxy == name]
        if only is not None:
            sub = sub[sub.arch_index.isin(only)]
        if sub.empty:
            continue
        cells, counts = [], set()
        for col in cols:
            d = sub[sub.dataset == ("cifar10" if col == "cifar10-valid" else col)]
            truth_d = truth.loc[d.arch_index, col].to_numpy(float)
            n, bad, rho, tau = correlations(d.score.to_numpy(float), truth_d)
            counts.add(f"{n}" + (f" (+{bad} not finite)" if bad else ""))
            paper = PAPER.get(col, {}).get(name) if only is None else None
            cells.append(f"{rho:+.3f}" + (f" ({paper:.3f})" if paper is not None else "") + f" | {tau:+.3f}")
        lines.append(f"| {label} | {' / '.join(sorted(counts))} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def export_synflow(df: pd.DataFrame, path: Path) -> int:
    """Write the per-architecture synflow scores (one column per dataset) as a compressed Parquet file;
    params and flops are left out (:func:`nasarena.spaces.nb201_cost.params_and_flops` recomputes them)."""
    space = NB201Space()
    wide = df[df.proxy == "synflow"].pivot_table(index=["arch_index", "position"], columns="dataset",
                                                 values="score", aggfunc="first")
    wide = wide.reset_index().rename(columns={ds: f"synflow_{ds}" for ds in DATASETS})
    wide.insert(1, "arch_str", [space.to_string(space.from_index(int(i))) for i in wide.arch_index])
    wide.sort_values("position").to_parquet(path, index=False, compression="zstd")
    return len(wide)


def measure(a: argparse.Namespace) -> None:
    """Seconds per architecture of each proxy computed alone (the separate functions, fresh network
    each) against the shared passes the run uses, on the same architectures, one thread."""
    space = NB201Space()
    order = np.random.default_rng(a.seed).permutation(space.size)[: a.measure]
    batches = generated_batches(a.batch_size)
    warm = space.from_index(0)  # first calls pay one-off costs (torch.func import, allocator): untimed
    score_data_free(warm, 0, a)
    score_data(warm, 0, a, batches)
    sep: dict[str, float] = {}
    for k, res in DATASETS.values():
        x, y = batches[res]
        for idx in order:
            arch = space.from_index(int(idx))
            for name in ("synflow", *GROUPS["data"]):
                net = build_network(arch, k, a.channels, a.cells,
                                    generator=torch.Generator().manual_seed(arch_seed(a.seed, int(idx))))
                t0 = time.perf_counter()
                P.FUNCTIONS[name](net, x, y)
                sep[name] = sep.get(name, 0.0) + (time.perf_counter() - t0) / len(order)
    t0 = time.perf_counter()
    for idx in order:
        score_data_free(space.from_index(int(idx)), int(idx), a)
    free = (time.perf_counter() - t0) / len(order)
    t0 = time.perf_counter()
    for idx in order:
        score_data(space.from_index(int(idx)), int(idx), a, batches)
    data = (time.perf_counter() - t0) / len(order)
    print(f"{len(order)} architectures, C={a.channels} N={a.cells}, batch {a.batch_size}, "
          f"{torch.get_num_threads()} thread(s); seconds per architecture, all three datasets:")
    for name, s in sep.items():
        print(f"  {name:10s} alone {s:.3f}")
    print(f"  synflow shared heads + params + flops (incl. build): {free:.3f}  (alone: {sep['synflow']:.3f})")
    data_alone = sum(sep[n] for n in GROUPS["data"])
    print(f"  six data proxies, shared pass (incl. builds): {data:.3f}  (alone, summed: {data_alone:.3f})")


def main(argv: list[str] | None = None) -> None:
    """Parse arguments; run a group, print the table, or measure."""
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", help="folder of the per-chunk CSVs (and settings.json)")
    p.add_argument("--group", choices=tuple(GROUPS), help="score this group's proxies")
    p.add_argument("--table", action="store_true", help="print the table from the complete chunks")
    p.add_argument("--export", help="write the synflow scores per architecture to this Parquet file")
    p.add_argument("--measure", type=int, default=0, help="time each proxy on this many architectures")
    p.add_argument("--limit", type=int, default=0, help="stop after this many architectures (0: all)")
    p.add_argument("--chunk", type=int, default=25)
    p.add_argument("--reverse", action="store_true",
                   help="walk the order from the end (a second worker on the same folder; they meet halfway)")
    p.add_argument("--channels", type=int, default=16)
    p.add_argument("--cells", type=int, default=5)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--seed", type=int, default=2021)
    p.add_argument("--threads", type=int, default=1)
    a = p.parse_args(argv)
    torch.set_num_threads(a.threads)
    if a.measure:
        measure(a)
        return
    if not a.out or not (a.group or a.table or a.export):
        raise SystemExit("give --out with --group, --table and/or --export (or --measure N)")
    try:
        if a.group:
            run_group(a)
        if a.table:
            check_settings(Path(a.out), a)
            df = load_results(Path(a.out))
            print(f"NB201 at C={a.channels} N={a.cells}; truth: 200-epoch test accuracy, seed mean; "
                  f"architectures in a uniform order (seed {a.seed}); data proxies on one batch of "
                  f"{a.batch_size} generated images (not CIFAR); n = architectures behind each figure.\n")
            print(table(df, truth_table()))
        if a.export:
            n = export_synflow(load_results(Path(a.out)), Path(a.export))
            print(f"{n} architectures' synflow scores written to {a.export}")
    except ConfigError as e:
        print(f"error: {e}", file=sys.stderr)
        raise SystemExit(2) from None


if __name__ == "__main__":
    main()
