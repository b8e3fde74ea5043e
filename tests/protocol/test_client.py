"""ApprovalClient against ApprovalGateway through ProtocolPair (JSON on the link, fake clock)."""

from __future__ import annotations

import pytest

from openclaw_exec.exceptions import RemoteProtocolError
from openclaw_exec.protocol import (
    ApprovalAnnounced,
    ApprovalClient,
    ApprovalSettled,
    CallFailed,
    Decision,
    DecisionReceived,
    ExecApprovalRequestParams,
    Principal,
    RequestAccepted,
    ResolveAcknowledged,
    ResponseFrame,
)
from openclaw_exec.protocol._wire import dumps
from openclaw_exec.testing.protocol_pair import ProtocolPair

OPS = frozenset({"operator.approvals"})
EXEC = Principal(id="exec-host", scopes=OPS)
OPERATOR = Principal(id="c1", display_name="Alice", scopes=OPS)
PARAMS = ExecApprovalRequestParams(
    command="make deploy", cwd="/srv", agent_id="main", timeout_ms=60_000
)


def pair() -> ProtocolPair:
    return ProtocolPair(("exec", EXEC), ("op", OPERATOR))


@pytest.mark.parametrize("decision", list(Decision))
@pytest.mark.parametrize("two_phase", [True, False])
def test_request_and_resolve(decision: Decision, two_phase: bool) -> None:
    link = pair()
    frame = link.client("exec").request(PARAMS if not two_phase else _two_phase())
    link.send("exec", frame)
    first = link.take("exec")
    # The requester holds the approvals scope too, but is not shown its own request (it may
    # not resolve it; OpenClaw 2026.4.1 did show it): only the accepted answer, if any.
    assert not any(isinstance(e, ApprovalAnnounced) for e in first)
    if two_phase:
        assert isinstance(first[0], RequestAccepted)
    (announced,) = link.take("op")
    assert isinstance(announced, ApprovalAnnounced)
    assert announced.request.command == "make deploy"
    link.send("op", link.client("op").resolve(announced.request.slug, decision))
    op_events = link.take("op")
    assert isinstance(op_events[0], ApprovalSettled)
    assert op_events[0].resolved.resolved_by == "Alice"
    assert isinstance(op_events[-1], ResolveAcknowledged)
    final = [e for e in link.take("exec") if isinstance(e, DecisionReceived)]
    assert [(e.frame_id, e.decision) for e in final] == [(frame.id, decision)]
    assert link.client("exec").pending_calls == 0


def _two_phase() -> ExecApprovalRequestParams:
    return ExecApprovalRequestParams(
        command="make deploy", cwd="/srv", timeout_ms=60_000, two_phase=True
    )


def test_timeout_gives_null_and_late_resolve_fails() -> None:
    link = pair()
    link.send("exec", link.client("exec").request(PARAMS))
    (announced,) = link.take("op")
    assert isinstance(announced, ApprovalAnnounced)
    link.advance(60_000)
    (final,) = [e for e in link.take("exec") if isinstance(e, DecisionReceived)]
    assert final.decision is None
    link.send("op", link.client("op").resolve(announced.request.id, Decision.ALLOW_ONCE))
    (failed,) = link.take("op")
    assert isinstance(failed, CallFailed)
    assert (failed.method, failed.reason) == ("exec.approval.resolve", "APPROVAL_NOT_FOUND")


def test_no_route_answers_null_at_once() -> None:
    link = ProtocolPair(("exec", EXEC))
    link.send("exec", link.client("exec").request(_two_phase()))
    (final,) = link.take("exec")
    assert isinstance(final, DecisionReceived)
    assert final.decision is None


def test_wait_decision_from_a_new_connection() -> None:
    link = pair()
    link.send("exec", link.client("exec").request(PARAMS))
    (announced,) = link.take("op")
    assert isinstance(announced, ApprovalAnnounced)
    link.disconnect("exec")
    link.connect("exec2", EXEC)
    link.send("exec2", link.client("exec2").wait_decision(announced.request.id))
    link.take("exec2")
    link.send("op", link.client("op").resolve(announced.request.id, Decision.DENY))
    (final,) = [e for e in link.take("exec2") if isinstance(e, DecisionReceived)]
    assert final.decision is Decision.DENY
    link.send("exec2", link.client("exec2").wait_decision("not-a-real-id"))
    (failed,) = link.take("exec2")
    assert isinstance(failed, CallFailed)
    assert failed.message == "approval expired or not found"


def test_second_operator_loses_politely() -> None:
    link = pair()
    link.connect("op2", Principal(id="c2", scopes=OPS))
    link.send("exec", link.client("exec").request(PARAMS))
    (announced,) = link.take("op")
    approval_id = announced.request.id  # type: ignore[union-attr]
    link.send("op", link.client("op").resolve(approval_id, Decision.ALLOW_ONCE))
    link.send("op2", link.client("op2").resolve(approval_id, Decision.DENY))
    failed = [e for e in link.take("op2") if isinstance(e, CallFailed)]
    assert [f.reason for f in failed] == ["APPROVAL_ALREADY_RESOLVED"]


def test_client_ignores_foreign_frames_and_rejects_bad_payloads() -> None:
    client = ApprovalClient(frame_prefix="me")
    assert client.receive('{"type":"event","event":"tick","payload":{}}') == []
    assert client.receive('{"type":"res","id":"someone-else","ok":true}') == []
    frame = client.wait_decision("x")
    with pytest.raises(RemoteProtocolError, match="answer"):
        client.receive(dumps(_res(frame.id, {"id": "x", "decision": "perhaps"})))
    assert client.pending_calls == 1
    with pytest.raises(RemoteProtocolError, match="does not send requests"):
        client.receive('{"type":"req","id":"1","method":"exec.approval.resolve"}')
    with pytest.raises(ValueError, match="prefix"):
        ApprovalClient(frame_prefix="")


def _res(frame_id: str, payload: object) -> ResponseFrame:
    return ResponseFrame(id=frame_id, ok=True, payload=payload)
