"""
Grants with a lifetime through ExecGuard, and the unattended (cron) recipe of docs/policy.md.

A scheduled run uses a guard with no approval store (nobody to wait for or flood: what the
grants do not cover is denied at once by askFallback) and an audit log; a pre-authorised
grant bound to the job's session key and an expiry lets exactly its commands run.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import anyio
import pytest

from openclaw_exec.adapters.filestore import ApprovalsStore
from openclaw_exec.adapters.memory import AutoApprover, MemoryApprovalStore
from openclaw_exec.approvers import ApproverAnswer, serve_approver
from openclaw_exec.audit import read_audit_log
from openclaw_exec.exceptions import LocalProtocolError
from openclaw_exec.guard import ExecGuard, GuardReason
from openclaw_exec.policy import (
    DAY_MS,
    AgentPolicy,
    ApprovalsFile,
    DenyRule,
    Grant,
    PolicyDefaults,
    Security,
    add_grant,
    revoke_grant,
)
from openclaw_exec.protocol import Decision

pytestmark = pytest.mark.anyio

ENV = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": "/root"}
LS = shutil.which("ls", path="/usr/bin:/bin")
assert LS is not None
NOW = 1_800_000_000_000
JOB = "cron:nightly-report"


class Clock:
    def __init__(self, now: int = NOW) -> None:
        self.now = now

    def __call__(self) -> int:
        return self.now


def _store(tmp_path: Path, *grants: Grant, deny: tuple[DenyRule, ...] = ()) -> ApprovalsStore:
    store = ApprovalsStore(tmp_path / "exec-approvals.json")
    defaults = PolicyDefaults(security=Security.ALLOWLIST, ask_fallback=Security.DENY, deny=deny)
    store.update(
        lambda _f: ApprovalsFile(defaults=defaults, agents={"main": AgentPolicy(grants=grants)})
    )
    return store


def _job_grant(**changes: object) -> Grant:
    fields: dict[str, object] = {
        "id": "nightly-ls",
        "pattern": LS,
        "arg_pattern": "^-la? /(tmp|var/log)$",
        "session_key": JOB,
        "expires_at_ms": NOW + 30 * DAY_MS,
        "label": "nightly report",
    }
    fields.update(changes)
    return Grant(**fields)  # type: ignore[arg-type]


async def test_a_scheduled_run_needs_nobody_and_is_audited(tmp_path: Path) -> None:
    approvals = _store(tmp_path, _job_grant())
    clock = Clock()
    guard = ExecGuard(store=None, approvals=approvals, audit=tmp_path / "audit.jsonl", clock=clock)
    ran = await guard.authorize("ls -la /tmp", cwd="/tmp", env=ENV, session_key=JOB)
    assert ran.allowed, ran.message
    assert ran.grants == ("nightly-ls",)
    # Outside the grant: denied at once (no store: nobody waits, nobody is flooded).
    other = await guard.authorize("ls -la /etc", cwd="/tmp", env=ENV, session_key=JOB)
    assert not other.allowed
    assert other.no_route
    # Another session cannot use the job's grant.
    stolen = await guard.authorize("ls -la /tmp", cwd="/tmp", env=ENV, session_key="chat:42")
    assert not stolen.allowed
    # After the expiry, nothing.
    clock.now = NOW + 30 * DAY_MS
    late = await guard.authorize("ls -la /tmp", cwd="/tmp", env=ENV, session_key=JOB)
    assert not late.allowed
    records = list(read_audit_log(tmp_path / "audit.jsonl"))
    assert [r.allowed for r in records] == [True, False, False, False]
    assert records[0].details["grants"] == ["nightly-ls"]
    assert {r.session_key for r in records} == {JOB, "chat:42"}
    grant = approvals.load().agents["main"].grants[0]  # type: ignore[union-attr]
    assert (grant.use_count, grant.last_used_at_ms) == (1, NOW)


async def test_a_one_off_grant_runs_once_even_when_raced(tmp_path: Path) -> None:
    approvals = _store(tmp_path, _job_grant(max_uses=1, session_key=None))
    guard = ExecGuard(store=None, approvals=approvals, clock=Clock())
    results: list[bool] = []

    async def attempt() -> None:
        auth = await guard.authorize("ls -la /tmp", cwd="/tmp", env=ENV)
        results.append(auth.allowed)

    async with anyio.create_task_group() as tg:
        for _ in range(4):
            tg.start_soon(attempt)
    assert sorted(results) == [False, False, False, True]
    grant = approvals.load().agents["main"].grants[0]  # type: ignore[union-attr]
    assert grant.use_count == 1


async def test_a_revoked_grant_allows_nothing(tmp_path: Path) -> None:
    approvals = _store(tmp_path, _job_grant())
    approvals.update(lambda f: revoke_grant(f, "nightly-ls", now_ms=NOW, revoked_by="me")[0])
    guard = ExecGuard(store=None, approvals=approvals, clock=Clock())
    auth = await guard.authorize("ls -la /tmp", cwd="/tmp", env=ENV, session_key=JOB)
    assert not auth.allowed


class RevokingStore(ApprovalsStore):
    """Revokes the grant just before the guard records its use (a concurrent revocation)."""

    def update(self, change):  # type: ignore[no-untyped-def]
        super().update(lambda f: revoke_grant(f, "nightly-ls", now_ms=NOW)[0])
        return super().update(change)


async def test_a_grant_revoked_between_decision_and_use_allows_nothing(tmp_path: Path) -> None:
    _store(tmp_path, _job_grant())
    approvals = RevokingStore(tmp_path / "exec-approvals.json")
    guard = ExecGuard(store=None, approvals=approvals, clock=Clock())
    auth = await guard.authorize("ls -la /tmp", cwd="/tmp", env=ENV, session_key=JOB)
    assert not auth.allowed
    assert auth.reason == GuardReason.GRANT_UNAVAILABLE
    assert "revoked" in auth.message


async def test_deny_rules_win_over_a_job_grant(tmp_path: Path) -> None:
    approvals = _store(tmp_path, _job_grant(), deny=(DenyRule(pattern=LS),))  # type: ignore[arg-type]
    guard = ExecGuard(store=None, approvals=approvals, clock=Clock())
    auth = await guard.authorize("ls -la /tmp", cwd="/tmp", env=ENV, session_key=JOB)
    assert auth.reason == "deny-rule"
    assert auth.grants == ()


@pytest.mark.parametrize("scope", ["agent", "session"])
async def test_allow_always_with_an_expiry_becomes_a_grant(tmp_path: Path, scope: str) -> None:
    approvals = _store(tmp_path)
    clock = Clock()
    async with MemoryApprovalStore() as store, anyio.create_task_group() as tg:
        approver = AutoApprover(store, Decision.ALLOW_ALWAYS)
        await tg.start(approver.run)
        guard = ExecGuard(
            store=store,
            approvals=approvals,
            grant_expiry_days=2,
            allow_always_scope=scope,
            clock=clock,
            new_id=iter(f"id-{n}" for n in range(100)).__next__,
        )
        with anyio.fail_after(10):
            first = await guard.authorize("ls /etc", cwd="/tmp", env=ENV, session_key="s-1")
            assert first.allowed, first.message
            file = approvals.load()
            assert file is not None
            assert file.agents["main"].allowlist == ()
            (grant,) = file.agents["main"].grants
            assert grant.source == "allow-always"
            assert grant.expires_at_ms == NOW + 2 * DAY_MS
            assert grant.approval_id == first.approval_id
            assert grant.session_key == ("s-1" if scope == "session" else None)
            again = await guard.authorize("ls /etc", cwd="/tmp", env=ENV, session_key="s-1")
            assert again.allowed
            assert again.approval_id is None
            other = await guard.authorize("ls /etc", cwd="/tmp", env=ENV, session_key="s-2")
            assert (other.approval_id is None) is (scope == "agent")
            clock.now = NOW + 2 * DAY_MS
            expired = await guard.authorize("ls /etc", cwd="/tmp", env=ENV, session_key="s-1")
            assert expired.approval_id is not None  # asked again
        tg.cancel_scope.cancel()


async def test_a_bad_expiry_is_refused_when_the_guard_is_made() -> None:
    with pytest.raises(Exception, match="1 to 3650"):
        ExecGuard(grant_expiry_days=0)
    with pytest.raises(ValueError, match="allow_always_scope"):
        ExecGuard(allow_always_scope="forever")


async def test_an_in_memory_file_cannot_spend_a_limited_grant() -> None:
    base = ApprovalsFile(defaults=PolicyDefaults(security=Security.ALLOWLIST))
    file = add_grant(base, "main", _job_grant(max_uses=3, session_key=None))
    guard = ExecGuard(approvals_file=file, clock=Clock())
    auth = await guard.authorize("ls -la /tmp", cwd="/tmp", env=ENV)
    assert not auth.allowed
    assert auth.reason == GuardReason.GRANT_UNAVAILABLE
    unlimited = ExecGuard(
        approvals_file=add_grant(base, "main", _job_grant(session_key=None)),
        clock=Clock(),
    )
    assert (await unlimited.authorize("ls -la /tmp", cwd="/tmp", env=ENV)).allowed


async def test_audit_replay_judges_grants_as_they_stood(tmp_path: Path) -> None:
    from openclaw_exec.cli import main  # noqa: PLC0415

    now = _wall_now()
    approvals = _store(tmp_path, _job_grant(expires_at_ms=now + DAY_MS))
    log = tmp_path / "audit.jsonl"
    guard = ExecGuard(store=None, approvals=approvals, audit=log, clock=Clock(now))
    ran = await guard.authorize("ls -la /tmp", cwd="/tmp", env=ENV, session_key=JOB)
    assert ran.allowed, ran.message
    # Replayed at the recorded time and session key, the grant allows it again: unchanged.
    code = main(["audit", "replay", "--approvals", str(approvals.path), "--json", str(log)])
    assert code == 0


def _wall_now() -> int:
    import time  # noqa: PLC0415

    return time.time_ns() // 1_000_000


async def _answer_allow_always_for(days: int) -> ApproverAnswer:
    return ApproverAnswer(Decision.ALLOW_ALWAYS, grant_expires_in_days=days)


@pytest.mark.parametrize(("guard_days", "days"), [(None, 1), (None, 9), (2, 5), (30, 3)])
async def test_an_approvers_grant_lifetime_reaches_the_grant(
    tmp_path: Path, guard_days: int | None, days: int
) -> None:
    # The approver's grantExpiresInDays wins over the guard's grantExpiryDays, both ways.
    approvals = _store(tmp_path)
    clock = Clock()
    decided_at = NOW + 1234
    clock.now = decided_at
    async with MemoryApprovalStore() as store, anyio.create_task_group() as tg:
        await tg.start(serve_approver, store, lambda _r: _answer_allow_always_for(days))
        guard = ExecGuard(
            store=store, approvals=approvals, grant_expiry_days=guard_days, clock=clock
        )
        with anyio.fail_after(10):
            first = await guard.authorize("ls /etc", cwd="/tmp", env=ENV)
        tg.cancel_scope.cancel()
    assert first.allowed, first.message
    file = approvals.load()
    assert file is not None
    assert file.agents["main"].allowlist == ()  # never a permanent entry
    (grant,) = file.agents["main"].grants
    assert grant.expires_at_ms == decided_at + days * DAY_MS
    assert grant.approval_id == first.approval_id
    # Nobody to ask from here on: the grant alone decides (askFallback deny otherwise).
    unattended = ExecGuard(store=None, approvals=approvals, clock=clock)
    end = decided_at + days * DAY_MS
    for at, runs in [(end - DAY_MS, True), (end - 1, True), (end, False), (end + 1, False)]:
        clock.now = at
        auth = await unattended.authorize("ls /etc", cwd="/tmp", env=ENV)
        assert auth.allowed is runs, (at - end, auth.message)


async def test_a_grant_lifetime_without_allow_always_is_refused_by_the_answer() -> None:
    with pytest.raises(LocalProtocolError, match="only applies to allow-always"):
        ApproverAnswer(Decision.ALLOW_ONCE, grant_expires_in_days=7)
    for bad in (0, 3651, 1.5, "7", True):
        with pytest.raises(LocalProtocolError, match="1 to 3650"):
            ApproverAnswer(Decision.ALLOW_ALWAYS, grant_expires_in_days=bad)  # type: ignore[arg-type]
    assert ApproverAnswer(Decision.ALLOW_ALWAYS, grant_expires_in_days=3650).grant_expires_in_days


@pytest.mark.parametrize("bad", [0, -3, 3651, "7", True, "x"])
@pytest.mark.parametrize("guard_days", [None, 30])
def test_an_unreadable_lifetime_never_becomes_a_standing_grant(
    bad: object, guard_days: int | None
) -> None:
    from types import SimpleNamespace  # noqa: PLC0415

    from openclaw_exec._guard_grants import allow_always_lifetime  # noqa: PLC0415

    record = SimpleNamespace(grant_expires_in_days=bad, id="a1")
    lifetime = allow_always_lifetime(
        now_ms=1_000, expiry_days=guard_days, scope="agent", session_key=None, record=record
    )
    assert lifetime is not None
    assert lifetime.expires_at_ms == 1_000  # expired at once: the command ran, nothing stands
