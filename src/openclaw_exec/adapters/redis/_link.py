"""
A replica's link to Redis: its two connections, bounded retries, and a watchdog.

* **Commands** go over one pipelined :class:`~._resp.RedisConnection`, opened again when it
  breaks. :meth:`Link.run` retries an attempt (safe: every store call is idempotent through
  its token) on connection loss and on the replies a failover or a loading server gives, for
  at most *retry_window*, then raises :class:`~openclaw_exec.exceptions.TransportError`.
* **The subscription** is kept alive for the :class:`~._listener.Listener`: reconnected with
  backoff, resubscribed, and every waiter and approver channel told that it may have missed
  messages.
* **The watchdog** drops a command connection whose reply is overdue (its callers retry on a
  new one) and pings an idle subscription, dropping it when it stays silent.
"""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

import anyio

from openclaw_exec.adapters.redis._listener import Listener
from openclaw_exec.adapters.redis._resp import (
    ConnectionLost,
    RedisAddress,
    RedisConnection,
    ReplyError,
    connect,
)
from openclaw_exec.exceptions import TransportError

__all__ = ["Attempt", "Link"]

_RETRYABLE_REPLIES = ("READONLY", "LOADING", "BUSY", "MASTERDOWN", "TRYAGAIN", "CLUSTERDOWN")

Attempt = Callable[[RedisConnection, bool], Awaitable[Any]]
"""One try of a call: ``(connection, retried)`` -> the reply (a ReplyError is returned)."""

Spawn = Callable[[Callable[[], Coroutine[Any, Any, None]]], None]


class Link:
    """The replica's connections to one Redis (see the module docs)."""

    def __init__(
        self,
        address: RedisAddress,
        *,
        name: str,
        retry_window: float,
        socket_timeout: float,
        poll_interval: float,
        listener: Listener,
        spawn: Spawn,
        is_closed: Callable[[], bool],
    ) -> None:
        self._address = address
        self._name = name
        self._retry_window = retry_window
        self._socket_timeout = socket_timeout
        self._poll = poll_interval
        self._listener = listener
        self._spawn = spawn
        self._is_closed = is_closed
        self.conn: RedisConnection | None = None
        self.subscription: RedisConnection | None = None
        self._connecting: anyio.Lock | None = None
        self._listening: anyio.Event | None = None

    async def _connect(self, push: Callable[[Any], None] | None = None) -> RedisConnection:
        return await connect(
            self._address,
            name=self._name,
            timeout=self._socket_timeout,
            spawn=self._spawn,
            push=push,
        )

    async def connection(self) -> RedisConnection:
        """The pipelined command connection, opened again if it broke."""
        conn = self.conn
        if conn is not None and conn.broken is None:
            return conn
        if self._connecting is None:
            self._connecting = anyio.Lock()  # created on the loop that runs the store
        async with self._connecting:
            conn = self.conn
            if conn is None or conn.broken is not None:
                conn = self.conn = await self._connect()
            return conn

    async def run(self, what: str, attempt: Attempt) -> Any:
        """
        Run *attempt* on the command connection, retrying for at most *retry_window*.

        Raises:
            TransportError: Redis refused *what* (an error reply that no retry cures, such as
                ``OOM``), or stayed unreachable for the retry window.
        """
        give_up = anyio.current_time() + self._retry_window
        delay = 0.02
        retried = False
        while True:
            failure: Exception
            try:
                reply = await attempt(await self.connection(), retried)
            except ConnectionLost as exc:
                failure = exc
            else:
                if not isinstance(reply, ReplyError):
                    return reply
                if not reply.message.startswith(_RETRYABLE_REPLIES):
                    msg = f"Redis refused {what}: {reply.message}"
                    raise TransportError(msg) from reply
                failure = reply
            retried = True
            if self._is_closed() or anyio.current_time() + delay > give_up:
                msg = f"Redis unreachable for {self._retry_window:g} s: {failure}"
                raise TransportError(msg) from failure
            await anyio.sleep(delay)
            delay = min(delay * 2, 0.25)

    async def start_listening(self) -> None:
        """Start the subscription; return once Redis confirmed it (else TransportError)."""
        self._listening = anyio.Event()
        self._spawn(self._listen)
        with anyio.move_on_after(self._retry_window + self._socket_timeout):
            await self._listening.wait()
        if not self._listening.is_set():
            msg = "Redis refused the pub/sub subscription of the store's listener"
            raise TransportError(msg)

    async def _listen(self) -> None:
        """Keep the one subscription alive; after each (re)subscription, wake everyone."""
        listener = self._listener
        delay = 0.02
        while not self._is_closed():
            try:
                conn = await self._connect(push=listener.on_reply)
            except ConnectionLost:
                await anyio.sleep(delay)
                delay = min(delay * 2, 0.5)
                continue
            self.subscription = conn
            try:
                await listener.attach(conn)
                with anyio.move_on_after(self._socket_timeout):
                    await listener.subscribed.wait()
                if listener.subscribed.is_set():
                    delay = 0.02
                    listener.connected()  # anything may have happened while we were away
                    assert self._listening is not None
                    self._listening.set()
                    await conn.closed.wait()
            except ConnectionLost:
                pass
            finally:
                await conn.aclose()
            await anyio.sleep(delay)

    async def watch(self) -> None:
        """Drop a connection whose reply is overdue; ping the subscription when it is idle."""
        tick = min(self._socket_timeout / 4, self._poll / 2, 0.5)
        while not self._is_closed():
            await anyio.sleep(tick)
            now = anyio.current_time()
            conn = self.conn
            if conn is not None and conn.overdue(now):
                await conn.aclose()  # its callers retry on a new connection
            sub = self.subscription
            if sub is None or sub.broken is not None:
                continue
            idle = now - sub.last_received
            if idle > self._poll + self._socket_timeout:
                await sub.aclose()  # silent: the listener reconnects and everyone catches up
            elif idle > self._poll:
                with contextlib.suppress(ConnectionLost):
                    await sub.send("PING")

    async def aclose(self) -> None:
        """Close both connections (their readers end)."""
        for conn in (self.conn, self.subscription):
            if conn is not None:
                await conn.aclose()  # shielded
