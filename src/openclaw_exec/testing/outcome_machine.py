"""
A hypothesis state machine: one request, one outcome, whatever the interleaving.

:class:`OutcomeMachine` drives a real :class:`~openclaw_exec.guard.ExecGuard` over a real
:class:`~openclaw_exec.abc.ApprovalStore` through random interleavings of deferred checks,
resumes (with and without a decision, concurrent pairs, forged plans), answers from an
approver surface, clock jumps past expiry, guard restarts (handles carried across as JSON),
store restarts, and (for stores that keep nothing) a lost store. After every step it checks:

* each request has at most one outcome (one final answer that is not a refusal) and at most
  one allowed run;
* the outcome is the model's: the first decision before expiry decides; expiry applies
  ``askFallback``; a later resume is refused (``approval-replayed``); a lost or forgotten
  request is refused (``approval-unknown``), never allowed; a forged plan is refused and
  changes nothing.

The event loop runs in a blocking portal, so one machine works on asyncio and on trio.
Use :func:`run_outcome_machine` from a test; a store factory returns an async context
manager (a store with the given clock)::

    def test_my_store_gives_one_outcome():
        run_outcome_machine(
            lambda clock: MyStore(clock=clock, grace_ms=GRACE_MS), backend="asyncio"
        )

Importing this module requires ``hypothesis``.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

import anyio
import anyio.from_thread
import attrs
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from openclaw_exec.abc import ApprovalStore
from openclaw_exec.guard import Authorization, ExecGuard, GuardReason, PendingApproval
from openclaw_exec.policy import ApprovalsFile, Ask, ExecPolicy, Security
from openclaw_exec.protocol import Decision, Principal

__all__ = ["GRACE_MS", "TIMEOUT_MS", "OutcomeMachine", "StoreFactory", "run_outcome_machine"]

TIMEOUT_MS = 1_000
"""Approval lifetime in the machine (store-clock milliseconds: the clock is the machine's)."""

GRACE_MS = 1_000_000
"""The grace window stores must be made with: longer than every clock jump of a run."""

_MAX_ADVANCE_MS = 20 * TIMEOUT_MS  # far below GRACE_MS and below Redis's 30 s epoch lease
_ENV = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": "/nonexistent"}
_COMMANDS = ("ls /", "ls /tmp", "echo hi")
_ALICE = Principal(id="alice", display_name="Alice")
_DECISIONS = st.sampled_from(list(Decision))
_REFUSALS = {
    GuardReason.APPROVAL_REPLAYED,
    GuardReason.APPROVAL_UNKNOWN,
    GuardReason.APPROVAL_PLAN_MISMATCH,
}

StoreFactory = Callable[[Callable[[], int]], AbstractAsyncContextManager[ApprovalStore]]
"""Makes a store on the given clock, with ``grace_ms=GRACE_MS``, sharing state with the
stores made before it when the store persists (a Redis prefix), else fresh."""


class _Clock:
    def __init__(self) -> None:
        self.now = 1_900_000_000_000

    def __call__(self) -> int:
        return self.now


@attrs.define
class _Model:
    """What the machine expects of one request."""

    handle: PendingApproval
    decision: Decision | None = None  # the first decision recorded before expiry
    expired: bool = False
    lost: bool = False  # the store that held it is gone
    outcomes: list[Authorization] = attrs.field(factory=list)  # final, not refusals
    allowed_runs: int = 0


class OutcomeMachine(RuleBasedStateMachine):
    """See the module docstring. Subclass it or use :func:`run_outcome_machine`."""

    backend = "asyncio"
    store_factory: StoreFactory
    persistent = True  # a restarted store still holds the approvals
    requests = Bundle("requests")

    def __init__(self) -> None:
        super().__init__()
        self.clock = _Clock()
        self.advanced = 0
        self.models: dict[str, _Model] = {}
        self._stack = contextlib.ExitStack()
        self.portal = self._stack.enter_context(
            anyio.from_thread.start_blocking_portal(self.backend)
        )
        self._store_cm: contextlib.AbstractContextManager[ApprovalStore] | None = None
        self.fallback = Security.DENY
        self.store = self._open_store()
        self.guard = self._make_guard()

    # ------------------------------------------------------------------ plumbing

    def _open_store(self) -> ApprovalStore:
        cm = self.portal.wrap_async_context_manager(type(self).store_factory(self.clock))
        store = cm.__enter__()
        self._store_cm = cm
        return store

    def _close_store(self) -> None:
        cm, self._store_cm = self._store_cm, None
        if cm is not None:
            cm.__exit__(None, None, None)

    def _make_guard(self) -> ExecGuard:
        policy = ExecPolicy(security=Security.FULL, ask=Ask.ALWAYS, ask_fallback=self.fallback)
        return ExecGuard(
            store=self.store, approvals_file=ApprovalsFile(), policy=policy, timeout_ms=TIMEOUT_MS
        )

    def teardown(self) -> None:
        """Close the store and stop the event loop."""
        try:
            self._close_store()
        finally:
            self._stack.close()

    def _resume(
        self, handle: PendingApproval, decision: Decision | None
    ) -> Authorization | PendingApproval:
        async def call() -> Authorization | PendingApproval:
            with anyio.fail_after(30):
                return await self.guard.resume(handle, decision, approver=_ALICE)

        return self.portal.call(call)

    def _now_expired(self, model: _Model) -> bool:
        return self.clock.now >= model.handle.expires_at_ms

    def _expect(self, model: _Model, got: Authorization | PendingApproval) -> None:
        """Check one resume answer against the model, and record it."""
        if model.lost:
            assert isinstance(got, Authorization), got
            assert got.reason == GuardReason.APPROVAL_UNKNOWN, got
            assert not got.allowed
            return
        if isinstance(got, PendingApproval):
            assert got is model.handle or got == model.handle
            assert model.decision is None, "a decided request was reported pending"
            assert not model.expired, "an expired request was reported pending"
            assert not model.outcomes
            return
        if got.reason in _REFUSALS:
            assert not got.allowed
            assert got.reason == GuardReason.APPROVAL_REPLAYED, got
            assert model.outcomes, "refused as replayed before any outcome"
            return
        assert not model.outcomes, f"a second outcome: {got.reason} after {model.outcomes}"
        model.outcomes.append(got)
        if model.decision is not None:
            assert got.decision is model.decision, (got, model.decision)
            assert got.allowed is (model.decision is not Decision.DENY), got
        else:
            assert model.expired, got
            assert got.decision is None
            assert got.allowed is (self.fallback is Security.FULL), got
        if got.allowed:
            model.allowed_runs += 1

    # ------------------------------------------------------------------ rules

    @initialize(fallback=st.sampled_from([Security.DENY, Security.FULL]))
    def choose_fallback(self, fallback: Security) -> None:
        """Choose ``askFallback`` for this run: expiry denies, or allows once."""
        self.fallback = fallback
        self.guard = self._make_guard()

    @rule(target=requests, command=st.sampled_from(_COMMANDS))
    def check(self, command: str) -> str:
        """A deferred check: registered at once, pending."""

        async def call() -> Authorization | PendingApproval:
            return await self.guard.check(command, cwd="/", env=_ENV, has_route=True)

        got = self.portal.call(call)
        assert isinstance(got, PendingApproval), got
        assert not got
        self.models[got.approval_id] = _Model(handle=got)
        return got.approval_id

    @rule(approval_id=requests, decision=_DECISIONS)
    def surface_answers(self, approval_id: str, decision: Decision) -> None:
        """An approver surface records a decision in the store (first one wins)."""
        model = self.models[approval_id]

        async def call() -> None:
            await self.store.resolve(approval_id, decision, approver=_ALICE)

        self.portal.call(call)
        if model.lost or model.decision is not None or self._now_expired(model):
            return
        model.decision = decision

    @rule(approval_id=requests, decision=st.none() | _DECISIONS)
    def resume(self, approval_id: str, decision: Decision | None) -> None:
        """A resume, with the human's decision or without one."""
        model = self.models[approval_id]
        self._note_expiry(model)
        pending = not model.lost and model.decision is None and not model.expired
        if decision is not None and pending:
            model.decision = decision
        self._expect(model, self._resume(model.handle, decision))

    @rule(approval_id=requests, first=st.none() | _DECISIONS, second=st.none() | _DECISIONS)
    def concurrent_resumes(
        self, approval_id: str, first: Decision | None, second: Decision | None
    ) -> None:
        """Two resumes of one request at once (two tasks, or two replicas of an agent)."""
        model = self.models[approval_id]
        self._note_expiry(model)
        results: list[Authorization | PendingApproval] = []

        async def both() -> None:
            async def one(decision: Decision | None) -> None:
                results.append(await self.guard.resume(model.handle, decision, approver=_ALICE))

            with anyio.fail_after(30):
                async with anyio.create_task_group() as tg:
                    tg.start_soon(one, first)
                    tg.start_soon(one, second)

        self.portal.call(both)
        if model.lost:
            for got in results:
                self._expect(model, got)
            return
        finals = [g for g in results if isinstance(g, Authorization) and g.reason not in _REFUSALS]
        assert len(finals) <= 1, f"two outcomes from concurrent resumes: {finals}"
        if model.decision is None and not model.expired and finals:
            decision = finals[0].decision
            assert decision is not None
            assert decision in {first, second}
            model.decision = decision
        for got in sorted(results, key=lambda g: g in finals, reverse=True):
            if isinstance(got, PendingApproval):
                # Ran before the other task's decision was recorded: still pending then.
                assert got == model.handle
                continue
            self._expect(model, got)

    @rule(approval_id=requests, command=st.sampled_from(_COMMANDS))
    def forged_plan(self, approval_id: str, command: str) -> None:
        """A resume whose plan differs from the approval's: refused, changes nothing."""
        model = self.models[approval_id]
        data = dict(model.handle.to_dict(), command=command + " ; id")
        forged = PendingApproval.from_dict(json.loads(json.dumps(data)), env=_ENV)
        got = self._resume(forged, Decision.ALLOW_ONCE)
        assert isinstance(got, Authorization)
        assert not got.allowed
        assert got.reason in {GuardReason.APPROVAL_PLAN_MISMATCH, GuardReason.APPROVAL_UNKNOWN}

    @precondition(lambda self: self.advanced < _MAX_ADVANCE_MS)
    @rule(ms=st.sampled_from([1, TIMEOUT_MS // 2, TIMEOUT_MS]))
    def time_passes(self, ms: int) -> None:
        """The clock moves; requests past their expiry are expired for every call."""
        self.clock.now += ms
        self.advanced += ms
        for model in self.models.values():
            self._note_expiry(model)

    def _note_expiry(self, model: _Model) -> None:
        if model.decision is None and self._now_expired(model):
            model.expired = True

    @rule()
    def restart_guard(self) -> None:
        """The agent restarts: a new guard, the handles carried across as JSON."""
        self.guard = self._make_guard()
        for model in self.models.values():
            text = json.dumps(model.handle.to_dict())
            model.handle = PendingApproval.from_dict(json.loads(text), env=_ENV)

    @rule()
    def restart_store(self) -> None:
        """The store's process restarts (a Redis replica); a store that keeps nothing loses all."""
        self._close_store()
        self.store = self._open_store()
        self.guard = self._make_guard()
        if not type(self).persistent:
            for model in self.models.values():
                model.lost = True

    # ------------------------------------------------------------------ invariants

    @invariant()
    def one_outcome_per_request(self) -> None:
        """At most one outcome and one allowed run per request, ever."""
        for model in self.models.values():
            assert len(model.outcomes) <= 1
            assert model.allowed_runs <= 1


def run_outcome_machine(
    store_factory: StoreFactory,
    *,
    backend: str = "asyncio",
    persistent: bool = True,
    max_examples: int = 10,
    steps: int = 20,
) -> None:
    """
    Run :class:`OutcomeMachine` on *store_factory*'s stores as one test.

    Args:
        store_factory: Makes a store on the machine's clock with ``grace_ms=GRACE_MS``.
        backend: ``asyncio`` or ``trio``.
        persistent: Whether a store made again still holds what the previous one held.
        max_examples: Hypothesis examples (runs of the machine).
        steps: Steps per run at most.
    """
    machine: Any = type(
        "OutcomeMachineRun",
        (OutcomeMachine,),
        {
            "backend": backend,
            "store_factory": staticmethod(store_factory),
            "persistent": persistent,
        },
    )
    run_state_machine_as_test(  # type: ignore[no-untyped-call]
        machine,
        settings=settings(max_examples=max_examples, stateful_step_count=steps, deadline=None),
    )
