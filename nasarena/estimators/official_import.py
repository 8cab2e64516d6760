"""Convert an official NAS-Bench-201 / NATS-Bench file, once, into a compact and safe cache.

The official files are pickles (``torch.save`` for NAS-Bench-201, bz2 pickles for NATS-Bench):
loading one runs whatever code it names, so this module only reads them when the caller passes
``trust=True``. Even then, a single file is read by the restricted streaming unpickler of
:mod:`nasarena.estimators.official_stream`, which imports and calls nothing but builtins, numpy's
scalar/array constructors and ``_codecs.encode``, and holds one architecture record at a time, so
the import's memory does not grow with the file. Each record is rebuilt with the official
packages' own ``ArchResults`` / ``ResultsCount`` (of ``nas_201_api`` or ``nats_bench``), so every
per-seed number the cache stores is computed by the official code. The cache (no pickles
anywhere) is a directory::

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
import logging
import sys
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nasarena.errors import ConfigError, DataError
from nasarena.estimators.official_format import (
    CHANNELS,
    EVAL_SETS,
    FLAVOURS,
    FORMAT_VERSION,
    SCALARS,
    default_cache_dir,
    group_name,
)
from nasarena.estimators.official_writer import CacheWriter, extract_run

log = logging.getLogger(__name__)

#: Official file names -> (flavour, the md5 fragment the name carries).
KNOWN_SOURCES: dict[str, tuple[str, str]] = {
    "NAS-Bench-201-v1_0-e61699": ("nb201", "e61699"),
    "NAS-Bench-201-v1_1-096897": ("nb201", "096897"),
    "NATS-tss-v1_0-3ffb9": ("nats-tss", "3ffb9"),
    "NATS-sss-v1_0-50262": ("nats-sss", "50262"),
}
TRUST_HINT = ("official NAS-Bench-201 / NATS-Bench files are Python pickles, and loading a pickle runs "
              "any code it contains. Pass --trust (trust=True) only for a file you downloaded from the "
              "benchmark authors' links; nasarena then reads it once and writes a pickle-free cache")
#: Free memory the streaming import asks for: its measured peak growth is 0.12 GB at 143 MiB and at
#: 552 MiB files (benchmarks/official_import_memory.py); 1 GiB leaves room for the largest record.
STREAM_MEMORY = 1 << 30
#: In-memory import (``in_memory=True``, the official API's way): 6.25x the file measured on files
#: built with the official classes (3.75x reported for another full-size one); the larger is asked.
IN_MEMORY_FACTOR = 6.5
_HP_OF = {"less": "12", "full": "200"}  # NAS-Bench-201 record keys -> hp


# ---- provenance ----------------------------------------------------------------------------------
def file_digests(path: Path) -> tuple[str, str]:
    """(sha256, md5) of a file, or of a directory as the digest of its sorted ``name sha256 md5`` lines.

    The md5 is what the official names refer to; the sha256 identifies the file in the manifest
    with a hash that is not broken.
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
    """Check the md5 fragment in an official name against the file's md5 -> (status, message).

    The NB201 authors name each release after "the last six digits" of its md5
    (``NAS-Bench-201-v1_1-096897.pth``: the md5 ends with ``096897``), so that is the check. The
    NATS-Bench code only says its names carry "[md5]" (five hex digits), without saying which five:
    a NATS name matches if the md5 ends (the NB201 convention) or starts with them, and the
    message says which. Status: ``"match"``, ``"mismatch"`` (not the release the name claims: a
    warning, since its numbers may differ from published ones), ``"unknown-name"`` (renamed or
    unofficial: nothing to check) or ``"directory"`` (an archive directory has no single md5).
    """
    stem = path.name.split(".")[0].removesuffix("-simple").removesuffix("-full")
    if stem not in KNOWN_SOURCES:
        return "unknown-name", f"{path.name} is not an official file name; its md5 cannot be checked"
    flavour, fragment = KNOWN_SOURCES[stem]
    if path.is_dir():
        return "directory", f"{path.name} is a directory; only single official files carry a checkable md5"
    if md5.endswith(fragment):
        return "match", f"{path.name}: md5 {md5} ends with {fragment}, as the authors' name says"
    if flavour != "nb201" and md5.startswith(fragment):
        return "match", (f"{path.name}: md5 {md5} starts with {fragment} (NATS-Bench does not say which "
                         f"end of the md5 its names carry)")
    where = "end with" if flavour == "nb201" else "start or end with"
    return "mismatch", (f"{path.name}: md5 {md5} does not {where} {fragment}, so the file is not the "
                        f"official release its name claims (corrupt or modified download?); numbers "
                        f"imported from it may differ from published ones: download it again")


