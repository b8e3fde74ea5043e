"""
Device identity and proof: Ed25519 over OpenClaw's v3 (or v2) connect payload.

Server side: :func:`verify_device_proof` runs OpenClaw's checks in OpenClaw's order
(``connect-device-proof.ts``). Client side: :func:`generate_device_identity`,
:func:`build_device_auth_payload` and :func:`sign_device_proof` produce exactly what a
2026.4.1 or 2026.9.6 gateway verifies.

Pure: no I/O, no clock (``now_ms`` and ``signed_at_ms`` are arguments). Generating a
key pair reads the operating system's random source and nothing else.
"""

from __future__ import annotations

import base64
import binascii
import enum
import functools
import hashlib
from collections.abc import Sequence
from typing import Protocol

import attrs
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from openclaw_exec.exceptions import PairingError
from openclaw_exec.pairing._model import DeviceProof

__all__ = [
    "DEVICE_SIGNATURE_SKEW_MS",
    "DeviceIdentity",
    "DeviceProofFailure",
    "SignatureVerifier",
    "build_device_auth_payload",
    "decode_public_key",
    "device_id_from_public_key",
    "ed25519_verify",
    "encode_public_key",
    "generate_device_identity",
    "normalize_device_metadata",
    "sign_device_proof",
    "verify_device_proof",
]

DEVICE_SIGNATURE_SKEW_MS = 120_000
"""How far ``device.signedAt`` may be from the gateway clock (OpenClaw: 2 minutes)."""


class SignatureVerifier(Protocol):
    """
    A signature check: ``(raw_public_key, signature, message) -> bool``.

    :func:`ed25519_verify` is the default; tests and benchmarks may inject another. It
    must return ``False`` (never raise) for anything that does not verify.
    """

    def __call__(self, public_key: bytes, signature: bytes, message: bytes, /) -> bool:
        """Return whether *signature* is valid for *message* under *public_key*."""
        ...


_SIGNATURE_CHARS = 86  # 64 bytes in base64url without padding

_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


class DeviceProofFailure(enum.Enum):
    """
    Why a device proof failed, in OpenClaw's check order.

    Each value is ``(details.reason, error message = close reason, details.code)``.
    """

    DEVICE_ID_MISMATCH = (
        "device-id-mismatch",
        "device identity mismatch",
        "DEVICE_AUTH_DEVICE_ID_MISMATCH",
    )
    SIGNATURE_STALE = (
        "device-signature-stale",
        "device signature expired",
        "DEVICE_AUTH_SIGNATURE_EXPIRED",
    )
    NONCE_MISSING = ("device-nonce-missing", "device nonce required", "DEVICE_AUTH_NONCE_REQUIRED")
    NONCE_MISMATCH = (
        "device-nonce-mismatch",
        "device nonce mismatch",
        "DEVICE_AUTH_NONCE_MISMATCH",
    )
    SIGNATURE_INVALID = (
        "device-signature",
        "device signature invalid",
        "DEVICE_AUTH_SIGNATURE_INVALID",
    )
    PUBLIC_KEY_INVALID = (
        "device-public-key",
        "device public key invalid",
        "DEVICE_AUTH_PUBLIC_KEY_INVALID",
    )

    @property
    def reason(self) -> str:
        """OpenClaw's ``details.reason``."""
        return self.value[0]

    @property
    def message(self) -> str:
        """OpenClaw's error message, also the close reason."""
        return self.value[1]

    @property
    def detail_code(self) -> str:
        """OpenClaw's ``details.code``."""
        return self.value[2]


def _b64decode(text: str) -> bytes | None:
    """Decode base64url or base64, with or without padding; ``None`` if it is neither."""
    if len(text) == _SIGNATURE_CHARS:
        # An Ed25519 signature as OpenClaw sends it (base64url, unpadded): one try without
        # the general path's checks. Anything it rejects (spaces, non-ASCII, a wrong
        # character) goes the general way and gets the same answer as before.
        try:
            return binascii.a2b_base64(
                text.replace("-", "+").replace("_", "/") + "==", strict_mode=True
            )
        except (binascii.Error, ValueError):
            pass
    cleaned = text.strip().replace("-", "+").replace("_", "/")
    if not cleaned or not cleaned.isascii():
        return None
    cleaned += "=" * (-len(cleaned) % 4)
    try:
        return binascii.a2b_base64(cleaned, strict_mode=True)
    except (binascii.Error, ValueError):
        return None


