"""
The reviewer seam: what an embedder-supplied reviewer (an LLM, or rules) sees and answers.

Under ``tools.exec.mode: auto`` (OpenClaw 2026.9.6, upstream PR #141987) a command the
allowlist does not cover goes to a reviewer before a human: it may allow it once, deny it,
or escalate to a human. Outside ``auto`` a reviewer, like a risk assessor, may only *raise*
the requirement (deny, or ask a human where the policy would have allowed).

The rules, as in OpenClaw where it has them, stricter where this library is:

* an ``allow-once`` counts only with risk ``low`` or ``medium`` (else it is an ``ask``);
* a reviewer that raises, answers nonsense or does not answer in time counts as ``ask``;
* an allow counts only for a command the analysis fully understood, with no forced trigger
  (strict inline eval, danger profiles...) and ``ask`` not ``always``: anything else may
  only be denied or escalated by a reviewer;
* a deny is final (OpenClaw escalates a session's third consecutive deny to a human; this
  library keeps denying).

Pure: values only. :mod:`openclaw_exec.guard` runs the reviewer.
"""

from __future__ import annotations

import enum
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import attrs

from openclaw_exec.policy._config import ReviewerConfig

__all__ = [
    "ExecReviewer",
    "ReviewDecision",
    "ReviewRequest",
    "ReviewRisk",
    "ReviewVerdict",
    "review_verdict_from_json",
]


class ReviewDecision(enum.StrEnum):
    """What a reviewer answers (OpenClaw's spellings)."""

    ALLOW_ONCE = "allow-once"  # run this command now (counts only with low/medium risk)
    DENY = "deny"  # do not run it
    ASK = "ask"  # a human must decide


class ReviewRisk(enum.StrEnum):
    """How risky the reviewer judged the command."""

    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    UNKNOWN = "unknown"


def _decision(value: object) -> ReviewDecision:
    return ReviewDecision(value) if isinstance(value, str) else ReviewDecision.ASK


def _risk(value: object) -> ReviewRisk:
    return ReviewRisk(value) if isinstance(value, str) else ReviewRisk.UNKNOWN


@attrs.frozen(kw_only=True)
class ReviewVerdict:
    """
    A reviewer's answer.

    Attributes:
        decision: allow once, deny or ask a human.
        risk: The reviewer's risk judgement; an allow counts only at ``low`` / ``medium``.
        rationale: One sentence for the audit log and the human (shown as data).
        user_authorization: How clearly the user asked for it (OpenClaw's optional field).
    """

    decision: ReviewDecision = attrs.field(converter=_decision)
    risk: ReviewRisk = attrs.field(default=ReviewRisk.UNKNOWN, converter=_risk)
    rationale: str = ""
    user_authorization: str | None = None

    @property
    def allows(self) -> bool:
        """An allow-once that counts: risk ``low`` or ``medium`` (OpenClaw's rule)."""
        return self.decision is ReviewDecision.ALLOW_ONCE and self.risk in (
            ReviewRisk.LOW,
            ReviewRisk.MEDIUM,
        )

    def describe(self) -> str:
        """``risk=low: rationale`` (OpenClaw's ``formatExecAutoReviewAssessment``)."""
        text = f"risk={self.risk.value}"
        if self.user_authorization:
            text += f", authorization={self.user_authorization}"
        return f"{text}: {self.rationale}" if self.rationale else text


@attrs.frozen(kw_only=True)
class ReviewRequest:
    """
    What a reviewer is shown: the command and what the policy made of it.

    Attributes:
        command: The shell text.
        cwd: Where it would run.
        argv: The argv of a single simple command, else ``None``.
        resolved_path: Its executable's resolved path, when there is one segment.
        env_keys: Environment variable names the agent asked to set (no values).
        host: ``gateway`` (the guard's host name).
        reason: Why it was not simply allowed: ``allowlist-miss``, ``analysis-failed``,
            ``forced-ask``, ``ask-always`` ... (the policy verdict's reason), or
            ``policy-allowed`` when a raise-only reviewer sees an allowed command.
        parsed: The analysis understood the whole command.
        allowlist_matched: Every segment is allowlisted.
        durable_approval_matched: An allow-always grant covers it.
        triggers: Forced-ask triggers (``strict-inline-eval``, danger profiles ...).
        agent_id: The agent.
        session_key: The session.
        may_allow: Whether an allow from the reviewer can let it run (``mode: auto`` and
            an eligible command); when ``False`` only deny and ask count.
        config: ``tools.exec.reviewer`` (model, thinking ...), handed through.
    """

    command: str
    cwd: str | None
    argv: tuple[str, ...] | None = None
    resolved_path: str | None = None
    env_keys: tuple[str, ...] = ()
    host: str = "gateway"
    reason: str = ""
    parsed: bool = False
    allowlist_matched: bool = False
    durable_approval_matched: bool = False
    triggers: tuple[str, ...] = ()
    agent_id: str | None = None
    session_key: str | None = None
    may_allow: bool = False
    config: ReviewerConfig | None = None

    def to_json(self) -> dict[str, Any]:
        """The request as plain JSON (e.g. for an LLM prompt's untrusted data block)."""
        out: dict[str, Any] = {
            "command": self.command,
            "cwd": self.cwd,
            "argv": list(self.argv) if self.argv is not None else None,
            "resolvedPath": self.resolved_path,
            "envKeys": list(self.env_keys),
            "host": self.host,
            "reason": self.reason,
            "analysis": {
                "parsed": self.parsed,
                "allowlistMatched": self.allowlist_matched,
                "durableApprovalMatched": self.durable_approval_matched,
                "triggers": list(self.triggers),
            },
            "agent": {"id": self.agent_id, "sessionKey": self.session_key},
            "mayAllow": self.may_allow,
        }
        return out


ExecReviewer = Callable[[ReviewRequest], "ReviewVerdict | Awaitable[ReviewVerdict]"]
"""
A reviewer: a plain or ``async`` callable from :class:`ReviewRequest` to
:class:`ReviewVerdict`. Plain callables run in a worker thread (an HTTP call to a model does
not block the event loop); each call is bounded by ``tools.exec.reviewer.timeoutMs``.
"""


def review_verdict_from_json(data: Mapping[str, Any]) -> ReviewVerdict:
    """
    Read a reviewer's JSON answer; anything unreadable is ``ask``.

    The shape is OpenClaw's reviewer output schema,
    ``{"decision": "allow|deny|ask", "risk": ..., "rationale": ...}`` (``allow`` means
    allow-once), handy for an LLM reviewer.
    """
    raw = data.get("decision")
    decision = {"allow": "allow-once", "allow-once": "allow-once", "deny": "deny"}.get(
        raw if isinstance(raw, str) else "", "ask"
    )
    risk = data.get("risk")
    rationale = data.get("rationale")
    authorization = data.get("user_authorization")
    return ReviewVerdict(
        decision=ReviewDecision(decision),
        risk=ReviewRisk(risk) if risk in {r.value for r in ReviewRisk} else ReviewRisk.UNKNOWN,
        rationale=rationale.strip()[:500] if isinstance(rationale, str) else "",
        user_authorization=authorization if isinstance(authorization, str) else None,
    )
