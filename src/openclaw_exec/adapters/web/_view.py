r"""
What the approval page shows of a request: its fields, the analysis, nothing secret.

Every string that comes from the command goes through :func:`redact_text` (and argv
through :func:`redact_argv`) before it leaves the server, and through OpenClaw's display
sanitiser (invisible characters become ``\u{XXXX}``). Redaction is display-only: the
approval still binds the exact plan (argv, cwd, env hash) the requester registered, so a
human approves what runs, with secrets replaced by ``••••`` on screen. Environment values
never reach the page at all: requests carry only the names (``envKeys``).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from openclaw_exec.adapters._redact import MASK, looks_secret_name, redact_argv, redact_text
from openclaw_exec.protocol import ApprovalRecord, sanitize_display_text

if TYPE_CHECKING:
    from openclaw_exec.analysis import Evaluation

__all__ = ["MASK", "analyse", "looks_secret_name", "record_view", "redact_argv", "redact_text"]


def analyse(command: str, cwd: str | None, env: Mapping[str, str]) -> Evaluation:
    """The guard's analysis of *command* (no allowlist: what it is, not whether it may run)."""
    from openclaw_exec.analysis import evaluate_command  # noqa: PLC0415 - loaded on first use

    where = cwd if cwd and Path(cwd).is_absolute() and Path(cwd).is_dir() else "/"
    return evaluate_command(command, cwd=where, env=env)


def _assignment(name: str, value: str) -> str:
    return f"{name}={MASK}" if looks_secret_name(name) else redact_text(f"{name}={value}")


def _analysis_view(evaluation: Evaluation | None, error: str | None) -> dict[str, Any]:
    if evaluation is None:
        return {"ok": False, "failure": error or "not analysed", "mustAsk": [], "rows": []}
    rows: list[dict[str, Any]] = []
    for index, top in enumerate(evaluation.segments, start=1):
        for seg in top.walk():
            exe = seg.policy_executable
            danger = seg.danger
            why = seg.miss_reason or (
                seg.matched_entry.pattern if seg.matched_entry is not None else ""
            )
            if seg.inline_eval is not None:
                why = f"{why}; inline eval {seg.inline_eval.describe()}".lstrip("; ")
            rows.append(
                {
                    "label": f"{index}" + ("." * seg.depth if seg.depth else ""),
                    "depth": seg.depth,
                    "env": [
                        f"{name}={MASK}"
                        if looks_secret_name(name)
                        else redact_text(f"{name}={value}")
                        for name, value in seg.assignments
                    ],
                    "argv": redact_argv(seg.argv),
                    "resolved": redact_text(exe.path) if exe is not None and exe.path else None,
                    "satisfiedBy": None if seg.satisfied_by is None else str(seg.satisfied_by),
                    "why": redact_text(why),
                    "danger": None
                    if danger is None
                    else redact_text(f"{danger.row.label}: {danger.detail}".rstrip(": ")),
                }
            )
    failure = evaluation.failure
    return {
        "ok": evaluation.analysis_ok,
        "failure": None if failure is None else redact_text(failure.message),
        "mustAsk": [redact_text(t) for t in evaluation.must_ask],
        "rows": rows,
        "allowAlways": [
            {"pattern": redact_text(g.pattern), "preview": redact_text(g.preview)}
            for g in evaluation.allow_always
        ],
    }


def record_view(
    record: ApprovalRecord,
    evaluation: Evaluation | None = None,
    analysis_error: str | None = None,
) -> dict[str, Any]:
    """The JSON the page receives for one approval (every command-derived string redacted)."""
    request = record.request

    def text(value: str | None) -> str | None:
        return None if value is None else redact_text(value)

    return {
        "id": request.id,
        "state": str(record.state),
        "decision": None if record.decision is None else str(record.decision),
        "resolvedBy": text(record.resolved_by),
        "reason": None if record.reason is None else str(record.reason),
        "command": redact_text(request.command),
        "argv": None if request.command_argv is None else redact_argv(request.command_argv),
        "cwd": text(request.cwd),
        "host": text(request.host),
        "agentId": text(request.agent_id),
        "sessionKey": text(request.session_key),
        "security": text(request.security),
        "ask": text(request.ask),
        "envKeys": [sanitize_display_text(k) for k in request.env_keys or ()],
        "requester": None if record.requester is None else text(record.requester.label),
        "createdAtMs": request.created_at_ms,
        "expiresAtMs": request.expires_at_ms,
        "analysis": _analysis_view(evaluation, analysis_error),
    }
