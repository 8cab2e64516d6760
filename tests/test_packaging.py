"""pyproject's ranges and constraints.txt's pins agree (so `make setup` and CI install what is declared)."""

from __future__ import annotations

import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[1]


def _pins() -> dict[str, Version]:
    pins = {}
    for line in (ROOT / "constraints.txt").read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, _, version = line.partition("==")
            assert version, f"constraints.txt: {line!r} is not an exact pin NAME==VERSION"
            pins[canonicalize_name(name)] = Version(version)
    return pins


def test_every_dependency_is_pinned_inside_its_range() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    pins = _pins()
    declared = [*project["dependencies"], *project["optional-dependencies"]["dev"],
                *project["optional-dependencies"]["ray"]]
    for text in declared:
        req = Requirement(text)
        name = canonicalize_name(req.name)
        assert name in pins, f"{req.name} is in pyproject.toml but not pinned in constraints.txt"
        assert req.specifier.contains(pins[name]), \
            f"constraints.txt pins {name}=={pins[name]}, outside {text!r}"
        # library-style: a lower bound and an upper cap, no exact pin
        ops = {s.operator for s in req.specifier}
        assert ops == {">=", "<"}, f"{text!r}: give a range '>=LOW,<CAP' (exact pins go in constraints.txt)"
    assert pins["torch"] == Version("2.13.0")  # the CPU build on local disk
    assert project["license"] == "MIT" and (ROOT / "LICENSE").read_text().startswith("MIT License")
