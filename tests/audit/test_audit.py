from __future__ import annotations

import json
import multiprocessing
from pathlib import Path
from typing import Any

import anyio
import pytest
from hypothesis import given
from hypothesis import strategies as st

from openclaw_exec.audit import (
    GENESIS_HASH,
    AuditLog,
    chain_record,
    read_audit_log,
    verify_audit_log,
    verify_lines,
)


def fields(n: int) -> dict[str, Any]:
    return {
        "ts_ms": 1_700_000_000_000 + n,
        "command": f"echo {n}",
        "cwd": "/tmp",
        "agent_id": "main",
        "policy": {"security": "allowlist", "ask": "on-miss", "askFallback": "deny"},
        "allowed": n % 2 == 0,
        "reason": "allowlist-satisfied" if n % 2 == 0 else "user-denied",
        "env_keys": ("HOME",),
    }


def lines_of(count: int) -> list[str]:
    out, prev = [], None
    for n in range(count):
        prev = chain_record(prev, **fields(n))
        out.append(prev.to_json() + "\n")
    return out


@pytest.mark.anyio
async def test_append_verify_and_read_back(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    log = AuditLog(path)
    written = [await log.append(**fields(n)) for n in range(5)]
    assert written[0].prev == GENESIS_HASH
    assert [r.seq for r in written] == [1, 2, 3, 4, 5]
    assert (path.stat().st_mode & 0o777) == 0o600
    result = verify_audit_log(path)
    assert result.ok
    assert result.records == 5
    assert result.last_hash == written[-1].hash
    assert list(read_audit_log(path)) == written
    again = AuditLog(path)  # a new writer continues the chain from the file
    sixth = await again.append(**fields(5))
    assert sixth.seq == 6
    assert sixth.prev == written[-1].hash
    assert verify_audit_log(path).ok


async def append(log: AuditLog, n: int) -> None:
    await log.append(**fields(n))


@pytest.mark.anyio
async def test_concurrent_tasks_keep_one_chain(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    logs = [AuditLog(path, fsync=False) for _ in range(3)]
    async with anyio.create_task_group() as tg:
        for i in range(30):
            tg.start_soon(append, logs[i % 3], i)
    result = verify_audit_log(path)
    assert result.ok, result.error
    assert result.records == 30


def _writer(path: str, start: int) -> None:
    async def main() -> None:
        log = AuditLog(path, fsync=False)
        for n in range(start, start + 20):
            await log.append(**fields(n))

    anyio.run(main)


def test_concurrent_processes_keep_one_chain(tmp_path: Path) -> None:
    path = str(tmp_path / "audit.jsonl")
    procs = [
        multiprocessing.get_context("spawn").Process(target=_writer, args=(path, k * 100))
        for k in range(3)
    ]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    result = verify_audit_log(path)
    assert result.ok, result.error
    assert result.records == 60


def test_tampering_is_detected_with_the_line() -> None:
    good = lines_of(4)
    assert verify_lines(good).ok
    edited = list(good)
    edited[2] = edited[2].replace("echo 2", "echo 9")
    assert verify_lines(edited).line == 3
    assert "hash does not match" in verify_lines(edited).error
    dropped = good[:1] + good[2:]
    assert verify_lines(dropped).line == 2
    swapped = [good[0], good[2], good[1], good[3]]
    assert not verify_lines(swapped).ok
    torn = [*good[:3], good[3][:-10]]
    result = verify_lines(torn)
    assert (result.ok, result.line, result.records) == (False, 4, 3)
    assert "truncated" in result.error
    rehashed = json.loads(good[1])
    rehashed["allowed"] = True
    body = {k: v for k, v in rehashed.items() if k != "hash"}
    import hashlib  # noqa: PLC0415

    rehashed["hash"] = hashlib.sha256(
        json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    ).hexdigest()
    line = json.dumps(rehashed, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    forged = [good[0], line + "\n", *good[2:]]
    assert verify_lines(forged).line == 3  # re-hashing one record breaks the next link
    assert verify_lines(["[1]\n"]).error == "not a JSON object"
    assert "malformed" in verify_lines(['{"seq": "1"}\n']).error
    assert "not JSON" in verify_lines(["{\n"]).error


@given(st.integers(0, 4), st.integers(0, 200), st.characters(codec="utf-8"))
def test_any_single_character_edit_is_detected(index: int, offset: int, char: str) -> None:
    good = lines_of(5)
    line = good[index]
    pos = offset % (len(line) - 1)
    if line[pos] == char:
        return
    edited = list(good)
    edited[index] = line[:pos] + char + line[pos + 1 :]
    assert not verify_lines(edited).ok


@pytest.mark.anyio
async def test_damaged_tail_refuses_append_and_symlink_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    log = AuditLog(path)
    await log.append(**fields(0))
    with path.open("a") as handle:
        handle.write('{"seq": 2, "trunc')
    with pytest.raises(ValueError, match="refusing to append"):
        await AuditLog(path).append(**fields(1))
    link = tmp_path / "link.jsonl"
    link.symlink_to(tmp_path / "target.jsonl")
    with pytest.raises(OSError):
        await AuditLog(link).append(**fields(0))
    assert verify_audit_log(tmp_path / "missing.jsonl").ok
    with pytest.raises(ValueError, match="line 2"):
        list(read_audit_log(path))
