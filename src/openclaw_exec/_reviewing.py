"""
Running the embedder's reviewer for :class:`~openclaw_exec.guard.ExecGuard` (the seam).

:func:`review_command` decides whether the reviewer is asked, asks it (bounded in time; a
fault or a timeout is an ``ask``), and says what its answer does to the policy's verdict.
The rules are in :mod:`openclaw_exec.policy._review`.
"""

from __future__ import annotations

import enum
import inspect
from typing import TYPE_CHECKING

import anyio
import anyio.to_thread
import attrs

from openclaw_exec._guard_values import _portable
from openclaw_exec.policy import (
    AUTO_REVIEW_TIMEOUT_MS,
    Ask,
    ExecPolicy,
    ReviewDecision,
    ReviewerConfig,
    ReviewRequest,
    ReviewRisk,
    ReviewVerdict,
    Security,
    Verdict,
    VerdictReason,
    VerdictResult,
)

if TYPE_CHECKING:
    from openclaw_exec._guard_values import _Outcome
    from openclaw_exec.analysis import Evaluation, ExecEnvironment
    from openclaw_exec.guard import ExecGuard
    from openclaw_exec.policy import ExecReviewer

__all__ = [
    "REVIEW_TRIGGER",
    "ReviewAction",
    "ReviewStep",
    "review_command",
    "review_outcome",
    "run_reviewer",
]

#: The forced-ask trigger a reviewer's escalation adds (no askFallback allow after it).
REVIEW_TRIGGER = "reviewer"


class ReviewAction(enum.StrEnum):
    """What the reviewer's answer does to the policy's verdict."""

    KEEP = "keep"  # not asked, or nothing to change
    ALLOW = "allow"  # run it (mode auto, an eligible command, an allow that counts)
    DENY = "deny"  # do not run it
    ASK = "ask"  # a human must decide; an unanswered prompt never falls back to allow


@attrs.frozen(kw_only=True)
class ReviewStep:
    """The reviewer's effect: an action, its answer (when asked) and words for the log."""

    action: ReviewAction
    verdict: ReviewVerdict | None = None
    message: str = ""

    def escalated(self, policy_verdict: VerdictResult) -> VerdictResult:
        """The ASK verdict a human now answers, its fallback never allowing."""
        return VerdictResult(
            verdict=Verdict.ASK,
            reason=VerdictReason.FORCED_ASK,
            message=self.message,
            triggers=(*policy_verdict.triggers, REVIEW_TRIGGER),
        )


def _ask(rationale: str) -> ReviewVerdict:
    return ReviewVerdict(decision=ReviewDecision.ASK, risk=ReviewRisk.UNKNOWN, rationale=rationale)


async def run_reviewer(
    reviewer: ExecReviewer, request: ReviewRequest, *, timeout_ms: int
) -> ReviewVerdict:
    """
    Ask *reviewer*; a fault, a timeout or a non-:class:`ReviewVerdict` answer is ``ask``.

    ``async`` reviewers are awaited; plain ones run in a worker thread (abandoned, not
    waited for, when the time is up).
    """
    answer: object = None
    try:
        with anyio.move_on_after(timeout_ms / 1000) as scope:
            if inspect.iscoroutinefunction(reviewer) or inspect.iscoroutinefunction(
                getattr(reviewer, "__call__", None)  # noqa: B004 - a callable object's method
            ):
                answer = await reviewer(request)  # type: ignore[misc]
            else:
                answer = await anyio.to_thread.run_sync(reviewer, request, abandon_on_cancel=True)
                if inspect.isawaitable(answer):
                    answer = await answer
        if scope.cancelled_caught:
            return _ask(f"exec reviewer did not answer within {timeout_ms} ms")
    except Exception as exc:  # noqa: BLE001 - any reviewer fault means "a human decides"
        return _ask(f"exec reviewer failed: {type(exc).__name__}: {exc}"[:500])
    if not isinstance(answer, ReviewVerdict):
        return _ask(f"exec reviewer answered {type(answer).__name__}, not a ReviewVerdict")
    return answer


