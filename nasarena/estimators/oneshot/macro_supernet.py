"""A weight-sharing supernet of the macro spaces ``chain`` and ``residual`` (one-shot models, issue 14).

Every network of the space is a sub-network of one set of weights, shared by **layer position and
channel slice** (as in slimmable networks and once-for-all supernets):

* per layer position ``i`` (1..L), one module per convolutional op (``conv3x3``, ``conv5x5``,
  ``sep3x3``, ``sep5x5``, ``dil3x3``) holding its weights at the largest width ``C`` (the largest of
  the scaled widths and the stem); an architecture's layer uses the slice ``[:c_out, :c_in]`` of
  them (a depthwise kernel: ``[:c_in]``). Pools and the identity have no weights;
* the stride is a forward argument (the same weights serve stride 1 and 2), and the depth decides
  how many positions are used: layers beyond it are skipped. An identity layer without extra inputs
  forwards its input (the space's effective network), so the next layer keeps its own position;
* ``residual``: per position ``i`` and earlier node ``j`` (of the effective network), one 1x1
  projection at ``C x C``, sliced ``[:c, :c_j]`` where the shapes differ (the stand-alone network's
  rule: identity where channels and resolution already match);
* every BatchNorm is without affine parameters and without running statistics (batch statistics in
  train and eval, the NB201 supernet's search default): no sampled network's statistics pollute
  another's; the stem is a 3x3 conv at the space's stem width, the head's linear layer is sliced by
  its input channels ``[:, :c_final]``.

A forward takes :class:`~nasarena.estimators.oneshot.supernet.Fixed` (one architecture) or, on
``chain``, :class:`~nasarena.estimators.oneshot.supernet.Hard` (GDAS: one sampled architecture with
straight-through weights per decision) or :class:`~nasarena.estimators.oneshot.supernet.Joint`
(``chain``: DARTS's relaxation, see :meth:`MacroSupernet._joint`; the stride is not mixed).
:meth:`MacroSupernet.extract` builds the stand-alone
:class:`~nasarena.spaces.macro.network.MacroNetwork` holding the sliced weights; the tests check
that both compute the same function (train mode, where the stand-alone BatchNorms use batch
statistics and have weight 1, bias 0). ``dense`` is not supported: its concatenated inputs have no
single largest width per position.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from nasarena.errors import ConfigError
from nasarena.estimators.oneshot.supernet import Fixed, Hard, Joint
from nasarena.spaces.base import Arch
from nasarena.spaces.macro.cost import KERNEL, Plan, PlannedLayer, plan, scaled
from nasarena.spaces.macro.network import MacroNetwork, build_network
from nasarena.spaces.macro.space import OPS, WIDTH_OPS, MacroSpace
from nasarena.spaces.nb201_torch import reset_parameters

CONV_OPS = ("conv3x3", "conv5x5", "dil3x3")
SEP_OPS = ("sep3x3", "sep5x5")
#: Macro spaces this supernet can hold (``dense`` concatenates: no largest width per position).
CONNECTIONS = ("none", "add")


def _bn(x: torch.Tensor) -> torch.Tensor:
    """BatchNorm with batch statistics, no affine parameters, no running statistics."""
    return F.batch_norm(x, None, None, training=True)


class SharedPosition(nn.Module):
    """The weights of one layer position at the largest width ``c`` (see the module docstring)."""

    def __init__(self, c: int, n_sources: int) -> None:
        super().__init__()
        self.conv = nn.ModuleDict(
            {op: nn.Conv2d(c, c, KERNEL[op], bias=False) for op in CONV_OPS}
        )
        self.sep = nn.ModuleDict(
            {
                op: nn.ModuleList(
                    [nn.Conv2d(c, c, KERNEL[op], groups=c, bias=False), nn.Conv2d(c, c, 1, bias=False)]
                )
                for op in SEP_OPS
            }
        )
        self.proj = nn.ModuleList(nn.Conv2d(c, c, 1, bias=False) for _ in range(n_sources))

    def op(self, p: PlannedLayer, x: torch.Tensor) -> torch.Tensor:
        """The layer's op on ``x`` (c_in channels) with the sliced weights, stride ``p.layer.stride``."""
        return self.apply(p.layer.op, p.c_in, p.c_out, p.layer.stride, x)

    def apply(self, op: str, ci: int, co: int, s: int, x: torch.Tensor) -> torch.Tensor:
        """``op`` on ``x`` (``ci`` channels) with the weights' slice ``[:co, :ci]``, stride ``s``."""
        if op == "identity":
            return x
        if op == "maxpool3x3":
            return F.max_pool2d(x, 3, stride=s, padding=1)
        if op == "avgpool3x3":
            return F.avg_pool2d(x, 3, stride=s, padding=1, count_include_pad=False)
        k = KERNEL[op]
        x = F.relu(x)
        if op in SEP_OPS:
            dw, pw = self.sep[op]
            x = F.conv2d(x, dw.weight[:ci], stride=s, padding=k // 2, groups=ci)
            return _bn(F.conv2d(x, pw.weight[:co, :ci]))
        d = 2 if op == "dil3x3" else 1
        return _bn(F.conv2d(x, self.conv[op].weight[:co, :ci], stride=s, padding=d * (k // 2), dilation=d))

    def match(self, p: PlannedLayer, j: int, cj: int, hwj: int, x: torch.Tensor) -> torch.Tensor:
        """Extra input node ``j`` (cj channels, hwj px) shaped like the preceding node (residual add)."""
        if (cj, hwj) == (p.c_prev, p.hw_in):
            return x
        return _bn(F.conv2d(x, self.proj[j].weight[: p.c_prev, :cj], stride=hwj // p.hw_in))


def _times(out: torch.Tensor, w: torch.Tensor, c: int) -> torch.Tensor:
    """``out`` times the chosen choice's weight ``w[c]`` plus the other choices' weights (GDAS's
    straight-through form: with ``w`` one-hot in value, value ``out``, gradient of the relaxed ``w``)."""
    return out * w[c] + (w.sum() - w[c])


def _straight_through(out: torch.Tensor, mode: Hard, decisions: Sequence[int]) -> torch.Tensor:
    """:func:`_times` for each of ``decisions`` with the sample's weights."""
    for k in decisions:
        out = _times(out, mode.weights[k], mode.index[k])
    return out


def _pad(x: torch.Tensor, c: int) -> torch.Tensor:
    """``x`` with zero channels appended up to ``c``."""
    return x if x.shape[1] == c else F.pad(x, (0, 0, 0, 0, 0, c - x.shape[1]))


def positions(space: MacroSpace, arch: Arch) -> list[int]:
    """The layer position (0-based) of each layer of ``arch``'s effective network."""
    return [
        i for i, layer in enumerate(space.layers(space.validate(arch)))
        if not (layer.op == "identity" and not layer.inputs)
    ]


class MacroSupernet(nn.Module):
    """The supernet of a ``chain`` or ``residual`` space at ``width_mult`` (see the module docstring)."""

    def __init__(self, space: MacroSpace, num_classes: int = 10, width_mult: float = 1.0) -> None:
        super().__init__()
        if space.connection not in CONNECTIONS:
            raise ConfigError(
                f"the macro supernet holds the chain and residual spaces, not {space.name!r} (its "
                f"concatenated inputs have no single largest width per layer)"
            )
        if num_classes < 1 or not width_mult > 0:
            raise ConfigError(f"macro supernet needs num_classes >= 1 and width_mult > 0, got "
                              f"{num_classes}, {width_mult}")
        self.space, self.num_classes, self.width_mult = space, int(num_classes), float(width_mult)
        self.stem_c = scaled(space.stem_width, width_mult)
        self.c = max(self.stem_c, *(scaled(w, width_mult) for w in space.widths))
        self.stem = nn.Conv2d(3, self.stem_c, 3, padding=1, bias=False)
        add = space.connection == "add"
        self.layers = nn.ModuleList(
            SharedPosition(self.c, i if add else 0) for i in range(space.max_layers)
        )
        self.classifier = nn.Linear(self.c, num_classes)
        self._plans: dict[tuple[Arch, int], tuple[Plan, list[int]]] = {}
        self._decision = {d.name: k for k, d in enumerate(space.decisions)}

    def plan_of(self, arch: Arch, resolution: int) -> tuple[Plan, list[int]]:
        """``arch``'s shapes at ``resolution`` and the position of each of its layers (memoised)."""
        key = (tuple(int(a) for a in arch), int(resolution))
        hit = self._plans.get(key)
        if hit is None:
            if len(self._plans) > 4096:  # bounded: a long search samples many architectures
                self._plans.clear()
            p = plan(self.space, key[0], self.num_classes, key[1], self.width_mult)
            hit = self._plans[key] = (p, positions(self.space, key[0]))
        return hit

    def forward(self, x: torch.Tensor, mode: Fixed | Hard | Joint) -> torch.Tensor:
        """Logits of ``x`` (N, 3, H, W) for the one architecture of ``mode``.

        :class:`Hard` (GDAS, ``chain`` only): the architecture ``mode.index``, each layer's output
        multiplied by the straight-through weights of its op, width and stride choices (value 1) plus
        the other choices' (value 0) weights, the pooled features likewise by the depth's: the same
        function, with a gradient for every decision of the network.
        """
        if isinstance(mode, Hard | Joint) and self.space.connection != "none":
            kind = "Gumbel" if isinstance(mode, Hard) else "joint"
            raise ConfigError(f"the {self.space.name} supernet has no {kind} mode (chain only)")
        if isinstance(mode, Joint):
            return self._joint(x, mode.weights)
        if isinstance(mode, Hard):
            arch: Arch = mode.index
        elif isinstance(mode, Fixed):
            arch = mode.arch
        else:
            raise ConfigError(
                f"the macro supernet computes Fixed, Hard or Joint (chain) forwards, not "
                f"{type(mode).__name__}"
            )
        p, where = self.plan_of(arch, x.shape[-1])
        nodes = [_bn(self.stem(x))]
        for pl, pos in zip(p.layers, where, strict=True):
            shared = self.layers[pos]
            h = nodes[-1]
            for j, cj, hwj in pl.extras:
                h = h + shared.match(pl, j, cj, hwj, nodes[j])
            out = shared.op(pl, h)
            if isinstance(mode, Hard):
                out = _straight_through(out, mode, self._layer_decisions(pos, pl))
            nodes.append(out)
        out = F.relu(_bn(nodes[-1]))
        out = torch.flatten(F.adaptive_avg_pool2d(out, 1), 1)
        if isinstance(mode, Hard):
            out = _straight_through(out, mode, (0,))  # the depth decision
        return F.linear(out, self.classifier.weight[:, : p.c_final], self.classifier.bias)

    def joint_strides(self, weights: torch.Tensor) -> list[int]:
        """The stride of every position in a joint forward (strides cannot be mixed: each stride
        changes the resolution): the argmax of its weights; 1 where the op's argmax is the identity
        (which cannot downsample, as in the space) or, front to back, once ``max_reductions``
        positions downsample."""
        out, left = [], self.space.max_reductions
        for i in range(1, self.space.max_layers + 1):
            s = 2 if int(weights[self._decision[f"stride{i}"], :2].argmax()) == 1 else 1
            if OPS[int(weights[self._decision[f"op{i}"], : len(OPS)].argmax())] == "identity" or not left:
                s = 1
            left -= 1 if s == 2 else 0
            out.append(s)
        return out

    def _joint(self, x: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
        """DARTS's relaxation on ``chain`` (``weights``: decisions x choices, rows summing to one).

        Every position runs, at the largest width ``C``: the op is the ``weights``-weighted sum of
        every candidate's output (pools and identity zero-padded to ``C``; the identity left out at
        stride 2, where it does not exist); the convolutions' sum is masked by the width weights
        (``sum_w p_w * [first w channels]``, FBNetV2's channel masking); the stride is the
        straight-through argmax of :meth:`joint_strides` (value: that stride, gradient of the
        softmax); the head reads the depth-weighted sum of the pooled features after each depth.
        With one-hot ``weights`` it is the network of those choices (tested).
        """
        c, dec = self.c, self._decision
        widths = torch.tensor([scaled(w, self.width_mult) for w in self.space.widths], device=x.device)
        masks = (torch.arange(c, device=x.device)[None, :] < widths[:, None]).to(x.dtype)
        h = _bn(self.stem(x))
        pooled = []
        for pos, s in enumerate(self.joint_strides(weights)):
            i, shared, ci = pos + 1, self.layers[pos], h.shape[1]
            w_op = weights[dec[f"op{i}"]]
            convs = sum(w_op[k] * shared.apply(op, ci, c, s, h)
                        for k, op in enumerate(OPS) if op in WIDTH_OPS)
            m = (weights[dec[f"width{i}"], : len(widths), None] * masks).sum(0)
            out = convs * m[None, :, None, None]
            for k, op in enumerate(OPS):
                if op not in WIDTH_OPS and (op != "identity" or s == 1):
                    out = out + w_op[k] * _pad(shared.apply(op, ci, ci, s, h), c)
            p = weights[dec[f"stride{i}"], :2]
            one_hot = torch.zeros_like(p)
            one_hot[s - 1] = 1.0
            h = _times(out, one_hot - p.detach() + p, s - 1)
            pooled.append(torch.flatten(F.adaptive_avg_pool2d(F.relu(_bn(h)), 1), 1))
        w_depth = weights[dec["depth"], : len(pooled)]
        features = sum(w * f for w, f in zip(w_depth, pooled, strict=True))
        return F.linear(features, self.classifier.weight, self.classifier.bias)  # type: ignore[arg-type]

    def _layer_decisions(self, pos: int, pl: PlannedLayer) -> tuple[int, ...]:
        """Indices of the active decisions of the layer at position ``pos``: op, width, stride."""
        i = pos + 1
        names = [f"op{i}"]
        if pl.layer.width is not None:
            names.append(f"width{i}")
        if pl.layer.op != "identity":
            names.append(f"stride{i}")
        return tuple(self._decision[n] for n in names)

    @torch.no_grad()
    def extract(self, arch: Arch, resolution: int) -> MacroNetwork:
        """The stand-alone network of ``arch`` (at ``resolution``) holding this supernet's sliced weights.

        Its BatchNorms keep weight 1, bias 0 and fresh running statistics: in train mode it computes
        the supernet's function of ``arch``; train it further, or score it.
        """
        p, where = self.plan_of(arch, resolution)
        net = build_network(self.space, tuple(arch), self.num_classes, resolution, self.width_mult,
                            generator=torch.Generator().manual_seed(0))
        net.stem[0].weight.copy_(self.stem.weight)
        for layer, pl, pos in zip(net.layers, p.layers, where, strict=True):
            shared: Any = self.layers[pos]
            for m, (j, cj, _) in zip(layer.match, pl.extras, strict=True):
                if isinstance(m, nn.Sequential):
                    m[0].weight.copy_(shared.proj[j].weight[: pl.c_prev, :cj])
            op, ci, co = pl.layer.op, pl.c_in, pl.c_out
            if op in CONV_OPS:
                layer.op[1].weight.copy_(shared.conv[op].weight[:co, :ci])
            elif op in SEP_OPS:
                layer.op[1].weight.copy_(shared.sep[op][0].weight[:ci])
                layer.op[2].weight.copy_(shared.sep[op][1].weight[:co, :ci])
        net.classifier.weight.copy_(self.classifier.weight[:, : p.c_final])
        net.classifier.bias.copy_(self.classifier.bias)
        return net


def build_macro_supernet(
    space: MacroSpace,
    num_classes: int = 10,
    width_mult: float = 1.0,
    generator: torch.Generator | None = None,
) -> MacroSupernet:
    """A macro supernet initialised from ``generator`` (PyTorch's default distributions at full width)."""
    with torch.device("meta"):  # no draw from torch's global generator
        net = MacroSupernet(space, num_classes, width_mult)
    net = net.to_empty(device="cpu")
    return reset_parameters(net, generator if generator is not None else torch.Generator().manual_seed(0))


__all__ = ["CONNECTIONS", "MacroSupernet", "SharedPosition", "build_macro_supernet", "positions"]
