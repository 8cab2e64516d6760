"""Macro (whole-network) search spaces: ``chain``, ``residual`` and ``dense`` (see :mod:`.space`)."""

from nasarena.spaces.macro.chain import ChainSpace
from nasarena.spaces.macro.dense import DenseSpace
from nasarena.spaces.macro.residual import ResidualSpace
from nasarena.spaces.macro.space import OPS, Layer, MacroSpace

__all__ = ["OPS", "ChainSpace", "DenseSpace", "Layer", "MacroSpace", "ResidualSpace"]
