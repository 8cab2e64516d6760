"""Shared by tests/ and benchmarks/: torch runs as in the runner's worker processes, with one
intra-op thread (tiny tensors on oversubscribed cores are slower with more), restored afterwards."""

from __future__ import annotations

from collections.abc import Iterator

import pytest


@pytest.fixture(autouse=True, scope="session")
def one_torch_thread() -> Iterator[None]:
    try:
        import torch
    except ImportError:  # torch-free installs still run the tabular tests
        yield
        return
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
