"""
What the audit log proves against someone who can write it (issue #13, "Audit log").

Unkeyed, a chain proves nothing against a writer: the attack below (delete the record of a
denied ``rm -rf /`` and recompute ``seq``/``prev``/``hash``) passes. With a key the writer
holds and the log does not, it fails at that line; with a published last hash, cutting the
tail fails too. Records are bounded, and so are the readers.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
import threading
from pathlib import Path
from typing import Any

import anyio
import pytest
from hypothesis import given
from hypothesis import strategies as st

from openclaw_exec.audit import (
    GENESIS_HASH,
    MAX_COMMAND_CHARS,
    MAX_RECORD_BYTES,
    AuditLog,
    AuditRecord,
    chain_record,
    load_audit_key,
    read_audit_log,
    verify_audit_log,
    verify_lines,
)
from openclaw_exec.guard import ExecGuard
from openclaw_exec.policy import ApprovalsFile, ExecPolicy

KEY = b"k" * 32
OTHER_KEY = b"o" * 32


def fields(command: str, *, allowed: bool) -> dict[str, Any]:
    return {
        "ts_ms": 1_700_000_000_000,
        "command": command,
        "cwd": "/tmp",
        "agent_id": "main",
        "policy": {"security": "allowlist", "ask": "on-miss", "askFallback": "deny"},
        "allowed": allowed,
        "reason": "allowlist-satisfied" if allowed else "user-denied",
    }


COMMANDS = [("ls", True), ("rm -rf /", False), ("git status", True), ("make", True)]


def keyed_lines(key: bytes | None = KEY) -> list[str]:
    out, prev = [], None
    for command, allowed in COMMANDS:
        prev = chain_record(prev, key=key, **fields(command, allowed=allowed))
        out.append(prev.to_json() + "\n")
    return out


def attacker_rewrite(lines: list[str], drop: int) -> list[str]:
    """Drop line *drop* and recompute seq/prev/hash of every later one, as a writer can."""
    kept = [json.loads(line) for i, line in enumerate(lines) if i != drop]
    out: list[str] = []
    prev_hash = GENESIS_HASH
    for seq, data in enumerate(kept, start=1):
        data["seq"], data["prev"] = seq, prev_hash
        body = {k: v for k, v in data.items() if k not in ("hash", "mac")}
        data["hash"] = hashlib.sha256(
            json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
        ).hexdigest()
        prev_hash = data["hash"]
        out.append(json.dumps(data, sort_keys=True, separators=(",", ":")) + "\n")
    return out


def test_unkeyed_chain_cannot_see_a_rewrite_and_says_so() -> None:
    forged = attacker_rewrite(keyed_lines(key=None), drop=1)
    result = verify_lines(forged)
    assert result.ok  # the documented limit: without a key this proves nothing
    assert (result.keyed, result.signed) == (False, 0)
    assert all("rm -rf" not in line for line in forged)


def test_deleting_the_denied_rm_rf_is_caught_with_the_key() -> None:
    lines = keyed_lines()
    assert verify_lines(lines, key=KEY).ok
    forged = attacker_rewrite(lines, drop=1)
    result = verify_lines(forged, key=KEY)
    assert not result.ok
    assert result.line == 2
    assert "mac does not match" in result.error
    assert result.records == 1


def test_stripped_macs_and_another_key_are_caught() -> None:
    lines = keyed_lines()
    stripped = [
        json.dumps(
            {k: v for k, v in json.loads(x).items() if k != "mac"},
            sort_keys=True,
            separators=(",", ":"),
        )
        + "\n"
        for x in lines
    ]
    assert verify_lines(stripped).ok  # still a valid unkeyed chain...
    result = verify_lines(stripped, key=KEY)  # ...but not what the key holder wrote
    assert (result.ok, result.line) == (False, 1)
    assert "no mac" in result.error
    other = verify_lines(lines, key=OTHER_KEY)
    assert (other.ok, other.line) == (False, 1)


@given(st.integers(2, 7), st.data())
def test_any_deletion_or_edit_with_recomputed_hashes_fails_with_the_key(
    count: int, data: st.DataObject
) -> None:
    lines, prev = [], None
    for n in range(count):
        prev = chain_record(prev, key=KEY, **fields(f"echo {n}", allowed=n % 2 == 0))
        lines.append(prev.to_json() + "\n")
    drop = data.draw(st.integers(0, count - 2))  # any record but the last (that is the tail)
    result = verify_lines(attacker_rewrite(lines, drop), key=KEY)
    assert not result.ok
    assert result.line == drop + 1
    index = data.draw(st.integers(0, count - 1))
    edited = json.loads(lines[index])
    edited["allowed"] = not edited["allowed"]
    rewritten = [*lines[:index], json.dumps(edited) + "\n", *lines[index + 1 :]]
    assert not verify_lines(attacker_rewrite(rewritten, drop=-1), key=KEY).ok


def test_tail_truncation_needs_the_anchor() -> None:
    lines = keyed_lines()
    published = verify_lines(lines, key=KEY).last_hash
    cut = lines[:-1]
    assert verify_lines(cut, key=KEY).ok  # a shorter, valid chain: a key alone cannot tell
    result = verify_lines(cut, key=KEY, expect_last_hash=published)
    assert not result.ok
    assert result.anchored is False
    assert "removed from its end" in result.error
    grown = verify_lines(lines, key=KEY, expect_last_hash=verify_lines(lines[:2]).last_hash)
    assert grown.ok
    assert grown.anchored is True  # the log may grow after the anchor was published
    with pytest.raises(ValueError, match="hex"):
        verify_lines(lines, expect_last_hash="nope")


@pytest.mark.anyio
async def test_keyed_writer_and_file_verification(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    log = AuditLog(path, key=KEY)
    assert "k" * 32 not in repr(log)
    records = [await log.append(**fields(c, allowed=a)) for c, a in COMMANDS]
    assert all(r.mac is not None for r in records)
    assert verify_audit_log(path, key=KEY).ok
    assert list(read_audit_log(path, key=KEY)) == records
    path.write_text("".join(attacker_rewrite(path.read_text().splitlines(keepends=True), 1)))
    assert verify_audit_log(path).ok
    assert verify_audit_log(path, key=KEY).line == 2
    with pytest.raises(ValueError, match="line 2"):
        list(read_audit_log(path, key=KEY))


def test_keys_are_checked() -> None:
    with pytest.raises(ValueError, match="at least 16"):
        AuditLog("x", key=b"short")
    with pytest.raises(TypeError):
        AuditLog("x", key="a string key is a mistake" * 2)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="at least 16"):
        verify_lines([], key=b"")


def test_load_audit_key(tmp_path: Path) -> None:
    key_file = tmp_path / "audit.key"
    key_file.write_bytes(b"  " + KEY + b"\n")
    key_file.chmod(0o600)
    assert load_audit_key(key_file) == KEY
    key_file.chmod(0o640)
    with pytest.raises(ValueError, match="group or others"):
        load_audit_key(key_file)
    key_file.chmod(0o600)
    key_file.write_bytes(b"short\n")
    with pytest.raises(ValueError, match="at least 16"):
        load_audit_key(key_file)
    with pytest.raises(ValueError, match="no such"):
        load_audit_key(tmp_path / "missing.key")
    fifo = tmp_path / "fifo.key"
    os.mkfifo(fifo, 0o600)
    with pytest.raises(ValueError, match="not a regular file"):
        load_audit_key(fifo)


def test_old_unkeyed_records_still_verify() -> None:
    # A record as written before command_sha256/command_length/mac existed.
    body = {
        "seq": 1,
        "ts_ms": 5,
        "kind": "exec.authorize",
        "command": "ls",
        "cwd": None,
        "agent_id": None,
        "session_key": None,
        "host": None,
        "env_keys": [],
        "path_env": None,
        "policy": {},
        "allowed": True,
        "reason": "x",
        "decision": None,
        "approval_id": None,
        "approver": None,
        "details": {},
        "prev": GENESIS_HASH,
    }
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    line = json.dumps(
        {**body, "hash": hashlib.sha256(canonical.encode()).hexdigest()},
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    )
    result = verify_lines([line + "\n"])
    assert result.ok, result.error
    record = AuditRecord.from_json(json.loads(line))
    assert (record.command_sha256, record.command_truncated) == (None, False)


# ---------------------------------------------------------------------- bounded records


@pytest.mark.anyio
async def test_huge_refused_commands_store_a_prefix_and_the_hash(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    guard = ExecGuard(
        approvals_file=ApprovalsFile(), policy=ExecPolicy(security="allowlist"), audit=path
    )
    command = "echo " + "A" * (5 * 1024 * 1024)
    for _ in range(20):
        auth = await guard.authorize(command, cwd="/tmp", env={"PATH": "/usr/bin:/bin"})
        assert not auth.allowed
    size = path.stat().st_size
    assert size < 20 * 64 * 1024, size  # before: 100 MB
    records = list(read_audit_log(path))
    assert len(records) == 20
    for record in records:
        assert record.command == command[:MAX_COMMAND_CHARS]
        assert record.command_length == len(command)
        assert record.command_sha256 == hashlib.sha256(command.encode()).hexdigest()
        assert record.command_truncated


def test_every_field_is_bounded() -> None:
    long = "x" * 100_000
    record = chain_record(
        None,
        ts_ms=1,
        command="ls",
        cwd=long,
        path_env=long,
        reason=long,
        allowed=False,
        env_keys=tuple(f"K{i}" for i in range(10_000)),
        details={"segments": [{"argv0": long}] * 10_000, "nested": [[[[[[[[[["deep"]]]]]]]]]]},
    )
    assert len(record.to_json().encode()) < MAX_RECORD_BYTES
    assert verify_lines([record.to_json() + "\n"]).ok
    assert not record.command_truncated  # a short command is kept whole, with its hash
    assert record.command_sha256 == hashlib.sha256(b"ls").hexdigest()


def test_readers_refuse_a_giant_line_without_reading_it_all(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    path.write_bytes(b"{" + b" " * (8 * MAX_RECORD_BYTES) + b"}\n")
    result = verify_audit_log(path)
    assert (result.ok, result.line) == (False, 1)
    assert "longer than" in result.error


@pytest.mark.anyio
async def test_a_fifo_log_is_refused_without_blocking(tmp_path: Path) -> None:
    fifo = tmp_path / "audit.jsonl"
    os.mkfifo(fifo, 0o600)
    done = threading.Event()

    def release() -> None:  # on the old code a reader blocks in open(): free it, then fail
        if not done.wait(5):
            os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))

    threading.Thread(target=release, daemon=True).start()
    try:
        started = anyio.current_time()
        with pytest.raises(ValueError, match="not a regular file"):
            verify_audit_log(fifo)
        with pytest.raises(ValueError, match="not a regular file"):
            await AuditLog(fifo).append(**fields("ls", allowed=True))
        assert anyio.current_time() - started < 4
    finally:
        done.set()
    assert stat.S_ISFIFO(fifo.stat().st_mode)
