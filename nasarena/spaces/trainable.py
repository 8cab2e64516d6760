"""What a search space provides so that the live oracle can train it: size knobs, builder, cost model.

The live oracle and trainer know nothing about NB201 or any other space: a *trainable* space has

* ``size_knobs``: the fidelity knobs that change the network's size, with their full values
  (NB201: ``channels=16``, ``cells=5``; macro spaces: ``width_mult=1.0``, ``depth_limit`` = all
  layers; NATS-size: none, its architecture *is* the widths). Epochs, data fraction and input
  resolution are generic and stay in :class:`~nasarena.estimators.base.Fidelity`;
* ``build_model(arch, num_classes, resolution, size, generator)``: the PyTorch network, weights drawn
  from ``generator`` (torch is imported only here, so tabular use never pays for it);
* ``model_cost(arch, num_classes, resolution, size)``: (params in millions, MFLOPs), analytic;
* ``check_resolution(resolution)``: raise :class:`~nasarena.errors.ConfigError` if the network
  cannot take that input size;
* ``live_variant()``: a short string that joins the live cache key when the same string could name
  another network: "" for NB201 and NATS-size (their strings are unique, and every stored NB201 key
  stays valid), the space's name for the macro spaces (a residual and a dense string can be equal),
  plus a hash of a non-default configuration.

``size`` is always the full mapping from :func:`resolve_size` (every knob, full values filled in).
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from nasarena.errors import ConfigError
from nasarena.spaces.base import Arch, SearchSpace


@dataclass(frozen=True)
class SizeKnob:
    """One size knob of a space: name, int or float, value at the top fidelity, lower bound, meaning."""

    name: str
    kind: type
    full: int | float | None
    minimum: int | float
    help: str

    def coerce(self, space: str, value: Any) -> int | float | None:
        """``value`` as this knob's type, or a ConfigError naming the knob and its bounds."""
        if value is None:
            return self.full
        try:
            number = float(value)
            out: int | float = int(number) if self.kind is int else number
        except (TypeError, ValueError):
            number, out = math.nan, math.nan
        if (self.kind is int and number != out) or not out >= self.minimum or isinstance(value, bool):
            raise ConfigError(f"{space}: size knob {self.name} must be {self.kind.__name__} >= "
                              f"{self.minimum} ({self.help}), got {value!r}")
        return out


@runtime_checkable
class TrainableSpace(Protocol):
    """The methods a space implements to be trained live (see the module docstring)."""

    name: str
    size_knobs: tuple[SizeKnob, ...]

    def build_model(self, arch: Arch, num_classes: int, resolution: int, size: Mapping[str, Any],
                    generator: Any = None) -> Any: ...

    def model_cost(self, arch: Arch, num_classes: int, resolution: int,
                   size: Mapping[str, Any]) -> tuple[float, float]: ...

    def check_resolution(self, resolution: int) -> int: ...

    def live_variant(self) -> str: ...


def require_trainable(space: SearchSpace) -> TrainableSpace:
    """``space`` if it can be trained live, else a ConfigError naming the spaces that can."""
    if not isinstance(space, TrainableSpace):
        raise ConfigError(f"space {space.name!r} cannot be trained live (it has no model builder); "
                          f"live spaces: nb201, nats-sss, chain, residual, dense")
    return space


def resolve_size(space: TrainableSpace, given: Mapping[str, Any]) -> dict[str, Any]:
    """Every size knob of ``space``: the given values (coerced) over the full ones.

    An unknown knob name is a ConfigError listing the space's knobs.
    """
    knobs = {k.name: k for k in space.size_knobs}
    unknown = sorted(set(given) - set(knobs))
    if unknown:
        offered = ", ".join(f"{k.name} (full {k.full})" for k in space.size_knobs) or "none"
        raise ConfigError(f"space {space.name!r} has no size knob {', '.join(unknown)}; its knobs: {offered} "
                          f"(epochs, data_fraction and resolution work for every space)")
    return {name: knob.coerce(space.name, given.get(name)) for name, knob in knobs.items()}


def config_variant(space_name: str, config: Mapping[str, Any], default: Mapping[str, Any]) -> str:
    """"" for the default configuration, else ``<name>-<8 hex of the config>`` (for cache keys)."""
    if dict(config) == dict(default):
        return ""
    text = json.dumps(dict(config), sort_keys=True)
    return f"{space_name}-{hashlib.sha1(text.encode()).hexdigest()[:8]}"


__all__ = ["SizeKnob", "TrainableSpace", "config_variant", "require_trainable", "resolve_size"]
