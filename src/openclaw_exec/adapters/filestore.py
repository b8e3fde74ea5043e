"""
The approvals file on disk: safe reads, atomic locked writes.

* Reads never repair: a malformed file raises :class:`~openclaw_exec.ApprovalsFileError`
  naming the file and the JSON path; it is never overwritten by a helper that failed
  to read it.
* Writes are atomic: a temporary file in the same folder (exclusive create, mode 0600),
  fsync, rename over the target, fsync of the folder. A reader sees the old or the new
  document, never a torn one. The folder is created 0700; writing through a symlink
  (the file or its folder) is refused.
* Read-modify-write helpers hold an exclusive ``flock`` on a sidecar ``.lock`` file, so
  several processes editing one file lose no update.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
import stat
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Final

import attrs

from openclaw_exec.exceptions import ApprovalsFileError
from openclaw_exec.policy import (
    POLICY_FIELDS,
    AgentPolicy,
    AllowlistEntry,
    ApprovalsFile,
    approvals_from_json,
    approvals_to_json,
    check_arg_pattern,
    dumps_approvals,
    loads_approvals,
)

__all__ = [
    "MAX_FILE_BYTES",
    "ApprovalsStore",
    "default_approvals_path",
    "read_approvals",
    "read_approvals_bytes",
    "read_at_most",
    "write_approvals",
]

_FILE_NAME = "exec-approvals.json"
#: A file larger than this is refused before it is read, and never written (a sane bound,
#: not a format rule).
MAX_FILE_BYTES: Final = 16 * 1024 * 1024


def default_approvals_path(env: Mapping[str, str] | None = None) -> Path:
    """
    Where OpenClaw keeps the approvals file.

    ``$OPENCLAW_STATE_DIR/exec-approvals.json`` when that variable is set, else
    ``~/.openclaw/exec-approvals.json``.
    """
    environ = os.environ if env is None else env
    state_dir = environ.get("OPENCLAW_STATE_DIR", "").strip()
    if state_dir:
        return Path(state_dir).expanduser() / _FILE_NAME
    return Path("~/.openclaw").expanduser() / _FILE_NAME


def read_approvals(path: str | os.PathLike[str]) -> ApprovalsFile | None:
    """
    Read and validate an approvals file.

    Returns:
        The file, or ``None`` when it does not exist (a host without a file adds no
        restriction, as in OpenClaw).

    Raises:
        ApprovalsFileError: The file exists but cannot be read, is not a regular file
            (a FIFO, a device, a folder), is writable by group or others, is larger than
            :data:`MAX_FILE_BYTES`, or is malformed.
    """
    target = Path(path)
    data = read_approvals_bytes(target)
    if data is None:
        return None
    return loads_approvals(data, source=str(target))


def read_approvals_bytes(path: str | os.PathLike[str]) -> bytes | None:
    """
    The raw bytes of an approvals file, with every check of :func:`read_approvals`.

    Opened without blocking (a FIFO planted at the path cannot hang the caller), checked
    with ``fstat`` on the open descriptor (no race with a swap), read with a bound.

    Returns:
        The bytes, or ``None`` when the file does not exist.

    Raises:
        ApprovalsFileError: As :func:`read_approvals`, before any parsing.
    """
    data = _read_checked(Path(path), None)
    assert not isinstance(data, _Larger)  # no limit: never larger
    return data


class _Larger:
    """A regular file larger than the caller's limit: nothing was read (see load_small)."""


_LARGER: Final = _Larger()


def _read_checked(target: Path, limit: int | None) -> bytes | _Larger | None:
    """:func:`read_approvals_bytes`, or :data:`_LARGER` for a regular file over *limit*."""
    try:
        fd = os.open(target, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC | os.O_NOCTTY)
    except FileNotFoundError:
        return None
    except IsADirectoryError:
        raise ApprovalsFileError(
            "not a regular file", path=str(target), expected="a regular file", found="a folder"
        ) from None
    except OSError as exc:
        raise ApprovalsFileError(f"cannot read: {exc.strerror}", path=str(target)) from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise ApprovalsFileError(
                "not a regular file",
                path=str(target),
                expected="a regular file",
                found=_file_kind(info.st_mode),
            )
        if info.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
            # Whoever can write the file sets the host policy: a group- or world-writable
            # file is a policy anyone in that group can loosen.
            raise ApprovalsFileError(
                f"the file is writable by group or others (mode {stat.S_IMODE(info.st_mode):04o});"
                f" run: chmod go-w {target}",
                path=str(target),
            )
        if info.st_size > MAX_FILE_BYTES:
            raise ApprovalsFileError(
                f"the file is {info.st_size} bytes, larger than the {MAX_FILE_BYTES} accepted",
                path=str(target),
            )
        if limit is not None and info.st_size > limit:
            return _LARGER
        os.set_blocking(fd, True)
        data = read_at_most(fd, MAX_FILE_BYTES)
    except OSError as exc:
        raise ApprovalsFileError(f"cannot read: {exc.strerror}", path=str(target)) from None
    finally:
        os.close(fd)
    if len(data) > MAX_FILE_BYTES:  # it grew after fstat
        raise ApprovalsFileError(
            f"the file is larger than the {MAX_FILE_BYTES} bytes accepted", path=str(target)
        )
    return data


