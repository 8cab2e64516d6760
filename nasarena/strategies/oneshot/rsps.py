"""Random search with parameter sharing (Li & Talwalkar, UAI 2019), as NB201's ``random``.

Each weight step trains one uniformly random architecture; there are no architecture parameters.
After each epoch ``candidates`` (default 100) distinct random architectures are scored on the
supernet; the best is the pick.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from nasarena.errors import ConfigError
from nasarena.estimators.base import FULL, Fidelity
from nasarena.spaces.base import Arch, SearchSpace
from nasarena.strategies.base import distinct
from nasarena.strategies.oneshot.base import OneShot


class ScoredPick(OneShot):
    """A method whose pick is the best of ``candidates`` architectures scored on the supernet."""

    def __init__(
        self,
        space: SearchSpace,
        rng: np.random.Generator,
        fidelities: tuple[Fidelity, ...] = (FULL,),
        *,
        candidates: int = 100,
        **settings: Any,
    ) -> None:
        super().__init__(space, rng, fidelities, **settings)
        if isinstance(candidates, bool) or int(candidates) < 1:
            raise ConfigError(f"{self.name}: candidates must be an int >= 1, got {candidates!r}")
        self.candidates = int(candidates)


    def config(self) -> dict[str, Any]:
        """The base record plus the number of candidates."""
        return {**super().config(), "candidates": self.candidates}


class RSPS(ScoredPick):
    """RSPS on the supernet (see the module docstring)."""

    name: ClassVar[str] = "rsps"
    method: ClassVar[str] = "rsps"

    def sample_current(self) -> Arch:
        """A uniform sample of the space."""
        return self.valid_or_sample(self.space.sample(self.rng))

    def after_epoch(self) -> list[Arch]:
        """``candidates`` distinct uniform samples."""
        return distinct(self.sample_current, self.candidates)


__all__ = ["RSPS", "ScoredPick"]
