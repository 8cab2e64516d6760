"""Image datasets for live training: CIFAR-10/100 from a local folder, and a generated dataset.

Every dataset is returned as :class:`ImageSplits`: uint8 arrays (N, 3, H, W) and int64 labels for a
train, a validation and a test split, plus a ``fingerprint`` that names its exact content (cache
keys use it, so that two differently generated or split datasets never share cached results).

* ``cifar10`` / ``cifar100``: read from ``DATA_DIR/cifar-10-batches-py`` or
  ``DATA_DIR/cifar-100-python`` (the python-pickle layout torchvision also uses). Nothing is
  downloaded. Validation is carved out of the official training set (``valid_fraction``, default one
  half, like NB201's ``cifar10-valid``) with a fixed permutation; test is the official test batch.
* ``synthetic``: deterministic procedural images made in memory from a seed (see
  :func:`make_synthetic`), 10 classes, for tests and CPU studies.

Why the CIFAR pickles may be loaded: they go through :class:`CifarUnpickler`, which extends the
project's allow-list (:mod:`nasarena.safe_pickle`) by exactly what a numpy array needs to be rebuilt
(``_reconstruct``, ``ndarray``, ``dtype`` and the latin-1 ``_codecs.encode`` of its raw bytes). None
of these can call anything else, so a forged file can at worst yield wrong arrays, which the loader
then rejects by checking dtypes and shapes. No trust flag is needed, and nothing else is admitted.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from nasarena.errors import ConfigError, DataError, unknown
from nasarena.safe_pickle import RestrictedUnpickler

DATA_ENV = "NASARENA_DATA_DIR"
DEFAULT_DATA_DIR = Path("~/.cache/nasarena/data")
CIFAR_URLS = {"cifar10": "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz",
              "cifar100": "https://www.cs.toronto.edu/~kriz/cifar-100-python.tar.gz"}
ALIASES = {"synthetic": "synthetic", "cifar10": "cifar10", "cifar10-valid": "cifar10", "cifar100": "cifar100"}
NUM_CLASSES = {"synthetic": 10, "cifar10": 10, "cifar100": 100}


@dataclass(frozen=True)
class ImageSplits:
    """Train/valid/test images (uint8, N x 3 x H x W) and labels (int64) of one dataset."""

    name: str
    num_classes: int
    train_x: np.ndarray
    train_y: np.ndarray
    valid_x: np.ndarray
    valid_y: np.ndarray
    test_x: np.ndarray
    test_y: np.ndarray
    fingerprint: str

    @property
    def resolution(self) -> int:
        """Native side length of the images."""
        return int(self.train_x.shape[-1])

    def channel_stats(self) -> tuple[np.ndarray, np.ndarray]:
        """Per-channel mean and std of the training images in [0, 1] (for normalisation).

        Computed exactly from per-channel histograms of the uint8 values, so that CIFAR's 25k
        training images need megabytes, not a float64 copy of the whole set.
        """
        levels = np.arange(256, dtype=np.float64) / 255.0
        means, stds = [], []
        for c in range(self.train_x.shape[1]):
            counts = np.bincount(self.train_x[:, c].ravel(), minlength=256).astype(np.float64)
            p = counts / counts.sum()
            mean = float(p @ levels)
            means.append(mean)
            stds.append(float(np.sqrt(max(p @ (levels - mean) ** 2, 0.0))))
        return np.array(means), np.array(stds) + 1e-8


def canonical_name(name: str) -> str:
    """Map an accepted dataset name or alias to ``synthetic``, ``cifar10`` or ``cifar100``."""
    try:
        return ALIASES[name]
    except KeyError:
        raise unknown("dataset", name, sorted(ALIASES)) from None


def resolve_data_dir(data_dir: str | os.PathLike[str] | None) -> Path:
    """The folder that holds the CIFAR folders: argument, else $NASARENA_DATA_DIR, else ~/.cache."""
    if data_dir is None:
        data_dir = os.environ.get(DATA_ENV) or DEFAULT_DATA_DIR
    return Path(data_dir).expanduser()


class CifarUnpickler(RestrictedUnpickler):
    """The project's restricted unpickler plus the four globals a pickled numpy array needs."""

    _ARRAY_GLOBALS = {
        ("numpy.core.multiarray", "_reconstruct"): ("numpy._core.multiarray", "_reconstruct"),
        ("numpy._core.multiarray", "_reconstruct"): ("numpy._core.multiarray", "_reconstruct"),
        ("numpy", "ndarray"): ("numpy", "ndarray"),
        ("numpy", "dtype"): ("numpy", "dtype"),
        ("_codecs", "encode"): ("_codecs", "encode"),
    }

    def find_class(self, module: str, name: str) -> Any:
        """Resolve an array global (numpy 1 names mapped to numpy 2) or defer to the base list."""
        target = self._ARRAY_GLOBALS.get((module, name))
        if target is not None:
            return super(RestrictedUnpickler, self).find_class(*target)
        return super().find_class(module, name)


