"""A weight-sharing supernet of the NAS-Bench-201 cell space (one-shot models, issue 14).

Every NB201 architecture is a sub-network of one network whose cells carry, on each of the six
edges, all five candidate operations. The macro structure is the stand-alone network's
(:class:`~nasarena.spaces.nb201_torch.NB201Network`): stem, three stages of ``cells`` cells at C,
2C, 4C channels with ResNet reduction blocks, BN-ReLU, pooling, classifier. As in the NB201
authors' search models, one set of architecture parameters (6 x 5) is shared by every cell, and the
cell BatchNorms are by default ``affine=False, track_running_stats=False`` (their search script's
defaults): with batch statistics in train and eval, no running statistic of one sampled
architecture pollutes another's.

How a forward combines the candidates of an edge is a :class:`Mode`:

* :class:`Joint`: the softmax-weighted sum of all five ops (DARTS; SETN's architecture step);
* :class:`Hard`: one op per edge with a weight carrying the gradient (GDAS's straight-through
  Gumbel sample: value 1 on the chosen op, gradient of the relaxed softmax);
* :class:`Fixed`: exactly one architecture, unweighted (uniform sampling for RSPS, sampled
  architectures for SETN and ENAS, scoring candidates). ``none`` edges are skipped (they add zero).

:meth:`Supernet.extract` builds the stand-alone network of one architecture holding the supernet's
weights for that architecture; the tests check that both compute the same function.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from nasarena.errors import ConfigError
from nasarena.spaces.base import Arch
from nasarena.spaces.nb201 import EDGES, NONE, OPS
from nasarena.spaces.nb201_torch import NB201Network, macro_skeleton, make_op

N_EDGES, N_OPS = len(EDGES), len(OPS)


@dataclass(frozen=True)
class Joint:
    """Softmax-weighted mixture: ``weights`` is (6, 5), each row summing to one."""

    weights: torch.Tensor


@dataclass(frozen=True)
class Hard:
    """One op per edge (``index``, 6 longs); ``weights`` (6, 5) is one-hot in value, relaxed in gradient."""

    index: tuple[int, ...]
    weights: torch.Tensor


@dataclass(frozen=True)
class Fixed:
    """Exactly the architecture ``arch`` (six op indices), unweighted."""

    arch: Arch


Mode = Joint | Hard | Fixed


def _candidate(op: int, c: int, affine: bool, track: bool) -> nn.Module:
    """The stand-alone op's module with the supernet's BatchNorm setting (same state-dict names)."""
    module = make_op(op, c)
    if hasattr(module, "op"):  # ReLUConvBN: swap its BatchNorm for the configured one
        module.op[2] = nn.BatchNorm2d(c, affine=affine, track_running_stats=track)
    return module


class MixedEdge(nn.Module):
    """All five candidate ops of one edge, in the order of :data:`~nasarena.spaces.nb201.OPS`."""

    def __init__(self, c: int, affine: bool, track: bool) -> None:
        super().__init__()
        self.candidates = nn.ModuleList(_candidate(op, c, affine, track) for op in range(N_OPS))

    def mixed(self, x: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
        """Sum of every op weighted by ``weights`` (5,)."""
        return sum(w * op(x) for w, op in zip(weights, self.candidates, strict=True))  # type: ignore[return-value]

    def hard(self, x: torch.Tensor, index: int, weights: torch.Tensor) -> torch.Tensor:
        """Only op ``index`` is computed; the others add their (zero-valued) weights for the gradient."""
        out = weights[index] * self.candidates[index](x)
        rest = [weights[j] for j in range(N_OPS) if j != index]
        return out + sum(rest)


class SearchCell(nn.Module):
    """A NB201 cell with a :class:`MixedEdge` on every edge; node j sums its incoming edges."""

    def __init__(self, c: int, affine: bool, track: bool) -> None:
        super().__init__()
        self.edges = nn.ModuleList(MixedEdge(c, affine, track) for _ in EDGES)

    def forward(self, x: torch.Tensor, mode: Mode) -> torch.Tensor:
        """Evaluate the DAG under ``mode`` (edges in the official order)."""
        nodes = [x]
        k = 0
        for dst in (1, 2, 3):
            total: torch.Tensor | None = None
            for src in range(dst):
                term = self._edge(k, nodes[src], mode)
                k += 1
                if term is not None:
                    total = term if total is None else total + term
            nodes.append(torch.zeros_like(x) if total is None else total)
        return nodes[3]

    def _edge(self, k: int, x: torch.Tensor, mode: Mode) -> torch.Tensor | None:
        edge = self.edges[k]
        if isinstance(mode, Fixed):
            op = mode.arch[k]
            return None if op == NONE else edge.candidates[op](x)
        if isinstance(mode, Hard):
            return edge.hard(x, mode.index[k], mode.weights[k])
        return edge.mixed(x, mode.weights[k])


class Supernet(nn.Module):
    """The NB201 supernet (see the module docstring). ``cells`` per stage, ``channels`` C."""

    def __init__(
        self,
        num_classes: int = 10,
        channels: int = 16,
        cells: int = 5,
        *,
        affine: bool = False,
        track_running_stats: bool = False,
    ) -> None:
        super().__init__()
        if num_classes < 1 or channels < 1 or cells < 0:
            raise ConfigError(
                f"nb201 supernet needs num_classes >= 1, channels >= 1 and cells >= 0; got "
                f"{num_classes}, {channels}, {cells}"
            )
        self.num_classes, self.channels, self.n_cells = num_classes, channels, cells
        self.affine, self.track = affine, track_running_stats
        self.stem, layers, c = macro_skeleton(
            channels, cells, lambda c: SearchCell(c, affine, track_running_stats)
        )
        self.cells = nn.ModuleList(layers)
        self.lastact = nn.Sequential(nn.BatchNorm2d(c), nn.ReLU(inplace=True))
        self.global_pooling = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(c, num_classes)

    def forward(self, x: torch.Tensor, mode: Mode) -> torch.Tensor:
        """Logits of ``x`` (N, 3, H, W) with the cell edges combined as ``mode`` says."""
        out = self.stem(x)
        for layer in self.cells:
            out = layer(out, mode) if isinstance(layer, SearchCell) else layer(out)
        out = self.lastact(out)
        return self.classifier(torch.flatten(self.global_pooling(out), 1))

    def extract(self, arch: Arch) -> NB201Network:
        """The stand-alone NB201 network of ``arch`` holding this supernet's weights for it.

        Each cell edge takes the chosen candidate's parameters (and running statistics); with
        ``affine=False`` the stand-alone BatchNorms keep weight 1 and bias 0, which is the same
        function. The result is an ordinary network: train it further, or score it.
        """
        arch = tuple(int(a) for a in arch)
        net = NB201Network(arch, self.num_classes, self.channels, self.n_cells)
        ours = self.state_dict()
        theirs = net.state_dict()
        for name in theirs:
            source = _supernet_name(name, arch)
            if source in ours:
                theirs[name] = ours[source].clone()
        net.load_state_dict(theirs)
        return net


def _supernet_name(name: str, arch: Arch) -> str:
    """``cells.3.edges.2.op.1.weight`` (stand-alone) -> ``cells.3.edges.2.candidates.<op>.op.1.weight``."""
    parts = name.split(".")
    if len(parts) > 3 and parts[0] == "cells" and parts[2] == "edges":
        k = int(parts[3])
        return ".".join([*parts[:4], "candidates", str(arch[k]), *parts[4:]])
    return name


def build_supernet(
    num_classes: int = 10,
    channels: int = 16,
    cells: int = 5,
    *,
    affine: bool = False,
    track_running_stats: bool = False,
    generator: torch.Generator | None = None,
) -> Supernet:
    """A supernet, initialised from ``generator`` (PyTorch's default distributions) when given."""
    with torch.device("meta"):  # no draw from torch's global generator
        net = Supernet(num_classes, channels, cells, affine=affine, track_running_stats=track_running_stats)
    net = net.to_empty(device="cpu")
    gen = generator if generator is not None else torch.Generator().manual_seed(0)
    with torch.no_grad():
        for m in net.modules():
            if isinstance(m, nn.Conv2d | nn.Linear):
                nn.init.kaiming_uniform_(m.weight, a=math.sqrt(5), generator=gen)
                if m.bias is not None:
                    bound = 1.0 / math.sqrt(m.weight[0].numel())
                    nn.init.uniform_(m.bias, -bound, bound, generator=gen)
            elif isinstance(m, nn.BatchNorm2d):  # to_empty left its buffers and affine parameters unset
                if m.track_running_stats:
                    m.reset_running_stats()
                if m.affine:
                    nn.init.ones_(m.weight)
                    nn.init.zeros_(m.bias)
    return net


def gumbel_hard(alphas: torch.Tensor, tau: float, generator: torch.Generator) -> Hard:
    """GDAS's straight-through Gumbel-softmax sample of one op per edge from ``alphas`` (6, 5).

    ``weights`` = one-hot(argmax) - p.detach() + p with p = softmax((log_softmax(alphas) + g) / tau),
    g ~ Gumbel(0, 1): the forward uses exactly one op per edge, the backward the relaxed sample.
    """
    while True:
        u = torch.rand(alphas.shape, generator=generator, device=alphas.device).clamp_(1e-20, 1.0)
        g = -torch.log(-torch.log(u))
        probs = F.softmax((F.log_softmax(alphas, dim=-1) + g) / tau, dim=-1)
        if torch.isfinite(probs).all():
            break
    index = probs.argmax(dim=-1)
    one_hot = torch.zeros_like(probs).scatter_(-1, index.unsqueeze(-1), 1.0)
    return Hard(tuple(int(i) for i in index.tolist()), one_hot - probs.detach() + probs)


__all__ = [
    "N_EDGES",
    "N_OPS",
    "Fixed",
    "Hard",
    "Joint",
    "MixedEdge",
    "Mode",
    "SearchCell",
    "Supernet",
    "build_supernet",
    "gumbel_hard",
]
