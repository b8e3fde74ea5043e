"""Device proof: OpenClaw's v3/v2 payloads, key encoding, and every failure branch."""

from __future__ import annotations

import base64
import hashlib
import hmac
from typing import Any

import attrs
import pytest
from _pairing_helpers import HOST_ID, NONCE, NOW, OTHER_ID
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from hypothesis import given
from hypothesis import strategies as st

from openclaw_exec.exceptions import PairingError
from openclaw_exec.pairing import (
    DeviceIdentity,
    DeviceProof,
    DeviceProofFailure,
    build_device_auth_payload,
    decode_public_key,
    derive_approval_runtime_token,
    device_id_from_public_key,
    encode_public_key,
    generate_device_identity,
    secrets_equal,
    sign_device_proof,
    verify_device_proof,
)

CTX: dict[str, Any] = {
    "client_id": "gateway-client",
    "client_mode": "backend",
    "role": "operator",
    "scopes": ("operator.read", "operator.approvals"),
    "token": "tok",
    "platform": "Linux ",
    "device_family": None,
}


def proof(identity: DeviceIdentity = HOST_ID, **kw: object) -> DeviceProof:
    args = {**CTX, "signed_at_ms": NOW, "nonce": NONCE}
    args.update(kw)
    return sign_device_proof(identity, **args)


def verify(p: DeviceProof, **kw: object) -> tuple[DeviceProofFailure | None, int | None]:
    args = {**CTX, "challenge_nonce": NONCE, "now_ms": NOW}
    args.update(kw)
    return verify_device_proof(p, **args)


def test_v3_payload_layout_is_openclaws() -> None:
    payload = build_device_auth_payload(
        version=3,
        device_id="dev",
        client_id="cli",
        client_mode="cli",
        role="operator",
        scopes=["operator.write", "operator.read"],
        signed_at_ms=1795611406443,
        token=None,
        nonce="n",
        platform="  MacOS ",
        device_family="iPhÖne",
    )
    # Scopes keep their order; platform/family trimmed and ASCII-lower-cased only.
    assert (
        payload
        == "v3|dev|cli|cli|operator|operator.write,operator.read|1795611406443||n|macos|iphÖne"
    )


def test_v2_payload_layout_is_openclaws() -> None:
    payload = build_device_auth_payload(
        version=2,
        device_id="dev",
        client_id="test",
        client_mode="test",
        role="node",
        scopes=[],
        signed_at_ms=5,
        token="t",
        nonce="n",
        platform="linux",
    )
    assert payload == "v2|dev|test|test|node||5|t|n"


def test_payload_version_must_be_2_or_3() -> None:
    with pytest.raises(PairingError, match="2 or 3"):
        build_device_auth_payload(
            version=4,
            device_id="d",
            client_id="c",
            client_mode="m",
            role="operator",
            scopes=(),
            signed_at_ms=0,
            token=None,
            nonce="n",
        )


def test_valid_v3() -> None:
    assert verify(proof()) == (None, 3)


def test_valid_v2() -> None:
    assert verify(proof(version=2)) == (None, 2)


def test_signature_verifies_with_plain_cryptography() -> None:
    p = proof()
    payload = build_device_auth_payload(
        version=3,
        device_id=p.id,
        signed_at_ms=NOW,
        nonce=NONCE,
        **CTX,
    )
    key = Ed25519PublicKey.from_public_bytes(decode_public_key(p.public_key))
    sig = base64.urlsafe_b64decode(p.signature + "=" * (-len(p.signature) % 4))
    key.verify(sig, payload.encode())  # raises if wrong


def test_wrong_nonce() -> None:
    assert verify(proof(nonce="other")) == (DeviceProofFailure.NONCE_MISMATCH, None)


def test_nonce_is_trimmed_then_compared() -> None:
    p = proof(nonce=f" {NONCE} ")
    # The client signed the untrimmed nonce, the server signs over the trimmed one.
    assert verify(p)[0] is DeviceProofFailure.SIGNATURE_INVALID
    assert verify(attrs.evolve(p, nonce=" ")) == (DeviceProofFailure.NONCE_MISSING, None)


