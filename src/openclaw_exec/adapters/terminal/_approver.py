"""
:class:`TerminalApprover`: the board as an approver, one awaitable question per request.

Each source (the Unix socket server, a gateway operator, an in-process store) calls
:meth:`TerminalApprover.ask` with a :class:`PendingRequest` and gets the human's
:class:`~openclaw_exec.protocol.Decision`, or ``None`` when nobody answered: the request
expired (its ``expires_at_ms``), the source withdrew it (cancellation: settled elsewhere, the
requester went away) or the approver closed. ``None`` leaves the request to the requester's
``askFallback``; nothing here ever answers on the human's behalf.

``await approver(request)`` takes an :class:`~openclaw_exec.protocol.ApprovalRequest`: the
library's approver shape (request in, decision or ``None`` out).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable

import anyio
import anyio.to_thread
import attrs

from openclaw_exec.adapters.terminal._model import (
    Answer,
    ApprovalAnalysis,
    ApprovalBoard,
    PendingRequest,
)
from openclaw_exec.protocol import ApprovalRequest, Decision

__all__ = ["Analyzer", "TerminalApprover", "pending_from_request", "wall_ms"]

_EXPIRY_SLACK_MS = 1_000
"""A request withdrawn this close to its deadline (or after it) is reported as expired."""

Analyzer = Callable[[PendingRequest], ApprovalAnalysis]
"""Computes the ``explain`` view of a request (runs in a worker thread)."""


def wall_ms() -> int:
    """Milliseconds since the epoch (the deadlines on the wire are wall-clock)."""
    return int(time.time() * 1000)


def pending_from_request(
    request: ApprovalRequest, *, received_at_ms: int, source: str = "store"
) -> PendingRequest:
    """A library :class:`ApprovalRequest` as the board shows it."""
    return PendingRequest(
        id=request.id,
        command=request.command,
        received_at_ms=received_at_ms,
        expires_at_ms=request.expires_at_ms,
        argv=request.command_argv,
        cwd=request.cwd,
        agent_id=request.agent_id,
        session_key=request.session_key,
        host=request.host,
        security=request.security,
        ask=request.ask,
        resolved_path=request.resolved_path,
        source=source,
    )


@attrs.define(eq=False)
class _Waiter:
    done: anyio.Event = attrs.field(factory=anyio.Event)
    decision: Decision | None = None


class TerminalApprover:
    """
    Pending requests waiting for a human at this terminal.

    Args:
        board: The board to show them on (a fresh one by default).
        analyze: Computes each request's analysis in a worker thread (``None``: none shown).
        clock: Wall-clock milliseconds (tests may inject one).
    """

    def __init__(
        self,
        board: ApprovalBoard | None = None,
        *,
        analyze: Analyzer | None = None,
        clock: Callable[[], int] = wall_ms,
    ) -> None:
        self.board = board if board is not None else ApprovalBoard()
        self.analyze = analyze
        self.clock = clock
        self._waiters: dict[str, _Waiter] = {}
        self._changed = anyio.Event()
        self._closed = False
        self.listeners: list[Callable[[str, PendingRequest], None]] = []
        """Called with (``"expired"``, ``"withdrawn"`` or a decision, item) as each one goes."""
        self.added = 0
        """Requests shown so far (for the line mode and tests)."""

    # ------------------------------------------------------------------ sources

    async def __call__(self, request: ApprovalRequest) -> Decision | None:
        """The approver shape: a library request in, the human's decision or ``None`` out."""
        return await self.ask(pending_from_request(request, received_at_ms=self.clock()))

    async def ask(self, item: PendingRequest) -> Decision | None:
        """
        Show *item* and wait for the human, its expiry, or cancellation.

        Returns:
            The decision, or ``None``: expired, closed, or a duplicate of a request already
            shown (the first one gets the answer).
        """
        if self._closed or not self.board.add(item):
            return None
        waiter = _Waiter()
        self._waiters[item.id] = waiter
        self.added += 1
        self.changed()
        note = "withdrawn"
        answered = False
        try:
            async with anyio.create_task_group() as tg:
                if self.analyze is not None:
                    tg.start_soon(self._analyse, item)
                remaining = item.remaining_ms(self.clock())
                with anyio.move_on_after(remaining / 1000 if remaining is not None else None):
                    await waiter.done.wait()
                tg.cancel_scope.cancel()
            if not waiter.done.is_set():
                note = "expired"
                self.board.expired += 1
            elif waiter.decision is not None:
                note, answered = waiter.decision.value, True
            return waiter.decision
        finally:
            self._waiters.pop(item.id, None)
            remaining = item.remaining_ms(self.clock())
            if note == "withdrawn" and remaining is not None and remaining <= _EXPIRY_SLACK_MS:
                # The requester gave up at the deadline (its timer beat ours): an expiry.
                note = "expired"
                self.board.expired += 1
            if item.id in self.board.items:
                self.board.remove(item.id, note=None if answered else note)
            for listener in self.listeners:
                listener(note, item)
            self.changed()

    async def _analyse(self, item: PendingRequest) -> None:
        analyze = self.analyze
        assert analyze is not None
        try:
            analysis = await anyio.to_thread.run_sync(analyze, item, abandon_on_cancel=True)
        except Exception as exc:  # noqa: BLE001 - a broken analyser shows an error, never crashes
            analysis = ApprovalAnalysis(error=f"{type(exc).__name__}: {exc}")
        self.board.set_analysis(item.id, analysis)
        self.changed()

    # ------------------------------------------------------------------ the human side

    def deliver(self, answers: Iterable[Answer]) -> None:
        """Hand the board's answers to the requests waiting for them."""
        for answer in answers:
            waiter = self._waiters.get(answer.approval_id)
            if waiter is not None and not waiter.done.is_set():
                waiter.decision = answer.decision
                waiter.done.set()
        self.changed()

    def press(self, key: str) -> None:
        """Apply one key to the board and deliver what it answered."""
        self.deliver(self.board.press(key))

    def close(self) -> None:
        """Stop: every waiting request gets ``None``; later ones are not shown."""
        self._closed = True
        for waiter in self._waiters.values():
            waiter.done.set()
        self.changed()

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` was called."""
        return self._closed

    def changed(self) -> None:
        """Wake whoever redraws."""
        self._changed.set()

    async def wait_changed(self, timeout: float | None) -> None:  # noqa: ASYNC109
        """Return when something changed, or after *timeout* seconds."""
        with anyio.move_on_after(timeout):
            await self._changed.wait()
        self._changed = anyio.Event()
