"""ExecGuard end to end: real analysis, a real approvals file, real approvers (asyncio + trio)."""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path
from typing import Any

import anyio
import pytest

from openclaw_exec.adapters.filestore import ApprovalsStore
from openclaw_exec.adapters.memory import AutoApprover, MemoryApprovalStore
from openclaw_exec.adapters.unix_socket import ApprovalSocketServer, SocketApprover
from openclaw_exec.analysis import ResolutionCache
from openclaw_exec.audit import read_audit_log, verify_audit_log
from openclaw_exec.guard import ExecGuard, GuardReason
from openclaw_exec.policy import (
    AgentPolicy,
    AllowlistEntry,
    ApprovalsFile,
    Ask,
    ExecPolicy,
    Security,
    cwd_bound_arg_pattern,
)
from openclaw_exec.protocol import ApprovalRecord, ApprovalState, Decision, SocketRequest

pytestmark = pytest.mark.anyio

LS = shutil.which("ls")
assert LS is not None
ENV = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": "/root"}
ALLOWLIST = ExecPolicy(security=Security.ALLOWLIST, ask=Ask.ON_MISS, ask_fallback=Security.DENY)


def approvals_at(tmp_path: Path, *, allow: tuple[str, ...] = (), **defaults: Any) -> ApprovalsStore:
    store = ApprovalsStore(tmp_path / "exec-approvals.json")
    agent = AgentPolicy(allowlist=tuple(AllowlistEntry(pattern=p) for p in allow))
    store.update(lambda _file: ApprovalsFile(agents={"main": agent}))
    if defaults:
        store.set_defaults(**defaults)
    return store


async def test_allowlisted_command_runs_without_asking_and_records_use(tmp_path: Path) -> None:
    approvals = approvals_at(tmp_path, allow=(LS,))  # type: ignore[arg-type]
    async with MemoryApprovalStore() as store:
        guard = ExecGuard(
            store=store, approvals=approvals, policy=ALLOWLIST, audit=tmp_path / "audit.jsonl"
        )
        auth = await guard.authorize("ls -la", cwd="/tmp", env=ENV, agent_id="main")
        assert auth.allowed, auth.message
        assert auth.reason == "allowlist-satisfied"
        assert auth.approval_id is None
        assert await store.list_pending() == []
    entry = approvals.load().agents["main"].allowlist[0]  # type: ignore[union-attr]
    assert entry.last_used_command == "ls -la"
    assert entry.last_resolved_path == LS
    assert entry.last_used_at is not None
    assert auth.audit is not None
    assert verify_audit_log(tmp_path / "audit.jsonl").records == 1
    (record,) = read_audit_log(tmp_path / "audit.jsonl")
    assert (record.command, record.cwd, record.allowed, record.reason) == (
        "ls -la",
        "/tmp",
        True,
        "allowlist-satisfied",
    )
    assert record.path_env == ENV["PATH"]
    assert record.exec_policy() == ALLOWLIST
    assert record.details["segments"][0]["pattern"] == LS


@pytest.mark.parametrize("decision", [Decision.ALLOW_ONCE, Decision.DENY])
async def test_miss_asks_the_approver(tmp_path: Path, decision: Decision) -> None:
    approvals = approvals_at(tmp_path)
    async with MemoryApprovalStore() as store, anyio.create_task_group() as tg:
        approver = AutoApprover(store, decision)
        await tg.start(approver.run)
        guard = ExecGuard(store=store, approvals=approvals, policy=ALLOWLIST)
        with anyio.fail_after(10):
            auth = await guard.authorize("ls /etc", cwd="/tmp", env=ENV, session_key="s-1")
        assert auth.allowed is (decision is Decision.ALLOW_ONCE)
        assert auth.decision is decision
        assert auth.approver == "auto-approver"
        assert auth.reason == ("user-approved" if auth.allowed else GuardReason.USER_DENIED)
        record = await store.get(auth.approval_id)  # type: ignore[arg-type]
        assert record is not None
        assert record.request.session_key == "s-1"
        assert record.request.resolved_path == LS
        assert record.request.env_keys == ("HOME", "PATH")
        expected = ApprovalState.CONSUMED if auth.allowed else ApprovalState.DENIED
        assert record.state is expected
        tg.cancel_scope.cancel()


