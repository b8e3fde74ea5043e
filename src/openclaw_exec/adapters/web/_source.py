"""
The page's view of the gateway kit: pending requests, change notifications, resolve.

The page is an in-process client of the kit (:meth:`GatewayKit.attach`): while the web app
runs, one observer is attached with ``operator.approvals``, so the page is a route for every
request (a requester waits for a human to open it instead of getting ``no-approval-route``).
Each decision is sent as ``exec.approval.resolve`` from a client attached for that one call
as the session's own principal, so the kit's rules apply unchanged: scopes, no
self-approval (a device session never resolves its own device's requests), first answer
wins, an expired request cannot be decided.
"""

from __future__ import annotations

import json
from collections import OrderedDict
from typing import TYPE_CHECKING

import anyio

from openclaw_exec.protocol import (
    METHOD_RESOLVE,
    ApprovalRecord,
    ApprovalState,
    Decision,
    Principal,
    RequestFrame,
)

if TYPE_CHECKING:
    from openclaw_exec.adapters.websocket import GatewayKit

__all__ = ["OBSERVER", "KitSource", "ResolveAnswer"]

OBSERVER = Principal(
    id="openclaw-exec-web", display_name="web approvals page", scopes={"operator.approvals"}
)
"""The principal the page's observer attaches as (it sees every request; it never resolves)."""

_RECENT = 64


class ResolveAnswer:
    """The kit's answer to one resolve: ``ok``, else the message and ``details.reason``."""

    def __init__(self, *, ok: bool, message: str = "", reason: str | None = None) -> None:
        self.ok = ok
        self.message = message
        self.reason = reason


class KitSource:
    """
    Pending requests of a :class:`~openclaw_exec.adapters.websocket.GatewayKit`, for the page.

    Call :meth:`open` once on the event loop that serves the kit, :meth:`close` at the end.
    """

    def __init__(self, kit: GatewayKit) -> None:
        self.kit = kit
        self.version = 0
        self._changed = anyio.Event()
        self._key: str | None = None
        self._seen: OrderedDict[str, None] = OrderedDict()
        self.closed = False

    def open(self) -> None:
        """Attach the observer (the page becomes a route for every request)."""
        if self._key is None:
            self.closed = False
            self._changed = anyio.Event()
            self._key = self.kit.attach(OBSERVER, self._deliver)

    def close(self) -> None:
        """Detach the observer and wake every waiting stream (they end)."""
        self.closed = True
        if self._key is not None:
            self.kit.detach(self._key)
            self._key = None
        self._bump()

    def notify(self) -> None:
        """Something changed that the kit sends no frame for (a withdrawn request)."""
        self._bump()

    def _deliver(self, text: str) -> None:
        try:
            frame = json.loads(text)
        except json.JSONDecodeError:  # pragma: no cover - the kit sends JSON
            return
        payload = frame.get("payload") if isinstance(frame, dict) else None
        if isinstance(payload, dict) and isinstance(payload.get("id"), str):
            self._seen[payload["id"]] = None
            self._seen.move_to_end(payload["id"])
            while len(self._seen) > _RECENT:
                self._seen.popitem(last=False)
        self._bump()

    def _bump(self) -> None:
        self.version += 1
        self._changed.set()
        self._changed = anyio.Event()

    async def wait_changed(self) -> None:
        """Return at the next change (a request, a decision, the page closing)."""
        await self._changed.wait()

    def now_ms(self) -> int:
        """The kit's clock."""
        return self.kit.clock()

    def _visible(self, principal: Principal, record: ApprovalRecord) -> bool:
        # The kit's own rule: what this principal may resolve is what it is shown.
        return self.kit.approvals.may_resolve(object(), principal, record.id)

    def pending(self, principal: Principal) -> list[ApprovalRecord]:
        """The requests *principal* is shown now, oldest first (expired ones excluded)."""
        records = self.kit.approvals.broker.pending(now_ms=self.now_ms())
        for record in records:
            if record.id not in self._seen:
                self._seen[record.id] = None  # registered before the observer attached
        return [r for r in records if self._visible(principal, r)]

    def recent(self, principal: Principal) -> list[ApprovalRecord]:
        """Requests shown earlier that settled within the grace window, newest first."""
        now = self.now_ms()
        out: list[ApprovalRecord] = []
        for approval_id in reversed(self._seen):
            record = self.kit.approvals.broker.get(approval_id, now_ms=now)
            if record is None or record.state is ApprovalState.PENDING:
                continue
            if record.requester is not None and record.requester.id == principal.id:
                continue
            out.append(record)
        return out

    def find(self, principal: Principal, approval_id: str) -> ApprovalRecord | None:
        """The pending request with exactly *approval_id* that *principal* is shown."""
        return next((r for r in self.pending(principal) if r.id == approval_id), None)

    async def resolve(
        self, principal: Principal, approval_id: str, decision: Decision
    ) -> ResolveAnswer:
        """Send ``exec.approval.resolve`` as *principal*; the kit's answer."""
        answers: list[dict[str, object]] = []

        def deliver(text: str) -> None:
            frame = json.loads(text)
            if isinstance(frame, dict) and frame.get("type") == "res":
                answers.append(frame)

        key = self.kit.attach(principal, deliver, approval_client=False)
        try:
            frame = RequestFrame(
                id="web-resolve",
                method=METHOD_RESOLVE,
                params={"id": approval_id, "decision": str(decision)},
            )
            await self.kit.submit(key, frame)
        finally:
            self.kit.detach(key)
        answer = next((a for a in answers if a.get("id") == "web-resolve"), None)
        if answer is None:
            return ResolveAnswer(
                ok=False, message="no answer from the gateway", reason="UNAVAILABLE"
            )
        if answer.get("ok") is True:
            return ResolveAnswer(ok=True)
        error = answer.get("error")
        error = error if isinstance(error, dict) else {}
        details = error.get("details")
        reason = details.get("reason") if isinstance(details, dict) else None
        return ResolveAnswer(
            ok=False, message=str(error.get("message") or "refused"), reason=reason
        )
