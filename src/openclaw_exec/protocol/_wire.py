"""
Reading and writing whole approval messages: frames, socket lines and the two events.

:func:`decode_frame` and :func:`decode_socket_message` parse JSON text (strictly, through the
converter in :mod:`openclaw_exec.protocol._codec`) into the value types of
:mod:`openclaw_exec.protocol._frames`; :func:`requested_event` / :func:`resolved_event` build
``exec.approval.requested`` / ``.resolved`` from approval records and
:func:`parse_requested_event` / :func:`parse_resolved_event` read them back;
:func:`error_response` is OpenClaw's ``INVALID_REQUEST`` shape. Every wire name is also
importable from here (the module the rest of the package and its tests have always used).
Anything malformed raises :class:`~openclaw_exec.exceptions.RemoteProtocolError` with
``INVALID_REQUEST`` and a message naming the bad field. Pure: no I/O, no clock.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import attrs
from cattrs.gen import make_dict_structure_fn, override

from openclaw_exec.exceptions import RemoteProtocolError
from openclaw_exec.protocol._codec import (
    _CONVERTER,
    _camel,
    _protocol_error,
    dumps,
    encode,
    structure,
)
from openclaw_exec.protocol._frames import (
    _FRAME_TYPES,
    _SOCKET_TYPES,
    EVENT_REQUESTED,
    EVENT_RESOLVED,
    METHOD_REQUEST,
    METHOD_RESOLVE,
    METHOD_WAIT_DECISION,
    AcceptedPayload,
    DecisionPayload,
    ErrorShape,
    EventFrame,
    ExecApprovalRequestParams,
    Frame,
    RequestFrame,
    ResolvedPayload,
    ResolveParams,
    ResponseFrame,
    SocketDecision,
    SocketPrompt,
    SocketRequest,
    StateVersion,
    WaitDecisionParams,
)
from openclaw_exec.protocol._models import (
    ApprovalRecord,
    ApprovalRequest,
    ExecBinding,
    SystemRunPlan,
)

__all__ = [
    "EVENT_REQUESTED",
    "EVENT_RESOLVED",
    "METHOD_REQUEST",
    "METHOD_RESOLVE",
    "METHOD_WAIT_DECISION",
    "AcceptedPayload",
    "DecisionPayload",
    "ErrorShape",
    "EventFrame",
    "ExecApprovalRequestParams",
    "Frame",
    "RequestFrame",
    "ResolveParams",
    "ResolvedPayload",
    "ResponseFrame",
    "SocketDecision",
    "SocketPrompt",
    "SocketRequest",
    "StateVersion",
    "WaitDecisionParams",
    "decode_frame",
    "decode_socket_message",
    "dumps",
    "encode",
    "error_response",
    "parse_requested_event",
    "parse_resolved_event",
    "requested_event",
    "resolved_event",
    "structure",
]

_REQUEST_FIELDS = tuple(
    a.name
    for a in attrs.fields(ApprovalRequest)
    if a.name not in {"id", "created_at_ms", "expires_at_ms", "binding"}
)


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _loads(raw: str | bytes | bytearray, what: str) -> Any:
    try:
        return json.loads(raw, parse_constant=_reject_constant)
    except (ValueError, RecursionError) as exc:
        raise RemoteProtocolError(
            f"invalid {what}: not JSON ({exc})", details={"reason": "INVALID_JSON"}
        ) from None


def decode_frame(raw: str | bytes | bytearray | Mapping[str, Any]) -> Frame:
    """
    Parse one gateway frame (JSON text or an already decoded object).

    Raises:
        RemoteProtocolError: Not JSON, not an object, unknown ``type``, or bad fields.
    """
    data = raw if isinstance(raw, Mapping) else _loads(raw, "frame")
    if not isinstance(data, Mapping):
        raise RemoteProtocolError(
            f"invalid frame: expected an object, found {type(data).__name__}",
            details={"reason": "INVALID_FRAME"},
        )
    kind = data.get("type")
    if kind == "req":
        # What the converter would build, without it (every frame a gateway receives is a
        # well-formed request); anything else takes the converter's path and its errors.
        frame_id, method = data.get("id"), data.get("method")
        if isinstance(frame_id, str) and isinstance(method, str):
            return RequestFrame(id=frame_id, method=method, params=data.get("params"))
    cls = _FRAME_TYPES.get(kind) if isinstance(kind, str) else None
    if cls is None:
        raise RemoteProtocolError(
            f"invalid frame: unknown type {kind!r} (expected req, res or event)",
            details={"reason": "INVALID_FRAME"},
        )
    return structure(data, cls, what=f"{kind} frame")


def decode_socket_message(raw: str | bytes | bytearray) -> SocketRequest | SocketDecision:
    """
    Parse one approvals-socket line.

    Raises:
        RemoteProtocolError: Not JSON, unknown ``type``, or bad fields.
    """
    data = _loads(raw, "socket message")
    kind = data.get("type") if isinstance(data, dict) else None
    cls = _SOCKET_TYPES.get(kind) if isinstance(kind, str) else None
    if cls is None:
        raise RemoteProtocolError(
            f"invalid socket message: unknown type {kind!r} (expected request or decision)",
            details={"reason": "INVALID_FRAME"},
        )
    return structure(data, cls, what=f"socket {kind}")


def error_response(frame_id: str, message: str, *, reason: str | None = None) -> ResponseFrame:
    """An ``INVALID_REQUEST`` response, with ``details.reason`` when given (OpenClaw's shape)."""
    details = {"reason": reason} if reason else None
    return ResponseFrame(
        id=frame_id,
        ok=False,
        error=ErrorShape(code="INVALID_REQUEST", message=message, details=details),
    )


_OMITTED_IF_NONE = frozenset({"command_argv", "env_keys", "system_run_plan", "command_preview"})
# (field, wire key, left out when None), worked out once: two events per approval carry it.
_REQUEST_KEYS = tuple((name, _camel(name), name in _OMITTED_IF_NONE) for name in _REQUEST_FIELDS)
_AS_IS = (str, int, bool)  # values the converter returns unchanged


def _request_payload(request: ApprovalRequest) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, key, omitted_if_none in _REQUEST_KEYS:
        value = getattr(request, name)
        if value is None:
            if not omitted_if_none:
                out[key] = None
        elif type(value) in _AS_IS:
            out[key] = value
        else:
            out[key] = _CONVERTER.unstructure(value)
    if request.binding is not None:
        out["systemRunBinding"] = _CONVERTER.unstructure(request.binding)
    return out


def requested_event(
    record: ApprovalRecord | ApprovalRequest, *, seq: int | None = None
) -> EventFrame:
    """The ``exec.approval.requested`` event for a pending approval."""
    request = record.request if isinstance(record, ApprovalRecord) else record
    payload = {
        "id": request.id,
        "request": _request_payload(request),
        "createdAtMs": request.created_at_ms,
        "expiresAtMs": request.expires_at_ms,
    }
    return EventFrame(event=EVENT_REQUESTED, payload=payload, seq=seq)


def resolved_event(record: ApprovalRecord, *, seq: int | None = None) -> EventFrame:
    """
    The ``exec.approval.resolved`` event for a decided approval.

    Raises:
        ValueError: *record* carries no decision (expiry has no wire event).
    """
    if record.decision is None or record.settled_at_ms is None:
        raise ValueError("only a decided approval has an exec.approval.resolved event")
    payload = ResolvedPayload(
        id=record.id,
        decision=record.decision,
        resolved_by=record.resolved_by,
        ts=record.settled_at_ms,
        request=_request_payload(record.request),
    )
    return EventFrame(event=EVENT_RESOLVED, payload=encode(payload), seq=seq)


def parse_requested_event(frame: EventFrame) -> ApprovalRequest:
    """
    Rebuild the :class:`ApprovalRequest` an ``exec.approval.requested`` event announces.

    Raises:
        RemoteProtocolError: Wrong event name or malformed payload.
    """
    if frame.event != EVENT_REQUESTED:
        raise RemoteProtocolError(
            f"expected {EVENT_REQUESTED}, got {frame.event!r}", details={"reason": "INVALID_FRAME"}
        )
    payload = frame.payload
    if not isinstance(payload, Mapping) or not isinstance(payload.get("request"), Mapping):
        raise RemoteProtocolError(
            f"invalid {EVENT_REQUESTED}: payload.request must be an object",
            details={"reason": "INVALID_FRAME"},
        )
    body = dict(payload["request"])
    data: dict[str, Any] = {
        "id": payload.get("id"),
        "createdAtMs": payload.get("createdAtMs"),
        "expiresAtMs": payload.get("expiresAtMs"),
        **{k: v for k, v in body.items() if k != "systemRunBinding"},
        "binding": body.get("systemRunBinding"),
    }
    view = structure(data, _RequestView, what=EVENT_REQUESTED)
    try:
        return view.to_request()
    except (ValueError, TypeError) as exc:
        raise _protocol_error(EVENT_REQUESTED, exc) from None


def parse_resolved_event(frame: EventFrame) -> ResolvedPayload:
    """
    Parse an ``exec.approval.resolved`` event payload.

    Raises:
        RemoteProtocolError: Wrong event name or malformed payload.
    """
    if frame.event != EVENT_RESOLVED:
        raise RemoteProtocolError(
            f"expected {EVENT_RESOLVED}, got {frame.event!r}", details={"reason": "INVALID_FRAME"}
        )
    return structure(frame.payload, ResolvedPayload, what=EVENT_RESOLVED)


@attrs.frozen(kw_only=True)
class _RequestView:
    """Typed mirror of :class:`ApprovalRequest` for strict structuring."""

    id: str
    command: str
    created_at_ms: int
    expires_at_ms: int
    command_argv: tuple[str, ...] | None = None
    command_preview: str | None = None
    cwd: str | None = None
    host: str | None = None
    node_id: str | None = None
    security: str | None = None
    ask: str | None = None
    agent_id: str | None = None
    resolved_path: str | None = None
    session_key: str | None = None
    env_keys: tuple[str, ...] | None = None
    binding: ExecBinding | None = None
    system_run_plan: SystemRunPlan | None = None
    turn_source_channel: str | None = None
    turn_source_to: str | None = None
    turn_source_account_id: str | None = None
    turn_source_thread_id: str | int | None = None

    def to_request(self) -> ApprovalRequest:
        return ApprovalRequest(**attrs.asdict(self, recurse=False))


def _register_view() -> None:
    overrides = {a.name: override(rename=_camel(a.name)) for a in attrs.fields(_RequestView)}
    _CONVERTER.register_structure_hook(
        _RequestView,
        make_dict_structure_fn(_RequestView, _CONVERTER, **overrides),  # type: ignore[arg-type]
    )


_register_view()
