"""The common loop of one-shot strategies: supernet epochs as shared work, then scored candidates.

A one-shot strategy alternates two things on the run's clock:

1. ``shared(SharedWork("supernet", 1, {method, epoch, optimiser settings, ...}))``: one epoch of
   supernet training by the method (the ``supernet`` oracle does it and tells back the architecture
   logits in ``extras["alpha:<decision>:<choice>"]``);
2. fresh proposals of the architectures it derives after that epoch, at the fidelity label
   ``fidelities[epoch - 1]`` ("after k supernet epochs"): the argmax per edge (DARTS, GDAS), or
   candidates scored on the supernet (RSPS, SETN, ENAS; the best one is the pick). The runner ranks
   incumbents by fidelity first, so the latest epoch's pick is the incumbent, reported in the
   oracle's final metric (NB201's test accuracy), which the strategy never sees.

The number of epochs is the number of fidelities the oracle offers (``supernet`` with
``epochs=E`` offers ``epochs=1..E``: the length of its cosine schedule). The strategy only ever sees
what the oracle tells it (logits, supernet scores), never the oracle. It is sequential: when asked
while a result it needs is outstanding (more than one worker), it proposes a sample from its
current architecture distribution instead of waiting. ``per_epoch`` (in ``config()``, recorded with
the run) lists per epoch the derived architecture and the share of parameter-free operations
(NB201: ``none``, ``skip_connect``, ``avg_pool_3x3``; macro spaces: pools and ``identity``) among
its op decisions, which makes DARTS's drift to skip connections visible, and the seconds of
supernet training.

The logic is generic over the space's categorical decisions (logits per decision), so it runs on
any space for the conformance suite; the ``supernet`` oracle exists for NB201, ``macro-supernet``
for the ``chain`` and ``residual`` spaces (uniform and controller modes: ``rsps``, ``enas``; on
``chain`` also ``gdas``, ``darts`` and ``setn``).
"""

from __future__ import annotations

import math
from collections import deque
from typing import Any, ClassVar

import numpy as np

from nasarena.errors import InvalidArchitectureError, SearchExhausted
from nasarena.estimators.base import FULL, SHARED, Evaluation, Fidelity, SharedWork, supernet_mode
from nasarena.estimators.oneshot.settings import METHOD_MODES, SearchSettings
from nasarena.spaces.base import Arch, SearchSpace
from nasarena.strategies.base import Proposal, Strategy
from nasarena.strategies.random_search import usable_score

#: Parameter-free ops: NB201's (none, skip, avg pool) and the macro spaces' (pools, identity).
PARAM_FREE = frozenset({"none", "skip_connect", "avg_pool_3x3", "maxpool3x3", "avgpool3x3", "identity"})
#: Ops that forward their input unchanged (NB201's skip, the macro spaces' identity).
SKIP = frozenset({"skip_connect", "identity"})
WORK = "supernet"


