"""
What a guarded shell tool hands back to a model: one JSON-able outcome and its text.

Every framework adapter (LangChain, LangGraph, MCP, pydantic-ai) reports a run the same
way, so a model sees the same words whichever framework carries them, and a checkpointer
can store the outcome (plain ``str``/``int``/``bool``/``None`` values only).
"""

from __future__ import annotations

from typing import TypedDict

from openclaw_exec.guard import Authorization
from openclaw_exec.integrations._run import GuardedRun

__all__ = [
    "DEFAULT_DESCRIPTION",
    "DEFAULT_MAX_OUTPUT",
    "INVALID_ARGUMENTS",
    "ShellOutcome",
    "invalid",
    "outcome_of",
    "refusal_of",
    "render",
]

#: What the model is told about the tool.
DEFAULT_DESCRIPTION = (
    "Run a shell command (sh -c) on this machine. A security policy decides what may run; "
    "commands it cannot prove harmless need a human's approval. The result is the exit "
    "status and output, or why the command was refused (do not retry a refused command "
    "in another form)."
)


#: The reason code when the model's arguments could not even be checked (a relative cwd ...).
INVALID_ARGUMENTS = "invalid-arguments"

#: How many characters of stdout and of stderr a tool hands back (the rest is cut, said so).
DEFAULT_MAX_OUTPUT = 20_000


class ShellOutcome(TypedDict):
    """One guarded shell call, as a plain JSON object."""

    command: str
    cwd: str | None
    allowed: bool
    ran: bool
    reason: str
    message: str
    returncode: int | None
    stdout: str
    stderr: str
    approval_id: str | None
    decision: str | None


def _text(data: bytes, limit: int) -> str:
    text = data.decode("utf-8", errors="replace")
    if len(text) <= limit:
        return text
    return f"{text[:limit]}\n[... {len(text) - limit} more characters cut]"


def refusal_of(auth: Authorization) -> ShellOutcome:
    """The outcome of a command that did not run."""
    return ShellOutcome(
        command=auth.command,
        cwd=auth.cwd,
        allowed=auth.allowed,
        ran=False,
        reason=auth.reason,
        message=auth.message,
        returncode=None,
        stdout="",
        stderr="",
        approval_id=auth.approval_id,
        decision=auth.decision.value if auth.decision is not None else None,
    )


def invalid(command: str, cwd: str | None, problem: str) -> ShellOutcome:
    """The outcome of a call whose arguments the guard refused to look at (misuse)."""
    return ShellOutcome(
        command=command,
        cwd=cwd,
        allowed=False,
        ran=False,
        reason=INVALID_ARGUMENTS,
        message=problem,
        returncode=None,
        stdout="",
        stderr="",
        approval_id=None,
        decision=None,
    )


def outcome_of(run: GuardedRun, *, max_output: int = DEFAULT_MAX_OUTPUT) -> ShellOutcome:
    """The outcome of :func:`~openclaw_exec.integrations.guarded_run` (or a refusal)."""
    outcome = refusal_of(run.authorization)
    outcome["ran"] = run.ran
    outcome["returncode"] = run.returncode
    outcome["stdout"] = _text(run.stdout, max_output)
    outcome["stderr"] = _text(run.stderr, max_output)
    return outcome


def render(outcome: ShellOutcome) -> str:
    """The text a model reads: the exit status and output, or why nothing ran."""
    if not outcome["ran"]:
        return f"refused ({outcome['reason']}): {outcome['message']}"
    parts = [f"exit status {outcome['returncode']}"]
    if outcome["stdout"]:
        parts.append(f"stdout:\n{outcome['stdout']}")
    if outcome["stderr"]:
        parts.append(f"stderr:\n{outcome['stderr']}")
    return "\n".join(parts)
