"""
Where pending requests come from: the Unix socket or a gateway (the kit or a real OpenClaw).

An in-process :class:`~openclaw_exec.abc.ApprovalStore` needs nothing here:
:class:`TerminalApprover` keeps the approver contract, so
:func:`openclaw_exec.approvers.serve_approver` drives it.
Each source turns its own request type into a :class:`PendingRequest` and awaits
:meth:`TerminalApprover.ask`; the answer goes back the way the request came (a ``decision``
line on the socket, ``exec.approval.resolve`` on the gateway). Run them
in the same task group as the screen: ``await tg.start(serve_socket, approver, path, token)``.
"""

from __future__ import annotations

from pathlib import Path

import anyio
import anyio.abc

from openclaw_exec.adapters.terminal._approver import TerminalApprover
from openclaw_exec.adapters.terminal._model import PendingRequest
from openclaw_exec.adapters.unix_socket import DEFAULT_PROMPT_TIMEOUT, ApprovalSocketServer
from openclaw_exec.protocol import (
    Decision,
    SocketRequest,
)

__all__ = [
    "pending_from_listed",
    "pending_from_prompt",
    "pending_from_socket",
    "serve_gateway",
    "serve_socket",
]


def pending_from_socket(
    message: SocketRequest, *, received_at_ms: int, default_timeout_s: float
) -> PendingRequest:
    """
    A socket prompt as the board shows it.

    Its deadline is ``expiresAtMs`` when the client sent one (this library's
    :class:`~openclaw_exec.adapters.unix_socket.SocketApprover` does), else
    *default_timeout_s* after arrival: OpenClaw's clients give up after 15 s by default.
    """
    prompt = message.request
    expires = prompt.expires_at_ms
    if expires is None:
        expires = received_at_ms + int(default_timeout_s * 1000)
    return PendingRequest(
        id=message.id,
        command=prompt.command,
        received_at_ms=received_at_ms,
        expires_at_ms=expires,
        cwd=prompt.cwd,
        agent_id=prompt.agent_id,
        session_key=prompt.session_key,
        host=prompt.host,
        security=prompt.security,
        ask=prompt.ask,
        resolved_path=prompt.resolved_path,
        allowed_decisions=prompt.allowed_decisions or tuple(Decision),
        source="socket",
    )


async def serve_socket(
    approver: TerminalApprover,
    path: str | Path,
    token: str,
    *,
    default_timeout_s: float = DEFAULT_PROMPT_TIMEOUT,
    task_status: anyio.abc.TaskStatus[None] = anyio.TASK_STATUS_IGNORED,
) -> None:
    """
    Own the approvals socket at *path* and show each authenticated prompt until cancelled.

    Raises:
        TransportError: The path is unsafe or the socket cannot be created.
    """

    async def decide(message: SocketRequest) -> Decision | None:
        item = pending_from_socket(
            message, received_at_ms=approver.clock(), default_timeout_s=default_timeout_s
        )
        return await approver.ask(item)

    server = ApprovalSocketServer(path=Path(path), token=token, decide=decide)
    await server.serve(task_status=task_status)


def pending_from_prompt(prompt: object, *, received_at_ms: int, source: str) -> PendingRequest:
    """A gateway ``exec.approval.requested`` prompt (``ApprovalPrompt``) as the board shows it."""
    from openclaw_exec.adapters.websocket import ApprovalPrompt  # noqa: PLC0415

    assert isinstance(prompt, ApprovalPrompt)
    return PendingRequest(
        id=prompt.id,
        command=prompt.command,
        received_at_ms=received_at_ms,
        expires_at_ms=prompt.expires_at_ms,
        argv=prompt.command_argv,
        cwd=prompt.cwd,
        agent_id=prompt.agent_id,
        session_key=prompt.session_key,
        host=prompt.host,
        security=prompt.security,
        ask=prompt.ask,
        allowed_decisions=prompt.allowed_decisions,
        source=source,
    )


def _offered(raw: object) -> tuple[Decision, ...]:
    allowed = raw.get("allowedDecisions") if isinstance(raw, dict) else None
    if isinstance(allowed, list):
        return tuple(d for d in Decision if d.value in allowed)
    return tuple(Decision)


