"""The record check shared by the strategy and oracle conformance suites (config(), describe())."""

from __future__ import annotations

from nasarena.checks import json_record_problem


def test_a_json_safe_dict_passes() -> None:
    assert json_record_problem({"a": [1, 2.5, "x", None], "b": {"c": True}}, "config()", "fix") is None


def test_what_cannot_be_stored_is_named_with_the_hint() -> None:
    assert "must return a dict with str keys" in json_record_problem([1], "config()", "fix")
    assert "must return a dict with str keys" in json_record_problem({1: 2}, "describe()", "fix")
    problem = json_record_problem({"a": object()}, "describe()", "it is stored with every run")
    assert problem.startswith("describe() is not JSON-serialisable (")
    assert problem.endswith("; it is stored with every run")
