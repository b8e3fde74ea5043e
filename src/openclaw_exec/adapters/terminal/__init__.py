"""
The terminal approval surface: ``openclaw-exec approve`` as a library.

A human watches pending requests, with countdowns to expiry, the ``explain`` segment table and
what ``allow-always`` would persist, and answers with one key, alone or in batches of
related requests. :class:`TerminalApprover` is the approver every source asks, and it keeps
the one approver contract (a request in, a decision or ``None`` out). Requests come from the
Unix socket (:func:`serve_socket`), a gateway (the kit or a real OpenClaw,
:func:`serve_gateway`) or an in-process store
(``tg.start(openclaw_exec.approvers.serve_approver, store, approver)``). :func:`run_screen`
is the full-screen terminal (stdlib only: ANSI and ``termios``), :func:`run_lines` the line
mode for a non-terminal stdout. The board (:class:`ApprovalBoard`), the keys
(:class:`KeyDecoder`) and the frames (:func:`render_board`) are pure and tested without a
terminal.
"""

from __future__ import annotations

from openclaw_exec.adapters.terminal._analysis import HostAnalyzer
from openclaw_exec.adapters.terminal._app import (
    ApproveSummary,
    GatewaySource,
    SocketSource,
    default_identity_path,
    run_approve,
)
from openclaw_exec.adapters.terminal._approver import (
    Analyzer,
    TerminalApprover,
    pending_from_request,
    wall_ms,
)
from openclaw_exec.adapters.terminal._keys import KeyDecoder
from openclaw_exec.adapters.terminal._model import (
    MULTI_COMMAND_PROGRAMS,
    Answer,
    ApprovalAnalysis,
    ApprovalBoard,
    Confirmation,
    PendingRequest,
    command_shape,
    format_countdown,
)
from openclaw_exec.adapters.terminal._render import (
    KEY_HELP,
    MIN_HEIGHT,
    MIN_WIDTH,
    Frame,
    describe_pending,
    detail_lines,
    render_board,
)
from openclaw_exec.adapters.terminal._screen import frame_bytes, run_lines, run_screen
from openclaw_exec.adapters.terminal._sources import (
    pending_from_listed,
    pending_from_prompt,
    pending_from_socket,
    serve_gateway,
    serve_socket,
)
from openclaw_exec.adapters.terminal._text import cell_width, fit, visible, wrap

__all__ = [
    "KEY_HELP",
    "MIN_HEIGHT",
    "MIN_WIDTH",
    "MULTI_COMMAND_PROGRAMS",
    "Analyzer",
    "Answer",
    "ApprovalAnalysis",
    "ApprovalBoard",
    "ApproveSummary",
    "Confirmation",
    "Frame",
    "GatewaySource",
    "HostAnalyzer",
    "KeyDecoder",
    "PendingRequest",
    "SocketSource",
    "TerminalApprover",
    "cell_width",
    "command_shape",
    "default_identity_path",
    "describe_pending",
    "detail_lines",
    "fit",
    "format_countdown",
    "frame_bytes",
    "pending_from_listed",
    "pending_from_prompt",
    "pending_from_request",
    "pending_from_socket",
    "render_board",
    "run_approve",
    "run_lines",
    "run_screen",
    "serve_gateway",
    "serve_socket",
    "visible",
    "wall_ms",
    "wrap",
]
