"""Small benchmark files in the official NAS-Bench-201 / NATS-Bench formats, for tests and benchmarks.

No official file can be downloaded here, so these are built with the official packages' own result
classes (``ArchResults`` / ``ResultsCount`` of ``nas_201_api`` or ``nats_bench``) and saved the way
the authors saved theirs (``torch.save`` / ``nats_bench.pickle_save``).

What is real and what is synthetic (NB201 / NATS topology files):
- real: all 15,625 architecture strings in the official index order; for the chosen architectures,
  cifar10-valid's 200-epoch seed-mean train/valid/test accuracy and loss and per-epoch
  train/valid/test times (``cifar10-valid_full_metrics.csv``); CIFAR-10 / CIFAR-100 /
  ImageNet16-120 200-epoch test accuracy (seed mean and one seed) and 12-epoch test accuracy
  (``test_accuracy.csv``); params and FLOPs (exact, ``nasarena.spaces.nb201_cost``); latency
  (HELP's 1080 Ti batch-1 measurement, ms / 1000: real, but not the NB201 authors' own number).
- synthetic: the per-seed spread around the seed means (seeds = mean +- a fixed offset), every
  per-epoch curve (monotone saturating curves that end exactly at the final values above),
  the valid accuracy of CIFAR-100 / ImageNet16-120 and of 12-epoch runs, all losses other than
  cifar10-valid's 200-epoch ones, and the times of datasets other than cifar10-valid (scaled).
The NATS size-space file is entirely synthetic except for its architecture strings and analytic
params/FLOPs: no size-space numbers exist in ../shared/data.
"""

from __future__ import annotations

import itertools
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from nasarena.spaces.nats_sss import CHANNELS, params_and_flops
from nasarena.spaces.nb201 import NB201Space
from nasarena.spaces.nb201_cost import params_and_flops_for

EVALS = {"cifar10-valid": ("x-valid", "ori-test"), "cifar10": ("ori-test",),
         "cifar100": ("ori-test", "x-valid", "x-test"), "ImageNet16-120": ("ori-test", "x-valid", "x-test")}
DATASETS = tuple(EVALS)
SEEDS = (777, 888, 999)
# synthetic time scale relative to cifar10-valid (which trains on 25k images): 50k, 50k, 151.7k at 16px
TIME_SCALE = {"cifar10-valid": 1.0, "cifar10": 2.0, "cifar100": 2.0, "ImageNet16-120": 1.6}
OFFSETS = {1: (0.0,), 2: (0.25, -0.25), 3: (0.3, -0.3, 0.0)}


def _curve(start: float, final: float, epochs: int, sharp: float = 4.0) -> list[float]:
    """A monotone saturating curve from ``start`` that ends exactly at ``final`` (synthetic)."""
    x = (np.arange(epochs) + 1) / epochs
    y = start + (final - start) * (1 - np.exp(-sharp * x)) / (1 - math.exp(-sharp))
    out = [float(v) for v in y]
    out[-1] = float(final)
    return out


def _loss_of(acc: float) -> float:
    """A plausible cross-entropy for an accuracy (synthetic, decreasing in accuracy)."""
    return float(-math.log(min(max(acc, 1.0), 99.9) / 100.0) * 1.3 + 0.02)


def _times(per_epoch: float, epochs: int, seed: int, numpy_scalars: bool = False) -> list[float]:
    """Per-epoch seconds jittered deterministically (train times as numpy float64 scalars, which the
    real files also contain and which make torch's weights_only=True loading fail)."""
    t = [per_epoch * (1.0 + 0.02 * math.sin(seed + 0.7 * e)) for e in range(epochs)]
    return [np.float64(x) for x in t] if numpy_scalars else t


