"""The Redis approval store: the shared contract suite, cross-replica behaviour, misuse."""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager

import anyio
import pytest

from openclaw_exec.abc import ApprovalStore
from openclaw_exec.adapters.redis import RedisApprovalStore
from openclaw_exec.exceptions import LocalProtocolError, TransportError
from openclaw_exec.protocol import (
    ApprovalExpired,
    ApprovalOutcome,
    ApprovalRequested,
    ApprovalResolved,
    ApprovalState,
    Decision,
    Principal,
    ScopedApprovers,
    TerminalReason,
)
from openclaw_exec.testing.store_contract import ApprovalStoreContract, make_request
from redis_store._admin import admin
from redis_store._redis_server import RedisServer, free_port

ALICE = Principal(id="alice", display_name="Alice", scopes=frozenset({"operator.approvals"}))


class TestRedisStoreContract(ApprovalStoreContract):
    """Every guarantee of ``ApprovalStore``, checked on one replica."""

    @pytest.fixture(autouse=True)
    def _server(self, redis_server: RedisServer, prefix: str) -> None:
        self.url = redis_server.url
        self.prefix = prefix

    def make_store(self, *, grace_ms: int) -> AbstractAsyncContextManager[ApprovalStore]:
        return RedisApprovalStore(self.url, prefix=self.prefix, grace_ms=grace_ms)


pytestmark = pytest.mark.anyio


async def test_approval_registered_on_one_replica_is_resolved_through_another(
    redis_server: RedisServer, prefix: str
) -> None:
    async with (
        RedisApprovalStore(redis_server.url, prefix=prefix) as a,
        RedisApprovalStore(redis_server.url, prefix=prefix) as b,
    ):
        request = make_request(a)
        assert (await a.register(request, has_route=True)).outcome is ApprovalOutcome.REGISTERED
        assert [r.id for r in await b.list_pending()] == [request.id]
        got: list[Decision | None] = []

        async def wait_on_a() -> None:
            record = await a.wait_decision(request.id)
            got.append(None if record is None else record.decision)

        with anyio.fail_after(5):
            async with anyio.create_task_group() as tg:
                tg.start_soon(wait_on_a)
                await anyio.sleep(0.05)
                resolved = await b.resolve(request.id[:8].upper(), Decision.DENY, approver=ALICE)
                assert resolved.outcome is ApprovalOutcome.RESOLVED
        assert got == [Decision.DENY]
        again = await a.resolve(request.id, Decision.ALLOW_ONCE, approver=ALICE)
        assert again.reason == "APPROVAL_ALREADY_RESOLVED"


async def test_subscriber_on_one_replica_is_a_route_for_all(
    redis_server: RedisServer, prefix: str
) -> None:
    async with (
        RedisApprovalStore(redis_server.url, prefix=prefix) as a,
        RedisApprovalStore(redis_server.url, prefix=prefix) as b,
    ):
        lonely = make_request(a)
        assert (await a.register(lonely)).outcome is ApprovalOutcome.EXPIRED
        async with b.subscribe() as events:
            request = make_request(a)
            assert (await a.register(request)).outcome is ApprovalOutcome.REGISTERED
            await a.resolve(request.id, Decision.ALLOW_ALWAYS, approver=ALICE)
            with anyio.fail_after(5):
                seen = [await anext(events), await anext(events)]
        assert [type(e) for e in seen] == [ApprovalRequested, ApprovalResolved]
        assert seen[1].record.decision is Decision.ALLOW_ALWAYS
        after = make_request(a)
        assert (await a.register(after)).outcome is ApprovalOutcome.EXPIRED


async def test_allow_once_consumed_once_across_replicas(
    redis_server: RedisServer, prefix: str
) -> None:
    async with (
        RedisApprovalStore(redis_server.url, prefix=prefix) as a,
        RedisApprovalStore(redis_server.url, prefix=prefix) as b,
    ):
        request = make_request(a)
        await a.register(request, has_route=True)
        await b.resolve(request.id, Decision.ALLOW_ONCE, approver=ALICE)
        outcomes: list[ApprovalOutcome] = []

        async def consume(store: RedisApprovalStore) -> None:
            outcomes.append((await store.consume(request.id, request.binding)).outcome)

        async with anyio.create_task_group() as tg:
            for i in range(10):
                tg.start_soon(consume, (a, b)[i % 2])
        assert outcomes.count(ApprovalOutcome.CONSUMED) == 1
        assert outcomes.count(ApprovalOutcome.NOT_CONSUMABLE) == 9


