"""ExecGuard, unchanged, on the Redis store: the guard on one replica, the approver on another."""

from __future__ import annotations

import shutil
from pathlib import Path

import anyio
import pytest

from openclaw_exec.adapters.filestore import ApprovalsStore
from openclaw_exec.adapters.memory import AutoApprover
from openclaw_exec.adapters.redis import RedisApprovalStore
from openclaw_exec.approvers import ApproverAnswer, serve_approver
from openclaw_exec.guard import ExecGuard
from openclaw_exec.policy import (
    DAY_MS,
    AgentPolicy,
    AllowlistEntry,
    ApprovalsFile,
    Ask,
    ExecPolicy,
    Security,
)
from openclaw_exec.protocol import ApprovalState, Decision
from redis_store._redis_server import RedisServer, running_redis, skip_or_fail_without_redis

pytestmark = pytest.mark.anyio

ENV = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": "/root"}
ALLOWLIST = ExecPolicy(security=Security.ALLOWLIST, ask=Ask.ON_MISS, ask_fallback=Security.DENY)


@pytest.mark.parametrize("decision", [Decision.ALLOW_ONCE, Decision.DENY])
async def test_guard_on_one_replica_approver_on_another(
    redis_server: RedisServer, prefix: str, decision: Decision
) -> None:
    url = redis_server.url
    async with (
        RedisApprovalStore(url, prefix=prefix) as guard_side,
        RedisApprovalStore(url, prefix=prefix) as approver_side,
        anyio.create_task_group() as tg,
    ):
        await tg.start(AutoApprover(approver_side, decision).run)
        guard = ExecGuard(store=guard_side, approvals_file=ApprovalsFile(), policy=ALLOWLIST)
        with anyio.fail_after(10):
            auth = await guard.authorize("ls /etc", cwd="/tmp", env=ENV)
        assert auth.allowed is (decision is Decision.ALLOW_ONCE)
        assert auth.approver == "auto-approver"
        assert auth.approval_id is not None
        record = await approver_side.get(auth.approval_id)
        assert record is not None
        expected = ApprovalState.CONSUMED if auth.allowed else ApprovalState.DENIED
        assert record.state is expected
        tg.cancel_scope.cancel()


async def test_no_approver_on_any_replica_applies_ask_fallback(
    redis_server: RedisServer, prefix: str
) -> None:
    async with RedisApprovalStore(redis_server.url, prefix=prefix) as store:
        guard = ExecGuard(store=store, approvals_file=ApprovalsFile(), policy=ALLOWLIST)
        with anyio.fail_after(5):
            auth = await guard.authorize("ls /etc", cwd="/tmp", env=ENV)
        assert not auth.allowed
        assert auth.no_route
        assert auth.reason == "no-approval-route"  # nobody could be asked; askFallback deny


async def test_redis_outage_applies_ask_fallback_deny(tmp_path: Path, prefix: str) -> None:
    with running_redis(tmp_path) as server:
        async with RedisApprovalStore(server.url, prefix=prefix, retry_window=0.3) as store:
            guard = ExecGuard(store=store, approvals_file=ApprovalsFile(), policy=ALLOWLIST)
            server.kill()
            with anyio.fail_after(10):
                auth = await guard.authorize("ls /etc", cwd="/tmp", env=ENV)
            assert not auth.allowed
            assert auth.no_route
            assert auth.reason == "no-approval-route"  # nobody could be asked; askFallback deny
            assert "approval store unavailable" in auth.message
            assert "unreachable" in auth.message


@pytest.mark.parametrize(("command", "allowed"), [("ls /etc", True), ("ls /etc; id", False)])
async def test_redis_outage_applies_ask_fallback_allowlist(
    tmp_path: Path, prefix: str, command: str, allowed: bool
) -> None:
    # ask=always prompts even for allowlisted commands; with Redis gone nobody can answer,
    # and askFallback=allowlist runs only what the allowlist covers.
    skip_or_fail_without_redis()
    ls = shutil.which("ls", path=ENV["PATH"])
    assert ls is not None
    policy = ExecPolicy(
        security=Security.ALLOWLIST, ask=Ask.ALWAYS, ask_fallback=Security.ALLOWLIST
    )
    approvals = ApprovalsFile(agents={"*": AgentPolicy(allowlist=[AllowlistEntry(pattern=ls)])})
    with running_redis(tmp_path) as server:
        async with RedisApprovalStore(server.url, prefix=prefix, retry_window=0.3) as store:
            guard = ExecGuard(store=store, approvals_file=approvals, policy=policy)
            server.kill()
            with anyio.fail_after(10):
                auth = await guard.authorize(command, cwd="/tmp", env=ENV)
            assert auth.allowed is allowed
            assert auth.no_route
            assert "approval store unavailable" in auth.message


async def test_an_approvers_grant_lifetime_crosses_replicas_to_the_grant(
    redis_server: RedisServer, prefix: str, tmp_path: Path
) -> None:
    days = 4
    now = [1_800_000_000_000]
    approvals = ApprovalsStore(tmp_path / "exec-approvals.json")
    approvals.update(lambda _f: ApprovalsFile(agents={"main": AgentPolicy()}))

    async def answer(_request: object) -> ApproverAnswer:
        return ApproverAnswer(Decision.ALLOW_ALWAYS, grant_expires_in_days=days)

    url = redis_server.url
    async with (
        RedisApprovalStore(url, prefix=prefix) as guard_side,
        RedisApprovalStore(url, prefix=prefix) as approver_side,
        anyio.create_task_group() as tg,
    ):
        await tg.start(serve_approver, approver_side, answer)
        guard = ExecGuard(
            store=guard_side, approvals=approvals, policy=ALLOWLIST, clock=lambda: now[0]
        )
        with anyio.fail_after(10):
            auth = await guard.authorize("ls /etc", cwd="/tmp", env=ENV)
        assert auth.allowed, auth.message
        assert auth.approval_id is not None
        record = await guard_side.get(auth.approval_id)
        assert record is not None
        assert record.grant_expires_in_days == days
        tg.cancel_scope.cancel()
    file = approvals.load()
    assert file is not None
    assert file.agents["main"].allowlist == ()
    (grant,) = file.agents["main"].grants
    end = 1_800_000_000_000 + days * DAY_MS
    assert grant.expires_at_ms == end
    unattended = ExecGuard(store=None, approvals=approvals, policy=ALLOWLIST, clock=lambda: now[0])
    for at, runs in [(end - 1, True), (end, False), (end + DAY_MS, False)]:
        now[0] = at
        decided = await unattended.authorize("ls /etc", cwd="/tmp", env=ENV)
        assert decided.allowed is runs, (at - end, decided.message)
