"""What a stored run was made with: a fingerprint of its strategy's code and of nasarena's version.

A run's config says *what* was run; the fingerprint says *with which code*. A resumed study compares
the stored fingerprint with the current one and reruns any run whose strategy source or nasarena
version changed (the old file is moved aside, never deleted), so an edited strategy file never
reports its old numbers. The source is the file that defines the strategy: the ``.py`` file of a
``path/to/file.py:Class`` spec, or the module of a registered or ``package.module:Class`` name (found
without importing it, so checking a study does not pay for importing torch). Code the strategy
imports from elsewhere is covered by nasarena's version, not by the hash.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.metadata
import importlib.util
import inspect
from pathlib import Path
from typing import Any

from nasarena.bench.config import absolute_spec
from nasarena.registry import STRATEGIES

__all__ = ["absolute_spec", "is_path_spec", "nasarena_version", "stale_reason", "strategy_fingerprint",
           "strategy_label", "strategy_source"]


def nasarena_version() -> str:
    """The installed nasarena version (the source tree's ``__version__`` when not pip-installed)."""
    try:
        return importlib.metadata.version("nasarena")
    except importlib.metadata.PackageNotFoundError:
        import nasarena

        return nasarena.__version__


def is_path_spec(name: str) -> bool:
    """Whether ``name`` is a ``file.py:Class`` or ``package.module:Class`` spec (not a registered name)."""
    if name in STRATEGIES or ":" not in name:
        return False
    return STRATEGIES.family_entry(name) is None


def _module_file(module: str) -> Path | None:
    try:
        spec = importlib.util.find_spec(module)
    except (ModuleNotFoundError, ValueError):
        return None
    origin = getattr(spec, "origin", None)
    return Path(origin) if origin and origin not in ("built-in", "frozen") else None


def _entry_file(entry: Any) -> Path | None:
    if isinstance(entry, str):
        module = entry.rpartition(":")[0]
        return Path(module) if module.endswith(".py") else _module_file(module)
    try:
        source = inspect.getsourcefile(getattr(entry, "func", entry))
    except TypeError:
        return None
    return Path(source) if source else None


def strategy_source(name: str) -> Path | None:
    """The file defining strategy ``name`` (None when it cannot be located, e.g. a lambda)."""
    entry = STRATEGIES.entry(name) or STRATEGIES.family_entry(name)
    if entry is None and ":" in name:
        entry = name
    if entry is None:
        for ep in importlib.metadata.entry_points(group=STRATEGIES.group, name=name):
            entry = ep.value
    return _entry_file(entry) if entry is not None else None


@functools.lru_cache(maxsize=256)
def _file_hash(path: str, mtime_ns: int, size: int) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()[:16]


def _object_source(name: str) -> str | None:
    """The source text of a strategy registered as an object (e.g. a class defined in a notebook
    cell, whose "file" does not exist); None if Python cannot find it."""
    entry = STRATEGIES.entry(name)
    if entry is None or isinstance(entry, str):
        return None
    obj = getattr(entry, "func", entry)
    try:
        return inspect.getsource(obj)
    except (OSError, TypeError):  # Python < 3.13 cannot find a notebook class; its methods it can
        pass
    if not isinstance(obj, type):
        return None
    parts = []
    for key, value in sorted(vars(obj).items()):
        if inspect.isfunction(value):
            try:
                parts.append(inspect.getsource(value))
            except (OSError, TypeError):
                parts.append(f"{key}:{value.__code__.co_code.hex()}")
        elif isinstance(value, int | float | str | bool | tuple) and not key.startswith("__"):
            parts.append(f"{key}={value!r}")
    return "\n".join(parts) or None


def strategy_fingerprint(name: str) -> dict[str, Any]:
    """``{"source", "sha256", "nasarena"}`` of strategy ``name``: stored with every run it makes."""
    source = strategy_source(name)
    text = None if source is not None and source.is_file() else _object_source(name)
    if source is not None and source.is_file():
        st = source.stat()
        digest = _file_hash(str(source.resolve()), st.st_mtime_ns, st.st_size)
    elif text is not None:  # a class from a notebook cell: hash its source text
        digest = hashlib.sha256(text.encode()).hexdigest()[:16]
    else:  # nothing to hash: the name alone (nasarena's version still guards built-in code)
        digest = hashlib.sha256(f"name:{name}".encode()).hexdigest()[:16]
    return {"source": str(source) if source is not None else None, "sha256": digest,
            "nasarena": nasarena_version()}


def strategy_label(factory: Any, spec: str) -> str:
    """The name tables use for a path spec: the class's ``name`` if it set one, else the class name."""
    name = getattr(factory, "name", None)
    if isinstance(name, str) and name and name != "abstract":
        return name
    return getattr(factory, "__name__", spec.rpartition(":")[2])


def stale_reason(stored: dict[str, Any] | None, current: dict[str, Any]) -> str | None:
    """Why a run made with fingerprint ``stored`` must not be reused now (None: it may be)."""
    if not stored:
        return "it records no code fingerprint (made by an older nasarena)"
    if stored.get("nasarena") != current["nasarena"]:
        return f"nasarena changed from {stored.get('nasarena')} to {current['nasarena']}"
    if stored.get("sha256") != current["sha256"]:
        return f"the strategy's source {current['source']} changed" if current["source"] else \
            "the strategy's code changed"
    return None
