"""DARTS, first order (Liu et al., ICLR 2019), as in the NB201 authors' ``darts-v1``.

Every step trains the weights on a batch of the first half with all ops mixed by softmax(alphas),
then the architecture logits on a batch of the second half (Adam). The pick after each epoch is the
argmax per edge. Second-order DARTS (the unrolled gradient) is not implemented.
"""

from __future__ import annotations

from typing import ClassVar

from nasarena.spaces.base import Arch
from nasarena.strategies.oneshot.base import OneShot


class ArgmaxPick(OneShot):
    """A method whose pick is the argmax of its logits per decision (one scored architecture per epoch)."""

    _pick: Arch | None = None

    def after_epoch(self) -> list[Arch]:
        """The argmax cell, scored on the supernet so that it becomes the incumbent."""
        self._pick = self.argmax()
        return [self._pick]

    def derived(self) -> Arch | None:
        """The argmax chosen after the last epoch."""
        return self._pick


class DARTS(ArgmaxPick):
    """First-order DARTS on the supernet (see the module docstring)."""

    name: ClassVar[str] = "darts"
    method: ClassVar[str] = "darts"


__all__ = ["DARTS", "ArgmaxPick"]
