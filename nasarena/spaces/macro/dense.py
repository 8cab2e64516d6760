"""``dense``: per layer, which earlier nodes are *concatenated* to its input (DenseNet-like).

Layer ``i``'s input is ``concat(node[i-1], R_j(node[j]) for the chosen j < i-1)`` along channels,
where ``R_j`` is a ``2**k x 2**k`` average pool (stride ``2**k``) when node ``j`` has a ``2**k`` times
larger resolution (DenseNet's transitions pool the same way), else the identity. Input channels are
the sum of the concatenated nodes' channels; a pool or identity layer passes them all on.
"""

from __future__ import annotations

from nasarena.spaces.macro.space import MacroSpace


class DenseSpace(MacroSpace):
    """Chain + concatenated inputs from any subset of earlier nodes."""

    name = "dense"
    connection = "concat"
    connection_prefix = "in"


__all__ = ["DenseSpace"]
