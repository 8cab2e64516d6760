"""Datasets resident on the training device, augmented and scored there (used by the trainer).

Why: on a GPU, a DataLoader's host->device copies and CPU augmentation bound a small network's
training; with the whole dataset on the device as uint8 tensors, a batch is one gather, and crop and
flip are one more (see :func:`augment`). On a CPU the same code runs unchanged.
"""

from __future__ import annotations

import contextlib

import numpy as np
import torch
import torch.nn.functional as F

from nasarena.errors import ConfigError
from nasarena.estimators.live.data import ImageSplits
from nasarena.spaces.nb201_torch import check_resolution


def resolve_device(device: str | torch.device = "auto") -> torch.device:
    """``"auto"`` -> CUDA when available, else CPU; anything else is passed to ``torch.device``."""
    if str(device) == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    dev = torch.device(device)
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError("device 'cuda' was requested but torch sees no GPU; use device='cpu' or 'auto'")
    return dev


class DeviceData:
    """A dataset resident on one device at one resolution (uint8), with normalisation constants.

    ``order`` is a fixed permutation of the training set (from the dataset, not the training seed):
    a ``data_fraction`` f trains on its first f*n images, so every architecture at that fidelity sees
    the same subset, which is what makes low-fidelity scores comparable across architectures.
    """

    def __init__(self, splits: ImageSplits, resolution: int, device: torch.device) -> None:
        check_resolution(resolution)
        self.name, self.num_classes, self.resolution, self.device = (
            splits.name, splits.num_classes, resolution, device)
        mean, std = splits.channel_stats()
        self.mean = torch.tensor(mean, dtype=torch.float32, device=device).view(1, 3, 1, 1)
        self.std = torch.tensor(std, dtype=torch.float32, device=device).view(1, 3, 1, 1)
        self.train_x, self.train_y = self._put(splits.train_x, splits.train_y)
        self.valid_x, self.valid_y = self._put(splits.valid_x, splits.valid_y)
        self.test_x, self.test_y = self._put(splits.test_x, splits.test_y)
        order = np.random.default_rng(0).permutation(len(splits.train_y))
        self.order = torch.as_tensor(order, device=device)

    def _put(self, x: np.ndarray, y: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
        xt = torch.as_tensor(x).to(self.device)
        if xt.shape[-1] != self.resolution:
            chunks = []
            for part in xt.split(4096):  # bounded temporary memory
                z = F.interpolate(part.float(), size=(self.resolution, self.resolution), mode="bilinear",
                                  antialias=True, align_corners=False)
                chunks.append(z.round_().clamp_(0, 255).to(torch.uint8))
            xt = torch.cat(chunks)
        return xt.contiguous(), torch.as_tensor(y, dtype=torch.int64).to(self.device)

    def normalise(self, x: torch.Tensor) -> torch.Tensor:
        """uint8 images -> float32 standardised images."""
        return (x.float() / 255.0 - self.mean) / self.std


def augment(x: torch.Tensor, generator: torch.Generator, pad: int) -> torch.Tensor:
    """Random crop (zero padding ``pad``) and horizontal flip of a uint8 batch, on its device.

    One gather does both: the row index is ``offset_y + i`` and the column index is ``offset_x + j``
    or, for flipped images (chosen with ``torch.where``), ``offset_x + W - 1 - j``. The result is
    laid out channels-last, which is what the convolutions want on a GPU.
    """
    b, _, h, w = x.shape
    dev = x.device
    if pad > 0:
        x = F.pad(x, (pad, pad, pad, pad))
    oy = torch.randint(0, 2 * pad + 1, (b, 1), generator=generator, device=dev)
    ox = torch.randint(0, 2 * pad + 1, (b, 1), generator=generator, device=dev)
    flip = torch.rand((b, 1), generator=generator, device=dev) < 0.5
    ar_h = torch.arange(h, device=dev)
    ar_w = torch.arange(w, device=dev)
    rows = oy + ar_h
    cols = ox + torch.where(flip, w - 1 - ar_w, ar_w)
    bidx = torch.arange(b, device=dev)[:, None, None]
    out = x[bidx, :, rows[:, :, None], cols[:, None, :]]  # (b, h, w, c)
    return out.permute(0, 3, 1, 2)


@torch.no_grad()
def accuracy(model: torch.nn.Module, data: DeviceData, x: torch.Tensor, y: torch.Tensor,
             batch_size: int, amp: bool, channels_last: bool) -> float:
    """Top-1 accuracy in percent (counted on the device, one sync)."""
    model.eval()
    correct = torch.zeros((), dtype=torch.int64, device=x.device)
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    for i in range(0, len(y), batch_size):
        xb = data.normalise(x[i:i + batch_size]).contiguous(memory_format=fmt)
        with autocast(x.device, amp):
            pred = model(xb).argmax(1)
        correct += (pred == y[i:i + batch_size]).sum()
    return 100.0 * float(correct.item()) / max(1, len(y))


def autocast(device: torch.device, amp: bool) -> contextlib.AbstractContextManager[None]:
    """bf16 autocast on ``device`` when ``amp``, else nothing."""
    if not amp:
        return contextlib.nullcontext()
    return torch.autocast(device_type=device.type, dtype=torch.bfloat16)


__all__ = ["DeviceData", "accuracy", "augment", "autocast", "resolve_device"]
