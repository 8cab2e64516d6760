"""Shapes, parameters and FLOPs of a macro-space network, computed analytically (no torch).

:func:`plan` propagates channels and resolution through the effective network (the one that is
built) at a given width multiplier and depth limit; the PyTorch builder
(:mod:`nasarena.spaces.macro.network`) builds exactly this plan, and :func:`params_and_flops` counts
it with the rules of :mod:`nasarena.spaces.nb201_cost`: every trainable tensor (BatchNorm affine
included), and multiply-accumulates of convolutions, pooling windows (``k*k`` per output value) and
the classifier, for one image; BatchNorm, ReLU, additions, concatenation and the global average pool
are not counted. Tests compare both numbers with the built model (parameter count, torch's
``FlopCounterMode`` for convolutions and the classifier, forward hooks for pooling).

Layer costs (``k`` kernel, ``ci``/``co`` channels, ``h`` output resolution):

* ``convKxK`` / ``dil3x3``: ReLU-Conv(no bias)-BN: ``k*k*ci*co + 2*co`` params, ``h*h*k*k*ci*co`` MACs
  (dilation 2 keeps 9 taps);
* ``sepKxK``: ReLU, depthwise KxK, pointwise 1x1, BN: ``k*k*ci + ci*co + 2*co`` params,
  ``h*h*(k*k*ci + ci*co)`` MACs;
* pools: no params, ``h*h*c*9`` MACs; identity: nothing;
* residual projection of node j (channels ``cj``) to the sum's shape: 1x1 conv + BN, ``cj*c + 2*c``
  params, ``h*h*cj*c`` MACs; dense resampling by an ``f x f`` average pool: ``h*h*cj*f*f`` MACs.
"""

from __future__ import annotations

from dataclasses import dataclass

from nasarena.errors import ConfigError
from nasarena.spaces.macro.space import Layer, MacroSpace

KERNEL = {"conv3x3": 3, "conv5x5": 5, "sep3x3": 3, "sep5x5": 5, "dil3x3": 3, "maxpool3x3": 3, "avgpool3x3": 3}


def scaled(width: int, width_mult: float) -> int:
    """Channels of a nominal ``width`` at ``width_mult`` (rounded, at least 1)."""
    return max(1, int(round(width * width_mult)))


@dataclass(frozen=True)
class PlannedLayer:
    """A layer with its shapes. ``extras``: (node, channels, resolution) of each extra input."""

    layer: Layer
    c_prev: int
    hw_in: int
    c_in: int
    c_out: int
    hw_out: int
    extras: tuple[tuple[int, int, int], ...]


@dataclass(frozen=True)
class Plan:
    """The network to build: stem channels, input resolution, layers, final channels, classes."""

    connection: str
    stem: int
    resolution: int
    layers: tuple[PlannedLayer, ...]
    c_final: int
    num_classes: int


def check_resolution(space: MacroSpace, resolution: int) -> int:
    """Validate an input resolution: every allowed reduction must halve it exactly."""
    div = space.min_resolution_divisor
    if resolution < div or resolution % div:
        raise ConfigError(f"{space.name}: input resolution must be a positive multiple of {div} (the "
                          f"space allows {space.max_reductions} stride-2 layers), got {resolution}")
    return resolution


def plan(space: MacroSpace, arch: tuple[int, ...], num_classes: int = 10, resolution: int = 32,
         width_mult: float = 1.0, depth_limit: int | None = None) -> Plan:
    """Shapes of the effective network of ``arch``, keeping its first ``depth_limit`` built layers."""
    if num_classes < 1 or not width_mult > 0 or (depth_limit is not None and depth_limit < 0):
        raise ConfigError(f"{space.name}: num_classes >= 1, width_mult > 0 and depth_limit >= 0 are "
                          f"required; got {num_classes}, {width_mult}, {depth_limit}")
    check_resolution(space, resolution)
    layers = space.effective(space.validate(arch))
    if depth_limit is not None:
        layers = layers[:depth_limit]
    stem = scaled(space.stem_width, width_mult)
    shapes = [(stem, resolution)]  # (channels, resolution) of every node
    planned = []
    for layer in layers:
        c_prev, hw = shapes[-1]
        extras = tuple((j, *shapes[j]) for j in layer.inputs)
        c_in = c_prev + sum(c for _, c, _ in extras) if space.connection == "concat" else c_prev
        c_out = c_in if layer.width is None else scaled(layer.width, width_mult)
        hw_out = hw // layer.stride
        planned.append(PlannedLayer(layer, c_prev, hw, c_in, c_out, hw_out, extras))
        shapes.append((c_out, hw_out))
    return Plan(space.connection, stem, resolution, tuple(planned), shapes[-1][0], num_classes)


def _layer_cost(p: PlannedLayer, connection: str) -> tuple[int, int]:
    params = flops = 0
    for _, cj, hwj in p.extras:  # shape matching of the extra inputs (at the sum's resolution)
        if connection == "add" and (cj, hwj) != (p.c_prev, p.hw_in):
            params += cj * p.c_prev + 2 * p.c_prev
            flops += p.hw_in * p.hw_in * cj * p.c_prev
        elif connection == "concat" and hwj != p.hw_in:
            f = hwj // p.hw_in
            flops += p.hw_in * p.hw_in * cj * f * f
    op, ci, co, h = p.layer.op, p.c_in, p.c_out, p.hw_out
    if op in ("maxpool3x3", "avgpool3x3"):
        flops += h * h * ci * 9
    elif op.startswith("sep"):
        k2 = KERNEL[op] ** 2
        params += k2 * ci + ci * co + 2 * co
        flops += h * h * (k2 * ci + ci * co)
    elif op != "identity":
        k2 = KERNEL[op] ** 2
        params += k2 * ci * co + 2 * co
        flops += h * h * k2 * ci * co
    return params, flops


def plan_cost(p: Plan) -> tuple[int, int]:
    """(params, MACs) of a plan, in units."""
    params = 27 * p.stem + 2 * p.stem
    flops = p.resolution * p.resolution * 27 * p.stem
    for layer in p.layers:
        dp, df = _layer_cost(layer, p.connection)
        params, flops = params + dp, flops + df
    params += 2 * p.c_final + p.c_final * p.num_classes + p.num_classes
    flops += p.c_final * p.num_classes
    return params, flops


def params_and_flops(space: MacroSpace, arch: tuple[int, ...], num_classes: int = 10, resolution: int = 32,
                     width_mult: float = 1.0, depth_limit: int | None = None) -> tuple[float, float]:
    """(params in millions, MFLOPs) of ``arch``'s network (see the module docstring)."""
    params, flops = plan_cost(plan(space, arch, num_classes, resolution, width_mult, depth_limit))
    return params / 1e6, flops / 1e6


__all__ = ["KERNEL", "Plan", "PlannedLayer", "check_resolution", "params_and_flops", "plan", "plan_cost",
           "scaled"]
