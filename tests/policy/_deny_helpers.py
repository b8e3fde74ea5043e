"""The pure decision path the guard takes (resolve, analyse, deny rules, verdict), for tests."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from openclaw_exec.analysis import OsResolver, check_deny, evaluate_command
from openclaw_exec.policy import (
    ApprovalsFile,
    DenyRule,
    ExecPolicy,
    ResolvedPolicy,
    VerdictResult,
    decide_verdict,
    resolve_policy,
)

ENV = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": "/root", "LANG": "C.UTF-8"}


def judge(
    file: ApprovalsFile | None,
    command: str,
    *,
    cwd: str = "/tmp",
    agent_id: str | None = "main",
    requested: ExecPolicy | None = None,
    deny: Iterable[DenyRule] = (),
    env: Mapping[str, str] = ENV,
    resolved: ResolvedPolicy | None = None,
    now_ms: int | None = None,
    session_key: str | None = None,
) -> VerdictResult:
    """The verdict ExecGuard reaches before anyone is asked."""
    if resolved is None:
        resolved = resolve_policy(
            file,
            agent_id=agent_id,
            requested=requested,
            deny=deny,
            now_ms=now_ms,
            session_key=session_key,
        )
    evaluation = evaluate_command(
        command,
        cwd=cwd,
        env=env,
        allowlist=resolved.allowlist,
        auto_allow_skills=resolved.effective.auto_allow_skills,
        allowlist_home="/root",
    )
    check = check_deny(
        resolved.deny,
        evaluation,
        cwd=cwd,
        home="/root",
        path_env=env.get("PATH", ""),
        resolver=OsResolver(),
    )
    return decide_verdict(
        resolved.effective,
        analysis_ok=evaluation.analysis_ok,
        allowlist_satisfied=evaluation.allowlist_satisfied,
        durable_approval_satisfied=evaluation.durable_approval_satisfied,
        force_ask=evaluation.must_ask,
        deny=check if resolved.deny else None,
    )
