"""
Gateway clients: the handshake and a session of requests, responses and events.

The values it uses (options, ``hello-ok``, errors) are in ``_values``; the approval operator
and requester built on a session are in ``_approvals``.

Speaks OpenClaw's gateway protocol (``connect.challenge`` → ``connect`` → ``hello-ok``, then
``req``/``res``/``event`` frames) to a real OpenClaw gateway (2026.4.1 and 2026.9.6 tested)
or to this library's gateway kit. What it does that OpenClaw's own clients rely on:

* offers protocol 3..4 (2026.4.1 speaks 3, 2026.9.6 requires 4 for operators);
* signs the challenge with an Ed25519 device identity kept on disk (mode 0600) and reuses the
  device token the gateway issued, falling back to the shared token once if it is refused;
* retries ``UNAVAILABLE`` (close 1013, "gateway starting") and lost connections with bounded
  exponential back-off, but never pairing or auth refusals: those raise
  :class:`PairingRequiredError` / :class:`GatewayError` carrying OpenClaw's request id and the
  remediation step;
* accepts both ``res`` frames of a ``twoPhase`` request (``{"status": "accepted"}``, then the
  decision);
* declares ``caps: ["exec-approvals"]``, which 2026.9.6 requires before it sends an operator
  ``exec.approval.requested`` events (that version also shows them only to ``operator.admin``
  or the requester's own device).
"""

from __future__ import annotations

import contextlib
import json
import time
import uuid
from collections import deque
from collections.abc import AsyncIterator, Callable, Mapping
from typing import Any

import anyio
import anyio.abc

from openclaw_exec._version import __version__
from openclaw_exec.adapters.websocket._identity import DeviceToken, load_or_create_identity
from openclaw_exec.adapters.websocket._transport import (
    WebSocketClosedError,
    WebSocketConnection,
    connect_websocket,
)
from openclaw_exec.adapters.websocket._values import (
    GatewayClientOptions,
    GatewayError,
    GatewayEvent,
    HelloOk,
    _covers,
    _error_from,
    _obj,
    _retry_allowed,
    _strs,
)
from openclaw_exec.exceptions import TransportError
from openclaw_exec.pairing import DeviceIdentity, sign_device_proof

__all__ = ["GatewaySession", "connect_gateway", "open_gateway_session"]


class _Pending:
    """
    The answers to one request, as the reader hands them over (at most two: ``twoPhase``).

    A deque and an event rather than a memory stream: a stream's receive is a checkpoint (a
    trip round the event loop) per answer, and a stream per request cost more than the
    request's own work under load.
    """

    def __init__(self, expect_final: bool) -> None:
        self.expect_final = expect_final
        self.answers: deque[dict[str, Any]] = deque()
        self.closed = False
        self._arrived: anyio.Event | None = None

    def put(self, frame: dict[str, Any]) -> None:
        if self.closed or len(self.answers) >= 4:  # a peer repeating answers: drop extras
            return
        self.answers.append(frame)
        if self._arrived is not None:
            self._arrived.set()

    def close(self) -> None:
        self.closed = True
        if self._arrived is not None:
            self._arrived.set()

    async def next(self) -> dict[str, Any] | None:
        """The next answer, or ``None`` once closed with none left."""
        while not self.answers:
            if self.closed:
                return None
            self._arrived = anyio.Event()
            await self._arrived.wait()
            self._arrived = None
        return self.answers.popleft()


