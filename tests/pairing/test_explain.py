"""The JSON situation edge and the human explanation (what `pairing explain` prints)."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from _pairing_helpers import HOST_ID, NONCE, NOW, TOKEN, rec, tok
from hypothesis import given
from hypothesis import strategies as st

from openclaw_exec.exceptions import PairingError
from openclaw_exec.pairing import (
    PAIRING_RULES,
    DeviceTokenRecord,
    Outcome,
    PairedDevice,
    decide_situation,
    decision_to_json,
    explain_decision,
    paired_device_from_json,
    paired_device_to_json,
    sign_device_proof,
    situation_from_json,
)


def seed_doc() -> dict[str, Any]:
    """The #59882 seed situation as an operator would write it (signature assumed)."""
    return {
        "nowMs": NOW,
        "assumeSignatureValid": True,
        "connection": {
            "peerAddress": "127.0.0.1",
            "challengeNonce": NONCE,
            "headers": {"Host": "127.0.0.1:18789", "User-Agent": "node"},
        },
        "gateway": {"auth": {"mode": "token", "token": TOKEN}},
        "connect": {
            "minProtocol": 3,
            "client": {"id": "gateway-client", "mode": "backend", "platform": "linux"},
            "role": "operator",
            "scopes": ["operator.approvals"],
            "auth": {"token": TOKEN},
            "device": {"publicKey": HOST_ID.public_key},
        },
        "paired": {
            "deviceId": HOST_ID.device_id,
            "publicKey": HOST_ID.public_key,
            "platform": "linux",
            "clientId": "gateway-client",
            "clientMode": "backend",
            "role": "operator",
            "roles": ["operator"],
            "scopes": ["operator.read"],
            "approvedScopes": ["operator.read"],
            "tokens": {"operator": {"token": "t", "role": "operator", "scopes": ["operator.read"]}},
            "createdAtMs": NOW - 1000,
            "approvedAtMs": NOW - 1000,
        },
    }


def test_seed_situation_is_silently_upgraded() -> None:
    decision = decide_situation(situation_from_json(seed_doc()))
    assert decision.outcome is Outcome.ACCEPT_AFTER_SILENT_PAIRING
    out = decision_to_json(decision)
    json.dumps(out)
    assert out["pairingReason"] == "scope-upgrade"
    assert out["pairedRecord"]["approvedScopes"] == ["operator.approvals", "operator.read"]
    assert out["pairedRecord"]["tokens"]["operator"]["scopes"] == ["operator.read"]
    text = explain_decision(decision)
    assert "ACCEPT_AFTER_SILENT_PAIRING (scope-upgrade)" in text
    assert "silent-local-pairing" in text


def test_a_real_signature_is_checked_when_not_assumed() -> None:
    doc = seed_doc()
    del doc["assumeSignatureValid"]
    proof = sign_device_proof(
        HOST_ID,
        client_id="gateway-client",
        client_mode="backend",
        scopes=["operator.approvals"],
        signed_at_ms=NOW,
        nonce=NONCE,
        token=TOKEN,
        platform="linux",
    )
    doc["connect"]["device"] = {
        "id": proof.id,
        "publicKey": proof.public_key,
        "signature": proof.signature,
        "signedAt": proof.signed_at_ms,
        "nonce": proof.nonce,
    }
    assert decide_situation(situation_from_json(doc)).outcome is Outcome.ACCEPT_AFTER_SILENT_PAIRING
    doc["connect"]["scopes"] = ["operator.admin"]  # no longer what was signed
    decision = decide_situation(situation_from_json(doc))
    assert decision.outcome is Outcome.REJECT
    assert decision.error_details["code"] == "DEVICE_AUTH_SIGNATURE_INVALID"


def test_pairing_required_explanation_names_the_approve_step() -> None:
    doc = seed_doc()
    doc["connection"]["peerAddress"] = "203.0.113.9"
    doc["connection"]["headers"] = {"host": "gw.example:18789"}
    doc["requestId"] = "5b0c7c8e-0d7e-4c1e-9f3a-2a6c1f2b9d10"
    decision = decide_situation(situation_from_json(doc))
    assert decision.outcome is Outcome.PAIRING_REQUIRED
    text = explain_decision(decision)
    assert "openclaw devices approve 5b0c7c8e-0d7e-4c1e-9f3a-2a6c1f2b9d10" in text
    assert "Close: 1008" in text
    out = decision_to_json(decision)
    assert out["close"]["code"] == 1008
    assert out["error"]["details"]["requestId"] == doc["requestId"]
    assert out["pendingRequest"]["requestId"] == doc["requestId"]
    assert "openclaw devices approve 5b0c7c8e" in out["remediation"]


def test_every_rule_renders() -> None:
    for rule in PAIRING_RULES.values():
        assert rule.summary
        assert rule.remediation
        assert rule.remediation.format(request_id="r", device_id="d", role="operator")


