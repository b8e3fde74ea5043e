"""
Where the gateway kit keeps pairing records and pending pairing requests.

:class:`PairingStore` is the contract; :class:`MemoryPairingStore` keeps everything in a
dict (tests, short-lived gateways); :class:`FilePairingStore` keeps OpenClaw-like
``paired.json`` and ``pending.json`` in a folder (0700), served from memory and written on
:meth:`PairingStore.flush` (batched by the gateway kit, in a worker thread), each atomically
with mode 0600 (temporary file, fsync, rename), so a crash leaves the old or the new file,
never a torn one. Records go through one cattrs converter (the edge); the core classes never
see JSON.
"""

from __future__ import annotations

import abc
import json
import os
import threading
from pathlib import Path
from typing import Any, Self

import cattrs

from openclaw_exec.adapters.websocket._identity import _atomic_write, _read_json
from openclaw_exec.exceptions import PairingError
from openclaw_exec.pairing import PairedDevice, PendingPairing

__all__ = ["FilePairingStore", "MemoryPairingStore", "PairingStore", "default_pairing_dir"]

_CONVERTER = cattrs.Converter()


def default_pairing_dir(env: dict[str, str] | None = None) -> Path:
    """
    Where the gateway kit keeps pairings by default.

    ``$OPENCLAW_EXEC_STATE_DIR/gateway/devices``, else ``~/.openclaw-exec/gateway/devices``
    (not OpenClaw's own ``~/.openclaw/devices``: the kit never edits another gateway's state).
    """
    environ = os.environ if env is None else env
    base = environ.get("OPENCLAW_EXEC_STATE_DIR", "").strip()
    root = Path(base).expanduser() if base else Path.home() / ".openclaw-exec"
    return root / "gateway" / "devices"


class PairingStore(abc.ABC):
    """
    Pairing records and pending requests, by device id.

    Contract: each method is atomic with respect to the others (a reader never sees half a
    write); ``put_*`` replaces the row for that device. The gateway kit calls every method
    but :meth:`flush` on its event loop, so they must be quick (memory, not disk);
    :meth:`flush` makes changes durable and is called from a worker thread, so
    implementations must be safe across threads.
    """

    @abc.abstractmethod
    def get_paired(self, device_id: str) -> PairedDevice | None:
        """The pairing record of *device_id*, or ``None``."""

    @abc.abstractmethod
    def put_paired(self, record: PairedDevice) -> None:
        """Store (replace) the pairing record of ``record.device_id``."""

    @abc.abstractmethod
    def get_pending(self, device_id: str) -> PendingPairing | None:
        """The pending pairing request of *device_id* (at most one per device), or ``None``."""

    @abc.abstractmethod
    def put_pending(self, request: PendingPairing) -> None:
        """Store (replace) the pending request of ``request.device_id``."""

    @abc.abstractmethod
    def remove_pending(self, device_id: str) -> None:
        """Drop the pending request of *device_id*, if any."""

    @abc.abstractmethod
    def list_pending(self) -> list[PendingPairing]:
        """Every pending request (for a human to approve)."""

    @abc.abstractmethod
    def list_paired(self) -> list[PairedDevice]:
        """Every pairing record."""

    def count_paired(self) -> int:
        """How many pairing records there are (override when listing is costly)."""
        return len(self.list_paired())

    def count_pending(self) -> int:
        """How many pending requests there are (override when listing is costly)."""
        return len(self.list_pending())

    def flush(self) -> int:
        """
        Make earlier changes durable; returns the number of files written.

        Blocking: the gateway kit calls it in a worker thread. Stores that write through
        (or keep nothing on disk) need not override it.
        """
        return 0


