"""DARTS (Liu et al., ICLR 2019), first order (``order=1``, the NB201 authors' ``darts-v1``, the
default) or second order (``order=2``, their ``darts-v2``).

Every step trains the weights on a batch of the first half with all ops mixed by softmax(alphas),
then the architecture logits on a batch of the second half (Adam): first order with the gradient at
the current weights, second order through one unrolled weight step (finite-difference
Hessian-vector product, see :meth:`~nasarena.estimators.oneshot.search.SupernetSearch.second_order_gradient`).
The pick after each epoch is the argmax per edge.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from nasarena.errors import ConfigError
from nasarena.estimators.base import FULL, Fidelity
from nasarena.spaces.base import Arch, SearchSpace
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
    """DARTS on the supernet, first or second ``order`` (see the module docstring)."""

    name: ClassVar[str] = "darts"
    method: ClassVar[str] = "darts"

    def __init__(
        self,
        space: SearchSpace,
        rng: np.random.Generator,
        fidelities: tuple[Fidelity, ...] = (FULL,),
        *,
        order: int = 1,
        **settings: Any,
    ) -> None:
        if order not in (1, 2):
            raise ConfigError(f"darts: order must be 1 (first-order) or 2 (second-order), got {order!r}")
        self.method = "darts" if order == 1 else "darts2"  # type: ignore[misc]
        self.order = int(order)
        super().__init__(space, rng, fidelities, **settings)

    def config(self) -> dict[str, Any]:
        """The base record plus the order."""
        return {**super().config(), "order": self.order}


__all__ = ["DARTS", "ArgmaxPick"]
