"""
The gateway side of the approval methods, sans-IO: frames in, frames out.

:class:`ApprovalGateway` serves ``exec.approval.request`` / ``.waitDecision`` / ``.resolve``
for many connections over one :class:`ApprovalBroker`, exactly as OpenClaw 2026.4.1's gateway
answers them (two-phase registration, ``no-approval-route``, ``decision: null`` on expiry,
``INVALID_REQUEST`` errors with ``details.reason``). A transport feeds it decoded request
frames with the sending connection and the time, and sends the :class:`Outgoing` frames it
returns; it also calls :meth:`ApprovalGateway.tick` at
:meth:`ApprovalGateway.next_deadline_ms`. Pure: no I/O, no clock, no tasks.

Where it is stricter than OpenClaw (each a row of ``docs/differences.md``):

* **No self-approval.** The connection that registered a request, and any connection of the
  same principal (the kit's principal id is the device id), can neither resolve it
  (``SELF_APPROVAL_NOT_ALLOWED``) nor count as its approval route, unless the embedder names
  that principal in ``allow_self_approval``.
* **Open requests are bounded by approval, not by frame id**: per connection and per
  principal (``TOO_MANY_PENDING``); a request counts until it is decided, expires or is
  cancelled, whatever frame ids the client reuses.
* **``timeoutMs`` is capped** at ``max_timeout_ms`` (default :data:`MAX_APPROVAL_TIMEOUT_MS`,
  24 h): a longer one is shortened, and the answer's ``expiresAtMs`` says so.
"""

from __future__ import annotations

import uuid
from collections import deque
from collections.abc import Callable, Hashable, Iterable
from typing import Any

import attrs

from openclaw_exec.exceptions import LocalProtocolError, RemoteProtocolError
from openclaw_exec.protocol._broker import ApprovalBroker
from openclaw_exec.protocol._events import (
    NO_EVENT,
    ApprovalCancelled,
    ApprovalExpired,
    ApprovalRequested,
    ApprovalResolved,
    ApprovalResult,
    WaitFinished,
)
from openclaw_exec.protocol._gateway_queries import QUERY_METHODS, grant_days, query
from openclaw_exec.protocol._models import (
    DEFAULT_APPROVAL_TIMEOUT_MS,
    ApprovalRecord,
    ApprovalRequest,
    ExecBinding,
    Principal,
    env_hash,
)
from openclaw_exec.protocol._state import ApprovalOutcome
from openclaw_exec.protocol._wire import (
    METHOD_REQUEST,
    METHOD_RESOLVE,
    METHOD_WAIT_DECISION,
    AcceptedPayload,
    DecisionPayload,
    EventFrame,
    ExecApprovalRequestParams,
    RequestFrame,
    ResolveParams,
    ResponseFrame,
    WaitDecisionParams,
    encode,
    error_response,
    requested_event,
    resolved_event,
    structure,
)

__all__ = ["APPROVAL_SCOPES", "MAX_APPROVAL_TIMEOUT_MS", "ApprovalGateway", "Outgoing"]

APPROVAL_SCOPES = frozenset({"operator.approvals", "operator.admin"})
"""Scopes that may call the approval methods and receive their events (OpenClaw 4.1)."""

HISTORY_SIZE = 1000
"""Final approvals kept for ``approval.get`` / ``approval.history`` (oldest dropped first)."""

MAX_APPROVAL_TIMEOUT_MS = 24 * 60 * 60 * 1000
"""The longest approval timeout the gateway grants (24 h); longer ``timeoutMs`` are capped."""

_PORTABLE = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_")


@attrs.frozen
class Outgoing:
    """
    A frame to send on one connection.

    Attributes:
        connection: The connection key given to :meth:`ApprovalGateway.connect`.
        frame: The frame (encode it with :func:`openclaw_exec.protocol._wire.dumps`).
    """

    connection: Hashable
    frame: ResponseFrame | EventFrame


@attrs.define
class _Connection:
    principal: Principal
    approver: bool
    open: set[str] = attrs.Factory(set)
    events: bool = True


@attrs.frozen
class _Owner:
    """Who registered a still-pending approval (for self-approval and the pending bounds)."""

    connection: Hashable
    principal_id: str


def _is_portable(key: str) -> bool:
    return bool(key) and not key[0].isdigit() and set(key) <= _PORTABLE


