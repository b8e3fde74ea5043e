"""
The read methods of :class:`~openclaw_exec.protocol.ApprovalGateway`, as OpenClaw 2026.9.6.

``exec.approval.list`` / ``exec.approval.get`` (pending exec approvals this connection may
resolve; ``get`` takes an unambiguous prefix), and the kind-agnostic ``approval.get`` /
``approval.resolve`` (the first answer wins, every contender gets the recorded one; a
wrong kind or a decision the approval does not offer is recorded as a deny, as OpenClaw
does) / ``approval.history`` (newest first, from a bounded in-memory ledger). The gateway
only serves exec approvals, so other kinds are never found.

Pure: the gateway passes the time in.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping
from typing import TYPE_CHECKING, Any, Final

from openclaw_exec.exceptions import RemoteProtocolError
from openclaw_exec.protocol._models import ApprovalRecord, Decision, TerminalReason
from openclaw_exec.protocol._queries import (
    APPROVAL_KINDS,
    METHOD_APPROVAL_GET,
    METHOD_APPROVAL_HISTORY,
    METHOD_APPROVAL_RESOLVE,
    METHOD_EXEC_GET,
    METHOD_EXEC_LIST,
    ApprovalHistoryPage,
    ApprovalResolution,
    ApprovalSnapshot,
    PendingExecApprovalDetail,
    check_grant_expires_in_days,
)
from openclaw_exec.protocol._state import ApprovalOutcome, ApprovalState

if TYPE_CHECKING:
    from openclaw_exec.protocol._models import Principal

__all__ = ["QUERY_METHODS", "grant_days", "query"]

QUERY_METHODS: Final = frozenset(
    {
        METHOD_EXEC_LIST,
        METHOD_EXEC_GET,
        METHOD_APPROVAL_GET,
        METHOD_APPROVAL_RESOLVE,
        METHOD_APPROVAL_HISTORY,
    }
)

_NOT_FOUND = {"reason": "APPROVAL_NOT_FOUND"}
_URL_SAFE = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.~")


def _quote(text: str) -> str:
    """``encodeURIComponent`` for the Control UI path (no urllib in the pure core)."""
    return "".join(
        c if c in _URL_SAFE else "".join(f"%{b:02X}" for b in c.encode("utf-8")) for c in text
    )


_HISTORY_MAX_LIMIT = 100
_HISTORY_DEFAULT_LIMIT = 50

_STATUS: Final = {
    ApprovalState.PENDING: "pending",
    ApprovalState.ALLOWED_ONCE: "allowed",
    ApprovalState.ALLOWED_ALWAYS: "allowed",
    ApprovalState.CONSUMED: "allowed",
    ApprovalState.DENIED: "denied",
    ApprovalState.EXPIRED: "expired",
    ApprovalState.CANCELLED: "cancelled",
    ApprovalState.ERROR: "denied",
}


def _allowed_decisions(record: ApprovalRecord) -> tuple[Decision, ...]:
    # OpenClaw: ask=always offers allow-once and deny only (no standing grant).
    if (record.request.ask or "").strip().lower() == "always":
        return (Decision.ALLOW_ONCE, Decision.DENY)
    return tuple(Decision)


def snapshot_of(record: ApprovalRecord) -> ApprovalSnapshot:
    """An exec approval record as ``approval.*`` shows it (OpenClaw's projection)."""
    request = record.request
    status = _STATUS.get(record.state, "denied")
    decision: Decision | None = None
    reason: str | None = None
    if status == "allowed":
        decision = record.decision or Decision.ALLOW_ONCE
        reason = "user"
    elif status == "denied":
        decision = Decision.DENY
        reason = {
            TerminalReason.NO_ROUTE: "no-route",
            TerminalReason.ERROR: "malformed-verdict",
        }.get(record.reason or TerminalReason.USER, "user")
        if record.state is ApprovalState.ERROR:
            reason = "malformed-verdict"
    elif status == "expired":
        if record.reason is TerminalReason.NO_ROUTE:
            status, decision, reason = "denied", Decision.DENY, "no-route"
        else:
            reason = "timeout"
    elif status == "cancelled":
        reason = "run-aborted"
    presentation: dict[str, Any] = {
        "commandText": request.command,
        "commandPreview": request.command_preview,
        "host": request.host,
        "nodeId": request.node_id,
        "agentId": request.agent_id,
    }
    return ApprovalSnapshot(
        id=record.id,
        kind="exec",
        status=status,
        presentation={k: v for k, v in presentation.items() if v is not None},
        allowed_decisions=_allowed_decisions(record),
        created_at_ms=request.created_at_ms,
        expires_at_ms=request.expires_at_ms,
        url_path=f"/approve/{_quote(record.id)}",
        decision=decision,
        reason=reason,
        resolved_at_ms=record.settled_at_ms if status != "pending" else None,
        source_agent_id=request.agent_id if status != "pending" else None,
        source_session_key=request.session_key if status != "pending" else None,
        resolver_kind="device" if status != "pending" and record.resolved_by else None,
        resolver_id=record.resolved_by if status != "pending" else None,
    )


def _list_item(record: ApprovalRecord) -> dict[str, Any]:
    from openclaw_exec.protocol._wire import requested_event  # noqa: PLC0415 - one encoder

    payload = requested_event(record).payload
    assert isinstance(payload, Mapping)
    return {
        "id": record.id,
        "request": payload.get("request"),
        "createdAtMs": record.request.created_at_ms,
        "expiresAtMs": record.request.expires_at_ms,
        "approvalKind": "exec",
    }


def _bad_params(method: str, message: str) -> RemoteProtocolError:
    return RemoteProtocolError(
        f"invalid {method} params: {message}", details={"reason": "INVALID_PARAMS"}
    )


def _id(method: str, params: Mapping[str, Any]) -> str:
    value = params.get("id")
    if not isinstance(value, str) or not value.strip():
        raise _bad_params(method, "id must be a non-empty string")
    return value


def grant_days(params: Mapping[str, Any]) -> int | None:
    """
    ``grantExpiresInDays`` of a resolve: an integer from 1 to 3650, or absent.

    Validated whatever the decision (OpenClaw's params schema does so); the broker keeps it
    only with ``allow-always``, as OpenClaw's gateway only stamps a lifetime on those. The
    guard that asked persists it as its grant's lifetime; a bad value is refused
    (``INVALID_PARAMS``), never dropped.
    """
    return check_grant_expires_in_days(params.get("grantExpiresInDays"))


def query(
    gateway: Any,
    connection: Hashable,
    principal: Principal,
    method: str,
    params: Mapping[str, Any],
    *,
    now_ms: int,
    may_resolve: Callable[[Hashable, Principal, str], bool],
) -> Any:
    """
    Answer one read method; returns the response payload.

    *gateway* is the :class:`~openclaw_exec.protocol.ApprovalGateway` (its broker, history
    and resolve step).

    Raises:
        RemoteProtocolError: Bad params, or not found (``APPROVAL_NOT_FOUND``).
    """
    broker = gateway.broker
    if method == METHOD_EXEC_LIST:
        return [
            _list_item(record)
            for record in broker.pending(now_ms=now_ms)
            if may_resolve(connection, principal, record.id)
        ]
    if method == METHOD_EXEC_GET:
        found = broker.lookup(_id(method, params), now_ms=now_ms)
        record = found.record
        if found.outcome is ApprovalOutcome.NOT_FOUND and found.reason == "APPROVAL_ID_AMBIGUOUS":
            raise RemoteProtocolError("ambiguous approval id prefix; use the full id")
        if (
            record is None
            or record.state is not ApprovalState.PENDING
            or not may_resolve(connection, principal, record.id)
        ):
            raise RemoteProtocolError("unknown or expired approval id", details=_NOT_FOUND)
        return PendingExecApprovalDetail(
            id=record.id,
            command_text=record.request.command,
            command_preview=record.request.command_preview,
            allowed_decisions=_allowed_decisions(record),
            host=record.request.host,
            node_id=record.request.node_id,
            agent_id=record.request.agent_id,
            expires_at_ms=record.request.expires_at_ms,
        ).to_payload()
    if method == METHOD_APPROVAL_GET:
        record = gateway.find_record(_id(method, params), now_ms=now_ms)
        if record is None:
            raise RemoteProtocolError("approval not found", details=_NOT_FOUND)
        return {"approval": snapshot_of(record).to_payload()}
    if method == METHOD_APPROVAL_HISTORY:
        return _history(gateway, params)
    assert method == METHOD_APPROVAL_RESOLVE
    return _resolve(gateway, connection, principal, params, now_ms=now_ms, may_resolve=may_resolve)


def _history(gateway: Any, params: Mapping[str, Any]) -> dict[str, Any]:
    method = METHOD_APPROVAL_HISTORY
    limit = params.get("limit", _HISTORY_DEFAULT_LIMIT)
    if type(limit) is not int or not 1 <= limit <= _HISTORY_MAX_LIMIT:
        raise _bad_params(method, "limit must be an integer from 1 to 100")
    kind = params.get("kind")
    if kind is not None and kind not in APPROVAL_KINDS:
        raise _bad_params(method, f"kind must be one of {', '.join(APPROVAL_KINDS)}")
    cursor = params.get("cursor")
    start = 0
    if cursor is not None:
        if not isinstance(cursor, str) or not cursor.startswith("h") or not cursor[1:].isdigit():
            raise RemoteProtocolError("invalid approval.history cursor")
        start = int(cursor[1:])
    records: list[ApprovalRecord] = (
        list(reversed(gateway.history)) if kind in (None, "exec") else []
    )
    page = records[start : start + limit]
    more = start + limit < len(records)
    return ApprovalHistoryPage(
        items=tuple(snapshot_of(r) for r in page),
        next_cursor=f"h{start + limit}" if more else None,
    ).to_payload()


def _resolve(
    gateway: Any,
    connection: Hashable,
    principal: Principal,
    params: Mapping[str, Any],
    *,
    now_ms: int,
    may_resolve: Callable[[Hashable, Principal, str], bool],
) -> dict[str, Any]:
    method = METHOD_APPROVAL_RESOLVE
    approval_id = _id(method, params)
    kind, raw = params.get("kind"), params.get("decision")
    if kind not in APPROVAL_KINDS:
        raise _bad_params(method, f"kind must be one of {', '.join(APPROVAL_KINDS)}")
    days = grant_days(params)
    record = gateway.find_record(approval_id, now_ms=now_ms)
    if record is None:
        raise RemoteProtocolError("approval not found", details=_NOT_FOUND)
    if record.state is not ApprovalState.PENDING:
        return ApprovalResolution(applied=False, approval=snapshot_of(record)).to_payload()
    if not may_resolve(connection, principal, record.id):
        raise RemoteProtocolError(
            "an approval request cannot be resolved by the connection or device that made it",
            details={"reason": "SELF_APPROVAL_NOT_ALLOWED"},
        )
    # OpenClaw records a malformed answer (wrong kind, a decision not offered) as a deny.
    decision = Decision.DENY
    if kind == "exec" and isinstance(raw, str):
        offered = {d.value: d for d in _allowed_decisions(record)}
        decision = offered.get(raw, Decision.DENY)
    result = gateway.broker.resolve(
        record.id, decision, approver=principal, now_ms=now_ms, grant_expires_in_days=days
    )
    settled = gateway.find_record(record.id, now_ms=now_ms) or result.record
    if settled is None:
        raise RemoteProtocolError("approval not found", details=_NOT_FOUND)
    return ApprovalResolution(applied=bool(result.ok), approval=snapshot_of(settled)).to_payload()
