"""
Faults of a replicated deployment, on real processes and a real ``redis-server``.

* a replica process dies with a pending approval; another resolves it; a restarted replica
  gets the decision and consumes it once;
* Redis restarts mid-approval (with and without persistence) or stays down: the waiter gets
  the decision, no decision, or a TransportError, never a hang;
* two replicas resolve the same id at the same moment: exactly one wins, 1,000 times;
* connections are dropped under the store (``CLIENT KILL``): waiters, approvers and calls
  recover;
* approvals left pending when every replica was gone for a whole lease are cancelled.
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

import anyio
import anyio.to_thread
import pytest

from openclaw_exec.adapters.redis import RedisApprovalStore
from openclaw_exec.exceptions import TransportError
from openclaw_exec.protocol import (
    ApprovalOutcome,
    ApprovalRecord,
    ApprovalRequested,
    ApprovalState,
    Decision,
    Principal,
    TerminalReason,
)
from openclaw_exec.testing.store_contract import make_request
from redis_store._admin import admin
from redis_store._admin import kill_connections as _kill
from redis_store._redis_server import RedisServer, running_redis

pytestmark = pytest.mark.anyio
# Tests that start replica processes or wait out leases and retry windows run on asyncio only
# (the transport is the same code on both backends; the rest of this module runs on both).
SLOW_ON_ONE_BACKEND = pytest.mark.parametrize("anyio_backend", ["asyncio"])
ALICE = Principal(id="alice", scopes=frozenset({"operator.approvals"}))
BOB = Principal(id="bob", scopes=frozenset({"operator.approvals"}))
REPLICA = Path(__file__).with_name("_replica.py")


@contextmanager
def replica(url: str, prefix: str, mode: str, approval_id: str) -> Iterator[subprocess.Popen[str]]:
    """A replica process (see ``_replica.py``), killed when the block ends."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(
        [sys.executable, str(REPLICA), url, prefix, mode, approval_id],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        yield process
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=10)
        assert process.stdout is not None
        process.stdout.close()


async def line(process: subprocess.Popen[str]) -> str:
    """The next line the replica prints (at most 20 s: a replica starts a Python process)."""
    stdout: IO[str] | None = process.stdout
    assert stdout is not None
    with anyio.fail_after(20):
        text = await anyio.to_thread.run_sync(stdout.readline, abandon_on_cancel=True)
    return text.strip()


async def kill_connections(url: str, store: RedisApprovalStore) -> int:
    """``CLIENT KILL`` every connection *store* holds; how many were killed."""
    return await _kill(url, store.replica_id)


# ------------------------------------------------------------------ replica processes


@SLOW_ON_ONE_BACKEND
async def test_killed_replica_approval_is_resolved_through_another(
    redis_server: RedisServer, prefix: str
) -> None:
    approval_id = str(uuid.uuid4())
    url = redis_server.url
    async with RedisApprovalStore(url, prefix=prefix) as other:
        with replica(url, prefix, "register", approval_id) as first:
            assert await line(first) == "registered"
            first.kill()  # SIGKILL: no clean-up, its waiter dies with it
            first.wait(timeout=10)
        record = await other.get(approval_id)
        assert record is not None
        assert record.state is ApprovalState.PENDING
        with replica(url, prefix, "consume", approval_id) as restarted:
            assert await line(restarted) == "waiting"
            await anyio.sleep(0.3)  # let it park (a late start would read the decision anyway)
            resolved = await other.resolve(approval_id, Decision.ALLOW_ONCE, approver=ALICE)
            assert resolved.outcome is ApprovalOutcome.RESOLVED
            assert await line(restarted) == "decision allow-once"
            assert await line(restarted) == "consume consumed"
        assert record.request.binding is not None
        spent = await other.consume(approval_id, record.request.binding)
        assert spent.outcome is ApprovalOutcome.NOT_CONSUMABLE
        assert spent.reason == "APPROVAL_CONSUMED"


# ------------------------------------------------------------------ Redis restarts


