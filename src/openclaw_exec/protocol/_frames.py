"""
The approval wire's value types: gateway envelopes, method params and payloads, socket messages.

Frames are OpenClaw's gateway envelopes (``req`` / ``res`` / ``event``) carrying
``exec.approval.request`` / ``.waitDecision`` / ``.resolve`` and the events
``exec.approval.requested`` / ``.resolved``; the JSON-lines messages of the local approvals
socket sit beside them. Plain frozen attrs classes with snake_case fields: turning them into
camelCase JSON and back is :mod:`openclaw_exec.protocol._codec`'s job. Pure: no I/O, no clock.
"""

from __future__ import annotations

from typing import Any, Final

import attrs

from openclaw_exec.protocol._models import Decision, SystemRunPlan

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
]

METHOD_REQUEST: Final = "exec.approval.request"
METHOD_WAIT_DECISION: Final = "exec.approval.waitDecision"
METHOD_RESOLVE: Final = "exec.approval.resolve"
EVENT_REQUESTED: Final = "exec.approval.requested"
EVENT_RESOLVED: Final = "exec.approval.resolved"


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
