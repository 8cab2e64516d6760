"""SETN (Dong & Yang, ICCV 2019): one-shot with a learned sampling distribution.

Each weight step trains one architecture sampled from softmax(alphas); each architecture step
trains the logits with all ops mixed (like DARTS). After each epoch the ``candidates`` (default
100) most probable architectures under the logits are scored on the supernet; the best is the pick.
"""

from __future__ import annotations

import heapq
from typing import ClassVar

import numpy as np

from nasarena.spaces.base import Arch
from nasarena.strategies.oneshot.rsps import ScoredPick


class SETN(ScoredPick):
    """SETN on the supernet (see the module docstring)."""

    name: ClassVar[str] = "setn"
    method: ClassVar[str] = "setn"

    def after_epoch(self) -> list[Arch]:
        """The ``candidates`` most probable architectures (exact: log-probabilities add per decision)."""
        return self.top_k(self.candidates)

    def top_k(self, k: int) -> list[Arch]:
        """The ``k`` architectures of highest probability; ties broken by the strategy's generator.

        The log-probability is a sum over decisions, so the k best prefixes of one decision extended
        by every choice of the next contain the k best of the longer prefixes: k x choices work per
        decision instead of enumerating the space.
        """
        beams: list[tuple[float, tuple[int, ...]]] = [(0.0, ())]
        for lg in self.logits:
            logp = lg - lg.max() - np.log(np.exp(lg - lg.max()).sum())
            jitter = self.rng.uniform(0.0, 1e-9, len(lg))  # random order among equal probabilities
            grown = [
                (s + float(logp[j] + jitter[j]), prefix + (j,)) for s, prefix in beams for j in range(len(lg))
            ]
            beams = heapq.nlargest(4 * k, grown)  # spare room: some may be invalid members
        out: dict[Arch, None] = {}
        for _, arch in beams:
            out.setdefault(self.valid_or_sample(arch), None)
            if len(out) >= k:
                break
        return list(out)


__all__ = ["SETN"]