async def test_redis_restart_with_persistence_keeps_the_approval(
    own_redis: RedisServer, prefix: str
) -> None:
    url = own_redis.url
    async with (
        RedisApprovalStore(url, prefix=prefix, retry_window=10, poll_interval=0.2) as a,
        RedisApprovalStore(url, prefix=prefix, retry_window=10) as b,
    ):
        request = make_request(a)
        await a.register(request, has_route=True)
        out: list[ApprovalRecord | None] = []

        async def wait() -> None:
            out.append(await a.wait_decision(request.id))

        with anyio.fail_after(15):
            async with anyio.create_task_group() as tg:
                tg.start_soon(wait)
                await anyio.sleep(0.1)
                own_redis.kill()
                await anyio.sleep(0.3)
                own_redis.start()  # the AOF brings the pending approval back
                resolved = await b.resolve(request.id, Decision.ALLOW_ONCE, approver=ALICE)
                assert resolved.outcome is ApprovalOutcome.RESOLVED
        assert out[0] is not None
        assert out[0].decision is Decision.ALLOW_ONCE
        assert (await a.consume(request.id, request.binding)).outcome is ApprovalOutcome.CONSUMED
        own_redis.kill()
        own_redis.start()
        # the consumption was persisted together with the decision: not twice, ever
        with anyio.fail_after(15):
            again = await b.consume(request.id, request.binding)
        assert again.reason == "APPROVAL_CONSUMED"


async def test_redis_restart_without_persistence_gives_no_decision(
    tmp_path: Path, prefix: str
) -> None:
    with running_redis(tmp_path, appendonly=False) as server:
        async with RedisApprovalStore(server.url, prefix=prefix, retry_window=10) as store:
            request = make_request(store)
            await store.register(request, has_route=True)
            out: list[ApprovalRecord | None] = []

            async def wait() -> None:
                out.append(await store.wait_decision(request.id))

            with anyio.fail_after(15):
                async with anyio.create_task_group() as tg:
                    tg.start_soon(wait)
                    await anyio.sleep(0.1)
                    server.kill()
                    await anyio.sleep(0.3)
                    server.start()  # empty: the approval is gone
            assert out == [None]  # unknown: the guard applies askFallback


@SLOW_ON_ONE_BACKEND
async def test_redis_down_is_a_transport_error_not_a_hang(
    own_redis: RedisServer, prefix: str
) -> None:
    async with RedisApprovalStore(own_redis.url, prefix=prefix, retry_window=0.5) as store:
        request = make_request(store)
        await store.register(request, has_route=True)
        with anyio.fail_after(10):
            async with anyio.create_task_group() as tg:

                async def kill_soon() -> None:
                    await anyio.sleep(0.1)
                    own_redis.kill()

                tg.start_soon(kill_soon)
                with pytest.raises(TransportError, match="unreachable"):
                    await store.wait_decision(request.id)
        with anyio.fail_after(10), pytest.raises(TransportError):
            await store.resolve(request.id, Decision.DENY, approver=ALICE)


# ------------------------------------------------------------------ concurrent resolvers


async def _race_once(a: RedisApprovalStore, b: RedisApprovalStore) -> tuple[int, bool]:
    request = make_request(a)
    await a.register(request, has_route=True)
    results = {}

    async def resolve(name: str, store: RedisApprovalStore, decision: Decision) -> None:
        results[name] = await store.resolve(request.id, decision, approver=ALICE)

    async with anyio.create_task_group() as tg:
        tg.start_soon(resolve, "a", a, Decision.ALLOW_ONCE)
        tg.start_soon(resolve, "b", b, Decision.DENY)
    winners = [n for n, r in results.items() if r.outcome is ApprovalOutcome.RESOLVED]
    losers = [r for r in results.values() if r.outcome is ApprovalOutcome.ALREADY_RESOLVED]
    record = await a.get(request.id)
    assert record is not None
    expected = Decision.ALLOW_ONCE if winners == ["a"] else Decision.DENY
    consistent = len(losers) == 1 and record.decision is expected
    return len(winners), consistent


async def _race(url: str, prefix: str, repetitions: int) -> None:
    async with (
        RedisApprovalStore(url, prefix=prefix) as a,
        RedisApprovalStore(url, prefix=prefix) as b,
    ):
        outcomes: list[tuple[int, bool]] = []

        async def one() -> None:
            outcomes.append(await _race_once(a, b))

        batch = 50
        for start in range(0, repetitions, batch):
            async with anyio.create_task_group() as tg:
                for _ in range(min(batch, repetitions - start)):
                    tg.start_soon(one)
        assert len(outcomes) == repetitions
        assert all(winners == 1 and consistent for winners, consistent in outcomes)


async def test_two_replicas_resolving_at_once_exactly_one_wins(
    redis_server: RedisServer, prefix: str
) -> None:
    with anyio.fail_after(60):
        await _race(redis_server.url, prefix, 1_000)


# ------------------------------------------------------------------ dropped connections


