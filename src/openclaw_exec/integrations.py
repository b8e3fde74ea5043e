"""
Integration helpers: run exactly what was authorised, guard tool functions, add risk checks.

Three things agent frameworks ask for, built on :class:`~openclaw_exec.ExecGuard`:

* :func:`guarded_run` authorises a command and then runs *exactly* that plan with
  :func:`anyio.run_process`: the ``("sh", "-c", text)`` argv the approval is bound to
  (``sh`` started by absolute path, never looked up in the request's ``PATH``), the cwd
  resolved once and checked, the environment the guard checked (the host's stripped of
  dangerous variables, plus the agent's accepted overrides), nothing else.
* :func:`guarded_tool` decorates an async tool function so that its command argument is
  authorised before the body runs.
* Risk assessors are plug-ins (plain callables) that look at a command and may only
  *raise* the requirement, ``ALLOW`` -> ``ASK`` -> ``DENY``; they can never lower what
  the policy decided. An assessor that raises an exception counts as ``DENY`` (fail
  closed). :func:`authorize_assessed` applies them around the guard.

This is runtime code (anyio); the pure core never imports it.
"""

from __future__ import annotations

import enum
import functools
import inspect
import os
import shlex
import subprocess
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from types import MappingProxyType
from typing import Any, ParamSpec, Protocol, TypeVar

import anyio
import anyio.to_thread
import attrs

from openclaw_exec.analysis import Evaluation, ExecEnvironment
from openclaw_exec.exceptions import AnalysisError, ApprovalsFileError, ExecDeniedError
from openclaw_exec.guard import (
    Authorization,
    ExecGuard,
    GuardReason,
    checked_cwd,
    exec_environment,
)
from openclaw_exec.policy import (
    ExecPolicy,
    Sandbox,
    Security,
    Verdict,
)
from openclaw_exec.protocol import Decision, mentions_approve_command

__all__ = [
    "DEFAULT_SHELL",
    "RISK_DENIED",
    "RISK_UNAPPROVED",
    "Assessment",
    "GuardedRun",
    "Requirement",
    "RiskAssessor",
    "RiskContext",
    "authorize_assessed",
    "combine_requirements",
    "command_text",
    "guarded_run",
    "guarded_tool",
    "requirement_of",
    "run_assessors",
]

_P = ParamSpec("_P")
_R = TypeVar("_R")

