"""
Ready approvers for any :class:`~openclaw_exec.abc.ApprovalStore`: automatic and console.

Both are approver routes once started (``await tg.start(approver.run)``) and run on asyncio
and trio. Neither may take the agent down: an :class:`AutoApprover` callback that raises or
answers nonsense means DENY (and is logged), and a :class:`ConsoleApprover` never leaves a
thread behind that keeps the process alive at exit.
"""

from __future__ import annotations

import contextlib
import logging
import os
import stat
import sys
import threading
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TYPE_CHECKING, TextIO

import anyio
import anyio.abc
import anyio.from_thread
import anyio.lowlevel
import attrs

from openclaw_exec.abc import ApprovalStore
from openclaw_exec.adapters._approver_runner import ApproverAnswer, _Safe, _serve
from openclaw_exec.exceptions import LocalProtocolError
from openclaw_exec.protocol import (
    ApprovalCancelled,
    ApprovalEvent,
    ApprovalExpired,
    ApprovalRecord,
    ApprovalRequested,
    ApprovalResolved,
    ApprovalResult,
    ApprovalState,
    Decision,
    Principal,
    parse_approve_command,
)

if TYPE_CHECKING:
    from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

__all__ = ["AutoApprover", "ConsoleApprover", "DecideFn"]

logger = logging.getLogger("openclaw_exec.approvers")

DecideFn = Callable[
    [ApprovalRecord],
    "Decision | ApproverAnswer | Awaitable[Decision | ApproverAnswer | None] | None",
]
"""A decision function: plain or async; ``None`` leaves the request pending."""


@attrs.define
class AutoApprover:
    """
    An approver that answers every request with a fixed decision or a function's answer.

    The one approver contract (:func:`openclaw_exec.approvers.serve_approver`) with the
    *record* as the function's argument (kept for compatibility; new code can pass a
    function of the request to ``serve_approver`` directly).

    Args:
        store: The store to serve.
        decide: A decision, or a function of the record returning one (or an
            :class:`~openclaw_exec.approvers.ApproverAnswer`), plain or async (``None``:
            leave the request pending so it times out). A function that raises or returns
            anything else means DENY; the error is logged (logger
            ``openclaw_exec.approvers``), never raised into the agent.
        principal: Who it resolves as (recorded as ``resolvedBy``).

    Each request is answered in its own task, so a slow callback delays no other request.
    Run it in a task group: ``await tg.start(approver.run)``; it is a route once started.
    """

    store: ApprovalStore
    decide: Decision | DecideFn
    principal: Principal = attrs.field(factory=lambda: Principal(id="auto-approver"))
    results: list[ApprovalResult] = attrs.field(factory=list, init=False)
    errors: list[str] = attrs.field(factory=list, init=False)
    """What went wrong with the callback, one line per failure (also logged)."""

    async def run(
        self, *, task_status: anyio.abc.TaskStatus[None] = anyio.TASK_STATUS_IGNORED
    ) -> None:
        """Serve requests until cancelled or the store closes."""
        safe: _Safe[ApprovalRecord] = _Safe(
            self.decide, blocking=False, name="the decide callback", describe=lambda r: r.id
        )
        safe.errors = self.errors
        await _serve(
            self.store,
            safe.answer,
            principal=self.principal,
            on_result=self.results.append,
            catch_up_every=None,
            task_status=task_status,
        )


# ---------------------------------------------------------------------- console

_PROMPT = "  allow-once | allow-always | deny ?"
_READ_CHUNK = 4096
_MAX_LINE = 64 * 1024  # a longer "answer" is not an answer: discarded


def _stdin_fd() -> int | None:
    """Stdin's descriptor when it can be waited on without a thread, else ``None``."""
    try:
        fd = sys.stdin.fileno()
        mode = os.fstat(fd).st_mode
    except (AttributeError, OSError, ValueError):
        return None  # replaced by an object without a descriptor (tests, embedding)
    # A regular file cannot be polled (epoll refuses it); it never blocks anyway.
    return None if stat.S_ISREG(mode) else fd


