"""The live trainer on CPU at tiny fidelities: augmentation, fidelity knobs, determinism, failures."""

from __future__ import annotations

import math

import pytest
import torch

from nasarena.errors import ConfigError
from nasarena.estimators.live import trainer as trainer_mod
from nasarena.estimators.live.data import load_synthetic
from nasarena.estimators.live.trainer import (
    DeviceData,
    Recipe,
    TrainingFailed,
    TrainResult,
    TrainSpec,
    augment,
    train,
    train_with_retry,
)
from nasarena.spaces.nb201 import NB201Space

BEST = (3, 3, 3, 1, 3, 2)  # the best NB201 cifar10 cell
CPU = torch.device("cpu")
SMALL = Recipe(batch_size=32)


@pytest.fixture(scope="module")
def splits():
    return load_synthetic(128, 32, 32, resolution=16, seed=0)


@pytest.fixture(scope="module")
def data16(splits) -> DeviceData:
    return DeviceData(splits, 16, CPU)


def _spec(**kw) -> TrainSpec:
    base = {"epochs": 1, "data_fraction": 1.0, "channels": 4, "cells": 1, "resolution": 16}
    return TrainSpec(**{**base, **kw})


def test_augment_crops_and_flips_a_window_of_the_padded_image() -> None:
    x = torch.arange(2 * 3 * 8 * 8, dtype=torch.int64).reshape(2, 3, 8, 8).to(torch.uint8)
    gen = torch.Generator().manual_seed(0)
    out = augment(x, gen, pad=2)
    assert out.shape == x.shape and out.dtype == torch.uint8
    padded = torch.nn.functional.pad(x, (2, 2, 2, 2))
    for i in range(2):
        windows = [padded[i, :, oy:oy + 8, ox:ox + 8] for oy in range(5) for ox in range(5)]
        windows += [w.flip(-1) for w in windows]
        assert any(torch.equal(out[i], w) for w in windows)
    again = augment(x, torch.Generator().manual_seed(0), pad=2)
    assert torch.equal(out, again)
    # over many draws both flips and several offsets occur
    outs = {augment(x[:1], gen, pad=2).numpy().tobytes() for _ in range(40)}
    assert len(outs) > 5


def test_training_reports_curve_loss_test_and_time(data16: DeviceData) -> None:
    r = train(BEST, data16, _spec(epochs=2), seed=0, recipe=SMALL, num_threads=1)
    assert isinstance(r, TrainResult)
    assert len(r.valid_curve) == 2 and len(r.train_loss) == 2
    assert all(0.0 <= a <= 100.0 for a in r.valid_curve) and 0.0 <= r.test_acc <= 100.0
    assert r.seconds > 0 and r.n_train == 128 and r.batch_size == 32 and r.device == "cpu"


def test_training_is_deterministic_under_a_seed_on_cpu(data16: DeviceData) -> None:
    a = train(BEST, data16, _spec(), seed=5, recipe=SMALL, num_threads=1)
    b = train(BEST, data16, _spec(), seed=5, recipe=SMALL, num_threads=1)
    c = train(BEST, data16, _spec(), seed=6, recipe=SMALL, num_threads=1)
    assert (a.valid_curve, a.train_loss, a.test_acc) == (b.valid_curve, b.train_loss, b.test_acc)
    assert a.train_loss != c.train_loss


def test_thread_count_is_restored(data16: DeviceData) -> None:
    before = torch.get_num_threads()
    train(BEST, data16, _spec(), seed=0, recipe=SMALL, num_threads=1 if before != 1 else 2)
    assert torch.get_num_threads() == before


