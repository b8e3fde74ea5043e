from __future__ import annotations

import contextlib
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from openclaw_exec.exceptions import RemoteProtocolError
from openclaw_exec.protocol import (
    ApprovalBroker,
    ApprovalRequest,
    Decision,
    DecisionPayload,
    EventFrame,
    ExecApprovalRequestParams,
    ExecBinding,
    Principal,
    RequestFrame,
    ResolveParams,
    ResponseFrame,
    SocketDecision,
    SocketPrompt,
    SocketRequest,
    SystemRunPlan,
    decode_frame,
    decode_socket_message,
    error_response,
    parse_requested_event,
    parse_resolved_event,
    requested_event,
    resolved_event,
)
from openclaw_exec.protocol._wire import dumps, encode, structure

# Frames as recorded against OpenClaw 2026.4.1 (gateway-interop.md section 4, ids shortened).
OPENCLAW_REQUEST = (
    '{"type":"req","id":"a69af115","method":"exec.approval.request","params":{"id":"75e4d959",'
    '"command":"echo hello-round1","commandArgv":["sh","-lc","echo hello-round1"],"cwd":"/tmp",'
    '"host":"gateway","security":"full","ask":"always","agentId":"main",'
    '"sessionKey":"agent:main:main","timeoutMs":60000,"twoPhase":true}}'
)
OPENCLAW_RESOLVE = (
    '{"type":"req","id":"00a7fb0b","method":"exec.approval.resolve",'
    '"params":{"id":"75e4d959","decision":"allow-once"}}'
)


def test_openclaw_request_frame_round_trips() -> None:
    frame = decode_frame(OPENCLAW_REQUEST)
    assert isinstance(frame, RequestFrame)
    params = structure(frame.params, ExecApprovalRequestParams)
    assert params.command_argv == ("sh", "-lc", "echo hello-round1")
    assert params.timeout_ms == 60000
    assert params.two_phase is True
    assert json.loads(dumps(frame)) == json.loads(OPENCLAW_REQUEST)
    assert encode(params) == json.loads(OPENCLAW_REQUEST)["params"]


def test_resolve_params_and_error_shape() -> None:
    frame = decode_frame(OPENCLAW_RESOLVE)
    assert isinstance(frame, RequestFrame)
    assert structure(frame.params, ResolveParams) == ResolveParams(
        id="75e4d959", decision=Decision.ALLOW_ONCE
    )
    error = error_response(
        "00a7fb0b", "unknown or expired approval id", reason="APPROVAL_NOT_FOUND"
    )
    assert encode(error) == {
        "type": "res",
        "id": "00a7fb0b",
        "ok": False,
        "error": {
            "code": "INVALID_REQUEST",
            "message": "unknown or expired approval id",
            "details": {"reason": "APPROVAL_NOT_FOUND"},
        },
    }
    assert decode_frame(dumps(error)) == error
    ok = ResponseFrame(id="1", ok=True, payload={"ok": True})
    assert encode(ok) == {"type": "res", "id": "1", "ok": True, "payload": {"ok": True}}


def test_unknown_fields_are_tolerated() -> None:
    frame = decode_frame(
        '{"type":"event","event":"tick","payload":{},"seq":3,"stateVersion":{"presence":1,"health":2},"new":1}'
    )
    assert isinstance(frame, EventFrame)
    assert frame.state_version is not None
    assert frame.state_version.health == 2
    params = structure(
        {"id": "x", "decision": "deny", "reviewer": {"channel": "slack"}}, ResolveParams
    )
    assert params.decision is Decision.DENY


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("not json", "not JSON"),
        ("[1,2]", "expected an object"),
        ('{"type":"rpc"}', "unknown type 'rpc'"),
        ('{"type":"req","id":"1"}', "method"),
        ('{"type":"req","id":1,"method":"m"}', "id"),
        ('{"type":"res","id":"1","ok":"yes"}', "ok"),
        ('{"type":"event","event":"e","seq":true}', "seq"),
        ('{"type":"event","event":"e","seq":NaN}', "not JSON"),
    ],
)
def test_bad_frames_raise_clear_protocol_errors(raw: str, message: str) -> None:
    with pytest.raises(RemoteProtocolError, match=message) as info:
        decode_frame(raw)
    assert info.value.error_code == "INVALID_REQUEST"
    assert info.value.details["reason"] in {"INVALID_FRAME", "INVALID_JSON"}


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"id": "x", "decision": "allow"}, "decision"),
        ({"id": 3, "decision": "deny"}, "id"),
        ({"decision": "deny"}, "id"),
    ],
)
def test_bad_resolve_params(params: dict[str, object], field: str) -> None:
    with pytest.raises(RemoteProtocolError, match=field):
        structure(params, ResolveParams)


def test_request_params_are_strict_about_types() -> None:
    for bad in ({"commandArgv": "ls"}, {"timeoutMs": True}, {"twoPhase": "yes"}, {"env": {"A": 1}}):
        with pytest.raises(RemoteProtocolError):
            structure({"command": "ls", **bad}, ExecApprovalRequestParams)


