"""Measure a built PyTorch model's size and compute: the reference the analytic cost models are tested on."""

from __future__ import annotations

import torch
from torch import nn


def measured_macs(model: nn.Module, resolution: int) -> int:
    """MACs of one forward pass of one image, measured on the model's modules and real output shapes.

    Forward hooks count, per output value, ``in_channels / groups * kh * kw`` for a convolution,
    ``in_features`` per output of a linear layer, and ``k * k`` window reads for a pooling layer;
    BatchNorm, activations, additions and the global average pool are not counted (the rules of
    :mod:`nasarena.spaces.nb201_cost`). It knows nothing about any space's plan, which is why the
    analytic counts of the trainable spaces (``model_cost``) are tested against it.
    """
    total = [0]

    def hook(module: nn.Module, _inputs: object, out: torch.Tensor) -> None:
        if isinstance(module, nn.Conv2d):
            kh, kw = module.kernel_size
            total[0] += out.numel() * module.in_channels // module.groups * kh * kw
        elif isinstance(module, nn.Linear):
            total[0] += out.numel() * module.in_features
        else:
            k = module.kernel_size if isinstance(module.kernel_size, int) else module.kernel_size[0]
            total[0] += out.numel() * k * k

    kinds = (nn.Conv2d, nn.Linear, nn.MaxPool2d, nn.AvgPool2d)
    handles = [m.register_forward_hook(hook) for m in model.modules() if isinstance(m, kinds)]
    was_training = model.training
    try:
        with torch.no_grad():
            model.eval()(torch.zeros(1, 3, resolution, resolution))
    finally:
        for h in handles:
            h.remove()
        model.train(was_training)
    return total[0]


def count_parameters(model: nn.Module) -> int:
    """Number of trainable scalars (what NB201's ``model_size`` counts, in units, not millions)."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


__all__ = ["count_parameters", "measured_macs"]
