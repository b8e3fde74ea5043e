"""Verification of a log: the chain, the MACs, the tail anchor; bounded file readers."""

from __future__ import annotations

import hmac
import json
import os
import stat
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import BinaryIO, Final

import attrs

from openclaw_exec.audit._record import (
    GENESIS_HASH,
    MAX_RECORD_BYTES,
    MIN_KEY_BYTES,
    AuditRecord,
    _check_key,
    _digest,
    _is_hex64,
    _mac,
)

__all__ = [
    "AuditVerification",
    "load_audit_key",
    "read_audit_log",
    "verify_audit_log",
    "verify_lines",
]

_MAX_KEY_FILE_BYTES: Final = 4096


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
