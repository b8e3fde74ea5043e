"""
No approval is lost or stranded when an approver channel misses messages.

An approver that falls more than ``subscriber_buffer`` messages behind, or whose store's
subscription reconnects, catches up from the store: it is told about every approval still
pending that it was not told about, and about the settlement of every approval it was told
about, exactly once each, requested before settled. Real ``redis-server``, asyncio and trio.
"""

from __future__ import annotations

from collections import Counter

import anyio
import anyio.abc
import anyio.lowlevel
import pytest

from openclaw_exec.adapters.redis import RedisApprovalStore
from openclaw_exec.protocol import (
    ApprovalEvent,
    ApprovalOutcome,
    ApprovalRequest,
    ApprovalRequested,
    ApprovalResolved,
    Decision,
    Principal,
)
from openclaw_exec.testing.store_contract import make_request
from redis_store._admin import admin, kill_connections
from redis_store._redis_server import RedisServer

pytestmark = pytest.mark.anyio
ALICE = Principal(id="alice")


async def _drain(
    events: anyio.abc.ObjectReceiveStream[ApprovalEvent], quiet: float
) -> list[ApprovalEvent]:
    """Every event until none comes for *quiet* seconds."""
    out: list[ApprovalEvent] = []
    while True:
        with anyio.move_on_after(quiet) as scope:
            out.append(await events.receive())
        if scope.cancelled_caught:
            return out


def _check_order(seen: list[ApprovalEvent]) -> None:
    """Each id at most once requested and once settled, requested first."""
    kinds: dict[str, list[str]] = {}
    for event in seen:
        kinds.setdefault(event.record.id, []).append(type(event).__name__)
    for approval_id, names in kinds.items():
        assert names in (["ApprovalRequested"], ["ApprovalRequested", "ApprovalResolved"]), (
            approval_id,
            names,
        )


async def test_an_approver_that_falls_behind_catches_up_from_the_store(
    redis_server: RedisServer, prefix: str
) -> None:
    url = redis_server.url
    async with (
        RedisApprovalStore(url, prefix=prefix, subscriber_buffer=4) as approver_side,
        RedisApprovalStore(url, prefix=prefix) as requester_side,
        approver_side.subscribe() as events,
    ):
        requests = [make_request(requester_side) for _ in range(40)]
        for request in requests:  # 40 messages while the approver reads nothing: overflow
            await requester_side.register(request, has_route=True)
        await anyio.sleep(0.3)
        with anyio.fail_after(10):
            seen = await _drain(events, 0.3)
        assert Counter(e.record.id for e in seen) == Counter(r.id for r in requests)
        assert all(isinstance(e, ApprovalRequested) for e in seen)
        assert approver_side.stats["catch_ups"] >= 1  # the overflow really happened
        # Settle half of them while the approver is again not reading: it hears each settlement.
        for request in requests[:20]:
            await requester_side.resolve(request.id, Decision.DENY, approver=ALICE)
        await anyio.sleep(0.3)
        with anyio.fail_after(10):
            settled = await _drain(events, 0.3)
        assert Counter(e.record.id for e in settled) == Counter(r.id for r in requests[:20])
        assert all(isinstance(e, ApprovalResolved) for e in settled)
        assert approver_side.stats["catch_ups"] >= 2
        _check_order(seen + settled)


async def test_an_approver_catches_up_after_its_subscription_reconnects(
    redis_server: RedisServer, prefix: str
) -> None:
    url = redis_server.url
    async with (
        RedisApprovalStore(url, prefix=prefix) as approver_side,
        RedisApprovalStore(url, prefix=prefix) as requester_side,
        approver_side.subscribe() as events,
    ):
        before = approver_side.stats["connections"]
        requests = [make_request(requester_side) for _ in range(20)]

        async def register(request: ApprovalRequest) -> None:
            await requester_side.register(request, has_route=True)

        # Kill the approver side's connections, and register at once: messages published
        # before its subscription is back are gone from pub/sub and must come from the store.
        assert await kill_connections(url, approver_side.replica_id) >= 1
        async with anyio.create_task_group() as tg:
            for request in requests:
                tg.start_soon(register, request)
        with anyio.fail_after(10):
            seen = await _drain(events, 0.7)
        assert approver_side.stats["connections"] > before
        assert approver_side.stats["catch_ups"] >= 1  # it re-read the store after the gap
        assert Counter(e.record.id for e in seen) == Counter(r.id for r in requests)
        _check_order(seen)


