"""
Running an ASGI app with Hypercorn on the current anyio backend (asyncio or trio).

Hypercorn has a native server for both backends; this picks the one the caller runs on, binds
the listening socket itself (so ``port=0`` reports the port it got) and stops the server when
the caller's scope is cancelled.
"""

from __future__ import annotations

import logging
import socket
from collections.abc import Awaitable, Callable
from typing import Any

import anyio
import anyio.abc
import sniffio

__all__ = ["serve_asgi"]

_LOG = logging.getLogger("openclaw_exec.web")


def _listening_socket(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(128)
        sock.setblocking(False)  # noqa: FBT003 - the socket API
    except BaseException:
        sock.close()
        raise
    return sock


async def serve_asgi(
    app: Any,
    host: str,
    port: int,
    *,
    task_status: anyio.abc.TaskStatus[int] = anyio.TASK_STATUS_IGNORED,
    on_bound: Callable[[int], Awaitable[None]] | None = None,
    on_stop: Callable[[], None] | None = None,
) -> None:
    """
    Serve *app* on *host*:*port* until cancelled; ``task_status.started(port)`` once listening.

    When cancelled, *on_stop* runs first (end long-lived responses there), then the server
    gets its shutdown trigger and up to ``graceful_timeout`` (1 s) to finish open requests.

    Raises:
        OSError: The address cannot be bound.
    """
    from hypercorn.config import Config  # noqa: PLC0415 - the [web] extra

    sock = _listening_socket(host, port)
    bound = int(sock.getsockname()[1])
    config = Config()
    config.bind = [f"fd://{sock.detach()}"]  # Hypercorn owns (and closes) the socket now
    config.graceful_timeout = 1.0
    config.accesslog = None
    config.errorlog = logging.getLogger("openclaw_exec.web.server")  # not stderr
    config.include_server_header = False
    if sniffio.current_async_library() == "trio":
        from hypercorn.trio import serve  # noqa: PLC0415
    else:
        from hypercorn.asyncio import serve  # type: ignore[assignment] # noqa: PLC0415
    stop = anyio.Event()
    finished = anyio.Event()
    server_scope = anyio.CancelScope(shield=True)

    async def run() -> None:
        # Shielded: Hypercorn shuts down cleanly when told to (the trigger), not when
        # cancelled in the middle of its own task groups (asyncio then raises from inside).
        try:
            with server_scope:
                await serve(app, config, shutdown_trigger=stop.wait, mode="asgi")
        finally:
            finished.set()

    async with anyio.create_task_group() as tg:
        tg.start_soon(run)
        if on_bound is not None:
            await on_bound(bound)
        task_status.started(bound)
        try:
            await anyio.sleep_forever()
        finally:
            if on_stop is not None:
                on_stop()
            stop.set()
            with anyio.CancelScope(shield=True), anyio.move_on_after(config.graceful_timeout + 2):
                await finished.wait()
            if not finished.is_set():  # pragma: no cover - a server that ignores its trigger
                _LOG.warning("web: the HTTP server did not stop in time; cancelling it")
                server_scope.cancel()
