"""
The library's gateway clients against real OpenClaw gateways (2026.4.1, 2026.9.6) and the kit.

Tests taking ``gateway`` run the same client code against both OpenClaw versions and against
this library's gateway kit; ``openclaw_gateway`` tests need OpenClaw's CLI. Every test uses
fresh device identities under ``tmp_path``, so tests on the shared session-scoped gateways do
not see each other's pairings.
"""

from __future__ import annotations

import json
import stat
import uuid
from typing import TYPE_CHECKING

import anyio
import pytest

from openclaw_exec.adapters.websocket import (
    ApprovalOperator,
    ApprovalPrompt,
    ApprovalRegistration,
    ApprovalRequester,
    DeviceTokenFile,
    GatewayClientOptions,
    GatewayError,
    PairingRequiredError,
    ReconnectPolicy,
    load_or_create_identity,
    open_gateway_session,
)
from openclaw_exec.protocol import Decision

from ._gateway import APPROVALS, approver_scopes

if TYPE_CHECKING:
    from pathlib import Path

    from ._gateway import RunningGateway
    from ._kit import KitGateway

    Gateway = RunningGateway | KitGateway

pytestmark = [pytest.mark.interop, pytest.mark.anyio]


def is41(gateway: Gateway) -> bool:
    return gateway.version.startswith("2026.4.")


def is96(gateway: Gateway) -> bool:
    return gateway.version.startswith("2026.9.")


def approver(gateway: Gateway, folder: Path, **overrides: object) -> GatewayClientOptions:
    options: dict[str, object] = {
        "url": gateway.url,
        "token": gateway.token,
        "identity_path": folder / "approver" / "device.json",
        "client_id": "test",
        "client_mode": "test",
        "scopes": approver_scopes(gateway.version),
        "reconnect": ReconnectPolicy(max_attempts=3, initial_delay=0.2),
    }
    options.update(overrides)
    return GatewayClientOptions(**options)  # type: ignore[arg-type]


def requester(gateway: Gateway, folder: Path, **overrides: object) -> GatewayClientOptions:
    options: dict[str, object] = {
        "url": gateway.url,
        "token": gateway.token,
        "identity_path": folder / "requester" / "device.json",
        "client_id": "gateway-client",
        "client_mode": "backend",
        "scopes": (APPROVALS,),
        "caps": (),
        "reconnect": ReconnectPolicy(max_attempts=3, initial_delay=0.2),
    }
    options.update(overrides)
    return GatewayClientOptions(**options)  # type: ignore[arg-type]


# --- handshake --------------------------------------------------------------------------------


async def test_operator_completes_the_real_handshake(gateway: Gateway, tmp_path: Path) -> None:
    options = approver(gateway, tmp_path)
    async with open_gateway_session(options) as session:
        hello = session.hello
        device_id = session.device_id
    assert hello.protocol == (3 if is41(gateway) else 4)
    assert hello.server_version == gateway.version
    assert set(options.scopes) <= set(hello.scopes)
    assert {"exec.approval.request", "exec.approval.resolve"} <= set(hello.methods)
    assert "exec.approval.requested" in hello.events
    assert hello.device_token_issued
    assert options.identity_path is not None
    assert stat.S_IMODE(options.identity_path.stat().st_mode) == 0o600
    assert load_or_create_identity(options.identity_path).device_id == device_id
    tokens = options.token_file()
    assert tokens is not None
    assert stat.S_IMODE(tokens.path.stat().st_mode) == 0o600
    stored = tokens.get(gateway.url, "operator", str(device_id))
    assert stored is not None
    assert set(options.scopes) <= set(stored.scopes)


async def test_device_token_is_reused_without_the_shared_token(
    gateway: Gateway, tmp_path: Path
) -> None:
    options = approver(gateway, tmp_path)
    async with open_gateway_session(options):
        pass
    # Without the shared token, only the stored device token can get us in...
    tokenless = approver(gateway, tmp_path, token=None)
    async with open_gateway_session(tokenless) as session:
        assert set(options.scopes) <= set(session.hello.scopes)
        if not is41(gateway):
            assert session.hello.auth_method == "device-token"
    # ...as a new identity without any token shows: refused, and not retried.
    stranger = approver(gateway, tmp_path / "stranger", token=None)
    with anyio.fail_after(20), pytest.raises(GatewayError) as refused:
        async with open_gateway_session(stranger):
            pass
    assert refused.value.method == "connect"
    assert refused.value.close_code == 1008