class GatewaySession:
    """
    One authenticated connection: requests, responses and events.

    Made by :func:`open_gateway_session`. With ``events=True`` events arrive on
    :attr:`events`, a bounded stream: read it, or the reader waits for you (and responses
    wait behind it). With ``events=False`` events are discarded, so a client that only makes
    requests never stalls on the broadcasts an approvals-scoped connection receives.
    """

    def __init__(
        self,
        connection: WebSocketConnection,
        hello: HelloOk,
        options: GatewayClientOptions,
        device_id: str | None,
        *,
        events: bool = True,
    ) -> None:
        self._deliver_events = events
        self._connection = connection
        self.hello = hello
        self.options = options
        self.device_id = device_id
        self._pending: dict[str, _Pending] = {}
        self._events_send, self.events = anyio.create_memory_object_stream[GatewayEvent](256)
        self._closed: WebSocketClosedError | None = None
        self.closed = anyio.Event()

    @property
    def close_error(self) -> WebSocketClosedError | None:
        """Why the connection ended (``None`` while open)."""
        return self._closed

    async def _reader(self) -> None:
        try:
            while True:
                text = await self._connection.receive_text()
                try:
                    frame = json.loads(text)
                except json.JSONDecodeError:
                    continue  # a gateway never sends this; ignore rather than die
                if not isinstance(frame, dict):
                    continue
                kind = frame.get("type")
                if kind == "res" and isinstance(frame.get("id"), str):
                    pending = self._pending.get(frame["id"])
                    if pending is None:
                        continue  # e.g. the final res of a twoPhase request nobody waits for
                    payload = frame.get("payload")
                    accepted = (
                        frame.get("ok") is True
                        and isinstance(payload, dict)
                        and payload.get("status") == "accepted"
                    )
                    if not (accepted and pending.expect_final):
                        self._pending.pop(frame["id"], None)
                    pending.put(frame)
                elif kind == "event" and isinstance(frame.get("event"), str):
                    seq = frame.get("seq")
                    event = GatewayEvent(
                        name=frame["event"],
                        payload=frame.get("payload"),
                        seq=seq if isinstance(seq, int) else None,
                    )
                    if self._deliver_events:
                        # Without the send's checkpoint when there is room: a burst of
                        # events read in one chunk is handed over in one go.
                        with contextlib.suppress(anyio.BrokenResourceError):
                            try:
                                self._events_send.send_nowait(event)
                            except anyio.WouldBlock:
                                await self._events_send.send(event)
        except WebSocketClosedError as exc:
            self._closed = exc
        finally:
            if self._closed is None:
                self._closed = WebSocketClosedError(1006, "session ended")
            for pending in self._pending.values():
                pending.close()
            self._pending.clear()
            self._events_send.close()
            self.closed.set()

    async def request(
        self,
        method: str,
        params: Mapping[str, Any] | None = None,
        *,
        expect_final: bool = False,
        timeout_s: float | None = None,
        on_accepted: Callable[[Mapping[str, Any]], None] | None = None,
    ) -> Any:
        """
        Send a request and return its ``payload``.

        Args:
            method: The gateway method.
            params: Its params.
            expect_final: Skip a ``{"status": "accepted"}`` response and wait for the next
                one with the same id (OpenClaw's ``expectFinal``, for ``twoPhase``).
            timeout_s: Seconds to wait (default :attr:`GatewayClientOptions.request_timeout`).
            on_accepted: Called with the ``accepted`` payload when one is skipped.

        Raises:
            GatewayError: The gateway answered ``ok: false``.
            TransportError: The connection closed first (``WebSocketClosedError``) or the
                timeout passed.
        """
        if self._closed is not None:
            raise self._closed
        request_id = str(uuid.uuid4())
        pending = _Pending(expect_final)
        self._pending[request_id] = pending
        frame = {"type": "req", "id": request_id, "method": method, "params": dict(params or {})}
        try:
            await self._connection.send_text(json.dumps(frame))
            limit = self.options.request_timeout if timeout_s is None else timeout_s
            with anyio.fail_after(limit):
                while (answer := await pending.next()) is not None:
                    payload = answer.get("payload")
                    if answer.get("ok") is not True:
                        raise _error_from(method, answer.get("error"))
                    if (
                        expect_final
                        and isinstance(payload, dict)
                        and payload.get("status") == "accepted"
                    ):
                        if on_accepted is not None:
                            on_accepted(payload)
                        continue
                    return payload
            raise self.close_error or WebSocketClosedError(1006, "connection closed")
        except TimeoutError:
            raise TransportError(f"{method}: no answer within {limit} s") from None
        finally:
            self._pending.pop(request_id, None)
            pending.close()

    async def close(self, code: int = 1000, reason: str = "") -> None:
        """Close the connection."""
        await self._connection.close(code, reason)


