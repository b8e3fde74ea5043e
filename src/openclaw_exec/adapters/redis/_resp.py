"""
A small Redis client on anyio streams: RESP2 encoding and parsing, one pipelined connection.

Why our own and not the ``redis`` package: its asyncio client needs an asyncio event loop
(the store must run on trio too), and it checks a connection out of a pool, writes, and reads
the reply for every command, so N concurrent commands cost N writes and N wake-ups of N
tasks. Here every command of a store goes over **one** connection: callers append their
encoded command to a shared buffer, the first one flushes everything that is queued in one
write (auto-pipelining), and one reader task hands each reply to its caller in order (Redis
answers in the order it received). A subscription connection uses the same reader, but hands
every message to a callback instead, yielding between messages so a burst never starves the
event loop.

Only what the approval store needs: strings, integers, arrays, errors and nil; ``redis://``,
``rediss://`` (TLS) and ``unix://`` URLs with an optional password and database number.
"""

from __future__ import annotations

import ssl
from collections import deque
from collections.abc import Callable, Coroutine, Sequence
from typing import Any, Final
from urllib.parse import parse_qs, unquote, urlsplit

import anyio
import anyio.abc
import anyio.lowlevel
import attrs

__all__ = [
    "ConnectionLost",
    "RedisAddress",
    "RedisConnection",
    "ReplyError",
    "connect",
    "encode_command",
    "parse_url",
]

_CRLF: Final = b"\r\n"