async def test_bad_shared_token_is_refused_with_the_gateway_reason(
    gateway: Gateway, tmp_path: Path
) -> None:
    options = approver(gateway, tmp_path, token="wrong-token-" + uuid.uuid4().hex)
    with anyio.fail_after(20), pytest.raises(GatewayError) as refused:
        async with open_gateway_session(options):
            pass
    assert refused.value.detail_code.startswith("AUTH_")
    assert refused.value.close_code == 1008
    assert not isinstance(refused.value, PairingRequiredError)


# --- approvals ----------------------------------------------------------------------------------


async def test_request_reaches_python_approver_and_decision_reaches_requester(
    gateway: Gateway, tmp_path: Path
) -> None:
    prompts: list[ApprovalPrompt] = []
    marker = uuid.uuid4().hex

    async def decide(prompt: ApprovalPrompt) -> Decision:
        prompts.append(prompt)
        return Decision.DENY if "deny" in prompt.command else Decision.ALLOW_ONCE

    operator = ApprovalOperator(approver(gateway, tmp_path), decide)
    async with anyio.create_task_group() as tg:
        await tg.start(operator.run)
        async with ApprovalRequester.connect(requester(gateway, tmp_path)) as client:
            with anyio.fail_after(60):
                allowed = await client.request_decision(
                    f"echo allow-{marker}",
                    argv=["sh", "-lc", f"echo allow-{marker}"],
                    cwd=str(tmp_path),
                    security="full",
                    ask="always",
                    agent_id="main",
                    session_key="agent:main:main",
                    timeout_ms=60_000,
                )
                denied = await client.request_decision(
                    f"echo deny-{marker}", cwd=str(tmp_path), timeout_ms=60_000
                )
                # The operator's own resolve acknowledgement may trail the requester's answer.
                while len(operator.resolved) < 2:  # noqa: ASYNC110
                    await anyio.sleep(0.05)
        tg.cancel_scope.cancel()
    assert allowed.decision is Decision.ALLOW_ONCE
    assert denied.decision is Decision.DENY
    assert [p.id for p in prompts] == [allowed.id, denied.id]
    first = prompts[0]
    assert first.command == f"echo allow-{marker}"
    assert first.command_argv == ("sh", "-lc", f"echo allow-{marker}")
    assert (first.cwd, first.host, first.security, first.ask) == (
        str(tmp_path),
        "gateway",
        "full",
        "always",
    )
    assert (first.agent_id, first.session_key) == ("main", "agent:main:main")
    assert first.expires_at_ms is not None
    assert first.created_at_ms is not None
    assert first.expires_at_ms - first.created_at_ms == 60_000
    assert operator.resolved == {allowed.id: Decision.ALLOW_ONCE, denied.id: Decision.DENY}


async def test_wait_decision_on_a_new_connection(gateway: Gateway, tmp_path: Path) -> None:
    """Round 2 of gateway-interop.md: register, close that socket, waitDecision elsewhere."""
    registered = anyio.Event()
    seen: list[str] = []

    async def decide(prompt: ApprovalPrompt) -> Decision:
        seen.append(prompt.id)
        await registered.wait()  # answer only after the registering socket is gone
        return Decision.DENY

    operator = ApprovalOperator(approver(gateway, tmp_path), decide)
    async with anyio.create_task_group() as tg:
        await tg.start(operator.run)
        async with ApprovalRequester.connect(requester(gateway, tmp_path)) as first:
            registration = await first.register("echo round-two", timeout_ms=60_000)
        async with ApprovalRequester.connect(requester(gateway, tmp_path)) as second:
            registered.set()
            with anyio.fail_after(60):
                outcome = await second.wait_decision(registration.id)
        tg.cancel_scope.cancel()
    assert seen == [registration.id]
    assert outcome.id == registration.id
    assert outcome.decision is Decision.DENY
    if is96(gateway):
        assert outcome.terminal_reason == "user"


async def test_without_an_approver_nobody_decides(gateway: Gateway, tmp_path: Path) -> None:
    async with ApprovalRequester.connect(requester(gateway, tmp_path)) as client:
        with anyio.fail_after(30):
            outcome = await client.request_decision("echo nobody-listens", timeout_ms=60_000)
    assert outcome.decision is None  # the caller applies askFallback: fail closed


