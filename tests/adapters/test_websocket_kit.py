"""
The WebSocket gateway kit and its clients over real loopback sockets (asyncio and trio).

Robustness: oversized and malformed frames, a first frame that is not ``connect``, protocol
mismatch, floods of approval requests, vanished approvers (askFallback applies, nothing
hangs), reconnect in the middle of an approval, start-up ``UNAVAILABLE`` retries, pairing
of a remote device with the remediation the client surfaces.
"""

from __future__ import annotations

import json
import os
import stat
import sys
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
    DeviceToken,
    DeviceTokenFile,
    FilePairingStore,
    GatewayClientOptions,
    GatewayError,
    GatewayKit,
    GatewayKitConfig,
    HelloOk,
    MemoryPairingStore,
    PairingRequiredError,
    ReconnectPolicy,
    WebSocketClosedError,
    accept_websocket,
    connect_websocket,
    load_or_create_identity,
    open_gateway_session,
    prompt_callback,
    save_identity,
)
from openclaw_exec.exceptions import LocalProtocolError, PairingError, TransportError
from openclaw_exec.pairing import AuthConfig, generate_device_identity
from openclaw_exec.protocol import ApprovalRequest, Decision

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

pytestmark = pytest.mark.anyio

TOKEN = "kit-unit-token-0123456789"
EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "gateway.py"
FAST = ReconnectPolicy(max_attempts=4, initial_delay=0.05, max_delay=0.2)


def kit_config(**overrides: Any) -> GatewayKitConfig:
    return GatewayKitConfig(auth=AuthConfig(mode="token", token=TOKEN), **overrides)


@asynccontextmanager
async def serving(
    kit: GatewayKit, *, peer_address: str | None = None
) -> AsyncIterator[tuple[str, anyio.abc.TaskGroup]]:
    """Serve *kit* on a free loopback port; *peer_address* pretends every peer is elsewhere."""
    async with anyio.create_task_group() as tg:
        if peer_address is None:
            port = await tg.start(kit.serve)
        else:
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
            yield f"ws://127.0.0.1:{port}", tg
        finally:
            tg.cancel_scope.cancel()


def options(url: str, folder: Path, name: str, **overrides: Any) -> GatewayClientOptions:
    values: dict[str, Any] = {
        "url": url,
        "token": TOKEN,
        "identity_path": folder / name / "device.json",
        "reconnect": FAST,
        "open_timeout": 5.0,
    }
    values.update(overrides)
    return GatewayClientOptions(**values)


async def raw_connect(url: str, first: str) -> tuple[list[dict[str, Any]], int | None, str]:
    """Send *first* after the challenge; return frames received, close code and reason."""
    ws = await connect_websocket(url)
    frames: list[dict[str, Any]] = [json.loads(await ws.receive_text())]
    await ws.send_text(first)
    try:
        with anyio.fail_after(5):
            while True:
                frames.append(json.loads(await ws.receive_text()))
    except WebSocketClosedError as exc:
        return frames, exc.code, exc.reason
    finally:
        await ws.abort()


def connect_frame(**params: Any) -> str:
    base: dict[str, Any] = {
        "minProtocol": 3,
        "maxProtocol": 4,
        "client": {"id": "test", "version": "1", "platform": "linux", "mode": "test"},
        "role": "operator",
        "scopes": [],
        "auth": {"token": TOKEN},
    }
    base.update(params)
    return json.dumps({"type": "req", "id": "c1", "method": "connect", "params": base})


# --- the handshake refuses what it does not understand --------------------------------------


async def test_oversized_preauth_frame_closes_1009() -> None:
    async with serving(GatewayKit(kit_config(), store=MemoryPairingStore())) as (url, _):
        frames, code, reason = await raw_connect(url, connect_frame(pad="x" * 70_000))
    assert frames[0]["event"] == "connect.challenge"
    assert (code, reason) == (1009, "preauth payload too large")


async def test_malformed_json_first_frame_closes_1008() -> None:
    async with serving(GatewayKit(kit_config(), store=MemoryPairingStore())) as (url, _):
        frames, code, reason = await raw_connect(url, "{not json")
    assert len(frames) == 1
    assert (code, reason) == (1008, "invalid request frame")


