"""The generated dataset separates architectures: conv cells beat zero, skip and pool cells widely.

This is what makes it a usable CPU stand-in for CIFAR: with cells that compute nothing (none), only
pass the stem through (skip) or only blur (pool), a network must not be able to read the classes,
while a cell with convolutions must, by a wide margin, at a tiny CPU fidelity.
"""

from __future__ import annotations

import pytest
import torch

from nasarena.estimators.live.data import load_synthetic
from nasarena.estimators.live.trainer import DeviceData, Recipe, TrainSpec, train

CELLS = {"none": (0,) * 6, "skip": (1,) * 6, "pool": (4,) * 6, "conv1x1": (2,) * 6}


@pytest.mark.slow
def test_conv_cells_beat_none_skip_and_pool_cells_by_a_wide_margin() -> None:
    data = DeviceData(load_synthetic(2000, 500, 500, resolution=16, seed=0), 16, torch.device("cpu"))
    spec = TrainSpec(epochs=4, data_fraction=1.0, channels=8, cells=1, resolution=16)
    acc = {name: train(arch, data, spec, seed=0, recipe=Recipe(batch_size=64), num_threads=1).test_acc
           for name, arch in CELLS.items()}
    assert acc["none"] < 15.0, acc  # chance is 10%: the all-zero cell cannot see the image
    assert acc["conv1x1"] > 35.0, acc
    for name in ("none", "skip", "pool"):
        assert acc["conv1x1"] - acc[name] >= 15.0, acc
