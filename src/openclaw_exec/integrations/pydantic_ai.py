"""
pydantic-ai: a toolset whose shell tool defers to a human (``openclaw-exec[pydantic-ai]``).

:func:`shell_toolset` is a pydantic-ai ``FunctionToolset`` with one tool, ``shell``. Each call
is checked by the guard without waiting: what the policy decides alone runs (or is refused)
at once; what needs a human raises pydantic-ai's ``ApprovalRequired``, so the agent run ends
with a ``DeferredToolRequests`` output (give the agent ``output_type=[str,
DeferredToolRequests]``) whose metadata for the call is an
:class:`~openclaw_exec.integrations.langgraph.ApprovalView`-shaped dict (command, cwd, why,
approval id). Show it to the human, then resume the run with
:func:`approval_results`::

    result = await agent.run("clean the build folder", toolsets=[toolset])
    if isinstance(result.output, DeferredToolRequests):
        results = approval_results(result.output, "allow-once", by="alice")
        result = await agent.run(
            message_history=result.all_messages(), deferred_tool_results=results
        )

The decision travels in the call's metadata and is recorded by the guard's
:meth:`~openclaw_exec.ExecGuard.resume` (a deny too, so every request has exactly one
outcome and the model reads why). It is bound to the exact plan: an approval whose call
arguments were changed on the way (``ToolApproved(override_args=...)``), one for another
command, a replayed one, or a bare ``ToolApproved()`` without this module's metadata runs
nothing. pydantic-ai runs on asyncio.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from pydantic_ai import RunContext
from pydantic_ai.exceptions import ApprovalRequired
from pydantic_ai.messages import ToolReturn
from pydantic_ai.tools import DeferredToolRequests, DeferredToolResults, ToolApproved
from pydantic_ai.toolsets import FunctionToolset

from openclaw_exec.exceptions import AnalysisError
from openclaw_exec.guard import ExecGuard, PendingApproval, checked_cwd
from openclaw_exec.integrations._deferred import (
    ANSWER_MISMATCH,
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
    invalid,
    render,
)
from openclaw_exec.protocol import Decision, Principal

__all__ = ["APPROVAL_KIND", "approval_results", "shell_toolset"]

#: The ``kind`` of this module's deferred-call metadata.
APPROVAL_KIND = "openclaw-exec.approval"
_RESUMER = Principal(id="pydantic-ai-resume", display_name="pydantic-ai deferred results")


def approval_results(
    requests: DeferredToolRequests,
    decisions: Decision | str | Mapping[str, Decision | str],
    *,
    by: str = "",
) -> DeferredToolResults:
    """
    The ``DeferredToolResults`` that answer this toolset's approval requests.

    Args:
        requests: The run's ``DeferredToolRequests`` output.
        decisions: One decision for every shell approval, or a decision per
            ``tool_call_id`` (``allow-once``, ``allow-always``, ``deny``). A call with no
            decision is left out (still pending; answer it in a later run).
        by: Who decided (recorded as the approval's ``resolvedBy``).

    Returns:
        Results for this toolset's calls only (other deferred calls are left to the caller;
        merge with ``DeferredToolResults.update``). Denials are sent as approvals too, so the
        guard records them and the model reads why nothing ran.
    """
    out = DeferredToolResults()
    for call in requests.approvals:
        meta = requests.metadata.get(call.tool_call_id)
        if not isinstance(meta, Mapping) or meta.get("kind") != APPROVAL_KIND:
            continue
        if isinstance(decisions, Mapping):
            chosen = decisions.get(call.tool_call_id)
            if chosen is None:
                continue
        else:
            chosen = decisions
        answer = {**meta, "decision": Decision.parse(str(chosen)).value}
        if by:
            answer["by"] = by
        out.approvals[call.tool_call_id] = ToolApproved()
        out.metadata[call.tool_call_id] = answer
    return out


def shell_toolset(
    guard: ExecGuard,
    *,
    tool_name: str = "shell",
    description: str = DEFAULT_DESCRIPTION,
    cwd: str | os.PathLike[str] | None = None,
    agent_id: str | None = None,
    session_key: str | None = None,
    env: Mapping[str, str] | None = None,
    env_overrides: Mapping[str, str] | None = None,
    max_output: int = DEFAULT_MAX_OUTPUT,
) -> FunctionToolset[Any]:
    """
    A pydantic-ai toolset whose ``shell`` tool runs only what *guard* (and a human) allowed.

    Args:
        guard: The exec guard (its store holds pending approvals between the runs).
        tool_name: The tool's name.
        description: What the model is told about the tool.
        cwd: The working directory when the model gives none (default: the process's).
        agent_id: The agent the tool acts for.
        session_key: The conversation bound to approvals.
        env: The base environment (default: this process's, stripped of dangerous
            variables). A resume re-checks the plan with it, and the binding holds its hash
            (``PWD`` and ``SHLVL`` included): workers that resume each other's approvals
            need the same environment, so give them the same *env*.
        env_overrides: Variables to add to the (host's, stripped) environment.
        max_output: Characters of stdout and of stderr returned.

    Returns:
        The toolset; the tool returns the exit status and output (or why nothing ran) to the
        model, with the :class:`~openclaw_exec.integrations.ShellOutcome` as the
        ``ToolReturn``'s metadata.
    """
    default_cwd = None if cwd is None else os.fspath(cwd)
    overrides = dict(env_overrides) if env_overrides else None
    base_env = dict(env) if env is not None else None

    def reply(outcome: ShellOutcome) -> ToolReturn[Any]:
        return ToolReturn(return_value=render(outcome), metadata=outcome)

    async def resume(command: str, where: str | None, answer: object) -> ShellOutcome:
        if not isinstance(answer, Mapping) or answer.get("kind") != APPROVAL_KIND:
            problem = "approved without openclaw-exec's metadata: use approval_results()"
            return invalid(command, where, f"{problem}; nothing ran")
        try:
            pending = pending_from(answer.get("pending", {}), env=base_env, env_overrides=overrides)
        except ValueError as exc:
            return invalid(command, where, f"{exc}; nothing ran")
        decision = parse_answer(answer, pending.approval_id)
        problem = "" if isinstance(decision, Decision) else decision
        try:
            here = checked_cwd(where)
        except AnalysisError:
            here = where or ""
        if not problem and (command != pending.command or here != pending.cwd):
            problem = (
                f"the approval is for {pending.command!r} in {pending.cwd}, "
                f"not {command!r} in {here}"
            )
        who = answer.get("by")
        approver = Principal(id=who, display_name=who) if isinstance(who, str) and who else None
        outcome = await settle(
            guard,
            pending,
            decision if isinstance(decision, Decision) and not problem else Decision.DENY,
            approver=approver or _RESUMER,
            max_output=max_output,
            problem=problem,
        )
        if problem and outcome["reason"] != ANSWER_MISMATCH:  # replayed, unknown ...: say both
            outcome["message"] = f"{outcome['message']} ({problem})"
        return outcome

    async def shell(ctx: RunContext[Any], command: str, cwd: str | None = None) -> ToolReturn[Any]:
        """
        Run a shell command once the policy, or a human, allowed it.

        Args:
            ctx: The run context.
            command: The shell command to run, as text for sh -c.
            cwd: Absolute working directory (default: the tool's own).
        """
        where = cwd if cwd is not None else default_cwd
        if ctx.tool_call_approved:
            return reply(await resume(command, where, ctx.tool_call_metadata))
        first = await begin(
            guard,
            command,
            cwd=where,
            env=base_env,
            env_overrides=overrides,
            agent_id=agent_id,
            session_key=session_key,
            max_output=max_output,
        )
        if isinstance(first, PendingApproval):
            shown: ApprovalView = view(first)
            raise ApprovalRequired(metadata=dict(shown))
        return reply(first)

    toolset: FunctionToolset[Any] = FunctionToolset()
    toolset.add_function(shell, name=tool_name, description=description, takes_ctx=True)
    return toolset
