"""
Approvers: the one contract every approval surface keeps, and the runner that drives it.

An approver is an async callable: an :class:`~openclaw_exec.protocol.ApprovalRequest` in, a
:class:`~openclaw_exec.protocol.Decision` (or an :class:`ApproverAnswer` naming who
decided) or ``None`` ("no answer") out. :class:`~openclaw_exec.abc.Approver` states the
contract; :func:`as_approver` adapts a fixed decision or a plain (sync) function to it and
enforces its error rules (an exception or an invalid answer is a deny that is logged, never
a crash); :func:`serve_approver` shows a store's pending requests to one approver::

    async def approve(request: ApprovalRequest) -> Decision | None:
        return Decision.ALLOW_ONCE if request.command.startswith("git ") else None

    async with MemoryApprovalStore() as store, anyio.create_task_group() as tg:
        await tg.start(serve_approver, store, approve)
        ...  # ExecGuard(store=store) now asks approve()

Ready approvers: :class:`AutoApprover` (rules, for tests and demos), :class:`ConsoleApprover`
(a terminal), :class:`~openclaw_exec.adapters.unix_socket.SocketApprover` (OpenClaw's
approvals socket). :func:`openclaw_exec.open_guard` runs one for you.
"""

from __future__ import annotations

from openclaw_exec.abc import Approver
from openclaw_exec.adapters._approver_runner import (
    Answer,
    ApproverAnswer,
    ApproverLike,
    SafeApprover,
    as_approver,
    serve_approver,
)
from openclaw_exec.adapters._approvers import AutoApprover, ConsoleApprover

__all__ = [
    "Answer",
    "Approver",
    "ApproverAnswer",
    "ApproverLike",
    "AutoApprover",
    "ConsoleApprover",
    "SafeApprover",
    "as_approver",
    "serve_approver",
]
