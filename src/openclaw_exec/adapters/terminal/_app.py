"""
``openclaw-exec approve`` without the argument parsing: sources, screen, summary.

:func:`run_approve` starts every source (each is listening or connected before the first
frame: a socket that cannot be created or a gateway that refuses ends it with that error),
then runs the full screen or the line mode until the human quits, and returns what happened.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TextIO

import anyio
import attrs

from openclaw_exec.adapters.terminal._approver import Analyzer, TerminalApprover
from openclaw_exec.adapters.terminal._screen import run_lines, run_screen
from openclaw_exec.adapters.terminal._sources import serve_gateway, serve_socket
from openclaw_exec.adapters.unix_socket import DEFAULT_PROMPT_TIMEOUT

__all__ = [
    "ApproveSummary",
    "GatewaySource",
    "SocketSource",
    "default_identity_path",
    "run_approve",
]


def default_identity_path(env: dict[str, str] | None = None) -> Path:
    """
    The approver's device identity for gateways.

    ``$OPENCLAW_EXEC_STATE_DIR/approve/device.json``, else ``~/.openclaw-exec/approve/device.json``
    (its own device: never OpenClaw's ``~/.openclaw/identity``, see #59882).
    """
    environ = os.environ if env is None else env
    base = environ.get("OPENCLAW_EXEC_STATE_DIR", "").strip()
    root = Path(base).expanduser() if base else Path.home() / ".openclaw-exec"
    return root / "approve" / "device.json"


@attrs.frozen
class SocketSource:
    """
    Own the approvals socket (what OpenClaw's macOS app does) and show its prompts.

    Attributes:
        path: The socket path.
        token: The shared token every prompt must carry.
        default_timeout_s: How long a prompt without ``expiresAtMs`` is shown (OpenClaw's
            socket clients give up after 15 s).
    """

    path: Path = attrs.field(converter=Path)
    token: str = attrs.field(repr=False)
    default_timeout_s: float = DEFAULT_PROMPT_TIMEOUT

    @property
    def label(self) -> str:
        """For the header."""
        return f"socket {self.path}"


@attrs.frozen
class GatewaySource:
    """
    Connect to a gateway as an approver (``GatewayClientOptions``, the ``[websocket]`` extra).

    Attributes:
        options: How to connect.
        verify_delivery: Refuse a connection the gateway would never show requests to.
    """

    options: object
    verify_delivery: bool = True

    @property
    def label(self) -> str:
        """For the header."""
        return f"gateway {getattr(self.options, 'url', '?')}"


@attrs.frozen
class ApproveSummary:
    """What a session of ``approve`` did."""

    answered: int
    expired: int
    left: int

    def line(self) -> str:
        """One line for the end of the session."""
        return (
            f"approve: {self.answered} answered, {self.expired} expired, "
            f"{self.left} left unanswered"
        )


async def run_approve(
    sources: list[SocketSource | GatewaySource],
    *,
    analyze: Analyzer | None,
    screen: bool,
    fd_in: int = 0,
    fd_out: int = 1,
    stdin: TextIO | None = None,
    out: TextIO | None = None,
) -> ApproveSummary:
    """
    Serve *sources* and ask the human (full screen, or the line mode) until they quit.

    Raises:
        TransportError: A socket could not be created.
        GatewayError: A gateway refused (pairing, auth, ``ApprovalDeliveryError``).
        OSError: The full screen was asked for without a terminal.
    """
    approver = TerminalApprover(analyze=analyze)
    approver.board.sources = tuple(source.label for source in sources)
    left = 0
    async with anyio.create_task_group() as tg:
        for source in sources:
            if isinstance(source, SocketSource):
                await tg.start(
                    lambda task_status, s=source: serve_socket(
                        approver,
                        s.path,
                        s.token,
                        default_timeout_s=s.default_timeout_s,
                        task_status=task_status,
                    )
                )
            else:
                await tg.start(
                    lambda task_status, s=source: serve_gateway(
                        approver,
                        s.options,
                        verify_delivery=s.verify_delivery,
                        task_status=task_status,
                    )
                )
        if not screen and out is not None:
            for source in sources:
                out.write(f"listening: {source.label}\n")
            out.flush()
        try:
            if screen:
                await run_screen(approver, fd_in=fd_in, fd_out=fd_out)
            else:
                await run_lines(approver, stdin=stdin, out=out)
        finally:
            left = len(approver.board.items)
            tg.cancel_scope.cancel()
    board = approver.board
    return ApproveSummary(answered=board.answered, expired=board.expired, left=left)
