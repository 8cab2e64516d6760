"""Sizes and counts of every strategy are checked by one helper, with one message shape."""

from __future__ import annotations

import numpy as np
import pytest

from nasarena.errors import ConfigError
from nasarena.registry import STRATEGIES
from nasarena.spaces.nb201 import NB201Space
from nasarena.strategies.base import positive_int


@pytest.mark.parametrize("value", [0, -3, True, 1.5, "2"])
def test_positive_int_refuses_what_is_not_an_int_of_at_least_one(value: object) -> None:
    with pytest.raises(ConfigError, match=r"^s: n must be an int >= 1, got "):
        positive_int("s", "n", value)


def test_positive_int_returns_the_value() -> None:
    assert positive_int("s", "n", 7) == 7


@pytest.mark.parametrize(("name", "kwargs"), [
    ("regularized-evolution", {"population_size": 0}),
    ("reinforce-lstm", {"hidden_size": True}),
    ("nash", {"n_morphs": 1.5}),
    ("lemonade", {"n_init": 0}),
])
def test_strategies_name_themselves_and_the_bad_size(name: str, kwargs: dict) -> None:
    (key, value), = kwargs.items()
    with pytest.raises(ConfigError, match=rf"^{name}: {key} must be an int >= 1, got {value!r}$"):
        STRATEGIES.resolve(name)(space=NB201Space(), rng=np.random.default_rng(0), **kwargs)
