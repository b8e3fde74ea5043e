"""
One subscription per store, shared by every waiter and every approver channel of the process.

The listener holds the only pub/sub connection of a :class:`RedisApprovalStore`: it is
subscribed to the events channel always, and to the approvers channel (the route count) while
at least one local :meth:`~RedisApprovalStore.subscribe` context is open. Each message is split
once (header only) and handed on:

* **waiters** of that id get the settled record with their wake-up (no re-read needed);
* each **subscriber** gets the message in its own bounded queue, which its feeder task turns
  into events for the approver. A subscriber that falls behind (its queue overflows) or a
  listener that reconnects (messages published in between are gone) marks the subscriber as
  having a *gap*; its feeder then **catches up from the store**: one atomic script call
  returns every pending approval, the current state of every approval it announced as
  requested and not yet settled, and the event counter at that moment. The feeder announces
  what the approver has not seen (``ApprovalRequested`` for pending approvals it never
  announced, the settling event for those that settled meanwhile), then skips every queued
  message the snapshot already reflects (event number not above the counter). Nothing is lost,
  nothing announced twice, and per id the order stays requested-before-settled.
* After a reconnect every waiter is woken to re-read its approval from the store.
"""

from __future__ import annotations

import contextlib
from collections import OrderedDict, deque
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import anyio
import anyio.abc

from openclaw_exec.adapters.redis._codec import Message, event_for_record, parse_message, record
from openclaw_exec.adapters.redis._resp import ConnectionLost, RedisConnection
from openclaw_exec.exceptions import LocalProtocolError, TransportError
from openclaw_exec.protocol import ApprovalRecord, ApprovalState

if TYPE_CHECKING:
    from anyio.streams.memory import MemoryObjectSendStream

    from openclaw_exec.protocol import ApprovalEvent

__all__ = ["Listener", "Subscriber", "Waiter"]

_SEEN_LIMIT = 8192  # requested messages remembered for one-step resolves


class Waiter:
    """A parked ``wait_decision``: woken with the settling message of its id, if one came."""

    __slots__ = ("event", "message")

    def __init__(self) -> None:
        self.event = anyio.Event()
        self.message: Message | None = None


class Subscriber:
    """One approver channel: a bounded queue of raw messages, and a flag for missed ones."""

    __slots__ = ("gap", "limit", "queue", "wake")

    def __init__(self, limit: int) -> None:
        self.queue: deque[Message] = deque()
        self.limit = max(limit, 1)
        self.gap = False
        self.wake = anyio.Event()

    def offer(self, message: Message) -> None:
        if self.gap:
            return  # a catch-up is due anyway: it reads the store
        if len(self.queue) >= self.limit:
            self.gap = True  # too slow: drop the backlog, catch up from the store instead
            self.queue.clear()
        else:
            self.queue.append(message)
        self.wake.set()

    def missed(self) -> None:
        self.gap = True
        self.queue.clear()
        self.wake.set()


CatchUp = Callable[[list[str]], Awaitable[tuple[int, list[Any], list[Any]]]]


