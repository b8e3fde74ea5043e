"""
Where the gateway kit keeps pairing records and pending pairing requests.

:class:`PairingStore` is the contract; :class:`MemoryPairingStore` keeps everything in a
dict (tests, short-lived gateways); :class:`FilePairingStore` keeps OpenClaw-like
``paired.json`` and ``pending.json`` in a folder (0700), each written atomically with mode
0600 (temporary file, fsync, rename), so a crash leaves the old or the new file, never a torn
one. Records go through one cattrs converter (the edge); the core classes never see JSON.
"""

from __future__ import annotations

import abc
import json
import os
import threading
from pathlib import Path
from typing import Any

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
    write); ``put_*`` replaces the row for that device; a gateway calls these from one event
    loop, but implementations must also be safe across threads. Durability is the
    implementation's promise: :class:`FilePairingStore` has written the file when ``put_*``
    returns.
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

    A malformed file raises :class:`~openclaw_exec.PairingError` naming it; it is never
    replaced by an empty one (that would unpair every device silently).
    """

    def __init__(self, folder: str | os.PathLike[str]) -> None:
        self.folder = Path(folder)
        self._lock = threading.Lock()

    def _load(self, name: str, cls: type[Any]) -> dict[str, Any]:
        path = self.folder / name
        if not path.exists():
            return {}
        document = _read_json(path)
        if not isinstance(document, dict):
            raise PairingError(f"{path}: expected an object keyed by device id")
        try:
            return {key: _CONVERTER.structure(value, cls) for key, value in document.items()}
        except (cattrs.BaseValidationError, ValueError, TypeError, PairingError) as exc:
            raise PairingError(f"{path}: invalid record: {exc}") from None

    def _save(self, name: str, rows: dict[str, Any]) -> None:
        document = {key: _CONVERTER.unstructure(value) for key, value in sorted(rows.items())}
        self.folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        _atomic_write(self.folder / name, json.dumps(document, indent=2) + "\n")

    def get_paired(self, device_id: str) -> PairedDevice | None:
        with self._lock:
            record: PairedDevice | None = self._load("paired.json", PairedDevice).get(device_id)
            return record

    def put_paired(self, record: PairedDevice) -> None:
        with self._lock:
            rows = self._load("paired.json", PairedDevice)
            rows[record.device_id] = record
            self._save("paired.json", rows)

    def get_pending(self, device_id: str) -> PendingPairing | None:
        with self._lock:
            row: PendingPairing | None = self._load("pending.json", PendingPairing).get(device_id)
            return row

    def put_pending(self, request: PendingPairing) -> None:
        with self._lock:
            rows = self._load("pending.json", PendingPairing)
            rows[request.device_id] = request
            self._save("pending.json", rows)

    def remove_pending(self, device_id: str) -> None:
        with self._lock:
            rows = self._load("pending.json", PendingPairing)
            if rows.pop(device_id, None) is not None:
                self._save("pending.json", rows)

    def list_pending(self) -> list[PendingPairing]:
        with self._lock:
            return list(self._load("pending.json", PendingPairing).values())

    def list_paired(self) -> list[PairedDevice]:
        with self._lock:
            return list(self._load("paired.json", PairedDevice).values())
