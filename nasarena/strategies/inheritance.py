"""The ``warm_start`` option of mutation-based strategies: children start from their parent's weights.

With ``warm_start=True`` a strategy proposes each mutated child as a warm start from the proposal
it was mutated from (``Strategy.warm_start(child, parent)``, kind ``"warm-start"``): on the live
oracle the child inherits its parent's trained weights, through a network morphism where one
exists (docs/inheritance.md). The strategy then *requires* the ``warm-start`` capability, so the
runner refuses an oracle without it before any work. Off (the default), nothing changes: the same
proposals, the same random numbers, the same ``requires`` and the same ``config()`` as before the
option existed, so stored trajectories and run fingerprints stay valid.
"""

from __future__ import annotations

from typing import Any

from nasarena.errors import ConfigError
from nasarena.estimators.base import WARM_START


def warm_start_option(strategy: Any, value: Any) -> bool:
    """Validate ``value`` (a bool), and when on, add ``warm-start`` to ``strategy.requires``."""
    if not isinstance(value, bool):
        raise ConfigError(f"{strategy.name}: warm_start must be true or false, got {value!r}")
    if value:
        strategy.requires = frozenset(strategy.requires) | {WARM_START}
    return value


def warm_start_config(on: bool) -> dict[str, Any]:
    """The run record's entry: ``{"warm_start": True}`` when on, nothing when off (unchanged config)."""
    return {"warm_start": True} if on else {}


__all__ = ["warm_start_config", "warm_start_option"]
