"""
The gateway's hot-path codecs against the converter they stand in for (differential tests).

``dumps_frame`` (frames out), ``decode_frame``'s request fast path (frames in) and the event
payload builder skip cattrs where it only copies; each must give exactly what the converter
gives (the same JSON text, the same frame, the same error) for every input.
"""

from __future__ import annotations

import json
from typing import Any

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from openclaw_exec.exceptions import RemoteProtocolError
from openclaw_exec.protocol import (
    ApprovalRequest,
    Decision,
    DecisionPayload,
    ErrorShape,
    EventFrame,
    ExecBinding,
    RequestFrame,
    ResponseFrame,
    StateVersion,
    SystemRunPlan,
)
from openclaw_exec.protocol._codec import _CONVERTER, _camel, dumps_frame, structure
from openclaw_exec.protocol._frames import _FRAME_TYPES
from openclaw_exec.protocol._wire import (
    _REQUEST_FIELDS,
    _request_payload,
    decode_frame,
    dumps,
)

leaves = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text()
    | st.sampled_from(list(Decision))
    | st.builds(
        DecisionPayload,
        id=st.text(),
        decision=st.none() | st.sampled_from(list(Decision)),
        created_at_ms=st.integers(),
        expires_at_ms=st.integers(),
    )
)
payloads = st.recursive(
    leaves,
    lambda children: (
        st.lists(children, max_size=3)
        | st.lists(children, max_size=3).map(tuple)
        | st.dictionaries(st.text(), children, max_size=3)
    ),
    max_leaves=10,
)
errors = st.none() | st.builds(
    ErrorShape,
    code=st.text(),
    message=st.text(),
    details=st.none() | st.dictionaries(st.text(), st.text() | st.integers(), max_size=2),
    retryable=st.none() | st.booleans(),
    retry_after_ms=st.none() | st.integers(),
)
frames = (
    st.builds(
        EventFrame,
        event=st.text(),
        payload=payloads,
        seq=st.none() | st.integers(),
        state_version=st.none()
        | st.builds(StateVersion, presence=st.integers(), health=st.integers()),
    )
    | st.builds(ResponseFrame, id=st.text(), ok=st.booleans(), payload=payloads, error=errors)
    | st.builds(RequestFrame, id=st.text(), method=st.text(), params=payloads)
)


@given(frames)
def test_dumps_frame_is_dumps(frame: EventFrame | ResponseFrame | RequestFrame) -> None:
    assert dumps_frame(frame) == dumps(frame)


def test_dumps_frame_refuses_what_dumps_refuses() -> None:
    frame = EventFrame(event="x", payload={"a": {1, 2}})
    with pytest.raises(TypeError):
        dumps(frame)
    with pytest.raises(TypeError):
        dumps_frame(frame)


def _slow_decode(text: str) -> Any:
    """decode_frame without the fast path: the converter for every type."""
    data = json.loads(text)
    if not isinstance(data, dict):
        raise RemoteProtocolError("not an object")
    kind = data.get("type")
    cls = _FRAME_TYPES.get(kind) if isinstance(kind, str) else None
    if cls is None:
        raise RemoteProtocolError("unknown type")
    return structure(data, cls, what=f"{kind} frame")


request_like = st.fixed_dictionaries(
    {"type": st.just("req")},
    optional={
        "id": st.text() | st.integers() | st.none() | st.booleans(),
        "method": st.text() | st.integers() | st.none() | st.lists(st.text(), max_size=1),
        "params": payloads.filter(lambda v: not attrs.has(type(v))).map(
            lambda v: json.loads(dumps_frame(EventFrame(event="", payload=v))).get("payload")
        ),
        "extra": st.text(),
    },
)


@given(request_like)
def test_request_fast_path_is_the_converter(data: dict[str, Any]) -> None:
    text = json.dumps(data)
    try:
        expected = _slow_decode(text)
    except RemoteProtocolError:
        with pytest.raises(RemoteProtocolError):
            decode_frame(text)
        return
    assert decode_frame(text) == expected


def _old_request_payload(request: ApprovalRequest) -> dict[str, Any]:
    """The builder as it was before the hot-path rewrite (the reference)."""
    out: dict[str, Any] = {}
    for name in _REQUEST_FIELDS:
        value = getattr(request, name)
        if (
            name in {"command_argv", "env_keys", "system_run_plan", "command_preview"}
            and value is None
        ):
            continue
        out[_camel(name)] = _CONVERTER.unstructure(value)
    if request.binding is not None:
        out["systemRunBinding"] = _CONVERTER.unstructure(request.binding)
    return out


words = st.text(alphabet="abc xyz-_/.", min_size=1, max_size=8).filter(lambda s: s.strip())
maybe = st.none() | words
argvs = st.lists(words, min_size=1, max_size=3).map(tuple)
requests = st.builds(
    ApprovalRequest,
    id=st.text(alphabet="abcdef0123456789-", min_size=1, max_size=12).filter(
        lambda s: s.strip("-") == s and s not in {".", ".."}
    ),
    command=words,
    created_at_ms=st.integers(0, 10**12),
    expires_at_ms=st.just(10**13),
    command_argv=st.none() | argvs,
    command_preview=maybe,
    cwd=maybe,
    host=maybe,
    node_id=maybe,
    security=maybe,
    ask=maybe,
    agent_id=maybe,
    resolved_path=maybe,
    session_key=maybe,
    env_keys=st.none() | argvs,
    binding=st.none() | st.builds(ExecBinding, argv=argvs, cwd=maybe, env_hash=maybe),
    system_run_plan=st.none() | st.builds(SystemRunPlan, argv=argvs, command_text=words),
    turn_source_channel=maybe,
    turn_source_to=maybe,
    turn_source_account_id=maybe,
    turn_source_thread_id=st.none() | words | st.integers(),
)


@given(requests)
def test_request_payload_is_the_converters(request: ApprovalRequest) -> None:
    fast, slow = _request_payload(request), _old_request_payload(request)
    assert fast == slow
    assert list(fast) == list(slow)  # the same key order: the same JSON text
    assert json.dumps(fast) == json.dumps(slow)
