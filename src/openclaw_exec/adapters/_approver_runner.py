"""
The one approver contract at run time: adapt anything to it, and drive it from a store.

:func:`as_approver` turns a fixed decision, a plain function or a coroutine function into a
:class:`SafeApprover`: an :class:`~openclaw_exec.abc.Approver` that never raises (an error,
or an answer that is not a decision, is a logged deny). :func:`serve_approver` shows each
pending request of an :class:`~openclaw_exec.abc.ApprovalStore` to one approver, in its own
task, and records the answers. Everything here runs on asyncio and trio.
"""

from __future__ import annotations

import functools
import inspect
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, Generic, TypeAlias, TypeVar

import anyio
import anyio.abc
import anyio.to_thread
import attrs

from openclaw_exec.abc import Approver
from openclaw_exec.exceptions import LocalProtocolError, OpenClawExecError
from openclaw_exec.protocol import (
    ApprovalCancelled,
    ApprovalExpired,
    ApprovalRecord,
    ApprovalRequest,
    ApprovalRequested,
    ApprovalResolved,
    ApprovalResult,
    Decision,
    Principal,
    check_grant_days,
)

if TYPE_CHECKING:
    from openclaw_exec.abc import ApprovalStore

__all__ = ["ApproverAnswer", "ApproverLike", "SafeApprover", "as_approver", "serve_approver"]

logger = logging.getLogger("openclaw_exec.approvers")

_T = TypeVar("_T")
_DEFAULT_PRINCIPAL = Principal(id="approver")


@attrs.frozen
class ApproverAnswer:
    """
    A decision with its author, for approvers that know who answered.

    Attributes:
        decision: The decision.
        approver: Who answered (recorded as ``resolvedBy``; the store's approver policy
            checks it). ``None``: the runner's principal.
        grant_expires_in_days: How many whole days (1-3650) the ``allow-always`` grant lives
            (OpenClaw 2026.9.6 ``grantExpiresInDays``); ``None``: the guard's
            ``grant_expiry_days``. Only with ``allow-always`` (as OpenClaw's CLI: "only
            applies to allow-always"); anything else is refused here, at construction.
    """

    decision: Decision = attrs.field(validator=attrs.validators.instance_of(Decision))
    approver: Principal | None = attrs.field(
        default=None, validator=attrs.validators.optional(attrs.validators.instance_of(Principal))
    )
    grant_expires_in_days: int | None = attrs.field(default=None, kw_only=True)

    @grant_expires_in_days.validator
    def _check_days(self, _attr: attrs.Attribute[int | None], value: int | None) -> None:
        check_grant_days(value)
        if value is not None and self.decision is not Decision.ALLOW_ALWAYS:
            raise LocalProtocolError(
                "grant_expires_in_days only applies to allow-always",
                details={"reason": "INVALID_PARAMS"},
            )


Answer: TypeAlias = Decision | ApproverAnswer | None
"""What an approver returns: a decision, a decision with its author, or no answer."""

ApproverLike: TypeAlias = Approver | Decision | Callable[[ApprovalRequest], Any]
"""Anything :func:`as_approver` accepts: an approver, a fixed decision, a plain function."""


class _Safe(Generic[_T]):
    """The error rules of the contract, for a callable of any argument type."""

    def __init__(
        self,
        target: object,
        *,
        blocking: bool,
        name: str | None,
        describe: Callable[[_T], str],
    ) -> None:
        if not (isinstance(target, Decision) or callable(target)):
            msg = f"an approver must be a Decision or a callable, got {type(target).__name__}"
            raise TypeError(msg)
        self.target = target
        self.blocking = blocking
        self.name = name or _name_of(target)
        self.errors: list[str] = []
        """What went wrong, one line per failure (also logged)."""
        self._describe = describe

    async def answer(self, item: _T) -> Decision | ApproverAnswer | None:
        target = self.target
        if isinstance(target, Decision):
            return target
        assert callable(target)
        try:
            if self.blocking:
                call = functools.partial(target, item)
                answer = await anyio.to_thread.run_sync(call, abandon_on_cancel=True)
            else:
                answer = target(item)
            if inspect.isawaitable(answer):
                answer = await answer
        except anyio.get_cancelled_exc_class():
            raise
        except Exception as exc:  # noqa: BLE001 - a broken approver denies, it never crashes
            return self._failed(item, f"raised {type(exc).__name__}: {exc}")
        if answer is None or isinstance(answer, (Decision, ApproverAnswer)):
            return answer
        return self._failed(item, f"returned {answer!r}, not a Decision, ApproverAnswer or None")

    def _failed(self, item: _T, problem: str) -> Decision:
        message = f"approval {self._describe(item)}: approver {self.name} {problem}; denying"
        self.errors.append(message)
        logger.error("%s", message)
        return Decision.DENY


