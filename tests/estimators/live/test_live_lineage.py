"""LiveOracle continue / warm start: same numbers as straight through, incremental cost, checkpoints
in the cache (missing or damaged ones are retrained, never reused), capabilities and handles."""

from __future__ import annotations

import logging
import pickle
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

from nasarena.errors import StrategyError
from nasarena.estimators.base import Fidelity
from nasarena.estimators.live import oracle as oracle_mod
from nasarena.estimators.live.cache import SCHEMA, CacheKey, EvalCache
from nasarena.estimators.live.cli import checkpoint_usage, tabulate
from nasarena.estimators.live.oracle import LiveOracle

BEST = (3, 3, 3, 1, 3, 2)
OTHER = (1, 3, 2, 1, 0, 3)
LOW = Fidelity(epochs=1, channels=4, cells=1)
MID = Fidelity(epochs=2, channels=4, cells=1)
HIGH = Fidelity(epochs=3, channels=4, cells=1)
NARROW = Fidelity(epochs=1, channels=4, cells=1, data_fraction=0.5)  # another ladder: not continuable


def _oracle(cache: Path | str, **kw) -> LiveOracle:
    args = {"dataset": "synthetic", "fidelities": [NARROW, LOW, MID, HIGH], "cache_dir": str(cache),
            "num_threads": 1, "batch_size": 32, "synthetic_train": 96, "synthetic_valid": 16,
            "synthetic_test": 16}
    return LiveOracle(**{**args, **kw})


def _rng() -> np.random.Generator:
    return np.random.default_rng(0)


def _same(a, b) -> bool:
    return (a.score, a.curve, a.params, a.flops) == (b.score, b.curve, b.params, b.flops)


def test_capabilities_schedules_and_variants(tmp_path: Path) -> None:
    o = _oracle(tmp_path)
    assert o.capabilities() == {"multi-fidelity", "continue", "warm-start"}
    assert o.schedule_epochs == {NARROW: 1, LOW: 3, MID: 3, HIGH: 3}  # the ladder's top epochs
    assert _oracle("none").capabilities() == {"multi-fidelity"}  # checkpoints need the cache
    assert _oracle(tmp_path, schedule="own").capabilities() == {"multi-fidelity", "warm-start"}
    assert _oracle(tmp_path, fidelities=[HIGH]).capabilities() == {"continue", "warm-start"}
    # the schedule is part of the variant, except where every fidelity runs its own (old caches)
    assert o.variant != _oracle(tmp_path, schedule="own").variant
    assert _oracle(tmp_path, fidelities=[HIGH]).variant == _oracle(tmp_path, schedule="own").variant
    d = o.describe()
    assert d["capabilities"] == ["continue", "multi-fidelity", "warm-start"]
    assert d["checkpoint_cap_mb"] == 1024


def test_continue_equals_straight_through_and_costs_the_increment(tmp_path: Path, monkeypatch) -> None:
    straight = _oracle(tmp_path / "a").evaluate(BEST, HIGH, _rng())
    o = _oracle(tmp_path / "b")
    low = o.evaluate(BEST, LOW, _rng())
    handle = low.handle
    assert isinstance(handle, CacheKey) and len(pickle.dumps(handle)) < 1000
    assert pickle.loads(pickle.dumps(handle)) == handle
    mid = o.evaluate(BEST, MID, _rng(), start=handle)
    high = o.evaluate(BEST, HIGH, _rng(), start=mid.handle)
    assert _same(high, straight)  # bit for bit on a CPU
    assert high.extras["resumed"] == 1.0 and high.extras["continued_from_epochs"] == 2.0
    assert mid.curve == straight.curve[:2] and low.curve == straight.curve[:1]
    record = EvalCache(tmp_path / "b").get(high.handle)
    assert high.cost == pytest.approx(record["epoch_seconds"][2] + record["test_seconds"])
    assert high.cost < record["cost"] and high.extras["train_seconds"] == pytest.approx(high.cost, rel=1e-6)
    # the lineage's costs add up to the straight-through cost (plus one test pass per piece)
    pieces = low.cost + mid.cost + high.cost
    assert pieces == pytest.approx(record["cost"] + low.cost + mid.cost - sum(record["epoch_seconds"][:2]))

    # asked again (or in a new process), a continuation is read, not trained, and costs the same
    monkeypatch.setattr(oracle_mod, "train_with_retry", lambda *a, **k: pytest.fail("trained again"))
    again = _oracle(tmp_path / "b").evaluate(BEST, HIGH, _rng(), start=mid.handle)
    assert _same(again, high) and again.cost == high.cost and again.extras["cached"] == 1.0
    # a straight-through record answers a continue as well, at the increment
    via_straight = _oracle(tmp_path / "a").evaluate(BEST, HIGH, _rng(), start=low.handle)
    assert _same(via_straight, straight) and via_straight.cost < straight.cost


