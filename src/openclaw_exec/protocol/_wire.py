"""
The one place where approval frames become dicts and back: a cattrs converter.

Frames are OpenClaw's gateway envelopes (``req`` / ``res`` / ``event``) carrying
``exec.approval.request`` / ``.waitDecision`` / ``.resolve`` and the events
``exec.approval.requested`` / ``.resolved``, plus the JSON-lines messages of the local
approvals socket. Keys are camelCase on the wire and snake_case in Python. Input is checked
strictly (a string is a string, an integer is not a boolean), unknown keys are tolerated
(newer peers add fields), and anything malformed raises
:class:`~openclaw_exec.exceptions.RemoteProtocolError` with ``INVALID_REQUEST`` and a message
naming the bad field. Pure: no I/O, no clock.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any, Final, TypeVar

import attrs
import cattrs
from cattrs.gen import make_dict_structure_fn, make_dict_unstructure_fn, override
from cattrs.v import format_exception

from openclaw_exec.exceptions import RemoteProtocolError
from openclaw_exec.protocol._models import (
    ApprovalRecord,
    ApprovalRequest,
    Decision,
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

METHOD_REQUEST: Final = "exec.approval.request"
METHOD_WAIT_DECISION: Final = "exec.approval.waitDecision"
METHOD_RESOLVE: Final = "exec.approval.resolve"
EVENT_REQUESTED: Final = "exec.approval.requested"
EVENT_RESOLVED: Final = "exec.approval.resolved"

T = TypeVar("T")


# ---------------------------------------------------------------- envelopes


@attrs.frozen(kw_only=True)
class ErrorShape:
    """``{code, message, details?, retryable?, retryAfterMs?}`` of a failed response."""

    code: str
    message: str
    details: dict[str, Any] | None = None
    retryable: bool | None = None
    retry_after_ms: int | None = None


@attrs.frozen(kw_only=True)
class StateVersion:
    """``{presence, health}`` counters some events carry."""

    presence: int
    health: int


@attrs.frozen(kw_only=True)
class RequestFrame:
    """``{"type":"req","id","method","params"?}``."""

    id: str
    method: str
    params: Any = None


@attrs.frozen(kw_only=True)
class ResponseFrame:
    """``{"type":"res","id","ok","payload"?,"error"?}``; one request may get two of them."""

    id: str
    ok: bool
    payload: Any = None
    error: ErrorShape | None = None


@attrs.frozen(kw_only=True)
class EventFrame:
    """``{"type":"event","event","payload"?,"seq"?,"stateVersion"?}``."""

    event: str
    payload: Any = None
    seq: int | None = None
    state_version: StateVersion | None = None


Frame = RequestFrame | ResponseFrame | EventFrame
"""Any gateway frame."""

_FRAME_TYPES: dict[str, type[RequestFrame | ResponseFrame | EventFrame]] = {
    "req": RequestFrame,
    "res": ResponseFrame,
    "event": EventFrame,
}
_TYPE_OF: dict[type, str] = {cls: name for name, cls in _FRAME_TYPES.items()}


# ---------------------------------------------------------------- method params and payloads


@attrs.frozen(kw_only=True)
class ExecApprovalRequestParams:
    """Params of ``exec.approval.request`` (OpenClaw 4.1 schema; later fields tolerated)."""

    id: str | None = None
    command: str | None = None
    command_argv: tuple[str, ...] | None = None
    system_run_plan: SystemRunPlan | None = None
    env: dict[str, str] | None = None
    cwd: str | None = None
    host: str | None = None
    security: str | None = None
    ask: str | None = None
    agent_id: str | None = None
    resolved_path: str | None = None
    session_key: str | None = None
    node_id: str | None = None
    turn_source_channel: str | None = None
    turn_source_to: str | None = None
    turn_source_account_id: str | None = None
    turn_source_thread_id: str | int | None = None
    timeout_ms: int | None = None
    two_phase: bool | None = None


@attrs.frozen(kw_only=True)
class WaitDecisionParams:
    """Params of ``exec.approval.waitDecision``: ``{id}``."""

    id: str


@attrs.frozen(kw_only=True)
class ResolveParams:
    """Params of ``exec.approval.resolve``: ``{id, decision}``."""

    id: str
    decision: Decision


@attrs.frozen(kw_only=True)
class DecisionPayload:
    """Final answer to a request or wait: ``{id, decision, createdAtMs, expiresAtMs}``."""

    id: str
    decision: Decision | None
    created_at_ms: int
    expires_at_ms: int


@attrs.frozen(kw_only=True)
class AcceptedPayload:
    """Two-phase acknowledgement: ``{status:"accepted", id, createdAtMs, expiresAtMs}``."""

    id: str
    created_at_ms: int
    expires_at_ms: int
    status: str = "accepted"


@attrs.frozen(kw_only=True)
class ResolvedPayload:
    """Payload of ``exec.approval.resolved``: ``{id, decision, resolvedBy, ts, request}``."""

    id: str
    decision: Decision
    resolved_by: str | None
    ts: int
    request: dict[str, Any] | None = None


# ---------------------------------------------------------------- socket messages


@attrs.frozen(kw_only=True)
class SocketPrompt:
    """
    The ``request`` object of a socket prompt (what the approver UI shows).

    ``expires_at_ms`` (``expiresAtMs``) is this library's addition: when the approval expires,
    so an approver can show a countdown and stop waiting then. OpenClaw's clients do not send
    it (their prompt lasts the client's own timeout, 15 s by default); unknown keys are
    ignored by OpenClaw's server, so sending it is harmless there.
    """

    command: str
    cwd: str | None = None
    host: str | None = None
    security: str | None = None
    ask: str | None = None
    agent_id: str | None = None
    resolved_path: str | None = None
    session_key: str | None = None
    allowed_decisions: tuple[Decision, ...] | None = None
    expires_at_ms: int | None = None


@attrs.frozen(kw_only=True)
class SocketRequest:
    """``{"type":"request","token","id","request"}`` (one per connection)."""

    token: str = attrs.field(repr=False)  # a secret: never in logs or tracebacks
    id: str
    request: SocketPrompt


@attrs.frozen(kw_only=True)
class SocketDecision:
    """``{"type":"decision","id","decision"}``."""

    id: str
    decision: Decision


_SOCKET_TYPES: dict[str, type[SocketRequest | SocketDecision]] = {
    "request": SocketRequest,
    "decision": SocketDecision,
}
_SOCKET_TYPE_OF: dict[type, str] = {cls: name for name, cls in _SOCKET_TYPES.items()}


# ---------------------------------------------------------------- the converter


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.capitalize() for part in rest)


def _fail(expected: str, value: object) -> TypeError:
    return TypeError(f"expected {expected}, found {type(value).__name__}")


def _str(value: object, _: object) -> str:
    if not isinstance(value, str):
        raise _fail("a string", value)
    return value


def _int(value: object, _: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise _fail("an integer", value)
    return value


def _bool(value: object, _: object) -> bool:
    if not isinstance(value, bool):
        raise _fail("a boolean", value)
    return value


def _str_tuple(value: object, _: object) -> tuple[str, ...]:
    if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
        raise _fail("an array of strings", value)
    return tuple(value)


def _str_or_int(value: object, _: object) -> str | int:
    if isinstance(value, str) or (isinstance(value, int) and not isinstance(value, bool)):
        return value
    raise _fail("a string or an integer", value)


def _optional_str_or_int(value: object, hint: object) -> str | int | None:
    return None if value is None else _str_or_int(value, hint)


def _plain_dict(value: object, _: object) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _fail("an object", value)
    return value


def _str_dict(value: object, _: object) -> dict[str, str]:
    if not isinstance(value, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    ):
        raise _fail("an object of strings", value)
    return value


def _any(value: object, _: object) -> Any:
    return value


def _decision_tuple(value: object, _: object) -> tuple[Decision, ...]:
    if not isinstance(value, list | tuple):
        raise _fail("an array of decisions", value)
    return tuple(_decision(v, None) for v in value)


def _decision(value: object, _: object) -> Decision:
    if not isinstance(value, str):
        raise _fail("a decision string", value)
    try:
        return Decision(value)
    except ValueError:
        raise ValueError(
            f"invalid decision {value!r}: expected allow-once, allow-always or deny"
        ) from None


# Leaves first: a generated hook captures the hooks of its fields when it is made.
_OMIT_NONE = (
    ErrorShape,
    SocketPrompt,
    RequestFrame,
    ResponseFrame,
    EventFrame,
    ExecApprovalRequestParams,
)
_KEEP_NONE = (
    StateVersion,
    SystemRunPlan,
    ExecBinding,
    WaitDecisionParams,
    ResolveParams,
    DecisionPayload,
    AcceptedPayload,
    ResolvedPayload,
    SocketRequest,
    SocketDecision,
)
_ORDER = (
    ErrorShape,
    StateVersion,
    SystemRunPlan,
    ExecBinding,
    SocketPrompt,
    RequestFrame,
    ResponseFrame,
    EventFrame,
    ExecApprovalRequestParams,
    *_KEEP_NONE[3:],
)


def _equals(hint: object) -> Callable[[Any], bool]:
    return lambda t: bool(t == hint)


def _make_converter() -> cattrs.Converter:
    conv = cattrs.Converter(forbid_extra_keys=False, detailed_validation=True)
    conv.register_structure_hook(str, _str)
    conv.register_structure_hook(int, _int)
    conv.register_structure_hook(bool, _bool)
    conv.register_structure_hook(Decision, _decision)
    exact: dict[object, Callable[[Any, Any], Any]] = {
        tuple[str, ...]: _str_tuple,
        str | int | None: _optional_str_or_int,
        dict[str, Any]: _plain_dict,
        dict[str, str]: _str_dict,
        tuple[Decision, ...]: _decision_tuple,
        Any: _any,
    }
    for hint, hook in exact.items():
        conv.register_structure_hook_func(_equals(hint), hook)
    conv.register_unstructure_hook_func(
        lambda t: t in (tuple[str, ...], tuple[Decision, ...]), lambda v: [str(x) for x in v]
    )
    for cls in _ORDER:
        omit = cls in _OMIT_NONE
        overrides = {
            a.name: override(rename=_camel(a.name), omit_if_default=omit) for a in attrs.fields(cls)
        }
        conv.register_structure_hook(cls, make_dict_structure_fn(cls, conv, **overrides))  # type: ignore[arg-type]
        conv.register_unstructure_hook(cls, make_dict_unstructure_fn(cls, conv, **overrides))  # type: ignore[arg-type]
    return conv


_CONVERTER: Final = _make_converter()

_REQUEST_FIELDS = tuple(
    a.name
    for a in attrs.fields(ApprovalRequest)
    if a.name not in {"id", "created_at_ms", "expires_at_ms", "binding"}
)


def _format(exc: BaseException, hint: type | None) -> str:
    if (
        isinstance(exc, ValueError | TypeError)
        and str(exc)
        and "positional argument" not in str(exc)
    ):
        return str(exc)
    return format_exception(exc, hint)


def _protocol_error(what: str, exc: Exception) -> RemoteProtocolError:
    if isinstance(exc, cattrs.BaseValidationError):
        problems = "; ".join(cattrs.transform_error(exc, path=what, format_exception=_format))
    else:
        problems = f"{what}: {exc}"
    return RemoteProtocolError(
        f"invalid {what}: {problems}",
        error_code="INVALID_REQUEST",
        details={"reason": "INVALID_FRAME"},
    )


def structure(data: object, cls: type[T], *, what: str | None = None) -> T:
    """
    Build *cls* from decoded JSON *data*, strictly, tolerating unknown keys.

    Raises:
        RemoteProtocolError: ``INVALID_REQUEST`` naming the bad field(s).
    """
    label = what or cls.__name__
    if not isinstance(data, Mapping):
        raise RemoteProtocolError(
            f"invalid {label}: expected an object, found {type(data).__name__}",
            details={"reason": "INVALID_FRAME"},
        )
    try:
        return _CONVERTER.structure(data, cls)
    except (cattrs.BaseValidationError, ValueError, TypeError, KeyError) as exc:
        raise _protocol_error(label, exc) from None


def encode(value: object) -> Any:
    """Turn a wire class (or a frame) into plain JSON-ready data, camelCase keys."""
    data = _CONVERTER.unstructure(value)
    kind = _TYPE_OF.get(type(value)) or _SOCKET_TYPE_OF.get(type(value))
    return {"type": kind, **data} if kind else data


def dumps(value: object) -> str:
    """:func:`encode` then compact JSON text (one line, no trailing newline)."""
    return json.dumps(encode(value), separators=(",", ":"), ensure_ascii=False)


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


def _request_payload(request: ApprovalRequest) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in _REQUEST_FIELDS:
        value = getattr(request, name)
        if (
            name in {"command_argv", "env_keys", "system_run_plan", "command_preview"}
            and value is None
        ):
            continue
        out[_camel(name)] = _CONVERTER.unstructure(value)
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
