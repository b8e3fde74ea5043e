"""
``spawn`` (how guarded_run starts the checked plan) against ``anyio.run_process``.

The differential cases run both on the same argv, cwd and environment and compare what
the caller gets; the others pin what the child gets (stdin, env, cwd) and what happens
on cancellation (killed and reaped, never left running), on asyncio and trio, through
the pidfd path and through the fallback (``anyio.run_process`` itself).
"""

from __future__ import annotations

import os
import select
import subprocess
import time
from pathlib import Path

import anyio
import pytest

from openclaw_exec.integrations import _spawn
from openclaw_exec.integrations._spawn import spawn

pytestmark = pytest.mark.anyio

SH = "/bin/sh"
ENV = {"PATH": "/usr/bin:/bin", "ONLY": "this"}

CASES = [
    ("true", None),
    ("exit 3", None),
    ("echo out; echo err >&2; exit 7", None),
    ("kill -9 $$", None),  # killed by a signal: a negative status
    ("cat", b"fed through stdin\n"),
    ("cat", None),  # /dev/null: EOF at once, never the test runner's stdin
    ("cat", b""),
    ("cat; cat /proc/self/environ | tr '\\0' '\\n' | sort", b"in\n"),
    # More than a pipe buffer on both outputs at once: no deadlock, nothing lost.
    ("head -c 200000 /dev/zero; head -c 150000 /dev/zero >&2", None),
    ("wc -c", b"y" * 400_000),
    # The other order (stderr fills while stdout waits), and input fed while the output
    # it makes fills a pipe: every ready pipe is served, so neither side blocks for good.
    ("head -c 150000 /dev/zero >&2; head -c 200000 /dev/zero", None),
    ("cat; echo done >&2", b"z" * 400_000),
    ("pwd; readlink /proc/self/fd/0", None),
]


