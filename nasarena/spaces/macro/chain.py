"""``chain``: a plain sequence of 1..L layers (the survey's chain-structured space).

Node ``i`` is ``layer_i(node i-1)``; see :mod:`nasarena.spaces.macro.space` for the layer decisions,
the stride limit and the canonical form (identity layers vanish from it: a chain with an identity
layer is the same network as the chain without it).
"""

from __future__ import annotations

from nasarena.spaces.macro.space import MacroSpace


class ChainSpace(MacroSpace):
    """Chain-structured networks: depth, then per layer op, width and stride."""

    name = "chain"
    connection = "none"


__all__ = ["ChainSpace"]
