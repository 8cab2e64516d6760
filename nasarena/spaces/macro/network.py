"""PyTorch builder of macro-space networks: builds exactly the :class:`~.cost.Plan` that is counted.

Ops are pre-activation like NAS-Bench-201's (ReLU-Conv(no bias)-BN); the stem is a 3x3 conv + BN and
the head BN-ReLU, global average pooling and a linear classifier. Weights are initialised from an
explicit ``torch.Generator`` with :func:`nasarena.spaces.nb201_torch.reset_parameters` (PyTorch's
default distributions), so a training is reproducible without torch's global random state.
"""

from __future__ import annotations

import torch
from torch import nn

from nasarena.spaces.macro.cost import KERNEL, Plan, PlannedLayer, plan
from nasarena.spaces.macro.space import MacroSpace
from nasarena.spaces.nb201_torch import reset_parameters


def make_op(p: PlannedLayer) -> nn.Module:
    """The module of one layer's op, from its planned shapes."""
    op, ci, co, s = p.layer.op, p.c_in, p.c_out, p.layer.stride
    if op == "identity":
        return nn.Identity()
    k = KERNEL[op]
    if op == "maxpool3x3":
        return nn.MaxPool2d(3, stride=s, padding=1)
    if op == "avgpool3x3":
        return nn.AvgPool2d(3, stride=s, padding=1, count_include_pad=False)
    if op.startswith("sep"):
        return nn.Sequential(nn.ReLU(), nn.Conv2d(ci, ci, k, stride=s, padding=k // 2, groups=ci, bias=False),
                             nn.Conv2d(ci, co, 1, bias=False), nn.BatchNorm2d(co))
    dilation = 2 if op.startswith("dil") else 1
    return nn.Sequential(nn.ReLU(), nn.Conv2d(ci, co, k, stride=s, padding=dilation * (k // 2),
                                              dilation=dilation, bias=False), nn.BatchNorm2d(co))


def make_match(p: PlannedLayer, connection: str, cj: int, hwj: int) -> nn.Module:
    """Shape matching of one extra input: a 1x1 projection (add) or an average pool (concat)."""
    f = hwj // p.hw_in
    if connection == "add" and (cj, hwj) != (p.c_prev, p.hw_in):
        return nn.Sequential(nn.Conv2d(cj, p.c_prev, 1, stride=f, bias=False), nn.BatchNorm2d(p.c_prev))
    if connection == "concat" and f > 1:
        return nn.AvgPool2d(f, stride=f)
    return nn.Identity()


class MacroLayer(nn.Module):
    """Combine the preceding node with the extra inputs (sum or concat), then apply the op."""

    def __init__(self, p: PlannedLayer, connection: str) -> None:
        super().__init__()
        self.inputs = tuple(j for j, _, _ in p.extras)
        self.concat = connection == "concat"
        self.match = nn.ModuleList(make_match(p, connection, cj, hwj) for _, cj, hwj in p.extras)
        self.op = make_op(p)

    def forward(self, nodes: list[torch.Tensor]) -> torch.Tensor:
        """Output of this layer given all earlier nodes (node 0 = stem output)."""
        x = nodes[-1]
        if self.inputs:
            extra = [m(nodes[j]) for j, m in zip(self.inputs, self.match, strict=True)]
            x = torch.cat([x, *extra], dim=1) if self.concat else sum(extra, x)
        return self.op(x)


class MacroNetwork(nn.Module):
    """Stem, the planned layers, BN-ReLU, global average pooling, linear classifier."""

    def __init__(self, p: Plan) -> None:
        super().__init__()
        self.plan = p
        self.stem = nn.Sequential(nn.Conv2d(3, p.stem, 3, padding=1, bias=False), nn.BatchNorm2d(p.stem))
        self.layers = nn.ModuleList(MacroLayer(layer, p.connection) for layer in p.layers)
        self.lastact = nn.Sequential(nn.BatchNorm2d(p.c_final), nn.ReLU())
        self.global_pooling = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(p.c_final, p.num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits for a batch of images (N, 3, H, W) at the planned resolution."""
        nodes = [self.stem(x)]
        for layer in self.layers:
            nodes.append(layer(nodes))
        out = self.lastact(nodes[-1])
        return self.classifier(torch.flatten(self.global_pooling(out), 1))


def build_network(space: MacroSpace, arch: tuple[int, ...], num_classes: int = 10, resolution: int = 32,
                  width_mult: float = 1.0, depth_limit: int | None = None,
                  generator: torch.Generator | None = None) -> MacroNetwork:
    """Build ``arch``'s network; with ``generator``, initialise its weights from it."""
    model = MacroNetwork(plan(space, arch, num_classes, resolution, width_mult, depth_limit))
    if generator is not None:
        reset_parameters(model, generator)
    return model


__all__ = ["MacroLayer", "MacroNetwork", "build_network", "make_match", "make_op"]
