"""
The exec guard's deny-rule check and grant bookkeeping (issue #15), kept out of the flow.

* :func:`deny_check`: the deny rules' answer for an evaluated command, as ``explain`` and
  ``openclaw-exec test`` compute it (a hit is DENY before anything else);
* :func:`spend_grants`: record each use of a grant with a lifetime *before* the command may
  run, under the approvals file's lock, so a one-off grant runs once and a grant revoked
  meanwhile allows nothing;
* :func:`persist_as_grants`: an allow-always that expires (``grant_expiry_days``, an
  approver's ``grantExpiresInDays``) or serves one session key becomes a grant in
  ``agents.<id>.grants`` instead of a permanent allowlist entry.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import anyio
import anyio.to_thread
import attrs

from openclaw_exec._guard_values import _all_segments, _host_home
from openclaw_exec.analysis import OsResolver, check_deny, durable_command_pattern
from openclaw_exec.exceptions import OpenClawExecError
from openclaw_exec.policy import (
    ApprovalsFile,
    DenyCheck,
    Grant,
    ResolvedPolicy,
    ScopedGrant,
    add_grant,
    expiry_from_days,
    use_grant,
)

if TYPE_CHECKING:
    from openclaw_exec.adapters.filestore import ApprovalsStore
    from openclaw_exec.analysis import Evaluation, ExecEnvironment, ExecutableResolver

__all__: list[str] = []

ALLOW_ALWAYS_SCOPES = ("agent", "session")


async def deny_check(
    resolved: ResolvedPolicy,
    evaluation: Evaluation,
    *,
    cwd: str,
    env: ExecEnvironment,
    resolver: ExecutableResolver | None,
    inline: bool = False,
) -> DenyCheck | None:
    """
    The deny rules' answer (``None`` without rules): they win over everything.

    *inline*: run on the calling thread (as the guard's analysis did), not a worker thread.
    """
    if not resolved.deny:
        return None
    path_env = (env.overrides or {}).get("PATH", env.base.get("PATH", ""))
    chosen = resolver if resolver is not None else OsResolver()

    def check() -> DenyCheck:
        return check_deny(
            resolved.deny,
            evaluation,
            cwd=cwd,
            home=_host_home(),
            path_env=path_env,
            resolver=chosen,
        )

    return check() if inline else await anyio.to_thread.run_sync(check)


def grants_used(resolved: ResolvedPolicy, evaluation: Evaluation) -> list[ScopedGrant]:
    """The active grants whose entries allowed *evaluation* (a segment or the exact text)."""
    if not resolved.grants:
        return []
    used: dict[str, ScopedGrant] = {}
    for segment in _all_segments(evaluation):
        found = resolved.grant_for(segment.matched_entry)
        if found is not None:
            used.setdefault(found.grant.id, found)
    exact = durable_command_pattern(evaluation.command_text)
    for scoped in resolved.grants:
        if scoped.grant.source == "allow-always" and scoped.grant.pattern == exact:
            used.setdefault(scoped.grant.id, scoped)
    return list(used.values())


async def spend_grants(
    approvals: ApprovalsStore | None,
    resolved: ResolvedPolicy,
    evaluation: Evaluation,
    *,
    session_key: str | None,
    now_ms: int,
) -> tuple[tuple[str, ...], str | None]:
    """
    Record each use of a grant before the command may run: ``(grant ids, problem)``.

    The use is checked again against the file under its lock; *problem* (then the
    command must not run) says why a grant could not be used.
    """
    used = grants_used(resolved, evaluation)
    if not used:
        return (), None
    ids = tuple(g.grant.id for g in used)
    if approvals is None:
        if any(g.grant.max_uses is not None for g in used):
            return ids, "a grant with a use limit needs an approvals file to record its use"
        return ids, None

    def change(file: ApprovalsFile) -> ApprovalsFile:
        for grant_id in ids:
            file = use_grant(file, grant_id, now_ms=now_ms, session_key=session_key)
        return file

    try:
        await anyio.to_thread.run_sync(lambda: approvals.update(change))
    except (OpenClawExecError, OSError) as exc:
        return ids, f"grant could not be used: {exc}"
    return ids, None


@attrs.frozen(kw_only=True)
class Lifetime:
    """What an allow-always grant with a lifetime is stamped with."""

    now_ms: int
    expires_at_ms: int | None
    session_key: str | None
    approval_id: str | None


def allow_always_lifetime(
    *,
    now_ms: int,
    expiry_days: int | None,
    scope: str,
    session_key: str | None,
    record: Any,
) -> Lifetime | None:
    """
    How long an allow-always lasts: ``None`` for a permanent allowlist entry.

    An approver's ``grantExpiresInDays`` (when the store's record carries one) wins over
    the guard's *expiry_days* (``tools.exec.grantExpiryDays``). A value that is not a valid
    number of days gives a grant that has already expired: the approved command runs once,
    and nobody's unreadable lifetime becomes a permanent grant.
    """
    asked = getattr(record, "grant_expires_in_days", None)
    days = asked if asked is not None else expiry_days
    scoped = scope == "session"
    if days is None and not scoped:
        return None
    try:
        expires = expiry_from_days(now_ms, days)
    except OpenClawExecError:
        expires = now_ms  # fail closed: expired at once (see the docstring)
    return Lifetime(
        now_ms=now_ms,
        expires_at_ms=expires,
        session_key=session_key if scoped else None,
        approval_id=getattr(record, "id", None),
    )


async def persist_as_grants(
    approvals: ApprovalsStore,
    agent_key: str,
    found: Sequence[Any],
    lifetime: Lifetime,
    new_id: Callable[[], str],
) -> None:
    """Write an allow-always's grants with *lifetime* into ``agents.<agent_key>.grants``."""

    def change(file: ApprovalsFile) -> ApprovalsFile:
        for grant in found:
            file = add_grant(
                file,
                agent_key,
                Grant(
                    id=new_id(),
                    pattern=grant.pattern,
                    arg_pattern=grant.arg_pattern,
                    source="allow-always",
                    created_at_ms=lifetime.now_ms,
                    expires_at_ms=lifetime.expires_at_ms,
                    session_key=lifetime.session_key,
                    approval_id=lifetime.approval_id,
                ),
            )
        return file

    await anyio.to_thread.run_sync(lambda: approvals.update(change))