def pending_from_listed(listed: object, *, received_at_ms: int, source: str) -> PendingRequest:
    """An ``exec.approval.list`` item (``PendingExecApproval``) as the board shows it."""
    from openclaw_exec.protocol import PendingExecApproval  # noqa: PLC0415

    assert isinstance(listed, PendingExecApproval)
    return PendingRequest(
        id=listed.id,
        command=listed.command,
        received_at_ms=received_at_ms,
        expires_at_ms=listed.expires_at_ms,
        argv=listed.command_argv,
        cwd=listed.cwd,
        agent_id=listed.agent_id,
        session_key=listed.session_key,
        host=listed.host,
        security=listed.security,
        ask=listed.ask,
        allowed_decisions=_offered(dict(listed.raw)),
        source=source,
    )


async def _catch_up(approver: TerminalApprover, options: object, source: str, every: float) -> None:
    """
    Show what ``exec.approval.list`` has that no event brought, and answer it there.

    That is requests registered before this approver connected, and broadcasts the gateway
    dropped. A listed request that leaves the list was settled elsewhere: its question is withdrawn.
    Gateways without the method are left to the events alone.
    """
    from openclaw_exec.adapters.websocket import GatewayApprovals, GatewayError  # noqa: PLC0415
    from openclaw_exec.exceptions import TransportError  # noqa: PLC0415

    asked: dict[str, anyio.CancelScope] = {}

    async def ask(approvals: GatewayApprovals, item: PendingRequest) -> None:
        scope = asked[item.id] = anyio.CancelScope()
        decision: Decision | None = None
        with scope:
            decision = await approver.ask(item)
        asked.pop(item.id, None)
        if decision is None or scope.cancel_called:
            return
        try:
            await approvals.resolve(item.id, decision)
        except (GatewayError, TransportError) as exc:
            approver.board.note(f"not recorded ({exc}): {item.slug} {item.command}")
            approver.changed()

    try:
        async with (
            GatewayApprovals.connect(options) as approvals,  # type: ignore[arg-type]
            anyio.create_task_group() as tg,
        ):
            if not approvals.supports("exec.approval.list"):
                return
            while True:
                listed = await approvals.list_pending()
                now = approver.clock()
                ids = {entry.id for entry in listed}
                for entry in listed:
                    if entry.id not in asked and entry.id not in approver.board.items:
                        item = pending_from_listed(entry, received_at_ms=now, source=source)
                        tg.start_soon(ask, approvals, item)
                for approval_id, scope in list(asked.items()):
                    if approval_id not in ids:
                        scope.cancel()
                await anyio.sleep(every)
    except (GatewayError, TransportError) as exc:
        # The events still flow on the operator's own connection: say so, do not stop.
        approver.board.note(f"pending list unavailable on {source}: {exc}")
        approver.changed()


async def serve_gateway(
    approver: TerminalApprover,
    options: object,
    *,
    verify_delivery: bool = True,
    list_every: float | None = 5.0,
    task_status: anyio.abc.TaskStatus[object] = anyio.TASK_STATUS_IGNORED,
) -> None:
    """
    Connect to a gateway as an approver and show its pending exec approvals.

    *options* is a :class:`~openclaw_exec.adapters.websocket.GatewayClientOptions` (the
    ``[websocket]`` extra). Requests arrive as ``exec.approval.requested`` events; where the
    gateway offers ``exec.approval.list`` (OpenClaw 2026.9) a second connection also lists
    them at start and every *list_every* seconds, so a request registered before this
    approver connected, or whose broadcast was dropped, is shown too (``None``: events only).
    A request settled by another approver disappears from the board (the gateway's
    ``exec.approval.resolved``, or its leaving the list). ``task_status`` gets the ``hello-ok``.

    Raises:
        ApprovalDeliveryError: The gateway would never show this approver other clients'
            requests (the message says what to change).
        GatewayError, TransportError: As :meth:`ApprovalOperator.run`.
    """
    from openclaw_exec.adapters.websocket import (  # noqa: PLC0415
        ApprovalOperator,
        ApprovalPrompt,
        GatewayClientOptions,
    )

    assert isinstance(options, GatewayClientOptions)
    source = f"gateway {options.url}"

    async def on_request(prompt: ApprovalPrompt) -> Decision | None:
        item = pending_from_prompt(prompt, received_at_ms=approver.clock(), source=source)
        return await approver.ask(item)

    operator = ApprovalOperator(options, on_request, verify_delivery=verify_delivery)
    async with anyio.create_task_group() as tg:
        hello = await tg.start(operator.run)
        if list_every is not None:
            tg.start_soon(_catch_up, approver, options, source, list_every)
        task_status.started(hello)