async def test_allow_always_persists_and_the_next_run_needs_no_one(tmp_path: Path) -> None:
    approvals = approvals_at(tmp_path)
    async with MemoryApprovalStore() as store, anyio.create_task_group() as tg:
        approver = AutoApprover(store, Decision.ALLOW_ALWAYS)
        await tg.start(approver.run)
        guard = ExecGuard(store=store, approvals=approvals, policy=ALLOWLIST)
        with anyio.fail_after(10):
            first = await guard.authorize("ls /etc", cwd="/tmp", env=ENV)
            assert first.allowed, first.message
            assert first.persisted == (LS,)
            second = await guard.authorize("ls /etc", cwd="/tmp", env=ENV)
            assert second.allowed
            assert second.approval_id is None
            assert len(approver.results) == 1
            # As in OpenClaw 2026.9.6 the grant is bound to the arguments and the folder:
            # other arguments, or the same ones elsewhere, ask again.
            other = await guard.authorize("ls /var", cwd="/tmp", env=ENV)
            elsewhere = await guard.authorize("ls /etc", cwd="/", env=ENV)
        assert other.approval_id is not None
        assert elsewhere.approval_id is not None
        assert len(approver.results) == 3
        tg.cancel_scope.cancel()
    entries = approvals.load().agents["main"].allowlist  # type: ignore[union-attr]
    assert (entries[0].pattern, entries[0].source) == (LS, "allow-always")
    assert entries[0].arg_pattern == cwd_bound_arg_pattern(["ls", "/etc"], "/tmp")
    assert len(entries) == 3


@pytest.mark.parametrize(
    ("fallback", "command", "allowed", "reason"),
    [
        # Nothing waited: the reason says so (OpenClaw's exec tool: no-approval-route).
        (Security.DENY, "ls", False, "no-approval-route"),
        (Security.ALLOWLIST, "ls", False, "no-approval-route"),
        (Security.FULL, "ls", False, "no-approval-route"),  # clamped to allowlist
    ],
)
async def test_no_route_applies_ask_fallback_at_once(
    tmp_path: Path, fallback: Security, command: str, allowed: bool, reason: str
) -> None:
    policy = ExecPolicy(security=Security.ALLOWLIST, ask=Ask.ON_MISS, ask_fallback=fallback)
    async with MemoryApprovalStore() as store:  # nobody subscribed: no route
        guard = ExecGuard(store=store, approvals_file=ApprovalsFile(), policy=policy)
        with anyio.fail_after(5):
            auth = await guard.authorize(command, cwd="/tmp", env=ENV)
        assert (auth.allowed, auth.reason, auth.no_route) == (allowed, reason, True)
        assert auth.message.count("no approver route") == 1
        assert "no approval decision" not in auth.message
        record = await store.get(auth.approval_id)  # type: ignore[arg-type]
        assert record is not None
        assert record.state is ApprovalState.EXPIRED


async def test_no_store_is_no_route_said_once() -> None:
    guard = ExecGuard(store=None, approvals_file=ApprovalsFile(), policy=ALLOWLIST)
    auth = await guard.authorize("ls", cwd="/tmp", env=ENV)
    assert (auth.allowed, auth.reason, auth.no_route) == (False, "no-approval-route", True)
    assert auth.message == "no approval store configured; askFallback=deny"


async def test_ask_always_fallback_allowlist_runs_a_satisfied_command(tmp_path: Path) -> None:
    policy = ExecPolicy(
        security=Security.ALLOWLIST, ask=Ask.ALWAYS, ask_fallback=Security.ALLOWLIST
    )
    file = ApprovalsFile(agents={"main": AgentPolicy(allowlist=(AllowlistEntry(pattern=LS),))})  # type: ignore[arg-type]
    guard = ExecGuard(store=None, approvals_file=file, policy=policy)
    auth = await guard.authorize("ls", cwd="/tmp", env=ENV)
    assert auth.verdict is not None
    assert auth.verdict.reason == "ask-always"
    assert (auth.allowed, auth.reason) == (True, "ask-fallback-allowlist")


async def test_unanswered_request_times_out_to_fallback(tmp_path: Path) -> None:
    def never(record: ApprovalRecord) -> Decision | None:
        return None

    async with MemoryApprovalStore() as store, anyio.create_task_group() as tg:
        await tg.start(AutoApprover(store, never).run)
        guard = ExecGuard(
            store=store, approvals_file=ApprovalsFile(), policy=ALLOWLIST, timeout_ms=150
        )
        with anyio.fail_after(10):
            auth = await guard.authorize("ls", cwd="/tmp", env=ENV)
        assert (auth.allowed, auth.reason, auth.no_route) == (False, "approval-timeout", False)
        record = await store.get(auth.approval_id)  # type: ignore[arg-type]
        assert record is not None
        assert record.reason == "timeout"
        tg.cancel_scope.cancel()


