"""Every (state, input) pair of the approval life cycle, on the table and through the broker."""

from __future__ import annotations

import itertools

import pytest

from openclaw_exec.exceptions import LocalProtocolError
from openclaw_exec.protocol import (
    TRANSITIONS,
    ApprovalBroker,
    ApprovalInput,
    ApprovalOutcome,
    ApprovalRequest,
    ApprovalState,
    Decision,
    ExecBinding,
    Principal,
    transition,
)

S, I, O = ApprovalState, ApprovalInput, ApprovalOutcome  # noqa: E741 (short names keep the table readable)
ALL_PAIRS = list(itertools.product(ApprovalState, ApprovalInput))
RESOLVES = {
    I.RESOLVE_ALLOW_ONCE: Decision.ALLOW_ONCE,
    I.RESOLVE_ALLOW_ALWAYS: Decision.ALLOW_ALWAYS,
    I.RESOLVE_DENY: Decision.DENY,
}
DECIDED = {
    S.ALLOWED_ONCE: Decision.ALLOW_ONCE,
    S.CONSUMED: Decision.ALLOW_ONCE,
    S.ALLOWED_ALWAYS: Decision.ALLOW_ALWAYS,
    S.DENIED: Decision.DENY,
}
NO_DECISION_STATES = {S.EXPIRED, S.CANCELLED, S.ERROR}


def spec(state: ApprovalState, inp: ApprovalInput) -> tuple[ApprovalState, ApprovalOutcome] | None:
    """The rules of the issue, written independently of the table (None: not allowed)."""
    if state is S.ABSENT:
        if inp is I.REGISTER:
            return S.PENDING, O.REGISTERED
        if inp in (I.REGISTER_CONFLICT, I.FORGET):
            return None
        if inp is I.DISCONNECT:
            return S.ABSENT, O.IGNORED
        return S.ABSENT, O.NOT_FOUND
    if state is S.PENDING:
        if inp in RESOLVES:
            return {
                Decision.ALLOW_ONCE: S.ALLOWED_ONCE,
                Decision.ALLOW_ALWAYS: S.ALLOWED_ALWAYS,
                Decision.DENY: S.DENIED,
            }[RESOLVES[inp]], O.RESOLVED
        return {
            I.REGISTER: (S.PENDING, O.ALREADY_PENDING),
            I.REGISTER_CONFLICT: (S.PENDING, O.ID_CONFLICT),
            I.WAIT: (S.PENDING, O.WAITING),
            I.CONSUME: (S.PENDING, O.NOT_CONSUMABLE),
            I.EXPIRE: (S.EXPIRED, O.EXPIRED),
            I.CANCEL: (S.CANCELLED, O.CANCELLED),
            I.DISCONNECT: (S.PENDING, O.IGNORED),
            I.FORGET: None,
        }[inp]
    # settled states
    if inp is I.FORGET:
        return S.ABSENT, O.FORGOTTEN
    if inp in (I.REGISTER, I.REGISTER_CONFLICT):
        return state, O.ID_SETTLED
    if inp in (I.EXPIRE, I.CANCEL, I.DISCONNECT):
        return state, O.IGNORED
    if inp in RESOLVES:
        if state in NO_DECISION_STATES:
            return state, O.NOT_FOUND
        same = RESOLVES[inp] is DECIDED[state]
        return state, O.RESOLVED_AGAIN if same else O.ALREADY_RESOLVED
    if inp is I.WAIT:
        return state, O.NO_DECISION if state in NO_DECISION_STATES else O.DECIDED
    assert inp is I.CONSUME
    if state is S.ALLOWED_ONCE:
        return S.CONSUMED, O.CONSUMED
    if state is S.ALLOWED_ALWAYS:
        return S.ALLOWED_ALWAYS, O.CONSUMED
    return state, O.NOT_CONSUMABLE


@pytest.mark.parametrize(("state", "inp"), ALL_PAIRS, ids=lambda v: v.value)
def test_table_matches_the_rules(state: ApprovalState, inp: ApprovalInput) -> None:
    expected = spec(state, inp)
    if expected is None:
        assert (state, inp) not in TRANSITIONS
        with pytest.raises(LocalProtocolError, match="no transition") as info:
            transition(state, inp)
        assert info.value.details["transition"].next_state is S.ERROR
    else:
        row = transition(state, inp)
        assert (row.next_state, row.outcome) == expected


def test_table_has_no_stray_rows() -> None:
    assert set(TRANSITIONS) <= set(ALL_PAIRS)
    assert all(spec(*pair) is not None for pair in TRANSITIONS)


