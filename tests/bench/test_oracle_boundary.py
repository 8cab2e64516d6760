"""The oracle boundary: invalid architectures get the space's error; a run refuses an oracle that is
not the one its config names."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from nasarena.bench.config import Budget, RunConfig
from nasarena.bench.runner import run
from nasarena.errors import ConfigError, InvalidArchitectureError
from nasarena.registry import make_oracle

FAKES = str(Path(__file__).with_name("_fakes.py"))


@pytest.fixture(scope="module")
def lite():
    return make_oracle("nb201-lite", dataset="cifar10-valid")


@pytest.mark.parametrize("arch", [(0, 1, 2, 3, 4, 5), (9,) * 6, (0,) * 7, (0, 0, 0, 0, 0, -1), "|none~0|"])
def test_nb201_lite_rejects_what_is_not_an_architecture(lite, arch):
    with pytest.raises(InvalidArchitectureError, match="nb201"):
        lite.evaluate(arch, None, np.random.default_rng(0))


def test_nb201_lite_accepts_lists_and_numpy_ints_as_the_same_architecture(lite):
    a = lite.evaluate((0, 1, 2, 3, 4, 0), None, np.random.default_rng(0))
    b = lite.evaluate([0, 1, 2, 3, 4, np.int64(0)], None, np.random.default_rng(0))
    assert a.score == b.score and b.arch == (0, 1, 2, 3, 4, 0)


def test_table_oracle_rejects_an_invalid_architecture_even_when_missing_rows_fail(tmp_path):
    from nasarena.spaces.nb201 import NB201Space

    space = NB201Space()
    archs = [space.to_string(space.from_index(i)) for i in range(5)]
    path = tmp_path / "t.parquet"
    pd.DataFrame({"arch": archs, "score": [80.0] * 5, "cost": [1.0] * 5}).to_parquet(path)
    oracle = make_oracle("table", path=str(path), on_missing="fail")
    with pytest.raises(InvalidArchitectureError):
        oracle.evaluate((0, 1, 2, 3, 4, 5), None, np.random.default_rng(0))
    assert not oracle.evaluate(space.from_index(100), None, np.random.default_rng(0)).ok  # a valid miss


def _cfg(**over) -> RunConfig:
    kw = dict(strategy=f"{FAKES}:Sampler", strategy_kwargs={}, oracle="nb201-lite",
              oracle_kwargs={"dataset": "cifar10-valid"}, seed=0, budget=Budget(max_evals=3))
    kw.update(over)
    return RunConfig(**kw)


def test_run_refuses_an_oracle_other_than_the_config_names(lite):
    with pytest.raises(ConfigError, match="dataset 'cifar100'.*cifar10-valid"):
        run(_cfg(oracle_kwargs={"dataset": "cifar100"}), oracle=lite)
    with pytest.raises(ConfigError, match="test_table"):
        run(_cfg(oracle_kwargs={"dataset": "cifar10-valid", "test_table": "x.csv"}), oracle=lite)
    with pytest.raises(ConfigError, match="TwoFidelityOracle"):
        run(_cfg(oracle=f"{FAKES}:TwoFidelityOracle", oracle_kwargs={}), oracle=lite)
    assert run(_cfg(), oracle=lite).ok  # the matching oracle is reused as before
    assert run(_cfg(oracle_kwargs={}), oracle=lite).ok  # the oracle's default dataset
