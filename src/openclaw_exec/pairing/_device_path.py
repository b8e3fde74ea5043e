"""
The device path of ``decide_pairing``.

Device proof, device token, the device branch (not paired, metadata, role, scopes),
silent pairing and the pending request.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Sequence
from typing import Any

from openclaw_exec.pairing import _net
from openclaw_exec.pairing._device import (
    SignatureVerifier,
    _check_normalized_proof,
    _key_bytes,
    encode_public_key,
)
from openclaw_exec.pairing._locality import (
    _resolve,
)
from openclaw_exec.pairing._model import (
    _M_DEVICE_TOKEN,
    _M_PROXY,
    _MODE_TOKEN,
    _O_ACCEPT,
    _O_PAIRING_REQUIRED,
    _O_SILENT,
    _R_METADATA_UPGRADE,
    _R_NOT_PAIRED,
    _R_ROLE_UPGRADE,
    _R_SCOPE_UPGRADE,
    AuthConfig,
    AuthMethod,
    ConnectionFacts,
    ConnectRequest,
    DeviceProof,
    Locality,
    PairedDevice,
    PairingDecision,
    PairingReason,
    PendingPairing,
    _decision_unchecked,
    _paired_device_unchecked,
    _pending_unchecked,
    _refuse_unchecked,
)
from openclaw_exec.pairing._refusals import (
    _CLOSE_POLICY,
    _client_hints,
    _close_reason,
    _device_reject,
    _fits_close_reason,
    _reject,
)
from openclaw_exec.pairing._secrets import secrets_equal
from openclaw_exec.pairing._silent import (
    _cidr_node_rule,
    _local_rule,
)
from openclaw_exec.pairing._values import (
    PENDING_REQUEST_TTL_MS,
    _covers,
    _dedupe,
    _has_effective_role,
    _normalized_metadata,
    _paired_device,
    _paired_facts,
    _PairedFacts,
    _pending_pairing,
    _sorted_union,
    _sorted_unique,
    scopes_cover,
)

_REQUIREMENT = {
    PairingReason.NOT_PAIRED: "device is not approved yet",
    PairingReason.ROLE_UPGRADE: "device is asking for a higher role than currently approved",
    PairingReason.SCOPE_UPGRADE: "device is asking for more scopes than currently approved",
    PairingReason.METADATA_UPGRADE: "device identity changed and must be re-approved",
}
_REQUIRED_MESSAGE = {reason: f"pairing required: {text}" for reason, text in _REQUIREMENT.items()}
"""OpenClaw's error message for each pairing reason."""

__all__: list[str] = []  # helpers of decide_pairing; nothing public here


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


def decide_device(
    *,
    connection: ConnectionFacts,
    auth: AuthConfig,
    request: ConnectRequest,
    paired: PairedDevice | None,
    pending: PendingPairing | None,
    now_ms: int,
    request_id: str | None,
    signature_verifier: SignatureVerifier,
    device: DeviceProof,
    role: str,
    method: AuthMethod | None,
    locality: Locality,
    browser_ui: bool,
    peer: _net.IPAddress | None,
) -> PairingDecision:
    """
    Steps 8 to 10 of :func:`decide_pairing`, for a client that presented a device.

    The earlier steps established *role*, the shared-secret *method* (``None``: none
    verified), the connection's *locality*, whether it is a browser UI and its *peer*.
    """
    client_id = request.client_id
    client_mode = request.client_mode
    mode = auth.mode
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
