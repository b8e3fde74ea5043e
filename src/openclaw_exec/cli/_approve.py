"""``approve``: the terminal approval surface (``openclaw_exec.adapters.terminal``)."""

from __future__ import annotations

import argparse
import os
import stat
import sys
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from openclaw_exec.cli._common import (
    EXIT_OK,
    Subcommands,
    _approvals_path,
    _read_file,
    _read_path,
    _UsageError,
)

if TYPE_CHECKING:
    from openclaw_exec.adapters.terminal import GatewaySource, SocketSource

GATEWAY_TOKEN_ENV = "OPENCLAW_GATEWAY_TOKEN"  # noqa: S105 (a variable name, not a secret)


def _read_secret(path: str, what: str) -> str:
    try:
        mode = os.stat(path).st_mode  # noqa: PTH116
    except OSError as exc:
        raise _UsageError(f"{path}: {exc.strerror or exc}") from None
    if stat.S_ISREG(mode) and mode & 0o077:
        # A shared secret others can read is no secret: refuse it rather than use it.
        raise _UsageError(f"{path}: the {what} file is readable by others (chmod 600 {path})")
    try:
        text = _read_path(path).decode("utf-8").strip()
    except UnicodeDecodeError:
        raise _UsageError(f"{path}: the {what} is not UTF-8 text") from None
    if not text:
        raise _UsageError(f"{path}: the {what} file is empty")
    return text


def _sources(args: argparse.Namespace, approvals: Path) -> list[SocketSource | GatewaySource]:
    from openclaw_exec.adapters.terminal import (  # noqa: PLC0415
        GatewaySource,
        SocketSource,
        default_identity_path,
    )

    sources: list[SocketSource | GatewaySource] = []
    want_socket = args.socket is not None or args.token_file is not None or not args.gateway
    if want_socket:
        file = _read_file(approvals, args)
        configured = file.socket if file is not None else None
        path = args.socket or (configured.path if configured is not None else None)
        token = (
            _read_secret(args.token_file, "socket token")
            if args.token_file
            else (configured.token if configured is not None else None)
        )
        if not path or not token:
            raise _UsageError(
                f"no approvals socket configured: give --socket PATH and --token-file FILE, "
                f"or set socket.path and socket.token in {approvals} (or use --gateway URL)"
            )
        sources.append(SocketSource(Path(path).expanduser(), token))
    for url in args.gateway or ():
        try:
            from openclaw_exec.adapters.websocket import (  # noqa: PLC0415
                GatewayClientOptions,
                ReconnectPolicy,
            )
        except ImportError:
            raise _UsageError(
                "--gateway needs the websocket extra: pip install 'openclaw-exec[websocket]'"
            ) from None
        token = (
            _read_secret(args.gateway_token_file, "gateway token")
            if args.gateway_token_file
            else os.environ.get(GATEWAY_TOKEN_ENV) or None
        )
        scopes = ("operator.approvals", "operator.admin") if args.admin else ("operator.approvals",)
        try:
            options = GatewayClientOptions(
                url=url,
                token=token,
                identity_path=Path(args.identity) if args.identity else default_identity_path(),
                client_id="cli",
                client_mode="cli",
                display_name="openclaw-exec approve",
                scopes=scopes,
                caps=("exec-approvals",),
                reconnect=ReconnectPolicy(max_attempts=3),
            )
        except ValueError as exc:
            raise _UsageError(f"--gateway {url}: {exc}") from None
        sources.append(GatewaySource(options))
    return sources


def _is_tty(stream: object) -> bool:
    """Whether *stream* is a terminal (a replaced stream without a descriptor is not)."""
    try:
        return os.isatty(stream.fileno())  # type: ignore[attr-defined]
    except (AttributeError, OSError, ValueError):  # io.UnsupportedOperation is both
        return False


def _cmd_approve(args: argparse.Namespace, out: TextIO) -> int:
    import anyio  # noqa: PLC0415

    from openclaw_exec.adapters.terminal import HostAnalyzer, run_approve  # noqa: PLC0415

    approvals = _approvals_path(args)
    if args.approvals:
        _read_file(approvals, args)  # one named explicitly must exist and be well-formed
    sources = _sources(args, approvals)
    tty = _is_tty(sys.stdin) and _is_tty(sys.stdout)
    if not args.lines and not tty:
        raise _UsageError(
            "approve needs a terminal on stdin and stdout for the full screen; "
            "use --lines for the line mode (answers as '<id> allow-once|allow-always|deny')"
        )
    analyze = None if args.no_analysis else HostAnalyzer(approvals)
    summary = anyio.run(
        lambda: run_approve(
            sources,
            analyze=analyze,
            screen=not args.lines,
            stdin=sys.stdin,
            out=out,
        ),
        backend=args.backend,
    )
    out.write(summary.line() + "\n")
    return EXIT_OK


def register(commands: Subcommands) -> None:
    """Add ``approve``."""
    approve = commands.add_parser(
        "approve",
        help="answer pending approvals in the terminal (socket, gateway kit, OpenClaw gateway)",
    )
    approve.add_argument(
        "--approvals",
        metavar="FILE",
        help="the approvals file: socket.path/socket.token, and the allowlist the analysis uses "
        "(default: $OPENCLAW_STATE_DIR/exec-approvals.json or ~/.openclaw/exec-approvals.json)",
    )
    approve.add_argument("--socket", metavar="PATH", help="own the approvals socket at PATH")
    approve.add_argument("--token-file", metavar="FILE", help="the socket token, read from FILE")
    approve.add_argument(
        "--gateway",
        metavar="URL",
        action="append",
        help="connect to a gateway (ws://...) as an approver; may be repeated",
    )
    approve.add_argument(
        "--gateway-token-file",
        metavar="FILE",
        help=f"the gateway's shared token, read from FILE (default: ${GATEWAY_TOKEN_ENV})",
    )
    approve.add_argument(
        "--identity",
        metavar="FILE",
        help="the device identity for gateways (default: ~/.openclaw-exec/approve/device.json)",
    )
    approve.add_argument(
        "--admin",
        action="store_true",
        help="ask the gateway for operator.admin (OpenClaw 2026.9.6 shows other devices' "
        "requests only to admin approvers)",
    )
    approve.add_argument(
        "--lines",
        action="store_true",
        help="line mode: one block per request, answers read from stdin (no terminal needed)",
    )
    approve.add_argument(
        "--no-analysis", action="store_true", help="do not analyse requests on this host"
    )
    approve.add_argument(
        "--backend", choices=("asyncio", "trio"), default="asyncio", help=argparse.SUPPRESS
    )
    approve.set_defaults(handler=_cmd_approve)
