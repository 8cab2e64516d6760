"""A strategy for the Ray executor's retry test: it kills its own worker process once.

Addressed by file path, like ``_fakes.py``, so Ray workers import it; the marker file makes the kill
happen exactly once over the whole study (``O_EXCL``: of two tasks asking at once, one wins).
"""

from __future__ import annotations

import os
import signal

from nasarena.estimators.base import Evaluation
from nasarena.strategies.base import Proposal, Strategy


class KillOnce(Strategy):
    """Uniform sampling; the study's first ask (over all its runs) SIGKILLs its own process."""

    name = "test-kill-once"

    def __init__(self, space, rng, fidelities=(), marker: str = "") -> None:
        super().__init__(space, rng, fidelities)
        self.marker = marker

    def ask(self) -> Proposal:
        if self.marker:
            try:
                os.close(os.open(self.marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY))
            except FileExistsError:
                pass
            else:
                os.kill(os.getpid(), signal.SIGKILL)  # mid-task: the run has started, nothing is stored
        return self.propose(self.space.sample(self.rng))

    def tell(self, proposal: Proposal, evaluation: Evaluation) -> None:
        pass