async def test_first_frame_must_be_connect() -> None:
    first = json.dumps({"type": "req", "id": "h1", "method": "health", "params": {}})
    async with serving(GatewayKit(kit_config(), store=MemoryPairingStore())) as (url, _):
        frames, code, reason = await raw_connect(url, first)
    message = "invalid handshake: first request must be connect"
    assert frames[1] == {
        "type": "res",
        "id": "h1",
        "ok": False,
        "error": {"code": "INVALID_REQUEST", "message": message},
    }
    assert (code, reason) == (1008, message)


async def test_protocol_mismatch_closes_1002() -> None:
    async with serving(GatewayKit(kit_config(), store=MemoryPairingStore())) as (url, _):
        frames, code, _reason = await raw_connect(url, connect_frame(minProtocol=5, maxProtocol=6))
    # Never a bare "protocol mismatch" (upstream #83078): both ranges and the remedy.
    assert frames[0]["payload"]["minProtocol"] == 3
    assert frames[0]["payload"]["maxProtocol"] == 4
    assert frames[1]["error"]["message"] == (
        "protocol mismatch: this gateway speaks protocol 3..4, the client offered 5..6; "
        "offer a range that includes 4"
    )
    assert frames[1]["error"]["details"] == {
        "code": "PROTOCOL_MISMATCH",
        "clientMinProtocol": 5,
        "clientMaxProtocol": 6,
        "expectedProtocol": 4,
        "minProtocol": 3,
        "maxProtocol": 4,
    }
    assert code == 1002


@pytest.mark.parametrize(("low", "high", "expected"), [(3, 3, 3), (3, 4, 4), (4, 9, 4)])
async def test_protocol_negotiation(tmp_path: Path, low: int, high: int, expected: int) -> None:
    async with serving(GatewayKit(kit_config(), store=MemoryPairingStore())) as (url, _):
        opts = options(url, tmp_path, "p", min_protocol=low, max_protocol=high)
        async with open_gateway_session(opts) as session:
            assert session.hello.protocol == expected


async def test_oversized_and_malformed_frames_after_hello_close_the_connection(
    tmp_path: Path,
) -> None:
    kit = GatewayKit(kit_config(max_message_bytes=4096), store=MemoryPairingStore())
    async with serving(kit) as (url, _):
        for text, code in (("x" * 5000, 1009), ("{oops", 1008)):
            async with open_gateway_session(options(url, tmp_path, "big")) as session:
                await session._connection.send_text(text)
                with anyio.fail_after(5):
                    await session.closed.wait()
                assert session.close_error is not None
                assert session.close_error.code == code


# --- approvals: floods, vanished approvers, reconnects ---------------------------------------


async def test_flood_is_bounded_per_connection_with_a_clear_error(tmp_path: Path) -> None:
    kit = GatewayKit(kit_config(max_pending_per_connection=3), store=MemoryPairingStore())

    async def never(_prompt: ApprovalPrompt) -> None:
        return None

    async with serving(kit) as (url, tg):
        await tg.start(ApprovalOperator(options(url, tmp_path, "op"), never).run)
        async with ApprovalRequester.connect(options(url, tmp_path, "rq", caps=())) as client:
            accepted = [await client.register(f"echo {i}", timeout_ms=60_000) for i in range(3)]
            with pytest.raises(GatewayError) as refused:
                await client.register("echo one-too-many", timeout_ms=60_000)
            assert refused.value.details == {"reason": "TOO_MANY_PENDING"}
            assert "limit 3" in refused.value.message
            # Settling one frees a slot.
            async with open_gateway_session(options(url, tmp_path, "op")) as approver:
                await approver.request(
                    "exec.approval.resolve", {"id": accepted[0].id, "decision": "deny"}
                )
            with anyio.fail_after(5):
                while True:  # the final res of the first request releases its slot
                    try:
                        await client.register("echo again", timeout_ms=60_000)
                        break
                    except GatewayError:
                        await anyio.sleep(0.02)
    assert len({r.id for r in accepted}) == 3


