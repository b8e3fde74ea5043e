"""
The gateway kit's approval rules over real loopback WebSockets (asyncio and trio).

* Self-approval: the connection that made a request, and every connection of its device,
  can neither resolve it nor be shown it, unless ``allow_self_approval`` names the device.
* Open requests are bounded per connection and per device by *approval*, whatever frame ids
  the client reuses.
* ``timeoutMs`` is capped.
"""

from __future__ import annotations

import json
import uuid
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import anyio
import anyio.abc
import pytest

from openclaw_exec.adapters.websocket import (
    ApprovalOperator,
    ApprovalPrompt,
    ApprovalRequester,
    GatewayClientOptions,
    GatewayKit,
    GatewayKitConfig,
    MemoryPairingStore,
    ReconnectPolicy,
    WebSocketConnection,
    connect_websocket,
    load_or_create_identity,
    open_gateway_session,
)
from openclaw_exec.adapters.websocket._client import _handshake
from openclaw_exec.pairing import AuthConfig
from openclaw_exec.protocol import MAX_APPROVAL_TIMEOUT_MS, Decision

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

pytestmark = pytest.mark.anyio

TOKEN = "kit-rules-token-0123456789"
FAST = ReconnectPolicy(max_attempts=3, initial_delay=0.05, max_delay=0.2)
APPROVALS = ("operator.approvals",)


def kit_config(**overrides: Any) -> GatewayKitConfig:
    return GatewayKitConfig(auth=AuthConfig(mode="token", token=TOKEN), **overrides)


@asynccontextmanager
async def serving(kit: GatewayKit) -> AsyncIterator[str]:
    async with anyio.create_task_group() as tg:
        port = await tg.start(kit.serve)
        try:
            yield f"ws://127.0.0.1:{port}"
        finally:
            tg.cancel_scope.cancel()


def options(url: str, identity: Path, **overrides: Any) -> GatewayClientOptions:
    values: dict[str, Any] = {
        "url": url,
        "token": TOKEN,
        "identity_path": identity,
        "client_id": "test",
        "client_mode": "test",
        "scopes": APPROVALS,
        "caps": ("exec-approvals",),
        "reconnect": FAST,
        "open_timeout": 5.0,
    }
    values.update(overrides)
    return GatewayClientOptions(**values)


