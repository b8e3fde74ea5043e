"""
``serve``: run the WebSocket gateway kit, and with ``--web`` the approval page beside it.

The gateway token comes from ``--token-file`` (default ``$OPENCLAW_STATE_DIR/exec-gateway/
token``, created mode 0600 with a random token when missing) and is never printed; requesters
and approvers read the same file. Pairings live in ``--pairing-dir`` (the kit's default
folder). Runs until SIGINT or SIGTERM, then stops cleanly (exit 0).
"""

from __future__ import annotations

import argparse
import contextlib
import ipaddress
import json
import os
import secrets
import signal
from pathlib import Path
from typing import TextIO

from openclaw_exec.cli._common import EXIT_OK, Subcommands, _json_option, _UsageError

DEFAULT_PORT = 18789
DEFAULT_WEB_PORT = 18790


def _default_token_file() -> Path:
    from openclaw_exec.adapters.websocket import default_pairing_dir  # noqa: PLC0415

    return default_pairing_dir().parent / "exec-gateway" / "token"


def _read_or_create_token(path: Path) -> str:
    """The token in *path*; a fresh random one (0600, folder 0700) when the file is missing."""
    if not path.exists() and not path.is_symlink():
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(secrets.token_urlsafe(32) + "\n")
    if path.is_symlink():
        raise _UsageError(f"{path}: refusing to follow a symlink for the gateway token")
    mode = path.stat().st_mode & 0o777
    if mode & 0o077:
        raise _UsageError(
            f"{path}: the token file is readable by others (mode {mode:o}); chmod 600"
        )
    with path.open("rb") as handle:
        raw = handle.read(4097)
    try:
        token = raw.decode("utf-8").strip()
    except UnicodeDecodeError:
        raise _UsageError(f"{path}: the token file is not UTF-8 text") from None
    if len(raw) > 4096 or len(token) < 16 or any(c.isspace() for c in token):
        raise _UsageError(f"{path}: expected one token of 16 to 4096 characters, no blanks")
    return token


def _loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


def _cmd_serve(args: argparse.Namespace, out: TextIO) -> int:
    import anyio  # noqa: PLC0415

    for name in ("port", "web_port"):
        value = getattr(args, name)
        if not 0 <= value <= 65535:
            raise _UsageError(f"--{name.replace('_', '-')}: not a port number: {value}")
    if args.web and not _loopback(args.host) and not args.web_allowed_host:
        raise _UsageError(
            "--web on a non-loopback address needs --web-allowed-host NAME (the name browsers "
            "use; put a TLS proxy in front and pass --secure-cookies)"
        )
    token_file = Path(args.token_file) if args.token_file else _default_token_file()
    token = _read_or_create_token(token_file)
    with contextlib.suppress(KeyboardInterrupt):  # a second interrupt during shutdown
        anyio.run(_serve, args, token, token_file, out, backend=args.backend)
    return EXIT_OK


async def _serve(args: argparse.Namespace, token: str, token_file: Path, out: TextIO) -> None:
    import anyio  # noqa: PLC0415

    from openclaw_exec.adapters.websocket import (  # noqa: PLC0415
        FilePairingStore,
        GatewayKit,
        GatewayKitConfig,
        default_pairing_dir,
    )
    from openclaw_exec.pairing import AuthConfig  # noqa: PLC0415

    store = FilePairingStore(args.pairing_dir or default_pairing_dir())
    kit = GatewayKit(GatewayKitConfig(auth=AuthConfig(mode="token", token=token)), store=store)
    async with anyio.create_task_group() as tg:
        port = await tg.start(kit.serve, args.host, args.port)
        shown_host = f"[{args.host}]" if ":" in args.host else args.host
        report: dict[str, object] = {
            "gateway": f"ws://{shown_host}:{port}",
            "tokenFile": str(token_file),
        }
        if args.web:
            from openclaw_exec.adapters.web import WebApprovals, WebConfig  # noqa: PLC0415

            config = WebConfig(
                allowed_hosts=tuple(args.web_allowed_host or ()),
                secure_cookies=args.secure_cookies,
            )
            web_port = await tg.start(WebApprovals(kit, config).serve, args.host, args.web_port)
            report["web"] = f"http://{shown_host}:{web_port}/"
        if args.json:
            out.write(json.dumps(report) + "\n")
        else:
            out.write(f"gateway: {report['gateway']}\n")
            if "web" in report:
                out.write(f"approval page: {report['web']} (sign in with the gateway token)\n")
            out.write(f"gateway token: in {token_file} (never printed)\n")
        out.flush()
        with anyio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
            async for _ in signals:
                break
        tg.cancel_scope.cancel()


def register(commands: Subcommands) -> None:
    """Add ``serve``."""
    serve = commands.add_parser(
        "serve",
        help="run the WebSocket gateway kit (and with --web the approval page) until stopped",
    )
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (127.0.0.1)")
    serve.add_argument(
        "--port", type=int, default=DEFAULT_PORT, help=f"gateway port ({DEFAULT_PORT}; 0: any)"
    )
    serve.add_argument("--web", action="store_true", help="also serve the approval page")
    serve.add_argument(
        "--web-port",
        type=int,
        default=DEFAULT_WEB_PORT,
        help=f"approval page port ({DEFAULT_WEB_PORT}; 0: any)",
    )
    serve.add_argument(
        "--web-allowed-host",
        action="append",
        metavar="NAME",
        help="a Host name the page answers to besides its address (repeatable)",
    )
    serve.add_argument(
        "--secure-cookies", action="store_true", help="mark cookies Secure (behind HTTPS)"
    )
    serve.add_argument(
        "--token-file",
        metavar="FILE",
        help="the gateway token (created 0600 when missing; default in the state folder)",
    )
    serve.add_argument("--pairing-dir", metavar="DIR", help="where pairings are kept")
    serve.add_argument(
        "--backend", choices=("asyncio", "trio"), default="asyncio", help="event loop (asyncio)"
    )
    _json_option(serve)
    serve.set_defaults(handler=_cmd_serve)
