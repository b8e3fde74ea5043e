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

This module holds the kit's lifecycle (listening, timers, the pairing-store flusher, one
connection start to end, in-process clients, approving a pending pairing); the handshake
(steps 1-3) is in :mod:`._kit_handshake`, serving and routing frames (step 4) in
:mod:`._kit_dispatch`.
"""

from __future__ import annotations

import logging
import os
import time
import uuid
from collections.abc import Callable, Hashable
from pathlib import Path
from typing import TYPE_CHECKING

import anyio
import anyio.abc
import anyio.to_thread

from openclaw_exec.adapters.filestore import ApprovalsStore
from openclaw_exec.adapters.websocket._kit_config import GatewayKitConfig
from openclaw_exec.adapters.websocket._kit_dispatch import _KitDispatch, _LocalConnection, _Peer
from openclaw_exec.adapters.websocket._kit_handshake import (
    PREAUTH_MAX_BYTES,
    _KitHandshake,
)
from openclaw_exec.adapters.websocket._store import (
    FilePairingStore,
    PairingStore,
    default_pairing_dir,
)
from openclaw_exec.adapters.websocket._transport import (
    WebSocketClosedError,
    accept_websocket,
)
from openclaw_exec.exceptions import PairingError, TransportError
from openclaw_exec.pairing import PairedDevice
from openclaw_exec.protocol import (
    ApprovalGateway,
    Principal,
    RequestFrame,
)

if TYPE_CHECKING:
    from anyio.abc import ByteStream

__all__ = ["GatewayKit", "GatewayKitConfig"]

_LOG = logging.getLogger(__name__)


def _now_ms() -> int:
    return int(time.time() * 1000)


class GatewayKit(_KitHandshake, _KitDispatch):
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
