"""Property tests for decide_pairing and classify_locality (hypothesis)."""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any

import attrs
from _pairing_helpers import HOST_ID, NONCE, NOW, OTHER_ID, PASSWORD, RUNTIME, TOKEN
from hypothesis import given
from hypothesis import strategies as st

from openclaw_exec.pairing import (
    AuthConfig,
    AuthMethod,
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
    build_device_auth_payload,
    classify_locality,
    decide_pairing,
    decision_to_json,
    decode_public_key,
    effective_roles,
    explain_decision,
    scopes_cover,
)

PEERS = [
    "127.0.0.1",
    "127.0.0.2",
    "::1",
    "::ffff:127.0.0.1",
    "localhost",
    "10.0.0.5",
    "172.17.0.1",
    "192.168.1.20",
    "203.0.113.9",
    "0177.0.0.1",
    "127.1",
    "not-an-ip",
    "",
]
HOSTS = [
    None,
    "127.0.0.1:18789",
    "localhost:18789",
    "[::1]:18789",
    "192.168.1.10:18789",
    "172.17.0.2:18789",
    "gw.example",
    "evil.example:18789",
    "127.1:18789",
    "",
]
ORIGINS = [None, "http://127.0.0.1:18789", "http://localhost:18789", "https://gw.example", "null"]
HEADER_VALUES = [None, "127.0.0.1", "203.0.113.9", "10.0.0.6, 127.0.0.1", "garbage", ""]
CLIENTS = [
    ("gateway-client", "backend"),
    ("cli", "cli"),
    ("test", "test"),
    ("openclaw-control-ui", "ui"),
    ("webchat", "webchat"),
    ("node-host", "node"),
    ("openclaw-macos", "ui"),
]
SCOPES = [
    "operator.read",
    "operator.write",
    "operator.admin",
    "operator.approvals",
    "operator.pairing",
    "node.camera",
]
scope_lists = st.lists(st.sampled_from(SCOPES), max_size=4, unique=True).map(tuple)
opt_text = st.one_of(st.none(), st.text(max_size=8))


@st.composite
def connections(draw: st.DrawFn) -> ConnectionFacts:
    return ConnectionFacts(
        peer_address=draw(st.sampled_from(["127.0.0.1"] * 20 + PEERS)),
        challenge_nonce=NONCE,
        host=draw(st.sampled_from(["127.0.0.1:18789"] * 20 + HOSTS)),
        origin=draw(st.sampled_from([None] * 40 + ORIGINS)),
        forwarded=draw(st.sampled_from([None] * 30 + ["for=203.0.113.9"])),
        x_forwarded_for=draw(st.sampled_from([None] * 30 + HEADER_VALUES)),
        x_forwarded_proto=draw(st.sampled_from([None] * 30 + ["https"])),
        x_forwarded_host=draw(st.sampled_from([None] * 30 + ["gw.example"])),
        x_real_ip=draw(st.sampled_from([None] * 30 + HEADER_VALUES)),
        proxy_user=draw(st.sampled_from([None, "", "alice"])),
    )


@st.composite
def auth_configs(draw: st.DrawFn) -> AuthConfig:
    mode = draw(st.sampled_from(["token"] * 5 + ["none", "none", "password", "trusted-proxy"]))
    return AuthConfig(
        mode=mode,
        token=draw(st.sampled_from([TOKEN] * 20 + [None, ""])),
        password=draw(st.sampled_from([PASSWORD, None])),
        trusted_proxies=tuple(
            draw(st.lists(st.sampled_from(["127.0.0.1", "10.0.0.0/8", "::1"]), max_size=2))
        ),
        allow_real_ip_fallback=draw(st.booleans()),
        auto_approve_local=draw(st.booleans()),
        auto_approve_cidrs=tuple(draw(st.lists(st.sampled_from(["10.0.0.0/8"]), max_size=1))),
        allowed_origins=tuple(
            draw(st.lists(st.sampled_from(["https://gw.example", "*"]), max_size=1))
        ),
        approval_runtime_token=draw(st.sampled_from([RUNTIME, None])),
    )


