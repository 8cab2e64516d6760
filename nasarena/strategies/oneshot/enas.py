"""ENAS (Pham et al., ICML 2018) on the NB201 supernet, as the NB201 authors' ``enas``.

An LSTM controller (:class:`~nasarena.strategies.reinforce_lstm.ReinforceLSTM`) proposes the
architectures: each epoch's weight steps train architectures it samples (sent with the shared
work, cycled one per step), then the controller is trained by REINFORCE on ``controller_samples``
architectures scored on the supernet (reward = supernet accuracy / 100, entropy bonus 1e-4,
baseline decay 0.99, Adam lr 0.001), then ``candidates`` (default 100) samples are scored and the
best is the pick. Deviations from the authors' script (recorded): the controller is updated after
every sample (they average 20 and clip the gradient norm at 5), its Adam keeps eps 1e-8 (they use
1e-3), and the first epoch's weight steps cycle through ``weight_samples`` architectures (later
epochs send one per step, as the oracle reported the steps per epoch).
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from nasarena.errors import ConfigError
from nasarena.estimators.base import FULL, Evaluation, Fidelity
from nasarena.spaces.base import Arch, SearchSpace
from nasarena.strategies.base import Proposal, distinct
from nasarena.strategies.oneshot.rsps import ScoredPick
from nasarena.strategies.reinforce_lstm import ReinforceLSTM


class ENAS(ScoredPick):
    """ENAS on the supernet (see the module docstring)."""

    name: ClassVar[str] = "enas"
    method: ClassVar[str] = "enas"

    def __init__(
        self,
        space: SearchSpace,
        rng: np.random.Generator,
        fidelities: tuple[Fidelity, ...] = (FULL,),
        *,
        controller_samples: int = 1000,
        weight_samples: int = 100,
        controller_lr: float = 0.001,
        hidden_size: int = 32,
        baseline_decay: float = 0.99,
        entropy_weight: float = 1e-4,
        **settings: Any,
    ) -> None:
        super().__init__(space, rng, fidelities, **settings)
        for label, value in (("controller_samples", controller_samples), ("weight_samples", weight_samples)):
            if isinstance(value, bool) or int(value) < 1:
                raise ConfigError(f"enas: {label} must be an int >= 1, got {value!r}")
        self.controller_samples, self.weight_samples = int(controller_samples), int(weight_samples)
        self.controller = ReinforceLSTM(
            space,
            np.random.default_rng(int(rng.integers(2**62))),
            self.fidelities,
            lr=controller_lr,
            hidden_size=hidden_size,
            baseline_momentum=baseline_decay,
            reward_scale=100.0,
            entropy_weight=entropy_weight,
        )
        self._controller_kw = {
            "controller_lr": float(controller_lr),
            "hidden_size": int(hidden_size),
            "baseline_decay": float(baseline_decay),
            "entropy_weight": float(entropy_weight),
        }
        self._steps: int | None = None
        self._ctl_left = 0
        self._ctl_next: tuple[Arch, Proposal] | None = None
        self._ctl: dict[int, Proposal] = {}
        self._scored_candidates = False

    def _draw(self) -> Arch:
        """A controller sample that is not an outstanding controller proposal (no policy update)."""
        c = self.controller
        return self.valid_or_sample(c._numpy.sample(c._sampler.uniform))

    def sample_current(self) -> Arch:
        """A controller sample."""
        return self._draw()

    def work_params(self) -> dict[str, Any]:
        """The architectures of the next epoch's weight steps."""
        n = self._steps or self.weight_samples
        return {"archs": [list(self._draw()) for _ in range(n)]}

    def after_epoch(self) -> list[Arch]:
        """Nothing yet: controller training follows, one sample at a time (:meth:`next_phase`)."""
        self._scored_candidates = False
        self._ctl_left = self.controller_samples
        return []

    def next_phase(self) -> list[Arch]:
        """Controller training (one sample, drawn when the previous one was told, so each draw sees the
        updated policy), then the ``candidates`` of this epoch, once."""
        if self._ctl_left > 0:
            self._ctl_left -= 1
            inner = self.controller.ask()
            arch = self.valid_or_sample(inner.arch)  # type: ignore[arg-type]
            self._ctl_next = (arch, inner)
            return [arch]
        if self._scored_candidates:
            return []
        self._scored_candidates = True
        return distinct(self._draw, self.candidates)

    def _candidate(self, arch: Arch) -> Proposal:
        proposal = super()._candidate(arch)
        if self._ctl_next is not None and self._ctl_next[0] == arch:
            self._ctl[proposal.id] = self._ctl_next[1]
            self._ctl_next = None
        return proposal

    def on_score(self, proposal: Proposal, evaluation: Evaluation) -> None:
        """A controller-training sample updates the controller; a candidate does not."""
        inner = self._ctl.pop(proposal.id, None)
        if inner is not None:
            self.controller.tell(inner, evaluation)

    def tell(self, proposal: Proposal, evaluation: Evaluation) -> None:
        """Learn the steps per epoch from shared work, then the base's bookkeeping."""
        if proposal.work is not None and evaluation.ok:
            steps = evaluation.extras.get("steps")
            if steps is not None and steps >= 1:
                self._steps = int(steps)
        super().tell(proposal, evaluation)

    def config(self) -> dict[str, Any]:
        """The base record plus the controller's settings and sample counts."""
        return {
            **super().config(),
            **self._controller_kw,
            "controller_samples": self.controller_samples,
            "weight_samples": self.weight_samples,
        }


__all__ = ["ENAS"]
