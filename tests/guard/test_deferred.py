"""
Deferred approvals: ExecGuard.check never waits, ExecGuard.resume settles (asyncio + trio).

Real analysis and a real memory store; the clock of the store is driven by the test where
expiry matters. What each test pins: the answer, and that one request has one outcome.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import anyio
import pytest

from openclaw_exec.adapters.memory import AutoApprover, MemoryApprovalStore
from openclaw_exec.guard import Authorization, ExecGuard, GuardReason, PendingApproval
from openclaw_exec.policy import ApprovalsFile, Ask, ExecPolicy, PolicyDefaults, Security
from openclaw_exec.protocol import ApprovalState, Decision, Principal, ScopedApprovers

pytestmark = pytest.mark.anyio

LS = shutil.which("ls")
assert LS is not None
ENV = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": "/root"}
ASK = ExecPolicy(security=Security.FULL, ask=Ask.ALWAYS, ask_fallback=Security.DENY)
ALICE = Principal(id="alice", display_name="Alice", scopes=frozenset({"operator.approvals"}))


class Clock:
    """A store clock the test moves (epoch milliseconds)."""

    def __init__(self) -> None:
        self.now = 1_800_000_000_000

    def __call__(self) -> int:
        return self.now


def make_guard(store: MemoryApprovalStore | None, **kwargs: object) -> ExecGuard:
    options: dict[str, object] = {"approvals_file": ApprovalsFile(), "policy": ASK}
    options.update(kwargs)
    return ExecGuard(store=store, timeout_ms=60_000, **options)  # type: ignore[arg-type]


async def pending_ls(guard: ExecGuard, command: str = "ls /etc") -> PendingApproval:
    first = await guard.check(command, cwd="/tmp", env=ENV, session_key="s-1", has_route=True)
    assert isinstance(first, PendingApproval), first
    return first


async def test_check_answers_at_once_when_the_policy_decides() -> None:
    async with MemoryApprovalStore() as store:
        allow = make_guard(store, policy=ExecPolicy(security=Security.FULL, ask=Ask.OFF))
        deny = make_guard(store, policy=ExecPolicy(security=Security.DENY))
        allowed = await allow.check("ls /etc", cwd="/tmp", env=ENV, has_route=True)
        denied = await deny.check("ls /etc", cwd="/tmp", env=ENV, has_route=True)
        assert isinstance(allowed, Authorization)
        assert allowed.allowed
        assert isinstance(denied, Authorization)
        assert not denied.allowed
        assert await store.list_pending() == []


async def test_pending_is_falsy_bound_to_the_plan_and_registered() -> None:
    async with MemoryApprovalStore() as store:
        guard = make_guard(store)
        with anyio.fail_after(5):  # never waits, although nobody is subscribed
            pending = await pending_ls(guard)
        assert not pending
        assert pending.allowed is False
        assert pending.binding.argv == ("sh", "-c", "ls /etc")
        assert (pending.binding.cwd, pending.binding.session_key) == ("/tmp", "s-1")
        assert pending.binding.env_hash is not None
        record = await store.get(pending.approval_id)
        assert record is not None
        assert record.state is ApprovalState.PENDING
        assert record.request.binding == pending.binding
        assert pending.expires_at_ms - pending.created_at_ms == 60_000


async def test_no_route_settles_check_at_once_with_the_fallback() -> None:
    async with MemoryApprovalStore() as store:
        guard = make_guard(store)
        first = await guard.check("ls /etc", cwd="/tmp", env=ENV)  # has_route=None: nobody
        assert isinstance(first, Authorization)
        assert not first.allowed
        assert first.no_route
        assert first.reason == "no-approval-route"


@pytest.mark.parametrize("decision", [Decision.ALLOW_ONCE, Decision.ALLOW_ALWAYS, Decision.DENY])
async def test_resume_with_the_decision_settles_once(decision: Decision) -> None:
    async with MemoryApprovalStore() as store:
        guard = make_guard(store)
        pending = await pending_ls(guard)
        auth = await guard.resume(pending, decision, approver=ALICE)
        assert isinstance(auth, Authorization)
        assert auth.allowed is (decision is not Decision.DENY)
        assert auth.decision is decision
        assert auth.approver == "Alice"
        assert auth.approval_id == pending.approval_id
        # One request, one outcome: every later resume is refused, whatever it brings.
        for again in (None, Decision.ALLOW_ONCE, Decision.ALLOW_ALWAYS):
            replay = await guard.resume(pending, again, approver=ALICE)
            assert isinstance(replay, Authorization)
            assert not replay.allowed
            assert replay.reason == GuardReason.APPROVAL_REPLAYED


async def test_resume_without_a_decision_reads_the_approvers_answer() -> None:
    async with MemoryApprovalStore() as store:
        guard = make_guard(store)
        pending = await pending_ls(guard)
        assert await guard.resume(pending) is pending  # nothing decided yet: still pending
        await store.resolve(pending.approval_id, Decision.ALLOW_ONCE, approver=ALICE)
        auth = await guard.resume(pending)
        assert isinstance(auth, Authorization)
        assert auth.allowed
        assert auth.approver == "Alice"
        record = await store.get(pending.approval_id)
        assert record is not None
        assert record.state is ApprovalState.CONSUMED


async def test_the_first_decision_wins_over_the_resume_decision() -> None:
    async with MemoryApprovalStore() as store:
        guard = make_guard(store)
        pending = await pending_ls(guard)
        await store.resolve(pending.approval_id, Decision.DENY, approver=ALICE)
        auth = await guard.resume(pending, Decision.ALLOW_ONCE)
        assert isinstance(auth, Authorization)
        assert not auth.allowed
        assert auth.reason == GuardReason.USER_DENIED


async def test_resume_waits_for_an_approver_when_asked_to() -> None:
    async with MemoryApprovalStore() as store, anyio.create_task_group() as tg:
        guard = make_guard(store)
        pending = await pending_ls(guard)
        await tg.start(AutoApprover(store, Decision.ALLOW_ONCE).run)  # catches up
        with anyio.fail_after(5):
            auth = await guard.resume(pending, wait=None)
        assert isinstance(auth, Authorization)
        assert auth.allowed
        tg.cancel_scope.cancel()


async def test_a_resume_from_another_task_while_one_waits_gives_one_outcome() -> None:
    async with MemoryApprovalStore() as store:
        guard = make_guard(store)
        pending = await pending_ls(guard)
        results: list[Authorization | PendingApproval] = []

        async def waiter() -> None:
            results.append(await guard.resume(pending, wait=None))

        async with anyio.create_task_group() as tg:
            tg.start_soon(waiter)
            await anyio.sleep(0.05)
            results.append(await guard.resume(pending, Decision.ALLOW_ONCE, approver=ALICE))
        assert sorted(bool(r) for r in results) == [False, True]
        refused = [r for r in results if not r]
        assert isinstance(refused[0], Authorization)
        assert refused[0].reason == GuardReason.APPROVAL_REPLAYED


@pytest.mark.parametrize(("fallback", "allowed"), [(Security.DENY, False), (Security.FULL, True)])
async def test_expiry_applies_ask_fallback_once(fallback: Security, allowed: bool) -> None:
    clock = Clock()
    async with MemoryApprovalStore(clock=clock) as store:
        policy = ExecPolicy(security=Security.FULL, ask=Ask.ALWAYS, ask_fallback=fallback)
        guard = make_guard(store, policy=policy)
        pending = await pending_ls(guard)
        clock.now = pending.expires_at_ms
        auth = await guard.resume(pending, Decision.ALLOW_ONCE, approver=ALICE)  # too late
        assert isinstance(auth, Authorization)
        assert auth.allowed is allowed
        assert auth.decision is None
        assert not auth.no_route
        assert auth.reason == ("ask-fallback-full" if allowed else "approval-timeout")
        replay = await guard.resume(pending)
        assert isinstance(replay, Authorization)
        assert replay.reason == GuardReason.APPROVAL_REPLAYED


async def test_a_different_plan_is_refused_and_the_approval_stays() -> None:
    async with MemoryApprovalStore() as store:
        guard = make_guard(store)
        pending = await pending_ls(guard)
        data = json.loads(json.dumps(pending.to_dict()))
        swapped = dict(data, command="ls /root")
        other_env = PendingApproval.from_dict(data, env={**ENV, "LANG": "C"})
        for forged in (PendingApproval.from_dict(swapped, env=ENV), other_env):
            refused = await guard.resume(forged, Decision.ALLOW_ONCE, approver=ALICE)
            assert isinstance(refused, Authorization)
            assert not refused.allowed
            assert refused.reason == GuardReason.APPROVAL_PLAN_MISMATCH
        record = await store.get(pending.approval_id)
        assert record is not None
        assert record.state is ApprovalState.PENDING  # nothing was decided by the forgeries
        auth = await guard.resume(pending, Decision.ALLOW_ONCE, approver=ALICE)
        assert isinstance(auth, Authorization)
        assert auth.allowed


async def test_a_forged_binding_for_another_id_is_refused() -> None:
    async with MemoryApprovalStore() as store:
        guard = make_guard(store)
        victim = await pending_ls(guard, "ls /etc")
        mine = await pending_ls(guard, "ls /root")
        data = dict(victim.to_dict(), command="ls /root", binding=mine.to_dict()["binding"])
        forged = PendingApproval.from_dict(data, env=ENV)
        refused = await guard.resume(forged, Decision.ALLOW_ONCE, approver=ALICE)
        assert isinstance(refused, Authorization)
        assert refused.reason == GuardReason.APPROVAL_PLAN_MISMATCH


async def test_a_restarted_guard_resumes_from_the_serialised_handle() -> None:
    async with MemoryApprovalStore() as store:
        pending = await pending_ls(make_guard(store))
        text = json.dumps(pending.to_dict())
        assert "/root" not in text  # the environment travels as its hash only
        again = PendingApproval.from_dict(json.loads(text), env=ENV)
        assert again == pending
        auth = await make_guard(store).resume(again, "allow-once", approver=ALICE)
        assert isinstance(auth, Authorization)
        assert auth.allowed


async def test_a_lost_memory_store_refuses_never_allows() -> None:
    async with MemoryApprovalStore() as store:
        pending = await pending_ls(make_guard(store))
    async with MemoryApprovalStore() as fresh:  # the process restarted: nothing was kept
        policy = ExecPolicy(security=Security.FULL, ask=Ask.ALWAYS, ask_fallback=Security.FULL)
        guard = make_guard(fresh, policy=policy)
        auth = await guard.resume(pending, Decision.ALLOW_ONCE, approver=ALICE)
        assert isinstance(auth, Authorization)
        assert not auth.allowed
        assert auth.reason == GuardReason.APPROVAL_UNKNOWN


async def test_a_refused_approver_leaves_the_approval_pending() -> None:
    async with MemoryApprovalStore(approver_policy=ScopedApprovers()) as store:
        guard = make_guard(store)
        pending = await pending_ls(guard)
        refused = await guard.resume(pending, Decision.ALLOW_ONCE)  # default: no scopes
        assert isinstance(refused, Authorization)
        assert refused.reason == GuardReason.APPROVAL_REQUEST_FAILED
        assert "refused" in refused.message
        auth = await guard.resume(pending, Decision.ALLOW_ONCE, approver=ALICE)
        assert isinstance(auth, Authorization)
        assert auth.allowed


async def test_a_policy_that_now_decides_alone_answers_the_resume() -> None:
    file = ApprovalsFile()
    async with MemoryApprovalStore() as store:
        guard = make_guard(store, approvals_file=file)
        pending = await pending_ls(guard)
        guard.approvals_file = ApprovalsFile(defaults=PolicyDefaults(security=Security.DENY))
        auth = await guard.resume(pending, Decision.ALLOW_ONCE, approver=ALICE)
        assert isinstance(auth, Authorization)
        assert not auth.allowed
        assert auth.decision is None  # the human's answer was never used


async def test_nonsense_decisions_and_handles_are_refused_loudly() -> None:
    async with MemoryApprovalStore() as store:
        guard = make_guard(store)
        pending = await pending_ls(guard)
        with pytest.raises(Exception, match="allow-sometimes"):
            await guard.resume(pending, "allow-sometimes")
        assert (await store.get(pending.approval_id)).state is ApprovalState.PENDING  # type: ignore[union-attr]
    good = pending.to_dict()
    for bad, field in (
        ([], "mapping"),
        ({**good, "version": 2}, "version"),
        ({**good, "binding": None}, "binding"),
        ({**good, "expiresAtMs": "soon"}, "expiresAtMs"),
        ({**good, "binding": {**good["binding"], "argv": []}}, "argv"),
        ({**good, "binding": {**good["binding"], "argv": [1]}}, "argv"),
    ):
        with pytest.raises(ValueError, match=field):
            PendingApproval.from_dict(bad)  # type: ignore[arg-type]


async def test_no_store_means_nothing_to_resume(tmp_path: Path) -> None:
    async with MemoryApprovalStore() as store:
        pending = await pending_ls(make_guard(store))
    auth = await make_guard(None).resume(pending, Decision.ALLOW_ONCE)
    assert isinstance(auth, Authorization)
    assert auth.reason == GuardReason.APPROVAL_UNKNOWN
