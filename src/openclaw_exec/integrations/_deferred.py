"""
The deferred-approval steps every framework adapter shares: check, show, settle, run.

A framework that pauses for its human (a LangGraph ``interrupt()``, a pydantic-ai deferred
tool call, an MCP elicitation) cannot sit inside the guard's blocking ``authorize``. It calls
:func:`begin` (the guard's :meth:`~openclaw_exec.ExecGuard.check`, which never waits: a final
answer is run at once, an ask becomes a :class:`~openclaw_exec.guard.PendingApproval` bound to
the exact plan), shows :func:`view` to the human, and hands the human's answer to
:func:`settle` (the guard's :meth:`~openclaw_exec.ExecGuard.resume`, then a run of exactly
the authorised plan). Every step returns plain JSON, so a checkpointer can store it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from typing import Any, TypedDict

from openclaw_exec.exceptions import AnalysisError, LocalProtocolError, OpenClawExecError
from openclaw_exec.guard import Authorization, ExecGuard, GuardReason, PendingApproval
from openclaw_exec.integrations._outcome import ShellOutcome, invalid, outcome_of, refusal_of
from openclaw_exec.integrations._run import run_authorized
from openclaw_exec.protocol import Decision, Principal

__all__ = [
    "ANSWER_MISMATCH",
    "DECISIONS",
    "ApprovalView",
    "begin",
    "finish",
    "parse_answer",
    "pending_from",
    "settle",
    "view",
]

#: The decisions a human may give, in the order they are offered.
DECISIONS = (Decision.ALLOW_ONCE.value, Decision.ALLOW_ALWAYS.value, Decision.DENY.value)

#: The reason code when an answer does not name the approval it answers (or names another).
ANSWER_MISMATCH = "approval-answer-mismatch"


class ApprovalView(TypedDict):
    """What a human is shown for one pending approval (plain JSON)."""

    kind: str
    approval_id: str
    command: str
    cwd: str
    agent_id: str | None
    session_key: str | None
    expires_at_ms: int
    reason: str
    decisions: list[str]
    pending: dict[str, Any]


def view(pending: PendingApproval) -> ApprovalView:
    """The pending approval as a human (and a checkpointer) sees it."""
    verdict = pending.verdict
    return ApprovalView(
        kind="openclaw-exec.approval",
        approval_id=pending.approval_id,
        command=pending.command,
        cwd=pending.cwd,
        agent_id=pending.agent_id,
        session_key=pending.session_key,
        expires_at_ms=pending.expires_at_ms,
        reason=verdict.message if verdict is not None else "",
        decisions=list(DECISIONS),
        pending=pending.to_dict(),
    )


async def begin(
    guard: ExecGuard,
    command: str,
    *,
    cwd: str | None,
    env: Mapping[str, str] | None = None,
    env_overrides: Mapping[str, str] | None,
    agent_id: str | None,
    session_key: str | None,
    max_output: int,
) -> ShellOutcome | PendingApproval:
    """
    Check *command* without waiting: run a final answer now, or return the pending approval.

    The caller brings the human (``has_route=True``): the approval stays pending until
    :func:`settle` or its expiry. A misuse (a relative cwd ...) is an outcome, not an error.
    """
    try:
        first = await guard.check(
            command,
            cwd=cwd,
            env=env,
            env_overrides=env_overrides,
            agent_id=agent_id,
            session_key=session_key,
            has_route=True,
        )
    except AnalysisError as exc:
        return invalid(command, cwd, str(exc))
    if isinstance(first, PendingApproval):
        return first
    return await finish(guard, first, max_output)


def pending_from(
    data: Mapping[str, Any],
    *,
    env: Mapping[str, str] | None = None,
    env_overrides: Mapping[str, str] | None,
) -> PendingApproval:
    """A handle rebuilt from :func:`view`'s ``pending``, with the environment given to ``begin``."""
    return PendingApproval.from_dict(data, env=env, env_overrides=env_overrides)


def parse_answer(answer: object, approval_id: str) -> Decision | str:
    """
    The decision in a human's *answer* to approval *approval_id*, or why it is not one.

    An answer is ``{"approval_id": <id>, "decision": "allow-once" | "allow-always" |
    "deny"}``: it must name the approval it answers, so an answer meant for another
    command (another interrupt, a stale tab, a swapped resume map) never approves this one.

    Returns:
        The :class:`~openclaw_exec.protocol.Decision`, or a message (str) saying what is wrong.
    """
    if not isinstance(answer, Mapping):
        return f"the answer must be an object naming the approval, got {type(answer).__name__}"
    named = answer.get("approval_id")
    if named != approval_id:
        return f"the answer is for approval {named!r}, not {approval_id!r}"
    try:
        return Decision.parse(answer.get("decision"))
    except LocalProtocolError as exc:
        return str(exc)


async def settle(
    guard: ExecGuard,
    pending: PendingApproval,
    decision: Decision | None,
    *,
    approver: Principal,
    max_output: int,
    problem: str = "",
) -> ShellOutcome:
    """
    Record the human's *decision*, collect the one outcome, run it if allowed.

    ``None`` means the human gave no answer (dismissed the prompt): the approval is withdrawn
    and ``askFallback`` applies. A *problem* (an answer for another approval) is recorded as
    a deny, so the request has exactly one outcome and the human sees why.
    """
    if decision is None:
        if guard.store is not None:
            # Withdrawn, so nobody approves it later; resume then applies askFallback. If
            # the store is unreachable, resume says so (and never guesses an outcome).
            with contextlib.suppress(OpenClawExecError, OSError):
                await guard.store.cancel(pending.approval_id)
        result = await guard.resume(pending)
    else:
        result = await guard.resume(pending, decision, approver=approver)
    if isinstance(result, PendingApproval):  # cannot happen after cancel/resolve; fail closed
        return invalid(pending.command, pending.cwd, "the approval is still pending")
    if problem:
        outcome = refusal_of(result)
        if result.reason == GuardReason.USER_DENIED:  # our deny took: say why we gave it
            outcome["reason"] = ANSWER_MISMATCH
            outcome["message"] = f"{problem}; recorded as a deny, nothing ran"
        return outcome
    return await finish(guard, result, max_output)


async def finish(guard: ExecGuard, auth: Authorization, max_output: int) -> ShellOutcome:
    """Run a final :class:`~openclaw_exec.Authorization` if it allows; the outcome either way."""
    if not auth.allowed:
        return refusal_of(auth)
    return outcome_of(await run_authorized(guard, auth), max_output=max_output)