@pytest.fixture(params=["pidfd", "fallback"])
def path_taken(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    if request.param == "pidfd":
        if not _spawn._pidfd_works():
            pytest.skip("no pidfd on this kernel")
    else:
        monkeypatch.setattr(_spawn, "_pidfd_works", lambda: False)
    return str(request.param)


@pytest.mark.parametrize(("script", "data"), CASES, ids=[str(i) for i in range(len(CASES))])
async def test_same_result_as_anyio_run_process(
    path_taken: str, tmp_path: Path, script: str, data: bytes | None
) -> None:
    stdin = {"input": data} if data else {"stdin": subprocess.DEVNULL}
    ref = await anyio.run_process([SH, "-c", script], cwd=tmp_path, env=ENV, check=False, **stdin)
    got = await spawn((SH, "-c", script), cwd=str(tmp_path), env=ENV, input=data)
    assert (got.returncode, got.stdout, got.stderr) == (ref.returncode, ref.stdout, ref.stderr)


async def test_the_child_gets_exactly_the_env_cwd_and_dev_null(
    path_taken: str, tmp_path: Path
) -> None:
    script = "pwd; readlink /proc/self/fd/0; cat /proc/self/environ | tr '\\0' '\\n'"
    got = await spawn((SH, "-c", script), cwd=str(tmp_path), env=ENV)
    lines = got.stdout.decode().splitlines()
    assert lines[0] == str(tmp_path)
    assert lines[1] == "/dev/null"
    # sh adds PWD itself; nothing else of the test runner's environment gets through.
    assert {ln for ln in lines[2:] if not ln.startswith("PWD=")} == {
        f"{k}={v}" for k, v in ENV.items()
    }


async def test_a_child_that_stops_reading_its_input_is_not_an_error(tmp_path: Path) -> None:
    # anyio.run_process (and so the fallback) raises BrokenResourceError here, after the
    # child ran; spawn reports the run as subprocess.communicate does.
    if not _spawn._pidfd_works():
        pytest.skip("no pidfd on this kernel")
    got = await spawn((SH, "-c", "head -c 3"), cwd=str(tmp_path), env=ENV, input=b"x" * 300_000)
    assert (got.returncode, got.stdout, got.stderr) == (0, b"xxx", b"")


async def test_a_program_that_cannot_start_raises_as_anyio(path_taken: str, tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        await anyio.run_process([str(tmp_path / "nope")], cwd=tmp_path, check=False)
    with pytest.raises(FileNotFoundError):
        await spawn((str(tmp_path / "nope"),), cwd=str(tmp_path), env=ENV)


async def test_cancelled_the_child_is_killed_and_reaped(path_taken: str, tmp_path: Path) -> None:
    pid_file = tmp_path / "pid"
    script = f"echo $$ > {pid_file}; exec sleep 30"
    with anyio.move_on_after(5) as outer:
        async with anyio.create_task_group() as group:

            async def run() -> None:
                await spawn((SH, "-c", script), cwd=str(tmp_path), env=ENV)

            group.start_soon(run)
            # The child writes the file: nothing here could set an Event for it.
            while not pid_file.exists() or not pid_file.read_text().strip():  # noqa: ASYNC110
                await anyio.sleep(0.01)
            group.cancel_scope.cancel()
    assert not outer.cancelled_caught, "the cancelled run did not return"
    pid = int(pid_file.read_text())
    with pytest.raises(ProcessLookupError):  # gone, and no zombie left behind
        os.kill(pid, 0)


async def test_a_cancelled_caller_starts_nothing(path_taken: str, tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    with anyio.CancelScope() as scope:
        scope.cancel()
        await spawn((SH, "-c", f"touch {marker}"), cwd=str(tmp_path), env=ENV)
    assert scope.cancelled_caught
    await anyio.sleep(0.05)
    assert not marker.exists()


async def test_no_descriptor_is_left_open(path_taken: str, tmp_path: Path) -> None:
    # spawn makes the pipes itself: every end is closed whatever happened (ran, fed its
    # input, could not start, cancelled mid-run, stopped reading its input).
    def open_fds() -> int:
        return sum(1 for _ in Path("/proc/self/fd").iterdir())

    await spawn((SH, "-c", "true"), cwd=str(tmp_path), env=ENV)  # anything made once, first
    before = open_fds()
    for _ in range(3):
        await spawn((SH, "-c", "echo x; echo y >&2"), cwd=str(tmp_path), env=ENV)
        await spawn((SH, "-c", "cat"), cwd=str(tmp_path), env=ENV, input=b"z" * 100_000)
        if path_taken == "pidfd":  # anyio (the fallback) raises here: see the test above
            await spawn((SH, "-c", "head -c 1"), cwd=str(tmp_path), env=ENV, input=b"z" * 300_000)
        with pytest.raises(FileNotFoundError):
            await spawn((str(tmp_path / "nope"),), cwd=str(tmp_path), env=ENV)
        with anyio.move_on_after(0.05):
            await spawn((SH, "-c", "exec sleep 30"), cwd=str(tmp_path), env=ENV)
    assert open_fds() == before


async def test_a_failure_after_the_start_still_kills_and_reaps_the_child(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if not _spawn._pidfd_works():
        pytest.skip("no pidfd on this kernel")
    pid_file = tmp_path / "pid"

    def no_epoll(*args: object) -> object:
        # The child is running by now: let it write its pid before failing.
        for _ in range(500):
            if pid_file.exists() and pid_file.read_text().strip():
                break
            time.sleep(0.01)
        raise OSError(24, "Too many open files")

    monkeypatch.setattr(select, "epoll", no_epoll)
    with pytest.raises(OSError, match="Too many open files"):
        await spawn((SH, "-c", f"echo $$ > {pid_file}; exec sleep 30"), cwd=str(tmp_path), env=ENV)
    with pytest.raises(ProcessLookupError):  # killed, and no zombie left behind
        os.kill(int(pid_file.read_text()), 0)
