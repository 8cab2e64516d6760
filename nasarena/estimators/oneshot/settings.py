"""The settings of one supernet search: a method and its optimisers (torch-free, so strategies that
only build shared-work requests need not import torch).

Defaults are the NB201 authors' weight-sharing protocol (their ``weight-sharing.config`` and
``search-cell.py``): SGD lr 0.025 cosine-annealed to 0.001, momentum 0.9, Nesterov, weight decay
5e-4, batch 64; Adam for the architecture parameters with lr 3e-4, betas (0.5, 0.999), weight
decay 1e-3; GDAS's tau from 10 to 0.1.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from typing import Any

from nasarena.errors import ConfigError
from nasarena.estimators.base import SUPERNET_MODES

METHODS = ("darts", "darts2", "gdas", "rsps", "setn", "enas")  # darts2: second-order DARTS

#: How a weight step picks what it trains (the NB201 authors' four modes, plus SETN's sampling):
#: ``joint`` every op mixed by softmax(alphas); ``gumbel`` one Gumbel-sampled op per edge
#: (straight-through); ``uniform`` one uniformly random architecture per step; ``sampled`` one
#: architecture sampled from softmax(alphas) per step; ``controller`` the architectures a controller
#: (the strategy) sent with the work, one per step.
MODES = SUPERNET_MODES
METHOD_MODES: dict[str, str] = {
    "darts": "joint",
    "darts2": "joint",
    "gdas": "gumbel",
    "rsps": "uniform",
    "setn": "sampled",
    "enas": "controller",
}
#: Methods with an architecture step (Adam on the logits, second half of the data).
ARCH_STEP_METHODS = frozenset({"darts", "darts2", "gdas", "setn"})


@dataclass(frozen=True)
class SearchSettings:
    """A method and its optimiser settings (defaults: the NB201 authors' weight-sharing config)."""

    method: str = "darts"
    batch_size: int = 64
    w_lr: float = 0.025
    w_lr_min: float = 0.001
    momentum: float = 0.9
    nesterov: bool = True
    w_weight_decay: float = 5e-4
    a_lr: float = 3e-4
    a_beta1: float = 0.5
    a_beta2: float = 0.999
    a_weight_decay: float = 1e-3
    a_eps: float = 1e-8
    tau_max: float = 10.0
    tau_min: float = 0.1

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise ConfigError(f"supernet method must be one of {', '.join(METHODS)}, got {self.method!r}")
        if self.batch_size < 2:
            raise ConfigError(f"supernet batch_size must be >= 2 (BatchNorm), got {self.batch_size}")
        if not (self.w_lr > 0 and 0 <= self.w_lr_min <= self.w_lr and self.a_lr >= 0):
            raise ConfigError(
                f"supernet learning rates need w_lr > 0, 0 <= w_lr_min <= w_lr, a_lr >= 0; got "
                f"{self.w_lr}, {self.w_lr_min}, {self.a_lr}"
            )
        if not self.tau_max >= self.tau_min > 0:
            raise ConfigError(f"gumbel tau needs tau_max >= tau_min > 0, got {self.tau_max}, {self.tau_min}")

    @classmethod
    def from_params(cls, params: Mapping[str, Any]) -> SearchSettings:
        """Build from a shared-work ``params`` mapping; an unknown key is a one-line ConfigError."""
        known = {f.name for f in fields(cls)}
        extra = sorted(set(params) - known)
        if extra:
            raise ConfigError(
                f"supernet work has unknown setting(s) {', '.join(extra)}; known: {', '.join(sorted(known))}"
            )
        return cls(**dict(params))

    @property
    def mode(self) -> str:
        """The weight-step mode of the method (:data:`METHOD_MODES`)."""
        return METHOD_MODES[self.method]

    def as_dict(self) -> dict[str, Any]:
        """JSON-safe settings (recorded with the run)."""
        return asdict(self)


__all__ = ["ARCH_STEP_METHODS", "METHODS", "METHOD_MODES", "MODES", "SearchSettings"]
