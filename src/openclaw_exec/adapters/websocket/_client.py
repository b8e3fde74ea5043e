"""
Gateway clients: the options, errors, ``hello-ok`` and a session with the handshake.

The approval operator and requester built on a session are in ``_approvals``.

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
import sys
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import anyio
import anyio.abc
import attrs

from openclaw_exec._version import __version__
from openclaw_exec.adapters.websocket._identity import (
    DeviceToken,
    DeviceTokenFile,
    load_or_create_identity,
)
from openclaw_exec.adapters.websocket._transport import (
    WebSocketClosedError,
    WebSocketConnection,
    connect_websocket,
)
from openclaw_exec.exceptions import RemoteProtocolError, TransportError
from openclaw_exec.pairing import DeviceIdentity, sign_device_proof

__all__ = [
    "GatewayClientOptions",
    "GatewayError",
    "GatewayEvent",
    "GatewaySession",
    "HelloOk",
    "PairingRequiredError",
    "ReconnectPolicy",
    "connect_gateway",
    "open_gateway_session",
]

PROTOCOL_MIN = 3
PROTOCOL_MAX = 4
APPROVAL_SCOPE = "operator.approvals"
ADMIN_SCOPE = "operator.admin"

#: Error codes / detail codes after which reconnecting cannot help without a human.
_NO_RETRY_DETAIL_PREFIXES = ("PAIRING_", "AUTH_", "DEVICE_AUTH_", "DEVICE_IDENTITY", "CONTROL_UI_")


def _opt_str(value: object) -> str | None:
    return value if isinstance(value, str) else None


def _strs(value: object) -> tuple[str, ...]:
    """The strings of a JSON list (anything else is dropped)."""
    if not isinstance(value, list | tuple):
        return ()
    return tuple(v for v in value if isinstance(v, str))


def _obj(value: object) -> dict[str, Any]:
    """*value* if it is a JSON object, else an empty one."""
    return value if isinstance(value, dict) else {}


def _to_tuple(value: Iterable[str]) -> tuple[str, ...]:
    if isinstance(value, str):
        raise TypeError(f"expected a sequence of strings, not the string {value!r}")
    return tuple(value)


def _check_scopes(
    _inst: object, attribute: attrs.Attribute[Any], value: tuple[object, ...]
) -> None:
    if any(not isinstance(s, str) or not s.strip() for s in value):
        raise ValueError(f"{attribute.name} must be non-empty strings, got {value!r}")


@attrs.frozen(kw_only=True)
class ReconnectPolicy:
    """
    Bounded exponential back-off for (re)connecting.

    Attributes:
        max_attempts: Connection attempts in a row before giving up (at least 1).
        initial_delay: Seconds before the second attempt.
        max_delay: Upper bound of one delay (OpenClaw's clients use 30 s).
        multiplier: Growth factor per failed attempt.
    """

    max_attempts: int = attrs.field(default=10, validator=attrs.validators.ge(1))
    initial_delay: float = attrs.field(default=0.25, validator=attrs.validators.ge(0))
    max_delay: float = attrs.field(default=30.0, validator=attrs.validators.ge(0))
    multiplier: float = attrs.field(default=2.0, validator=attrs.validators.ge(1))

    def delay(self, failures: int) -> float:
        """The pause after *failures* consecutive failures (``failures >= 1``)."""
        exponent = min(max(failures - 1, 0), 64)
        return float(min(self.max_delay, self.initial_delay * self.multiplier**exponent))


@attrs.frozen(kw_only=True)
class GatewayClientOptions:
    """
    How a client connects to a gateway.

    Attributes:
        url: ``ws://host:port`` (or ``wss://``).
        token: The gateway's shared token (``gateway.auth.token``), if the client has it.
        identity_path: The device identity file (OpenClaw's ``identity/device.json`` format),
            created with mode 0600 if missing. ``None``: connect without a device identity
            (OpenClaw then clears a token client's scopes, except for local backends in late
            builds).
        token_path: Where issued device tokens are kept; default ``device-tokens.json`` beside
            the identity file.
        client_id: ``client.id`` (one of OpenClaw's enum: ``gateway-client``, ``cli``, ``test``...).
        client_mode: ``client.mode`` (``backend``, ``cli``, ``ui``, ``test``...).
        display_name: ``client.displayName``.
        platform: ``client.platform`` (pinned by the gateway at pairing).
        device_family: ``client.deviceFamily``.
        role: ``operator`` (or ``node``).
        scopes: The scopes asked for. Give a client the *union* it will need, once.
        caps: Capabilities; ``exec-approvals`` makes 2026.9.6 route approval events here.
        min_protocol: Lowest protocol offered.
        max_protocol: Highest protocol offered.
        open_timeout: Seconds for TCP + upgrade + handshake.
        request_timeout: Default seconds to wait for a ``res``.
        reconnect: Back-off for connecting and reconnecting.
        max_message: Largest message accepted, in bytes.
        use_device_token: Reuse a stored device token instead of the shared token.
    """

    url: str = attrs.field(validator=attrs.validators.instance_of(str))
    token: str | None = attrs.field(default=None, repr=False)
    identity_path: Path | None = attrs.field(
        default=None, converter=attrs.converters.optional(Path)
    )
    token_path: Path | None = attrs.field(default=None, converter=attrs.converters.optional(Path))
    client_id: str = "gateway-client"
    client_mode: str = "backend"
    display_name: str | None = "openclaw-exec"
    platform: str = attrs.field(default=sys.platform)
    device_family: str | None = None
    role: str = "operator"
    scopes: tuple[str, ...] = attrs.field(
        default=(APPROVAL_SCOPE,), converter=_to_tuple, validator=_check_scopes
    )
    caps: tuple[str, ...] = attrs.field(
        default=("exec-approvals",), converter=_to_tuple, validator=_check_scopes
    )
    min_protocol: int = PROTOCOL_MIN
    max_protocol: int = PROTOCOL_MAX
    open_timeout: float = 15.0
    request_timeout: float = 30.0
    reconnect: ReconnectPolicy = attrs.Factory(ReconnectPolicy)
    max_message: int = 32 * 1024 * 1024
    use_device_token: bool = True

    def __attrs_post_init__(self) -> None:
        if not self.url.startswith(("ws://", "wss://")):
            raise ValueError(f"url must start with ws:// or wss://, got {self.url!r}")
        if self.min_protocol > self.max_protocol:
            raise ValueError("min_protocol must not exceed max_protocol")

    def token_file(self) -> DeviceTokenFile | None:
        """Where device tokens are stored, or ``None`` without an identity."""
        if self.token_path is not None:
            return DeviceTokenFile(self.token_path)
        if self.identity_path is None:
            return None
        return DeviceTokenFile(self.identity_path.with_name("device-tokens.json"))


class GatewayError(RemoteProtocolError):
    """
    The gateway refused: an ``ok: false`` answer, or a close during the handshake.

    Attributes:
        error_code: OpenClaw's code (``NOT_PAIRED``, ``INVALID_REQUEST``, ``UNAVAILABLE``...).
        details: OpenClaw's ``error.details`` (``{"code": "PAIRING_REQUIRED", ...}``).
        method: The method that was refused (``connect`` for the handshake).
        retryable: The gateway said retrying may help.
        retry_after_ms: How long it asked to wait, if it did.
        close_code: The WebSocket close code that followed, if any (1008, 1013...).
        close_reason: Its reason text.
    """

    def __init__(
        self,
        message: str,
        *,
        error_code: str = "INVALID_REQUEST",
        details: Mapping[str, Any] | None = None,
        method: str = "",
        retryable: bool = False,
        retry_after_ms: int | None = None,
        close_code: int | None = None,
        close_reason: str = "",
    ) -> None:
        super().__init__(message, error_code=error_code, details=dict(details or {}))
        self.method = method
        self.retryable = retryable
        self.retry_after_ms = retry_after_ms
        self.close_code = close_code
        self.close_reason = close_reason

    @property
    def detail_code(self) -> str:
        """``details.code`` (e.g. ``PAIRING_REQUIRED``, ``AUTH_TOKEN_MISMATCH``), or ``""``."""
        code = self.details.get("code")
        return code if isinstance(code, str) else ""

    def __str__(self) -> str:
        text = f"{self.method or 'gateway'}: {self.error_code}: {self.message}"
        if self.detail_code:
            text += f" ({self.detail_code})"
        if self.close_code is not None:
            text += f"; closed {self.close_code}"
            if self.close_reason:
                text += f" {self.close_reason!r}"
        return text


class PairingRequiredError(GatewayError):
    """
    The gateway wants this device (re-)approved before it lets it in.

    Attributes:
        request_id: The pending pairing request to approve (``None`` if the gateway gave none).
        reason: ``not-paired``, ``scope-upgrade``, ``role-upgrade`` or ``metadata-upgrade``.
        remediation: The exact step that unblocks this client, from the gateway's
            ``details`` when it sends one (2026.9.6), else OpenClaw's documented recovery
            (``openclaw devices approve <requestId>``).
    """

    def __init__(self, message: str, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        request_id = self.details.get("requestId")
        self.request_id: str | None = request_id if isinstance(request_id, str) else None
        reason = self.details.get("reason")
        self.reason: str = reason if isinstance(reason, str) else ""
        self.remediation: str = _remediation(self.details, self.request_id)

    def __str__(self) -> str:
        text = super().__str__()
        if self.reason:
            text += f"; reason {self.reason}"
        if self.request_id:
            text += f"; requestId {self.request_id}"
        return f"{text}. To fix: {self.remediation}"


def _remediation(details: Mapping[str, Any], request_id: str | None) -> str:
    """The step a human takes, preferring the gateway's own words."""
    steps = []
    for key in ("recommendedNextStep", "remediationHint"):
        value = details.get(key)
        if isinstance(value, str) and value.strip() and value.strip() not in steps:
            steps.append(value.strip())
    approve = (
        f"openclaw devices approve {request_id}"
        if request_id
        else "openclaw devices approve <requestId>"
    )
    if not any(approve in s for s in steps):
        steps.append(
            f"on the gateway host run `openclaw devices list`, then `{approve}` "
            "(a newer connect of this device may have replaced the request id)"
        )
    return "; ".join(steps)


@attrs.frozen(kw_only=True)
class HelloOk:
    """
    The gateway's ``hello-ok``: what this connection may do.

    Attributes:
        protocol: The negotiated protocol (3 or 4).
        server_version: The gateway's version string.
        conn_id: The gateway's connection id.
        role: The granted role.
        scopes: The granted scopes.
        auth_method: How the gateway authenticated us (2026.9.6 reports it), if said.
        device_token_issued: Whether a device token came with it (stored, never exposed here).
        methods: Methods the gateway offers.
        events: Events the gateway may send.
        tick_interval_ms: ``policy.tickIntervalMs``.
        raw: The whole payload.
    """

    protocol: int
    server_version: str | None = None
    conn_id: str | None = None
    role: str | None = None
    scopes: tuple[str, ...] = ()
    auth_method: str | None = None
    device_token_issued: bool = False
    methods: tuple[str, ...] = attrs.field(default=(), repr=False)
    events: tuple[str, ...] = attrs.field(default=(), repr=False)
    tick_interval_ms: int | None = None
    raw: Mapping[str, Any] = attrs.field(factory=dict, repr=False, eq=False)

    @classmethod
    def from_payload(cls, payload: Mapping[str, Any]) -> HelloOk:
        """Read a ``hello-ok`` payload, tolerating fields newer gateways add."""
        server = _obj(payload.get("server"))
        auth = _obj(payload.get("auth"))
        features = _obj(payload.get("features"))
        policy = _obj(payload.get("policy"))
        protocol = payload.get("protocol")
        if not isinstance(protocol, int):
            raise GatewayError("hello-ok without a protocol number", method="connect")

        def strings(value: object) -> tuple[str, ...]:
            return tuple(v for v in value if isinstance(v, str)) if isinstance(value, list) else ()

        tick = policy.get("tickIntervalMs")
        return cls(
            protocol=protocol,
            server_version=server.get("version")
            if isinstance(server.get("version"), str)
            else None,
            conn_id=server.get("connId") if isinstance(server.get("connId"), str) else None,
            role=auth.get("role") if isinstance(auth.get("role"), str) else None,
            scopes=strings(auth.get("scopes")),
            auth_method=auth.get("method") if isinstance(auth.get("method"), str) else None,
            device_token_issued=isinstance(auth.get("deviceToken"), str),
            methods=strings(features.get("methods")),
            events=strings(features.get("events")),
            tick_interval_ms=tick if isinstance(tick, int) else None,
            raw=dict(payload),
        )


@attrs.frozen(kw_only=True)
class GatewayEvent:
    """An ``event`` frame: name, payload and the gateway's sequence number."""

    name: str
    payload: Any = None
    seq: int | None = None


def _error_from(
    method: str, error: object, *, close_code: int | None = None, close_reason: str = ""
) -> GatewayError:
    if not isinstance(error, dict):
        error = {}
    details = _obj(error.get("details"))
    code = _opt_str(error.get("code")) or "UNKNOWN"
    message = _opt_str(error.get("message")) or "request failed"
    retry_after = error.get("retryAfterMs")
    kwargs: dict[str, Any] = {
        "error_code": code,
        "details": details,
        "method": method,
        "retryable": error.get("retryable") is True,
        "retry_after_ms": retry_after if isinstance(retry_after, int) else None,
        "close_code": close_code,
        "close_reason": close_reason,
    }
    if details.get("code") == "PAIRING_REQUIRED" or (code == "NOT_PAIRED" and "reason" in details):
        return PairingRequiredError(message, **kwargs)
    return GatewayError(message, **kwargs)


def _retry_allowed(exc: BaseException) -> float | None:
    """``None`` when *exc* must not be retried; else a requested minimum delay in seconds."""
    if isinstance(exc, GatewayError):
        if isinstance(exc, PairingRequiredError):
            return None
        if exc.detail_code.startswith(_NO_RETRY_DETAIL_PREFIXES):
            return None
        if exc.error_code == "UNAVAILABLE" or exc.retryable or exc.close_code == 1013:
            return (exc.retry_after_ms or 0) / 1000
        return None
    if isinstance(exc, WebSocketClosedError):
        return 0.0 if exc.code in {1006, 1012, 1013, 1001} else None
    if isinstance(exc, TransportError):
        return 0.0
    return None


def _covers(granted: Sequence[str], wanted: Sequence[str]) -> bool:
    """OpenClaw's ``roleScopesAllow`` for operators: admin covers all, write covers read."""
    have = set(granted)
    if ADMIN_SCOPE in have:
        return all(s.startswith("operator.") for s in wanted)
    return all(s in have or (s == "operator.read" and "operator.write" in have) for s in wanted)


class _Pending:
    def __init__(self, expect_final: bool) -> None:
        self.expect_final = expect_final
        self.send, self.receive = anyio.create_memory_object_stream[dict[str, Any]](4)


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
                    with contextlib.suppress(anyio.WouldBlock, anyio.BrokenResourceError):
                        pending.send.send_nowait(frame)
                elif kind == "event" and isinstance(frame.get("event"), str):
                    seq = frame.get("seq")
                    event = GatewayEvent(
                        name=frame["event"],
                        payload=frame.get("payload"),
                        seq=seq if isinstance(seq, int) else None,
                    )
                    if self._deliver_events:
                        with contextlib.suppress(anyio.BrokenResourceError):
                            await self._events_send.send(event)
        except WebSocketClosedError as exc:
            self._closed = exc
        finally:
            if self._closed is None:
                self._closed = WebSocketClosedError(1006, "session ended")
            for pending in self._pending.values():
                pending.send.close()
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
                async for answer in pending.receive:
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
            pending.send.close()
            pending.receive.close()

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