@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_openclaw_cli_resolves_the_python_request(
    openclaw_gateway: RunningGateway, tmp_path: Path
) -> None:
    """
    The Python requester's approval resolved from OpenClaw's own CLI.

    2026.9.6's ``openclaw gateway call`` connects with the least-privilege scopes of the
    method (``operator.approvals``, not admin), so it may not see another device's approval
    and answers ``APPROVAL_NOT_FOUND``; there a second (admin) client resolves it instead.
    """
    gateway = openclaw_gateway
    prompts: list[ApprovalPrompt] = []

    async def watch_only(prompt: ApprovalPrompt) -> None:
        prompts.append(prompt)  # a passive approver: there is a route, but it never answers

    registrations: list[ApprovalRegistration] = []
    cli_errors: list[str] = []
    operator = ApprovalOperator(approver(gateway, tmp_path), watch_only)
    async with anyio.create_task_group() as tg:
        await tg.start(operator.run)
        async with ApprovalRequester.connect(requester(gateway, tmp_path)) as client:
            got_id = anyio.Event()

            async def resolve_with_cli() -> None:
                await got_id.wait()
                params = {"id": registrations[0].id, "decision": "allow-once"}
                try:
                    answer = await anyio.to_thread.run_sync(
                        lambda: gateway.call("exec.approval.resolve", params)
                    )
                except RuntimeError as exc:
                    cli_errors.append(str(exc))
                    second = approver(gateway, tmp_path / "second")
                    async with open_gateway_session(second) as session:
                        answer = await session.request("exec.approval.resolve", params)
                assert answer.get("ok") is True

            def on_registered(registration: ApprovalRegistration) -> None:
                registrations.append(registration)
                got_id.set()

            tg.start_soon(resolve_with_cli)
            with anyio.fail_after(90):
                outcome = await client.request_decision(
                    "echo resolved-by-cli", timeout_ms=90_000, on_registered=on_registered
                )
        tg.cancel_scope.cancel()
    assert outcome.decision is Decision.ALLOW_ONCE
    assert outcome.id == registrations[0].id
    assert [p.id for p in prompts] == [outcome.id]
    assert operator.resolved == {}
    if is41(gateway):
        assert cli_errors == []
    else:
        (cli_error,) = cli_errors
        assert "APPROVAL_NOT_FOUND" in cli_error


# --- pairing -------------------------------------------------------------------------------------


def _device(listing: dict[str, object], kind: str, device_id: str) -> list[dict[str, object]]:
    rows = listing.get(kind) or []
    assert isinstance(rows, list)
    return [r for r in rows if isinstance(r, dict) and r.get("deviceId") == device_id]


@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_new_loopback_device_is_paired_silently(
    openclaw_gateway: RunningGateway, tmp_path: Path
) -> None:
    gateway = openclaw_gateway
    options = approver(gateway, tmp_path, scopes=("operator.read",))
    async with open_gateway_session(options) as session:
        assert session.hello.scopes == ("operator.read",)
        device_id = str(session.device_id)
    listing = await anyio.to_thread.run_sync(gateway.devices)
    (paired,) = _device(listing, "paired", device_id)
    assert _device(listing, "pending", device_id) == []
    assert paired["clientId"] == "test"
    assert "operator.read" in paired.get("scopes", paired.get("approvedScopes", []))  # type: ignore[operator]


@pytest.mark.parametrize("anyio_backend", ["asyncio"])
@pytest.mark.parametrize(
    ("client_id", "client_mode"), [("test", "test"), ("gateway-client", "backend")]
)
async def test_scope_upgrade_on_a_shared_identity(
    openclaw_gateway: RunningGateway, tmp_path: Path, client_id: str, client_mode: str
) -> None:
    """The #59882 sequence: one identity paired with read, then an approvals client on it."""
    gateway = openclaw_gateway
    shared = tmp_path / "shared" / "device.json"
    reader = approver(
        gateway, tmp_path, identity_path=shared, scopes=("operator.read",), caps=(),
        client_id=client_id, client_mode=client_mode,
    )  # fmt: skip
    upgrade = approver(
        gateway, tmp_path, identity_path=shared, scopes=(APPROVALS,),
        client_id=client_id, client_mode=client_mode,
    )  # fmt: skip
    async with open_gateway_session(reader):
        pass
    if not is41(gateway):
        # 2026.9.6: loopback + shared token: the upgrade is silent (backends skip pairing).
        async with open_gateway_session(upgrade) as session:
            assert APPROVALS in session.hello.scopes
        return
    with anyio.fail_after(20), pytest.raises(PairingRequiredError) as caught:
        async with open_gateway_session(upgrade):
            pass
    error = caught.value
    assert (error.error_code, error.reason) == ("NOT_PAIRED", "scope-upgrade")
    assert (error.close_code, error.close_reason) == (1008, "pairing required")
    listing = await anyio.to_thread.run_sync(gateway.devices)
    (pending,) = _device(listing, "pending", load_or_create_identity(shared).device_id)
    assert error.request_id == pending["requestId"]
    assert f"openclaw devices approve {error.request_id}" in error.remediation
    assert error.request_id is not None
    assert error.request_id in str(error)
    # The remediation, exactly as surfaced, unblocks the client.
    approve = error.remediation.split("`")[-2].split()
    assert approve[:3] == ["openclaw", "devices", "approve"]
    done = await anyio.to_thread.run_sync(
        lambda: gateway.cli(*approve[1:], "--url", gateway.url, "--token", gateway.token)
    )
    assert done.returncode == 0, done.stderr
    async with open_gateway_session(upgrade) as session:
        assert APPROVALS in session.hello.scopes