@st.composite
def request_specs(draw: st.DrawFn) -> dict[str, Any]:
    """Request parameters; :func:`build` signs the device proof over them."""
    client = draw(st.sampled_from(CLIENTS[:3] * 8 + CLIENTS))
    return {
        "client": client,
        "role": draw(st.sampled_from([None] * 16 + ["operator", "node", "node", "admin", ""])),
        "scopes": draw(scope_lists),
        "platform": draw(st.sampled_from([None, "linux", "darwin", " Linux "])),
        "device_family": draw(st.sampled_from([None, "iphone"])),
        "token": draw(st.sampled_from([TOKEN] * 4 + [None, None, "wrong"])),
        "password": draw(st.sampled_from([None] * 3 + [PASSWORD, "wrong"])),
        "device_token": draw(st.sampled_from([None] * 3 + ["device-token-1", "nope"])),
        "bootstrap_token": draw(st.sampled_from([None] * 8 + ["setup"])),
        "approval_runtime_token": draw(st.sampled_from([None] * 20 + [RUNTIME, "guess"])),
        "identity": draw(st.sampled_from([HOST_ID] * 8 + [None, None, OTHER_ID])),
        "sign_as": draw(st.sampled_from([None] * 20 + [OTHER_ID])),
        "nonce": draw(st.sampled_from([NONCE] * 20 + ["other", ""])),
        "skew": draw(st.sampled_from([0] * 20 + [119_999, -121_000])),
        "version": draw(st.sampled_from([3, 2])),
    }


def fast_verifier(key: bytes, signature: bytes, message: bytes) -> bool:
    """A stand-in for Ed25519 (tested elsewhere) that keeps every tamper detectable."""
    return signature == hashlib.sha256(key + message).digest()


def build(spec: dict[str, Any]) -> ConnectRequest:
    client_id, client_mode = spec["client"]
    device = None
    identity = spec["identity"]
    if identity is not None:
        token = next(
            (
                t
                for t in (spec["token"], spec["device_token"], spec["bootstrap_token"])
                if t is not None
            ),
            None,
        )
        signer = spec["sign_as"] or identity
        payload = build_device_auth_payload(
            version=spec["version"],
            device_id=identity.device_id,
            client_id=client_id,
            client_mode=client_mode,
            role=spec["role"] if spec["role"] is not None else "operator",
            scopes=spec["scopes"],
            signed_at_ms=NOW + spec["skew"],
            token=token,
            nonce=spec["nonce"],
            platform=spec["platform"],
            device_family=spec["device_family"],
        )
        raw = hashlib.sha256(decode_public_key(signer.public_key) + payload.encode()).digest()
        device = DeviceProof(
            id=identity.device_id,
            public_key=identity.public_key,
            signature=base64.urlsafe_b64encode(raw).decode().rstrip("="),
            signed_at_ms=NOW + spec["skew"],
            nonce=spec["nonce"],
        )
    return ConnectRequest(
        client_id=client_id,
        client_mode=client_mode,
        role=spec["role"],
        scopes=spec["scopes"],
        platform=spec["platform"],
        device_family=spec["device_family"],
        token=spec["token"],
        password=spec["password"],
        device_token=spec["device_token"],
        bootstrap_token=spec["bootstrap_token"],
        approval_runtime_token=spec["approval_runtime_token"],
        device=device,
    )


@st.composite
def paired_records(draw: st.DrawFn) -> PairedDevice | None:
    if draw(st.booleans()):
        return None
    identity = draw(st.sampled_from([HOST_ID] * 4 + [OTHER_ID]))
    tokens = draw(
        st.sampled_from(
            [
                None,
                (),
                (
                    DeviceTokenRecord(
                        role="operator", token="device-token-1", scopes=("operator.read",)
                    ),
                ),
                (
                    DeviceTokenRecord(
                        role="operator",
                        token="device-token-1",
                        scopes=("operator.admin",),
                        revoked_at_ms=NOW - 1,
                    ),
                ),
                (DeviceTokenRecord(role="node", token="device-token-1"),),
            ]
        )
    )
    scopes = draw(scope_lists)
    return PairedDevice(
        device_id=identity.device_id,
        public_key=draw(st.sampled_from([identity.public_key] * 4 + [OTHER_ID.public_key])),
        roles=draw(st.sampled_from([("operator",)] * 4 + [(), ("node",), ("node", "operator")])),
        scopes=scopes,
        approved_scopes=draw(st.sampled_from([scopes, None])),
        tokens=tokens,
        platform=draw(st.sampled_from([None, "linux"])),
        device_family=draw(st.sampled_from([None, "iphone"])),
    )