def _connect_params(
    options: GatewayClientOptions,
    identity: DeviceIdentity | None,
    device_token: DeviceToken | None,
    challenge: Mapping[str, Any],
) -> dict[str, Any]:
    client: dict[str, Any] = {
        "id": options.client_id,
        "version": __version__,
        "platform": options.platform,
        "mode": options.client_mode,
    }
    if options.display_name:
        client["displayName"] = options.display_name
    if options.device_family:
        client["deviceFamily"] = options.device_family
    auth: dict[str, Any] = {}
    signing_token: str | None = None
    if device_token is not None:
        auth["deviceToken"] = device_token.token
        signing_token = device_token.token
    elif options.token is not None:
        auth["token"] = options.token
        signing_token = options.token
    params: dict[str, Any] = {
        "minProtocol": options.min_protocol,
        "maxProtocol": options.max_protocol,
        "client": client,
        "caps": list(options.caps),
        "role": options.role,
        "scopes": list(options.scopes),
        "auth": auth,
    }
    if identity is not None:
        nonce = challenge.get("nonce")
        ts = challenge.get("ts")
        if not isinstance(nonce, str) or not nonce:
            raise GatewayError("connect challenge missing nonce", method="connect")
        signed_at = (
            ts if isinstance(ts, int) and not isinstance(ts, bool) else int(time.time() * 1000)
        )
        proof = sign_device_proof(
            identity,
            client_id=options.client_id,
            client_mode=options.client_mode,
            role=options.role,
            scopes=options.scopes,
            signed_at_ms=signed_at,
            nonce=nonce,
            token=signing_token,
            platform=options.platform,
            device_family=options.device_family,
        )
        params["device"] = {
            "id": proof.id,
            "publicKey": proof.public_key,
            "signature": proof.signature,
            "signedAt": proof.signed_at_ms,
            "nonce": proof.nonce,
        }
    return params


async def _close_info(connection: WebSocketConnection) -> tuple[int | None, str]:
    """After a refused handshake, wait briefly for the gateway's close frame."""
    with anyio.move_on_after(2):
        with contextlib.suppress(WebSocketClosedError):
            while True:
                await connection.receive_text()
    return connection.close_code, connection.close_reason


async def _handshake(
    connection: WebSocketConnection,
    options: GatewayClientOptions,
    identity: DeviceIdentity | None,
    device_token: DeviceToken | None,
) -> dict[str, Any]:
    with anyio.fail_after(options.open_timeout):
        try:
            first = json.loads(await connection.receive_text())
        except json.JSONDecodeError:
            raise GatewayError("gateway sent non-JSON before connect", method="connect") from None
        if not (isinstance(first, dict) and first.get("event") == "connect.challenge"):
            raise GatewayError(
                f"expected connect.challenge, got {str(first)[:200]}", method="connect"
            )
        challenge = _obj(first.get("payload"))
        params = _connect_params(options, identity, device_token, challenge)
        request_id = str(uuid.uuid4())
        await connection.send_text(
            json.dumps({"type": "req", "id": request_id, "method": "connect", "params": params})
        )
        while True:
            try:
                answer = json.loads(await connection.receive_text())
            except WebSocketClosedError as exc:
                raise GatewayError(
                    exc.reason or "gateway closed during connect",
                    error_code="UNAVAILABLE" if exc.code == 1013 else "CLOSED",
                    method="connect",
                    retryable=exc.code == 1013,
                    close_code=exc.code,
                    close_reason=exc.reason,
                ) from None
            if (
                isinstance(answer, dict)
                and answer.get("type") == "res"
                and answer.get("id") == request_id
            ):
                break
    payload = answer.get("payload")
    if answer.get("ok") is True and isinstance(payload, dict) and payload.get("type") == "hello-ok":
        return payload
    code, reason = await _close_info(connection)
    raise _error_from("connect", answer.get("error"), close_code=code, close_reason=reason)