#: The shell :func:`guarded_run` starts, by absolute path (the approval plan says ``sh``).
DEFAULT_SHELL = "/bin/sh"

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
    policy: ExecPolicy | None,
) -> _Preview:
    """What the guard's policy would say before any human is asked (no side effects)."""
    if mentions_approve_command(command):
        return _Preview(Requirement.DENY, None, None)
    # The guard's own loading and policy step, so this preview cannot drift from authorize.
    try:
        file = await guard._load_file()  # noqa: SLF001
    except (ApprovalsFileError, OSError):
        return _Preview(Requirement.DENY, None, None)
    check = await guard._check(  # noqa: SLF001
        file, command, cwd=cwd, env=env, agent_id=agent_id, policy=policy
    )
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
    # Resolved once: the preview, the assessors and the guard all see the same values.
    where = checked_cwd(cwd)
    environ = exec_environment(env, env_overrides)
    preview = await _preview(
        guard, command, cwd=where, env=environ, agent_id=agent_id, policy=policy
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


@attrs.frozen(kw_only=True)
class GuardedRun:
    """
    What :func:`guarded_run` did.

    Attributes:
        authorization: The guard's answer.
        argv: The plan the approval is bound to: ``("sh", "-c", text)``; ``argv[0]``
            is started as :attr:`executable`.
        cwd: The working directory it ran in: the resolved folder the guard checked.
        returncode: The exit status, or ``None`` when nothing ran (denied).
        stdout: Captured standard output (empty when nothing ran).
        stderr: Captured standard error.
        executable: The absolute path of the shell started for ``argv[0]``.

    The environment it ran with is ``authorization.environment.env``.
    """

    authorization: Authorization
    argv: tuple[str, ...]
    cwd: str
    executable: str = DEFAULT_SHELL
    returncode: int | None = None
    stdout: bytes = b""
    stderr: bytes = b""

    @property
    def ran(self) -> bool:
        """Whether the process was started."""
        return self.returncode is not None

    @property
    def ok(self) -> bool:
        """Whether it ran and exited 0."""
        return self.returncode == 0

    def raise_for_denial(self) -> GuardedRun:
        """
        Return self, or raise when the guard said no.

        Raises:
            ExecDeniedError: The command was not allowed (nothing ran).
        """
        if not self.authorization.allowed:
            raise ExecDeniedError(self.authorization)
        return self


def _absolute(path: str | os.PathLike[str] | None) -> str:
    """*path* made absolute against the process's cwd (a pure string operation)."""
    return os.path.abspath(os.getcwd() if path is None else os.fspath(path))  # noqa: PTH100, PTH109


def command_text(command: str | Sequence[str]) -> str:
    """Shell text for *command*: a string as is, an argv quoted with :func:`shlex.join`."""
    if isinstance(command, str):
        return command
    argv = list(command)
    if not argv or not all(isinstance(word, str) for word in argv):
        raise TypeError("command must be a string or a non-empty sequence of strings")
    return shlex.join(argv)


async def guarded_run(
    guard: ExecGuard,
    command: str | Sequence[str],
    *,
    cwd: str | os.PathLike[str] | None = None,
    env: Mapping[str, str] | ExecEnvironment | None = None,
    env_overrides: Mapping[str, str] | None = None,
    agent_id: str | None = None,
    session_key: str | None = None,
    policy: ExecPolicy | None = None,
    assessors: Iterable[RiskAssessor] = (),
    input: bytes | None = None,  # noqa: A002 - the name anyio.run_process uses
    sandbox: Sandbox | None = None,
    shell: str = DEFAULT_SHELL,
) -> GuardedRun:
    """
    Authorise *command*, then run exactly the authorised plan with :func:`anyio.run_process`.

    The plan is ``("sh", "-c", text)``, the argv the guard binds its approval to; ``sh``
    is started as *shell*, an absolute path, so no ``PATH`` (the request's or the
    host's) chooses the shell. *cwd* is resolved through the real filesystem once
    (:func:`~openclaw_exec.guard.checked_cwd`) and that folder is both checked and run
    in. The environment is built once (:func:`~openclaw_exec.guard.exec_environment`)
    and the process gets exactly ``authorization.environment.env``: the host's
    environment stripped of dangerous variables (or the caller's *env*, less refused
    keys), plus the agent's accepted *env_overrides*. A refused variable makes the
    command an analysis failure (ask, or deny by policy) and never reaches the process,
    even when a human approves. (An argv is turned into text with :func:`shlex.join`,
    which the analyser reads back word for word.)

    Args:
        guard: The exec guard.
        command: Shell text, or an argv.
        cwd: Working directory (default: the process's).
        env: The base environment: ``None`` (default) for the host's own, stripped; a
            full mapping the caller chose, whose dangerous keys are refused.
        env_overrides: What the agent asked to add; keys on the override block lists
            (``PATH``, ``HOME``, ``GIT_*``, ``*_EDITOR`` ...) are refused.
        agent_id: The agent.
        session_key: The conversation.
        policy: A per-call requested policy (only tightens).
        assessors: Risk plug-ins (see :func:`authorize_assessed`).
        input: Bytes for the process's standard input (``None``: it reads /dev/null, never
            the calling process's own standard input).
        sandbox: What a confined run may touch (default: the guard's
            :class:`~openclaw_exec.policy.Sandbox`). Whether the run is confined is the
            policy's ``sandbox`` knob (``policy=ExecPolicy(sandbox="required")`` asks for
            it per call); the backend named in the authorization is the one used, so
            the run is confined exactly as approved.
        shell: The absolute path of the shell to start for ``sh`` (also inside a
            sandbox).

    Returns:
        A :class:`GuardedRun`; when denied, nothing ran and ``returncode`` is ``None``.
        A non-zero exit status is reported, not raised.

    Raises:
        AnalysisError: *shell* is not absolute, or the environment is malformed.
    """
    shell_in: object = shell
    if not isinstance(shell_in, str) or not shell.startswith("/"):
        raise AnalysisError(f"shell must be an absolute path, got {shell!r}")
    text = command_text(command)
    where = checked_cwd(cwd)
    environ = exec_environment(env, env_overrides)
    argv = ("sh", "-c", text)
    if assessors:
        auth = await authorize_assessed(
            guard,
            text,
            assessors=assessors,
            cwd=where,
            env=environ,
            agent_id=agent_id,
            session_key=session_key,
            policy=policy,
            sandbox=sandbox,
        )
    else:
        auth = await guard.authorize(
            text,
            cwd=where,
            env=environ,
            agent_id=agent_id,
            session_key=session_key,
            policy=policy,
            sandbox=sandbox,
        )
    where = auth.cwd or where
    if not auth.allowed:
        return GuardedRun(authorization=auth, argv=argv, cwd=where, executable=shell)
    checked = auth.environment if auth.environment is not None else environ
    run_env = dict(checked.env)  # exactly the environment that was checked and bound
    if auth.sandbox is not None:
        return await _run_confined(
            guard, auth=auth, argv=argv, shell=shell, where=where, environ=run_env, stdin=input
        )
    done = await anyio.run_process(
        [shell, *argv[1:]], cwd=where, env=run_env, check=False, **_stdin(input)
    )
    return GuardedRun(
        authorization=auth,
        argv=argv,
        cwd=where,
        executable=shell,
        returncode=done.returncode,
        stdout=done.stdout or b"",
        stderr=done.stderr or b"",
    )


def _stdin(data: bytes | None) -> dict[str, Any]:
    # Never the guard's own standard input: bash reads ~/.bashrc for `bash -c` when its
    # stdin is a socket, and a command could read what the embedding process was sent.
    return {"input": data} if data is not None else {"stdin": subprocess.DEVNULL}


async def _run_confined(
    guard: ExecGuard,
    *,
    auth: Authorization,
    argv: tuple[str, ...],
    shell: str,
    where: str,
    environ: Mapping[str, str],
    stdin: bytes | None,
) -> GuardedRun:
    assert auth.sandbox is not None
    assert auth.sandbox_spec is not None
    backend = guard.sandbox_backend(auth.sandbox)
    confinement = await anyio.to_thread.run_sync(
        lambda: backend.prepare(
            (shell, *argv[1:]),
            spec=auth.sandbox_spec or guard.sandbox,
            cwd=where,
            env=environ,
            protect=guard.protected_paths(),
        )
    )
    try:
        done = await anyio.run_process(
            list(confinement.argv),
            cwd=confinement.cwd,
            env=dict(confinement.env),
            check=False,
            **_stdin(stdin),
        )
    finally:
        await anyio.to_thread.run_sync(confinement.cleanup)
    return GuardedRun(
        authorization=auth,
        argv=argv,
        cwd=where,
        executable=shell,
        returncode=done.returncode,
        stdout=done.stdout or b"",
        stderr=done.stderr or b"",
    )


def guarded_tool(
    guard: ExecGuard,
    *,
    command: str = "command",
    cwd: str | None = "cwd",
    agent_id: str | None = None,
    assessors: Iterable[RiskAssessor] = (),
    on_denied: Callable[[Authorization], Any] | None = None,
) -> Callable[[Callable[_P, Awaitable[_R]]], Callable[_P, Awaitable[_R]]]:
    """
    Decorate an async tool function so its command is authorised before the body runs.

    Args:
        guard: The exec guard.
        command: The name of the parameter holding the command (text or argv).
        cwd: The name of the parameter holding the working directory, or ``None``.
        agent_id: The agent the tool acts for.
        assessors: Risk plug-ins.
        on_denied: Called with the :class:`~openclaw_exec.Authorization` when denied; its
            return value is returned instead of running the body (for LLM tools: a
            message the model can read). ``None``: raise :class:`ExecDeniedError`.

    The body receives the arguments as called, except the *cwd* parameter: it gets the
    checked folder (``Authorization.cwd``, resolved through the real filesystem once),
    never the raw value, so a symlink swapped after the check cannot move the body
    elsewhere. It must run that exact command there; when it starts a local process,
    call :func:`guarded_run` instead (it also runs with the checked environment).

    Raises:
        TypeError: At decoration time, when the function is not async or has no
            parameter named *command*.
    """
    checks = tuple(assessors)

    def decorate(func: Callable[_P, Awaitable[_R]]) -> Callable[_P, Awaitable[_R]]:
        if not inspect.iscoroutinefunction(func):
            raise TypeError(f"guarded_tool needs an async function, got {func!r}")
        signature = inspect.signature(func)
        if command not in signature.parameters:
            raise TypeError(f"{func.__name__}() has no parameter named {command!r}")

        @functools.wraps(func)
        async def wrapper(*args: _P.args, **kwargs: _P.kwargs) -> _R:
            bound = signature.bind(*args, **kwargs)
            bound.apply_defaults()
            text = command_text(bound.arguments[command])
            raw = bound.arguments.get(cwd) if cwd is not None else None
            where = checked_cwd(None if raw is None else _absolute(raw))
            auth = await authorize_assessed(
                guard, text, assessors=checks, cwd=where, agent_id=agent_id
            )
            if auth.allowed and auth.sandbox is not None:
                # The body starts the process itself: it cannot be confined as approved.
                auth = attrs.evolve(
                    auth,
                    allowed=False,
                    reason=GuardReason.SANDBOX_UNAVAILABLE,
                    message=(
                        f"the policy confines this command ({auth.sandbox}), but a "
                        "guarded_tool body runs it unconfined: use guarded_run"
                    ),
                )
            if not auth.allowed:
                if on_denied is not None:
                    result: _R = on_denied(auth)
                    return result
                raise ExecDeniedError(auth)
            if cwd is not None and cwd in bound.arguments and auth.cwd is not None:
                bound.arguments[cwd] = auth.cwd  # the checked folder, not the raw one
            return await func(*bound.args, **bound.kwargs)

        return wrapper

    return decorate