def _name_of(target: object) -> str:
    if isinstance(target, Decision):
        return f"<always {target.value}>"
    name = getattr(target, "__qualname__", None) or type(target).__qualname__
    return str(name)


class SafeApprover:
    """
    An :class:`~openclaw_exec.abc.Approver` that keeps the contract's error rules.

    Made by :func:`as_approver`. Calling it never raises (except cancellation): an exception
    from the wrapped approver, or a return value other than a
    :class:`~openclaw_exec.protocol.Decision`, :class:`ApproverAnswer` or ``None``, becomes
    ``Decision.DENY``, logged on the ``openclaw_exec.approvers`` logger and appended to
    :attr:`errors`.

    Attributes:
        target: What was wrapped.
        blocking: Whether a plain function runs in a worker thread.
        name: The name used in log lines.
        errors: One line per failure, oldest first.
    """

    def __init__(self, target: object, *, blocking: bool = False, name: str | None = None) -> None:
        self._safe: _Safe[ApprovalRequest] = _Safe(
            target, blocking=blocking, name=name, describe=lambda request: request.id
        )

    @property
    def target(self) -> object:
        """What was wrapped."""
        return self._safe.target

    @property
    def blocking(self) -> bool:
        """Whether a plain function runs in a worker thread."""
        return self._safe.blocking

    @property
    def name(self) -> str:
        """The name used in log lines."""
        return self._safe.name

    @property
    def errors(self) -> list[str]:
        """One line per failure, oldest first."""
        return self._safe.errors

    async def __call__(self, request: ApprovalRequest, /) -> Decision | ApproverAnswer | None:
        """Ask the wrapped approver; errors and nonsense answers are a logged deny."""
        return await self._safe.answer(request)

    def __repr__(self) -> str:
        return f"SafeApprover({self.name})"


def as_approver(
    approver: ApproverLike, *, blocking: bool = False, name: str | None = None
) -> SafeApprover:
    """
    Adapt *approver* to the one contract, with its error rules.

    Args:
        approver: A :class:`~openclaw_exec.protocol.Decision` (every request gets it), an
            async callable (an :class:`~openclaw_exec.abc.Approver`), or a plain function of
            the :class:`~openclaw_exec.protocol.ApprovalRequest` returning a decision, an
            :class:`ApproverAnswer` or ``None``. A :class:`SafeApprover` is returned as is.
        blocking: Run a plain function in a worker thread (for one that waits for a human,
            e.g. ``input()``); cancelling abandons the thread. Default: call it on the event
            loop, as a quick rule should be.
        name: The name used in log lines (default: the function's).

    Raises:
        TypeError: *approver* is neither a decision nor callable.
    """
    if isinstance(approver, SafeApprover) and not blocking and name is None:
        return approver
    return SafeApprover(approver, blocking=blocking, name=name)