class OneShot(Strategy):
    """Base of the one-shot strategies (see the module docstring); subclasses set ``method``."""

    name: ClassVar[str] = "oneshot"
    method: ClassVar[str] = "darts"
    requires: frozenset[str] = frozenset({SHARED, supernet_mode(METHOD_MODES["darts"])})

    def __init_subclass__(cls, **kwargs: Any) -> None:
        """A method requires shared work and its weight-step mode (``"supernet:<mode>"``), so a
        supernet that cannot train that mode refuses it before any work."""
        super().__init_subclass__(**kwargs)
        cls.requires = frozenset({SHARED, supernet_mode(METHOD_MODES[cls.method])})

    def __init__(
        self,
        space: SearchSpace,
        rng: np.random.Generator,
        fidelities: tuple[Fidelity, ...] = (FULL,),
        *,
        batch_size: int = 64,
        w_lr: float = 0.025,
        w_lr_min: float = 0.001,
        momentum: float = 0.9,
        nesterov: bool = True,
        w_weight_decay: float = 5e-4,
        a_lr: float = 3e-4,
        a_beta1: float = 0.5,
        a_beta2: float = 0.999,
        a_weight_decay: float = 1e-3,
        a_eps: float = 1e-8,
        tau_max: float = 10.0,
        tau_min: float = 0.1,
    ) -> None:
        super().__init__(space, rng, fidelities)
        self.settings = SearchSettings(
            self.method,
            int(batch_size),
            float(w_lr),
            float(w_lr_min),
            float(momentum),
            bool(nesterov),
            float(w_weight_decay),
            float(a_lr),
            float(a_beta1),
            float(a_beta2),
            float(a_weight_decay),
            float(a_eps),
            float(tau_max),
            float(tau_min),
        )
        self.epochs = len(self.fidelities)
        self.cards = space.cardinalities
        self.logits = [np.zeros(n) for n in self.cards]
        self.epoch = 0
        self._shared: Proposal | None = None
        self._queue: deque[Arch] = deque()
        self._waiting: set[int] = set()
        self.per_epoch: list[dict[str, Any]] = []
        self._best: tuple[float, Arch] | None = None

    # ---- hooks for subclasses ---------------------------------------------------------------------
    def work_params(self) -> dict[str, Any]:
        """Extra shared-work params of the next epoch (ENAS: the controller's architectures)."""
        return {}

    def after_epoch(self) -> list[Arch]:
        """Architectures to score after an epoch (default: the argmax per decision)."""
        return [self.argmax()]

    def next_phase(self) -> list[Arch]:
        """More architectures to score once the previous ones were told (ENAS); [] ends the epoch."""
        return []

    def on_score(self, proposal: Proposal, evaluation: Evaluation) -> None:
        """A scored architecture's result (possibly a failure)."""

    def sample_current(self) -> Arch:
        """A sample of the current architecture distribution (softmax of the logits)."""
        return self.valid_or_sample(
            tuple(
                int(self.rng.choice(n, p=_softmax(lg))) for n, lg in zip(self.cards, self.logits, strict=True)
            )
        )

    def derived(self) -> Arch | None:
        """The architecture the method picks now (default: the best scored this epoch)."""
        return None if self._best is None else self._best[1]

    # ---- helpers ----------------------------------------------------------------------------------
    def valid_or_sample(self, arch: Arch) -> Arch:
        """``arch`` in the space's canonical form, or a uniform sample if it is not a member."""
        try:
            return tuple(int(v) for v in self.space.validate(arch))
        except InvalidArchitectureError:
            return tuple(int(v) for v in self.space.validate(self.space.sample(self.rng)))

    def argmax(self) -> Arch:
        """The most likely choice per decision, ties broken by the strategy's generator.

        Where that tuple is not a member of the space (a macro chain whose argmax strides downsample
        more than ``max_reductions`` times; never in NB201), the pick is the nearest member:
        :meth:`nearest_valid`, not a uniform sample, so the reported pick stays the method's.
        """
        out = []
        for lg in self.logits:
            best = np.flatnonzero(lg == lg.max())
            out.append(int(best[0] if len(best) == 1 else self.rng.choice(best)))
        return self.nearest_valid(tuple(out))

    def nearest_valid(self, arch: Arch) -> Arch:
        """``arch`` if it is valid; else the member reached by the cheapest changes of single
        decisions, cost = the logit given up (argmax logit minus the new choice's). Greedy: the
        cheapest change that makes it valid, else the cheapest change of a decision not changed yet,
        repeated; a uniform sample only if no member is reached that way. Each repair is counted in
        this epoch's ``per_epoch`` entry (``repaired_decisions``)."""
        current, changed = list(arch), set()
        for _ in range(len(current)):
            if self._valid(current):
                break
            options = sorted(
                (float(self.logits[d][current[d]] - self.logits[d][c]), d, c)
                for d in range(len(current)) if d not in changed
                for c in range(self.cards[d]) if c != current[d]
            )
            if not options:
                break
            fixing = [o for o in options if self._valid([*current[:o[1]], o[2], *current[o[1] + 1:]])]
            _, d, c = fixing[0] if fixing else options[0]
            current[d] = c
            changed.add(d)
        if changed and self.per_epoch:
            self.per_epoch[-1]["repaired_decisions"] = len(changed)
        return self.valid_or_sample(tuple(current))

    def _valid(self, arch: list[int]) -> bool:
        try:
            self.space.validate(tuple(arch))
        except InvalidArchitectureError:
            return False
        return True

    def fidelity_of(self, epoch: int) -> Fidelity:
        """The label of scores after ``epoch`` supernet epochs."""
        return self.fidelities[min(max(epoch, 1), len(self.fidelities)) - 1]

    def _work(self) -> SharedWork:
        params = {**self.settings.as_dict(), "epoch": self.epoch + 1, **self.work_params()}
        return SharedWork(WORK, 1, params)

    # ---- ask / tell --------------------------------------------------------------------------------
    def ask(self) -> Proposal:
        """The next scored architecture, the next supernet epoch, or a stand-in sample while waiting."""
        if not self._queue and not self._waiting and self._shared is None and 0 < self.epoch:
            self._queue.extend(self.next_phase())
        if self._queue:
            return self._candidate(self._queue.popleft())
        if self._shared is None and not self._waiting:
            if self.epoch >= self.epochs:
                raise SearchExhausted(f"{self.name}: all {self.epochs} supernet epochs done")
            self._shared = self.shared(self._work())
            return self._shared
        return self._candidate(self.sample_current())

    def _candidate(self, arch: Arch) -> Proposal:
        proposal = self.propose(arch, self.fidelity_of(self.epoch))
        self._waiting.add(proposal.id)
        return proposal

    def tell(self, proposal: Proposal, evaluation: Evaluation) -> None:
        """Absorb an epoch's logits, or a candidate's supernet score."""
        if proposal.work is not None:
            self._shared = None
            self.epoch += 1
            extras = evaluation.extras if evaluation.ok else {}
            for i, n in enumerate(self.cards):
                for j in range(n):
                    v = extras.get(f"alpha:{i}:{j}")
                    if v is not None and math.isfinite(v):
                        self.logits[i][j] = float(v)
            self._best = None
            self.per_epoch.append(
                {
                    "epoch": self.epoch,
                    "supernet_seconds": float(evaluation.cost),
                    "ok": bool(evaluation.ok),
                    "train_loss": _finite(extras.get("w_loss")),
                    "tau": _finite(extras.get("tau")),
                }
            )
            self._queue.extend(self.after_epoch())
            self._record()
            return
        self._waiting.discard(proposal.id)
        score = usable_score(evaluation)
        if (
            score is not None
            and (self._best is None or score > self._best[0])
            and proposal.fidelity == self.fidelity_of(self.epoch)
        ):
            self._best = (score, proposal.arch)
        self.on_score(proposal, evaluation)
        self._record()

    def _record(self) -> None:
        """Update this epoch's entry of ``per_epoch`` with the derived architecture."""
        if not self.per_epoch:
            return
        arch = self.derived()
        if arch is None:
            return
        names = [
            str(d.choices[v]) if hasattr(d, "choices") else str(v)
            for d, v in zip(self.space.decisions, arch, strict=True)
        ]
        # the op decisions (those offering a parameter-free op) that exist in this architecture:
        # NB201's six edges; a macro space's op per layer up to the depth (not widths or strides)
        ops = [
            n
            for d, n, on in zip(self.space.decisions, names, self.space.active(arch), strict=True)
            if on and PARAM_FREE & set(map(str, getattr(d, "choices", ())))
        ] or names
        entry = self.per_epoch[-1]
        entry["derived"] = self.space.to_string(arch)
        entry["param_free_share"] = sum(n in PARAM_FREE for n in ops) / len(ops)
        entry["skip_share"] = sum(n in SKIP for n in ops) / len(ops)

    def config(self) -> dict[str, Any]:
        """Method, its weight-step mode, optimiser settings, epochs and the per-epoch record (derived
        cell, param-free share)."""
        return {
            **self.settings.as_dict(),
            "weight_mode": self.settings.mode,
            "epochs": self.epochs,
            "per_epoch": list(self.per_epoch),
        }


def _softmax(x: np.ndarray) -> np.ndarray:
    e = np.exp(x - x.max())
    return e / e.sum()


def _finite(v: Any) -> float | None:
    return float(v) if v is not None and math.isfinite(float(v)) else None


__all__ = ["PARAM_FREE", "WORK", "OneShot"]
