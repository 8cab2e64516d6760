"""The nasarena error hierarchy.

Every error a user can provoke derives from :class:`NasarenaError`, so callers can catch one type,
and every message says what was wrong *and* what to do instead.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class NasarenaError(Exception):
    """Base class of every error nasarena raises on purpose."""


class InvalidArchitectureError(NasarenaError, ValueError):
    """An architecture (string, tuple or index) is not a member of its search space."""


class UnknownNameError(NasarenaError, KeyError):
    """A registry name (strategy, oracle, space, dataset) does not exist."""

    def __str__(self) -> str:  # KeyError would repr() the message; keep it readable.
        return str(self.args[0]) if self.args else ""


class DataError(NasarenaError):
    """Data on disk is missing, malformed, untrusted or lacks expected columns."""


class ConfigError(NasarenaError, ValueError):
    """A configuration value is out of range or inconsistent."""


class StrategyError(NasarenaError):
    """A strategy broke its contract (e.g. proposed an architecture outside the space)."""


class SearchExhausted(NasarenaError):
    """Raised by ``Strategy.ask`` when it has nothing left to propose (e.g. the space is used up).

    The runner ends the run normally when it sees this; it is not a failure.
    """


class UnsupportedError(NasarenaError):
    """A combination that cannot work (e.g. multi-fidelity strategy on a single-fidelity oracle)."""


def unknown(kind: str, name: object, valid: Iterable[object], hint: str = "") -> UnknownNameError:
    """Build an :class:`UnknownNameError` that lists the valid choices (the closest one first, as a
    "did you mean", when one is close enough: typos are the usual cause)."""
    valid = list(valid)
    choices = ", ".join(repr(v) for v in valid)
    plural = kind[:-1] + "ies" if kind.endswith("y") else kind + "s"
    close = difflib.get_close_matches(str(name), [str(v) for v in valid], n=1, cutoff=0.6)
    mean = f"did you mean {close[0]!r}? " if close else ""
    msg = f"unknown {kind} {name!r}; {mean}valid {plural} are: {choices}"
    if hint:
        msg += f". {hint}"
    return UnknownNameError(msg)
