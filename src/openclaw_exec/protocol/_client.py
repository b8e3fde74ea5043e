"""
The client side of the approval methods, sans-IO: a requester or an approver.

:class:`ApprovalClient` makes the request frames a requester (exec host) or an approver
(UI, chat bridge) sends to a gateway, and turns the frames it receives into typed events.
It is the mirror of :class:`~openclaw_exec.protocol.ApprovalGateway`: the frames one sends
are the frames the other receives. Pure: no I/O, no clock, no tasks.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs

from openclaw_exec.exceptions import RemoteProtocolError
from openclaw_exec.protocol._models import ApprovalRequest, Decision
from openclaw_exec.protocol._wire import (
    EVENT_REQUESTED,
    EVENT_RESOLVED,
    METHOD_REQUEST,
    METHOD_RESOLVE,
    METHOD_WAIT_DECISION,
    AcceptedPayload,
    DecisionPayload,
    EventFrame,
    ExecApprovalRequestParams,
    Frame,
    RequestFrame,
    ResolvedPayload,
    ResolveParams,
    ResponseFrame,
    WaitDecisionParams,
    decode_frame,
    encode,
    parse_requested_event,
    parse_resolved_event,
    structure,
)

__all__ = [
    "ApprovalAnnounced",
    "ApprovalClient",
    "ApprovalSettled",
    "CallFailed",
    "ClientEvent",
    "DecisionReceived",
    "RequestAccepted",
    "ResolveAcknowledged",
]


@attrs.frozen
class RequestAccepted:
    """Two-phase acknowledgement of ``exec.approval.request`` (the final answer follows)."""

    frame_id: str
    approval_id: str
    created_at_ms: int
    expires_at_ms: int


@attrs.frozen
class DecisionReceived:
    """Final answer of a request or wait: a decision, or ``None`` (timeout / no route)."""

    frame_id: str
    approval_id: str
    decision: Decision | None
    created_at_ms: int
    expires_at_ms: int


@attrs.frozen
class ResolveAcknowledged:
    """``exec.approval.resolve`` answered ``{ok: true}``."""

    frame_id: str


@attrs.frozen
class CallFailed:
    """
    A call answered ``ok: false``.

    Attributes:
        frame_id: The request frame id.
        method: The method called.
        code: The error code (``INVALID_REQUEST`` ...).
        message: OpenClaw's message.
        reason: ``details.reason`` when present (``APPROVAL_NOT_FOUND`` ...).
    """

    frame_id: str
    method: str
    code: str
    message: str
    reason: str | None


@attrs.frozen
class ApprovalAnnounced:
    """An ``exec.approval.requested`` event: a request waiting for a human."""

    request: ApprovalRequest
    seq: int | None


@attrs.frozen
class ApprovalSettled:
    """An ``exec.approval.resolved`` event."""

    resolved: ResolvedPayload
    seq: int | None


ClientEvent = (
    RequestAccepted
    | DecisionReceived
    | ResolveAcknowledged
    | CallFailed
    | ApprovalAnnounced
    | ApprovalSettled
)
"""What :meth:`ApprovalClient.receive` returns."""


class ApprovalClient:
    """
    One connection's view of the approval methods.

    Args:
        frame_prefix: Prefix of the request frame ids this client makes (``<prefix>-<n>``).

    Frames for calls this client did not make, and events other than the two approval
    events, are ignored (a gateway sends many other events).
    """

    def __init__(self, *, frame_prefix: str = "req") -> None:
        if not frame_prefix:
            raise ValueError("frame_prefix must not be empty")
        self._prefix = frame_prefix
        self._count = 0
        self._pending: dict[str, str] = {}

    def _frame(self, method: str, params: Mapping[str, Any]) -> RequestFrame:
        self._count += 1
        frame_id = f"{self._prefix}-{self._count}"
        self._pending[frame_id] = method
        return RequestFrame(id=frame_id, method=method, params=dict(params))

    @property
    def pending_calls(self) -> int:
        """Calls sent and not finally answered."""
        return len(self._pending)

    def request(self, params: ExecApprovalRequestParams) -> RequestFrame:
        """An ``exec.approval.request`` frame (set ``two_phase`` to get an acknowledgement)."""
        return self._frame(METHOD_REQUEST, encode(params))

    def wait_decision(self, approval_id: str) -> RequestFrame:
        """An ``exec.approval.waitDecision`` frame for the exact id."""
        return self._frame(METHOD_WAIT_DECISION, encode(WaitDecisionParams(id=approval_id)))

    def resolve(self, approval_id: str, decision: Decision) -> RequestFrame:
        """An ``exec.approval.resolve`` frame (the id may be a unique prefix)."""
        return self._frame(
            METHOD_RESOLVE, encode(ResolveParams(id=approval_id, decision=Decision.parse(decision)))
        )

    def receive(self, raw: Frame | str | bytes | Mapping[str, Any]) -> list[ClientEvent]:
        """
        Read one frame from the gateway.

        Raises:
            RemoteProtocolError: The frame, or the payload of an answer to one of our calls,
                is malformed. The call stays pending.
        """
        frame = (
            raw if isinstance(raw, RequestFrame | ResponseFrame | EventFrame) else decode_frame(raw)
        )
        if isinstance(frame, EventFrame):
            if frame.event == EVENT_REQUESTED:
                return [ApprovalAnnounced(parse_requested_event(frame), frame.seq)]
            if frame.event == EVENT_RESOLVED:
                return [ApprovalSettled(parse_resolved_event(frame), frame.seq)]
            return []
        if isinstance(frame, RequestFrame):
            raise RemoteProtocolError(
                f"a gateway does not send requests to approval clients ({frame.method})",
                details={"reason": "INVALID_FRAME"},
            )
        method = self._pending.get(frame.id)
        if method is None:
            return []
        if not frame.ok:
            del self._pending[frame.id]
            error = frame.error
            details = (error.details if error else None) or {}
            reason = details.get("reason")
            return [
                CallFailed(
                    frame_id=frame.id,
                    method=method,
                    code=error.code if error else "UNKNOWN",
                    message=error.message if error else "",
                    reason=reason if isinstance(reason, str) else None,
                )
            ]
        if method == METHOD_RESOLVE:
            del self._pending[frame.id]
            return [ResolveAcknowledged(frame.id)]
        payload = frame.payload
        if (
            method == METHOD_REQUEST
            and isinstance(payload, Mapping)
            and payload.get("status") == "accepted"
        ):
            accepted = structure(payload, AcceptedPayload, what=f"{method} acknowledgement")
            return [
                RequestAccepted(
                    frame.id, accepted.id, accepted.created_at_ms, accepted.expires_at_ms
                )
            ]
        final = structure(payload, DecisionPayload, what=f"{method} answer")
        del self._pending[frame.id]
        return [
            DecisionReceived(
                frame.id, final.id, final.decision, final.created_at_ms, final.expires_at_ms
            )
        ]
