"""
The reviewer seam (``tools.exec.mode: auto``, upstream PR #141987) through ExecGuard.

Under ``auto`` an allowlist miss goes to the embedder's reviewer first: a counted allow
(risk low/medium) runs it once, a deny denies, anything else (ask, high risk, a fault, a
timeout, nonsense) goes to a human whose silence never falls back to allow. Outside ``auto``
the reviewer may only raise. Real analysis, real commands resolved on this machine.
"""

from __future__ import annotations

import shutil

import anyio
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from openclaw_exec._reviewing import REVIEW_TRIGGER, ReviewAction, review_command
from openclaw_exec.adapters.memory import AutoApprover, MemoryApprovalStore
from openclaw_exec.analysis import evaluate_command
from openclaw_exec.guard import ExecGuard, GuardReason
from openclaw_exec.policy import (
    AgentPolicy,
    AllowlistEntry,
    ApprovalsFile,
    Ask,
    ExecPolicy,
    ReviewDecision,
    ReviewerConfig,
    ReviewRequest,
    ReviewRisk,
    ReviewVerdict,
    Security,
    decide_verdict,
    loads_exec_config,
    review_verdict_from_json,
)
from openclaw_exec.protocol import Decision

pytestmark = pytest.mark.anyio

LS = shutil.which("ls")
assert LS is not None
ENV = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": "/root"}
AUTO = loads_exec_config('{"tools": {"exec": {"mode": "auto", "reviewer": {"timeoutMs": 300}}}}')
FILE = ApprovalsFile(agents={"main": AgentPolicy(allowlist=(AllowlistEntry(pattern=LS),))})


def guard(
    reviewer: object, *, auto: bool = True, store: MemoryApprovalStore | None = None
) -> ExecGuard:
    config = AUTO if auto else loads_exec_config('{"tools": {"exec": {"mode": "ask"}}}')
    return ExecGuard(
        analysis_options={"strict_inline_eval": True},
        store=store,
        approvals_file=FILE,
        policy=config.requested_policy(),
        reviewer=reviewer,  # type: ignore[arg-type]
        auto_review=config.auto_review,
        reviewer_config=config.reviewer,
    )


def verdict(decision: str, risk: str = "low") -> ReviewVerdict:
    return ReviewVerdict(decision=ReviewDecision(decision), risk=ReviewRisk(risk), rationale="r")


async def test_auto_reviewer_allows_an_allowlist_miss_once() -> None:
    seen: list[ReviewRequest] = []

    async def reviewer(request: ReviewRequest) -> ReviewVerdict:
        seen.append(request)
        return verdict("allow-once", "low")

    auth = await guard(reviewer).authorize("date", cwd="/tmp", env=ENV, agent_id="main")
    assert auth.allowed
    assert auth.reason == GuardReason.REVIEWER_APPROVED
    assert "risk=low" in auth.message
    (request,) = seen
    assert (request.command, request.reason, request.parsed, request.may_allow) == (
        "date",
        "allowlist-miss",
        True,
        True,
    )
    assert request.argv == ("date",)
    assert request.resolved_path is not None
    assert request.config is AUTO.reviewer


async def test_allowlisted_commands_never_reach_an_auto_reviewer() -> None:
    def reviewer(request: ReviewRequest) -> ReviewVerdict:
        raise AssertionError("not consulted")

    auth = await guard(reviewer).authorize("ls", cwd="/tmp", env=ENV, agent_id="main")
    assert auth.allowed
    assert auth.reason == "allowlist-satisfied"


@pytest.mark.parametrize(
    ("answer", "reason"),
    [
        (verdict("deny"), GuardReason.REVIEWER_DENIED),
        # Everything below goes to a human; with no store, askFallback (deny) applies.
        (verdict("ask"), "no-approval-route"),
        (verdict("allow-once", "high"), "no-approval-route"),
        (verdict("allow-once", "unknown"), "no-approval-route"),
        ("not a verdict", "no-approval-route"),
        (RuntimeError("model down"), "no-approval-route"),
        ("slow", "no-approval-route"),
    ],
)
async def test_anything_but_a_counted_allow_does_not_run(answer: object, reason: str) -> None:
    async def reviewer(request: ReviewRequest) -> object:
        if answer == "slow":
            await anyio.sleep(5)  # beyond timeoutMs=300
        if isinstance(answer, Exception):
            raise answer
        return answer

    auth = await guard(reviewer).authorize("date", cwd="/tmp", env=ENV, agent_id="main")
    assert not auth.allowed
    assert auth.reason == reason


