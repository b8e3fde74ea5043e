"""
The requester client on a gateway session: register a command, wait for its decision.

:class:`ApprovalRequester` sends ``exec.approval.request`` with ``twoPhase`` and reads both
``res`` frames: the registration (:class:`ApprovalRegistration`) and the decision
(:class:`ApprovalOutcome`, fail closed on anything it cannot read).
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from typing import Any

import attrs

from openclaw_exec.adapters.websocket._client import GatewaySession, open_gateway_session
from openclaw_exec.adapters.websocket._values import (
    GatewayClientOptions,
    GatewayError,
    _opt_str,
)
from openclaw_exec.exceptions import LocalProtocolError
from openclaw_exec.protocol import Decision

__all__ = ["ApprovalOutcome", "ApprovalRegistration", "ApprovalRequester"]


@attrs.frozen(kw_only=True)
class ApprovalRegistration:
    """The first (``accepted``) answer to a ``twoPhase`` ``exec.approval.request``."""

    id: str
    created_at_ms: int | None = None
    expires_at_ms: int | None = None
    raw: Mapping[str, Any] = attrs.field(factory=dict, repr=False, eq=False)


@attrs.frozen(kw_only=True)
class ApprovalOutcome:
    """
    The final answer: a decision, or ``None`` when nobody decided (expired, no approver).

    Attributes:
        id: The approval id.
        decision: The human's decision, or ``None`` (apply askFallback: fail closed).
        terminal_reason: Why it ended, when the gateway says (2026.9.6: ``user``,
            ``no-approval-route``, ``timeout``...).
        raw: The whole payload.
    """

    id: str
    decision: Decision | None
    terminal_reason: str | None = None
    raw: Mapping[str, Any] = attrs.field(factory=dict, repr=False, eq=False)

    @classmethod
    def from_payload(cls, payload: object, fallback_id: str) -> ApprovalOutcome:
        """Read a final ``exec.approval.request`` / ``waitDecision`` payload (fail closed)."""
        if not isinstance(payload, dict):
            raise GatewayError("approval answer is not an object", method="exec.approval.request")
        raw_decision = payload.get("decision")
        decision: Decision | None = None
        if raw_decision is not None:
            try:
                decision = Decision(raw_decision)
            except ValueError:
                raise GatewayError(
                    f"unknown decision {raw_decision!r}", method="exec.approval.request"
                ) from None
        approval_id = _opt_str(payload.get("id")) or fallback_id
        reason = payload.get("terminalReason")
        return cls(
            id=approval_id,
            decision=decision,
            terminal_reason=reason if isinstance(reason, str) else None,
            raw=dict(payload),
        )


class ApprovalRequester:
    """
    What an exec host uses: register a command for approval and wait for the decision.

    Open with ``async with ApprovalRequester.connect(options) as requester``.
    """

    def __init__(self, session: GatewaySession) -> None:
        self.session = session

    @classmethod
    @contextlib.asynccontextmanager
    async def connect(cls, options: GatewayClientOptions) -> AsyncIterator[ApprovalRequester]:
        """Open a session (see :func:`open_gateway_session`) and wrap it."""
        async with open_gateway_session(options, events=False) as session:
            yield cls(session)

    @staticmethod
    def _params(
        command: object,
        *,
        argv: Sequence[str] | None,
        cwd: str | None,
        host: str,
        security: str | None,
        ask: str | None,
        agent_id: str | None,
        session_key: str | None,
        timeout_ms: object,
        approval_id: str | None,
    ) -> dict[str, Any]:
        if not isinstance(command, str) or not command.strip():
            raise LocalProtocolError("command must be a non-empty string")
        if not isinstance(timeout_ms, int) or timeout_ms < 1:
            raise LocalProtocolError(f"timeout_ms must be a positive integer, got {timeout_ms!r}")
        params: dict[str, Any] = {
            "command": command,
            "host": host,
            "timeoutMs": timeout_ms,
            "twoPhase": True,
        }
        optional = {
            "id": approval_id,
            "commandArgv": list(argv) if argv is not None else None,
            "cwd": cwd,
            "security": security,
            "ask": ask,
            "agentId": agent_id,
            "sessionKey": session_key,
        }
        params.update({k: v for k, v in optional.items() if v is not None})
        return params

    async def register(
        self,
        command: str,
        *,
        argv: Sequence[str] | None = None,
        cwd: str | None = None,
        host: str = "gateway",
        security: str | None = None,
        ask: str | None = None,
        agent_id: str | None = None,
        session_key: str | None = None,
        timeout_ms: int = 120_000,
        approval_id: str | None = None,
    ) -> ApprovalRegistration:
        """
        Register a request (``twoPhase``) and return at the gateway's acknowledgement.

        Wait with :meth:`wait_decision` (on this or any later connection).

        Raises:
            LocalProtocolError: Bad arguments (nothing sent).
            GatewayError: The gateway refused the request.
            TransportError: The connection failed.
        """
        params = self._params(
            command, argv=argv, cwd=cwd, host=host, security=security, ask=ask,
            agent_id=agent_id, session_key=session_key, timeout_ms=timeout_ms,
            approval_id=approval_id,
        )  # fmt: skip
        payload = await self.session.request("exec.approval.request", params)
        if not isinstance(payload, dict) or not isinstance(payload.get("id"), str):
            raise GatewayError(
                "exec.approval.request answer without id", method="exec.approval.request"
            )
        if payload.get("status") != "accepted":
            # No twoPhase support, or decided at once (e.g. no approver): not a registration.
            outcome = ApprovalOutcome.from_payload(payload, payload["id"])
            raise GatewayError(
                f"request was settled at once (decision {outcome.decision})",
                error_code="SETTLED",
                details=dict(payload),
                method="exec.approval.request",
            )
        created, expires = payload.get("createdAtMs"), payload.get("expiresAtMs")
        return ApprovalRegistration(
            id=payload["id"],
            created_at_ms=created if isinstance(created, int) else None,
            expires_at_ms=expires if isinstance(expires, int) else None,
            raw=dict(payload),
        )

    async def wait_decision(
        self, approval_id: str, *, timeout_s: float | None = None
    ) -> ApprovalOutcome:
        """
        ``exec.approval.waitDecision``: wait for the decision on *approval_id*.

        Raises:
            GatewayError: Unknown or expired id.
            TransportError: The connection failed or *timeout* passed.
        """
        payload = await self.session.request(
            "exec.approval.waitDecision", {"id": approval_id}, timeout_s=timeout_s or math.inf
        )
        return ApprovalOutcome.from_payload(payload, approval_id)

    async def request_decision(
        self,
        command: str,
        *,
        argv: Sequence[str] | None = None,
        cwd: str | None = None,
        host: str = "gateway",
        security: str | None = None,
        ask: str | None = None,
        agent_id: str | None = None,
        session_key: str | None = None,
        timeout_ms: int = 120_000,
        approval_id: str | None = None,
        on_registered: Callable[[ApprovalRegistration], None] | None = None,
    ) -> ApprovalOutcome:
        """
        Register and wait on the same request (both ``res`` frames of ``twoPhase``).

        Returns:
            The outcome; ``decision`` is ``None`` when nobody decided in time or no
            approver was connected: the caller applies askFallback (deny unless configured).

        Raises:
            LocalProtocolError: Bad arguments (nothing sent).
            GatewayError: The gateway refused the request.
            TransportError: The connection failed.
        """
        params = self._params(
            command, argv=argv, cwd=cwd, host=host, security=security, ask=ask,
            agent_id=agent_id, session_key=session_key, timeout_ms=timeout_ms,
            approval_id=approval_id,
        )  # fmt: skip

        def accepted(payload: Mapping[str, Any]) -> None:
            if on_registered is not None and isinstance(payload.get("id"), str):
                on_registered(ApprovalRegistration(id=payload["id"], raw=dict(payload)))

        payload = await self.session.request(
            "exec.approval.request",
            params,
            expect_final=True,
            timeout_s=timeout_ms / 1000 + self.session.options.request_timeout,
            on_accepted=accepted,
        )
        return ApprovalOutcome.from_payload(payload, params.get("id", ""))
