"""
Drive ``openclaw-exec approve`` in a real pseudo-terminal and read its screen.

The CLI runs under :mod:`pexpect` in a pty of a given size; its output is fed into
:mod:`pyte`, a VT100 emulator, so the tests assert on what a human would see on that screen
(after cursor moves, line clears and resizes), not on the raw byte stream.
"""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

import pexpect  # type: ignore[import-untyped]
import pyte

SRC = Path(__file__).resolve().parents[1] / "src"
HERE = Path(__file__).resolve().parent / "adapters"  # the guard and requester scripts
APPROVE = [sys.executable, "-m", "openclaw_exec", "approve"]


def child_env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(SRC), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    env.pop("COLUMNS", None)
    env.pop("LINES", None)
    env["TERM"] = "xterm-256color"
    env.update(extra)
    return env


class Tty:
    """The CLI in a pty, with the screen a human would see."""

    def __init__(self, args: list[str], *, rows: int = 30, cols: int = 100) -> None:
        self.child = pexpect.spawn(
            APPROVE[0], [*APPROVE[1:], *args], env=child_env(), dimensions=(rows, cols)
        )
        self.screen = pyte.Screen(cols, rows)
        self.stream = pyte.ByteStream(self.screen)
        self.raw = b""

    def pump(self, seconds: float = 0.05) -> None:
        end = time.monotonic() + seconds
        while True:
            try:
                data = self.child.read_nonblocking(65536, timeout=0.05)
            except pexpect.TIMEOUT:
                data = b""
            except pexpect.EOF:
                return
            self.raw += data
            self.stream.feed(data)
            if time.monotonic() >= end:
                return

    @property
    def text(self) -> str:
        return "\n".join(line.rstrip() for line in self.screen.display)

    def wait_for(self, want: str | Callable[[str], bool], timeout: float = 20) -> str:
        check = (lambda text: want in text) if isinstance(want, str) else want
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            self.pump(0.05)
            if check(self.text):
                return self.text
            if not self.child.isalive():
                self.pump(0.2)
                if check(self.text):
                    return self.text
                break
        raise AssertionError(f"screen never showed {want!r}; it shows:\n{self.text}")

    def press(self, keys: str | bytes) -> None:
        self.child.send(keys)

    def resize(self, rows: int, cols: int) -> None:
        self.screen.resize(rows, cols)
        self.child.setwinsize(rows, cols)

    def finish(self, timeout: float = 15) -> int:
        self.child.expect(pexpect.EOF, timeout=timeout)
        self.raw += self.child.before or b""
        self.child.close()
        return int(self.child.exitstatus if self.child.exitstatus is not None else -1)

    def kill(self) -> None:
        if self.child.isalive():
            self.child.terminate(force=True)


def screen_lines_after(text: str, heading: str) -> list[str]:
    """The indented lines under *heading* on the screen (what allow-always would persist)."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(heading))
    out: list[str] = []
    for line in lines[start + 1 :]:
        if not line.startswith("  "):
            break
        out.append(line)
    return out


class Guard:
    """
    A real ExecGuard in another process, asking through approvals sockets (``_terminal_guard.py``).

    One process for a whole module; :meth:`ask` sends requests (each names its socket, token
    and approvals file), :meth:`results` waits for the answers with a given tag.
    """

    def __init__(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, str(HERE / "_terminal_guard.py")],
            env=child_env(),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.lines: queue.Queue[str] = queue.Queue()
        self.seen: list[dict[str, Any]] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.put(line)
        self.lines.put("")

    def ask(self, tag: str, requests: list[dict[str, Any]]) -> None:
        assert self.process.stdin is not None
        for request in requests:
            self.process.stdin.write(json.dumps({**request, "tag": tag}) + "\n")
        self.process.stdin.flush()

    def results(self, tag: str, count: int, timeout: float = 30) -> dict[str, dict[str, Any]]:
        end = time.monotonic() + timeout
        while len(mine := [r for r in self.seen if r["tag"] == tag]) < count:
            try:
                line = self.lines.get(timeout=max(end - time.monotonic(), 0.01))
            except queue.Empty:
                raise AssertionError(f"the guard gave {len(mine)} of {count} results") from None
            assert line, f"the guard process ended: {self.stderr()}"
            self.seen.append(json.loads(line))
        return {r["command"]: r for r in mine}

    def stderr(self) -> str:
        if self.process.poll() is None:
            return "(still running)"
        assert self.process.stderr is not None
        return self.process.stderr.read()

    def close(self) -> None:
        if self.process.stdin is not None and not self.process.stdin.closed:
            self.process.stdin.close()
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        for pipe in (self.process.stdout, self.process.stderr):
            if pipe is not None:
                pipe.close()


def next_outcome(stream: IO[str]) -> dict[str, Any]:
    """The next settled request a ``_terminal_requester.py`` reports (skipping registrations)."""
    while line := stream.readline():
        document: dict[str, Any] = json.loads(line)
        if "decision" in document:
            return document
    raise AssertionError("the requester ended without an outcome")
