"""
The read and admin approval methods against real OpenClaw gateways and the kit.

``exec.approval.list/get``, ``approval.get/resolve/history`` (2026.9.6 and the kit) and
``exec.approvals.get/set`` with the base hash (both OpenClaw versions and the kit), through
:class:`~openclaw_exec.adapters.websocket.GatewayApprovals`: the same client code against
each gateway.
"""

from __future__ import annotations

import json
import time
import uuid
from typing import TYPE_CHECKING

import anyio
import pytest

from openclaw_exec.adapters.websocket import (
    ApprovalOperator,
    ApprovalPrompt,
    ApprovalRequester,
    GatewayApprovals,
    GatewayClientOptions,
    GatewayError,
)
from openclaw_exec.exceptions import LocalProtocolError
from openclaw_exec.protocol import Decision

from ._gateway import ADMIN, APPROVALS
from ._kit import running_kit
from .test_openclaw_gateway import approver, is41, requester

if TYPE_CHECKING:
    from pathlib import Path

    from ._gateway import RunningGateway
    from ._kit import KitGateway

    Gateway = RunningGateway | KitGateway

pytestmark = [pytest.mark.interop, pytest.mark.anyio]


def admin(gateway: Gateway, folder: Path) -> GatewayClientOptions:
    return approver(
        gateway, folder, identity_path=folder / "admin" / "device.json", scopes=(APPROVALS, ADMIN)
    )


async def _hold(prompt: ApprovalPrompt) -> Decision | None:
    await anyio.sleep_forever()
    return None  # pragma: no cover - cancelled when someone else decides


async def test_pending_list_get_and_first_answer_wins(gateway: Gateway, tmp_path: Path) -> None:
    if is41(gateway):
        pytest.skip("OpenClaw 2026.4.1 has no exec.approval.list/get nor approval.*")
    marker = uuid.uuid4().hex
    operator = ApprovalOperator(approver(gateway, tmp_path), _hold)
    async with anyio.create_task_group() as tg:
        await tg.start(operator.run)
        async with (
            ApprovalRequester.connect(requester(gateway, tmp_path)) as client,
            GatewayApprovals.connect(admin(gateway, tmp_path)) as approvals,
        ):
            with anyio.fail_after(60):
                registration = await client.register(
                    f"echo listed-{marker}",
                    cwd=str(tmp_path),
                    agent_id="main",
                    session_key="agent:main:main",
                    timeout_ms=60_000,
                )
                pending = await approvals.list_pending()
                mine = [p for p in pending if p.id == registration.id]
                assert len(mine) == 1
                assert mine[0].command == f"echo listed-{marker}"
                assert (mine[0].cwd, mine[0].agent_id) == (str(tmp_path), "main")
                assert mine[0].approval_kind == "exec"
                detail = await approvals.get_pending(registration.id)
                assert detail.id == registration.id
                assert detail.command_text == f"echo listed-{marker}"
                assert Decision.DENY in detail.allowed_decisions
                assert detail.expires_at_ms == registration.expires_at_ms
                # An unambiguous prefix finds it too (OpenClaw's lookup).
                assert (await approvals.get_pending(registration.id[:12])).id == registration.id
                snapshot = await approvals.get(registration.id)
                assert (snapshot.status, snapshot.kind, snapshot.final) == (
                    "pending",
                    "exec",
                    False,
                )
                assert snapshot.command_text == f"echo listed-{marker}"
                first = await approvals.resolve_any(registration.id, Decision.DENY)
                second = await approvals.resolve_any(registration.id, Decision.ALLOW_ONCE)
                outcome = await client.wait_decision(registration.id)
                page = await approvals.history(limit=20, kind="exec")
                with pytest.raises(GatewayError) as gone:
                    await approvals.get_pending(registration.id)
        tg.cancel_scope.cancel()
    assert first.applied
    assert (first.approval.status, first.approval.decision) == ("denied", Decision.DENY)
    assert first.approval.reason == "user"
    assert not second.applied  # the first answer won; the loser is told what was recorded
    assert (second.approval.status, second.approval.decision) == ("denied", Decision.DENY)
    assert outcome.decision is Decision.DENY
    recorded = [item for item in page.items if item.id == registration.id]
    assert len(recorded) == 1
    assert recorded[0].decision is Decision.DENY
    assert recorded[0].final
    assert gone.value.error_code == "INVALID_REQUEST"


async def test_unknown_ids_are_refused(gateway: Gateway, tmp_path: Path) -> None:
    if is41(gateway):
        pytest.skip("OpenClaw 2026.4.1 has no exec.approval.get nor approval.get")
    async with GatewayApprovals.connect(admin(gateway, tmp_path)) as approvals:
        with pytest.raises(GatewayError) as pending:
            await approvals.get_pending("no-such-" + uuid.uuid4().hex)
        with pytest.raises(GatewayError) as unified:
            await approvals.get("no-such-" + uuid.uuid4().hex)
    assert "unknown or expired" in pending.value.message
    assert "not found" in unified.value.message


async def test_methods_missing_on_2026_4_1_fail_before_sending(
    openclaw_gateway: RunningGateway, tmp_path: Path
) -> None:
    if not is41(openclaw_gateway):
        pytest.skip("2026.9.6 offers every method")
    async with GatewayApprovals.connect(admin(openclaw_gateway, tmp_path)) as approvals:
        with pytest.raises(GatewayError) as refused:
            await approvals.list_pending()
    assert refused.value.error_code == "UNSUPPORTED"
    assert "2026.4.1" in refused.value.message