async def test_vanished_approver_means_expiry_not_a_hang(tmp_path: Path) -> None:
    kit = GatewayKit(kit_config(), store=MemoryPairingStore())
    seen = anyio.Event()

    async def vanish(_prompt: ApprovalPrompt) -> None:
        seen.set()
        await anyio.sleep_forever()

    async with serving(kit) as (url, tg):
        operator_scope = anyio.CancelScope()

        async def run_operator(*, task_status: anyio.abc.TaskStatus[HelloOk]) -> None:
            with operator_scope:
                await ApprovalOperator(options(url, tmp_path, "op"), vanish).run(
                    task_status=task_status
                )

        await tg.start(run_operator)
        async with ApprovalRequester.connect(options(url, tmp_path, "rq", caps=())) as client:

            async def drop_operator() -> None:
                await seen.wait()
                operator_scope.cancel()

            tg.start_soon(drop_operator)
            with anyio.fail_after(10):
                outcome = await client.request_decision("echo nobody", timeout_ms=400)
    assert outcome.decision is None  # expired: the caller applies askFallback (deny)


async def test_decision_made_during_a_reconnect_is_not_lost(tmp_path: Path) -> None:
    kit = GatewayKit(kit_config(), store=MemoryPairingStore())
    asked = anyio.Event()
    answer = anyio.Event()

    async def slow_human(_prompt: ApprovalPrompt) -> Decision:
        asked.set()
        await answer.wait()
        return Decision.ALLOW_ONCE

    async with serving(kit) as (url, tg):
        operator = ApprovalOperator(options(url, tmp_path, "op"), slow_human)
        hello = await tg.start(operator.run)
        async with ApprovalRequester.connect(options(url, tmp_path, "rq", caps=())) as client:

            async def cut_and_answer() -> None:
                await asked.wait()
                await kit._peers[hello.conn_id].connection.abort()  # the approver's link drops
                while operator.session is not None:  # noqa: ASYNC110
                    await anyio.sleep(0.01)
                answer.set()  # the human answers while we are disconnected

            tg.start_soon(cut_and_answer)
            with anyio.fail_after(10):
                outcome = await client.request_decision("echo survives", timeout_ms=30_000)
    assert outcome.decision is Decision.ALLOW_ONCE
    assert operator.connections >= 2
    assert operator.resolved == {outcome.id: Decision.ALLOW_ONCE}


async def test_an_operator_back_from_a_drop_asks_about_what_it_missed(tmp_path: Path) -> None:
    """A request shown while the approver was disconnected is asked about after the reconnect."""
    kit = GatewayKit(kit_config(), store=MemoryPairingStore())
    shown: list[str] = []

    async def approve(prompt: ApprovalPrompt) -> Decision:
        shown.append(prompt.command)
        return Decision.ALLOW_ONCE

    slow_back = ReconnectPolicy(max_attempts=4, initial_delay=0.5, max_delay=0.5)
    async with (
        serving(kit) as (url, tg),
        open_gateway_session(options(url, tmp_path, "silent"), events=False),  # a route only
    ):
        operator = ApprovalOperator(options(url, tmp_path, "op", reconnect=slow_back), approve)
        hello = await tg.start(operator.run)
        await kit._peers[hello.conn_id].connection.abort()  # the kit dropped the approver
        with anyio.fail_after(5):
            while operator.session is not None:  # noqa: ASYNC110
                await anyio.sleep(0.01)
        async with ApprovalRequester.connect(options(url, tmp_path, "rq", caps=())) as client:
            with anyio.fail_after(10):  # not the 30 s timeout
                outcome = await client.request_decision("echo missed", timeout_ms=30_000)
    assert outcome.decision is Decision.ALLOW_ONCE
    assert operator.connections == 2
    assert shown == ["echo missed"]


@pytest.mark.parametrize(
    ("answer", "expected"),
    [(Decision.ALLOW_ALWAYS, Decision.ALLOW_ALWAYS), ("raise", Decision.DENY)],
)
async def test_broken_callback_denies(tmp_path: Path, answer: object, expected: Decision) -> None:
    async def decide(_prompt: ApprovalPrompt) -> Decision:
        if answer == "raise":
            raise RuntimeError("approver UI crashed")
        assert isinstance(answer, Decision)
        return answer

    async with serving(GatewayKit(kit_config(), store=MemoryPairingStore())) as (url, tg):
        await tg.start(ApprovalOperator(options(url, tmp_path, "op"), decide).run)
        async with ApprovalRequester.connect(options(url, tmp_path, "rq", caps=())) as client:
            with anyio.fail_after(10):
                outcome = await client.request_decision("echo x", timeout_ms=30_000)
    assert outcome.decision is expected


