"""
The sans-IO approval broker: many approvals, one table, no I/O, no clock, no tasks.

Feed it calls with the current time (``now_ms``), get :class:`ApprovalResult` values back,
pull events with :meth:`ApprovalBroker.next_event`, and call :meth:`ApprovalBroker.tick`
at :meth:`ApprovalBroker.next_deadline_ms` so expiries and grace windows happen. A runtime
(the memory store, a gateway) owns the tasks, sockets and timers; this object owns the rules.
Every state change goes through :func:`openclaw_exec.protocol._state.transition`.
"""

from __future__ import annotations

import heapq
from collections import deque
from collections.abc import Hashable
from typing import TYPE_CHECKING

from openclaw_exec.exceptions import LocalProtocolError
from openclaw_exec.protocol._events import (
    NO_EVENT,
    ApprovalCancelled,
    ApprovalExpired,
    ApprovalRequested,
    ApprovalResolved,
    ApprovalResult,
    BrokerEvent,
    NoEvent,
    WaitFinished,
)
from openclaw_exec.protocol._models import (
    RESOLVED_GRACE_MS,
    ApprovalRecord,
    ApprovalRequest,
    ApproverPolicy,
    Decision,
    ExecBinding,
    IdentifiedApprovers,
    Principal,
    TerminalReason,
    check_grant_days,
)
from openclaw_exec.protocol._state import (
    TRANSITIONS,
    ApprovalInput,
    ApprovalOutcome,
    ApprovalState,
    Transition,
    resolve_input,
    transition,
)

if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = ["ApprovalBroker"]

NOT_FOUND_MESSAGE = "unknown or expired approval id"
WAIT_NOT_FOUND_MESSAGE = "approval expired or not found"

_DECISION_STATE = {
    Decision.ALLOW_ONCE: ApprovalState.ALLOWED_ONCE,
    Decision.ALLOW_ALWAYS: ApprovalState.ALLOWED_ALWAYS,
    Decision.DENY: ApprovalState.DENIED,
}
_NOT_CONSUMABLE = {
    ApprovalState.PENDING: ("approval is still pending", "APPROVAL_PENDING"),
    ApprovalState.DENIED: ("approval was denied", "APPROVAL_DENIED"),
    ApprovalState.CONSUMED: ("allow-once approval was already used", "APPROVAL_CONSUMED"),
    ApprovalState.EXPIRED: ("approval expired without a decision", "APPROVAL_EXPIRED"),
    ApprovalState.CANCELLED: ("approval was cancelled", "APPROVAL_CANCELLED"),
    ApprovalState.ERROR: ("approval is in an error state", "APPROVAL_ERROR"),
}
_MAX_LISTED_MATCHES = 3


class _Entry:
    """The broker's mutable record of one approval (snapshots are frozen ApprovalRecords)."""

    __slots__ = (
        "decision",
        "grant_days",
        "reason",
        "request",
        "requester",
        "resolved_by",
        "settled_at_ms",
        "snapshot",
        "state",
        "waiters",
    )

    def __init__(self, request: ApprovalRequest, requester: Principal | None) -> None:
        self.request = request
        self.requester = requester
        self.state = ApprovalState.PENDING
        self.decision: Decision | None = None
        self.grant_days: int | None = None
        self.resolved_by: str | None = None
        self.settled_at_ms: int | None = None
        self.reason: TerminalReason | None = None
        self.snapshot: ApprovalRecord | None = None
        self.waiters: list[Hashable] | None = None

    def record(self) -> ApprovalRecord:
        snap = self.snapshot
        if snap is None:
            snap = ApprovalRecord(
                request=self.request,
                state=self.state,
                decision=self.decision,
                resolved_by=self.resolved_by,
                settled_at_ms=self.settled_at_ms,
                reason=self.reason,
                requester=self.requester,
                grant_expires_in_days=self.grant_days,
            )
            if self.state is not ApprovalState.PENDING:  # pending ones are many: no cache
                self.snapshot = snap
        return snap


