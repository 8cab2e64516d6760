"""Datasets of the live oracle: the generated images and the CIFAR pickle loader."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pytest

from nasarena.errors import DataError
from nasarena.estimators.live.data import load_cifar, load_dataset, load_synthetic, make_synthetic


def test_synthetic_is_deterministic_and_well_formed() -> None:
    x1, y1 = make_synthetic(300, 16, seed=3)
    x2, y2 = make_synthetic(300, 16, seed=3)
    x3, _ = make_synthetic(300, 16, seed=4)
    np.testing.assert_array_equal(x1, x2)
    np.testing.assert_array_equal(y1, y2)
    assert not np.array_equal(x1, x3)
    assert x1.shape == (300, 3, 16, 16) and x1.dtype == np.uint8
    assert set(y1.tolist()) == set(range(10))
    assert make_synthetic(5, 32)[0].shape == (5, 3, 32, 32)


def test_synthetic_splits_are_independent_draws() -> None:
    s = load_synthetic(100, 50, 40, resolution=16, seed=0)
    assert (len(s.train_y), len(s.valid_y), len(s.test_y)) == (100, 50, 40)
    assert s.num_classes == 10 and s.resolution == 16
    assert not np.array_equal(s.train_x[:40], s.test_x)
    assert s.fingerprint != load_synthetic(100, 50, 40, resolution=16, seed=1).fingerprint


def test_synthetic_class_is_not_readable_from_colour_statistics() -> None:
    # Nearest class mean on per-image mean colour and contrast must stay near chance (10%):
    # the label lives in spatial structure, not in global colour statistics.
    x, y = make_synthetic(4000, 16, seed=0)
    f = x.reshape(len(x), 3, -1).astype(float) / 255
    feats = np.concatenate([f.mean(2), f.std(2)], axis=1)
    tr, te = slice(0, 3000), slice(3000, None)
    means = np.stack([feats[tr][y[tr] == c].mean(0) for c in range(10)])
    pred = np.argmin(((feats[te][:, None] - means[None]) ** 2).sum(-1), axis=1)
    assert (pred == y[te]).mean() < 0.2


def _write_cifar10(root: Path, n: int = 20) -> None:
    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        batch = {"batch_label": name, "labels": rng.integers(0, 10, n).tolist(),
                 "data": rng.integers(0, 256, (n, 3072), dtype=np.uint8), "filenames": ["f.png"] * n}
        with (folder / name).open("wb") as fh:
            pickle.dump(batch, fh, protocol=2)


def test_cifar10_loader_reads_the_pickle_layout(tmp_path: Path) -> None:
    _write_cifar10(tmp_path)
    s = load_cifar("cifar10", tmp_path, valid_fraction=0.5)
    assert s.train_x.shape == (50, 3, 32, 32) and s.valid_x.shape == (50, 3, 32, 32)
    assert s.test_x.shape == (20, 3, 32, 32) and s.train_x.dtype == np.uint8
    assert s.num_classes == 10
    assert load_dataset("cifar10-valid", tmp_path).fingerprint == s.fingerprint


def test_cifar100_loader_uses_fine_labels(tmp_path: Path) -> None:
    folder = tmp_path / "cifar-100-python"
    folder.mkdir()
    rng = np.random.default_rng(1)
    for name, n in (("train", 40), ("test", 10)):
        batch = {"fine_labels": rng.integers(0, 100, n).tolist(), "coarse_labels": [0] * n,
                 "data": rng.integers(0, 256, (n, 3072), dtype=np.uint8)}
        (folder / name).write_bytes(pickle.dumps(batch, protocol=2))
    s = load_cifar("cifar100", tmp_path, valid_fraction=0.25)
    assert (len(s.train_y), len(s.valid_y), len(s.test_y)) == (30, 10, 10)
    assert s.num_classes == 100


def test_missing_cifar_says_where_to_put_the_files(tmp_path: Path) -> None:
    with pytest.raises(DataError) as err:
        load_cifar("cifar10", tmp_path / "nowhere")
    msg = str(err.value)
    assert "cifar-10-batches-py" in msg and "data_batch_1" in msg and "test_batch" in msg
    assert str(tmp_path / "nowhere") in msg and "cifar-10-python.tar.gz" in msg
    with pytest.raises(DataError, match="cifar-100-python"):
        load_cifar("cifar100", tmp_path)


def test_cifar_loader_refuses_code_in_pickles(tmp_path: Path) -> None:
    _write_cifar10(tmp_path)

    class Evil:
        def __reduce__(self):  # noqa: ANN204 - what a forged file would contain
            return (print, ("pwned",))

    (tmp_path / "cifar-10-batches-py" / "data_batch_3").write_bytes(pickle.dumps({"data": Evil()}))
    with pytest.raises(DataError, match="refusing to unpickle builtins.print"):
        load_cifar("cifar10", tmp_path)


def test_cifar_loader_rejects_wrong_arrays(tmp_path: Path) -> None:
    _write_cifar10(tmp_path)
    bad = {"labels": [0, 1], "data": np.zeros((2, 100), dtype=np.float64)}
    (tmp_path / "cifar-10-batches-py" / "test_batch").write_bytes(pickle.dumps(bad, protocol=2))
    with pytest.raises(DataError, match="uint8 array of shape"):
        load_cifar("cifar10", tmp_path)
