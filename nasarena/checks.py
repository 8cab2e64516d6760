"""Running a conformance suite: every check runs, and one AssertionError lists every failure.

Shared by the strategy, oracle and space suites (``check_strategy``, ``check_oracle``,
``check_space``), like scikit-learn's ``check_estimator`` report.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable


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
