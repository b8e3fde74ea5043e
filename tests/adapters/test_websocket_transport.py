"""
The WebSocket transport's write path: frames written without a task switch, framed once.

``offer`` hands a message to the socket at once (asyncio's transport, a trio socket), frames
a server's message once for every peer, keeps the order of everything written, whoever
writes; and a peer that stops reading is not buffered for without end: ``offer`` says so and
``drain`` waits (the kit drops such a peer on its send timeout).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio
import anyio.abc
import pytest

from openclaw_exec.adapters.websocket import (
    WebSocketClosedError,
    WebSocketConnection,
    accept_websocket,
    connect_websocket,
)
from openclaw_exec.adapters.websocket._transport import _BACKLOG_BYTES, TextMessage

pytestmark = pytest.mark.anyio


@asynccontextmanager
async def pair() -> AsyncIterator[tuple[WebSocketConnection, WebSocketConnection]]:
    """A (server side, client side) WebSocket pair over loopback TCP."""
    listener = await anyio.create_tcp_listener(local_host="127.0.0.1")
    port = listener.extra(anyio.abc.SocketAttribute.local_port)
    accepted: list[WebSocketConnection] = []
    ready = anyio.Event()

    async def accept(*, task_status: anyio.abc.TaskStatus[None]) -> None:
        task_status.started()
        socket_listener = listener.listeners[0]
        assert isinstance(socket_listener, anyio.abc.SocketListener)
        stream = await socket_listener.accept()
        accepted.append(await accept_websocket(stream))
        ready.set()

    async with listener, anyio.create_task_group() as tg:
        await tg.start(accept)
        client = await connect_websocket(f"ws://127.0.0.1:{port}")
        await ready.wait()
        try:
            yield accepted[0], client
        finally:
            await client.abort()
            await accepted[0].abort()


async def test_offered_frames_arrive_in_order_with_awaited_ones() -> None:
    async with pair() as (server, client):
        shared = TextMessage(json.dumps({"n": "shared"}))
        sent: list[str] = []
        for n in range(200):
            text = json.dumps({"n": n})
            if n % 3 == 0:
                await server.send_text(text)
            elif n % 3 == 1:
                assert server.offer(TextMessage(text))
            else:
                assert server.offer(shared)  # the same framed bytes, again and again
                text = shared.text
            sent.append(text)
        with anyio.fail_after(10):
            received = [await client.receive_text() for _ in sent]
        assert received == sent
        # And the client side (masked frames, framed per message) the other way.
        assert client.offer(TextMessage("from the client"))
        with anyio.fail_after(10):
            assert await server.receive_text() == "from the client"


async def test_a_server_frames_a_message_once() -> None:
    message = TextMessage("é" * 3)
    assert message.server_frame is message.server_frame
    assert message.data == "ééé".encode()
    assert message.server_frame == b"\x81\x06" + message.data  # FIN+text, unmasked, length 6


async def test_a_peer_that_stops_reading_is_not_buffered_for_without_end() -> None:
    async with pair() as (server, _client):
        chunk = TextMessage("x" * 60_000)
        offered = 0
        while server.offer(chunk):  # the client never reads
            offered += 1
            assert offered * 60_000 < 64 * _BACKLOG_BYTES, "buffering without end"
        with pytest.raises(TimeoutError), anyio.fail_after(0.5):
            await server.drain()  # what the kit puts under its send timeout, then drops


async def test_offer_on_a_closed_connection_raises_and_queues_nothing() -> None:
    async with pair() as (server, client):
        await client.close()

        async def read_to_the_end() -> None:
            while True:
                await server.receive_text()

        with anyio.fail_after(5), pytest.raises(WebSocketClosedError):
            await read_to_the_end()
        with pytest.raises(WebSocketClosedError):
            server.offer(TextMessage("late"))
