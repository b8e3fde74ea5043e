"""
The terminal itself: raw mode, the alternate screen, keys, resizes and signals (stdlib only).

:func:`run_screen` draws :func:`render_board` frames with plain ANSI sequences, reads keys
with :class:`KeyDecoder`, redraws on every change, every second (the countdowns) and on
``SIGWINCH``, and restores the terminal however it ends (a key, ``Ctrl-C`` as a key in raw
mode, ``SIGINT``/``SIGTERM``/``SIGHUP``, an error, cancellation). :func:`run_lines` is the
mode for a stdout that is not a terminal: one block per request, answers read as lines
(``<id or slug> <decision>``, or ``/approve <id> <decision>``).
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import termios
from collections.abc import Iterator
from typing import TextIO

import anyio
import anyio.abc
import anyio.to_thread

from openclaw_exec.adapters.terminal._approver import TerminalApprover
from openclaw_exec.adapters.terminal._keys import KeyDecoder
from openclaw_exec.adapters.terminal._model import Answer, PendingRequest
from openclaw_exec.adapters.terminal._render import Frame, describe_pending, render_board
from openclaw_exec.adapters.terminal._text import visible
from openclaw_exec.exceptions import LocalProtocolError
from openclaw_exec.protocol import Decision, parse_approve_command

__all__ = ["frame_bytes", "run_lines", "run_screen"]

_ENTER = "\x1b[?1049h\x1b[?25l"  # alternate screen, cursor hidden
_LEAVE = "\x1b[0m\x1b[?25h\x1b[?1049l"  # attributes reset, cursor shown, main screen back
_ESC_WAIT = 0.05  # seconds after a lone ESC before it counts as the escape key


def frame_bytes(frame: Frame) -> bytes:
    """One frame as bytes for the terminal: home, each line cleared to its end, no scroll."""
    parts = ["\x1b[H"]
    for index, line in enumerate(frame.lines):
        if index:
            parts.append("\r\n")
        if index in frame.highlight:
            parts.append(f"\x1b[7m{line}\x1b[0m\x1b[K")
        else:
            parts.append(f"{line}\x1b[K")
    return "".join(parts).encode("utf-8", errors="replace")


@contextlib.contextmanager
def _raw(fd: int) -> Iterator[None]:
    """Raw-ish mode: no echo, no line buffering, Ctrl-C as a byte; restored on exit."""
    saved = termios.tcgetattr(fd)
    mode = termios.tcgetattr(fd)
    mode[0] &= ~(termios.IXON | termios.ICRNL | termios.INLCR | termios.IGNCR)
    mode[3] &= ~(termios.ICANON | termios.ECHO | termios.ISIG | termios.IEXTEN)
    mode[6][termios.VMIN] = 1
    mode[6][termios.VTIME] = 0
    termios.tcsetattr(fd, termios.TCSADRAIN, mode)
    try:
        yield
    finally:
        termios.tcsetattr(fd, termios.TCSADRAIN, saved)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def _size(fd: int) -> tuple[int, int]:
    try:
        size = os.get_terminal_size(fd)
    except OSError:
        return 80, 24
    return size.columns, size.lines


async def run_screen(approver: TerminalApprover, *, fd_in: int = 0, fd_out: int = 1) -> None:
    """
    Show the board full-screen until the human quits or a signal ends it.

    On the way out the approver is closed (requests still shown get no answer: they expire
    and the requester's askFallback applies) and the terminal is restored.

    Raises:
        OSError: *fd_in* / *fd_out* is not a terminal.
    """
    if not (os.isatty(fd_in) and os.isatty(fd_out)):
        raise OSError(25, "the full-screen approver needs a terminal on stdin and stdout")
    decoder = KeyDecoder()
    board = approver.board
    with _raw(fd_in):
        _write_all(fd_out, _ENTER.encode())
        try:
            async with anyio.create_task_group() as tg:

                async def keys() -> None:
                    while True:
                        await anyio.wait_readable(fd_in)
                        data = os.read(fd_in, 1024)
                        if not data:
                            board.quit_requested = True
                            approver.changed()
                            return
                        for key in decoder.feed(data):
                            approver.press(key)
                        if decoder.pending_escape:
                            with anyio.move_on_after(_ESC_WAIT):
                                await anyio.wait_readable(fd_in)
                                continue
                            for key in decoder.flush():
                                approver.press(key)

                async def signals() -> None:
                    with anyio.open_signal_receiver(
                        signal.SIGWINCH, signal.SIGINT, signal.SIGTERM, signal.SIGHUP
                    ) as received:
                        async for signum in received:
                            if signum != signal.SIGWINCH:
                                board.quit_requested = True
                            approver.changed()

                async def draw() -> None:
                    while not board.quit_requested:
                        width, height = _size(fd_out)
                        now = approver.clock()
                        frame = render_board(board, now, width, height)
                        _write_all(fd_out, frame_bytes(frame))
                        # Wake at the next whole second: countdowns tick on time.
                        await approver.wait_changed(1 - (now % 1000) / 1000 + 0.01)
                    tg.cancel_scope.cancel()

                tg.start_soon(keys)
                tg.start_soon(signals)
                tg.start_soon(draw)
        finally:
            approver.close()
            _write_all(fd_out, _LEAVE.encode())


def _find(approver: TerminalApprover, text: str) -> list[str]:
    """Ids on the board that *text* names: the whole id, or a unique prefix (the slug)."""
    ids = list(approver.board.items)
    if text in ids:
        return [text]
    return [i for i in ids if i.startswith(text)]


def _parse_line(line: str) -> tuple[str, Decision] | str:
    """``(id, decision)`` or an error message for one answer line."""
    words = line.split()
    if not words:
        return "empty line"
    if words[0].lstrip("/").lower().startswith("approve"):
        try:
            command = parse_approve_command(line)
        except LocalProtocolError as exc:
            return str(exc)
        if command is None:
            return "expected: <id> allow-once|allow-always|deny"
        return command.approval_id, command.decision
    if len(words) != 2:
        return "expected: <id> allow-once|allow-always|deny"
    decision = Decision.parse_alias(words[1])
    if decision is None:
        return f"unknown decision {words[1]!r}: allow-once, allow-always or deny"
    return words[0], decision


async def run_lines(
    approver: TerminalApprover, *, stdin: TextIO | None = None, out: TextIO | None = None
) -> None:
    """
    The line mode: print each request as it arrives, read answers as lines until EOF.

    Answers: ``<id or unique prefix> <decision>`` (OpenClaw's aliases accepted) or
    ``/approve <id> <decision>``. Output lines start with ``pending``, ``ok``, ``error``,
    ``expired`` or ``gone``, so a script can follow along.
    """
    source = stdin if stdin is not None else sys.stdin
    sink = out if out is not None else sys.stdout
    board = approver.board
    described: set[str] = set()

    def emit(text: str) -> None:
        sink.write(text)
        sink.flush()

    def gone(what: str, item: PendingRequest) -> None:
        if what in {"expired", "withdrawn"} and item.id in described:
            kind = "expired" if what == "expired" else "gone"
            emit(f"{kind} {visible(item.id)}: {visible(item.command)}\n")

    approver.listeners.append(gone)

    async def watch() -> None:
        while True:
            now = approver.clock()
            for item in board.pending:
                analysis = board.analyses.get(item.id)
                # Printed once its analysis is in (or at once without an analyser).
                if item.id not in described and (analysis is not None or approver.analyze is None):
                    described.add(item.id)
                    emit(describe_pending(item, analysis, now))
            await approver.wait_changed(1.0)

    async def answers() -> None:
        while True:
            line = await anyio.to_thread.run_sync(source.readline, abandon_on_cancel=True)
            if not line:
                return
            if not line.strip():
                continue
            parsed = _parse_line(line.strip())
            if isinstance(parsed, str):
                emit(f"error {parsed}\n")
                continue
            wanted, decision = parsed
            ids = _find(approver, wanted)
            if len(ids) != 1:
                problem = "no pending request" if not ids else f"{len(ids)} pending requests"
                emit(f"error {problem} match {wanted!r}\n")
                continue
            item = board.items[ids[0]]
            if decision not in item.allowed_decisions:
                emit(f"error {decision.value} is not offered for {item.id}\n")
                continue
            board.remove(item.id, note=decision.value)
            board.answered += 1
            approver.deliver([Answer(item.id, decision)])
            emit(f"ok {decision.value} {item.id}\n")

    try:
        async with anyio.create_task_group() as tg:
            tg.start_soon(watch)
            await answers()
            tg.cancel_scope.cancel()
    finally:
        approver.close()
