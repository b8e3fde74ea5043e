"""
The gateway kit's pairing store under load: batched off-loop writes, bounded state.

Real loopback WebSockets on asyncio and trio. The soak run (2 000 identities) lives in
``test_websocket_soak.py`` behind the ``slow`` marker.
"""

from __future__ import annotations

import json
import stat
import threading
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import anyio
import anyio.abc
import pytest

from openclaw_exec.adapters.websocket import (
    FilePairingStore,
    GatewayClientOptions,
    GatewayError,
    GatewayKit,
    GatewayKitConfig,
    MemoryPairingStore,
    PairingRequiredError,
    ReconnectPolicy,
    open_gateway_session,
)
from openclaw_exec.adapters.websocket._client import _connect_once
from openclaw_exec.pairing import AuthConfig, generate_device_identity

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from openclaw_exec.pairing import DeviceIdentity

pytestmark = pytest.mark.anyio

TOKEN = "kit-store-token-0123456789"


def kit_config(**overrides: Any) -> GatewayKitConfig:
    return GatewayKitConfig(auth=AuthConfig(mode="token", token=TOKEN), **overrides)


@asynccontextmanager
async def serving(kit: GatewayKit, peer_address: str = "127.0.0.1") -> AsyncIterator[str]:
    """Serve *kit* (its timers too) on a free loopback port; peers appear at *peer_address*."""
    async with anyio.create_task_group() as tg:
        listener = await anyio.create_tcp_listener(local_host="127.0.0.1", local_port=0)
        port = listener.extra(anyio.abc.SocketAttribute.local_port)

        async def handler(stream: anyio.abc.SocketStream) -> None:
            await kit.handle(stream, peer_address)

        async def run() -> None:
            async with listener:
                await listener.serve(handler)

        tg.start_soon(run)
        tg.start_soon(kit.run_expiry)
        try:
            yield f"ws://127.0.0.1:{port}"
        finally:
            tg.cancel_scope.cancel()


def client(url: str, **overrides: Any) -> GatewayClientOptions:
    values: dict[str, Any] = {
        "url": url,
        "token": TOKEN,
        "client_id": "test",
        "client_mode": "test",
        "scopes": ("operator.read",),
        "caps": (),
        "reconnect": ReconnectPolicy(max_attempts=1),
        "open_timeout": 10.0,
    }
    values.update(overrides)
    return GatewayClientOptions(**values)


async def connect_as(url: str, identity: DeviceIdentity, **overrides: Any) -> None:
    """One handshake with an in-memory identity (no files on the client side), then close."""
    connection, _hello = await _connect_once(client(url, **overrides), identity)
    await connection.close()


async def test_a_burst_of_new_devices_costs_a_few_writes_not_one_each(tmp_path: Path) -> None:
    store = FilePairingStore(tmp_path / "pairing")
    kit = GatewayKit(kit_config(store_flush_interval=0.3), store=store)
    identities = [generate_device_identity() for _ in range(40)]
    async with serving(kit) as url:
        with anyio.fail_after(30):
            async with anyio.create_task_group() as tg:
                for identity in identities:
                    tg.start_soon(connect_as, url, identity)
        assert store.count_paired() == 40
        with anyio.fail_after(5):
            while store.dirty:  # noqa: ASYNC110 - the flusher writes within the interval
                await anyio.sleep(0.05)
    # 40 new devices (and 40 device tokens) were written in a handful of batched writes.
    assert 1 <= store.writes <= 8
    on_disk = json.loads((tmp_path / "pairing" / "paired.json").read_text())
    assert set(on_disk) == {i.device_id for i in identities}
    assert stat.S_IMODE((tmp_path / "pairing" / "paired.json").stat().st_mode) == 0o600


async def test_store_writes_happen_in_a_worker_thread(tmp_path: Path) -> None:
    loop_thread = threading.get_ident()
    threads: list[int] = []

    class Recording(FilePairingStore):
        def flush(self) -> int:
            threads.append(threading.get_ident())
            return super().flush()

    store = Recording(tmp_path / "pairing")
    kit = GatewayKit(kit_config(store_flush_interval=0.05), store=store)
    async with serving(kit) as url:
        await connect_as(url, generate_device_identity())
        with anyio.fail_after(5):
            while not threads:  # noqa: ASYNC110
                await anyio.sleep(0.02)
    assert threads
    assert loop_thread not in threads