@functools.lru_cache(maxsize=4096)
def encode_public_key(raw: bytes) -> str:
    """
    Encode a raw Ed25519 public key the way OpenClaw sends it: base64url, no padding.

    Raises:
        PairingError: If *raw* is not 32 bytes.
    """
    if len(raw) != 32:
        raise PairingError(f"an Ed25519 public key has 32 bytes, not {len(raw)}")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


@functools.lru_cache(maxsize=4096)
def _key_bytes(public_key: str) -> bytes | None:
    """The key bytes OpenClaw hashes: raw bytes of base64(url), or the SPKI key's raw bytes."""
    text = public_key.strip()
    if "BEGIN PUBLIC KEY" in text:
        try:
            loaded = serialization.load_pem_public_key(text.encode("ascii", "replace"))
        except (ValueError, TypeError):
            return None
        if not isinstance(loaded, Ed25519PublicKey):
            return None
        return loaded.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return _b64decode(text)


def decode_public_key(public_key: str) -> bytes:
    """
    Decode a device public key (base64url raw, base64 raw, or PEM SPKI) to its 32 raw bytes.

    Raises:
        PairingError: If it is none of those, or not an Ed25519 key.
    """
    raw = _key_bytes(public_key)
    if raw is None or len(raw) != 32:
        raise PairingError("device public key invalid: expected base64url of 32 raw bytes or PEM")
    return raw


def device_id_from_public_key(public_key: str | bytes) -> str:
    """
    The device id OpenClaw derives: lower-case hex SHA-256 of the raw public key.

    Args:
        public_key: Raw key bytes, or the key as sent (base64url raw, base64, PEM).

    Raises:
        PairingError: If a string key cannot be decoded.
    """
    raw = public_key if isinstance(public_key, bytes) else decode_public_key(public_key)
    return hashlib.sha256(raw).hexdigest()


@functools.lru_cache(maxsize=4096)
def _fingerprint(key: bytes) -> str:
    return hashlib.sha256(key).hexdigest()


@functools.lru_cache(maxsize=4096)
def normalize_device_metadata(value: str | None) -> str:
    """Trim and ASCII-lower-case ``platform`` / ``deviceFamily``; absent becomes ``""``."""
    if value is None:
        return ""
    return value.strip().translate(_ASCII_LOWER)


def build_device_auth_payload(
    *,
    version: int,
    device_id: str,
    client_id: str,
    client_mode: str,
    role: str,
    scopes: Sequence[str],
    signed_at_ms: int,
    token: str | None,
    nonce: str,
    platform: str | None = None,
    device_family: str | None = None,
) -> str:
    """
    Build the ``|``-joined string a device signs (OpenClaw ``buildDeviceAuthPayload``).

    v3: ``v3|deviceId|clientId|clientMode|role|scopes|signedAtMs|token|nonce|platform|family``;
    v2 stops after ``nonce``. Scopes are joined with ``,`` in the order sent; ``token``
    is ``auth.token``, else ``auth.deviceToken``, else ``auth.bootstrapToken``, else
    empty; v3 platform and family are trimmed and ASCII-lower-cased.

    Raises:
        PairingError: For a version other than 2 or 3.
    """
    if version not in (2, 3):
        raise PairingError(f"device auth payload version must be 2 or 3, not {version!r}")
    head = _payload_head(
        device_id, client_id, client_mode, role, scopes, signed_at_ms, token, nonce
    )
    if version == 2:
        return f"v2|{head}"
    platform_part = normalize_device_metadata(platform)
    family_part = normalize_device_metadata(device_family)
    return f"v3|{head}|{platform_part}|{family_part}"


def _payload_head(  # noqa: PLR0917 (internal, positional: called on every connect)
    device_id: str,
    client_id: str,
    client_mode: str,
    role: str,
    scopes: Sequence[str],
    signed_at_ms: int,
    token: str | None,
    nonce: str,
) -> str:
    """The fields v2 and v3 share, ``|``-joined (the one definition of that layout)."""
    return "|".join(
        (
            device_id,
            client_id,
            client_mode,
            role,
            ",".join(scopes),
            str(signed_at_ms),
            token or "",
            nonce,
        )
    )


def ed25519_verify(public_key: bytes, signature: bytes, message: bytes) -> bool:
    """Verify an Ed25519 signature with ``cryptography``; any failure is ``False``."""
    try:
        Ed25519PublicKey.from_public_bytes(public_key).verify(signature, message)
    except (InvalidSignature, ValueError, TypeError):
        return False
    return True


