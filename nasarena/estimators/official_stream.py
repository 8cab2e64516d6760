"""Read an official benchmark pickle one architecture record at a time, in bounded memory.

The official NAS-Bench-201 ``.pth`` (``torch.save`` of one dict) and NATS-Bench ``.pickle.pbz2`` files
hold ``{"meta_archs": [...], "arch2infos": {index: record}, "evaluated_indexes": ...}``, where a
record is ``{"less"/"full" or hp: ArchResults state dict}``. ``pickle.load`` (and so ``torch.load``,
``nas_201_api`` and the first nasarena importer) builds the whole dict before anyone can look at it,
and the pickle memo keeps a second reference to every memoised object: about 3.75x the file size.

:class:`StreamingRecordUnpickler` is the standard library's own unpickler (``pickle._Unpickler``,
the pure-Python twin of ``pickle.Unpickler``: the C one cannot be hooked per opcode) with three
changes:

- ``find_class`` admits only builtins, numpy's scalar/array reconstruction, ``_codecs.encode``
  (how protocol 2 stores bytes) and the benchmark's record classes, which become :class:`StandIn`
  objects holding only their state. Nothing else is imported or called.
- When a record is complete (its dict's ``SETITEMS`` inside the ``arch2infos`` dict), it is handed
  to ``on_record`` and replaced by ``None``, so the ``arch2infos`` dict ends up holding ``None``.
- The memo entries made while reading a record are dropped after it. A later record may still refer
  to an earlier object (the pickler memoises by identity, so interned strings such as attribute
  names or constant dataset names, are written once and referenced ever after): immutable values
  (strings, bytes, tuples, numpy scalars) go to a bounded store (oldest out first; one that a later
  record refers to is kept for good), and classes, functions and dtypes are kept, so those
  references resolve. A reference to a mutable container of a finished record, or to a value older
  than the store, is reported as a :class:`~nasarena.errors.DataError` that names the fallback
  (``in_memory=True``), never silently mis-read.

Peak memory is then one record plus bounded stores, whatever the file size.
"""

from __future__ import annotations

import _compat_pickle
import codecs
import io
import pickle
import struct
import types
import zipfile
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any, BinaryIO

import numpy as np

from nasarena.errors import DataError
from nasarena.safe_pickle import BASE_GLOBALS, RestrictedUnpickler