def test_missing_or_damaged_checkpoint_is_retrained_not_reused(tmp_path: Path, caplog) -> None:
    straight = _oracle(tmp_path / "ref").evaluate(BEST, HIGH, _rng())
    o = _oracle(tmp_path / "c")
    low = o.evaluate(BEST, LOW, _rng())
    o.checkpoints.path(low.handle.digest()).unlink()
    with caplog.at_level(logging.WARNING):
        high = o.evaluate(BEST, HIGH, _rng(), start=low.handle)
    assert "is missing" in caplog.text and "from scratch" in caplog.text
    assert _same(high, straight) and high.extras["retrained"] == 1.0 and high.extras["resumed"] == 0.0
    assert high.extras["train_seconds"] > high.cost  # it really trained all epochs; charged the increment

    o2 = _oracle(tmp_path / "d")
    low2 = o2.evaluate(BEST, LOW, _rng())
    path = o2.checkpoints.path(low2.handle.digest())
    blob = bytearray(path.read_bytes())
    blob[-50] ^= 0xFF
    path.write_bytes(bytes(blob))
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        high2 = o2.evaluate(BEST, HIGH, _rng(), start=low2.handle)
    assert "is damaged" in caplog.text and _same(high2, straight) and high2.extras["retrained"] == 1.0


def test_continue_across_ladders_trains_from_scratch_and_bad_requests_are_refused(tmp_path: Path) -> None:
    o = _oracle(tmp_path)
    narrow = o.evaluate(BEST, NARROW, _rng())
    ev = o.evaluate(BEST, HIGH, _rng(), start=narrow.handle)  # another data fraction: nothing to reuse
    assert ev.extras["continued_from_epochs"] == 0.0 and ev.cost == EvalCache(tmp_path).get(ev.handle)["cost"]
    high = o.evaluate(BEST, HIGH, _rng())
    assert _same(ev, high)
    with pytest.raises(StrategyError, match="keeps its architecture"):
        o.evaluate(OTHER, HIGH, _rng(), start=narrow.handle)
    with pytest.raises(StrategyError, match="lower fidelity"):
        o.evaluate(BEST, LOW, _rng(), start=high.handle)
    with pytest.raises(StrategyError, match="not both"):
        o.evaluate(BEST, HIGH, _rng(), start=narrow.handle, inherit=narrow.handle)
    with pytest.raises(StrategyError, match="variant"):
        _oracle(tmp_path, lr=0.05).evaluate(BEST, HIGH, _rng(), start=narrow.handle)
    with pytest.raises(StrategyError, match="cache_dir"):
        _oracle("none").evaluate(BEST, HIGH, _rng(), inherit=narrow.handle)