@attrs.define
class ConsoleApprover:
    """
    An approver that asks on a terminal: shows each request, reads decision lines.

    Accepts a decision or alias (``allow``, ``once``, ``always``, ``deny``, ``reject``...)
    or a full ``/approve <id> <decision>`` line (applied to the id it names). Anything
    else (a typo, an empty line) says so and asks again. Requests are shown one at a time,
    in order; when the one shown expires or is decided elsewhere, that is said and the next
    one is shown at once. Lines typed while nothing is shown are discarded (they answer a
    prompt that is gone). Cancelling :meth:`run` returns at once: stdin is watched without
    a blocking thread (a custom *read_line* runs in a daemon thread), so nothing keeps the
    process alive at exit.

    Args:
        store: The store to serve.
        principal: Who it resolves as.
        read_line: A blocking line reader (``""`` at end of input); default: stdin.
        output: Where prompts go (default: stdout).
    """

    store: ApprovalStore
    principal: Principal = attrs.field(factory=lambda: Principal(id="console"))
    read_line: Callable[[], str] | None = None
    output: TextIO | None = None

    def _print(self, text: str) -> None:
        out = self.output or sys.stdout
        out.write(text + "\n")
        out.flush()

    async def run(
        self, *, task_status: anyio.abc.TaskStatus[None] = anyio.TASK_STATUS_IGNORED
    ) -> None:
        """Prompt for each request until cancelled or the store closes."""
        send, inbox = anyio.create_memory_object_stream[tuple[str, object]](64)
        async with (
            send,
            inbox,
            self.store.subscribe() as events,
            anyio.create_task_group() as tg,
        ):
            tg.start_soon(self._pump_events, events, send.clone())
            self._start_reader(tg, send)
            queue: deque[ApprovalRecord] = deque(await self.store.list_pending())
            task_status.started()
            await self._serve(queue, inbox)
            tg.cancel_scope.cancel()

    # -------------------------------------------------------------- inputs

    async def _pump_events(
        self,
        events: AsyncIterator[ApprovalEvent],
        send: MemoryObjectSendStream[tuple[str, object]],
    ) -> None:
        async with send:
            async for event in events:
                await send.send(("event", event))
            await send.send(("closed", None))

    def _start_reader(
        self, tg: anyio.abc.TaskGroup, send: MemoryObjectSendStream[tuple[str, object]]
    ) -> None:
        fd = _stdin_fd() if self.read_line is None else None
        if fd is not None:
            tg.start_soon(self._read_fd, fd, send.clone())
            return
        # The thread keeps the original stream, which run() closes on the way out.
        reader = self.read_line or sys.stdin.readline
        token = anyio.lowlevel.current_token()

        def deliver(item: tuple[str, object]) -> None:
            with contextlib.suppress(anyio.WouldBlock, anyio.ClosedResourceError):
                send.send_nowait(item)

        def loop() -> None:
            # A daemon thread: blocked in read_line at exit, it does not keep the process.
            try:
                while True:
                    line = reader()
                    anyio.from_thread.run_sync(
                        deliver, ("line", line) if line else ("eof", None), token=token
                    )
                    if not line:
                        return
            except Exception:  # noqa: BLE001 - the event loop is gone, or the reader broke
                return

        threading.Thread(target=loop, name="console-approver-reader", daemon=True).start()

    async def _read_fd(self, fd: int, send: MemoryObjectSendStream[tuple[str, object]]) -> None:
        buffer = b""
        async with send:
            while True:
                await anyio.wait_readable(fd)
                try:
                    chunk = os.read(fd, _READ_CHUNK)
                except BlockingIOError:
                    continue
                if not chunk:
                    await send.send(("eof", None))
                    return
                buffer += chunk
                while b"\n" in buffer:
                    line, buffer = buffer.split(b"\n", 1)
                    await send.send(("line", line.decode("utf-8", "replace") + "\n"))
                if len(buffer) > _MAX_LINE:
                    buffer = b""

    # -------------------------------------------------------------- the loop

    async def _serve(
        self,
        queue: deque[ApprovalRecord],
        inbox: MemoryObjectReceiveStream[tuple[str, object]],
    ) -> None:
        current: ApprovalRecord | None = None
        while True:
            if current is None:
                current = await self._next_shown(queue)
            kind, value = "expired", None
            delay = None
            if current is not None:
                delay = max((current.request.expires_at_ms - self.store.now_ms()) / 1000, 0)
            with anyio.move_on_after(delay):
                kind, value = await inbox.receive()
            if kind == "closed":
                return
            if kind == "expired":
                if current is not None:
                    self._print(f"{current.request.slug}: expired without an answer")
                current = None
            elif kind == "event":
                current = self._on_event(value, current, queue)
            elif kind == "eof":
                self._print("input closed: remaining requests will time out")
            elif kind == "line":
                current = await self._on_line(str(value), current)

    async def _next_shown(self, queue: deque[ApprovalRecord]) -> ApprovalRecord | None:
        while queue:
            record = queue.popleft()
            latest = await self.store.get(record.id)
            if latest is not None and latest.state is ApprovalState.PENDING:
                self._show(latest)
                return latest
        return None

    def _show(self, record: ApprovalRecord) -> None:
        request = record.request
        self._print(f"Exec approval {request.slug}: {request.command}")
        if request.cwd:
            self._print(f"  cwd: {request.cwd}")
        if request.agent_id:
            self._print(f"  agent: {request.agent_id}")
        self._print(_PROMPT)

    def _on_event(
        self, event: object, current: ApprovalRecord | None, queue: deque[ApprovalRecord]
    ) -> ApprovalRecord | None:
        if isinstance(event, ApprovalRequested):
            queue.append(event.record)
            return current
        settled = (ApprovalResolved, ApprovalExpired, ApprovalCancelled)
        if isinstance(event, settled) and current is not None and event.record.id == current.id:
            what = {
                ApprovalResolved: "decided elsewhere",
                ApprovalExpired: "expired without an answer",
                ApprovalCancelled: "withdrawn",
            }[type(event)]
            self._print(f"{current.request.slug}: {what}")
            return None
        return current

    async def _on_line(self, line: str, current: ApprovalRecord | None) -> ApprovalRecord | None:
        text = line.strip()
        decision = Decision.parse_alias(text)
        approval_id = current.id if current is not None else None
        if decision is None and text:
            try:
                command = parse_approve_command(text)
            except LocalProtocolError as exc:
                command = None
                self._print(exc.message)
            if command is not None:
                decision, approval_id = command.decision, command.approval_id
        if decision is None or approval_id is None:
            if current is None:
                self._print("no request is waiting: that line answers nothing")
            else:
                if not text or decision is None:
                    self._print(f"not an answer: {text!r}" if text else "no answer given")
                self._print(_PROMPT)
            return current
        result = await self.store.resolve(approval_id, decision, approver=self.principal)
        self._print(f"{decision.value}: {'ok' if result.ok else result.message}")
        if current is not None and approval_id == current.id and result.ok:
            return None
        if current is not None and approval_id == current.id:
            latest = await self.store.get(current.id)
            if latest is None or latest.state is not ApprovalState.PENDING:
                return None
            self._print(_PROMPT)
        return current
