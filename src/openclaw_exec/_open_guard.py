"""
:func:`open_guard`: the common case in one ``async with`` (an exec guard, its store, its approver).

Re-exported as :func:`openclaw_exec.open_guard` and :func:`openclaw_exec.guard.open_guard`.
"""

from __future__ import annotations

import contextlib
import functools
import os
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

import anyio

from openclaw_exec.protocol import DEFAULT_APPROVAL_TIMEOUT_MS, Principal

if TYPE_CHECKING:
    from openclaw_exec.abc import ApprovalStore
    from openclaw_exec.adapters._approver_runner import ApproverLike
    from openclaw_exec.adapters.filestore import ApprovalsStore
    from openclaw_exec.guard import ExecGuard
    from openclaw_exec.policy import ApprovalsFile, ExecPolicy

__all__ = ["open_guard"]


@contextlib.asynccontextmanager
async def open_guard(
    *,
    policy: ExecPolicy | None = None,
    approver: ApproverLike | None = None,
    approvals: ApprovalsStore | str | os.PathLike[str] | None = None,
    approvals_file: ApprovalsFile | None = None,
    store: ApprovalStore | None = None,
    timeout_ms: int = DEFAULT_APPROVAL_TIMEOUT_MS,
    approver_principal: Principal | None = None,
    **guard_options: Any,
) -> AsyncIterator[ExecGuard]:
    """
    An :class:`~openclaw_exec.guard.ExecGuard` with its approval store and approver running.

    ::

        async with openclaw_exec.open_guard(policy=policy, approver=ask_human) as guard:
            run = await openclaw_exec.guarded_run(guard, "git push", cwd="/src")

    On entry it opens the store (an in-process
    :class:`~openclaw_exec.adapters.memory.MemoryApprovalStore` unless *store* is given) and
    starts *approver* on it with :func:`~openclaw_exec.approvers.serve_approver`, so the
    approver is subscribed (an approver route) before the first command is checked. On exit
    the approver is stopped, and a store it created is closed (approvals still pending are
    then lost: blocked callers get no decision and apply ``askFallback``). A *store* passed
    in is left open: it belongs to the caller. An exception raised in the body propagates
    as it is (never wrapped in an exception group); an approver's own failures never reach
    the body (they are logged denies).

    Args:
        policy: The requested policy (``ExecGuard(policy=...)``).
        approver: Who answers: anything :func:`~openclaw_exec.approvers.as_approver`
            accepts (an async function of the request, a plain function, a fixed
            :class:`~openclaw_exec.protocol.Decision`). ``None``: nobody, so an ask takes
            ``askFallback`` at once (unless a deferred ``check(..., has_route=True)`` brings
            the decision itself, or another approver serves *store*).
        approvals: The host approvals file (path or store), as ``ExecGuard(approvals=...)``.
        approvals_file: A fixed in-memory approvals document instead.
        store: An approval store to use instead of a new in-process one (a
            :class:`~openclaw_exec.adapters.redis.RedisApprovalStore` already entered, say).
        timeout_ms: Approval lifetime (default 30 minutes, as OpenClaw).
        approver_principal: Who the approver's answers are recorded as (default
            ``approver``).
        guard_options: Any other keyword argument of :class:`~openclaw_exec.guard.ExecGuard`
            (``audit``, ``sandbox``, ``host``, ``analysis_options`` ...).

    Yields:
        The guard, ready for ``authorize``, ``check``/``resume``, ``guarded_run``.
    """
    # Imported here: the guard module re-exports this function.
    from openclaw_exec.adapters._approver_runner import as_approver, serve_approver  # noqa: PLC0415
    from openclaw_exec.adapters.memory import MemoryApprovalStore  # noqa: PLC0415
    from openclaw_exec.guard import ExecGuard  # noqa: PLC0415

    safe = None if approver is None else as_approver(approver)  # a TypeError before anything
    principal = approver_principal or Principal(id="approver")
    async with contextlib.AsyncExitStack() as stack:
        if store is None:
            store = await stack.enter_async_context(MemoryApprovalStore())
        guard = ExecGuard(
            store=store,
            policy=policy,
            approvals=approvals,
            approvals_file=approvals_file,
            timeout_ms=timeout_ms,
            **guard_options,
        )
        body_error: BaseException | None = None
        async with anyio.create_task_group() as tg:
            if safe is not None:
                await tg.start(functools.partial(serve_approver, principal=principal), store, safe)
            try:
                yield guard
            except GeneratorExit:
                raise
            except BaseException as exc:  # noqa: BLE001 - re-raised below, outside the group
                body_error = exc
            finally:
                tg.cancel_scope.cancel()
        if body_error is not None:
            raise body_error