def _load_batch(path: Path) -> dict[str, Any]:
    with path.open("rb") as fh:
        raw = CifarUnpickler(fh, encoding="latin1").load()
    if not isinstance(raw, dict):
        raise DataError(f"{path}: expected a dict in a CIFAR batch, got {type(raw).__name__}")
    return {k.decode("latin1") if isinstance(k, bytes) else k: v for k, v in raw.items()}


def _images_labels(path: Path, label_key: str) -> tuple[np.ndarray, np.ndarray]:
    batch = _load_batch(path)
    if "data" not in batch or label_key not in batch:
        raise DataError(f"{path}: a CIFAR batch needs keys 'data' and {label_key!r}, has {sorted(batch)}")
    data, labels = batch["data"], np.asarray(batch[label_key])
    if not isinstance(data, np.ndarray) or data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != 3072:
        raise DataError(f"{path}: 'data' must be a uint8 array of shape (n, 3072)")
    if labels.shape != (data.shape[0],) or not np.issubdtype(labels.dtype, np.integer):
        raise DataError(f"{path}: {label_key!r} must hold one integer label per image")
    return data.reshape(-1, 3, 32, 32), labels.astype(np.int64)


def _missing(name: str, root: Path, folder: Path, files: list[str]) -> DataError:
    return DataError(
        f"{name} files not found: expected {', '.join(files)} in {folder}. Download "
        f"{CIFAR_URLS[name]} and extract it into {root} (it creates {folder.name}/; "
        f"torchvision.datasets.{name.upper()}(root={str(root)!r}, download=True) makes the same "
        f"layout), or point data_dir / ${DATA_ENV} at the folder that contains {folder.name}/. "
        f"nasarena never downloads data itself; for a dataset without files use 'synthetic'.")