@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_seed_59882_with_the_openclaw_cli_identity(
    gateway41: RunningGateway, tmp_path: Path
) -> None:
    """
    The seed on 2026.4.1, as users hit it: ``openclaw health`` pairs the host's one identity
    with ``operator.read``; an exec-approval client on that identity then gets 1008.
    """
    home = gateway41.client_home(tmp_path / "home")
    done = await anyio.to_thread.run_sync(lambda: gateway41.cli("health", "--json", home=home))
    assert done.returncode == 0, done.stderr
    identity_file = home / ".openclaw" / "identity" / "device.json"
    device_id = json.loads(identity_file.read_text())["deviceId"]
    listing = await anyio.to_thread.run_sync(gateway41.devices)
    (paired,) = _device(listing, "paired", device_id)
    assert paired["scopes"] == ["operator.read"]

    prompts: list[ApprovalPrompt] = []

    async def decide(prompt: ApprovalPrompt) -> Decision:
        prompts.append(prompt)
        return Decision.ALLOW_ONCE

    options = GatewayClientOptions(
        url=gateway41.url,
        token=gateway41.token,
        identity_path=identity_file,
        client_id="gateway-client",
        client_mode="backend",
        scopes=(APPROVALS,),
        reconnect=ReconnectPolicy(max_attempts=5, initial_delay=0.2),
    )
    operator = ApprovalOperator(options, decide)
    with anyio.fail_after(20), pytest.raises(PairingRequiredError) as caught:
        await operator.run()  # fails at once: pairing refusals are not retried
    error = caught.value
    assert (error.reason, error.close_code) == ("scope-upgrade", 1008)
    listing = await anyio.to_thread.run_sync(gateway41.devices)
    (pending,) = _device(listing, "pending", device_id)
    assert error.request_id == pending["requestId"]
    assert f"openclaw devices approve {error.request_id}" in error.remediation

    # The workaround OpenClaw documents, then the approval goes through on that identity.
    done = await anyio.to_thread.run_sync(
        lambda: gateway41.cli("devices", "approve", str(error.request_id), "--json")
    )
    assert done.returncode == 0, done.stderr
    async with anyio.create_task_group() as tg:
        await tg.start(operator.run)
        async with ApprovalRequester.connect(requester(gateway41, tmp_path)) as client:
            with anyio.fail_after(60):
                outcome = await client.request_decision("echo seed-beaten", timeout_ms=60_000)
        tg.cancel_scope.cancel()
    assert outcome.decision is Decision.ALLOW_ONCE
    assert [p.id for p in prompts] == [outcome.id]
    assert DeviceTokenFile(identity_file.with_name("device-tokens.json")).path.exists()


# --- the same sequences on this library's gateway kit ---------------------------------------------


