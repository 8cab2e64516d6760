"""Early stopping on an official-format NB201 cache: epochs of the 200-epoch curve, continued."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import official_fixture as fx
import pandas as pd

from nasarena.estimators.base import CONTINUE
from nasarena.estimators.official import NB201Oracle
from nasarena.registry import load_object
from nasarena.spaces.base import SubsetSpace
from nasarena.strategies.early_stop import EarlyStopping

DRIVE = str(Path(__file__).parents[2] / "strategies" / "_curve_fakes.py") + ":drive"


def test_early_stopping_continues_official_curves(nb201_cache, nb201_data):
    oracle = NB201Oracle(path=nb201_cache, epochs=list(range(1, 13)), schedule="full")
    assert CONTINUE in oracle.capabilities()
    names = pd.read_csv(nb201_data / "cifar10-valid_full_metrics.csv", usecols=["arch_str"])["arch_str"]
    archs = [oracle.space.from_string(names[i]) for i in fx.pick_indices(10)]
    es = EarlyStopping(SubsetSpace(oracle.space, archs), np.random.default_rng(0), oracle.fidelities,
                       rule="median", min_curves=2)
    steps = load_object(DRIVE)(es, oracle, 60)
    continued = [(p, ev) for p, ev in steps if p.continues is not None]
    assert continued and all(ev.ok and len(ev.curve) == p.fidelity.epochs for p, ev in continued)
    assert es.stats.completed >= 2 and es.stats.epochs_trained > 0
