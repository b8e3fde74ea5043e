"""
The server side of the gateway kit: OpenClaw's handshake, pairing and approval methods.

An embedder mounts :class:`GatewayKit` in their own gateway (``await kit.handle(stream,
peer_address)`` per accepted TCP connection) or runs it on its own with :meth:`GatewayKit.serve`.
Per connection it:

1. runs the WebSocket upgrade and sends ``connect.challenge`` (random nonce, ``ts``);
2. reads the first frame (at most 64 KiB before authentication, else close 1009; it must be a
   ``connect`` request, else ``INVALID_REQUEST`` and close 1008; protocol range must include 3
   or 4, else close 1002);
3. asks :func:`openclaw_exec.pairing.decide_pairing` what to do, stores the pairing record or
   pending request it returns through a :class:`PairingStore`, and either closes with the
   decided code and reason (after the error response) or answers ``hello-ok`` with the granted
   scopes and a device token;
4. serves ``exec.approval.request`` / ``waitDecision`` / ``resolve`` through the sans-IO
   :class:`openclaw_exec.protocol.ApprovalGateway` (OpenClaw's names, scopes and frames, two
   ``res`` frames for ``twoPhase``), broadcasting ``exec.approval.requested`` / ``resolved`` to
   approval-scoped operators, with bounds on the open approval requests of a connection and
   of a device, on ``timeoutMs`` and on message size, and expiring requests on time (the
   requester then gets ``decision: null`` and applies askFallback: nothing hangs). Neither
   the requesting connection nor its device may resolve (or is shown) its own request unless
   ``allow_self_approval`` names that device.

Pairing state stays off the event loop's critical path: the store answers from memory and
:meth:`GatewayKit.run_expiry` flushes it in a worker thread, batched (at most every
``store_flush_interval``) and once more on the way out; pending pairing requests are bounded
(``max_pending_pairings``, oldest evicted) and so are pairing records (``max_paired_devices``,
new devices refused).

Unlike OpenClaw 2026.4.1 (the #59882 failure), a loopback client with the shared secret whose
identity was paired with narrower scopes is upgraded silently (as 2026.9.6 does), so an
approval client can always reach the approval path on a local gateway.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import secrets
import time
import uuid
from collections.abc import Callable, Hashable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import anyio
import anyio.abc
import anyio.to_thread
import attrs

from openclaw_exec.adapters.filestore import ApprovalsStore
from openclaw_exec.adapters.websocket._approvals_file import (
    ADMIN_SCOPE,
    get_approvals_file,
    set_approvals_file,
)
from openclaw_exec.adapters.websocket._connect import _error_frame, parse_connect_params
from openclaw_exec.adapters.websocket._delivery import (
    APPROVAL_CAPS,
    APPROVAL_UI_CLIENT_IDS,
    KIT_ANY_CLIENT_CAPABILITY,
    KIT_DELIVERY_CAPABILITY,
)
from openclaw_exec.adapters.websocket._kit_config import GatewayKitConfig
from openclaw_exec.adapters.websocket._store import (
    FilePairingStore,
    PairingStore,
    default_pairing_dir,
)
from openclaw_exec.adapters.websocket._transport import (
    WebSocketClosedError,
    WebSocketConnection,
    accept_websocket,
)
from openclaw_exec.exceptions import PairingError, RemoteProtocolError, TransportError
from openclaw_exec.pairing import (
    ConnectionFacts,
    ConnectRequest,
    DeviceTokenRecord,
    PairedDevice,
    PairingDecision,
    decide_pairing,
)
from openclaw_exec.protocol import (
    APPROVAL_SCOPES,
    EVENT_REQUESTED,
    EVENT_RESOLVED,
    METHOD_REQUEST,
    METHOD_RESOLVE,
    METHOD_WAIT_DECISION,
    ApprovalGateway,
    EventFrame,
    Outgoing,
    Principal,
    RequestFrame,
    ResponseFrame,
    TerminalReason,
    decode_frame,
    error_response,
)
from openclaw_exec.protocol._gateway_queries import QUERY_METHODS
from openclaw_exec.protocol._queries import METHOD_APPROVALS_FILE_GET, METHOD_APPROVALS_FILE_SET
from openclaw_exec.protocol._wire import dumps

if TYPE_CHECKING:
    from anyio.abc import ByteStream

__all__ = ["GatewayKit", "GatewayKitConfig"]

_LOG = logging.getLogger(__name__)
PREAUTH_MAX_BYTES = 64 * 1024


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


class _StoreFullError(Exception):
    """A new device would grow the pairing store past ``max_paired_devices``."""


def _now_ms() -> int:
    return int(time.time() * 1000)


class GatewayKit:
    """
    A gateway that speaks OpenClaw's protocol for pairing and exec approvals.

    Args:
        config: Auth and limits.
        store: Pairing records and pending requests (default: a :class:`FilePairingStore`
            in :func:`default_pairing_dir`; pass :class:`MemoryPairingStore` for a
            throwaway gateway).
        approvals: The approval gateway (default: a fresh one over a fresh broker, with the
            config's self-approval rule and bounds; an injected one brings its own).
        clock: Milliseconds since the epoch (tests may inject one).
    """

    def __init__(
        self,
        config: GatewayKitConfig,
        *,
        store: PairingStore | None = None,
        approvals: ApprovalGateway | None = None,
        clock: Callable[[], int] = _now_ms,
        approvals_file: ApprovalsStore | str | os.PathLike[str] | None = None,
    ) -> None:
        self.config = config
        # exec.approvals.get/set serve this file (operator.admin only); None: not offered.
        self.approvals_file = (
            approvals_file
            if approvals_file is None or isinstance(approvals_file, ApprovalsStore)
            else ApprovalsStore(Path(approvals_file).expanduser())
        )
        self.store = store if store is not None else FilePairingStore(default_pairing_dir())
        self.approvals = (
            approvals
            if approvals is not None
            else ApprovalGateway(
                allow_self_approval=config.allow_self_approval,
                max_pending_per_connection=config.max_pending_per_connection,
                max_pending_per_principal=config.max_pending_per_device,
                max_timeout_ms=config.max_approval_timeout_ms,
            )
        )
        self.clock = clock
        self._peers: dict[Hashable, _Peer] = {}
        self._wake: anyio.Event | None = None
        self._timer_at: int | None = None  # the deadline the timer sleeps until (None: none)
        self._store_wake: anyio.Event | None = None
        self.port: int | None = None

    # ------------------------------------------------------------------ serving

    async def serve(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        task_status: anyio.abc.TaskStatus[int] = anyio.TASK_STATUS_IGNORED,
    ) -> None:
        """
        Listen on *host*:*port* (default: loopback, a free port) until cancelled.

        ``await tg.start(kit.serve)`` returns the port once it is listening.
        """
        listener = await anyio.create_tcp_listener(local_host=host, local_port=port)
        async with listener, anyio.create_task_group() as tg:
            self.port = int(listener.extra(anyio.abc.SocketAttribute.local_port))  # noqa: S610
            tg.start_soon(self.run_expiry)
            task_status.started(self.port)

            async def handler(stream: anyio.abc.SocketStream) -> None:
                peer = stream.extra(anyio.abc.SocketAttribute.remote_address)  # noqa: S610
                address = peer[0] if isinstance(peer, tuple) else str(peer)
                await self.handle(stream, str(address))

            await listener.serve(handler, task_group=tg)

    async def run_expiry(self) -> None:
        """
        The kit's timers, until cancelled: approval expiry and pairing-store flushes.

        Expires approvals on time (the sans-IO broker has no clock) and writes pairing
        changes in a worker thread, batched, then once more when cancelled (an approved
        pairing is never lost on shutdown). :meth:`serve` runs it; an embedder that calls
        :meth:`handle` itself runs it once in its own task group.
        """
        async with anyio.create_task_group() as tg:
            tg.start_soon(self._run_flusher)
            await self._run_timers()

    async def flush(self) -> None:
        """Write pending pairing changes now (in a worker thread)."""
        await anyio.to_thread.run_sync(self.store.flush)

    def _store_changed(self) -> None:
        if self._store_wake is not None:
            self._store_wake.set()

    async def _run_flusher(self) -> None:
        self._store_wake = anyio.Event()
        self._store_wake.set()  # changes made before the flusher started are written too
        try:
            while True:
                await self._store_wake.wait()
                await anyio.sleep(self.config.store_flush_interval)  # batch a burst
                self._store_wake = anyio.Event()  # later changes wake the next round
                try:
                    await self.flush()
                except Exception:  # noqa: BLE001 - a full disk must not stop the gateway
                    _LOG.exception("gateway kit: writing the pairing store failed; will retry")
                    self._store_wake.set()
                    await anyio.sleep(1.0)
        finally:
            with anyio.CancelScope(shield=True):
                try:
                    await self.flush()  # an approved pairing is not lost on shutdown
                except Exception:  # noqa: BLE001 - logged; raising here would mask the cancel
                    _LOG.exception("gateway kit: final write of the pairing store failed")

    async def _run_timers(self) -> None:
        while True:
            self._wake = anyio.Event()
            deadline = self._timer_at = self.approvals.next_deadline_ms()
            delay = 3600.0 if deadline is None else max(0.0, (deadline - self.clock()) / 1000)
            with anyio.move_on_after(delay):
                await self._wake.wait()
            await self._route(self.approvals.tick(now_ms=self.clock()))

    def _poke(self) -> None:
        # Wake the timer only for a deadline earlier than the one it sleeps until: a wake-up
        # per request (a task switch and a new cancel scope) cost more than the request.
        deadline = self.approvals.next_deadline_ms()
        if deadline is None or (self._timer_at is not None and deadline >= self._timer_at):
            return
        if self._wake is not None:
            self._wake.set()

    # ------------------------------------------------------------------ one connection

    async def handle(self, stream: ByteStream, peer_address: str) -> None:
        """
        Serve one accepted TCP connection until it closes. Never raises for peer faults.

        Args:
            stream: The accepted byte stream.
            peer_address: The socket peer's IP address (locality is derived from it).
        """
        try:
            connection = await accept_websocket(
                stream,
                max_message=max(self.config.max_message_bytes, PREAUTH_MAX_BYTES),
                open_timeout=self.config.handshake_timeout,
            )
        except TransportError:
            return
        key = f"conn-{uuid.uuid4()}"
        try:
            admitted = await self._handshake(connection, peer_address, key)
            if admitted is None:
                return
            principal, approval_client = admitted
            peer = _Peer(
                key=key,
                connection=connection,
                principal_id=principal.id,
                approval_client=approval_client,
                scopes=principal.scopes,
            )
            self._peers[key] = peer
            self.approvals.connect(key, principal, events=self._takes_events(peer))
            try:
                await self._serve_peer(peer, connection)
            finally:
                self._peers.pop(key, None)
                self.approvals.disconnect(key)
        except WebSocketClosedError:
            pass
        except Exception:  # noqa: BLE001 - one connection must not take the listener down
            # Our fault (a store that cannot be read, a bug), not the peer's: this connection
            # ends with 1011, the others and the listener keep running.
            _LOG.exception("gateway kit: connection %s failed", key)
            await connection.close(1011, "internal error")
        finally:
            await connection.close()

    async def _handshake(
        self, connection: WebSocketConnection, peer_address: str, key: str
    ) -> tuple[Principal, bool] | None:
        nonce = str(uuid.uuid4())
        challenge = {
            "type": "event",
            "event": "connect.challenge",
            # The protocol range rides on the challenge (ignored by OpenClaw's clients), so a
            # client can tell what to offer before it connects (upstream #83078).
            "payload": {
                "nonce": nonce,
                "ts": self.clock(),
                "minProtocol": self.config.min_protocol,
                "maxProtocol": self.config.max_protocol,
            },
        }
        await connection.send_text(json.dumps(challenge))
        with anyio.move_on_after(self.config.handshake_timeout) as scope:
            text = await connection.receive_text()
        if scope.cancelled_caught:
            await connection.close(1008, "connect challenge timeout")
            return None
        if len(text.encode("utf-8")) > PREAUTH_MAX_BYTES:
            await connection.close(1009, "preauth payload too large")
            return None
        try:
            frame = json.loads(text)
        except (json.JSONDecodeError, RecursionError):
            frame = None
        if (
            not isinstance(frame, dict)
            or frame.get("type") != "req"
            or not isinstance(frame.get("id"), str)
        ):
            await connection.close(1008, "invalid request frame")
            return None
        frame_id = frame["id"]
        if frame.get("method") != "connect":
            message = "invalid handshake: first request must be connect"
            await connection.send_text(_error_frame(frame_id, "INVALID_REQUEST", message))
            await connection.close(1008, message)
            return None
        params = frame.get("params")
        problem, request, protocol = parse_connect_params(
            params, supported=range(self.config.min_protocol, self.config.max_protocol + 1)
        )
        if problem is not None:
            message, close_code, details = problem
            await connection.send_text(_error_frame(frame_id, "INVALID_REQUEST", message, details))
            await connection.close(close_code, message[:120])
            return None
        assert request is not None
        assert protocol is not None
        try:
            decision = self._decide(connection, peer_address, nonce, request)
        except _StoreFullError:
            message = "pairing store full: no new devices accepted"
            details = {"reason": "PAIRING_STORE_FULL", "limit": self.config.max_paired_devices}
            await connection.send_text(_error_frame(frame_id, "INVALID_REQUEST", message, details))
            await connection.close(1008, message)
            return None
        if not decision.accepted:
            await connection.send_text(
                _error_frame(
                    frame_id,
                    decision.error_code or "INVALID_REQUEST",
                    decision.error_message or "connect refused",
                    dict(decision.error_details),
                )
            )
            await connection.close(decision.close_code or 1008, decision.close_reason or "")
            return None
        auth = self._grant(decision, request)
        hello = {
            "type": "hello-ok",
            "protocol": protocol,
            "server": {"version": self.config.server_version, "connId": key},
            "features": {
                "methods": [
                    METHOD_REQUEST,
                    METHOD_WAIT_DECISION,
                    METHOD_RESOLVE,
                    *sorted(QUERY_METHODS),
                    *(
                        [METHOD_APPROVALS_FILE_GET, METHOD_APPROVALS_FILE_SET]
                        if self.approvals_file is not None
                        else []
                    ),
                ],
                "events": ["connect.challenge", EVENT_REQUESTED, EVENT_RESOLVED],
                "capabilities": [KIT_DELIVERY_CAPABILITY]
                + (
                    []
                    if self.config.events_to_approval_clients_only
                    else [KIT_ANY_CLIENT_CAPABILITY]
                ),
            },
            "snapshot": {},
            "policy": {
                "maxPayload": self.config.max_message_bytes,
                "maxBufferedBytes": 2 * self.config.max_message_bytes,
                "tickIntervalMs": self.config.tick_interval_ms,
            },
            "auth": auth,
        }
        await connection.send_text(
            json.dumps({"type": "res", "id": frame_id, "ok": True, "payload": hello})
        )
        device = request.device
        caps = params.get("caps") if isinstance(params, dict) else None
        approval_client = (
            isinstance(caps, list) and bool(APPROVAL_CAPS & set(map(str, caps)))
        ) or request.client_id in APPROVAL_UI_CLIENT_IDS
        principal = Principal(
            id=device.id if device is not None else key,
            display_name=request.display_name or request.client_id,
            scopes=frozenset(decision.scopes),
        )
        return principal, approval_client

    def _decide(
        self,
        connection: WebSocketConnection,
        peer_address: str,
        nonce: str,
        request: ConnectRequest,
    ) -> PairingDecision:
        upgrade = connection.request
        headers = upgrade.headers if upgrade is not None else None

        def header(name: str) -> str | None:
            return headers.get(name) if headers is not None else None

        facts = ConnectionFacts(
            peer_address=peer_address,
            challenge_nonce=nonce,
            host=header("Host"),
            origin=header("Origin"),
            forwarded=header("Forwarded"),
            x_forwarded_for=header("X-Forwarded-For"),
            x_forwarded_proto=header("X-Forwarded-Proto"),
            x_forwarded_host=header("X-Forwarded-Host"),
            x_real_ip=header("X-Real-IP"),
        )
        device_id = request.device.id if request.device is not None else None
        paired = self.store.get_paired(device_id) if device_id else None
        pending = self.store.get_pending(device_id) if device_id else None
        decision = decide_pairing(
            connection=facts,
            auth=self.config.auth,
            request=request,
            paired=paired,
            pending=pending,
            now_ms=self.clock(),
            request_id=str(uuid.uuid4()),
        )
        if decision.paired_record is not None:
            if paired is None and self.store.count_paired() >= self.config.max_paired_devices:
                _LOG.warning(
                    "gateway kit: pairing store full (%d devices); refusing device %s",
                    self.config.max_paired_devices,
                    device_id,
                )
                raise _StoreFullError
            self.store.put_paired(decision.paired_record)
            if device_id:
                self.store.remove_pending(device_id)
            self._store_changed()
        if decision.pending_request is not None:
            self.store.put_pending(decision.pending_request)
            self._evict_pending(keep=decision.pending_request.device_id)
            self._store_changed()
        return decision

    def _evict_pending(self, keep: str) -> None:
        """Keep at most ``max_pending_pairings`` pending requests: drop the oldest."""
        excess = self.store.count_pending() - self.config.max_pending_pairings
        if excess <= 0:
            return
        oldest = sorted(
            (p for p in self.store.list_pending() if p.device_id != keep),
            key=lambda p: p.ts_ms,
        )[:excess]
        for pending in oldest:
            self.store.remove_pending(pending.device_id)
        _LOG.warning(
            "gateway kit: %d pending pairing request(s) evicted (limit %d)",
            len(oldest),
            self.config.max_pending_pairings,
        )

    def _grant(self, decision: PairingDecision, request: ConnectRequest) -> dict[str, Any]:
        """``hello-ok.auth``; mints and stores a device token when the decision says so."""
        role = decision.role or "operator"
        auth: dict[str, Any] = {"role": role, "scopes": list(decision.scopes)}
        if decision.auth_method is not None:
            auth["method"] = str(decision.auth_method)
        device = request.device
        if not decision.issue_device_token or device is None:
            return auth
        record = self.store.get_paired(device.id)
        if record is None:
            return auth
        now = self.clock()
        live = next(
            (t for t in record.tokens or () if t.role == role and t.revoked_at_ms is None),
            None,
        )
        scopes = tuple(decision.device_token_scopes)
        if live is None or set(live.scopes) != set(scopes):
            live = DeviceTokenRecord(
                role=role, token=secrets.token_urlsafe(32), scopes=scopes, created_at_ms=now
            )
            others = tuple(t for t in record.tokens or () if t.role != role)
            self.store.put_paired(attrs.evolve(record, tokens=(*others, live)))
            self._store_changed()
        auth.update(deviceToken=live.token, issuedAtMs=now)
        return auth

    # ------------------------------------------------------------------ after hello-ok

    def approve_pending(self, request_id: str) -> PairedDevice:
        """
        A human approved pending pairing request *request_id* (``openclaw devices approve``).

        Returns:
            The new pairing record (roles and scopes merged with any earlier approval).

        Raises:
            PairingError: No pending request has that id.
        """
        pending = next((p for p in self.store.list_pending() if p.request_id == request_id), None)
        if pending is None:
            raise PairingError(f"unknown pairing request id {request_id!r}")
        old = self.store.get_paired(pending.device_id)
        now = self.clock()
        roles = {pending.role, *pending.roles, *(old.approved_roles if old else ())}
        scopes = tuple(sorted({*pending.scopes, *(old.baseline_scopes if old else ())}))
        record = PairedDevice(
            device_id=pending.device_id,
            public_key=pending.public_key,
            role=pending.role,
            roles=tuple(sorted(roles)),
            scopes=scopes,
            approved_scopes=scopes,
            tokens=old.tokens if old is not None else None,
            platform=pending.platform,
            device_family=pending.device_family,
            client_id=pending.client_id,
            client_mode=pending.client_mode,
            display_name=pending.display_name,
            created_at_ms=old.created_at_ms if old is not None else now,
            approved_at_ms=now,
        )
        self.store.put_paired(record)
        self.store.remove_pending(pending.device_id)
        self._store_changed()
        return record

    # ------------------------------------------------------------------ in-process clients

    def attach(
        self,
        principal: Principal,
        deliver: Callable[[str], None],
        *,
        approval_client: bool = True,
    ) -> str:
        """
        Attach an in-process client (a web page, a chat bridge) as if it had connected.

        While attached it is what a WebSocket connection with *principal* would be: shown
        the requests that principal may see (never its own), a route for them, and bound by
        the same self-approval rule. Frames for it (JSON text) go to *deliver*, which must
        not block.

        Returns:
            Its connection key, for :meth:`submit` and :meth:`detach`.
        """
        key = f"local-{uuid.uuid4()}"
        peer = _Peer(
            key=key,
            connection=_LocalConnection(deliver),
            principal_id=principal.id,
            approval_client=approval_client,
            scopes=principal.scopes,
        )
        self._peers[key] = peer
        self.approvals.connect(key, principal, events=self._takes_events(peer))
        return key

    def detach(self, key: str) -> None:
        """Detach in-process client *key* (its parked calls are dropped)."""
        self._peers.pop(key, None)
        self.approvals.disconnect(key)

    async def submit(self, key: str, frame: RequestFrame) -> None:
        """
        Serve *frame* from attached client *key* as if it came over its connection.

        The answers (and any events it releases) are delivered to the clients they are for.
        """
        if key not in self._peers:
            raise PairingError(f"no attached client {key!r}")
        await self._receive(self._peers[key], frame)

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
        # One event goes to every approver as the same frame object: encode it once.
        encoded: dict[int, str] = {}
        for item in outgoing:
            peer = self._peers.get(item.connection)
            if peer is None:
                continue
            frame = item.frame
            if isinstance(frame, EventFrame) and not self._takes_events(peer):
                continue
            text = encoded.get(id(frame))
            if text is None:
                text = encoded[id(frame)] = dumps(frame)
            await self._send(peer, text)

    async def _send(self, peer: _Peer, text: str) -> None:
        """Send to one peer; a peer that cannot take it in time is dropped, not waited for."""
        connection = peer.connection
        if isinstance(connection, WebSocketConnection) and connection.queue_text(text):
            return  # joins the write in progress: nothing to wait for, no timer needed
        try:
            with anyio.fail_after(self.config.send_timeout):
                await peer.connection.send_text(text)
        except (TimeoutError, WebSocketClosedError):
            with contextlib.suppress(Exception):
                await peer.connection.abort()
