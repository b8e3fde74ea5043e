"""An approver's grant lifetime (OpenClaw 2026.9.6 ``grantExpiresInDays``) in the broker."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from openclaw_exec.exceptions import LocalProtocolError
from openclaw_exec.protocol import (
    ApprovalBroker,
    ApprovalRecord,
    ApprovalRequest,
    ApprovalState,
    Decision,
    Principal,
    check_grant_days,
)

ALICE = Principal(id="alice")


def _broker() -> ApprovalBroker:
    broker = ApprovalBroker()
    request = ApprovalRequest(id="a-1", command="ls", created_at_ms=0, expires_at_ms=60_000)
    broker.register(request, now_ms=0, has_route=True)
    return broker


@given(st.integers(min_value=1, max_value=3650), st.sampled_from(list(Decision)))
def test_a_valid_lifetime_is_kept_exactly_with_allow_always(days: int, decision: Decision) -> None:
    broker = _broker()
    result = broker.resolve("a-1", decision, approver=ALICE, now_ms=1, grant_expires_in_days=days)
    assert result.ok
    record = broker.get("a-1", now_ms=1)
    assert record is not None
    expected = days if decision is Decision.ALLOW_ALWAYS else None
    assert record.grant_expires_in_days == expected


@given(
    st.one_of(
        st.integers(max_value=0),
        st.integers(min_value=3651),
        st.floats(allow_nan=True),
        st.booleans(),
        st.text(),
    )
)
def test_anything_else_is_refused_and_changes_nothing(days: object) -> None:
    broker = _broker()
    with pytest.raises(LocalProtocolError, match="1 to 3650") as refused:
        broker.resolve(
            "a-1",
            Decision.ALLOW_ALWAYS,
            approver=ALICE,
            now_ms=1,
            grant_expires_in_days=days,  # type: ignore[arg-type]
        )
    assert refused.value.details["reason"] == "INVALID_PARAMS"
    record = broker.get("a-1", now_ms=1)
    assert record is not None
    assert record.state is ApprovalState.PENDING
    with pytest.raises(LocalProtocolError):
        check_grant_days(days)


def test_a_record_cannot_be_made_with_a_bad_lifetime() -> None:
    request = ApprovalRequest(id="a-1", command="ls", created_at_ms=0, expires_at_ms=1)
    with pytest.raises(LocalProtocolError, match="grant_expires_in_days"):
        ApprovalRecord(
            request=request,
            state=ApprovalState.ALLOWED_ALWAYS,
            decision=Decision.ALLOW_ALWAYS,
            grant_expires_in_days=0,
        )