def _request(
    *,
    command: str,
    cwd: str | None,
    evaluation: Evaluation,
    verdict: VerdictResult,
    env_keys: tuple[str, ...],
    host: str,
    agent_id: str | None,
    session_key: str | None,
    may_allow: bool,
    config: ReviewerConfig | None,
) -> ReviewRequest:
    argv: tuple[str, ...] | None = None
    resolved: str | None = None
    if len(evaluation.segments) == 1:
        segment = evaluation.segments[0]
        argv = tuple(segment.argv)
        resolved = segment.executable.path if segment.executable is not None else None
    reason = verdict.reason.value if verdict.verdict is Verdict.ASK else "policy-allowed"
    return ReviewRequest(
        command=command,
        cwd=cwd,
        argv=argv,
        resolved_path=resolved,
        env_keys=env_keys,
        host=host,
        reason=reason,
        parsed=evaluation.analysis_ok,
        allowlist_matched=evaluation.allowlist_satisfied,
        durable_approval_matched=evaluation.durable_approval_satisfied,
        triggers=verdict.triggers or tuple(evaluation.must_ask),
        agent_id=agent_id,
        session_key=session_key,
        may_allow=may_allow,
        config=config,
    )


async def review_command(
    reviewer: ExecReviewer,
    *,
    auto_review: bool,
    timeout_ms: int,
    config: ReviewerConfig | None,
    command: str,
    cwd: str | None,
    evaluation: Evaluation,
    verdict: VerdictResult,
    policy: ExecPolicy,
    env_keys: tuple[str, ...],
    host: str,
    agent_id: str | None,
    session_key: str | None,
) -> ReviewStep:
    """
    The reviewer's say on one command the policy did not deny.

    ``auto_review`` (``mode: auto``): an ASK verdict for a command the analysis fully
    understood, with no forced trigger, under ``allowlist`` + ``on-miss`` goes to the
    reviewer, whose counted allow runs it; other commands go to a human as before. Without
    ``auto_review`` the reviewer sees every ALLOW and ASK and may only deny or escalate.
    """
    eligible = (
        verdict.verdict is Verdict.ASK
        and evaluation.analysis_ok
        and not verdict.triggers
        and not evaluation.must_ask
        and policy.security is Security.ALLOWLIST
        and policy.ask is not Ask.ALWAYS
    )
    if auto_review and not eligible:
        return ReviewStep(action=ReviewAction.KEEP)
    request = _request(
        command=command, cwd=cwd, evaluation=evaluation, verdict=verdict, env_keys=env_keys,
        host=host, agent_id=agent_id, session_key=session_key, may_allow=auto_review,
        config=config,
    )  # fmt: skip
    answer = await run_reviewer(reviewer, request, timeout_ms=timeout_ms)
    said = answer.describe()
    if answer.decision is ReviewDecision.DENY:
        return ReviewStep(
            action=ReviewAction.DENY, verdict=answer, message=f"exec reviewer denied ({said})"
        )
    if answer.decision is ReviewDecision.ALLOW_ONCE:
        if not auto_review:
            return ReviewStep(action=ReviewAction.KEEP, verdict=answer)  # may only raise
        if answer.allows:
            return ReviewStep(
                action=ReviewAction.ALLOW,
                verdict=answer,
                message=f"exec reviewer allowed once ({said})",
            )
        # OpenClaw: an allow at high or unknown risk is an ask.
    return ReviewStep(
        action=ReviewAction.ASK,
        verdict=answer,
        message=f"exec reviewer deferred to human approval ({said})",
    )


async def review_outcome(
    guard: ExecGuard,
    outcome: _Outcome,
    verdict: VerdictResult,
    session_key: str | None,
    environ: ExecEnvironment,
) -> ReviewStep:
    """:func:`review_command` with what *guard* knows (its reviewer, mode and config)."""
    assert guard.reviewer is not None
    assert outcome.evaluation is not None
    assert outcome.policy is not None
    config = guard.reviewer_config
    return await review_command(
        guard.reviewer,
        auto_review=guard.auto_review,
        timeout_ms=config.timeout_ms if config is not None else AUTO_REVIEW_TIMEOUT_MS,
        config=config,
        command=outcome.command,
        cwd=outcome.cwd,
        evaluation=outcome.evaluation,
        verdict=verdict,
        policy=outcome.policy,
        env_keys=tuple(sorted(k for k in environ.overrides if _portable(k))),
        host=guard.host,
        agent_id=outcome.agent_id,
        session_key=session_key,
    )
