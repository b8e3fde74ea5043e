"""
LangGraph: a human approval as a checkpointed ``interrupt()`` (``openclaw-exec[langgraph]``).

A LangGraph app should not block a worker while a human thinks: it pauses, saves its state
with its checkpointer, and resumes when the answer comes (``Command(resume=...)``), maybe in
another process. This module makes the guard's approval such a pause:

* :func:`shell_tool` is a langchain-core tool (sync and async) for a ``ToolNode`` or a
  prebuilt agent: each call is checked by the guard without waiting; what the policy
  decides alone runs (or is refused) at once; what needs a human becomes an ``interrupt()``
  whose value is an :class:`~openclaw_exec.integrations.langgraph.ApprovalView` (command,
  cwd, why, approval id).
* :func:`run_shell` / :func:`run_shell_sync` are the same approval step for any node.
* :func:`answer` builds the resume value: ``graph.invoke(Command(resume=answer(interrupt,
  "allow-once")), config)``. An answer names the approval it answers; one for another
  approval (another command) is refused and recorded as a deny.

The check and the settlement each run in a LangGraph ``@task``, so their results are
checkpointed: the node re-executes on resume (LangGraph's rule) without registering a second
approval or spending the decision twice, and a replayed resume (time travel to an older
checkpoint) meets the guard's one-outcome rule (``approval-replayed``). The approval is bound
to the exact plan (argv, cwd, environment hash, agent, session); the session defaults to the
graph's ``thread_id``. A graph needs a checkpointer (``InMemorySaver`` or a persistent one).
"""

from __future__ import annotations

import functools
import os
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, TypeVar

import anyio
from langchain_core.tools import StructuredTool
from langgraph.config import get_config
from langgraph.func import task
from langgraph.types import Interrupt, interrupt

from openclaw_exec.guard import ExecGuard, PendingApproval
from openclaw_exec.integrations._deferred import (
    ApprovalView,
    begin,
    parse_answer,
    pending_from,
    settle,
    view,
)
from openclaw_exec.integrations._outcome import (
    DEFAULT_DESCRIPTION,
    DEFAULT_MAX_OUTPUT,
    ShellOutcome,
    render,
)
from openclaw_exec.integrations.langchain import ShellInput
from openclaw_exec.protocol import Decision, Principal

__all__ = ["ApprovalView", "answer", "run_shell", "run_shell_sync", "shell_tool"]

_T = TypeVar("_T")
_RESUMER = "langgraph-resume"


def answer(
    request: Interrupt | Mapping[str, Any], decision: Decision | str, *, by: str = ""
) -> dict[str, str]:
    """
    The resume value answering one approval interrupt.

    Args:
        request: The ``Interrupt`` (from ``result["__interrupt__"]`` or
            ``graph.get_state(config).interrupts``) or its value.
        decision: ``allow-once``, ``allow-always`` or ``deny``.
        by: Who answered (recorded as the approval's ``resolvedBy``).

    Returns:
        ``{"approval_id", "decision"[, "by"]}``, for ``Command(resume=...)`` (or one entry of
        a ``{interrupt.id: value}`` map when several interrupts are pending).
    """
    value = request.value if isinstance(request, Interrupt) else request
    if not isinstance(value, Mapping) or not isinstance(value.get("approval_id"), str):
        raise ValueError("not an openclaw-exec approval interrupt (no approval_id)")  # noqa: TRY004
    out = {"approval_id": value["approval_id"], "decision": Decision.parse(str(decision)).value}
    if by:
        out["by"] = by
    return out


def _session(session_key: str | None) -> str | None:
    if session_key is not None:
        return session_key
    thread = get_config().get("configurable", {}).get("thread_id")
    return None if thread is None else str(thread)


def _approver(reply: object) -> Principal:
    who = reply.get("by") if isinstance(reply, Mapping) else None
    if isinstance(who, str) and who:
        return Principal(id=who, display_name=who)
    return Principal(id=_RESUMER, display_name="LangGraph resume")


class _Steps:
    """The two checkpointed steps for one guard: check (and maybe run), settle (and run)."""

    def __init__(
        self, guard: ExecGuard, max_output: int, env: Mapping[str, str] | None = None
    ) -> None:
        self.guard = guard
        self.max_output = max_output
        # Kept here, never a task input: a checkpointer would store the values.
        self.env = dict(env) if env is not None else None

    async def check(
        self,
        command: str,
        cwd: str | None,
        env_overrides: dict[str, str] | None,
        agent_id: str | None,
        session_key: str | None,
    ) -> dict[str, Any]:
        first = await begin(
            self.guard,
            command,
            cwd=cwd,
            env=self.env,
            env_overrides=env_overrides,
            agent_id=agent_id,
            session_key=session_key,
            max_output=self.max_output,
        )
        if isinstance(first, PendingApproval):
            return {"view": view(first)}
        return {"outcome": first}

    async def settle(
        self, shown: ApprovalView, reply: Any, env_overrides: dict[str, str] | None
    ) -> ShellOutcome:
        pending = pending_from(shown["pending"], env=self.env, env_overrides=env_overrides)
        parsed = parse_answer(reply, shown["approval_id"])
        if isinstance(parsed, Decision):
            decision, problem = parsed, ""
        else:  # an answer for another approval, or no answer at all: recorded as a deny
            decision, problem = Decision.DENY, parsed
        return await settle(
            self.guard,
            pending,
            decision,
            approver=_approver(reply),
            max_output=self.max_output,
            problem=problem,
        )