async def test_slow_approvers_on_many_replicas_strand_nothing(
    redis_server: RedisServer, prefix: str
) -> None:
    """The shape that used to hang: many replicas, many in flight, approvers that lag."""
    url = redis_server.url
    replicas = 4
    in_flight = 48
    decided: list[Decision | None] = []
    async with anyio.create_task_group() as tg:
        stores = []
        for _ in range(replicas):
            store = RedisApprovalStore(url, prefix=prefix, subscriber_buffer=8)
            stores.append(await tg.start(_serve, store))

        async def one(i: int) -> None:
            requester = stores[i % replicas]
            request = make_request(requester, command=f"echo {i}", host=f"r{(i + 1) % replicas}")
            registered = await requester.register(request, has_route=True)
            assert registered.outcome is ApprovalOutcome.REGISTERED
            record = await requester.wait_decision(request.id)
            decided.append(None if record is None else record.decision)

        with anyio.fail_after(30):
            async with anyio.create_task_group() as load:
                for i in range(in_flight * 2):
                    load.start_soon(one, i)
        tg.cancel_scope.cancel()
    assert decided == [Decision.ALLOW_ONCE] * (in_flight * 2)
    assert sum(store.stats["catch_ups"] for store in stores) >= 1  # they did fall behind


async def _serve(
    store: RedisApprovalStore, *, task_status: anyio.abc.TaskStatus[RedisApprovalStore]
) -> None:
    """A replica whose approver answers (slowly) the requests addressed to its index."""
    async with store, store.subscribe() as events, anyio.create_task_group() as tg:
        task_status.started(store)
        mine: set[str] = set()
        async for event in events:
            if isinstance(event, ApprovalRequested) and event.record.id not in mine:
                mine.add(event.record.id)
                await anyio.sleep(0.002)  # a slow approver: its channel falls behind
                tg.start_soon(_approve, store, event.record.id)


async def _approve(store: RedisApprovalStore, approval_id: str) -> None:
    await store.resolve(approval_id, Decision.ALLOW_ONCE, approver=ALICE)


async def test_the_listener_yields_between_buffered_messages(
    redis_server: RedisServer, prefix: str
) -> None:
    """A burst of thousands of messages in one read never holds the event loop."""
    burst = 3000
    ticks = 0
    at_message: list[int] = []
    async with RedisApprovalStore(redis_server.url, prefix=prefix) as store:
        listener = store._listener  # observing the pump, not steering it
        on_reply = listener.on_reply

        all_seen = anyio.Event()

        def counting(reply: object) -> None:
            at_message.append(ticks)
            on_reply(reply)
            if len(at_message) >= burst:
                all_seen.set()

        listener.on_reply = counting  # type: ignore[method-assign]
        assert store._link.subscription is not None
        store._link.subscription._push = counting

        async def tick() -> None:
            nonlocal ticks
            while True:
                ticks += 1
                await anyio.lowlevel.checkpoint()

        async with anyio.create_task_group() as tg, admin(redis_server.url) as call:
            tg.start_soon(tick)
            script = "for i = 1, tonumber(ARGV[2]) do redis.call('PUBLISH', KEYS[1], ARGV[1]) end"
            # Well-formed header, unknown kind: every message is parsed and skipped. On the
            # replica's own channel: the one a store with no approver is subscribed to.
            channel = f"{{{prefix}}}:rep:{store.replica_id}"
            await call("EVAL", script, 1, channel, "noise\nx\n1\n1\n[]", burst)
            with anyio.fail_after(10):
                await all_seen.wait()
            tg.cancel_scope.cancel()
    assert at_message[-1] - at_message[0] >= burst // 2  # the ticker ran between messages


async def test_events_handed_on_directly_or_queued_keep_order_and_count(
    redis_server: RedisServer, prefix: str
) -> None:
    """
    An idle channel gets each message straight into the approver's stream; a busy or full
    one queues it for its feeder. Mixed (an approver that reads in bursts, with pauses that
    fill its stream), every approval is still told once requested, then once settled.
    """
    url = redis_server.url
    count = 150
    async with (
        RedisApprovalStore(url, prefix=prefix) as approver_side,
        RedisApprovalStore(url, prefix=prefix) as requester_side,
        approver_side.subscribe() as events,
    ):
        requests = [make_request(requester_side, command=f"echo {i}") for i in range(count)]

        async def one(i: int, request: ApprovalRequest) -> None:
            await anyio.sleep(0.002 * (i % 10))  # some alone (idle channel), some in bursts
            await requester_side.register(request, has_route=True)
            await requester_side.resolve(request.id, Decision.DENY, approver=ALICE)

        seen: list[ApprovalEvent] = []
        async with anyio.create_task_group() as tg:
            for i, request in enumerate(requests):
                tg.start_soon(one, i, request)
            with anyio.fail_after(10):
                while len(seen) < 2 * count:
                    seen.append(await events.receive())
                    if len(seen) % 40 == 0:
                        await anyio.sleep(0.05)  # the stream (64) fills: messages queue
        seen += await _drain(events, 0.3)
        assert Counter(e.record.id for e in seen) == Counter(
            r.id for r in requests for _ in range(2)
        )
        _check_order(seen)
        assert approver_side.stats["catch_ups"] == 0  # nothing missed: no store re-read
