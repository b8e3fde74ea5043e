"""The gateway methods, driven through a requester and an operator joined by a fake link."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from openclaw_exec.exceptions import LocalProtocolError
from openclaw_exec.protocol import (
    ApprovalGateway,
    Principal,
    RequestFrame,
    decode_frame,
)
from openclaw_exec.protocol._wire import dumps

OPS = frozenset({"operator.approvals"})
T0 = 1_700_000_000_000


class Link:
    """Two (or more) clients on one gateway; frames pass through JSON both ways."""

    def __init__(self, *clients: tuple[str, Principal]) -> None:
        self.gateway = ApprovalGateway(new_id=lambda: "generated-id-0001")
        self.inbox: dict[str, list[dict[str, Any]]] = {}
        self.now = T0
        for name, principal in clients:
            self.gateway.connect(name, principal)
            self.inbox[name] = []
        self.counter = 0

    def deliver(self, outgoing: list[Any]) -> None:
        for item in outgoing:
            self.inbox[item.connection].append(json.loads(dumps(item.frame)))

    def call(self, who: str, method: str, params: Any) -> str:
        self.counter += 1
        frame_id = f"{who}-{self.counter}"
        raw = dumps(RequestFrame(id=frame_id, method=method, params=params))
        frame = decode_frame(raw)
        assert isinstance(frame, RequestFrame)
        self.deliver(self.gateway.receive(who, frame, now_ms=self.now))
        return frame_id

    def advance(self, ms: int) -> None:
        self.now += ms
        self.deliver(self.gateway.tick(now_ms=self.now))

    def take(self, who: str) -> list[dict[str, Any]]:
        frames, self.inbox[who] = self.inbox[who], []
        return frames


def pair() -> Link:
    return Link(
        ("exec", Principal(id="exec-host", scopes=OPS)),
        ("op", Principal(id="c-op", display_name="py-operator", scopes=OPS)),
    )


REQUEST = {
    "id": "75e4d959-aaaa",
    "command": "echo hello",
    "commandArgv": ["sh", "-lc", "echo hello"],
    "cwd": "/tmp",
    "host": "gateway",
    "agentId": "main",
    "sessionKey": "agent:main:main",
    "timeoutMs": 60000,
    "twoPhase": True,
}


def test_two_phase_request_resolved_by_operator() -> None:
    link = pair()
    req = link.call("exec", "exec.approval.request", REQUEST)
    accepted = link.take("exec")
    assert [f["type"] for f in accepted] == ["res"]  # its own request is not announced to it
    assert accepted[0] == {
        "type": "res",
        "id": req,
        "ok": True,
        "payload": {
            "status": "accepted",
            "id": "75e4d959-aaaa",
            "createdAtMs": T0,
            "expiresAtMs": T0 + 60000,
        },
    }
    (event,) = link.take("op")
    assert event["event"] == "exec.approval.requested"
    assert event["payload"]["request"]["commandArgv"] == ["sh", "-lc", "echo hello"]
    assert event["seq"] == 1
    link.now += 5
    res = link.call("op", "exec.approval.resolve", {"id": "75e4d959", "decision": "allow-once"})
    op_frames = link.take("op")
    assert op_frames[0]["event"] == "exec.approval.resolved"
    assert op_frames[0]["payload"]["resolvedBy"] == "py-operator"
    assert op_frames[0]["payload"]["ts"] == T0 + 5
    assert op_frames[-1] == {"type": "res", "id": res, "ok": True, "payload": {"ok": True}}
    final = [f for f in link.take("exec") if f["type"] == "res"]
    assert final == [
        {
            "type": "res",
            "id": req,
            "ok": True,
            "payload": {
                "id": "75e4d959-aaaa",
                "decision": "allow-once",
                "createdAtMs": T0,
                "expiresAtMs": T0 + 60000,
            },
        }
    ]


def test_wait_decision_on_a_new_connection_after_the_requester_left() -> None:
    link = pair()
    link.call("exec", "exec.approval.request", REQUEST)
    link.gateway.disconnect("exec")
    link.gateway.connect("exec2", Principal(id="exec-host", scopes=OPS))
    link.inbox["exec2"] = []
    wait = link.call("exec2", "exec.approval.waitDecision", {"id": "75e4d959-aaaa"})
    assert link.take("exec2") == []
    link.call("op", "exec.approval.resolve", {"id": "75e4d959-aaaa", "decision": "deny"})
    (final,) = [f for f in link.take("exec2") if f["type"] == "res"]
    assert final["id"] == wait
    assert final["payload"]["decision"] == "deny"


def test_no_route_answers_null_at_once_without_accepted() -> None:
    link = Link(("exec", Principal(id="exec-host", scopes=OPS)))
    req = link.call("exec", "exec.approval.request", REQUEST)
    frames = link.take("exec")
    assert frames == [
        {
            "type": "res",
            "id": req,
            "ok": True,
            "payload": {
                "id": "75e4d959-aaaa",
                "decision": None,
                "createdAtMs": T0,
                "expiresAtMs": T0 + 60000,
            },
        }
    ]


def test_timeout_answers_null_and_late_resolve_is_not_found() -> None:
    link = pair()
    req = link.call(
        "exec", "exec.approval.request", {**REQUEST, "timeoutMs": 1000, "twoPhase": False}
    )
    link.take("exec")
    assert link.gateway.next_deadline_ms() == T0 + 1000
    link.advance(999)
    assert link.take("exec") == []
    link.advance(1)
    (final,) = link.take("exec")
    assert final["id"] == req
    assert final["payload"]["decision"] is None
    link.take("op")
    late = link.call(
        "op", "exec.approval.resolve", {"id": "75e4d959-aaaa", "decision": "allow-once"}
    )
    (error,) = link.take("op")
    assert error == {
        "type": "res",
        "id": late,
        "ok": False,
        "error": {
            "code": "INVALID_REQUEST",
            "message": "unknown or expired approval id",
            "details": {"reason": "APPROVAL_NOT_FOUND"},
        },
    }


def test_double_resolve_same_ok_different_refused() -> None:
    link = pair()
    link.call("exec", "exec.approval.request", REQUEST)
    link.call("op", "exec.approval.resolve", {"id": "75e4d959-aaaa", "decision": "deny"})
    link.take("op")
    link.call("op", "exec.approval.resolve", {"id": "75e4d959-aaaa", "decision": "deny"})
    assert link.take("op")[-1]["ok"] is True
    link.call("op", "exec.approval.resolve", {"id": "75e4d959-aaaa", "decision": "allow-once"})
    (error,) = link.take("op")
    assert error["error"]["message"] == "approval already resolved"
    assert error["error"]["details"] == {"reason": "APPROVAL_ALREADY_RESOLVED"}


@pytest.mark.parametrize(
    ("method", "params", "message"),
    [
        ("exec.approval.resolve", {"id": "x", "decision": "maybe"}, "invalid decision"),
        ("exec.approval.resolve", {"id": 1, "decision": "deny"}, "id"),
        ("exec.approval.request", {"command": "  "}, "command is required"),
        (
            "exec.approval.request",
            {"command": "ls", "host": "node"},
            "nodeId is required for host=node",
        ),
        (
            "exec.approval.request",
            {"command": "ls", "host": "node", "nodeId": "n1"},
            "systemRunPlan is required for host=node",
        ),
        ("exec.approval.request", {"command": "ls", "timeoutMs": 0}, "timeoutMs"),
        ("exec.approval.waitDecision", {"id": "nope"}, "approval expired or not found"),
        ("exec.approval.waitDecision", {"id": " "}, "id is required"),
        ("exec.approval.frobnicate", {}, "unknown method"),
    ],
)
def test_bad_calls_get_invalid_request(method: str, params: Any, message: str) -> None:
    link = pair()
    link.call("op", method, params)
    (error,) = link.take("op")
    assert error["ok"] is False
    assert error["error"]["code"] == "INVALID_REQUEST"
    assert message in error["error"]["message"]


def test_known_id_is_refused_and_missing_scope() -> None:
    link = pair()
    link.call("exec", "exec.approval.request", REQUEST)
    link.take("exec")
    link.call("exec", "exec.approval.request", REQUEST)
    assert link.take("exec")[-1]["error"]["message"] == "approval id already pending"
    link.gateway.connect("reader", Principal(id="r", scopes=frozenset({"operator.read"})))
    link.inbox["reader"] = []
    link.call("reader", "exec.approval.resolve", {"id": "75e4d959-aaaa", "decision": "allow-once"})
    assert link.take("reader")[-1]["error"]["message"] == "missing scope: operator.approvals"
    with pytest.raises(LocalProtocolError):
        link.gateway.connect("reader", Principal(id="r"))
    with pytest.raises(LocalProtocolError):
        link.gateway.receive("ghost", RequestFrame(id="1", method="x"), now_ms=0)


def test_node_request_binds_the_plan_and_generates_an_id() -> None:
    link = pair()
    params = {
        "host": "node",
        "nodeId": "node-1",
        "commandArgv": ["ls", "-la"],
        "env": {"HOME": "/root", "1BAD": "x"},
        "systemRunPlan": {
            "argv": ["/bin/ls", "-la"],
            "cwd": "/srv",
            "commandText": "ls -la",
            "agentId": "main",
            "sessionKey": "k",
        },
    }
    link.call("exec", "exec.approval.request", params)
    (event,) = link.take("op")
    body = event["payload"]["request"]
    assert event["payload"]["id"] == "generated-id-0001"
    assert body["command"] == "ls -la"
    assert body["cwd"] == "/srv"
    assert body["envKeys"] == ["HOME"]
    assert body["systemRunBinding"]["argv"] == ["/bin/ls", "-la"]
    assert body["systemRunBinding"]["envHash"] is not None


json_leaf = st.none() | st.booleans() | st.integers(-5, 10**6) | st.text(max_size=12)
json_value = st.recursive(
    json_leaf,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=6,
)
param_keys = st.sampled_from(
    [
        "id",
        "command",
        "commandArgv",
        "decision",
        "host",
        "nodeId",
        "systemRunPlan",
        "env",
        "timeoutMs",
        "twoPhase",
        "cwd",
    ]
)
params = (
    st.none()
    | json_value
    | st.dictionaries(
        param_keys, json_value | st.sampled_from(["allow-once", "deny", "node", "ls"]), max_size=6
    )
)
methods = st.sampled_from(
    ["exec.approval.request", "exec.approval.waitDecision", "exec.approval.resolve", "x"]
)


@given(
    st.lists(
        st.tuples(st.sampled_from(["exec", "op"]), methods, params, st.integers(0, 5_000)),
        max_size=12,
    )
)
def test_gateway_answers_any_frame_sequence_with_valid_frames(
    calls: list[tuple[str, str, Any, int]],
) -> None:
    link = pair()
    answered: dict[str, int] = {}
    for who, method, body, step in calls:
        link.now += step
        frame_id = link.call(who, method, body)
        link.advance(0)
        for name in ("exec", "op"):
            for frame in link.take(name):
                assert frame["type"] in {"res", "event"}
                decoded = decode_frame(json.dumps(frame))
                assert decoded is not None
                if frame["type"] == "res":
                    answered[frame["id"]] = answered.get(frame["id"], 0) + 1
                    if not frame["ok"]:
                        assert frame["error"]["code"] == "INVALID_REQUEST"
                        assert frame["error"]["message"]
        parked = method in {"exec.approval.request", "exec.approval.waitDecision"}
        assert frame_id in answered or parked
    # a request id gets at most two answers (accepted + final), every other call exactly one
    assert all(count <= 2 for count in answered.values())


def test_a_connection_without_events_is_left_out_of_the_fan_out_only() -> None:
    """``events=False``: no event frames for it, yet still an approver and a route."""
    link = Link(("exec", Principal(id="exec-host", scopes=OPS)))
    link.gateway.connect("quiet", Principal(id="c-quiet", scopes=OPS), events=False)
    link.inbox["quiet"] = []
    link.call("exec", "exec.approval.request", REQUEST)
    assert link.take("quiet") == []  # not shown the request...
    accepted = link.take("exec")
    assert accepted[0]["payload"]["status"] == "accepted"  # ...but it was a route
    frame_id = link.call(
        "quiet", "exec.approval.resolve", {"id": REQUEST["id"], "decision": "deny"}
    )
    answers = link.take("quiet")
    assert [f["id"] for f in answers] == [frame_id]  # its answer, no resolved event
    assert answers[0]["ok"] is True
    final = link.take("exec")
    assert final[-1]["payload"]["decision"] == "deny"
