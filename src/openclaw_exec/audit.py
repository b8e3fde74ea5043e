"""
An append-only, hash-chained audit log of exec decisions (JSON lines), optionally keyed.

Each line is one :class:`AuditRecord`. Its ``hash`` is the SHA-256 of the record's canonical
JSON (sorted keys, no whitespace, ``hash`` and ``mac`` left out), and that JSON includes
``prev``, the hash of the line before (64 zeros for the first), plus a running ``seq``.
Editing, removing, reordering or inserting a line breaks the chain, and
:func:`verify_audit_log` says where. Each record carries what a replay needs: the command,
cwd, agent, session, the effective policy and the verdict with its reason.

What the chain proves depends on a key:

* **Unkeyed** (the default), the chain detects accidents (a torn write, an editor, a bad
  merge). Whoever can write the file can recompute every hash after an edit or a deletion:
  against them an unkeyed chain proves nothing.
* **Keyed** (``AuditLog(path, key=...)``), every record also carries ``mac``, an
  HMAC-SHA256 of its canonical JSON under a key the writer holds and the log does not.
  Without the key no record can be changed, inserted, removed from the middle or
  re-sequenced without :func:`verify_audit_log` (given the key) failing at that line.
* **Tail truncation** (dropping the last records) leaves a valid chain even with a key:
  publish ``last_hash`` elsewhere from time to time and verify with ``expect_last_hash``.

Records are bounded: the command is stored as a prefix of :data:`MAX_COMMAND_CHARS`
characters with the SHA-256 and length of the full text, other text fields and ``details``
are capped, and readers refuse a line longer than :data:`MAX_RECORD_BYTES`.

The record and chain logic is pure (:func:`chain_record`, :func:`verify_lines`);
:class:`AuditLog` and :func:`verify_audit_log` do the file I/O: appends take an exclusive
``flock``, re-read the tail only when another writer grew the file, write with ``O_APPEND``
and ``fsync``; the file is created 0600 and a symlink is refused.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import hmac
import json
import os
import stat
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any, BinaryIO, Final

import anyio.to_thread
import attrs

from openclaw_exec.policy import ExecPolicy

__all__ = [
    "GENESIS_HASH",
    "MAX_COMMAND_CHARS",
    "MAX_RECORD_BYTES",
    "MIN_KEY_BYTES",
    "AuditLog",
    "AuditRecord",
    "AuditVerification",
    "chain_record",
    "load_audit_key",
    "read_audit_log",
    "verify_audit_log",
    "verify_lines",
]

GENESIS_HASH: Final = "0" * 64
"""The ``prev`` of the first record."""

MAX_COMMAND_CHARS: Final = 4096
"""Characters of the command kept in a record; the full text's SHA-256 and length are kept."""

MAX_TEXT_CHARS: Final = 4096
"""Characters kept of any other text in a record (cwd, PATH, messages in ``details``...)."""

MAX_ITEMS: Final = 256
"""Items kept of any list or object in ``env_keys``, ``policy`` or ``details``."""

MAX_RECORD_BYTES: Final = 1024 * 1024
"""The longest line a reader accepts (a bounded record is far below it)."""

MIN_KEY_BYTES: Final = 16
"""The shortest audit key accepted (use 32 random bytes)."""

