"""
The ``explain`` view of a pending request, computed on this host: :class:`HostAnalyzer`.

The same steps as ``openclaw-exec explain`` and the guard before it asks anyone: read the
approvals file, resolve the agent's policy, analyse the command in its working folder with
this host's stripped environment, and list what ``allow-always`` would persist
(``Evaluation.allow_always``: the patterns and cwd-bound ``argPattern`` the guard writes).
When the requester is a guard on this host with the same approvals file, that is exactly what
it persists on ``allow-always``; for a request from elsewhere (another machine's gateway) it
is this host's reading of the command, and the screen says where it came from.

This does I/O (the approvals file, executable lookups): run it in a worker thread.
"""

from __future__ import annotations

import os
from pathlib import Path

import attrs

from openclaw_exec.adapters.terminal._model import ApprovalAnalysis, PendingRequest
from openclaw_exec.analysis import (
    evaluate_command,
    format_evaluation_table,
    sanitize_inherited_env,
)
from openclaw_exec.analysis._evaluate import pattern_home
from openclaw_exec.exceptions import OpenClawExecError
from openclaw_exec.policy import resolve_policy
from openclaw_exec.protocol import mentions_approve_command

__all__ = ["HostAnalyzer"]


@attrs.frozen
class HostAnalyzer:
    """
    Analyse pending requests against an approvals file on this host.

    Args:
        approvals: The approvals file (a missing file means no host restrictions, as for
            the guard); its allowlist decides what is already covered.
    """

    approvals: Path = attrs.field(converter=Path)

    def __call__(self, item: PendingRequest) -> ApprovalAnalysis:
        """The analysis of *item*; problems become :attr:`ApprovalAnalysis.error`, not raises."""
        from openclaw_exec.adapters.filestore import read_approvals  # noqa: PLC0415

        agent = item.agent_id
        try:
            file = read_approvals(self.approvals)
        except OpenClawExecError as exc:
            return ApprovalAnalysis(error=str(exc), agent_id=agent)
        if mentions_approve_command(item.command):
            return ApprovalAnalysis(
                verdict="verdict: DENY (approve-command-refused) exec cannot run /approve commands",
                agent_id=agent,
            )
        resolved = resolve_policy(file, agent_id=agent)
        cwd = item.cwd
        note = ""
        if not cwd or not os.path.isabs(cwd) or not os.path.isdir(cwd):  # noqa: PTH112, PTH117
            note = f" (cwd {cwd!r} is not a folder here: analysed in /)"
            cwd = "/"
        try:
            evaluation = evaluate_command(
                item.command,
                cwd=cwd,
                env=sanitize_inherited_env(os.environ)[0],
                allowlist=resolved.allowlist,
                auto_allow_skills=resolved.effective.auto_allow_skills,
                allowlist_home=pattern_home(os.environ) or os.path.expanduser("~"),  # noqa: PTH111
            )
        except (OpenClawExecError, ValueError, OSError) as exc:
            return ApprovalAnalysis(error=f"cannot analyse: {exc}", agent_id=resolved.agent_id)
        verdict = evaluation.verdict(resolved.effective)
        text = format_evaluation_table(evaluation)
        # The table's own "allow-always would persist" tail is shown separately, with argPattern.
        table = text.split("allow-always would persist:\n", 1)[0].rstrip("\n").split("\n")
        return ApprovalAnalysis(
            verdict=(
                f"host policy: {str(verdict.verdict).upper()} ({verdict.reason}) "
                f"{verdict.message}{note}"
            ),
            table=tuple(table),
            persist=tuple(evaluation.allow_always),
            agent_id=resolved.agent_id,
        )
