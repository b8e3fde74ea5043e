"""
Verdicts: ALLOW / ASK / DENY for a policy and an analysis result.

``requires_approval`` is OpenClaw's ``requiresExecApproval`` to the letter;
``decide_verdict`` builds the whole answer around it, and ``fallback_verdict`` says
what an unanswered ASK becomes under ``askFallback``. All pure.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable

import attrs

from openclaw_exec.policy._deny import DenyCheck
from openclaw_exec.policy._enums import Ask, Security
from openclaw_exec.policy._policy import ExecPolicy

__all__ = [
    "Verdict",
    "VerdictReason",
    "VerdictResult",
    "decide_verdict",
    "fallback_verdict",
    "requires_approval",
]


class Verdict(enum.StrEnum):
    """The three answers a policy gives."""

    ALLOW = "allow"  # run it
    ASK = "ask"  # a human must decide
    DENY = "deny"  # do not run it


class VerdictReason(enum.StrEnum):
    """Machine-readable reasons, stable across releases (OpenClaw's wording where it has one)."""

    DENY_RULE = "deny-rule"  # a deny rule names a program the command reaches
    SECURITY_DENY = "security-deny"  # security=deny: no host exec at all
    SECURITY_FULL = "security-full"  # security=full: no allowlist check
    ALLOWLIST_SATISFIED = "allowlist-satisfied"  # every segment is allowlisted
    DURABLE_APPROVAL = "durable-approval"  # an allow-always grant covers the command
    ASK_ALWAYS = "ask-always"  # ask=always prompts for every command
    ALLOWLIST_MISS = "allowlist-miss"  # a segment is not allowlisted
    ANALYSIS_FAILED = "analysis-failed"  # the command could not be fully understood
    FORCED_ASK = "forced-ask"  # a trigger such as strict inline eval demands a human
    APPROVAL_TIMEOUT = "approval-timeout"  # nobody answered; askFallback=deny
    APPROVAL_TIMEOUT_ALLOWLIST_MISS = "approval-timeout (allowlist-miss)"
    NO_APPROVAL_ROUTE = "no-approval-route"  # nobody could be asked; askFallback denied
    ASK_FALLBACK_ALLOWLIST = "ask-fallback-allowlist"  # nobody answered; allowlist satisfied
    ASK_FALLBACK_FULL = "ask-fallback-full"  # nobody answered; askFallback=full


@attrs.frozen(kw_only=True)
class VerdictResult:
    """
    A verdict with its reason.

    Attributes:
        verdict: ALLOW, ASK or DENY.
        reason: Why, as a stable machine-readable code.
        message: Why, in words, for logs and users.
        triggers: For a forced ASK, the triggers that forced it (e.g. ``strict-inline-eval``).
        rule: For a ``deny-rule`` DENY, where the rule was written
            (``agents["*"].deny[0]``).
    """

    verdict: Verdict
    reason: VerdictReason
    message: str
    triggers: tuple[str, ...] = ()
    rule: str | None = None

    @property
    def allowed(self) -> bool:
        """``True`` only for ALLOW."""
        return self.verdict is Verdict.ALLOW


def _check_policy(policy: object) -> None:
    if not isinstance(policy, ExecPolicy):
        raise TypeError(f"policy must be an ExecPolicy, got {type(policy).__name__}")


def _flag(name: str, value: object) -> bool:
    # A truthy non-bool (a string "false", a list) must not pass for True or False.
    if type(value) is not bool:
        raise TypeError(f"{name} must be True or False, got {value!r}")
    return value


def requires_approval(
    *,
    ask: Ask | str,
    security: Security | str,
    analysis_ok: bool,
    allowlist_satisfied: bool,
    durable_approval_satisfied: bool = False,
) -> bool:
    """
    Whether a human must be asked, exactly as OpenClaw's ``requiresExecApproval``.

    1. ``ask=always``: yes (durable grants do not help);
    2. else a durable allow-always grant: no;
    3. else yes iff ``ask=on-miss`` and ``security=allowlist`` and the analysis failed
       or the allowlist is not satisfied.

    *ask* and *security* are members or their exact spellings (``"on-miss"``).

    Raises:
        PolicyError: *ask* or *security* is anything else.
        TypeError: A flag is not a bool.
    """
    ask_knob = Ask.coerce(ask, what="ask")
    security_knob = Security.coerce(security, what="security")
    analysis_ok = _flag("analysis_ok", analysis_ok)
    allowlist_satisfied = _flag("allowlist_satisfied", allowlist_satisfied)
    durable = _flag("durable_approval_satisfied", durable_approval_satisfied)
    if ask_knob is Ask.ALWAYS:
        return True
    if durable:
        return False
    return (
        ask_knob is Ask.ON_MISS
        and security_knob is Security.ALLOWLIST
        and (not analysis_ok or not allowlist_satisfied)
    )


def decide_verdict(
    policy: ExecPolicy,
    *,
    analysis_ok: bool,
    allowlist_satisfied: bool,
    durable_approval_satisfied: bool = False,
    force_ask: Iterable[str] = (),
    deny: DenyCheck | None = None,
) -> VerdictResult:
    """
    Decide ALLOW / ASK / DENY for one command.

    Args:
        policy: The *effective* policy (requested and host layers already combined).
        analysis_ok: The analyser fully understood the command.
        allowlist_satisfied: Every segment is allowlisted (meaningless if not *analysis_ok*).
        durable_approval_satisfied: An allow-always grant covers this command.
        force_ask: Triggers that demand a human even where the policy would allow
            (strict inline eval, a heredoc, an obfuscation hit). They never turn a
            DENY into an ASK; they turn an ALLOW into an ASK in every ask mode,
            which is stricter than OpenClaw for ``ask=off`` (a documented difference).
        deny: What the deny rules say (:func:`~openclaw_exec.policy.check_deny`): a hit
            is DENY before anything else is looked at (``security=full``, the
            allowlist and allow-always grants included); a command where a denied
            program cannot be ruled out gets its reasons as *force_ask* triggers.

    Returns:
        The verdict with a stable reason code.
    """
    _check_policy(policy)
    if isinstance(force_ask, str):  # a bare string would become one trigger per character
        raise TypeError(f"force_ask must be an iterable of trigger names, got {force_ask!r}")
    if deny is not None and not isinstance(deny, DenyCheck):
        raise TypeError(f"deny must be a DenyCheck, got {type(deny).__name__}")
    triggers = tuple(force_ask) + (deny.triggers if deny is not None else ())
    analysis_ok = _flag("analysis_ok", analysis_ok)
    allowlist_satisfied = _flag("allowlist_satisfied", allowlist_satisfied)
    durable_approval_satisfied = _flag("durable_approval_satisfied", durable_approval_satisfied)
    if deny is not None and deny.hit is not None:
        return VerdictResult(
            verdict=Verdict.DENY,
            reason=VerdictReason.DENY_RULE,
            message=f"exec {deny.hit.message()}",
            rule=deny.hit.rule.where,
        )
    security = policy.security
    if security is Security.DENY:
        return VerdictResult(
            verdict=Verdict.DENY,
            reason=VerdictReason.SECURITY_DENY,
            message="exec denied: security=deny",
        )
    understood = analysis_ok and allowlist_satisfied
    if requires_approval(
        ask=policy.ask,
        security=security,
        analysis_ok=analysis_ok,
        allowlist_satisfied=allowlist_satisfied,
        durable_approval_satisfied=durable_approval_satisfied,
    ):
        if policy.ask is Ask.ALWAYS:
            reason, message = VerdictReason.ASK_ALWAYS, "ask=always: every command needs approval"
        elif not analysis_ok:
            reason, message = (
                VerdictReason.ANALYSIS_FAILED,
                "the command could not be fully analysed",
            )
        else:
            reason, message = VerdictReason.ALLOWLIST_MISS, "a command segment is not allowlisted"
        # A command where a denied program cannot be ruled out carries that on every ASK,
        # so an unanswered one is never run by askFallback.
        uncertain = deny.triggers if deny is not None else ()
        return VerdictResult(
            verdict=Verdict.ASK, reason=reason, message=message, triggers=uncertain
        )
    if security is Security.ALLOWLIST and not understood and not durable_approval_satisfied:
        reason = VerdictReason.ANALYSIS_FAILED if not analysis_ok else VerdictReason.ALLOWLIST_MISS
        return VerdictResult(
            verdict=Verdict.DENY,
            reason=reason,
            message=f"exec denied: {reason.value} (ask={policy.ask.value} does not prompt)",
        )
    if triggers:
        return VerdictResult(
            verdict=Verdict.ASK,
            reason=VerdictReason.FORCED_ASK,
            message="approval required: " + ", ".join(triggers),
            triggers=triggers,
        )
    if security is Security.FULL:
        return VerdictResult(
            verdict=Verdict.ALLOW,
            reason=VerdictReason.SECURITY_FULL,
            message="security=full: no allowlist check",
        )
    if understood:
        return VerdictResult(
            verdict=Verdict.ALLOW,
            reason=VerdictReason.ALLOWLIST_SATISFIED,
            message="every command segment is allowlisted",
        )
    return VerdictResult(
        verdict=Verdict.ALLOW,
        reason=VerdictReason.DURABLE_APPROVAL,
        message="an allow-always approval covers this command",
    )


def fallback_verdict(
    policy: ExecPolicy,
    *,
    analysis_ok: bool,
    allowlist_satisfied: bool,
    fallback_may_allow: bool = True,
    no_route: bool = False,
) -> VerdictResult:
    """
    Say what an unanswered ASK (timeout or no approver route) becomes.

    The fallback is clamped to the policy's security first (:meth:`ExecPolicy.normalized`),
    so nobody answering can never allow more than the policy itself.

    Args:
        policy: The effective policy.
        analysis_ok: As for :func:`decide_verdict`.
        allowlist_satisfied: As for :func:`decide_verdict`.
        fallback_may_allow: ``False`` when the ASK was forced by a trigger that a timeout
            must never approve (strict inline eval, obfuscation): then the answer is DENY.
        no_route: Nobody could be asked at all (no store, no approver, store down): a
            denial then says ``no-approval-route``, as OpenClaw's exec tool does, not
            ``approval-timeout`` (nothing waited).

    Every message starts with the cause (``no approval decision`` or ``no approver
    route``), once.
    """
    _check_policy(policy)
    analysis_ok = _flag("analysis_ok", analysis_ok)
    allowlist_satisfied = _flag("allowlist_satisfied", allowlist_satisfied)
    fallback_may_allow = _flag("fallback_may_allow", fallback_may_allow)
    no_route = _flag("no_route", no_route)
    cause = "no approver route" if no_route else "no approval decision"
    fallback = policy.normalized().ask_fallback
    if fallback is Security.FULL and fallback_may_allow:
        return VerdictResult(
            verdict=Verdict.ALLOW,
            reason=VerdictReason.ASK_FALLBACK_FULL,
            message=f"{cause}; askFallback=full runs the command",
        )
    if fallback is not Security.DENY and fallback_may_allow and analysis_ok and allowlist_satisfied:
        return VerdictResult(
            verdict=Verdict.ALLOW,
            reason=VerdictReason.ASK_FALLBACK_ALLOWLIST,
            message=f"{cause}; askFallback=allowlist and the allowlist is satisfied",
        )
    if fallback is Security.DENY:
        return VerdictResult(
            verdict=Verdict.DENY,
            reason=VerdictReason.NO_APPROVAL_ROUTE if no_route else VerdictReason.APPROVAL_TIMEOUT,
            message=f"{cause}; askFallback=deny",
        )
    return VerdictResult(
        verdict=Verdict.DENY,
        reason=VerdictReason.NO_APPROVAL_ROUTE
        if no_route
        else VerdictReason.APPROVAL_TIMEOUT_ALLOWLIST_MISS,
        message=f"{cause}; askFallback={fallback.value} does not cover this command",
    )