async def test_escalation_reaches_a_human_and_silence_never_allows() -> None:
    async def reviewer(request: ReviewRequest) -> ReviewVerdict:
        return verdict("ask")

    async with MemoryApprovalStore() as store, anyio.create_task_group() as tg:
        await tg.start(AutoApprover(store, Decision.ALLOW_ONCE).run)
        auth = await guard(reviewer, store=store).authorize(
            "date", cwd="/tmp", env=ENV, agent_id="main"
        )
        tg.cancel_scope.cancel()
    assert auth.allowed
    assert auth.reason == GuardReason.USER_APPROVED
    assert auth.verdict is not None
    assert "reviewer" in auth.verdict.triggers


async def test_forced_and_unparsed_commands_are_never_allowed_by_a_reviewer() -> None:
    def reviewer(request: ReviewRequest) -> ReviewVerdict:
        return verdict("allow-once", "low")

    g = guard(reviewer)  # strict inline eval: python -c is a forced ask
    for command in ("python3 -c 'print(1)'", "ls $(id -u)", "echo hi > /tmp/x"):
        auth = await g.authorize(command, cwd="/tmp", env=ENV, agent_id="main")
        assert not auth.allowed, command
        assert auth.reason != GuardReason.REVIEWER_APPROVED, command


async def test_outside_auto_a_reviewer_may_only_raise() -> None:
    def allow_all(request: ReviewRequest) -> ReviewVerdict:
        return verdict("allow-once", "low")

    def deny_all(request: ReviewRequest) -> ReviewVerdict:
        return verdict("deny")

    miss = await guard(allow_all, auto=False).authorize("date", cwd="/tmp", env=ENV)
    assert not miss.allowed  # the allow does not count; nobody to ask: fallback deny
    hit = await guard(deny_all, auto=False).authorize("ls", cwd="/tmp", env=ENV)
    assert not hit.allowed
    assert hit.reason == GuardReason.REVIEWER_DENIED
    ok = await guard(allow_all, auto=False).authorize("ls", cwd="/tmp", env=ENV)
    assert ok.allowed
    assert ok.reason == "allowlist-satisfied"


def test_auto_without_a_reviewer_is_refused() -> None:
    with pytest.raises(ValueError, match="needs a reviewer"):
        ExecGuard(auto_review=True)


def test_verdict_json() -> None:
    read = review_verdict_from_json({"decision": "allow", "risk": "low", "rationale": " ok "})
    assert (read.decision, read.allows, read.rationale) == (ReviewDecision.ALLOW_ONCE, True, "ok")
    assert review_verdict_from_json({"decision": "yes"}).decision is ReviewDecision.ASK
    assert not review_verdict_from_json({"decision": "allow", "risk": "high"}).allows


_POLICIES = st.builds(
    ExecPolicy,
    security=st.sampled_from(Security),
    ask=st.sampled_from(Ask),
    ask_fallback=st.sampled_from(Security),
)
_ANSWERS = st.builds(
    ReviewVerdict,
    decision=st.sampled_from(ReviewDecision),
    risk=st.sampled_from(ReviewRisk),
)
_COMMANDS = st.sampled_from(["ls", "date", "ls && date", "ls $(date)", "python3 -c 1", "ls>x"])


@pytest.mark.parametrize("anyio_backend", ["asyncio"])
@settings(max_examples=150, deadline=None)
@given(policy=_POLICIES, answer=_ANSWERS, command=_COMMANDS, auto=st.booleans())
async def test_a_reviewer_never_lowers_a_deny_nor_allows_outside_its_rules(
    policy: ExecPolicy, answer: ReviewVerdict, command: str, auto: bool
) -> None:
    evaluation = evaluate_command(
        command,
        cwd="/tmp",
        env=ENV,
        allowlist=[AllowlistEntry(pattern=str(LS))],
        strict_inline_eval=True,
    )
    base = decide_verdict(
        policy,
        analysis_ok=evaluation.analysis_ok,
        allowlist_satisfied=evaluation.allowlist_satisfied,
        force_ask=evaluation.must_ask,
    )

    async def reviewer(request: ReviewRequest) -> ReviewVerdict:
        return answer

    if base.verdict.value == "deny":
        return  # the guard never consults a reviewer on a deny (tested end to end above)
    step = await review_command(
        reviewer, auto_review=auto, timeout_ms=1000, config=ReviewerConfig(),
        command=command, cwd="/tmp", evaluation=evaluation, verdict=base, policy=policy,
        env_keys=(), host="gateway", agent_id="main", session_key=None,
    )  # fmt: skip
    if step.action is ReviewAction.ALLOW:
        assert auto
        assert answer.allows
        assert base.verdict.value == "ask"
        assert not base.triggers
        assert not evaluation.must_ask
        assert evaluation.analysis_ok
        assert policy.security is Security.ALLOWLIST
        assert policy.ask is not Ask.ALWAYS
    if answer.decision is ReviewDecision.DENY and step.action is not ReviewAction.KEEP:
        assert step.action is ReviewAction.DENY
    if step.action is ReviewAction.ASK:
        assert REVIEW_TRIGGER in step.escalated(base).triggers