_MAX_KEY_FILE_BYTES: Final = 4096
_TRUNCATED: Final = "…[truncated]"
_MAX_DEPTH: Final = 8  # deeper than any record the guard writes
#: Past this a record is compacted (_compact); what is left is well under MAX_RECORD_BYTES.
_RECORD_BUDGET: Final = 256 * 1024
_POLICY_KEYS: Final = frozenset({"security", "ask", "askFallback", "autoAllowSkills", "sandbox"})

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
        command_sha256: SHA-256 (hex) of the full command text (UTF-8), ``None`` in
            records written before it existed.
        command_length: Length of the full command in characters; larger than
            ``len(command)`` when only a prefix was kept.
        prev: Hash of the previous record.
        hash: This record's hash.
        mac: HMAC-SHA256 (hex) of the canonical JSON under the writer's key, or ``None``
            for an unkeyed log.
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
    command_sha256: str | None = None
    command_length: int | None = None
    prev: str = GENESIS_HASH
    hash: str = ""
    mac: str | None = None

    @property
    def command_truncated(self) -> bool:
        """Only a prefix of the command is stored (replay cannot re-decide it)."""
        return self.command_length is not None and self.command_length > len(self.command)

    def body(self) -> dict[str, Any]:
        """The JSON object, ``hash`` and ``mac`` excluded (what both cover)."""
        data = attrs.asdict(self, recurse=False)
        del data["hash"]
        del data["mac"]
        for optional in ("command_sha256", "command_length"):
            if data[optional] is None:  # absent in older records: their hashes still hold
                del data[optional]
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
        signed = {} if self.mac is None else {"mac": self.mac}
        return json.dumps(
            {**self.body(), "hash": self.hash, **signed},
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
        for name in ("command_sha256", "mac"):
            value = data.get(name)
            if value is not None and not _is_hex64(value):
                problems.append(f"{name} must be 64 lower-case hex digits or absent")
        length = data.get("command_length")
        if length is not None and (type(length) is not int or length < 0):
            problems.append("command_length must be a non-negative integer or absent")
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


def _is_hex64(value: object) -> bool:
    return (
        isinstance(value, str) and len(value) == 64 and all(c in "0123456789abcdef" for c in value)
    )


def _canonical(body: Mapping[str, Any]) -> bytes:
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return text.encode("utf-8", "surrogatepass")


def _digest(body: Mapping[str, Any]) -> str:
    return hashlib.sha256(_canonical(body)).hexdigest()


def _mac(key: bytes, body: Mapping[str, Any]) -> str:
    return hmac.new(key, _canonical(body), hashlib.sha256).hexdigest()


def _check_key(key: object) -> bytes | None:
    if key is None:
        return None
    if not isinstance(key, bytes):
        raise TypeError(f"the audit key must be bytes, got {type(key).__name__}")
    if len(key) < MIN_KEY_BYTES:
        raise ValueError(f"the audit key must hold at least {MIN_KEY_BYTES} bytes")
    return key


def _cap_text(value: str, limit: int = MAX_TEXT_CHARS) -> str:
    return value if len(value) <= limit else value[:limit] + _TRUNCATED


def _bounded(value: Any, depth: int = 0) -> Any:
    """A JSON value with every string, list and object capped (nesting too)."""
    if isinstance(value, str):
        return _cap_text(value)
    if depth >= _MAX_DEPTH:
        return _TRUNCATED
    if isinstance(value, Mapping):
        items = list(value.items())
        out = {str(k)[:MAX_TEXT_CHARS]: _bounded(v, depth + 1) for k, v in items[:MAX_ITEMS]}
        if len(items) > MAX_ITEMS:
            out["…truncated"] = len(items) - MAX_ITEMS
        return out
    if isinstance(value, (list, tuple)):
        kept = [_bounded(v, depth + 1) for v in value[:MAX_ITEMS]]
        if len(value) > MAX_ITEMS:
            kept.append(f"…{len(value) - MAX_ITEMS} more")
        return kept
    return value


def _bound_fields(fields: dict[str, Any]) -> dict[str, Any]:
    """Cap what a record stores: a command prefix plus the full text's hash, capped text."""
    out = dict(fields)
    command = out.get("command")
    if isinstance(command, str):
        out["command_sha256"] = hashlib.sha256(command.encode("utf-8", "surrogatepass")).hexdigest()
        out["command_length"] = len(command)
        out["command"] = command[:MAX_COMMAND_CHARS]
    for name in (*_OPT_STR_FIELDS, "kind", "reason"):
        if isinstance(out.get(name), str):
            out[name] = _cap_text(out[name])
    if "env_keys" in out:
        keys = tuple(out["env_keys"])
        out["env_keys"] = tuple(_cap_text(k, 256) for k in keys[:MAX_ITEMS])
    for name in ("policy", "details"):
        if name in out:
            out[name] = _bounded(dict(out[name]))
    return out


def _compact(fields: dict[str, Any]) -> dict[str, Any]:
    """The last resort for an oversized record: details and policy reduced to essentials."""
    out = dict(fields)
    details = out.get("details") or {}
    message = details.get("message") if isinstance(details, Mapping) else None
    out["details"] = {
        "truncated": "details dropped: the record was too large",
        "message": _cap_text(message, 1024) if isinstance(message, str) else None,
    }
    policy = out.get("policy") or {}
    out["policy"] = {
        k: _cap_text(v, 64) if isinstance(v, str) else v
        for k, v in (policy.items() if isinstance(policy, Mapping) else ())
        if k in _POLICY_KEYS and isinstance(v, (str, bool))
    }
    out["env_keys"] = tuple(out.get("env_keys", ()))[:32]
    return out


def chain_record(
    previous: AuditRecord | None, *, key: bytes | None = None, **fields: Any
) -> AuditRecord:
    """
    Make the record that follows *previous* (``None``: the first), with its hash.

    The fields are bounded first (see :data:`MAX_COMMAND_CHARS`): a long command is kept
    as a prefix with ``command_sha256`` and ``command_length`` of the full text.

    Args:
        previous: The last record of the log, or ``None``.
        key: The audit key: the record then carries ``mac`` (at least
            :data:`MIN_KEY_BYTES` bytes).
        **fields: The :class:`AuditRecord` fields except ``seq``, ``prev``, ``hash``,
            ``mac``, ``command_sha256`` and ``command_length``.
    """
    secret = _check_key(key)
    seq = 1 if previous is None else previous.seq + 1
    prev = GENESIS_HASH if previous is None else previous.hash
    bounded = _bound_fields(fields)
    draft = AuditRecord(seq=seq, prev=prev, **bounded)
    body = draft.body()
    if len(_canonical(body)) > _RECORD_BUDGET:  # many capped pieces still add up: compact
        draft = AuditRecord(seq=seq, prev=prev, **_compact(bounded))
        body = draft.body()
    return attrs.evolve(
        draft,
        hash=_digest(body),
        mac=None if secret is None else _mac(secret, body),
    )


@attrs.frozen(kw_only=True)
class AuditVerification:
    """
    The result of checking a log.

    Attributes:
        ok: The whole chain is intact (and every MAC, and the anchor, when asked).
        records: How many records were checked and found good (before any error).
        error: What is wrong, or ``""``.
        line: The 1-based line of the first problem, or ``None``.
        last_hash: Hash of the last good record (anchor it elsewhere to detect truncation).
        keyed: Every record was checked against the key (``False``: no key was given).
        signed: How many of the good records carry a ``mac``.
        anchored: The expected last hash was found (``None``: none was given).
    """

    ok: bool
    records: int
    error: str = ""
    line: int | None = None
    last_hash: str = GENESIS_HASH
    keyed: bool = False
    signed: int = 0
    anchored: bool | None = None


def verify_lines(
    lines: Iterable[str | bytes],
    *,
    key: bytes | None = None,
    expect_last_hash: str | None = None,
) -> AuditVerification:
    """
    Verify a sequence of JSON lines (pure).

    Checks, per line: at most :data:`MAX_RECORD_BYTES`, JSON object, field types, ``seq``
    one more than the previous, ``prev`` equal to the previous hash, ``hash`` equal to the
    recomputed digest, the line byte-for-byte in canonical form (so no edit hides in
    whitespace or escapes) and, with *key*, a ``mac`` that matches. A last line without its
    newline is reported as truncated.

    Args:
        lines: The lines, each with its newline.
        key: The audit key: every record must carry a valid ``mac``.
        expect_last_hash: A ``last_hash`` published earlier: the log must still hold the
            record with that hash (records after it are fine), else its tail was cut.
    """
    secret = _check_key(key)
    if expect_last_hash is not None and not _is_hex64(expect_last_hash):
        raise ValueError("expect_last_hash must be 64 lower-case hex digits")
    state = _Walk(secret)
    for number, raw in enumerate(lines, start=1):
        problem = state.step(raw)
        if problem:
            return state.bad(number, problem)
    anchored = None
    if expect_last_hash is not None:
        anchored = expect_last_hash == GENESIS_HASH or expect_last_hash in state.hashes
        if not anchored:
            return attrs.evolve(
                state.bad(
                    None,
                    "the expected last hash is not in the log: records were "
                    "removed from its end (or the log was replaced)",
                ),
                anchored=False,
            )
    return AuditVerification(
        ok=True,
        records=state.count,
        last_hash=state.last_hash,
        keyed=secret is not None,
        signed=state.signed,
        anchored=anchored,
    )


class _Walk:
    """The state of a verification pass: the previous record and what was seen."""

    def __init__(self, key: bytes | None) -> None:
        self.key = key
        self.previous: AuditRecord | None = None
        self.count = 0
        self.signed = 0
        self.hashes: set[str] = set()

    @property
    def last_hash(self) -> str:
        return GENESIS_HASH if self.previous is None else self.previous.hash

    def bad(self, line: int | None, error: str) -> AuditVerification:
        return AuditVerification(
            ok=False,
            records=self.count,
            error=error,
            line=line,
            last_hash=self.last_hash,
            keyed=self.key is not None,
            signed=self.signed,
        )

    def step(self, raw: str | bytes) -> str:
        """Check one line; return the problem, or ``""`` when it is good."""
        size = len(raw.encode("utf-8", "surrogatepass") if isinstance(raw, str) else raw)
        if size > MAX_RECORD_BYTES + 1:
            return f"record longer than {MAX_RECORD_BYTES} bytes"
        text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
        if not text.endswith("\n"):
            return "truncated record (no newline at the end)"
        try:
            data = json.loads(text)
        except (ValueError, RecursionError) as exc:
            return f"not JSON: {exc}"
        if not isinstance(data, dict):
            return "not a JSON object"
        try:
            record = AuditRecord.from_json(data)
        except (ValueError, TypeError) as exc:
            return f"malformed record: {exc}"
        previous = self.previous
        expected_seq = 1 if previous is None else previous.seq + 1
        if record.seq != expected_seq:
            return f"seq {record.seq}, expected {expected_seq}"
        if record.prev != self.last_hash:
            return "prev does not match the previous record's hash"
        body = record.body()
        if _digest(body) != record.hash:
            return "hash does not match the record (edited?)"
        if text[:-1] != record.to_json():
            return "record is not in canonical form (edited?)"
        if self.key is not None:
            if record.mac is None:
                return "record has no mac, but a key was given (unkeyed or stripped)"
            if not hmac.compare_digest(record.mac, _mac(self.key, body)):
                return "mac does not match (forged, or another key)"
        self.previous = record
        self.count += 1
        self.signed += record.mac is not None
        self.hashes.add(record.hash)
        return ""


# ---------------------------------------------------------------------- file I/O


def _open_regular(path: Path) -> BinaryIO | None:
    """Open *path* for reading without blocking on a FIFO; ``None`` if missing."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC | os.O_NOCTTY)
    except FileNotFoundError:
        return None
    try:
        regular = stat.S_ISREG(os.fstat(fd).st_mode)
        if regular:
            os.set_blocking(fd, True)
    except BaseException:
        os.close(fd)
        raise
    if not regular:
        os.close(fd)
        raise ValueError(f"{path}: not a regular file (expected a plain file)")
    return os.fdopen(fd, "rb")


def _bounded_lines(handle: BinaryIO) -> Iterator[bytes]:
    """The lines of *handle*; a line over the cap is yielded cut (verification flags it)."""
    while True:
        line = handle.readline(MAX_RECORD_BYTES + 2)
        if not line:
            return
        yield line
        if len(line) > MAX_RECORD_BYTES + 1:
            return


def verify_audit_log(
    path: str | os.PathLike[str],
    *,
    key: bytes | None = None,
    expect_last_hash: str | None = None,
) -> AuditVerification:
    """
    Verify the chain of the log at *path* (a missing file is an empty, valid log).

    Args:
        path: The log.
        key: The audit key the writer used: every record's ``mac`` is checked.
        expect_last_hash: A ``last_hash`` published earlier (see :func:`verify_lines`).

    Returns:
        An :class:`AuditVerification`; ``ok`` is False with the line and the problem when
        the file was edited, truncated mid-record, reordered or spliced; with *key* also
        when a record was forged, inserted or removed; with *expect_last_hash* also when
        its tail was cut.

    Raises:
        ValueError: *path* is not a regular file (a FIFO, a folder...).
        OSError: It cannot be read.
    """
    target = Path(path)
    handle = _open_regular(target)
    if handle is None:
        return verify_lines((), key=key, expect_last_hash=expect_last_hash)
    with handle:
        return verify_lines(_bounded_lines(handle), key=key, expect_last_hash=expect_last_hash)


def read_audit_log(
    path: str | os.PathLike[str], *, key: bytes | None = None
) -> Iterator[AuditRecord]:
    """
    Yield the records of a log after verifying it (with *key*: every MAC too).

    Raises:
        ValueError: The chain is broken (the message names the line), or *path* is not a
            regular file.
    """
    result = verify_audit_log(path, key=key)
    if not result.ok:
        raise ValueError(f"{path}: line {result.line}: {result.error}")
    handle = _open_regular(Path(path))
    if handle is None:
        return
    with handle:
        for raw in _bounded_lines(handle):
            yield AuditRecord.from_json(json.loads(raw))


def load_audit_key(path: str | os.PathLike[str]) -> bytes:
    """
    Read an audit key from a file (its bytes, surrounding whitespace removed).

    Make one with ``head -c 32 /dev/urandom | base64 > audit.key; chmod 600 audit.key``.
    Keep it where the agent (and whoever it could trick) cannot read it.

    Raises:
        ValueError: The file is missing, not a regular file, readable or writable by group
            or others, larger than 4096 bytes, or holds fewer than :data:`MIN_KEY_BYTES`
            bytes (the message names the file and what was expected).
    """
    target = Path(path)
    try:
        handle = _open_regular(target)
    except OSError as exc:
        raise ValueError(f"{target}: cannot read the audit key: {exc.strerror}") from None
    if handle is None:
        raise ValueError(f"{target}: no such audit key file")
    with handle:
        mode = os.fstat(handle.fileno()).st_mode
        if mode & 0o077:
            raise ValueError(
                f"{target}: the audit key is accessible to group or others "
                f"(mode {stat.S_IMODE(mode):04o}); run: chmod 600 {target}"
            )
        data = handle.read(_MAX_KEY_FILE_BYTES + 1)
    if len(data) > _MAX_KEY_FILE_BYTES:
        raise ValueError(f"{target}: larger than {_MAX_KEY_FILE_BYTES} bytes: not an audit key")
    key = data.strip()
    if len(key) < MIN_KEY_BYTES:
        raise ValueError(
            f"{target}: the audit key holds {len(key)} bytes, expected at least {MIN_KEY_BYTES}"
        )
    return key


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
