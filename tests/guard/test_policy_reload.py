"""
The approvals file is read on every decision; a parsed copy is reused only for equal bytes.

An edit that keeps the size and the mtime (``os.utime``) is still seen at once, by the
store and by the guard (asyncio + trio).
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from openclaw_exec.adapters.filestore import ApprovalsStore
from openclaw_exec.exceptions import ApprovalsFileError
from openclaw_exec.guard import ExecGuard

TRUE = os.path.realpath(shutil.which("true") or "/bin/true")
ENV = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": "/root"}


def _document(pattern: str) -> bytes:
    return json.dumps(
        {
            "version": 1,
            "defaults": {"security": "allowlist", "ask": "off", "askFallback": "deny"},
            "agents": {"main": {"allowlist": [{"pattern": pattern}]}},
        }
    ).encode()


def _rewrite_keeping_size_and_mtime(path: Path, data: bytes) -> None:
    before = path.stat()
    assert len(data) == before.st_size
    path.write_bytes(data)
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    after = path.stat()
    assert (after.st_size, after.st_mtime_ns) == (before.st_size, before.st_mtime_ns)


def _same_length_other_pattern(pattern: str) -> str:
    # The same folder and a name of the same length that is not the program.
    path = Path(pattern)
    return str(path.with_name("x" * len(path.name)))


def test_equal_bytes_give_the_same_value_and_any_edit_a_new_one(tmp_path: Path) -> None:
    path = tmp_path / "exec-approvals.json"
    path.write_bytes(_document(TRUE))
    path.chmod(0o600)
    store = ApprovalsStore(path)
    first = store.load()
    assert first is not None
    assert store.load() is first  # parsed once for the same bytes
    _rewrite_keeping_size_and_mtime(path, _document(_same_length_other_pattern(TRUE)))
    second = store.load()
    assert second is not None
    assert second is not first
    assert second.agents["main"].allowlist[0].pattern != TRUE
    # Back to the first bytes: parsed again (only the last read is kept), equal content.
    _rewrite_keeping_size_and_mtime(path, _document(TRUE))
    third = store.load()
    assert third == first


def test_a_malformed_edit_raises_even_after_a_good_read(tmp_path: Path) -> None:
    path = tmp_path / "exec-approvals.json"
    good = _document(TRUE)
    path.write_bytes(good)
    path.chmod(0o600)
    store = ApprovalsStore(path)
    assert store.load() is not None
    bad = b"{" + b" " * (len(good) - 2) + b"}"  # same size, not a valid document
    _rewrite_keeping_size_and_mtime(path, bad)
    with pytest.raises(ApprovalsFileError, match=r"exec-approvals\.json"):
        store.load()


@pytest.mark.anyio
async def test_the_guard_sees_an_edit_with_the_same_size_and_mtime(tmp_path: Path) -> None:
    path = tmp_path / "exec-approvals.json"
    path.write_bytes(_document(TRUE))
    path.chmod(0o600)
    guard = ExecGuard(approvals=path, audit=tmp_path / "audit.jsonl")
    first = await guard.authorize("true", cwd=str(tmp_path), env=ENV)
    assert first.allowed, first.message
    again = await guard.authorize("true", cwd=str(tmp_path), env=ENV)
    assert again.allowed, again.message
    # record_use stamped the file: rewrite from what is there now, changing only the
    # pattern (same length), then restore size and mtime.
    now = path.read_bytes()
    edited = now.replace(TRUE.encode(), _same_length_other_pattern(TRUE).encode())
    assert edited != now
    _rewrite_keeping_size_and_mtime(path, edited)
    denied = await guard.authorize("true", cwd=str(tmp_path), env=ENV)
    assert not denied.allowed
    # And back: allowed again.
    _rewrite_keeping_size_and_mtime(path, now)
    allowed = await guard.authorize("true", cwd=str(tmp_path), env=ENV)
    assert allowed.allowed, allowed.message


@pytest.mark.anyio
async def test_a_repeated_use_is_stamped_again_only_after_the_interval(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from openclaw_exec import _guard_effects  # noqa: PLC0415

    path = tmp_path / "exec-approvals.json"
    path.write_bytes(_document(TRUE))
    path.chmod(0o600)
    store = ApprovalsStore(path)
    now = [0]
    monkeypatch.setattr(_guard_effects, "_wall_ms", lambda: now[0])
    guard = ExecGuard(approvals=store, audit=tmp_path / "audit.jsonl")

    def entry() -> tuple[int | None, str | None]:
        loaded = store.load()
        assert loaded is not None
        first = loaded.agents["main"].allowlist[0]
        return first.last_used_at, first.last_used_command

    assert (await guard.authorize("true", cwd=str(tmp_path), env=ENV)).allowed
    stamped, command = entry()
    assert command == "true"
    assert stamped is not None
    written = path.read_bytes()
    now[0] = stamped + _guard_effects.USE_STAMP_INTERVAL_MS - 1
    assert (await guard.authorize("true", cwd=str(tmp_path), env=ENV)).allowed
    assert path.read_bytes() == written  # the same use, recently stamped: not rewritten
    # Another command is stamped at once.
    assert (await guard.authorize("true x", cwd=str(tmp_path), env=ENV)).allowed
    assert entry()[1] == "true x"
    assert (await guard.authorize("true", cwd=str(tmp_path), env=ENV)).allowed
    assert entry()[1] == "true"
    # The same use once the interval has passed: stamped again.
    later, _ = entry()
    assert later is not None
    now[0] = later + _guard_effects.USE_STAMP_INTERVAL_MS
    assert (await guard.authorize("true", cwd=str(tmp_path), env=ENV)).allowed
    assert entry()[0] != later


def _guard_and_file(tmp_path: Path) -> tuple[ExecGuard, Path]:
    path = tmp_path / "exec-approvals.json"
    path.write_bytes(_document(TRUE))
    path.chmod(0o600)
    return ExecGuard(approvals=path, audit=tmp_path / "audit.jsonl"), path


@pytest.mark.anyio
async def test_a_file_replaced_by_rename_is_seen_at_once(tmp_path: Path) -> None:
    guard, path = _guard_and_file(tmp_path)
    assert (await guard.authorize("true", cwd=str(tmp_path), env=ENV)).allowed
    assert (await guard.authorize("true", cwd=str(tmp_path), env=ENV)).allowed  # memo used
    before = path.stat()
    other = tmp_path / "new.json"
    other.write_bytes(_document(_same_length_other_pattern(TRUE)))
    other.chmod(0o600)
    os.utime(other, ns=(before.st_atime_ns, before.st_mtime_ns))
    other.replace(path)  # atomically: a new inode with the old name
    denied = await guard.authorize("true", cwd=str(tmp_path), env=ENV)
    assert not denied.allowed


@pytest.mark.anyio
async def test_a_chmod_that_makes_the_file_unsafe_denies_at_once(tmp_path: Path) -> None:
    guard, path = _guard_and_file(tmp_path)
    assert (await guard.authorize("true", cwd=str(tmp_path), env=ENV)).allowed
    assert (await guard.authorize("true", cwd=str(tmp_path), env=ENV)).allowed  # memo used
    path.chmod(0o620)  # group-writable: the bytes are unchanged, the file is refused
    denied = await guard.authorize("true", cwd=str(tmp_path), env=ENV)
    assert not denied.allowed
    assert "writable by group" in denied.message
    path.chmod(0o600)
    assert (await guard.authorize("true", cwd=str(tmp_path), env=ENV)).allowed
