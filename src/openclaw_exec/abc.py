"""
Contracts embedders implement: abstract classes and protocols with written guarantees.

:class:`ApprovalStore` is what the exec guard (:class:`openclaw_exec.ExecGuard`) and a
gateway need to hold approvals: register, resolve, wait, consume, claim, look up, list, and
tell approvers what happened. The in-memory implementation is
:class:`openclaw_exec.adapters.memory.MemoryApprovalStore`; a Redis one follows the same
contract. The reusable test suite :class:`openclaw_exec.testing.ApprovalStoreContract`
checks an implementation against every guarantee stated here.

:class:`Approver` is the one shape every approval surface has (console, automatic rules,
the Unix socket, a gateway operator, a web page, a webhook or chat bridge): an approval
request in, a decision or "no answer" out. :func:`openclaw_exec.approvers.serve_approver`
drives any of them from a store's pending requests.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Sequence
from contextlib import AbstractAsyncContextManager
from typing import TYPE_CHECKING, Protocol, Self

if TYPE_CHECKING:
    from types import TracebackType

    from openclaw_exec.approvers import ApproverAnswer
    from openclaw_exec.protocol import (
        ApprovalEvent,
        ApprovalRecord,
        ApprovalRequest,
        ApprovalResult,
        Decision,
        ExecBinding,
        Principal,
    )

__all__ = ["ApprovalStore", "Approver"]


class Approver(Protocol):
    """
    The one approver contract: an approval request in, a decision or ``None`` out.

    ``None`` means "no answer" (nobody was reached, the human walked away): the approval
    stays pending and, at its expiry, ``askFallback`` applies. An approver never runs
    anything and never needs the store: :func:`openclaw_exec.approvers.serve_approver`
    shows it each pending request of a store and records its answer, and
    :func:`openclaw_exec.approvers.as_approver` turns a plain function (sync or async) or a
    fixed :class:`~openclaw_exec.protocol.Decision` into one.

    The guarantees the runner adds, so an approver may be simple:

    * it is called once per request, in its own task, and cancelled when the request
      expires or is decided elsewhere (so it may wait for a human as long as it likes);
    * an exception, or a return value that is not a ``Decision`` / ``ApproverAnswer`` /
      ``None``, is a **deny** that is logged (logger ``openclaw_exec.approvers``), never a
      crash of the task group it runs in;
    * it may return an :class:`~openclaw_exec.approvers.ApproverAnswer` to say *who*
      answered (a web user, a Slack member); otherwise the runner's principal is recorded.

    Example::

        async def approve(request: ApprovalRequest) -> Decision | None:
            if request.command.startswith("git "):
                return Decision.ALLOW_ONCE
            return None  # no answer: askFallback applies at expiry
    """

    async def __call__(self, request: ApprovalRequest, /) -> Decision | ApproverAnswer | None:
        """Answer *request*: a decision, a decision with its author, or ``None``."""
        ...


class ApprovalStore(ABC):
    """
    Holds many approvals and settles each exactly once.

    An implementation drives the life cycle of :data:`openclaw_exec.protocol.TRANSITIONS`
    (pending -> decided | expired | cancelled -> forgotten after the grace window) and
    answers with :class:`~openclaw_exec.protocol.ApprovalResult` values whose ``outcome``,
    ``message`` and ``reason`` are the ones :class:`~openclaw_exec.protocol.ApprovalBroker`
    gives. The simplest correct implementation wraps that sans-IO broker.

    Guarantees every implementation must give:

    * **Atomicity.** Each call is atomic per approval id: it reads the state and applies the
      table row as one step (a compare-and-swap in a shared database). In particular the first
      ``resolve`` wins for every caller in every process; a later one with the same decision
      answers ``RESOLVED_AGAIN`` and a different one ``ALREADY_RESOLVED``; an ``allow-once``
      answers ``CONSUMED`` to exactly one ``consume`` call ever.
    * **Ordering.** Calls on one id are linearisable. Events for one id reach each subscriber
      in order (``ApprovalRequested`` before the one settling event); nothing is announced
      before the state change it reports is visible to ``get``.
    * **No lost wake-ups.** A ``wait_decision`` that starts while the approval is pending
      returns as soon as it settles; one that starts after it settled (within the grace
      window) returns at once. Every waiter of one id sees the same decision.
    * **Time.** ``request.expires_at_ms`` is epoch milliseconds. An approval is never decided
      at or after its expiry: a pending approval is treated as expired by every call made
      at ``now >= expires_at_ms``, even if a background timer has not run yet. Settled
      approvals stay readable for ``grace_ms`` after settling, then behave as unknown.
    * **Fail closed.** Any failure to reach the backing store raises
      :class:`~openclaw_exec.exceptions.TransportError`; it never reports a decision it did
      not read. A store that survives restarts must settle approvals left pending by a previous
      run as cancelled (never decided), and must persist allow-once consumption together with
      the decision so an allow-once cannot be consumed twice across a restart, and keep
      :meth:`claim` marks as durably as records.
    * **Durability** is implementation-defined and must be documented by each implementation
      (the memory store keeps nothing across restarts, as OpenClaw's in-memory manager).

    Use as an async context manager (``async with store:``) or call :meth:`aclose`.
    """

    @property
    @abstractmethod
    def grace_ms(self) -> int:
        """How long settled approvals stay readable (OpenClaw: 15 000 ms)."""

    @abstractmethod
    def now_ms(self) -> int:
        """
        The store's clock in epoch milliseconds.

        Requesters stamp ``created_at_ms`` / ``expires_at_ms`` with it so expiry and creation
        times agree with the store's view of time.
        """

    @abstractmethod
    async def register(
        self,
        request: ApprovalRequest,
        *,
        requester: Principal | None = None,
        has_route: bool | None = None,
    ) -> ApprovalResult:
        """
        Register *request* as pending, and announce it to subscribers.

        Args:
            request: The request; its id is the approval id.
            requester: Who asks, recorded on the approval.
            has_route: Whether some approver can be asked. ``None`` lets the store decide
                (the memory store: at least one subscriber). With no route the approval
                expires at once with reason ``no-approval-route`` and no event is announced
                except :class:`~openclaw_exec.protocol.ApprovalExpired`; the caller then
                applies ``askFallback`` (never a hang).

        Returns:
            ``REGISTERED`` (or ``EXPIRED`` with no route); ``ALREADY_PENDING`` for an equal
            request again (idempotent); ``ID_CONFLICT`` (reason ``APPROVAL_ID_CONFLICT``) for
            a different request under a pending id; ``ID_SETTLED`` (reason
            ``APPROVAL_ALREADY_RESOLVED``) for an id settled within the grace window. A
            refused registration changes nothing.
        """

    @abstractmethod
    async def resolve(
        self,
        approval_id: str,
        decision: Decision,
        *,
        approver: Principal | None,
        grant_expires_in_days: int | None = None,
    ) -> ApprovalResult:
        """
        Record *decision* for a pending approval; the first decision wins.

        *approval_id* may be a unique case-insensitive prefix of a pending approval's id
        (the chat slug); an exact id always wins over prefixes.

        *grant_expires_in_days* (OpenClaw 2026.9.6 ``grantExpiresInDays``, an integer from 1
        to 3650) is the approver's lifetime for an ``allow-always`` grant: the decided
        record carries it as ``grant_expires_in_days`` and the guard persists the grant to
        expire that many days later. It is validated with any decision but kept only with
        ``allow-always`` (OpenClaw's gateway ignores it otherwise); a bad value raises
        :class:`~openclaw_exec.exceptions.LocalProtocolError` (reason ``INVALID_PARAMS``)
        and changes nothing. Callers pass it only when set, so a store written before it
        existed keeps working for every other resolve.

        Returns:
            ``RESOLVED``, ``RESOLVED_AGAIN`` (same decision repeated), ``ALREADY_RESOLVED``
            (different decision; reason ``APPROVAL_ALREADY_RESOLVED``), ``NOT_FOUND`` (unknown,
            expired, cancelled, forgotten, or an ambiguous prefix: reason
            ``APPROVAL_NOT_FOUND`` or ``APPROVAL_ID_AMBIGUOUS``), or ``APPROVER_REFUSED``
            (reason ``APPROVER_NOT_ALLOWED``) when the approver policy refuses *approver*;
            the approval then stays pending. The default policy refuses ``None`` and
            principals with an empty id.
        """

    @abstractmethod
    async def wait_decision(
        self,
        approval_id: str,
        *,
        timeout: float | None = None,  # noqa: ASYNC109 (a remote store passes it to its server)
    ) -> ApprovalRecord | None:
        """
        Wait until the approval settles, at most *timeout* seconds (``None``: until expiry).

        Exact id only, no prefix lookup.

        Returns:
            The record when the wait ends: settled (decided, expired or cancelled), or still
            pending if *timeout* passed first; ``None`` if the id is unknown or forgotten.
        """

    @abstractmethod
    async def consume(self, approval_id: str, binding: ExecBinding | None) -> ApprovalResult:
        """
        Spend the approval for one run of exactly *binding*.

        Returns:
            ``CONSUMED`` once for an ``allow-once`` (it becomes ``consumed``), and for an
            ``allow-always`` within the grace window; ``NOT_CONSUMABLE`` otherwise, with reason
            ``APPROVAL_REQUEST_MISMATCH`` when *binding* differs from the request's binding
            (the approval is left as it was); ``NOT_FOUND`` for an unknown id.
        """

    @abstractmethod
    async def claim(self, approval_id: str, *, keep_until_ms: int) -> bool:
        """
        Mark the outcome of *approval_id* as collected: ``True`` for exactly one call.

        The exec guard claims a request once before it acts on its settled record (a
        decision, an expiry, a cancellation): the caller that wins runs or refuses the
        command, every other caller (another task, process or replica, a replayed id) is
        refused. Unlike :meth:`consume`, which spends an ``allow-once`` only, a claim covers
        every outcome (deny, expiry, ``allow-always``), so one request has one outcome.

        The mark is independent of the approval's record and of its state machine: the id
        need not be known to the store, and claiming changes nothing a :meth:`get` shows.

        Args:
            approval_id: The exact approval id (no prefix lookup).
            keep_until_ms: Epoch milliseconds (the store's clock) until which the mark must
                be kept at least. The guard passes a time after the record itself is
                forgotten, so a later replay finds neither and is refused.

        Returns:
            ``True`` for the first call for *approval_id*, ``False`` for every later call
            while the mark is kept, in every process that shares the store. A call retried
            after a lost reply must answer what the first attempt did.

        Raises:
            TransportError: The backing store cannot be reached (nothing was claimed, or
                the claim is kept and answers ``True`` to no one: fail closed).
        """

    @abstractmethod
    async def cancel(self, approval_id: str) -> ApprovalResult:
        """
        Withdraw a pending approval; parked waiters get no decision.

        Returns:
            ``CANCELLED``, ``IGNORED`` (already settled) or ``NOT_FOUND``.
        """

    @abstractmethod
    async def get(self, approval_id: str) -> ApprovalRecord | None:
        """The current record for the exact id, or ``None`` if unknown or forgotten."""

    @abstractmethod
    async def list_pending(self) -> Sequence[ApprovalRecord]:
        """Every pending (not expired) approval, oldest first."""

    @abstractmethod
    def subscribe(self) -> AbstractAsyncContextManager[AsyncIterator[ApprovalEvent]]:
        """
        Receive approval events, as an approver channel does.

        While the context is open the subscriber counts as an approver route. Events may be
        dropped for a subscriber that does not keep up (OpenClaw: drop-if-slow); approvers
        catch up with :meth:`list_pending`. Events are never invented or reordered per id.
        """

    @abstractmethod
    async def aclose(self) -> None:
        """Release resources. Parked waiters get ``None``; later calls may raise."""

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()
