"""
Each replica receives only the messages its own waiters and approvers need (issue #16).

Requests go to approver channels (every request, or one audience's), settlements also to the
channel of the replica that registered the approval and of any replica whose waiter watches
it. These tests prove the routing (nothing reaches a replica that has no use for it), that a
waiter anywhere still wakes at once, that an audience channel that overflows still catches
up with exactly its audience's approvals, and that the route count follows the audiences.
Real ``redis-server``, asyncio and trio.
"""

from __future__ import annotations

from collections import Counter

import anyio
import anyio.abc
import pytest

from openclaw_exec.adapters.redis import RedisApprovalStore
from openclaw_exec.exceptions import LocalProtocolError
from openclaw_exec.protocol import (
    ApprovalEvent,
    ApprovalOutcome,
    ApprovalRequest,
    ApprovalRequested,
    ApprovalResolved,
    Decision,
    Principal,
    TerminalReason,
)
from openclaw_exec.testing.store_contract import make_request
from redis_store._admin import kill_connections
from redis_store._redis_server import RedisServer

pytestmark = pytest.mark.anyio
ALICE = Principal(id="alice")


def _by_host(request: ApprovalRequest) -> str | None:
    return request.host


def _count_messages(store: RedisApprovalStore) -> Counter[str]:
    """Count the pub/sub messages *store* receives, by kind (observing, not steering)."""
    seen: Counter[str] = Counter()
    listener = store._listener
    on_reply = listener.on_reply

    def counting(reply: object) -> None:
        if isinstance(reply, list) and reply and reply[0] == "message":
            seen[str(reply[2]).split("\n", 1)[0]] += 1
        on_reply(reply)

    assert store._link.subscription is not None
    store._link.subscription._push = counting
    return seen


async def _drain(
    events: anyio.abc.ObjectReceiveStream[ApprovalEvent], quiet: float
) -> list[ApprovalEvent]:
    out: list[ApprovalEvent] = []
    while True:
        with anyio.move_on_after(quiet) as scope:
            out.append(await events.receive())
        if scope.cancelled_caught:
            return out


async def test_a_replica_hears_only_what_its_waiters_and_approvers_need(
    redis_server: RedisServer, prefix: str
) -> None:
    url = redis_server.url

    def store() -> RedisApprovalStore:
        return RedisApprovalStore(url, prefix=prefix, audience=_by_host, poll_interval=30)

    async with (
        store() as requester,
        store() as approver_a,
        store() as approver_b,
        store() as idle,
        store() as everything,
        approver_a.subscribe(audience="a") as events_a,
        approver_b.subscribe(audience="b") as events_b,
        everything.subscribe() as events_all,
    ):
        counts = {s: _count_messages(s) for s in (requester, approver_a, approver_b, idle)}
        requests = [
            make_request(requester, command=f"echo {i}", host="ab"[i % 2]) for i in range(6)
        ]
        for request in requests:
            registered = await requester.register(request)  # routed: an approver of its host
            assert registered.outcome is ApprovalOutcome.REGISTERED
        for request in requests:
            approver = approver_a if request.host == "a" else approver_b
            resolved = await approver.resolve(request.id, Decision.DENY, approver=ALICE)
            assert resolved.outcome is ApprovalOutcome.RESOLVED
        with anyio.fail_after(5):
            for request in requests:
                record = await requester.wait_decision(request.id)
                assert record is not None
                assert record.decision is Decision.DENY
            got = {
                "a": await _drain(events_a, 0.2),
                "b": await _drain(events_b, 0.2),
                "all": await _drain(events_all, 0.2),
            }
        for host in "ab":
            mine = [r.id for r in requests if r.host == host]
            assert [e.record.id for e in got[host] if isinstance(e, ApprovalRequested)] == mine
            assert [e.record.id for e in got[host] if isinstance(e, ApprovalResolved)] == mine
        assert Counter(e.record.id for e in got["all"]) == Counter(
            r.id for r in requests for _ in range(2)
        )
        assert counts[idle] == Counter()  # no waiter, no approver: nothing at all
        assert counts[requester] == Counter(resolved=6)  # its own approvals' settlements only
        assert counts[approver_a] == Counter(requested=3, resolved=3)
        assert counts[approver_b] == Counter(requested=3, resolved=3)


