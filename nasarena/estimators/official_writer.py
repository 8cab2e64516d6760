"""Write a nasarena official cache directory, one run at a time, in memory that does not grow with the file.

Per-epoch curves go straight to a raw float64 file per (dataset, hp) group and become a ``.npy``
at the end; per-run scalars are kept in typed ``array`` columns (8 bytes a value: about 35 MB for
every run of the full NB201 file) and written to Parquet at the end. Runs may arrive in any
architecture order (a streamed file is read in its own order); :meth:`CacheWriter.finish` sorts
each group by (architecture, seed position), the order :class:`OfficialCache` relies on.
"""

from __future__ import annotations

import json
import math
import os
import shutil
from array import array
from dataclasses import dataclass, field
from importlib import metadata
from itertools import accumulate
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from nasarena.errors import ConfigError, DataError, InvalidArchitectureError
from nasarena.estimators.official_format import (
    CHANNELS,
    EVAL_SETS,
    FLAVOURS,
    FORMAT_VERSION,
    PREFIX,
    SCALARS,
    group_name,
)

_INTS = {"arch_index": ("q", pa.int32()), "seed": ("q", pa.int64()), "seed_pos": ("q", pa.int8())}


@dataclass
class _Group:
    epochs: int
    raw: BinaryIO | None
    cols: dict[str, array] = field(default_factory=dict)  # type: ignore[type-arg]
    names: dict[str, int] = field(default_factory=dict)  # distinct eval_names -> code
    rows: int = 0

    def __post_init__(self) -> None:
        self.cols = {c: array(_INTS[c][0] if c in _INTS else "d") for c in (*_INTS, *SCALARS, "eval_names")}
        self.cols["eval_names"] = array("i")


def _num(x: Any) -> float:
    return math.nan if x is None else float(x)


def extract_run(rc: Any) -> tuple[dict[str, float], str, np.ndarray]:
    """(scalars, comma-joined eval names, curves [channel, epoch]) of one official ``ResultsCount``.

    Final values and ``T-*`` times come from the official methods (``get_times``, ``get_latency``);
    per-epoch values are read from the same dicts ``get_train``/``get_eval`` read.
    """
    n = int(rc.epochs)
    curves = np.full((len(CHANNELS), n), np.nan)
    curves[0] = [_num(rc.train_acc1es[i]) for i in range(n)]
    curves[1] = [_num(rc.train_losses[i]) for i in range(n)]
    if rc.train_times is not None:
        curves[2] = list(accumulate(rc.train_times[i] for i in range(n)))
    have_eval_times = isinstance(rc.eval_times, dict) and len(rc.eval_times) > 0
    for k, name in enumerate(EVAL_SETS):
        if name not in rc.eval_names:
            continue
        keys = [f"{name}@{i}" for i in range(n)]
        curves[3 + 3 * k] = [_num(rc.eval_acc1es.get(key)) for key in keys]
        curves[4 + 3 * k] = [_num(rc.eval_losses.get(key)) for key in keys]
        if have_eval_times:
            times = [rc.eval_times.get(key) for key in keys]
            ok = next((i for i, t in enumerate(times) if t is None), n)
            curves[5 + 3 * k, :ok] = list(accumulate(times[:ok]))
            curves[3 + 3 * k: 5 + 3 * k, ok:] = np.nan  # the official get_eval raises there
    times = rc.get_times()
    s = {"params": _num(rc.params), "flops": _num(rc.flop), "latency": float(rc.get_latency()),
         "t_train_epoch": _num(times.get("T-train@epoch")), "t_train_total": _num(times.get("T-train@total"))}
    for ch, name in enumerate(CHANNELS):
        s[name.replace("cumtime", "time")] = float(curves[ch, -1])
    for name in EVAL_SETS:
        p = PREFIX[name]
        s[f"{p}_t_epoch"] = _num(times.get(f"T-{name}@epoch"))
        s[f"{p}_t_total"] = _num(times.get(f"T-{name}@total"))
    return s, ",".join(rc.eval_names), curves



