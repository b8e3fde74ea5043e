"""
Edges of the pairing core: decisions and records out, as JSON and as text.

``openclaw-exec pairing explain --json FILE`` is a thin wrapper around
:func:`situation_from_json`, :func:`decide_situation` (in ``_situation``),
:func:`explain_decision` and :func:`decision_to_json`.
"""

from __future__ import annotations

from typing import Any

from openclaw_exec.pairing._model import (
    Outcome,
    PairedDevice,
    PairingDecision,
    PendingPairing,
)
from openclaw_exec.pairing._rules import PAIRING_RULES

__all__ = [
    "decision_to_json",
    "explain_decision",
    "paired_device_to_json",
    "pending_pairing_to_json",
]


def _drop_none(items: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in items.items() if v is not None}


def paired_device_to_json(record: PairedDevice) -> dict[str, Any]:
    """A :class:`PairedDevice` as a ``devices/paired.json`` row (camelCase, JSON-ready)."""
    tokens = None
    if record.tokens is not None:
        tokens = {
            t.role: _drop_none(
                {
                    "token": t.token,
                    "role": t.role,
                    "scopes": list(t.scopes),
                    "createdAtMs": t.created_at_ms,
                    "revokedAtMs": t.revoked_at_ms,
                }
            )
            for t in record.tokens
        }
    return _drop_none(
        {
            "deviceId": record.device_id,
            "publicKey": record.public_key,
            "displayName": record.display_name,
            "platform": record.platform,
            "deviceFamily": record.device_family,
            "clientId": record.client_id,
            "clientMode": record.client_mode,
            "role": record.role,
            "roles": list(record.roles),
            "scopes": list(record.scopes),
            "approvedScopes": (
                list(record.approved_scopes) if record.approved_scopes is not None else None
            ),
            "tokens": tokens,
            "createdAtMs": record.created_at_ms,
            "approvedAtMs": record.approved_at_ms,
        }
    )


def pending_pairing_to_json(request: PendingPairing) -> dict[str, Any]:
    """A :class:`PendingPairing` as a ``devices/pending.json`` row (camelCase, JSON-ready)."""
    return _drop_none(
        {
            "requestId": request.request_id,
            "deviceId": request.device_id,
            "publicKey": request.public_key,
            "reason": request.reason.value,
            "displayName": request.display_name,
            "platform": request.platform,
            "deviceFamily": request.device_family,
            "clientId": request.client_id,
            "clientMode": request.client_mode,
            "role": request.role,
            "roles": list(request.roles),
            "scopes": list(request.scopes),
            "remoteIp": request.remote_ip,
            "silent": False,
            "isRepair": request.is_repair,
            "ts": request.ts_ms,
        }
    )


def _remediation(decision: PairingDecision) -> str:
    rule = PAIRING_RULES.get(decision.rule)
    if rule is None:
        return ""
    pending = decision.pending_request
    device_id = str(decision.error_details.get("deviceId", "<deviceId>"))
    if decision.paired_record is not None:
        device_id = decision.paired_record.device_id
    return rule.remediation.format(
        request_id=pending.request_id if pending is not None else "<requestId>",
        device_id=pending.device_id if pending is not None else device_id,
        role=decision.role or "operator",
    )


def decision_to_json(decision: PairingDecision) -> dict[str, Any]:
    """
    A decision as a JSON-ready dict (what ``pairing explain --json`` prints).

    Keys: ``outcome``, ``rule``, ``ruleSummary``, ``note``, ``remediation``, ``locality``,
    ``authMethod``, ``role``, ``scopes``, ``issueDeviceToken``, ``deviceTokenScopes``,
    ``pairingReason``, ``pairedRecord``, ``pendingRequest``, ``close`` (``code``,
    ``reason``) and ``error`` (``code``, ``message``, ``details``), the last four only
    when they apply.
    """
    rule = PAIRING_RULES.get(decision.rule)
    out: dict[str, Any] = {
        "outcome": decision.outcome.value,
        "rule": decision.rule,
        "ruleSummary": rule.summary if rule is not None else "",
        "note": decision.note,
        "remediation": _remediation(decision),
        "locality": decision.locality.value,
        "authMethod": decision.auth_method.value if decision.auth_method is not None else None,
        "role": decision.role,
        "scopes": list(decision.scopes),
        "issueDeviceToken": decision.issue_device_token,
        "deviceTokenScopes": list(decision.device_token_scopes),
        "pairingReason": (
            decision.pairing_reason.value if decision.pairing_reason is not None else None
        ),
    }
    if decision.paired_record is not None:
        out["pairedRecord"] = paired_device_to_json(decision.paired_record)
    if decision.pending_request is not None:
        out["pendingRequest"] = pending_pairing_to_json(decision.pending_request)
    if decision.close_code is not None:
        out["close"] = {"code": decision.close_code, "reason": decision.close_reason}
    if decision.error_code is not None:
        out["error"] = {
            "code": decision.error_code,
            "message": decision.error_message,
            "details": dict(decision.error_details),
        }
    return out


_OUTCOME_TITLE = {
    Outcome.ACCEPT: "ACCEPT",
    Outcome.ACCEPT_AFTER_SILENT_PAIRING: "ACCEPT_AFTER_SILENT_PAIRING",
    Outcome.PAIRING_REQUIRED: "PAIRING_REQUIRED",
    Outcome.REJECT: "REJECT",
}


def explain_decision(decision: PairingDecision) -> str:
    """
    Render a decision for a human: the outcome, the rule, why, and what to do.

    When a human must approve, the last line is the exact
    ``openclaw devices approve <requestId>`` step.
    """
    rule = PAIRING_RULES.get(decision.rule)
    title = _OUTCOME_TITLE[decision.outcome]
    if decision.pairing_reason is not None:
        title += f" ({decision.pairing_reason.value})"
    lines = [f"Decision: {title}"]
    lines.append(f"Rule: {decision.rule}: {rule.summary if rule is not None else ''}")
    if decision.note:
        lines.append(f"Why: {decision.note}")
    auth = decision.auth_method.value if decision.auth_method is not None else "not authenticated"
    lines.append(f"Connection: {decision.locality.value}, auth {auth}")
    if decision.accepted:
        granted = ", ".join(decision.scopes) or "no scopes"
        lines.append(f"Granted: role {decision.role} with {granted}")
        if decision.issue_device_token:
            lines.append("Device token: issue or refresh one for this role")
    if decision.paired_record is not None:
        scopes = ", ".join(decision.paired_record.scopes) or "no scopes"
        lines.append(f"Store paired record: roles {list(decision.paired_record.roles)}; {scopes}")
    if decision.error_code is not None:
        lines.append(
            f"Gateway reply: {decision.error_code} {decision.error_message!r}, "
            f"details.code {decision.error_details.get('code', '-')}"
        )
    if decision.close_code is not None:
        lines.append(f"Close: {decision.close_code} {decision.close_reason!r}")
    remediation = _remediation(decision)
    if remediation:
        lines.append(f"What to do: {remediation}")
    return "\n".join(lines)
