"""Shared fixtures. Tests that need ``../shared/data`` run in CI always (CI=1) and skip only outside it."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def _shared(sub: str) -> Path:
    path = SHARED_DATA / sub
    if not path.exists():
        if os.environ.get("CI"):
            pytest.fail(f"{path} is missing but CI is set: the shared data must be present in CI")
        pytest.skip(f"{path} not present (outside CI)")
    return path


@pytest.fixture(scope="session")
def nb201_data() -> Path:
    """The folder ``../shared/data/nb201`` (read-only reference tables)."""
    return _shared("nb201")


@pytest.fixture
def rng() -> np.random.Generator:
    """A fresh seeded generator."""
    return np.random.default_rng(12345)
