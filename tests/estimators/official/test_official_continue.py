"""Continue on the official caches: the same run read at a later epoch, charged the increment (issue 9)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from nasarena.errors import DataError
from nasarena.estimators.base import CONTINUE, Fidelity
from nasarena.estimators.official import NATSSizeOracle, NB201Oracle

F = Fidelity


def _check_lineage(oracle: Any, api: Any, dataset: str, epochs: tuple[int, ...], full_hp: str) -> None:
    """fresh at epochs[0], continued up the ladder == fresh at each epoch from the same draw (exactly)."""
    assert CONTINUE in oracle.capabilities()
    for index in sorted(api.arch2infos_dict):
        arch = oracle.space.from_string(api.meta_archs[index])
        for draw in range(3):
            ev = oracle.evaluate(arch, F(epochs=epochs[0]), np.random.default_rng(draw))
            total = ev.cost
            for e in epochs[1:]:
                ev = oracle.evaluate(arch, F(epochs=e), np.random.default_rng(99), start=ev.handle)
                straight = oracle.evaluate(arch, F(epochs=e), np.random.default_rng(draw))
                total += ev.cost
                assert ev.ok and ev.score == straight.score and ev.extras["seed"] == straight.extras["seed"]
                assert ev.cost >= 0 and total == pytest.approx(straight.cost, rel=1e-12)
                assert ev.curve == straight.curve and len(ev.curve) == e
                iepoch = None if str(e) == full_hp.lstrip("0") else e - 1
                info = api.get_more_info(index, dataset, iepoch=iepoch, hp=full_hp,
                                         is_random=int(ev.extras["seed"]))
                assert ev.score == info["valid-accuracy"]  # the official per-epoch number of that seed


def test_nb201_continues_along_the_200_epoch_run(nb201_api: Any, nb201_cache: Path) -> None:
    oracle = NB201Oracle(dataset="cifar100", path=nb201_cache, epochs=(12, 50, 200), schedule="full")
    _check_lineage(oracle, nb201_api, "cifar100", (12, 50, 200), "200")


def test_nats_size_continues_along_the_90_epoch_run(sss_api: Any, sss_cache: Path) -> None:
    oracle = NATSSizeOracle(dataset="cifar10", path=sss_cache, epochs=(1, 12, 45, 90), schedule="full")
    _check_lineage(oracle, sss_api, "cifar10-valid", (1, 12, 45, 90), "90")


def test_own_short_schedules_are_other_trainings_so_no_continue(nb201_cache: Path) -> None:
    own = NB201Oracle(dataset="cifar100", path=nb201_cache, epochs=(12, 200))  # hp=12 is its own run
    assert "continue" not in own.capabilities() and "multi-fidelity" in own.capabilities()
    curve = NB201Oracle(dataset="cifar100", path=nb201_cache, epochs=(50, 200))  # both on the 200 run
    assert CONTINUE in curve.capabilities()
    arch = next(iter(own._lookup))
    ev = own.evaluate(arch, F(epochs=12), np.random.default_rng(0))
    with pytest.raises(DataError, match="same architecture and training schedule"):
        own.evaluate(arch, F(epochs=200), np.random.default_rng(0), start=ev.handle)


def test_hyperband_style_runs_refuse_warm_start_naming_live(nb201_cache: Path) -> None:
    from nasarena.bench.capabilities import check_capabilities
    from nasarena.errors import UnsupportedError

    oracle = NB201Oracle(dataset="cifar100", path=nb201_cache, epochs=(12, 200), schedule="full")
    with pytest.raises(UnsupportedError, match=r"requires 'warm-start'.*offered by 'live'"):
        check_capabilities("morph", frozenset({"warm-start"}), oracle)
