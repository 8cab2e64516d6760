"""REINFORCE with an LSTM controller that emits the decisions in sequence (Zoph & Le, 2017 style).

At step ``t`` the controller's input is the embedding of the choice made at step ``t-1`` (a learned
start embedding at ``t=0``); one softmax head per decision maps the LSTM output to that decision's
choices. Unlike :mod:`~nasarena.strategies.reinforce` (independent logits), later decisions can
depend on earlier ones. Training is the same REINFORCE step: bias-corrected EMA baseline (momentum
0.9, updated before the advantage as in the NB201 code), Adam, reward ``score / reward_scale``, and
an optional entropy bonus (``entropy_weight`` times the summed per-step entropy along the told
architecture's path; ENAS used 1e-4; off by default, as in Zoph & Le).

Defaults: hidden size 32 (the controller has ~10k weights; NB201 has only six 5-way decisions),
weights initialised uniform(-0.1, 0.1) as in ENAS, and Adam lr 0.002. Zoph & Le's 0.0006 was tuned
for 12,800 samples and barely moves the controller within this harness's ~150-evaluation budget;
larger rates make the shared LSTM collapse onto a few architectures early (measured on nb201-lite
cifar10-valid, 150 evaluations, 12 seeds: distinct architectures proposed 149 / 150 / 118 / 86 at
lr 0.001 / 0.002 / 0.005 / 0.01, and the best final accuracy was highest at 0.002). This is lower
than ``reinforce``'s 0.01 because one LSTM step moves all decisions at once.

Determinism without global state: modules are built on the ``meta`` device (so torch's global RNG is
never consumed), then initialised from a ``torch.Generator`` seeded by the strategy's numpy
generator. Sampling draws uniforms from the numpy generator. Asynchronous tells, failed
evaluations and constrained spaces are handled as in :class:`~nasarena.strategies.reinforce.Reinforce`
(log-probability at tell time; failures skipped; invalid samples redrawn).
"""

from __future__ import annotations

import bisect
import itertools
import math
from typing import Any, ClassVar

import numpy as np
import torch
from torch import nn

from nasarena.errors import StrategyError
from nasarena.estimators.base import FULL, Evaluation, Fidelity
from nasarena.spaces.base import Arch, SearchSpace
from nasarena.strategies.base import Proposal, Strategy, positive_int
from nasarena.strategies.random_search import UniformSampler, usable_score
from nasarena.strategies.reinforce import (
    MAX_RESAMPLES,
    EMABaseline,
    check_rl_hyperparameters,
    reinforce_update,
)

INIT_RANGE = 0.1


class Controller(nn.Module):
    """Embedding -> one-layer LSTM -> per-decision linear heads (one matmul, sliced per decision)."""

    def __init__(self, cards: tuple[int, ...], hidden_size: int) -> None:
        super().__init__()
        self.cards = cards
        offsets = [0, *itertools.accumulate(cards)][:-1]
        self.offsets = tuple(offsets)
        self.embedding = nn.Embedding(1 + sum(cards), hidden_size)  # token 0 = start
        self.lstm = nn.LSTM(hidden_size, hidden_size)
        self.heads = nn.Linear(hidden_size, sum(cards))
        # mask[t] selects decision t's slice of the head output. A plain CPU tensor, not a buffer,
        # so that building the module on the meta device (see ReinforceLSTM) leaves it intact.
        mask = torch.zeros(len(cards), sum(cards), dtype=torch.bool, device="cpu")
        for t, (o, n) in enumerate(zip(offsets, cards, strict=True)):
            mask[t, o:o + n] = True
        self.mask = mask

    def tokens(self, arch: Arch) -> torch.Tensor:
        """Input tokens for teacher forcing: start, then each choice but the last."""
        return torch.tensor([0, *(1 + o + a for o, a in zip(self.offsets[:-1], arch[:-1], strict=True))])

    def log_probs(self, arch: Arch) -> torch.Tensor:
        """(decisions x sum(cards)) log-probabilities along ``arch``'s path (-inf off each slice)."""
        x = self.embedding(self.tokens(arch)).unsqueeze(1)
        out, _ = self.lstm(x)
        logits = self.heads(out.squeeze(1)).masked_fill(~self.mask, -math.inf)
        return torch.log_softmax(logits, dim=1)


