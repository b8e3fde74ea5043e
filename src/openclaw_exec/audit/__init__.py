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
before they return, and ``fsync`` as :data:`FSYNC_MODES` says (default ``"batch"``: a
background group commit started at once, so a power loss can lose the last milliseconds of
records, a cut tail only ``expect_last_hash`` shows); the file is created 0600 and a
symlink is refused.
"""

from __future__ import annotations

from openclaw_exec.audit._log import FSYNC_MODES, AuditLog, FsyncMode
from openclaw_exec.audit._record import (
    GENESIS_HASH,
    MAX_COMMAND_CHARS,
    MAX_RECORD_BYTES,
    MIN_KEY_BYTES,
    AuditRecord,
    chain_record,
)
from openclaw_exec.audit._verify import (
    AuditVerification,
    load_audit_key,
    read_audit_log,
    verify_audit_log,
    verify_lines,
)

__all__ = [
    "FSYNC_MODES",
    "GENESIS_HASH",
    "MAX_COMMAND_CHARS",
    "MAX_RECORD_BYTES",
    "MIN_KEY_BYTES",
    "AuditLog",
    "AuditRecord",
    "AuditVerification",
    "FsyncMode",
    "chain_record",
    "load_audit_key",
    "read_audit_log",
    "verify_audit_log",
    "verify_lines",
]
