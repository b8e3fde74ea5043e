"""
Risk assessors: plug-ins that may only raise what a command requires.

A risk assessor is a plain callable that looks at a command and may only *raise* the
requirement, ``ALLOW`` -> ``ASK`` -> ``DENY``; it can never lower what the policy
decided. An assessor that raises an exception counts as ``DENY`` (fail closed).
:func:`authorize_assessed` applies them around the guard.
"""

from __future__ import annotations

import enum
import os
from collections.abc import Iterable, Mapping, Sequence
from types import MappingProxyType
from typing import Protocol

import attrs

from openclaw_exec._guard_values import _Request
from openclaw_exec.analysis import Evaluation, ExecEnvironment
from openclaw_exec.exceptions import ApprovalsFileError
from openclaw_exec.guard import Authorization, ExecGuard, checked_cwd, exec_environment
from openclaw_exec.policy import ExecPolicy, Sandbox, Security, Verdict
from openclaw_exec.protocol import Decision, mentions_approve_command

__all__ = [
    "RISK_DENIED",
    "RISK_UNAPPROVED",
    "Assessment",
    "Requirement",
    "RiskAssessor",
    "RiskContext",
    "authorize_assessed",
    "combine_requirements",
    "requirement_of",
    "run_assessors",
]

#: The reason code an :class:`Authorization` carries when a risk assessor refused it.
RISK_DENIED = "risk-assessor-denied"
#: The reason code when an assessor demanded a human and none approved.
RISK_UNAPPROVED = "risk-assessor-unapproved"


class Requirement(enum.IntEnum):
    """What a command needs before it may run, ordered from least to most strict."""

    ALLOW = 0  # may run without a human
    ASK = 1  # a human must approve it
    DENY = 2  # must not run


def requirement_of(verdict: Verdict) -> Requirement:
    """The :class:`Requirement` a policy :class:`~openclaw_exec.policy.Verdict` stands for."""
    return {
        Verdict.ALLOW: Requirement.ALLOW,
        Verdict.ASK: Requirement.ASK,
        Verdict.DENY: Requirement.DENY,
    }[verdict]


@attrs.frozen(kw_only=True)
class Assessment:
    """
    One assessor's answer.

    Attributes:
        requirement: What the assessor requires (never lowers the policy's answer).
        reason: Why, in words (shown to approvers and in the authorization message).
        assessor: Who said it (filled from the assessor's name when empty).
    """

    requirement: Requirement = attrs.field(converter=Requirement)
    reason: str = ""
    assessor: str = ""


@attrs.frozen(kw_only=True)
class RiskContext:
    """
    What a risk assessor sees.

    Attributes:
        command: The shell command text.
        cwd: The absolute working directory it would run in (already resolved).
        env: The environment it would run with (read-only): exactly what the process gets.
        agent_id: The agent, if known.
        evaluation: The command analysis (segments, resolved executables), when the
            policy got as far as analysing it.
    """

    command: str
    cwd: str
    env: Mapping[str, str]
    agent_id: str | None = None
    evaluation: Evaluation | None = None


class RiskAssessor(Protocol):
    """
    A risk plug-in: any callable taking a :class:`RiskContext`.

    It returns an :class:`Assessment`, a bare :class:`Requirement`, or ``None`` (no
    opinion). Whatever it returns can only make the command's requirement stricter;
    an exception counts as ``DENY``.
    """

    def __call__(self, context: RiskContext, /) -> Assessment | Requirement | None:
        """Assess one command."""
        ...


def combine_requirements(
    base: Requirement, answers: Iterable[Assessment | Requirement | None]
) -> Requirement:
    """
    The requirement after assessors spoke: the strictest of *base* and every answer.

    ``None`` answers add nothing. The result is never below *base* (assessors only raise).
    """
    result = Requirement(base)
    for answer in answers:
        if answer is None:
            continue
        value = answer.requirement if isinstance(answer, Assessment) else Requirement(answer)
        result = max(result, value)
    return result


def _name(assessor: object) -> str:
    return str(getattr(assessor, "__name__", None) or type(assessor).__name__)


def run_assessors(
    assessors: Iterable[RiskAssessor], context: RiskContext
) -> tuple[Assessment, ...]:
    """
    Ask every assessor; an assessor that raises or answers nonsense counts as ``DENY``.

    Returns:
        One :class:`Assessment` per assessor that answered (``None`` answers are skipped).
    """
    out: list[Assessment] = []
    for assessor in assessors:
        name = _name(assessor)
        try:
            answer = assessor(context)
            if answer is None:
                continue
            if isinstance(answer, Assessment):
                out.append(answer if answer.assessor else attrs.evolve(answer, assessor=name))
            else:
                out.append(Assessment(requirement=Requirement(answer), assessor=name))
        except Exception as exc:  # noqa: BLE001 - fail closed on any assessor fault
            out.append(
                Assessment(
                    requirement=Requirement.DENY,
                    reason=f"assessor failed: {type(exc).__name__}: {exc}",
                    assessor=name,
                )
            )
    return tuple(out)


@attrs.frozen
class _Preview:
    requirement: Requirement
    effective: ExecPolicy | None
    evaluation: Evaluation | None


