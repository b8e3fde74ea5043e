"""
The life cycle of one approval: every transition lives here, as one table.

Theory of operation
-------------------
An approval is born ``PENDING`` when registered. A human decision moves it to one of the
three decided states (``ALLOWED_ONCE``, ``ALLOWED_ALWAYS``, ``DENIED``); the clock moves it to
``EXPIRED`` at ``expiresAtMs`` (or at once when no approver can be reached); the requester can
withdraw it (``CANCELLED``). An ``allow-once`` is spent by :data:`ApprovalInput.CONSUME`, which
moves it to ``CONSUMED`` so a second run cannot reuse it (OpenClaw PR #24826). Settled
approvals stay readable for a grace window (OpenClaw: 15 s) so late waiters still get the
answer; then ``FORGET`` returns the id to ``ABSENT``.

The table :data:`TRANSITIONS` maps ``(state, input)`` to ``(next state, outcome)``. The
outcome is what the caller is told (registered, not found, already resolved, ...). A pair
missing from the table is a protocol error: :func:`transition` raises and the approval lands
in ``ERROR``, which answers every later question with "no decision" (fail closed). The broker
(:mod:`openclaw_exec.protocol._broker`) is the only writer of states and always goes through
:func:`transition`; docs and tests import :data:`TRANSITIONS` to draw and check the machine.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from types import MappingProxyType

import attrs

from openclaw_exec.exceptions import LocalProtocolError
from openclaw_exec.protocol._models import Decision

__all__ = [
    "DECIDED_STATES",
    "SETTLED_STATES",
    "TRANSITIONS",
    "ApprovalInput",
    "ApprovalOutcome",
    "ApprovalState",
    "Transition",
    "render_transition_table",
    "resolve_input",
    "transition",
]


class ApprovalState(enum.StrEnum):
    """Where one approval id is in its life cycle."""

    ABSENT = "absent"  # unknown id, or forgotten after the grace window
    PENDING = "pending"  # registered, waiting for a decision
    ALLOWED_ONCE = "allowed-once"  # decided allow-once, not yet used
    ALLOWED_ALWAYS = "allowed-always"  # decided allow-always
    DENIED = "denied"  # decided deny
    CONSUMED = "consumed"  # an allow-once that has been used for its one run
    EXPIRED = "expired"  # no decision in time, or no approver route
    CANCELLED = "cancelled"  # withdrawn before a decision
    ERROR = "error"  # an input outside the table arrived; fails closed


class ApprovalInput(enum.StrEnum):
    """What can happen to one approval id."""

    REGISTER = "register"  # a registration with this id and an identical request
    REGISTER_CONFLICT = "register-conflict"  # a registration with this id, different request
    RESOLVE_ALLOW_ONCE = "resolve-allow-once"  # an approver answers allow-once
    RESOLVE_ALLOW_ALWAYS = "resolve-allow-always"  # an approver answers allow-always
    RESOLVE_DENY = "resolve-deny"  # an approver answers deny
    WAIT = "wait"  # someone asks for the decision
    CONSUME = "consume"  # the requester is about to run what was approved
    EXPIRE = "expire"  # expiresAtMs passed, or no approver route at registration
    CANCEL = "cancel"  # the requester withdraws the request
    DISCONNECT = "disconnect"  # the requester's connection went away
    FORGET = "forget"  # the grace window after settling has passed


class ApprovalOutcome(enum.StrEnum):
    """What the caller of an input is told."""

    REGISTERED = "registered"  # a new pending approval
    ALREADY_PENDING = "already-pending"  # idempotent re-registration: same approval
    ID_CONFLICT = "id-conflict"  # the id is pending with a different request
    ID_SETTLED = "id-settled"  # the id is settled and still remembered: refused
    RESOLVED = "resolved"  # the first decision was recorded
    RESOLVED_AGAIN = "resolved-again"  # the same decision again: ok, nothing changes
    ALREADY_RESOLVED = "already-resolved"  # a different decision after the first: refused
    NOT_FOUND = "not-found"  # unknown, expired, cancelled or forgotten
    APPROVER_REFUSED = "approver-refused"  # the approver policy said no (checked before the table)
    WAITING = "waiting"  # the waiter is parked until the approval settles
    DECIDED = "decided"  # the waiter gets the recorded decision at once
    NO_DECISION = "no-decision"  # the waiter gets "no decision" (null) at once
    CONSUMED = "consumed"  # the approval may be used for this run
    NOT_CONSUMABLE = "not-consumable"  # nothing (left) to run on
    EXPIRED = "expired"  # the approval expired; parked waiters get null
    CANCELLED = "cancelled"  # the approval was cancelled; parked waiters get null
    FORGOTTEN = "forgotten"  # the record is dropped
    IGNORED = "ignored"  # no effect


@attrs.frozen
class Transition:
    """
    One row of the table.

    Attributes:
        next_state: The state after the input.
        outcome: What the caller is told.
    """

    next_state: ApprovalState
    outcome: ApprovalOutcome


_S = ApprovalState
_I = ApprovalInput
_O = ApprovalOutcome

DECIDED_STATES = frozenset({_S.ALLOWED_ONCE, _S.ALLOWED_ALWAYS, _S.DENIED, _S.CONSUMED})
"""States that carry a human decision."""

SETTLED_STATES = DECIDED_STATES | {_S.EXPIRED, _S.CANCELLED, _S.ERROR}
"""States after pending: readable during the grace window, then forgotten."""

_RESOLVE_INPUTS = {
    Decision.ALLOW_ONCE: _I.RESOLVE_ALLOW_ONCE,
    Decision.ALLOW_ALWAYS: _I.RESOLVE_ALLOW_ALWAYS,
    Decision.DENY: _I.RESOLVE_DENY,
}
_DECIDED_BY = {
    _I.RESOLVE_ALLOW_ONCE: _S.ALLOWED_ONCE,
    _I.RESOLVE_ALLOW_ALWAYS: _S.ALLOWED_ALWAYS,
    _I.RESOLVE_DENY: _S.DENIED,
}
_SAME_DECISION = {
    _S.ALLOWED_ONCE: _I.RESOLVE_ALLOW_ONCE,
    _S.CONSUMED: _I.RESOLVE_ALLOW_ONCE,
    _S.ALLOWED_ALWAYS: _I.RESOLVE_ALLOW_ALWAYS,
    _S.DENIED: _I.RESOLVE_DENY,
}


def resolve_input(decision: Decision) -> ApprovalInput:
    """The table input for a resolve carrying *decision*."""
    return _RESOLVE_INPUTS[decision]


def _build() -> dict[tuple[ApprovalState, ApprovalInput], Transition]:
    t: dict[tuple[ApprovalState, ApprovalInput], Transition] = {}

    def row(
        state: ApprovalState, inp: ApprovalInput, nxt: ApprovalState, out: ApprovalOutcome
    ) -> None:
        t[state, inp] = Transition(nxt, out)

    # ABSENT: only a registration creates something. (ABSENT, REGISTER_CONFLICT) and
    # (ABSENT, FORGET) cannot be produced by a correct broker and are left out on purpose.
    row(_S.ABSENT, _I.REGISTER, _S.PENDING, _O.REGISTERED)
    for inp in (*_DECIDED_BY, _I.WAIT, _I.CONSUME, _I.EXPIRE, _I.CANCEL):
        row(_S.ABSENT, inp, _S.ABSENT, _O.NOT_FOUND)
    row(_S.ABSENT, _I.DISCONNECT, _S.ABSENT, _O.IGNORED)

    # PENDING: the first decision wins; the timer expires; the requester may cancel.
    # Its requester going away does not lose it (a waiter elsewhere may still collect it).
    row(_S.PENDING, _I.REGISTER, _S.PENDING, _O.ALREADY_PENDING)
    row(_S.PENDING, _I.REGISTER_CONFLICT, _S.PENDING, _O.ID_CONFLICT)
    for inp, decided in _DECIDED_BY.items():
        row(_S.PENDING, inp, decided, _O.RESOLVED)
    row(_S.PENDING, _I.WAIT, _S.PENDING, _O.WAITING)
    row(_S.PENDING, _I.CONSUME, _S.PENDING, _O.NOT_CONSUMABLE)
    row(_S.PENDING, _I.EXPIRE, _S.EXPIRED, _O.EXPIRED)
    row(_S.PENDING, _I.CANCEL, _S.CANCELLED, _O.CANCELLED)
    row(_S.PENDING, _I.DISCONNECT, _S.PENDING, _O.IGNORED)
    # (PENDING, FORGET) is left out: a pending approval is never forgotten.

    # Decided states: same decision again is ok, another one is refused; waiters read it.
    for state, same in _SAME_DECISION.items():
        row(state, _I.REGISTER, state, _O.ID_SETTLED)
        row(state, _I.REGISTER_CONFLICT, state, _O.ID_SETTLED)
        for inp in _DECIDED_BY:
            row(state, inp, state, _O.RESOLVED_AGAIN if inp is same else _O.ALREADY_RESOLVED)
        row(state, _I.WAIT, state, _O.DECIDED)
        row(state, _I.EXPIRE, state, _O.IGNORED)
        row(state, _I.CANCEL, state, _O.IGNORED)
        row(state, _I.DISCONNECT, state, _O.IGNORED)
        row(state, _I.FORGET, _S.ABSENT, _O.FORGOTTEN)
    row(_S.ALLOWED_ONCE, _I.CONSUME, _S.CONSUMED, _O.CONSUMED)
    row(_S.ALLOWED_ALWAYS, _I.CONSUME, _S.ALLOWED_ALWAYS, _O.CONSUMED)
    row(_S.DENIED, _I.CONSUME, _S.DENIED, _O.NOT_CONSUMABLE)
    row(_S.CONSUMED, _I.CONSUME, _S.CONSUMED, _O.NOT_CONSUMABLE)

    # EXPIRED, CANCELLED, ERROR: no decision, ever. A late resolve is "not found"
    # (OpenClaw 4.1: terminal records are invisible to the resolve lookup).
    for state in (_S.EXPIRED, _S.CANCELLED, _S.ERROR):
        row(state, _I.REGISTER, state, _O.ID_SETTLED)
        row(state, _I.REGISTER_CONFLICT, state, _O.ID_SETTLED)
        for inp in _DECIDED_BY:
            row(state, inp, state, _O.NOT_FOUND)
        row(state, _I.WAIT, state, _O.NO_DECISION)
        row(state, _I.CONSUME, state, _O.NOT_CONSUMABLE)
        row(state, _I.EXPIRE, state, _O.IGNORED)
        row(state, _I.CANCEL, state, _O.IGNORED)
        row(state, _I.DISCONNECT, state, _O.IGNORED)
        row(state, _I.FORGET, _S.ABSENT, _O.FORGOTTEN)
    return t


TRANSITIONS: Mapping[tuple[ApprovalState, ApprovalInput], Transition] = MappingProxyType(_build())
"""The whole machine: ``(state, input) -> Transition``. Read-only."""

_ERROR = Transition(ApprovalState.ERROR, ApprovalOutcome.NO_DECISION)


def transition(
    state: ApprovalState,
    inp: ApprovalInput,
    table: Mapping[tuple[ApprovalState, ApprovalInput], Transition] = TRANSITIONS,
) -> Transition:
    """
    Look up the next state and outcome for *inp* in *state*.

    Args:
        state: The current state.
        inp: The input.
        table: The table to use (tests pass partial tables).

    Returns:
        The row of the table.

    Raises:
        LocalProtocolError: The pair is not in the table. Its ``details["transition"]`` is
            the error row (next state ``ERROR``): callers must put the approval there, so
            it answers "no decision" from then on.
    """
    try:
        return table[state, inp]
    except KeyError:
        raise LocalProtocolError(
            f"no transition from {state.value} on {inp.value}",
            details={"reason": "INVALID_TRANSITION", "transition": _ERROR},
        ) from None


def render_transition_table(
    table: Mapping[tuple[ApprovalState, ApprovalInput], Transition] = TRANSITIONS,
) -> str:
    """
    Draw *table* as a Markdown table (``docs/protocol.md`` embeds this exact text).

    Each cell is the outcome, with ``→ next state`` when the state changes; ``—`` marks a
    pair outside the table (a protocol error).
    """
    inputs = list(ApprovalInput)
    lines = [
        "| state \\ input | " + " | ".join(i.value for i in inputs) + " |",
        "|---" * (len(inputs) + 1) + "|",
    ]
    for state in ApprovalState:
        cells = []
        for inp in inputs:
            row = table.get((state, inp))
            if row is None:
                cells.append("—")
            elif row.next_state is state:
                cells.append(row.outcome.value)
            else:
                cells.append(f"{row.outcome.value} → **{row.next_state.value}**")
        lines.append(f"| **{state.value}** | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"