class Raw:
    """An authenticated connection that sends frames with the ids we choose and reads all."""

    def __init__(self, ws: WebSocketConnection, hello: dict[str, Any]) -> None:
        self.ws = ws
        self.hello = hello
        self.frames: list[dict[str, Any]] = []

    async def send(self, method: str, params: dict[str, Any], frame_id: str) -> None:
        frame = {"type": "req", "id": frame_id, "method": method, "params": params}
        await self.ws.send_text(json.dumps(frame))

    async def next_res(self) -> dict[str, Any]:
        with anyio.fail_after(5):
            while True:
                frame: dict[str, Any] = json.loads(await self.ws.receive_text())
                self.frames.append(frame)
                if frame.get("type") == "res":
                    return frame

    async def call(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        frame_id = str(uuid.uuid4())
        await self.send(method, params, frame_id)
        while True:
            res = await self.next_res()
            if res["id"] == frame_id:
                return res


@asynccontextmanager
async def raw(url: str, identity: Path, **overrides: Any) -> AsyncIterator[Raw]:
    opts = options(url, identity, **overrides)
    ws = await connect_websocket(url)
    try:
        hello = await _handshake(ws, opts, load_or_create_identity(identity), None)
        yield Raw(ws, hello)
    finally:
        await ws.abort()


def request(command: str, **extra: Any) -> dict[str, Any]:
    return {"command": command, "timeoutMs": 60_000, "twoPhase": True, **extra}


# --- self-approval -----------------------------------------------------------------------------


@pytest.mark.parametrize("decision", ["allow-always", "allow-once", "deny"])
async def test_requesting_connection_cannot_resolve_its_own_request(
    tmp_path: Path, decision: str
) -> None:
    kit = GatewayKit(kit_config(), store=MemoryPairingStore())
    async with (
        serving(kit) as url,
        raw(url, tmp_path / "other" / "device.json"),  # an approver exists: there is a route
        raw(url, tmp_path / "req" / "device.json") as requester,
    ):
        accepted = await requester.call("exec.approval.request", request("echo self"))
        approval_id = accepted["payload"]["id"]
        refused = await requester.call(
            "exec.approval.resolve", {"id": approval_id, "decision": decision}
        )
    assert refused["ok"] is False
    assert refused["error"]["details"] == {"reason": "SELF_APPROVAL_NOT_ALLOWED"}
    assert "connection or device that made it" in refused["error"]["message"]
    record = kit.approvals.broker.get(approval_id, now_ms=kit.clock())
    assert record is not None
    assert record.decision is None  # still pending: nothing was approved


async def test_another_connection_of_the_requesting_device_cannot_resolve(
    tmp_path: Path,
) -> None:
    kit = GatewayKit(kit_config(), store=MemoryPairingStore())
    shared = tmp_path / "shared" / "device.json"
    async with (
        serving(kit) as url,
        raw(url, tmp_path / "other" / "device.json"),
        raw(url, shared) as requester,
        raw(url, shared, client_id="cli", client_mode="cli") as same_device,
    ):
        accepted = await requester.call("exec.approval.request", request("echo self"))
        approval_id = accepted["payload"]["id"]
        # Prefix lookup is the chat slug path: refused the same way.
        for key in (approval_id, approval_id[:8]):
            refused = await same_device.call(
                "exec.approval.resolve", {"id": key, "decision": "allow-always"}
            )
            assert refused["error"]["details"] == {"reason": "SELF_APPROVAL_NOT_ALLOWED"}
        # It was never shown the request either (only the other device was).
        assert not any(f.get("event") == "exec.approval.requested" for f in same_device.frames)


async def test_another_device_resolves_and_is_the_only_one_shown(tmp_path: Path) -> None:
    kit = GatewayKit(kit_config(), store=MemoryPairingStore())
    shared = tmp_path / "shared" / "device.json"
    async with (
        serving(kit) as url,
        raw(url, tmp_path / "approver" / "device.json") as approver,
        raw(url, shared) as requester,
        raw(url, shared) as same_device,
    ):
        accepted = await requester.call("exec.approval.request", request("echo other"))
        approval_id = accepted["payload"]["id"]
        ok = await approver.call(
            "exec.approval.resolve", {"id": approval_id, "decision": "allow-always"}
        )
        final = await requester.next_res()
        await anyio.sleep(0.05)
        shown = [
            f["payload"]["id"]
            for f in approver.frames
            if f.get("event") == "exec.approval.requested"
        ]
        assert not any(f.get("event") == "exec.approval.requested" for f in same_device.frames)
        assert not any(f.get("event") == "exec.approval.requested" for f in requester.frames)
    assert ok["ok"] is True
    assert final["payload"]["decision"] == "allow-always"
    assert shown == [approval_id]


async def test_same_device_approver_is_not_a_route(tmp_path: Path) -> None:
    """Only the requester's own device listens: nobody may decide, so no route at once."""
    kit = GatewayKit(kit_config(), store=MemoryPairingStore())
    shared = tmp_path / "shared" / "device.json"
    seen: list[str] = []

    async def decide(prompt: ApprovalPrompt) -> Decision:
        seen.append(prompt.id)
        return Decision.ALLOW_ALWAYS

    async with serving(kit) as url, anyio.create_task_group() as tg:
        await tg.start(ApprovalOperator(options(url, shared), decide).run)
        async with ApprovalRequester.connect(options(url, shared, caps=())) as client:
            with anyio.fail_after(5):  # not the 60 s timeout
                outcome = await client.request_decision("echo lonely", timeout_ms=60_000)
        tg.cancel_scope.cancel()
    assert outcome.decision is None
    assert seen == []


@pytest.mark.parametrize("same", ["connection", "device"])
async def test_self_approval_by_name_when_the_embedder_opts_in(tmp_path: Path, same: str) -> None:
    shared = tmp_path / "shared" / "device.json"
    device_id = load_or_create_identity(shared).device_id
    kit = GatewayKit(kit_config(allow_self_approval=(device_id,)), store=MemoryPairingStore())
    async with (
        serving(kit) as url,
        raw(url, shared) as requester,
        raw(url, shared) as sibling,
    ):
        accepted = await requester.call("exec.approval.request", request("echo opted-in"))
        approval_id = accepted["payload"]["id"]
        resolver = requester if same == "connection" else sibling
        ok = await resolver.call(
            "exec.approval.resolve", {"id": approval_id, "decision": "allow-once"}
        )

        def finals() -> list[dict[str, Any]]:
            return [
                f
                for f in requester.frames
                if f["type"] == "res" and "decision" in (f.get("payload") or {})
            ]

        while not finals():
            await requester.next_res()
    assert ok["ok"] is True
    (final,) = finals()
    assert final["payload"]["decision"] == "allow-once"


async def test_opting_in_another_device_does_not_let_the_requester_in(tmp_path: Path) -> None:
    other = load_or_create_identity(tmp_path / "named" / "device.json").device_id
    kit = GatewayKit(kit_config(allow_self_approval=(other,)), store=MemoryPairingStore())
    async with (
        serving(kit) as url,
        raw(url, tmp_path / "approver" / "device.json"),
        raw(url, tmp_path / "req" / "device.json") as requester,
    ):
        accepted = await requester.call("exec.approval.request", request("echo not-named"))
        refused = await requester.call(
            "exec.approval.resolve", {"id": accepted["payload"]["id"], "decision": "allow-once"}
        )
    assert refused["error"]["details"] == {"reason": "SELF_APPROVAL_NOT_ALLOWED"}


def test_allow_self_approval_is_not_a_string() -> None:
    with pytest.raises(TypeError, match="not the string"):
        kit_config(allow_self_approval="device-id")


# --- bounds on open requests -------------------------------------------------------------------


async def test_reusing_one_frame_id_does_not_dodge_the_limit(tmp_path: Path) -> None:
    """300 requests under one frame id: 64 (the default limit) stay pending, not 300."""
    kit = GatewayKit(kit_config(), store=MemoryPairingStore())
    async with (
        serving(kit) as url,
        raw(url, tmp_path / "approver" / "device.json"),
        raw(url, tmp_path / "req" / "device.json") as requester,
    ):
        for i in range(300):
            await requester.send("exec.approval.request", request(f"echo {i}"), "same-id")
        answers = [await requester.next_res() for _ in range(300)]
        pending = kit.approvals.broker.pending(now_ms=kit.clock())
    accepted = [a for a in answers if a["ok"]]
    refused = [a for a in answers if not a["ok"]]
    assert len(accepted) == 64
    assert len(pending) == 64
    assert {a["error"]["details"]["reason"] for a in refused} == {"TOO_MANY_PENDING"}
    assert "limit 64" in refused[0]["error"]["message"]


async def test_the_device_bound_holds_across_connections(tmp_path: Path) -> None:
    kit = GatewayKit(
        kit_config(max_pending_per_connection=10, max_pending_per_device=15),
        store=MemoryPairingStore(),
    )
    shared = tmp_path / "shared" / "device.json"
    async with (
        serving(kit) as url,
        raw(url, tmp_path / "approver" / "device.json") as approver,
        raw(url, shared) as first,
        raw(url, shared) as second,
    ):
        results = [
            await conn.call("exec.approval.request", request(f"echo {i}"))
            for conn in (first, second)
            for i in range(10)
        ]
        assert sum(r["ok"] for r in results) == 15
        assert "this device (limit 15)" in results[-1]["error"]["message"]
        # Reconnecting does not shed the device's open requests...
        await first.ws.abort()
        async with raw(url, shared) as third:
            again = await third.call("exec.approval.request", request("echo again"))
            assert again["error"]["details"] == {"reason": "TOO_MANY_PENDING"}
            # ...deciding one frees a slot.
            some_id = next(r["payload"]["id"] for r in results if r["ok"])
            ok = await approver.call("exec.approval.resolve", {"id": some_id, "decision": "deny"})
            assert ok["ok"] is True
            freed = await third.call("exec.approval.request", request("echo freed"))
            assert freed["ok"] is True


async def test_expired_requests_free_their_slots(tmp_path: Path) -> None:
    kit = GatewayKit(kit_config(max_pending_per_connection=2), store=MemoryPairingStore())
    async with (
        serving(kit) as url,
        raw(url, tmp_path / "approver" / "device.json"),
        raw(url, tmp_path / "req" / "device.json") as requester,
    ):
        for i in range(2):
            ok = await requester.call("exec.approval.request", request(f"echo {i}", timeoutMs=200))
            assert ok["ok"] is True
        full = await requester.call("exec.approval.request", request("echo full"))
        assert full["ok"] is False
        await anyio.sleep(0.5)  # both expire (decision null to the requester)
        again = await requester.call("exec.approval.request", request("echo later"))
    assert again["ok"] is True


# --- timeout cap -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "timeout_ms", [10**300, 2**63, MAX_APPROVAL_TIMEOUT_MS + 1], ids=["1e300", "2^63", "cap+1"]
)
async def test_timeout_is_capped(tmp_path: Path, timeout_ms: int) -> None:
    kit = GatewayKit(kit_config(), store=MemoryPairingStore())
    async with (
        serving(kit) as url,
        raw(url, tmp_path / "approver" / "device.json"),
        raw(url, tmp_path / "req" / "device.json") as requester,
    ):
        accepted = await requester.call("exec.approval.request", request("x", timeoutMs=timeout_ms))
    payload = accepted["payload"]
    assert payload["expiresAtMs"] - payload["createdAtMs"] == MAX_APPROVAL_TIMEOUT_MS


async def test_a_capped_request_really_expires(tmp_path: Path) -> None:
    kit = GatewayKit(kit_config(max_approval_timeout_ms=300), store=MemoryPairingStore())
    async with (
        serving(kit) as url,
        raw(url, tmp_path / "approver" / "device.json"),
        ApprovalRequester.connect(options(url, tmp_path / "req" / "device.json", caps=())) as rq,
    ):
        with anyio.fail_after(5):
            outcome = await rq.request_decision("echo capped", timeout_ms=10**12)
    assert outcome.decision is None


async def test_client_side_requests_are_not_affected_below_the_cap(tmp_path: Path) -> None:
    """A control: ordinary timeouts are kept exactly."""
    kit = GatewayKit(kit_config(), store=MemoryPairingStore())
    async with (
        serving(kit) as url,
        raw(url, tmp_path / "approver" / "device.json"),
        open_gateway_session(options(url, tmp_path / "req" / "device.json")) as session,
    ):
        payload = await session.request("exec.approval.request", request("y", timeoutMs=1234))
    assert payload["expiresAtMs"] - payload["createdAtMs"] == 1234
