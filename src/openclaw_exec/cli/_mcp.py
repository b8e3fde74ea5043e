"""``mcp``: serve a guarded shell tool over MCP's stdio transport."""

from __future__ import annotations

import argparse
import os
from typing import TextIO

from openclaw_exec.cli._common import (
    EXIT_OK,
    Subcommands,
    _approvals_path,
    _file_options,
    _knob_options,
    _read_file,
    _requested,
    _UsageError,
)


def _cmd_mcp(args: argparse.Namespace, out: TextIO) -> int:
    del out  # stdout is the MCP transport: nothing else may be written there
    try:
        import anyio  # noqa: PLC0415

        from openclaw_exec.integrations.mcp import shell_server  # noqa: PLC0415
    except ImportError as exc:
        raise _UsageError(
            f"openclaw-exec mcp needs the MCP SDK: pip install 'openclaw-exec[mcp]' ({exc})"
        ) from None
    from openclaw_exec.adapters.memory import MemoryApprovalStore  # noqa: PLC0415
    from openclaw_exec.adapters.unix_socket import SocketApprover  # noqa: PLC0415
    from openclaw_exec.guard import ExecGuard  # noqa: PLC0415

    if args.timeout_ms is not None and args.timeout_ms < 1:
        raise _UsageError("--timeout-ms must be a positive number of milliseconds")
    if args.cwd is not None and not os.path.isabs(args.cwd):  # noqa: PTH117 (a str)
        raise _UsageError(f"--cwd must be an absolute path, got {args.cwd!r}")
    path = _approvals_path(args)
    file = _read_file(path, args)  # checked once now: a typo fails here, not at the first call
    socket = file.socket if file is not None else None
    if args.approver == "socket" and (socket is None or not socket.path or not socket.token):
        raise _UsageError(f"{path}: --approver socket needs socket.path and socket.token")
    requested, _ = _requested(args)

    async def serve() -> None:
        async with MemoryApprovalStore() as store:
            guard = ExecGuard(
                store=store,
                approvals=path,
                policy=requested,
                audit=args.audit,
                **({} if args.timeout_ms is None else {"timeout_ms": args.timeout_ms}),
            )
            approver = None
            if args.approver != "none" and socket is not None and socket.path and socket.token:
                approver = SocketApprover(store, socket.path, socket.token)
            server = shell_server(
                guard,
                approver=approver,
                elicitation=not args.no_elicitation,
                cwd=args.cwd,
                agent_id=args.agent,
                session_key=args.session,
            )
            await server.run_stdio_async()

    anyio.run(serve, backend=args.backend)
    return EXIT_OK


def register(commands: Subcommands) -> None:
    """Add ``mcp``."""
    mcp = commands.add_parser(
        "mcp",
        help="serve a guarded shell tool to an MCP client over stdio",
        description=(
            "Serve one MCP tool, shell, over stdin/stdout. Each command is checked against "
            "the approvals file; what needs a human is asked through the client's "
            "elicitation when it supports it, else through the approvals socket "
            "(socket.path in the approvals file: openclaw-exec approve, or OpenClaw's app), "
            "else askFallback applies."
        ),
    )
    _file_options(mcp)
    _knob_options(mcp)
    mcp.add_argument("--cwd", metavar="DIR", help="working directory when the model gives none")
    mcp.add_argument("--session", metavar="KEY", help="session key bound to approvals")
    mcp.add_argument(
        "--no-elicitation",
        action="store_true",
        help="never ask through the client (use when the client lets its model answer)",
    )
    mcp.add_argument(
        "--approver",
        choices=("auto", "socket", "none"),
        default="auto",
        help="who answers when the client cannot: the approvals socket (auto: if configured)",
    )
    mcp.add_argument("--timeout-ms", metavar="MS", type=int, help="approval timeout")
    mcp.add_argument("--audit", metavar="FILE", help="append every decision to this audit log")
    mcp.add_argument(
        "--backend", choices=("asyncio", "trio"), default="asyncio", help=argparse.SUPPRESS
    )
    mcp.set_defaults(handler=_cmd_mcp)
