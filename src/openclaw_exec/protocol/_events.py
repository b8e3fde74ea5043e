"""
What the broker tells its driver: events (pulled with ``next_event``) and results (returned).

Pure core: plain frozen values. Wire shapes for the two events OpenClaw broadcasts
(``exec.approval.requested`` / ``exec.approval.resolved``) live in
:mod:`openclaw_exec.protocol._wire`.
"""

from __future__ import annotations

import enum
from collections.abc import Hashable

import attrs

from openclaw_exec.exceptions import LocalProtocolError
from openclaw_exec.protocol._models import ApprovalRecord, Decision
from openclaw_exec.protocol._state import ApprovalOutcome

__all__ = [
    "NO_EVENT",
    "ApprovalCancelled",
    "ApprovalEvent",
    "ApprovalExpired",
    "ApprovalRequested",
    "ApprovalResolved",
    "ApprovalResult",
    "BrokerEvent",
    "NoEvent",
    "WaitFinished",
]


class NoEvent(enum.Enum):
    """Sentinel type: the broker has nothing to report (like h11's ``NEED_DATA``)."""

    NO_EVENT = "no-event"


NO_EVENT = NoEvent.NO_EVENT
"""Returned by ``next_event()`` when the queue is empty."""


@attrs.frozen
class ApprovalRequested:
    """
    A new approval needs a human (``exec.approval.requested``).

    Attributes:
        record: The pending record.
    """

    record: ApprovalRecord


@attrs.frozen
class ApprovalResolved:
    """
    A human decided (``exec.approval.resolved``); sent once per approval.

    Attributes:
        record: The decided record (``decision``, ``resolved_by``, ``settled_at_ms`` set).
    """

    record: ApprovalRecord


@attrs.frozen
class ApprovalExpired:
    """
    An approval expired with no decision (no OpenClaw wire event: clients prune by expiry).

    Attributes:
        record: The expired record; ``reason`` says timeout or no route.
    """

    record: ApprovalRecord


@attrs.frozen
class ApprovalCancelled:
    """
    An approval was withdrawn before a decision (no OpenClaw wire event).

    Attributes:
        record: The cancelled record.
    """

    record: ApprovalRecord


ApprovalEvent = ApprovalRequested | ApprovalResolved | ApprovalExpired | ApprovalCancelled
"""What approver channels receive from a store, in order per approval id."""


@attrs.frozen
class WaitFinished:
    """
    A parked waiter has its one outcome.

    Attributes:
        waiter: The key the driver passed to ``wait``.
        approval_id: The approval waited on.
        decision: The decision, or ``None`` (expired, cancelled, abandoned, disconnected).
        record: The record at that moment, or ``None`` if the waiter left first.
        outcome: ``DECIDED``, ``EXPIRED``, ``CANCELLED`` or ``IGNORED`` (waiter withdrawn).
    """

    waiter: Hashable
    approval_id: str
    decision: Decision | None
    record: ApprovalRecord | None
    outcome: ApprovalOutcome


BrokerEvent = ApprovalEvent | WaitFinished
"""Everything ``ApprovalBroker.next_event()`` can return besides ``NO_EVENT``."""


_OK = frozenset(
    {
        ApprovalOutcome.REGISTERED,
        ApprovalOutcome.ALREADY_PENDING,
        ApprovalOutcome.RESOLVED,
        ApprovalOutcome.RESOLVED_AGAIN,
        ApprovalOutcome.WAITING,
        ApprovalOutcome.DECIDED,
        ApprovalOutcome.NO_DECISION,
        ApprovalOutcome.CONSUMED,
        ApprovalOutcome.EXPIRED,
        ApprovalOutcome.CANCELLED,
        ApprovalOutcome.FORGOTTEN,
        ApprovalOutcome.IGNORED,
    }
)


@attrs.frozen(kw_only=True)
class ApprovalResult:
    """
    The answer to one broker or store call: a value, never an exception.

    Attributes:
        outcome: The table's outcome (or ``NOT_FOUND`` / ``NOT_CONSUMABLE`` for checks made
            before the table: unknown prefix, approver refused, binding mismatch).
        record: A snapshot of the approval after the call, or ``None`` if there is none.
        message: OpenClaw's error text when the call failed, else ``""``.
        reason: OpenClaw's ``details.reason`` code when the call failed, else ``None``.
    """

    outcome: ApprovalOutcome
    record: ApprovalRecord | None = None
    message: str = ""
    reason: str | None = None

    @property
    def ok(self) -> bool:
        """True when the call succeeded (OpenClaw would answer ``ok: true``)."""
        return self.outcome in _OK and self.reason is None

    def raise_for_outcome(self) -> ApprovalResult:
        """
        Return *self* if :attr:`ok`, else raise.

        Raises:
            LocalProtocolError: With :attr:`message` and ``details={"reason": reason}``.
        """
        if self.ok:
            return self
        raise LocalProtocolError(self.message, details={"reason": self.reason or "UNKNOWN"})
