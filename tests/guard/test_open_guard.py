"""open_guard: one ``async with`` owns the store and the approver (asyncio + trio)."""

from __future__ import annotations

import anyio
import pytest

import openclaw_exec
from openclaw_exec.adapters.memory import MemoryApprovalStore
from openclaw_exec.guard import Authorization, PendingApproval
from openclaw_exec.policy import Ask, ExecPolicy, Security
from openclaw_exec.protocol import ApprovalRequest, Decision

pytestmark = pytest.mark.anyio

ENV = {"PATH": "/usr/bin:/bin"}
ASK = ExecPolicy(security=Security.FULL, ask=Ask.ALWAYS, ask_fallback=Security.DENY)


async def test_the_approver_answers_and_the_store_is_closed_after() -> None:
    seen: list[str] = []

    async def approve(request: ApprovalRequest) -> Decision:
        seen.append(request.command)
        return Decision.ALLOW_ONCE if request.command.startswith("ls") else Decision.DENY

    async with openclaw_exec.open_guard(policy=ASK, approver=approve) as guard:
        store = guard.store
        assert isinstance(store, MemoryApprovalStore)
        with anyio.fail_after(10):
            allowed = await guard.authorize("ls /", cwd="/", env=ENV)
            denied = await guard.authorize("rm -rf /tmp/x", cwd="/", env=ENV)
    assert allowed.allowed
    assert allowed.approver == "approver"
    assert not denied.allowed
    assert seen == ["ls /", "rm -rf /tmp/x"]
    with pytest.raises(openclaw_exec.LocalProtocolError, match="closed"):
        await store.list_pending()


async def test_no_approver_means_the_fallback_at_once_and_deferred_still_works() -> None:
    async with openclaw_exec.open_guard(policy=ASK) as guard:
        with anyio.fail_after(5):
            auth = await guard.authorize("ls /", cwd="/", env=ENV)
        assert not auth.allowed
        assert auth.no_route
        pending = await guard.check("ls /", cwd="/", env=ENV, has_route=True)
        assert isinstance(pending, PendingApproval)
        done = await guard.resume(pending, Decision.ALLOW_ONCE)
        assert isinstance(done, Authorization)
        assert done.allowed


async def test_a_given_store_is_left_open_and_errors_propagate_unwrapped() -> None:
    async with MemoryApprovalStore() as store:
        with pytest.raises(KeyError, match="mine"):  # noqa: PT012 (the body is the subject)
            async with openclaw_exec.open_guard(store=store, approver=Decision.DENY) as guard:
                assert guard.store is store
                raise KeyError("mine")
        assert await store.list_pending() == []  # still open
        assert store.subscriber_count == 0  # the approver stopped


async def test_a_broken_approver_never_reaches_the_body() -> None:
    def broken(request: ApprovalRequest) -> Decision:
        raise RuntimeError(request.command)

    async with openclaw_exec.open_guard(policy=ASK, approver=broken) as guard:
        with anyio.fail_after(10):
            auth = await guard.authorize("ls /", cwd="/", env=ENV)
        assert not auth.allowed
        assert auth.decision is Decision.DENY


async def test_a_non_approver_is_refused_before_anything_starts() -> None:
    with pytest.raises(TypeError, match="callable"):
        async with openclaw_exec.open_guard(approver="yes"):  # type: ignore[arg-type]
            pass
