"""``residual``: the chain plus, per layer, which earlier nodes are *added* to its input (ResNet-like).

Layer ``i``'s input is ``node[i-1] + sum(P_j(node[j]) for the chosen j < i-1)``. ``P_j`` matches
shapes: the identity when node ``j`` already has node ``i-1``'s channels and resolution, otherwise a
1x1 convolution (no bias) with stride ``2**k`` (``k`` = the reductions between them) followed by
BatchNorm (ResNet's projection shortcut, "option B"). The op is then applied to the sum; an identity
layer with extra inputs is a pure sum node.
"""

from __future__ import annotations

from nasarena.spaces.macro.space import MacroSpace


class ResidualSpace(MacroSpace):
    """Chain + additive skip connections from any earlier node (1x1 projections where shapes differ)."""

    name = "residual"
    connection = "add"
    connection_prefix = "skip"


__all__ = ["ResidualSpace"]