def _request(**extra: object) -> ApprovalRequest:
    fields: dict[str, object] = {
        "id": "75e4d959",
        "command": "echo hi",
        "created_at_ms": 1000,
        "expires_at_ms": 61000,
        "command_argv": ("sh", "-lc", "echo hi"),
        "cwd": "/tmp",
        "host": "gateway",
        "agent_id": "main",
        "session_key": "agent:main:main",
        "env_keys": ("HOME",),
        "binding": ExecBinding.of(["sh", "-lc", "echo hi"], cwd="/tmp", env={"HOME": "/root"}),
        "turn_source_thread_id": 42,
    }
    fields.update(extra)
    return ApprovalRequest(**fields)  # type: ignore[arg-type]


def test_requested_event_shape_and_round_trip() -> None:
    request = _request(
        system_run_plan=SystemRunPlan(argv=("ls",), command_text="ls", cwd=None, agent_id="main")
    )
    frame = requested_event(request, seq=58)
    data = json.loads(dumps(frame))
    assert data["type"] == "event"
    assert data["event"] == "exec.approval.requested"
    assert set(data["payload"]) == {"id", "request", "createdAtMs", "expiresAtMs"}
    body = data["payload"]["request"]
    assert body["commandArgv"] == ["sh", "-lc", "echo hi"]
    assert body["envKeys"] == ["HOME"]
    assert body["systemRunBinding"]["envHash"] == request.binding.env_hash  # type: ignore[union-attr]
    assert body["systemRunPlan"]["commandText"] == "ls"
    assert body["resolvedPath"] is None
    decoded = decode_frame(dumps(frame))
    assert isinstance(decoded, EventFrame)
    assert parse_requested_event(decoded) == request


def test_resolved_event_shape() -> None:
    broker = ApprovalBroker()
    broker.register(_request(), now_ms=1000)
    result = broker.resolve(
        "75e4d959",
        Decision.DENY,
        approver=Principal(id="c1", display_name="py-operator"),
        now_ms=2000,
    )
    assert result.record is not None
    frame = resolved_event(result.record)
    data = json.loads(dumps(frame))
    assert data["payload"]["decision"] == "deny"
    assert data["payload"]["resolvedBy"] == "py-operator"
    assert data["payload"]["ts"] == 2000
    assert data["payload"]["request"]["command"] == "echo hi"
    decoded = decode_frame(dumps(frame))
    assert isinstance(decoded, EventFrame)
    assert parse_resolved_event(decoded).decision is Decision.DENY
    pending = broker.register(_request(id="other"), now_ms=1000).record
    assert pending is not None
    with pytest.raises(ValueError, match="decided"):
        resolved_event(pending)


def test_event_parsers_reject_wrong_events() -> None:
    with pytest.raises(RemoteProtocolError, match=r"expected exec\.approval\.requested"):
        parse_requested_event(EventFrame(event="tick"))
    with pytest.raises(RemoteProtocolError, match=r"payload\.request"):
        parse_requested_event(EventFrame(event="exec.approval.requested", payload={"id": "x"}))
    with pytest.raises(RemoteProtocolError, match=r"expected exec\.approval\.resolved"):
        parse_resolved_event(EventFrame(event="tick"))
    bad_times = EventFrame(
        event="exec.approval.requested",
        payload={"id": "x", "request": {"command": "ls"}, "createdAtMs": 5, "expiresAtMs": 1},
    )
    with pytest.raises(RemoteProtocolError, match="before"):
        parse_requested_event(bad_times)


def test_decision_payload_keeps_null() -> None:
    payload = DecisionPayload(id="x", decision=None, created_at_ms=1, expires_at_ms=2)
    assert encode(payload) == {"id": "x", "decision": None, "createdAtMs": 1, "expiresAtMs": 2}


def test_socket_messages() -> None:
    request = SocketRequest(token="t0k", id="i1", request=SocketPrompt(command="ls", cwd="/tmp"))
    line = dumps(request)
    assert json.loads(line) == {
        "type": "request",
        "token": "t0k",
        "id": "i1",
        "request": {"command": "ls", "cwd": "/tmp"},
    }
    assert decode_socket_message(line) == request
    decision = SocketDecision(id="i1", decision=Decision.ALLOW_ALWAYS)
    assert json.loads(dumps(decision)) == {
        "type": "decision",
        "id": "i1",
        "decision": "allow-always",
    }
    for bad in ("{}", '{"type":"decision","id":"i1","decision":""}', "nope", '{"type":"exec"}'):
        with pytest.raises(RemoteProtocolError):
            decode_socket_message(bad)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(), children, max_size=3)
    ),
    max_leaves=8,
)


@given(json_values)
def test_any_json_either_decodes_or_raises_protocol_error(value: object) -> None:
    with contextlib.suppress(RemoteProtocolError):
        decode_frame(json.dumps(value))


@given(
    st.builds(
        RequestFrame,
        id=st.text(min_size=1),
        method=st.text(min_size=1),
        params=st.none() | st.dictionaries(st.text(), st.integers() | st.text(), max_size=3),
    )
)
def test_request_frames_round_trip(frame: RequestFrame) -> None:
    assert decode_frame(dumps(frame)) == frame
