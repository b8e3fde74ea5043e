"""The read/admin approval payloads: round trips, and malformed answers fail closed."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from openclaw_exec.exceptions import RemoteProtocolError
from openclaw_exec.protocol import (
    APPROVAL_KINDS,
    ApprovalHistoryPage,
    ApprovalResolution,
    ApprovalsFileSnapshot,
    ApprovalSnapshot,
    Decision,
    PendingExecApproval,
    PendingExecApprovalDetail,
    check_grant_expires_in_days,
)

# A snapshot exactly as OpenClaw 2026.9.6's approval.resolve answered in the interop run.
DENIED: dict[str, Any] = {
    "id": "7d1c3c1e-3f5e-4a59-9a57-5a7d7b2b1c11",
    "status": "denied",
    "presentation": {
        "kind": "exec",
        "commandText": "echo hi",
        "allowedDecisions": ["allow-once", "allow-always", "deny"],
        "host": "gateway",
        "agentId": "main",
    },
    "urlPath": "/approve/7d1c3c1e-3f5e-4a59-9a57-5a7d7b2b1c11",
    "createdAtMs": 1,
    "expiresAtMs": 60_001,
    "resolvedAtMs": 5,
    "reason": "user",
    "decision": "deny",
    "source": {"agentId": "main", "sessionKey": "agent:main:main"},
    "resolver": {"kind": "device", "id": "abc"},
}


def test_snapshot_round_trip() -> None:
    snap = ApprovalSnapshot.from_payload(DENIED)
    assert (snap.status, snap.decision, snap.kind, snap.final) == (
        "denied",
        Decision.DENY,
        "exec",
        True,
    )
    assert snap.command_text == "echo hi"
    assert (snap.source_session_key, snap.resolver_kind) == ("agent:main:main", "device")
    assert snap.to_payload() == DENIED
    resolution = ApprovalResolution(applied=False, approval=snap)
    assert ApprovalResolution.from_payload(resolution.to_payload()) == resolution
    page = ApprovalHistoryPage(items=(snap,), next_cursor="c2")
    assert ApprovalHistoryPage.from_payload(page.to_payload()) == page


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"status": "approved"}, "approval.status"),
        ({"decision": "allow-once"}, "approval.decision"),  # contradicts "denied"
        ({"decision": "yes"}, "approval.decision"),
        ({"id": ""}, "approval.id"),
        ({"presentation": {"kind": "shell"}}, "approval.presentation.kind"),
        ({"presentation": None}, "approval.presentation"),
    ],
)
def test_malformed_snapshots_are_refused_naming_the_field(
    change: dict[str, Any], field: str
) -> None:
    with pytest.raises(RemoteProtocolError) as refused:
        ApprovalSnapshot.from_payload({**DENIED, **change})
    assert field in refused.value.message


def test_allowed_without_a_decision_is_refused() -> None:
    allowed = {**DENIED, "status": "allowed"}
    del allowed["decision"]
    with pytest.raises(RemoteProtocolError):
        ApprovalSnapshot.from_payload(allowed)


def test_resolution_must_be_final() -> None:
    pending = {k: v for k, v in DENIED.items() if k not in {"decision", "reason", "resolvedAtMs"}}
    pending["status"] = "pending"
    with pytest.raises(RemoteProtocolError, match="final status"):
        ApprovalResolution.from_payload({"applied": True, "approval": pending})
    with pytest.raises(RemoteProtocolError, match="applied"):
        ApprovalResolution.from_payload({"applied": "yes", "approval": DENIED})


def test_list_and_detail() -> None:
    item = {
        "id": "a1",
        "request": {"command": "ls", "commandArgv": ["ls"], "cwd": "/tmp", "agentId": "main"},
        "createdAtMs": 1,
        "expiresAtMs": 2,
        "approvalKind": "exec",
    }
    (listed,) = PendingExecApproval.list_from_payload([item])
    assert (listed.id, listed.command, listed.command_argv, listed.cwd) == (
        "a1",
        "ls",
        ("ls",),
        "/tmp",
    )
    with pytest.raises(RemoteProtocolError):
        PendingExecApproval.list_from_payload({"items": []})
    with pytest.raises(RemoteProtocolError, match="command"):
        PendingExecApproval.list_from_payload([{"id": "a2", "request": {}}])
    detail = PendingExecApprovalDetail(
        id="a1", command_text="ls", allowed_decisions=(Decision.ALLOW_ONCE, Decision.DENY)
    )
    assert PendingExecApprovalDetail.from_payload(detail.to_payload()) == detail
    # Decisions this library does not know are dropped, never mapped to one it does.
    odd = {**detail.to_payload(), "allowedDecisions": ["allow-forever", "deny"]}
    assert PendingExecApprovalDetail.from_payload(odd).allowed_decisions == (Decision.DENY,)


def test_approvals_file_snapshot() -> None:
    snap = ApprovalsFileSnapshot(path="/x", exists=True, hash="h", file={"version": 1})
    assert ApprovalsFileSnapshot.from_payload(snap.to_payload()) == snap
    with pytest.raises(RemoteProtocolError, match="hash"):
        ApprovalsFileSnapshot.from_payload({"path": "/x", "exists": True, "file": {}})


@given(st.one_of(st.integers(), st.booleans(), st.floats(), st.text(), st.none()))
def test_grant_days_bounds(value: object) -> None:
    ok = value is None or (type(value) is int and 1 <= value <= 3650)
    if ok:
        assert check_grant_expires_in_days(value) == value
    else:
        with pytest.raises(RemoteProtocolError):
            check_grant_expires_in_days(value)


def test_kinds() -> None:
    assert APPROVAL_KINDS == ("exec", "plugin", "system-agent")