async def test_an_approved_pairing_survives_an_immediate_shutdown(tmp_path: Path) -> None:
    """A human approves and the gateway stops at once: the approval is on disk anyway."""
    folder = tmp_path / "pairing"
    kit = GatewayKit(kit_config(store_flush_interval=3600), store=FilePairingStore(folder))
    identity = generate_device_identity()
    async with serving(kit, peer_address="203.0.113.7") as url:
        with anyio.fail_after(10), pytest.raises(PairingRequiredError) as caught:
            await connect_as(url, identity)
        assert caught.value.request_id is not None
        kit.approve_pending(caught.value.request_id)
    # The flusher waits an hour between writes; stopping wrote it anyway.
    reloaded = FilePairingStore(folder)
    record = reloaded.get_paired(identity.device_id)
    assert record is not None
    assert reloaded.list_pending() == []


def test_store_on_its_own_writes_on_flush_and_on_exit(tmp_path: Path) -> None:
    folder = tmp_path / "pairing"
    with FilePairingStore(folder) as store:
        store.remove_pending("nobody")
        assert not store.dirty
        assert store.flush() == 0  # nothing changed: nothing written
    assert not (folder / "paired.json").exists()


async def test_pending_pairing_requests_are_bounded_oldest_evicted(tmp_path: Path) -> None:
    store = FilePairingStore(tmp_path / "pairing")
    kit = GatewayKit(kit_config(max_pending_pairings=5), store=store)
    identities = [generate_device_identity() for _ in range(12)]
    async with serving(kit, peer_address="198.51.100.20") as url:
        for identity in identities:
            with anyio.fail_after(10), pytest.raises(PairingRequiredError):
                await connect_as(url, identity)
        kept = {p.device_id for p in store.list_pending()}
        assert kept == {i.device_id for i in identities[-5:]}
        # An evicted device simply asks again (and is the newest now).
        with anyio.fail_after(10), pytest.raises(PairingRequiredError) as again:
            await connect_as(url, identities[0])
        assert identities[0].device_id in {p.device_id for p in store.list_pending()}
        assert store.count_pending() == 5
        assert again.value.request_id is not None
        kit.approve_pending(again.value.request_id)  # its new request id is approvable
    on_disk = json.loads((tmp_path / "pairing" / "pending.json").read_text())
    assert len(on_disk) == 4


async def test_new_devices_past_the_paired_limit_are_refused(tmp_path: Path) -> None:
    kit = GatewayKit(kit_config(max_paired_devices=3), store=MemoryPairingStore())
    known = [generate_device_identity() for _ in range(3)]
    async with serving(kit) as url:
        for identity in known:
            await connect_as(url, identity)
        with anyio.fail_after(10), pytest.raises(GatewayError) as refused:
            await connect_as(url, generate_device_identity())
        assert refused.value.details == {"reason": "PAIRING_STORE_FULL", "limit": 3}
        assert refused.value.close_code == 1008
        await connect_as(url, known[0])  # paired devices still get in
        await connect_as(url, known[1], scopes=("operator.read", "operator.approvals"))
    assert kit.store.count_paired() == 3


async def test_a_failing_flush_is_retried_and_does_not_stop_the_gateway(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    failures = {"left": 1}

    class Flaky(FilePairingStore):
        def _save(self, name: str, rows: dict[str, Any]) -> None:
            if failures["left"] > 0:
                failures["left"] -= 1
                raise OSError(28, "No space left on device")
            super()._save(name, rows)

    store = Flaky(tmp_path / "pairing")
    kit = GatewayKit(kit_config(store_flush_interval=0.01), store=store)
    identity = generate_device_identity()
    async with serving(kit) as url:
        await connect_as(url, identity)
        with anyio.fail_after(10):
            while store.dirty or failures["left"]:  # noqa: ASYNC110
                await anyio.sleep(0.05)
        await connect_as(url, identity)  # still serving
    assert "writing the pairing store failed" in caplog.text
    assert identity.device_id in json.loads((tmp_path / "pairing" / "paired.json").read_text())


async def test_session_against_a_restarted_kit_finds_its_pairing(tmp_path: Path) -> None:
    """What was flushed is what the next gateway process reads."""
    folder = tmp_path / "pairing"
    options_path = tmp_path / "id" / "device.json"
    kit = GatewayKit(kit_config(), store=FilePairingStore(folder))
    async with (
        serving(kit) as url,
        open_gateway_session(client(url, identity_path=options_path)) as session,
    ):
        device_id = session.device_id
    restarted = GatewayKit(kit_config(), store=FilePairingStore(folder))
    assert device_id is not None
    assert restarted.store.get_paired(device_id) is not None


async def test_a_failing_final_write_is_logged_not_raised(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    class Full(FilePairingStore):
        def _save(self, name: str, rows: dict[str, Any]) -> None:
            del name, rows
            raise OSError(28, "No space left on device")

    store = Full(tmp_path / "pairing")
    kit = GatewayKit(kit_config(store_flush_interval=3600), store=store)
    async with serving(kit) as url:
        await connect_as(url, generate_device_identity())
    assert store.dirty  # nothing could be written, and the shutdown still completed
    assert "final write of the pairing store failed" in caplog.text
