"""
The pairing core's fast paths give exactly what the plain ones gave.

``decide_pairing`` builds its decision, the record of a silent pairing and the pending
request without running the attrs ``__init__`` (the parts are already validated). These
tests pin that shortcut to the validating constructors: equal, same repr, same hash, same
field order, still frozen; and ``decide_pairing`` returns the same decision whether it
takes the shortcut or (for a caller's ``now_ms`` / ``request_id`` of a subclass type) the
validating path. The cached derivations the core uses instead of recomputing (request
id prefix, client address text, the facts of a stored record) agree with their
definitions.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from typing import Any

import attrs
import pytest
from _pairing_helpers import HOST_ID, NONCE, NOW, conn, gw, rec, req, tok
from hypothesis import given
from hypothesis import strategies as st

from openclaw_exec.pairing import (
    AuthConfig,
    AuthMethod,
    ConnectionFacts,
    DeviceProof,
    Locality,
    Outcome,
    PairedDevice,
    PairingDecision,
    PairingReason,
    PendingPairing,
    build_device_auth_payload,
    decide_pairing,
    decode_public_key,
    normalize_device_metadata,
    resolve_client_ip,
)
from openclaw_exec.pairing._device import _b64decode
from openclaw_exec.pairing._device_path import _client_ip_text, _derive_request_id
from openclaw_exec.pairing._model import (
    _REFUSE_FIELDS,
    _decision_unchecked,
    _paired_device_unchecked,
    _pending_unchecked,
    _refuse_unchecked,
)
from openclaw_exec.pairing._values import _paired_facts

text = st.text(max_size=12)
opt_text = st.none() | text
texts = st.lists(text, max_size=4).map(tuple)
ints = st.integers(min_value=-(2**63), max_value=2**63)
opt_ints = st.none() | ints
token_records = st.builds(
    tok,
    role=text,
    token=st.text(min_size=1, max_size=8),
    scopes=texts,
    revoked_at_ms=opt_ints,
)


def _ordered(cls: type, fields: dict[str, Any]) -> list[Any]:
    """The values of *fields* in the class's field order (the builders' parameter order)."""
    return [fields[field.name] for field in attrs.fields(cls)]


def _same(fast: Any, slow: Any) -> None:
    assert type(fast) is type(slow)
    assert fast == slow
    assert repr(fast) == repr(slow)
    assert list(vars(fast)) == list(vars(slow))
    assert attrs.asdict(fast, recurse=False) == attrs.asdict(slow, recurse=False)
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        fast.role = "changed"


paired_fields = st.fixed_dictionaries(
    {
        "device_id": text,
        "public_key": text,
        "role": opt_text,
        "roles": texts,
        "scopes": texts,
        "approved_scopes": st.none() | texts,
        "tokens": st.none() | st.lists(token_records, max_size=2).map(tuple),
        "platform": opt_text,
        "device_family": opt_text,
        "client_id": opt_text,
        "client_mode": opt_text,
        "display_name": opt_text,
        "created_at_ms": ints,
        "approved_at_ms": ints,
    }
)


pending_fields = st.fixed_dictionaries(
    {
        "request_id": text,
        "device_id": text,
        "public_key": text,
        "reason": st.sampled_from(PairingReason),
        "role": text,
        "roles": texts,
        "scopes": texts,
        "is_repair": st.booleans(),
        "ts_ms": ints,
        "platform": opt_text,
        "device_family": opt_text,
        "client_id": opt_text,
        "client_mode": opt_text,
        "display_name": opt_text,
        "remote_ip": opt_text,
    }
)


@pytest.mark.parametrize(
    ("maker", "cls", "strategy"),
    [
        (_paired_device_unchecked, PairedDevice, paired_fields),
        (_pending_unchecked, PendingPairing, pending_fields),
    ],
    ids=["paired-device", "pending"],
)
@given(data=st.data())
def test_record_makers_equal_the_constructor(
    maker: Any, cls: type[Any], strategy: st.SearchStrategy[dict[str, Any]], data: st.DataObject
) -> None:
    fields = data.draw(strategy)
    fast = maker(*_ordered(cls, fields))
    slow = cls(**fields)
    _same(fast, slow)
    assert hash(fast) == hash(slow)


def _paired(fields: dict[str, Any]) -> PairedDevice:
    return PairedDevice(**fields)


def _pending(fields: dict[str, Any]) -> PendingPairing:
    return PendingPairing(**fields)


decision_fields = st.fixed_dictionaries(
    {
        "outcome": st.sampled_from(Outcome),
        "rule": text,
        "note": text,
        "locality": st.sampled_from(Locality),
        "auth_method": st.none() | st.sampled_from(AuthMethod),
        "role": opt_text,
        "scopes": texts,
        "issue_device_token": st.booleans(),
        "device_token_scopes": texts,
        "paired_record": st.none() | paired_fields.map(_paired),
        "pairing_reason": st.none() | st.sampled_from(PairingReason),
        "pending_request": st.none() | pending_fields.map(_pending),
        "close_code": st.none() | st.integers(1000, 4999),
        "close_reason": opt_text,
        "error_code": opt_text,
        "error_message": opt_text,
        "error_details": st.dictionaries(text, text | st.lists(text), max_size=3),
    }
)


@given(decision_fields)
def test_decision_unchecked_equals_the_constructor(fields: dict[str, Any]) -> None:
    fast = _decision_unchecked(*_ordered(PairingDecision, fields))
    slow = PairingDecision(**fields)
    _same(fast, slow)


@given(decision_fields)
def test_decision_unchecked_defaults_equal_the_constructor_defaults(
    fields: dict[str, Any],
) -> None:
    head = ("outcome", "rule", "note", "locality", "auth_method", "role")
    fast = _decision_unchecked(*(fields[name] for name in head))
    slow = PairingDecision(**{name: fields[name] for name in head})
    _same(fast, slow)
    assert fast.error_details == {}
    other = _decision_unchecked(*(fields[name] for name in head))
    assert other.error_details is not fast.error_details  # a fresh dict each time


# An accepting decision: every field up to the pairing reason, nothing closed.
_ACCEPT_FIELDS = tuple(f.name for f in attrs.fields(PairingDecision))[
    : [f.name for f in attrs.fields(PairingDecision)].index("pairing_reason") + 1
]


@given(decision_fields)
def test_accepting_decision_maker_equals_the_constructor(fields: dict[str, Any]) -> None:
    fast = _decision_unchecked(*(fields[name] for name in _ACCEPT_FIELDS))
    slow = PairingDecision(**{name: fields[name] for name in _ACCEPT_FIELDS})
    _same(fast, slow)


@given(decision_fields)
def test_refuse_unchecked_equals_the_constructor(fields: dict[str, Any]) -> None:
    fast = _refuse_unchecked(*(fields[name] for name in _REFUSE_FIELDS))
    slow = PairingDecision(**{name: fields[name] for name in _REFUSE_FIELDS})
    _same(fast, slow)


class _Millis(int):
    """An ``int`` subclass: decide_pairing takes the validating constructors for it."""


class _Id(str):
    """A ``str`` subclass, for the same reason."""

    __slots__ = ()


_SITUATIONS: dict[str, dict[str, Any]] = {
    "silent upgrade": {"request": req(scopes=("operator.approvals",)), "paired": rec()},
    "silent pairing": {"request": req(("cli", "cli"), scopes=("operator.admin",))},
    "remote upgrade": {
        "connection": conn("203.0.113.9", "gw.example:18789"),
        "request": req(scopes=("operator.write",)),
        "paired": rec(tokens=(tok(),)),
    },
    "remote pairing": {
        "connection": conn("203.0.113.9", "gw.example:18789"),
        "request": req(("cli", "cli"), scopes=("operator.admin",)),
    },
    "paired accept": {"request": req(scopes=("operator.read",)), "paired": rec()},
}


@pytest.mark.parametrize("name", sorted(_SITUATIONS))
@pytest.mark.parametrize("request_id", [None, "chosen-id"])
def test_validating_path_gives_the_same_decision(name: str, request_id: str | None) -> None:
    inputs: dict[str, Any] = {"connection": conn(), "auth": gw(), **_SITUATIONS[name]}
    fast = decide_pairing(now_ms=NOW, request_id=request_id, **inputs)
    slow = decide_pairing(
        now_ms=_Millis(NOW),
        request_id=None if request_id is None else _Id(request_id),
        **inputs,
    )
    assert fast == slow
    assert repr(fast) == repr(slow)
    assert fast.outcome is not Outcome.REJECT
    record = fast.paired_record or fast.pending_request
    if record is not None:
        assert record.device_id == HOST_ID.device_id


# -- cached derivations agree with their definitions ------------------------------------


def _reference_request_id(device_id: str, role: str, scopes: tuple[str, ...], now_ms: int) -> str:
    """The request-id derivation as first written (one string, hashed whole)."""
    seed = "|".join((device_id, role, ",".join(sorted(scopes)), str(now_ms)))
    h = hashlib.sha256(seed.encode("utf-8", "surrogatepass")).hexdigest()
    variant = "89ab"[int(h[16], 16) & 3]
    return f"{h[0:8]}-{h[8:12]}-4{h[13:16]}-{variant}{h[17:20]}-{h[20:32]}"


@given(text, st.sampled_from(["operator", "node"]), st.lists(text, max_size=4, unique=True), ints)
def test_derived_request_id_is_the_reference_derivation(
    device_id: str, role: str, scopes: list[str], now_ms: int
) -> None:
    proof = DeviceProof(id=device_id, public_key="k", signature="s", signed_at_ms=0, nonce="n")
    derived = _derive_request_id(proof, role, tuple(scopes), now_ms)
    assert derived == _reference_request_id(device_id, role, tuple(scopes), now_ms)


addresses = st.sampled_from(
    [
        "127.0.0.1",
        "::1",
        "::ffff:127.0.0.1",
        "10.0.0.5",
        "203.0.113.9",
        "[::1]:443",
        "garbage",
        "",
    ]
)
opt_headers = st.none() | st.sampled_from(["203.0.113.9", "10.0.0.6, 127.0.0.1", "x", ""])


@given(
    addresses,
    opt_headers,
    opt_headers,
    st.lists(st.sampled_from(["127.0.0.1", "10.0.0.0/8", "::1"]), max_size=2).map(tuple),
    st.booleans(),
)
def test_client_ip_text_is_resolve_client_ip_as_text(
    peer: str,
    forwarded_for: str | None,
    real_ip: str | None,
    proxies: tuple[str, ...],
    fallback: bool,
) -> None:
    connection = ConnectionFacts(
        peer_address=peer, challenge_nonce="n", x_forwarded_for=forwarded_for, x_real_ip=real_ip
    )
    auth = AuthConfig(mode="none", trusted_proxies=proxies, allow_real_ip_fallback=fallback)
    resolved = resolve_client_ip(connection, auth)
    text_form = _client_ip_text(peer, forwarded_for, real_ip, proxies, fallback)
    assert text_form == (None if resolved is None else str(resolved))


@given(paired_fields, st.sampled_from([HOST_ID.public_key, "%%%", ""]))
def test_paired_facts_are_the_record_properties(fields: dict[str, Any], key: str) -> None:
    record = PairedDevice(**{**fields, "public_key": key})
    facts = _paired_facts(
        record.public_key,
        record.platform,
        record.device_family,
        record.roles,
        record.role,
        record.scopes,
        record.approved_scopes,
    )
    key_bytes = decode_public_key(key) if key == HOST_ID.public_key else None
    assert facts == (
        key_bytes,
        normalize_device_metadata(record.platform),
        normalize_device_metadata(record.device_family),
        record.baseline_scopes,
        tuple(sorted(set(record.baseline_scopes))),
        record.approved_roles,
    )


def _reference_b64decode(text: str) -> bytes | None:
    """The base64(url) decoding as first written (no fast path for signatures)."""
    cleaned = text.strip().replace("-", "+").replace("_", "/")
    if not cleaned or not cleaned.isascii():
        return None
    cleaned += "=" * (-len(cleaned) % 4)
    try:
        return binascii.a2b_base64(cleaned, strict_mode=True)
    except (binascii.Error, ValueError):
        return None


signature_like = st.binary(min_size=62, max_size=66).map(
    lambda raw: base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")
)


@given(
    st.one_of(
        signature_like,
        st.tuples(signature_like, st.integers(0, 90), st.sampled_from(" \n=!é+/-_.")).map(
            lambda t: t[0][: t[1]] + t[2] + t[0][t[1] + 1 :]
        ),
        st.text(alphabet="ab+/-_= é", min_size=84, max_size=88),
    )
)
def test_b64decode_fast_path_agrees_with_the_general_one(text: str) -> None:
    assert _b64decode(text) == _reference_b64decode(text)


@given(
    client=st.sampled_from([("gateway-client", "backend"), ("cli", "cli"), ("x", "y")]),
    scopes=st.lists(st.sampled_from(["operator.read", "operator.approvals", "x"]), max_size=3),
    platform=st.none() | st.sampled_from([" Linux ", "macOS", "é", ""]),
    device_family=st.none() | st.sampled_from(["Mac", " PHONE", ""]),
    paired=st.booleans(),
    repeat=st.integers(1, 3),
)
def test_decide_pairing_hands_the_verifier_the_built_v3_payload_every_time(
    client: tuple[str, str],
    scopes: list[str],
    platform: str | None,
    device_family: str | None,
    *,
    paired: bool,
    repeat: int,
) -> None:
    """Caches or not, every device connect calls the verifier once with the v3 payload."""
    request = req(client, scopes=tuple(scopes), platform=platform, device_family=device_family)
    assert request.device is not None
    seen: list[bytes] = []

    def recording(_key: bytes, _sig: bytes, message: bytes) -> bool:
        seen.append(message)
        return True

    for _ in range(repeat):
        decide_pairing(
            connection=conn(),
            auth=gw(),
            request=request,
            paired=rec() if paired else None,
            now_ms=NOW,
            signature_verifier=recording,
        )
    expected = build_device_auth_payload(
        version=3,
        device_id=request.device.id,
        client_id=client[0],
        client_mode=client[1],
        role="operator",
        scopes=tuple(scopes),
        signed_at_ms=NOW,
        token=request.token,
        nonce=NONCE,
        platform=platform,
        device_family=device_family,
    ).encode("utf-8", "surrogatepass")
    assert seen == [expected] * repeat