def load_cifar(name: str, data_dir: str | os.PathLike[str] | None = None,
               valid_fraction: float = 0.5, split_seed: int = 0) -> ImageSplits:
    """Read CIFAR-10 or CIFAR-100 from the python-pickle layout (see module docstring)."""
    name = canonical_name(name)
    if name not in ("cifar10", "cifar100"):
        raise ConfigError(f"load_cifar reads cifar10 or cifar100, not {name!r}")
    if not 0.0 < valid_fraction < 1.0:
        raise ConfigError(f"valid_fraction must be in (0, 1), got {valid_fraction}")
    root = resolve_data_dir(data_dir)
    if name == "cifar10":
        folder, label_key = root / "cifar-10-batches-py", "labels"
        train_files, test_files = [f"data_batch_{i}" for i in range(1, 6)], ["test_batch"]
    else:
        folder, label_key = root / "cifar-100-python", "fine_labels"
        train_files, test_files = ["train"], ["test"]
    if not all((folder / f).is_file() for f in train_files + test_files):
        raise _missing(name, root, folder, train_files + test_files)
    parts = [_images_labels(folder / f, label_key) for f in train_files]
    x = np.concatenate([p[0] for p in parts])
    y = np.concatenate([p[1] for p in parts])
    test_x, test_y = _images_labels(folder / test_files[0], label_key)
    n_cls = NUM_CLASSES[name]
    if y.min() < 0 or y.max() >= n_cls or test_y.min() < 0 or test_y.max() >= n_cls:
        raise DataError(f"{folder}: labels must lie in [0, {n_cls})")
    order = np.random.default_rng(split_seed).permutation(len(x))
    n_valid = int(round(valid_fraction * len(x)))
    tr, va = order[n_valid:], order[:n_valid]
    digest = hashlib.sha1(np.ascontiguousarray(x[:: max(1, len(x) // 64)]).tobytes()).hexdigest()[:8]
    fp = f"{name}-v{valid_fraction:g}-s{split_seed}-{digest}"
    return ImageSplits(name, n_cls, x[tr], y[tr], x[va], y[va], test_x, test_y, fp)


# ---- the generated dataset -------------------------------------------------------------------------
_SHAPES = ("disk", "square", "triangle", "plus", "ring")


def _shape_masks(kind: np.ndarray, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Boolean masks of each image's shape in its own object coordinates (u, v scaled to ~[-1, 1])."""
    r = np.sqrt(u * u + v * v)
    masks = np.stack([
        r <= 1.0,                                                        # disk
        np.maximum(np.abs(u), np.abs(v)) <= 0.8,                         # square
        (v <= 0.75) & (np.abs(u) <= 0.55 * (v + 0.95)),                  # triangle, apex up
        ((np.abs(u) <= 0.3) | (np.abs(v) <= 0.3)) & (np.maximum(np.abs(u), np.abs(v)) <= 1.0),  # plus
        (r <= 1.0) & (r >= 0.55),                                        # ring
    ])
    return np.take_along_axis(masks, kind[None, :, None, None], axis=0)[0]


_CHUNK = 4096


def make_synthetic(n: int, resolution: int = 16,
                   seed: int | tuple[int, ...] = 0) -> tuple[np.ndarray, np.ndarray]:
    """Generate ``n`` labelled images (uint8, n x 3 x R x R) deterministically from ``seed``.

    Class = (shape, stripe orientation): one of 5 shapes (disk, square, triangle, plus, ring) filled
    with stripes that run either horizontally or vertically, i.e. 10 classes. Position, size, small
    rotation, stripe period and phase, and both colours are random per image, and the background
    carries a faint stripe pattern of random orientation, a colour gradient and per-pixel colour
    noise. Mean colour is therefore uninformative: a network has to find the object, read its
    outline and its texture orientation, which needs spatial feature extraction (convolutions),
    not just pooling or identity paths.
    """
    if resolution < 8:
        raise ConfigError(f"synthetic images need resolution >= 8, got {resolution}")
    rng = np.random.default_rng(seed)
    # chunks of one generator bound the float64 temporaries (~0.1 GB per 4096 32px images)
    parts = [_synthetic_chunk(rng, min(_CHUNK, n - i), resolution) for i in range(0, n, _CHUNK)]
    if not parts:
        return np.zeros((0, 3, resolution, resolution), np.uint8), np.zeros(0, np.int64)
    return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])


def _synthetic_chunk(rng: np.random.Generator, n: int, resolution: int) -> tuple[np.ndarray, np.ndarray]:
    """``n`` images drawn from ``rng`` (see :func:`make_synthetic`)."""
    R = resolution
    y = rng.integers(0, 10, n)
    shape, orient = y % 5, y // 5
    grid = (np.arange(R) + 0.5)[None, :]
    yy, xx = grid[:, :, None], grid[:, None, :]  # (1, R, 1), (1, 1, R)
    cx, cy = rng.uniform(0.3, 0.7, (2, n, 1, 1)) * R
    rad = rng.uniform(0.3, 0.42, (n, 1, 1)) * R
    rot = rng.uniform(-0.3, 0.3, (n, 1, 1))
    dx, dy = xx - cx, yy - cy
    u = (np.cos(rot) * dx + np.sin(rot) * dy) / rad
    v = (-np.sin(rot) * dx + np.cos(rot) * dy) / rad
    mask = _shape_masks(shape, u, v)
    # stripes: horizontal (orient 0) or vertical (orient 1) in the object's frame, jittered
    theta = orient[:, None, None] * (np.pi / 2) + rng.uniform(-0.2, 0.2, (n, 1, 1))
    period = rng.uniform(3.0, 4.5, (n, 1, 1)) * (R / 16)
    phase = rng.uniform(0, 1, (n, 1, 1))
    stripe = ((np.sin(theta) * dx + np.cos(theta) * dy) / period + phase) % 1.0 < 0.5
    fg = rng.uniform(0.0, 1.0, (n, 3, 1, 1))
    fg_dark = fg * rng.uniform(0.2, 0.55, (n, 1, 1, 1))
    bg = rng.uniform(0.0, 1.0, (n, 3, 1, 1))
    # background: gradient + faint random-orientation stripes
    g_ang = rng.uniform(0, 2 * np.pi, (n, 1, 1))
    grad = ((np.cos(g_ang) * dx + np.sin(g_ang) * dy) / R)[:, None] * rng.uniform(0, 0.4, (n, 3, 1, 1))
    b_ang = rng.uniform(0, np.pi, (n, 1, 1))
    b_per = rng.uniform(2.5, 6.0, (n, 1, 1)) * (R / 16)
    b_str = np.sin(2 * np.pi * (np.cos(b_ang) * xx + np.sin(b_ang) * yy) / b_per)[:, None]
    background = bg + grad + 0.06 * b_str
    obj = np.where(stripe[:, None], fg, fg_dark)
    img = np.where(mask[:, None], obj, background)
    img = img + rng.normal(0.0, 0.08, img.shape)
    x = np.clip(np.rint(img * 255.0), 0, 255).astype(np.uint8)
    return x, y.astype(np.int64)


def load_synthetic(n_train: int = 4000, n_valid: int = 2000, n_test: int = 2000,
                   resolution: int = 16, seed: int = 0) -> ImageSplits:
    """The generated dataset as train/valid/test splits (independent draws of one generator)."""
    if min(n_train, n_valid, n_test) < 1:
        raise ConfigError("synthetic split sizes must be positive")
    chunks = [make_synthetic(k, resolution, seed=(seed, i))
              for i, k in enumerate((n_train, n_valid, n_test))]
    fp = f"synthetic-r{resolution}-n{n_train}.{n_valid}.{n_test}-s{seed}"
    return ImageSplits("synthetic", 10, *chunks[0], *chunks[1], *chunks[2], fingerprint=fp)


def load_dataset(name: str, data_dir: str | os.PathLike[str] | None = None, valid_fraction: float = 0.5,
                 synthetic: dict[str, int] | None = None) -> ImageSplits:
    """Load a dataset by name; ``synthetic`` holds keyword arguments of :func:`load_synthetic`."""
    name = canonical_name(name)
    if name == "synthetic":
        return load_synthetic(**(synthetic or {}))
    return load_cifar(name, data_dir, valid_fraction)


__all__ = ["ALIASES", "CifarUnpickler", "ImageSplits", "canonical_name", "load_cifar", "load_dataset",
           "load_synthetic", "make_synthetic", "resolve_data_dir"]