async def serve_approver(
    store: ApprovalStore,
    approver: ApproverLike,
    *,
    principal: Principal = _DEFAULT_PRINCIPAL,
    on_result: Callable[[ApprovalResult], None] | None = None,
    catch_up_every: float | None = None,
    task_status: anyio.abc.TaskStatus[None] = anyio.TASK_STATUS_IGNORED,
) -> None:
    """
    Show every pending request of *store* to *approver* and record its answers.

    It subscribes first (from then on it is an approver route), then catches up with the
    requests already pending, then follows new ones. Each request is shown once, in its own
    task, so a slow human delays no other request; the call is cancelled when the request
    expires or is decided or withdrawn elsewhere. A decision is recorded with
    ``store.resolve`` as *principal* (or as the :class:`ApproverAnswer`'s approver); ``None``
    records nothing (the request expires and ``askFallback`` applies). Approver errors are
    logged denies (see :func:`as_approver`); a store error while recording is logged and
    the request is left to expire. Nothing an approver does ends this task.

    Start it in a task group: ``await tg.start(serve_approver, store, approver)``. It
    returns when the store closes, or by cancellation.

    Args:
        store: The store whose requests to serve.
        approver: Anything :func:`as_approver` accepts.
        principal: Who the answers are recorded as (``resolvedBy``).
        on_result: Called with each ``resolve`` result (for tests and metrics).
        catch_up_every: Seconds between re-reads of the pending list, for requests whose
            announcement was dropped (subscribers that fall behind lose events). ``None``:
            only at start.
        task_status: For ``tg.start``: started once subscribed and caught up.
    """
    safe = as_approver(approver)

    async def answer(record: ApprovalRecord) -> Decision | ApproverAnswer | None:
        return await safe(record.request)

    await _serve(
        store,
        answer,
        principal=principal,
        on_result=on_result,
        catch_up_every=catch_up_every,
        task_status=task_status,
    )


async def _serve(
    store: ApprovalStore,
    answer: Callable[[ApprovalRecord], Awaitable[Decision | ApproverAnswer | None]],
    *,
    principal: Principal,
    on_result: Callable[[ApprovalResult], None] | None,
    catch_up_every: float | None,
    task_status: anyio.abc.TaskStatus[None],
) -> None:
    """:func:`serve_approver` over a record-level answer function (AutoApprover uses it)."""
    asked: dict[str, anyio.CancelScope] = {}
    seen: set[str] = set()  # ids shown once already, never shown twice

    async def ask(record: ApprovalRecord) -> None:
        scope = asked[record.id]
        with scope:
            remaining = (record.request.expires_at_ms - store.now_ms()) / 1000
            if remaining <= 0:
                return  # already expired: nobody may answer it
            got: Decision | ApproverAnswer | None = None
            with anyio.move_on_after(remaining):  # expired: the answer would be refused
                got = await answer(record)
            if got is None or scope.cancel_called:
                return
            days: dict[str, int] = {}
            if isinstance(got, ApproverAnswer):
                decision, who = got.decision, got.approver
                if got.grant_expires_in_days is not None:
                    # Passed only when set: a store older than the keyword still works.
                    days["grant_expires_in_days"] = got.grant_expires_in_days
            else:
                decision, who = got, None
            try:
                result = await store.resolve(record.id, decision, approver=who or principal, **days)
            except (OpenClawExecError, OSError) as exc:
                message = "approval %s: the answer could not be recorded: %s"
                logger.error(message, record.id, exc)  # noqa: TRY400 (an outage, not a bug)
                return
            if not result.ok:  # someone else was first, or the approver policy refused us
                logger.warning("approval %s: answer not recorded: %s", record.id, result.message)
            if on_result is not None:
                on_result(result)
        asked.pop(record.id, None)

    def show(tg: anyio.abc.TaskGroup, record: ApprovalRecord) -> None:
        if record.id in seen:
            return
        seen.add(record.id)
        asked[record.id] = anyio.CancelScope()
        tg.start_soon(ask, record)

    async def catch_up(tg: anyio.abc.TaskGroup, every: float) -> None:
        while True:
            await anyio.sleep(every)
            try:
                pending = await store.list_pending()
            except (OpenClawExecError, OSError) as exc:
                logger.warning("approver catch-up failed: %s", exc)
                continue
            for record in pending:
                show(tg, record)

    settled = (ApprovalResolved, ApprovalExpired, ApprovalCancelled)
    async with store.subscribe() as events, anyio.create_task_group() as tg:
        for record in await store.list_pending():
            show(tg, record)
        if catch_up_every is not None:
            tg.start_soon(catch_up, tg, catch_up_every)
        task_status.started()
        async for event in events:
            if isinstance(event, ApprovalRequested):
                show(tg, event.record)
            elif isinstance(event, settled):
                seen.discard(event.record.id)  # settled ids are never listed again
                scope = asked.pop(event.record.id, None)
                if scope is not None:
                    scope.cancel()  # decided, expired or withdrawn: stop asking
        tg.cancel_scope.cancel()  # the store closed: nothing can be recorded any more
