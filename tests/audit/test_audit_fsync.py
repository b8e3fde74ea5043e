"""
The audit log's fsync modes: every record is in the file before ``append`` returns.

``batch`` (the default) fsyncs in a background group commit; ``sync()`` waits for it; a
failed background fsync makes every later append fail (the guard then denies). An append
whose ``flock`` is held by another process waits for it in a worker thread instead of
being done on the caller's thread (asyncio + trio).
"""

from __future__ import annotations

import fcntl
import os
import threading
from pathlib import Path
from typing import Any

import anyio
import pytest

from openclaw_exec.audit import FSYNC_MODES, AuditLog, verify_audit_log


def _open_fds() -> int:
    return sum(1 for _ in Path("/proc/self/fd").iterdir())


def _fields(n: int) -> dict[str, Any]:
    return {"ts_ms": 1_700_000_000_000 + n, "command": f"echo {n}", "allowed": True, "reason": "x"}


def test_modes_and_their_spellings(tmp_path: Path) -> None:
    assert FSYNC_MODES == ("always", "batch", "never")
    assert AuditLog(tmp_path / "a").fsync_mode == "batch"  # the documented default
    assert AuditLog(tmp_path / "a", fsync=True).fsync_mode == "always"
    assert AuditLog(tmp_path / "a", fsync=False).fsync_mode == "never"
    assert AuditLog(tmp_path / "a", fsync="always").fsync is True
    assert AuditLog(tmp_path / "a").fsync is False
    with pytest.raises(ValueError, match="fsync must be one of always, batch, never"):
        AuditLog(tmp_path / "a", fsync="sometimes")  # type: ignore[arg-type]


@pytest.mark.anyio
@pytest.mark.parametrize("mode", FSYNC_MODES)
async def test_each_record_is_in_the_file_when_append_returns(tmp_path: Path, mode: str) -> None:
    path = tmp_path / "audit.jsonl"
    log = AuditLog(path, fsync=mode)  # type: ignore[arg-type]
    for n in range(5):
        record = await log.append(**_fields(n))
        lines = path.read_bytes().splitlines()
        assert len(lines) == n + 1
        assert record.hash in lines[-1].decode()
    await log.sync()
    result = verify_audit_log(path, expect_last_hash=record.hash)
    assert result.ok, result


@pytest.mark.anyio
async def test_batch_fsyncs_every_record_off_the_callers_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    synced: list[int] = []
    real_fsync = os.fsync

    def counting_fsync(fd: int) -> None:
        synced.append(os.fstat(fd).st_size)
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", counting_fsync)
    path = tmp_path / "audit.jsonl"
    log = AuditLog(path)
    for n in range(20):
        await log.append(**_fields(n))
    await log.sync()
    # Group commit: at most one fsync per record, at least one covering the whole file.
    assert 1 <= len(synced) <= 21
    assert max(synced) == path.stat().st_size


@pytest.mark.anyio
async def test_a_failed_background_fsync_fails_every_later_append(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken_fsync(fd: int) -> None:
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(os, "fsync", broken_fsync)
    log = AuditLog(tmp_path / "audit.jsonl")
    await log.append(**_fields(0))  # written; its fsync fails in the background
    with pytest.raises(OSError, match="an earlier fsync of the audit log failed"):
        await log.sync()
    monkeypatch.undo()
    for _ in range(2):  # sticky: a later fsync that succeeds proves nothing
        with pytest.raises(OSError, match="an earlier fsync of the audit log failed"):
            await log.append(**_fields(1))
    assert len((tmp_path / "audit.jsonl").read_bytes().splitlines()) == 1


@pytest.mark.anyio
async def test_a_held_lock_is_waited_for_in_a_worker_thread(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    log = AuditLog(path, fsync="never")
    first = await log.append(**_fields(0))
    holder = os.open(path, os.O_RDONLY)
    fcntl.flock(holder, fcntl.LOCK_EX)  # another writer (a second descriptor: a new flock)
    done: list[int] = []

    async def append() -> None:
        record = await log.append(**_fields(1))
        done.append(record.seq)

    try:
        async with anyio.create_task_group() as tg:
            tg.start_soon(append)
            await anyio.sleep(0.2)
            assert done == []  # waiting for the lock, and the event loop is not blocked
            fcntl.flock(holder, fcntl.LOCK_UN)
    finally:
        os.close(holder)
    assert done == [first.seq + 1]
    assert verify_audit_log(path).ok


@pytest.mark.anyio
async def test_a_burst_holds_one_descriptor_per_file_while_an_fsync_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    release = threading.Event()
    real_fsync = os.fsync

    def slow_fsync(fd: int) -> None:
        release.wait(10)  # a disk that takes its time: records pile up meanwhile
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", slow_fsync)
    log = AuditLog(tmp_path / "audit.jsonl")
    before = _open_fds()
    for n in range(200):
        await log.append(**_fields(n))
    held = _open_fds() - before
    release.set()
    await log.sync()
    assert held <= 2  # the fsync in flight and the next one queued, never one per record
    assert _open_fds() <= before
    assert verify_audit_log(tmp_path / "audit.jsonl").ok