class MemoryPairingStore(PairingStore):
    """A :class:`PairingStore` in memory (lost when the process ends)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._paired: dict[str, PairedDevice] = {}
        self._pending: dict[str, PendingPairing] = {}

    def get_paired(self, device_id: str) -> PairedDevice | None:
        with self._lock:
            return self._paired.get(device_id)

    def put_paired(self, record: PairedDevice) -> None:
        with self._lock:
            self._paired[record.device_id] = record

    def get_pending(self, device_id: str) -> PendingPairing | None:
        with self._lock:
            return self._pending.get(device_id)

    def put_pending(self, request: PendingPairing) -> None:
        with self._lock:
            self._pending[request.device_id] = request

    def remove_pending(self, device_id: str) -> None:
        with self._lock:
            self._pending.pop(device_id, None)

    def list_pending(self) -> list[PendingPairing]:
        with self._lock:
            return list(self._pending.values())

    def list_paired(self) -> list[PairedDevice]:
        with self._lock:
            return list(self._paired.values())


class FilePairingStore(PairingStore):
    """
    A :class:`PairingStore` in ``<folder>/paired.json`` and ``<folder>/pending.json``.

    The files are read once (on first use) and then served from memory; ``put_*`` and
    ``remove_pending`` change memory at once and mark the file dirty, and :meth:`flush`
    writes each dirty file whole (temporary file, fsync, rename: a crash leaves the old or
    the new file). :class:`~openclaw_exec.adapters.websocket.GatewayKit` calls
    :meth:`flush` in a worker thread, at most every ``store_flush_interval`` seconds and
    once more when it stops, so a burst of new devices costs one write, not one per device,
    and never blocks the event loop. Used on its own, call :meth:`flush` (or use the store
    as a context manager). While a gateway runs, the store owns the folder: edits made to
    the files by another process are not seen and are overwritten by the next flush.

    A malformed file raises :class:`~openclaw_exec.PairingError` naming it, on every use
    until it is repaired; it is never replaced by an empty one (that would unpair every
    device silently).
    """

    #: Largest pairing file read (each row is under 1 KiB: room for ~60 000 devices).
    MAX_FILE_BYTES = 64 * 1024 * 1024

    def __init__(self, folder: str | os.PathLike[str]) -> None:
        self.folder = Path(folder)
        self._lock = threading.Lock()  # guards the tables (held briefly, also by the loop)
        self._flush_lock = threading.Lock()  # one flush at a time, so files go out in order
        self._paired: dict[str, PairedDevice] | None = None
        self._pending: dict[str, PendingPairing] | None = None
        self._dirty: set[str] = set()
        self.writes = 0  # files written so far (tests and metrics)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.flush()

    def _load(self, name: str, cls: type[Any]) -> dict[str, Any]:
        path = self.folder / name
        if not path.exists():
            return {}
        document = _read_json(path, limit=self.MAX_FILE_BYTES)
        if not isinstance(document, dict):
            raise PairingError(f"{path}: expected an object keyed by device id")
        try:
            return {key: _CONVERTER.structure(value, cls) for key, value in document.items()}
        except (cattrs.BaseValidationError, ValueError, TypeError, PairingError) as exc:
            raise PairingError(f"{path}: invalid record: {exc}") from None

    def _paired_rows(self) -> dict[str, PairedDevice]:
        if self._paired is None:  # a failed load is not cached: the next use tries again
            self._paired = self._load("paired.json", PairedDevice)
        return self._paired

    def _pending_rows(self) -> dict[str, PendingPairing]:
        if self._pending is None:
            self._pending = self._load("pending.json", PendingPairing)
        return self._pending

    @property
    def dirty(self) -> bool:
        """Whether a change is not yet on disk."""
        with self._lock:
            return bool(self._dirty)

    def flush(self) -> int:
        """
        Write every changed file (atomically, fsync'd); blocking, so call it off the loop.

        Returns:
            How many files were written.

        Raises:
            OSError: A file could not be written (it stays dirty; the next flush retries).
        """
        written = 0
        with self._flush_lock:
            with self._lock:
                dirty, self._dirty = self._dirty, set()
                # Rows are frozen: a shallow copy is a consistent snapshot.
                snapshots: dict[str, dict[str, Any]] = {
                    "paired.json": dict(self._paired or {}),
                    "pending.json": dict(self._pending or {}),
                }
            for name in sorted(dirty):
                try:
                    self._save(name, snapshots[name])
                except BaseException:
                    with self._lock:
                        self._dirty.add(name)
                    raise
                written += 1
            self.writes += written
        return written

    def _save(self, name: str, rows: dict[str, Any]) -> None:
        document = {key: _CONVERTER.unstructure(value) for key, value in sorted(rows.items())}
        self.folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        _atomic_write(self.folder / name, json.dumps(document, indent=2) + "\n")

    def get_paired(self, device_id: str) -> PairedDevice | None:
        with self._lock:
            return self._paired_rows().get(device_id)

    def put_paired(self, record: PairedDevice) -> None:
        with self._lock:
            self._paired_rows()[record.device_id] = record
            self._dirty.add("paired.json")

    def get_pending(self, device_id: str) -> PendingPairing | None:
        with self._lock:
            return self._pending_rows().get(device_id)

    def put_pending(self, request: PendingPairing) -> None:
        with self._lock:
            self._pending_rows()[request.device_id] = request
            self._dirty.add("pending.json")

    def remove_pending(self, device_id: str) -> None:
        with self._lock:
            if self._pending_rows().pop(device_id, None) is not None:
                self._dirty.add("pending.json")

    def list_pending(self) -> list[PendingPairing]:
        with self._lock:
            return list(self._pending_rows().values())

    def list_paired(self) -> list[PairedDevice]:
        with self._lock:
            return list(self._paired_rows().values())

    def count_paired(self) -> int:
        with self._lock:
            return len(self._paired_rows())

    def count_pending(self) -> int:
        with self._lock:
            return len(self._pending_rows())