async def test_malformed_approvals_file_denies_with_the_file_error(tmp_path: Path) -> None:
    path = tmp_path / "exec-approvals.json"
    path.write_text(json.dumps({"version": 1, "defaults": {"security": "Deny"}}))
    guard = ExecGuard(
        approvals=path,
        policy=ExecPolicy(security=Security.FULL, ask=Ask.OFF),
        audit=tmp_path / "a.jsonl",
    )
    auth = await guard.authorize("ls", cwd="/tmp", env=ENV)
    assert not auth.allowed
    assert auth.reason == GuardReason.APPROVALS_FILE_ERROR
    assert str(path) in auth.message
    assert "security" in auth.message
    assert verify_audit_log(tmp_path / "a.jsonl").ok


async def test_security_deny_and_full(tmp_path: Path) -> None:
    deny = ExecGuard(approvals_file=ApprovalsFile(), policy=ExecPolicy(security=Security.DENY))
    auth = await deny.authorize("ls", cwd="/tmp", env=ENV)
    assert (auth.allowed, auth.reason) == (False, "security-deny")
    full = ExecGuard(
        approvals_file=ApprovalsFile(), policy=ExecPolicy(security=Security.FULL, ask=Ask.OFF)
    )
    assert (await full.authorize("rm -rf /nonexistent", cwd="/tmp", env=ENV)).allowed
    # a per-call policy can only tighten
    tightened = await full.authorize(
        "ls", cwd="/tmp", env=ENV, policy=ExecPolicy(security=Security.DENY)
    )
    assert not tightened.allowed
    # the host file tightens a loose request
    strict_file = ApprovalsFile(agents={"main": AgentPolicy(security=Security.DENY)})
    host = ExecGuard(
        approvals_file=strict_file, policy=ExecPolicy(security=Security.FULL, ask=Ask.OFF)
    )
    assert not (await host.authorize("ls", cwd="/tmp", env=ENV)).allowed


async def test_cancelled_authorize_withdraws_its_approval(tmp_path: Path) -> None:
    def never(record: ApprovalRecord) -> Decision | None:
        return None

    async with MemoryApprovalStore() as store, anyio.create_task_group() as tg:
        await tg.start(AutoApprover(store, never).run)
        guard = ExecGuard(
            store=store,
            approvals_file=ApprovalsFile(),
            policy=ALLOWLIST,
            new_id=lambda: "fixed-id-1",
        )
        with anyio.move_on_after(0.2):
            await guard.authorize("ls", cwd="/tmp", env=ENV)
        record = await store.get("fixed-id-1")
        assert record is not None
        assert record.state is ApprovalState.CANCELLED
        tg.cancel_scope.cancel()


async def test_replayed_approval_id_is_refused(tmp_path: Path) -> None:
    async with MemoryApprovalStore() as store, anyio.create_task_group() as tg:
        await tg.start(AutoApprover(store, Decision.ALLOW_ONCE).run)
        guard = ExecGuard(
            store=store, approvals_file=ApprovalsFile(), policy=ALLOWLIST, new_id=lambda: "one-id"
        )
        with anyio.fail_after(10):
            first = await guard.authorize("ls /etc", cwd="/tmp", env=ENV)
            assert first.allowed
            # the same id again (a replay) is refused by the store: no second run on one approval
            again = await guard.authorize("ls /etc", cwd="/tmp", env=ENV)
        assert not again.allowed
        assert again.reason == GuardReason.APPROVAL_REQUEST_FAILED
        tg.cancel_scope.cancel()


async def test_audit_failure_denies(tmp_path: Path) -> None:
    audit_dir = tmp_path / "audit-is-a-dir"
    audit_dir.mkdir()
    guard = ExecGuard(
        approvals_file=ApprovalsFile(),
        policy=ExecPolicy(security=Security.FULL, ask=Ask.OFF),
        audit=audit_dir,
    )
    auth = await guard.authorize("ls", cwd="/tmp", env=ENV)
    assert not auth.allowed
    assert auth.reason == GuardReason.AUDIT_FAILED


def _tool(folder: Path, *, mode: int = 0o755) -> Path:
    folder.mkdir(exist_ok=True)
    path = folder / "tool"
    path.write_text("#!/bin/sh\n")
    path.chmod(mode)
    return path


