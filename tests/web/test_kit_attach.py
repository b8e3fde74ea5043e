"""
In-process clients of the gateway kit (``GatewayKit.attach``): what the web page and chat
bridges stand on. A real WebSocket requester on a loopback socket, an attached client in the
same process; asyncio and trio.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import anyio
import pytest

from openclaw_exec.adapters.websocket import (
    ApprovalRequester,
    GatewayClientOptions,
    GatewayKit,
    GatewayKitConfig,
    MemoryPairingStore,
    ReconnectPolicy,
)
from openclaw_exec.exceptions import PairingError
from openclaw_exec.pairing import AuthConfig
from openclaw_exec.protocol import Principal, RequestFrame

pytestmark = pytest.mark.anyio

TOKEN = "kit-attach-token-0123456789"
APPROVER = Principal(id="web-operator", scopes=frozenset({"operator.approvals"}))


def _options(url: str, folder: Path) -> GatewayClientOptions:
    return GatewayClientOptions(
        url=url,
        token=TOKEN,
        identity_path=folder / "rq" / "device.json",
        reconnect=ReconnectPolicy(max_attempts=2, initial_delay=0.05, max_delay=0.1),
        open_timeout=5.0,
        caps=(),
    )


def _kit() -> GatewayKit:
    return GatewayKit(
        GatewayKitConfig(auth=AuthConfig(mode="token", token=TOKEN)), store=MemoryPairingStore()
    )


async def test_attached_client_sees_and_resolves_a_websocket_request(tmp_path: Path) -> None:
    kit = _kit()
    frames: list[dict[str, Any]] = []
    seen = anyio.Event()

    def deliver(text: str) -> None:
        frames.append(json.loads(text))
        seen.set()

    key = kit.attach(APPROVER, deliver)
    async with anyio.create_task_group() as tg:
        port = await tg.start(kit.serve)
        async with ApprovalRequester.connect(_options(f"ws://127.0.0.1:{port}", tmp_path)) as rq:

            async def answer() -> None:
                await seen.wait()
                requested = frames[0]
                assert requested["event"] == "exec.approval.requested"
                approval_id = requested["payload"]["id"]
                resolve = RequestFrame(
                    id="r1",
                    method="exec.approval.resolve",
                    params={"id": approval_id, "decision": "allow-once"},
                )
                await kit.submit(key, resolve)

            tg.start_soon(answer)
            with anyio.fail_after(10):
                outcome = await rq.request_decision("git status", cwd="/tmp", timeout_ms=20_000)
        assert outcome.decision is not None
        assert str(outcome.decision) == "allow-once"
        # The attached client got its answer as a frame too.
        assert any(f.get("type") == "res" and f.get("id") == "r1" and f["ok"] for f in frames)
        tg.cancel_scope.cancel()


async def test_attached_client_is_a_route_and_detaching_removes_it(tmp_path: Path) -> None:
    kit = _kit()
    key = kit.attach(APPROVER, lambda _text: None)
    kit.detach(key)
    async with anyio.create_task_group() as tg:
        port = await tg.start(kit.serve)
        async with ApprovalRequester.connect(_options(f"ws://127.0.0.1:{port}", tmp_path)) as rq:
            with anyio.fail_after(10):
                outcome = await rq.request_decision("git status", cwd="/tmp", timeout_ms=20_000)
        # Nobody left to ask: settled at once (no-approval-route), not after 20 s.
        assert outcome.decision is None
        with pytest.raises(PairingError, match="no attached client"):
            await kit.submit(key, RequestFrame(id="x", method="exec.approval.resolve", params={}))
        tg.cancel_scope.cancel()
