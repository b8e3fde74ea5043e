"""
A reusable pytest suite that checks an :class:`~openclaw_exec.abc.ApprovalStore`.

Subclass :class:`ApprovalStoreContract` in a test module and implement :meth:`make_store`::

    class TestMyStore(ApprovalStoreContract):
        def make_store(self, *, grace_ms):
            return MyStore(url, grace_ms=grace_ms)   # an async context manager

Every test is ``@pytest.mark.anyio`` and runs on each ``anyio_backend`` your conftest gives.
The tests use real time with short lifetimes (tens of milliseconds), so a store's timers
must honour ``expires_at_ms`` within about 100 ms. Importing this module requires pytest.
"""

# ruff: noqa: D102  (each contract test is documented by its name)
from __future__ import annotations

import uuid
from contextlib import AbstractAsyncContextManager
from typing import Any

import anyio
import pytest

from openclaw_exec.abc import ApprovalStore
from openclaw_exec.exceptions import LocalProtocolError
from openclaw_exec.protocol import (
    ApprovalExpired,
    ApprovalOutcome,
    ApprovalRequest,
    ApprovalRequested,
    ApprovalResolved,
    ApprovalState,
    Decision,
    ExecBinding,
    Principal,
    TerminalReason,
)

__all__ = ["ApprovalStoreContract", "make_request"]

ALICE = Principal(id="alice", display_name="Alice", scopes=frozenset({"operator.approvals"}))
BOB = Principal(id="bob", scopes=frozenset({"operator.approvals"}))
SLACK = 2.0  # seconds: the longest any single contract step may take


def make_request(
    store: ApprovalStore,
    *,
    approval_id: str | None = None,
    command: str = "echo hi",
    lifetime_ms: int = 60_000,
    **fields: Any,
) -> ApprovalRequest:
    """A request stamped with the store's clock (helper for contract tests)."""
    now = store.now_ms()
    binding = fields.pop("binding", ExecBinding(argv=("sh", "-c", command)))
    return ApprovalRequest(
        id=approval_id or str(uuid.uuid4()),
        command=command,
        created_at_ms=now,
        expires_at_ms=now + lifetime_ms,
        binding=binding,
        **fields,
    )


