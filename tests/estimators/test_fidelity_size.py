"""Fidelity: generic fields plus the space's own size knobs; keys stored before the move are unchanged."""

from __future__ import annotations

import copy
import dataclasses
import pickle

import pytest

from nasarena.errors import ConfigError
from nasarena.estimators.base import FULL, Fidelity


def test_nb201_keys_are_byte_identical_to_the_old_fields() -> None:
    old = {Fidelity(epochs=1, data_fraction=0.5, channels=8, cells=1):
           "epochs=1,data_fraction=0.5,channels=8,cells=1",
           Fidelity(cells=1, channels=4, epochs=2, resolution=8): "epochs=2,channels=4,cells=1,resolution=8",
           Fidelity(epochs=12): "epochs=12", FULL: "full"}
    for fid, key in old.items():
        assert fid.key() == key and Fidelity.parse(key) == fid
    fid = Fidelity(epochs=3, channels=8, cells=1)
    assert (fid.channels, fid.cells, fid.resolution) == (8, 1, None)
    assert Fidelity(epochs=3).channels is None


def test_size_knobs_of_other_spaces_round_trip() -> None:
    fid = Fidelity(epochs=2, width_mult=0.5, depth_limit=3)
    assert fid.key() == "epochs=2,depth_limit=3,width_mult=0.5"
    back = Fidelity.parse(fid.key())
    assert back == fid and hash(back) == hash(fid) and isinstance(back.knob("depth_limit"), int)
    assert fid.size == (("depth_limit", 3), ("width_mult", 0.5)) and fid.knob("missing", 7) == 7
    assert Fidelity(size={"width_mult": 0.5}) == Fidelity(width_mult=0.5) == Fidelity(size=fid.size[1:])


def test_values_behave_as_before() -> None:
    fid = Fidelity(epochs=1, data_fraction=0.5, channels=8, cells=1)
    assert pickle.loads(pickle.dumps(fid)) == fid and copy.deepcopy(fid) == fid
    assert dataclasses.replace(fid, epochs=3) == Fidelity(epochs=3, data_fraction=0.5, channels=8, cells=1)
    assert Fidelity(epochs=1, channels=8) < Fidelity(epochs=3, channels=8)
    with pytest.raises(dataclasses.FrozenInstanceError):
        fid.epochs = 2  # type: ignore[misc]
    assert Fidelity(epochs=3, channels=None) == Fidelity(epochs=3)


@pytest.mark.parametrize(("text", "message"), [("epochs", "name=value"), ("epochs=x", "must be a number"),
                                               ("size=1", "name=value"), ("channels=8,,", "name=value")])
def test_bad_keys_are_one_clear_error(text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        Fidelity.parse(text)
