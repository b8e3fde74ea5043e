"""
The writer: locked appends that continue the chain (and sign it with a key), then fsync.

Each record is written with one ``write(2)`` under an exclusive ``flock`` before
:meth:`AuditLog.append` returns, so a crash of the process loses nothing. When it also
reaches the disk is the *fsync* mode (:data:`FSYNC_MODES`):

* ``"always"``: ``fsync`` before ``append`` returns (a power loss loses nothing written);
* ``"batch"`` (the default): a background thread ``fsync`` s the file at once, one call
  covering every record written while the previous one ran (group commit), off the
  caller's path; a power loss or kernel crash can lose the records of the last moments
  (about one ``fsync``: milliseconds), which :meth:`AuditLog.sync` waits for;
* ``"never"``: the kernel writes the file back when it chooses (about 30 s on Linux).

A lost tail is a valid, shorter chain: only a published ``last_hash`` checked with
``expect_last_hash`` shows it (see :mod:`openclaw_exec.audit`).
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
import stat
import threading
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from pathlib import Path
from typing import Any, Final, Literal

import anyio
import anyio.to_thread

from openclaw_exec.audit._record import (
    MAX_RECORD_BYTES,
    AuditRecord,
    _check_key,
    chain_record_line,
)

__all__ = ["FSYNC_MODES", "AuditLog", "FsyncMode"]

FsyncMode = Literal["always", "batch", "never"]
#: The accepted ``fsync`` modes of :class:`AuditLog`.
FSYNC_MODES: Final = ("always", "batch", "never")
# The group-commit thread exits after this long without work (started again on demand).
_SYNC_IDLE_S = 2.0

# The group commits whose wake-up the current task holds back (see held_group_sync).
_HELD: ContextVar[list[_GroupSync] | None] = ContextVar("openclaw_exec_audit_held", default=None)


@contextlib.contextmanager
def held_group_sync() -> Iterator[Callable[[], None]]:
    """
    Hold back the ``fsync`` thread's wake-up of ``batch`` appends made in this block.

    Within the block, a ``batch`` append on this task wakes its ``fsync`` thread only at
    the returned release (called again on leaving the block, whatever happens). For
    :func:`~openclaw_exec.integrations.guarded_run`: the record is written before the
    answer, as always, and its ``fsync`` starts right after the command is started instead
    of right before. A thread woken while the event loop's thread is busy competes with it
    for the GIL at every system call of the decision and the start (60-150 µs per
    command); woken after the start, it runs while the loop waits for the child. Only for
    a block that releases within moments: the held records are not being synced.
    """
    held: list[_GroupSync] = []
    token = _HELD.set(held)

    def release() -> None:
        while held:
            held.pop().wake()

    try:
        yield release
    finally:
        _HELD.reset(token)
        release()


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


def _fsync_mode(value: object) -> FsyncMode:
    if value is True:
        return "always"
    if value is False:
        return "never"
    if value == "always":
        return "always"
    if value == "batch":
        return "batch"
    if value == "never":
        return "never"
    raise ValueError(f"fsync must be one of {', '.join(FSYNC_MODES)} (or a bool), got {value!r}")


class _GroupSync:
    """
    One background thread that ``fsync`` s what was written (group commit).

    Each append hands over a duplicate of its descriptor, unless one for the same file is
    already queued (an ``fsync`` covers everything written to the file before it starts,
    whichever descriptor wrote it, so a burst holds one descriptor per file, never one per
    record); the thread takes everything queued, ``fsync`` s each, closes them, and marks
    the tickets done. An ``fsync`` error is kept: every later append raises it (fail closed).
    """

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._pending: dict[tuple[int, int], int] = {}
        self._queued = 0
        self._done = 0
        self._thread: threading.Thread | None = None
        self.error: OSError | None = None

    def submit(self, fd: int, file_key: tuple[int, int], *, wake: bool = True) -> int:
        """
        Queue an ``fsync`` of what *fd* (file *file_key*: device, inode) has written.

        With *wake* false the thread is not woken (nor started) for it: :meth:`wake` must
        follow (a busy thread takes it anyway when its current ``fsync`` ends).
        """
        with self._cond:
            if file_key not in self._pending:
                self._pending[file_key] = os.dup(fd)
            self._queued += 1
            ticket = self._queued
            if wake:
                self._wake_locked()
            return ticket

    def wake(self) -> None:
        """Start (or wake) the thread for whatever is queued."""
        with self._cond:
            if self._pending:
                self._wake_locked()

    def _wake_locked(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._run, name="openclaw-exec-audit-fsync", daemon=True
            )
            self._thread.start()
        else:
            self._cond.notify_all()

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._pending:
                    if not self._cond.wait(timeout=_SYNC_IDLE_S) and not self._pending:
                        self._thread = None
                        return
                batch, self._pending = list(self._pending.values()), {}
                upto = self._queued
            error = _fsync_all(batch)
            with self._cond:
                if error is not None and self.error is None:
                    self.error = error
                self._done = upto
                self._cond.notify_all()

    def ticket(self) -> int:
        with self._cond:
            return self._queued

    def wait(self, ticket: int) -> None:
        with self._cond:
            while self._done < ticket:
                self._cond.wait()


def _fsync_all(fds: list[int]) -> OSError | None:
    """Run ``fsync`` on each of *fds* (one per file), then close them all."""
    error: OSError | None = None
    for fd in fds:
        try:
            os.fsync(fd)
        except OSError as exc:
            error = error or exc
    for fd in fds:
        with contextlib.suppress(OSError):
            os.close(fd)
    return error


class AuditLog:
    """
    Appends records to a hash-chained JSON-lines file.

    Safe across processes (an exclusive ``flock`` around read-tail-and-append) and across
    tasks (an anyio lock). An append is done on the calling thread when the ``flock`` is
    free at once (a few small system calls on a local file), else in a worker thread that
    waits for it. The file is created 0600; a symlink or anything but a regular file at
    *path* is refused.

    Args:
        path: The log file.
        fsync: When a record reaches the disk (see :data:`FSYNC_MODES`): ``"always"``
            (``True``) before :meth:`append` returns; ``"batch"`` (the default) by a
            background group commit started at once, so a power loss can lose the last
            milliseconds of records (every record is written to the file before
            :meth:`append` returns; a crash of the process loses nothing); ``"never"``
            (``False``) when the kernel chooses.
        key: The audit key (at least :data:`MIN_KEY_BYTES` bytes, e.g. from
            :func:`load_audit_key`): every record then carries an HMAC-SHA256 that
            ``verify_audit_log(path, key=...)`` checks. Keep it out of the agent's reach;
            without it the chain only detects accidents.

    Raises:
        ValueError: *fsync* is not a mode.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        fsync: FsyncMode | bool = "batch",
        key: bytes | None = None,
    ) -> None:
        self.path = Path(path)
        self.fsync_mode: FsyncMode = _fsync_mode(fsync)
        self._key = _check_key(key)
        self._lock = anyio.Lock()
        self._last: AuditRecord | None = None
        self._size = -1
        self._group = _GroupSync()

    def __repr__(self) -> str:
        keyed = "keyed" if self._key is not None else "unkeyed"
        return f"AuditLog({str(self.path)!r}, {keyed}, fsync={self.fsync_mode!r})"  # never the key

    @property
    def fsync(self) -> bool:
        """Whether each record is on disk before :meth:`append` returns (mode ``always``)."""
        return self.fsync_mode == "always"

    @property
    def keyed(self) -> bool:
        """Whether records carry a MAC."""
        return self._key is not None

    def _append_sync(
        self, fields: dict[str, Any], *, wait_lock: bool = True, wake: bool = True
    ) -> AuditRecord | None:
        """
        Append one record; ``None`` when *wait_lock* is false and the flock is taken.

        *wake* false: a ``batch`` fsync is queued without waking its thread (the caller
        holds it, see :func:`held_group_sync`).
        """
        self._raise_sync_error()  # fail closed: nothing more is recorded as if it were kept
        flags = os.O_RDWR | os.O_APPEND | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0) | os.O_CLOEXEC
        fd = os.open(self.path, flags | os.O_NONBLOCK | os.O_NOCTTY, 0o600)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX if wait_lock else fcntl.LOCK_EX | fcntl.LOCK_NB)
                locked = True
            except BlockingIOError:
                locked = False
            info = os.fstat(fd)  # one call: the kind, and (locked) the size
            if not stat.S_ISREG(info.st_mode):  # refused, locked or not
                raise ValueError(f"{self.path}: not a regular file; refusing to append")
            if not locked:
                return None  # another writer holds it: the caller waits in a worker thread
            size = info.st_size
            ours = size == self._size  # the file ends with our last line, newline included
            if not ours:  # first use, or another writer appended
                try:
                    tail = _last_line(fd, size) if size else b""
                    self._last = AuditRecord.from_json(json.loads(tail)) if tail else None
                except ValueError as exc:
                    msg = f"{self.path}: last record is unreadable ({exc}); refusing to append"
                    raise ValueError(msg) from exc
            record, text = chain_record_line(self._last, key=self._key, **fields)
            line = (text + "\n").encode("utf-8", "surrogatepass")
            if size and not ours and os.pread(fd, 1, size - 1) != b"\n":
                line = b"\n" + line  # never glue onto a torn line; verify will flag it
            written = os.write(fd, line)
            if written != len(line):  # a full disk: the record is torn, never returned
                raise OSError(errno.ENOSPC, f"{self.path}: short write of an audit record")
            if self.fsync_mode == "always":
                os.fsync(fd)
            elif self.fsync_mode == "batch":
                self._group.submit(fd, (info.st_dev, info.st_ino), wake=wake)
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

        The record is in the file when this returns; on disk too with ``fsync="always"``
        (see :meth:`sync` for the other modes).

        Raises:
            OSError: The file cannot be opened or written (a symlink is refused), or an
                earlier background ``fsync`` failed.
            ValueError: The last record of the file is unreadable (the log is damaged), or
                the path is not a regular file.
        """
        if self.fsync_mode != "always" and not self._lock.locked():
            # No await between the check and the write: no other task can interleave.
            held = _HELD.get() if self.fsync_mode == "batch" else None
            if held is not None and self._group not in held:
                held.append(self._group)  # woken at the holder's release
            record = self._append_sync(fields, wait_lock=False, wake=held is None)
            if record is not None:
                return record
        async with self._lock:
            found = await anyio.to_thread.run_sync(self._append_sync, fields)
            assert found is not None
            return found

    async def sync(self) -> None:
        """
        Wait until every record appended so far is on disk (any mode), then fsync once more.

        Raises:
            OSError: A background ``fsync`` failed (the error stays: after a failed
                ``fsync`` the kernel may have dropped the pages, so no later success
                proves the records are on disk; open a new :class:`AuditLog`), or this
                one did.
        """
        ticket = self._group.ticket()
        self._group.wake()  # anything a held block queued (never waited for unwoken)
        await anyio.to_thread.run_sync(self._group.wait, ticket)
        self._raise_sync_error()
        await anyio.to_thread.run_sync(self._fsync_now)

    def _raise_sync_error(self) -> None:
        failed = self._group.error
        if failed is not None:
            raise OSError(
                failed.errno,
                f"{self.path}: an earlier fsync of the audit log failed ({failed.strerror}); "
                "records may be missing from the disk: check the disk and open a new AuditLog",
            )

    def _fsync_now(self) -> None:
        flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | os.O_CLOEXEC | os.O_NONBLOCK
        try:
            fd = os.open(self.path, flags)
        except FileNotFoundError:
            return
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
