"""The table oracle continues a per-epoch table's rows: same seed, charged the cost beyond the start."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from nasarena.errors import ConfigError
from nasarena.estimators.base import CONTINUE, Fidelity
from nasarena.estimators.table import TableOracle
from nasarena.spaces.nb201 import NB201Space

ARCHS = [(0, 1, 2, 3, 4, 0), (1, 1, 1, 1, 1, 1)]


def per_epoch_table(path, curve_column: bool = True):
    space = NB201Space()
    rows = []
    for a, arch in enumerate(ARCHS):
        for seed in (0, 1):
            curve = [10.0 + 10 * a + 5 * seed + 3 * e for e in range(3)]
            for e in (1, 2, 3):
                rows.append({"arch": space.to_string(arch), "fidelity": f"epochs={e}", "seed": seed,
                             "score": curve[e - 1], "cost": 4.0 * e + seed, "curve": curve[:e]})
    frame = pd.DataFrame(rows)
    if not curve_column:
        frame = frame.drop(columns="curve")
    frame.to_parquet(path)
    return TableOracle(path, restrict_space=True)


def test_continue_equals_the_same_seed_uninterrupted_and_costs_the_increment(tmp_path):
    oracle = per_epoch_table(tmp_path / "t.parquet")
    assert CONTINUE in oracle.capabilities()
    rng = np.random.default_rng(0)
    for arch in ARCHS:
        first = oracle.evaluate(arch, Fidelity(epochs=1), rng)
        more = oracle.evaluate(arch, Fidelity(epochs=3), rng, start=first.handle)
        seed = first.extras["seed"]
        assert more.extras["seed"] == seed
        assert more.curve[:1] == first.curve and len(more.curve) == 3
        assert more.cost == pytest.approx((4.0 * 3 + seed) - (4.0 + seed))
        again = oracle.evaluate(arch, Fidelity(epochs=2), rng, start=first.handle)
        last = oracle.evaluate(arch, Fidelity(epochs=3), rng, start=again.handle)
        assert last.score == more.score and again.cost + last.cost == pytest.approx(more.cost)


def test_continue_is_refused_where_it_cannot_be_exact(tmp_path):
    plain = per_epoch_table(tmp_path / "p.parquet", curve_column=False)
    assert CONTINUE not in plain.capabilities()
    oracle = per_epoch_table(tmp_path / "t.parquet")
    rng = np.random.default_rng(0)
    ev = oracle.evaluate(ARCHS[0], Fidelity(epochs=2), rng)
    with pytest.raises(ConfigError, match="more epochs"):
        oracle.evaluate(ARCHS[0], Fidelity(epochs=1), rng, start=ev.handle)
    with pytest.raises(ConfigError, match="same architecture"):
        oracle.evaluate(ARCHS[1], Fidelity(epochs=3), rng, start=ev.handle)
