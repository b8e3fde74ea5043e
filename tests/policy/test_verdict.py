"""requires_approval, decide_verdict and fallback_verdict."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from openclaw_exec.policy import (
    Ask,
    ExecPolicy,
    Security,
    Verdict,
    VerdictReason,
    decide_verdict,
    fallback_verdict,
    requires_approval,
)
from openclaw_exec.testing import exec_policies

BOOLS = (False, True)


def reference_requires(
    ask: Ask, security: Security, analysis_ok: bool, satisfied: bool, durable: bool
) -> bool:
    # OpenClaw's requiresExecApproval, transcribed independently from its docs.
    if ask == "always":
        return True
    if durable:
        return False
    return ask == "on-miss" and security == "allowlist" and not (analysis_ok and satisfied)


@pytest.mark.parametrize(
    ("ask", "security", "analysis_ok", "satisfied", "durable"),
    list(itertools.product(Ask, Security, BOOLS, BOOLS, BOOLS)),
)
def test_requires_approval_all_72_combinations(
    ask: Ask, security: Security, analysis_ok: bool, satisfied: bool, durable: bool
) -> None:
    assert requires_approval(
        ask=ask,
        security=security,
        analysis_ok=analysis_ok,
        allowlist_satisfied=satisfied,
        durable_approval_satisfied=durable,
    ) is reference_requires(ask, security, analysis_ok, satisfied, durable)


@given(exec_policies(), st.booleans(), st.booleans(), st.booleans())
def test_verdict_invariants(
    policy: ExecPolicy, analysis_ok: bool, satisfied: bool, durable: bool
) -> None:
    result = decide_verdict(
        policy,
        analysis_ok=analysis_ok,
        allowlist_satisfied=satisfied,
        durable_approval_satisfied=durable,
    )
    if policy.security is Security.DENY:
        assert result.verdict is Verdict.DENY
    if policy.ask is Ask.ALWAYS and policy.security is not Security.DENY:
        assert result.verdict is Verdict.ASK
    if policy.security is Security.ALLOWLIST and not analysis_ok and not durable:
        # A command that fails analysis is never allowed under allowlist.
        assert result.verdict is not Verdict.ALLOW
    if result.verdict is Verdict.ALLOW and policy.security is Security.ALLOWLIST:
        assert (analysis_ok and satisfied) or durable


@given(exec_policies(), st.booleans(), st.booleans(), st.lists(st.text(min_size=1), min_size=1))
def test_forced_ask_never_allows(
    policy: ExecPolicy, analysis_ok: bool, satisfied: bool, triggers: list[str]
) -> None:
    result = decide_verdict(
        policy, analysis_ok=analysis_ok, allowlist_satisfied=satisfied, force_ask=triggers
    )
    assert result.verdict is not Verdict.ALLOW


@given(exec_policies(), st.booleans(), st.booleans())
def test_fallback_never_allows_more_than_the_policy(
    policy: ExecPolicy, analysis_ok: bool, satisfied: bool
) -> None:
    result = fallback_verdict(policy, analysis_ok=analysis_ok, allowlist_satisfied=satisfied)
    if result.verdict is Verdict.ALLOW:
        assert policy.security is not Security.DENY
        assert policy.ask_fallback is not Security.DENY
        if policy.security is Security.ALLOWLIST or policy.ask_fallback is Security.ALLOWLIST:
            assert analysis_ok
            assert satisfied
    not_allowed = fallback_verdict(
        policy, analysis_ok=analysis_ok, allowlist_satisfied=satisfied, fallback_may_allow=False
    )
    assert not_allowed.verdict is Verdict.DENY


def test_examples() -> None:
    allowlist = ExecPolicy(security="allowlist", ask="on-miss")
    assert decide_verdict(allowlist, analysis_ok=True, allowlist_satisfied=True).reason is (
        VerdictReason.ALLOWLIST_SATISFIED
    )
    miss = decide_verdict(allowlist, analysis_ok=True, allowlist_satisfied=False)
    assert (miss.verdict, miss.reason) == (Verdict.ASK, VerdictReason.ALLOWLIST_MISS)
    failed = decide_verdict(allowlist, analysis_ok=False, allowlist_satisfied=False)
    assert (failed.verdict, failed.reason) == (Verdict.ASK, VerdictReason.ANALYSIS_FAILED)
    silent = ExecPolicy(security="allowlist", ask="off")
    denied = decide_verdict(silent, analysis_ok=True, allowlist_satisfied=False)
    assert (denied.verdict, denied.reason) == (Verdict.DENY, VerdictReason.ALLOWLIST_MISS)
    durable = decide_verdict(
        silent, analysis_ok=True, allowlist_satisfied=False, durable_approval_satisfied=True
    )
    assert (durable.verdict, durable.reason) == (Verdict.ALLOW, VerdictReason.DURABLE_APPROVAL)
    full = decide_verdict(
        ExecPolicy(security="full", ask="off"), analysis_ok=False, allowlist_satisfied=False
    )
    assert (full.verdict, full.reason) == (Verdict.ALLOW, VerdictReason.SECURITY_FULL)
    forced = decide_verdict(
        ExecPolicy(security="full", ask="off"),
        analysis_ok=True,
        allowlist_satisfied=True,
        force_ask=["strict-inline-eval"],
    )
    assert (forced.verdict, forced.triggers) == (Verdict.ASK, ("strict-inline-eval",))


@pytest.mark.parametrize(
    ("fallback", "satisfied", "verdict", "reason"),
    [
        ("deny", True, Verdict.DENY, VerdictReason.APPROVAL_TIMEOUT),
        ("allowlist", True, Verdict.ALLOW, VerdictReason.ASK_FALLBACK_ALLOWLIST),
        ("allowlist", False, Verdict.DENY, VerdictReason.APPROVAL_TIMEOUT_ALLOWLIST_MISS),
        ("full", False, Verdict.DENY, VerdictReason.APPROVAL_TIMEOUT_ALLOWLIST_MISS),
    ],
)
def test_fallback_under_allowlist(
    fallback: str, satisfied: bool, verdict: Verdict, reason: VerdictReason
) -> None:
    # "full" is clamped to the effective security (allowlist): OpenClaw 4.1 ran anything.
    policy = ExecPolicy(security="allowlist", ask="always", ask_fallback=fallback)
    result = fallback_verdict(policy, analysis_ok=True, allowlist_satisfied=satisfied)
    assert (result.verdict, result.reason) == (verdict, reason)


def test_fallback_full_under_full() -> None:
    policy = ExecPolicy(security="full", ask="always", ask_fallback="full")
    result = fallback_verdict(policy, analysis_ok=False, allowlist_satisfied=False)
    assert (result.verdict, result.reason) == (Verdict.ALLOW, VerdictReason.ASK_FALLBACK_FULL)