def _utf8(text: str) -> bytes:
    return text.encode("utf-8", "surrogatepass")


def verify_device_proof(
    proof: DeviceProof,
    *,
    client_id: str,
    client_mode: str,
    role: str,
    scopes: Sequence[str],
    token: str | None,
    platform: str | None,
    device_family: str | None,
    challenge_nonce: str,
    now_ms: int,
    verifier: SignatureVerifier = ed25519_verify,
) -> tuple[DeviceProofFailure | None, int | None]:
    """
    Check a device proof the way OpenClaw does, in OpenClaw's order.

    Order: id equals the key's fingerprint; ``|now - signedAt| <= 120 s``; nonce present;
    nonce equals the challenge; v3 then v2 signature verifies; key is 32 raw bytes.

    Args:
        proof: The ``device`` object.
        client_id: ``client.id``.
        client_mode: ``client.mode``.
        role: The effective role (default ``operator``).
        scopes: The requested scopes in the order sent.
        token: The payload token (``auth.token`` / ``deviceToken`` / ``bootstrapToken``).
        platform: ``client.platform``.
        device_family: ``client.deviceFamily``.
        challenge_nonce: The nonce the gateway issued.
        now_ms: The gateway clock, in milliseconds.
        verifier: The signature check (default :func:`ed25519_verify`).

    Returns:
        ``(None, 3 or 2)`` when the proof holds (with the payload version that verified),
        else ``(failure, None)``. Never raises.
    """
    failure, version, _key = _check_normalized_proof(
        proof,
        client_id,
        client_mode,
        role,
        scopes,
        token,
        normalize_device_metadata(platform),
        normalize_device_metadata(device_family),
        challenge_nonce,
        now_ms,
        verifier,
    )
    return failure, version


@functools.lru_cache(maxsize=4096)
def _key_and_id(public_key: str) -> tuple[bytes | None, str | None]:
    """The key bytes of :func:`_key_bytes` and their fingerprint (the device id), or Nones."""
    key = _key_bytes(public_key)
    return key, (None if key is None else _fingerprint(key))


_STALE = DeviceProofFailure.SIGNATURE_STALE
_ID_MISMATCH = DeviceProofFailure.DEVICE_ID_MISMATCH


def _check_normalized_proof(  # noqa: PLR0917 (internal, positional for speed)
    proof: DeviceProof,
    client_id: str,
    client_mode: str,
    role: str,
    scopes: Sequence[str],
    token: str | None,
    platform: str,
    device_family: str,
    challenge_nonce: str,
    now_ms: int,
    verifier: SignatureVerifier,
) -> tuple[DeviceProofFailure | None, int | None, bytes | None]:
    """
    :func:`verify_device_proof` for already-normalized metadata; also returns the key.

    ``decide_pairing`` normalizes *platform* and *device_family* once for the payload and
    the metadata rules, and needs the decoded key when the proof holds.
    """
    key, fingerprint = _key_and_id(proof.public_key)
    if key is None or fingerprint != proof.id:
        return _ID_MISMATCH, None, None
    signed_at_ms = proof.signed_at_ms
    if abs(now_ms - signed_at_ms) > DEVICE_SIGNATURE_SKEW_MS:
        return _STALE, None, None
    nonce = proof.nonce.strip()
    if not nonce:
        return DeviceProofFailure.NONCE_MISSING, None, None
    if nonce != challenge_nonce:
        return DeviceProofFailure.NONCE_MISMATCH, None, None
    signature = _b64decode(proof.signature) or b""  # undecodable: the verifier says no
    # build_device_auth_payload's v3 string from the same head (the v2 one only when v3
    # does not verify); platform and family arrive normalized.
    head = _payload_head(proof.id, client_id, client_mode, role, scopes, signed_at_ms, token, nonce)
    v3 = f"v3|{head}|{platform}|{device_family}"
    if verifier(key, signature, v3.encode("utf-8", "surrogatepass")):
        version = 3
    elif verifier(key, signature, f"v2|{head}".encode("utf-8", "surrogatepass")):
        version = 2
    else:
        return DeviceProofFailure.SIGNATURE_INVALID, None, None
    if len(key) != 32:
        return DeviceProofFailure.PUBLIC_KEY_INVALID, None, None
    return None, version, key