@st.composite
def pendings(draw: st.DrawFn) -> PendingPairing | None:
    if draw(st.booleans()):
        return None
    return PendingPairing(
        request_id="pending-1",
        device_id=HOST_ID.device_id,
        public_key=HOST_ID.public_key,
        reason=draw(st.sampled_from(list(PairingReason))),
        role=draw(st.sampled_from(["operator", "node"])),
        scopes=draw(scope_lists),
        ts_ms=NOW - draw(st.sampled_from([0, 1000, 400_000, -5])),
    )


situations = st.fixed_dictionaries(
    {
        "connection": connections(),
        "auth": auth_configs(),
        "spec": request_specs(),
        "paired": paired_records(),
        "pending": pendings(),
    }
)


def decide(s: dict[str, Any], **changes: Any) -> PairingDecision:
    spec = {**s["spec"], **changes.pop("spec", {})}
    inputs = {
        "connection": s["connection"],
        "auth": s["auth"],
        "paired": s["paired"],
        "pending": s["pending"],
    }
    inputs.update(changes)
    return decide_pairing(
        request=build(spec), now_ms=NOW, signature_verifier=fast_verifier, **inputs
    )


def _valid_secret(s: dict[str, Any]) -> bool:
    auth: AuthConfig = s["auth"]
    spec = s["spec"]
    conn: ConnectionFacts = s["connection"]
    if spec["approval_runtime_token"] and spec["approval_runtime_token"] == (
        auth.approval_runtime_token
    ):
        return True
    if auth.mode == "token":
        return bool(auth.token) and spec["token"] == auth.token
    if auth.mode == "password":
        return bool(auth.password) and spec["password"] == auth.password
    if auth.mode == "trusted-proxy":
        return bool(conn.proxy_user) and bool(auth.trusted_proxies)
    return False


def _approved_device(s: dict[str, Any]) -> bool:
    paired: PairedDevice | None = s["paired"]
    spec = s["spec"]
    identity = spec["identity"]
    if paired is None or identity is None:
        return False
    role = spec["role"] if spec["role"] is not None else "operator"
    return (
        paired.device_id == identity.device_id
        and paired.public_key == identity.public_key
        and role in effective_roles(paired)
        and scopes_cover(role, paired.baseline_scopes, spec["scopes"])
    )


@given(situations)
def test_total_consistent_and_renderable(s: dict[str, Any]) -> None:
    decision = decide(s)
    assert decision == decide(s)  # deterministic
    json.dumps(decision_to_json(decision))
    assert explain_decision(decision)
    if decision.accepted:
        assert decision.close_code is None
        assert decision.error_code is None
        assert decision.role in {"operator", "node"}
    else:
        assert decision.close_code == 1008
        assert decision.scopes == ()
        assert len((decision.close_reason or "").encode()) <= 123
    assert (decision.outcome is Outcome.PAIRING_REQUIRED) == (decision.pending_request is not None)
    assert (decision.outcome is Outcome.ACCEPT_AFTER_SILENT_PAIRING) == (
        decision.paired_record is not None
    )


@given(situations)
def test_adding_a_valid_secret_never_turns_accept_into_reject(s: dict[str, Any]) -> None:
    before = decide(s)
    if not before.accepted:
        return
    mode = s["auth"].mode
    if mode == "token" and s["auth"].token:
        after = decide(s, spec={"token": TOKEN})
    elif mode == "password" and s["auth"].password:
        after = decide(s, spec={"password": PASSWORD})
    else:
        return
    assert after.outcome is not Outcome.REJECT, (before, after)


@given(situations)
def test_trusting_the_peer_never_turns_accept_into_reject(s: dict[str, Any]) -> None:
    before = decide(s)
    auth: AuthConfig = s["auth"]
    peer = s["connection"].peer_address
    if not before.accepted or peer not in PEERS[:9]:
        return
    trusted = attrs.evolve(auth, trusted_proxies=(*auth.trusted_proxies, peer))
    after = decide(s, auth=trusted)
    assert after.outcome is not Outcome.REJECT, (before, after)


@given(situations, st.data())
def test_narrowing_scopes_never_turns_accept_into_reject(s: dict[str, Any], data: Any) -> None:
    before = decide(s)
    if not before.accepted:
        return
    scopes = s["spec"]["scopes"]
    narrower = tuple(s for s in scopes if data.draw(st.booleans()))
    after = decide(s, spec={"scopes": narrower})
    assert after.outcome is not Outcome.REJECT, (before, after)


