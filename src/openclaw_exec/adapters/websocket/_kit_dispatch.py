"""
The gateway kit's method dispatch: serving a peer's frames and routing what they release.

:class:`_KitDispatch` holds the part of :class:`GatewayKit` that runs after ``hello-ok``,
for WebSocket peers and in-process clients alike: it reads a peer's frames (size and shape
checked), serves ``exec.approvals.get``/``set`` itself (``operator.admin`` only), hands the
approval methods to the sans-IO :class:`openclaw_exec.protocol.ApprovalGateway`, settles a
request nobody will be shown at once (``no-approval-route``), and sends every outgoing frame
to its peer, dropping a peer that cannot take it in time.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Hashable
from typing import TYPE_CHECKING

import anyio
import anyio.to_thread
import attrs

from openclaw_exec.adapters.websocket._approvals_file import (
    ADMIN_SCOPE,
    get_approvals_file,
    set_approvals_file,
)
from openclaw_exec.adapters.websocket._kit_config import GatewayKitConfig
from openclaw_exec.adapters.websocket._transport import (
    TextMessage,
    WebSocketClosedError,
    WebSocketConnection,
)
from openclaw_exec.exceptions import RemoteProtocolError
from openclaw_exec.protocol import (
    APPROVAL_SCOPES,
    METHOD_REQUEST,
    ApprovalGateway,
    EventFrame,
    Outgoing,
    RequestFrame,
    ResponseFrame,
    TerminalReason,
    decode_frame,
    error_response,
)
from openclaw_exec.protocol._codec import dumps_frame
from openclaw_exec.protocol._queries import METHOD_APPROVALS_FILE_GET, METHOD_APPROVALS_FILE_SET

if TYPE_CHECKING:
    from openclaw_exec.adapters.filestore import ApprovalsStore

__all__: list[str] = []


class _LocalConnection:
    """The sending side of an in-process client: frames go to a callback, not a socket."""

    def __init__(self, deliver: Callable[[str], None]) -> None:
        self._deliver = deliver

    async def send_text(self, text: str) -> None:
        self._deliver(text)

    async def abort(self) -> None:
        """Nothing to tear down: the embedder detaches the client."""


@attrs.define(eq=False)
class _Peer:
    key: str
    connection: WebSocketConnection | _LocalConnection
    principal_id: str
    approval_client: bool = True
    scopes: frozenset[str] = frozenset()


class _KitDispatch:
    """:class:`GatewayKit`'s serving of admitted peers (a mixin: the kit holds the state)."""

    config: GatewayKitConfig
    approvals: ApprovalGateway
    approvals_file: ApprovalsStore | None
    clock: Callable[[], int]
    _peers: dict[Hashable, _Peer]

    if TYPE_CHECKING:

        def _poke(self) -> None: ...

    async def _receive(self, peer: _Peer, frame: RequestFrame) -> None:
        now = self.clock()
        if frame.method in (METHOD_APPROVALS_FILE_GET, METHOD_APPROVALS_FILE_SET) and (
            self.approvals_file is not None
        ):
            await self._route([Outgoing(peer.key, await self._approvals_file(peer, frame))])
            return
        if frame.method == METHOD_REQUEST and not self._has_approver(besides=peer):
            # Rare: nobody will be shown it. Which approval it registered is what is pending
            # now and was not before (no event names it: nobody takes events).
            broker = self.approvals.broker
            before = {r.id for r in broker.pending(now_ms=now)}
            outgoing = self.approvals.receive(peer.key, frame, now_ms=now)
            new = [r.id for r in broker.pending(now_ms=now) if r.id not in before]
            outgoing += self._no_route(new, now)
        else:
            outgoing = self.approvals.receive(peer.key, frame, now_ms=now)
        await self._route(outgoing)
        self._poke()

    async def _approvals_file(self, peer: _Peer, frame: RequestFrame) -> ResponseFrame:
        store = self.approvals_file
        assert store is not None
        if ADMIN_SCOPE not in peer.scopes:
            return error_response(frame.id, f"missing scope: {ADMIN_SCOPE}")
        params = frame.params if isinstance(frame.params, dict) else {}
        try:
            if frame.method == METHOD_APPROVALS_FILE_GET:
                payload = await anyio.to_thread.run_sync(get_approvals_file, store)
            else:
                payload = await anyio.to_thread.run_sync(set_approvals_file, store, params)
        except RemoteProtocolError as exc:
            reason = exc.details.get("reason")
            return error_response(frame.id, exc.message, reason=reason or None)
        return ResponseFrame(id=frame.id, ok=True, payload=payload)

    async def _serve_peer(self, peer: _Peer, connection: WebSocketConnection) -> None:
        while True:
            try:
                text = await connection.receive_text()
            except WebSocketClosedError:
                return
            if len(text.encode("utf-8")) > self.config.max_message_bytes:
                await connection.close(1009, "payload too large")
                return
            try:
                frame = decode_frame(text)
            except RemoteProtocolError as exc:
                await connection.close(1008, f"invalid frame: {exc.message}"[:120])
                return
            if not isinstance(frame, RequestFrame):
                continue  # clients send only requests; stray res/event frames are ignored
            await self._receive(peer, frame)

    def _has_approver(self, besides: _Peer) -> bool:
        """Whether a connection other than the requester's own would see and may answer."""
        allowed = self.approvals.allow_self_approval
        return any(
            (
                other.principal_id in allowed
                or (key != besides.key and other.principal_id != besides.principal_id)
            )
            and not other.scopes.isdisjoint(APPROVAL_SCOPES)
            and (other.approval_client or not self.config.events_to_approval_clients_only)
            for key, other in self._peers.items()
        )

    def _no_route(self, ids: list[str], now: int) -> list[Outgoing]:
        """
        Expire just-registered requests nobody will be shown (``no-approval-route``).

        The approval gateway counts every approvals-scoped connection as a route; the kit
        shows requests to approval clients only, so it settles the request at once (the
        requester gets ``decision: null`` and applies askFallback) instead of letting it
        wait for its timeout.
        """
        for approval_id in ids:
            self.approvals.broker.expire(approval_id, now_ms=now, reason=TerminalReason.NO_ROUTE)
        return self.approvals.tick(now_ms=now) if ids else []

    def _takes_events(self, peer: _Peer) -> bool:
        """Whether approval events go to *peer* (else the gateway leaves it out of fan-outs)."""
        return peer.approval_client or not self.config.events_to_approval_clients_only

    async def _route(self, outgoing: list[Outgoing]) -> None:
        # One event goes to every approver as the same frame object: encode it (and, for
        # WebSocket peers, frame it) once.
        messages: dict[int, TextMessage] = {}
        for item in outgoing:
            peer = self._peers.get(item.connection)
            if peer is None:
                continue
            frame = item.frame
            if isinstance(frame, EventFrame) and not self._takes_events(peer):
                continue
            message = messages.get(id(frame))
            if message is None:
                message = messages[id(frame)] = TextMessage(dumps_frame(frame))
            await self._send(peer, message)

    async def _send(self, peer: _Peer, message: TextMessage) -> None:
        """Send to one peer; a peer that cannot take it in time is dropped, not waited for."""
        connection = peer.connection
        try:
            if isinstance(connection, WebSocketConnection):
                if connection.offer(message):
                    return  # handed to the socket, or behind a write in progress: no wait
                with anyio.fail_after(self.config.send_timeout):
                    await connection.drain()
            else:
                await connection.send_text(message.text)
        except (TimeoutError, WebSocketClosedError):
            with contextlib.suppress(Exception):
                await connection.abort()
