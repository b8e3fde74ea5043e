"""
:func:`guarded_run`: authorise a command, then run exactly the authorised plan.

The plan is the ``("sh", "-c", text)`` argv the approval is bound to (``sh`` started by
absolute path, never looked up in the request's ``PATH``), the cwd resolved once and
checked, the environment the guard checked (the host's stripped of dangerous variables,
plus the agent's accepted overrides), nothing else.
"""

from __future__ import annotations

import os
import shlex
from collections.abc import Callable, Iterable, Mapping, Sequence

import anyio.to_thread
import attrs

from openclaw_exec._guard_effects import checked_start
from openclaw_exec._guard_values import _Request
from openclaw_exec.analysis import ExecEnvironment
from openclaw_exec.audit._log import held_group_sync
from openclaw_exec.exceptions import AnalysisError, ExecDeniedError
from openclaw_exec.guard import Authorization, ExecGuard, checked_cwd, exec_environment
from openclaw_exec.integrations._assess import RiskAssessor, authorize_assessed
from openclaw_exec.integrations._spawn import spawn
from openclaw_exec.policy import ExecPolicy, Sandbox

__all__ = ["DEFAULT_SHELL", "GuardedRun", "command_text", "guarded_run", "run_authorized"]

#: The shell :func:`guarded_run` starts, by absolute path (the approval plan says ``sh``).
DEFAULT_SHELL = "/bin/sh"


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
    Authorise *command*, then run exactly the authorised plan (as :func:`anyio.run_process`).

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
        That includes an allowed command whose cwd path no longer reaches the folder
        that was checked when it is about to start (a folder on it swapped while a human
        decided): ``authorization.reason`` is then ``cwd-changed``. A non-zero exit
        status is reported, not raised.

    Raises:
        AnalysisError: *shell* is not absolute, or the environment is malformed.
    """
    shell_in: object = shell
    if not isinstance(shell_in, str) or not shell.startswith("/"):
        raise AnalysisError(f"shell must be an absolute path, got {shell!r}")
    text = command_text(command)
    where = checked_cwd(cwd)
    environ = exec_environment(env, env_overrides)
    # The audit record of the answer is written before the answer, as always; its batch
    # fsync is started once the command has started (see held_group_sync), not during it.
    with held_group_sync() as started:
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
            # The cwd resolved and the environment built above are the ones checked (not
            # resolved again: a symlink swapped meanwhile changes nothing checked or run).
            request = _Request(text, where, environ, agent_id, session_key, policy, sandbox)
            auth = await guard._authorize(  # noqa: SLF001 - authorize without re-resolving
                request,
                yield_now=False,  # the run below waits for the command: others go then
            )
        if auth.cwd is None:
            auth = attrs.evolve(auth, cwd=where)
        return await _run_plan(
            guard, auth, input=input, shell=shell, environment=environ, started=started
        )


async def run_authorized(
    guard: ExecGuard,
    authorization: Authorization,
    *,
    input: bytes | None = None,  # noqa: A002 - the name anyio.run_process uses
    shell: str = DEFAULT_SHELL,
    environment: ExecEnvironment | None = None,
) -> GuardedRun:
    """
    Run exactly what *authorization* allowed: its command, in its cwd, with its environment.

    For flows that get the :class:`~openclaw_exec.Authorization` first and run later (a
    deferred approval resumed with a human's decision, a framework's approval step).
    The plan is ``("sh", "-c", authorization.command)`` started as *shell*, in
    ``authorization.cwd``, with exactly ``authorization.environment.env``, confined by
    the backend the authorization names (if any). A denied authorization runs nothing.

    Args:
        guard: The guard that issued *authorization* (its sandbox backends are used).
        authorization: The guard's answer.
        input: Bytes for standard input (``None``: /dev/null).
        shell: The absolute path of the shell started for ``sh``.
        environment: The environment to use when the authorization carries none
            (internal: :func:`guarded_run` passes the one it built).

    Returns:
        A :class:`GuardedRun` (``ran`` is ``False`` when the authorization was a denial,
        or when its cwd no longer reaches the folder that was checked: ``cwd-changed``).

    Raises:
        AnalysisError: *shell* is not absolute, or an allowed authorization carries no
            cwd or environment (nothing can be run exactly as checked).
    """
    return await _run_plan(guard, authorization, input=input, shell=shell, environment=environment)


async def _run_plan(
    guard: ExecGuard,
    authorization: Authorization,
    *,
    input: bytes | None,  # noqa: A002 - the name anyio.run_process uses
    shell: str,
    environment: ExecEnvironment | None,
    started: Callable[[], None] | None = None,
) -> GuardedRun:
    """:func:`run_authorized`; *started* is called once the process has started (or will not)."""
    shell_in: object = shell
    if not isinstance(shell_in, str) or not shell.startswith("/"):
        raise AnalysisError(f"shell must be an absolute path, got {shell!r}")
    auth = authorization
    argv = ("sh", "-c", auth.command)
    where = auth.cwd or ""
    if not auth.allowed:
        return GuardedRun(authorization=auth, argv=argv, cwd=where, executable=shell)
    checked = auth.environment if auth.environment is not None else environment
    if checked is None or not where.startswith("/"):
        raise AnalysisError("an allowed authorization without its cwd and environment cannot run")
    run_env = dict(checked.env)  # exactly the environment that was checked and bound
    # The last step before the start: the path must still reach the folder that was checked
    # (a human may have taken minutes; a folder on the path may have been swapped meanwhile).
    auth = await checked_start(auth, audit=guard.audit, host=guard.host)
    if not auth.allowed:
        if started is not None:
            started()  # nothing will start: release the held fsync
        return GuardedRun(authorization=auth, argv=argv, cwd=where, executable=shell)
    if auth.sandbox is not None:
        if started is not None:
            started()  # the confinement is prepared in worker threads: nothing held there
        return await _run_confined(
            guard, auth=auth, argv=argv, shell=shell, where=where, environ=run_env, stdin=input
        )
    done = await spawn((shell, *argv[1:]), cwd=where, env=run_env, input=input, started=started)
    return GuardedRun(
        authorization=auth,
        argv=argv,
        cwd=where,
        executable=shell,
        returncode=done.returncode,
        stdout=done.stdout,
        stderr=done.stderr,
    )


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
        done = await spawn(confinement.argv, cwd=confinement.cwd, env=confinement.env, input=stdin)
    finally:
        await anyio.to_thread.run_sync(confinement.cleanup)
    return GuardedRun(
        authorization=auth,
        argv=argv,
        cwd=where,
        executable=shell,
        returncode=done.returncode,
        stdout=done.stdout,
        stderr=done.stderr,
    )
