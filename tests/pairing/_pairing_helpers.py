"""Builders shared by the pairing tests (deterministic keys, one clock, one nonce)."""

from __future__ import annotations

from typing import Any

from openclaw_exec.pairing import (
    AuthConfig,
    ConnectionFacts,
    ConnectRequest,
    DeviceIdentity,
    DeviceTokenRecord,
    PairedDevice,
    sign_device_proof,
)

NOW = 1_795_611_406_443  # the challenge ts of the observed 2026.4.1 handshake
NONCE = "3932feb9-645e-4cc1-ac1f-34725b321e9a"
TOKEN = "gateway-shared-token"
PASSWORD = "gateway-password"
RUNTIME = "approval-runtime-credential"
HOST_ID = DeviceIdentity.from_private_bytes(bytes(range(32)))
OTHER_ID = DeviceIdentity.from_private_bytes(bytes(range(100, 132)))
ALL_CLI_SCOPES = (
    "operator.admin",
    "operator.read",
    "operator.write",
    "operator.approvals",
    "operator.pairing",
)


def conn(
    peer: str = "127.0.0.1", host: str | None = "127.0.0.1:18789", **kw: Any
) -> ConnectionFacts:
    return ConnectionFacts(peer_address=peer, host=host, challenge_nonce=NONCE, **kw)


def gw(mode: str = "token", **kw: Any) -> AuthConfig:
    if mode == "token":
        kw.setdefault("token", TOKEN)
    if mode == "password":
        kw.setdefault("password", PASSWORD)
    kw.setdefault("approval_runtime_token", RUNTIME)
    return AuthConfig(mode=mode, **kw)


def req(
    client: tuple[str, str] = ("gateway-client", "backend"),
    *,
    scopes: tuple[str, ...] = ("operator.approvals",),
    role: str | None = None,
    token: str | None = TOKEN,
    identity: DeviceIdentity | None = HOST_ID,
    platform: str | None = "linux",
    device_family: str | None = None,
    signed_at: int = NOW,
    nonce: str = NONCE,
    sign_as: DeviceIdentity | None = None,
    sign_role: str | None = None,
    version: int = 3,
    device_overrides: dict[str, Any] | None = None,
    **kw: Any,
) -> ConnectRequest:
    """A connect request; the device proof is signed over exactly these fields."""
    device = None
    if identity is not None:
        payload_token = next(
            (
                t
                for t in (token, kw.get("device_token"), kw.get("bootstrap_token"))
                if t is not None
            ),
            None,
        )
        signer = sign_as or identity
        proof = sign_device_proof(
            signer,
            client_id=client[0],
            client_mode=client[1],
            role=sign_role or role or "operator",
            scopes=scopes,
            signed_at_ms=signed_at,
            nonce=nonce,
            token=payload_token,
            platform=platform,
            device_family=device_family,
            version=version,
        )
        fields: dict[str, Any] = {
            "id": identity.device_id,
            "public_key": identity.public_key,
            "signature": proof.signature,
            "signed_at_ms": proof.signed_at_ms,
            "nonce": proof.nonce,
        }
        fields.update(device_overrides or {})
        device = type(proof)(**fields)
    return ConnectRequest(
        client_id=client[0],
        client_mode=client[1],
        role=role,
        scopes=scopes,
        token=token,
        platform=platform,
        device_family=device_family,
        device=device,
        **kw,
    )


def rec(
    scopes: tuple[str, ...] | None = ("operator.read",),
    *,
    roles: tuple[str, ...] = ("operator",),
    identity: DeviceIdentity = HOST_ID,
    public_key: str | None = None,
    tokens: tuple[DeviceTokenRecord, ...] | None = None,
    platform: str | None = "linux",
    **kw: Any,
) -> PairedDevice:
    return PairedDevice(
        device_id=identity.device_id,
        public_key=public_key or identity.public_key,
        roles=roles,
        scopes=scopes or (),
        approved_scopes=scopes,
        tokens=tokens,
        platform=platform,
        client_id="gateway-client",
        client_mode="backend",
        created_at_ms=NOW - 86_400_000,
        approved_at_ms=NOW - 86_400_000,
        **kw,
    )


def tok(role: str = "operator", token: str = "device-token-1", **kw: Any) -> DeviceTokenRecord:
    kw.setdefault("scopes", ("operator.read",))
    return DeviceTokenRecord(role=role, token=token, created_at_ms=NOW - 1000, **kw)
