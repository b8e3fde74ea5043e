"""Shared set-up for the web page tests: a kit and its page on loopback, sign-in helpers."""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
import anyio.abc
import attrs
import httpx

from openclaw_exec.adapters.web import WebApprovals, WebConfig, serve_asgi
from openclaw_exec.adapters.webhook import lifespan
from openclaw_exec.adapters.websocket import (
    ApprovalRequester,
    GatewayClientOptions,
    GatewayKit,
    GatewayKitConfig,
    MemoryPairingStore,
    ReconnectPolicy,
    open_gateway_session,
)
from openclaw_exec.pairing import AuthConfig
from openclaw_exec.protocol import ApprovalRequest, ExecBinding

TOKEN = "web-test-shared-token-0123456789abcdef"
FAST = ReconnectPolicy(max_attempts=3, initial_delay=0.05, max_delay=0.2)


def make_kit() -> GatewayKit:
    return GatewayKit(
        GatewayKitConfig(auth=AuthConfig(mode="token", token=TOKEN)), store=MemoryPairingStore()
    )


@attrs.define
class Served:
    kit: GatewayKit
    web: WebApprovals
    ws_url: str
    base: str
    tg: anyio.abc.TaskGroup


@asynccontextmanager
async def serving(kit: GatewayKit | None = None, **config: Any) -> AsyncIterator[Served]:
    """The kit and its page on free loopback ports, stopped at the end."""
    kit = kit or make_kit()
    web = WebApprovals(kit, WebConfig(**config))
    async with anyio.create_task_group() as tg:
        kit_port = await tg.start(kit.serve)
        web_port = await tg.start(web.serve)
        try:
            yield Served(kit, web, f"ws://127.0.0.1:{kit_port}", f"http://127.0.0.1:{web_port}", tg)
        finally:
            tg.cancel_scope.cancel()


def client_options(url: str, folder: Path, name: str, **overrides: Any) -> GatewayClientOptions:
    values: dict[str, Any] = {
        "url": url,
        "token": TOKEN,
        "identity_path": folder / name / "device.json",
        "reconnect": FAST,
        "open_timeout": 5.0,
        "caps": (),
    }
    values.update(overrides)
    return GatewayClientOptions(**values)


async def device_token(served: Served, folder: Path, name: str, scopes: tuple[str, ...]) -> str:
    """Pair device *name* with *scopes* (shared token, loopback) and return its device token."""
    options = client_options(
        served.ws_url, folder, name, client_id="test", client_mode="test", scopes=scopes
    )
    async with open_gateway_session(options) as session:
        hello = session.hello
    assert hello.device_token_issued, hello
    device_id = next(
        d.device_id
        for d in served.kit.store.list_paired()
        if d.display_name == "openclaw-exec" and d.tokens and set(d.tokens[0].scopes) == set(scopes)
    )
    record = served.kit.store.get_paired(device_id)
    assert record is not None
    assert record.tokens
    return record.tokens[0].token


async def sign_in(client: httpx.AsyncClient, base: str, secret: str) -> str:
    """Sign in the way the login form does; returns the page's CSRF token."""
    form = await client.get(f"{base}/login")
    nonce = re.search(r'name="csrf" value="([^"]+)"', form.text)
    assert nonce is not None
    answer = await client.post(
        f"{base}/login",
        data={"csrf": nonce[1], "secret": secret},
        headers={"Origin": base},
    )
    assert answer.status_code == 303, (answer.status_code, answer.text)
    page = await client.get(f"{base}/")
    assert page.status_code == 200
    csrf = re.search(r'<meta name="csrf-token" content="([^"]+)"', page.text)
    assert csrf is not None
    return csrf[1]


async def request_in_background(
    served: Served, folder: Path, name: str, command: str, *, timeout_ms: int = 20_000, **kw: Any
) -> tuple[dict[str, Any], anyio.Event]:
    """Register *command* from a WebSocket requester; the outcome lands in the returned dict."""
    result: dict[str, Any] = {}
    done = anyio.Event()

    async def run() -> None:
        async with ApprovalRequester.connect(client_options(served.ws_url, folder, name)) as rq:
            outcome = await rq.request_decision(command, timeout_ms=timeout_ms, **kw)
        result["decision"] = None if outcome.decision is None else str(outcome.decision)
        done.set()

    served.tg.start_soon(run)
    return result, done


async def wait_pending(
    client: httpx.AsyncClient, base: str, count: int = 1, *, exactly: bool = False
) -> list[Any]:
    """Poll the JSON list until *count* (or with *exactly*, just *count*) are pending."""
    with anyio.fail_after(10):
        while True:
            listing = (await client.get(f"{base}/api/approvals")).json()
            shown = len(listing["pending"])
            if shown == count or (shown > count and not exactly):
                return list(listing["pending"])
            await anyio.sleep(0.02)


# --- a local HTTP server standing in for a webhook or chat service ---------------------------


@attrs.define
class Recorder:
    """An ASGI app that records every POST (headers, body) and answers ``status``."""

    status: int = 200
    received: list[tuple[dict[str, str], bytes]] = attrs.Factory(list)
    _arrived: anyio.Event = attrs.Factory(anyio.Event)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if await lifespan(scope, receive, send) or scope["type"] != "http":
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        headers = {k.decode(): v.decode() for k, v in scope["headers"]}
        self.received.append((headers, body))
        self._arrived.set()
        self._arrived = anyio.Event()
        await send({"type": "http.response.start", "status": self.status, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    async def next_post(self, count: int) -> tuple[dict[str, str], bytes]:
        """Wait until *count* posts arrived; the last one."""
        with anyio.fail_after(10):
            while len(self.received) < count:
                await self._arrived.wait()
        return self.received[count - 1]


@asynccontextmanager
async def http_servers(*apps: Any) -> AsyncIterator[list[str]]:
    """Serve each ASGI app on its own loopback port (Hypercorn); their base URLs."""
    async with anyio.create_task_group() as tg:
        urls = []
        for app in apps:
            port = await tg.start(serve_asgi, app, "127.0.0.1", 0)
            urls.append(f"http://127.0.0.1:{port}")
        try:
            yield urls
        finally:
            tg.cancel_scope.cancel()


def approval_request(command: str, *, lifetime_ms: int = 30_000, **fields: Any) -> ApprovalRequest:
    """A request as a guard registers it (argv bound), stamped with the wall clock."""
    now = int(time.time() * 1000)
    binding = ExecBinding(argv=("/bin/sh", "-c", command), cwd=fields.get("cwd", "/tmp"))
    return ApprovalRequest(
        id=fields.pop("approval_id", str(uuid.uuid4())),
        command=command,
        created_at_ms=now,
        expires_at_ms=now + lifetime_ms,
        binding=binding,
        cwd=fields.pop("cwd", "/tmp"),
        **fields,
    )