def require_trust(trust: bool) -> None:
    """Refuse to go on without explicit trust, saying why."""
    if not trust:
        raise DataError(f"refusing to load: {TRUST_HINT}")


def check_memory(need: float, what: str, hint: str) -> None:
    """Refuse to start an import that cannot fit: one line instead of a MemoryError mid-way."""
    import psutil

    available = psutil.virtual_memory().available
    if available < need:
        raise DataError(f"{what} needs about {need / 2**30:.1f} GiB of free memory and only "
                        f"{available / 2**30:.1f} GiB are available; {hint}")


# ---- reading official files (trusted) -------------------------------------------------------------
def load_nb201_object(path: Path, trust: bool) -> dict[str, Any]:
    """Unpickle a NAS-Bench-201 ``.pth`` whole, the official API's way (``in_memory=True``).

    ``nas_201_api`` calls ``torch.load(path)``, which since torch 2.6 means ``weights_only=True`` and
    fails on the file's numpy scalars. This loads the trusted object with ``weights_only=False`` for
    this one call; no global torch setting is touched. It needs ~3.75x the file size in memory.
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


def _official_classes(flavour: str) -> Any:
    if flavour == "nb201":
        from nas_201_api.api_utils import ArchResults
    else:
        from nats_bench.api_utils import ArchResults
    return ArchResults


def build_record(flavour: str, record: Any) -> dict[str, Any]:
    """{hp: official ArchResults} of one ``arch2infos`` value, as the official API builds it."""
    from nasarena.estimators.official_stream import record_state

    arch_results = _official_classes(flavour)
    if not isinstance(record, dict):
        raise DataError(f"an arch2infos record is a {type(record).__name__}, not a dict of hp settings")
    hps = _HP_OF if flavour == "nb201" else {}
    return {hps.get(k, str(k)): arch_results.create_from_state_dict(record_state(v))
            for k, v in record.items()}


def iter_nb201(obj: dict[str, Any]) -> Iterator[tuple[int, dict[str, Any]]]:
    """Yield (index, {hp: ArchResults}) with ``nas_201_api``'s classes, as ``NASBench201API`` builds them."""
    for idx in sorted(obj["arch2infos"]):
        yield int(idx), build_record("nb201", obj["arch2infos"][idx])


def iter_nats_dir(path: Path) -> tuple[list[str], Iterator[tuple[int, dict[str, Any]]]]:
    """(meta_archs, iterator of (index, {hp: ArchResults})) of a NATS ``-simple``/``-full`` directory.

    Uses ``nats_bench``'s own ``pickle_load``, one architecture file at a time.
    """
    from nats_bench.api_utils import PICKLE_EXT, pickle_load

    meta = pickle_load(str(path / f"meta.{PICKLE_EXT}"))
    archs = list(meta["meta_archs"])

    def gen() -> Iterator[tuple[int, dict[str, Any]]]:
        for idx in range(len(archs)):
            f = path / f"{idx:06d}.{PICKLE_EXT}"
            f = f if f.is_file() else path / f"{idx}.{PICKLE_EXT}"
            if not f.is_file():
                log.warning("%s: no file for architecture %d; skipped", path, idx)
                continue
            yield idx, build_record("nats", pickle_load(str(f)))
    return archs, gen()


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
    reader: str = "streaming"


