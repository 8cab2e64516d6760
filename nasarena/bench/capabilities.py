"""Capability matching between a strategy and an oracle (issue 9), with messages that say what to use."""

from __future__ import annotations

from typing import Any

from nasarena.errors import UnsupportedError
from nasarena.estimators.base import PROXY, Oracle, supernet_mode
from nasarena.registry import ORACLES

SUPERNET_PREFIX = supernet_mode("")


def oracles_offering(capability: str) -> list[str]:
    """Registered oracle names whose class declares it can offer ``capability`` (``Oracle.offers``).

    Only used for error messages: classes are imported, never built (no data is read).
    """
    names = []
    for name in ORACLES.names():
        try:
            cls = ORACLES.resolve(name)
        except Exception:  # noqa: BLE001 - an optional dependency missing: just not listed
            continue
        if capability in getattr(cls, "offers", ()):
            names.append(name)
    return names


def check_capabilities(strategy_name: str, requires: Any, oracle: Oracle) -> frozenset[str]:
    """The oracle's capabilities, or :class:`UnsupportedError` if the strategy requires more.

    The message names both sides and, per missing capability, the registered oracles that offer it.
    """
    offered = oracle.capabilities()
    missing = sorted(frozenset(requires) - offered)
    modes = [cap for cap in missing if cap.startswith(SUPERNET_PREFIX)]
    if modes and len(modes) == len(missing):  # a supernet lacking the method's weight-step mode
        space = getattr(getattr(oracle, "space", None), "name", "?")
        has = sorted(cap[len(SUPERNET_PREFIX):] for cap in offered if cap.startswith(SUPERNET_PREFIX))
        raise UnsupportedError(
            f"strategy {strategy_name!r} needs supernet mode {modes[0][len(SUPERNET_PREFIX):]!r}, which the "
            f"{oracle.name!r} supernet of space {space!r} does not have (it trains "
            f"{', '.join(map(repr, has)) or 'no supernet mode'}); use a strategy of one of those modes "
            f"on {space!r}, or this one on the 'supernet' oracle (nb201)")
    if missing:
        where = "; ".join(f"{cap!r} is offered by "
                          f"{', '.join(map(repr, oracles_offering(cap))) or 'no registered oracle'}"
                          + (f" (wrap this one: --oracle with-proxy --oracle-arg base={oracle.name})"
                             if cap == PROXY else "")
                          for cap in missing)
        raise UnsupportedError(
            f"strategy {strategy_name!r} requires {', '.join(map(repr, missing))}, which oracle "
            f"{oracle.name!r} (fidelities {', '.join(f.key() for f in oracle.fidelities)}) does not offer "
            f"(it offers {', '.join(map(repr, sorted(offered))) or 'nothing beyond fresh evaluations'}); "
            f"{where}")
    return offered