async def test_waiter_survives_its_connections_being_killed(
    redis_server: RedisServer, prefix: str
) -> None:
    url = redis_server.url
    async with (
        RedisApprovalStore(url, prefix=prefix, poll_interval=5) as a,
        RedisApprovalStore(url, prefix=prefix) as b,
    ):
        request = make_request(a)
        await a.register(request, has_route=True)
        out: list[ApprovalRecord | None] = []

        async def wait() -> None:
            out.append(await a.wait_decision(request.id))

        with anyio.fail_after(4):  # less than poll_interval: the reconnect must wake it
            async with anyio.create_task_group() as tg:
                tg.start_soon(wait)
                await anyio.sleep(0.1)
                assert await kill_connections(url, a) >= 1
                await anyio.sleep(0.2)
                await b.resolve(request.id, Decision.DENY, approver=ALICE)
        assert out[0] is not None
        assert out[0].decision is Decision.DENY
        # the store's own calls reconnect too
        assert await kill_connections(url, a) >= 1
        again = await a.resolve(request.id, Decision.DENY, approver=BOB)
        assert again.outcome is ApprovalOutcome.RESOLVED_AGAIN


async def test_approver_channel_reconnects_after_its_connection_is_killed(
    redis_server: RedisServer, prefix: str
) -> None:
    url = redis_server.url
    async with (
        RedisApprovalStore(url, prefix=prefix) as a,
        RedisApprovalStore(url, prefix=prefix) as b,
        a.subscribe() as events,
    ):
        assert await kill_connections(url, a) >= 1
        with anyio.fail_after(5):
            while True:  # the route is back once the channel has resubscribed
                request = make_request(b)
                if (await b.register(request)).outcome is ApprovalOutcome.REGISTERED:
                    break
                await anyio.sleep(0.05)
            event = await anext(events)
            while event.record.id != request.id:  # skip nothing-but-this test's events
                event = await anext(events)
        assert isinstance(event, ApprovalRequested)


# ------------------------------------------------------------------ a dead run


@SLOW_ON_ONE_BACKEND
async def test_pending_approvals_of_a_dead_run_are_cancelled(
    redis_server: RedisServer, prefix: str
) -> None:
    url = redis_server.url
    async with RedisApprovalStore(url, prefix=prefix, epoch_lease_ms=1000) as gone:
        pending = make_request(gone)
        decided = make_request(gone)
        for request in (pending, decided):
            await gone.register(request, has_route=True)
        await gone.resolve(decided.id, Decision.ALLOW_ONCE, approver=ALICE)
    await anyio.sleep(1.3)  # every replica gone for longer than the lease
    async with RedisApprovalStore(url, prefix=prefix, epoch_lease_ms=1000) as fresh:
        record = await fresh.get(pending.id)
        assert record is not None
        assert record.state is ApprovalState.CANCELLED
        assert record.decision is None
        assert record.reason is TerminalReason.CANCELLED
        late = await fresh.resolve(pending.id, Decision.ALLOW_ONCE, approver=ALICE)
        assert late.outcome is ApprovalOutcome.NOT_FOUND
        # a decision made before is kept, and still spent only once
        kept = await fresh.consume(decided.id, decided.binding)
        assert kept.outcome is ApprovalOutcome.CONSUMED


@SLOW_ON_ONE_BACKEND
async def test_a_live_replica_keeps_the_run_alive(redis_server: RedisServer, prefix: str) -> None:
    url = redis_server.url
    async with RedisApprovalStore(url, prefix=prefix, epoch_lease_ms=1000) as keeper:
        async with RedisApprovalStore(url, prefix=prefix, epoch_lease_ms=1000) as gone:
            request = make_request(gone)
            await gone.register(request, has_route=True)
        await anyio.sleep(1.3)
        record = await keeper.get(request.id)
        assert record is not None
        assert record.state is ApprovalState.PENDING


async def test_redis_out_of_memory_is_a_transport_error(
    own_redis: RedisServer, prefix: str
) -> None:
    async with RedisApprovalStore(own_redis.url, prefix=prefix) as store:
        pending = make_request(store)
        await store.register(pending, has_route=True)
        async with admin(own_redis.url) as call:
            await call("CONFIG", "SET", "maxmemory", 1)  # noeviction: every write is refused
            with anyio.fail_after(10), pytest.raises(TransportError, match="refused"):
                await store.register(make_request(store), has_route=True)
            with anyio.fail_after(10), pytest.raises(TransportError, match="refused"):
                await store.resolve(pending.id, Decision.ALLOW_ONCE, approver=ALICE)
            await call("CONFIG", "SET", "maxmemory", 0)
        record = await store.get(pending.id)
        assert record is not None
        assert record.state is ApprovalState.PENDING  # nothing was decided