@given(situations)
def test_remote_is_never_silently_paired(s: dict[str, Any]) -> None:
    decision = decide(s)
    if decision.locality is not Locality.REMOTE:
        return
    if decision.outcome is Outcome.ACCEPT_AFTER_SILENT_PAIRING:
        # The only remote silent path is the operator's explicit autoApproveCidrs for a
        # fresh node without scopes, and it needs a verified shared secret.
        assert s["auth"].auto_approve_cidrs
        assert decision.rule == "silent-cidr-node-pairing"
        assert decision.role == "node"
        assert decision.scopes == ()
        assert decision.pairing_reason is PairingReason.NOT_PAIRED
        assert decision.auth_method in {AuthMethod.TOKEN, AuthMethod.PASSWORD}


@given(situations)
def test_remote_without_cidrs_is_never_silently_paired(s: dict[str, Any]) -> None:
    auth = attrs.evolve(s["auth"], auto_approve_cidrs=())
    decision = decide(s, auth=auth)
    if decision.locality is Locality.REMOTE:
        assert decision.outcome is not Outcome.ACCEPT_AFTER_SILENT_PAIRING


@given(situations)
def test_no_scopes_without_a_valid_secret_or_an_approved_device(s: dict[str, Any]) -> None:
    decision = decide(s)
    if decision.accepted and decision.scopes:
        assert _valid_secret(s) or _approved_device(s), decision


@given(situations)
def test_silent_pairing_needs_a_verified_shared_secret(s: dict[str, Any]) -> None:
    decision = decide(s)
    if decision.outcome is Outcome.ACCEPT_AFTER_SILENT_PAIRING:
        assert _valid_secret(s)
        assert decision.auth_method in {
            AuthMethod.TOKEN,
            AuthMethod.PASSWORD,
            AuthMethod.TRUSTED_PROXY,
        }


@given(situations)
def test_local_secret_holder_asking_for_approvals_is_never_told_pairing_required(
    s: dict[str, Any],
) -> None:
    """The #59882 guarantee: with autoApproveLocal on, a local operator never gets 1008."""
    spec = {**s["spec"], "scopes": ("operator.approvals",), "role": "operator"}
    paired: PairedDevice | None = s["paired"]
    if paired is not None:
        # Out of scope of the guarantee, by design: a changed platform/family (OpenClaw's
        # metadata pin) and devices paired as nodes still go to a human.
        paired = attrs.evolve(paired, roles=tuple(r for r in paired.roles if r != "node"))
        spec |= {"platform": paired.platform, "device_family": paired.device_family}
    auth = attrs.evolve(s["auth"], auto_approve_local=True)
    decision = decide({**s, "spec": spec, "paired": paired}, auth=auth)
    if decision.locality.is_local and decision.auth_method in {
        AuthMethod.TOKEN,
        AuthMethod.PASSWORD,
    }:
        assert decision.outcome is not Outcome.PAIRING_REQUIRED, decision


@given(connections(), auth_configs(), st.sampled_from(CLIENTS), st.booleans())
def test_forwarding_headers_from_an_untrusted_peer_are_never_local(
    connection: ConnectionFacts, auth: AuthConfig, client: tuple[str, str], secret: bool
) -> None:
    untrusted = attrs.evolve(auth, trusted_proxies=())
    spoofed = attrs.evolve(connection, x_forwarded_for="127.0.0.1", x_real_ip="127.0.0.1")
    locality = classify_locality(
        spoofed, untrusted, client_id=client[0], client_mode=client[1], shared_secret_ok=secret
    )
    assert locality is Locality.REMOTE


@given(connections(), auth_configs(), st.sampled_from(CLIENTS))
def test_a_verified_secret_never_makes_a_connection_less_local(
    connection: ConnectionFacts, auth: AuthConfig, client: tuple[str, str]
) -> None:
    without = classify_locality(
        connection, auth, client_id=client[0], client_mode=client[1], shared_secret_ok=False
    )
    with_secret = classify_locality(
        connection, auth, client_id=client[0], client_mode=client[1], shared_secret_ok=True
    )
    if without.is_local:
        assert with_secret is without