class ApprovalBroker:
    """
    Holds many approvals and applies the transition table to them.

    Args:
        grace_ms: How long settled approvals stay readable (OpenClaw: 15 000).
        approver_policy: Who may resolve; the default refuses anonymous approvers.
        table: The transition table (tests pass partial ones).

    The broker never blocks and never reads a clock. ``wait`` parks a *waiter* key and the
    matching :class:`WaitFinished` comes out of :meth:`next_event` when the approval settles;
    a waiter gets exactly one outcome: the immediate result of ``wait``, one ``WaitFinished``,
    or its own :meth:`abandon` / :meth:`disconnect`.
    """

    def __init__(
        self,
        *,
        grace_ms: int = RESOLVED_GRACE_MS,
        approver_policy: ApproverPolicy | None = None,
        table: Mapping[tuple[ApprovalState, ApprovalInput], Transition] = TRANSITIONS,
    ) -> None:
        if type(grace_ms) is not int or grace_ms < 0:
            raise ValueError(f"grace_ms must be a non-negative integer, got {grace_ms!r}")
        self.grace_ms = grace_ms
        self.approver_policy: ApproverPolicy = approver_policy or IdentifiedApprovers()
        self._table = table
        self._entries: dict[str, _Entry] = {}
        self._deadlines: list[tuple[int, str]] = []
        self._events: deque[BrokerEvent] = deque()
        self._waiters: dict[Hashable, tuple[str, Hashable | None]] = {}

    # ------------------------------------------------------------------ internals

    def _step(self, entry: _Entry | None, inp: ApprovalInput) -> Transition:
        state = ApprovalState.ABSENT if entry is None else entry.state
        try:
            return transition(state, inp, self._table)
        except LocalProtocolError:
            if entry is not None:
                self._settle(entry, state=ApprovalState.ERROR, reason=TerminalReason.ERROR)
            raise

    def _live(self, approval_id: str, now_ms: int) -> _Entry | None:
        """The entry for *approval_id* with due expiry/forgetting applied first."""
        entry = self._entries.get(approval_id)
        if entry is None:
            return None
        if entry.state is ApprovalState.PENDING:
            if now_ms >= entry.request.expires_at_ms:
                self._apply_expire(entry, TerminalReason.TIMEOUT, now_ms)
            return entry
        settled = entry.settled_at_ms
        if settled is not None and now_ms >= settled + self.grace_ms:
            self._step(entry, ApprovalInput.FORGET)
            del self._entries[approval_id]
            return None
        return entry

    def _settle(
        self,
        entry: _Entry,
        *,
        state: ApprovalState,
        reason: TerminalReason,
        decision: Decision | None = None,
        resolved_by: str | None = None,
        now_ms: int | None = None,
        announce: type[ApprovalResolved | ApprovalExpired | ApprovalCancelled] | None = None,
    ) -> None:
        entry.state = state
        entry.decision = decision
        entry.resolved_by = resolved_by
        entry.reason = reason
        entry.snapshot = None
        if now_ms is not None:
            entry.settled_at_ms = now_ms
            heapq.heappush(self._deadlines, (now_ms + self.grace_ms, entry.request.id))
        elif entry.settled_at_ms is None:  # error state with no clock at hand: forget soon
            entry.settled_at_ms = entry.request.created_at_ms
        record = entry.record()
        if announce is not None:  # the announcement precedes the waiters it releases
            self._events.append(announce(record))
        waiters, entry.waiters = entry.waiters, None
        if waiters:
            outcome = {
                ApprovalState.EXPIRED: ApprovalOutcome.EXPIRED,
                ApprovalState.CANCELLED: ApprovalOutcome.CANCELLED,
                ApprovalState.ERROR: ApprovalOutcome.NO_DECISION,
            }.get(state, ApprovalOutcome.DECIDED)
            for waiter in waiters:
                del self._waiters[waiter]
                self._events.append(WaitFinished(waiter, record.id, decision, record, outcome))

    def _apply_expire(self, entry: _Entry, reason: TerminalReason, now_ms: int) -> Transition:
        tr = self._step(entry, ApprovalInput.EXPIRE)
        if tr.outcome is ApprovalOutcome.EXPIRED:
            self._settle(
                entry, state=tr.next_state, reason=reason, now_ms=now_ms, announce=ApprovalExpired
            )
        return tr

    @staticmethod
    def _result(
        tr: Transition | ApprovalOutcome,
        entry: _Entry | None,
        message: str = "",
        reason: str | None = None,
    ) -> ApprovalResult:
        outcome = tr if isinstance(tr, ApprovalOutcome) else tr.outcome
        record = None if entry is None else entry.record()
        return ApprovalResult(outcome=outcome, record=record, message=message, reason=reason)

    @staticmethod
    def _check_id(approval_id: object) -> str:
        if not isinstance(approval_id, str) or not approval_id.strip():
            raise LocalProtocolError("id is required", details={"reason": "INVALID_ID"})
        return approval_id.strip()

    # ------------------------------------------------------------------ inputs

    def register(
        self,
        request: ApprovalRequest,
        *,
        now_ms: int,
        requester: Principal | None = None,
        has_route: bool = True,
    ) -> ApprovalResult:
        """
        Register *request* as a pending approval.

        With ``has_route=False`` the approval expires at once (reason ``no-approval-route``)
        and the result's outcome is ``EXPIRED``: the caller applies ``askFallback``.

        Returns:
            ``REGISTERED`` / ``EXPIRED`` (no route), ``ALREADY_PENDING`` (identical request,
            idempotent), ``ID_CONFLICT`` ("approval id already pending") or ``ID_SETTLED``
            ("approval id '<id>' already resolved"). A refused registration changes nothing.
        """
        if not isinstance(request, ApprovalRequest):
            raise LocalProtocolError("register() needs an ApprovalRequest")
        entry = self._live(request.id, now_ms)
        if entry is None or entry.request == request:
            inp = ApprovalInput.REGISTER
        else:
            inp = ApprovalInput.REGISTER_CONFLICT
        tr = self._step(entry, inp)
        if tr.outcome is ApprovalOutcome.REGISTERED:
            entry = _Entry(request, requester)
            self._entries[request.id] = entry
            heapq.heappush(self._deadlines, (request.expires_at_ms, request.id))
            if not has_route:
                return self._result(
                    self._apply_expire(entry, TerminalReason.NO_ROUTE, now_ms), entry
                )
            record = entry.record()
            self._events.append(ApprovalRequested(record))
            if now_ms >= request.expires_at_ms:
                return self._result(
                    self._apply_expire(entry, TerminalReason.TIMEOUT, now_ms), entry
                )
            return ApprovalResult(outcome=tr.outcome, record=record)
        if tr.outcome is ApprovalOutcome.ID_CONFLICT:
            return self._result(tr, entry, "approval id already pending", "APPROVAL_ID_CONFLICT")
        if tr.outcome is ApprovalOutcome.ID_SETTLED:
            return self._result(
                tr,
                entry,
                f"approval id '{request.id}' already resolved",
                "APPROVAL_ALREADY_RESOLVED",
            )
        return self._result(tr, entry)

    def lookup(self, id_or_prefix: str, *, now_ms: int) -> ApprovalResult:
        """
        Find an approval for ``resolve``: exact id first, else a unique prefix of a pending id.

        Prefixes compare case-insensitively and only against pending approvals.

        Returns:
            ``IGNORED`` with the record when found; ``NOT_FOUND`` with reason
            ``APPROVAL_NOT_FOUND`` or ``APPROVAL_ID_AMBIGUOUS`` (OpenClaw's texts) otherwise.
        """
        found = self._find(id_or_prefix, now_ms)
        if isinstance(found, ApprovalResult):
            return found
        return self._result(ApprovalOutcome.IGNORED, found)

    def _find(self, id_or_prefix: str, now_ms: int) -> _Entry | ApprovalResult:
        key = self._check_id(id_or_prefix)
        entry = self._live(key, now_ms)
        if entry is not None:
            return entry
        folded = key.casefold()
        matches = [
            e
            for approval_id, e in list(self._entries.items())
            if e.state is ApprovalState.PENDING
            and approval_id.casefold().startswith(folded)
            and (live := self._live(approval_id, now_ms)) is not None
            and live.state is ApprovalState.PENDING
        ]
        if len(matches) == 1:
            return matches[0]
        if not matches:
            return self._result(
                ApprovalOutcome.NOT_FOUND, None, NOT_FOUND_MESSAGE, "APPROVAL_NOT_FOUND"
            )
        shown = ", ".join(m.request.id for m in matches[:_MAX_LISTED_MATCHES])
        more = len(matches) - _MAX_LISTED_MATCHES
        suffix = f" (+{more} more)" if more > 0 else ""
        return self._result(
            ApprovalOutcome.NOT_FOUND,
            None,
            f"ambiguous approval id prefix; matches: {shown}{suffix}. Use the full id.",
            "APPROVAL_ID_AMBIGUOUS",
        )

    def resolve(
        self,
        id_or_prefix: str,
        decision: Decision | str,
        *,
        approver: Principal | None,
        now_ms: int,
        grant_expires_in_days: int | None = None,
    ) -> ApprovalResult:
        """
        Record an approver's decision; the first decision wins.

        Args:
            id_or_prefix: The exact id, or a unique prefix of a pending id (the chat slug).
            decision: The decision (a wire string is parsed strictly).
            approver: Who decides; checked by the approver policy before anything changes.
            now_ms: The current time.
            grant_expires_in_days: The ``allow-always`` grant's lifetime in whole days (1 to
                3650, OpenClaw 2026.9.6 ``grantExpiresInDays``), kept on the record. Like
                OpenClaw's gateway, it is validated with any decision but only kept with
                ``allow-always`` (no grant is minted otherwise); a repeated resolve never
                changes the first one's lifetime.

        Returns:
            ``RESOLVED``; ``RESOLVED_AGAIN`` (same decision repeated); ``ALREADY_RESOLVED``
            (reason ``APPROVAL_ALREADY_RESOLVED``); ``NOT_FOUND`` (expired, cancelled, unknown,
            ambiguous); ``APPROVER_REFUSED`` (reason ``APPROVER_NOT_ALLOWED``, still pending).

        Raises:
            LocalProtocolError: For an empty id, a decision outside the three values or a
                bad *grant_expires_in_days* (reason ``INVALID_PARAMS``); the broker is
                unchanged.
        """
        parsed = decision if isinstance(decision, Decision) else Decision.parse(decision)
        days = check_grant_days(grant_expires_in_days)
        found = self._find(id_or_prefix, now_ms)
        if isinstance(found, ApprovalResult):
            return found
        entry = found
        refusal = self.approver_policy(approver, entry.record())
        if refusal is not None:
            return self._result(
                ApprovalOutcome.APPROVER_REFUSED, entry, refusal, "APPROVER_NOT_ALLOWED"
            )
        tr = self._step(entry, resolve_input(parsed))
        if tr.outcome is ApprovalOutcome.RESOLVED:
            label = approver.label if approver is not None else None
            entry.grant_days = days if parsed is Decision.ALLOW_ALWAYS else None
            self._settle(
                entry,
                state=tr.next_state,
                decision=parsed,
                resolved_by=label,
                reason=TerminalReason.USER,
                now_ms=now_ms,
                announce=ApprovalResolved,
            )
        elif tr.outcome is ApprovalOutcome.ALREADY_RESOLVED:
            return self._result(tr, entry, "approval already resolved", "APPROVAL_ALREADY_RESOLVED")
        elif tr.outcome is ApprovalOutcome.NOT_FOUND:
            return self._result(tr, entry, NOT_FOUND_MESSAGE, "APPROVAL_NOT_FOUND")
        return self._result(tr, entry)

    def wait(
        self,
        approval_id: str,
        *,
        waiter: Hashable,
        now_ms: int,
        connection: Hashable | None = None,
    ) -> ApprovalResult:
        """
        Ask for the decision of the exact id (no prefix lookup).

        Returns:
            ``WAITING`` (the waiter is parked; a :class:`WaitFinished` follows), ``DECIDED``,
            ``NO_DECISION`` (expired/cancelled) or ``NOT_FOUND`` ("approval expired or not
            found").

        Raises:
            LocalProtocolError: *waiter* is already parked.
        """
        key = self._check_id(approval_id)
        if waiter in self._waiters:
            raise LocalProtocolError(f"waiter {waiter!r} is already waiting")
        entry = self._live(key, now_ms)
        tr = self._step(entry, ApprovalInput.WAIT)
        if tr.outcome is ApprovalOutcome.WAITING:
            assert entry is not None
            if entry.waiters is None:
                entry.waiters = []
            entry.waiters.append(waiter)
            self._waiters[waiter] = (key, connection)
        elif tr.outcome is ApprovalOutcome.NOT_FOUND:
            return self._result(tr, entry, WAIT_NOT_FOUND_MESSAGE, "APPROVAL_NOT_FOUND")
        return self._result(tr, entry)

    def abandon(self, waiter: Hashable) -> bool:
        """Withdraw a parked waiter (its own timeout); True if it was parked."""
        found = self._waiters.pop(waiter, None)
        if found is None:
            return False
        entry = self._entries.get(found[0])
        if entry is not None and entry.waiters:
            entry.waiters.remove(waiter)
        return True

    def disconnect(self, connection: Hashable) -> list[Hashable]:
        """
        A connection went away: withdraw its parked waiters; approvals stay pending.

        Returns:
            The withdrawn waiter keys (they get no other outcome).
        """
        gone = [w for w, (_, conn) in self._waiters.items() if conn == connection]
        for waiter in gone:
            approval_id = self._waiters[waiter][0]
            self.abandon(waiter)
            entry = self._entries.get(approval_id)
            if entry is not None:
                self._step(entry, ApprovalInput.DISCONNECT)
        return gone

    def consume(
        self, approval_id: str, binding: ExecBinding | None, *, now_ms: int
    ) -> ApprovalResult:
        """
        Spend the approval for one run of exactly *binding*.

        Returns:
            ``CONSUMED`` (once for allow-once; allow-always within the grace window),
            ``NOT_CONSUMABLE`` with a reason (``APPROVAL_REQUEST_MISMATCH`` when the binding
            differs: nothing changes), or ``NOT_FOUND``.
        """
        key = self._check_id(approval_id)
        entry = self._live(key, now_ms)
        if entry is not None and entry.request.binding != binding:
            return self._result(
                ApprovalOutcome.NOT_CONSUMABLE,
                entry,
                "approval id does not match request",
                "APPROVAL_REQUEST_MISMATCH",
            )
        tr = self._step(entry, ApprovalInput.CONSUME)
        if tr.outcome is ApprovalOutcome.CONSUMED:
            assert entry is not None
            if tr.next_state is not entry.state:
                entry.state = tr.next_state
                entry.snapshot = None
        elif tr.outcome is ApprovalOutcome.NOT_FOUND:
            return self._result(tr, entry, NOT_FOUND_MESSAGE, "APPROVAL_NOT_FOUND")
        elif tr.outcome is ApprovalOutcome.NOT_CONSUMABLE:
            assert entry is not None
            message, reason = _NOT_CONSUMABLE[entry.state]
            return self._result(tr, entry, message, reason)
        return self._result(tr, entry)

    def expire(
        self, approval_id: str, *, now_ms: int, reason: TerminalReason = TerminalReason.TIMEOUT
    ) -> ApprovalResult:
        """Expire a pending approval now. Returns ``EXPIRED``, ``IGNORED`` or ``NOT_FOUND``."""
        key = self._check_id(approval_id)
        entry = self._live(key, now_ms)
        if entry is None:
            tr = self._step(None, ApprovalInput.EXPIRE)
            return self._result(tr, None, NOT_FOUND_MESSAGE, "APPROVAL_NOT_FOUND")
        return self._result(self._apply_expire(entry, reason, now_ms), entry)

    def cancel(self, approval_id: str, *, now_ms: int) -> ApprovalResult:
        """Withdraw a pending approval. Returns ``CANCELLED``, ``IGNORED`` or ``NOT_FOUND``."""
        key = self._check_id(approval_id)
        entry = self._live(key, now_ms)
        tr = self._step(entry, ApprovalInput.CANCEL)
        if tr.outcome is ApprovalOutcome.CANCELLED:
            assert entry is not None
            self._settle(
                entry,
                state=tr.next_state,
                reason=TerminalReason.CANCELLED,
                now_ms=now_ms,
                announce=ApprovalCancelled,
            )
        elif tr.outcome is ApprovalOutcome.NOT_FOUND:
            return self._result(tr, entry, NOT_FOUND_MESSAGE, "APPROVAL_NOT_FOUND")
        return self._result(tr, entry)

    def tick(self, now_ms: int) -> int:
        """
        Apply every expiry and grace window due at *now_ms*.

        Returns:
            How many deadlines were processed.
        """
        heap = self._deadlines
        count = 0
        while heap and heap[0][0] <= now_ms:
            _, approval_id = heapq.heappop(heap)
            self._live(approval_id, now_ms)
            count += 1
        return count

    # ------------------------------------------------------------------ outputs

    def next_deadline_ms(self) -> int | None:
        """When :meth:`tick` should next run, or ``None`` if nothing is scheduled."""
        return self._deadlines[0][0] if self._deadlines else None

    def next_event(self) -> BrokerEvent | NoEvent:
        """Pop the oldest event, or :data:`NO_EVENT`."""
        return self._events.popleft() if self._events else NO_EVENT

    def get(self, approval_id: str, *, now_ms: int) -> ApprovalRecord | None:
        """The record for the exact id, or ``None`` if unknown or forgotten."""
        entry = self._live(approval_id, now_ms)
        return None if entry is None else entry.record()

    def pending(self, *, now_ms: int) -> list[ApprovalRecord]:
        """Every pending approval at *now_ms*, in registration order."""
        out = []
        for approval_id, entry in list(self._entries.items()):
            if entry.state is ApprovalState.PENDING:
                live = self._live(approval_id, now_ms)
                if live is not None and live.state is ApprovalState.PENDING:
                    out.append(live.record())
        return out

    def __len__(self) -> int:
        """Approvals held (pending and within the grace window)."""
        return len(self._entries)

    @property
    def waiter_count(self) -> int:
        """Parked waiters."""
        return len(self._waiters)
