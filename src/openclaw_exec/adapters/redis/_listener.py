"""
One subscription per store, shared by every waiter and every approver channel of the process.

The listener holds the only pub/sub connection of a :class:`RedisApprovalStore`: it is
subscribed to its replica's channel always (the settlements its waiters need), and to an
approver channel (every request, or one audience's; its subscriber count is the route count)
while at least one local :meth:`~RedisApprovalStore.subscribe` context of it is open. So a
replica receives only what its own waiters and approvers need, never the traffic of the
others. Each message is split once (header only) and handed on:

* **waiters** of that id get the settled record with their wake-up (no re-read needed); an id
  this replica registered is *expected* from before its register call, so its waiter needs
  no first read when nothing can have been missed (see :meth:`Listener.expect`);
* each **subscriber** of the channel the message came on gets it in its own bounded queue,
  which its feeder task turns
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
_EXPECTED_LIMIT = 8192  # registrations whose waiter may skip its first read


class Expected:
    """
    An approval this replica is registering: its settling message, if one came since.

    *generation* is the listener's subscription count when the register call was sent: a
    waiter may trust "nothing came" only if the subscription never changed in between.
    """

    __slots__ = ("generation", "message", "record")

    def __init__(self, generation: int) -> None:
        self.generation = generation
        self.message: Message | None = None
        self.record: ApprovalRecord | None = None


class Waiter:
    """A parked ``wait_decision``: woken with the settling message of its id, if one came."""

    __slots__ = ("event", "message")

    def __init__(self) -> None:
        self.event = anyio.Event()
        self.message: Message | None = None


class Subscriber:
    """
    One approver channel: a bounded queue of raw messages, and a flag for missed ones.

    Its feeder task (:meth:`Listener.feed`) turns messages into events. While the feeder is
    parked with nothing queued and no gap, a message is handed to the approver's stream
    directly (if it has room): one task switch less per event, the same order, the same
    bookkeeping (*after*, *announced*), which the feeder and this path share.
    """

    __slots__ = (
        "after",
        "announced",
        "audience",
        "gap",
        "limit",
        "parked",
        "queue",
        "send",
        "wake",
    )

    def __init__(self, limit: int, audience: str | None = None) -> None:
        self.audience = audience  # None: every request
        self.queue: deque[Message] = deque()
        self.limit = max(limit, 1)
        self.gap = False
        self.wake = anyio.Event()
        self.parked = False  # the feeder waits on wake with nothing queued
        self.send: MemoryObjectSendStream[ApprovalEvent] | None = None
        self.after = 0  # the last event number the approver was told (or a snapshot reflected)
        self.announced: set[str] = set()  # requested and not yet settled, as the approver knows

    def deliver(self, message: Message) -> None:
        """Tell the approver *message* (in order, after everything before it); see feed."""
        if message.evseq <= self.after:
            return  # the snapshot already reflected it
        event = message.event()
        if event is None:
            return  # unreadable: skipped, and it moves no counter
        self.after = message.evseq
        if message.kind == "requested":
            self.announced.add(message.id)
        else:
            self.announced.discard(message.id)

    def offer(self, message: Message) -> None:
        if self.gap:
            return  # a catch-up is due anyway: it reads the store
        send = self.send
        if self.parked and not self.queue and send is not None:
            event = None if message.evseq <= self.after else message.event()
            if event is None:
                self.deliver(message)  # nothing to send: only the bookkeeping (none)
                return
            try:
                send.send_nowait(event)
            except anyio.WouldBlock:
                pass  # the approver's stream is full: the feeder sends it when there is room
            except (anyio.BrokenResourceError, anyio.ClosedResourceError):
                pass  # the approver left: the feeder finds out and ends
            else:
                self.deliver(message)
                return
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


_WAITERS_ONLY = "\0waiters"  # the replica channel's key in Listener.channels (no subscriber)


class Listener:
    """The store's pub/sub connection and what it feeds (see the module docs)."""

    def __init__(self, replica_channel: str, events_channel: str, audience_prefix: str) -> None:
        self.replica_channel = replica_channel
        self.events_channel = events_channel
        self.audience_prefix = audience_prefix
        self.waiters: dict[str, set[Waiter]] = {}
        self.subscribers: set[Subscriber] = set()
        self.seen: OrderedDict[str, Message] = OrderedDict()
        self.expected: OrderedDict[str, Expected] = OrderedDict()
        self.connection: RedisConnection | None = None
        self.subscribed = anyio.Event()
        # Approver channels wanted (local subscribe() contexts per channel) and confirmed.
        self.wanted: dict[str, int] = {}
        self.ready: dict[str, anyio.Event] = {}
        # channel -> whose it is: None (every request), an audience, or _WAITERS_ONLY.
        self.channels: dict[str, str | None] = {replica_channel: _WAITERS_ONLY}
        self._last: tuple[object, Message | None] = (None, None)
        self.reconnects = 0
        self.catch_ups = 0

    def channel_of(self, audience: str | None) -> str:
        """The approver channel of *audience* (``None``: every request)."""
        return self.events_channel if audience is None else self.audience_prefix + audience

    # ---------------------------------------------------------------- messages

    def on_reply(self, reply: Any) -> None:
        """Called by the connection's reader for every pushed reply, in order."""
        if not isinstance(reply, list) or len(reply) < 3:
            return
        kind = reply[0]
        if kind == "message":
            channel = reply[1]
            if channel not in self.channels:
                return  # a channel we just left
            payload = reply[2]
            # One change published on several of our channels arrives back to back: split once.
            last_payload, message = self._last
            if payload != last_payload:
                message = parse_message(payload)
                self._last = (payload, message)
            if message is not None:
                self.dispatch(message, self.channels[channel])
        elif kind == "subscribe":
            if reply[1] == self.replica_channel:
                self.subscribed.set()
            else:
                ready = self.ready.get(reply[1])
                if ready is not None:
                    ready.set()

    def dispatch(self, message: Message, audience: str | None = None) -> None:
        """Hand *message* to waiters, and to the subscribers of *audience* (see on_reply)."""
        if message.kind == "requested":
            seen = self.seen
            seen[message.id] = message
            if len(seen) > _SEEN_LIMIT:
                seen.popitem(last=False)
        else:
            self.seen.pop(message.id, None)
            expected = self.expected.get(message.id)
            if expected is not None:
                expected.message = message
            for waiter in self.waiters.get(message.id, ()):
                waiter.message = message
                waiter.event.set()
        if audience is _WAITERS_ONLY:
            return
        for subscriber in self.subscribers:
            if subscriber.audience == audience:
                subscriber.offer(message)

    def expect(self, approval_id: str) -> Expected:
        """
        Remember that this replica is about to register *approval_id* (before the call).

        Its settlement is published on this replica's channel; from now on it is kept here, so
        the waiter can start from the register reply instead of reading the state again.
        """
        expected = Expected(self.reconnects)
        self.expected[approval_id] = expected
        self.expected.move_to_end(approval_id)
        if len(self.expected) > _EXPECTED_LIMIT:
            self.expected.popitem(last=False)
        return expected

    def take_expected(self, approval_id: str) -> ApprovalRecord | None:
        """
        The state the waiter of *approval_id* may start from without reading, or ``None``.

        Only for an id this replica registered (reply in hand) while its subscription stayed
        the same: every settlement since then was published on this replica's channel and
        has been received (in order) or is still to come, when it wakes the waiter.
        """
        expected = self.expected.pop(approval_id, None)
        if (
            expected is None
            or expected.message is not None  # settled already: read (it may be forgotten)
            or expected.generation != self.reconnects
            or not self.subscribed.is_set()
        ):
            return None
        return expected.record

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
        channels = [self.replica_channel]
        for channel in self.wanted:
            self.ready[channel] = anyio.Event()
            channels.append(channel)
        self._last = (None, None)
        await connection.send("SUBSCRIBE", *channels)

    def connected(self) -> None:
        """The replica channel is confirmed: wake everyone who may have missed something."""
        self.reconnects += 1
        self.seen.clear()
        self.wake_all()

    async def want_route(self, audience: str | None = None) -> None:
        """Count one more local approver of *audience* (subscribe to its channel if first)."""
        channel = self.channel_of(audience)
        count = self.wanted.get(channel, 0) + 1
        self.wanted[channel] = count
        if count == 1:
            self.channels[channel] = audience
            self.ready[channel] = anyio.Event()
            if self.connection is not None:
                with contextlib.suppress(ConnectionLost):  # else the reconnect subscribes it
                    await self.connection.send("SUBSCRIBE", channel)

    async def wait_route(self, seconds: float, audience: str | None = None) -> bool:
        """Wait until Redis confirmed *audience*'s channel (across reconnects); False on timeout."""
        channel = self.channel_of(audience)
        give_up = anyio.current_time() + seconds
        while not (ready := self.ready.get(channel)) or not ready.is_set():
            left = give_up - anyio.current_time()
            if left <= 0:
                return False
            with anyio.move_on_after(min(left, 0.05)):
                if ready is not None:
                    await ready.wait()  # replaced by a reconnect: look again shortly
                else:
                    await anyio.sleep(left)
        return True

    async def drop_route(self, audience: str | None = None) -> None:
        channel = self.channel_of(audience)
        count = self.wanted[channel] - 1
        if count:
            self.wanted[channel] = count
            return
        del self.wanted[channel]
        self.ready.pop(channel, None)
        self.channels.pop(channel, None)
        if self.connection is not None:
            with contextlib.suppress(ConnectionLost):  # a new connection does not subscribe it
                await self.connection.send("UNSUBSCRIBE", channel)

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
        subscriber.after = after
        subscriber.send = send
        with send:
            try:
                while True:
                    if subscriber.gap:
                        subscriber.after = await self._catch_up(
                            subscriber, send, catch_up, subscriber.announced, subscriber.after
                        )
                        continue
                    queue = subscriber.queue
                    while queue and not subscriber.gap:
                        message = queue.popleft()
                        event = None if message.evseq <= subscriber.after else message.event()
                        subscriber.deliver(message)
                        if event is not None:
                            await send.send(event)
                    if not queue and not subscriber.gap:
                        subscriber.wake = anyio.Event()
                        subscriber.parked = True
                        try:
                            await subscriber.wake.wait()
                        finally:
                            subscriber.parked = False
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
