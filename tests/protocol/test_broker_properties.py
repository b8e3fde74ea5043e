"""Random interleavings of register/resolve/wait/expire/cancel/disconnect (hypothesis)."""

from __future__ import annotations

from collections import defaultdict

from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from openclaw_exec.protocol import (
    NO_EVENT,
    ApprovalBroker,
    ApprovalCancelled,
    ApprovalExpired,
    ApprovalOutcome,
    ApprovalRequest,
    ApprovalRequested,
    ApprovalResolved,
    ApprovalState,
    Decision,
    ExecBinding,
    Principal,
    WaitFinished,
)

IDS = ["aaaa-1", "aaab-2", "bbbb-3"]
PREFIXES = ["a", "aaa", "aaab", "b", "bbbb-3", "AAAA"]
GRACE = 1_000
approvers = st.sampled_from([Principal(id="op"), Principal(id="op2"), Principal(id=""), None])


class BrokerMachine(RuleBasedStateMachine):
    @initialize()
    def start(self) -> None:
        self.broker = ApprovalBroker(grace_ms=GRACE)
        self.now = 0
        self.generation: dict[str, int] = defaultdict(int)
        self.decisions: dict[tuple[str, int], Decision] = {}
        self.settled: set[tuple[str, int]] = set()
        self.pending: dict[str, int] = {}  # id -> expires_at_ms, per the model
        self.parked: dict[object, str] = {}
        self.finished: set[object] = set()
        self.next_waiter = 0

    # ---------------------------------------------------------------- helpers

    def drain(self) -> None:
        while (event := self.broker.next_event()) is not NO_EVENT:
            if isinstance(event, WaitFinished):
                assert event.waiter in self.parked, "an outcome for a waiter that is not parked"
                assert event.waiter not in self.finished, "two outcomes for one waiter"
                assert self.parked.pop(event.waiter) == event.approval_id
                self.finished.add(event.waiter)
                continue
            key = (event.record.id, self.generation[event.record.id])
            if isinstance(event, ApprovalRequested):
                continue
            assert key not in self.settled, "an approval settled twice"
            self.settled.add(key)
            self.pending.pop(event.record.id, None)
            if isinstance(event, ApprovalResolved):
                assert event.record.decision is not None
                self.decisions[key] = event.record.decision
            elif isinstance(event, ApprovalExpired):
                assert event.record.decision is None
            else:
                assert isinstance(event, ApprovalCancelled)

    def request(self, approval_id: str, variant: int, lifetime: int) -> ApprovalRequest:
        return ApprovalRequest(
            id=approval_id,
            command=f"cmd {variant}",
            created_at_ms=self.now,
            expires_at_ms=self.now + lifetime,
            binding=ExecBinding(argv=("cmd", str(variant))),
        )

    # ---------------------------------------------------------------- rules

    @rule(
        approval_id=st.sampled_from(IDS),
        variant=st.integers(0, 1),
        lifetime=st.integers(1, 3_000),
        route=st.booleans(),
    )
    def register(self, approval_id: str, variant: int, lifetime: int, route: bool) -> None:
        before = self.broker.get(approval_id, now_ms=self.now)
        self.drain()
        result = self.broker.register(
            self.request(approval_id, variant, lifetime), now_ms=self.now, has_route=route
        )
        if before is None:
            self.generation[approval_id] += 1
            assert result.outcome in {ApprovalOutcome.REGISTERED, ApprovalOutcome.EXPIRED}
            if result.outcome is ApprovalOutcome.REGISTERED:
                self.pending[approval_id] = self.now + lifetime
        elif before.state is ApprovalState.PENDING:
            assert result.outcome in {ApprovalOutcome.ALREADY_PENDING, ApprovalOutcome.ID_CONFLICT}
        else:
            assert result.outcome is ApprovalOutcome.ID_SETTLED
        self.drain()

    @rule(key=st.sampled_from(IDS + PREFIXES), decision=st.sampled_from(Decision), who=approvers)
    def resolve(self, key: str, decision: Decision, who: Principal | None) -> None:
        result = self.broker.resolve(key, decision, approver=who, now_ms=self.now)
        if result.outcome is ApprovalOutcome.RESOLVED:
            assert who is not None
            assert who.id
        self.drain()
        if result.record is not None and result.outcome in {
            ApprovalOutcome.RESOLVED_AGAIN,
            ApprovalOutcome.ALREADY_RESOLVED,
        }:
            recorded = self.decisions[result.record.id, self.generation[result.record.id]]
            assert (recorded is decision) == (result.outcome is ApprovalOutcome.RESOLVED_AGAIN)

    @rule(approval_id=st.sampled_from(IDS), conn=st.sampled_from(["c1", "c2", None]))
    def wait(self, approval_id: str, conn: str | None) -> None:
        waiter = self.next_waiter
        self.next_waiter += 1
        result = self.broker.wait(approval_id, waiter=waiter, now_ms=self.now, connection=conn)
        self.drain()
        if result.outcome is ApprovalOutcome.WAITING:
            self.parked[waiter] = approval_id
        else:
            self.finished.add(waiter)
            if result.outcome is ApprovalOutcome.DECIDED:
                assert result.record is not None
                key = (approval_id, self.generation[approval_id])
                assert result.record.decision is self.decisions[key]

    @precondition(lambda self: bool(self.parked))
    @rule(data=st.data())
    def abandon(self, data: st.DataObject) -> None:
        waiter = data.draw(st.sampled_from(sorted(self.parked, key=str)))
        assert self.broker.abandon(waiter)
        del self.parked[waiter]
        self.finished.add(waiter)

    @rule(conn=st.sampled_from(["c1", "c2"]))
    def disconnect(self, conn: str) -> None:
        pending_before = {r.id for r in self.broker.pending(now_ms=self.now)}
        self.drain()
        for waiter in self.broker.disconnect(conn):
            assert waiter not in self.finished
            del self.parked[waiter]
            self.finished.add(waiter)
        assert {r.id for r in self.broker.pending(now_ms=self.now)} == pending_before

    @rule(approval_id=st.sampled_from(IDS))
    def expire(self, approval_id: str) -> None:
        self.broker.expire(approval_id, now_ms=self.now)
        self.drain()

    @rule(approval_id=st.sampled_from(IDS))
    def cancel(self, approval_id: str) -> None:
        self.broker.cancel(approval_id, now_ms=self.now)
        self.drain()

    @rule(approval_id=st.sampled_from(IDS), variant=st.integers(0, 1))
    def consume(self, approval_id: str, variant: int) -> None:
        before = self.broker.get(approval_id, now_ms=self.now)
        self.drain()
        result = self.broker.consume(
            approval_id, ExecBinding(argv=("cmd", str(variant))), now_ms=self.now
        )
        if result.outcome is ApprovalOutcome.CONSUMED:
            assert before is not None
            assert before.state in {ApprovalState.ALLOWED_ONCE, ApprovalState.ALLOWED_ALWAYS}
            assert before.request.binding == ExecBinding(argv=("cmd", str(variant)))
        self.drain()

    @rule(step=st.integers(0, 2_000))
    def advance(self, step: int) -> None:
        self.now += step
        self.broker.tick(self.now)
        self.drain()

    # ---------------------------------------------------------------- invariants

    @invariant()
    def no_pending_approval_is_lost(self) -> None:
        if not hasattr(self, "broker"):
            return
        for approval_id, expires in self.pending.items():
            if self.now < expires:
                record = self.broker.get(approval_id, now_ms=self.now)
                assert record is not None
                assert record.state is ApprovalState.PENDING
        self.drain()
        listed = {r.id for r in self.broker.pending(now_ms=self.now)}
        self.drain()
        assert listed == {i for i, e in self.pending.items() if self.now < e}

    @invariant()
    def parked_waiters_wait_on_pending_approvals(self) -> None:
        if not hasattr(self, "broker"):
            return
        assert self.broker.waiter_count == len(self.parked)
        for approval_id in self.parked.values():
            assert approval_id in self.pending


TestBroker = BrokerMachine.TestCase
