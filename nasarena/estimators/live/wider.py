"""Net2Wider on a built macro network: set the child's tensors from the parent's by channel maps.

The maps (child channel -> parent channel, per layer) come from :mod:`nasarena.spaces.wider`. Here
each conv weight becomes ``W[out_map][:, in_map] / count[in_map]`` (the widened layer's replicated
filters, every consumer's incoming weights divided by the replication counts), a depthwise kernel
``D[in_map]``, a BN's parameters and running statistics ``bn[out_map]``, and the linear head
``W[:, final] / count[final]``.

**BN convention.** Exact in eval and train mode: a replicated channel's pre-BN activation equals
its parent channel's, so its running statistics (eval) and its batch statistics (train) are the
parent channel's, and the copied gamma/beta give the same output.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import torch
from torch import nn

from nasarena.spaces.wider import WiderMaps, counts

_BN = ("weight", "bias", "running_mean", "running_var")


class _Mismatch(Exception):
    """A parent tensor does not have the shape the parent's plan says (another size)."""


@torch.no_grad()
def apply_wider(model: nn.Module, weights: Mapping[str, torch.Tensor], maps: WiderMaps, parent_plan) -> \
        list[str] | None:
    """Set every tensor of ``model`` (the widened child) whose shape differs from the parent's through
    ``maps``; the rest was copied by name. Returns the names set, or None when the parent's tensors
    do not fit ``parent_plan`` (nothing is written then)."""
    own, new = model.state_dict(), {}

    def parent(name: str, shape: tuple[int, ...]) -> torch.Tensor:
        t = weights.get(name)
        if not isinstance(t, torch.Tensor) or tuple(t.shape[:len(shape)]) != shape:
            raise _Mismatch(name)
        return t.to(own[name].dtype)

    def idx(m: np.ndarray) -> torch.Tensor:
        return torch.as_tensor(m, dtype=torch.long)

    def conv(name: str, out_m: np.ndarray, in_m: np.ndarray, n_out: int, n_in: int) -> None:
        w = parent(name, (n_out, n_in))
        scale = torch.as_tensor(1.0 / counts(in_m, n_in)[in_m], dtype=w.dtype).view(1, -1, 1, 1)
        new[name] = w[idx(out_m)][:, idx(in_m)] * scale

    def bn(prefix: str, m: np.ndarray, n: int) -> None:
        for key in _BN:
            new[f"{prefix}.{key}"] = parent(f"{prefix}.{key}", (n,))[idx(m)]

    try:
        for i, (lm, pp) in enumerate(zip(maps.layers, parent_plan.layers, strict=True)):
            layer, prefix = model.layers[i], f"layers.{i}"
            for k, (mod, em) in enumerate(zip(layer.match, lm.extras, strict=True)):
                if isinstance(mod, nn.Sequential):  # residual 1x1 projection + BN onto the sum
                    conv(f"{prefix}.match.{k}.0.weight", lm.inputs, em, pp.c_prev, pp.extras[k][1])
                    bn(f"{prefix}.match.{k}.1", lm.inputs, pp.c_prev)
            op = pp.layer.op
            if op.startswith("sep"):
                new[f"{prefix}.op.1.weight"] = parent(f"{prefix}.op.1.weight", (pp.c_in,))[idx(lm.inputs)]
                conv(f"{prefix}.op.2.weight", lm.output, lm.inputs, pp.c_out, pp.c_in)
                bn(f"{prefix}.op.3", lm.output, pp.c_out)
            elif pp.layer.width is not None:
                conv(f"{prefix}.op.1.weight", lm.output, lm.inputs, pp.c_out, pp.c_in)
                bn(f"{prefix}.op.2", lm.output, pp.c_out)
        bn("lastact.0", maps.final, parent_plan.c_final)
        w = parent("classifier.weight", (parent_plan.num_classes, parent_plan.c_final))
        scale = torch.as_tensor(1.0 / counts(maps.final, parent_plan.c_final)[maps.final], dtype=w.dtype)
        new["classifier.weight"] = w[:, idx(maps.final)] * scale
    except _Mismatch:
        return None
    changed = {n: v for n, v in new.items() if n in own and own[n].shape != weights[n].shape}
    if any(v.shape != own[n].shape for n, v in changed.items()):
        return None
    for n, v in changed.items():
        own[n].copy_(v)
    return list(changed)


__all__ = ["apply_wider"]