async def _preview(
    guard: ExecGuard,
    command: str,
    *,
    cwd: str,
    env: ExecEnvironment,
    agent_id: str | None,
    session_key: str | None,
    policy: ExecPolicy | None,
) -> _Preview:
    """
    What the guard's policy would say before any human is asked (no side effects).

    For the same session as the call: a grant bound to it counts, as in the guard.
    """
    if mentions_approve_command(command):
        return _Preview(Requirement.DENY, None, None)
    # The guard's own loading and policy step, so this preview cannot drift from authorize.
    try:
        file = await guard._load_file()  # noqa: SLF001
    except (ApprovalsFileError, OSError):
        return _Preview(Requirement.DENY, None, None)
    request = _Request(command, cwd, env, agent_id, session_key, policy)
    check = await guard._check(file, request)  # noqa: SLF001
    effective = check.resolved.effective
    if check.evaluation is None:  # security=deny: nothing was analysed
        return _Preview(Requirement.DENY, effective, None)
    return _Preview(requirement_of(check.verdict.verdict), effective, check.evaluation)


def _describe(assessments: Sequence[Assessment]) -> str:
    parts = [
        f"{a.assessor or 'assessor'}: {a.requirement.name.lower()}"
        + (f" ({a.reason})" if a.reason else "")
        for a in assessments
        if a.requirement > Requirement.ALLOW
    ]
    return "; ".join(parts)


async def authorize_assessed(
    guard: ExecGuard,
    command: str,
    *,
    assessors: Iterable[RiskAssessor],
    cwd: str | os.PathLike[str] | None = None,
    env: Mapping[str, str] | ExecEnvironment | None = None,
    env_overrides: Mapping[str, str] | None = None,
    agent_id: str | None = None,
    session_key: str | None = None,
    policy: ExecPolicy | None = None,
    sandbox: Sandbox | None = None,
) -> Authorization:
    """
    Authorise *command* with the guard after risk assessors had their say.

    The policy's answer is computed first (without asking anyone); the assessors may
    only raise it. ``ASK`` makes the guard ask a human even where the policy allows
    (a timeout then denies: ``askFallback`` is forced to ``deny``), ``DENY`` refuses.
    Whatever the guard answers, the result is then checked again: it is allowed only if
    the assessors' requirement was met (``ASK`` needs a human ``allow-once`` or
    ``allow-always``; ``DENY`` never runs), so a change of the approvals file between the
    two reads cannot lower it either. With no assessor above ``ALLOW`` the guard's answer
    is returned unchanged.

    Args:
        guard: The exec guard.
        command: The shell command text.
        assessors: The plug-ins (see :data:`RiskAssessor`).
        cwd: Absolute working directory (default: the process's), resolved once.
        env: The base environment, as for :meth:`ExecGuard.authorize` (default: the
            host's, stripped of dangerous variables).
        env_overrides: What the agent asked to add (checked against the override lists).
        agent_id: The agent.
        session_key: The conversation.
        policy: A per-call requested policy (it can only tighten the guard's).
        sandbox: What a confined run may touch (see :meth:`ExecGuard.authorize`).

    Returns:
        The guard's :class:`~openclaw_exec.Authorization`, with the assessors' reasons
        appended to its message (and reason ``risk-assessor-denied`` /
        ``risk-assessor-unapproved`` when they are what refused it).
    """
    # Resolved once for the preview and the assessors; guard.authorize resolves the cwd
    # again, so a folder swapped in between is checked, bound and run as it then is.
    where = checked_cwd(cwd)
    environ = exec_environment(env, env_overrides)
    preview = await _preview(
        guard,
        command,
        cwd=where,
        env=environ,
        agent_id=agent_id,
        session_key=session_key,
        policy=policy,
    )
    context = RiskContext(
        command=command,
        cwd=where,
        env=MappingProxyType(dict(environ.env)),
        agent_id=agent_id,
        evaluation=preview.evaluation,
    )
    assessments = run_assessors(assessors, context)
    required = combine_requirements(Requirement.ALLOW, assessments)
    final = max(preview.requirement, required)
    call_policy = policy
    if required > preview.requirement and preview.effective is not None:
        if final is Requirement.DENY:
            call_policy = attrs.evolve(preview.effective, security=Security.DENY)
        else:  # the policy allows; the assessor wants a human, and no timeout may allow
            call_policy = attrs.evolve(preview.effective, ask="always", ask_fallback=Security.DENY)
    auth = await guard.authorize(
        command,
        cwd=where,
        env=environ,
        agent_id=agent_id,
        session_key=session_key,
        policy=call_policy,
        sandbox=sandbox,
    )
    note = _describe(assessments)
    human = auth.decision in (Decision.ALLOW_ONCE, Decision.ALLOW_ALWAYS)
    if auth.allowed and required is Requirement.DENY:
        return attrs.evolve(
            auth, allowed=False, reason=RISK_DENIED, message=f"risk assessment: {note}"
        )
    if auth.allowed and required is Requirement.ASK and not human:
        return attrs.evolve(
            auth,
            allowed=False,
            reason=RISK_UNAPPROVED,
            message=f"{auth.message}; risk assessment needs a human: {note}",
        )
    if not note:
        return auth
    reason = auth.reason
    if not auth.allowed and required > preview.requirement and final is Requirement.DENY:
        reason = RISK_DENIED
    return attrs.evolve(auth, reason=reason, message=f"{auth.message}; risk assessment: {note}")