async def test_a_waiter_on_another_replica_wakes_with_the_decision(
    redis_server: RedisServer, prefix: str
) -> None:
    url = redis_server.url
    async with (
        RedisApprovalStore(url, prefix=prefix, poll_interval=30) as requester,
        RedisApprovalStore(url, prefix=prefix, poll_interval=30) as elsewhere,
    ):
        request = make_request(requester)
        await requester.register(request, has_route=True)
        decided: list[Decision | None] = []

        async def wait(store: RedisApprovalStore) -> None:
            record = await store.wait_decision(request.id)
            decided.append(None if record is None else record.decision)

        with anyio.fail_after(3):  # far below poll_interval: woken by the message
            async with anyio.create_task_group() as tg:
                tg.start_soon(wait, elsewhere)
                tg.start_soon(wait, requester)
                await anyio.sleep(0.2)  # both parked
                await elsewhere.resolve(request.id, Decision.ALLOW_ONCE, approver=ALICE)
        assert decided == [Decision.ALLOW_ONCE, Decision.ALLOW_ONCE]


async def test_a_waiter_whose_subscription_reconnected_reads_the_store(
    redis_server: RedisServer, prefix: str
) -> None:
    """The skipped first read is never trusted across a reconnect (messages may be gone)."""
    url = redis_server.url
    async with (
        RedisApprovalStore(url, prefix=prefix, poll_interval=30) as requester,
        RedisApprovalStore(url, prefix=prefix) as approver,
    ):
        request = make_request(requester)
        await requester.register(request, has_route=True)
        before = requester.stats["connections"]
        assert await kill_connections(url, requester.replica_id) >= 1
        await approver.resolve(request.id, Decision.DENY, approver=ALICE)  # published meanwhile
        with anyio.fail_after(5):
            while requester.stats["connections"] == before:  # noqa: ASYNC110 (a counter)
                await anyio.sleep(0.01)
            record = await requester.wait_decision(request.id)
        assert record is not None
        assert record.decision is Decision.DENY


async def test_an_audience_channel_that_overflows_catches_up_with_its_own_approvals(
    redis_server: RedisServer, prefix: str
) -> None:
    url = redis_server.url
    async with (
        RedisApprovalStore(
            url, prefix=prefix, audience=_by_host, subscriber_buffer=4
        ) as approver_side,
        RedisApprovalStore(url, prefix=prefix, audience=_by_host) as requester_side,
        approver_side.subscribe(audience="a") as events,
    ):
        ours = [make_request(requester_side, host="a") for _ in range(30)]
        others = [make_request(requester_side, host="b") for _ in range(10)]
        for request in [*ours, *others]:  # the approver reads nothing meanwhile: overflow
            await requester_side.register(request, has_route=True)
        await anyio.sleep(0.3)
        with anyio.fail_after(10):
            seen = await _drain(events, 0.3)
        assert approver_side.stats["catch_ups"] >= 1  # the overflow really happened
        assert Counter(e.record.id for e in seen) == Counter(r.id for r in ours)
        assert all(isinstance(e, ApprovalRequested) for e in seen)
        for request in ours[:15]:
            await requester_side.cancel(request.id)
        for request in others:
            await requester_side.cancel(request.id)
        await anyio.sleep(0.3)
        with anyio.fail_after(10):
            settled = await _drain(events, 0.3)
        assert approver_side.stats["catch_ups"] >= 2
        assert Counter(e.record.id for e in settled) == Counter(r.id for r in ours[:15])


async def test_routes_follow_the_audiences(redis_server: RedisServer, prefix: str) -> None:
    url = redis_server.url
    async with (
        RedisApprovalStore(url, prefix=prefix, audience=_by_host) as store,
        RedisApprovalStore(url, prefix=prefix, audience=_by_host) as other,
    ):
        async with store.subscribe(audience="a"):
            routed = await other.register(make_request(other, host="a"))
            unrouted = await other.register(make_request(other, host="b"))
            nobody = await other.register(make_request(other))  # no audience: needs everyone's
        assert routed.outcome is ApprovalOutcome.REGISTERED
        for failed in (unrouted, nobody):
            assert failed.outcome is ApprovalOutcome.EXPIRED
            assert failed.record is not None
            assert failed.record.reason is TerminalReason.NO_ROUTE
        async with other.subscribe():  # every request: a route for any audience
            assert (await store.register(make_request(store, host="b"))).ok
        gone = await store.register(make_request(store, host="a"))  # the contexts are closed
        assert gone.outcome is ApprovalOutcome.EXPIRED


@pytest.mark.parametrize("audience", ["", "a\nb", "\0waiters"])
async def test_a_bad_audience_is_refused(
    redis_server: RedisServer, prefix: str, audience: str
) -> None:
    async with RedisApprovalStore(
        redis_server.url, prefix=prefix, audience=lambda _: audience
    ) as store:
        with pytest.raises(LocalProtocolError):
            async with store.subscribe(audience=audience):
                pass
        with pytest.raises(LocalProtocolError):
            await store.register(make_request(store), has_route=True)
