"""A restricted unpickler for benchmark tables shipped as pickles.

Unpickling runs code, so nasarena never calls :func:`pickle.load` on data: tables from installed
benchmark packages are read through :class:`RestrictedUnpickler`, which admits only plain builtins
(containers, numbers, strings) and numpy scalars/dtypes, and refuses any other global by name.
"""

from __future__ import annotations

import io
import pickle
from pathlib import Path
from typing import Any

from nasarena.errors import DataError

#: The globals a benchmark table may name (plain builtins and numpy scalars/dtypes).
BASE_GLOBALS: frozenset[tuple[str, str]] = frozenset({
    ("builtins", "dict"), ("builtins", "list"), ("builtins", "tuple"), ("builtins", "set"),
    ("builtins", "frozenset"), ("builtins", "int"), ("builtins", "float"), ("builtins", "str"),
    ("builtins", "bytes"), ("builtins", "bool"), ("builtins", "complex"),
    ("numpy", "dtype"), ("numpy.core.multiarray", "scalar"), ("numpy._core.multiarray", "scalar"),
})


class RestrictedUnpickler(pickle.Unpickler):
    """Unpickler that resolves only builtins and numpy scalars (see module docstring)."""

    def find_class(self, module: str, name: str) -> Any:
        """Resolve an allowed global or raise :class:`DataError` naming the refused one."""
        if (module, name) in BASE_GLOBALS:
            return super().find_class(module, name)
        raise DataError(f"refusing to unpickle {module}.{name}: only builtins and numpy scalars are "
                        f"allowed in benchmark tables (this file may not be what it claims to be)")


def safe_load(path: str | Path) -> Any:
    """Load a pickle file through :class:`RestrictedUnpickler`."""
    p = Path(path)
    if not p.is_file():
        raise DataError(f"no such file {p}; is the package that ships it installed?")
    with p.open("rb") as fh:
        return RestrictedUnpickler(fh).load()


def safe_loads(data: bytes) -> Any:
    """Load pickle bytes through :class:`RestrictedUnpickler`."""
    return RestrictedUnpickler(io.BytesIO(data)).load()
