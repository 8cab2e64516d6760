"""Architecture checks at the oracle boundary, shared by the tabular oracles.

Why here and not only in the runner: an oracle is also called directly (notebooks, estimators
stacked on oracles), and a table indexed by arithmetic on the decisions silently returns another
architecture's row for an out-of-range decision (``(0, 1, 2, 3, 4, 5)`` on NB201) or fails with an
``IndexError``. :func:`validated` raises the space's own
:class:`~nasarena.errors.InvalidArchitectureError` instead, and checks each distinct value once,
so the hot path pays a dict lookup.
"""

from __future__ import annotations

from typing import Any

from nasarena.spaces.base import Arch, SearchSpace


def validated(space: SearchSpace, arch: Any, seen: dict[Any, Arch]) -> Arch:
    """``arch`` as a member of ``space`` (its tuple form), or the space's error.

    ``seen`` (one dict per oracle) maps every hashable value already checked to its tuple form;
    unhashable values (lists, arrays) are validated every time.
    """
    try:
        hit = seen.get(arch)
    except TypeError:
        return space.validate(arch)
    if hit is None:
        hit = seen[arch] = space.validate(arch)
    return hit