def read_at_most(fd: int, limit: int) -> bytes:
    """
    Read *fd* to its end, but never more than *limit* + 1 bytes.

    A result longer than *limit* means "too large": the caller refuses it without the
    rest ever being read (``/dev/zero``, a growing file, an endless pipe).
    """
    chunks: list[bytes] = []
    total = 0
    while total <= limit:
        chunk = os.read(fd, min(1 << 20, limit + 1 - total))
        if not chunk:
            break
        chunks.append(chunk)
        total += len(chunk)
    return b"".join(chunks)


def _file_kind(mode: int) -> str:
    kinds = (
        (stat.S_ISFIFO, "a FIFO (named pipe)"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISSOCK, "a socket"),
        (stat.S_ISDIR, "a folder"),
    )
    return next((name for test, name in kinds if test(mode)), "not a regular file")


def _check_not_symlink(target: Path) -> None:
    for candidate in (target, target.parent):
        if candidate.is_symlink():
            raise ApprovalsFileError(
                "refusing to write through a symbolic link", path=str(candidate)
            )


def write_approvals(path: str | os.PathLike[str], file: ApprovalsFile) -> None:
    """
    Write an approvals file atomically (0600, folder 0700, never through a symlink).

    Prefer :class:`ApprovalsStore` for read-modify-write: this function does not lock.

    Raises:
        ApprovalsFileError: The target or its folder is a symlink, the document is larger
            than :data:`MAX_FILE_BYTES` or would not read back (an invalid agent key...),
            or the write failed (the previous file is then left as it was).
    """
    target = Path(path)
    data = dumps_approvals(file)
    # Never write what every later read would refuse (the guard would then deny
    # everything): the same size cap, and the document must read back as itself.
    if len(data) > MAX_FILE_BYTES:
        raise ApprovalsFileError(
            f"the document would be {len(data)} bytes, larger than the {MAX_FILE_BYTES} any "
            "reader accepts; nothing was written",
            path=str(target),
        )
    loads_approvals(data, source=str(target))
    _check_not_symlink(target)
    try:
        target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError as exc:
        raise ApprovalsFileError(
            f"cannot create the folder: {exc.strerror}", path=str(target)
        ) from None
    _check_not_symlink(target)
    temp = target.parent / f".{target.name}.{os.getpid()}.{uuid.uuid4().hex}.tmp"
    try:
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
        try:
            view = memoryview(data)
            while view:
                written = os.write(fd, view)
                view = view[written:]
            os.fsync(fd)
        finally:
            os.close(fd)
        temp.replace(target)
        _fsync_dir(target.parent)
    except OSError as exc:
        with contextlib.suppress(FileNotFoundError):
            temp.unlink()
        raise ApprovalsFileError(f"cannot write: {exc.strerror}", path=str(target)) from None


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    except OSError as exc:  # pragma: no cover - some filesystems refuse fsync on folders
        if exc.errno not in (errno.EINVAL, errno.EBADF):
            raise
    finally:
        os.close(fd)


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