class ReplyError(Exception):
    """An error reply from Redis (``-ERR ...``), returned (not raised) by the parser."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ConnectionLost(Exception):  # noqa: N818 (a condition, not an error of ours)
    """The connection broke (closed, reset, timed out) before the reply arrived."""


class _Incomplete(Exception):  # noqa: N818 (internal control flow: wait for more bytes)
    pass


_INCOMPLETE = _Incomplete()


def encode_command(
    args: Sequence[str | int | bytes], head: bytes = b"", head_count: int = 0
) -> bytes:
    """
    One command as a RESP array of bulk strings.

    *head* is the encoding of the command's first *head_count* arguments, when the caller
    keeps it (a script call's ``EVALSHA sha numkeys key...`` is the same every time).
    """
    parts = [b"*%d\r\n" % (len(args) + head_count), head]
    for arg in args:
        if type(arg) is str:  # exact type checks: the cheapest dispatch in the hot path
            data = arg.encode("utf-8", "surrogatepass")
        elif type(arg) is bytes:
            data = arg
        else:
            data = b"%d" % int(arg)
        parts.append(b"$%d\r\n%b\r\n" % (len(data), data))
    return b"".join(parts)


class _Parser:
    """Incremental RESP2 parser: bulk strings decode as UTF-8, errors become ReplyError."""

    __slots__ = ("_buf", "_pos")

    def __init__(self) -> None:
        self._buf = bytearray()
        self._pos = 0

    def feed(self, data: bytes) -> None:
        if self._pos:
            del self._buf[: self._pos]
            self._pos = 0
        self._buf += data

    def next(self) -> Any:
        """The next complete reply, or raise :class:`_Incomplete`."""
        value, self._pos = self._parse(self._pos)
        return value

    def _parse(self, pos: int) -> tuple[Any, int]:
        buf = self._buf
        end = buf.find(_CRLF, pos)
        if end < 0:
            raise _INCOMPLETE
        kind = buf[pos]
        if kind == 0x24:  # $ bulk string
            size = int(buf[pos + 1 : end])
            if size < 0:
                return None, end + 2
            stop = end + 2 + size
            if len(buf) < stop + 2:
                raise _INCOMPLETE
            return buf[end + 2 : stop].decode("utf-8", "surrogateescape"), stop + 2
        if kind == 0x2A:  # * array
            count = int(buf[pos + 1 : end])
            if count < 0:
                return None, end + 2
            items: list[Any] = []
            pos = end + 2
            size_of = len(buf)
            for _ in range(count):
                # Bulk strings (the usual element) inline: no call per element.
                if pos < size_of and buf[pos] == 0x24:
                    end = buf.find(_CRLF, pos)
                    if end < 0:
                        raise _INCOMPLETE
                    size = int(buf[pos + 1 : end])
                    if size < 0:
                        items.append(None)
                        pos = end + 2
                        continue
                    stop = end + 2 + size
                    if size_of < stop + 2:
                        raise _INCOMPLETE
                    items.append(buf[end + 2 : stop].decode("utf-8", "surrogateescape"))
                    pos = stop + 2
                else:
                    item, pos = self._parse(pos)
                    items.append(item)
            return items, pos
        if kind == 0x3A:  # : integer
            return int(buf[pos + 1 : end]), end + 2
        if kind == 0x2B:  # + simple string
            return buf[pos + 1 : end].decode("utf-8", "surrogateescape"), end + 2
        if kind == 0x2D:  # - error
            return ReplyError(buf[pos + 1 : end].decode("utf-8", "replace")), end + 2
        msg = f"not a RESP2 reply (type byte {kind!r})"
        raise ConnectionLost(msg)


@attrs.frozen
class RedisAddress:
    """Where a Redis server is and how to log in (from :func:`parse_url`)."""

    host: str = "127.0.0.1"
    port: int = 6379
    unix_path: str | None = None
    tls: bool = False
    username: str | None = None
    password: str | None = attrs.field(default=None, repr=False)  # never in logs or tracebacks
    db: int = 0


def parse_url(url: str) -> RedisAddress:
    """
    Parse ``redis://[[user]:password@]host[:port][/db]``, ``rediss://...`` or ``unix://path``.

    Raises:
        ValueError: For another scheme, a bad port or a database that is not a number.
    """
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in {"redis", "rediss", "unix"}:
        msg = f"Redis URL must start with redis://, rediss:// or unix://, got {url!r}"
        raise ValueError(msg)
    query = parse_qs(parts.query)
    db_text = parts.path.strip("/") if scheme != "unix" else ""
    db_text = db_text or (query.get("db") or ["0"])[0]
    try:
        db = int(db_text)
        port = parts.port or 6379
    except ValueError as exc:
        msg = f"Redis URL {url!r}: {exc}"
        raise ValueError(msg) from exc
    username = unquote(parts.username) if parts.username else None
    password = unquote(parts.password) if parts.password else None
    if scheme == "unix":
        if not parts.path:
            msg = f"unix:// Redis URL needs a socket path, got {url!r}"
            raise ValueError(msg)
        return RedisAddress(
            unix_path=unquote(parts.path), username=username, password=password, db=db
        )
    return RedisAddress(
        host=parts.hostname or "127.0.0.1",
        port=port,
        tls=scheme == "rediss",
        username=username,
        password=password,
        db=db,
    )


class _Slot:
    __slots__ = ("done", "value")

    def __init__(self) -> None:
        self.done = anyio.Event()
        self.value: Any = None


class RedisConnection:
    """
    One Redis connection shared by many tasks: commands are pipelined, replies come in order.

    Nothing runs until :meth:`run` is started in a task group (it reads replies until the
    connection ends). Use :meth:`call` for request/reply commands; a connection given a
    *push* callback is a subscription: every message goes to the callback, and commands are
    sent with :meth:`send` (their confirmations arrive as messages too).
    """

    def __init__(
        self,
        stream: anyio.abc.ByteStream,
        *,
        timeout: float,
        push: Callable[[Any], None] | None = None,
    ) -> None:
        self._stream = stream
        self._timeout = timeout
        self._push = push
        self._parser = _Parser()
        self._out: list[bytes] = []
        self._waiting: deque[_Slot] = deque()
        self._writing = False
        self._sent_at = 0.0
        self.broken: BaseException | None = None
        self.closed = anyio.Event()
        self.last_received = anyio.current_time()

    async def call(self, *args: str | int | bytes) -> Any:
        """
        Send one command and return its reply (a :class:`ReplyError` is returned, not raised).

        Raises:
            ConnectionLost: The connection broke, or stayed silent for the timeout.
        """
        return await self.call_encoded(encode_command(args))

    async def call_encoded(self, command: bytes) -> Any:
        """:meth:`call` for a command already encoded (:func:`encode_command`)."""
        if self.broken is not None:
            raise ConnectionLost(str(self.broken))
        slot = _Slot()
        self._waiting.append(slot)
        self._out.append(command)
        if not self._writing:
            await self._flush()
        await slot.done.wait()
        if slot.value is _LOST:
            raise ConnectionLost(str(self.broken))
        return slot.value

    async def send(self, *args: str | int | bytes) -> None:
        """Send a command whose answer comes as a pushed message (subscription connections)."""
        if self.broken is not None:
            raise ConnectionLost(str(self.broken))
        self._out.append(encode_command(args))
        if not self._writing:
            await self._flush()

    async def _flush(self) -> None:
        self._writing = True
        try:
            # Shielded: other callers' commands are queued behind this one, and a half-written
            # command would desynchronise every later reply. A socket that never drains is
            # closed by the owner's watchdog (see overdue), which ends the send.
            with anyio.CancelScope(shield=True):
                # One pass of the event loop first: every task that is ready to call queues
                # its command, and all of them leave in one write (one syscall, one read).
                await anyio.lowlevel.checkpoint()
                while self._out and self.broken is None:
                    data = b"".join(self._out)
                    self._out.clear()
                    if self._waiting and not self._sent_at:
                        self._sent_at = anyio.current_time()
                    await self._stream.send(data)
        except Exception as exc:  # noqa: BLE001 (any failure to write ends this connection)
            self.lose(exc)  # callers retry on a new connection (their calls are idempotent)
        finally:
            self._writing = False

    def lose(self, why: BaseException) -> None:
        """Mark the connection broken: every caller still waiting gets ConnectionLost."""
        if self.broken is None:
            self.broken = why if isinstance(why, Exception) else ConnectionLost("cancelled")
            self.closed.set()
        while self._waiting:
            slot = self._waiting.popleft()
            slot.value = _LOST
            slot.done.set()

    async def run(self) -> None:
        """Read replies until the connection ends (then every waiting caller is failed)."""
        parser = self._parser
        waiting = self._waiting
        try:
            while True:
                data = await self._stream.receive(65536)
                self.last_received = anyio.current_time()
                parser.feed(data)
                pushed = False
                while True:
                    try:
                        reply = parser.next()
                    except _Incomplete:
                        break
                    push = self._push
                    if push is not None:
                        if pushed:
                            # Yield between messages: a burst of thousands of buffered messages
                            # must not hold the event loop (waiters and callers run in between).
                            # Not after the last one: the next receive yields anyway.
                            await anyio.lowlevel.checkpoint()
                        push(reply)
                        pushed = True
                    else:
                        slot = waiting.popleft()
                        slot.value = reply
                        slot.done.set()
                self._sent_at = self.last_received if waiting else 0.0
        except (anyio.EndOfStream, anyio.BrokenResourceError, anyio.ClosedResourceError) as exc:
            self.lose(ConnectionLost(f"connection closed: {exc!r}"))
        except (OSError, ConnectionLost, ValueError, IndexError) as exc:
            self.lose(ConnectionLost(f"connection failed: {exc!r}"))
        finally:
            self.lose(ConnectionLost("connection closed"))
            with anyio.CancelScope(shield=True):
                await self._stream.aclose()

    def overdue(self, now: float) -> bool:
        """True when a reply has been awaited for longer than the timeout."""
        return bool(self._waiting) and bool(self._sent_at) and now - self._sent_at > self._timeout

    async def aclose(self) -> None:
        """Close the stream (the reader then ends and fails every waiting caller)."""
        self.lose(ConnectionLost("connection closed by the client"))
        with anyio.CancelScope(shield=True):
            await self._stream.aclose()


_LOST: Final = object()


async def connect(
    address: RedisAddress,
    *,
    name: str,
    timeout: float,  # noqa: ASYNC109 (also the connection's reply timeout)
    spawn: Callable[[Callable[[], Coroutine[Any, Any, None]]], None],
    push: Callable[[Any], None] | None = None,
) -> RedisConnection:
    """
    Open, log in, select the database, name the connection, and start its reader.

    *spawn* starts the reader task (:meth:`RedisConnection.run`) in the caller's task group.

    Raises:
        ConnectionLost: The server is unreachable or refused the login (with its message).
    """
    try:
        with anyio.fail_after(timeout):
            stream: anyio.abc.ByteStream
            if address.unix_path is not None:
                stream = await anyio.connect_unix(address.unix_path)
            elif address.tls:
                stream = await anyio.connect_tcp(
                    address.host,
                    address.port,
                    tls=True,
                    ssl_context=ssl.create_default_context(),
                    tls_standard_compatible=False,
                )
            else:
                stream = await anyio.connect_tcp(address.host, address.port)
    except (OSError, TimeoutError, anyio.BrokenResourceError) as exc:
        msg = f"cannot connect to Redis: {exc!r}"
        raise ConnectionLost(msg) from exc
    connection = RedisConnection(stream, timeout=timeout)  # handshake: request/reply
    spawn(connection.run)
    try:
        hello: list[tuple[str | int, ...]] = []
        if address.password is not None and address.username is not None:
            hello.append(("AUTH", address.username, address.password))
        elif address.password is not None:
            hello.append(("AUTH", address.password))
        if address.db:
            hello.append(("SELECT", address.db))
        hello.append(("CLIENT", "SETNAME", name))
        with anyio.fail_after(timeout):
            for command in hello:
                reply = await connection.call(*command)
                if isinstance(reply, ReplyError):
                    msg = f"Redis refused {command[0]}: {reply.message}"
                    raise ConnectionLost(msg)  # noqa: TRY301 (closed by the handler below)
    except BaseException as exc:
        await connection.aclose()
        if isinstance(exc, TimeoutError):
            msg = "Redis did not answer the connection handshake"
            raise ConnectionLost(msg) from exc
        raise
    connection._push = push  # noqa: SLF001 (from now on every reply is a pushed message)
    return connection