@pytest.mark.parametrize(
    ("skew", "expected"),
    [(120_000, None), (-120_000, None), (120_001, "stale"), (-120_001, "stale")],
)
def test_signed_at_window(skew: int, expected: str | None) -> None:
    failure, _ = verify(proof(signed_at_ms=NOW + skew))
    if expected is None:
        assert failure is None
    else:
        assert failure is DeviceProofFailure.SIGNATURE_STALE


def test_wrong_key_for_claimed_id() -> None:
    p = attrs.evolve(proof(), public_key=OTHER_ID.public_key)
    assert verify(p) == (DeviceProofFailure.DEVICE_ID_MISMATCH, None)


def test_signed_by_another_key() -> None:
    p = attrs.evolve(proof(OTHER_ID), id=HOST_ID.device_id, public_key=HOST_ID.public_key)
    assert verify(p) == (DeviceProofFailure.SIGNATURE_INVALID, None)


@pytest.mark.parametrize(
    "tamper",
    [
        {"client_id": "cli"},
        {"client_mode": "cli"},
        {"role": "node"},
        {"scopes": ("operator.approvals", "operator.read")},
        {"scopes": ("operator.read", "operator.approvals", "operator.admin")},
        {"token": "other"},
        {"token": None},
        {"platform": "darwin"},
        {"device_family": "iphone"},
    ],
)
def test_tampered_payload_fields(tamper: dict[str, object]) -> None:
    assert verify(proof(), **tamper) == (DeviceProofFailure.SIGNATURE_INVALID, None)


def test_platform_case_does_not_matter_in_v3() -> None:
    assert verify(proof(), platform="  LINUX")[0] is None


def test_garbage_signature() -> None:
    assert verify(attrs.evolve(proof(), signature="!!!"))[0] is DeviceProofFailure.SIGNATURE_INVALID


def test_plain_base64_signature_accepted() -> None:
    p = proof()
    raw = base64.urlsafe_b64decode(p.signature + "==")
    assert verify(attrs.evolve(p, signature=base64.b64encode(raw).decode()))[0] is None


def test_pem_public_key_accepted() -> None:
    p = attrs.evolve(proof(), public_key=HOST_ID.public_key_pem())
    assert verify(p) == (None, 3)


def test_undecodable_key_is_an_id_mismatch_like_openclaw() -> None:
    p = attrs.evolve(proof(), public_key="not base64 ***")
    assert verify(p)[0] is DeviceProofFailure.DEVICE_ID_MISMATCH


def test_short_key_whose_hash_matches_is_public_key_invalid() -> None:
    p = attrs.evolve(proof(), public_key="AAAA", id=hashlib.sha256(b"\0\0\0").hexdigest())
    failure, _ = verify_device_proof(
        p,
        **CTX,
        challenge_nonce=NONCE,
        now_ms=NOW,
        verifier=lambda *_: True,
    )
    assert failure is DeviceProofFailure.PUBLIC_KEY_INVALID


def test_failure_values_are_openclaws() -> None:
    assert [(f.reason, f.message, f.detail_code) for f in DeviceProofFailure] == [
        ("device-id-mismatch", "device identity mismatch", "DEVICE_AUTH_DEVICE_ID_MISMATCH"),
        ("device-signature-stale", "device signature expired", "DEVICE_AUTH_SIGNATURE_EXPIRED"),
        ("device-nonce-missing", "device nonce required", "DEVICE_AUTH_NONCE_REQUIRED"),
        ("device-nonce-mismatch", "device nonce mismatch", "DEVICE_AUTH_NONCE_MISMATCH"),
        ("device-signature", "device signature invalid", "DEVICE_AUTH_SIGNATURE_INVALID"),
        ("device-public-key", "device public key invalid", "DEVICE_AUTH_PUBLIC_KEY_INVALID"),
    ]


def test_observed_openclaw_key_and_id() -> None:
    """The key/id pair from the real 2026.4.1 handshake in gateway-interop.md §2.1."""
    key = "QaB-gYOOzN5Q4li8DQ9A1ttnThJpdHLyxZMqu71NHFw"
    assert device_id_from_public_key(key) == (
        "da520e122fb757bfc75118f4140fcffc98167b26883ff24392d5cb894530eb01"
    )
    assert encode_public_key(decode_public_key(key)) == key


