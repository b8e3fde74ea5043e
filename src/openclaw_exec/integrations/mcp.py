"""
MCP: a guarded shell tool served over the Model Context Protocol (``openclaw-exec[mcp]``).

:func:`shell_server` builds an MCP server (the official SDK's ``MCPServer``) with one tool,
``shell``: each call is checked by the guard; what the policy decides alone runs (or is
refused) at once; what needs a human is asked:

1. through **elicitation**, when the client declared it (``elicitation.form``): the client
   shows the command to its user, who accepts with a decision (``allow-once``,
   ``allow-always``, ``deny``), declines (a deny) or cancels (no answer: the approval is
   withdrawn and ``askFallback`` applies). Up to protocol 2025-11-25 the server sends
   ``elicitation/create`` in the middle of the call; from 2026-07-28 the call answers
   ``InputRequiredResult`` (the pending approval in the SDK-sealed request state) and the
   client's retry with the answer settles it;
2. otherwise through the configured *approver* (the one approver contract: an approval
   request in, a decision or ``None`` out; ``None`` applies ``askFallback``, or with
   ``no_answer_waits=True`` leaves the approval pending for any other surface sharing the
   store until it expires);
3. with neither, through the guard's store as :meth:`~openclaw_exec.ExecGuard.authorize`
   does (whoever serves the store answers; nobody: ``askFallback`` at once).

The pending approval is registered in the guard's store and bound to the exact plan before
anyone is asked (the deferred :meth:`~openclaw_exec.ExecGuard.check`), and the answer is
recorded with :meth:`~openclaw_exec.ExecGuard.resume`, so one request has one outcome
whatever surface answers first. The tool's result is the command's exit status and output
(text for the model; ``is_error`` when nothing ran) with the
:class:`~openclaw_exec.integrations.ShellOutcome` as structured content.

Trust: an elicitation answer is the MCP *client's*; a client that lets its model answer
elicitations approves for itself. Turn elicitation off (``elicitation=False``,
``openclaw-exec mcp --no-elicitation``) unless the client puts the question to its user.

``openclaw-exec mcp`` serves this over stdio.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from typing import Annotated, Literal

import anyio
from mcp.server.elicitation import render_elicitation_schema
from mcp.server.mcpserver import Context, MCPServer
from mcp.shared.exceptions import MCPError
from mcp.types import (
    CallToolResult,
    ElicitRequest,
    ElicitRequestFormParams,
    ElicitResult,
    InputRequiredResult,
    TextContent,
    ToolAnnotations,
)
from mcp_types.version import is_version_at_least
from pydantic import BaseModel, Field, ValidationError

from openclaw_exec.approvers import ApproverAnswer, ApproverLike, as_approver
from openclaw_exec.exceptions import AnalysisError
from openclaw_exec.guard import ExecGuard, PendingApproval, checked_cwd
from openclaw_exec.integrations._deferred import begin, finish, settle
from openclaw_exec.integrations._outcome import (
    DEFAULT_DESCRIPTION,
    DEFAULT_MAX_OUTPUT,
    ShellOutcome,
    invalid,
    outcome_of,
    render,
)
from openclaw_exec.integrations._run import guarded_run
from openclaw_exec.protocol import Decision, Principal

__all__ = ["ELICITATION_PRINCIPAL", "ApprovalForm", "shell_server"]

#: Who an elicitation answer is recorded as (``resolvedBy``).
ELICITATION_PRINCIPAL = Principal(id="mcp-elicitation", display_name="MCP client user")
_APPROVER_PRINCIPAL = Principal(id="mcp-approver", display_name="approver")


class ApprovalForm(BaseModel):
    """The elicitation form: one choice."""

    decision: Literal["allow-once", "allow-always", "deny"] = Field(
        description=(
            "allow-once: run it this time; allow-always: run it and trust this program from "
            "now on; deny: do not run it"
        )
    )


def _prompt(pending: PendingApproval) -> str:
    why = pending.verdict.message if pending.verdict is not None else "the policy asks a human"
    agent = pending.agent_id or "main"
    return (
        "An agent wants to run a shell command.\n\n"
        f"    {pending.command}\n\n"
        f"in {pending.cwd} (agent {agent}). Why you are asked: {why}.\n"
        f"Approval {pending.approval_id}."
    )


def _elicits(ctx: Context) -> bool:
    capabilities = ctx.client_capabilities
    elicitation = capabilities.elicitation if capabilities is not None else None
    # A client that declares elicitation without naming a mode supports forms (2025-06-18).
    return elicitation is not None and (elicitation.form is not None or elicitation.url is None)


#: The first protocol revision that asks through ``InputRequiredResult`` (a retried call)
#: instead of a server-to-client request in the middle of the call.
_INPUT_REQUIRED_VERSION = "2026-07-28"
_ASK_KEY = "openclaw-exec-approval"


def _retried(ctx: Context) -> bool:
    version = ctx.protocol_version
    return version is not None and is_version_at_least(version, _INPUT_REQUIRED_VERSION)


def _decision_of(reply: ElicitResult) -> Decision | None:
    """accept: the chosen decision (nonsense: deny); decline: deny; cancel: no answer."""
    if reply.action == "decline":
        return Decision.DENY
    if reply.action != "accept":
        return None
    try:
        form = ApprovalForm.model_validate(reply.content or {})
    except ValidationError:
        return Decision.DENY  # accepted with content that is not a decision: fail closed
    return Decision.parse(form.decision)


def _result(outcome: ShellOutcome) -> CallToolResult:
    return CallToolResult(
        content=[TextContent(type="text", text=render(outcome))],
        structured_content=dict(outcome),
        is_error=not outcome["ran"],
    )


def shell_server(
    guard: ExecGuard,
    *,
    approver: ApproverLike | None = None,
    no_answer_waits: bool = False,
    elicitation: bool = True,
    name: str = "openclaw-exec",
    tool_name: str = "shell",
    description: str = DEFAULT_DESCRIPTION,
    cwd: str | os.PathLike[str] | None = None,
    agent_id: str | None = None,
    session_key: str | None = None,
    env: Mapping[str, str] | None = None,
    env_overrides: Mapping[str, str] | None = None,
    max_output: int = DEFAULT_MAX_OUTPUT,
) -> MCPServer:
    """
    An MCP server whose ``shell`` tool runs only what *guard* (and a human) allowed.

    Args:
        guard: The exec guard. A pending approval lives in its store (which it needs for
            anyone to be asked); without a store every ask takes ``askFallback`` at once.
        approver: Who answers when the client cannot elicit: anything
            :func:`~openclaw_exec.approvers.as_approver` accepts. ``None``: the guard's store
            (whatever serves it) as ``authorize`` does.
        no_answer_waits: When *approver* has no answer (``None``: nobody at the socket, the
            human walked away): ``False`` (default) applies ``askFallback`` at once, as
            OpenClaw does when its approvals socket gives no decision; ``True`` leaves the
            approval pending until it expires, for any other surface sharing the guard's
            store (a web page, a chat bridge, another replica's terminal).
        elicitation: Ask the client's user through MCP elicitation when the client supports
            it (see the trust note above).
        name: The server's name.
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
        The server: ``await server.run_stdio_async()`` (``openclaw-exec mcp`` does), or any
        transport the SDK offers.
    """
    safe = None if approver is None else as_approver(approver)
    default_cwd = None if cwd is None else os.fspath(cwd)
    overrides = dict(env_overrides) if env_overrides else None
    base_env = dict(env) if env is not None else None
    server = MCPServer(name, log_level="WARNING")

    async def ask_approver(pending: PendingApproval) -> ShellOutcome:
        assert safe is not None
        assert pending.request is not None
        answer: Decision | ApproverAnswer | None = None
        # At most until the approval expires: the approver is cancelled then, as the runner does.
        left = (pending.expires_at_ms - guard.store.now_ms()) / 1000 if guard.store else 0.0
        with anyio.move_on_after(max(left, 0.0)):
            answer = await safe(pending.request)
        if answer is None:  # no answer: askFallback now, or later for another surface
            result = await guard.resume(pending, wait=None if no_answer_waits else 0.0)
            if isinstance(result, PendingApproval):
                return await settle(
                    guard, pending, None, approver=_APPROVER_PRINCIPAL, max_output=max_output
                )
            return await finish(guard, result, max_output)
        if isinstance(answer, ApproverAnswer):
            decision, who = answer.decision, answer.approver or _APPROVER_PRINCIPAL
        else:
            decision, who = answer, _APPROVER_PRINCIPAL
        return await settle(guard, pending, decision, approver=who, max_output=max_output)

    async def ask_client(ctx: Context, pending: PendingApproval) -> ShellOutcome | None:
        """The client user's answer, or ``None`` when the client could not be asked."""
        try:
            reply = await ctx.session.elicit_form(
                message=_prompt(pending),
                requested_schema=render_elicitation_schema(ApprovalForm),
                related_request_id=ctx.request_id,
            )
        except MCPError:  # the client could not be asked after all (no back channel ...)
            return None
        decision = _decision_of(reply)  # cancel: no answer; withdrawn, askFallback applies
        return await settle(
            guard, pending, decision, approver=ELICITATION_PRINCIPAL, max_output=max_output
        )

    async def ask_by_retry(
        ctx: Context, command: str, where: str | None
    ) -> CallToolResult | InputRequiredResult:
        """MCP 2026-07-28: ask in an ``InputRequiredResult``; the retried call settles it."""
        state = ctx.request_state  # sealed by the SDK: only what this server minted comes back
        if state is None:
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
            if not isinstance(first, PendingApproval):
                return _result(first)
            ask = ElicitRequest(
                params=ElicitRequestFormParams(
                    message=_prompt(first),
                    requested_schema=render_elicitation_schema(ApprovalForm),
                )
            )
            return InputRequiredResult(
                input_requests={_ASK_KEY: ask}, request_state=json.dumps(first.to_dict())
            )
        try:
            pending = PendingApproval.from_dict(
                json.loads(state), env=base_env, env_overrides=overrides
            )
        except (ValueError, TypeError) as exc:
            return _result(invalid(command, where, f"unreadable approval state: {exc}"))
        reply = (ctx.input_responses or {}).get(_ASK_KEY)
        decision = _decision_of(reply) if isinstance(reply, ElicitResult) else None
        try:
            here = checked_cwd(where)
        except AnalysisError:
            here = where or ""
        problem = ""
        if command != pending.command or here != pending.cwd:  # a retry with other arguments
            decision = Decision.DENY
            problem = f"the approval is for {pending.command!r} in {pending.cwd}"
        outcome = await settle(
            guard,
            pending,
            decision,
            approver=ELICITATION_PRINCIPAL,
            max_output=max_output,
            problem=problem,
        )
        return _result(outcome)

    async def shell(
        command: Annotated[str, Field(description="The shell command to run, as text for sh -c.")],
        ctx: Context,
        cwd: Annotated[
            str | None, Field(description="Absolute working directory (default: the server's).")
        ] = None,
    ) -> Annotated[CallToolResult, ShellOutcome] | InputRequiredResult:
        where = cwd if cwd is not None else default_cwd
        use_client = elicitation and _elicits(ctx)
        if use_client and _retried(ctx):
            return await ask_by_retry(ctx, command, where)
        if not use_client and safe is None:
            try:  # nobody to ask directly: the guard's store and whoever serves it
                run = await guarded_run(
                    guard,
                    command,
                    cwd=where,
                    env=base_env,
                    env_overrides=overrides,
                    agent_id=agent_id,
                    session_key=session_key,
                )
            except AnalysisError as exc:
                return _result(invalid(command, where, str(exc)))
            return _result(outcome_of(run, max_output=max_output))
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
        if not isinstance(first, PendingApproval):
            return _result(first)
        outcome = await ask_client(ctx, first) if use_client else None
        if outcome is None:
            if safe is not None:
                outcome = await ask_approver(first)
            else:
                outcome = await settle(
                    guard, first, None, approver=ELICITATION_PRINCIPAL, max_output=max_output
                )
        return _result(outcome)

    server.add_tool(
        shell,
        name=tool_name,
        description=description,
        annotations=ToolAnnotations(destructive_hint=True, open_world_hint=True),
    )
    return server