@attrs.frozen(kw_only=True)
class DeviceIdentity:
    """
    A client's device key pair and the id derived from it.

    Attributes:
        device_id: Lower-case hex SHA-256 of the raw public key.
        public_key: The public key as sent on the wire (base64url raw, no padding).
        private_key_bytes: The raw 32-byte Ed25519 private key (never printed).
    """

    device_id: str
    public_key: str
    private_key_bytes: bytes = attrs.field(repr=False)

    @classmethod
    def from_private_bytes(cls, private_key_bytes: bytes) -> DeviceIdentity:
        """
        Rebuild an identity from a raw 32-byte private key.

        Raises:
            PairingError: If the bytes are not a valid Ed25519 private key.
        """
        try:
            private = Ed25519PrivateKey.from_private_bytes(private_key_bytes)
        except (ValueError, TypeError) as exc:
            raise PairingError(f"invalid Ed25519 private key: {exc}") from None
        raw = private.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )
        return cls(
            device_id=device_id_from_public_key(raw),
            public_key=encode_public_key(raw),
            private_key_bytes=private_key_bytes,
        )

    @classmethod
    def from_private_key_pem(cls, pem: str | bytes) -> DeviceIdentity:
        """
        Rebuild an identity from a PKCS#8 PEM (``privateKeyPem`` of ``identity/device.json``).

        Raises:
            PairingError: If the PEM is not an unencrypted Ed25519 private key.
        """
        data = pem.encode("ascii", "replace") if isinstance(pem, str) else pem
        try:
            private = serialization.load_pem_private_key(data, password=None)
        except (ValueError, TypeError) as exc:
            raise PairingError(f"invalid private key PEM: {exc}") from None
        if not isinstance(private, Ed25519PrivateKey):
            raise PairingError("invalid private key PEM: not an Ed25519 key")
        return cls.from_private_bytes(
            private.private_bytes(
                serialization.Encoding.Raw,
                serialization.PrivateFormat.Raw,
                serialization.NoEncryption(),
            )
        )

    def private_key_pem(self) -> str:
        """The private key as PKCS#8 PEM (OpenClaw's ``privateKeyPem``)."""
        private = Ed25519PrivateKey.from_private_bytes(self.private_key_bytes)
        return private.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).decode("ascii")

    def public_key_pem(self) -> str:
        """The public key as SPKI PEM (OpenClaw's ``publicKeyPem``)."""
        private = Ed25519PrivateKey.from_private_bytes(self.private_key_bytes)
        return (
            private.public_key()
            .public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
            .decode("ascii")
        )

    def sign(self, message: str | bytes) -> str:
        """Sign *message* (UTF-8 if a string); the signature as base64url, no padding."""
        data = _utf8(message) if isinstance(message, str) else message
        signature = Ed25519PrivateKey.from_private_bytes(self.private_key_bytes).sign(data)
        return base64.urlsafe_b64encode(signature).rstrip(b"=").decode("ascii")


def generate_device_identity() -> DeviceIdentity:
    """Generate a fresh Ed25519 device identity (reads the OS random source)."""
    private = Ed25519PrivateKey.generate()
    return DeviceIdentity.from_private_bytes(
        private.private_bytes(
            serialization.Encoding.Raw,
            serialization.PrivateFormat.Raw,
            serialization.NoEncryption(),
        )
    )


def sign_device_proof(
    identity: DeviceIdentity,
    *,
    client_id: str,
    client_mode: str,
    role: str = "operator",
    scopes: Sequence[str] = (),
    signed_at_ms: int,
    nonce: str,
    token: str | None = None,
    platform: str | None = None,
    device_family: str | None = None,
    version: int = 3,
) -> DeviceProof:
    """
    Build the ``device`` object of a ``connect`` request (client side).

    Sign with the challenge's ``ts`` as *signed_at_ms* and its ``nonce``; pass the same
    ``token`` (``auth.token``, else ``deviceToken``, else ``bootstrapToken``), role,
    scopes (same order), platform and family the request carries.

    Raises:
        PairingError: For a payload version other than 2 or 3.
    """
    payload = build_device_auth_payload(
        version=version,
        device_id=identity.device_id,
        client_id=client_id,
        client_mode=client_mode,
        role=role,
        scopes=scopes,
        signed_at_ms=signed_at_ms,
        token=token,
        nonce=nonce,
        platform=platform,
        device_family=device_family,
    )
    return DeviceProof(
        id=identity.device_id,
        public_key=identity.public_key,
        signature=identity.sign(payload),
        signed_at_ms=signed_at_ms,
        nonce=nonce,
    )
