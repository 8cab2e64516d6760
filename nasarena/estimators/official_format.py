"""The layout of a nasarena official cache, shared by the importer, the writer and the reader.

Kept apart from :mod:`nasarena.estimators.official_import` so that opening a cache never imports
the import machinery (and the writer and importer do not import each other).
"""

from __future__ import annotations

import os
from pathlib import Path

from nasarena.errors import ConfigError

FORMAT_VERSION = 1
FLAVOURS = ("nb201", "nats-tss", "nats-sss")
EVAL_SETS = ("x-valid", "x-test", "ori-test")
PREFIX = {"x-valid": "x_valid", "x-test": "x_test", "ori-test": "ori_test"}
#: Channels of the curve arrays, in order (cumtime = cumulative seconds up to and including the epoch).
CHANNELS: tuple[str, ...] = ("train_acc", "train_loss", "train_cumtime",
                             *(f"{PREFIX[e]}_{m}" for e in EVAL_SETS for m in ("acc", "loss", "cumtime")))
#: Per-run scalar columns (NaN where the official object has None or lacks the set).
SCALARS: tuple[str, ...] = (
    "params", "flops", "latency", "train_acc", "train_loss", "train_time", "t_train_epoch", "t_train_total",
    *(f"{PREFIX[e]}_{m}" for e in EVAL_SETS for m in ("acc", "loss", "time", "t_epoch", "t_total")))


def default_cache_dir(flavour: str) -> Path:
    """Where a flavour's cache goes unless told otherwise: ``$NASARENA_CACHE/official/<flavour>``.

    ``NASARENA_CACHE`` defaults to ``~/.cache/nasarena``; one fixed place lets ``make_oracle("nb201")``
    work without a path after a single import.
    """
    if flavour not in FLAVOURS:
        raise ConfigError(f"unknown flavour {flavour!r}; valid flavours are {', '.join(FLAVOURS)}")
    root = Path(os.environ.get("NASARENA_CACHE", "~/.cache/nasarena")).expanduser()
    return root / "official" / flavour


def group_name(dataset: str, hp: str) -> str:
    """File stem of one (dataset, hp) group, e.g. ``cifar10-valid__hp200``."""
    return f"{dataset}__hp{hp}"


__all__ = ["CHANNELS", "EVAL_SETS", "FLAVOURS", "FORMAT_VERSION", "PREFIX", "SCALARS", "default_cache_dir",
           "group_name"]