class NumpySampler:
    """Batch-1 inference of a :class:`Controller` in numpy, for ``ask``.

    Why: sampling is sequential (each input is the previous choice), and at batch size 1 torch's
    per-operator dispatch (~5-50 us per op, far more with oversubscribed threads) dominates; the
    same arithmetic on numpy views of the parameters costs ~1 us per op. The views share memory with
    the parameters, which Adam updates in place, so they never go stale; the input projection of
    every embedding is recomputed once per update (:meth:`invalidate`). Gradients are always taken
    in torch (see :meth:`Controller.log_probs`), and a test checks that both give the same
    probabilities. PyTorch's LSTM gate order is (input, forget, cell, output).
    """

    def __init__(self, controller: Controller) -> None:
        lstm = controller.lstm
        self.cards = controller.cards
        self.offsets = controller.offsets
        self.hidden = lstm.hidden_size
        self._emb = controller.embedding.weight.detach().numpy()
        self._w_ih = lstm.weight_ih_l0.detach().numpy()
        self._w_hh = lstm.weight_hh_l0.detach().numpy()
        self._b_ih = lstm.bias_ih_l0.detach().numpy()
        self._b_hh = lstm.bias_hh_l0.detach().numpy()
        self._w_head = controller.heads.weight.detach().numpy()
        self._b_head = controller.heads.bias.detach().numpy()
        self._proj: np.ndarray | None = None

    def invalidate(self) -> None:
        """Call after the parameters changed (an optimizer step)."""
        self._proj = None

    def _projection(self) -> np.ndarray:
        if self._proj is None:  # every token's input contribution to the gates, with both biases
            self._proj = self._emb @ self._w_ih.T + (self._b_ih + self._b_hh)
        return self._proj

    def step_probs(self, path: Arch) -> list[list[float]]:
        """Choice probabilities of every decision along ``path`` (for tests)."""
        return [probs for probs, _ in self._walk(lambda _probs, t: path[t])]

    def sample(self, uniform: Any) -> Arch:
        """Draw one architecture; ``uniform()`` supplies floats in [0, 1)."""

        def choose(probs: list[float], _t: int) -> int:
            cum = list(itertools.accumulate(probs))
            return min(bisect.bisect_right(cum, uniform() * cum[-1]), len(probs) - 1)

        return tuple(choice for _, choice in self._walk(choose))

    def _walk(self, choose: Any) -> list[tuple[list[float], int]]:
        proj = self._projection()
        hsz = self.hidden
        h = np.zeros(hsz, dtype=proj.dtype)
        c = np.zeros(hsz, dtype=proj.dtype)
        token = 0
        out = []
        for t, (o, n) in enumerate(zip(self.offsets, self.cards, strict=True)):
            gates = proj[token] + self._w_hh @ h
            sig = 0.5 + 0.5 * np.tanh(0.5 * gates)  # logistic sigmoid of every gate
            c = sig[hsz:2 * hsz] * c + sig[:hsz] * np.tanh(gates[2 * hsz:3 * hsz])
            h = sig[3 * hsz:] * np.tanh(c)
            logits = (self._w_head[o:o + n] @ h + self._b_head[o:o + n]).tolist()
            top = max(logits)
            exps = [math.exp(v - top) for v in logits]
            total = sum(exps)
            probs = [e / total for e in exps]
            choice = choose(probs, t)
            out.append((probs, choice))
            token = 1 + o + choice
        return out


class ReinforceLSTM(Strategy):
    """REINFORCE with a Zoph & Le style LSTM controller (see module docstring)."""

    name: ClassVar[str] = "reinforce-lstm"

    def __init__(self, space: SearchSpace, rng: np.random.Generator,
                 fidelities: tuple[Fidelity, ...] = (FULL,), lr: float = 0.002, hidden_size: int = 32,
                 baseline_momentum: float = 0.9, reward_scale: float = 100.0,
                 entropy_weight: float = 0.0) -> None:
        super().__init__(space, rng, fidelities)
        check_rl_hyperparameters(self.name, lr, baseline_momentum, reward_scale, entropy_weight)
        positive_int(self.name, "hidden_size", hidden_size)
        self.lr = float(lr)
        self.hidden_size = hidden_size
        self.reward_scale = float(reward_scale)
        self.entropy_weight = float(entropy_weight)
        self.baseline = EMABaseline(float(baseline_momentum))
        with torch.device("meta"):  # no initialisation from torch's global RNG
            controller = Controller(space.cardinalities, hidden_size)
        self.controller = controller.to_empty(device="cpu")
        gen = torch.Generator().manual_seed(int(rng.integers(2**63 - 1)))
        with torch.no_grad():
            for p in self.controller.parameters():
                nn.init.uniform_(p, -INIT_RANGE, INIT_RANGE, generator=gen)
        self.optimizer = torch.optim.Adam(self.controller.parameters(), lr=self.lr, fused=True)
        self._numpy = NumpySampler(self.controller)
        self._sampler = UniformSampler(space, rng)
        self._fid = self.fidelity
        self.n_updates = 0

    def ask(self) -> Proposal:
        """Sample an architecture from the controller (resampling invalid combinations)."""
        arch = self._numpy.sample(self._sampler.uniform)
        if self._sampler.constrained:
            tries = 1
            while not self.space.is_valid(arch):
                if tries >= MAX_RESAMPLES:
                    raise StrategyError(f"{self.name}: {MAX_RESAMPLES} controller samples in a row were "
                                        f"invalid architectures of {self.space.name!r}; lower lr or add "
                                        f"entropy_weight")
                arch = self._numpy.sample(self._sampler.uniform)
                tries += 1
        return self.propose(arch, self._fid)

    def log_prob(self, arch: Arch) -> float:
        """Log-probability of ``arch`` under the current controller (for tests and analysis)."""
        with torch.no_grad():
            return float(self._path_log_prob(self.controller.log_probs(arch), arch))

    def _path_log_prob(self, log_probs: torch.Tensor, arch: Arch) -> torch.Tensor:
        cols = torch.tensor([o + a for o, a in zip(self.controller.offsets, arch, strict=True)])
        return log_probs[torch.arange(len(arch)), cols].sum()

    def tell(self, proposal: Proposal, evaluation: Evaluation) -> None:
        """One REINFORCE + Adam step on a successful result; failures are skipped."""
        score = usable_score(evaluation)
        if score is None:
            return
        log_probs = self.controller.log_probs(proposal.arch)
        reinforce_update(self.optimizer, self.baseline, score / self.reward_scale,
                         self._path_log_prob(log_probs, proposal.arch), log_probs, self.controller.mask,
                         self.entropy_weight)
        self._numpy.invalidate()
        self.n_updates += 1

    def config(self) -> dict[str, Any]:
        """Learning rate, controller size, baseline momentum, reward scale and entropy weight."""
        return {"lr": self.lr, "hidden_size": self.hidden_size, "baseline_momentum": self.baseline.momentum,
                "reward_scale": self.reward_scale, "entropy_weight": self.entropy_weight}


__all__ = ["Controller", "ReinforceLSTM"]