async def test_requester_refuses_bad_arguments_before_sending(tmp_path: Path) -> None:
    async with (
        serving(GatewayKit(kit_config(), store=MemoryPairingStore())) as (url, _),
        ApprovalRequester.connect(options(url, tmp_path, "rq")) as client,
    ):
        with pytest.raises(LocalProtocolError, match="non-empty"):
            await client.register("   ")
        with pytest.raises(LocalProtocolError, match="timeout_ms"):
            await client.register("echo", timeout_ms=0)


# --- pairing -----------------------------------------------------------------------------------


async def test_remote_device_needs_a_human_and_the_remediation_works(tmp_path: Path) -> None:
    kit = GatewayKit(kit_config(), store=FilePairingStore(tmp_path / "pairing"))
    async with serving(kit, peer_address="203.0.113.9") as (url, _):
        opts = options(url, tmp_path, "remote", scopes=("operator.approvals",))
        with anyio.fail_after(10), pytest.raises(PairingRequiredError) as caught:
            async with open_gateway_session(opts):
                pass
        error = caught.value
        (pending,) = kit.store.list_pending()
        assert error.request_id == pending.request_id
        assert error.reason == "not-paired"
        assert error.close_code == 1008
        assert f"openclaw devices approve {error.request_id}" in error.remediation
        record = kit.approve_pending(pending.request_id)
        assert record.baseline_scopes == ("operator.approvals",)
        assert kit.store.list_pending() == []
        async with open_gateway_session(opts) as session:
            assert session.hello.scopes == ("operator.approvals",)
        with pytest.raises(PairingError, match="unknown pairing request"):
            kit.approve_pending("no-such-request")
    paired_file = tmp_path / "pairing" / "paired.json"
    assert stat.S_IMODE(paired_file.stat().st_mode) == 0o600
    assert FilePairingStore(tmp_path / "pairing").get_paired(record.device_id) is not None


async def test_unavailable_is_retried_then_bounded(tmp_path: Path) -> None:
    kit = GatewayKit(kit_config(), store=MemoryPairingStore())
    refusals = {"left": 2}

    async def starting(stream: anyio.abc.SocketStream) -> None:
        if refusals["left"] <= 0:
            await kit.handle(stream, "127.0.0.1")
            return
        refusals["left"] -= 1
        ws = await accept_websocket(stream)
        await ws.send_text(json.dumps({"type": "event", "event": "connect.challenge",
                                       "payload": {"nonce": "n", "ts": 1}}))  # fmt: skip
        frame = json.loads(await ws.receive_text())
        error = {
            "code": "UNAVAILABLE",
            "message": "gateway starting; retry shortly",
            "retryable": True,
            "retryAfterMs": 20,
            "details": {"reason": "startup-sidecars"},
        }
        await ws.send_text(
            json.dumps({"type": "res", "id": frame["id"], "ok": False, "error": error})
        )
        await ws.close(1013, "gateway starting")

    async with anyio.create_task_group() as tg:
        listener = await anyio.create_tcp_listener(local_host="127.0.0.1", local_port=0)
        port = listener.extra(anyio.abc.SocketAttribute.local_port)

        async def run() -> None:
            async with listener:
                await listener.serve(starting)

        tg.start_soon(run)
        url = f"ws://127.0.0.1:{port}"
        async with open_gateway_session(options(url, tmp_path, "a")) as session:
            assert session.hello.protocol == 4
        assert refusals["left"] == 0
        refusals["left"] = 5
        tight = options(
            url, tmp_path, "b", reconnect=ReconnectPolicy(max_attempts=2, initial_delay=0)
        )
        with pytest.raises(GatewayError) as caught:
            async with open_gateway_session(tight):
                pass
        assert caught.value.error_code == "UNAVAILABLE"
        assert caught.value.close_code == 1013
        tg.cancel_scope.cancel()


async def test_unreachable_gateway_gives_up_after_the_budget(tmp_path: Path) -> None:
    listener = await anyio.create_tcp_listener(local_host="127.0.0.1", local_port=0)
    port = listener.extra(anyio.abc.SocketAttribute.local_port)
    await listener.aclose()  # nothing listens there now
    opts = options(
        f"ws://127.0.0.1:{port}",
        tmp_path,
        "x",
        reconnect=ReconnectPolicy(max_attempts=3, initial_delay=0.01),
    )
    with anyio.fail_after(10), pytest.raises(TransportError):
        async with open_gateway_session(opts):
            pass


