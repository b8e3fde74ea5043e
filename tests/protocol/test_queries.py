"""The read/admin approval payloads: round trips, and malformed answers fail closed."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from openclaw_exec.exceptions import RemoteProtocolError
from openclaw_exec.protocol import (
    APPROVAL_KINDS,
    ApprovalGateway,
    ApprovalHistoryPage,
    ApprovalResolution,
    ApprovalsFileSnapshot,
    ApprovalSnapshot,
    Decision,
    PendingExecApproval,
    PendingExecApprovalDetail,
    Principal,
    RequestFrame,
    ResponseFrame,
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


# --------------------------------------------------------------------- the gateway's side

_OPS = frozenset({"operator.approvals"})


def _gateway() -> tuple[ApprovalGateway, list[Any]]:
    gateway = ApprovalGateway()
    gateway.connect("req", Principal(id="dev-req", scopes=_OPS))
    gateway.connect("op", Principal(id="dev-op", scopes=_OPS))
    gateway.connect("op2", Principal(id="dev-op2", scopes=_OPS))
    return gateway, []


def _call(gateway: ApprovalGateway, who: str, method: str, params: dict[str, Any], now: int) -> Any:
    out = gateway.receive(
        who, RequestFrame(id=f"{who}-{method}", method=method, params=params), now_ms=now
    )
    answers = [
        o.frame
        for o in out
        if o.connection == who
        and isinstance(o.frame, ResponseFrame)
        and o.frame.id == f"{who}-{method}"
    ]
    assert answers, out
    answer = answers[-1]
    if not answer.ok:
        assert answer.error is not None
        raise RemoteProtocolError(answer.error.message, details=dict(answer.error.details or {}))
    return answer.payload


def _register(gateway: ApprovalGateway, approval_id: str, now: int, **extra: Any) -> None:
    params = {"id": approval_id, "command": f"echo {approval_id}", "twoPhase": True, **extra}
    _call(gateway, "req", "exec.approval.request", params, now)


def test_kit_list_get_resolve_history_in_order() -> None:
    gateway, _ = _gateway()
    for i in range(3):
        _register(gateway, f"appr-{i}", 1000 + i, ask="always" if i == 2 else "on-miss")
    listed = PendingExecApproval.list_from_payload(
        _call(gateway, "op", "exec.approval.list", {}, 2000)
    )
    assert [p.id for p in listed] == ["appr-0", "appr-1", "appr-2"]
    # The requester may not resolve its own, so it is not shown them.
    assert _call(gateway, "req", "exec.approval.list", {}, 2000) == []
    detail = PendingExecApprovalDetail.from_payload(
        _call(gateway, "op", "exec.approval.get", {"id": "appr-2"}, 2000)
    )
    assert detail.allowed_decisions == (Decision.ALLOW_ONCE, Decision.DENY)  # ask=always
    with pytest.raises(RemoteProtocolError, match="ambiguous"):
        _call(gateway, "op", "exec.approval.get", {"id": "appr-"}, 2000)
    # allow-always is not offered under ask=always: recorded as a deny (OpenClaw).
    first = ApprovalResolution.from_payload(
        _call(
            gateway,
            "op",
            "approval.resolve",
            {"id": "appr-2", "kind": "exec", "decision": "allow-always"},
            2001,
        )
    )
    assert (first.applied, first.approval.decision) == (True, Decision.DENY)
    again = ApprovalResolution.from_payload(
        _call(
            gateway,
            "op2",
            "approval.resolve",
            {"id": "appr-2", "kind": "exec", "decision": "allow-once"},
            2002,
        )
    )
    assert (again.applied, again.approval.decision) == (False, Decision.DENY)
    _call(
        gateway,
        "op",
        "approval.resolve",
        {"id": "appr-0", "kind": "exec", "decision": "allow-once"},
        2003,
    )
    with pytest.raises(RemoteProtocolError) as own:
        _call(
            gateway,
            "req",
            "approval.resolve",
            {"id": "appr-1", "kind": "exec", "decision": "allow-once"},
            2004,
        )
    assert own.value.details["reason"] == "SELF_APPROVAL_NOT_ALLOWED"
    page = ApprovalHistoryPage.from_payload(
        _call(gateway, "op", "approval.history", {"limit": 1}, 2005)
    )
    assert [i.id for i in page.items] == ["appr-0"]  # newest first
    assert page.next_cursor is not None
    rest = ApprovalHistoryPage.from_payload(
        _call(gateway, "op", "approval.history", {"limit": 5, "cursor": page.next_cursor}, 2005)
    )
    assert [i.id for i in rest.items] == ["appr-2"]
    assert rest.next_cursor is None
    assert (
        ApprovalHistoryPage.from_payload(
            _call(gateway, "op", "approval.history", {"kind": "plugin"}, 2005)
        ).items
        == ()
    )
    with pytest.raises(RemoteProtocolError, match="cursor"):
        _call(gateway, "op", "approval.history", {"cursor": "nope"}, 2005)
    expired_at = 1001 + 30 * 60 * 1000
    gateway.tick(now_ms=expired_at)
    lapsed = ApprovalSnapshot.from_payload(
        _call(gateway, "op", "approval.get", {"id": "appr-1"}, expired_at)["approval"]
    )
    assert (lapsed.status, lapsed.reason, lapsed.decision) == ("expired", "timeout", None)


def _resolve_params(method: str, decision: str, days: object) -> dict[str, Any]:
    params: dict[str, Any] = {"id": "appr-9", "decision": decision, "grantExpiresInDays": days}
    if method == "approval.resolve":
        params["kind"] = "exec"
    return params


@pytest.mark.parametrize("method", ["exec.approval.resolve", "approval.resolve"])
def test_kit_carries_grant_lifetime_to_the_record(method: str) -> None:
    gateway, _ = _gateway()
    _register(gateway, "appr-9", 1000)
    _call(gateway, "op", method, _resolve_params(method, "allow-always", 7), 1001)
    record = gateway.broker.get("appr-9", now_ms=1001)
    assert record is not None
    assert record.decision is Decision.ALLOW_ALWAYS
    assert record.grant_expires_in_days == 7


@pytest.mark.parametrize("method", ["exec.approval.resolve", "approval.resolve"])
@pytest.mark.parametrize("decision", ["allow-once", "deny"])
def test_kit_keeps_no_grant_lifetime_without_allow_always(method: str, decision: str) -> None:
    # OpenClaw 2026.9.6 validates it with any decision but stamps only an allow-always.
    gateway, _ = _gateway()
    _register(gateway, "appr-9", 1000)
    _call(gateway, "op", method, _resolve_params(method, decision, 7), 1001)
    record = gateway.broker.get("appr-9", now_ms=1001)
    assert record is not None
    assert record.decision is Decision(decision)
    assert record.grant_expires_in_days is None


@pytest.mark.parametrize("method", ["exec.approval.resolve", "approval.resolve"])
@pytest.mark.parametrize("days", [0, 3651, -1, 1.5, 7.0, "7", True, [7]])
def test_kit_refuses_a_bad_grant_lifetime(method: str, days: object) -> None:
    gateway, _ = _gateway()
    _register(gateway, "appr-9", 1000)
    with pytest.raises(RemoteProtocolError, match="grantExpiresInDays") as refused:
        _call(gateway, "op", method, _resolve_params(method, "allow-always", days), 1001)
    assert refused.value.details["reason"] == "INVALID_PARAMS"
    assert gateway.broker.get("appr-9", now_ms=1001).state.value == "pending"  # type: ignore[union-attr]
