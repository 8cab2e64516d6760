"""GDAS (Dong & Yang, CVPR 2019): one Gumbel-sampled op per edge, straight-through gradients.

Weights and architecture logits are both trained through the same hard sample (one op per edge in
the forward, the relaxed softmax in the backward); tau falls linearly from ``tau_max`` = 10 in the
first epoch to ``tau_min`` = 0.1 in the last. The pick is the argmax per edge.
"""

from __future__ import annotations

from typing import ClassVar

from nasarena.strategies.oneshot.darts import ArgmaxPick


class GDAS(ArgmaxPick):
    """GDAS on the supernet (see the module docstring)."""

    name: ClassVar[str] = "gdas"
    method: ClassVar[str] = "gdas"


__all__ = ["GDAS"]
