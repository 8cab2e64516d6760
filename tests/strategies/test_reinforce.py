"""REINFORCE with independent logits: it learns rewarded choices, uses NB201's EMA baseline, skips
failures, samples as its policy says, and handles ragged and constrained spaces."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy import stats

from nasarena.errors import ConfigError
from nasarena.estimators.base import Evaluation, Fidelity
from nasarena.spaces.base import Decision, SearchSpace
from nasarena.spaces.nb201 import NB201Space
from nasarena.strategies.conformance import TinySpace
from nasarena.strategies.reinforce import EMABaseline, Reinforce

FID = (Fidelity(epochs=200),)



def _ev(p, score: float) -> Evaluation:
    return Evaluation(p.arch, p.fidelity, score, 1.0)


def test_probability_of_a_rewarded_choice_increases() -> None:
    s = Reinforce(NB201Space(), np.random.default_rng(0), FID)
    start = s.probabilities()[0][3]
    assert start == pytest.approx(0.2)  # zero logits: uniform
    history = []
    for i in range(200):
        p = s.ask()
        s.tell(p, _ev(p, 80.0 + 5.0 * (p.arch[0] == 3)))  # only edge 0 = conv3x3 matters
        if i % 50 == 49:
            history.append(s.probabilities()[0][3])
    assert history == sorted(history) and history[-1] > 0.5
    # Decisions that do not affect the reward stay close to uniform.
    assert max(abs(s.probabilities()[5] - 0.2)) < 0.15


def test_policy_gradient_step_matches_hand_computed_reinforce() -> None:
    s = Reinforce(NB201Space(), np.random.default_rng(1), FID, lr=0.1)
    p = s.ask()
    s.tell(p, _ev(p, 50.0))  # first reward: baseline == reward, advantage 0 -> Adam sees a zero gradient
    assert np.allclose(np.concatenate(s.probabilities()), 0.2)
    q = s.ask()
    s.tell(q, _ev(q, 100.0))  # advantage > 0: every chosen logit goes up by ~lr (Adam's first step)
    probs = s.probabilities()
    for d, choice in enumerate(q.arch):
        assert probs[d][choice] > 0.2 and np.argmax(probs[d]) == choice
    # Adam's 2nd step (the 1st had a zero gradient): lr * m_hat / sqrt(v_hat) for a gradient g < 0.
    m_hat = 0.1 / (1 - 0.9 ** 2)
    v_hat = 0.001 / (1 - 0.999 ** 2)
    assert s.logits.detach()[0, q.arch[0]].item() == pytest.approx(0.1 * m_hat / math.sqrt(v_hat), rel=1e-4)


def test_ema_baseline_is_bias_corrected_like_nb201() -> None:
    b = EMABaseline(0.9)
    assert b.value == 0.0
    b.update(0.8)
    assert b.value == pytest.approx(0.8)
    b.update(0.6)
    assert b.value == pytest.approx((0.9 * 0.1 * 0.8 + 0.1 * 0.6) / (0.9 * 0.1 + 0.1))
    with pytest.raises(ConfigError):
        EMABaseline(1.0)


def test_failures_are_skipped_without_update() -> None:
    s = Reinforce(NB201Space(), np.random.default_rng(0), FID)
    for i in range(6):
        p = s.ask()
        s.tell(p, _ev(p, 50.0 + i))
    before = [x.copy() for x in s.probabilities()]
    baseline = s.baseline.value
    for _ in range(5):
        p = s.ask()
        s.tell(p, Evaluation.failed(p.arch, p.fidelity, "out of memory"))
        p = s.ask()
        s.tell(p, Evaluation(p.arch, p.fidelity, math.nan, 1.0))
    assert s.n_updates == 6 and s.baseline.value == baseline
    assert all(np.array_equal(a, b) for a, b in zip(before, s.probabilities(), strict=True))


def test_samples_follow_the_policy() -> None:
    s = Reinforce(NB201Space(), np.random.default_rng(0), FID)
    with torch.no_grad():
        s.logits[2] = torch.tensor([2.0, 0.0, -1.0, 0.5, 1.0])
    s._refresh()
    draws = [s.ask().arch[2] for _ in range(5000)]
    probs = s.probabilities()[2].astype(np.float64)
    expected = probs / probs.sum() * 5000
    assert stats.chisquare(np.bincount(draws, minlength=5), expected).pvalue > 1e-3


def test_out_of_order_tells_with_outstanding_asks() -> None:
    s = Reinforce(NB201Space(), np.random.default_rng(0), FID)
    batch = [s.ask() for _ in range(8)]
    for i, p in enumerate(reversed(batch)):
        s.tell(p, _ev(p, 60.0 + i))
    assert s.n_updates == 8


class _Ragged(SearchSpace):
    name = "ragged"
    decisions = (Decision("a", ("0", "1")), Decision("b", ("0", "1", "2", "3", "4", "5", "6")))

    def is_valid(self, arch: tuple[int, ...]) -> bool:
        return arch != (0, 0)


def test_ragged_constrained_space() -> None:
    s = Reinforce(_Ragged(), np.random.default_rng(0), FID, entropy_weight=0.01)
    probs = s.probabilities()
    assert [len(x) for x in probs] == [2, 7] and all(x.sum() == pytest.approx(1) for x in probs)
    for _ in range(100):
        p = s.ask()
        assert p.arch != (0, 0)
        s.tell(p, _ev(p, float(p.arch[1])))
    assert all(np.isfinite(x).all() for x in s.probabilities())  # masked entropy keeps gradients finite
    assert np.argmax(s.probabilities()[1]) == 6


def test_entropy_bonus_spreads_the_policy() -> None:
    def final_entropy(weight: float) -> float:
        s = Reinforce(TinySpace(), np.random.default_rng(0), FID, lr=0.05, entropy_weight=weight)
        for _ in range(60):
            p = s.ask()
            s.tell(p, _ev(p, 80.0 + 10.0 * p.arch[0]))
        return float(sum(stats.entropy(x) for x in s.probabilities()))

    assert final_entropy(0.5) > final_entropy(0.0)


@pytest.mark.parametrize("kwargs", [{"lr": 0}, {"lr": -1}, {"baseline_momentum": 1.0},
                                    {"reward_scale": 0}, {"entropy_weight": -0.1}])
def test_bad_hyperparameters_are_rejected(kwargs: dict) -> None:
    with pytest.raises(ConfigError):
        Reinforce(NB201Space(), np.random.default_rng(0), FID, **kwargs)


def test_config_records_the_hyperparameters() -> None:
    s = Reinforce(NB201Space(), np.random.default_rng(0), FID)
    assert s.config() == {"lr": 0.01, "baseline_momentum": 0.9, "reward_scale": 100.0, "entropy_weight": 0.0}