# ---------------------------------------------------------------- through the broker

ID = "3f0c2a9e-1111-4222-8333-944455556666"
T0 = 1_000_000
APPROVER = Principal(id="op", display_name="Operator")
BINDING = ExecBinding(argv=("ls", "-la"), cwd="/tmp")


def request(command: str = "ls -la", lifetime: int = 60_000) -> ApprovalRequest:
    return ApprovalRequest(
        id=ID, command=command, created_at_ms=T0, expires_at_ms=T0 + lifetime, binding=BINDING
    )


def broker_in(state: ApprovalState) -> ApprovalBroker:
    """A broker whose approval ``ID`` is in *state* (``ERROR`` via a table hole)."""
    table = dict(TRANSITIONS)
    if state is S.ERROR:
        del table[S.PENDING, I.CONSUME]
    broker = ApprovalBroker(grace_ms=15_000, table=table)
    if state is S.ABSENT:
        return broker
    broker.register(request(), now_ms=T0, has_route=state is not S.EXPIRED)
    if state in DECIDED:
        broker.resolve(ID, DECIDED[state], approver=APPROVER, now_ms=T0 + 1)
    if state is S.CONSUMED:
        broker.consume(ID, BINDING, now_ms=T0 + 2)
    if state is S.CANCELLED:
        broker.cancel(ID, now_ms=T0 + 1)
    if state is S.ERROR:
        with pytest.raises(LocalProtocolError):
            broker.consume(ID, BINDING, now_ms=T0 + 1)
    assert observed(broker, T0 + 3) is state
    return broker


def observed(broker: ApprovalBroker, now: int) -> ApprovalState:
    record = broker.get(ID, now_ms=now)
    return S.ABSENT if record is None else record.state


BROKER_PAIRS = [
    (s, i)
    for s, i in ALL_PAIRS
    if spec(s, i) is not None and not (i is I.DISCONNECT and s is not S.PENDING)
]


@pytest.mark.parametrize(("state", "inp"), BROKER_PAIRS, ids=lambda v: v.value)
def test_broker_follows_the_table(state: ApprovalState, inp: ApprovalInput) -> None:
    broker = broker_in(state)
    now = T0 + 10
    expected_state, expected_outcome = (
        TRANSITIONS[state, inp].next_state,
        TRANSITIONS[state, inp].outcome,
    )
    if inp is I.REGISTER:
        outcome = broker.register(request(), now_ms=now).outcome
    elif inp is I.REGISTER_CONFLICT:
        outcome = broker.register(request("rm -rf /"), now_ms=now).outcome
    elif inp in RESOLVES:
        outcome = broker.resolve(ID, RESOLVES[inp], approver=APPROVER, now_ms=now).outcome
    elif inp is I.WAIT:
        outcome = broker.wait(ID, waiter="w", now_ms=now).outcome
    elif inp is I.CONSUME:
        outcome = broker.consume(ID, BINDING, now_ms=now).outcome
    elif inp is I.EXPIRE:
        outcome = broker.expire(ID, now_ms=now).outcome
    elif inp is I.CANCEL:
        outcome = broker.cancel(ID, now_ms=now).outcome
    elif inp is I.DISCONNECT:
        broker.wait(ID, waiter="w", now_ms=now, connection="conn")
        assert broker.disconnect("conn") == ["w"]
        outcome = O.IGNORED
    else:
        assert inp is I.FORGET
        now = T0 + 10 + 15_000
        broker.tick(now)
        outcome = O.FORGOTTEN if observed(broker, now) is S.ABSENT else O.IGNORED
    assert outcome is expected_outcome
    assert observed(broker, now) is expected_state


def test_pending_is_never_forgotten_by_the_clock_alone() -> None:
    broker = broker_in(S.PENDING)
    broker.tick(T0 + 59_999)
    assert observed(broker, T0 + 59_999) is S.PENDING
    broker.tick(T0 + 60_000)
    assert observed(broker, T0 + 60_000) is S.EXPIRED


def test_error_state_answers_no_decision_and_fails_closed() -> None:
    broker = broker_in(S.ERROR)
    assert broker.wait(ID, waiter="w", now_ms=T0 + 5).outcome is O.NO_DECISION
    assert broker.consume(ID, BINDING, now_ms=T0 + 5).outcome is O.NOT_CONSUMABLE
    assert broker.resolve(ID, Decision.ALLOW_ONCE, approver=APPROVER, now_ms=T0 + 5).outcome is (
        O.NOT_FOUND
    )
