"""
The exec guard's writes: grants and use stamps in the approvals file, and the audit log.

Split from :mod:`openclaw_exec.guard` so the guard module holds the decision flow only.
Each function is one side effect with its failure rule: a failed stamp never changes a
decision, a failed grant is reported in the message, a failed audit write denies.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import anyio
import anyio.to_thread
import attrs

from openclaw_exec._guard_cwd import cwd_drift
from openclaw_exec._guard_grants import Lifetime, persist_as_grants
from openclaw_exec._guard_values import (
    Authorization,
    GuardReason,
    _all_segments,
    _Outcome,
    _policy_dict,
    _segment_summary,
    _wall_ms,
)
from openclaw_exec.exceptions import OpenClawExecError
from openclaw_exec.policy import AllowlistEntry, ApprovalsFile

if TYPE_CHECKING:
    from openclaw_exec.adapters.filestore import ApprovalsStore
    from openclaw_exec.analysis import Evaluation
    from openclaw_exec.audit import AuditLog, AuditRecord

__all__: list[str] = []


async def persist_grants(
    approvals: ApprovalsStore | None,
    agent_key: str,
    evaluation: Evaluation,
    *,
    lifetime: Lifetime | None = None,
    new_id: Callable[[], str] | None = None,
) -> tuple[tuple[str, ...], str]:
    """
    Write an allow-always's grants; ``(patterns persisted, note for the message)``.

    With a *lifetime* (an expiry, a session key) they become grants in
    ``agents.<id>.grants`` instead of permanent allowlist entries.
    """
    found = evaluation.allow_always
    grants = tuple(g.pattern for g in found)
    if approvals is None or not grants:
        return (), "; nothing persisted" if approvals is None else "; nothing to persist"
    if lifetime is not None and new_id is not None:
        try:
            await persist_as_grants(approvals, agent_key, found, lifetime, new_id)
        except (OpenClawExecError, OSError) as exc:
            return (), f"; allow-always could not be persisted: {exc}"
        return grants, ""

    def write() -> None:
        for grant in found:
            approvals.add_allowlist_entry(
                agent_key,
                AllowlistEntry(
                    pattern=grant.pattern, arg_pattern=grant.arg_pattern, source="allow-always"
                ),
            )

    try:
        await anyio.to_thread.run_sync(write)
    except (OpenClawExecError, OSError) as exc:
        return (), f"; allow-always could not be persisted: {exc}"
    return grants, ""


USE_STAMP_INTERVAL_MS = 60_000
"""A use identical to the last one stamped (command and path) is stamped again after this."""


async def record_uses(
    approvals: ApprovalsStore | None,
    agent_key: str,
    evaluation: Evaluation,
    file: ApprovalsFile | None = None,
) -> None:
    """
    Stamp every allowlist entry the command used (``lastUsedAt`` ...); never fails.

    A use that *file* (the document the decision was made from) already records with
    this command and path, stamped less than :data:`USE_STAMP_INTERVAL_MS` ago, is not
    written again: a stamp is a locked, fsynced rewrite of the whole file (about as long
    as spawning the command), and the time it would refresh is advisory.
    """
    if approvals is None:
        return
    command = evaluation.command_text
    uses = {
        (segment.matched_entry.pattern, segment.executable.path if segment.executable else None)
        for segment in _all_segments(evaluation)
        if segment.matched_entry is not None
    }
    uses = {u for u in uses if not _recently_stamped(file, agent_key, command, *u)}
    if not uses:
        return

    def write() -> None:
        for pattern, path in sorted(uses, key=str):
            approvals.record_use(agent_key, pattern, command=command, resolved_path=path)

    try:
        await anyio.to_thread.run_sync(write)
    except (OpenClawExecError, OSError):
        return  # a failed stamp never changes the decision


def _recently_stamped(
    file: ApprovalsFile | None, agent_key: str, command: str, pattern: str, path: str | None
) -> bool:
    """Whether every entry *pattern* names already records this use, stamped recently."""
    agent = file.agents.get(agent_key) if file is not None else None
    if agent is None:
        return False
    now = _wall_ms()
    found = False
    for entry in agent.allowlist:
        if entry.pattern != pattern:
            continue
        found = True
        if (
            entry.last_used_command != command
            or entry.last_resolved_path != path
            or entry.last_used_at is None
            or not 0 <= now - entry.last_used_at < USE_STAMP_INTERVAL_MS
        ):
            return False
    return found


#: The audit record ``kind`` of an allowed command refused at its start (``cwd-changed``).
START_REFUSED = "exec.start-refused"


async def _append(
    audit: AuditLog,
    auth: _Outcome | Authorization,
    *,
    kind: str,
    session_key: str | None,
    host: str,
    env: Mapping[str, str],
    **details: Any,
) -> AuditRecord:
    """One record of *auth* (a decision, or the refusal of its start); raises if unwritten."""
    return await audit.append(
        ts_ms=_wall_ms(),
        kind=kind,
        command=auth.command,
        cwd=auth.cwd,
        agent_id=auth.agent_id,
        session_key=session_key,
        host=host,
        env_keys=tuple(sorted(env)),
        path_env=env.get("PATH"),
        policy=_policy_dict(auth.policy),
        allowed=auth.allowed,
        reason=auth.reason,
        decision=auth.decision.value if auth.decision else None,
        approval_id=auth.approval_id,
        approver=auth.approver,
        details={
            "message": auth.message,
            "verdict": auth.verdict.verdict.value if auth.verdict else None,
            "verdictReason": auth.verdict.reason.value if auth.verdict else None,
            "persisted": list(auth.persisted),
            "noRoute": auth.no_route,
            "analysisOk": auth.evaluation.analysis_ok if auth.evaluation else None,
            "segments": _segment_summary(auth.evaluation),
            "envStripped": list(auth.env_stripped),
            "envBlocked": list(auth.env_blocked),
            "grants": list(auth.grants),
            **details,
        },
    )


async def audit_authorization(
    audit: AuditLog | None,
    auth: _Outcome,
    *,
    session_key: str | None,
    host: str,
    env: Mapping[str, str],
) -> Authorization:
    """Append *auth* to the audit log and build the answer; a failed write denies."""
    if audit is None:
        return auth.build()
    try:
        record = await _append(
            audit, auth, kind="exec.authorize", session_key=session_key, host=host, env=env
        )
    except (OSError, ValueError) as exc:
        return auth.replace(
            allowed=False,
            reason=GuardReason.AUDIT_FAILED,
            message=f"{auth.message}; denied because the audit log failed: {exc}",
        ).build()
    return auth.build(audit=record)


async def checked_start(auth: Authorization, *, audit: AuditLog | None, host: str) -> Authorization:
    """
    *auth* as it is, or the refusal of its start when its cwd moved (see ``_guard_cwd``).

    The last step before an allowed command starts (``guarded_run``, ``run_authorized``,
    a ``guarded_tool`` body): the path must still reach the folder that was checked, or
    the answer becomes ``cwd-changed``, recorded as a :data:`START_REFUSED` record.
    """
    if not auth.allowed or auth.cwd is None:
        return auth
    why = cwd_drift(auth.cwd, auth.cwd_identity)
    if why is None:
        return auth
    refused = attrs.evolve(auth, allowed=False, reason=GuardReason.CWD_CHANGED, message=why)
    if audit is None:
        return refused
    env = auth.environment.env if auth.environment is not None else {}
    try:
        record = await _append(
            audit,
            refused,
            kind=START_REFUSED,
            session_key=None,  # not part of an Authorization; the decision's record has it
            host=host,
            env=env,
            authorizedSeq=auth.audit.seq if auth.audit else None,
        )
    except (OSError, ValueError) as exc:  # refused either way; say that it went unrecorded
        return attrs.evolve(refused, message=f"{why}; the audit log failed too: {exc}")
    return attrs.evolve(refused, audit=record)