async def test_seed_sequence_goes_through_on_the_gateway_kit(
    kit_gateway: KitGateway, tmp_path: Path
) -> None:
    """#59882 beaten: the identity paired with read, then the approval client on it, works."""
    shared = tmp_path / "shared" / "device.json"
    reader = requester(kit_gateway, tmp_path, identity_path=shared, scopes=("operator.read",))
    async with open_gateway_session(reader) as session:
        assert session.hello.scopes == ("operator.read",)
    device_id = load_or_create_identity(shared).device_id
    baseline = kit_gateway.kit.store.get_paired(device_id)
    assert baseline is not None
    assert baseline.baseline_scopes == ("operator.read",)

    prompts: list[ApprovalPrompt] = []

    async def decide(prompt: ApprovalPrompt) -> Decision:
        prompts.append(prompt)
        return Decision.ALLOW_ONCE

    exec_client = requester(kit_gateway, tmp_path, identity_path=shared, caps=("exec-approvals",))
    operator = ApprovalOperator(exec_client, decide)
    async with anyio.create_task_group() as tg:
        hello = await tg.start(operator.run)
        assert APPROVALS in hello.scopes
        async with ApprovalRequester.connect(requester(kit_gateway, tmp_path)) as client:
            with anyio.fail_after(30):
                outcome = await client.request_decision("echo seed-beaten", timeout_ms=30_000)
        tg.cancel_scope.cancel()
    assert outcome.decision is Decision.ALLOW_ONCE
    assert [p.id for p in prompts] == [outcome.id]
    upgraded = kit_gateway.kit.store.get_paired(device_id)
    assert upgraded is not None
    assert set(upgraded.baseline_scopes) == {"operator.read", APPROVALS}
    assert kit_gateway.kit.store.get_pending(device_id) is None


async def test_new_loopback_device_is_paired_silently_by_the_kit(
    kit_gateway: KitGateway, tmp_path: Path
) -> None:
    options = approver(kit_gateway, tmp_path, scopes=("operator.read",))
    async with open_gateway_session(options) as session:
        device_id = str(session.device_id)
        assert session.hello.scopes == ("operator.read",)
    record = kit_gateway.kit.store.get_paired(device_id)
    assert record is not None
    assert record.client_id == "test"
    assert record.baseline_scopes == ("operator.read",)
    assert record.tokens is not None
    assert [t.role for t in record.tokens] == ["operator"]


@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_metadata_upgrade_surfaces_the_gateways_own_remediation(
    openclaw_gateway: RunningGateway, tmp_path: Path
) -> None:
    """A paired identity that changes platform needs a human on both versions."""
    gateway = openclaw_gateway
    shared = tmp_path / "shared" / "device.json"
    async with open_gateway_session(approver(gateway, tmp_path, identity_path=shared)):
        pass
    moved = approver(gateway, tmp_path, identity_path=shared, platform="darwin")
    with anyio.fail_after(20), pytest.raises(PairingRequiredError) as caught:
        async with open_gateway_session(moved):
            pass
    error = caught.value
    assert error.reason == "metadata-upgrade"
    assert error.close_code == 1008
    assert error.request_id
    hint = error.details.get("remediationHint") or error.details.get("recommendedNextStep")
    if is41(gateway):
        assert hint is None  # 2026.4.1 sends only code, reason and requestId
    else:
        assert isinstance(hint, str)
        assert hint in error.remediation  # the gateway's own words come first
    assert f"openclaw devices approve {error.request_id}" in error.remediation


@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_request_raised_by_openclaw_itself_reaches_the_python_approver(
    openclaw_gateway: RunningGateway, tmp_path: Path
) -> None:
    """OpenClaw's own client raises the request (``gateway call --expect-final``)."""
    gateway = openclaw_gateway
    marker = uuid.uuid4().hex
    prompts: list[ApprovalPrompt] = []

    async def decide(prompt: ApprovalPrompt) -> Decision:
        prompts.append(prompt)
        return Decision.DENY

    params = {
        "command": f"echo raised-by-openclaw-{marker}",
        "cwd": str(tmp_path),
        "host": "gateway",
        "ask": "always",
        "timeoutMs": 60_000,
        "twoPhase": True,
    }
    operator = ApprovalOperator(approver(gateway, tmp_path), decide)
    async with anyio.create_task_group() as tg:
        await tg.start(operator.run)
        with anyio.fail_after(90):
            done = await anyio.to_thread.run_sync(
                lambda: gateway.cli(
                    "gateway",
                    "call",
                    "exec.approval.request",
                    "--params",
                    json.dumps(params),
                    "--expect-final",
                    "--json",
                    "--url",
                    gateway.url,
                    "--token",
                    gateway.token,
                    "--timeout",
                    "60000",
                    timeout=90,
                )
            )
            while not operator.resolved and prompts:  # noqa: ASYNC110 - the ack may trail
                await anyio.sleep(0.05)
        tg.cancel_scope.cancel()
    assert done.returncode == 0, done.stderr + done.stdout
    answer = json.loads(done.stdout[done.stdout.index("{") :])
    assert answer["decision"] == "deny"
    (prompt,) = prompts
    assert prompt.id == answer["id"]
    assert prompt.command == params["command"]
    assert operator.resolved == {prompt.id: Decision.DENY}
