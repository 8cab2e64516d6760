"""Every registered strategy passes the strategy conformance suite on each macro space, unchanged.

The spaces are the registered ones with ``max_layers=3`` (same decisions per layer, fewer layers) to
keep the suite fast; ``NASARENA_MACRO_LAYERS=6`` runs the default 6-layer spaces (about two minutes
on one core):

    NASARENA_MACRO_LAYERS=6 pytest tests/spaces/test_macro_strategies.py
"""

from __future__ import annotations

import os

import pytest

from nasarena.errors import NasarenaError
from nasarena.registry import STRATEGIES, make_space
from nasarena.strategies.conformance import check_strategy

FAMILY_MEMBERS = {"optuna": "optuna:tpe"}
MAX_LAYERS = int(os.environ.get("NASARENA_MACRO_LAYERS", "3"))


def concrete(name: str) -> str:
    """A registered name, or one member of a ``prefix:<argument>`` family."""
    if ":<" in name:
        prefix = name.split(":<", 1)[0]
        return FAMILY_MEMBERS.get(prefix, f"{prefix}:random")
    return name


CASES = [pytest.param(concrete(s), space, id=f"{concrete(s)}-{space}")
         for s in STRATEGIES.names() for space in ("chain", "residual", "dense")]


@pytest.mark.parametrize(("strategy", "space"), CASES)
def test_strategy_conforms_on_macro_space(strategy: str, space: str) -> None:
    try:
        STRATEGIES.resolve(strategy)
    except (NasarenaError, ImportError) as exc:
        pytest.skip(f"{strategy!r} does not resolve: {exc}")
    check_strategy(strategy, make_space(space, max_layers=MAX_LAYERS))
