"""The LSTM controller: numpy sampling equals the torch model, it learns rewarded sequences, it is
seeded only from the strategy's generator, and its entropy bonus works."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy import stats

from nasarena.errors import ConfigError
from nasarena.estimators.base import Evaluation, Fidelity
from nasarena.spaces.nb201 import NB201Space
from nasarena.strategies.conformance import TinySpace
from nasarena.strategies.reinforce_lstm import ReinforceLSTM

FID = (Fidelity(epochs=200),)



def _ev(p, score: float) -> Evaluation:
    return Evaluation(p.arch, p.fidelity, score, 1.0)


def _torch_step_probs(s: ReinforceLSTM, arch: tuple[int, ...]) -> list[np.ndarray]:
    lp = s.controller.log_probs(arch).exp().detach().numpy()
    slots = zip(s.controller.offsets, s.controller.cards, strict=True)
    return [lp[t, o:o + n] for t, (o, n) in enumerate(slots)]


def test_numpy_sampler_equals_the_torch_controller_after_updates() -> None:
    s = ReinforceLSTM(NB201Space(), np.random.default_rng(0), FID, lr=0.05)
    for i in range(15):
        p = s.ask()
        s.tell(p, _ev(p, 70.0 + i % 4))
    for arch in [(0, 1, 2, 3, 4, 0), (4, 4, 4, 4, 4, 4), (2, 0, 1, 3, 3, 1)]:
        ours = s._numpy.step_probs(arch)
        theirs = _torch_step_probs(s, arch)
        assert all(np.allclose(a, b, atol=1e-5) for a, b in zip(ours, theirs, strict=True))
        expected = float(sum(np.log(b[c]) for b, c in zip(theirs, arch, strict=True)))
        assert s.log_prob(arch) == pytest.approx(expected, abs=1e-4)


def test_samples_follow_the_controller() -> None:
    s = ReinforceLSTM(TinySpace(), np.random.default_rng(3), FID, lr=0.05)
    for _ in range(20):
        p = s.ask()
        s.tell(p, _ev(p, 50.0 + 10 * p.arch[0]))
    draws = [s.ask().arch for _ in range(3000)]
    expected = _torch_step_probs(s, (1, 1, 1))[0]
    # (0, 0, 0) is invalid in TinySpace and redrawn; condition the expected first-choice law on validity.
    p_invalid = expected[0] * np.prod([_torch_step_probs(s, (0, 0, 0))[t][0] for t in (1, 2)])
    law = expected.copy()
    law[0] -= p_invalid
    law /= law.sum()
    counts = np.bincount([a[0] for a in draws], minlength=3)
    assert stats.chisquare(counts, law * len(draws)).pvalue > 1e-3
    assert (0, 0, 0) not in draws


def test_rewarded_sequence_becomes_likely() -> None:
    s = ReinforceLSTM(NB201Space(), np.random.default_rng(0), FID)
    target = (3, 3)
    start = np.exp(s.log_prob((3, 3, 0, 0, 0, 0)) - s.log_prob((0, 0, 0, 0, 0, 0)))
    for _ in range(150):
        p = s.ask()
        s.tell(p, _ev(p, 80.0 + 4.0 * (p.arch[:2] == target)))
    probs = s._numpy.step_probs((3, 3, 0, 0, 0, 0))
    assert probs[0][3] > 0.5 and probs[1][3] > 0.5
    assert np.exp(s.log_prob((3, 3, 0, 0, 0, 0)) - s.log_prob((0, 0, 0, 0, 0, 0))) > 10 * start


def test_initialisation_comes_from_the_strategy_generator_only() -> None:
    def params(seed: int, torch_seed: int) -> list[torch.Tensor]:
        torch.manual_seed(torch_seed)
        s = ReinforceLSTM(NB201Space(), np.random.default_rng(seed), FID)
        return [p.detach().clone() for p in s.controller.parameters()]

    state = torch.get_rng_state()
    a, b, c = params(0, 1), params(0, 2), params(1, 1)
    assert all(torch.equal(x, y) for x, y in zip(a, b, strict=True))
    assert not all(torch.equal(x, y) for x, y in zip(a, c, strict=True))
    assert all(x.abs().max() <= 0.1 for x in a)
    torch.set_rng_state(state)


def test_failures_and_constant_rewards_do_not_move_the_controller_without_entropy() -> None:
    s = ReinforceLSTM(NB201Space(), np.random.default_rng(0), FID)
    before = [p.detach().clone() for p in s.controller.parameters()]
    for _ in range(5):
        p = s.ask()
        s.tell(p, Evaluation.failed(p.arch, p.fidelity, "nan loss"))
    assert s.n_updates == 0
    assert all(torch.equal(x, y) for x, y in zip(before, s.controller.parameters(), strict=True))
    p = s.ask()
    s.tell(p, _ev(p, 90.0))  # first reward: advantage 0, gradient 0
    assert all(torch.allclose(x, y) for x, y in zip(before, s.controller.parameters(), strict=True))


def test_entropy_bonus_raises_entropy_under_constant_reward() -> None:
    def mean_entropy(weight: float) -> float:
        s = ReinforceLSTM(TinySpace(), np.random.default_rng(0), FID, lr=0.05, entropy_weight=weight)
        for _ in range(30):
            p = s.ask()
            s.tell(p, _ev(p, 75.0))  # constant reward: only the entropy term has a gradient
        return float(np.mean([sum(stats.entropy(x) for x in s._numpy.step_probs(a))
                              for a in TinySpace().enumerate()]))

    base = mean_entropy(0.0)
    assert mean_entropy(0.1) > base
    assert base <= 3 * np.log(3) + 1e-9


def test_bad_hyperparameters_and_config() -> None:
    with pytest.raises(ConfigError, match="hidden_size"):
        ReinforceLSTM(NB201Space(), np.random.default_rng(0), FID, hidden_size=0)
    with pytest.raises(ConfigError, match="lr"):
        ReinforceLSTM(NB201Space(), np.random.default_rng(0), FID, lr=-1.0)
    s = ReinforceLSTM(NB201Space(), np.random.default_rng(0), FID)
    assert s.config() == {"lr": 0.002, "hidden_size": 32, "baseline_momentum": 0.9, "reward_scale": 100.0,
                          "entropy_weight": 0.0}
