"""Every registered strategy passes the strategy conformance suite on the macro spaces, unchanged.

By default each strategy is checked on one macro space (assigned in turn, so every space gets a
third of the strategies) at ``max_layers=3`` (same decisions per layer, fewer layers), which keeps
the suite fast. ``NASARENA_MACRO_FULL=1`` checks every strategy on every space at the default six
layers (a few minutes on one core):

    NASARENA_MACRO_FULL=1 pytest tests/spaces/test_macro_strategies.py
"""

from __future__ import annotations

import os

import pytest

from nasarena.errors import NasarenaError
from nasarena.registry import STRATEGIES, make_space
from nasarena.strategies.conformance import check_strategy

FAMILY_MEMBERS = {"optuna": "optuna:tpe"}
FULL = os.environ.get("NASARENA_MACRO_FULL", "") not in ("", "0")
MAX_LAYERS = 6 if FULL else 3
SPACES = ("chain", "residual", "dense")


def concrete(name: str) -> str:
    """A registered name, or one member of a ``prefix:<argument>`` family."""
    if ":<" in name:
        prefix = name.split(":<", 1)[0]
        return FAMILY_MEMBERS.get(prefix, f"{prefix}:random")
    return name


CASES = [pytest.param(concrete(s), space, id=f"{concrete(s)}-{space}")
         for i, s in enumerate(STRATEGIES.names())
         for space in (SPACES if FULL else SPACES[i % 3:i % 3 + 1])]


@pytest.mark.parametrize(("strategy", "space"), CASES)
def test_strategy_conforms_on_macro_space(strategy: str, space: str) -> None:
    try:
        STRATEGIES.resolve(strategy)
    except (NasarenaError, ImportError) as exc:
        pytest.skip(f"{strategy!r} does not resolve: {exc}")
    check_strategy(strategy, make_space(space, max_layers=MAX_LAYERS))
