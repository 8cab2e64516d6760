"""The macro (whole-network) search spaces shared skeleton: layers with conditional decisions.

A network is a 3x3 conv stem, then 1..L layers, then BN-ReLU, global average pooling and a linear
head. Layer ``i`` (1-based; node 0 is the stem's output, node ``i`` layer ``i``'s output) has

* an operation from :data:`OPS` (3x3 / 5x5 conv, 3x3 / 5x5 depthwise-separable conv, 3x3 conv with
  dilation 2, 3x3 max / avg pool, identity);
* a width (output channels) from ``widths`` -- active only for the convolutions, since a pool or
  the identity keeps its input's channels;
* a stride, 1 or 2 -- active for every op except the identity (which cannot downsample). At most
  ``max_reductions`` active strides may be 2 (:meth:`MacroSpace.is_valid`), and input resolutions must
  be divisible by ``2 ** max_reductions`` so every shape is exact;
* in the multi-branch spaces, for every earlier node ``j < i - 1``, whether node ``j`` is an extra
  input (the immediately preceding node always is): added (``residual``) or concatenated (``dense``).

Decisions are laid out as ``depth`` followed by each layer's group (op, width, stride, then its
connections), so sequential controllers (REINFORCE-LSTM) emit a network front to back. Everything
about layer ``i > depth`` is inactive (see :mod:`nasarena.spaces.base` for why a tuple keeps
dormant values rather than rejecting them).

**Canonical form.** :meth:`MacroSpace.effective` is the network that is actually built: inactive
decisions are gone, and an identity layer without extra inputs is gone too (it forwards its input, so
later references to it are references to the node it forwards). Its string is the canonical form, so
two tuples with the same canonical form build the same modules in the same order (and, from the same
weight generator, the same function); :meth:`MacroSpace.to_string` keeps the identities so that it
round-trips to the normalised tuple. Extra inputs are a multiset: ``x + x`` is not ``x``.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from nasarena.errors import ConfigError, InvalidArchitectureError
from nasarena.spaces.base import Arch, Decision, SearchSpace
from nasarena.spaces.trainable import SizeKnob, config_variant

OPS: tuple[str, ...] = ("conv3x3", "conv5x5", "sep3x3", "sep5x5", "dil3x3", "maxpool3x3", "avgpool3x3",
                        "identity")
#: Ops whose width decision is active (they map channels); the others keep their input's channels.
WIDTH_OPS = frozenset({"conv3x3", "conv5x5", "sep3x3", "sep5x5", "dil3x3"})
IDENTITY = OPS.index("identity")
STRIDES: tuple[int, ...] = (1, 2)
#: How a layer combines its extra inputs with the preceding node.
CONNECTIONS = ("none", "add", "concat")


@dataclass(frozen=True)
class Layer:
    """One built layer. ``width`` is None when the op keeps its input's channels; ``inputs`` are the
    extra input nodes (ascending, repeats allowed) besides the preceding node ``index - 1``."""

    op: str
    width: int | None
    stride: int
    inputs: tuple[int, ...] = ()

    def token(self) -> str:
        """``op[:width][:s<stride>][+j...]``, e.g. ``sep5x5:64:s2+0`` or ``identity+1``."""
        parts = [self.op]
        if self.width is not None:
            parts.append(str(self.width))
        if self.op != "identity":
            parts.append(f"s{self.stride}")
        return ":".join(parts) + "".join(f"+{j}" for j in self.inputs)


class MacroSpace(SearchSpace):
    """Base class of ``chain``, ``residual`` and ``dense`` (see the module docstring).

    ``max_layers`` (L), ``widths`` (nominal output channels, scaled by a width multiplier when
    trained), ``max_reductions`` (stride-2 layers allowed) and ``stem_width`` define the space.
    """

    conditional = True
    connection: str = "none"
    connection_prefix: str = ""
    #: Live-training size knobs (:mod:`nasarena.spaces.trainable`).
    size_knobs = (SizeKnob("width_mult", float, 1.0, 1e-3, "multiplier of every width, stem included"),
                  SizeKnob("depth_limit", int, None, 0, "keep only the first N built layers"))
    #: The size of the live oracle's CPU smoke fidelities on the generated dataset.
    cpu_size = {"width_mult": 0.5}

    def __init__(self, max_layers: int = 6, widths: Sequence[int] = (16, 32, 64), max_reductions: int = 2,
                 stem_width: int = 16) -> None:
        widths = tuple(int(w) for w in widths)
        if int(max_layers) < 1 or not widths or min(widths) < 1 or len(set(widths)) != len(widths):
            raise ConfigError(f"{self.name}: max_layers >= 1 and distinct positive widths are required, got "
                              f"max_layers={max_layers!r}, widths={widths!r}")
        if int(max_reductions) < 0 or int(stem_width) < 1:
            raise ConfigError(f"{self.name}: max_reductions >= 0 and stem_width >= 1 are required")
        self.max_layers, self.widths = int(max_layers), widths
        self.max_reductions, self.stem_width = int(max_reductions), int(stem_width)
        decisions = [Decision("depth", tuple(str(d) for d in range(1, self.max_layers + 1)))]
        #: per layer: (op, width, stride, first connection, number of connections) decision indices
        self._slots: list[tuple[int, int, int, int, int]] = []
        for i in range(1, self.max_layers + 1):
            base = len(decisions)
            decisions += [Decision(f"op{i}", OPS), Decision(f"width{i}", tuple(map(str, widths))),
                          Decision(f"stride{i}", tuple(map(str, STRIDES)))]
            n_conn = max(0, i - 1) if self.connection != "none" else 0
            decisions += [Decision(f"{self.connection_prefix}{i}<-{j}", ("no", "yes")) for j in range(n_conn)]
            self._slots.append((base, base + 1, base + 2, base + 3, n_conn))
        self.decisions = tuple(decisions)
        self._memo: dict[tuple[str, Arch], object] = {}  # active masks and effective networks

    # ---- structure -------------------------------------------------------------------------
    @property
    def min_resolution_divisor(self) -> int:
        """Input resolutions must be multiples of this (every reduction halves exactly)."""
        return 2 ** self.max_reductions

    def active(self, arch: Arch) -> tuple[bool, ...]:
        """Active decisions: depth; per existing layer its op, width (convs), stride (not identity),
        connections. Everything of a layer beyond the depth is inactive."""
        arch = tuple(arch)
        hit = self._memo.get(("active", arch))
        if hit is None:
            hit = self._remember(("active", arch), self._active_uncached(arch))
        return hit  # type: ignore[return-value]

    def _remember(self, key: tuple[str, Arch], value: object) -> object:
        if len(self._memo) > 1 << 16:  # bounded: a long search must not grow without limit
            self._memo.clear()
        self._memo[key] = value
        return value

    def _active_uncached(self, arch: Arch) -> tuple[bool, ...]:
        out = [True] * len(self.decisions)
        depth = arch[0] + 1
        for i, (op, width, stride, conn, n_conn) in enumerate(self._slots, start=1):
            exists = i <= depth
            name = OPS[arch[op]]
            out[op] = exists
            out[width] = exists and name in WIDTH_OPS
            out[stride] = exists and name != "identity"
            out[conn:conn + n_conn] = [exists] * n_conn
        return tuple(out)

    def reductions(self, arch: Arch) -> int:
        """Number of active stride-2 decisions."""
        depth = arch[0] + 1
        return sum(1 for i, (op, _, stride, _, _) in enumerate(self._slots, start=1)
                   if i <= depth and arch[op] != IDENTITY and STRIDES[arch[stride]] == 2)

    def is_valid(self, arch: Arch) -> bool:
        """At most ``max_reductions`` layers downsample (dormant values never make a tuple invalid)."""
        return self.reductions(arch) <= self.max_reductions

    @property
    def size(self) -> int:
        """Number of valid decision tuples (dormant values included), counted by dynamic programming.

        Per existing layer and stride value, the 7 non-identity ops x ``len(widths)`` (a pool's width
        is dormant but still a value) combinations; the identity adds ``len(widths) * 2`` combinations
        that never downsample. A layer beyond the depth contributes all its combinations.
        """
        n_w = len(self.widths)
        per_stride = (len(OPS) - 1) * n_w
        identity = n_w * len(STRIDES)
        total = 0
        for depth in range(1, self.max_layers + 1):
            ways = [1] + [0] * self.max_reductions  # ways[r]: prefixes with r reductions
            for *_, n_conn in self._slots[:depth]:
                conn = 2 ** n_conn
                ways = [(w * (per_stride + identity) + (ways[r - 1] * per_stride if r else 0)) * conn
                        for r, w in enumerate(ways)]
            dormant = 1
            for *_, n_conn in self._slots[depth:]:
                dormant *= len(OPS) * n_w * len(STRIDES) * 2 ** n_conn
            total += sum(ways) * dormant
        return total

    # ---- the built network -----------------------------------------------------------------
    def layers(self, arch: Arch) -> tuple[Layer, ...]:
        """The ``depth`` layers of ``arch`` as chosen (identities included), inputs as node indices."""
        a = tuple(arch)
        out = []
        for op, width, stride, conn, n_conn in self._slots[: a[0] + 1]:
            name = OPS[a[op]]
            out.append(Layer(name, self.widths[a[width]] if name in WIDTH_OPS else None,
                             STRIDES[a[stride]] if name != "identity" else 1,
                             tuple(j for j in range(n_conn) if a[conn + j])))
        return tuple(out)

    def effective(self, arch: Arch) -> tuple[Layer, ...]:
        """The layers actually built (forwarding identities removed, inputs renumbered)."""
        arch = tuple(arch)
        hit = self._memo.get(("effective", arch))
        if hit is None:
            hit = self._remember(("effective", arch), self._effective_uncached(arch))
        return hit  # type: ignore[return-value]

    def _effective_uncached(self, arch: Arch) -> tuple[Layer, ...]:
        alias = [0]  # node index of the tuple -> node index of the effective network
        out: list[Layer] = []
        for layer in self.layers(arch):
            inputs = tuple(sorted(alias[j] for j in layer.inputs))
            if layer.op == "identity" and not inputs:
                alias.append(alias[-1])
                continue
            out.append(Layer(layer.op, layer.width, layer.stride, inputs))
            alias.append(len(out))
        return tuple(out)

    # ---- strings ---------------------------------------------------------------------------
    def to_string(self, arch: Arch) -> str:
        """Layer tokens joined by ``/``, e.g. ``conv3x3:32:s1/maxpool3x3:s2/identity+0``."""
        return "/".join(layer.token() for layer in self.layers(self.validate(arch)))

    def canonical(self, arch: Arch) -> Hashable:
        """The effective network's string (``"-"`` for the stem and head alone)."""
        return "/".join(layer.token() for layer in self.effective(self.validate(arch))) or "-"

    def from_string(self, text: str) -> Arch:
        """Parse :meth:`to_string`'s format into the normalised tuple; errors name the bad token."""
        if not isinstance(text, str) or not text.strip():
            raise InvalidArchitectureError(f"{self.name}: expected a string like "
                                           f"'conv3x3:32:s1/maxpool3x3:s2', got {text!r}")
        tokens = text.strip().split("/")
        if len(tokens) > self.max_layers:
            raise InvalidArchitectureError(f"{self.name}: {text!r} has {len(tokens)} layers; this space "
                                           f"allows 1..{self.max_layers}")
        arch = [0] * len(self.decisions)
        arch[0] = len(tokens) - 1
        for i, (token, slot) in enumerate(zip(tokens, self._slots, strict=False), start=1):
            self._parse_layer(token, i, slot, arch)
        n_red = self.reductions(tuple(arch))
        if n_red > self.max_reductions:
            raise InvalidArchitectureError(f"{self.name}: {text!r} downsamples {n_red} times; this space "
                                           f"allows at most {self.max_reductions} 's2' layers")
        return self.validate(tuple(arch))

    def _parse_layer(self, token: str, i: int, slot: tuple[int, int, int, int, int], arch: list[int]) -> None:
        op_i, width_i, stride_i, conn, n_conn = slot
        body, *inputs = token.strip().split("+")
        op, *fields = body.split(":")
        where = f"{self.name}: layer {i} {token!r}"
        if op not in OPS:
            raise InvalidArchitectureError(f"{where}: unknown op {op!r}; valid ops are {', '.join(OPS)}")
        arch[op_i] = OPS.index(op)
        expected = (["width"] if op in WIDTH_OPS else []) + (["stride"] if op != "identity" else [])
        if len(fields) != len(expected):
            example = Layer(op, self.widths[0] if "width" in expected else None, 1).token()
            raise InvalidArchitectureError(f"{where}: {op} takes {' and '.join(expected) or 'no fields'} "
                                           f"(e.g. {example!r})")
        for kind, value in zip(expected, fields, strict=True):
            if kind == "width":
                if not value.isdigit() or int(value) not in self.widths:
                    raise InvalidArchitectureError(f"{where}: width {value!r} is not one of "
                                                   f"{', '.join(map(str, self.widths))}")
                arch[width_i] = self.widths.index(int(value))
            elif value not in ("s1", "s2"):
                raise InvalidArchitectureError(f"{where}: stride {value!r} must be s1 or s2")
            else:
                arch[stride_i] = STRIDES.index(int(value[1:]))
        for j_text in inputs:
            if self.connection == "none":
                raise InvalidArchitectureError(f"{where}: the {self.name} space has no extra inputs ('+j')")
            if not j_text.isdigit() or int(j_text) >= n_conn:
                raise InvalidArchitectureError(f"{where}: extra input +{j_text} must name a node 0..{i - 2} "
                                               f"(the preceding node {i - 1} is always an input)")
            if arch[conn + int(j_text)]:
                raise InvalidArchitectureError(f"{where}: extra input +{j_text} is listed twice")
            arch[conn + int(j_text)] = 1

    # ---- random operators ------------------------------------------------------------------
    def sample(self, rng: np.random.Generator) -> Arch:
        """Uniform over valid tuples, then normalised (the phenotype distribution of raw draws)."""
        return self.normalize(super().sample(rng))

    def neighbours(self, arch: Arch) -> list[Arch]:
        """One active decision changed, valid, and a different network (canonical form) than ``arch``;
        one tuple per distinct network. Dormant values are kept, so a deeper neighbour reveals them."""
        own = self.canonical(arch)
        seen = {own}
        out = []
        for cand in super().neighbours(arch):
            key = self.canonical(cand)
            if key not in seen:
                seen.add(key)
                out.append(cand)
        return out

    # ---- live training (nasarena.spaces.trainable) -------------------------------------------
    def build_model(self, arch: Arch, num_classes: int, resolution: int, size: Mapping[str, Any],
                    generator: Any = None) -> Any:
        """The PyTorch network (:mod:`nasarena.spaces.macro.network`) at ``size``."""
        from nasarena.spaces.macro.network import build_network

        return build_network(self, arch, num_classes, resolution, size["width_mult"], size["depth_limit"],
                             generator=generator)

    def model_cost(self, arch: Arch, num_classes: int, resolution: int,
                   size: Mapping[str, Any]) -> tuple[float, float]:
        """(params in millions, MFLOPs) from :mod:`nasarena.spaces.macro.cost`."""
        from nasarena.spaces.macro.cost import params_and_flops

        return params_and_flops(self, arch, num_classes, resolution, size["width_mult"], size["depth_limit"])

    def check_resolution(self, resolution: int) -> int:
        """A positive multiple of ``2 ** max_reductions``."""
        from nasarena.spaces.macro.cost import check_resolution

        return check_resolution(self, resolution)

    def live_variant(self) -> str:
        """The space's name (a residual and a dense string can be equal and name other networks),
        with a hash of :meth:`config` for a non-default configuration (widths and stem matter)."""
        return config_variant(self.name, self.config(), type(self)().config()) or self.name

    def config(self) -> dict[str, object]:
        """The constructor arguments (part of a live cache key: another config is another network)."""
        return {"max_layers": self.max_layers, "widths": list(self.widths),
                "max_reductions": self.max_reductions, "stem_width": self.stem_width}

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.config().items())
        return f"{type(self).__name__}({args})"


__all__ = ["CONNECTIONS", "IDENTITY", "Layer", "MacroSpace", "OPS", "STRIDES", "WIDTH_OPS"]