def _result(cls: Any, dataset: str, seed: int, epochs: int, arch: str, n_classes: int, params: float,
            flops: float, latency: float, train: tuple[float, float], evals: dict[str, tuple[float, float]],
            times: dict[str, float]) -> Any:
    start = 100.0 / n_classes
    tr_acc = _curve(start, min(train[0], 100.0), epochs)
    tr_loss = _curve(_loss_of(start), train[1], epochs)
    config = {"name": "infer.tiny", "C": 16, "N": 5, "channel": 16, "num_cells": 5, "arch_str": arch,
              "class_num": n_classes}
    rc = cls(dataset, None, None, None, params, flops, config, seed, epochs, [latency])
    rc.update_train_info(dict(enumerate(tr_acc)), None, dict(enumerate(tr_loss)),
                         dict(enumerate(_times(times["train"], epochs, seed, numpy_scalars=True))))
    accs, losses, etimes = {}, {}, {}
    for name, (acc, loss) in evals.items():
        a = _curve(start, min(acc, 100.0), epochs, 3.0)
        lo = _curve(_loss_of(start), loss, epochs, 3.0)
        t = _times(times["valid" if name == "x-valid" else "test"], epochs, seed + 1)
        for e in range(epochs):
            accs[f"{name}@{e}"], losses[f"{name}@{e}"], etimes[f"{name}@{e}"] = a[e], lo[e], t[e]
    rc.update_eval(accs, losses, etimes)
    return rc


def topology_dict(nb201_data: Path, indices: list[int], package: str = "nas_201_api") -> dict[str, Any]:
    """A benchmark dict in the NB201 (``package="nas_201_api"``) or NATS-tss (``"nats_bench"``) layout."""
    if package == "nas_201_api":
        from nas_201_api.api_utils import ArchResults, ResultsCount
    else:
        from nats_bench.api_utils import ArchResults, ResultsCount
    acc = pd.read_csv(nb201_data / "test_accuracy.csv")
    full = pd.read_csv(nb201_data / "cifar10-valid_full_metrics.csv")
    lat = pd.read_csv(nb201_data / "latency_26_devices.csv", usecols=["index", "1080ti_1"])
    space = NB201Space()
    archs = acc["arch_str"].tolist()
    arch2infos: dict[int, dict[str, Any]] = {}
    for i in indices:
        arch, a, f = archs[i], acc.iloc[i], full.iloc[i]
        by_hp = {}
        for hp, epochs in (("12", 12), ("200", 200)):
            res = ArchResults(i, arch)
            for dataset in DATASETS:
                key = "cifar10" if dataset == "cifar10-valid" else dataset
                n_classes = {"cifar100": 100, "ImageNet16-120": 120}.get(dataset, 10)
                k = (2 if dataset == "cifar10-valid" else 1) if hp == "12" else 1 + (i + len(dataset)) % 3
                per = {"train": f["train-per-time"] * TIME_SCALE[dataset], "valid": f["valid-per-time"],
                       "test": f["test-per-time"] * TIME_SCALE[dataset]}
                params, flops = params_and_flops_for(space.from_string(arch), dataset)
                for s, off in zip(SEEDS[:k], OFFSETS[k], strict=False):
                    if hp == "200":
                        test = (f["test-accuracy"] if dataset == "cifar10-valid"
                                else a[f"{key}_test_acc_200ep_mean"]) + off
                        if dataset != "cifar10-valid" and s == SEEDS[0] and k == 1:
                            test = a[f"{key}_test_acc_200ep_one_seed"]
                        valid = f["valid-accuracy"] + off if dataset == "cifar10-valid" else test - 0.4 + off
                        train = (f["train-accuracy"], f["train-loss"]) if dataset == "cifar10-valid" \
                            else (min(test + 8.0, 99.9), _loss_of(test + 8.0))
                        losses = {"x-valid": f["valid-loss"], "ori-test": f["test-loss"]} \
                            if dataset == "cifar10-valid" else {}
                    else:
                        test = a[f"{key}_test_acc_12ep_one_seed"] + off
                        valid, train, losses = test - 0.6 + off, (test + 3.0, _loss_of(test + 3.0)), {}
                    ori = test if dataset in ("cifar10", "cifar10-valid") else (valid + test) / 2
                    values = {"x-valid": valid, "x-test": test, "ori-test": ori}
                    evals = {n: (values[n], losses.get(n, _loss_of(values[n]))) for n in EVALS[dataset]}
                    res.update(dataset, s, _result(ResultsCount, dataset, s, epochs, arch, n_classes, params,
                                                   flops, float(lat["1080ti_1"].iloc[i]) / 1000.0,
                                                   train, evals, per))
            by_hp[hp] = res.state_dict()
        arch2infos[i] = {"less": by_hp["12"], "full": by_hp["200"]} if package == "nas_201_api" else by_hp
    return {"meta_archs": archs, "arch2infos": arch2infos, "evaluated_indexes": set(indices)}