#: Globals a trusted official file may name besides :data:`nasarena.safe_pickle.BASE_GLOBALS`.
OFFICIAL_GLOBALS: frozenset[tuple[str, str]] = BASE_GLOBALS | {
    ("collections", "OrderedDict"), ("builtins", "bytearray"),
    ("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
    ("numpy", "ndarray"),
}
#: Record classes of the official packages; they are never imported, only mapped to stand-ins.
RECORD_CLASSES: frozenset[tuple[str, str]] = frozenset(
    (module, name) for module in ("nas_201_api.api_utils", "nats_bench.api_utils")
    for name in ("ArchResults", "ResultsCount"))
_STRINGS_KEPT = 1 << 18  # immutable values of finished records
#: memo values of finished records kept (oldest out first) in case a later record refers to them
_IMMUTABLE = (str, bytes, tuple, frozenset, np.generic)
#: memo values of finished records kept for good: classes, functions, dtypes (few)
_KEPT_TYPES = (type, types.FunctionType, types.BuiltinFunctionType, np.dtype)
_MISSING = object()


class StandIn:
    """What a pickled ``ArchResults`` / ``ResultsCount`` becomes: its class name and its state."""

    __slots__ = ("kind", "state")

    def __init__(self, kind: str) -> None:
        self.kind, self.state = kind, {}

    def __setstate__(self, state: Any) -> None:
        self.state = state


def _stand_in_class(name: str) -> type:
    """A class whose ``__new__`` (the NEWOBJ opcode) makes a :class:`StandIn` named ``name``."""
    return type(f"StandIn{name}", (), {"__new__": staticmethod(lambda cls, *a: StandIn(name))})


def _reconstructor(cls: Any, base: Any, state: Any) -> Any:
    """``copyreg._reconstructor`` for stand-ins only (protocols 0 and 1 build objects through it)."""
    if base is not object or not getattr(cls, "__name__", "").startswith("StandIn"):
        raise DataError(f"refusing to reconstruct {cls!r}: only the benchmark's record classes are allowed")
    return cls.__new__(cls)


def _encode(text: str, encoding: str = "utf-8") -> bytes:
    """``_codecs.encode`` as protocol 2 uses it for bytes objects: latin-1 only."""
    if codecs.lookup(encoding).name != "iso8859-1":
        raise DataError(f"refusing _codecs.encode with {encoding!r}: official files only use latin-1")
    return text.encode("latin-1")


def _persistent(pid: Any) -> Any:
    raise DataError("the file holds tensors (network weights); nasarena imports the metrics files "
                    "(NAS-Bench-201-v1_*.pth, NATS-*-v1_0-*.pickle.pbz2), which hold none")


class _Stores:
    """What outlives a record: its immutable values (oldest out first), its classes and functions."""

    def __init__(self) -> None:
        self.strings: OrderedDict[int, str] = OrderedDict()
        self.kept: dict[int, Any] = {}

    def absorb(self, memo: dict[int, Any], keep_all: bool = False) -> None:
        """Keep what later records may refer to from a finished record's memo entries."""
        if keep_all:
            self.kept.update(memo)
            return
        strings = self.strings
        kept = self.kept
        strings.update([(k, v) for k, v in memo.items() if isinstance(v, _IMMUTABLE) and k not in kept])
        for _ in range(len(strings) - _STRINGS_KEPT):
            strings.popitem(last=False)
        kept.update([(k, v) for k, v in memo.items() if isinstance(v, _KEPT_TYPES)])


class _Memo(dict):  # type: ignore[type-arg]
    """The memo of the record being read; misses fall back to what earlier records left behind."""

    def __init__(self, stores: _Stores) -> None:
        super().__init__()
        self.stores = stores

    def __missing__(self, index: int) -> Any:
        stores = self.stores
        value = stores.kept.get(index, _MISSING)
        if value is _MISSING:
            value = stores.strings.pop(index, _MISSING)
            if value is _MISSING:
                raise KeyError(index)
            stores.kept[index] = value  # shared between records: keep it for good
        self[index] = value  # later references in this record are plain dict hits
        return value


class StreamingRecordUnpickler(pickle._Unpickler):
    """Unpickle a benchmark dict, passing each ``arch2infos`` record to ``on_record`` (see module doc)."""

    dispatch = dict(pickle._Unpickler.dispatch)

    def __init__(self, file: IO[bytes], on_record: Callable[[Any, Any], None]) -> None:
        super().__init__(file, encoding="utf-8")
        self.stores = _Stores()
        self.memo: _Memo = _Memo(self.stores)
        self.on_record = on_record
        self.records = 0
        self._a2i: dict[Any, Any] | None = None
        self._started = False
        self._count = 0
        self._classes: dict[tuple[str, str], Any] = {}

    def find_class(self, module: str, name: str) -> Any:
        """Resolve an admitted global (see :data:`OFFICIAL_GLOBALS`), a stand-in, or refuse by name."""
        if self.proto < 3:
            if (module, name) in _compat_pickle.NAME_MAPPING:
                module, name = _compat_pickle.NAME_MAPPING[(module, name)]
            elif module in _compat_pickle.IMPORT_MAPPING:
                module = _compat_pickle.IMPORT_MAPPING[module]
        key = (module, name)
        if key in RECORD_CLASSES:
            return self._classes.setdefault(key, _stand_in_class(name))
        if key == ("copyreg", "_reconstructor"):
            return _reconstructor
        if key == ("_codecs", "encode"):
            return _encode
        if key in OFFICIAL_GLOBALS:
            return super().find_class(module, name)
        raise DataError(f"refusing to unpickle {module}.{name}: an official benchmark file holds only "
                        f"builtins, numpy values and ArchResults/ResultsCount records (is this the "
                        f"official file?)")

    def persistent_load(self, pid: Any) -> Any:
        """Tensors are not expected in the metrics files; refuse them by name."""
        return _persistent(pid)

    # ---- hooks: find the arch2infos dict, hand over each finished record, keep the memo small -----
    def load_empty_dictionary(self) -> None:
        d: dict[Any, Any] = {}
        stack = self.stack
        stack.append(d)
        if self._a2i is None and len(stack) >= 2 and type(stack[-2]) is str and stack[-2] == "arch2infos" \
                and len(self.metastack) <= 1:
            self._a2i = d
    dispatch[pickle.EMPTY_DICT[0]] = load_empty_dictionary

    def load_mark(self) -> None:
        if not self._started and self._a2i is not None and self.stack and self.stack[-1] is self._a2i:
            self._started = True  # everything memoised before the records is kept
            self._next_memo(keep_all=True)
        super().load_mark()
    dispatch[pickle.MARK[0]] = load_mark

    def load_frame(self) -> None:
        self.read, self.readline = self._unframer.read, self._unframer.readline
        self.readinto = self._unframer.readinto
        super().load_frame()
    dispatch[pickle.FRAME[0]] = load_frame

    def load(self) -> Any:
        """``pickle._Unpickler.load`` reading straight from the file until a FRAME opcode appears
        (protocol 2, torch.save's, has none): the unframer's per-read Python call is a third of the time."""
        self._unframer = pickle._Unframer(self._file_read, self._file_readline)
        self.read, self.readline = self._file_read, self._file_readline
        self.readinto = self._unframer.readinto
        self.metastack, self.stack = [], []
        self.append = self.stack.append
        self.proto = 0
        dispatch = self.dispatch
        try:
            while True:
                key = self.read(1)
                if not key:
                    raise EOFError
                dispatch[key[0]](self)
        except pickle._Stop as stop:
            return stop.value

    def _next_memo(self, keep_all: bool = False) -> None:
        """Start a fresh memo, keeping what later records may still refer to."""
        self.stores.absorb(self.memo, keep_all=keep_all)
        self.memo = _Memo(self.stores)

    def _record_on_top(self) -> bool:
        """The dict a SETITEMS just completed is an ``arch2infos`` record: it sits, after its integer
        key, directly in the frame of the ``arch2infos`` batch (a dict completed there after a string
        key is a part of a record that is built with single SETITEMs; it goes over at the batch end)."""
        ms, stack = self.metastack, self.stack
        return (self._a2i is not None and bool(ms) and bool(ms[-1]) and ms[-1][-1] is self._a2i
                and len(stack) >= 2 and type(stack[-2]) is int)

    def load_setitems(self) -> None:
        items = self.pop_mark()
        target = self.stack[-1]
        if target is None and self._record_on_top():
            raise DataError("a record was extended after it was read; import this file with in_memory=True")
        for i in range(0, len(items), 2):
            target[items[i]] = items[i + 1]
        if self._record_on_top():
            self._hand_over()
        elif target is self._a2i:
            self._leftovers(items[0::2])
    dispatch[pickle.SETITEMS[0]] = load_setitems

    def load_setitem(self) -> None:
        super().load_setitem()
        if self._a2i is not None and self.stack[-1] is self._a2i:  # arch2infos built one item at a time
            self._leftovers([next(reversed(self._a2i))])
    dispatch[pickle.SETITEM[0]] = load_setitem

    def load_memoize(self) -> None:
        self.memo[self._count] = self.stack[-1]
        self._count += 1
    dispatch[pickle.MEMOIZE[0]] = load_memoize

    def _hand_over(self) -> None:
        """Pass the record on top of the arch2infos frame to ``on_record`` and forget it."""
        stack = self.stack
        key, record = stack[-2], stack[-1]
        stack[-1] = None
        self.on_record(key, record)
        self.records += 1
        if self._started:
            self._next_memo()

    def _leftovers(self, keys: list[Any]) -> None:
        """Records never completed by a SETITEMS of their own (an empty record): hand them over now."""
        assert self._a2i is not None
        for key in keys:
            record = self._a2i.get(key)
            if record is not None:
                self._a2i[key] = None
                self.on_record(key, record)
                self.records += 1


def record_state(value: Any) -> Any:
    """A record's value as the official ``create_from_state_dict`` wants it (stand-ins -> state dicts)."""
    if isinstance(value, StandIn):
        value = dict(value.state)
    if isinstance(value, dict) and isinstance(value.get("all_results"), dict):
        value = dict(value)
        value["all_results"] = {k: (dict(v.state) if isinstance(v, StandIn) else v)
                                for k, v in value["all_results"].items()}
    return value


def stream_records(fh: BinaryIO, on_record: Callable[[Any, Any], None], what: Path) -> dict[str, Any]:
    """Unpickle the benchmark dict from ``fh``, records going to ``on_record``; returns the rest."""
    unpickler = StreamingRecordUnpickler(fh, on_record)
    try:
        obj = unpickler.load()
    except pickle.UnpicklingError as exc:
        if "Memo value not found" in str(exc):
            raise DataError(f"{what}: a record refers to data of an earlier record that the streaming "
                            f"reader no longer holds ({exc}); import it with in_memory=True "
                            f"(--in-memory), which needs about 6x the file size in memory") from None
        raise DataError(f"{what} is not a readable pickle ({exc}); is the download complete?") from None
    except (EOFError, struct.error) as exc:
        raise DataError(f"{what} ends early ({type(exc).__name__}); the download is probably "
                        f"incomplete: download it again") from None
    if not isinstance(obj, dict) or not {"meta_archs", "arch2infos"} <= set(obj):
        raise DataError(f"{what} is not a NAS-Bench-201/NATS-Bench benchmark dict (expected keys "
                        f"meta_archs, arch2infos, evaluated_indexes)")
    unpickler._a2i = obj["arch2infos"] if isinstance(obj["arch2infos"], dict) else None
    if unpickler._a2i is not None:
        unpickler._leftovers(list(unpickler._a2i))
    return obj


# ---- opening the official containers ----------------------------------------------------------------
@contextmanager
def open_torch_pickle(path: Path) -> Iterator[tuple[BinaryIO, int, Callable[[], int]]]:
    """The main pickle of a ``torch.save`` file as (stream, its size, bytes-read-so-far).

    ``torch.save`` writes either a zip archive (torch >= 1.6; the object is ``<name>/data.pkl``,
    stored uncompressed) or the legacy format (pickles of a magic number, protocol version and
    system info, then the object, then storage data). Both are read here without torch: the header
    pickles through :class:`~nasarena.safe_pickle.RestrictedUnpickler`, the object by the caller.
    """
    with path.open("rb") as raw:
        magic = raw.read(4)
        raw.seek(0)
        if magic == b"PK\x03\x04":
            try:
                zf = zipfile.ZipFile(raw)
            except zipfile.BadZipFile as exc:
                raise DataError(f"{path} is an incomplete zip archive ({exc}); the download is probably "
                                f"incomplete: download it again") from None
            with zf:
                names = [n for n in zf.namelist() if n.endswith("/data.pkl") or n == "data.pkl"]
                if len(names) != 1:
                    raise DataError(f"{path} is a zip archive without one data.pkl: not a torch.save file")
                info = zf.getinfo(names[0])
                if info.compress_type == zipfile.ZIP_STORED:
                    raw.seek(info.header_offset)
                    header = raw.read(30)
                    name_len, extra_len = struct.unpack("<HH", header[26:30])
                    start = info.header_offset + 30 + name_len + extra_len
                    raw.seek(start)
                    fh = io.BufferedReader(raw, buffer_size=1 << 20)  # type: ignore[arg-type]
                    yield fh, info.file_size, lambda: raw.tell() - start
                    return
                with zf.open(info) as member:
                    fh = io.BufferedReader(member, buffer_size=1 << 20)  # type: ignore[arg-type]
                    yield fh, info.file_size, member.tell
                    return
        fh = io.BufferedReader(raw, buffer_size=1 << 20)  # type: ignore[arg-type]
        try:
            magic_number = RestrictedUnpickler(fh).load()
            RestrictedUnpickler(fh).load()  # protocol version
            RestrictedUnpickler(fh).load()  # system info
        except Exception as exc:  # noqa: BLE001 - anything here means "not this format"
            raise DataError(f"{path} is neither a zip nor a legacy torch.save file ({exc})") from None
        if magic_number != 0x1950A86A20F9469CFC6C:
            raise DataError(f"{path} is not a torch.save file (wrong magic number)")
        start = fh.tell()
        size = path.stat().st_size - start
        yield fh, size, lambda: fh.tell() - start


@contextmanager
def open_bz2_pickle(path: Path) -> Iterator[tuple[BinaryIO, int, Callable[[], int]]]:
    """A NATS-Bench ``.pickle.pbz2`` as (decompressed stream, compressed size, compressed bytes read)."""
    import bz2

    with path.open("rb") as raw, bz2.BZ2File(raw) as fh:
        yield fh, path.stat().st_size, raw.tell  # type: ignore[misc]


__all__ = ["OFFICIAL_GLOBALS", "RECORD_CLASSES", "StandIn", "StreamingRecordUnpickler", "open_bz2_pickle",
           "open_torch_pickle", "record_state", "stream_records"]
