"""
An append-only, hash-chained audit log of exec decisions (JSON lines).

Each line is one :class:`AuditRecord`. Its ``hash`` is the SHA-256 of the record's canonical
JSON (sorted keys, no whitespace, ``hash`` left out), and that JSON includes ``prev``, the
hash of the line before (64 zeros for the first), plus a running ``seq``. Editing, removing,
reordering or inserting a line breaks the chain, and :func:`verify_audit_log` says where.
Each record carries what a replay needs: the command, cwd, agent, session, the effective
policy and the verdict with its reason.

The record and chain logic is pure (:func:`chain_record`, :func:`verify_lines`);
:class:`AuditLog` and :func:`verify_audit_log` do the file I/O: appends take an exclusive
``flock``, re-read the tail only when another writer grew the file, write with ``O_APPEND``
and ``fsync``; the file is created 0600 and a symlink is refused.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any, Final

import anyio.to_thread
import attrs

from openclaw_exec.policy import ExecPolicy

__all__ = [
    "GENESIS_HASH",
    "AuditLog",
    "AuditRecord",
    "AuditVerification",
    "chain_record",
    "read_audit_log",
    "verify_audit_log",
    "verify_lines",
]

GENESIS_HASH: Final = "0" * 64
"""The ``prev`` of the first record."""

_STR_FIELDS = ("kind", "command", "reason", "prev", "hash")
_OPT_STR_FIELDS = (
    "cwd",
    "agent_id",
    "session_key",
    "decision",
    "approval_id",
    "approver",
    "host",
    "path_env",
)


def _opt_str(value: object) -> str | None:
    return None if value is None else str(value)


@attrs.frozen(kw_only=True)
class AuditRecord:
    """
    One audited decision.

    Attributes:
        seq: Position in the log, from 1.
        ts_ms: When it was decided (epoch milliseconds).
        kind: What was decided (``exec.authorize``).
        command: The command text as requested.
        cwd: Working directory.
        agent_id: The agent.
        session_key: The conversation.
        host: The exec host (``gateway``, ``node``, ...), if known.
        env_keys: Names (never values) of the environment passed.
        path_env: The ``PATH`` the command was analysed with (replay resolves with it).
        policy: The effective policy (``security``, ``ask``, ``askFallback``, ...).
        allowed: Whether the command may run.
        reason: Why (OpenClaw's reason strings, e.g. ``allowlist-miss``, ``user-denied``).
        decision: The human decision, if one was asked (``allow-once`` ...), else ``None``.
        approval_id: The approval id, if one was asked.
        approver: Who decided (``resolvedBy``).
        details: Extra data (analysis summary, persisted patterns, ...).
        prev: Hash of the previous record.
        hash: This record's hash.
    """

    seq: int
    ts_ms: int
    kind: str = "exec.authorize"
    command: str
    cwd: str | None = None
    agent_id: str | None = None
    session_key: str | None = None
    host: str | None = None
    env_keys: tuple[str, ...] = ()
    path_env: str | None = None
    policy: Mapping[str, Any] = attrs.field(factory=dict)
    allowed: bool
    reason: str
    decision: str | None = None
    approval_id: str | None = None
    approver: str | None = None
    details: Mapping[str, Any] = attrs.field(factory=dict)
    prev: str = GENESIS_HASH
    hash: str = ""

    def body(self) -> dict[str, Any]:
        """The JSON object, ``hash`` excluded (what the hash covers)."""
        data = attrs.asdict(self, recurse=False)
        del data["hash"]
        data["env_keys"] = list(self.env_keys)
        data["policy"] = dict(self.policy)
        data["details"] = dict(self.details)
        return data

    def exec_policy(self) -> ExecPolicy:
        """
        The effective policy recorded (for ``audit replay``).

        Raises:
            PolicyError: The recorded knobs are not valid policy values.
        """
        knobs = self.policy
        return ExecPolicy(
            security=knobs.get("security", "deny"),
            ask=knobs.get("ask", "on-miss"),
            ask_fallback=knobs.get("askFallback", "deny"),
            auto_allow_skills=knobs.get("autoAllowSkills", False) is True,
            sandbox=knobs.get("sandbox", "off"),
        )

    def to_json(self) -> str:
        """The JSON line (no newline)."""
        return json.dumps(
            {**self.body(), "hash": self.hash},
            sort_keys=True,
            separators=(",", ":"),
            ensure_ascii=False,
        )

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> AuditRecord:
        """
        Rebuild a record from a decoded line, checking every field's type.

        Raises:
            ValueError: A field is missing or has the wrong type.
        """
        problems = [
            f"{n} must be a string" for n in _STR_FIELDS if not isinstance(data.get(n), str)
        ]
        problems += [
            f"{n} must be a string or null"
            for n in _OPT_STR_FIELDS
            if data.get(n) is not None and not isinstance(data.get(n), str)
        ]
        problems += [
            f"{n} must be an integer" for n in ("seq", "ts_ms") if type(data.get(n)) is not int
        ]
        if type(data.get("allowed")) is not bool:
            problems.append("allowed must be a boolean")
        keys = data.get("env_keys")
        if not isinstance(keys, list) or not all(isinstance(k, str) for k in keys):
            problems.append("env_keys must be an array of strings")
        problems += [
            f"{n} must be an object"
            for n in ("policy", "details")
            if not isinstance(data.get(n), dict)
        ]
        if problems:
            raise ValueError("; ".join(problems))
        names = {a.name for a in attrs.fields(cls)}
        fields = {k: v for k, v in data.items() if k in names}
        fields["env_keys"] = tuple(fields["env_keys"])
        return cls(**fields)


def _digest(body: Mapping[str, Any]) -> str:
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def chain_record(previous: AuditRecord | None, **fields: Any) -> AuditRecord:
    """
    Make the record that follows *previous* (``None``: the first), with its hash.

    Args:
        previous: The last record of the log, or ``None``.
        **fields: The :class:`AuditRecord` fields except ``seq``, ``prev`` and ``hash``.
    """
    seq = 1 if previous is None else previous.seq + 1
    prev = GENESIS_HASH if previous is None else previous.hash
    draft = AuditRecord(seq=seq, prev=prev, **fields)
    return attrs.evolve(draft, hash=_digest(draft.body()))


@attrs.frozen(kw_only=True)
class AuditVerification:
    """
    The result of checking a log.

    Attributes:
        ok: The whole chain is intact.
        records: How many records were checked and found good (before any error).
        error: What is wrong, or ``""``.
        line: The 1-based line of the first problem, or ``None``.
        last_hash: Hash of the last good record (anchor it elsewhere to detect truncation).
    """

    ok: bool
    records: int
    error: str = ""
    line: int | None = None
    last_hash: str = GENESIS_HASH


def verify_lines(lines: Iterable[str | bytes]) -> AuditVerification:
    """
    Verify a sequence of JSON lines (pure).

    Checks, per line: JSON object, field types, ``seq`` one more than the previous,
    ``prev`` equal to the previous hash, ``hash`` equal to the recomputed digest, and the
    line byte-for-byte in canonical form (so no edit hides in whitespace or escapes).
    A last line without its newline is reported as truncated.
    """
    previous: AuditRecord | None = None
    count = 0
    for number, raw in enumerate(lines, start=1):
        text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
        if not text.endswith("\n"):
            return _bad(count, previous, number, "truncated record (no newline at the end)")
        try:
            data = json.loads(text)
        except ValueError as exc:
            return _bad(count, previous, number, f"not JSON: {exc}")
        if not isinstance(data, dict):
            return _bad(count, previous, number, "not a JSON object")
        try:
            record = AuditRecord.from_json(data)
        except (ValueError, TypeError) as exc:
            return _bad(count, previous, number, f"malformed record: {exc}")
        expected_seq = 1 if previous is None else previous.seq + 1
        expected_prev = GENESIS_HASH if previous is None else previous.hash
        if record.seq != expected_seq:
            return _bad(count, previous, number, f"seq {record.seq}, expected {expected_seq}")
        if record.prev != expected_prev:
            return _bad(count, previous, number, "prev does not match the previous record's hash")
        if _digest(record.body()) != record.hash:
            return _bad(count, previous, number, "hash does not match the record (edited?)")
        if text[:-1] != record.to_json():
            return _bad(count, previous, number, "record is not in canonical form (edited?)")
        previous = record
        count += 1
    return AuditVerification(
        ok=True, records=count, last_hash=GENESIS_HASH if previous is None else previous.hash
    )


def _bad(count: int, previous: AuditRecord | None, line: int, error: str) -> AuditVerification:
    last = GENESIS_HASH if previous is None else previous.hash
    return AuditVerification(ok=False, records=count, error=error, line=line, last_hash=last)


# ---------------------------------------------------------------------- file I/O


def verify_audit_log(path: str | os.PathLike[str]) -> AuditVerification:
    """
    Verify the chain of the log at *path* (a missing file is an empty, valid log).

    Returns:
        An :class:`AuditVerification`; ``ok`` is False with the line and the problem when
        the file was edited, truncated mid-record, reordered or spliced.
    """
    target = Path(path)
    if not target.exists():
        return AuditVerification(ok=True, records=0)
    with target.open("rb") as handle:
        return verify_lines(handle)


def read_audit_log(path: str | os.PathLike[str]) -> Iterator[AuditRecord]:
    """
    Yield the records of a log after verifying it.

    Raises:
        ValueError: The chain is broken (the message names the line).
    """
    result = verify_audit_log(path)
    if not result.ok:
        raise ValueError(f"{path}: line {result.line}: {result.error}")
    target = Path(path)
    if not target.exists():
        return
    with target.open("rb") as handle:
        for raw in handle:
            yield AuditRecord.from_json(json.loads(raw))


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
        block *= 2
    return data.rstrip(b"\n")


class AuditLog:
    """
    Appends records to a hash-chained JSON-lines file.

    Safe across processes (an exclusive ``flock`` around read-tail-and-append) and across
    tasks (an anyio lock; file work runs in a worker thread). The file is created 0600;
    a symlink at *path* is refused.

    Args:
        path: The log file.
        fsync: Flush each record to disk before returning (default True).
    """

    def __init__(self, path: str | os.PathLike[str], *, fsync: bool = True) -> None:
        self.path = Path(path)
        self.fsync = fsync
        self._lock = anyio.Lock()
        self._last: AuditRecord | None = None
        self._size = -1

    def _append_sync(self, fields: dict[str, Any]) -> AuditRecord:
        flags = os.O_RDWR | os.O_APPEND | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0) | os.O_CLOEXEC
        fd = os.open(self.path, flags, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            size = os.fstat(fd).st_size
            if size != self._size:  # first use, or another writer appended
                tail = _last_line(fd, size) if size else b""
                if tail:
                    try:
                        self._last = AuditRecord.from_json(json.loads(tail))
                    except ValueError as exc:
                        msg = f"{self.path}: last record is unreadable ({exc}); refusing to append"
                        raise ValueError(msg) from exc
                else:
                    self._last = None
            record = chain_record(self._last, **fields)
            line = (record.to_json() + "\n").encode("utf-8")
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
            ValueError: The last record of the file is unreadable (the log is damaged).
        """
        async with self._lock:
            return await anyio.to_thread.run_sync(self._append_sync, fields)
