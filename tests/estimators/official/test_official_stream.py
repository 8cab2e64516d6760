"""The streaming import: same cache as the in-memory (official API's) path, bounded memory, restricted."""

from __future__ import annotations

import copy
import io
import json
import os
import pickle
import tracemalloc
from pathlib import Path
from typing import Any

import numpy as np
import official_fixture as fx
import pyarrow.parquet as pq
import pytest
import torch

from nasarena.bench.cli import main
from nasarena.errors import DataError
from nasarena.estimators import official_stream
from nasarena.estimators.official_import import import_nb201
from nasarena.estimators.official_stream import StandIn, open_torch_pickle, stream_records


def _same_cache(a: Path, b: Path) -> None:
    """Two caches hold the same files with the same contents (manifests: all but reader/path/timing)."""
    files = sorted(p.relative_to(a) for p in a.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(b) for p in b.rglob("*") if p.is_file())
    for rel in files:
        if rel.suffix == ".npy":
            x, y = np.load(a / rel, allow_pickle=False), np.load(b / rel, allow_pickle=False)
            assert x.shape == y.shape and np.array_equal(x, y, equal_nan=True), rel
        elif rel.suffix == ".parquet":
            x, y = pq.read_table(a / rel), pq.read_table(b / rel)
            assert x.schema == y.schema, rel
            for name in x.column_names:  # NaN marks the official None: equal to itself here
                cx, cy = x.column(name), y.column(name)
                same = cx.equals(cy) or np.array_equal(cx.to_numpy(), cy.to_numpy(), equal_nan=True)
                assert same, (rel, name)
    ma, mb = (json.loads((c / "manifest.json").read_text()) for c in (a, b))
    for key in ("reader", "source_path", "source_name", "sha256", "md5", "hash_check", "hash_message"):
        ma.pop(key, None), mb.pop(key, None)
    assert ma == mb


def _records(path: Path) -> dict[Any, Any]:
    out: dict[Any, Any] = {}
    with open_torch_pickle(path) as (fh, _size, _done):
        rest = stream_records(fh, out.__setitem__, path)
    assert all(v is None for v in rest["arch2infos"].values()) and len(rest["arch2infos"]) == len(out)
    return out


def test_streamed_cache_equals_the_in_memory_one(nb201_file: Path, nb201_cache: Path, tmp_path: Path) -> None:
    """The default (streaming) import and the official API's way (torch.load the whole dict) agree."""
    old = import_nb201(nb201_file, tmp_path / "old", trust=True, in_memory=True)
    assert old.reader == "in-memory"
    _same_cache(nb201_cache, old.out)


@pytest.fixture(scope="module")
def small(nb201_data: Path) -> dict[str, Any]:
    """A 3-architecture benchmark dict in the NB201 layout."""
    return fx.topology_dict(nb201_data, fx.pick_indices(3))


def test_records_equal_torch_load_in_both_torch_save_formats(small: dict[str, Any], tmp_path: Path) -> None:
    """torch.save writes a zip (data.pkl) today and a sequence of pickles before torch 1.6: both stream."""
    for zipped in (True, False):
        path = tmp_path / f"{zipped}.pth"
        torch.save(small, path, _use_new_zipfile_serialization=zipped)
        assert (path.read_bytes()[:2] == b"PK") is zipped
        assert _records(path) == torch.load(path, map_location="cpu", weights_only=False)["arch2infos"]


def test_any_record_order_and_pickled_record_classes(small: dict[str, Any], tmp_path: Path) -> None:
    """Records in reverse order, as ArchResults objects (not state dicts): the same cache as in memory."""
    from nas_201_api.api_utils import ArchResults

    ref = tmp_path / "ref.pth"
    torch.save(small, ref)
    objects = {i: {k: ArchResults.create_from_state_dict(v) for k, v in small["arch2infos"][i].items()}
               for i in sorted(small["arch2infos"], reverse=True)}
    path = tmp_path / "classes.pth"
    torch.save({**small, "arch2infos": objects}, path)
    records = _records(path)
    assert list(records) == sorted(records, reverse=True)
    assert all(isinstance(r["full"], StandIn) and r["full"].kind == "ArchResults" for r in records.values())
    ours = import_nb201(path, tmp_path / "ours", trust=True)
    _same_cache(ours.out, import_nb201(ref, tmp_path / "ref", trust=True, in_memory=True).out)


class _Boom:
    def __reduce__(self) -> Any:
        return (os.system, ("echo pwned > /dev/null",))


def test_refuses_code_and_names_it(tmp_path: Path) -> None:
    bad = tmp_path / "NAS-Bench-201-v1_1-096897.pth"
    torch.save({"meta_archs": [], "arch2infos": {0: {"less": _Boom()}}, "evaluated_indexes": set()}, bad)
    with pytest.raises(DataError, match=r"refusing to unpickle (posix|os)\.system"):
        import_nb201(bad, tmp_path / "c", trust=True)
    assert not (tmp_path / "c").exists() and [p.name for p in tmp_path.iterdir()] == [bad.name]


