"""
Connect situations as JSON files: read one, validate it, decide it.

The file format is documented in ``docs/pairing.md``; every problem is a
:class:`~openclaw_exec.exceptions.PairingError` naming the JSON path and what was expected.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from typing import Any, TypeVar

import attrs

from openclaw_exec.exceptions import PairingError
from openclaw_exec.pairing._decide import decide_pairing
from openclaw_exec.pairing._device import device_id_from_public_key, ed25519_verify
from openclaw_exec.pairing._model import (
    AuthConfig,
    AuthMode,
    ConnectionFacts,
    ConnectRequest,
    DeviceProof,
    DeviceTokenRecord,
    PairedDevice,
    PairingDecision,
    PairingReason,
    PendingPairing,
)
from openclaw_exec.pairing._net import parse_networks

__all__ = [
    "ConnectSituation",
    "decide_situation",
    "paired_device_from_json",
    "situation_from_json",
]


def _always_valid(_key: bytes, _signature: bytes, _message: bytes) -> bool:
    return True


@attrs.frozen(kw_only=True)
class ConnectSituation:
    """
    Everything :func:`decide_pairing` needs, as read from a situation file.

    Attributes:
        connection: Socket facts.
        auth: Gateway configuration.
        request: The connect request.
        paired: The stored record for the device, if any.
        pending: The stored pending request, if any.
        now_ms: The gateway clock.
        request_id: The id for a new pending request, if fixed by the file.
        assume_signature_valid: Skip only the Ed25519 check (for hand-written files);
            the id, nonce and freshness checks still run.
    """

    connection: ConnectionFacts
    auth: AuthConfig
    request: ConnectRequest
    paired: PairedDevice | None = None
    pending: PendingPairing | None = None
    now_ms: int
    request_id: str | None = None
    assume_signature_valid: bool = False


def decide_situation(situation: ConnectSituation) -> PairingDecision:
    """Run :func:`decide_pairing` on a :class:`ConnectSituation`."""
    return decide_pairing(
        connection=situation.connection,
        auth=situation.auth,
        request=situation.request,
        paired=situation.paired,
        pending=situation.pending,
        now_ms=situation.now_ms,
        request_id=situation.request_id,
        signature_verifier=_always_valid if situation.assume_signature_valid else ed25519_verify,
    )


# -- reading ------------------------------------------------------------------------------


class _Reader:
    """Typed access to one JSON object, with errors that name the JSON path."""

    def __init__(self, obj: object, path: str, *, known: frozenset[str] | None = None) -> None:
        if not isinstance(obj, Mapping):
            raise PairingError(f"{path or '<root>'}: expected an object, found {_kind(obj)}")
        self.obj = obj
        self.path = path
        if known is not None:
            unknown = sorted(str(k) for k in obj if k not in known)
            if unknown:
                raise PairingError(
                    f"{self.at(unknown[0])}: unknown field (expected one of "
                    f"{', '.join(sorted(known))})"
                )

    def at(self, key: str) -> str:
        return f"{self.path}.{key}" if self.path else key

    def has(self, key: str) -> bool:
        return self.obj.get(key) is not None

    def sub(self, key: str, *, known: frozenset[str] | None = None) -> _Reader | None:
        value = self.obj.get(key)
        return None if value is None else _Reader(value, self.at(key), known=known)

    def str_(self, key: str, *, required: bool = False) -> str | None:
        value = self.obj.get(key)
        if value is None:
            if required:
                raise PairingError(f"{self.at(key)}: required string is missing")
            return None
        if not isinstance(value, str):
            raise PairingError(f"{self.at(key)}: expected a string, found {_kind(value)}")
        return value

    def req_str(self, key: str) -> str:
        value = self.str_(key, required=True)
        assert value is not None
        return value

    def int_(self, key: str, default: int | None = None) -> int | None:
        value = self.obj.get(key)
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, int):
            raise PairingError(f"{self.at(key)}: expected an integer, found {_kind(value)}")
        return value

    def bool_(self, key: str, default: bool) -> bool:
        value = self.obj.get(key)
        if value is None:
            return default
        if not isinstance(value, bool):
            raise PairingError(f"{self.at(key)}: expected true or false, found {_kind(value)}")
        return value

    def strs(self, key: str) -> tuple[str, ...] | None:
        value = self.obj.get(key)
        if value is None:
            return None
        if not isinstance(value, list):
            raise PairingError(f"{self.at(key)}: expected a list of strings, found {_kind(value)}")
        for index, item in enumerate(value):
            if not isinstance(item, str):
                raise PairingError(
                    f"{self.at(key)}[{index}]: expected a string, found {_kind(item)}"
                )
        return tuple(value)


def _kind(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        text = value if len(value) <= 40 else value[:37] + "..."
        return f"the string {text!r}"
    if isinstance(value, int | float):
        return f"the number {value!r}"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, Mapping):
        return "an object"
    return type(value).__name__


_E = TypeVar("_E", bound=enum.StrEnum)


def _member(enum_type: type[_E], text: str, where: str) -> _E:
    """*text* as a member of *enum_type*; otherwise an error naming *where* and the choices."""
    try:
        return enum_type(text)
    except ValueError:
        allowed = ", ".join(m.value for m in enum_type)
        raise PairingError(f"{where}: expected one of {allowed}, found {text!r}") from None


def _wrap(path: str, build: Any) -> Any:
    """Run a constructor; turn its validation error into one naming *path*."""
    try:
        return build()
    except PairingError as exc:
        raise PairingError(f"{path}: {exc}") from None


_SITUATION_KEYS = frozenset(
    {
        "$schema",
        "comment",
        "nowMs",
        "requestId",
        "assumeSignatureValid",
        "connection",
        "gateway",
        "connect",
        "paired",
        "pending",
    }
)
_CONNECTION_KEYS = frozenset({"peerAddress", "challengeNonce", "headers", "proxyUser"})
_GATEWAY_KEYS = frozenset(
    {
        "auth",
        "trustedProxies",
        "allowRealIpFallback",
        "nodes",
        "controlUi",
        "approvalRuntimeToken",
    }
)
_HEADER_FIELDS = {
    "host": "host",
    "origin": "origin",
    "forwarded": "forwarded",
    "x-forwarded-for": "x_forwarded_for",
    "x-forwarded-proto": "x_forwarded_proto",
    "x-forwarded-host": "x_forwarded_host",
    "x-real-ip": "x_real_ip",
}


def _connection(reader: _Reader) -> ConnectionFacts:
    headers: dict[str, str] = {}
    head = reader.sub("headers")
    if head is not None:
        for name in head.obj:
            field = _HEADER_FIELDS.get(str(name).lower())
            if field is None:
                continue  # other headers do not matter for pairing
            value = head.str_(str(name))
            if value is not None:
                headers[field] = value
    return ConnectionFacts(
        peer_address=reader.req_str("peerAddress"),
        challenge_nonce=reader.req_str("challengeNonce"),
        proxy_user=reader.str_("proxyUser"),
        **headers,
    )


def _auth_config(reader: _Reader) -> AuthConfig:
    auth = reader.sub("auth", known=frozenset({"mode", "token", "password"}))
    if auth is None:
        raise PairingError(f"{reader.at('auth')}: required object is missing")
    mode = _member(AuthMode, auth.req_str("mode"), auth.at("mode"))
    nodes = reader.sub("nodes", known=frozenset({"pairing"}))
    pairing = (
        nodes.sub("pairing", known=frozenset({"autoApproveLocal", "autoApproveCidrs"}))
        if nodes is not None
        else None
    )
    control = reader.sub("controlUi", known=frozenset({"allowedOrigins"}))
    trusted = reader.strs("trustedProxies") or ()
    cidrs = (pairing.strs("autoApproveCidrs") if pairing is not None else None) or ()
    _wrap(reader.at("trustedProxies"), lambda: parse_networks(trusted))
    _wrap("gateway.nodes.pairing.autoApproveCidrs", lambda: parse_networks(cidrs))
    return AuthConfig(
        mode=mode,
        token=auth.str_("token"),
        password=auth.str_("password"),
        trusted_proxies=trusted,
        allow_real_ip_fallback=reader.bool_("allowRealIpFallback", default=False),
        auto_approve_local=(
            pairing.bool_("autoApproveLocal", default=True) if pairing is not None else True
        ),
        auto_approve_cidrs=cidrs,
        allowed_origins=(control.strs("allowedOrigins") if control is not None else None) or (),
        approval_runtime_token=reader.str_("approvalRuntimeToken"),
    )


def _request(reader: _Reader, *, now_ms: int, nonce: str, assume_valid: bool) -> ConnectRequest:
    client = reader.sub("client")
    if client is None:
        raise PairingError(f"{reader.at('client')}: required object is missing")
    auth = reader.sub("auth")
    device_reader = reader.sub("device")
    device = None
    if device_reader is not None:
        public_key = device_reader.req_str("publicKey")
        device_id = device_reader.str_("id")
        if device_id is None and assume_valid:
            device_id = _wrap(
                device_reader.at("publicKey"), lambda: device_id_from_public_key(public_key)
            )
        device = DeviceProof(
            id=device_id if device_id is not None else device_reader.req_str("id"),
            public_key=public_key,
            signature=(
                device_reader.str_("signature") or ""
                if assume_valid
                else device_reader.req_str("signature")
            ),
            signed_at_ms=_req_int(device_reader, "signedAt", now_ms if assume_valid else None),
            nonce=(
                device_reader.str_("nonce") or nonce
                if assume_valid
                else device_reader.req_str("nonce")
            ),
        )
    return ConnectRequest(
        client_id=client.req_str("id"),
        client_mode=client.req_str("mode"),
        platform=client.str_("platform"),
        device_family=client.str_("deviceFamily"),
        display_name=client.str_("displayName"),
        role=reader.str_("role"),
        scopes=reader.strs("scopes") or (),
        token=auth.str_("token") if auth is not None else None,
        password=auth.str_("password") if auth is not None else None,
        bootstrap_token=auth.str_("bootstrapToken") if auth is not None else None,
        device_token=auth.str_("deviceToken") if auth is not None else None,
        approval_runtime_token=auth.str_("approvalRuntimeToken") if auth is not None else None,
        device=device,
    )


def _req_int(reader: _Reader, key: str, default: int | None) -> int:
    value = reader.int_(key, default)
    if value is None:
        raise PairingError(f"{reader.at(key)}: required integer is missing")
    return value


def paired_device_from_json(obj: object, *, path: str = "paired") -> PairedDevice:
    """
    Read a ``devices/paired.json`` row (OpenClaw's camelCase layout).

    Raises:
        PairingError: Naming the JSON path of the first bad field.
    """
    reader = _Reader(obj, path)
    tokens = None
    if "tokens" in reader.obj and reader.obj["tokens"] is not None:
        tokens_reader = reader.sub("tokens")
        assert tokens_reader is not None
        records = []
        for role in tokens_reader.obj:
            entry = tokens_reader.sub(str(role))
            if entry is None:
                continue
            records.append(
                DeviceTokenRecord(
                    role=entry.str_("role") or str(role),
                    token=entry.req_str("token"),
                    scopes=entry.strs("scopes") or (),
                    created_at_ms=entry.int_("createdAtMs", 0) or 0,
                    revoked_at_ms=entry.int_("revokedAtMs"),
                )
            )
        tokens = tuple(records)
    return PairedDevice(
        device_id=reader.req_str("deviceId"),
        public_key=reader.req_str("publicKey"),
        role=reader.str_("role"),
        roles=reader.strs("roles") or (),
        scopes=reader.strs("scopes") or (),
        approved_scopes=reader.strs("approvedScopes"),
        tokens=tokens,
        platform=reader.str_("platform"),
        device_family=reader.str_("deviceFamily"),
        client_id=reader.str_("clientId"),
        client_mode=reader.str_("clientMode"),
        display_name=reader.str_("displayName"),
        created_at_ms=reader.int_("createdAtMs", 0) or 0,
        approved_at_ms=reader.int_("approvedAtMs", 0) or 0,
    )


def _pending(reader: _Reader) -> PendingPairing:
    reason_text = reader.str_("reason") or PairingReason.NOT_PAIRED.value
    reason = _member(PairingReason, reason_text, reader.at("reason"))
    return PendingPairing(
        request_id=reader.req_str("requestId"),
        device_id=reader.req_str("deviceId"),
        public_key=reader.req_str("publicKey"),
        reason=reason,
        role=reader.str_("role") or "operator",
        roles=reader.strs("roles") or (),
        scopes=reader.strs("scopes") or (),
        is_repair=reader.bool_("isRepair", default=False),
        ts_ms=reader.int_("ts", 0) or 0,
        platform=reader.str_("platform"),
        device_family=reader.str_("deviceFamily"),
        client_id=reader.str_("clientId"),
        client_mode=reader.str_("clientMode"),
        display_name=reader.str_("displayName"),
        remote_ip=reader.str_("remoteIp"),
    )


def situation_from_json(obj: object) -> ConnectSituation:
    """
    Read a connect-situation document (already parsed from JSON).

    The format (camelCase, OpenClaw's own field names for ``connect`` params, the
    ``gateway`` config section and the paired/pending rows) is in ``docs/pairing.md``.
    Unknown fields are refused at the top level and in ``connection``/``gateway`` (a typo
    there would silently change the answer); ``connect``, ``paired`` and ``pending`` are
    wire or file objects and tolerate extra fields.

    Raises:
        PairingError: With the JSON path of the first problem, e.g.
            ``connect.scopes[1]: expected a string, found the number 5``.
    """
    root = _Reader(obj, "", known=_SITUATION_KEYS)
    now_ms = root.int_("nowMs")
    if now_ms is None:
        raise PairingError("nowMs: required integer is missing (the gateway clock, in ms)")
    assume_valid = root.bool_("assumeSignatureValid", default=False)
    connection_reader = root.sub("connection", known=_CONNECTION_KEYS)
    if connection_reader is None:
        raise PairingError("connection: required object is missing")
    connection = _connection(connection_reader)
    gateway_reader = root.sub("gateway", known=_GATEWAY_KEYS)
    if gateway_reader is None:
        raise PairingError("gateway: required object is missing")
    auth = _auth_config(gateway_reader)
    connect_reader = root.sub("connect")
    if connect_reader is None:
        raise PairingError("connect: required object is missing")
    request = _wrap(
        "connect",
        lambda: _request(
            connect_reader,
            now_ms=now_ms,
            nonce=connection.challenge_nonce,
            assume_valid=assume_valid,
        ),
    )
    paired_obj = root.obj.get("paired")
    paired = None if paired_obj is None else paired_device_from_json(paired_obj)
    pending_reader = root.sub("pending")
    pending = None if pending_reader is None else _pending(pending_reader)
    return ConnectSituation(
        connection=connection,
        auth=auth,
        request=request,
        paired=paired,
        pending=pending,
        now_ms=now_ms,
        request_id=root.str_("requestId"),
        assume_signature_valid=assume_valid,
    )


# -- writing ------------------------------------------------------------------------------
