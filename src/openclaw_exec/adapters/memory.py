"""
In-process approvals: an :class:`~openclaw_exec.abc.ApprovalStore` on anyio memory streams.

:class:`MemoryApprovalStore` wraps the sans-IO :class:`~openclaw_exec.protocol.ApprovalBroker`
and drives its clock: waiters sleep until their approval's expiry at most, and every call
first applies due expiries and grace windows. Approver channels are anyio memory streams
(:meth:`MemoryApprovalStore.subscribe`). :class:`AutoApprover` and :class:`ConsoleApprover`
are ready approvers for tests and demos. Runs on asyncio and trio.

Durability: none. Like OpenClaw's in-memory manager, every approval (and every
:meth:`~MemoryApprovalStore.claim` mark) is lost when the store is dropped or the process
ends. A blocking guard then sees no decision and applies ``askFallback``; a deferred
:meth:`~openclaw_exec.ExecGuard.resume` of a lost id is refused (``approval-unknown``),
never allowed. Within one process the store outlives any number of guards: a guard
rebuilt on the same store resumes what the previous one left pending.
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
import time
from collections.abc import AsyncIterator, Callable, Sequence
from typing import TYPE_CHECKING

import anyio
import anyio.abc
import anyio.to_thread

from openclaw_exec.abc import ApprovalStore
from openclaw_exec.adapters._approvers import AutoApprover, ConsoleApprover
from openclaw_exec.exceptions import LocalProtocolError
from openclaw_exec.protocol import (
    NO_EVENT,
    RESOLVED_GRACE_MS,
    ApprovalBroker,
    ApprovalEvent,
    ApprovalOutcome,
    ApprovalRecord,
    ApprovalRequest,
    ApprovalResult,
    ApproverPolicy,
    Decision,
    ExecBinding,
    Principal,
    WaitFinished,
)

if TYPE_CHECKING:
    from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

__all__ = ["AutoApprover", "ConsoleApprover", "MemoryApprovalStore", "wall_clock_ms"]


def wall_clock_ms() -> int:
    """Epoch milliseconds (the clock OpenClaw stamps approvals with)."""
    return time.time_ns() // 1_000_000


class _Waiter:
    __slots__ = ("event", "record")

    def __init__(self) -> None:
        self.event = anyio.Event()
        self.record: ApprovalRecord | None = None


class MemoryApprovalStore(ApprovalStore):
    """
    The in-memory approval store.

    Args:
        grace_ms: How long settled approvals stay readable (OpenClaw: 15 000).
        approver_policy: Who may resolve (default: anyone identified, never anonymous).
        clock: Epoch-milliseconds clock (default :func:`wall_clock_ms`).
        subscriber_buffer: Events buffered per subscriber before new ones are dropped.

    Every method runs to completion without awaiting in between, so each call is atomic on
    the event loop; the store is not thread-safe (use it from one event loop).
    """

    def __init__(
        self,
        *,
        grace_ms: int = RESOLVED_GRACE_MS,
        approver_policy: ApproverPolicy | None = None,
        clock: Callable[[], int] = wall_clock_ms,
        subscriber_buffer: int = 1024,
    ) -> None:
        self._broker = ApprovalBroker(grace_ms=grace_ms, approver_policy=approver_policy)
        self._clock = clock
        self._buffer = subscriber_buffer
        self._waiters: dict[int, _Waiter] = {}
        self._keys = itertools.count()
        self._subscribers: list[MemoryObjectSendStream[ApprovalEvent]] = []
        self._claims: dict[str, int] = {}  # approval id -> keep until (epoch ms)
        self._claim_deadlines: list[tuple[int, str]] = []  # a heap over _claims
        self._closed = False

    # ------------------------------------------------------------------ plumbing

    @property
    def broker(self) -> ApprovalBroker:
        """The sans-IO broker underneath (read it, do not drive it from outside)."""
        return self._broker

    @property
    def grace_ms(self) -> int:
        """How long settled approvals stay readable."""
        return self._broker.grace_ms

    @property
    def subscriber_count(self) -> int:
        """Open approver channels (each one is an approver route)."""
        return len(self._subscribers)

    def now_ms(self) -> int:
        """The store's clock (epoch milliseconds)."""
        return self._clock()

    def _check_open(self) -> None:
        if self._closed:
            raise LocalProtocolError("the approval store is closed")

    def _pump(self, now_ms: int | None = None) -> int:
        """Apply due deadlines, then deliver every queued broker event."""
        now = self._clock() if now_ms is None else now_ms
        broker = self._broker
        broker.tick(now)
        deadlines = self._claim_deadlines
        while deadlines and deadlines[0][0] <= now:
            until, approval_id = heapq.heappop(deadlines)
            if self._claims.get(approval_id) == until:
                del self._claims[approval_id]
        while (event := broker.next_event()) is not NO_EVENT:
            if isinstance(event, WaitFinished):
                waiter = self._waiters.pop(event.waiter, None)  # type: ignore[call-overload]
                if waiter is not None:
                    waiter.record = event.record
                    waiter.event.set()
                continue
            for stream in tuple(self._subscribers):
                try:
                    stream.send_nowait(event)
                except anyio.WouldBlock:
                    pass  # drop-if-slow, as OpenClaw; the approver catches up with list_pending
                except (anyio.BrokenResourceError, anyio.ClosedResourceError):
                    self._subscribers.remove(stream)
        return now

    # ------------------------------------------------------------------ ApprovalStore

    async def register(
        self,
        request: ApprovalRequest,
        *,
        requester: Principal | None = None,
        has_route: bool | None = None,
    ) -> ApprovalResult:
        """See :meth:`ApprovalStore.register`; with ``has_route=None`` a route is a subscriber."""
        self._check_open()
        now = self._clock()
        route = bool(self._subscribers) if has_route is None else has_route
        result = self._broker.register(request, now_ms=now, requester=requester, has_route=route)
        self._pump(now)
        return result

    async def resolve(
        self,
        approval_id: str,
        decision: Decision,
        *,
        approver: Principal | None,
        grant_expires_in_days: int | None = None,
    ) -> ApprovalResult:
        """See :meth:`ApprovalStore.resolve`."""
        self._check_open()
        now = self._clock()
        result = self._broker.resolve(
            approval_id,
            decision,
            approver=approver,
            now_ms=now,
            grant_expires_in_days=grant_expires_in_days,
        )
        self._pump(now)
        return result

    async def wait_decision(
        self,
        approval_id: str,
        *,
        timeout: float | None = None,  # noqa: ASYNC109 (part of the ApprovalStore contract)
    ) -> ApprovalRecord | None:
        """See :meth:`ApprovalStore.wait_decision`."""
        self._check_open()
        now = self._clock()
        key = next(self._keys)
        result = self._broker.wait(approval_id, waiter=key, now_ms=now)
        self._pump(now)  # a lazy expiry inside wait() may have released other waiters
        if result.outcome is ApprovalOutcome.NOT_FOUND:
            return None
        if result.outcome is not ApprovalOutcome.WAITING:
            return result.record
        assert result.record is not None
        expires_at = result.record.request.expires_at_ms
        waiter = _Waiter()
        self._waiters[key] = waiter
        give_up = None if timeout is None else anyio.current_time() + max(timeout, 0.0)
        try:
            while not waiter.event.is_set():
                delay = max((expires_at - self._clock()) / 1000, 0.001)
                if give_up is not None:
                    delay = min(delay, give_up - anyio.current_time())
                    if delay <= 0:
                        break
                with anyio.move_on_after(delay):
                    await waiter.event.wait()
                if not waiter.event.is_set():
                    self._pump()  # the expiry (or a grace window) may be due now
        finally:
            if not waiter.event.is_set():
                self._broker.abandon(key)
                self._waiters.pop(key, None)
        if waiter.event.is_set():
            return waiter.record
        return self._broker.get(approval_id, now_ms=self._pump())

    async def consume(self, approval_id: str, binding: ExecBinding | None) -> ApprovalResult:
        """See :meth:`ApprovalStore.consume`."""
        self._check_open()
        now = self._clock()
        result = self._broker.consume(approval_id, binding, now_ms=now)
        self._pump(now)
        return result

    async def claim(self, approval_id: str, *, keep_until_ms: int) -> bool:
        """See :meth:`ApprovalStore.claim`: kept in this process only, as everything here."""
        self._check_open()
        key: object = approval_id  # callers are not always typed
        if not isinstance(key, str) or not key:
            raise LocalProtocolError("claim() needs a non-empty approval id")
        if type(keep_until_ms) is not int:
            raise LocalProtocolError(f"keep_until_ms must be an int, got {keep_until_ms!r}")
        now = self._pump()
        if approval_id in self._claims:
            return False
        until = max(keep_until_ms, now + 1)
        self._claims[approval_id] = until
        heapq.heappush(self._claim_deadlines, (until, approval_id))
        return True

    async def cancel(self, approval_id: str) -> ApprovalResult:
        """See :meth:`ApprovalStore.cancel`."""
        self._check_open()
        now = self._clock()
        result = self._broker.cancel(approval_id, now_ms=now)
        self._pump(now)
        return result

    async def get(self, approval_id: str) -> ApprovalRecord | None:
        """See :meth:`ApprovalStore.get`."""
        self._check_open()
        now = self._clock()
        record = self._broker.get(approval_id, now_ms=now)
        self._pump(now)
        return record

    async def list_pending(self) -> Sequence[ApprovalRecord]:
        """See :meth:`ApprovalStore.list_pending`."""
        self._check_open()
        now = self._clock()
        records = self._broker.pending(now_ms=now)
        self._pump(now)
        return records

    @contextlib.asynccontextmanager
    async def subscribe(self) -> AsyncIterator[MemoryObjectReceiveStream[ApprovalEvent]]:
        """See :meth:`ApprovalStore.subscribe`: a memory-stream approver channel."""
        self._check_open()
        send, receive = anyio.create_memory_object_stream[ApprovalEvent](self._buffer)
        self._subscribers.append(send)
        try:
            async with receive:
                yield receive
        finally:
            if send in self._subscribers:
                self._subscribers.remove(send)
            send.close()

    async def aclose(self) -> None:
        """Close: parked waiters wake up with the record as it is; channels end."""
        if self._closed:
            return
        self._closed = True
        for key, waiter in list(self._waiters.items()):
            self._broker.abandon(key)
            waiter.event.set()
        self._waiters.clear()
        for stream in self._subscribers:
            stream.close()
        self._subscribers.clear()
        await anyio.lowlevel.checkpoint()
