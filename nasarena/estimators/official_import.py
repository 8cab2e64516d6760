"""Convert an official NAS-Bench-201 / NATS-Bench file, once, into a compact and safe cache.

The official files are pickles (``torch.save`` for NAS-Bench-201, bz2 pickles for NATS-Bench):
loading one runs whatever code it names, so this module only reads them when the caller passes
``trust=True``. They are read with the official packages' own classes (``ArchResults`` /
``ResultsCount`` of ``nas_201_api`` or ``nats_bench``), so every per-seed number the cache stores is
computed by the official code. The cache (no pickles anywhere) is a directory::

    manifest.json                   source name, sha256/md5, hash check, versions, groups, columns
    archs.parquet                   official index -> official architecture string
    runs/<dataset>__hp<hp>.parquet  one row per (architecture, seed): final metrics, times, costs
    curves/<dataset>__hp<hp>.npy    float64 [row, channel, epoch] per-epoch values (memory-mapped)

Per-epoch curves live in ``.npy`` files rather than Parquet list columns because a full NB201 file
holds ~2 GB of them: memory-mapping keeps loading at milliseconds and the resident set at what a
query touches, while list columns would have to be decoded into memory. Cumulative times are stored
(``itertools.accumulate``, the same left-to-right sums the official ``get_train``/``get_eval`` do).
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from importlib import metadata
from itertools import accumulate
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from nasarena.errors import ConfigError, DataError, InvalidArchitectureError

log = logging.getLogger(__name__)

FORMAT_VERSION = 1
FLAVOURS = ("nb201", "nats-tss", "nats-sss")
EVAL_SETS = ("x-valid", "x-test", "ori-test")
_PREFIX = {"x-valid": "x_valid", "x-test": "x_test", "ori-test": "ori_test"}
#: Channels of the curve arrays, in order (cumtime = cumulative seconds up to and including the epoch).
CHANNELS: tuple[str, ...] = ("train_acc", "train_loss", "train_cumtime",
                             *(f"{_PREFIX[e]}_{m}" for e in EVAL_SETS for m in ("acc", "loss", "cumtime")))
#: Per-run scalar columns (NaN where the official object has None or lacks the set).
SCALARS: tuple[str, ...] = (
    "params", "flops", "latency", "train_acc", "train_loss", "train_time", "t_train_epoch", "t_train_total",
    *(f"{_PREFIX[e]}_{m}" for e in EVAL_SETS for m in ("acc", "loss", "time", "t_epoch", "t_total")))
#: Official file names -> (flavour, hash prefix in the name).
KNOWN_SOURCES: dict[str, tuple[str, str]] = {
    "NAS-Bench-201-v1_0-e61699": ("nb201", "e61699"),
    "NAS-Bench-201-v1_1-096897": ("nb201", "096897"),
    "NATS-tss-v1_0-3ffb9": ("nats-tss", "3ffb9"),
    "NATS-sss-v1_0-50262": ("nats-sss", "50262"),
}
TRUST_HINT = ("official NAS-Bench-201 / NATS-Bench files are Python pickles, and loading a pickle runs "
              "any code it contains. Pass --trust (trust=True) only for a file you downloaded from the "
              "benchmark authors' links; nasarena then reads it once and writes a pickle-free cache")


def default_cache_dir(flavour: str) -> Path:
    """Where a flavour's cache goes unless told otherwise: ``$NASARENA_CACHE/official/<flavour>``.

    ``NASARENA_CACHE`` defaults to ``~/.cache/nasarena``; one fixed place lets ``make_oracle("nb201")``
    work without a path after a single import.
    """
    if flavour not in FLAVOURS:
        raise ConfigError(f"unknown flavour {flavour!r}; valid flavours are {', '.join(FLAVOURS)}")
    root = Path(os.environ.get("NASARENA_CACHE", "~/.cache/nasarena")).expanduser()
    return root / "official" / flavour


def group_name(dataset: str, hp: str) -> str:
    """File stem of one (dataset, hp) group, e.g. ``cifar10-valid__hp200``."""
    return f"{dataset}__hp{hp}"


# ---- provenance ----------------------------------------------------------------------------------
def file_digests(path: Path) -> tuple[str, str]:
    """(sha256, md5) of a file, or of a directory as the digest of its sorted ``name digest`` lines.

    Both are recorded because the official names embed a hash prefix whose function the authors do
    not state everywhere (NATS-Bench's code says md5); a directory cannot match a file's prefix.
    """
    if path.is_dir():
        lines = []
        for sub in sorted(p for p in path.rglob("*") if p.is_file()):
            s, m = file_digests(sub)
            lines.append(f"{sub.relative_to(path).as_posix()} {s} {m}\n")
        blob = "".join(lines).encode()
        return hashlib.sha256(blob).hexdigest(), hashlib.md5(blob).hexdigest()
    sha, md5 = hashlib.sha256(), hashlib.md5()
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 20):
            sha.update(chunk)
            md5.update(chunk)
    return sha.hexdigest(), md5.hexdigest()


def check_source_name(path: Path, sha256: str, md5: str) -> tuple[str, str]:
    """Compare the hash prefix in an official name with the file's digests -> (status, message).

    Status is ``"match"``, ``"mismatch"`` (the file is not the release its name claims: a warning,
    since results from it would not be comparable to published ones), ``"unknown-name"`` (renamed or
    unofficial file: nothing to check) or ``"directory"`` (archives are checked per file by nobody).
    """
    stem = path.name.split(".")[0].removesuffix("-simple").removesuffix("-full")
    if stem not in KNOWN_SOURCES:
        return "unknown-name", f"{path.name} is not an official file name; its hash cannot be checked"
    prefix = KNOWN_SOURCES[stem][1]
    if path.is_dir():
        return "directory", f"{path.name} is a directory; only single official files carry a checkable hash"
    if sha256.startswith(prefix) or md5.startswith(prefix):
        return "match", f"{path.name}: digest starts with {prefix}"
    return "mismatch", (f"{path.name}: neither sha256 ({sha256[:12]}...) nor md5 ({md5[:12]}...) starts "
                        f"with {prefix}; the file is not the official release its name claims "
                        f"(corrupt or modified download?) and its numbers may differ from published ones")


def require_trust(trust: bool) -> None:
    """Refuse to go on without explicit trust, saying why."""
    if not trust:
        raise DataError(f"refusing to load: {TRUST_HINT}")


# ---- reading official files (trusted) -------------------------------------------------------------
def load_nb201_object(path: Path, trust: bool) -> dict[str, Any]:
    """Unpickle a NAS-Bench-201 ``.pth`` (needs ``trust``).

    ``nas_201_api`` calls ``torch.load(path)``, which since torch 2.6 means ``weights_only=True`` and
    fails on the file's numpy scalars. We load the trusted object ourselves with
    ``weights_only=False`` for this one call and hand the dict to the official classes; no global
    torch setting is touched.
    """
    require_trust(trust)
    import torch

    obj = torch.load(str(path), map_location="cpu", weights_only=False)
    _check_keys(obj, path)
    return obj


def _check_keys(obj: Any, path: Path) -> None:
    if not isinstance(obj, dict) or not {"meta_archs", "arch2infos", "evaluated_indexes"} <= set(obj):
        raise DataError(f"{path} is not a NAS-Bench-201/NATS-Bench benchmark dict (expected keys "
                        f"meta_archs, arch2infos, evaluated_indexes)")


def iter_nb201(obj: dict[str, Any]) -> Iterator[tuple[int, dict[str, Any]]]:
    """Yield (index, {hp: ArchResults}) with ``nas_201_api``'s classes, as ``NASBench201API`` builds them."""
    from nas_201_api.api_utils import ArchResults

    for idx in sorted(obj["arch2infos"]):
        info = obj["arch2infos"][idx]
        yield int(idx), {"12": ArchResults.create_from_state_dict(info["less"]),
                         "200": ArchResults.create_from_state_dict(info["full"])}


def iter_nats(path: Path, trust: bool) -> tuple[list[str], Iterator[tuple[int, dict[str, Any]]]]:
    """(meta_archs, iterator of (index, {hp: ArchResults})) for a NATS file or ``-simple``/``-full`` dir.

    Uses ``nats_bench``'s own ``pickle_load`` and ``ArchResults``. A directory is streamed one
    architecture at a time, so importing it needs the memory of one architecture, not of the benchmark.
    """
    require_trust(trust)
    from nats_bench.api_utils import PICKLE_EXT, ArchResults, pickle_load

    def build(raw: dict[str, Any]) -> dict[str, Any]:
        return {str(hp): ArchResults.create_from_state_dict(state) for hp, state in raw.items()}

    if path.is_dir():
        meta = pickle_load(str(path / f"meta.{PICKLE_EXT}"))
        archs = list(meta["meta_archs"])

        def gen_dir() -> Iterator[tuple[int, dict[str, Any]]]:
            for idx in range(len(archs)):
                f = path / f"{idx:06d}.{PICKLE_EXT}"
                f = f if f.is_file() else path / f"{idx}.{PICKLE_EXT}"
                if not f.is_file():
                    log.warning("%s: no file for architecture %d; skipped", path, idx)
                    continue
                yield idx, build(pickle_load(str(f)))
        return archs, gen_dir()
    obj = pickle_load(str(path))
    _check_keys(obj, path)

    def gen_file() -> Iterator[tuple[int, dict[str, Any]]]:
        for idx in sorted(obj["arch2infos"]):
            yield int(idx), build(obj["arch2infos"][idx])
    return list(obj["meta_archs"]), gen_file()


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
        p = _PREFIX[name]
        s[f"{p}_t_epoch"] = _num(times.get(f"T-{name}@epoch"))
        s[f"{p}_t_total"] = _num(times.get(f"T-{name}@total"))
    return s, ",".join(rc.eval_names), curves


# ---- writing the cache ----------------------------------------------------------------------------
@dataclass
class _Group:
    epochs: int
    raw: Any
    cols: dict[str, list[Any]] = field(default_factory=dict)
    rows: int = 0


class CacheWriter:
    """Writes a cache directory atomically (to a temporary sibling, renamed at :meth:`finish`)."""

    def __init__(self, out: Path, flavour: str, archs: list[str]) -> None:
        if flavour not in FLAVOURS:
            raise ConfigError(f"unknown flavour {flavour!r}; valid flavours are {', '.join(FLAVOURS)}")
        self.out, self.flavour, self.archs = Path(out), flavour, list(archs)
        self.tmp = self.out.with_name(f".{self.out.name}.tmp-{os.getpid()}")
        shutil.rmtree(self.tmp, ignore_errors=True)
        (self.tmp / "runs").mkdir(parents=True)
        (self.tmp / "curves").mkdir()
        self.groups: dict[tuple[str, str], _Group] = {}

    def add_run(self, dataset: str, hp: str, arch_index: int, seed: int, seed_pos: int,
                scalars: dict[str, float], eval_names: str, curves: np.ndarray) -> None:
        """Append one (architecture, dataset, hp, seed) run; runs must come in (arch, seed) order."""
        key = (dataset, str(hp))
        g = self.groups.get(key)
        if g is None:
            raw = (self.tmp / "curves" / f"{group_name(*key)}.raw").open("wb")
            g = self.groups[key] = _Group(epochs=curves.shape[1], raw=raw)
        if curves.shape != (len(CHANNELS), g.epochs):
            raise DataError(f"{dataset} hp={hp} arch {arch_index}: {curves.shape[1]} epochs, "
                            f"expected {g.epochs} like the other runs of this setting")
        g.raw.write(np.ascontiguousarray(curves, dtype="<f8").tobytes())
        row = {"arch_index": arch_index, "seed": seed, "seed_pos": seed_pos, "eval_names": eval_names,
               **{c: scalars[c] for c in SCALARS}}
        for k, v in row.items():
            g.cols.setdefault(k, []).append(v)
        g.rows += 1

    def add_group(self, dataset: str, hp: str, epochs: int, columns: dict[str, np.ndarray]) -> None:
        """Add a whole group from arrays, with an all-zero sparse curve file (for synthetic size tests)."""
        n = len(columns["arch_index"])
        np.lib.format.open_memmap(self.tmp / "curves" / f"{group_name(dataset, hp)}.npy", mode="w+",
                                  dtype="<f8", shape=(n, len(CHANNELS), epochs)).flush()
        self._write_runs(dataset, hp, {k: np.asarray(v) for k, v in columns.items()})
        self.groups[(dataset, hp)] = _Group(epochs=epochs, raw=None, rows=n)

    def _write_runs(self, dataset: str, hp: str, cols: dict[str, Any]) -> None:
        types = {"arch_index": pa.int32(), "seed": pa.int64(), "seed_pos": pa.int8()}
        arrays = {k: pa.array(cols[k], type=types.get(k, pa.float64())) for k in (*types, *SCALARS)}
        arrays["eval_names"] = pa.array(list(cols["eval_names"]), pa.string()).dictionary_encode()
        pq.write_table(pa.table(arrays), self.tmp / "runs" / f"{group_name(dataset, hp)}.parquet",
                       compression="zstd")

    def finish(self, manifest: dict[str, Any]) -> Path:
        """Write the remaining files and the manifest, then move the cache into place."""
        for (dataset, hp), g in self.groups.items():
            if g.raw is None:
                continue
            g.raw.close()
            raw_path = self.tmp / "curves" / f"{group_name(dataset, hp)}.raw"
            src = np.memmap(raw_path, dtype="<f8", mode="r", shape=(g.rows, len(CHANNELS), g.epochs))
            dst = np.lib.format.open_memmap(raw_path.with_suffix(".npy"), mode="w+", dtype="<f8",
                                            shape=src.shape)
            for start in range(0, g.rows, 4096):
                dst[start:start + 4096] = src[start:start + 4096]
            dst.flush()
            del src, dst
            raw_path.unlink()
            self._write_runs(dataset, hp, g.cols)
        pq.write_table(pa.table({"index": pa.array(range(len(self.archs)), pa.int32()),
                                 "arch_str": pa.array(self.archs, pa.string()),
                                 "space_index": pa.array(self._space_indices(), pa.int64())}),
                       self.tmp / "archs.parquet")
        groups = [{"dataset": d, "hp": h, "rows": g.rows, "epochs": g.epochs}
                  for (d, h), g in sorted(self.groups.items())]
        full = {"format_version": FORMAT_VERSION, "flavour": self.flavour, "n_archs": len(self.archs),
                "channels": list(CHANNELS), "eval_sets": list(EVAL_SETS), "groups": groups,
                "versions": _versions(), **manifest}
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


def _versions() -> dict[str, str]:
    out = {}
    for dist in ("nasarena", "nas-bench-201", "nats_bench", "torch", "numpy", "pyarrow"):
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            out[dist] = "not installed"
    return out


# ---- the import itself ----------------------------------------------------------------------------
@dataclass(frozen=True)
class ImportReport:
    """What an import did (printed by the CLI, recorded in the manifest)."""

    out: Path
    flavour: str
    n_archs: int
    n_runs: int
    sha256: str
    hash_check: str
    hash_message: str


def _import(source: Path, out: Path | None, flavour: str, archs: list[str],
            arch_results: Iterator[tuple[int, dict[str, Any]]], digests: tuple[str, str]) -> ImportReport:
    status, message = check_source_name(source, *digests)
    (log.warning if status == "mismatch" else log.info)("%s", message)
    out = Path(out) if out is not None else default_cache_dir(flavour)
    writer = CacheWriter(out, flavour, archs)
    n_runs = 0
    ignored: set[str] = set()
    try:
        for idx, by_hp in arch_results:
            for hp, res in by_hp.items():
                for dataset, seeds in res.dataset_seed.items():
                    for pos, seed in enumerate(seeds):
                        scalars, names, curves = extract_run(res.all_results[(dataset, seed)])
                        ignored.update(n for n in names.split(",") if n and n not in EVAL_SETS)
                        writer.add_run(dataset, hp, idx, int(seed), pos, scalars, names, curves)
                        n_runs += 1
        writer.finish({"source_name": source.name, "source_path": str(source.resolve()),
                       "sha256": digests[0], "md5": digests[1], "hash_check": status,
                       "hash_message": message, "n_runs": n_runs, "ignored_eval_sets": sorted(ignored)})
        if ignored:
            log.warning("evaluation sets %s are not stored (only %s are); queries about them will "
                        "differ from the official API", sorted(ignored), ", ".join(EVAL_SETS))
    except BaseException:
        writer.abort()
        raise
    return ImportReport(out, flavour, len(archs), n_runs, digests[0], status, message)


def import_nb201(path: str | Path, out: str | Path | None = None, *, trust: bool = False) -> ImportReport:
    """Import ``NAS-Bench-201-v1_*.pth`` into a cache (default :func:`default_cache_dir`)."""
    source = Path(path)
    require_trust(trust)
    if not source.is_file():
        raise DataError(f"no such file {source}; give the path of NAS-Bench-201-v1_0-e61699.pth or "
                        f"NAS-Bench-201-v1_1-096897.pth")
    digests = file_digests(source)
    obj = load_nb201_object(source, trust)
    return _import(source, None if out is None else Path(out), "nb201", list(obj["meta_archs"]),
                   iter_nb201(obj), digests)


def import_nats(path: str | Path, space: str, out: str | Path | None = None, *,
                trust: bool = False) -> ImportReport:
    """Import a NATS-Bench topology (``space="tss"``) or size (``"sss"``) file or archive directory."""
    if space not in ("tss", "sss"):
        raise ConfigError(f"space must be 'tss' (topology) or 'sss' (size), got {space!r}")
    source = Path(path)
    require_trust(trust)
    if not source.exists():
        raise DataError(f"no such file or directory {source}; give a NATS-{space}-v1_0-*.pickle.pbz2 "
                        f"file or its -simple/-full directory")
    digests = file_digests(source)
    archs, results = iter_nats(source, trust)
    return _import(source, None if out is None else Path(out), f"nats-{space}", archs, results, digests)


__all__ = ["CHANNELS", "EVAL_SETS", "FLAVOURS", "KNOWN_SOURCES", "SCALARS", "CacheWriter", "ImportReport",
           "check_source_name", "default_cache_dir", "extract_run", "file_digests", "group_name",
           "import_nats", "import_nb201", "load_nb201_object", "require_trust"]
