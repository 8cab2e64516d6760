"""Command-line style arguments of the live oracle: fidelity lists, numbers and flags from strings.

``nasarena run --oracle-arg k=v`` passes every value as a string; these helpers turn them into the
typed values and raise one clear :class:`~nasarena.errors.ConfigError` naming the argument otherwise.
"""

from __future__ import annotations

import os
from typing import Any

from nasarena.errors import ConfigError
from nasarena.estimators.base import Fidelity


def parse_fidelities(value: Any) -> tuple[Fidelity, ...]:
    """Fidelities from Fidelity objects, dicts, keys, or one string of keys joined by ``;``.

    The string form is what ``--oracle-arg fidelities=epochs=1,channels=8;epochs=3,channels=8``
    passes on the command line.
    """
    if isinstance(value, Fidelity):
        return (value,)
    if isinstance(value, str):
        value = [part for part in value.replace("|", ";").split(";") if part.strip()]
    out = []
    for item in value:
        if isinstance(item, Fidelity):
            out.append(item)
        elif isinstance(item, dict):
            out.append(Fidelity(**item))
        elif isinstance(item, str):
            out.append(Fidelity.parse(item.strip()))
        else:
            raise ConfigError(f"cannot read a fidelity from {item!r}; "
                              f"use 'epochs=3,channels=8' or a Fidelity")
    if not out:
        raise ConfigError("the live oracle needs at least one fidelity")
    return tuple(out)


def num(value: Any, kind: type, name: str) -> Any:
    """Coerce command-line strings to numbers, with an error naming the argument."""
    if value is None or isinstance(value, kind) and not isinstance(value, bool):
        return value
    try:
        return kind(value)
    except (TypeError, ValueError):
        raise ConfigError(f"live oracle argument {name} must be {kind.__name__}, got {value!r}") from None


def flag(value: Any, name: str) -> bool | None:
    """Read true/false/auto (None) from a bool or a command-line string."""
    if value is None or isinstance(value, bool):
        return value
    text = str(value).lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off"):
        return False
    if text in ("auto", "none"):
        return None
    raise ConfigError(f"live oracle argument {name} must be true/false/auto, got {value!r}")


def synthetic_args(train: Any, valid: Any, test: Any, resolution: Any, seed: Any) -> dict[str, int]:
    """The generated dataset's keyword arguments (:func:`~.data.load_synthetic`) from oracle arguments."""
    return {
        "n_train": num(train, int, "synthetic_train"),
        "n_valid": num(valid, int, "synthetic_valid"),
        "n_test": num(test, int, "synthetic_test"),
        "resolution": num(resolution, int, "synthetic_resolution"),
        "seed": num(seed, int, "synthetic_seed"),
    }


def default_threads(num_threads: Any) -> int:
    """CPU threads: ``num_threads``, else 2 lowered to ``$OMP_NUM_THREADS`` when that is set."""
    if num_threads is None:
        num_threads = min(2, num(os.environ.get("OMP_NUM_THREADS") or 2, int, "OMP_NUM_THREADS"))
    return num(num_threads, int, "num_threads")


__all__ = ["default_threads", "flag", "num", "parse_fidelities", "synthetic_args"]