def size_dict(indices: list[int]) -> dict[str, Any]:
    """A NATS size-space benchmark dict (hp '01', '12', '90'); numbers synthetic (see module doc)."""
    from nats_bench.api_utils import ArchResults, ResultsCount

    archs = [":".join(map(str, c)) for c in itertools.product(CHANNELS, repeat=5)]
    arch2infos: dict[int, dict[str, Any]] = {}
    for i in indices:
        widths = tuple(int(w) for w in archs[i].split(":"))
        quality = sum(widths) / (5 * 64)  # wider nets do better, synthetic
        by_hp = {}
        for hp in ("01", "12", "90"):
            epochs = int(hp)
            res = ArchResults(i, archs[i])
            for dataset in DATASETS:
                n_classes = {"cifar100": 100, "ImageNet16-120": 120}.get(dataset, 10)
                base = {10: 93.0, 100: 70.0, 120: 45.0}[n_classes] * (0.75 + 0.25 * quality)
                base *= {1: 0.45, 12: 0.9, 90: 1.0}[epochs]
                k = 2 if hp == "90" else 1
                res_dataset = "cifar10" if dataset == "cifar10-valid" else dataset
                params, flops = params_and_flops(widths, n_classes, 16 if "Image" in dataset else 32)
                per = {"train": 4.0 + 6.0 * quality, "valid": 1.5, "test": 1.0}
                for s, off in zip(SEEDS[:k], OFFSETS[k], strict=False):
                    acc = base + off
                    values = {"x-valid": acc - 0.3, "x-test": acc, "ori-test": acc - 0.15}
                    evals = {n: (values[n], _loss_of(values[n])) for n in EVALS[dataset]}
                    rc = _result(ResultsCount, dataset, s, epochs, archs[i], n_classes, params, flops,
                                 0.001 + 0.004 * quality, (min(base + 5, 99.9), _loss_of(base + 5)), evals,
                                 per)
                    rc.arch_config = {"name": "infer.shape.tiny", "channels": archs[i], "genotype": "",
                                      "class_num": n_classes, "dataset": res_dataset}
                    res.update(dataset, s, rc)
            by_hp[hp] = res.state_dict()
        arch2infos[i] = by_hp
    return {"meta_archs": archs, "arch2infos": arch2infos, "evaluated_indexes": set(indices)}


def pick_indices(n: int) -> list[int]:
    """``n`` official indices spread over the space, always including the best CIFAR-10 one (6111)."""
    return sorted({6111, *np.linspace(0, 15624, n - 1).astype(int).tolist()})


def write_nb201(dirpath: Path, nb201_data: Path, n: int = 24,
                name: str = "NAS-Bench-201-v1_1-096897.pth") -> Path:
    """Save a small NB201 file with ``torch.save`` (like the authors) and return its path."""
    import torch

    path = Path(dirpath) / name
    torch.save(topology_dict(nb201_data, pick_indices(n)), path)
    return path


def write_nats(dirpath: Path, obj: dict[str, Any], base: str, archive: bool = False) -> Path:
    """Save with ``nats_bench.pickle_save``: one ``<base>.pickle.pbz2`` file, or a fast-mode directory."""
    from nats_bench.api_utils import pickle_save

    if not archive:
        pickle_save(obj, str(Path(dirpath) / f"{base}.pickle"))
        return Path(dirpath) / f"{base}.pickle.pbz2"
    root = Path(dirpath) / f"{base}-simple"
    root.mkdir(parents=True, exist_ok=True)
    pickle_save({"meta_archs": obj["meta_archs"]}, str(root / "meta.pickle"))
    for idx, by_hp in obj["arch2infos"].items():
        pickle_save(by_hp, str(root / f"{idx:06d}.pickle"))
    return root
