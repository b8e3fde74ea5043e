"""
Readers that cannot hang or be made to read without bound, and writers that never write what
the readers refuse (issue #13, "Files and readers").
"""

from __future__ import annotations

import contextlib
import json
import os
import stat
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path

import anyio
import pytest

from openclaw_exec import ApprovalsFileError
from openclaw_exec.adapters.filestore import (
    MAX_FILE_BYTES,
    ApprovalsStore,
    read_approvals,
    write_approvals,
)
from openclaw_exec.guard import ExecGuard
from openclaw_exec.policy import AgentPolicy, AllowlistEntry, ApprovalsFile, loads_approvals

GOOD = '{"version": 1, "agents": {}}\n'


def _finishes(call: Callable[[], object], fifo: Path, seconds: float = 5.0) -> object:
    """Run *call* in a thread; if it blocks on *fifo*, free it by opening the writer, and fail."""
    box: dict[str, object] = {}

    def target() -> None:
        try:
            box["value"] = call()
        except BaseException as exc:  # noqa: BLE001 - reported below
            box["error"] = exc

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(seconds)
    if thread.is_alive():
        fd = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)  # releases a blocked open()
        os.close(fd)
        thread.join(5)
        pytest.fail(f"blocked on the FIFO {fifo} for {seconds} s")
    if "error" in box:
        raise box["error"]  # type: ignore[misc]
    return box.get("value")


def test_fifo_is_refused_without_blocking(tmp_path: Path) -> None:
    fifo = tmp_path / "exec-approvals.json"
    os.mkfifo(fifo)
    with pytest.raises(ApprovalsFileError, match="FIFO") as info:
        _finishes(lambda: read_approvals(fifo), fifo)
    assert info.value.path == str(fifo)


def _release_later(fifo: Path, seconds: float) -> threading.Event:
    """After *seconds*, open the writer end of *fifo* (unblocking a reader stuck on it)."""
    done = threading.Event()

    def release() -> None:
        if not done.wait(seconds):
            with contextlib.suppress(OSError):
                os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))

    threading.Thread(target=release, daemon=True).start()
    return done


@pytest.mark.anyio
async def test_guard_with_a_fifo_denies_at_once(tmp_path: Path) -> None:
    fifo = tmp_path / "exec-approvals.json"
    os.mkfifo(fifo)
    guard = ExecGuard(approvals=fifo)
    done = _release_later(fifo, 5)  # a worker thread blocked in open() cannot be cancelled
    started = anyio.current_time()
    try:
        auth = await guard.authorize("ls", cwd="/tmp", env={"PATH": "/usr/bin:/bin"})
    finally:
        done.set()
    assert anyio.current_time() - started < 4, "authorize blocked on the FIFO"
    assert (auth.allowed, auth.reason) == (False, "approvals-file-error")
    assert "FIFO" in auth.message


def test_cli_with_a_fifo_state_dir_exits_2_at_once(tmp_path: Path) -> None:
    state = tmp_path / "state"
    state.mkdir()
    os.mkfifo(state / "exec-approvals.json")
    env = {**os.environ, "OPENCLAW_STATE_DIR": str(state)}
    for argv in (["policy"], ["explain", "ls"], ["approvals", "get"]):
        proc = subprocess.run(
            [sys.executable, "-m", "openclaw_exec.cli", *argv],
            env=env,
            capture_output=True,
            text=True,
            timeout=20,
            check=False,
        )
        assert proc.returncode == 2, (argv, proc.stderr)
        assert "FIFO" in proc.stderr
        assert "Traceback" not in proc.stderr


@pytest.mark.parametrize("mode", [0o620, 0o602, 0o666, 0o660])
def test_group_or_other_writable_file_is_refused(tmp_path: Path, mode: int) -> None:
    target = tmp_path / "exec-approvals.json"
    target.write_text(GOOD)
    target.chmod(mode)
    with pytest.raises(ApprovalsFileError, match="writable by group or others"):
        read_approvals(target)


