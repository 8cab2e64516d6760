"""Running a conformance suite: every check runs, and one AssertionError lists every failure.

Shared by the strategy, oracle and space suites (``check_strategy``, ``check_oracle``,
``check_space``), like scikit-learn's ``check_estimator`` report.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any


def run_all(kind: str, label: str, checks: Iterable[tuple[str, Callable[[], None]]]) -> None:
    """Call each ``(name, check)``; raise one AssertionError naming every failed check, or return."""
    failures: list[tuple[str, BaseException]] = []
    for name, check in checks:
        try:
            check()
        except Exception as exc:  # collect them all
            failures.append((name, exc))
    if failures:
        lines = [f"{name}: {type(exc).__name__}: {exc}" for name, exc in failures]
        raise AssertionError(f"{kind} {label!r} failed {len(failures)} conformance check(s):\n  "
                             + "\n  ".join(lines)) from failures[0][1]


def json_record_problem(value: Any, what: str, hint: str) -> str | None:
    """Why ``value`` (what ``what`` returned) cannot be stored with a run, or None if it can: it must
    be a dict with str keys that ``json.dumps`` accepts. ``hint`` says how to fix a dumps failure."""
    if not isinstance(value, dict) or not all(isinstance(k, str) for k in value):
        return f"{what} must return a dict with str keys, got {value!r}"
    try:
        json.dumps(value)
    except (TypeError, ValueError) as exc:
        return f"{what} is not JSON-serialisable ({exc}); {hint}"
    return None
