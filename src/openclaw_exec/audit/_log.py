"""The writer: locked, fsynced appends that continue the chain (and sign it with a key)."""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import stat
from pathlib import Path
from typing import Any

import anyio
import anyio.to_thread

from openclaw_exec.audit._record import MAX_RECORD_BYTES, AuditRecord, _check_key, chain_record

__all__ = ["AuditLog"]


def _last_line(fd: int, size: int) -> bytes:
    block = 8192
    end = size
    data = b""
    while end > 0:
        start = max(0, end - block)
        data = os.pread(fd, end - start, start) + data
        end = start
        stripped = data.rstrip(b"\n")
        if b"\n" in stripped:
            return stripped.rsplit(b"\n", 1)[1]
        if len(data) > MAX_RECORD_BYTES + 1:
            raise ValueError(f"the last record is longer than {MAX_RECORD_BYTES} bytes")
        block *= 2
    return data.rstrip(b"\n")


class AuditLog:
    """
    Appends records to a hash-chained JSON-lines file.

    Safe across processes (an exclusive ``flock`` around read-tail-and-append) and across
    tasks (an anyio lock; file work runs in a worker thread). The file is created 0600;
    a symlink or anything but a regular file at *path* is refused.

    Args:
        path: The log file.
        fsync: Flush each record to disk before returning (default True).
        key: The audit key (at least :data:`MIN_KEY_BYTES` bytes, e.g. from
            :func:`load_audit_key`): every record then carries an HMAC-SHA256 that
            ``verify_audit_log(path, key=...)`` checks. Keep it out of the agent's reach;
            without it the chain only detects accidents.
    """

    def __init__(
        self, path: str | os.PathLike[str], *, fsync: bool = True, key: bytes | None = None
    ) -> None:
        self.path = Path(path)
        self.fsync = fsync
        self._key = _check_key(key)
        self._lock = anyio.Lock()
        self._last: AuditRecord | None = None
        self._size = -1

    def __repr__(self) -> str:
        keyed = "keyed" if self._key is not None else "unkeyed"
        return f"AuditLog({str(self.path)!r}, {keyed})"  # never the key

    @property
    def keyed(self) -> bool:
        """Whether records carry a MAC."""
        return self._key is not None

    def _append_sync(self, fields: dict[str, Any]) -> AuditRecord:
        flags = os.O_RDWR | os.O_APPEND | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0) | os.O_CLOEXEC
        fd = os.open(self.path, flags | os.O_NONBLOCK | os.O_NOCTTY, 0o600)
        try:
            info = os.fstat(fd)
            if not stat.S_ISREG(info.st_mode):
                raise ValueError(f"{self.path}: not a regular file; refusing to append")
            fcntl.flock(fd, fcntl.LOCK_EX)
            size = os.fstat(fd).st_size
            if size != self._size:  # first use, or another writer appended
                try:
                    tail = _last_line(fd, size) if size else b""
                    self._last = AuditRecord.from_json(json.loads(tail)) if tail else None
                except ValueError as exc:
                    msg = f"{self.path}: last record is unreadable ({exc}); refusing to append"
                    raise ValueError(msg) from exc
            record = chain_record(self._last, key=self._key, **fields)
            line = (record.to_json() + "\n").encode("utf-8", "surrogatepass")
            if size and os.pread(fd, 1, size - 1) != b"\n":
                line = b"\n" + line  # never glue onto a torn line; verify will flag it
            os.write(fd, line)
            if self.fsync:
                os.fsync(fd)
            self._last = record
            self._size = size + len(line)
            return record
        finally:
            with contextlib.suppress(OSError):
                fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)

    async def append(self, **fields: Any) -> AuditRecord:
        """
        Append one record (fields as :class:`AuditRecord`, without ``seq``/``prev``/``hash``).

        Raises:
            OSError: The file cannot be opened or written (a symlink is refused).
            ValueError: The last record of the file is unreadable (the log is damaged), or
                the path is not a regular file.
        """
        async with self._lock:
            return await anyio.to_thread.run_sync(self._append_sync, fields)
