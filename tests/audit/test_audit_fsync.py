"""
The audit log's fsync modes: every record is in the file before ``append`` returns.

``batch`` (the default) fsyncs in a background group commit; ``sync()`` waits for it; a
failed background fsync makes every later append fail (the guard then denies). An append
whose ``flock`` is held by another process waits for it in a worker thread instead of
being done on the caller's thread (asyncio + trio). Within ``held_group_sync`` (what
``guarded_run`` uses) a ``batch`` record is written as always, and its fsync thread is
woken at the release, or when the block is left.
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
from openclaw_exec.audit._log import held_group_sync


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


def _recording_fsync(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Record the size of the file each background fsync covered."""
    synced: list[int] = []
    real_fsync = os.fsync

    def recording(fd: int) -> None:
        synced.append(os.fstat(fd).st_size)
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", recording)
    return synced


async def _synced_to_the_end(synced: list[int], path: Path) -> None:
    """Wait (without waking anything) until a background fsync covered the whole file."""
    with anyio.fail_after(5):
        while not synced or synced[-1] != path.stat().st_size:  # noqa: ASYNC110, ASYNC240
            await anyio.sleep(0.001)


@pytest.mark.anyio
async def test_a_held_batch_append_is_written_at_once_and_synced_at_the_release(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    synced = _recording_fsync(monkeypatch)
    path = tmp_path / "audit.jsonl"
    log = AuditLog(path)
    with held_group_sync() as release:
        record = await log.append(**_fields(0))
        assert record.hash in path.read_text()  # in the file before append returns, as always
        await anyio.sleep(0.05)
        assert synced == []  # the fsync thread was not woken (nor started) for it
        release()
        await _synced_to_the_end(synced, path)  # released: synced without anyone waiting
        assert len(synced) == 1
        # A thread still awake takes what is queued when its fsync ends; else the end of
        # the block wakes it (the next test leaves a block with the thread never started).
        await log.append(**_fields(1))
    await _synced_to_the_end(synced, path)
    await log.append(**_fields(2))  # outside any block: woken at once
    await _synced_to_the_end(synced, path)


@pytest.mark.anyio
async def test_sync_inside_a_held_block_never_waits_for_an_unwoken_thread(tmp_path: Path) -> None:
    log = AuditLog(tmp_path / "audit.jsonl")
    with held_group_sync():
        record = await log.append(**_fields(0))
        with anyio.fail_after(5):
            await log.sync()
    assert verify_audit_log(tmp_path / "audit.jsonl", expect_last_hash=record.hash).ok


@pytest.mark.anyio
async def test_a_held_block_left_by_an_exception_still_releases(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    synced = _recording_fsync(monkeypatch)
    path = tmp_path / "audit.jsonl"
    log = AuditLog(path)

    async def fail_after_the_record() -> None:
        with held_group_sync():
            await log.append(**_fields(0))
            await anyio.sleep(0.05)
            assert synced == []
            raise RuntimeError("the caller failed after the record was written")

    with pytest.raises(RuntimeError):
        await fail_after_the_record()
    await _synced_to_the_end(synced, path)


@pytest.mark.anyio
@pytest.mark.parametrize("mode", ["always", "never"])
async def test_holding_changes_nothing_in_the_other_modes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, mode: str
) -> None:
    synced = _recording_fsync(monkeypatch)
    path = tmp_path / "audit.jsonl"
    log = AuditLog(path, fsync=mode)  # type: ignore[arg-type]
    with held_group_sync():
        await log.append(**_fields(0))
        # always: synced before append returned, on the caller's path; never: not at all.
        assert synced == ([path.stat().st_size] if mode == "always" else [])
