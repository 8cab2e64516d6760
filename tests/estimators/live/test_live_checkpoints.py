"""Resumable live training and its checkpoints: schedule over the top epochs, exact continuation on a
CPU, warm-start tensor copying, the checkpoint file format and the disk cap."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
import torch

from nasarena.estimators.live import trainer as trainer_mod
from nasarena.estimators.live.checkpoints import (
    MAGIC,
    CheckpointError,
    CheckpointStore,
    check_state,
    copy_matching,
    pack,
    unpack,
)
from nasarena.estimators.live.data import load_synthetic
from nasarena.estimators.live.trainer import DeviceData, Recipe, TrainSpec, train
from nasarena.spaces.nb201_torch import build_network

BEST = (3, 3, 3, 1, 3, 2)
OTHER = (1, 3, 2, 1, 0, 3)
SMALL = Recipe(batch_size=32)


@pytest.fixture(scope="module")
def data() -> DeviceData:
    return DeviceData(load_synthetic(96, 32, 32, resolution=16, seed=0), 16, torch.device("cpu"))


def _spec(epochs: int) -> TrainSpec:
    return TrainSpec(epochs=epochs, data_fraction=1.0, channels=4, cells=1, resolution=16)


def _train(data: DeviceData, epochs: int, **kw):
    return train(BEST, data, _spec(epochs), seed=3, recipe=SMALL, num_threads=1, **kw)


@pytest.fixture(scope="module")
def straight(data):
    return _train(data, 3, schedule_epochs=3, keep_state=True)


def test_continued_training_equals_straight_through_bit_for_bit(data, straight, monkeypatch) -> None:
    first = _train(data, 1, schedule_epochs=3, keep_state=True)
    state = unpack(pack(first.state))  # through the file format, as the oracle does
    epochs_run = []
    real = trainer_mod.run_epoch
    monkeypatch.setattr(trainer_mod, "run_epoch", lambda *a, **k: epochs_run.append(1) or real(*a, **k))
    cont = _train(data, 3, schedule_epochs=3, resume=state, keep_state=True)
    assert len(epochs_run) == 2  # it really resumed: only the two missing epochs were trained
    assert (cont.valid_curve, cont.train_loss, cont.test_acc) == \
        (straight.valid_curve, straight.train_loss, straight.test_acc)
    for name, tensor in straight.state["model"].items():
        assert torch.equal(tensor, cont.state["model"][name]), name
    assert cont.state["step"] == straight.state["step"]
    assert len(cont.epoch_seconds) == 3 and cont.epoch_seconds[0] == first.epoch_seconds[0]
    assert cont.seconds == pytest.approx(sum(cont.epoch_seconds[1:]) + cont.test_seconds, rel=1e-6)


def test_schedule_runs_over_the_top_epochs(data, straight) -> None:
    part = _train(data, 1, schedule_epochs=3)
    own = _train(data, 1)  # the old behaviour: a 1-epoch cosine schedule
    assert part.train_loss == straight.train_loss[:1]
    assert part.valid_curve == straight.valid_curve[:1]
    assert _train(data, 2, schedule_epochs=3).train_loss != _train(data, 2).train_loss
    assert own.seconds > 0
    with pytest.raises(Exception, match="cannot train"):
        _train(data, 3, schedule_epochs=2)


def test_a_state_of_another_training_is_refused(data, straight) -> None:
    other_seed = train(BEST, data, _spec(1), seed=4, recipe=SMALL, num_threads=1, schedule_epochs=3,
                       keep_state=True)
    with pytest.raises(CheckpointError, match="seed"):
        _train(data, 3, schedule_epochs=3, resume=other_seed.state)
    with pytest.raises(CheckpointError, match="schedule_epochs"):
        _train(data, 3, schedule_epochs=4, resume=straight.state)
    with pytest.raises(CheckpointError, match="epochs"):
        _train(data, 2, schedule_epochs=3, resume=straight.state)  # already past the target
    bad = {k: v for k, v in straight.state.items() if k != "optimizer"}
    with pytest.raises(CheckpointError, match="lacks"):
        check_state(bad, arch=list(BEST), seed=3, schedule_epochs=3, n_train=96, max_epochs=3)
    with pytest.raises(CheckpointError, match="arch"):
        train(OTHER, data, _spec(3), seed=3, recipe=SMALL, num_threads=1, schedule_epochs=3,
              resume=straight.state)
    wrong_arch = dict(straight.state, arch=list(OTHER))  # says OTHER, holds BEST's weights
    with pytest.raises(CheckpointError, match="does not fit"):
        train(OTHER, data, _spec(3), seed=3, recipe=SMALL, num_threads=1, schedule_epochs=3,
              resume=dict(wrong_arch, epochs=1, curve=[1.0], epoch_seconds=[1.0]))


def test_warm_start_copies_tensors_whose_names_and_shapes_match(data, straight) -> None:
    weights = straight.state["model"]
    fresh = build_network(OTHER, 10, 4, 1, generator=torch.Generator().manual_seed(0))
    before = {k: v.clone() for k, v in fresh.state_dict().items()}
    copied = copy_matching(fresh, weights)
    after = fresh.state_dict()
    assert copied and set(copied) < set(after)
    for name in after:
        same_shape = name in weights and weights[name].shape == after[name].shape
        assert (name in copied) == same_shape
        expect = weights[name] if name in copied else before[name]
        assert torch.equal(after[name], expect), name
    wider = build_network(OTHER, 10, 8, 1)  # another width: most shapes differ
    assert len(copy_matching(wider, weights)) < len(copied)
    warm = train(OTHER, data, _spec(1), seed=3, recipe=SMALL, num_threads=1, init=weights, keep_state=True)
    cold = train(OTHER, data, _spec(1), seed=3, recipe=SMALL, num_threads=1)
    assert warm.inherited == tuple(copied) and cold.inherited == ()
    assert warm.train_loss != cold.train_loss


def test_checkpoint_file_detects_damage_and_never_unpickles(straight, tmp_path: Path) -> None:
    blob = pack(straight.state)
    assert blob.startswith(MAGIC) and unpack(blob)["step"] == straight.state["step"]
    flipped = bytearray(blob)
    flipped[len(blob) // 2] ^= 0x01
    with pytest.raises(CheckpointError, match="checksum"):
        unpack(bytes(flipped))
    with pytest.raises(CheckpointError, match="checksum"):
        unpack(blob[:-100])
    with pytest.raises(CheckpointError, match="header"):
        unpack(b"PK" + blob[2:])

    class Sneaky:  # a general unpickle would rebuild this object (and run its __reduce__)
        def __reduce__(self):
            return (os.system, ("echo pwned",))

    import hashlib
    import io

    buf = io.BytesIO()
    torch.save({"x": Sneaky()}, buf)
    payload = buf.getvalue()
    with pytest.raises(CheckpointError, match="unreadable payload"):
        unpack(MAGIC + hashlib.sha256(payload).digest() + payload)


def _states(n: int) -> list[dict]:
    return [{"format": 1, "w": torch.full((1000,), float(i))} for i in range(n)]


def test_store_keeps_disk_use_under_the_cap_evicting_oldest_unreferenced(tmp_path: Path) -> None:
    size = len(pack(_states(1)[0]))
    store = CheckpointStore(tmp_path / "ck", cap_bytes=int(3.5 * size))
    for i, state in enumerate(_states(3)):
        assert store.save(f"k{i}", state) == size
        os.utime(store.path(f"k{i}"), (time.time() - 100 + i, time.time() - 100 + i))  # k0 oldest
    assert store.usage() == (3, 3 * size)
    store.save("k3", _states(4)[3], protect={"k0"})  # k0 is referenced: k1 goes instead
    names = sorted(p.stem for p in (tmp_path / "ck").iterdir())
    assert names == ["k0", "k2", "k3"] and store.usage()[1] <= store.cap_bytes
    assert store.load("k1") == (None, "is missing (never kept, evicted by the disk cap, or deleted)")
    state, why = store.load("k2")
    assert why == "" and torch.equal(state["w"], torch.full((1000,), 2.0))
    # referenced checkpoints go too when the cap cannot be met otherwise
    assert store.evict(protect={"k0", "k2", "k3"}, cap_bytes=size) == (2, 2 * size)
    assert store.usage() == (1, size)
    # a checkpoint larger than the whole cap is not written (it would evict everything)
    tiny = CheckpointStore(tmp_path / "tiny", cap_bytes=size - 1)
    assert tiny.save("big", _states(1)[0]) == 0 and tiny.usage() == (0, 0)
    (tmp_path / "ck" / "k9.ckpt").write_bytes(b"garbage")
    assert store.load("k9")[1].startswith("is damaged")
