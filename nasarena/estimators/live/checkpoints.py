"""Training checkpoints of the live oracle: what is saved, how it is checked, and a disk cap.

A checkpoint is the full state a training stopped in (weights, optimizer state, the data-order
generator, the global step, the curves so far, the schedule length; see
:func:`nasarena.estimators.live.trainer.train`), so that a later evaluation can *continue* it to more
epochs or *warm-start* another architecture from its weights.

File format (one file per evaluation key, ``CACHE/<dataset>/checkpoints/<key digest>.ckpt``):
``MAGIC`` + the SHA-256 of the payload + the payload, which is ``torch.save`` of plain dicts, lists,
numbers, strings and tensors. Why this shape:

* **Never a general unpickle.** The payload is read with ``torch.load(weights_only=True)``, which
  admits only tensors and plain containers, so a forged file cannot run code.
* **Damage is detected, not trusted.** A truncated or bit-flipped file fails the checksum (torch's
  zip reader does not verify the tensor bytes), and a state written for another key, arch, seed or
  schedule fails :func:`check_state`. The oracle then trains from scratch and says so; it never
  continues from a wrong state.
* **Atomic.** Written with :func:`nasarena.atomic.write_bytes_atomic` (temp file, fsync, rename),
  so concurrent studies sharing a cache see whole files or none.

**Disk cap.** :class:`CheckpointStore` keeps the folder under ``cap_bytes``: after each write it
evicts the least recently used checkpoints (modification time; reading or handing out a checkpoint
touches it) that no live handle of this process references, then, only if that is not enough,
referenced ones too. An evicted checkpoint only costs time: continuing it retrains from scratch.
"""

from __future__ import annotations

import hashlib
import io
import logging
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import torch

from nasarena.atomic import TMP_SUFFIX, write_bytes_atomic
from nasarena.errors import DataError

log = logging.getLogger(__name__)

STATE_FORMAT = 1
MAGIC = b"NASARENA-CKPT-1\n"
SUFFIX = ".ckpt"
STATE_KEYS = ("format", "arch", "seed", "epochs", "schedule_epochs", "batch_size", "lr", "n_train", "step",
              "model", "optimizer", "generator", "curve", "train_loss", "epoch_seconds", "inherited")


class CheckpointError(DataError):
    """A checkpoint that cannot be used (missing fields, another training's state, damaged bytes)."""


