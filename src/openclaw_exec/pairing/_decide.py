"""
``decide_pairing``: the whole handshake admission decision as one pure, total function.

Order of checks (OpenClaw's, see ``docs/pairing.md``): role; origin; credential
exclusivity; auth configuration; shared secret; approval-runtime credential; clients
without a device; device proof; device token; the device branch (not paired, metadata,
role, scopes) and whether a needed pairing is silent.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Iterable, Sequence
from typing import Any

from openclaw_exec.pairing import _net
from openclaw_exec.pairing._device import (
    DeviceProofFailure,
    SignatureVerifier,
    _check_normalized_proof,
    _key_bytes,
    ed25519_verify,
    encode_public_key,
    normalize_device_metadata,
)
from openclaw_exec.pairing._locality import (
    BROWSER_UI_CLIENT_IDS,
    _locality_of,
    _resolve,
    is_browser_ui_client,
)
from openclaw_exec.pairing._model import (
    AuthConfig,
    AuthMethod,
    AuthMode,
    ConnectionFacts,
    ConnectRequest,
    DeviceProof,
    DeviceTokenRecord,
    Locality,
    Outcome,
    PairedDevice,
    PairingDecision,
    PairingReason,
    PendingPairing,
    _decision_unchecked,
    _paired_device_unchecked,
    _pending_unchecked,
    _refuse_unchecked,
)
from openclaw_exec.pairing._secrets import secrets_equal

__all__ = [
    "APPROVALS_SCOPE",
    "KNOWN_ROLES",
    "NATIVE_APP_CLIENT_IDS",
    "PENDING_REQUEST_TTL_MS",
    "decide_pairing",
    "effective_roles",
    "scopes_cover",
]

APPROVALS_SCOPE = "operator.approvals"
"""The one scope the approval-runtime credential can grant."""

KNOWN_ROLES = frozenset({"operator", "node"})
"""The roles a ``connect`` may ask for."""

NATIVE_APP_CLIENT_IDS = frozenset(
    {"openclaw-macos", "openclaw-ios", "openclaw-android", "macos-app"}
)
"""Native app clients whose metadata refresh on direct loopback is silent (post-#69431)."""

PENDING_REQUEST_TTL_MS = 5 * 60 * 1000
"""A pending request older than this is expired and replaced (OpenClaw: 5 minutes)."""

_CLOSE_POLICY = 1008
_CLOSE_REASON_MAX_BYTES = 123

_REQUIREMENT = {
    PairingReason.NOT_PAIRED: "device is not approved yet",
    PairingReason.ROLE_UPGRADE: "device is asking for a higher role than currently approved",
    PairingReason.SCOPE_UPGRADE: "device is asking for more scopes than currently approved",
    PairingReason.METADATA_UPGRADE: "device identity changed and must be re-approved",
}
_REQUIRED_MESSAGE = {reason: f"pairing required: {text}" for reason, text in _REQUIREMENT.items()}
"""OpenClaw's error message for each pairing reason."""
_REMEDIATION_HINT = {
    PairingReason.NOT_PAIRED: "Approve this device from the pending pairing requests.",
    PairingReason.ROLE_UPGRADE: (
        "Review the requested role upgrade, then approve the pending request."
    ),
    PairingReason.SCOPE_UPGRADE: "Review the requested scopes, then approve the pending upgrade.",
    PairingReason.METADATA_UPGRADE: (
        "Review the refreshed device details, then approve the pending request."
    ),
}
_MODE_TOKEN = AuthMode.TOKEN
_MODE_PASSWORD = AuthMode.PASSWORD
_MODE_PROXY = AuthMode.TRUSTED_PROXY
_MODE_NONE = AuthMode.NONE
_M_TOKEN = AuthMethod.TOKEN
_M_PASSWORD = AuthMethod.PASSWORD
_M_PROXY = AuthMethod.TRUSTED_PROXY
_M_NONE = AuthMethod.NONE
_M_DEVICE_TOKEN = AuthMethod.DEVICE_TOKEN
_M_RUNTIME = AuthMethod.APPROVAL_RUNTIME
# Enum members read once: in Python 3.11 ``Enum.MEMBER`` is a descriptor lookup of about
# 0.1 us, and the device branch reads a dozen of them per connect.
_R_NOT_PAIRED = PairingReason.NOT_PAIRED
_R_ROLE_UPGRADE = PairingReason.ROLE_UPGRADE
_R_SCOPE_UPGRADE = PairingReason.SCOPE_UPGRADE
_R_METADATA_UPGRADE = PairingReason.METADATA_UPGRADE
_O_ACCEPT = Outcome.ACCEPT
_O_SILENT = Outcome.ACCEPT_AFTER_SILENT_PAIRING
_O_PAIRING_REQUIRED = Outcome.PAIRING_REQUIRED
_O_REJECT = Outcome.REJECT
_L_REMOTE = Locality.REMOTE
_L_DIRECT = Locality.DIRECT_LOCAL
_L_CLI_CONTAINER = Locality.CLI_CONTAINER_LOCAL
_L_SHARED_LOOPBACK = Locality.SHARED_SECRET_LOOPBACK_LOCAL


def scopes_cover(role: str, granted: Iterable[str], requested: Iterable[str]) -> bool:
    """
    OpenClaw's ``roleScopesAllow``: do *granted* scopes cover *requested* ones for *role*?

    An empty request is always covered; an empty grant covers nothing else. For role
    ``operator``, ``operator.admin`` covers every ``operator.*`` scope and
    ``operator.write`` covers ``operator.read``; everything else must match exactly.
    """
    wanted = set(requested)
    if not wanted:
        return True
    have = set(granted)
    if not have:
        return False
    operator = role == "operator"
    admin = operator and "operator.admin" in have
    for scope in wanted:
        if scope in have:
            continue
        if admin and scope.startswith("operator."):
            continue
        if operator and scope == "operator.read" and "operator.write" in have:
            continue
        return False
    return True


def effective_roles(paired: PairedDevice) -> frozenset[str]:
    """
    The roles a paired record currently grants.

    With a non-empty ``tokens`` map: the roles of the tokens that are not revoked. With
    no map or an empty one (``tokens: {}``, the legacy shape behind #59882 mechanism B):
    the approved ``roles`` plus the legacy ``role`` (OpenClaw #59092's fallback).
    """
    if paired.tokens:
        return frozenset(t.role for t in paired.tokens if t.revoked_at_ms is None)
    return frozenset(paired.approved_roles)


def _has_effective_role(paired: PairedDevice, role: str) -> bool:
    """``role in effective_roles(paired)`` without building a set."""
    if paired.tokens:
        return any(t.role == role and t.revoked_at_ms is None for t in paired.tokens)
    return role in paired.roles or role == paired.role


def _dedupe(items: tuple[str, ...]) -> tuple[str, ...]:
    if len(items) < 2:  # nothing to drop
        return items
    return tuple(dict.fromkeys(items))


# Derived from the stored record and the request: the same device reconnecting asks the
# same questions, so these small pure helpers are cached on their (hashable) tuples.
@functools.lru_cache(maxsize=4096)
def _covers(role: str, granted: tuple[str, ...], requested: tuple[str, ...]) -> bool:
    return scopes_cover(role, granted, requested)


@functools.lru_cache(maxsize=4096)
def _sorted_unique(items: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(sorted(set(items)))


@functools.lru_cache(maxsize=4096)
def _sorted_union(first: tuple[str, ...], second: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(sorted({*first, *second}))


@functools.lru_cache(maxsize=4096)
def _approved_roles(roles: tuple[str, ...], role: str | None) -> tuple[str, ...]:
    """:attr:`PairedDevice.approved_roles` of a record with these ``roles`` and ``role``."""
    merged = set(roles)
    if role:
        merged.add(role)
    return tuple(sorted(merged))


_PairedFacts = tuple[bytes | None, str, str, tuple[str, ...], tuple[str, ...], tuple[str, ...]]
"""Key bytes, pinned platform, pinned family, baseline scopes, sorted approved scopes, roles."""


@functools.lru_cache(maxsize=4096)
def _paired_facts(  # noqa: PLR0917 (plain positional values are the cache key)
    public_key: str,
    platform: str | None,
    device_family: str | None,
    roles: tuple[str, ...],
    role: str | None,
    scopes: tuple[str, ...],
    approved_scopes: tuple[str, ...] | None,
) -> _PairedFacts:
    """
    What the device branch reads from a stored record, derived once per record content.

    Returns the key bytes the record approved (``None`` if they do not decode), its pinned
    platform and device family (normalized, ``""`` when absent), its baseline scopes
    (:attr:`PairedDevice.baseline_scopes`), those sorted without duplicates, and its
    :attr:`PairedDevice.approved_roles`.
    """
    baseline = scopes if approved_scopes is None else approved_scopes
    return (
        _key_bytes(public_key),
        normalize_device_metadata(platform),
        normalize_device_metadata(device_family),
        baseline,
        _sorted_unique(baseline),
        _approved_roles(roles, role),
    )


def _fits_close_reason(text: str) -> bool:
    """Whether *text* is at most 123 bytes of UTF-8 (ASCII text: one byte a character)."""
    if text.isascii():
        return len(text) <= _CLOSE_REASON_MAX_BYTES
    return len(text.encode("utf-8", "surrogatepass")) <= _CLOSE_REASON_MAX_BYTES


@functools.lru_cache(maxsize=4096)
def _normalized_metadata(platform: str | None, device_family: str | None) -> tuple[str, str]:
    """:func:`normalize_device_metadata` of both, in one cached call."""
    return normalize_device_metadata(platform), normalize_device_metadata(device_family)


def _close_reason(text: str) -> str:
    if text.isascii() and len(text) <= _CLOSE_REASON_MAX_BYTES:
        return text
    data = text.encode("utf-8", "surrogatepass")
    if len(data) <= _CLOSE_REASON_MAX_BYTES:
        return text
    return data[:_CLOSE_REASON_MAX_BYTES].decode("utf-8", "ignore")


def _reject(
    rule: str,
    note: str,
    *,
    message: str,
    details: dict[str, Any],
    error_code: str = "INVALID_REQUEST",
    locality: Locality = Locality.REMOTE,
    auth_method: AuthMethod | None = None,
    role: str | None = None,
) -> PairingDecision:
    return _refuse_unchecked(
        _O_REJECT,
        rule,
        note,
        locality,
        auth_method,
        role,
        None,
        None,
        _CLOSE_POLICY,
        _close_reason(message),
        error_code,
        message,
        details,
    )


def _client_hints(client_id: str, client_mode: str) -> tuple[str, str]:
    """OpenClaw's token and password hints for ``unauthorized: …`` messages."""
    if client_id == "cli" or client_mode == "cli":
        return (
            "set gateway.remote.token to match gateway.auth.token",
            "set gateway.remote.password to match gateway.auth.password",
        )
    if is_browser_ui_client(client_id, client_mode):
        return (
            "open the dashboard URL and paste the token in Control UI settings",
            "enter the password in Control UI settings",
        )
    return ("provide gateway auth token", "provide gateway auth password")


def _origin_check(
    connection: ConnectionFacts, auth: AuthConfig, peer: _net.IPAddress | None
) -> str | None:
    """OpenClaw's ``checkBrowserOrigin``; ``None`` when allowed, else the failure reason."""
    raw = (connection.origin or "").strip()
    scheme, sep, rest = raw.partition("://")
    rest = rest.rstrip("/")
    hostname = _net.host_name(rest) if sep and scheme and "/" not in rest else None
    if raw in {"", "null"} or hostname is None or "@" in rest:
        return "origin missing or invalid"
    trusted = _net.in_networks(peer, _net.parse_networks(auth.trusted_proxies))
    if connection.x_forwarded_host is not None and not trusted:
        return "origin not allowed"
    normalized = f"{scheme.lower()}://{rest.lower()}"
    for allowed in auth.allowed_origins:
        entry = allowed.strip().lower().rstrip("/")
        if entry in {"*", normalized}:
            return None
    direct_loopback = (
        _net.is_loopback(peer)
        and not connection.has_forwarding_headers
        and _net.is_loopback_host(_net.host_name(connection.host))
    )
    if direct_loopback and _net.is_loopback_host(hostname):
        return None
    return "origin not allowed"


_VARIANT = {digit: "89ab"[int(digit, 16) & 3] for digit in "0123456789abcdef"}
"""The UUID variant character for each hex digit (its two low bits pick 8, 9, a or b)."""


def _derive_request_id(device: DeviceProof, role: str, scopes: Sequence[str], now_ms: int) -> str:
    """A UUID-shaped (version 4 layout) id derived from the request: pure and repeatable."""
    # b"%d" is str() for a plain int; anything else keeps the general spelling.
    millis = b"%d" % now_ms if type(now_ms) is int else str(now_ms).encode("utf-8", "surrogatepass")
    h = hashlib.sha256(_request_id_prefix(device.id, role, tuple(scopes)) + millis).hexdigest()
    return f"{h[0:8]}-{h[8:12]}-4{h[13:16]}-{_VARIANT[h[16]]}{h[17:20]}-{h[20:32]}"


@functools.lru_cache(maxsize=4096)
def _request_id_prefix(device_id: str, role: str, scopes: tuple[str, ...]) -> bytes:
    """The bytes of ``device_id|role|sorted,scopes|`` that the request id's hash starts with."""
    return "|".join((device_id, role, ",".join(sorted(scopes)), "")).encode(
        "utf-8", "surrogatepass"
    )


@functools.lru_cache(maxsize=4096)
def _client_ip_text(
    peer_text: str,
    forwarded_for: str | None,
    real_ip: str | None,
    trusted_proxies: tuple[str, ...],
    real_ip_fallback: bool,
) -> str | None:
    """:func:`resolve_client_ip` as text (cached on the strings, not on address objects)."""
    address = _resolve(peer_text, forwarded_for, real_ip, trusted_proxies, real_ip_fallback)
    return None if address is None else str(address)


def _same_key(stored: str, presented: bytes) -> bool:
    return _key_bytes(stored) == presented


def _baseline(paired: PairedDevice) -> tuple[str, ...]:
    """:attr:`PairedDevice.baseline_scopes`, read as plain attributes (no property call)."""
    approved = paired.approved_scopes
    return paired.scopes if approved is None else approved


def decide_pairing(
    *,
    connection: ConnectionFacts,
    auth: AuthConfig,
    request: ConnectRequest,
    paired: PairedDevice | None = None,
    pending: PendingPairing | None = None,
    now_ms: int,
    request_id: str | None = None,
    signature_verifier: SignatureVerifier = ed25519_verify,
) -> PairingDecision:
    """
    Decide what a gateway does with one ``connect`` request.

    Pure and total: no I/O, no clock, no randomness; for any valid input objects it
    returns a :class:`PairingDecision` and never raises. The caller stores
    ``paired_record`` / ``pending_request`` from the decision, mints a device token when
    ``issue_device_token`` is set, and sends ``hello-ok`` or the error and close frame.

    Args:
        connection: Socket facts (peer, headers, the challenge nonce).
        auth: The gateway's auth and pairing configuration.
        request: The ``connect`` parameters that matter for pairing.
        paired: The stored pairing record for ``request.device.id``, if any.
        pending: The stored pending request for that device, if any.
        now_ms: The gateway clock in milliseconds (signature freshness, timestamps).
        request_id: Id for a new pending request; by default one is derived
            deterministically from the device, role, scopes and *now_ms*.
        signature_verifier: The Ed25519 check; tests and benchmarks may inject another.

    Returns:
        The decision (see ``docs/pairing.md`` for the table of rules).
    """
    client_id = request.client_id
    client_mode = request.client_mode
    browser_ui = client_id in BROWSER_UI_CLIENT_IDS or client_mode == "webchat"
    peer = _net.parse_ip(connection.peer_address)

    # 1. Role.
    role = "operator" if request.role is None else request.role
    if role not in KNOWN_ROLES:
        return _reject(
            "invalid-role",
            f"role {request.role!r} is not operator or node",
            message="invalid role",
            details={},
            locality=_locality_of(connection, auth, client_id, client_mode, shared_secret_ok=False),
        )

    # 2. Origin: any client that sent one, and always the Control UI / webchat.
    if connection.origin is not None or browser_ui:
        failure = _origin_check(connection, auth, peer)
        if failure is not None:
            return _reject(
                "origin-not-allowed",
                f"origin check failed: {failure} (origin {connection.origin!r})",
                message=(
                    "origin not allowed (open the Control UI from the gateway host or allow "
                    "it in gateway.controlUi.allowedOrigins)"
                ),
                details={"code": "CONTROL_UI_ORIGIN_NOT_ALLOWED", "reason": failure},
                locality=_locality_of(
                    connection, auth, client_id, client_mode, shared_secret_ok=False
                ),
                role=role,
            )

    # 3. Credentials that must not be combined (#121529).
    if request.approval_runtime_token is not None and request.device is not None:
        return _reject(
            "credentials-conflict",
            "auth.approvalRuntimeToken and device were both sent",
            message="invalid connect params: approval runtime token cannot be combined with device",
            details={},
            locality=_locality_of(connection, auth, client_id, client_mode, shared_secret_ok=False),
            role=role,
        )

    # 4. Auth configuration.
    mode = auth.mode
    if mode is _MODE_TOKEN and not auth.token:
        return _reject(
            "auth-not-configured",
            "auth mode is token but gateway.auth.token is empty",
            message=(
                "unauthorized: gateway token not configured on gateway (set gateway.auth.token)"
            ),
            details={"code": "AUTH_TOKEN_NOT_CONFIGURED"},
            locality=_locality_of(connection, auth, client_id, client_mode, shared_secret_ok=False),
            role=role,
        )
    if mode is _MODE_PASSWORD and not auth.password:
        return _reject(
            "auth-not-configured",
            "auth mode is password but gateway.auth.password is empty",
            message=(
                "unauthorized: gateway password not configured on gateway "
                "(set gateway.auth.password)"
            ),
            details={"code": "AUTH_PASSWORD_NOT_CONFIGURED"},
            locality=_locality_of(connection, auth, client_id, client_mode, shared_secret_ok=False),
            role=role,
        )
    if mode is _MODE_PROXY and (auth.token or auth.password or not auth.trusted_proxies):
        return _reject(
            "trusted-proxy-misconfigured",
            "trusted-proxy auth with a shared secret set, or with no trusted proxies",
            message="unauthorized: trusted-proxy auth is misconfigured (review gateway.auth)",
            details={
                "code": "AUTH_UNAUTHORIZED",
                "recommendedNextStep": "review_auth_configuration",
            },
            locality=_locality_of(connection, auth, client_id, client_mode, shared_secret_ok=False),
            role=role,
        )

    # 5. Shared secret.
    method: AuthMethod | None = None
    if mode is _MODE_TOKEN and request.token is not None:
        if not secrets_equal(request.token, auth.token):
            return _reject(
                "auth-mismatch",
                "auth.token was sent and does not match gateway.auth.token",
                message=(
                    "unauthorized: gateway token mismatch "
                    f"({_client_hints(client_id, client_mode)[0]})"
                ),
                details={
                    "code": "AUTH_TOKEN_MISMATCH",
                    "recommendedNextStep": "retry_with_device_token",
                },
                locality=_locality_of(
                    connection, auth, client_id, client_mode, shared_secret_ok=False
                ),
                role=role,
            )
        method = _M_TOKEN
    elif mode is _MODE_PASSWORD and request.password is not None:
        if not secrets_equal(request.password, auth.password):
            return _reject(
                "auth-mismatch",
                "auth.password was sent and does not match gateway.auth.password",
                message=(
                    "unauthorized: gateway password mismatch "
                    f"({_client_hints(client_id, client_mode)[1]})"
                ),
                details={
                    "code": "AUTH_PASSWORD_MISMATCH",
                    "recommendedNextStep": "update_auth_credentials",
                },
                locality=_locality_of(
                    connection, auth, client_id, client_mode, shared_secret_ok=False
                ),
                role=role,
            )
        method = _M_PASSWORD
    elif mode is _MODE_PROXY:
        if not (
            _net.in_networks(peer, _net.parse_networks(auth.trusted_proxies))
            and (connection.proxy_user or "").strip()
        ):
            return _reject(
                "trusted-proxy-failed",
                "the peer is not a trusted proxy, or it sent no user identity header",
                message="unauthorized: trusted proxy authentication required",
                details={"code": "AUTH_UNAUTHORIZED"},
                locality=_locality_of(
                    connection, auth, client_id, client_mode, shared_secret_ok=False
                ),
                role=role,
            )
        method = _M_PROXY
    elif mode is _MODE_NONE:
        method = _M_NONE
    shared_ok = method is _M_TOKEN or method is _M_PASSWORD or method is _M_PROXY

    # 6. The approval-runtime credential (#87105): a capability, not a name.
    if request.approval_runtime_token is not None:
        if not secrets_equal(request.approval_runtime_token, auth.approval_runtime_token):
            return _reject(
                "approval-runtime-invalid",
                "auth.approvalRuntimeToken does not match this gateway's runtime credential",
                message="unauthorized: approval runtime token mismatch",
                details={"code": "AUTH_UNAUTHORIZED"},
                locality=_locality_of(
                    connection, auth, client_id, client_mode, shared_secret_ok=shared_ok
                ),
                auth_method=method,
                role=role,
            )
        locality = _locality_of(connection, auth, client_id, client_mode, shared_secret_ok=True)
        if locality is _L_REMOTE:
            return _reject(
                "approval-runtime-remote",
                "the approval-runtime credential arrived on a remote connection",
                message="unauthorized: approval runtime token is only accepted locally",
                details={"code": "AUTH_UNAUTHORIZED"},
                locality=locality,
                auth_method=_M_RUNTIME,
                role=role,
            )
        extra = sorted(set(request.scopes) - {APPROVALS_SCOPE})
        if role != "operator" or extra:
            return _reject(
                "approval-runtime-scope",
                f"role {role!r} with scopes beyond operator.approvals: {extra}",
                message=(
                    "unauthorized: approval runtime token scope mismatch "
                    "(it grants operator.approvals only)"
                ),
                details={"code": "AUTH_DEVICE_TOKEN_SCOPE_MISMATCH"},
                locality=locality,
                auth_method=_M_RUNTIME,
                role=role,
            )
        return _decision_unchecked(
            _O_ACCEPT,
            "approval-runtime",
            f"local ({locality.value}) approval runtime",
            locality,
            _M_RUNTIME,
            role,
            _dedupe(request.scopes),
        )

    locality = _locality_of(
        connection,
        auth,
        client_id,
        client_mode,
        shared_secret_ok=method is _M_TOKEN or method is _M_PASSWORD,
    )
    device = request.device

    # 7. No device identity (OpenClaw's evaluateMissingDeviceIdentity).
    if device is None:
        if browser_ui and method is _M_PROXY and role == "operator":
            return _decision_unchecked(
                _O_ACCEPT,
                "control-ui-trusted-proxy",
                "Control UI behind a trusted proxy, no device",
                locality,
                method,
                role,
                _dedupe(request.scopes),
            )
        if browser_ui:
            return _reject(
                "control-ui-device-required",
                "Control UI/webchat connected without a device identity",
                message=(
                    "control ui requires device identity (use HTTPS or localhost secure context)"
                ),
                details={"code": "CONTROL_UI_DEVICE_IDENTITY_REQUIRED"},
                locality=locality,
                auth_method=method,
                role=role,
            )
        if role == "operator" and shared_ok:
            return _decision_unchecked(
                _O_ACCEPT,
                "device-less-shared-secret",
                (
                    f"no device; the {len(request.scopes)} declared scope(s) are cleared "
                    f"whatever the client calls itself ({client_id}/{client_mode})"
                ),
                locality,
                method,
                role,
                (),
                False,  # noqa: FBT003 (issue_device_token)
                (),
                None,
                None,
            )
        return _reject(
            "device-identity-required",
            f"role {role} without a device identity and without a verified shared secret",
            message="device identity required",
            details={"code": "DEVICE_IDENTITY_REQUIRED"},
            error_code="NOT_PAIRED",
            locality=locality,
            auth_method=method,
            role=role,
        )

    # 8. Device proof.
    payload_token = request.token
    if payload_token is None:
        payload_token = request.device_token
        if payload_token is None:
            payload_token = request.bootstrap_token
    # Normalized once: the v3 payload signs them, the metadata rules compare them.
    platform, family = _normalized_metadata(request.platform, request.device_family)
    proof_failure, _version, key = _check_normalized_proof(
        device,
        client_id,
        client_mode,
        role,
        request.scopes,
        payload_token,
        platform,
        family,
        connection.challenge_nonce,
        now_ms,
        signature_verifier,
    )
    if proof_failure is not None:
        return _device_reject(proof_failure, locality, method, role)
    assert key is not None  # _check_normalized_proof returns it when the proof holds
    facts: _PairedFacts | None = None
    if paired is not None and paired.device_id == device.id:
        facts = _paired_facts(
            paired.public_key,
            paired.platform,
            paired.device_family,
            paired.roles,
            paired.role,
            paired.scopes,
            paired.approved_scopes,
        )
        if facts[0] != key:  # same id, another key: not this device's record
            facts = None
    is_paired = facts is not None

    # 9. Device token, then bootstrap token, when no shared secret authenticated.
    if method is None:
        if request.device_token is not None:
            live = None
            if is_paired and paired is not None and paired.tokens:
                live = next(
                    (t for t in paired.tokens if t.role == role and t.revoked_at_ms is None),
                    None,
                )
            if (
                live is None
                or not secrets_equal(request.device_token, live.token)
                or not scopes_cover(role, live.scopes, request.scopes)
            ):
                return _reject(
                    "device-token-mismatch",
                    "auth.deviceToken is unknown, revoked, for another role, or too narrow",
                    message="unauthorized: device token mismatch (rotate/reissue device token)",
                    details={"code": "AUTH_DEVICE_TOKEN_MISMATCH"},
                    locality=locality,
                    role=role,
                )
            method = _M_DEVICE_TOKEN
        elif request.bootstrap_token is not None:
            return _reject(
                "bootstrap-token-unsupported",
                "only a bootstrap token was sent; this library does not verify them",
                message="unauthorized: bootstrap token invalid or expired",
                details={"code": "AUTH_BOOTSTRAP_TOKEN_INVALID"},
                locality=locality,
                role=role,
            )
        else:
            hint = _client_hints(client_id, client_mode)[0 if mode is _MODE_TOKEN else 1]
            what = "token" if mode is _MODE_TOKEN else "password"
            return _reject(
                "auth-missing",
                f"auth mode {mode.value}: no {what} and no device token was sent",
                message=f"unauthorized: gateway {what} missing ({hint})",
                details={"code": f"AUTH_{what.upper()}_MISSING"},
                locality=locality,
                role=role,
            )

    # 10. The device branch.
    if browser_ui and method is _M_PROXY and role == "operator":
        return _decision_unchecked(
            _O_ACCEPT,
            "control-ui-trusted-proxy",
            "Control UI behind a trusted proxy skips device pairing",
            locality,
            method,
            role,
            _dedupe(request.scopes),
        )
    reason: PairingReason | None
    approved_roles: tuple[str, ...] = ()
    approved_scopes: tuple[str, ...] = ()
    if facts is None or paired is None:
        reason = _R_NOT_PAIRED
        paired = None
    else:
        _key, pinned_platform, pinned_family, baseline, approved_scopes, approved_roles = facts
        if (pinned_platform and pinned_platform != platform) or (
            pinned_family and pinned_family != family
        ):
            reason = _R_METADATA_UPGRADE
        elif not (
            _has_effective_role(paired, role) if paired.tokens else role in approved_roles
        ):  # without tokens the effective roles are the approved ones
            reason = _R_ROLE_UPGRADE
        elif request.scopes and not _covers(role, baseline, request.scopes):
            reason = _R_SCOPE_UPGRADE
        else:
            return _decision_unchecked(
                _O_ACCEPT,
                "paired-device",
                f"paired device {device.id[:12]}… covers role {role} and the requested scopes",
                locality,
                method,
                role,
                scopes if len(scopes := request.scopes) < 2 else _dedupe(scopes),
                True,  # noqa: FBT003 (issue_device_token)
                approved_scopes,
                None,
                None,
            )

    silent = None
    if (
        reason is _R_NOT_PAIRED
        and role == "node"
        and not request.scopes
        and auth.auto_approve_cidrs
    ):
        silent = _cidr_node_rule(method, auth, connection, peer, browser_ui)
    if silent is None:
        silent = _local_rule(
            reason,
            role,
            "node" in approved_roles,
            locality,
            method,
            auth.auto_approve_local,
            browser_ui,
            connection.origin is not None,
            client_id,
        )
    silent_rule, note = silent
    requested = scopes if len(scopes := request.scopes) < 2 else _dedupe(scopes)
    if silent_rule.startswith("silent-"):
        new_scopes = _sorted_union(approved_scopes, requested)
        # Every part is a validated input field or derived here; now_ms is the one value
        # straight from the caller, so anything but an int takes the validating path.
        build_record = _paired_device_unchecked if type(now_ms) is int else _paired_device
        record = build_record(
            device.id,
            encode_public_key(key),
            paired.role if paired is not None and paired.role else role,
            _sorted_union(approved_roles, (role,)),
            new_scopes,
            new_scopes,
            paired.tokens if paired is not None else None,
            platform or None,
            family or None,
            client_id,
            client_mode,
            request.display_name,
            paired.created_at_ms if paired is not None else now_ms,
            now_ms,
        )
        return _decision_unchecked(
            _O_SILENT,
            silent_rule,
            note,
            locality,
            method,
            role,
            requested,
            True,  # noqa: FBT003 (issue_device_token)
            new_scopes,
            record,
            reason,
        )

    # A human must approve: write or merge the pending request.
    remote_ip = _client_ip_text(
        connection.peer_address,
        connection.x_forwarded_for,
        connection.x_real_ip,
        auth.trusted_proxies,
        auth.allow_real_ip_fallback,
    )
    new_id: str | None = None
    pending_roles: tuple[str, ...] = (role,)
    pending_scopes = _sorted_unique(requested)
    if (
        pending is not None
        and pending.device_id == device.id
        and _same_key(pending.public_key, key)
        and 0 <= now_ms - pending.ts_ms < PENDING_REQUEST_TTL_MS
    ):
        if pending.role == role and set(pending.scopes) == set(requested):
            new_id = pending.request_id
        pending_roles = _sorted_union(pending.roles, (role, pending.role))
        pending_scopes = _sorted_union(requested, pending.scopes)
    if new_id is None:  # derived only when the pending request's id is not kept
        new_id = request_id or _derive_request_id(device, role, requested, now_ms)
    # As for the record: the request id (when the caller chose it) and now_ms are the
    # values not validated yet, so anything but a str and an int takes the validating path.
    build_pending = (
        _pending_unchecked if type(new_id) is str and type(now_ms) is int else _pending_pairing
    )
    pending_request = build_pending(
        new_id,
        device.id,
        encode_public_key(key),
        reason,
        role,
        pending_roles,
        pending_scopes,
        paired is not None,
        now_ms,
        platform or None,
        family or None,
        client_id,
        client_mode,
        request.display_name,
        remote_ip,
    )
    message = _REQUIRED_MESSAGE[reason]
    close = f"{message} (requestId: {new_id})"
    if not _fits_close_reason(close):
        close = _close_reason(f"pairing required (requestId: {new_id})")
    # else: it fits, and _close_reason would return it unchanged
    details: dict[str, Any] = {
        "code": "PAIRING_REQUIRED",
        "reason": reason._value_,
        "requestId": new_id,
        "remediationHint": _REMEDIATION_HINT[reason],
        "deviceId": device.id,
        "requestedRole": role,
        "requestedScopes": list(requested),
    }
    if paired is not None:
        details["approvedRoles"] = list(approved_roles)
        details["approvedScopes"] = list(approved_scopes)
    return _refuse_unchecked(
        _O_PAIRING_REQUIRED,
        silent_rule,
        note,
        locality,
        method,
        role,
        reason,
        pending_request,
        _CLOSE_POLICY,
        close,
        "NOT_PAIRED",
        message,
        details,
    )


def _paired_device(  # noqa: PLR0917 (the positional shape of _paired_device_unchecked)
    device_id: str,
    public_key: str,
    role: str | None,
    roles: tuple[str, ...],
    scopes: tuple[str, ...],
    approved_scopes: tuple[str, ...] | None,
    tokens: tuple[DeviceTokenRecord, ...] | None,
    platform: str | None,
    device_family: str | None,
    client_id: str | None,
    client_mode: str | None,
    display_name: str | None,
    created_at_ms: int,
    approved_at_ms: int,
) -> PairedDevice:
    """The validating :class:`PairedDevice` constructor, called positionally."""
    return PairedDevice(
        device_id=device_id,
        public_key=public_key,
        role=role,
        roles=roles,
        scopes=scopes,
        approved_scopes=approved_scopes,
        tokens=tokens,
        platform=platform,
        device_family=device_family,
        client_id=client_id,
        client_mode=client_mode,
        display_name=display_name,
        created_at_ms=created_at_ms,
        approved_at_ms=approved_at_ms,
    )


def _pending_pairing(  # noqa: PLR0917 (the positional shape of _pending_unchecked)
    request_id: str,
    device_id: str,
    public_key: str,
    reason: PairingReason,
    role: str,
    roles: tuple[str, ...],
    scopes: tuple[str, ...],
    is_repair: bool,
    ts_ms: int,
    platform: str | None,
    device_family: str | None,
    client_id: str | None,
    client_mode: str | None,
    display_name: str | None,
    remote_ip: str | None,
) -> PendingPairing:
    """The validating :class:`PendingPairing` constructor, called positionally."""
    return PendingPairing(
        request_id=request_id,
        device_id=device_id,
        public_key=public_key,
        reason=reason,
        role=role,
        roles=roles,
        scopes=scopes,
        is_repair=is_repair,
        ts_ms=ts_ms,
        platform=platform,
        device_family=device_family,
        client_id=client_id,
        client_mode=client_mode,
        display_name=display_name,
        remote_ip=remote_ip,
    )


def _device_reject(
    failure: DeviceProofFailure, locality: Locality, method: AuthMethod | None, role: str
) -> PairingDecision:
    return _reject(
        "device-proof-failed",
        f"device proof failed: {failure.reason}",
        message=failure.message,
        details={"code": failure.detail_code, "reason": failure.reason},
        locality=locality,
        auth_method=method,
        role=role,
    )


def _cidr_node_rule(
    method: AuthMethod | None,
    auth: AuthConfig,
    connection: ConnectionFacts,
    peer: _net.IPAddress | None,
    browser_ui: bool,
) -> tuple[str, str] | None:
    """
    The autoApproveCidrs rule, tried first for a fresh ``node`` without scopes.

    ``None`` when it does not apply (then :func:`_local_rule` decides).
    """
    shared_ok = method is _M_TOKEN or method is _M_PASSWORD or method is _M_PROXY
    if (
        shared_ok
        and connection.origin is None
        and not browser_ui
        and not connection.has_forwarding_headers
        and not _net.is_loopback(peer)
        and not _net.in_networks(peer, _net.parse_networks(auth.trusted_proxies))
        and _net.in_networks(peer, _net.parse_networks(auth.auto_approve_cidrs))
    ):
        return "silent-cidr-node-pairing", f"fresh node from {peer} inside autoApproveCidrs"
    return None


@functools.lru_cache(maxsize=4096)
def _local_rule(  # noqa: PLR0917 (plain positional values are the cache key)
    reason: PairingReason,
    role: str,
    was_node: bool,
    locality: Locality,
    method: AuthMethod | None,
    auto_approve_local: bool,
    browser_ui: bool,
    has_origin: bool,
    client_id: str,
) -> tuple[str, str]:
    """
    Return ``(rule id, note)``: ``silent-local-pairing`` or a ``pairing-required-*`` rule.

    *was_node*: the device is paired and ``node`` is among its approved roles. Notes
    format the enums' ``_value_`` (what a ``StrEnum`` formats as). Cached: the answer
    depends on these few values only, and a device reconnecting asks the same question.
    """
    shared_ok = method is _M_TOKEN or method is _M_PASSWORD or method is _M_PROXY
    not_paired = reason is _R_NOT_PAIRED
    if locality is _L_REMOTE:
        return "pairing-required-remote", f"{reason._value_} on a remote connection"
    if not shared_ok:
        method_text = "None" if method is None else method._value_
        return (
            "pairing-required-no-secret",
            (f"{reason._value_} on a {locality._value_} connection authenticated by {method_text}"),
        )
    if not auto_approve_local:
        return "pairing-required-auto-approve-off", f"{reason._value_} with autoApproveLocal off"
    if not not_paired and (role != "operator" or was_node):
        return (
            "pairing-required-node-upgrade",
            f"{reason._value_} of a node device (role {role}); nodes are never upgraded silently",
        )
    if reason is _R_METADATA_UPGRADE:
        native = locality is _L_DIRECT and client_id in NATIVE_APP_CLIENT_IDS
        container = locality is _L_CLI_CONTAINER or locality is _L_SHARED_LOOPBACK
        if browser_ui or has_origin or not (native or container):
            return (
                "pairing-required-metadata",
                f"metadata changed for {client_id} on a {locality._value_} connection",
            )
    assert method is not None  # shared_ok
    return (
        "silent-local-pairing",
        f"{reason._value_} approved silently: {locality._value_}, {method._value_} verified",
    )
