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
from collections.abc import Awaitable, Callable
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
    ApprovalRecord,
    ApprovalRequest,
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

    On the one approver contract: calling it with an
    :class:`~openclaw_exec.protocol.ApprovalRequest` shows the request when its turn comes
    and returns the decision typed for it; :meth:`run` reads the terminal and serves every
    request of *store* with :func:`~openclaw_exec.approvers.serve_approver`.

    Accepts a decision or alias (``allow``, ``once``, ``always``, ``deny``, ``reject``...)
    or a full ``/approve <id> <decision>`` line (applied to the id it names: another pending
    request is resolved at once). Anything else (a typo, an empty line) says so and asks
    again. Requests are shown one at a time, in order; when the one shown expires or is
    decided elsewhere, that is said and the next one is shown at once. Lines typed while
    nothing is shown are discarded (they answer a prompt that is gone). Cancelling
    :meth:`run` returns at once: stdin is watched without a blocking thread (a custom
    *read_line* runs in a daemon thread), so nothing keeps the process alive at exit.

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
    _turn: anyio.Lock | None = attrs.field(default=None, init=False, repr=False)
    _inbox: MemoryObjectSendStream[str] | None = attrs.field(default=None, init=False, repr=False)
    _answered: dict[str, Decision] = attrs.field(factory=dict, init=False, repr=False)

    def _print(self, text: str) -> None:
        out = self.output or sys.stdout
        out.write(text + "\n")
        out.flush()

    async def run(
        self, *, task_status: anyio.abc.TaskStatus[None] = anyio.TASK_STATUS_IGNORED
    ) -> None:
        """Prompt for each request until cancelled or the store closes."""
        send, lines = anyio.create_memory_object_stream[tuple[str, str]](64)
        async with send, lines, anyio.create_task_group() as tg:
            self._start_reader(tg, send)
            tg.start_soon(self._dispatch, lines)
            await _serve_console(
                self, self.store, self.principal, self._report, task_status=task_status
            )
            tg.cancel_scope.cancel()  # the store closed: nothing can be answered any more

    async def __call__(self, request: ApprovalRequest, /) -> Decision | None:
        """Show *request* when its turn comes; return the decision typed for it."""
        if self._turn is None:
            self._turn = anyio.Lock()
        async with self._turn:  # one prompt at a time, in arrival order (the lock is fair)
            send, inbox = anyio.create_memory_object_stream[str](16)
            self._show(request)
            self._inbox = send
            try:
                async with send, inbox:
                    async for line in inbox:
                        decision = await self._on_line(line, request)
                        if decision is not None:
                            self._answered[request.id] = decision
                            return decision
            except anyio.get_cancelled_exc_class():
                with anyio.CancelScope(shield=True), anyio.move_on_after(2):
                    await self._say_gone(request)
                raise
            finally:
                self._inbox = None
        return None

    # -------------------------------------------------------------- inputs

    async def _dispatch(self, lines: MemoryObjectReceiveStream[tuple[str, str]]) -> None:
        async for kind, line in lines:
            if kind == "eof":
                self._print("input closed: remaining requests will time out")
                continue
            inbox = self._inbox
            if inbox is None:
                self._print("no request is waiting: that line answers nothing")
                continue
            with contextlib.suppress(anyio.WouldBlock, anyio.ClosedResourceError):
                inbox.send_nowait(line)

    def _start_reader(
        self, tg: anyio.abc.TaskGroup, send: MemoryObjectSendStream[tuple[str, str]]
    ) -> None:
        fd = _stdin_fd() if self.read_line is None else None
        if fd is not None:
            tg.start_soon(self._read_fd, fd, send.clone())
            return
        # The thread keeps the original stream, which run() closes on the way out.
        reader = self.read_line or sys.stdin.readline
        token = anyio.lowlevel.current_token()

        def deliver(item: tuple[str, str]) -> None:
            with contextlib.suppress(anyio.WouldBlock, anyio.ClosedResourceError):
                send.send_nowait(item)

        def loop() -> None:
            # A daemon thread: blocked in read_line at exit, it does not keep the process.
            try:
                while True:
                    line = reader()
                    anyio.from_thread.run_sync(
                        deliver, ("line", line) if line else ("eof", ""), token=token
                    )
                    if not line:
                        return
            except Exception:  # noqa: BLE001 - the event loop is gone, or the reader broke
                return

        threading.Thread(target=loop, name="console-approver-reader", daemon=True).start()

    async def _read_fd(self, fd: int, send: MemoryObjectSendStream[tuple[str, str]]) -> None:
        buffer = b""
        async with send:
            while True:
                await anyio.wait_readable(fd)
                try:
                    chunk = os.read(fd, _READ_CHUNK)
                except BlockingIOError:
                    continue
                if not chunk:
                    await send.send(("eof", ""))
                    return
                buffer += chunk
                while b"\n" in buffer:
                    line, buffer = buffer.split(b"\n", 1)
                    await send.send(("line", line.decode("utf-8", "replace") + "\n"))
                if len(buffer) > _MAX_LINE:
                    buffer = b""

    # -------------------------------------------------------------- one prompt

    def _show(self, request: ApprovalRequest) -> None:
        self._print(f"Exec approval {request.slug}: {request.command}")
        if request.cwd:
            self._print(f"  cwd: {request.cwd}")
        if request.agent_id:
            self._print(f"  agent: {request.agent_id}")
        self._print(_PROMPT)

    async def _say_gone(self, request: ApprovalRequest) -> None:
        """Say why the shown request left (it was settled, or it expired) before the next."""
        record = await self.store.get(request.id)
        expired = self.store.now_ms() >= request.expires_at_ms
        what = "expired without an answer"
        if record is not None and record.state is ApprovalState.CANCELLED:
            what = "withdrawn"
        elif record is not None and record.decision is not None:
            what = "decided elsewhere"
        elif record is not None and record.state is ApprovalState.PENDING and not expired:
            return  # cancelled for another reason (the console stops): nothing to say
        self._print(f"{request.slug}: {what}")

    async def _on_line(self, line: str, request: ApprovalRequest) -> Decision | None:
        """The decision *line* gives *request*, or ``None`` (said why, asked again)."""
        text = line.strip()
        decision = Decision.parse_alias(text)
        if decision is not None:
            return decision
        if text:
            try:
                command = parse_approve_command(text)
            except LocalProtocolError as exc:
                command = None
                self._print(exc.message)
            if command is not None:
                named = command.approval_id.casefold()
                if request.id.casefold().startswith(named):
                    return command.decision
                # Another request, by id or slug: resolve it now (it may be queued).
                result = await self.store.resolve(
                    command.approval_id, command.decision, approver=self.principal
                )
                self._print(f"{command.decision.value}: {'ok' if result.ok else result.message}")
                return None
            self._print(f"not an answer: {text!r}")
        else:
            self._print("no answer given")
        self._print(_PROMPT)
        return None

    def _report(self, result: ApprovalResult) -> None:
        record = result.record
        decision = self._answered.pop(record.id, None) if record is not None else None
        label = decision.value if decision is not None else "answer"
        self._print(f"{label}: {'ok' if result.ok else result.message}")


async def _serve_console(
    console: ConsoleApprover,
    store: ApprovalStore,
    principal: Principal,
    report: Callable[[ApprovalResult], None],
    *,
    task_status: anyio.abc.TaskStatus[None] = anyio.TASK_STATUS_IGNORED,
) -> None:
    async def answer(record: ApprovalRecord) -> Decision | None:
        return await console(record.request)

    await _serve(
        store,
        answer,
        principal=principal,
        on_result=report,
        catch_up_every=None,
        task_status=task_status,
    )