@attrs.define
class ApprovalsStore:
    """
    One approvals file on disk, with locked read-modify-write helpers.

    Args:
        path: The file (see :func:`default_approvals_path`).

    Every helper re-reads the file under the lock, so edits by other processes
    (OpenClaw's own CLI, another replica) are never overwritten with stale data. A
    malformed file makes every helper raise and leaves the file untouched.
    """

    path: Path = attrs.field(converter=Path)
    # The last document read and its exact bytes: a read whose bytes are equal returns
    # the same (immutable) value, so the guard's compiled allowlist is found again by
    # identity; any change of content, whatever its size or mtime, is parsed anew.
    _last: tuple[bytes, ApprovalsFile] | None = attrs.field(
        default=None, init=False, eq=False, repr=False
    )

    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        """Hold the cross-process lock (an exclusive ``flock`` on ``<file>.lock``)."""
        _check_not_symlink(self.path)
        self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        lock_path = self.path.with_name(self.path.name + ".lock")
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # closing releases the flock

    def load(self) -> ApprovalsFile | None:
        """
        Read the file (``None`` if missing); see :func:`read_approvals`.

        The file is read and checked on every call; the document is parsed again only
        when its bytes differ from the last read's (then the same value is returned).
        """
        return self._parsed(read_approvals_bytes(self.path))

    def load_small(self, max_bytes: int) -> tuple[bool, ApprovalsFile | None]:
        """
        :meth:`load` for a file of at most *max_bytes*: ``(True, value)``.

        ``(False, None)`` for a regular file larger than that, nothing read (the caller
        reads it elsewhere, a worker thread); every refusal raises as :meth:`load`'s. One
        ``open`` and ``fstat`` decide, so nothing is looked up twice.
        """
        data = _read_checked(self.path, max_bytes)
        if isinstance(data, _Larger):
            return False, None
        return True, self._parsed(data)

    def _parsed(self, data: bytes | None) -> ApprovalsFile | None:
        if data is None:
            return None
        last = self._last
        if last is not None and last[0] == data:
            return last[1]
        parsed = loads_approvals(data, source=str(self.path))
        self._last = (data, parsed)
        return parsed

    def update(self, change: Callable[[ApprovalsFile], ApprovalsFile]) -> ApprovalsFile:
        """
        Apply *change* to the current file under the lock and write the result.

        A missing file starts as an empty ``{"version": 1}`` document. If *change*
        raises, nothing is written.
        """
        with self.locked():
            current = read_approvals(self.path) or ApprovalsFile()
            updated = change(current)
            if updated != current:
                write_approvals(self.path, updated)
            return updated

    def add_allowlist_entry(
        self, agent_id: str, entry: AllowlistEntry, *, now_ms: int | None = None
    ) -> ApprovalsFile:
        """
        Add *entry* to ``agents.<agent_id>.allowlist``.

        An entry with the same pattern (and argPattern) is not duplicated: as in
        OpenClaw, an ``allow-always`` source upgrades it and ``lastUsedAt`` is refreshed.
        A missing ``id`` is filled with a UUID.
        """
        stamp = _now_ms() if now_ms is None else now_ms

        def change(file: ApprovalsFile) -> ApprovalsFile:
            agent = file.agents.get(agent_id) or AgentPolicy()
            entries = list(agent.allowlist)
            # An argPattern that could never match is refused when written (kept on read).
            check_arg_pattern(
                entry.arg_pattern,
                source=str(self.path),
                json_path=f"agents[{json.dumps(agent_id)}].allowlist[{len(entries)}].argPattern",
            )
            for index, existing in enumerate(entries):
                if (existing.pattern, existing.arg_pattern) == (entry.pattern, entry.arg_pattern):
                    entries[index] = attrs.evolve(
                        existing,
                        source=entry.source or existing.source,
                        last_used_at=stamp if entry.source else existing.last_used_at,
                    )
                    break
            else:
                entries.append(
                    attrs.evolve(
                        entry,
                        id=entry.id or str(uuid.uuid4()),
                        last_used_at=entry.last_used_at
                        if entry.last_used_at is not None
                        else stamp,
                    )
                )
            return file.with_agent(agent_id, attrs.evolve(agent, allowlist=entries))

        return self.update(change)

    def remove_allowlist_entry(self, agent_id: str, pattern_or_id: str) -> ApprovalsFile:
        """Remove the entries of ``agents.<agent_id>`` whose pattern or id equals the argument."""

        def change(file: ApprovalsFile) -> ApprovalsFile:
            agent = file.agents.get(agent_id)
            if agent is None:
                return file
            kept = [e for e in agent.allowlist if pattern_or_id not in (e.pattern, e.id)]
            return file.with_agent(agent_id, attrs.evolve(agent, allowlist=kept))

        return self.update(change)

    def record_use(
        self,
        agent_id: str,
        pattern: str,
        *,
        command: str,
        resolved_path: str | None,
        now_ms: int | None = None,
    ) -> ApprovalsFile:
        """Stamp ``lastUsedAt``, ``lastUsedCommand``, ``lastResolvedPath`` on matching entries."""
        stamp = _now_ms() if now_ms is None else now_ms

        def change(file: ApprovalsFile) -> ApprovalsFile:
            agent = file.agents.get(agent_id)
            if agent is None:
                return file
            entries = [
                attrs.evolve(
                    e,
                    last_used_at=stamp,
                    last_used_command=command,
                    last_resolved_path=resolved_path,
                )
                if e.pattern == pattern
                else e
                for e in agent.allowlist
            ]
            return file.with_agent(agent_id, attrs.evolve(agent, allowlist=entries))

        return self.update(change)

    def set_defaults(self, **knobs: object) -> ApprovalsFile:
        """
        Set knobs of ``defaults``: ``security``, ``ask``, ``ask_fallback``, ``auto_allow_skills``.

        Values are validated like the file itself (exact OpenClaw spellings).
        """
        names = dict(POLICY_FIELDS)
        unknown = sorted(set(knobs) - set(names))
        if unknown:
            raise TypeError(f"unknown knob {unknown[0]!r}")

        def change(file: ApprovalsFile) -> ApprovalsFile:
            document = approvals_to_json(file)
            defaults = dict(document.get("defaults") or {})
            for key, value in knobs.items():
                defaults[names[key]] = getattr(value, "value", value)
            document["defaults"] = defaults
            return approvals_from_json(document, source=str(self.path))

        return self.update(change)
