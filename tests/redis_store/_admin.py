"""An admin connection for the Redis tests (the library's own RESP client: asyncio and trio)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from contextlib import asynccontextmanager
from typing import Any

import anyio

from openclaw_exec.adapters.redis._resp import ReplyError, connect, parse_url

Call = Callable[..., Awaitable[Any]]


@asynccontextmanager
async def admin(url: str) -> AsyncIterator[Call]:
    """``async with admin(url) as call: await call("CLIENT", "LIST")`` (error replies raise)."""
    async with anyio.create_task_group() as tg:

        def spawn(fn: Callable[[], Coroutine[Any, Any, None]]) -> None:
            tg.start_soon(fn)

        conn = await connect(parse_url(url), name="test-admin", timeout=5, spawn=spawn)

        async def call(*args: str | int) -> Any:
            reply = await conn.call(*args)
            if isinstance(reply, ReplyError):
                raise reply
            return reply

        try:
            yield call
        finally:
            await conn.aclose()


async def kill_connections(url: str, replica_id: str) -> int:
    """``CLIENT KILL`` every connection of the store *replica_id*; how many were killed."""
    async with admin(url) as call:
        listing = await call("CLIENT", "LIST")
        ids = []
        for line in listing.splitlines():
            fields = dict(f.split("=", 1) for f in line.split(" ") if "=" in f)
            if fields.get("name") == f"openclaw-exec:{replica_id}":
                ids.append(fields["id"])
        for client_id in ids:
            await call("CLIENT", "KILL", "ID", client_id)
        return len(ids)
