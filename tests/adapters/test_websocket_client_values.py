"""Pure parts of the gateway clients: back-off, error classification, payload readers."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from openclaw_exec.adapters.websocket import (
    ApprovalOutcome,
    ApprovalPrompt,
    GatewayError,
    HelloOk,
    PairingRequiredError,
    ReconnectPolicy,
)
from openclaw_exec.adapters.websocket._values import _covers, _error_from, _retry_allowed
from openclaw_exec.protocol import Decision

policies = st.builds(
    ReconnectPolicy,
    max_attempts=st.integers(1, 50),
    initial_delay=st.floats(0, 10),
    max_delay=st.floats(0, 60),
    multiplier=st.floats(1, 5),
)


@given(policies, st.integers(1, 200))
def test_backoff_is_monotone_and_bounded(policy: ReconnectPolicy, failures: int) -> None:
    delay = policy.delay(failures)
    assert 0 <= delay <= policy.max_delay
    assert policy.delay(failures + 1) >= delay
    assert policy.delay(1) == min(policy.max_delay, policy.initial_delay)


def test_backoff_refuses_nonsense() -> None:
    with pytest.raises(ValueError):
        ReconnectPolicy(max_attempts=0)
    with pytest.raises(ValueError):
        ReconnectPolicy(multiplier=0.5)


def test_pairing_error_prefers_the_gateways_remediation() -> None:
    details = {
        "code": "PAIRING_REQUIRED",
        "reason": "metadata-upgrade",
        "requestId": "r-1",
        "remediationHint": "Approve the device again with openclaw devices approve r-1",
    }
    error = _error_from(
        "connect",
        {"code": "NOT_PAIRED", "message": "pairing required", "details": details},
        close_code=1008,
    )
    assert isinstance(error, PairingRequiredError)
    assert error.remediation == details["remediationHint"]
    assert (error.request_id, error.reason) == ("r-1", "metadata-upgrade")
    assert _retry_allowed(error) is None


def test_pairing_error_without_details_names_the_recovery() -> None:
    error = _error_from(
        "connect",
        {
            "code": "NOT_PAIRED",
            "message": "pairing required",
            "details": {"code": "PAIRING_REQUIRED", "reason": "scope-upgrade"},
        },
    )
    assert isinstance(error, PairingRequiredError)
    assert error.request_id is None
    assert "openclaw devices approve <requestId>" in error.remediation


@pytest.mark.parametrize(
    ("error", "retry"),
    [
        (
            {"code": "UNAVAILABLE", "message": "starting", "retryable": True, "retryAfterMs": 500},
            0.5,
        ),
        (
            {
                "code": "INVALID_REQUEST",
                "message": "unauthorized",
                "details": {"code": "AUTH_TOKEN_MISMATCH"},
            },
            None,
        ),
        ({"code": "INVALID_REQUEST", "message": "bad"}, None),
        ("not an object", None),
    ],
)
def test_which_refusals_are_retried(error: Any, retry: float | None) -> None:
    assert _retry_allowed(_error_from("connect", error)) == retry


@given(
    st.lists(
        st.sampled_from(
            [
                "operator.read",
                "operator.write",
                "operator.approvals",
                "operator.admin",
                "operator.pairing",
            ]
        ),
        max_size=5,
    ),
    st.lists(
        st.sampled_from(
            ["operator.read", "operator.write", "operator.approvals", "operator.pairing"]
        ),
        max_size=4,
    ),
)
def test_scope_coverage_matches_openclaw(granted: list[str], wanted: list[str]) -> None:
    expected = "operator.admin" in granted or all(
        w in granted or (w == "operator.read" and "operator.write" in granted) for w in wanted
    )
    assert _covers(granted, wanted) is expected
    assert _covers(granted, []) is True


def test_prompt_reader_fails_closed_on_garbage() -> None:
    with pytest.raises(GatewayError, match="without an id"):
        ApprovalPrompt.from_payload({"request": {"command": "ls"}})
    with pytest.raises(GatewayError, match="without a command"):
        ApprovalPrompt.from_payload({"id": "a", "request": {}})
    plan = ApprovalPrompt.from_payload(
        {"id": "a", "request": {"systemRunPlan": {"commandText": "ls -l"}}}
    )
    assert plan.command == "ls -l"
    limited = ApprovalPrompt.from_payload(
        {"id": "a", "request": {"command": "ls"}, "allowedDecisions": ["deny", "bogus"]}
    )
    assert limited.allowed_decisions == (Decision.DENY,)


def test_outcome_reader() -> None:
    assert ApprovalOutcome.from_payload({"id": "a", "decision": None}, "x").decision is None
    assert ApprovalOutcome.from_payload({"decision": "deny"}, "x").id == "x"
    with pytest.raises(GatewayError, match="unknown decision"):
        ApprovalOutcome.from_payload({"id": "a", "decision": "maybe"}, "a")


def test_hello_reader_tolerates_new_fields_but_needs_a_protocol() -> None:
    hello = HelloOk.from_payload(
        {"type": "hello-ok", "protocol": 4, "new": {"x": 1}, "auth": {"scopes": ["a", 3]}}
    )
    assert hello.protocol == 4
    assert hello.scopes == ("a",)
    with pytest.raises(GatewayError, match="protocol"):
        HelloOk.from_payload({"type": "hello-ok"})
