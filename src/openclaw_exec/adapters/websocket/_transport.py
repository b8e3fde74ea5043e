"""
WebSocket text messages over an anyio byte stream, with ``websockets``' sans-I/O protocol.

``websockets``' own connection classes run on asyncio only; its sans-I/O ``ClientProtocol``
and ``ServerProtocol`` do not care, so this module drives them from anyio and runs on asyncio
and trio alike. Only what the gateway protocol needs: UTF-8 text messages (fragmented ones are
reassembled), ping/pong (answered by the protocol object), and the close handshake with its
code and reason.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING

import anyio
import anyio.abc
from websockets.client import ClientProtocol
from websockets.exceptions import InvalidURI
from websockets.frames import Frame, Opcode
from websockets.http11 import Request, Response
from websockets.protocol import State
from websockets.server import ServerProtocol
from websockets.uri import parse_uri

from openclaw_exec.exceptions import TransportError

if TYPE_CHECKING:
    import ssl

    from anyio.abc import ByteStream

__all__ = [
    "TextMessage",
    "WebSocketClosedError",
    "WebSocketConnection",
    "accept_websocket",
    "connect_websocket",
]

_READ_CHUNK = 65536
_BACKLOG_BYTES = 1 << 20  # queued behind a busy writer before further senders wait


class WebSocketClosedError(TransportError):
    """
    The WebSocket is closed; ``code`` and ``reason`` are what the peer sent (1006 if nothing).

    Attributes:
        code: The close code (``1008`` for OpenClaw's policy closes, ``1013`` for "try later").
        reason: The close reason text.
    """

    def __init__(self, code: int, reason: str) -> None:
        super().__init__(
            f"websocket closed ({code}): {reason}" if reason else f"websocket closed ({code})"
        )
        self.code = code
        self.reason = reason


def _no_delay(stream: ByteStream) -> None:
    """Disable Nagle: frames are small and interactive (else ~40 ms stalls per round trip)."""
    raw = stream.extra(anyio.abc.SocketAttribute.raw_socket, None)  # noqa: S610
    if raw is not None and raw.family in (socket.AF_INET, socket.AF_INET6):
        with contextlib.suppress(OSError):
            raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


class TextMessage:
    """
    One text message for one or many peers: UTF-8 encoded once, and framed once for servers.

    A server's frames are unmasked and (without extensions, the only way this module runs)
    the same bytes for every peer, so an event fanned out to N connections is framed once,
    not N times.
    """

    __slots__ = ("_data", "_frame", "text")

    def __init__(self, text: str) -> None:
        self.text = text
        self._data: bytes | None = None
        self._frame: bytes | None = None

    @property
    def data(self) -> bytes:
        """The UTF-8 payload."""
        if self._data is None:
            self._data = self.text.encode("utf-8")
        return self._data

    @property
    def server_frame(self) -> bytes:
        """The complete unmasked, unfragmented text frame (what a server sends)."""
        if self._frame is None:
            self._frame = Frame(Opcode.TEXT, self.data).serialize(mask=False)
        return self._frame


# A write that hands bytes over without a task switch: returns what it could not hand over
# (b"" for "handed over, but wait for the buffer to drain"), None when all went.
_DirectWrite = Callable[[bytes], "bytes | None"]


def _direct_writer(stream: ByteStream) -> _DirectWrite | None:
    """
    A non-yielding write for the plain TCP streams of anyio's two backends, else ``None``.

    ``ByteStream.send`` yields to the event loop on every call (a checkpoint), which cost a
    task switch per frame: the kit sends 13 frames per approval. asyncio's transport buffers
    whatever the kernel does not take (so order is kept whoever writes next); a trio socket
    has no buffer in between, so bytes it did not take are returned to be sent (awaited)
    before anything else. Anything else (TLS, a memory stream, another anyio) is ``None``:
    every write is awaited as before.
    """
    module = type(stream).__module__
    if module == "anyio._backends._asyncio":
        transport = getattr(stream, "_transport", None)
        if not isinstance(transport, asyncio.WriteTransport):
            return None

        def write_transport(data: bytes) -> bytes | None:
            if transport.is_closing():
                raise ConnectionResetError("transport closing")
            transport.write(data)
            return None if transport.get_write_buffer_size() <= _BACKLOG_BYTES else b""

        return write_transport
    if module == "anyio._backends._trio":
        raw = stream.extra(anyio.abc.SocketAttribute.raw_socket, None)  # noqa: S610
        if not isinstance(raw, socket.socket) or raw.type != socket.SOCK_STREAM:
            return None

        def write_socket(data: bytes) -> bytes | None:
            try:
                sent = raw.send(data)
            except BlockingIOError:
                sent = 0
            return None if sent == len(data) else data[sent:]

        return write_socket
    return None


class WebSocketConnection:
    """
    One open WebSocket: send and receive text messages.

    Use :func:`connect_websocket` (client) or :func:`accept_websocket` (server). Sending is
    safe from several tasks; receiving is meant for one reader task.
    """

    def __init__(
        self, stream: ByteStream, protocol: ClientProtocol | ServerProtocol, max_message: int
    ) -> None:
        _no_delay(stream)
        self._stream = stream
        self._protocol = protocol
        self._max_message = max_message
        # Outgoing bytes: whoever finds no write in progress writes everything queued, in one
        # send per batch (a fan-out of many frames to one peer costs one syscall, and a task
        # whose frame joins a write in progress does not wait for it).
        self._outbox: list[bytes] = []
        self._outbox_bytes = 0
        self._writing = False
        self._drained: anyio.Event | None = None
        self._direct = _direct_writer(stream)
        self._must_drain = False  # asyncio's transport holds more than the backlog
        # asyncio: what offer() queues is written once the tasks that are ready now have run
        # (one callback per connection per loop iteration), so the frames a busy server
        # sends one peer within an iteration (events of many approvals) leave in one send
        # and reach the peer in one read. trio's equivalent (run_sync_soon) costs a
        # wake-up syscall per call, so there each frame is written at once.
        self._soon = (
            asyncio.get_running_loop().call_soon
            if self._direct is not None and type(stream).__module__ == "anyio._backends._asyncio"
            else None
        )
        self._flush_pending = False
        # A server without extensions sends every peer the same bytes for one message.
        self._prebuilt = isinstance(protocol, ServerProtocol) and not protocol.extensions
        self._messages: deque[str] = deque()
        self._fragments: list[bytes] = []
        self._fragment_size = 0
        self._eof = False

    @property
    def close_code(self) -> int | None:
        """The peer's close code once the connection closed (``1006`` when it just vanished)."""
        if self._protocol.state is not State.CLOSED and not self._eof:
            return None
        return self._protocol.close_code

    @property
    def close_reason(self) -> str:
        """The peer's close reason (empty when none)."""
        return self._protocol.close_reason or ""

    @property
    def request(self) -> Request | None:
        """The HTTP upgrade request (server side), with its headers."""
        if isinstance(self._protocol, ServerProtocol):
            return getattr(self._protocol, "_request", None)
        return None

    async def _flush(self) -> None:
        chunks = self._protocol.data_to_send()
        if chunks:
            self._outbox += chunks
            self._outbox_bytes += sum(len(c) for c in chunks)
        if not self._outbox and not self._must_drain:
            return  # the common case after a receive: nothing to write, no lock, no wait
        if not self._writing and self._write_now():
            return  # handed over without a task switch
        if self._writing:
            # Our bytes leave with the writer's next batch; wait only if the peer is far behind
            # (the caller's own timeout bounds that wait: the kit drops such a peer).
            while self._outbox_bytes > _BACKLOG_BYTES and self._write_in_progress():
                if self._drained is None:
                    self._drained = anyio.Event()
                await self._drained.wait()
            return
        self._writing = True
        try:
            while self._outbox or self._must_drain:
                if self._must_drain:  # asyncio's buffer is past the backlog: let it drain
                    self._must_drain = False
                    await self._stream.send(b"")
                    continue
                batch, self._outbox, self._outbox_bytes = self._outbox, [], 0
                data = bytearray()
                for chunk in batch:
                    if chunk:
                        data += chunk
                        continue
                    if data:  # b"" marks the end of the stream: send what precedes it first
                        await self._stream.send(bytes(data))
                        data.clear()
                    await self._stream.send_eof()
                if data:
                    await self._stream.send(bytes(data))
        except (OSError, anyio.BrokenResourceError, anyio.ClosedResourceError) as exc:
            self._eof = True
            self._outbox, self._outbox_bytes = [], 0
            raise WebSocketClosedError(1006, f"connection lost: {exc}") from None
        finally:
            self._writing = False
            drained, self._drained = self._drained, None
            if drained is not None:
                drained.set()

    def _write_now(self) -> bool:
        """
        Hand the outbox to the socket without yielding; ``True`` when nothing is left to await.

        What the socket did not take goes back to the head of the outbox, for the awaited
        write that follows (nothing else is written before it: order is kept).
        """
        direct = self._direct
        if direct is None or self._must_drain or b"" in self._outbox:  # b"": end of stream
            return False
        data = b"".join(self._outbox)
        self._outbox, self._outbox_bytes = [], 0
        try:
            rest = direct(data)
        except OSError as exc:
            self._eof = True
            raise WebSocketClosedError(1006, f"connection lost: {exc}") from None
        if rest is None:
            return True
        if rest:
            self._outbox, self._outbox_bytes = [rest], len(rest)
        else:
            self._must_drain = True
        return False

    def _write_in_progress(self) -> bool:
        return self._writing

    def _is_closed(self) -> bool:
        return self._protocol.state is State.CLOSED

    def _closed_error(self) -> WebSocketClosedError:
        code = self._protocol.close_code
        return WebSocketClosedError(1006 if code is None else int(code), self.close_reason)

    async def send_text(self, text: str) -> None:
        """
        Send one text message.

        Raises:
            WebSocketClosedError: The connection is closed or broke while sending.
        """
        if self._protocol.state is not State.OPEN:
            raise self._closed_error()
        self._protocol.send_text(text.encode("utf-8"))
        await self._flush()

    def offer(self, message: TextMessage) -> bool:
        """
        Send *message* without waiting, if that can be done now.

        Returns ``True`` when it is handed over (or queued behind a write in progress); then
        nothing is left to do. ``False``: it is queued, but the socket or the peer is behind:
        ``await`` :meth:`drain` (under a timeout: a peer that does not read is dropped).

        Raises:
            WebSocketClosedError: The connection is not open (nothing was queued).
        """
        if self._protocol.state is not State.OPEN:
            raise self._closed_error()
        if self._prebuilt:
            pending = self._protocol.data_to_send()  # a pong first: order is kept
            if pending:
                self._outbox += pending
                self._outbox_bytes += sum(len(c) for c in pending)
            frame = message.server_frame
            self._outbox.append(frame)
            self._outbox_bytes += len(frame)
        else:
            self._protocol.send_text(message.data)
            chunks = self._protocol.data_to_send()
            self._outbox += chunks
            self._outbox_bytes += sum(len(c) for c in chunks)
        if self._writing:
            return self._outbox_bytes <= _BACKLOG_BYTES
        if self._soon is not None and not self._must_drain:
            if not self._flush_pending:
                self._flush_pending = True
                self._soon(self._write_soon)
            return self._outbox_bytes <= _BACKLOG_BYTES or self._write_now()
        return self._write_now()

    def _write_soon(self) -> None:
        """The loop's callback for what :meth:`offer` queued (asyncio)."""
        self._flush_pending = False
        if self._writing or not self._outbox:
            return  # a writer in progress, or an awaited flush, took it
        with contextlib.suppress(WebSocketClosedError):  # lost: the next send or read says so
            self._write_now()  # asyncio's transport takes it all (and flags a full buffer)

    async def drain(self) -> None:
        """
        Wait until what :meth:`offer` queued is written (or the backlog is small again).

        Raises:
            WebSocketClosedError: The connection broke while writing.
        """
        await self._flush()

    def _take_events(self) -> None:
        for event in self._protocol.events_received():
            opcode = getattr(event, "opcode", None)
            if opcode is Opcode.TEXT or (opcode is Opcode.CONT and self._fragments):
                data = bytes(event.data)  # type: ignore[union-attr]
                self._fragments.append(data)
                self._fragment_size += len(data)
                if self._fragment_size > self._max_message:
                    self._protocol.fail(1009, "message too big")
                    self._fragments.clear()
                    continue
                if event.fin:  # type: ignore[union-attr]
                    raw = b"".join(self._fragments)
                    self._fragments.clear()
                    self._fragment_size = 0
                    try:
                        self._messages.append(raw.decode("utf-8"))
                    except UnicodeDecodeError:
                        self._protocol.fail(1007, "invalid UTF-8")
            elif opcode is Opcode.BINARY:
                self._protocol.fail(1003, "binary frames are not supported")

    async def receive_text(self) -> str:
        """
        Wait for the next text message.

        Raises:
            WebSocketClosedError: The peer closed (with its code and reason), or the
                connection broke (1006).
        """
        while not self._messages:
            if self._eof or self._protocol.state is State.CLOSED:
                raise self._closed_error()
            try:
                data = await self._stream.receive(_READ_CHUNK)
            except (anyio.EndOfStream, anyio.BrokenResourceError, OSError):
                self._eof = True
                self._protocol.receive_eof()
                with contextlib.suppress(WebSocketClosedError):
                    await self._flush()
                await self.abort()  # nothing more will come: release the socket now
                raise self._closed_error() from None
            except anyio.ClosedResourceError:
                self._eof = True
                raise self._closed_error() from None
            self._protocol.receive_data(data)
            self._take_events()
            await self._flush()
        return self._messages.popleft()

    async def close(self, code: int = 1000, reason: str = "") -> None:
        """Send a close frame (if still open), wait briefly for the peer's, close the socket."""
        with anyio.CancelScope(shield=True):
            if self._protocol.state is State.OPEN:
                self._protocol.send_close(code, reason)
                with contextlib.suppress(WebSocketClosedError):
                    await self._flush()
                with anyio.move_on_after(2):
                    while not self._eof and not self._is_closed():
                        try:
                            data = await self._stream.receive(_READ_CHUNK)
                        except (
                            anyio.EndOfStream,
                            anyio.BrokenResourceError,
                            anyio.ClosedResourceError,
                            OSError,
                        ):
                            break
                        self._protocol.receive_data(data)
                        self._protocol.events_received()
                        with contextlib.suppress(WebSocketClosedError):
                            await self._flush()
                        if self._protocol.close_rcvd is not None:
                            break
            self._eof = True
            with contextlib.suppress(OSError, anyio.BrokenResourceError, anyio.ClosedResourceError):
                await self._stream.aclose()

    async def abort(self) -> None:
        """Drop the TCP connection without a close handshake."""
        self._eof = True
        with (
            anyio.CancelScope(shield=True),
            contextlib.suppress(OSError, anyio.BrokenResourceError),
        ):
            await self._stream.aclose()


async def connect_websocket(
    url: str,
    *,
    max_message: int = 32 * 1024 * 1024,
    open_timeout: float = 10.0,
    ssl_context: ssl.SSLContext | None = None,
) -> WebSocketConnection:
    """
    Open a client WebSocket to *url* (``ws://`` or ``wss://``). No ``Origin`` header is sent.

    Raises:
        ValueError: *url* is not a WebSocket URL.
        TransportError: TCP connect or the upgrade failed (``WebSocketClosedError`` when the
            server closed during the upgrade), or *open_timeout* passed.
    """
    try:
        uri = parse_uri(url)
    except InvalidURI as exc:
        raise ValueError(f"not a WebSocket URL: {url!r} ({exc})") from None
    protocol = ClientProtocol(uri, max_size=max_message)
    stream: ByteStream | None = None
    try:
        with anyio.fail_after(open_timeout):
            if uri.secure:
                stream = await anyio.connect_tcp(
                    uri.host, uri.port, tls=True, ssl_context=ssl_context, tls_hostname=uri.host
                )
            else:
                stream = await anyio.connect_tcp(uri.host, uri.port)
            connection = WebSocketConnection(stream, protocol, max_message)
            protocol.send_request(protocol.connect())
            await connection._flush()  # noqa: SLF001 - same module
            while True:
                try:
                    data = await stream.receive(_READ_CHUNK)
                except (anyio.EndOfStream, anyio.BrokenResourceError) as exc:
                    raise TransportError(f"{url}: connection closed during the upgrade") from exc
                protocol.receive_data(data)
                events = protocol.events_received()
                response = next((e for e in events if isinstance(e, Response)), None)
                if protocol.handshake_exc is not None:
                    raise TransportError(f"{url}: upgrade refused: {protocol.handshake_exc}")  # noqa: TRY301
                if response is not None:
                    break
            # Frames that arrived with the upgrade response: replay them.
            protocol.events_received()
            for event in events:
                if not isinstance(event, Response):
                    protocol.events.append(event)
            connection._take_events()  # noqa: SLF001
            return connection
    except TimeoutError:
        if stream is not None:
            await stream.aclose()
        raise TransportError(f"{url}: no WebSocket after {open_timeout} s") from None
    except OSError as exc:
        if stream is not None:
            await stream.aclose()
        if isinstance(exc, TransportError):
            raise
        raise TransportError(f"{url}: {exc}") from exc
    except BaseException:
        if stream is not None:
            await stream.aclose()
        raise


async def accept_websocket(
    stream: ByteStream,
    *,
    max_message: int = 32 * 1024 * 1024,
    open_timeout: float = 10.0,
) -> WebSocketConnection:
    """
    Run the server side of the upgrade on an accepted byte stream.

    Raises:
        TransportError: The upgrade failed or timed out (the stream is closed).
    """
    protocol = ServerProtocol(max_size=max_message)
    connection = WebSocketConnection(stream, protocol, max_message)
    try:
        with anyio.fail_after(open_timeout):
            while True:
                try:
                    data = await stream.receive(_READ_CHUNK)
                except (anyio.EndOfStream, anyio.BrokenResourceError) as exc:
                    raise TransportError("connection closed before the WebSocket upgrade") from exc
                protocol.receive_data(data)
                events = protocol.events_received()
                request = next((e for e in events if isinstance(e, Request)), None)
                if request is not None:
                    break
                if protocol.state is State.CLOSED or protocol.handshake_exc is not None:
                    raise TransportError(f"bad WebSocket upgrade: {protocol.handshake_exc}")  # noqa: TRY301
            response = protocol.accept(request)
            protocol.send_response(response)
            protocol._request = request  # type: ignore[attr-defined]  # noqa: SLF001
            await connection._flush()  # noqa: SLF001
            if protocol.state is not State.OPEN:
                raise TransportError(f"bad WebSocket upgrade: {protocol.handshake_exc}")  # noqa: TRY301
            for event in events:
                if not isinstance(event, Request):
                    protocol.events.append(event)
            connection._take_events()  # noqa: SLF001
            return connection
    except TimeoutError:
        await connection.abort()
        raise TransportError(f"no WebSocket upgrade within {open_timeout} s") from None
    except BaseException:
        await connection.abort()
        raise