def test_reference_into_a_finished_record_is_a_clear_error() -> None:
    """A container shared by two records cannot be streamed: say so and name the fallback."""
    shared = [1.0, 2.0]
    records = {0: {"less": shared, "full": [0.0]}, 1: {"less": shared, "full": [1.0]}}
    data = pickle.dumps({"meta_archs": ["a", "b"], "arch2infos": records, "evaluated_indexes": {0, 1}},
                        protocol=2)
    with pytest.raises(DataError, match="in_memory=True"):
        stream_records(io.BytesIO(data), lambda k, r: None, Path("x.pth"))
    # interned strings shared between records (attribute names) are kept and resolve
    key = "train_acc1es"
    records = {0: {key: [1.0], "full": []}, 1: {key: [2.0], "full": []}}
    data = pickle.dumps({"meta_archs": [], "arch2infos": records}, protocol=4)
    got: dict[int, Any] = {}
    stream_records(io.BytesIO(data), got.__setitem__, Path("x.pth"))
    assert got == records


@pytest.mark.parametrize("protocol", [0, 1, 2, 4, 5])
def test_every_pickle_protocol_and_single_key_records(protocol: int) -> None:
    """Records with one key (built with SETITEM, not SETITEMS) and a nested dict of int keys."""
    obj = {"meta_archs": ["a", "b", "c"], "arch2infos": {
        0: {"less": {"x": 1.0}}, 1: {"less": {"x": 2.0}, "full": {0: 3.0, 1: 4.0}}, 2: {"full": {}}},
        "evaluated_indexes": {0, 1, 2}}
    got: dict[Any, Any] = {}
    rest = stream_records(io.BytesIO(pickle.dumps(obj, protocol=protocol)), got.__setitem__, Path("x"))
    assert got == obj["arch2infos"] and rest["arch2infos"] == {0: None, 1: None, 2: None}


def test_truncated_file_is_one_clear_error(small: dict[str, Any], tmp_path: Path) -> None:
    for zipped in (True, False):
        cut = tmp_path / "NAS-Bench-201-v1_1-096897.pth"
        torch.save(small, cut, _use_new_zipfile_serialization=zipped)
        cut.write_bytes(cut.read_bytes()[: cut.stat().st_size // 2])
        with pytest.raises(DataError, match="ends early|incomplete"):
            import_nb201(cut, tmp_path / "c", trust=True)
        assert not (tmp_path / "c").exists()


def test_preflight_memory_check(nb201_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                capsys: pytest.CaptureFixture[str]) -> None:
    import psutil

    class _Vm:
        available = 300 * 2**20

    monkeypatch.setattr(psutil, "virtual_memory", lambda: _Vm())
    assert main(["data", "import-nb201", str(nb201_file), "--trust", "--out", str(tmp_path / "c")]) == 2
    err = capsys.readouterr().err.strip()
    assert "needs about 1.0 GiB of free memory and only 0.3 GiB are available" in err
    assert len(err.splitlines()) == 1 and "Traceback" not in err
    _Vm.available = 2**20  # below 4x this small file
    with pytest.raises(DataError, match="in memory needs about .* drop --in-memory"):
        import_nb201(nb201_file, tmp_path / "c", trust=True, in_memory=True)
    assert not (tmp_path / "c").exists()


def _peak_streaming(path: Path) -> int:
    tracemalloc.start()
    try:
        with open_torch_pickle(path) as (fh, _size, _done):
            stream_records(fh, lambda k, r: None, path)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_peak_memory_does_not_grow_with_the_number_of_records(nb201_data: Path, tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """Four times the records, the same peak. Small records (one architecture's 12-epoch runs, deep
    copies: distinct objects, as in a real file) and a small string store, so the test saturates it;
    the full-size measurement against nas_201_api is benchmarks/official_import_memory.py."""
    monkeypatch.setattr(official_stream, "_STRINGS_KEPT", 2_000)
    obj = fx.topology_dict(nb201_data, [6111])
    record = {"less": obj["arch2infos"][6111]["less"], "full": {}}  # two keys: one SETITEMS
    paths = []
    for n in (50, 200):
        path = tmp_path / f"n{n}.pth"
        torch.save({"meta_archs": obj["meta_archs"][:n], "arch2infos": {i: copy.deepcopy(record)
                                                                        for i in range(n)}}, path)
        paths.append(path)
    assert paths[1].stat().st_size > 3.5 * paths[0].stat().st_size
    peak_small, peak_large = (_peak_streaming(p) for p in paths)
    assert peak_large < 1.1 * peak_small, (peak_small, peak_large)


def test_cli_in_memory_and_progress_flags(nb201_file: Path, tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["data", "import-nb201", str(nb201_file), "--trust", "--in-memory", "--no-progress",
                 "--out", str(tmp_path / "c")]) == 0
    out = capsys.readouterr()
    assert "read in-memory" in out.out and "md5" in out.out
    assert "WARNING" in out.err and "does not end with 096897" in out.err


def test_progress_shows_bytes_and_architectures_on_a_terminal(small: dict[str, Any], tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    import sys

    path = tmp_path / "NAS-Bench-201-v1_1-096897.pth"
    torch.save(small, path)
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True, raising=False)
    import_nb201(path, tmp_path / "c", trust=True)
    err = capsys.readouterr().err
    assert "architectures written" in err and "reading NAS-Bench-201-v1_1-096897.pth" in err
    import_nb201(path, tmp_path / "d", trust=True, progress=False)
    assert "architectures written" not in capsys.readouterr().err
