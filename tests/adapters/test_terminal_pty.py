"""
``openclaw-exec approve`` in a real pseudo-terminal, answering a real guard in another process.

Each test starts the CLI in a pty (pexpect) against its own Unix socket, starts an
:class:`~openclaw_exec.guard.ExecGuard` in a second process whose store forwards to that socket
(:class:`~openclaw_exec.adapters.unix_socket.SocketApprover`), presses keys, and checks what the
guard decided, what the screen showed (through a VT100 emulator) and what reached the
approvals file. The gateway-kit case is here too; the real OpenClaw gateway case is in
``tests/interop/test_terminal_gateway.py``.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from _terminal_pty import APPROVE, HERE, Guard, Tty, child_env, next_outcome, screen_lines_after
from openclaw_exec.cli import main

TOKEN = "terminal-pty-token-0123456789abcdef"


@pytest.fixture(scope="module")
def home() -> Iterator[Path]:
    # AF_UNIX paths are limited to ~107 bytes: pytest's tmp_path can be too long.
    path = Path(tempfile.mkdtemp(prefix="ocp-", dir="/tmp"))
    path.chmod(0o700)
    yield path
    shutil.rmtree(path, ignore_errors=True)


def approvals_file(folder: Path) -> Path:
    folder.mkdir(mode=0o700, exist_ok=True)
    path = folder / "exec-approvals.json"
    document = {
        "version": 1,
        "socket": {"path": str(folder / "a.sock"), "token": TOKEN},
        "defaults": {"security": "allowlist", "ask": "on-miss", "askFallback": "deny"},
        "agents": {},
    }
    path.write_text(json.dumps(document))
    path.chmod(0o600)
    return path


def via(approvals: Path, timeout_ms: int = 30_000, **request: Any) -> dict[str, Any]:
    """A guard request through the socket that *approvals* names."""
    return {
        "approvals": str(approvals),
        "socket": str(approvals.parent / "a.sock"),
        "token": TOKEN,
        "timeout_ms": timeout_ms,
        **request,
    }


@pytest.fixture(scope="module")
def guard() -> Iterator[Guard]:
    running = Guard()
    yield running
    running.close()


@pytest.fixture(scope="module")
def session(home: Path) -> Iterator[tuple[Tty, Path]]:
    """One approver in a pty for the socket tests (starting Python is the slow part)."""
    approvals = approvals_file(home / "screen")
    tty = Tty(["--approvals", str(approvals)], rows=30, cols=110)
    try:
        tty.wait_for("0 pending | socket")
        yield tty, approvals
    finally:
        tty.kill()


def test_allow_once_from_the_terminal_reaches_the_guard(
    session: tuple[Tty, Path], guard: Guard, home: Path
) -> None:
    tty, approvals = session
    work = home / "once"
    work.mkdir()
    command = f"ls -la {work}"
    guard.ask("once", [via(approvals, command=command, session="s1")])
    text = tty.wait_for("allow-always would persist (agent main):")
    assert "1 pending" in text
    assert re.search(r">\s+0:[0-3]\d\s+\S{8}\s+main/s1\s+ls -la ", text), text
    assert "host policy: ASK (allowlist-miss)" in text
    assert re.search(r"^1\s+ls -la \S+\s+/\S*/ls\s+MISS", text, re.MULTILINE), text
    tty.press("o")
    result = guard.results("once", 1)[command]
    assert result["allowed"] is True
    assert result["decision"] == "allow-once"
    assert result["persisted"] == []
    text = tty.wait_for("0 pending")
    assert "allow-once: " in text


def test_allow_always_persists_exactly_what_was_shown(
    session: tuple[Tty, Path], guard: Guard, home: Path
) -> None:
    tty, approvals = session
    work = home / "always"
    work.mkdir()
    command = f"ls -la {work}"
    guard.ask("always", [via(approvals, command=command, cwd=str(work))])
    text = tty.wait_for("allow-always would persist (agent main):")
    shown = " ".join(line.strip() for line in screen_lines_after(text, "allow-always would"))
    match = re.fullmatch(r"(\S+)\s+argPattern (\S+)\s+\(.*\)", shown)
    assert match, shown
    pattern, arg_pattern = match.groups()
    tty.press("a")
    question = tty.wait_for("? y/N")
    assert f"persists {pattern}?" in question.replace("\n", "")
    tty.press("y")
    result = guard.results("always", 1)[command]
    assert result["decision"] == "allow-always"
    assert result["persisted"] == [pattern]
    stored = json.loads(approvals.read_text())["agents"]["main"]["allowlist"]
    assert [(e["pattern"], e.get("argPattern"), e.get("source")) for e in stored] == [
        (pattern, arg_pattern, "allow-always")
    ]
    tty.wait_for("0 pending")


def test_a_batch_answer_for_related_requests(
    session: tuple[Tty, Path], guard: Guard, home: Path
) -> None:
    tty, approvals = session
    files = [home / f"f{i}.txt" for i in range(4)]
    for file in files:
        file.write_text("x")
    related = [f"cat {f}" for f in files]
    other = f"wc -l {files[0]}"
    guard.ask(
        "batch",
        [via(approvals, command=c, session="task-7") for c in related]
        + [via(approvals, command=other, session="task-7", delay=0.8)],
    )
    tty.wait_for("5 pending")
    tty.press("\x1b[H")  # home: the first arrival, one of the cats
    tty.pump(0.2)
    if "wc -l" in tty.text.splitlines()[1]:  # the list's first row, under the cursor
        tty.press("j")  # a very slow machine let the later request in first
    tty.press("m")
    tty.wait_for("marked 4 like this one (agent main, session task-7, cat)")
    tty.press("d")
    tty.wait_for("deny 4 marked request(s) (cat)? y/N")
    tty.press("y")
    text = tty.wait_for("1 pending")
    assert "wc -l" in text
    tty.press("o")
    results = guard.results("batch", 5)
    for command in related:
        assert results[command]["decision"] == "deny"
        assert results[command]["allowed"] is False
    assert results[other]["decision"] == "allow-once"
    tty.wait_for("0 pending")


def test_expiry_and_resize_while_open(session: tuple[Tty, Path], guard: Guard) -> None:
    tty, approvals = session
    guard.ask("expiry", [via(approvals, timeout_ms=4_000, command="pwd")])
    tty.wait_for(lambda text: re.search(r">\s+0:0[1-4]\s", text) is not None)
    tty.resize(14, 44)
    text = tty.wait_for(lambda text: "1 pending" in text and "o once" in text)
    assert len(tty.screen.display) == 14
    assert all(len(line.rstrip()) <= 44 for line in tty.screen.display)
    assert "command: pwd" in text
    tty.resize(4, 16)
    tty.wait_for("terminal too")
    tty.resize(30, 110)
    text = tty.wait_for("expired: ", timeout=15)
    assert "0 pending" in text
    result = guard.results("expiry", 1)["pwd"]
    assert result["allowed"] is False  # askFallback=deny: nobody answered in time
    assert result["decision"] is None


def test_a_named_approvals_file_must_exist(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = home / "missing.json"
    assert (
        main(["approve", "--lines", "--gateway", "ws://127.0.0.1:9", "--approvals", str(missing)])
        == 2
    )
    assert "no such approvals file" in capsys.readouterr().err


def test_a_token_file_others_can_read_is_refused(
    home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    token = home / "loose-token"
    token.write_text(TOKEN)
    token.chmod(0o644)
    args = ["approve", "--lines", "--socket", str(home / "x.sock"), "--token-file", str(token)]
    assert main(args) == 2
    assert "readable by others (chmod 600" in capsys.readouterr().err


def test_without_a_terminal_it_says_so(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # In-process: pytest's captured stdout is no terminal (and starting Python is slow here).
    approvals = approvals_file(home / "notty")
    assert main(["approve", "--approvals", str(approvals)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("openclaw-exec: error: approve needs a terminal")
    assert "--lines" in err
    assert "Traceback" not in err


@pytest.mark.parametrize("backend", ["asyncio", "trio"])
def test_the_line_mode_answers_a_guard(home: Path, guard: Guard, backend: str) -> None:
    approvals = approvals_file(home / f"lines-{backend}")
    approve = subprocess.Popen(
        [*APPROVE, "--approvals", str(approvals), "--lines", "--backend", backend],
        env=child_env(),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert approve.stdout is not None
        assert approve.stdin is not None
        assert approve.stdout.readline().startswith("listening: socket ")
        guard.ask(backend, [via(approvals, command="uname -a")])
        line = approve.stdout.readline()
        assert line.startswith("pending ")
        approval_id = line.split()[1]
        approve.stdin.write(f"{approval_id[:8]} deny\n")
        approve.stdin.flush()
        while not (line := approve.stdout.readline()).startswith("ok"):
            assert line, "the line mode ended early"
        assert line == f"ok deny {approval_id}\n"
        assert guard.results(backend, 1)["uname -a"]["decision"] == "deny"
        approve.stdin.close()
        assert approve.wait(timeout=15) == 0
        assert approve.stdout.read() == "approve: 1 answered, 0 expired, 0 left unanswered\n"
    finally:
        if approve.poll() is None:
            approve.kill()
        approve.wait()
        for pipe in (approve.stdin, approve.stdout, approve.stderr):
            if pipe is not None and not pipe.closed:
                pipe.close()


def test_the_gateway_kit_in_a_terminal_and_ctrl_c(home: Path) -> None:
    # The full screen on trio here (the socket session above runs on asyncio).
    pytest.importorskip("websockets")
    from interop._kit import running_kit  # noqa: PLC0415

    with running_kit(home / "kit") as kit:
        token_file = home / "gateway-token"
        token_file.write_text(kit.token)
        token_file.chmod(0o600)
        tty = Tty(
            ["--backend", "trio", "--gateway", kit.url, "--gateway-token-file", str(token_file),
             "--identity", str(home / "approver" / "device.json")],
            rows=30, cols=110,
        )  # fmt: skip
        requester = None
        try:
            tty.wait_for(f"0 pending | gateway {kit.url}")
            requester = subprocess.Popen(
                [sys.executable, str(HERE / "_terminal_requester.py"), kit.url, kit.token,
                 str(home / "requester" / "device.json"), "3000", "echo from-the-kit",
                 "echo left-pending"],
                env=child_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            )  # fmt: skip
            assert requester.stdout is not None
            text = tty.wait_for("echo from-the-kit")
            assert re.search(r">\s+0:0\d\s+\S{8}\s+main/agent:main:main\s+echo", text), text
            assert f"via gateway {kit.url}" in text
            tty.press("d")
            assert next_outcome(requester.stdout)["decision"] == "deny"
            tty.wait_for("echo left-pending")
            tty.press("\x03")  # Ctrl-C: quit at once, answering nothing
            assert tty.finish() == 0
            assert next_outcome(requester.stdout)["decision"] is None
            assert requester.wait(timeout=15) == 0
        finally:
            tty.kill()
            if requester is not None and requester.poll() is None:
                requester.kill()
            if requester is not None:
                requester.communicate()
        # A new device with the wrong shared token (a paired one would use its device token).
        wrong = home / "wrong-token"
        wrong.write_text("not-the-token")
        refused = subprocess.run(
            [*APPROVE, "--lines", "--gateway", kit.url, "--gateway-token-file", str(wrong),
             "--identity", str(home / "stranger" / "device.json")],
            env=child_env(), capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
    assert refused.returncode == 2
    assert refused.stderr.startswith("openclaw-exec: error: "), refused.stderr
    assert "token" in refused.stderr
    assert "Traceback" not in refused.stderr
    assert tty.raw.endswith(b"approve: 1 answered, 0 expired, 1 left unanswered\r\n")
    assert b"\x1b[?1049l" in tty.raw  # the main screen is back
    assert b"\x1b[?25h" in tty.raw  # and the cursor
