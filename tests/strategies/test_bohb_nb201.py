"""``bohb-nb201``: BOHB over nominal budgets that all go to the oracle's one fidelity."""

from __future__ import annotations

import numpy as np
import pytest

from nasarena import make_oracle
from nasarena.errors import ConfigError, StrategyError
from nasarena.estimators.base import Fidelity
from nasarena.strategies.bohb import BOHB
from nasarena.strategies.bohb_nb201 import NB201_BUDGETS, NominalBudgetBOHB

KW = {"n_samples": 4, "random_fraction": 0.0, "bandwidth_factor": 3.0, "min_bandwidth": 0.3,
      "bandwidth_rule": "normal_reference"}


def test_same_trajectory_as_bohb_whose_budgets_are_ignored() -> None:
    """Equal to plain BOHB over the nominal rungs when every rung gets the 12-epoch result."""
    oracle = make_oracle("nb201-12ep")
    wrapped = NominalBudgetBOHB(oracle.space, np.random.default_rng(3), oracle.fidelities, **KW)
    nominal = tuple(Fidelity(epochs=b) for b in NB201_BUDGETS)
    plain = BOHB(oracle.space, np.random.default_rng(3), nominal, **KW)
    seen, fids = [], set()
    for _ in range(120):
        p, q = wrapped.ask(), plain.ask()
        assert p.arch == q.arch and p.fidelity == oracle.fidelities[0] and q.fidelity in nominal
        fids.add(q.fidelity)
        e = oracle.evaluate(p.arch, p.fidelity, np.random.default_rng(0))
        wrapped.tell(p, e)
        plain.tell(q, e)
        seen.append(p.arch)
    assert fids == set(nominal)  # promotions happened ...
    assert len(set(seen)) < len(seen)  # ... and re-paid a full 12-epoch evaluation each
    assert wrapped.config()["fidelities"] == [f"nominal epochs={b}" for b in NB201_BUDGETS]


def test_bad_budgets_and_unknown_tells() -> None:
    oracle = make_oracle("nb201-12ep")
    for budgets in ((12,), (67, 22), (0, 5), (1.5, 3)):
        with pytest.raises(ConfigError, match="budgets"):
            NominalBudgetBOHB(oracle.space, np.random.default_rng(0), oracle.fidelities, budgets=budgets)
    s = NominalBudgetBOHB(oracle.space, np.random.default_rng(0), oracle.fidelities)
    p = s.ask()
    e = oracle.evaluate(p.arch, p.fidelity, np.random.default_rng(0))
    s.tell(p, e)
    with pytest.raises(StrategyError, match="not outstanding"):
        s.tell(p, e)
