"""Fidelity: one meaning of Fidelity() (the oracle's top fidelity) and an explicit cost order."""

from __future__ import annotations

import numpy as np
import pytest

from nasarena.estimators.base import FULL, Fidelity, Oracle, cheapest_first
from nasarena.registry import make_oracle


def test_comparisons_are_dominance_and_never_raise_on_missing_fields() -> None:
    narrow, short = Fidelity(epochs=12, channels=8), Fidelity(epochs=3)
    # which is cheaper depends on the network: neither is below the other (before: False one way, and
    # comparing a None field with a number raised TypeError)
    assert not narrow < short and not short < narrow and not narrow <= short and not narrow >= short
    assert Fidelity(epochs=3) < Fidelity(epochs=12) < FULL and FULL > Fidelity(data_fraction=0.5)
    assert Fidelity(epochs=3, channels=8) < Fidelity(epochs=3) and not Fidelity(epochs=3) < Fidelity(epochs=3)
    assert Fidelity(epochs=3) <= Fidelity(epochs=3) and Fidelity(epochs=None) >= Fidelity(epochs=200)
    assert not Fidelity(epochs=3) < Fidelity(data_fraction=0.5)  # full epochs vs full data: incomparable


def test_cheapest_first_orders_by_cost_then_fields_with_full_last() -> None:
    a, b, c = Fidelity(epochs=3, channels=8), Fidelity(epochs=3), Fidelity(epochs=12)
    assert cheapest_first([FULL, c, b, a, b]) == (a, b, c, FULL)
    # a cost decides between incomparable fidelities; Fidelity() stays the top whatever it costs
    assert cheapest_first([Fidelity(epochs=12, channels=8), b, FULL],
                          {Fidelity(epochs=12, channels=8): 1.0, b: 2.0, FULL: 0.5}) == \
        (Fidelity(epochs=12, channels=8), b, FULL)


class _Two(Oracle):
    name = "two"

    def __init__(self) -> None:
        self.fidelities = (Fidelity(epochs=12), Fidelity(epochs=200))


def test_check_fidelity_resolves_full_and_none_to_the_top() -> None:
    o = _Two()
    assert o.check_fidelity(None) == o.check_fidelity(FULL) == Fidelity(epochs=200)
    assert o.check_fidelity(Fidelity(epochs=12)) == Fidelity(epochs=12)


def test_tabular_oracles_evaluate_full_as_their_top_fidelity() -> None:
    oracle = make_oracle("nb201-lite", dataset="cifar10-valid")
    arch = oracle.space.from_index(123)
    top = oracle.evaluate(arch, oracle.fidelities[-1], np.random.default_rng(5))
    full = oracle.evaluate(arch, FULL, np.random.default_rng(5))
    assert full.score == top.score and full.cost == top.cost and full.fidelity == oracle.fidelities[-1]


@pytest.mark.parametrize("bad", [Fidelity(epochs=7)])
def test_a_fidelity_not_offered_is_one_clear_error(bad: Fidelity) -> None:
    from nasarena.errors import ConfigError

    with pytest.raises(ConfigError, match=r"offers fidelities \[epochs=12, epochs=200\]"):
        _Two().check_fidelity(bad)