def test_fidelity_knobs_change_what_is_trained(splits, data16: DeviceData) -> None:
    built = []

    class Spy(NB201Space):  # the trainer builds through the space (nasarena.spaces.trainable)
        def build_model(self, arch, num_classes, resolution, size, generator=None):
            model = super().build_model(arch, num_classes, resolution, size, generator)
            built.append((size["channels"], size["cells"], sum(p.numel() for p in model.parameters())))
            return model

    spy = Spy()
    r_frac = train(BEST, data16, _spec(data_fraction=0.5), seed=0, recipe=SMALL, num_threads=1, space=spy)
    assert r_frac.n_train == 64
    r_ep = train(BEST, data16, _spec(epochs=3), seed=0, recipe=SMALL, num_threads=1, space=spy)
    assert len(r_ep.valid_curve) == 3
    train(BEST, data16, _spec(channels=6, cells=2), seed=0, recipe=SMALL, num_threads=1, space=spy)
    assert built[0][:2] == (4, 1) and built[-1][:2] == (6, 2) and built[-1][2] > built[0][2]
    data8 = DeviceData(splits, 8, CPU)
    assert data8.train_x.shape[-1] == 8 and data8.test_x.shape[-1] == 8
    r8 = train(BEST, data8, _spec(resolution=8), seed=0, recipe=SMALL, num_threads=1)
    assert len(r8.valid_curve) == 1
    with pytest.raises(ConfigError, match="resolution"):
        train(BEST, data16, _spec(resolution=8), seed=0, recipe=SMALL, num_threads=1)


def test_invalid_fidelities_are_rejected(splits) -> None:
    with pytest.raises(ConfigError):
        _spec(epochs=0)
    with pytest.raises(ConfigError):
        _spec(data_fraction=1.5)
    with pytest.raises(ConfigError, match="multiple of 4"):  # the space checks what its network can take
        train(BEST, DeviceData(splits, 12, CPU), _spec(resolution=10), seed=0, recipe=SMALL, num_threads=1)


def test_nan_loss_raises_training_failed(data16: DeviceData) -> None:
    def nan_loss(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return torch.nn.functional.cross_entropy(logits, target) * float("nan")

    with pytest.raises(TrainingFailed, match="nan.*epoch 1"):
        train(BEST, data16, _spec(), seed=0, recipe=SMALL, num_threads=1, loss_fn=nan_loss)
    with pytest.raises(TrainingFailed, match="diverged"):  # an absurd learning rate really diverges
        train(BEST, data16, _spec(epochs=2), seed=0, recipe=Recipe(batch_size=32, lr=1e30), num_threads=1)


class _FakeCudaData:
    device = torch.device("cuda")


def test_cuda_oom_is_retried_once_at_half_batch(monkeypatch) -> None:
    calls = []
    ok = TrainResult((50.0,), (1.0,), 40.0, 1.0, 128, 10, "cuda")

    def fake_train(arch, data, spec, seed, recipe, **kw):
        calls.append(recipe)
        if len(calls) == 1:
            raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2 GiB")
        return ok

    monkeypatch.setattr(trainer_mod, "train", fake_train)
    monkeypatch.setattr(torch.cuda, "empty_cache", lambda: None)
    assert train_with_retry(BEST, _FakeCudaData(), _spec(), 0, Recipe()) is ok
    assert [c.batch_size for c in calls] == [256, 128]
    assert math.isclose(calls[1].lr, 0.05)


def test_second_oom_is_a_training_failure(monkeypatch) -> None:
    def always_oom(*args, **kw):
        raise torch.OutOfMemoryError("CUDA out of memory")

    monkeypatch.setattr(trainer_mod, "train", always_oom)
    monkeypatch.setattr(torch.cuda, "empty_cache", lambda: None)
    with pytest.raises(TrainingFailed, match="out of memory at batch 256.*again at batch 128"):
        train_with_retry(BEST, _FakeCudaData(), _spec(), 0, Recipe())


def test_other_errors_are_not_retried(monkeypatch) -> None:
    def broken(*args, **kw):
        raise RuntimeError("shape mismatch")

    monkeypatch.setattr(trainer_mod, "train", broken)
    with pytest.raises(RuntimeError, match="shape mismatch"):
        train_with_retry(BEST, _FakeCudaData(), _spec(), 0, Recipe())