class Listener:
    """The store's pub/sub connection and what it feeds (see the module docs)."""

    def __init__(self, events_channel: str, routes_channel: str) -> None:
        self.events_channel = events_channel
        self.routes_channel = routes_channel
        self.waiters: dict[str, set[Waiter]] = {}
        self.subscribers: set[Subscriber] = set()
        self.seen: OrderedDict[str, Message] = OrderedDict()
        self.connection: RedisConnection | None = None
        self.subscribed = anyio.Event()
        self.route_ready = anyio.Event()
        self.routes_wanted = 0
        self.reconnects = 0
        self.catch_ups = 0

    # ---------------------------------------------------------------- messages

    def on_reply(self, reply: Any) -> None:
        """Called by the connection's reader for every pushed reply, in order."""
        if not isinstance(reply, list) or len(reply) < 3:
            return
        kind = reply[0]
        if kind == "message":
            message = parse_message(reply[2])
            if message is not None:
                self.dispatch(message)
        elif kind == "subscribe" and reply[1] == self.routes_channel:
            self.route_ready.set()
        elif kind == "subscribe" and reply[1] == self.events_channel:
            self.subscribed.set()

    def dispatch(self, message: Message) -> None:
        if message.kind == "requested":
            seen = self.seen
            seen[message.id] = message
            if len(seen) > _SEEN_LIMIT:
                seen.popitem(last=False)
        else:
            self.seen.pop(message.id, None)
            for waiter in self.waiters.get(message.id, ()):
                waiter.message = message
                waiter.event.set()
        for subscriber in self.subscribers:
            subscriber.offer(message)

    def wake_waiters(self) -> None:
        """Every waiter re-reads its approval (or sees that the store closed)."""
        for waiters in self.waiters.values():
            for waiter in waiters:
                waiter.event.set()

    def wake_all(self) -> None:
        """Every waiter re-reads its approval; every subscriber catches up."""
        self.wake_waiters()
        for subscriber in self.subscribers:
            subscriber.missed()

    # ---------------------------------------------------------------- the connection

    async def attach(self, connection: RedisConnection) -> None:
        """Subscribe a new connection (after a reconnect: events in between are gone)."""
        self.connection = connection
        self.subscribed = anyio.Event()
        self.route_ready = anyio.Event()
        channels = [self.events_channel]
        if self.routes_wanted:
            channels.append(self.routes_channel)
        await connection.send("SUBSCRIBE", *channels)

    def connected(self) -> None:
        """The events channel is confirmed: wake everyone who may have missed something."""
        self.reconnects += 1
        self.seen.clear()
        self.wake_all()

    async def want_route(self) -> None:
        """Count one more local approver channel (subscribe to the routes channel if first)."""
        self.routes_wanted += 1
        if self.routes_wanted == 1 and self.connection is not None:
            self.route_ready = anyio.Event()
            with contextlib.suppress(ConnectionLost):  # else the reconnect subscribes it
                await self.connection.send("SUBSCRIBE", self.routes_channel)

    async def wait_route(self, seconds: float) -> bool:
        """Wait until Redis confirmed the routes channel (across reconnects); False on timeout."""
        give_up = anyio.current_time() + seconds
        while not self.route_ready.is_set():
            left = give_up - anyio.current_time()
            if left <= 0:
                return False
            with anyio.move_on_after(min(left, 0.05)):
                await self.route_ready.wait()  # replaced by a reconnect: look again shortly
        return True

    async def drop_route(self) -> None:
        self.routes_wanted -= 1
        if self.routes_wanted == 0 and self.connection is not None:
            self.route_ready = anyio.Event()
            with contextlib.suppress(ConnectionLost):  # a new connection does not subscribe it
                await self.connection.send("UNSUBSCRIBE", self.routes_channel)

    # ---------------------------------------------------------------- approver channels

    async def feed(
        self,
        subscriber: Subscriber,
        send: MemoryObjectSendStream[ApprovalEvent],
        catch_up: CatchUp,
        after: int,
    ) -> None:
        """
        Turn *subscriber*'s messages into events on *send*, catching up after every gap.

        *after* is the event number the approver starts from (read when it subscribed).
        *catch_up* is the store's ``catchup`` call: ``(evseq, pending rows, rows of the given
        ids)``. Runs until the receiving side is closed.
        """
        announced: set[str] = set()  # requested and not yet settled, as this approver knows
        with send:
            try:
                while True:
                    if subscriber.gap:
                        after = await self._catch_up(subscriber, send, catch_up, announced, after)
                        continue
                    queue = subscriber.queue
                    while queue and not subscriber.gap:
                        message = queue.popleft()
                        if message.evseq <= after:
                            continue  # the snapshot already reflected it
                        event = message.event()
                        if event is None:
                            continue  # unreadable: skipped, and it moves no counter
                        after = message.evseq
                        if message.kind == "requested":
                            announced.add(message.id)
                        else:
                            announced.discard(message.id)
                        await send.send(event)
                    if not queue and not subscriber.gap:
                        subscriber.wake = anyio.Event()
                        await subscriber.wake.wait()
            except (anyio.BrokenResourceError, anyio.ClosedResourceError, LocalProtocolError):
                return  # the approver left, or the store closed under a catch-up

    async def _catch_up(
        self,
        subscriber: Subscriber,
        send: MemoryObjectSendStream[ApprovalEvent],
        catch_up: CatchUp,
        announced: set[str],
        after: int,
    ) -> int:
        subscriber.gap = False  # messages from now on are queued again
        tracked = sorted(announced)
        try:
            evseq, pending, rows = await catch_up(tracked)
        except TransportError:
            subscriber.gap = True  # Redis is away: try again shortly
            await anyio.sleep(0.1)
            return after
        self.catch_ups += 1
        catching: list[ApprovalEvent] = []
        for approval_id, row in zip(tracked, rows, strict=True):
            rec = _readable(row)
            if rec is None or rec.state is not ApprovalState.PENDING:
                announced.discard(approval_id)
                if rec is not None:
                    catching.append(event_for_record(rec))
        for row in pending:
            rec = _readable(row)
            if rec is not None and rec.id not in announced:
                announced.add(rec.id)
                catching.append(event_for_record(rec))
        for event in catching:
            await send.send(event)
        return max(after, evseq)


def _readable(row: list[Any]) -> ApprovalRecord | None:
    """The record of a script result row; ``None`` if absent or unreadable (skipped)."""
    try:
        return record(row[3:])
    except TransportError:
        return None