def test_warm_start_inherits_matching_tensors_and_is_kept_apart(tmp_path: Path, caplog) -> None:
    o = _oracle(tmp_path)
    parent = o.evaluate(BEST, HIGH, _rng())
    warm = o.evaluate(OTHER, LOW, _rng(), inherit=parent.handle)
    cold = o.evaluate(OTHER, LOW, _rng())
    # every tensor comes from the parent: equal ones copied, the 1x1 <-> 3x3 kernels resized (morphism)
    assert 0 < warm.extras["inherited_tensors"] == warm.extras["model_tensors"]
    assert cold.extras["inherited_tensors"] == 0.0 and cold.extras["cached"] == 0.0  # not the warm record
    assert warm.handle != cold.handle and warm.handle.digest() != cold.handle.digest()
    assert warm.handle.parent == parent.handle
    record = EvalCache(tmp_path).get(warm.handle)
    assert len(record["inherited"]) == warm.extras["inherited_tensors"]
    assert "stem.0.weight" in record["inherited"]
    # a warm start can be continued like any training
    cont = o.evaluate(OTHER, HIGH, _rng(), start=warm.handle)
    straight_warm = _oracle(tmp_path / "w").evaluate(OTHER, HIGH, _rng(), inherit=parent.handle)
    assert cont.extras["resumed"] == 1.0
    assert cont.extras["inherited_tensors"] == warm.extras["inherited_tensors"]
    assert _same(cont, straight_warm)
    # the parent's checkpoint gone: the parent is retrained first (same weights on a CPU), never skipped
    o.checkpoints.path(parent.handle.digest()).unlink()
    with caplog.at_level(logging.WARNING):
        again = o.evaluate(OTHER, MID, _rng(), inherit=parent.handle)
    assert "warm-start parent" in caplog.text and "retraining it first" in caplog.text
    ref = _oracle(tmp_path / "w").evaluate(OTHER, MID, _rng(), inherit=parent.handle)
    assert _same(again, ref) and again.extras["train_seconds"] > 0
    # tables hold fresh trainings only: BEST at HIGH and the cold OTHER at LOW
    table = tabulate(tmp_path, tmp_path / "t.parquet")
    assert sorted(zip(table.column("arch").to_pylist(), table.column("fidelity").to_pylist(), strict=True)) \
        == sorted([(o.space.to_string(BEST), HIGH.key()), (o.space.to_string(OTHER), LOW.key())])


def test_checkpoint_cap_and_the_checkpoints_command(tmp_path: Path, capsys) -> None:
    o = _oracle(tmp_path, checkpoint_cap_mb=1e-6 * 1)  # 1 byte: nothing fits
    ev = o.evaluate(BEST, LOW, _rng())
    assert o.checkpoints.usage() == (0, 0)
    high = o.evaluate(BEST, HIGH, _rng(), start=ev.handle)  # no checkpoint kept: retrained, right numbers
    assert high.extras["retrained"] == 1.0
    o2 = _oracle(tmp_path / "big")
    for arch in (BEST, OTHER, (0, 1, 2, 3, 0, 1)):
        o2.evaluate(arch, LOW, _rng())
    n, used = o2.checkpoints.usage()
    assert n == 3 and used > 0
    lines = checkpoint_usage(tmp_path / "big")
    assert lines == [f"synthetic: 3 checkpoints, {used / 1e6:.2f} MB in {o2.checkpoints.root}"]
    newest = o2.checkpoints.entries()[-1][1]
    checkpoint_usage(tmp_path / "big", prune_mb=newest / 1e6)  # least recently used go first
    assert o2.checkpoints.usage()[0] == 1
    from nasarena.bench.cli import main

    assert main(["checkpoints", str(tmp_path / "big")]) == 0
    assert "1 checkpoints" in capsys.readouterr().out


def test_old_cache_records_without_the_new_columns_still_load(tmp_path: Path) -> None:
    o = _oracle(tmp_path)
    ev = o.evaluate(BEST, HIGH, _rng())
    path = EvalCache(tmp_path).path(ev.handle)
    new = ("parent", "schedule_epochs", "epoch_seconds", "test_seconds", "inherited", "n_tensors")
    pq.write_table(pq.read_table(path).select([n for n in SCHEMA.names if n not in new]), path)
    again = _oracle(tmp_path).evaluate(BEST, HIGH, _rng())
    assert again.extras["cached"] == 1.0 and _same(again, ev) and again.cost == ev.cost
    cont = _oracle(tmp_path).evaluate(BEST, HIGH, _rng(), start=o._key(BEST, LOW, 0))
    assert _same(cont, ev) and cont.cost == pytest.approx(ev.cost * 2 / 3)  # pro rata without epoch times