def _set(doc: dict[str, Any], path: str, value: Any) -> None:
    parts = path.split(".")
    target: Any = doc
    for part in parts[:-1]:
        target = target[part]
    if value is KeyError:
        del target[parts[-1]]
    else:
        target[parts[-1]] = value


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        ("nowMs", KeyError, "nowMs: required integer is missing"),
        ("nowMs", "soon", "nowMs: expected an integer, found the string 'soon'"),
        ("nowMs", True, "nowMs: expected an integer, found true"),
        ("extra", 1, "extra: unknown field"),
        ("connection", KeyError, "connection: required object is missing"),
        ("connection", [], "connection: expected an object, found a list"),
        (
            "connection.peerAddress",
            7,
            "connection.peerAddress: expected a string, found the number 7",
        ),
        ("connection.challengeNonce", KeyError, "connection.challengeNonce: required string"),
        ("connection.headers", "x", "connection.headers: expected an object"),
        ("connection.headers.Origin", 5, "connection.headers.Origin: expected a string"),
        ("connection.peer", "x", "connection.peer: unknown field"),
        ("gateway.auth.mode", "tokn", "gateway.auth.mode: expected one of none, token"),
        ("gateway.auth", KeyError, "gateway.auth: required object is missing"),
        ("gateway.trustedProxies", ["10.0.0.0/33"], "gateway.trustedProxies: invalid address"),
        ("gateway.trustedProxies", "10.0.0.1", "gateway.trustedProxies: expected a list"),
        ("gateway.autoApproveLocal", False, "gateway.autoApproveLocal: unknown field"),
        (
            "gateway.nodes",
            {"pairing": {"autoApproveLocal": "no"}},
            "gateway.nodes.pairing.autoApproveLocal: expected true or false",
        ),
        (
            "gateway.nodes",
            {"pairing": {"autoApproveCidrs": ["x"]}},
            "gateway.nodes.pairing.autoApproveCidrs: invalid address",
        ),
        ("connect.client", KeyError, "connect.client: required object is missing"),
        ("connect.client.id", None, "connect.client.id: required string is missing"),
        (
            "connect.scopes",
            ["operator.read", 5],
            "connect.scopes[1]: expected a string, found the number 5",
        ),
        ("connect.scopes", "operator.read", "connect.scopes: expected a list of strings"),
        ("connect.role", 1, "connect.role: expected a string"),
        ("connect.auth.token", 1, "connect.auth.token: expected a string"),
        ("connect.device.publicKey", KeyError, "connect.device.publicKey: required string"),
        ("connect.device.signedAt", 1.5, "connect.device.signedAt: expected an integer"),
        ("paired.deviceId", KeyError, "paired.deviceId: required string is missing"),
        ("paired.roles", [1], "paired.roles[0]: expected a string"),
        (
            "paired.tokens",
            {"operator": {"role": "operator"}},
            "paired.tokens.operator.token: required string",
        ),
        ("paired.tokens", [], "paired.tokens: expected an object"),
    ],
)
def test_bad_input_names_the_json_path(path: str, value: Any, message: str) -> None:
    doc = seed_doc()
    _set(doc, path, value)
    with pytest.raises(PairingError) as info:
        situation_from_json(doc)
    assert message in str(info.value)


def test_bad_pending_reason_and_root() -> None:
    doc = seed_doc()
    doc["pending"] = {
        "requestId": "r",
        "deviceId": HOST_ID.device_id,
        "publicKey": HOST_ID.public_key,
        "reason": "because",
    }
    with pytest.raises(PairingError, match=r"pending\.reason: expected one of not-paired"):
        situation_from_json(doc)
    with pytest.raises(PairingError, match="<root>: expected an object, found a list"):
        situation_from_json([])


def test_signature_required_unless_assumed() -> None:
    doc = seed_doc()
    del doc["assumeSignatureValid"]
    with pytest.raises(PairingError, match=r"connect\.device\.id: required string"):
        situation_from_json(doc)


def test_pending_row_is_merged() -> None:
    doc = seed_doc()
    doc["connection"]["peerAddress"] = "203.0.113.9"
    doc["pending"] = {
        "requestId": "old-request",
        "deviceId": HOST_ID.device_id,
        "publicKey": HOST_ID.public_key,
        "reason": "scope-upgrade",
        "role": "operator",
        "scopes": ["operator.approvals"],
        "ts": NOW - 1000,
    }
    decision = decide_situation(situation_from_json(copy.deepcopy(doc)))
    assert decision.pending_request is not None
    assert decision.pending_request.request_id == "old-request"


records = st.builds(
    PairedDevice,
    device_id=st.text(min_size=1, max_size=8),
    public_key=st.text(min_size=1, max_size=8),
    role=st.none() | st.sampled_from(["operator", "node"]),
    roles=st.lists(st.sampled_from(["operator", "node"]), unique=True).map(tuple),
    scopes=st.lists(st.text(max_size=6), max_size=3).map(tuple),
    approved_scopes=st.none() | st.lists(st.text(max_size=6), max_size=3).map(tuple),
    tokens=st.none()
    | st.lists(
        st.builds(
            DeviceTokenRecord,
            role=st.sampled_from(["operator", "node"]),
            token=st.text(min_size=1, max_size=6),
            scopes=st.lists(st.text(max_size=6), max_size=2).map(tuple),
            created_at_ms=st.integers(0, 2**53),
            revoked_at_ms=st.none() | st.integers(0, 2**53),
        ),
        max_size=2,
        unique_by=lambda t: t.role,
    ).map(tuple),
    platform=st.none() | st.text(max_size=6),
    device_family=st.none() | st.text(max_size=6),
    client_id=st.none() | st.text(max_size=6),
    client_mode=st.none() | st.text(max_size=6),
    display_name=st.none() | st.text(max_size=6),
    created_at_ms=st.integers(0, 2**53),
    approved_at_ms=st.integers(0, 2**53),
)


@given(records)
def test_paired_record_json_round_trip(record: PairedDevice) -> None:
    text = json.dumps(paired_device_to_json(record))
    assert paired_device_from_json(json.loads(text)) == record


def test_record_helpers_accept_the_builders() -> None:
    record = rec(tokens=(tok(),))
    assert paired_device_from_json(paired_device_to_json(record)) == record