async def test_guard_cache_notices_a_changed_executable(tmp_path: Path) -> None:
    early, late = tmp_path / "early", tmp_path / "late"
    early.mkdir()
    allowed = _tool(late)
    file = ApprovalsFile(
        agents={"main": AgentPolicy(allowlist=(AllowlistEntry(pattern=str(allowed)),))}
    )
    guard = ExecGuard(approvals_file=file, policy=ALLOWLIST)
    env = {"PATH": f"{early}:{late}", "HOME": "/nonexistent"}
    cache = guard.resolution_cache
    assert cache is not None

    async def run() -> bool:
        auth = await guard.authorize("tool --x", cwd=str(tmp_path), env=env, agent_id="main")
        assert auth.evaluation is not None
        return auth.allowed

    assert await run()
    assert await run()
    assert (len(cache), cache.hits) == (1, 1)  # the second call was answered from the cache
    # An executable dropped into an earlier PATH folder now runs instead: not allowed.
    _tool(early)
    assert not await run()
    (early / "tool").chmod(0o644)  # no longer executable: the allowlisted one runs again
    assert await run()
    allowed.chmod(0o644)  # the allowlisted one loses its execute bit: nothing runs
    assert not await run()
    allowed.chmod(0o755)
    assert await run()
    allowed.unlink()  # replaced by another file at the same path (new inode): still a match
    _tool(late)
    assert await run()
    assert cache.hits == 1  # every change above was a miss, never a stale hit
    assert await run()
    assert cache.hits == 2


def test_guard_cache_can_be_replaced_or_disabled() -> None:
    mine = ResolutionCache(validate=True)
    assert ExecGuard(analysis_options={"cache": mine}).resolution_cache is mine
    assert ExecGuard(analysis_options={"cache": None}).resolution_cache is None
    first, second = ExecGuard(), ExecGuard()
    assert first.resolution_cache is not None
    assert first.resolution_cache is not second.resolution_cache


def test_guard_rejects_bad_configuration(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="either"):
        ExecGuard(approvals=tmp_path / "a.json", approvals_file=ApprovalsFile())
    with pytest.raises(ValueError, match="timeout_ms"):
        ExecGuard(timeout_ms=0)


@pytest.mark.parametrize(
    "command",
    [
        "/approve abc123 allow-always",
        "env -S '/approve abc always'",
        "sh -c '/approve@bot x allow'",
    ],
)
async def test_agents_cannot_run_approve(command: str) -> None:
    guard = ExecGuard(
        approvals_file=ApprovalsFile(), policy=ExecPolicy(security=Security.FULL, ask=Ask.OFF)
    )
    auth = await guard.authorize(command, cwd="/tmp", env=ENV)
    assert (auth.allowed, auth.reason) == (False, GuardReason.APPROVE_COMMAND)
    assert auth.message == "exec cannot run /approve commands"


async def test_guard_asks_a_socket_approver_end_to_end(tmp_path: Path) -> None:
    seen: list[SocketRequest] = []

    async def human(request: SocketRequest) -> Decision:
        seen.append(request)
        return Decision.ALLOW_ALWAYS

    sock_dir = Path(tempfile.mkdtemp(prefix="oce-", dir="/tmp"))
    path = sock_dir / "approvals.sock"
    approvals = approvals_at(tmp_path)
    try:
        async with MemoryApprovalStore() as store, anyio.create_task_group() as tg:
            server = ApprovalSocketServer(path, "tok-123", human)
            await tg.start(server.serve)
            await tg.start(SocketApprover(store, path, "tok-123").run)
            guard = ExecGuard(store=store, approvals=approvals, policy=ALLOWLIST)
            with anyio.fail_after(10):
                auth = await guard.authorize("ls /srv", cwd="/tmp", env=ENV, agent_id="main")
            assert auth.allowed, auth.message
            assert (auth.decision, auth.approver) == (Decision.ALLOW_ALWAYS, "unix-socket-approver")
            assert seen[0].request.command == "ls /srv"
            assert seen[0].request.cwd == "/tmp"
            with anyio.fail_after(10):  # let the socket handler finish before cancelling
                while server.active_connections:  # noqa: ASYNC110
                    await anyio.sleep(0.01)
            tg.cancel_scope.cancel()
    finally:
        shutil.rmtree(sock_dir, ignore_errors=True)
    assert [e.pattern for e in approvals.load().agents["main"].allowlist] == [LS]  # type: ignore[union-attr]
