"""
LangChain: a guarded shell tool, sync and async (``pip install 'openclaw-exec[langchain]'``).

:func:`shell_tool` turns an :class:`~openclaw_exec.ExecGuard` into a langchain-core
``StructuredTool`` that any LangChain agent can call: each call is authorised by the guard
(asking a human through the guard's approval store when the policy says so) and then runs
exactly the authorised plan with :func:`~openclaw_exec.integrations.guarded_run`. The model
reads the exit status and output, or why nothing ran; the tool's artifact is the
:class:`~openclaw_exec.integrations.ShellOutcome` (plain JSON).

This tool *waits* for the human (the guard's blocking ``authorize``). In a LangGraph app
that should pause and resume instead, use :mod:`openclaw_exec.integrations.langgraph`.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Iterable, Mapping

import anyio
from langchain_core.tools import StructuredTool
from pydantic import BaseModel, Field

from openclaw_exec.exceptions import AnalysisError
from openclaw_exec.guard import ExecGuard
from openclaw_exec.integrations._assess import RiskAssessor
from openclaw_exec.integrations._outcome import (
    DEFAULT_DESCRIPTION,
    DEFAULT_MAX_OUTPUT,
    ShellOutcome,
    invalid,
    outcome_of,
    render,
)
from openclaw_exec.integrations._run import guarded_run

__all__ = ["DEFAULT_DESCRIPTION", "ShellInput", "shell_tool"]


class ShellInput(BaseModel):
    """The arguments a model passes to the shell tool."""

    command: str = Field(description="The shell command to run, as text for sh -c.")
    cwd: str | None = Field(
        default=None,
        description="Absolute working directory (default: the tool's own).",
    )


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
    assessors: Iterable[RiskAssessor] = (),
    max_output: int = DEFAULT_MAX_OUTPUT,
) -> StructuredTool:
    """
    A langchain-core tool that runs shell commands only when *guard* allows them.

    Args:
        guard: The exec guard (its store and approvers answer what needs a human).
        name: The tool's name as the model sees it.
        description: What the model is told about the tool.
        cwd: The working directory when the model gives none (default: the process's).
        agent_id: The agent the tool acts for (selects the approvals file's agent entry).
        session_key: The conversation, shown to approvers and bound to approvals.
        env: The base environment (default: this process's, stripped of dangerous
            variables; a mapping given here is the caller's choice, dangerous keys refused).
        env_overrides: Variables to add to the environment (checked like an agent's).
        assessors: Risk plug-ins (see :func:`~openclaw_exec.integrations.authorize_assessed`).
        max_output: Characters of stdout and of stderr handed back to the model.

    Returns:
        A ``StructuredTool`` with ``invoke`` (runs the guard in a fresh event loop, so
        call it from a thread without one) and ``ainvoke``; its response is
        ``(text, ShellOutcome)`` (``response_format="content_and_artifact"``).
    """
    checks = tuple(assessors)
    default_cwd = None if cwd is None else os.fspath(cwd)
    overrides = dict(env_overrides) if env_overrides else None
    base_env = dict(env) if env is not None else None

    async def arun(command: str, cwd: str | None = None) -> tuple[str, ShellOutcome]:
        where = cwd if cwd is not None else default_cwd
        try:
            run = await guarded_run(
                guard,
                command,
                cwd=where,
                env=base_env,
                env_overrides=overrides,
                agent_id=agent_id,
                session_key=session_key,
                assessors=checks,
            )
        except AnalysisError as exc:  # the model's misuse (a relative cwd ...): it reads why
            outcome = invalid(command, where, str(exc))
        else:
            outcome = outcome_of(run, max_output=max_output)
        return render(outcome), outcome

    def run(command: str, cwd: str | None = None) -> tuple[str, ShellOutcome]:
        return anyio.run(functools.partial(arun, command, cwd))

    return StructuredTool.from_function(
        func=run,
        coroutine=arun,
        name=name,
        description=description,
        args_schema=ShellInput,
        response_format="content_and_artifact",
    )