class ApprovalGateway:
    """
    Serves the approval methods for many connections.

    Args:
        broker: The broker to use (default: a fresh one).
        new_id: Makes an approval id when the request has none (default: UUID4).
        allow_self_approval: Principal ids (the kit: device ids) that may resolve their own
            requests. Empty by default: the requesting connection and every connection of
            the requesting principal are refused (``SELF_APPROVAL_NOT_ALLOWED``).
        max_pending_per_connection: Pending approvals one connection may have registered
            (``None``: unbounded); more get ``TOO_MANY_PENDING``.
        max_pending_per_principal: The same bound across all connections of one principal.
        max_timeout_ms: The longest ``timeoutMs`` granted; longer ones are shortened to it.
    """

    def __init__(
        self,
        broker: ApprovalBroker | None = None,
        *,
        new_id: Callable[[], str] = lambda: str(uuid.uuid4()),
        allow_self_approval: Iterable[str] = (),
        max_pending_per_connection: int | None = None,
        max_pending_per_principal: int | None = None,
        max_timeout_ms: int = MAX_APPROVAL_TIMEOUT_MS,
    ) -> None:
        if isinstance(allow_self_approval, str):
            raise TypeError("allow_self_approval is a collection of principal ids, not a string")
        for name, bound in (
            ("max_pending_per_connection", max_pending_per_connection),
            ("max_pending_per_principal", max_pending_per_principal),
            ("max_timeout_ms", max_timeout_ms),
        ):
            if bound is not None and (type(bound) is not int or bound < 1):
                raise ValueError(f"{name} must be a positive integer, got {bound!r}")
        self.broker = broker or ApprovalBroker()
        self._new_id = new_id
        self.allow_self_approval = frozenset(allow_self_approval)
        self.max_pending_per_connection = max_pending_per_connection
        self.max_pending_per_principal = max_pending_per_principal
        self.max_timeout_ms = max_timeout_ms
        self._connections: dict[Hashable, _Connection] = {}
        # The approvers among them, and those of them that take events, in connection order:
        # with hundreds of requesters connected, scanning them all per request and per event
        # cost more than the rest of the fan-out.
        self._approvers: dict[Hashable, _Connection] = {}
        self._audience: dict[Hashable, _Connection] = {}
        self._owners: dict[str, _Owner] = {}
        self._by_principal: dict[str, set[str]] = {}
        self._seq = 0
        #: Final approvals, oldest first, for ``approval.get`` / ``approval.history``.
        self.history: deque[ApprovalRecord] = deque(maxlen=HISTORY_SIZE)

    # ------------------------------------------------------------------ connections

    def connect(self, connection: Hashable, principal: Principal, *, events: bool = True) -> None:
        """
        A client connected and authenticated as *principal*.

        It is an approver (a route, and it receives approval events) when it holds
        ``operator.approvals`` or ``operator.admin``. ``events=False`` leaves it out of the
        event fan-out only (a transport that would drop its events anyway, such as the gateway
        kit's non-approval clients): with hundreds of requesters connected, building an event
        frame for each of them per approval dominated the kit's cost.

        Raises:
            LocalProtocolError: *connection* is already connected.
        """
        if connection in self._connections:
            raise LocalProtocolError(f"connection {connection!r} is already connected")
        approver = not principal.scopes.isdisjoint(APPROVAL_SCOPES)
        conn = self._connections[connection] = _Connection(principal, approver, events=events)
        if approver:
            self._approvers[connection] = conn
            if events:
                self._audience[connection] = conn

    def disconnect(self, connection: Hashable) -> None:
        """
        A client went away: its parked calls are dropped; its approvals stay pending.

        They still count against the principal's bound (a client cannot shed its pending
        requests by reconnecting) until they settle.
        """
        self._connections.pop(connection, None)
        self._approvers.pop(connection, None)
        self._audience.pop(connection, None)
        self.broker.disconnect(connection)

    def pending_count(
        self, *, connection: Hashable | None = None, principal_id: str | None = None
    ) -> int:
        """Pending approvals registered by *connection*, or by *principal_id*."""
        if connection is not None:
            conn = self._connections.get(connection)
            return 0 if conn is None else len(conn.open)
        return len(self._by_principal.get(principal_id or "", ()))

    def may_resolve(self, connection: Hashable, principal: Principal, approval_id: str) -> bool:
        """Whether *connection* (as *principal*) may resolve *approval_id* (self-approval rule)."""
        owner = self._owners.get(approval_id)
        if owner is None or principal.id in self.allow_self_approval:
            return True
        return connection != owner.connection and principal.id != owner.principal_id

    def _forget_owner(self, approval_id: str) -> None:
        owner = self._owners.pop(approval_id, None)
        if owner is None:
            return
        conn = self._connections.get(owner.connection)
        if conn is not None:
            conn.open.discard(approval_id)
        ids = self._by_principal.get(owner.principal_id)
        if ids is not None:
            ids.discard(approval_id)
            if not ids:
                del self._by_principal[owner.principal_id]

    # ------------------------------------------------------------------ input

    def receive(self, connection: Hashable, frame: RequestFrame, *, now_ms: int) -> list[Outgoing]:
        """
        Handle one request frame from *connection*.

        Returns:
            Every frame to send now: the response(s) to this request and any events
            and parked responses it released. Errors are ``INVALID_REQUEST`` responses.

        Raises:
            LocalProtocolError: *connection* is not connected.
        """
        conn = self._connections.get(connection)
        if conn is None:
            raise LocalProtocolError(f"connection {connection!r} is not connected")
        out: list[Outgoing] = []
        known = frame.method in (METHOD_REQUEST, METHOD_WAIT_DECISION, METHOD_RESOLVE)
        if not known and frame.method not in QUERY_METHODS:
            out.append(
                Outgoing(connection, error_response(frame.id, f"unknown method: {frame.method}"))
            )
            return out
        if not conn.approver:
            message = "missing scope: operator.approvals"
            out.append(Outgoing(connection, error_response(frame.id, message)))
            return out
        try:
            if not known:
                payload = query(
                    self, connection, conn.principal, frame.method, frame.params,
                    now_ms=now_ms, may_resolve=self.may_resolve,
                )  # fmt: skip
                self._drain(out)  # an approval.resolve's resolved event goes out first
                out.append(
                    Outgoing(connection, ResponseFrame(id=frame.id, ok=True, payload=payload))
                )
            elif frame.method == METHOD_REQUEST:
                self._request(connection, conn, frame, now_ms, out)
            elif frame.method == METHOD_WAIT_DECISION:
                self._wait(connection, frame, now_ms, out)
            else:
                self._resolve(connection, conn, frame, now_ms, out)
        except (RemoteProtocolError, LocalProtocolError) as exc:
            reason = exc.details.get("reason")
            keep = reason if reason not in {"INVALID_FRAME", "INVALID_ID", None} else None
            out.append(Outgoing(connection, error_response(frame.id, exc.message, reason=keep)))
        self._drain(out)
        return out

    def tick(self, *, now_ms: int) -> list[Outgoing]:
        """Apply due expiries; returns the ``decision: null`` responses they release."""
        self.broker.tick(now_ms)
        out: list[Outgoing] = []
        self._drain(out)
        return out

    def find_record(self, approval_id: str, *, now_ms: int) -> ApprovalRecord | None:
        """The record of *approval_id* (exact): live in the broker, else the latest final one."""
        record = self.broker.get(approval_id, now_ms=now_ms)
        if record is not None:
            return record
        return next((r for r in reversed(self.history) if r.id == approval_id), None)

    def next_deadline_ms(self) -> int | None:
        """When :meth:`tick` should next run."""
        return self.broker.next_deadline_ms()

    # ------------------------------------------------------------------ methods

    def _params(self, frame: RequestFrame, cls: type[Any]) -> Any:
        try:
            return structure(frame.params, cls, what=f"{frame.method} params")
        except RemoteProtocolError as exc:
            raise RemoteProtocolError(exc.message, details={"reason": "INVALID_PARAMS"}) from None

    def _build_request(self, params: ExecApprovalRequestParams, now_ms: int) -> ApprovalRequest:
        plan = params.system_run_plan
        if params.host == "node":
            if not params.node_id:
                raise RemoteProtocolError("nodeId is required for host=node")
            if plan is None:
                raise RemoteProtocolError("systemRunPlan is required for host=node")
            if not params.command_argv:
                raise RemoteProtocolError("commandArgv is required for host=node")
        command = (params.command or (plan.command_text if plan else "") or "").strip()
        if not command:
            raise RemoteProtocolError("command is required")
        timeout = (
            params.timeout_ms if params.timeout_ms is not None else DEFAULT_APPROVAL_TIMEOUT_MS
        )
        if timeout < 1:
            raise RemoteProtocolError("timeoutMs must be at least 1")
        # An approval that never expires holds its slot (and a waiting exec) forever.
        timeout = min(timeout, self.max_timeout_ms)
        approval_id = (params.id or "").strip() or self._new_id()
        env_keys = tuple(sorted(k for k in (params.env or {}) if _is_portable(k))) or None
        argv = plan.argv if plan is not None else params.command_argv
        binding = None
        if argv:
            binding = ExecBinding(
                argv=argv,
                cwd=plan.cwd if plan is not None else params.cwd,
                agent_id=plan.agent_id if plan is not None else params.agent_id,
                session_key=plan.session_key if plan is not None else params.session_key,
                env_hash=env_hash(params.env),
            )
        try:
            return ApprovalRequest(
                id=approval_id,
                command=command,
                created_at_ms=now_ms,
                expires_at_ms=now_ms + timeout,
                command_argv=params.command_argv,
                command_preview=plan.command_preview if plan is not None else None,
                cwd=plan.cwd if plan is not None else params.cwd,
                host=params.host,
                node_id=params.node_id,
                security=params.security,
                ask=params.ask,
                agent_id=plan.agent_id if plan is not None else params.agent_id,
                resolved_path=params.resolved_path,
                session_key=plan.session_key if plan is not None else params.session_key,
                env_keys=env_keys,
                binding=binding,
                system_run_plan=plan,
                turn_source_channel=params.turn_source_channel,
                turn_source_to=params.turn_source_to,
                turn_source_account_id=params.turn_source_account_id,
                turn_source_thread_id=params.turn_source_thread_id,
            )
        except (ValueError, TypeError) as exc:
            raise RemoteProtocolError(f"invalid {METHOD_REQUEST} params: {exc}") from None

    def _request(
        self,
        connection: Hashable,
        conn: _Connection,
        frame: RequestFrame,
        now_ms: int,
        out: list[Outgoing],
    ) -> None:
        params: ExecApprovalRequestParams = self._params(frame, ExecApprovalRequestParams)
        request = self._build_request(params, now_ms)
        if self.broker.get(request.id, now_ms=now_ms) is not None:
            raise RemoteProtocolError(
                "approval id already pending", details={"reason": "APPROVAL_ID_CONFLICT"}
            )
        # Expiries due by now free their slots before the bound is checked (the transport's
        # timer may not have fired yet).
        self.broker.tick(now_ms)
        self._drain(out)
        self._check_bounds(conn)
        route = any(
            self._may_see(key, c.principal, connection, conn.principal)
            for key, c in self._approvers.items()
        )
        result = self.broker.register(
            request, now_ms=now_ms, requester=conn.principal, has_route=route
        )
        if result.outcome is ApprovalOutcome.EXPIRED:
            out.append(Outgoing(connection, self._final(frame.id, result)))
            return
        if not result.ok or result.record is None:
            raise RemoteProtocolError(f"registration failed: {result.message}")
        self._owners[request.id] = _Owner(connection, conn.principal.id)
        conn.open.add(request.id)
        self._by_principal.setdefault(conn.principal.id, set()).add(request.id)
        self._drain(out)  # the requested event goes out first (OpenClaw step 6, then step 8)
        if params.two_phase:
            accepted = AcceptedPayload(
                id=request.id,
                created_at_ms=request.created_at_ms,
                expires_at_ms=request.expires_at_ms,
            )
            out.append(
                Outgoing(connection, ResponseFrame(id=frame.id, ok=True, payload=encode(accepted)))
            )
        # The approval id is part of the waiter key: a client that reuses a frame id for
        # several requests (OpenClaw answers each) gets each final answer, not an error.
        waited = self.broker.wait(
            request.id,
            waiter=(connection, frame.id, request.id),
            now_ms=now_ms,
            connection=connection,
        )
        if waited.outcome is not ApprovalOutcome.WAITING:
            out.append(Outgoing(connection, self._final(frame.id, waited)))

    def _check_bounds(self, conn: _Connection) -> None:
        limits = (
            ("connection", len(conn.open), self.max_pending_per_connection),
            (
                "device",
                len(self._by_principal.get(conn.principal.id, ())),
                self.max_pending_per_principal,
            ),
        )
        for what, count, limit in limits:
            if limit is not None and count >= limit:
                raise RemoteProtocolError(
                    f"too many pending approval requests on this {what} (limit {limit})",
                    details={"reason": "TOO_MANY_PENDING"},
                )

    def _may_see(
        self,
        key: Hashable,
        principal: Principal,
        requester_key: Hashable,
        requester: Principal,
    ) -> bool:
        """Whether connection *key* may be shown (and resolve) a request by *requester*."""
        if principal.id in self.allow_self_approval:
            return True
        return key != requester_key and principal.id != requester.id

    def _wait(
        self, connection: Hashable, frame: RequestFrame, now_ms: int, out: list[Outgoing]
    ) -> None:
        params: WaitDecisionParams = self._params(frame, WaitDecisionParams)
        if not params.id.strip():
            raise RemoteProtocolError("id is required")
        key = (connection, frame.id)
        result = self.broker.wait(
            params.id.strip(), waiter=key, now_ms=now_ms, connection=connection
        )
        if result.outcome is ApprovalOutcome.NOT_FOUND:
            raise RemoteProtocolError(result.message, details={"reason": result.reason})
        if result.outcome is not ApprovalOutcome.WAITING:
            out.append(Outgoing(connection, self._final(frame.id, result)))

    def _resolve(
        self,
        connection: Hashable,
        conn: _Connection,
        frame: RequestFrame,
        now_ms: int,
        out: list[Outgoing],
    ) -> None:
        params: ResolveParams = self._params(frame, ResolveParams)
        days = grant_days(frame.params)
        found = self.broker.lookup(params.id, now_ms=now_ms) if params.id.strip() else None
        if (
            found is not None
            and found.record is not None
            and not self.may_resolve(connection, conn.principal, found.record.id)
        ):
            raise RemoteProtocolError(
                "an approval request cannot be resolved by the connection or device that "
                "made it (the gateway's allow_self_approval names those that may)",
                details={"reason": "SELF_APPROVAL_NOT_ALLOWED"},
            )
        result = self.broker.resolve(
            params.id,
            params.decision,
            approver=conn.principal,
            now_ms=now_ms,
            grant_expires_in_days=days,
        )
        if not result.ok:
            raise RemoteProtocolError(result.message, details={"reason": result.reason})
        self._drain(out)  # the resolved event goes out before the {ok:true} answer
        out.append(Outgoing(connection, ResponseFrame(id=frame.id, ok=True, payload={"ok": True})))

    # ------------------------------------------------------------------ output

    @staticmethod
    def _final(frame_id: str, result: ApprovalResult | WaitFinished) -> ResponseFrame:
        record = result.record
        assert record is not None
        return ResponseFrame(id=frame_id, ok=True, payload=encode(_decision_payload(record)))

    def _event(self, frame: EventFrame, hide_from: _Owner | None = None) -> list[Outgoing]:
        self._seq += 1
        framed = attrs.evolve(frame, seq=self._seq)
        return [
            Outgoing(key, framed)
            for key, c in self._audience.items()
            if (
                hide_from is None
                or c.principal.id in self.allow_self_approval
                or (key != hide_from.connection and c.principal.id != hide_from.principal_id)
            )
        ]

    def _drain(self, out: list[Outgoing]) -> None:
        while (event := self.broker.next_event()) is not NO_EVENT:
            if isinstance(event, ApprovalRequested):
                # Not shown to those who may not resolve it: their own requester.
                requester = event.record.requester
                owner = self._owners.get(event.record.id)
                if owner is None and requester is not None:
                    owner = _Owner(object(), requester.id)
                out.extend(self._event(requested_event(event.record), owner))
            elif isinstance(event, ApprovalResolved):
                self._forget_owner(event.record.id)
                self.history.append(event.record)
                out.extend(self._event(resolved_event(event.record)))
            elif isinstance(event, ApprovalExpired | ApprovalCancelled):
                self._forget_owner(event.record.id)
                self.history.append(event.record)
            elif isinstance(event, WaitFinished):
                connection, frame_id = _waiter_key(event.waiter)
                if connection in self._connections and event.record is not None:
                    out.append(Outgoing(connection, self._final(frame_id, event)))
            # expiry and cancellation have no wire event in OpenClaw


def _waiter_key(waiter: Hashable) -> tuple[Hashable, str]:
    """``(connection, frame id)`` of a waiter key (requests add the approval id)."""
    assert isinstance(waiter, tuple)
    return waiter[0], waiter[1]


def _decision_payload(record: ApprovalRecord) -> DecisionPayload:
    return DecisionPayload(
        id=record.id,
        decision=record.decision,
        created_at_ms=record.request.created_at_ms,
        expires_at_ms=record.request.expires_at_ms,
    )