@pytest.mark.parametrize("mode", [0o600, 0o644, 0o400, 0o640])
def test_private_or_read_only_modes_are_fine(tmp_path: Path, mode: int) -> None:
    target = tmp_path / "exec-approvals.json"
    target.write_text(GOOD)
    target.chmod(mode)
    assert read_approvals(target) == ApprovalsFile()


def test_oversize_write_is_refused_and_the_file_kept(tmp_path: Path) -> None:
    target = tmp_path / "exec-approvals.json"
    write_approvals(target, ApprovalsFile())
    before = target.read_bytes()
    entries = tuple(AllowlistEntry(pattern=f"/opt/{i:07d}/" + "x" * 200) for i in range(80_000))
    huge = ApprovalsFile(agents={"main": AgentPolicy(allowlist=entries)})
    with pytest.raises(ApprovalsFileError, match="larger than") as info:
        write_approvals(target, huge)
    assert info.value.path == str(target)
    assert target.read_bytes() == before
    assert read_approvals(target) == ApprovalsFile()


def test_cli_set_file_from_stdin_over_the_cap_writes_nothing(tmp_path: Path) -> None:
    target = tmp_path / "exec-approvals.json"
    target.write_text(GOOD)
    target.chmod(0o600)
    entries = [{"pattern": f"/opt/{i:07d}/" + "x" * 200} for i in range(90_000)]
    document = json.dumps({"version": 1, "agents": {"main": {"allowlist": entries}}})
    assert len(document) > MAX_FILE_BYTES
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "openclaw_exec.cli",
            "approvals",
            "set",
            "--approvals",
            str(target),
            "--file",
            "-",
        ],
        input=document,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 2, proc.stderr
    assert "larger than" in proc.stderr
    assert target.read_text() == GOOD
    assert read_approvals(target) == ApprovalsFile()


def test_cli_pairing_explain_dev_zero_is_bounded() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "openclaw_exec.cli", "pairing", "explain", "/dev/zero"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 2
    assert "/dev/zero" in proc.stderr
    assert "larger than" in proc.stderr


@pytest.mark.parametrize("key", ["", " ", "\t", "a\x00b", "ops\x1b[2K", "x\ny", "\x7f", "m\x85"])
def test_bad_agent_keys_are_refused_on_read(tmp_path: Path, key: str) -> None:
    document = json.dumps({"version": 1, "agents": {key: {"security": "full"}}})
    with pytest.raises(ApprovalsFileError, match="agent id") as info:
        loads_approvals(document, source="f.json")
    assert info.value.json_path == f"agents[{json.dumps(key)}]"
    target = tmp_path / "exec-approvals.json"
    target.write_text(document)
    with pytest.raises(ApprovalsFileError, match="agent id"):
        read_approvals(target)


@pytest.mark.parametrize("key", ["", "a\x00b", "\x1b"])
def test_bad_agent_keys_are_never_written(tmp_path: Path, key: str) -> None:
    store = ApprovalsStore(tmp_path / "exec-approvals.json")
    store.set_defaults(security="allowlist")
    before = store.path.read_bytes()
    with pytest.raises(ApprovalsFileError, match="agent id"):
        store.add_allowlist_entry(key, AllowlistEntry(pattern="/bin/ls"))
    assert store.path.read_bytes() == before


@pytest.mark.parametrize("key", ["main", "*", "ops-1", "agent with spaces", "émile", "ü"])
def test_ordinary_agent_keys_still_work(tmp_path: Path, key: str) -> None:
    store = ApprovalsStore(tmp_path / "exec-approvals.json")
    file = store.add_allowlist_entry(key, AllowlistEntry(pattern="/bin/ls"))
    assert read_approvals(store.path) == file
    assert stat.S_IMODE(store.path.stat().st_mode) == 0o600
