"""The approvals file on disk: atomic, locked, strict, never made worse."""

from __future__ import annotations

import json
import multiprocessing
import os
import stat
import time
from pathlib import Path
from typing import Any

import pytest

from openclaw_exec import ApprovalsFileError
from openclaw_exec.adapters import filestore
from openclaw_exec.adapters.filestore import (
    ApprovalsStore,
    default_approvals_path,
    read_approvals,
    write_approvals,
)
from openclaw_exec.policy import (
    AllowlistEntry,
    ApprovalsFile,
    Ask,
    PolicyDefaults,
    Security,
    loads_approvals,
)

PROCESSES = 8
# 8 writers x 60 entries still interleave hundreds of locked read-modify-writes while a
# reader polls; every write rewrites the whole file, so the cost grows with the square of
# the total (200 each took two minutes of the suite on a loaded 2-core machine).
ENTRIES_EACH = 60


def test_default_path_follows_openclaw(tmp_path: Path) -> None:
    assert default_approvals_path({"OPENCLAW_STATE_DIR": str(tmp_path)}) == (
        tmp_path / "exec-approvals.json"
    )
    assert default_approvals_path({}) == Path("~/.openclaw/exec-approvals.json").expanduser()


def test_missing_file_reads_as_none(tmp_path: Path) -> None:
    assert read_approvals(tmp_path / "nope.json") is None


def test_write_is_0600_in_a_0700_folder(tmp_path: Path) -> None:
    target = tmp_path / "state" / "exec-approvals.json"
    write_approvals(target, ApprovalsFile())
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert stat.S_IMODE(target.parent.stat().st_mode) == 0o700
    assert read_approvals(target) == ApprovalsFile()
    assert [p.name for p in target.parent.iterdir()] == ["exec-approvals.json"]


def test_refuses_to_write_through_a_symlink(tmp_path: Path) -> None:
    real = tmp_path / "real.json"
    real.write_text('{"version": 1, "agents": {}}\n')
    link = tmp_path / "exec-approvals.json"
    link.symlink_to(real)
    with pytest.raises(ApprovalsFileError, match="symbolic link"):
        write_approvals(link, ApprovalsFile(defaults=ApprovalsFile().defaults))
    with pytest.raises(ApprovalsFileError, match="symbolic link"):
        ApprovalsStore(link).set_defaults(security="full")
    assert real.read_text() == '{"version": 1, "agents": {}}\n'


def test_refuses_a_symlinked_folder(tmp_path: Path) -> None:
    (tmp_path / "real").mkdir()
    (tmp_path / "linked").symlink_to(tmp_path / "real")
    with pytest.raises(ApprovalsFileError, match="symbolic link"):
        write_approvals(tmp_path / "linked" / "exec-approvals.json", ApprovalsFile())
    assert list((tmp_path / "real").iterdir()) == []


def test_malformed_file_is_never_overwritten(tmp_path: Path) -> None:
    target = tmp_path / "exec-approvals.json"
    broken = '{"version": 1, "defaults": {"ask": "Always"}}'
    target.write_text(broken)
    store = ApprovalsStore(target)
    with pytest.raises(ApprovalsFileError) as info:
        store.add_allowlist_entry("main", AllowlistEntry(pattern="/bin/ls"))
    assert info.value.path == str(target)
    assert info.value.json_path == "defaults.ask"
    assert target.read_text() == broken


def test_directory_and_oversize_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(ApprovalsFileError, match="not a regular file"):
        read_approvals(tmp_path)
    big = tmp_path / "big.json"
    with big.open("wb") as handle:
        handle.truncate(17 * 1024 * 1024)
    with pytest.raises(ApprovalsFileError, match="larger than"):
        read_approvals(big)


def test_round_trip_preserves_unknown_keys_through_helpers(tmp_path: Path) -> None:
    target = tmp_path / "exec-approvals.json"
    target.write_text(
        json.dumps(
            {
                "version": 1,
                "fromTheFuture": {"keep": True},
                "socket": {"path": "/s.sock", "token": "abc"},
                "agents": {"main": {"allowlist": [{"pattern": "/bin/ls", "custom": 1}]}},
            }
        )
    )
    store = ApprovalsStore(target)
    store.add_allowlist_entry("main", AllowlistEntry(pattern="/usr/bin/rg"), now_ms=5)
    document = json.loads(target.read_text())
    assert document["fromTheFuture"] == {"keep": True}
    assert document["socket"] == {"path": "/s.sock", "token": "abc"}
    entries = document["agents"]["main"]["allowlist"]
    assert entries[0] == {"pattern": "/bin/ls", "custom": 1}
    assert entries[1]["pattern"] == "/usr/bin/rg"
    assert entries[1]["lastUsedAt"] == 5
    assert len(entries[1]["id"]) == 36


def test_allow_always_upgrades_an_existing_entry(tmp_path: Path) -> None:
    store = ApprovalsStore(tmp_path / "a.json")
    store.add_allowlist_entry("main", AllowlistEntry(pattern="/bin/ls"), now_ms=1)
    file = store.add_allowlist_entry(
        "main", AllowlistEntry(pattern="/bin/ls", source="allow-always"), now_ms=2
    )
    (entry,) = file.agents["main"].allowlist
    assert (entry.source, entry.last_used_at) == ("allow-always", 2)


