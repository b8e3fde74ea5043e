"""
The gateway kit's handshake: challenge, ``connect``, the pairing decision and ``hello-ok``.

:class:`_KitHandshake` holds the part of :class:`GatewayKit` that admits a connection: it
sends ``connect.challenge``, reads and checks the first frame (size, shape, protocol range),
asks :func:`openclaw_exec.pairing.decide_pairing` what to do, stores the pairing record or
pending request it returns (bounded: oldest pending evicted, a full store refuses new
devices), mints the device token and answers ``hello-ok`` or the refusal and close code.
"""

from __future__ import annotations

import json
import logging
import secrets
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import anyio
import attrs

from openclaw_exec.adapters.websocket._connect import _error_frame, parse_connect_params
from openclaw_exec.adapters.websocket._delivery import (
    APPROVAL_CAPS,
    APPROVAL_UI_CLIENT_IDS,
    KIT_ANY_CLIENT_CAPABILITY,
    KIT_DELIVERY_CAPABILITY,
)
from openclaw_exec.adapters.websocket._kit_config import GatewayKitConfig
from openclaw_exec.adapters.websocket._store import PairingStore
from openclaw_exec.adapters.websocket._transport import WebSocketConnection
from openclaw_exec.pairing import (
    ConnectionFacts,
    ConnectRequest,
    DeviceTokenRecord,
    PairingDecision,
    decide_pairing,
)
from openclaw_exec.protocol import (
    EVENT_REQUESTED,
    EVENT_RESOLVED,
    METHOD_REQUEST,
    METHOD_RESOLVE,
    METHOD_WAIT_DECISION,
    Principal,
)
from openclaw_exec.protocol._gateway_queries import QUERY_METHODS
from openclaw_exec.protocol._queries import METHOD_APPROVALS_FILE_GET, METHOD_APPROVALS_FILE_SET

if TYPE_CHECKING:
    from openclaw_exec.adapters.filestore import ApprovalsStore

__all__: list[str] = []

_LOG = logging.getLogger("openclaw_exec.adapters.websocket._server")
PREAUTH_MAX_BYTES = 64 * 1024


class _StoreFullError(Exception):
    """A new device would grow the pairing store past ``max_paired_devices``."""


class _KitHandshake:
    """:class:`GatewayKit`'s admission of one connection (a mixin: the kit holds the state)."""

    config: GatewayKitConfig
    store: PairingStore
    clock: Callable[[], int]
    approvals_file: ApprovalsStore | None

    if TYPE_CHECKING:

        def _store_changed(self) -> None: ...

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