class _Sink:
    """Writes each architecture's runs as they arrive, and counts them."""

    def __init__(self, writer: CacheWriter, progress: Any) -> None:
        self.writer, self.progress = writer, progress
        self.n_runs = self.n_archs = 0
        self.ignored: set[str] = set()

    def add(self, idx: int, by_hp: dict[str, Any], done_bytes: int | None = None) -> None:
        for hp, res in by_hp.items():
            for dataset, seeds in res.dataset_seed.items():
                for pos, seed in enumerate(seeds):
                    scalars, names, curves = extract_run(res.all_results[(dataset, seed)])
                    self.ignored.update(n for n in names.split(",") if n and n not in EVAL_SETS)
                    self.writer.add_run(dataset, hp, idx, int(seed), pos, scalars, names, curves)
                    self.n_runs += 1
        self.n_archs += 1
        self.progress.update(done_bytes, self.n_archs)


class _Progress:
    """Bytes read and architectures written, on stderr when it is a terminal (rich)."""

    def __init__(self, enabled: bool | None, total: int, what: str) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn

        show = sys.stderr.isatty() if enabled is None else enabled and sys.stderr.isatty()
        self.bar = Progress(TextColumn(f"reading {what}"), BarColumn(), DownloadColumn(),
                            TextColumn("{task.fields[archs]} architectures written"), TimeRemainingColumn(),
                            console=Console(stderr=True), disable=not show, transient=False)
        self.task = self.bar.add_task("import", total=total or None, archs=0)

    def __enter__(self) -> _Progress:
        self.bar.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.bar.stop()

    def update(self, done_bytes: int | None, archs: int) -> None:
        if done_bytes is None:
            self.bar.update(self.task, archs=archs)
        else:
            self.bar.update(self.task, completed=done_bytes, archs=archs)


def _import(source: Path, out: Path | None, flavour: str, digests: tuple[str, str], reader: str,
            total: int, feed: Callable[[_Sink], list[str]], progress: bool | None) -> ImportReport:
    """Run ``feed`` (which pushes every architecture into the sink and returns meta_archs) into a cache."""
    status, message = check_source_name(source, *digests)
    (log.warning if status == "mismatch" else log.info)("%s", message)
    out = Path(out) if out is not None else default_cache_dir(flavour)
    writer = CacheWriter(out, flavour)
    try:
        with _Progress(progress, total, source.name) as bar:
            sink = _Sink(writer, bar)
            writer.archs = list(feed(sink))
        writer.finish({"source_name": source.name, "source_path": str(source.resolve()),
                       "sha256": digests[0], "md5": digests[1], "hash_check": status,
                       "hash_message": message, "n_runs": sink.n_runs, "n_archs_with_runs": sink.n_archs,
                       "reader": reader, "ignored_eval_sets": sorted(sink.ignored)})
        if sink.ignored:
            log.warning("evaluation sets %s are not stored (only %s are); queries about them will "
                        "differ from the official API", sorted(sink.ignored), ", ".join(EVAL_SETS))
    except BaseException:
        writer.abort()
        raise
    return ImportReport(out, flavour, len(writer.archs), sink.n_runs, digests[0], status, message, reader)


def _streamed(opener: Callable[[Path], AbstractContextManager[Any]], path: Path,
              flavour: str) -> Callable[[_Sink], list[str]]:
    """A feed that streams one pickle file, record by record (see :mod:`.official_stream`)."""
    from nasarena.estimators.official_stream import stream_records

    def feed(sink: _Sink) -> list[str]:
        with opener(path) as (fh, _size, done):
            obj = stream_records(fh, lambda k, rec: sink.add(int(k), build_record(flavour, rec), done()),
                                 path)
        return list(obj["meta_archs"])
    return feed