async def test_approver_policy_is_applied(redis_server: RedisServer, prefix: str) -> None:
    policy = ScopedApprovers()
    async with RedisApprovalStore(redis_server.url, prefix=prefix, approver_policy=policy) as s:
        request = make_request(s)
        await s.register(request, has_route=True)
        refused = await s.resolve(request.id, Decision.ALLOW_ONCE, approver=Principal(id="eve"))
        assert refused.outcome is ApprovalOutcome.APPROVER_REFUSED
        assert refused.reason == "APPROVER_NOT_ALLOWED"
        record = await s.get(request.id)
        assert record is not None
        assert record.state is ApprovalState.PENDING
        ok = await s.resolve(request.id, "allow-once", approver=ALICE)
        assert ok.outcome is ApprovalOutcome.RESOLVED


async def test_bad_input_is_a_clear_error(redis_server: RedisServer, prefix: str) -> None:
    async with RedisApprovalStore(redis_server.url, prefix=prefix) as s:
        with pytest.raises(LocalProtocolError, match="invalid decision"):
            await s.resolve("x", "maybe", approver=ALICE)
        with pytest.raises(LocalProtocolError, match="id is required"):
            await s.resolve("  ", Decision.DENY, approver=ALICE)
        with pytest.raises(LocalProtocolError, match="id is required"):
            await s.wait_decision("")
        with pytest.raises(LocalProtocolError, match="ApprovalRequest"):
            await s.register("not a request")  # type: ignore[arg-type]
        # a key with control characters never prefix-matches anything
        await s.register(make_request(s, approval_id="abc-1"), has_route=True)
        found = await s.resolve("abc\x00", Decision.DENY, approver=ALICE)
        assert found.reason == "APPROVAL_NOT_FOUND"
    with pytest.raises(LocalProtocolError, match="closed"):
        await s.get("abc-1")


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"grace_ms": -1}, "grace_ms"),
        ({"prefix": "a{b}"}, "prefix"),
        ({"prefix": ""}, "prefix"),
        ({"retry_window": 0}, "retry_window"),
        ({"poll_interval": float("nan")}, "poll_interval"),
        ({"epoch_lease_ms": 10}, "epoch_lease_ms"),
        ({"subscriber_buffer": -1}, "subscriber_buffer"),
        ({"max_connections": 2}, "max_connections"),
    ],
)
def test_bad_configuration_is_refused(kwargs: dict[str, object], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        RedisApprovalStore("redis://127.0.0.1:1/0", **kwargs)  # type: ignore[arg-type]


async def test_unreachable_redis_is_a_transport_error() -> None:
    store = RedisApprovalStore(f"redis://127.0.0.1:{free_port()}/0", retry_window=0.2)
    with anyio.fail_after(5), pytest.raises(TransportError, match="unreachable"):
        async with store:
            pass


async def test_store_is_not_usable_before_it_is_entered(redis_server: RedisServer) -> None:
    store = RedisApprovalStore(redis_server.url)
    with pytest.raises(LocalProtocolError, match="not open"):
        await store.get("x")


async def test_waiters_wake_on_the_published_decision_not_by_polling(
    redis_server: RedisServer, prefix: str
) -> None:
    url = redis_server.url
    async with (
        RedisApprovalStore(url, prefix=prefix, poll_interval=30) as a,
        RedisApprovalStore(url, prefix=prefix, poll_interval=30) as b,
    ):
        request = make_request(a)
        await a.register(request, has_route=True)
        seen: list[Decision | None] = []

        async def wait(store: RedisApprovalStore) -> None:
            record = await store.wait_decision(request.id)
            seen.append(None if record is None else record.decision)

        with anyio.fail_after(2):  # far below poll_interval
            async with anyio.create_task_group() as tg:
                for i in range(6):
                    tg.start_soon(wait, (a, b)[i % 2])
                await anyio.sleep(0.1)
                await b.resolve(request.id, Decision.ALLOW_ONCE, approver=ALICE)
        assert seen == [Decision.ALLOW_ONCE] * 6


async def test_closing_the_store_releases_its_waiters(
    redis_server: RedisServer, prefix: str
) -> None:
    store = RedisApprovalStore(redis_server.url, prefix=prefix, poll_interval=30)
    out: list[object] = []
    async with store:
        request = make_request(store)
        await store.register(request, has_route=True)

        async def wait() -> None:
            out.append(await store.wait_decision(request.id))

        with anyio.fail_after(2):
            async with anyio.create_task_group() as tg:
                tg.start_soon(wait)
                await anyio.sleep(0.05)
                await store.aclose()
    assert out == [None]


async def test_a_burst_beyond_the_connection_pool_queues(
    redis_server: RedisServer, prefix: str
) -> None:
    async with RedisApprovalStore(redis_server.url, prefix=prefix, max_connections=4) as store:
        requests = [make_request(store) for _ in range(60)]
        results = []

        async def register(i: int) -> None:
            results.append(await store.register(requests[i], has_route=True))

        with anyio.fail_after(10):
            async with anyio.create_task_group() as tg:
                for i in range(len(requests)):
                    tg.start_soon(register, i)
        assert [r.outcome for r in results] == [ApprovalOutcome.REGISTERED] * 60
        assert len(await store.list_pending()) == 60


async def test_a_sweeper_announces_the_expiry_of_a_dead_replicas_approval(
    redis_server: RedisServer, prefix: str
) -> None:
    url = redis_server.url
    async with RedisApprovalStore(url, prefix=prefix) as survivor:
        async with survivor.subscribe() as events:
            async with RedisApprovalStore(url, prefix=prefix) as gone:
                request = make_request(gone, lifetime_ms=100)
                await gone.register(request)
            with anyio.fail_after(3):  # nobody waits or calls: only a sweeper can announce it
                seen = [await anext(events), await anext(events)]
        assert [type(e) for e in seen] == [ApprovalRequested, ApprovalExpired]
        assert seen[1].record.reason is TerminalReason.TIMEOUT


async def test_an_unreadable_record_is_a_transport_error_not_a_decision(
    redis_server: RedisServer, prefix: str
) -> None:
    async with RedisApprovalStore(redis_server.url, prefix=prefix) as store:
        request = make_request(store)
        await store.register(request, has_route=True)
        async with admin(redis_server.url) as call:
            await call("HSET", f"{{{prefix}}}:a:{request.id}", "req", "{not json")
        with pytest.raises(TransportError, match="unreadable"):
            await store.get(request.id)
        with pytest.raises(TransportError, match="unreadable"):
            await store.resolve(request.id, Decision.ALLOW_ONCE, approver=ALICE)


async def test_garbage_on_the_channel_and_in_records_is_never_a_decision(
    redis_server: RedisServer, prefix: str
) -> None:
    async with (
        RedisApprovalStore(redis_server.url, prefix=prefix) as store,
        admin(redis_server.url) as call,
    ):
        async with store.subscribe() as events:
            for junk in (
                "",
                "resolved",
                "resolved\nx\n{",
                "resolved\nx\n[1]",
                "what\nx\n[]",
                "resolved\nx\nnot-a-number\n1\n[]",
                'resolved\nx\n1\n1\n["{}","denied",false,false,false,false,false]',
            ):
                await call("PUBLISH", f"{{{prefix}}}:events", junk)
            request = make_request(store)
            await store.register(request)
            with anyio.fail_after(3):
                event = await anext(events)  # the junk was skipped, the store still runs
            assert isinstance(event, ApprovalRequested)
            assert event.record.id == request.id
        key = f"{{{prefix}}}:a:{request.id}"
        await call("HSET", key, "req", '{"id": 5}')  # valid JSON, not a request
        with pytest.raises(TransportError, match="unreadable"):
            await store.wait_decision(request.id)