def test_record_use_and_remove(tmp_path: Path) -> None:
    store = ApprovalsStore(tmp_path / "a.json")
    store.add_allowlist_entry("ops", AllowlistEntry(pattern="/bin/ls"), now_ms=1)
    store.add_allowlist_entry("ops", AllowlistEntry(pattern="/bin/cat"), now_ms=1)
    file = store.record_use(
        "ops", "/bin/ls", command="ls -la", resolved_path="/usr/bin/ls", now_ms=99
    )
    used = file.agents["ops"].allowlist[0]
    assert (used.last_used_at, used.last_used_command, used.last_resolved_path) == (
        99,
        "ls -la",
        "/usr/bin/ls",
    )
    assert file.agents["ops"].allowlist[1].last_used_at == 1
    file = store.remove_allowlist_entry("ops", "/bin/ls")
    assert [e.pattern for e in file.agents["ops"].allowlist] == ["/bin/cat"]
    assert store.load() == file


def test_set_defaults_validates(tmp_path: Path) -> None:
    store = ApprovalsStore(tmp_path / "a.json")
    file = store.set_defaults(security="allowlist", ask="always")
    assert (file.defaults.security, file.defaults.ask) == (Security.ALLOWLIST, Ask.ALWAYS)
    with pytest.raises(ApprovalsFileError, match=r"defaults\.security"):
        store.set_defaults(security="Full")
    assert store.load() == file


def _add_many(path: str, worker: int, count: int) -> None:
    store = ApprovalsStore(path)
    for i in range(count):
        store.add_allowlist_entry("main", AllowlistEntry(pattern=f"/opt/w{worker}/bin{i}"))


def _watch(path: str, stop: Any, bad: Any) -> None:
    reads = 0
    while not stop.is_set() or reads == 0:
        try:
            data = Path(path).read_bytes()
        except FileNotFoundError:
            continue
        try:
            loads_approvals(data, source=path)
        except ApprovalsFileError as exc:
            bad.put(str(exc))
            return
        reads += 1
        time.sleep(0.002)  # leave the writers CPU on a small machine
    bad.put(f"ok {reads}")


def test_concurrent_writers_lose_nothing_and_readers_never_see_a_torn_file(
    tmp_path: Path,
) -> None:
    target = str(tmp_path / "exec-approvals.json")
    ctx = multiprocessing.get_context("spawn")
    stop = ctx.Event()
    bad: Any = ctx.Queue()
    watcher = ctx.Process(target=_watch, args=(target, stop, bad))
    watcher.start()
    writers = [
        ctx.Process(target=_add_many, args=(target, w, ENTRIES_EACH)) for w in range(PROCESSES)
    ]
    for proc in writers:
        proc.start()
    for proc in writers:
        proc.join(timeout=300)
        assert proc.exitcode == 0
    stop.set()
    watcher.join(timeout=60)
    verdict = bad.get(timeout=10)
    assert verdict.startswith("ok "), verdict
    assert int(verdict.split()[1]) > 0
    file = read_approvals(target)
    assert file is not None
    patterns = [e.pattern for e in file.agents["main"].allowlist]
    expected = {f"/opt/w{w}/bin{i}" for w in range(PROCESSES) for i in range(ENTRIES_EACH)}
    assert len(patterns) == len(expected)
    assert set(patterns) == expected
    leftovers = [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")]
    assert leftovers == []


def test_load_small_is_load_below_the_limit_and_reads_nothing_above(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # What the guard reads on the event loop's thread: one open and fstat decide whether
    # the file is small; the answer, the errors and the reuse of equal bytes are load()'s.
    path = tmp_path / "exec-approvals.json"
    store = ApprovalsStore(path)
    assert store.load_small(1024) == (True, None)  # missing: no restriction, as load()
    write_approvals(path, ApprovalsFile(defaults=PolicyDefaults(security=Security.DENY)))
    size = path.stat().st_size
    small, file = store.load_small(size)
    assert small
    assert file is store.load()  # equal bytes: the same parsed value
    assert store.load_small(size) == (True, file)

    def no_read(fd: int, limit: int) -> bytes:
        raise AssertionError("a file over the limit must not be read here")

    monkeypatch.setattr(filestore, "read_at_most", no_read)
    assert store.load_small(size - 1) == (False, None)
    monkeypatch.undo()
    # An edit keeping size and mtime is seen (the bytes are read and compared every time).
    before = path.stat()
    edited = path.read_bytes().replace(b'"deny"', b'"full"')
    assert len(edited) == before.st_size
    path.write_bytes(edited)
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    changed = store.load_small(size)[1]
    assert changed is not None
    assert changed is not file
    assert changed == store.load()
    path.chmod(0o620)  # group-writable: refused as load() refuses it
    with pytest.raises(ApprovalsFileError, match="writable by group"):
        store.load_small(size)
    path.unlink()
    os.mkfifo(path)  # a FIFO: refused at once, never waited on
    with pytest.raises(ApprovalsFileError, match="not a regular file"):
        store.load_small(size)