def _total(opener: Callable[[Path], AbstractContextManager[Any]], path: Path) -> int:
    with opener(path) as (_fh, size, _done):
        return int(size)


def import_nb201(path: str | Path, out: str | Path | None = None, *, trust: bool = False,
                 in_memory: bool = False, progress: bool | None = None) -> ImportReport:
    """Import ``NAS-Bench-201-v1_*.pth`` into a cache (default :func:`default_cache_dir`).

    The file is streamed in bounded memory; ``in_memory=True`` unpickles it whole with
    ``torch.load`` first, as the official API does (about 6x the file size in memory).
    ``progress``: show bytes read and architectures written (default: when stderr is a terminal).
    """
    from nasarena.estimators.official_stream import open_torch_pickle

    source = Path(path)
    require_trust(trust)
    if not source.is_file():
        raise DataError(f"no such file {source}; give the path of NAS-Bench-201-v1_0-e61699.pth or "
                        f"NAS-Bench-201-v1_1-096897.pth")
    size = _total(open_torch_pickle, source)
    if in_memory:
        check_memory(IN_MEMORY_FACTOR * size, f"importing {source.name} in memory",
                     "drop --in-memory: the default streaming import needs about 1 GiB")
    else:
        check_memory(STREAM_MEMORY, f"importing {source.name}", "close other programs and retry")
    digests = file_digests(source)
    if in_memory:
        def feed(sink: _Sink) -> list[str]:
            obj = load_nb201_object(source, trust)
            for idx, by_hp in iter_nb201(obj):
                sink.add(idx, by_hp)
            return list(obj["meta_archs"])
        return _import(source, None if out is None else Path(out), "nb201", digests, "in-memory", 0, feed,
                       progress)
    return _import(source, None if out is None else Path(out), "nb201", digests, "streaming", size,
                   _streamed(open_torch_pickle, source, "nb201"), progress)


def import_nats(path: str | Path, space: str, out: str | Path | None = None, *,
                trust: bool = False, progress: bool | None = None) -> ImportReport:
    """Import a NATS-Bench topology (``space="tss"``) or size (``"sss"``) file or archive directory.

    A ``.pickle.pbz2`` file is streamed like an NB201 file; a ``-simple``/``-full`` directory is read
    one architecture file at a time with ``nats_bench``'s ``pickle_load``.
    """
    from nasarena.estimators.official_stream import open_bz2_pickle

    if space not in ("tss", "sss"):
        raise ConfigError(f"space must be 'tss' (topology) or 'sss' (size), got {space!r}")
    source = Path(path)
    require_trust(trust)
    if not source.exists():
        raise DataError(f"no such file or directory {source}; give a NATS-{space}-v1_0-*.pickle.pbz2 "
                        f"file or its -simple/-full directory")
    check_memory(STREAM_MEMORY, f"importing {source.name}", "close other programs and retry")
    digests = file_digests(source)
    flavour = f"nats-{space}"
    if source.is_dir():
        def feed(sink: _Sink) -> list[str]:
            archs, results = iter_nats_dir(source)
            for idx, by_hp in results:
                sink.add(idx, by_hp)
            return archs
        return _import(source, None if out is None else Path(out), flavour, digests, "per-architecture files",
                       0, feed, progress)
    return _import(source, None if out is None else Path(out), flavour, digests, "streaming",
                   source.stat().st_size, _streamed(open_bz2_pickle, source, "nats"), progress)


__all__ = ["CHANNELS", "EVAL_SETS", "FLAVOURS", "FORMAT_VERSION", "KNOWN_SOURCES", "SCALARS", "CacheWriter",
           "ImportReport", "build_record", "check_memory", "check_source_name", "default_cache_dir",
           "extract_run", "file_digests", "group_name", "import_nats", "import_nb201", "load_nb201_object",
           "require_trust"]
