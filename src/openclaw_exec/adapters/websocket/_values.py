"""
What a gateway client is told and tells: options, back-off, ``hello-ok``, events, errors.

Values and pure helpers only (no sockets): :class:`GatewayClientOptions` and
:class:`ReconnectPolicy` say how to connect, :class:`HelloOk` and :class:`GatewayEvent` are
what the gateway says, :class:`GatewayError` / :class:`PairingRequiredError` are its
refusals (with OpenClaw's own remediation when it sends one), and ``_retry_allowed`` says
which refusals a reconnect can cure.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import attrs

from openclaw_exec.adapters.websocket._identity import DeviceTokenFile
from openclaw_exec.adapters.websocket._transport import WebSocketClosedError
from openclaw_exec.exceptions import RemoteProtocolError, TransportError

__all__ = [
    "ADMIN_SCOPE",
    "APPROVAL_SCOPE",
    "PROTOCOL_MAX",
    "PROTOCOL_MIN",
    "GatewayClientOptions",
    "GatewayError",
    "GatewayEvent",
    "HelloOk",
    "PairingRequiredError",
    "ReconnectPolicy",
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
