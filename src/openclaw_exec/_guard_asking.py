"""
The exec guard's asking half: register an approval, wait for it, settle it once.

:class:`_Asking` is a mixin of :class:`openclaw_exec.guard.ExecGuard` (split along the idea:
the guard module decides what to ask, this one turns an ask into exactly one outcome).
Nothing here is public; the behaviour is documented on ``ExecGuard.authorize``, ``check``
and ``resume``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

import anyio
import attrs

from openclaw_exec._guard_effects import audit_authorization, persist_grants
from openclaw_exec._guard_grants import allow_always_lifetime
from openclaw_exec._guard_values import (
    Authorization,
    GuardReason,
    PendingApproval,
    _Ask,
    _Outcome,
    _portable,
    _Request,
)
from openclaw_exec.exceptions import LocalProtocolError, OpenClawExecError, TransportError
from openclaw_exec.policy import fallback_verdict
from openclaw_exec.protocol import (
    ApprovalOutcome,
    ApprovalRecord,
    ApprovalRequest,
    ApprovalState,
    Decision,
    ExecBinding,
    Principal,
    TerminalReason,
)
from openclaw_exec.sandbox import binding_argv

if TYPE_CHECKING:
    from openclaw_exec.abc import ApprovalStore
    from openclaw_exec.adapters.filestore import ApprovalsStore
    from openclaw_exec.audit import AuditLog

__all__: list[str] = []

_RPC_SLACK_S = 10.0  # OpenClaw waits approval timeout + 10 s before giving up on the gateway
# A claim is kept this long after the record itself may be forgotten (clock skew between
# replicas, a sweeper that runs late): a replay then finds no record and no chance to win.
_CLAIM_SLACK_MS = 60_000
_RESUMER = Principal(id="exec-guard-resume", display_name="resume")


class _Asking:
    """Registering, waiting for and settling approvals (see the module docstring)."""

    store: ApprovalStore | None
    approvals: ApprovalsStore | None
    audit: AuditLog | None
    timeout_ms: int
    host: str
    requester: Principal
    _new_id: Callable[[], str]
    _clock: Callable[[], int]
    grant_expiry_days: int | None
    allow_always_scope: str

    def _binding(
        self, outcome: _Outcome, session_key: str | None, env: Mapping[str, str]
    ) -> ExecBinding:
        """The plan an approval of *outcome* is bound to (what runs, where, with what)."""
        return ExecBinding.of(
            binding_argv(("sh", "-c", outcome.command), outcome.sandbox, outcome.sandbox_spec),
            cwd=outcome.cwd,
            agent_id=outcome.agent_id,
            session_key=session_key,
            env=env,
        )

    async def _resume_asked(
        self,
        plan: _Ask,
        pending: PendingApproval,
        parsed: Decision | None,
        approver: Principal | None,
        wait: float | None,
    ) -> Authorization | PendingApproval:
        """:meth:`ExecGuard.resume` once the plan still asks: find, decide, wait, settle."""
        outcome = attrs.evolve(plan.outcome, approval_id=pending.approval_id)
        ask = attrs.evolve(plan, outcome=outcome)
        store = self.store
        if store is None:
            return await self._refuse(
                ask, GuardReason.APPROVAL_UNKNOWN, "no approval store configured: nothing to resume"
            )
        if ask.binding != pending.binding:
            return await self._refuse(ask, GuardReason.APPROVAL_PLAN_MISMATCH, _MISMATCH)
        try:
            record = await store.get(pending.approval_id)
            if record is not None and record.request.binding != ask.binding:
                return await self._refuse(ask, GuardReason.APPROVAL_PLAN_MISMATCH, _MISMATCH)
            if record is not None and parsed is not None and record.state is ApprovalState.PENDING:
                result = await store.resolve(
                    pending.approval_id, parsed, approver=approver or _RESUMER
                )
                if result.outcome is ApprovalOutcome.APPROVER_REFUSED:
                    message = f"the decision was refused: {result.message or 'approver refused'}"
                    return await self._refuse(ask, GuardReason.APPROVAL_REQUEST_FAILED, message)
                record = await store.get(pending.approval_id)
            if record is not None and record.state is ApprovalState.PENDING and wait != 0:
                remaining = (record.request.expires_at_ms - store.now_ms()) / 1000 + _RPC_SLACK_S
                timeout = remaining if wait is None else min(max(wait, 0.0), remaining)
                record = await store.wait_decision(pending.approval_id, timeout=timeout)
        except (OpenClawExecError, OSError) as exc:
            # Unlike authorize(), no askFallback here: the outcome may exist in the store,
            # and a fallback taken now could contradict it when the store comes back.
            message = f"approval store unavailable: {exc}"
            return await self._refuse(ask, GuardReason.APPROVAL_REQUEST_FAILED, message)
        if record is None:
            return await self._refuse(ask, GuardReason.APPROVAL_UNKNOWN, _UNKNOWN)
        if record.state is ApprovalState.PENDING:
            return pending
        return await self._settle(ask, record)

    async def _open(
        self, ask: _Ask, call: _Request, *, has_route: bool | None
    ) -> tuple[Authorization | PendingApproval, _Ask | None]:
        """Register the approval: a :class:`PendingApproval`, or a final answer at once."""
        outcome = ask.outcome
        store = self.store
        if store is None:
            final = self._fallback(outcome, no_route=True, note="no approval store configured")
            return await self._finish(final, ask.session_key, ask.env), None
        evaluation = outcome.evaluation
        policy = outcome.policy
        assert evaluation is not None
        assert policy is not None
        resolved_path = None
        if evaluation.segments and evaluation.segments[0].executable is not None:
            resolved_path = evaluation.segments[0].executable.path
        approval_id = self._new_id()
        now = store.now_ms()
        try:
            request = ApprovalRequest(
                id=approval_id,
                command=outcome.command,
                created_at_ms=now,
                expires_at_ms=now + self.timeout_ms,
                cwd=outcome.cwd,
                host=self.host,
                security=policy.security.value,
                ask=policy.ask.value,
                agent_id=outcome.agent_id,
                resolved_path=resolved_path,
                session_key=ask.session_key,
                env_keys=tuple(sorted(k for k in ask.env if _portable(k))),
                binding=ask.binding,
            )
        except (ValueError, TypeError) as exc:
            message = f"cannot build the approval request: {exc}"
            final = outcome.deny(GuardReason.APPROVAL_REQUEST_FAILED, message)
            return await self._finish(final, ask.session_key, ask.env), None
        ask = attrs.evolve(ask, outcome=attrs.evolve(outcome, approval_id=approval_id))
        try:
            result = await store.register(request, requester=self.requester, has_route=has_route)
            if result.outcome is ApprovalOutcome.EXPIRED:  # no route: settled already
                return await self._settle(ask, result.record), None
            if not result.ok:
                raise LocalProtocolError(result.message or result.outcome.value)
        except (TransportError, OSError) as exc:
            return await self._unavailable(ask, exc), None
        except OpenClawExecError as exc:
            message = f"approval request failed: {exc}"
            final = ask.outcome.deny(GuardReason.APPROVAL_REQUEST_FAILED, message)
            return await self._finish(final, ask.session_key, ask.env), None
        pending = PendingApproval(
            approval_id=approval_id,
            command=outcome.command,
            cwd=outcome.cwd or "",
            agent_id=outcome.agent_id,
            session_key=ask.session_key,
            binding=ask.binding,
            created_at_ms=request.created_at_ms,
            expires_at_ms=request.expires_at_ms,
            request=request,
            verdict=outcome.verdict,
            policy=policy,
            call_policy=call.policy,
            call_sandbox=call.sandbox,
            environment=call.environ,
            cwd_identity=outcome.cwd_identity,
        )
        return pending, ask

    async def _unavailable(self, ask: _Ask, exc: BaseException) -> Authorization:
        # The store (Redis, a socket) is unreachable: no approver can answer, which is
        # what askFallback is for. The fallback is clamped to the effective security,
        # so an outage never allows more than the policy itself.
        note = f"approval store unavailable ({exc})"
        final = self._fallback(ask.outcome, no_route=True, note=note)
        return await self._finish(final, ask.session_key, ask.env)

    async def _await_settled(self, pending: PendingApproval, ask: _Ask) -> Authorization:
        """The blocking half of :meth:`authorize`: wait for the store, then settle."""
        store = self.store
        assert store is not None
        approval_id = pending.approval_id
        try:
            remaining = (pending.expires_at_ms - store.now_ms()) / 1000
            with anyio.move_on_after(max(remaining, 0.0) + _RPC_SLACK_S):
                record = await store.wait_decision(approval_id)
                if record is None or record.state is not ApprovalState.PENDING:
                    return await self._settle(ask, record)
            with anyio.CancelScope(shield=True):  # the store never settled it: withdraw it
                await store.cancel(approval_id)
                final = await store.get(approval_id)
        except anyio.get_cancelled_exc_class():
            # Our caller gave up: nobody may approve a stale request.
            with anyio.CancelScope(shield=True), anyio.move_on_after(5):
                await store.cancel(approval_id)
            raise
        except (TransportError, OSError) as exc:
            return await self._unavailable(ask, exc)
        except OpenClawExecError as exc:
            message = f"approval request failed: {exc}"
            denied = ask.outcome.deny(GuardReason.APPROVAL_REQUEST_FAILED, message)
            return await self._finish(denied, ask.session_key, ask.env)
        return await self._settle(ask, final)

    async def _settle(self, ask: _Ask, record: ApprovalRecord | None) -> Authorization:
        """
        Turn a settled record into the one answer for its request.

        The outcome is claimed first (one caller ever acts on it), then: no decision
        (expired, no route, withdrawn, the store forgot it) applies ``askFallback``; a deny
        denies; an allow is consumed for exactly the bound plan, and an ``allow-always``
        persists its grants.
        """
        store = self.store
        assert store is not None
        outcome = ask.outcome
        approval_id = outcome.approval_id
        assert approval_id is not None
        if record is not None:
            try:
                won = await store.claim(approval_id, keep_until_ms=_keep_until(store, record))
            except (OpenClawExecError, OSError) as exc:
                # Fail closed, never askFallback: another caller may hold the outcome.
                message = f"the approval's outcome could not be claimed: {exc}"
                return await self._refuse(ask, GuardReason.APPROVAL_REQUEST_FAILED, message)
            if not won:
                return await self._refuse(ask, GuardReason.APPROVAL_REPLAYED, _REPLAYED)
        if record is None or record.decision is None:
            no_route = record is not None and record.reason is TerminalReason.NO_ROUTE
            final = self._fallback(outcome, no_route=no_route)
            return await self._finish(final, ask.session_key, ask.env)
        outcome = attrs.evolve(outcome, decision=record.decision, approver=record.resolved_by)
        if record.decision is Decision.DENY:
            by = f" by {record.resolved_by}" if record.resolved_by else ""
            denied = outcome.deny(GuardReason.USER_DENIED, f"exec denied{by}: user-denied")
            return await self._finish(denied, ask.session_key, ask.env)
        try:
            spent = await store.consume(approval_id, ask.binding)
        except (OpenClawExecError, OSError) as exc:
            message = f"approval could not be used: {exc}"
            denied = outcome.deny(GuardReason.APPROVAL_REQUEST_FAILED, message)
            return await self._finish(denied, ask.session_key, ask.env)
        if spent.outcome is not ApprovalOutcome.CONSUMED:
            message = spent.message or "approval not usable"
            denied = outcome.deny(GuardReason.APPROVAL_NOT_CONSUMABLE, message)
            return await self._finish(denied, ask.session_key, ask.env)
        persisted: tuple[str, ...] = ()
        note = ""
        if record.decision is Decision.ALLOW_ALWAYS:
            assert outcome.evaluation is not None
            evaluation = outcome.evaluation
            lifetime = allow_always_lifetime(
                now_ms=self._clock(),
                expiry_days=self.grant_expiry_days,
                scope=self.allow_always_scope,
                session_key=ask.session_key,
                record=record,
            )
            persisted, note = await persist_grants(
                self.approvals, ask.agent_key, evaluation, lifetime=lifetime, new_id=self._new_id
            )
        by = record.resolved_by or "an approver"
        allowed = attrs.evolve(
            outcome,
            allowed=True,
            reason=GuardReason.USER_APPROVED,
            message=f"approved ({record.decision.value}) by {by}{note}",
            persisted=persisted,
        )
        return await self._finish(allowed, ask.session_key, ask.env)

    async def _refuse(self, ask: _Ask, reason: str, message: str) -> Authorization:
        """Refuse one resume (or settlement) call; the approval is left as it was."""
        return await self._finish(ask.outcome.deny(reason, message), ask.session_key, ask.env)

    def _fallback(self, outcome: _Outcome, *, no_route: bool, note: str = "") -> _Outcome:
        # The verdict's message starts with its generic cause; a more precise *note* (no
        # store, the store's error) replaces it, so the cause is said exactly once.
        evaluation = outcome.evaluation
        policy = outcome.policy
        verdict = outcome.verdict
        assert evaluation is not None
        assert policy is not None
        assert verdict is not None
        fallback = fallback_verdict(
            policy,
            analysis_ok=evaluation.analysis_ok,
            allowlist_satisfied=evaluation.allowlist_satisfied,
            fallback_may_allow=not verdict.triggers,
            no_route=no_route,
        )
        message = fallback.message
        if note:
            message = f"{note}; {message.partition('; ')[2]}"
        return attrs.evolve(
            outcome,
            allowed=fallback.allowed,
            reason=fallback.reason.value,
            message=message,
            no_route=no_route,
        )

    async def _finish(
        self, outcome: _Outcome, session_key: str | None, env: Mapping[str, str]
    ) -> Authorization:
        return await audit_authorization(
            self.audit, outcome, session_key=session_key, host=self.host, env=env
        )


_MISMATCH = (
    "the approval is bound to a different plan (command, cwd, environment, agent, session or "
    "sandbox): refused, the approval is left as it was"
)
_UNKNOWN = (
    "the approval store does not know this approval: never registered there, settled and "
    "forgotten after the store's grace window, or lost with a store that keeps nothing "
    "across restarts"
)
_REPLAYED = "this approval's outcome was already collected: one request, one outcome"


def _keep_until(store: ApprovalStore, record: ApprovalRecord) -> int:
    """A time after which *record* is surely forgotten by the store (see ``claim``)."""
    latest = max(record.request.expires_at_ms, record.settled_at_ms or 0, store.now_ms())
    return latest + store.grace_ms + _CLAIM_SLACK_MS