# --- files -------------------------------------------------------------------------------------


def test_identity_file_is_private_and_openclaw_shaped(tmp_path: Path) -> None:
    path = tmp_path / "id" / "device.json"
    identity = load_or_create_identity(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    document = json.loads(path.read_text())
    assert document["version"] == 1
    assert document["deviceId"] == identity.device_id
    assert "BEGIN PRIVATE KEY" in document["privateKeyPem"]
    assert load_or_create_identity(path) == identity  # stable across loads


def test_identity_file_problems_are_clear_errors(tmp_path: Path) -> None:
    path = tmp_path / "device.json"
    save_identity(path, generate_device_identity())
    os.chmod(path, 0o644)  # noqa: PTH101
    with pytest.raises(PairingError, match="chmod 600"):
        load_or_create_identity(path)
    os.chmod(path, 0o600)  # noqa: PTH101
    document = json.loads(path.read_text())
    document["deviceId"] = "0" * 64
    path.write_text(json.dumps(document))
    with pytest.raises(PairingError, match="does not match its key"):
        load_or_create_identity(path)
    path.write_text("{broken")
    with pytest.raises(PairingError, match="not valid JSON"):
        load_or_create_identity(path)


def test_pairing_file_that_is_malformed_is_not_replaced(tmp_path: Path) -> None:
    store = FilePairingStore(tmp_path)
    (tmp_path / "paired.json").write_text('{"d": {"device_id": 5}}')
    with pytest.raises(PairingError, match="invalid record"):
        store.get_paired("d")
    assert (tmp_path / "paired.json").read_text() == '{"d": {"device_id": 5}}'


def test_device_token_file_ignores_other_devices(tmp_path: Path) -> None:
    tokens = DeviceTokenFile(tmp_path / "t.json")
    tokens.put("ws://a", DeviceToken(token="s", role="operator", scopes=("x",), device_id="d1"))
    assert tokens.get("ws://a", "operator", "d2") is None
    assert tokens.get("ws://b", "operator", "d1") is None
    got = tokens.get("ws://a", "operator", "d1")
    assert got is not None
    assert got.scopes == ("x",)
    tokens.forget("ws://a", "operator")
    assert tokens.get("ws://a", "operator", "d1") is None
    assert "s" not in repr(got).replace("scopes", "")


def test_options_refuse_nonsense() -> None:
    with pytest.raises(ValueError, match="ws://"):
        GatewayClientOptions(url="http://x")
    with pytest.raises(TypeError, match="not the string"):
        GatewayClientOptions(url="ws://x", scopes="operator.read")
    with pytest.raises(ValueError, match="min_protocol"):
        GatewayClientOptions(url="ws://x", min_protocol=5, max_protocol=4)


def test_default_store_is_a_file_store_under_the_state_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENCLAW_EXEC_STATE_DIR", str(tmp_path / "state"))
    kit = GatewayKit(kit_config())
    assert isinstance(kit.store, FilePairingStore)
    assert kit.store.folder == tmp_path / "state" / "gateway" / "devices"


def test_memory_store_round_trip() -> None:
    store = MemoryPairingStore()
    assert store.get_paired("x") is None
    assert store.list_paired() == []
    store.remove_pending("x")  # no error for an absent row


# --- the example -------------------------------------------------------------------------------


@pytest.mark.parametrize("anyio_backend", ["asyncio"])
@pytest.mark.parametrize(
    ("flag", "code", "last"), [((), 0, "ran it, exit 0"), (("--deny",), 1, "not running it")]
)
async def test_example_gateway_runs_the_seed_scenario(
    flag: tuple[str, ...], code: int, last: str
) -> None:
    with anyio.fail_after(60):
        done = await anyio.run_process([sys.executable, str(EXAMPLE), *flag], check=False)
    lines = done.stdout.decode().splitlines()
    assert done.returncode == code, done.stderr.decode()
    assert "paired with ['operator.read']" in lines[1]
    assert "-> allow-once" in lines[4] if not flag else "-> deny" in lines[4]
    assert last in lines[-1]
    if not flag:
        assert lines[-1].endswith("hello from an approved command")


async def test_operator_run_raises_pairing_refusals_plainly(tmp_path: Path) -> None:
    kit = GatewayKit(kit_config(), store=MemoryPairingStore())

    async def never(_prompt: ApprovalPrompt) -> None:
        return None

    async with serving(kit, peer_address="198.51.100.4") as (url, _):
        operator = ApprovalOperator(options(url, tmp_path, "remote-op"), never)
        with anyio.fail_after(10), pytest.raises(PairingRequiredError) as caught:
            await operator.run()
    assert caught.value.reason == "not-paired"
    assert operator.connections == 0


LOAD = Path(__file__).resolve().parents[2] / "benchmarks" / "websocket_load.py"
QUICK = ("--no-profile", "--client-processes", "1")


@pytest.mark.parametrize("anyio_backend", ["asyncio"])
@pytest.mark.parametrize(
    ("args", "budget"),
    [
        pytest.param(
            ("--seconds", "2", "--requesters", "20", "--approvers", "2", *QUICK),
            60,
            id="short",
        ),
        pytest.param(("--seconds", "60"), 240, id="200x5-60s", marks=pytest.mark.slow),
    ],
)
async def test_load_every_request_answered_exactly_once(args: tuple[str, ...], budget: int) -> None:
    with anyio.fail_after(budget):
        done = await anyio.run_process([sys.executable, str(LOAD), *args], check=False)
    report = done.stdout.decode()
    assert done.returncode == 0, report + done.stderr.decode()
    assert "exactly_once=True failures=0" in report


async def test_no_approval_client_means_no_route_at_once(tmp_path: Path) -> None:
    """An approvals-scoped connection that is not an approval client is not a route."""
    kit = GatewayKit(kit_config(), store=MemoryPairingStore())
    async with (
        serving(kit) as (url, _),
        open_gateway_session(options(url, tmp_path, "bystander", caps=())),
        ApprovalRequester.connect(options(url, tmp_path, "rq", caps=())) as client,
    ):
        with anyio.fail_after(5):  # not the 60 s timeout
            outcome = await client.request_decision("echo nobody-sees-this", timeout_ms=60_000)
    assert outcome.decision is None
    assert kit.approvals.broker.pending(now_ms=kit.clock()) == []


async def test_a_broken_store_fails_one_connection_not_the_gateway(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    (tmp_path / "pairing").mkdir()
    (tmp_path / "pairing" / "paired.json").write_text("[not an object]")
    kit = GatewayKit(kit_config(), store=FilePairingStore(tmp_path / "pairing"))
    async with serving(kit) as (url, _):
        with anyio.fail_after(10), pytest.raises(GatewayError) as caught:
            async with open_gateway_session(options(url, tmp_path, "a")):
                pass
        assert caught.value.close_code == 1011
        (tmp_path / "pairing" / "paired.json").unlink()  # repaired: the gateway still serves
        async with open_gateway_session(options(url, tmp_path, "a")) as session:
            assert session.hello.protocol == 4
    assert "connection conn-" in caplog.text


async def test_an_approver_of_the_one_contract_serves_the_gateway(tmp_path: Path) -> None:
    kit = GatewayKit(kit_config(), store=MemoryPairingStore())
    shown: list[ApprovalRequest] = []

    def approve(request: ApprovalRequest) -> Decision | None:  # a plain function
        shown.append(request)
        if "boom" in request.command:
            raise RuntimeError("the approver broke")  # a logged deny, never a crash
        return Decision.ALLOW_ONCE if request.command.startswith("echo ") else None

    async with serving(kit) as (url, tg):
        operator = ApprovalOperator(options(url, tmp_path, "op"), prompt_callback(approve))
        await tg.start(operator.run)
        async with ApprovalRequester.connect(options(url, tmp_path, "rq", caps=())) as client:
            with anyio.fail_after(10):
                allowed = await client.request_decision("echo hi", timeout_ms=30_000, cwd="/")
                broken = await client.request_decision("echo boom", timeout_ms=30_000)
                unanswered = await client.request_decision("make", timeout_ms=300)
    assert (allowed.decision, broken.decision, unanswered.decision) == (
        Decision.ALLOW_ONCE,
        Decision.DENY,
        None,
    )
    assert [r.command for r in shown] == ["echo hi", "echo boom", "make"]
    assert shown[0].cwd == "/"
    assert shown[0].expires_at_ms > shown[0].created_at_ms > 0