def test_identity_generation_and_pem_round_trip() -> None:
    identity = generate_device_identity()
    assert len(identity.device_id) == 64
    assert identity.device_id == hashlib.sha256(decode_public_key(identity.public_key)).hexdigest()
    assert "=" not in identity.public_key
    assert DeviceIdentity.from_private_key_pem(identity.private_key_pem()) == identity
    assert device_id_from_public_key(identity.public_key_pem()) == identity.device_id
    assert "private_key_bytes" not in repr(identity)
    assert generate_device_identity() != identity


@pytest.mark.parametrize("bad", [b"", b"x" * 31, b"x" * 33])
def test_bad_private_key_bytes(bad: bytes) -> None:
    with pytest.raises(PairingError):
        DeviceIdentity.from_private_bytes(bad)


def test_bad_public_keys() -> None:
    with pytest.raises(PairingError, match="32 bytes"):
        encode_public_key(b"short")
    with pytest.raises(PairingError, match="public key invalid"):
        decode_public_key("AAAA")
    with pytest.raises(PairingError):
        DeviceIdentity.from_private_key_pem("-----BEGIN PRIVATE KEY-----\nnope\n")


def test_secrets_equal() -> None:
    assert secrets_equal("abc", "abc")
    assert secrets_equal(b"abc", "abc")
    assert not secrets_equal("abc", "abd")
    assert not secrets_equal("abc", "abcd")
    assert not secrets_equal("", "")
    assert not secrets_equal(None, "abc")
    assert not secrets_equal("abc", None)
    assert secrets_equal("\ud800", "\ud800")  # odd JSON strings never raise


def test_approval_runtime_token_derivation() -> None:
    a = derive_approval_runtime_token("socket-token")
    mac = hmac.new(b"socket-token", b"openclaw-exec/approval-runtime/v1", hashlib.sha256)
    assert a == base64.urlsafe_b64encode(mac.digest()).decode().rstrip("=")
    assert a == derive_approval_runtime_token(b"socket-token")
    assert a != derive_approval_runtime_token("socket-token2")
    assert a != derive_approval_runtime_token("socket-token", context="other")
    assert len(a) == 43
    assert "=" not in a
    assert "socket-token" not in a
    with pytest.raises(PairingError, match="empty"):
        derive_approval_runtime_token("  ")


_TEXT = st.text(max_size=12)


@given(
    client_id=_TEXT,
    client_mode=_TEXT,
    role=_TEXT,
    scopes=st.lists(_TEXT, max_size=3).map(tuple),
    token=st.none() | _TEXT,
    platform=st.none() | _TEXT,
    device_family=st.none() | _TEXT,
)
def test_verifier_sees_exactly_the_built_v3_then_v2_payloads(**ctx: Any) -> None:
    """The messages handed to the verifier are build_device_auth_payload's, v3 then v2."""
    seen: list[bytes] = []

    def never(_key: bytes, _sig: bytes, message: bytes) -> bool:
        seen.append(message)
        return False

    p = proof()
    failure, version = verify_device_proof(
        p, challenge_nonce=NONCE, now_ms=NOW, verifier=never, **ctx
    )
    assert (failure, version) == (DeviceProofFailure.SIGNATURE_INVALID, None)
    common = {"device_id": p.id, "signed_at_ms": NOW, "nonce": NONCE, **ctx}
    assert seen == [
        build_device_auth_payload(version=v, **common).encode("utf-8", "surrogatepass")
        for v in (3, 2)
    ]


_SECRET = st.sampled_from(["", "tok", "tok2", "tök", "\ud800"]) | st.text(max_size=6)


@given(presented=_SECRET, expected=_SECRET, as_bytes=st.booleans())
def test_secrets_equal_is_equality_of_utf8_bytes(
    presented: str, expected: str, *, as_bytes: bool
) -> None:
    """ASCII or not, str or bytes: equal exactly when the non-empty UTF-8 bytes are equal."""
    a = presented.encode("utf-8", "surrogatepass")
    b = expected.encode("utf-8", "surrogatepass")
    assert secrets_equal(a if as_bytes else presented, expected) == (bool(a) and a == b)
    assert secrets_equal(presented, expected) == (bool(a) and a == b)