@pytest.mark.anyio
class ApprovalStoreContract:
    """The guarantees of :class:`~openclaw_exec.abc.ApprovalStore`, one test each."""

    def make_store(self, *, grace_ms: int) -> AbstractAsyncContextManager[ApprovalStore]:
        """Return a fresh, empty store (an async context manager) with that grace window."""
        raise NotImplementedError

    # -- registration --------------------------------------------------------------

    async def test_register_is_pending_and_listed(self) -> None:
        async with self.make_store(grace_ms=15_000) as store:
            request = make_request(store)
            result = await store.register(request, requester=BOB, has_route=True)
            assert result.ok
            assert result.outcome is ApprovalOutcome.REGISTERED
            record = await store.get(request.id)
            assert record is not None
            assert record.state is ApprovalState.PENDING
            assert record.request == request
            assert [r.id for r in await store.list_pending()] == [request.id]

    async def test_register_same_request_is_idempotent(self) -> None:
        async with self.make_store(grace_ms=15_000) as store:
            request = make_request(store)
            await store.register(request, has_route=True)
            again = await store.register(request, has_route=True)
            assert again.ok
            assert again.outcome is ApprovalOutcome.ALREADY_PENDING
            assert len(await store.list_pending()) == 1

    async def test_register_other_request_under_pending_id_is_refused(self) -> None:
        async with self.make_store(grace_ms=15_000) as store:
            request = make_request(store, approval_id="same-id")
            await store.register(request, has_route=True)
            other = make_request(store, approval_id="same-id", command="rm -rf /")
            refused = await store.register(other, has_route=True)
            assert not refused.ok
            assert refused.outcome is ApprovalOutcome.ID_CONFLICT
            record = await store.get("same-id")
            assert record is not None
            assert record.request.command == "echo hi"

    async def test_register_settled_id_is_refused_within_grace(self) -> None:
        async with self.make_store(grace_ms=15_000) as store:
            request = make_request(store)
            await store.register(request, has_route=True)
            await store.resolve(request.id, Decision.DENY, approver=ALICE)
            refused = await store.register(request, has_route=True)
            assert refused.outcome is ApprovalOutcome.ID_SETTLED
            assert refused.reason == "APPROVAL_ALREADY_RESOLVED"

    async def test_no_route_expires_at_once(self) -> None:
        async with self.make_store(grace_ms=15_000) as store:
            request = make_request(store)
            result = await store.register(request, has_route=False)
            assert result.outcome is ApprovalOutcome.EXPIRED
            with anyio.fail_after(SLACK):
                record = await store.wait_decision(request.id)
            assert record is not None
            assert record.state is ApprovalState.EXPIRED
            assert record.decision is None
            assert record.reason is TerminalReason.NO_ROUTE
            assert await store.list_pending() == []

    # -- resolution ----------------------------------------------------------------

    async def test_first_resolve_wins_among_concurrent_approvers(self) -> None:
        async with self.make_store(grace_ms=15_000) as store:
            request = make_request(store)
            await store.register(request, has_route=True)
            decisions = [Decision.ALLOW_ONCE, Decision.DENY, Decision.ALLOW_ALWAYS] * 4
            results = []

            async def approve(i: int, decision: Decision) -> None:
                approver = Principal(id=f"approver-{i}")
                results.append(
                    (decision, await store.resolve(request.id, decision, approver=approver))
                )

            async with anyio.create_task_group() as tg:
                for i, decision in enumerate(decisions):
                    tg.start_soon(approve, i, decision)
            winners = [d for d, r in results if r.outcome is ApprovalOutcome.RESOLVED]
            assert len(winners) == 1
            for decision, result in results:
                if result.outcome is ApprovalOutcome.RESOLVED:
                    continue
                expected = (
                    ApprovalOutcome.RESOLVED_AGAIN
                    if decision is winners[0]
                    else ApprovalOutcome.ALREADY_RESOLVED
                )
                assert result.outcome is expected
            record = await store.get(request.id)
            assert record is not None
            assert record.decision is winners[0]

    async def test_repeat_same_decision_ok_different_refused(self) -> None:
        async with self.make_store(grace_ms=15_000) as store:
            request = make_request(store)
            await store.register(request, has_route=True)
            first = await store.resolve(request.id, Decision.ALLOW_ONCE, approver=ALICE)
            assert first.outcome is ApprovalOutcome.RESOLVED
            assert first.record is not None
            assert first.record.resolved_by == "Alice"
            same = await store.resolve(request.id, Decision.ALLOW_ONCE, approver=BOB)
            assert same.ok
            assert same.outcome is ApprovalOutcome.RESOLVED_AGAIN
            other = await store.resolve(request.id, Decision.DENY, approver=BOB)
            assert not other.ok
            assert other.reason == "APPROVAL_ALREADY_RESOLVED"
            record = await store.get(request.id)
            assert record is not None
            assert record.decision is Decision.ALLOW_ONCE
            assert record.resolved_by == "Alice"

    async def test_resolve_unknown_is_not_found(self) -> None:
        async with self.make_store(grace_ms=15_000) as store:
            result = await store.resolve("no-such-id", Decision.ALLOW_ONCE, approver=ALICE)
            assert result.outcome is ApprovalOutcome.NOT_FOUND
            assert result.reason == "APPROVAL_NOT_FOUND"

    async def test_anonymous_approver_is_refused_and_approval_stays_pending(self) -> None:
        async with self.make_store(grace_ms=15_000) as store:
            request = make_request(store)
            await store.register(request, has_route=True)
            for anonymous in (None, Principal(id=""), Principal(id="   ")):
                result = await store.resolve(request.id, Decision.ALLOW_ONCE, approver=anonymous)
                assert result.outcome is ApprovalOutcome.APPROVER_REFUSED
                assert result.reason == "APPROVER_NOT_ALLOWED"
            record = await store.get(request.id)
            assert record is not None
            assert record.state is ApprovalState.PENDING

    async def test_prefix_resolves_only_when_unique(self) -> None:
        async with self.make_store(grace_ms=15_000) as store:
            first = make_request(store, approval_id="abcd1111-one")
            second = make_request(store, approval_id="abcd2222-two")
            for request in (first, second):
                await store.register(request, has_route=True)
            ambiguous = await store.resolve("ABCD", Decision.DENY, approver=ALICE)
            assert ambiguous.outcome is ApprovalOutcome.NOT_FOUND
            assert ambiguous.reason == "APPROVAL_ID_AMBIGUOUS"
            assert "abcd1111-one" in ambiguous.message
            unique = await store.resolve("ABCD2", Decision.DENY, approver=ALICE)
            assert unique.outcome is ApprovalOutcome.RESOLVED
            assert unique.record is not None
            assert unique.record.id == "abcd2222-two"
            pending = await store.get("abcd1111-one")
            assert pending is not None
            assert pending.state is ApprovalState.PENDING

    # -- waiting -------------------------------------------------------------------

    async def test_every_waiter_gets_the_one_decision(self) -> None:
        async with self.make_store(grace_ms=15_000) as store:
            request = make_request(store)
            await store.register(request, has_route=True)
            seen: list[Decision | None] = []

            async def wait() -> None:
                record = await store.wait_decision(request.id)
                seen.append(None if record is None else record.decision)

            with anyio.fail_after(SLACK):
                async with anyio.create_task_group() as tg:
                    for _ in range(5):
                        tg.start_soon(wait)
                    await anyio.sleep(0.02)
                    await store.resolve(request.id, Decision.ALLOW_ALWAYS, approver=ALICE)
            assert seen == [Decision.ALLOW_ALWAYS] * 5
            with anyio.fail_after(SLACK):
                late = await store.wait_decision(request.id)
            assert late is not None
            assert late.decision is Decision.ALLOW_ALWAYS

    async def test_wait_timeout_returns_pending_record(self) -> None:
        async with self.make_store(grace_ms=15_000) as store:
            request = make_request(store)
            await store.register(request, has_route=True)
            with anyio.fail_after(SLACK):
                record = await store.wait_decision(request.id, timeout=0.05)
            assert record is not None
            assert record.state is ApprovalState.PENDING
            later = await store.resolve(request.id, Decision.DENY, approver=ALICE)
            assert later.outcome is ApprovalOutcome.RESOLVED

    async def test_wait_unknown_is_none(self) -> None:
        async with self.make_store(grace_ms=15_000) as store:
            with anyio.fail_after(SLACK):
                assert await store.wait_decision("never-registered", timeout=1) is None

    async def test_expiry_wakes_waiter_and_refuses_late_resolve(self) -> None:
        async with self.make_store(grace_ms=15_000) as store:
            request = make_request(store, lifetime_ms=60)
            await store.register(request, has_route=True)
            with anyio.fail_after(SLACK):
                record = await store.wait_decision(request.id)
            assert record is not None
            assert record.state is ApprovalState.EXPIRED
            assert record.reason is TerminalReason.TIMEOUT
            assert store.now_ms() >= request.expires_at_ms
            late = await store.resolve(request.id, Decision.ALLOW_ONCE, approver=ALICE)
            assert late.outcome is ApprovalOutcome.NOT_FOUND
            assert await store.list_pending() == []

    async def test_cancel_wakes_waiter_with_no_decision(self) -> None:
        async with self.make_store(grace_ms=15_000) as store:
            request = make_request(store)
            await store.register(request, has_route=True)
            out: list[Any] = []

            async def wait() -> None:
                out.append(await store.wait_decision(request.id))

            with anyio.fail_after(SLACK):
                async with anyio.create_task_group() as tg:
                    tg.start_soon(wait)
                    await anyio.sleep(0.02)
                    cancelled = await store.cancel(request.id)
                    assert cancelled.outcome is ApprovalOutcome.CANCELLED
            assert out[0] is not None
            assert out[0].state is ApprovalState.CANCELLED
            assert out[0].decision is None
            late = await store.resolve(request.id, Decision.ALLOW_ONCE, approver=ALICE)
            assert late.outcome is ApprovalOutcome.NOT_FOUND
            assert (await store.cancel(request.id)).outcome is ApprovalOutcome.IGNORED

    # -- consumption and binding ---------------------------------------------------

    async def test_allow_once_is_consumed_exactly_once(self) -> None:
        async with self.make_store(grace_ms=15_000) as store:
            request = make_request(store)
            await store.register(request, has_route=True)
            await store.resolve(request.id, Decision.ALLOW_ONCE, approver=ALICE)
            outcomes: list[ApprovalOutcome] = []

            async def consume() -> None:
                outcomes.append((await store.consume(request.id, request.binding)).outcome)

            async with anyio.create_task_group() as tg:
                for _ in range(8):
                    tg.start_soon(consume)
            assert outcomes.count(ApprovalOutcome.CONSUMED) == 1
            assert outcomes.count(ApprovalOutcome.NOT_CONSUMABLE) == 7
            record = await store.get(request.id)
            assert record is not None
            assert record.state is ApprovalState.CONSUMED

    async def test_allow_always_consumable_within_grace(self) -> None:
        async with self.make_store(grace_ms=15_000) as store:
            request = make_request(store)
            await store.register(request, has_route=True)
            await store.resolve(request.id, Decision.ALLOW_ALWAYS, approver=ALICE)
            for _ in range(3):
                assert (
                    await store.consume(request.id, request.binding)
                ).outcome is ApprovalOutcome.CONSUMED

    # -- grant lifetimes (OpenClaw 2026.9.6 grantExpiresInDays) ---------------------------

    async def test_allow_always_carries_its_grant_lifetime(self) -> None:
        async with self.make_store(grace_ms=15_000) as store:
            request = make_request(store)
            await store.register(request, has_route=True)
            async with store.subscribe() as events:
                result = await store.resolve(
                    request.id, Decision.ALLOW_ALWAYS, approver=ALICE, grant_expires_in_days=7
                )
                assert result.outcome is ApprovalOutcome.RESOLVED
                assert result.record is not None
                assert result.record.grant_expires_in_days == 7
                with anyio.fail_after(SLACK):
                    announced = await anext(events)
                    while not isinstance(announced, ApprovalResolved):  # a catch-up first
                        announced = await anext(events)
            assert announced.record.grant_expires_in_days == 7
            record = await store.get(request.id)
            assert record is not None
            assert record.grant_expires_in_days == 7
            with anyio.fail_after(SLACK):
                waited = await store.wait_decision(request.id)
            assert waited is not None
            assert waited.grant_expires_in_days == 7
            # The first answer's lifetime stands: a repeat cannot stretch or drop it.
            again = await store.resolve(
                request.id, Decision.ALLOW_ALWAYS, approver=BOB, grant_expires_in_days=3650
            )
            assert again.outcome is ApprovalOutcome.RESOLVED_AGAIN
            record = await store.get(request.id)
            assert record is not None
            assert record.grant_expires_in_days == 7

    async def test_allow_always_without_a_lifetime_carries_none(self) -> None:
        async with self.make_store(grace_ms=15_000) as store:
            request = make_request(store)
            await store.register(request, has_route=True)
            await store.resolve(request.id, Decision.ALLOW_ALWAYS, approver=ALICE)
            record = await store.get(request.id)
            assert record is not None
            assert record.grant_expires_in_days is None

    @pytest.mark.parametrize("decision", [Decision.ALLOW_ONCE, Decision.DENY])
    async def test_grant_lifetime_is_kept_only_with_allow_always(self, decision: Decision) -> None:
        # OpenClaw's gateway validates it with any decision but stamps only an allow-always.
        async with self.make_store(grace_ms=15_000) as store:
            request = make_request(store)
            await store.register(request, has_route=True)
            result = await store.resolve(
                request.id, decision, approver=ALICE, grant_expires_in_days=7
            )
            assert result.outcome is ApprovalOutcome.RESOLVED
            record = await store.get(request.id)
            assert record is not None
            assert record.decision is decision
            assert record.grant_expires_in_days is None

    @pytest.mark.parametrize("days", [0, -1, 3651, 1.5, 7.0, "7", True])
    async def test_bad_grant_lifetime_is_refused_and_changes_nothing(self, days: Any) -> None:
        async with self.make_store(grace_ms=15_000) as store:
            request = make_request(store)
            await store.register(request, has_route=True)
            with pytest.raises(LocalProtocolError, match="grant_expires_in_days") as refused:
                await store.resolve(
                    request.id, Decision.ALLOW_ALWAYS, approver=ALICE, grant_expires_in_days=days
                )
            assert refused.value.details["reason"] == "INVALID_PARAMS"
            record = await store.get(request.id)
            assert record is not None
            assert record.state is ApprovalState.PENDING

    async def test_decision_is_bound_to_the_plan(self) -> None:
        async with self.make_store(grace_ms=15_000) as store:
            request = make_request(store, command="ls")
            await store.register(request, has_route=True)
            await store.resolve(request.id, Decision.ALLOW_ONCE, approver=ALICE)
            swapped = ExecBinding(argv=("sh", "-c", "rm -rf ~"))
            refused = await store.consume(request.id, swapped)
            assert refused.outcome is ApprovalOutcome.NOT_CONSUMABLE
            assert refused.reason == "APPROVAL_REQUEST_MISMATCH"
            assert (
                await store.consume(request.id, request.binding)
            ).outcome is ApprovalOutcome.CONSUMED

    async def test_denied_pending_and_expired_are_not_consumable(self) -> None:
        async with self.make_store(grace_ms=15_000) as store:
            pending = make_request(store)
            denied = make_request(store)
            for request in (pending, denied):
                await store.register(request, has_route=True)
            await store.resolve(denied.id, Decision.DENY, approver=ALICE)
            expired = make_request(store)
            await store.register(expired, has_route=False)
            for request in (pending, denied, expired):
                result = await store.consume(request.id, request.binding)
                assert result.outcome is ApprovalOutcome.NOT_CONSUMABLE
            unknown = await store.consume("nope", None)
            assert unknown.outcome is ApprovalOutcome.NOT_FOUND

    # -- claims (one outcome per request) ------------------------------------------

    async def test_claim_answers_true_to_exactly_one_concurrent_caller(self) -> None:
        async with self.make_store(grace_ms=15_000) as store:
            request = make_request(store)
            await store.register(request, has_route=True)
            await store.resolve(request.id, Decision.ALLOW_ALWAYS, approver=ALICE)
            until = store.now_ms() + 60_000
            won: list[bool] = []

            async def claim() -> None:
                won.append(await store.claim(request.id, keep_until_ms=until))

            async with anyio.create_task_group() as tg:
                for _ in range(8):
                    tg.start_soon(claim)
            assert sorted(won) == [False] * 7 + [True]
            assert not await store.claim(request.id, keep_until_ms=until)

    async def test_claim_changes_no_record_and_needs_none(self) -> None:
        async with self.make_store(grace_ms=15_000) as store:
            request = make_request(store)
            await store.register(request, has_route=True)
            until = store.now_ms() + 60_000
            assert await store.claim(request.id, keep_until_ms=until)
            record = await store.get(request.id)
            assert record is not None
            assert record.state is ApprovalState.PENDING
            assert (
                await store.resolve(request.id, Decision.ALLOW_ONCE, approver=ALICE)
            ).outcome is ApprovalOutcome.RESOLVED
            assert (
                await store.consume(request.id, request.binding)
            ).outcome is ApprovalOutcome.CONSUMED
            assert await store.claim("never-registered", keep_until_ms=until)
            assert not await store.claim("never-registered", keep_until_ms=until)
            assert await store.claim(request.id.upper() + "-other", keep_until_ms=until)

    # -- grace window --------------------------------------------------------------

    async def test_settled_approval_is_forgotten_after_grace(self) -> None:
        async with self.make_store(grace_ms=50) as store:
            request = make_request(store)
            await store.register(request, has_route=True)
            await store.resolve(request.id, Decision.DENY, approver=ALICE)
            assert await store.get(request.id) is not None
            await anyio.sleep(0.15)
            assert await store.get(request.id) is None
            assert await store.wait_decision(request.id, timeout=0.01) is None
            again = await store.register(
                make_request(store, approval_id=request.id), has_route=True
            )
            assert again.outcome is ApprovalOutcome.REGISTERED

    # -- approver channels ---------------------------------------------------------

    async def test_subscriber_is_a_route_and_sees_events_in_order(self) -> None:
        async with self.make_store(grace_ms=15_000) as store:
            lonely = make_request(store)
            assert (await store.register(lonely)).outcome is ApprovalOutcome.EXPIRED
            async with store.subscribe() as events:
                request = make_request(store)
                assert (await store.register(request)).outcome is ApprovalOutcome.REGISTERED
                await store.resolve(request.id, Decision.ALLOW_ONCE, approver=ALICE)
                short = make_request(store, lifetime_ms=30)
                await store.register(short)
                with anyio.fail_after(SLACK):
                    await store.wait_decision(short.id)
                    seen = [await anext(events) for _ in range(4)]
            kinds = [(type(e), e.record.id) for e in seen]
            assert kinds == [
                (ApprovalRequested, request.id),
                (ApprovalResolved, request.id),
                (ApprovalRequested, short.id),
                (ApprovalExpired, short.id),
            ]
            resolved = seen[1].record
            assert resolved.decision is Decision.ALLOW_ONCE
            assert resolved.resolved_by == "Alice"
