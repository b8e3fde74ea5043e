"""
``decide_pairing``: the whole handshake admission decision as one pure, total function.

Order of checks (OpenClaw's, see ``docs/pairing.md``): role; origin; credential
exclusivity; auth configuration; shared secret; approval-runtime credential; clients
without a device; device proof; device token; the device branch (not paired, metadata,
role, scopes) and whether a needed pairing is silent.
"""

from __future__ import annotations

from openclaw_exec.pairing import _net
from openclaw_exec.pairing._device import (
    SignatureVerifier,
    ed25519_verify,
)
from openclaw_exec.pairing._device_path import (
    decide_device,
)
from openclaw_exec.pairing._locality import (
    BROWSER_UI_CLIENT_IDS,
    _locality_of,
)
from openclaw_exec.pairing._model import (
    _L_REMOTE,
    _M_NONE,
    _M_PASSWORD,
    _M_PROXY,
    _M_RUNTIME,
    _M_TOKEN,
    _MODE_NONE,
    _MODE_PASSWORD,
    _MODE_PROXY,
    _MODE_TOKEN,
    _O_ACCEPT,
    AuthConfig,
    AuthMethod,
    ConnectionFacts,
    ConnectRequest,
    PairedDevice,
    PairingDecision,
    PendingPairing,
    _decision_unchecked,
)
from openclaw_exec.pairing._refusals import (
    _client_hints,
    _reject,
)
from openclaw_exec.pairing._secrets import secrets_equal
from openclaw_exec.pairing._values import (
    APPROVALS_SCOPE,
    KNOWN_ROLES,
    _dedupe,
)

__all__ = ["decide_pairing"]


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

    # 8.-10. The device path: proof, device token, the device branch, pending request.
    return decide_device(
        connection=connection,
        auth=auth,
        request=request,
        paired=paired,
        pending=pending,
        now_ms=now_ms,
        request_id=request_id,
        signature_verifier=signature_verifier,
        device=device,
        role=role,
        method=method,
        locality=locality,
        browser_ui=browser_ui,
        peer=peer,
    )