async def _connect_once(
    options: GatewayClientOptions, identity: DeviceIdentity | None
) -> tuple[WebSocketConnection, HelloOk]:
    tokens = options.token_file() if identity is not None else None
    stored = None
    if tokens is not None and identity is not None and options.use_device_token:
        stored = tokens.get(options.url, options.role, identity.device_id)
        if stored is not None and not _covers(stored.scopes, options.scopes):
            stored = None
    while True:
        connection = await connect_websocket(
            options.url, max_message=options.max_message, open_timeout=options.open_timeout
        )
        try:
            payload = await _handshake(connection, options, identity, stored)
        except GatewayError as exc:
            await connection.abort()
            if stored is not None and exc.detail_code.startswith("AUTH_") and options.token:
                # The gateway no longer honours our device token: drop it, use the shared one.
                assert tokens is not None
                tokens.forget(options.url, options.role)
                stored = None
                continue
            raise
        except BaseException:
            await connection.abort()
            raise
        hello = HelloOk.from_payload(payload)
        auth = _obj(payload.get("auth"))
        issued = auth.get("deviceToken")
        if tokens is not None and identity is not None and isinstance(issued, str) and issued:
            tokens.put(
                options.url,
                DeviceToken(
                    token=issued,
                    role=str(auth.get("role") or options.role),
                    scopes=_strs(auth.get("scopes") or options.scopes),
                    device_id=identity.device_id,
                ),
            )
        return connection, hello


async def connect_gateway(
    options: GatewayClientOptions,
) -> tuple[WebSocketConnection, HelloOk, str | None]:
    """
    Connect and complete the handshake, retrying what start-up and network blips cause.

    Returns:
        The open connection, the ``hello-ok`` and our device id (``None`` without identity).

    Raises:
        PairingRequiredError: The device must be approved first (never retried).
        GatewayError: Any other refusal, or ``UNAVAILABLE`` after the last attempt.
        TransportError: The gateway could not be reached after the last attempt.
    """
    identity = (
        load_or_create_identity(options.identity_path)
        if options.identity_path is not None
        else None
    )
    failures = 0
    while True:
        try:
            connection, hello = await _connect_once(options, identity)
        except (GatewayError, TransportError) as exc:
            floor = _retry_allowed(exc)
            failures += 1
            if floor is None or failures >= options.reconnect.max_attempts:
                raise
            await anyio.sleep(max(floor, options.reconnect.delay(failures)))
            continue
        return connection, hello, identity.device_id if identity else None


@contextlib.asynccontextmanager
async def open_gateway_session(
    options: GatewayClientOptions,
    *,
    events: bool = True,
    check: Callable[[HelloOk], None] | None = None,
) -> AsyncIterator[GatewaySession]:
    """
    Connect (see :func:`connect_gateway`) and yield a :class:`GatewaySession`.

    Args:
        options: How to connect.
        events: Deliver events on :attr:`GatewaySession.events` (``False``: discard them).
        check: Called with the ``hello-ok`` before the session starts; what it raises
            closes the connection and propagates as is.

    The connection is closed when the block exits.
    """
    connection, hello, device_id = await connect_gateway(options)
    if check is not None:
        try:
            check(hello)
        except BaseException:
            await connection.close()
            raise
    session = GatewaySession(connection, hello, options, device_id, events=events)
    try:
        async with anyio.create_task_group() as tg:
            tg.start_soon(session._reader)  # noqa: SLF001
            try:
                yield session
            finally:
                tg.cancel_scope.cancel()
    finally:
        session._events_send.close()  # noqa: SLF001
        session.events.close()
        await connection.close()
