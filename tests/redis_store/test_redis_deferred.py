"""
Deferred approvals on Redis: one request, one outcome, across replicas and restarts.

The machine of :mod:`openclaw_exec.testing.outcome_machine` on a real ``redis-server``:
"restart the store" closes this replica and opens a new one on the same prefix, so pending
approvals, decisions and claims must survive it. On asyncio and trio. Below it, a handle
made on one replica is settled once through another.
"""

from __future__ import annotations

import json
import os
import sys
import uuid
from collections.abc import Callable
from pathlib import Path

import anyio
import pytest

from openclaw_exec.adapters.redis import RedisApprovalStore
from openclaw_exec.guard import Authorization, ExecGuard, GuardReason, PendingApproval
from openclaw_exec.policy import ApprovalsFile, Ask, ExecPolicy, Security
from openclaw_exec.protocol import Decision, Principal
from openclaw_exec.testing.outcome_machine import GRACE_MS, run_outcome_machine
from redis_store._redis_server import RedisServer

ENV = {"PATH": "/usr/bin:/bin"}
ASK = ExecPolicy(security=Security.FULL, ask=Ask.ALWAYS, ask_fallback=Security.DENY)
ALICE = Principal(id="alice")
SRC = Path(__file__).resolve().parents[2] / "src"


def _factory(url: str) -> Callable[[Callable[[], int]], RedisApprovalStore]:
    prefixes: dict[int, str] = {}

    def make(clock: Callable[[], int]) -> RedisApprovalStore:
        # One prefix per machine run (its clock), shared by the replicas it restarts.
        prefix = prefixes.setdefault(id(clock), f"machine-{uuid.uuid4().hex[:12]}")
        return RedisApprovalStore(url, prefix=prefix, grace_ms=GRACE_MS, clock=clock)

    return make


@pytest.mark.parametrize("backend", ["asyncio", "trio"])
def test_redis_store_gives_one_outcome_per_request(redis_server: RedisServer, backend: str) -> None:
    run_outcome_machine(_factory(redis_server.url), backend=backend, max_examples=8, steps=20)


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["asyncio", "trio"])
def test_redis_store_gives_one_outcome_per_request_many(
    redis_server: RedisServer, backend: str
) -> None:
    run_outcome_machine(_factory(redis_server.url), backend=backend, max_examples=150, steps=40)


@pytest.mark.anyio
async def test_a_handle_made_on_one_replica_is_settled_once_through_another(
    redis_server: RedisServer, prefix: str
) -> None:
    async with (
        RedisApprovalStore(redis_server.url, prefix=prefix) as a,
        RedisApprovalStore(redis_server.url, prefix=prefix) as b,
    ):
        first = ExecGuard(store=a, approvals_file=ApprovalsFile(), policy=ASK)
        pending = await first.check("ls /", cwd="/", env=ENV, has_route=True)
        assert isinstance(pending, PendingApproval)
        carried = PendingApproval.from_dict(json.loads(json.dumps(pending.to_dict())), env=ENV)
        second = ExecGuard(store=b, approvals_file=ApprovalsFile(), policy=ASK)
        results: list[Authorization | PendingApproval] = []

        async def resume(guard: ExecGuard, handle: PendingApproval) -> None:
            results.append(await guard.resume(handle, Decision.ALLOW_ALWAYS, approver=ALICE))

        with anyio.fail_after(20):
            async with anyio.create_task_group() as tg:
                tg.start_soon(resume, first, pending)
                tg.start_soon(resume, second, carried)
        allowed = [r for r in results if r]
        refused = [r for r in results if not r]
        assert len(allowed) == 1
        assert isinstance(refused[0], Authorization)
        assert refused[0].reason == GuardReason.APPROVAL_REPLAYED


_AGENT = """
import json, sys
import anyio
from openclaw_exec.adapters.redis import RedisApprovalStore
from openclaw_exec.guard import ExecGuard, PendingApproval
from openclaw_exec.policy import ApprovalsFile, Ask, ExecPolicy, Security

async def main(url, prefix):
    async with RedisApprovalStore(url, prefix=prefix) as store:
        guard = ExecGuard(store=store, approvals_file=ApprovalsFile(),
                          policy=ExecPolicy(security=Security.FULL, ask=Ask.ALWAYS))
        first = await guard.check("ls /", cwd="/", env={"PATH": "/usr/bin:/bin"}, has_route=True)
        assert isinstance(first, PendingApproval), first
        print(json.dumps(first.to_dict()), flush=True)

anyio.run(main, *sys.argv[1:3])
"""


@pytest.mark.anyio
async def test_a_deferred_approval_outlives_its_agent_and_a_redis_restart(
    own_redis: RedisServer, prefix: str
) -> None:
    # The agent that asked exits; Redis restarts (AOF); another process resumes it once.
    made = await anyio.run_process(
        [sys.executable, "-c", _AGENT, own_redis.url, prefix],
        env={**os.environ, "PYTHONPATH": str(SRC)},
    )
    handle = PendingApproval.from_dict(json.loads(made.stdout), env=ENV)
    own_redis.kill()
    own_redis.start()
    async with RedisApprovalStore(own_redis.url, prefix=prefix, retry_window=10) as store:
        guard = ExecGuard(store=store, approvals_file=ApprovalsFile(), policy=ASK)
        with anyio.fail_after(15):
            auth = await guard.resume(handle, Decision.ALLOW_ONCE, approver=ALICE)
        assert isinstance(auth, Authorization)
        assert auth.allowed, auth.message
    own_redis.kill()
    own_redis.start()
    async with RedisApprovalStore(own_redis.url, prefix=prefix, retry_window=10) as store:
        guard = ExecGuard(store=store, approvals_file=ApprovalsFile(), policy=ASK)
        with anyio.fail_after(15):
            replay = await guard.resume(handle, Decision.ALLOW_ONCE, approver=ALICE)
        assert isinstance(replay, Authorization)
        assert replay.reason == GuardReason.APPROVAL_REPLAYED  # the claim was persisted too