def _task(name: str, func: Callable[..., Any]) -> Callable[..., Any]:
    """*func* as a LangGraph ``@task`` named *name* (its result is checkpointed)."""
    decorate: Callable[[Callable[..., Any]], Callable[..., Any]] = task(name=name)
    return decorate(func)


def _sync(func: Callable[..., Awaitable[_T]]) -> Callable[..., _T]:
    @functools.wraps(func)
    def call(*args: Any) -> _T:
        return anyio.run(functools.partial(func, *args))

    return call


async def run_shell(
    guard: ExecGuard,
    command: str,
    *,
    cwd: str | os.PathLike[str] | None = None,
    env: Mapping[str, str] | None = None,
    env_overrides: Mapping[str, str] | None = None,
    agent_id: str | None = None,
    session_key: str | None = None,
    max_output: int = DEFAULT_MAX_OUTPUT,
) -> ShellOutcome:
    """
    The approval step for an async LangGraph node: check, pause for a human if needed, run.

    Call it inside a node of a graph compiled with a checkpointer. When a human must decide,
    the graph pauses with an ``interrupt()`` whose value is an :class:`ApprovalView`; resume
    it with ``Command(resume=answer(interrupt, "allow-once"))``.

    Args:
        guard: The exec guard (its store holds the pending approval).
        command: The shell command text.
        cwd: Absolute working directory (default: the process's).
        env: The base environment (default: this process's, stripped of dangerous
            variables). A resume re-checks the plan with it, and the binding holds its hash
            (``PWD`` and ``SHLVL`` included): workers that resume each other's approvals
            need the same environment, so give them the same *env*.
        env_overrides: Variables to add to the (host's, stripped) environment.
        agent_id: The agent.
        session_key: The conversation bound to the approval (default: the ``thread_id``).
        max_output: Characters of stdout and of stderr kept in the outcome.

    Returns:
        The :class:`~openclaw_exec.integrations.ShellOutcome` (plain JSON).
    """
    steps = _Steps(guard, max_output, env)
    overrides = dict(env_overrides) if env_overrides else None
    where = None if cwd is None else os.fspath(cwd)
    check = _task("openclaw_exec_check", steps.check)
    first = await check(command, where, overrides, agent_id, _session(session_key))
    if "outcome" in first:
        outcome: ShellOutcome = first["outcome"]
        return outcome
    shown: ApprovalView = first["view"]
    reply = interrupt(shown)
    finish = _task("openclaw_exec_settle", steps.settle)
    result: ShellOutcome = await finish(shown, reply, overrides)
    return result


def run_shell_sync(
    guard: ExecGuard,
    command: str,
    *,
    cwd: str | os.PathLike[str] | None = None,
    env: Mapping[str, str] | None = None,
    env_overrides: Mapping[str, str] | None = None,
    agent_id: str | None = None,
    session_key: str | None = None,
    max_output: int = DEFAULT_MAX_OUTPUT,
) -> ShellOutcome:
    """
    :func:`run_shell` for a sync node (``graph.invoke``).

    The guard's async calls run in a fresh event loop per step, so call it where no event
    loop runs in the thread (LangGraph's sync runner: yes).
    """
    steps = _Steps(guard, max_output, env)
    overrides = dict(env_overrides) if env_overrides else None
    where = None if cwd is None else os.fspath(cwd)
    check = _task("openclaw_exec_check", _sync(steps.check))
    first = check(command, where, overrides, agent_id, _session(session_key)).result()
    if "outcome" in first:
        outcome: ShellOutcome = first["outcome"]
        return outcome
    shown: ApprovalView = first["view"]
    reply = interrupt(shown)
    finish = _task("openclaw_exec_settle", _sync(steps.settle))
    result: ShellOutcome = finish(shown, reply, overrides).result()
    return result


def shell_tool(
    guard: ExecGuard,
    *,
    name: str = "shell",
    description: str = DEFAULT_DESCRIPTION,
    cwd: str | os.PathLike[str] | None = None,
    agent_id: str | None = None,
    session_key: str | None = None,
    env: Mapping[str, str] | None = None,
    env_overrides: Mapping[str, str] | None = None,
    max_output: int = DEFAULT_MAX_OUTPUT,
) -> StructuredTool:
    """
    A langchain-core tool that pauses the graph for a human instead of waiting for one.

    Use it in a ``ToolNode`` (or a prebuilt agent) of a graph compiled with a checkpointer.
    See :func:`run_shell`; the arguments are those of
    :func:`openclaw_exec.integrations.langchain.shell_tool` (without risk assessors: they
    need the blocking guard). The response is ``(text, ShellOutcome)``.
    """
    default_cwd = None if cwd is None else os.fspath(cwd)
    options: dict[str, Any] = {
        "env": env,
        "env_overrides": env_overrides,
        "agent_id": agent_id,
        "session_key": session_key,
        "max_output": max_output,
    }

    async def arun(command: str, cwd: str | None = None) -> tuple[str, ShellOutcome]:
        where = cwd if cwd is not None else default_cwd
        outcome = await run_shell(guard, command, cwd=where, **options)
        return render(outcome), outcome

    def run(command: str, cwd: str | None = None) -> tuple[str, ShellOutcome]:
        where = cwd if cwd is not None else default_cwd
        outcome = run_shell_sync(guard, command, cwd=where, **options)
        return render(outcome), outcome

    return StructuredTool.from_function(
        func=run,
        coroutine=arun,
        name=name,
        description=description,
        args_schema=ShellInput,
        response_format="content_and_artifact",
    )