async def test_approvals_file_writes_are_guarded_by_the_base_hash(
    gateway: Gateway, tmp_path: Path
) -> None:
    async with GatewayApprovals.connect(admin(gateway, tmp_path)) as approvals:
        with anyio.fail_after(60):
            before = await approvals.approvals_file()
            document = dict(before.file)
            document["version"] = 1
            agents = dict(document.get("agents") or {})
            marker = "agent-" + uuid.uuid4().hex[:8]
            agents[marker] = {"security": "allowlist", "allowlist": [{"pattern": "/bin/ls"}]}
            document["agents"] = agents
            after = await approvals.set_approvals_file(document, base_hash=before.hash)
            with pytest.raises(GatewayError) as stale:
                await approvals.set_approvals_file(document, base_hash=before.hash)
            with pytest.raises(GatewayError) as missing:
                await approvals.set_approvals_file(document, base_hash=None)
            again = await approvals.approvals_file()
    assert after.hash != before.hash
    assert after.exists
    assert again.hash == after.hash
    assert again.file["agents"][marker]["security"] == "allowlist"
    assert [e["pattern"] for e in again.file["agents"][marker]["allowlist"]] == ["/bin/ls"]
    assert "changed since last load" in stale.value.message
    assert "base hash required" in missing.value.message


async def test_grant_lifetimes_reach_the_kits_approval_record(
    kit_gateway: KitGateway, tmp_path: Path
) -> None:
    gateway = kit_gateway
    operator = ApprovalOperator(approver(gateway, tmp_path), _hold)
    async with anyio.create_task_group() as tg:
        await tg.start(operator.run)
        async with (
            ApprovalRequester.connect(requester(gateway, tmp_path)) as client,
            GatewayApprovals.connect(admin(gateway, tmp_path)) as approvals,
        ):
            with anyio.fail_after(30):
                for days, call in ((7, approvals.resolve), (3650, approvals.resolve_any)):
                    registration = await client.register("echo grant", timeout_ms=60_000)
                    await call(registration.id, Decision.ALLOW_ALWAYS, grant_expires_in_days=days)
                    assert (await approvals.get(registration.id)).status == "allowed"
                    record = gateway.kit.approvals.broker.get(
                        registration.id, now_ms=int(time.time() * 1000)
                    )
                    assert record is not None
                    assert record.grant_expires_in_days == days
                registration = await client.register("echo grant", timeout_ms=60_000)
                # A kind the kit does not serve is a deny, as OpenClaw records it.
                wrong = await approvals.resolve_any(
                    registration.id, Decision.ALLOW_ONCE, kind="plugin"
                )
        tg.cancel_scope.cancel()
    assert wrong.applied
    assert wrong.approval.decision is Decision.DENY


async def test_a_client_outside_the_protocol_range_is_told_what_to_do(tmp_path: Path) -> None:
    with running_kit(tmp_path / "kit4", min_protocol=4) as kit:
        options = approver(kit, tmp_path, min_protocol=3, max_protocol=3)
        with anyio.fail_after(20), pytest.raises(GatewayError) as refused:
            async with GatewayApprovals.connect(options):
                pass
    assert refused.value.close_code == 1002
    assert "this gateway speaks protocol 4..4, the client offered 3..3" in refused.value.message
    assert "upgrade the client" in refused.value.message
    assert refused.value.details["code"] == "PROTOCOL_MISMATCH"


async def test_grant_lifetime_is_accepted_by_openclaw_2026_9_6(
    openclaw_gateway: RunningGateway, tmp_path: Path
) -> None:
    gateway = openclaw_gateway
    if is41(gateway):
        pytest.skip("grantExpiresInDays is 2026.9's")
    operator = ApprovalOperator(approver(gateway, tmp_path), _hold)
    async with anyio.create_task_group() as tg:
        await tg.start(operator.run)
        async with (
            ApprovalRequester.connect(requester(gateway, tmp_path)) as client,
            GatewayApprovals.connect(admin(gateway, tmp_path)) as approvals,
        ):
            with anyio.fail_after(60):
                registration = await client.register("echo lifetime", timeout_ms=60_000)
                with pytest.raises(LocalProtocolError):  # OpenClaw's bound 1..3650, checked first
                    await approvals.resolve(
                        registration.id, Decision.ALLOW_ALWAYS, grant_expires_in_days=0
                    )
                await approvals.resolve(
                    registration.id, Decision.ALLOW_ALWAYS, grant_expires_in_days=7
                )
                outcome = await client.wait_decision(registration.id)
        tg.cancel_scope.cancel()
    assert outcome.decision is Decision.ALLOW_ALWAYS


async def test_the_kit_refuses_what_its_approvals_file_cannot_hold(
    kit_gateway: KitGateway, tmp_path: Path
) -> None:
    async with GatewayApprovals.connect(admin(kit_gateway, tmp_path)) as approvals:
        snapshot = await approvals.approvals_file()
        bad = {"version": 1, "defaults": {"security": "bogus"}}
        with pytest.raises(GatewayError) as refused:
            await approvals.set_approvals_file(bad, base_hash=snapshot.hash)
        assert (await approvals.approvals_file()).hash == snapshot.hash  # nothing written
    assert "defaults.security" in refused.value.message
    assert "token" not in json.dumps(snapshot.file.get("socket") or {})
    plain = approver(
        kit_gateway,
        tmp_path,
        identity_path=tmp_path / "plain" / "device.json",
        scopes=(APPROVALS,),
    )
    async with GatewayApprovals.connect(plain) as approvals:
        assert "operator.admin" not in approvals.session.hello.scopes
        with pytest.raises(GatewayError, match=r"missing scope: operator\.admin"):
            await approvals.approvals_file()
