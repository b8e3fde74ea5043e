"""
Integration helpers: run exactly what was authorised, guard tool functions, add risk checks.

Three things agent frameworks ask for, built on :class:`~openclaw_exec.ExecGuard`:

* :func:`guarded_run` authorises a command and then runs *exactly* that plan as
  :func:`anyio.run_process` would: the ``("sh", "-c", text)`` argv the approval is bound to
  (``sh`` started by absolute path, never looked up in the request's ``PATH``), the cwd
  resolved once and checked, the environment the guard checked (the host's stripped of
  dangerous variables, plus the agent's accepted overrides), nothing else.
* :func:`guarded_tool` decorates an async tool function so that its command argument is
  authorised before the body runs.
* Risk assessors are plug-ins (plain callables) that look at a command and may only
  *raise* the requirement, ``ALLOW`` -> ``ASK`` -> ``DENY``; they can never lower what
  the policy decided. An assessor that raises an exception counts as ``DENY`` (fail
  closed). :func:`authorize_assessed` applies them around the guard.

Framework adapters live one level down, each behind its optional extra, and are never
imported from here (so this package needs no framework): ``openclaw_exec.integrations.
langchain``, ``.langgraph``, ``.mcp`` and ``.pydantic_ai``.

This is runtime code (anyio); the pure core never imports it.
"""

from __future__ import annotations

from openclaw_exec.integrations._assess import (
    RISK_DENIED,
    RISK_UNAPPROVED,
    Assessment,
    Requirement,
    RiskAssessor,
    RiskContext,
    authorize_assessed,
    combine_requirements,
    requirement_of,
    run_assessors,
)
from openclaw_exec.integrations._outcome import ShellOutcome
from openclaw_exec.integrations._run import (
    DEFAULT_SHELL,
    GuardedRun,
    command_text,
    guarded_run,
    run_authorized,
)
from openclaw_exec.integrations._tool import guarded_tool

__all__ = [
    "DEFAULT_SHELL",
    "RISK_DENIED",
    "RISK_UNAPPROVED",
    "Assessment",
    "GuardedRun",
    "Requirement",
    "RiskAssessor",
    "RiskContext",
    "ShellOutcome",
    "authorize_assessed",
    "combine_requirements",
    "command_text",
    "guarded_run",
    "guarded_tool",
    "requirement_of",
    "run_assessors",
    "run_authorized",
]
