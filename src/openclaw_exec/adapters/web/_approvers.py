"""
How a guard reaches the approval page: two approvers (the one approver contract).

* :class:`KitApprover` asks through a :class:`~openclaw_exec.adapters.websocket.GatewayKit`
  in the same process (``serve_approver(store, KitApprover(kit))``, or ``page.approver``):
  the request shows up on the page, and on every approval client of the kit.
* :class:`GatewayApprover` asks a gateway over WebSocket from another process: this
  library's kit (and so its page) or a real OpenClaw gateway.

Both register the request under its own approval id with the time it has left, return the
decision and who made it (an :class:`~openclaw_exec.approvers.ApproverAnswer`), and return
``None`` ("no answer") when nobody decided in time. Cancelled (the runner does that when the
request is decided elsewhere or expires), :class:`KitApprover` withdraws the request from
the kit so it leaves the page at once.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import anyio

from openclaw_exec.approvers import ApproverAnswer
from openclaw_exec.protocol import (
    METHOD_REQUEST,
    ApprovalRequest,
    Decision,
    Principal,
    RequestFrame,
)

if TYPE_CHECKING:
    from openclaw_exec.adapters.websocket import GatewayClientOptions, GatewayKit

__all__ = ["GatewayApprover", "KitApprover"]

_LOG = logging.getLogger("openclaw_exec.web")

REQUESTER = Principal(
    id="exec-guard", display_name="exec guard (in process)", scopes={"operator.approvals"}
)
"""Who a :class:`KitApprover` registers requests as (never shown its own requests)."""


def _params(request: ApprovalRequest, timeout_ms: int) -> dict[str, Any]:
    params: dict[str, Any] = {
        "id": request.id,
        "command": request.command,
        "host": request.host or "gateway",
        "timeoutMs": timeout_ms,
    }
    optional = {
        "commandArgv": None if request.command_argv is None else list(request.command_argv),
        "cwd": request.cwd,
        "security": request.security,
        "ask": request.ask,
        "agentId": request.agent_id,
        "sessionKey": request.session_key,
    }
    params.update({k: v for k, v in optional.items() if v is not None})
    return params


def _answer(decision: object, resolved_by: str | None) -> ApproverAnswer | None:
    try:
        parsed = Decision(decision) if isinstance(decision, str) else None
    except ValueError:
        parsed = None
    if parsed is None:
        return None
    return ApproverAnswer(parsed, Principal(id=f"gateway:{resolved_by or 'approver'}"))


class KitApprover:
    """
    An approver that asks through a gateway kit in this process (its page, its operators).

    Args:
        kit: The gateway kit (served, so its timers expire requests).
        requester: Who the requests are registered as; needs an approvals scope (the kit's
            methods require one) and is never shown its own requests.
        on_withdrawn: Called after a request is withdrawn from the kit (the page uses it
            to refresh at once: withdrawal has no wire event).
        clock: Epoch milliseconds.
    """

    def __init__(
        self,
        kit: GatewayKit,
        *,
        requester: Principal = REQUESTER,
        on_withdrawn: Callable[[], None] | None = None,
        clock: Callable[[], int] = lambda: int(time.time() * 1000),
    ) -> None:
        self.kit = kit
        self.requester = requester
        self.on_withdrawn = on_withdrawn
        self.clock = clock

    async def __call__(self, request: ApprovalRequest, /) -> ApproverAnswer | None:
        """Register *request* with the kit and wait for its decision (``None``: none)."""
        left = request.expires_at_ms - self.clock()
        if left < 1:
            return None
        final: dict[str, Any] = {}
        done = anyio.Event()

        def deliver(text: str) -> None:
            frame = json.loads(text)
            if frame.get("type") != "res" or frame.get("id") != "kit-approver":
                return
            payload = frame.get("payload")
            if not frame.get("ok") or (isinstance(payload, dict) and "decision" in payload):
                final.update(frame)
                done.set()

        key = self.kit.attach(self.requester, deliver, approval_client=False)
        settled = False
        try:
            params = _params(request, left)
            await self.kit.submit(
                key, RequestFrame(id="kit-approver", method=METHOD_REQUEST, params=params)
            )
            await done.wait()
            settled = True
        finally:
            self.kit.detach(key)
            if not settled:
                self.kit.approvals.broker.cancel(request.id, now_ms=self.kit.clock())
                if self.on_withdrawn is not None:
                    self.on_withdrawn()
        if not final.get("ok"):
            _LOG.warning("web: the kit refused request %s: %s", request.id, final.get("error"))
            return None
        payload = final["payload"]
        record = self.kit.approvals.broker.get(request.id, now_ms=self.kit.clock())
        return _answer(payload.get("decision"), None if record is None else record.resolved_by)


class GatewayApprover:
    """
    An approver that asks a gateway over WebSocket (this library's kit, or OpenClaw's).

    Args:
        options: How to connect (URL, token, identity file...). For OpenClaw 2026.9.6
            the requester needs ``operator.approvals``; see ``docs/websocket.md``.
        clock: Epoch milliseconds.

    One connection per request. A refused or failed connection raises (the approver
    runner logs it and denies: fail closed).
    """

    def __init__(
        self,
        options: GatewayClientOptions,
        *,
        clock: Callable[[], int] = lambda: int(time.time() * 1000),
    ) -> None:
        self.options = options
        self.clock = clock

    async def __call__(self, request: ApprovalRequest, /) -> ApproverAnswer | None:
        """Register *request* with the gateway and wait for its decision (``None``: none)."""
        from openclaw_exec.adapters.websocket import ApprovalRequester  # noqa: PLC0415

        left = request.expires_at_ms - self.clock()
        if left < 1:
            return None
        async with ApprovalRequester.connect(self.options) as requester:
            outcome = await requester.request_decision(
                request.command,
                argv=request.command_argv,
                cwd=request.cwd,
                host=request.host or "gateway",
                security=request.security,
                ask=request.ask,
                agent_id=request.agent_id,
                session_key=request.session_key,
                timeout_ms=left,
                approval_id=request.id,
            )
        if outcome.decision is None:
            return None
        return ApproverAnswer(Decision(outcome.decision), Principal(id="gateway"))