def to_cpu(obj: Any) -> Any:
    """A copy of a state (nested dicts/lists of tensors) with every tensor detached on the CPU."""
    if isinstance(obj, torch.Tensor):
        return obj.detach().to("cpu", copy=True)
    if isinstance(obj, Mapping):
        return {k: to_cpu(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return type(obj)(to_cpu(v) for v in obj)
    return obj


def copy_matching(model: torch.nn.Module, weights: Mapping[str, torch.Tensor]) -> list[str]:
    """Copy into ``model`` every tensor of ``weights`` whose name and shape match one of its own.

    The rest keeps the model's fresh initialisation. This is the warm-start plumbing; rules that
    map tensors of different shapes (function-preserving morphisms) would plug in here. Returns the
    copied names, in the model's order.
    """
    own = model.state_dict()
    copied = [name for name, t in own.items()
              if isinstance(weights.get(name), torch.Tensor) and tuple(weights[name].shape) == tuple(t.shape)
              and weights[name].dtype == t.dtype]
    with torch.no_grad():
        for name in copied:
            own[name].copy_(weights[name])
    return copied


def check_state(state: Mapping[str, Any], *, arch: list[int], seed: int, schedule_epochs: int,
                n_train: int, max_epochs: int) -> None:
    """Raise :class:`CheckpointError` unless ``state`` is a checkpoint this training may resume."""
    missing = [k for k in STATE_KEYS if k not in state]
    if missing:
        raise CheckpointError(f"checkpoint lacks {missing}")
    if state["format"] != STATE_FORMAT:
        raise CheckpointError(f"checkpoint format {state['format']!r}, expected {STATE_FORMAT}")
    expect = {"arch": arch, "seed": seed, "schedule_epochs": schedule_epochs, "n_train": n_train}
    wrong = {k: (state[k], v) for k, v in expect.items() if state[k] != v}
    if wrong:
        raise CheckpointError("checkpoint is of another training: " +
                              ", ".join(f"{k} {got!r} != {want!r}" for k, (got, want) in wrong.items()))
    epochs = state["epochs"]
    if not isinstance(epochs, int) or not 0 < epochs <= max_epochs or len(state["curve"]) != epochs \
            or len(state["epoch_seconds"]) != epochs:
        raise CheckpointError(f"checkpoint holds {epochs!r} epochs; resuming needs 1..{max_epochs} with a "
                              f"curve of that length")


def pack(state: Mapping[str, Any]) -> bytes:
    """The file bytes of ``state``: magic, SHA-256 of the payload, payload."""
    buf = io.BytesIO()
    torch.save(dict(state), buf)
    payload = buf.getvalue()
    return MAGIC + hashlib.sha256(payload).digest() + payload


def unpack(data: bytes) -> dict[str, Any]:
    """Inverse of :func:`pack`; raises :class:`CheckpointError` for anything damaged or foreign."""
    head = len(MAGIC) + 32
    if len(data) < head or not data.startswith(MAGIC):
        raise CheckpointError("not a nasarena checkpoint (bad header)")
    payload = data[head:]
    if hashlib.sha256(payload).digest() != data[len(MAGIC):head]:
        raise CheckpointError("checksum mismatch (truncated or damaged file)")
    try:
        state = torch.load(io.BytesIO(payload), map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - any unreadable payload is a damaged checkpoint
        raise CheckpointError(f"unreadable payload ({type(exc).__name__}: {exc})") from None
    if not isinstance(state, dict):
        raise CheckpointError(f"payload is a {type(state).__name__}, not a dict")
    return state


class CheckpointStore:
    """Checkpoint files under ``root``, kept under ``cap_bytes`` (see the module docstring)."""

    def __init__(self, root: str | os.PathLike[str], cap_bytes: int) -> None:
        if cap_bytes < 0:
            raise DataError(f"the checkpoint cap must be >= 0 bytes, got {cap_bytes}")
        self.root = Path(root).expanduser()
        self.cap_bytes = int(cap_bytes)

    def path(self, digest: str) -> Path:
        """Where the checkpoint of the key with this digest lives."""
        return self.root / f"{digest}{SUFFIX}"

    def save(self, digest: str, state: Mapping[str, Any], protect: Iterable[str] = ()) -> int:
        """Write ``state`` atomically, then enforce the cap; returns the file's size (0: not kept).

        A checkpoint larger than the whole cap is not written (it would evict everything and then
        itself). A full or read-only disk is logged, not raised: a lost checkpoint only costs time.
        """
        data = pack(state)
        if len(data) > self.cap_bytes:
            if self.cap_bytes:
                log.warning("checkpoint of %d bytes exceeds the cap of %d bytes; not kept", len(data),
                            self.cap_bytes)
            return 0
        try:
            write_bytes_atomic(data, self.path(digest))
        except OSError as exc:
            log.warning("could not write checkpoint %s: %s", self.path(digest), exc)
            return 0
        self.evict(protect={*protect, digest})
        return len(data)

    def load(self, digest: str) -> tuple[dict[str, Any] | None, str]:
        """(state, "") for a readable checkpoint, else (None, why not). Touches the file (LRU)."""
        p = self.path(digest)
        try:
            data = p.read_bytes()
        except FileNotFoundError:
            return None, "is missing (never kept, evicted by the disk cap, or deleted)"
        except OSError as exc:
            return None, f"cannot be read ({exc})"
        try:
            state = unpack(data)
        except CheckpointError as exc:
            return None, f"is damaged: {exc}"
        self.touch(digest)
        return state, ""

    def touch(self, digest: str) -> None:
        """Mark a checkpoint as just used (eviction takes the least recently used first)."""
        try:
            os.utime(self.path(digest))
        except OSError:
            pass

    def entries(self) -> list[tuple[float, int, Path]]:
        """(mtime, size, path) of every checkpoint, oldest first (unfinished writes skipped)."""
        out = []
        if not self.root.is_dir():
            return out
        with os.scandir(self.root) as it:
            for entry in it:
                if not entry.name.endswith(SUFFIX) or entry.name.endswith(TMP_SUFFIX):
                    continue
                try:
                    st = entry.stat()
                except FileNotFoundError:  # evicted by another process meanwhile
                    continue
                out.append((st.st_mtime, st.st_size, Path(entry.path)))
        return sorted(out)

    def usage(self) -> tuple[int, int]:
        """(number of checkpoints, bytes they take)."""
        entries = self.entries()
        return len(entries), sum(e[1] for e in entries)

    def evict(self, protect: Iterable[str] = (), cap_bytes: int | None = None) -> tuple[int, int]:
        """Delete oldest checkpoints until at most ``cap_bytes`` (default: the store's cap) remain:
        unprotected ones first, then protected ones. Returns (files deleted, bytes freed)."""
        cap = self.cap_bytes if cap_bytes is None else cap_bytes
        entries = self.entries()
        used = sum(e[1] for e in entries)
        if used <= cap:
            return 0, 0
        keep = {f"{d}{SUFFIX}" for d in protect}
        order = [e for e in entries if e[2].name not in keep] + [e for e in entries if e[2].name in keep]
        n = freed = 0
        for _, size, path in order:
            if used - freed <= cap:
                break
            try:
                path.unlink()
            except FileNotFoundError:
                pass
            if path.name in keep:
                log.warning("checkpoint cap %d bytes: evicting %s, which this study may still continue "
                            "(it will be retrained if asked)", cap, path.name)
            n, freed = n + 1, freed + size
        log.info("checkpoints in %s: evicted %d (%.1f MB); %.1f MB of the %.1f MB cap in use", self.root, n,
                 freed / 1e6, (used - freed) / 1e6, cap / 1e6)
        return n, freed


__all__ = ["MAGIC", "STATE_FORMAT", "CheckpointError", "CheckpointStore", "check_state", "copy_matching",
           "pack", "to_cpu", "unpack"]
