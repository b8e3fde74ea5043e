"""
The pairing core's internal fast constructors make the same values as the public ones.

``decide_pairing`` builds its decision, the record of a silent pairing and the pending
request without running the attrs ``__init__`` (the parts are already validated). These
tests pin that shortcut to the validating constructors: equal, same repr, same hash, same
field order, still frozen; and ``decide_pairing`` returns the same decision whether it
takes the shortcut or (for a caller's ``now_ms`` / ``request_id`` of a subclass type) the
validating path.
"""

from __future__ import annotations

from typing import Any

import attrs
import pytest
from _pairing_helpers import HOST_ID, NOW, conn, gw, rec, req, tok
from hypothesis import given
from hypothesis import strategies as st

from openclaw_exec.pairing import (
    AuthMethod,
    Locality,
    Outcome,
    PairedDevice,
    PairingDecision,
    PairingReason,
    PendingPairing,
    decide_pairing,
)
from openclaw_exec.pairing._model import (
    _decision_unchecked,
    _paired_device_unchecked,
    _pending_unchecked,
)

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


@given(paired_fields)
def test_paired_device_unchecked_equals_the_constructor(fields: dict[str, Any]) -> None:
    fast = _paired_device_unchecked(*_ordered(PairedDevice, fields))
    slow = PairedDevice(**fields)
    _same(fast, slow)
    assert hash(fast) == hash(slow)


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


@given(pending_fields)
def test_pending_unchecked_equals_the_constructor(fields: dict[str, Any]) -> None:
    fast = _pending_unchecked(*_ordered(PendingPairing, fields))
    slow = PendingPairing(**fields)
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
