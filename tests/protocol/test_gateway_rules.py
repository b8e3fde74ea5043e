"""
Properties of ApprovalGateway's rules over arbitrary call sequences (sans-IO, fake clock).

* no approval is ever decided by the connection that made it, nor by a connection of the
  same principal, unless that principal is named in ``allow_self_approval``;
* a requester is never shown its own request;
* open requests never exceed the per-connection and per-principal bounds, whatever frame ids
  are reused, and the counts always equal the pending approvals each one registered;
* no approval outlives ``max_timeout_ms``.
"""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from openclaw_exec.protocol import ApprovalGateway, Principal, RequestFrame, decode_frame
from openclaw_exec.protocol._wire import dumps

OPS = frozenset({"operator.approvals"})
T0 = 1_700_000_000_000
# Four connections, three principals: c0 and c1 share principal "dev-a".
CONNECTIONS = {"c0": "dev-a", "c1": "dev-a", "c2": "dev-b", "c3": "dev-c"}

call = st.one_of(
    st.tuples(
        st.just("request"),
        st.sampled_from(sorted(CONNECTIONS)),
        st.sampled_from(["f1", "f2"]),  # frame ids are reused on purpose
        st.one_of(st.integers(1, 5_000), st.just(10**30)),
    ),
    st.tuples(
        st.just("resolve"),
        st.sampled_from(sorted(CONNECTIONS)),
        st.integers(0, 30),  # index into the ids registered so far
        st.sampled_from(["allow-once", "allow-always", "deny"]),
    ),
    st.tuples(st.just("tick"), st.integers(0, 3_000)),
)


@settings(max_examples=150, deadline=None)
@given(
    calls=st.lists(call, max_size=60),
    allowed=st.sets(st.sampled_from(["dev-a", "dev-b", "dev-c"]), max_size=1),
)
def test_rules_hold_for_any_call_sequence(calls: list[Any], allowed: set[str]) -> None:
    counter = iter(range(10**6))
    gateway = ApprovalGateway(
        new_id=lambda: f"id-{next(counter):06d}",
        allow_self_approval=allowed,
        max_pending_per_connection=3,
        max_pending_per_principal=4,
        max_timeout_ms=10_000,
    )
    for key, principal in CONNECTIONS.items():
        gateway.connect(key, Principal(id=principal, scopes=OPS))
    now = T0
    owner: dict[str, str] = {}  # approval id -> requesting connection
    seq = 0
    for item in calls:
        if item[0] == "tick":
            now += item[1]
            gateway.tick(now_ms=now)
            continue
        if item[0] == "request":
            _, conn, frame_id, timeout = item
            seq += 1
            params = {"command": f"echo {seq}", "timeoutMs": timeout, "twoPhase": True}
            frame = RequestFrame(id=frame_id, method="exec.approval.request", params=params)
        else:
            _, conn, index, decision = item
            ids = sorted(owner)
            if not ids:
                continue
            approval_id = ids[index % len(ids)]
            params = {"id": approval_id, "decision": decision}
            frame = RequestFrame(id="r", method="exec.approval.resolve", params=params)
        decoded = decode_frame(dumps(frame))
        assert isinstance(decoded, RequestFrame)
        out = gateway.receive(conn, decoded, now_ms=now)
        for sent in out:
            payload = sent.frame.payload if isinstance(sent.frame.payload, dict) else {}
            if getattr(sent.frame, "event", None) == "exec.approval.requested":
                requested = payload["id"]
                if requested not in owner:
                    owner[requested] = conn
                mine = owner[requested]
                if CONNECTIONS[mine] not in allowed:
                    assert sent.connection != mine
                    assert CONNECTIONS[str(sent.connection)] != CONNECTIONS[mine]
            if getattr(sent.frame, "event", None) == "exec.approval.resolved":
                resolver, requester = conn, owner[payload["id"]]
                if CONNECTIONS[resolver] not in allowed:
                    assert resolver != requester
                    assert CONNECTIONS[resolver] != CONNECTIONS[requester]
            if payload.get("status") == "accepted":
                assert payload["expiresAtMs"] - payload["createdAtMs"] <= 10_000
        gateway.tick(now_ms=now)  # what expired by now has settled
        pending = gateway.broker.pending(now_ms=now)
        by_conn: dict[str, int] = {}
        for record in pending:
            maker = owner.get(record.id)
            if maker is not None:
                by_conn[maker] = by_conn.get(maker, 0) + 1
        for key, principal in CONNECTIONS.items():
            assert gateway.pending_count(connection=key) == by_conn.get(key, 0) <= 3
            same = sum(by_conn.get(k, 0) for k, p in CONNECTIONS.items() if p == principal)
            assert gateway.pending_count(principal_id=principal) == same <= 4