class CacheWriter:
    """Writes a cache directory atomically (to a temporary sibling, renamed at :meth:`finish`)."""

    def __init__(self, out: Path, flavour: str, archs: list[str] | None = None) -> None:
        if flavour not in FLAVOURS:
            raise ConfigError(f"unknown flavour {flavour!r}; valid flavours are {', '.join(FLAVOURS)}")
        self.out, self.flavour, self.archs = Path(out), flavour, list(archs or [])
        self.tmp = self.out.with_name(f".{self.out.name}.tmp-{os.getpid()}")
        shutil.rmtree(self.tmp, ignore_errors=True)
        (self.tmp / "runs").mkdir(parents=True)
        (self.tmp / "curves").mkdir()
        self.groups: dict[tuple[str, str], _Group] = {}

    def add_run(self, dataset: str, hp: str, arch_index: int, seed: int, seed_pos: int,
                scalars: dict[str, float], eval_names: str, curves: np.ndarray) -> None:
        """Append one (architecture, dataset, hp, seed) run."""
        key = (dataset, str(hp))
        g = self.groups.get(key)
        if g is None:
            raw = (self.tmp / "curves" / f"{group_name(*key)}.raw").open("wb")
            g = self.groups[key] = _Group(epochs=curves.shape[1], raw=raw)
        if curves.shape != (len(CHANNELS), g.epochs):
            raise DataError(f"{dataset} hp={hp} arch {arch_index}: {curves.shape[1]} epochs, "
                            f"expected {g.epochs} like the other runs of this setting")
        assert g.raw is not None
        g.raw.write(np.ascontiguousarray(curves, dtype="<f8").tobytes())
        cols = g.cols
        cols["arch_index"].append(arch_index)
        cols["seed"].append(seed)
        cols["seed_pos"].append(seed_pos)
        for c in SCALARS:
            cols[c].append(scalars[c])
        cols["eval_names"].append(g.names.setdefault(eval_names, len(g.names)))
        g.rows += 1

    def add_group(self, dataset: str, hp: str, epochs: int, columns: dict[str, np.ndarray]) -> None:
        """Add a whole group from arrays, with an all-zero sparse curve file (for synthetic size tests)."""
        n = len(columns["arch_index"])
        np.lib.format.open_memmap(self.tmp / "curves" / f"{group_name(dataset, hp)}.npy", mode="w+",
                                  dtype="<f8", shape=(n, len(CHANNELS), epochs)).flush()
        names = list(dict.fromkeys(columns["eval_names"]))
        codes = {name: i for i, name in enumerate(names)}
        cols = {k: np.asarray(v) for k, v in columns.items() if k != "eval_names"}
        cols["eval_names"] = np.array([codes[v] for v in columns["eval_names"]], dtype=np.int32)
        self._write_runs(dataset, hp, cols, names)
        self.groups[(dataset, hp)] = _Group(epochs=epochs, raw=None, rows=n)

    def _write_runs(self, dataset: str, hp: str, cols: dict[str, Any], names: list[str]) -> None:
        arrays = {k: pa.array(np.asarray(cols[k]), type=_INTS[k][1] if k in _INTS else pa.float64())
                  for k in (*_INTS, *SCALARS)}
        arrays["eval_names"] = pa.DictionaryArray.from_arrays(
            pa.array(np.asarray(cols["eval_names"], dtype=np.int32)), pa.array(names, pa.string()))
        pq.write_table(pa.table(arrays), self.tmp / "runs" / f"{group_name(dataset, hp)}.parquet",
                       compression="zstd")

    def _finish_group(self, dataset: str, hp: str, g: _Group) -> None:
        """Curves raw -> .npy and scalars -> Parquet, both sorted by (architecture, seed position)."""
        assert g.raw is not None
        g.raw.close()
        cols = {k: np.frombuffer(v, dtype=np.int64 if v.typecode == "q" else
                                 (np.int32 if v.typecode == "i" else np.float64)) for k, v in g.cols.items()}
        order = np.lexsort((cols["seed_pos"], cols["arch_index"]))
        in_order = bool(np.all(order == np.arange(g.rows)))
        raw_path = self.tmp / "curves" / f"{group_name(dataset, hp)}.raw"
        _raw_to_npy(raw_path, (g.rows, len(CHANNELS), g.epochs), None if in_order else order)
        raw_path.unlink()
        if not in_order:
            cols = {k: v[order] for k, v in cols.items()}
        names = sorted(g.names, key=g.names.__getitem__)
        self._write_runs(dataset, hp, cols, names)

    def finish(self, manifest: dict[str, Any]) -> Path:
        """Write the remaining files and the manifest, then move the cache into place."""
        for (dataset, hp), g in self.groups.items():
            if g.raw is not None:
                self._finish_group(dataset, hp, g)
        pq.write_table(pa.table({"index": pa.array(range(len(self.archs)), pa.int32()),
                                 "arch_str": pa.array(self.archs, pa.string()),
                                 "space_index": pa.array(self._space_indices(), pa.int64())}),
                       self.tmp / "archs.parquet")
        groups = [{"dataset": d, "hp": h, "rows": g.rows, "epochs": g.epochs}
                  for (d, h), g in sorted(self.groups.items())]
        full = {"format_version": FORMAT_VERSION, "flavour": self.flavour, "n_archs": len(self.archs),
                "channels": list(CHANNELS), "eval_sets": list(EVAL_SETS), "groups": groups,
                "versions": versions(), **manifest}
        (self.tmp / "manifest.json").write_text(json.dumps(full, indent=2, sort_keys=True))
        old = self.out.with_name(f".{self.out.name}.old-{os.getpid()}")
        if self.out.exists():
            self.out.rename(old)
        self.out.parent.mkdir(parents=True, exist_ok=True)
        self.tmp.rename(self.out)
        shutil.rmtree(old, ignore_errors=True)
        return self.out

    def _space_indices(self) -> list[int]:
        """nasarena's mixed-radix index of each official string (so oracles need not parse 15k strings)."""
        from nasarena.spaces.nats_sss import NATSSizeSpace
        from nasarena.spaces.nb201 import NB201Space

        space = NATSSizeSpace() if self.flavour == "nats-sss" else NB201Space()
        try:
            return [space.index(space.from_string(a)) for a in self.archs]
        except InvalidArchitectureError as exc:
            raise DataError(f"the source's architecture list does not fit the {space.name} space: "
                            f"{exc}") from None

    def abort(self) -> None:
        """Remove the temporary directory (after an error)."""
        for g in self.groups.values():
            if g.raw is not None and not g.raw.closed:
                g.raw.close()
        shutil.rmtree(self.tmp, ignore_errors=True)


def _raw_to_npy(raw_path: Path, shape: tuple[int, int, int], order: np.ndarray | None) -> None:
    """Prepend the ``.npy`` header to the raw rows (in ``order`` if given) by plain reads and writes.

    Not through memory maps: their pages count as resident, so copying the ~2 GB of curves of a full
    NB201 file that way would show as ~2 GB more peak memory than the streaming import otherwise needs.
    """
    row = shape[1] * shape[2] * 8
    with raw_path.with_suffix(".npy").open("wb") as out, raw_path.open("rb") as src:
        np.lib.format.write_array_header_1_0(out, {"descr": "<f8", "fortran_order": False, "shape": shape})
        if order is None:
            shutil.copyfileobj(src, out, 1 << 20)
        else:
            fd = src.fileno()
            for i in order.tolist():
                out.write(os.pread(fd, row, i * row))


def versions() -> dict[str, str]:
    """Versions of the packages an import depends on (recorded in the manifest)."""
    out = {}
    for dist in ("nasarena", "nas-bench-201", "nats_bench", "torch", "numpy", "pyarrow"):
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            out[dist] = "not installed"
    return out


__all__ = ["CacheWriter", "extract_run", "versions"]
